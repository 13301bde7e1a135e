"""Versioned schema migrations: Alembic, run from code (no ``alembic.ini`` for anyone to keep).

The revisions are Python files in ``recommender/database/migrations/versions/``, numbered ``0001``,
``0002`` … (each names the one before as ``down_revision``); the newest is the *head* this
version of the code needs. The database records its revision in Alembic's ``alembic_version``
table. What happens to a database, by the state it is in:

=========================  ===========================================  ======================
database                   when a command or the service connects       ``recommender db
                           (:func:`prepare` with ``upgrade=False``)     upgrade``
=========================  ===========================================  ======================
empty (none of our tables) created at head: a fresh checkout needs no   created at head
                           setup step
made by ``create_all``     stamped at ``0001`` (bookkeeping only), then
before migrations          as below                                     same, then upgraded
at head                    used as it is                                nothing to do
behind head                :class:`~recommender.core.errors.SchemaBehind`    upgraded to head
                           naming both revisions and the command
ahead of this version,     :class:`~recommender.core.errors.ConfigError`     same
or partly ours             saying what was found
=========================  ===========================================  ======================

Neither the CLI nor the service upgrades a database that holds a schema: an upgrade can change
tables that other processes (the service's workers, other replicas) are using, so it is the
operator's step (``recommender db upgrade``; ``make run`` does it for a local checkout).

Each change runs in one transaction holding a lock (:func:`migrating`; on SQLite the write
lock): DDL is transactional on both engines, so two processes starting at once on an empty
database create it once, and an upgrade that fails leaves the schema as it was. On SQLite the
foreign keys are off while a revision rebuilds a table, and checked before the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from recommender.core.errors import ConfigError, SchemaBehind
from recommender.database.transactions import lock

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The tables and columns ``create_all`` made before migrations: revision 0001, frozen here so
# that such a database is recognised whatever the tables become.
LEGACY_REVISION = "0001"
LEGACY_TABLES = {
    "imports": {"id", "at", "file_name", "sha256", "rows", "added", "duplicates", "layout"},
    "arrangements": {
        "id", "name", "service", "start_year", "end_year", "status", "savings_gbp",
        "savings_basis", "savings_period_years", "annual_savings_gbp", "savings_aim", "source",
        "note", "simulated", "fingerprint", "import_id",
    },
    "members": {"arrangement_id", "position", "body_code", "name_as_given", "role", "resolution"},
    "feedback": {
        "id", "created_at", "body_code", "partner_code", "service", "verdict", "comment",
        "model_version",
    },
    "audit_log": {"id", "at", "action", "actor", "detail", "outcome"},
}  # fmt: skip
UPGRADE_HINT = "run `recommender db upgrade`"


@dataclass(frozen=True)
class Status:
    """Where a database's schema stands against this version's migrations."""

    current: str | None  # None: no revision recorded
    head: str
    state: str  # "empty", "legacy", "current", "behind", "unknown", "partial"

    def summary(self) -> str:
        """Return the status in one line for ``recommender db current``."""
        what = {
            "empty": "empty: the schema is created on first use",
            "legacy": "made before migrations: recorded as revision "
            f"{LEGACY_REVISION} on first use",
            "current": "up to date",
            "behind": UPGRADE_HINT,
            "unknown": "a revision this version does not know (a newer version's?)",
            "partial": "some of recommender's tables but not all",
        }[self.state]
        return f"revision {self.current or 'none'} (head {self.head}): {what}"


def head() -> str:
    """Return the revision this version of the code needs."""
    found = _script(str(MIGRATIONS)).get_current_head()
    if found is None:
        raise ConfigError(f"no migration revisions in {MIGRATIONS}")
    return found


def status(engine: Engine) -> Status:
    """Return where ``engine``'s schema stands (reads only)."""
    with engine.connect() as conn:
        return _status(conn)


def prepare(engine: Engine, *, upgrade: bool) -> Status:
    """Make the schema ready to use and return the status it had (see the module docstring).

    ``upgrade`` False (every command, the service): create an empty database, stamp a legacy
    one, raise :class:`SchemaBehind` for one behind. True (``recommender db upgrade``): also
    upgrade one behind.
    """
    before = status(engine)  # read without a lock: most of the time there is nothing to do
    if before.state == "current":
        return before
    # Judged only under the lock: unlocked, the revision and the tables are two reads, and
    # another process creating the schema between them makes it look half-made ("partial").
    with migrating(engine) as conn:
        found = _status(conn)  # again under the lock: another process may have done it
        _refuse(found, engine, upgrade=upgrade)
        config = _config(conn)
        if found.state == "legacy":
            command.stamp(config, LEGACY_REVISION)
        if found.state != "current":
            command.upgrade(config, "head")
    return found


@contextmanager
def migrating(engine: Engine) -> Iterator[sa.Connection]:
    """Yield a connection for revisions to run on: one write transaction holding the schema
    lock, committed at the end and rolled back on any error.

    On SQLite, foreign keys are off around it and checked before the commit (SQLite's own
    procedure for changing a table). A revision that changes a table's constraints there
    rebuilds the table: Alembic's batch mode copies it, drops the old one and renames the copy.
    With foreign keys on, dropping ``arrangements`` would delete every row of ``members``
    through their ``ON DELETE CASCADE``. The pragma does nothing inside a transaction, so it is
    set on the driver's connection before the transaction begins, and set back after.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(conn, on=False)
        try:
            conn.execution_options(recommender_write=True)
            with conn.begin():
                lock(conn, "schema")
                yield conn
                if sqlite:
                    _check_foreign_keys(conn)
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, on=True)


def _sqlite_foreign_keys(conn: sa.Connection, *, on: bool) -> None:
    driver = conn.connection.driver_connection  # not conn.execute: that would begin first
    assert driver is not None  # (a live connection's)
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(conn: sa.Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise ConfigError(
            f"the schema upgrade would leave {len(broken)} row(s) of {', '.join(tables)} "
            "pointing at rows that are not there; nothing was changed",
            field="database_url",
        )


def _refuse(found: Status, engine: Engine, *, upgrade: bool) -> None:
    where = engine.url.render_as_string(hide_password=True)
    if found.state == "behind" and not upgrade:
        raise SchemaBehind(
            f"the database schema is at revision {found.current}, this version needs "
            f"{found.head}: {UPGRADE_HINT} (database {where})",
            field="database_url",
        )
    if found.state == "unknown":
        raise ConfigError(
            f"the database schema is at revision {found.current}, which this version does not "
            f"know (it knows up to {found.head}): a newer version upgraded it; run that "
            f"version (database {where})",
            field="database_url",
        )
    if found.state == "partial":
        raise ConfigError(
            f"the database {where} has some of recommender's tables but not all, or not all "
            "their columns, and no schema revision: it was not made by recommender; point "
            "RECOMMENDER_DATABASE_URL at an empty database or at a recommender one",
            field="database_url",
        )


def _status(conn: sa.Connection) -> Status:
    target = head()
    current = MigrationContext.configure(conn).get_current_revision()
    if current is not None:
        script = _script(str(MIGRATIONS))
        if current == target:
            return Status(current, target, "current")
        known = {r.revision for r in script.walk_revisions()}
        return Status(current, target, "behind" if current in known else "unknown")
    inspector = sa.inspect(conn)
    ours = set(inspector.get_table_names()) & set(LEGACY_TABLES)
    if not ours:
        return Status(None, target, "empty")
    complete = ours == set(LEGACY_TABLES) and all(
        {c["name"] for c in inspector.get_columns(t)} == columns
        for t, columns in LEGACY_TABLES.items()
    )
    return Status(None, target, "legacy" if complete else "partial")


def _config(conn: sa.Connection) -> Config:
    config = Config()
    # Config values go through configparser interpolation: a % in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = conn
    return config


@lru_cache(maxsize=4)
def _script(location: str) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", location.replace("%", "%%"))
    return ScriptDirectory.from_config(config)
