"""Writes that overlap, on SQLite and PostgreSQL: two imports of one file, an id taken
meanwhile, the default register loaded by several processes at once, and feedback posted
while a big import runs.

Overlaps are forced, not hoped for: hooks make each thread wait for the others at the point
where a read-then-write design would go wrong. The waits have long timeouts only so that a
broken version fails instead of hanging; nothing here measures time.
"""

from __future__ import annotations

import csv
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db_fixtures import NewDatabase
from recommender.core.config import Settings
from recommender.database import db
from recommender.register import records as register
from recommender.register import writes as register_store
from recommender.register.files import PROJECT_COLUMNS, Directory
from recommender.register.records import ImportReport, ensure_database, import_file
from register_fixtures import BODIES, FIXTURES
from service_fixtures import AppFactory

GUARD = 120  # seconds a hook waits before giving up (a deadlock guard, never a measurement)
SERVICES = (
    "procurement", "revenues_benefits", "legal", "ict", "hr_payroll", "finance_audit",
    "waste_environment", "building_control_planning", "regulatory_trading_standards",
    "customer_services", "highways_transport", "property_assets",
)  # fmt: skip


def counts(settings: Settings) -> dict[str, int]:
    with db.connect(settings) as engine, engine.connect() as conn:
        return {t.name: db.count(conn, t) for t in (db.arrangements, db.members, db.imports)}


def run_together(*work: Callable[[], Any]) -> list[Any]:
    """Run each function in its own thread; return their results (or the exception raised)."""
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        try:
            results[i] = work[i]()
        except BaseException as err:  # returned, so the test shows it
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_imports_of_one_file_at_once_add_it_once(
    register_settings: Settings, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both imports read the register and build their rows before either writes: each thinks
    # all seven arrangements are new.
    built = threading.Barrier(2, timeout=GUARD)
    rows_for = register.rows_for

    def build_then_wait(*args: Any) -> Any:
        rows = rows_for(*args)
        built.wait()
        return rows

    monkeypatch.setattr(register, "rows_for", build_then_wait)
    path = FIXTURES / "known_small.csv"
    reports = run_together(
        *[lambda: import_file(path, settings=register_settings, directory=directory)] * 2
    )
    assert all(isinstance(r, ImportReport) for r in reports), reports
    assert sorted((r.added, r.duplicates) for r in reports) == [(0, 7), (7, 0)]
    second = next(r for r in reports if r.added == 0)
    assert "added 0 arrangement(s), 7 duplicate(s) skipped" in second.summary()
    assert second.ids == [] and second.import_id is not None
    # Seven arrangements, 22 members (Northamptonshire is two councils today), as imported once.
    assert counts(register_settings) == {"arrangements": 1 + 7, "members": 2 + 22, "imports": 3}
    with db.connect(register_settings) as engine, engine.connect() as conn:
        rows = conn.execute(sa.select(db.imports.c.added, db.imports.c.duplicates)).all()
    assert sorted(tuple(r) for r in rows) == [(0, 7), (1, 0), (7, 0)]


def test_an_id_taken_meanwhile_is_given_up_for_another(
    register_settings: Settings, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between this import's read and its write, another one stores a different arrangement
    # under an id this import has just given to one of its own.
    rows_for = register.rows_for
    taken: list[str] = []

    def build_then_lose_an_id(*args: Any) -> Any:
        arrangements, members = rows_for(*args)
        if not taken:
            intruder = arrangements[0] | {"fingerprint": "f" * 64, "name": "Intruder"}
            taken.append(intruder["id"])
            with db.connect(register_settings) as engine, engine.begin() as conn:
                conn.execute(sa.insert(db.arrangements), [intruder])
        return arrangements, members

    monkeypatch.setattr(register, "rows_for", build_then_lose_an_id)
    report = import_file(
        FIXTURES / "known_small.csv", settings=register_settings, directory=directory
    )
    assert (report.added, report.duplicates) == (7, 0)
    assert taken[0] not in report.ids and len(report.ids) == 7
    assert counts(register_settings)["arrangements"] == 1 + 1 + 7


def test_the_default_register_is_loaded_once_when_processes_start_together(
    register_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both find the database without the default register before either loads it.
    looked = threading.Barrier(2, timeout=GUARD)
    first_look = threading.local()
    is_current = register_store._is_current

    def look_together(conn: sa.Connection, sha: str) -> bool:
        found = is_current(conn, sha)
        if not getattr(first_look, "done", False):
            first_look.done = True
            looked.wait()
        return found

    monkeypatch.setattr(register_store, "_is_current", look_together)
    loaded = run_together(*[lambda: ensure_database(register_settings)] * 2)
    assert sorted(loaded) == [0, 1]
    assert counts(register_settings) == {"arrangements": 1, "members": 2, "imports": 1}


def test_processes_starting_on_one_empty_database_all_start(register_settings: Settings) -> None:
    # Real processes (a CLI command each), on a database with no schema and no register yet.
    env = os.environ | {
        "RECOMMENDER_DATA_DIR": str(register_settings.data),
        "RECOMMENDER_DATABASE_URL": register_settings.db_url,
    }
    code = (  # a program's edge: its settings come from the environment
        "from recommender.register import records as register; "
        "from recommender.core.config import Settings; "
        "print(register.ensure_database(Settings.from_env()))"
    )
    started = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=GUARD)[0] for p in started]
    assert [p.returncode for p in started] == [0, 0, 0]
    assert sorted(int(out) for out in outputs) == [0, 0, 1]
    assert counts(register_settings) == {"arrangements": 1, "members": 2, "imports": 1}


# Feedback during a big import ------------------------------------------------------------------


def big_register_file(path: Path, size: int) -> Path:
    """Write ``size`` distinct arrangements (pairs of the test bodies, services, years)."""
    codes = [b[0] for b in BODIES]
    combos = itertools.product(range(1995, 2025), SERVICES, itertools.combinations(codes, 2))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PROJECT_COLUMNS)
        for i, (year, service, (a, b)) in zip(range(size), combos, strict=False):
            writer.writerow(
                ["", f"Arrangement {i}", service, year, "", "active", 1000 + i, "annual", "",
                 "true", "", "", "false", f"{a}; {b}"]
            )  # fmt: skip
    return path


FEEDBACK = {"body": "Rother", "partner": "Wealden", "service": "legal", "verdict": "interested"}


def test_feedback_during_a_big_import_is_never_refused_nor_lost(
    make_app: AppFactory,
    new_database: NewDatabase,
    database_engine: str,
    directory: Directory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLite reports a held lock after 50 ms here instead of 10 s, so a write waiting for the
    # import's lock is refused by the database at once and must be retried, not lost.
    monkeypatch.setattr(db, "SQLITE_BUSY_MS", 50)
    app = make_app(DATABASE_URL=new_database("service"))
    state = app.extensions["recommender"]
    size = 20_000 if database_engine == "sqlite" else 2_000
    path = big_register_file(tmp_path / "big.csv", size)
    posters = 4
    statuses: list[tuple[str, int]] = []
    refused: set[int] = set()
    changed = threading.Condition()
    writing = threading.Event()

    def post(comment: str) -> None:
        response = app.test_client().post("/api/v1/feedback", json=FEEDBACK | {"comment": comment})
        with changed:
            statuses.append((comment, response.status_code))
            changed.notify_all()

    pause = db.pause

    def counted_pause(seconds: float) -> None:
        with changed:
            refused.add(threading.get_ident())
            changed.notify_all()
        pause(seconds)

    monkeypatch.setattr(db, "pause", counted_pause)

    # 1. While the import builds its 20k rows it holds no lock: feedback goes straight in.
    rows_for = register.rows_for
    while_building: list[bool] = []

    def build_and_post(*args: Any) -> Any:
        rows = rows_for(*args)
        if not while_building:
            before = len(refused)
            poster = threading.Thread(target=post, args=("while building",))
            poster.start()
            poster.join(GUARD)
            while_building.append(len(refused) == before)
        return rows

    # 2. While it writes, it holds the lock until every poster has been refused at least once
    # (SQLite) or has been answered (PostgreSQL, where feedback does not wait for an import).
    insert = register_store.insert

    def insert_and_hold(*args: Any) -> Any:
        stored = insert(*args)
        writing.set()
        with changed:
            changed.wait_for(lambda: len(refused) + len(statuses) >= posters + 1, GUARD)
        return stored

    monkeypatch.setattr(register, "rows_for", build_and_post)
    monkeypatch.setattr(register_store, "insert", insert_and_hold)

    def post_while_writing(i: int) -> None:
        writing.wait(GUARD)
        post(f"while writing {i}")

    threads = [threading.Thread(target=post_while_writing, args=(i,)) for i in range(posters)]
    for thread in threads:
        thread.start()
    with state.engine.connect() as conn:
        before = db.count(conn, db.arrangements)
    report = import_file(path, settings=state.settings, directory=directory)
    for thread in threads:
        thread.join(GUARD)

    # (A few of the made-up arrangements may already be in the shipped default register.)
    assert report.added + report.duplicates == size and report.added > 0.9 * size
    with state.engine.connect() as conn:
        assert db.count(conn, db.arrangements) == before + report.added
    assert while_building == [True]
    assert sorted(statuses) == sorted(
        [("while building", 201)] + [(f"while writing {i}", 201) for i in range(posters)]
    )
    with state.engine.connect() as conn:
        stored = sorted(conn.scalars(sa.select(db.feedback.c.comment)))
    assert stored == sorted(comment for comment, _ in statuses)
    if database_engine == "sqlite":  # the overlap really happened: each poster was refused
        assert len(refused) == posters
