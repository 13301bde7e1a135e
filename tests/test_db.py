"""The database tables, engine and transactions (``recommender.database.db``), on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from recommender.core.config import Settings
from recommender.core.errors import ConfigError, DatabaseBusy, DataError
from recommender.database import db


def settings_for(tmp_path: Path) -> Settings:
    return Settings(root=tmp_path, database_url=f"sqlite:///{tmp_path / 'a' / 'b' / 'r.sqlite'}")


def test_engine_creates_the_folder_and_enables_wal_and_foreign_keys(tmp_path: Path) -> None:
    with db.connect(settings_for(tmp_path)) as engine, engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "a" / "b" / "r.sqlite").is_file()


def test_default_url_is_a_file_under_var(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path)
    with db.connect(settings):
        pass
    assert (tmp_path / "var" / "recommender.sqlite").is_file()


def on(database_url: str, tmp_path: Path) -> Settings:
    return Settings(root=tmp_path, database_url=database_url)


def test_init_db_is_idempotent_and_creates_every_table(database_url: str, tmp_path: Path) -> None:
    engine = db.engine_for(on(database_url, tmp_path))
    try:
        db.init_db(engine)
        db.init_db(engine)
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    tables = {"arrangements", "members", "imports", "feedback", "audit_log", "scenarios"}
    assert names == tables | {"scenario_councils", "alembic_version"}


def arrangement(ident: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {"id": ident, "name": "A", "service": "legal", "simulated": False}
    row["fingerprint"] = ident * 8
    return row | changes


def test_constraints_hold(database_url: str, tmp_path: Path) -> None:
    with db.connect(on(database_url, tmp_path)) as engine:
        with engine.begin() as conn:
            conn.execute(sa.insert(db.arrangements), [arrangement("R-1")])
        bad = [
            (db.arrangements, arrangement("R-2", fingerprint="R-1" * 8)),  # same fingerprint
            (db.arrangements, arrangement("R-3", status="paused")),
            (db.arrangements, arrangement("R-4", savings_basis="weekly")),
            (db.members, {"arrangement_id": "R-9", "position": 1, "name_as_given": "x",
                          "role": "partner", "resolution": "exact"}),  # no such arrangement
            (db.members, {"arrangement_id": "R-1", "position": 1, "name_as_given": "x",
                          "role": "boss", "resolution": "exact"}),
            (db.feedback, {"created_at": datetime.now(UTC), "body_code": "E1", "verdict": "meh"}),
        ]  # fmt: skip
        for table, row in bad:
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(sa.insert(table), [row])


def test_deleting_an_arrangement_deletes_its_members(database_url: str, tmp_path: Path) -> None:
    with db.connect(on(database_url, tmp_path)) as engine, engine.begin() as conn:
        conn.execute(sa.insert(db.arrangements), [arrangement("R-1")])
        member = {"arrangement_id": "R-1", "position": 1, "body_code": None}
        member |= {"name_as_given": "BT", "role": "external", "resolution": "external"}
        conn.execute(sa.insert(db.members), [member])
        conn.execute(sa.delete(db.arrangements))
        assert db.count(conn, db.members) == 0


def test_transaction_commits_rolls_back_on_error_and_on_request(
    database_url: str, tmp_path: Path
) -> None:
    with db.connect(on(database_url, tmp_path)) as engine:
        with db.transaction(engine) as conn:
            conn.execute(sa.insert(db.arrangements), [arrangement("R-1")])
        with db.transaction(engine, commit=False) as conn:
            conn.execute(sa.insert(db.arrangements), [arrangement("R-2")])
        with pytest.raises(RuntimeError), db.transaction(engine) as conn:
            conn.execute(sa.insert(db.arrangements), [arrangement("R-3")])
            raise RuntimeError("half-way")
        with engine.connect() as conn:
            assert list(conn.scalars(sa.select(db.arrangements.c.id))) == ["R-1"]


def test_rows_from_csv_types_cells_and_names_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "arrangement_id,position,body_code,name_as_given,role,resolution\n"
        "R-1,1,,BT,external,external\n"
    )
    assert db.rows_from_csv(path, db.members) == [
        {"arrangement_id": "R-1", "position": 1, "body_code": None, "name_as_given": "BT",
         "role": "external", "resolution": "external"}
    ]  # fmt: skip
    path.write_text("arrangement_id,position\nR-1,first\n")
    with pytest.raises(DataError, match="missing column"):
        db.rows_from_csv(path, db.members)
    path.write_text(path.read_text().replace("position", "position,name_as_given,role,resolution"))
    with pytest.raises(DataError, match="row 2, column 'position', value 'first'"):
        db.rows_from_csv(path, db.members)


@pytest.mark.parametrize("url", ["nonsense://x", "postgresql+nodriver://u@h/d"])
def test_unusable_urls_raise_config_errors(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError):
        db.engine_for(Settings(root=tmp_path, database_url=url))


def test_insert_new_skips_rows_already_there_and_says_which_went_in(
    database_url: str, tmp_path: Path
) -> None:
    with db.connect(on(database_url, tmp_path)) as engine, engine.begin() as conn:
        conn.execute(sa.insert(db.arrangements), [arrangement("R-1")])
        rows = [
            arrangement("R-1", name="same id and fingerprint"),
            arrangement("R-2", fingerprint="R-1" * 8),  # same fingerprint, other id
            arrangement("R-1", fingerprint="R-9" * 8),  # same id, other fingerprint
            arrangement("R-3"),
        ]
        assert db.insert_new(conn, db.arrangements, rows, "fingerprint") == {"R-3" * 8}
        assert sorted(conn.scalars(sa.select(db.arrangements.c.id))) == ["R-1", "R-3"]
        assert db.insert_new(conn, db.arrangements, [], "fingerprint") == set()


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sa.Engine, Any]]:
    """A SQLite database whose write lock another connection holds until told to let go."""
    monkeypatch.setattr(db, "SQLITE_BUSY_MS", 20)  # report "locked" quickly
    settings = Settings(root=tmp_path, database_url=f"sqlite:///{tmp_path / 'busy.sqlite'}")
    with db.connect(settings) as engine:
        holder = engine.connect()
        holder.execution_options(recommender_write=True)
        trans = holder.begin()  # BEGIN IMMEDIATE: holds the write lock
        yield engine, trans
        if trans.is_active:
            trans.rollback()
        holder.close()


def _feedback(conn: sa.Connection) -> Any:
    row = {"created_at": datetime.now(UTC), "body_code": "E1", "verdict": "other"}
    return conn.execute(sa.insert(db.feedback).values(row)).inserted_primary_key


def test_a_write_waits_out_a_busy_database(
    locked: tuple[sa.Engine, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, holder = locked
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            holder.commit()  # the import (say) finishes while the write is waiting

    monkeypatch.setattr(db, "pause", pause)
    key = db.write_retrying(engine, _feedback, "the feedback")
    assert len(pauses) == 3 and pauses == sorted(pauses)  # backed off
    with engine.connect() as conn:
        assert list(conn.scalars(sa.select(db.feedback.c.id))) == [key[0]]


def test_a_write_gives_up_after_its_bound_saying_so(
    locked: tuple[sa.Engine, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = locked
    monkeypatch.setattr(db, "BUSY_RETRY_SECONDS", 0.2)
    with pytest.raises(DatabaseBusy, match=r"stayed busy for 0\.2 s; the feedback was not stored"):
        db.write_retrying(engine, _feedback, "the feedback")


def test_a_real_error_is_not_retried(database_url: str, tmp_path: Path) -> None:
    def bad(conn: sa.Connection) -> None:
        conn.execute(sa.insert(db.feedback).values(body_code="E1"))  # no verdict, no date

    with db.connect(on(database_url, tmp_path)) as engine, pytest.raises(sa.exc.IntegrityError):
        db.write_retrying(engine, bad, "the feedback")


class _Orig(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("orig", "busy"),
    [
        (_Orig("database is locked"), True),
        (_Orig("deadlock detected", "40P01"), True),
        (_Orig("could not serialize access", "40001"), True),
        (_Orig("no such table: feedback"), False),
        (_Orig("connection refused", "08001"), False),
    ],
)
def test_busy_means_worth_retrying(orig: _Orig, busy: bool) -> None:
    assert db.is_busy(sa.exc.OperationalError("INSERT", {}, orig)) is busy
