"""The database: SQLAlchemy Core tables, the engine and transactions.

An SQLite file under ``var/`` by default (``Settings.db_url``); any SQLAlchemy URL, e.g.
``postgresql+psycopg://user@host/db``, when ``RECOMMENDER_DATABASE_URL`` is set. SQLite runs with
foreign keys enforced and write-ahead logging so a reader (the web service) never blocks an import.

The tables below are the one definition of the schema; the database gets them through the
versioned migrations of :mod:`recommender.database.migrate` (never ``create_all``), which a test
holds
equal to :data:`metadata`.

Writes: :func:`transaction` takes SQLite's write lock when it begins (``BEGIN IMMEDIATE``), so a
write waits for the lock instead of failing half-way when another process wrote first; writers
keep it briefly (an import builds its rows before it opens its transaction). Small writes from
the web service (feedback, audit) go through :func:`write_retrying`, which waits out a busy
database with backoff up to :data:`BUSY_RETRY_SECONDS`.

Tables::

    arrangements   one shared-service arrangement (see CONTRIBUTING "The register")
    members        its partners, in order; body_code NULL (and external_kind set) for
                   organisations outside the reference
    imports        one row per file loaded into the register
    feedback       what users say about a recommendation (used by the web service)
    audit_log      admin actions (used by the web service)
    scenarios      local government reorganisation scenarios (recommender.scenario), by name
    scenario_councils  which successor each council of a scenario goes to (one row a council)
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url

from recommender.core.config import Settings
from recommender.core.errors import ConfigError, DatabaseBusy, DataError
from recommender.database.transactions import lock as lock
from recommender.database.transactions import transaction as transaction

STATUSES = ("active", "ended", "unknown", "proposed")
SAVINGS_BASES = ("annual", "to_date", "cumulative", "projected", "unknown")
ROLES = ("lead", "partner", "external")
VERDICTS = ("interested", "not_relevant", "already_sharing", "other")
# How long SQLite waits for another writer's lock before it reports the database busy.
SQLITE_BUSY_MS = 10_000
# How long a small write (feedback, audit) keeps retrying a busy database before giving up:
# well inside `recommender serve`'s 60 s worker timeout.
BUSY_RETRY_SECONDS = 30.0
T = TypeVar("T")

metadata = sa.MetaData()


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{column}")


imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("layout", sa.Text, nullable=False),
)

arrangements = sa.Table(
    "arrangements",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("service", sa.String(64), nullable=False, index=True),
    sa.Column("start_year", sa.Integer),
    sa.Column("end_year", sa.Integer),
    sa.Column("status", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("savings_gbp", sa.Float),
    sa.Column("savings_basis", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("savings_period_years", sa.Integer),
    # Derived from the three columns above by register.annualise; NULL when it cannot be.
    sa.Column("annual_savings_gbp", sa.Float),
    # False: the arrangement was not set up to save money (so a 0 figure is not a failure).
    sa.Column("savings_aim", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("simulated", sa.Boolean, nullable=False, index=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id")),
    _one_of("status", STATUSES),
    _one_of("savings_basis", SAVINGS_BASES),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column(
        "arrangement_id",
        sa.String(64),
        sa.ForeignKey("arrangements.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("body_code", sa.String(16), index=True),
    sa.Column("name_as_given", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("resolution", sa.Text, nullable=False),
    # What an external member is (see reference_rules.EXTERNAL_KINDS); NULL for a body.
    sa.Column("external_kind", sa.String(32)),
    _one_of("role", ROLES),
    sa.CheckConstraint(
        "external_kind IS NULL OR external_kind IN ('nhs_trust', 'local_council', 'other')",
        name="ck_external_kind",
    ),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body_code", sa.String(16), nullable=False, index=True),
    sa.Column("partner_code", sa.String(16)),
    sa.Column("service", sa.String(64)),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("model_version", sa.Text),
    _one_of("verdict", VERDICTS),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),  # JSON text
    sa.Column("outcome", sa.Text, nullable=False),
)


scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),  # a slug, checked in code
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per council a scenario reorganises: a council goes to one successor (the key says so).
scenario_councils = sa.Table(
    "scenario_councils",
    metadata,
    sa.Column(
        "scenario_id",
        sa.Integer,
        sa.ForeignKey("scenarios.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("council_code", sa.String(16), primary_key=True),
    sa.Column("successor_code", sa.String(16), nullable=False),
    sa.Column("successor_name", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # the council's place in its successor
)


def engine_for(settings: Settings) -> Engine:
    """Return an engine for ``settings.db_url``, creating the SQLite file's folder if needed.

    The caller owns the engine (``engine.dispose()`` when done, or use :func:`connect`).
    """
    try:
        url = make_url(settings.db_url)
    except sa.exc.ArgumentError as err:
        raise ConfigError(
            f"database URL {settings.db_url!r} is not valid: {err}", field="database_url"
        ) from err
    if url.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (ImportError, sa.exc.NoSuchModuleError) as err:
            raise ConfigError(
                f"cannot use database URL {url.render_as_string(hide_password=True)}: {err}"
                " (for PostgreSQL install the 'postgres' extra)",
                field="database_url",
            ) from err
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    sa.event.listen(engine, "connect", _sqlite_pragmas(wal=path is not None))
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def public_source(source: str) -> str:
    """Where a register came from, as it may be shown to anyone: a database URL as its kind and
    name (no password, host or folder: "postgresql database recommender", "sqlite database
    recommender.sqlite"), a file as its name."""
    if "://" not in source:
        return Path(source).name
    try:
        url = make_url(source)
    except (ValueError, sa.exc.ArgumentError):
        return "a database"
    return f"{url.get_backend_name()} database {Path(url.database or '').name}".strip()


@contextmanager
def connect(settings: Settings) -> Iterator[Engine]:
    """Yield an engine whose schema is ready (see :func:`init_db`) and dispose of it afterwards."""
    engine = engine_for(settings)
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()


def init_db(engine: Engine) -> None:
    """Make the schema ready: created in an empty database, recognised in one made before
    migrations; raise :class:`~recommender.core.errors.SchemaBehind` when it is behind this version
    (``recommender db upgrade`` upgrades it: never behind the operator's back)."""
    from recommender.database import migrate

    migrate.prepare(engine, upgrade=False)


def insert_new(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: str
) -> set[Any]:
    """Insert ``rows``, skipping any that clash with a row already there on a unique column
    (``INSERT … ON CONFLICT DO NOTHING``); return the ``key`` values of the rows inserted.

    The database decides what is new, under its own locks: two writers inserting the same row
    at once do not both succeed, and neither fails.
    """
    if not rows:
        return set()
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):  # no portable ON CONFLICT: a clash raises
        conn.execute(sa.insert(table), list(rows))
        return {r[key] for r in rows}
    dialect_insert = sqlite.insert if name == "sqlite" else postgresql.insert
    stmt = dialect_insert(table).on_conflict_do_nothing().returning(table.c[key])
    return set(conn.scalars(stmt, list(rows)))


def write_retrying(engine: Engine, work: Callable[[sa.Connection], T], what: str) -> T:
    """Run ``work`` in one :func:`transaction`, again after a pause while the database is busy
    (SQLite locked, a PostgreSQL deadlock or serialisation failure), up to
    :data:`BUSY_RETRY_SECONDS`; then raise :class:`~recommender.core.errors.DatabaseBusy`."""
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    delay = 0.02
    while True:
        try:
            with transaction(engine) as conn:
                return work(conn)
        except sa.exc.OperationalError as err:
            if not is_busy(err):
                raise
            if time.monotonic() + delay > deadline:
                raise DatabaseBusy(
                    f"the database stayed busy for {BUSY_RETRY_SECONDS:g} s; {what} was not "
                    "stored: try again"
                ) from err
        pause(delay)
        delay = min(delay * 2, 1.0)


def pause(seconds: float) -> None:
    """Sleep between retries (a function of its own so tests can see the retries)."""
    time.sleep(seconds)


def is_busy(err: sa.exc.DBAPIError) -> bool:
    """Whether ``err`` says the database was busy (worth retrying) rather than wrong."""
    if "database is locked" in str(err.orig) or "database table is locked" in str(err.orig):
        return True
    # PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
    return getattr(err.orig, "sqlstate", None) in ("40001", "40P01", "55P03")


def count(conn: sa.Connection, table: sa.Table) -> int:
    """Return the number of rows in ``table``."""
    return int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def rows_from_csv(path: Path, table: sa.Table, text: str | None = None) -> list[dict[str, Any]]:
    """Read a CSV written for ``table`` into typed rows; raise naming the file, row and cell.

    Empty cells are NULL in nullable columns; booleans are ``true``/``false``. ``text`` is the
    file's content when the caller has read it already (so two files read together stay so).
    """
    if text is None:
        text = path.read_bytes().decode("utf-8")  # as the file is: no newline translation
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c.name for c in table.columns if c.name not in header and c.nullable is False]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}", field="file")
        columns = [c for c in table.columns if c.name in header]
        rows = []
        for number, raw in enumerate(reader, start=2):
            row: dict[str, Any] = {}
            for column in columns:
                text = raw[column.name] or ""
                try:
                    row[column.name] = _typed(text, column)
                except ValueError as err:
                    raise DataError(
                        f"{path}: row {number}, column {column.name!r}, value {text!r}: {err}",
                        field=column.name,
                    ) from err
            rows.append(row)
    return rows


def _typed(text: str, column: sa.Column[Any]) -> Any:
    if text == "":
        if column.nullable or isinstance(column.type, sa.Text):
            return None if column.nullable else ""
        raise ValueError("a value is required")
    if isinstance(column.type, sa.Boolean):
        if text not in ("true", "false"):
            raise ValueError("expected true or false")
        return text == "true"
    if isinstance(column.type, sa.Integer):
        return int(text)
    if isinstance(column.type, sa.Float):
        return float(text)
    return text


def _sqlite_path(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_pragmas(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling starts a transaction only at the first write
        # and never around DDL; _sqlite_begin issues BEGIN itself instead (SQLAlchemy's
        # documented recipe), so migrations are atomic and writers lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # Wait for a concurrent writer instead of failing at once: set first, so that the
            # switch to WAL (which needs the database to itself) waits too.
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_MS)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                _switch_to_wal(cursor)
        finally:
            cursor.close()

    return on_connect


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode. Two processes opening a new database at once both ask,
    and SQLite answers one of them "database is locked" at once, without waiting: look again
    (the other has usually switched it) for up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        time.sleep(0.05)


def _sqlite_begin(conn: sa.Connection) -> None:
    # A writer takes the write lock at BEGIN: a transaction that read first and then wrote
    # would fail at once (not wait) if another connection had written in between.
    write = conn.get_execution_options().get("recommender_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
