"""Versioned migrations (``recommender.database.migrate``, ``recommender db``) on SQLite and
PostgreSQL.

A second revision, written here into a copy of the package's migrations (it adds a ``kind``
column to ``members``, like the next real one will), plays a newer version of the code.
"""

from __future__ import annotations

import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from recommender.cli import cli
from recommender.core.config import Settings
from recommender.core.errors import ConfigError, SchemaBehind
from recommender.database import db, migrate

TABLES = {
    "arrangements",
    "members",
    "imports",
    "feedback",
    "audit_log",
    "scenarios",
    "scenario_councils",
}
HEAD = migrate.head()  # the package's newest revision
NEXT = f"{int(HEAD) + 1:04d}"  # a newer version's, played by the test
SECOND = f"""
import sqlalchemy as sa
from alembic import op

revision = "{NEXT}"
down_revision = "{HEAD}"


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("kind", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("kind")
"""


def settings(url: str, tmp_path: Path) -> Settings:
    return Settings(root=tmp_path, database_url=url)


def revision(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _default_text(value: Any) -> str | None:
    # How each engine reports a server default: "'x'", "('')", "'x'::character varying",
    # "1" or "true".
    if value is None:
        return None
    text = re.sub(r"::[a-z ]+$", "", str(value)).strip("()").strip("'")
    return {"1": "true", "0": "false"}.get(text, text)


def _compare_defaults(
    _context: Any, _inspected: Any, _meta: Any, inspected: Any, _meta_default: Any, rendered: Any
) -> bool:
    return _default_text(inspected) != _default_text(rendered)


def schema_diff(engine: sa.Engine) -> list[Any]:
    """What alembic's autogenerate would change to make the database match ``db.metadata``."""
    options = {"compare_type": True, "compare_server_default": _compare_defaults}
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts=options), db.metadata)


def legacy_schema(engine: sa.Engine) -> None:
    """The tables as ``create_all`` made them before migrations existed (revision 0001), with
    no record of a revision."""
    from alembic import command

    with db.transaction(engine) as conn:
        command.upgrade(migrate._config(conn), migrate.LEGACY_REVISION)
        conn.execute(sa.text("DROP TABLE alembic_version"))


@pytest.fixture
def newer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This version of the code, with a revision on top of the package's."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / f"v{NEXT}_members_kind.py").write_text(SECOND)
    monkeypatch.setattr(migrate, "MIGRATIONS", folder)
    return NEXT


def test_the_migrated_schema_is_the_tables_of_db(database_url: str, tmp_path: Path) -> None:
    with db.connect(settings(database_url, tmp_path)) as engine:
        assert set(sa.inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert schema_diff(engine) == []
    assert revision(database_url) == migrate.head() == HEAD


def test_the_comparison_sees_a_difference(database_url: str, tmp_path: Path) -> None:
    # The test above could pass by comparing nothing: a column the migrations lack is seen.
    with db.connect(settings(database_url, tmp_path)) as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE feedback ADD COLUMN extra INTEGER")
        assert [d[0] for d in schema_diff(engine)] == ["remove_column"]


def test_a_database_made_by_create_all_is_recognised(database_url: str, tmp_path: Path) -> None:
    engine = db.engine_for(settings(database_url, tmp_path))
    try:
        legacy_schema(engine)  # what init_db did before migrations
        with engine.begin() as conn:
            row = {"at": datetime.now(UTC), "action": "kept", "actor": "a", "outcome": "ok"}
            conn.execute(sa.insert(db.audit_log), [row])
        assert migrate.status(engine).state == "legacy"
        db.init_db(engine)
        assert migrate.status(engine).state == "current"
        assert schema_diff(engine) == []
        with engine.connect() as conn:
            assert list(conn.scalars(sa.select(db.audit_log.c.action))) == ["kept"]
    finally:
        engine.dispose()


def test_a_fresh_database_goes_straight_to_head(
    database_url: str, tmp_path: Path, newer: str
) -> None:
    with db.connect(settings(database_url, tmp_path)) as engine:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("members")}
    assert "kind" in columns and revision(database_url) == newer


def test_a_database_behind_is_refused_until_db_upgrade(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.connect(settings(database_url, tmp_path)):
        pass  # at the package's head
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / f"v{NEXT}_members_kind.py").write_text(SECOND)
    monkeypatch.setattr(migrate, "MIGRATIONS", folder)

    with pytest.raises(SchemaBehind) as caught, db.connect(settings(database_url, tmp_path)):
        pass
    assert caught.value.detail.startswith(
        f"the database schema is at revision {HEAD}, this version needs {NEXT}: "
        "run `recommender db upgrade`"
    )
    env = {"RECOMMENDER_DATABASE_URL": database_url}
    runner = CliRunner()
    refused = runner.invoke(cli, ["feedback", "export"], env=env)
    assert refused.exit_code == 1 and "run `recommender db upgrade`" in refused.output
    assert revision(database_url) == HEAD  # a command does not upgrade behind your back
    shown = runner.invoke(cli, ["db", "current"], env=env)
    assert f"revision {HEAD} (head {NEXT}): run `recommender db upgrade`" in shown.output

    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema upgraded from revision {HEAD} to {NEXT}" in upgraded.output
    assert revision(database_url) == NEXT
    again = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert "nothing to do" in again.output
    assert runner.invoke(cli, ["feedback", "export"], env=env).exit_code == 0


def test_the_service_refuses_to_start_on_a_database_behind(
    database_url: str, tmp_path: Path, newer: str
) -> None:
    from recommender.webapp import create_app

    with db.connect(settings(database_url, tmp_path)):
        pass  # at NEXT
    with db.connect(settings(database_url, tmp_path)) as engine, engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE alembic_version SET version_num = '{HEAD}'"))
    config = {"TESTING": True, "DATABASE_URL": database_url, "MODELS_DIR": str(tmp_path / "m")}
    with pytest.raises(SchemaBehind, match=rf"at revision {HEAD}, this version needs {NEXT}"):
        create_app(config)
    assert revision(database_url) == HEAD


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("UPDATE alembic_version SET version_num = '0099'", "revision 0099, which this version"),
        ("DROP TABLE alembic_version; DROP TABLE audit_log", "some of recommender's tables"),
    ],
)
def test_a_schema_from_elsewhere_is_refused_saying_what_was_found(
    database_url: str, tmp_path: Path, damage: str, message: str
) -> None:
    with db.connect(settings(database_url, tmp_path)) as engine, engine.begin() as conn:
        for statement in damage.split("; "):
            conn.exec_driver_sql(statement)
    for upgrade in (False, True):
        engine = db.engine_for(settings(database_url, tmp_path))
        with pytest.raises(ConfigError, match=message):
            migrate.prepare(engine, upgrade=upgrade)
        engine.dispose()


def test_two_processes_creating_the_schema_at_once_create_it_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both see an empty database before either creates anything; then they race to create it.
    seen = threading.Barrier(2, timeout=60)
    status = migrate.status

    def both_look_first(engine: sa.Engine) -> migrate.Status:
        found = status(engine)
        if found.state == "empty":
            seen.wait()
        return found

    monkeypatch.setattr(migrate, "status", both_look_first)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with db.connect(settings(database_url, tmp_path)):
                pass
        except BaseException as err:  # reported below, with the other thread's
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.connect(settings(database_url, tmp_path)) as engine, engine.connect() as conn:
        assert conn.scalars(sa.text("SELECT version_num FROM alembic_version")).all() == [HEAD]
        assert schema_diff(engine) == []


def test_a_schema_made_meanwhile_by_another_process_is_not_taken_for_a_foreign_one(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unlocked, the revision and the tables are two reads: when another process commits the
    # schema between them, the tables are there and the revision is not ("partial"). Only the
    # read under the lock may refuse a database.
    status = migrate.status
    engine = db.engine_for(settings(database_url, tmp_path))
    try:

        def made_meanwhile(engine: sa.Engine) -> migrate.Status:
            found = status(engine)
            monkeypatch.setattr(migrate, "status", status)  # once
            db.init_db(engine)  # the other process, just now
            return migrate.Status(None, found.head, "partial")  # what the two reads saw

        monkeypatch.setattr(migrate, "status", made_meanwhile)
        assert migrate.prepare(engine, upgrade=False).state == "current"
        assert migrate.status(engine).state == "current" and schema_diff(engine) == []
    finally:
        engine.dispose()


def _arrangement(conn: sa.Connection, ident: str, status: str, members: int = 0) -> None:
    conn.execute(sa.text(
        "INSERT INTO arrangements (id, name, service, status, savings_basis, savings_aim, "
        "source, note, simulated, fingerprint) VALUES (:id, 'x', 'legal', :status, "
        "'unknown', true, '', '', false, :id)"), {"id": ident, "status": status})  # fmt: skip
    for position in range(members):
        conn.execute(sa.text(
            "INSERT INTO members (arrangement_id, position, body_code, name_as_given, role, "
            "resolution) VALUES (:id, :position, NULL, 'A company', 'external', 'none')"),
            {"id": ident, "position": position})  # fmt: skip


def _rows(engine: sa.Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(query))]


def test_revision_0004_lets_an_arrangement_be_proposed_and_back_again(
    database_url: str, tmp_path: Path
) -> None:
    """An older database (0003) keeps its rows, its members too, through the operator's
    upgrade: on SQLite the revision rebuilds ``arrangements``, and with foreign keys on that
    deleted every member (their ON DELETE CASCADE). It then takes 'proposed' and still refuses
    a status that is none of them; going back turns a proposal into 'unknown'."""
    from alembic import command

    engine = db.engine_for(settings(database_url, tmp_path))
    statuses = "SELECT id, status FROM arrangements ORDER BY id"
    try:
        with migrate.migrating(engine) as conn:
            command.upgrade(migrate._config(conn), "0003")
            _arrangement(conn, "old", "active", members=2)
            _arrangement(conn, "ended", "ended", members=3)
        with pytest.raises(sa.exc.IntegrityError), db.transaction(engine) as conn:
            _arrangement(conn, "early", "proposed")  # not yet a status
        assert migrate.prepare(engine, upgrade=True).current == "0003"
        assert migrate.status(engine).state == "current" and schema_diff(engine) == []
        with db.transaction(engine) as conn:
            _arrangement(conn, "talks", "proposed", members=2)
        assert _rows(engine, statuses) == [
            ("ended", "ended"), ("old", "active"), ("talks", "proposed")
        ]  # fmt: skip
        members = "SELECT arrangement_id, COUNT(*) FROM members GROUP BY 1 ORDER BY 1"
        assert _rows(engine, members) == [("ended", 3), ("old", 2), ("talks", 2)]
        with pytest.raises(sa.exc.IntegrityError), db.transaction(engine) as conn:
            _arrangement(conn, "bad", "maybe")
        with migrate.migrating(engine) as conn:
            command.downgrade(migrate._config(conn), "0003")
        assert _rows(engine, statuses)[2] == ("talks", "unknown")
        assert _rows(engine, members) == [("ended", 3), ("old", 2), ("talks", 2)]
        with db.transaction(engine) as conn:  # foreign keys are on again after a migration
            conn.execute(sa.text("DELETE FROM arrangements WHERE id = 'old'"))
        assert _rows(engine, members) == [("ended", 3), ("talks", 2)]
    finally:
        engine.dispose()


ORPHANS = f"""
from alembic import op

revision = "{NEXT}"
down_revision = "{HEAD}"


def upgrade() -> None:
    op.execute("DELETE FROM arrangements WHERE id = 'old'")  # its members left behind


def downgrade() -> None:
    pass
"""


def test_an_upgrade_leaving_rows_pointing_at_nothing_changes_nothing_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With foreign keys off for the upgrade, SQLite would let a revision orphan rows: they are
    looked for before the commit, and finding any undoes the upgrade (PostgreSQL keeps its
    foreign keys on throughout)."""
    engine = db.engine_for(settings(f"sqlite:///{tmp_path / 'r.sqlite'}", tmp_path))
    try:
        migrate.prepare(engine, upgrade=False)
        with db.transaction(engine) as conn:
            _arrangement(conn, "old", "active", members=2)
        folder = tmp_path / "migrations"
        shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "versions" / f"v{NEXT}_orphans.py").write_text(ORPHANS)
        monkeypatch.setattr(migrate, "MIGRATIONS", folder)
        with pytest.raises(ConfigError, match=r"leave 2 row\(s\) of members pointing at rows"):
            migrate.prepare(engine, upgrade=True)
        assert migrate.status(engine).current == HEAD
        assert _rows(engine, "SELECT COUNT(*) FROM arrangements") == [(1,)]
        assert _rows(engine, "SELECT COUNT(*) FROM members") == [(2,)]
    finally:
        engine.dispose()


def test_revision_0005_stores_what_a_real_arrangements_name_says_of_its_status(
    database_url: str, tmp_path: Path
) -> None:
    """A database filled before imports read the names kept a named proposal and a named split
    as "unknown" (and the split with no end year): the upgrade stores what an import now
    stores, and keeps a status or an end year a row holds; going back leaves them."""
    from alembic import command

    rows = [  # id, name, start, end, status, simulated
        ("prop", "Fareham offices letting (proposal)", 2019, None, "unknown", False),
        ("split", "Wessex Youth Offending Team (joint YOT, split 2012)", 2000, None, "unknown",
         False),
        ("split-said-ended", "Joint YOT (split in 2011)", None, None, "ended", False),
        ("split-early", "Old pact (split 1999)", 2005, None, "unknown", False),  # not before start
        ("prop-active", "Shared HR (proposal)", 2015, None, "active", False),  # its status kept
        ("split-ended-2010", "Pact (split 2012)", 2001, 2010, "ended", False),  # its end kept
        ("prop-simulated", "Simulated (proposal)", 2019, None, "unknown", True),
        ("plain", "Shared legal service", 2010, None, "unknown", False),
    ]  # fmt: skip
    engine = db.engine_for(settings(database_url, tmp_path))
    stored = "SELECT id, status, end_year FROM arrangements ORDER BY id"
    try:
        with migrate.migrating(engine) as conn:
            command.upgrade(migrate._config(conn), "0004")
            for ident, name, start, end, status, simulated in rows:
                conn.execute(
                    sa.text(
                        "INSERT INTO arrangements (id, name, service, start_year, end_year, "
                        "status, savings_basis, savings_aim, source, note, simulated, "
                        "fingerprint) VALUES (:id, :name, 'legal', :start, :end, :status, "
                        "'unknown', true, '', '', :simulated, :id)"
                    ),
                    {
                        "id": ident,
                        "name": name,
                        "start": start,
                        "end": end,
                        "status": status,
                        "simulated": simulated,
                    },
                )
        migrate.prepare(engine, upgrade=True)
        assert migrate.status(engine).state == "current"
        upgraded = {
            "plain": ("unknown", None),
            "prop": ("proposed", None),
            "prop-active": ("active", None),
            "prop-simulated": ("unknown", None),
            "split": ("ended", 2012),
            "split-early": ("unknown", None),
            "split-ended-2010": ("ended", 2010),
            "split-said-ended": ("ended", 2011),
        }
        assert {r[0]: (r[1], r[2]) for r in _rows(engine, stored)} == upgraded
        with migrate.migrating(engine) as conn:
            command.downgrade(migrate._config(conn), "0004")
        assert {r[0]: (r[1], r[2]) for r in _rows(engine, stored)} == upgraded
    finally:
        engine.dispose()
