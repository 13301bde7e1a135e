"""Writing the register: an import's one short transaction, and the default register's load.

Two rules keep writes right when several processes write at once (the service's workers, an
analyst's import, another replica):

- **Build first, then write briefly.** An import reads the fingerprints and ids already there
  without a lock, builds every row, and only then opens its write transaction, which inserts
  with a few ``executemany`` statements and commits. On SQLite, where a write locks the whole
  database, feedback posted meanwhile waits for that moment only.
- **The database decides what is new.** Rows go in with ``INSERT … ON CONFLICT DO NOTHING``
  (:func:`recommender.database.db.insert_new`) against the unique ``fingerprint``: an arrangement
  that
  another import committed after the read is skipped and reported as a duplicate, never a raw
  ``IntegrityError``. A new arrangement whose id (not fingerprint) was taken meanwhile makes the
  import roll back and build its rows again (:data:`ID_ATTEMPTS` times at most).

The default register (``data/register/``) is loaded holding a lock
(:func:`recommender.database.db.lock`) after a lock-free check that finds it loaded almost every
time, so
processes starting together load it once. Its two files are read together under
:func:`recommender.core.atomic.reading` and checked to belong together before anything is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from recommender.core import atomic
from recommender.core.errors import DataError, UnknownArrangement
from recommender.core.names import closest_ids
from recommender.database import db

Rows = list[dict[str, Any]]
# (fingerprints already stored, ids already taken) -> (arrangement rows, member rows) to add
Build = Callable[[set[str], set[str]], tuple[Rows, Rows]]
DEFAULT_LOCK = "default register"
DEFAULT_FILES = ("arrangements.csv", "members.csv")
ID_ATTEMPTS = 5
_CHUNK = 500  # stay under the database's limit on bound parameters


@dataclass(frozen=True)
class ImportRecord:
    """What the ``imports`` table keeps about one file loaded into the register."""

    file_name: str
    sha256: str
    layout: str
    rows: int
    in_file_duplicates: int = 0


def identities(conn: Connection) -> tuple[set[str], set[str]]:
    """Return the fingerprints and the ids already in the register."""
    table = db.arrangements
    known = set(conn.scalars(sa.select(table.c.fingerprint)))
    return known, set(conn.scalars(sa.select(table.c.id)))


def store(engine: Engine, record: ImportRecord, unique: int, build: Build) -> tuple[Rows, int]:
    """Add the new arrangements that ``build`` makes, with their members and ``record``, in one
    short transaction; return the arrangement rows stored and the import's id.

    ``unique`` is the number of distinct arrangements in the file (the rest of them, not
    stored, are counted as duplicates).
    """
    for _ in range(ID_ATTEMPTS):
        with engine.connect() as conn:  # a read: no lock is held while the rows are built
            known, taken = identities(conn)
        arrangement_rows, member_rows = build(known, taken)
        try:
            with db.transaction(engine) as conn:
                import_id = record_import(conn, record, 0, 0)
                stored, clashes = insert(conn, arrangement_rows, member_rows, import_id)
                if clashes:
                    raise _IdTaken
                duplicates = unique - len(stored) + record.in_file_duplicates
                imports = db.imports
                conn.execute(
                    sa.update(imports)
                    .where(imports.c.id == import_id)
                    .values(added=len(stored), duplicates=duplicates)
                )
        except _IdTaken:
            continue  # another import took an id given to a new arrangement: build again
        return stored, import_id
    raise DataError(
        f"{record.file_name}: overlapping imports kept taking the ids given to its new "
        "arrangements; nothing was imported, try again",
        field="file",
    )


def preview(engine: Engine, register_dir: Path, build: Build) -> Rows:
    """Return the arrangement rows an import would add, writing nothing (a dry run: the default
    register is loaded into a transaction that is rolled back, so it counts as it would)."""
    with db.transaction(engine, commit=False) as conn:
        load_default(conn, register_dir)
        known, taken = identities(conn)
    return build(known, taken)[0]


def record_import(conn: Connection, record: ImportRecord, added: int, duplicates: int) -> int:
    """Add a row to ``imports``; return its id."""
    values = {"at": datetime.now(UTC), "file_name": record.file_name, "sha256": record.sha256}
    values |= {"rows": record.rows, "added": added, "duplicates": duplicates}
    key = conn.execute(sa.insert(db.imports).values(values | {"layout": record.layout}))
    return int(key.inserted_primary_key[0]) if key.inserted_primary_key else 0


class _IdTaken(Exception):
    """An id given to a new arrangement was taken meanwhile by another (roll back, retry)."""


def insert(conn: Connection, arrangements: Rows, members: Rows, import_id: int) -> tuple[Rows, int]:
    """Insert the arrangements not already there (by fingerprint) and their members; return
    those inserted, and how many were not inserted because another arrangement has their id."""
    rows = [r | {"import_id": import_id} for r in arrangements]
    inserted = db.insert_new(conn, db.arrangements, rows, "fingerprint")
    missed = [r["fingerprint"] for r in rows if r["fingerprint"] not in inserted]
    there: set[str] = set()
    fingerprints = db.arrangements.c.fingerprint
    for i in range(0, len(missed), _CHUNK):
        chunk = sa.select(fingerprints).where(fingerprints.in_(missed[i : i + _CHUNK]))
        there |= set(conn.scalars(chunk))
    stored = [r for r in arrangements if r["fingerprint"] in inserted]
    ids = {r["id"] for r in stored}
    kept = [m for m in members if m["arrangement_id"] in ids]
    if kept:
        conn.execute(sa.insert(db.members), kept)
    return stored, len(missed) - len(there)


def remove(engine: Engine, ids: list[str]) -> Rows:
    """Delete the arrangements ``ids`` and their members in one transaction; return the
    arrangement rows deleted. An id not in the register deletes nothing and raises
    :class:`UnknownArrangement` naming it."""
    table = db.arrangements
    with db.transaction(engine) as conn:
        found = [
            dict(r) for r in conn.execute(sa.select(table).where(table.c.id.in_(ids))).mappings()
        ]
        missing = sorted(set(ids) - {r["id"] for r in found})
        if missing:
            near = closest_ids(missing[0], list(conn.scalars(sa.select(table.c.id))))
            raise UnknownArrangement(
                f"no arrangement has the id {missing[0]!r}"
                + (f" (nor {', '.join(map(repr, missing[1:]))})" if missing[1:] else "")
                + "; nothing was removed",
                field="id",
                suggestions=near,
            )
        conn.execute(sa.delete(db.members).where(db.members.c.arrangement_id.in_(ids)))
        conn.execute(sa.delete(table).where(table.c.id.in_(ids)))
    return sorted(found, key=lambda r: ids.index(r["id"]))


# The default register ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultFiles:
    """The shipped default register's two files, read together."""

    paths: tuple[Path, Path]
    texts: tuple[str, str]
    sha256: str


def read_default(register_dir: Path) -> DefaultFiles:
    """Read ``arrangements.csv`` and ``members.csv`` as one pair (see the module docstring)."""
    paths = (register_dir / DEFAULT_FILES[0], register_dir / DEFAULT_FILES[1])
    # register build-default replaces the pair together: finish a replacement a kill left
    # half-done, and read while none runs, so that the two files come from one build.
    with atomic.reading(register_dir):
        for path in paths:
            if not path.is_file():
                hint = "run `recommender register build-default` to create it"
                raise DataError(f"{path} is missing: {hint}", field="register")
        data = (paths[0].read_bytes(), paths[1].read_bytes())
    sha = hashlib.sha256(b"".join(data)).hexdigest()
    return DefaultFiles(paths, (data[0].decode("utf-8"), data[1].decode("utf-8")), sha)


def ensure_default(engine: Engine, register_dir: Path) -> int:
    """Load the default register unless the database holds it already; return how many."""
    default = read_default(register_dir)
    with engine.connect() as conn:  # nearly always there is nothing to do: no lock for that
        if _is_current(conn, default.sha256):
            return 0
    with db.transaction(engine) as conn:
        db.lock(conn, DEFAULT_LOCK)
        return load_default(conn, register_dir, default)


def reset(engine: Engine, register_dir: Path) -> int:
    """Delete every arrangement and import record and load the default register again."""
    default = read_default(register_dir)
    with db.transaction(engine) as conn:
        db.lock(conn, DEFAULT_LOCK)
        for table in (db.members, db.arrangements, db.imports):
            conn.execute(sa.delete(table))
        return load_default(conn, register_dir, default)


def load_default(conn: Connection, register_dir: Path, default: DefaultFiles | None = None) -> int:
    """Load the default register in ``conn``'s transaction, replacing an older one; return how
    many arrangements were loaded. Call holding :data:`DEFAULT_LOCK` (or in a transaction that
    will be rolled back), so what it reads stays true until it writes."""
    default = default or read_default(register_dir)
    if _is_current(conn, default.sha256):
        return 0
    previous = _previous(conn)
    if previous is not None:
        old = sa.select(db.arrangements.c.id).where(db.arrangements.c.import_id == previous.id)
        conn.execute(sa.delete(db.members).where(db.members.c.arrangement_id.in_(old)))
        conn.execute(sa.delete(db.arrangements).where(db.arrangements.c.import_id == previous.id))
    arrangement_rows = db.rows_from_csv(default.paths[0], db.arrangements, default.texts[0])
    member_rows = db.rows_from_csv(default.paths[1], db.members, default.texts[1])
    check_pair(default.paths, arrangement_rows, member_rows)
    # An analyst may have imported one of the default arrangements: theirs stays.
    kept, kept_ids = identities(conn)
    arrangement_rows = [
        r for r in arrangement_rows if r["fingerprint"] not in kept and r["id"] not in kept_ids
    ]
    n = len(arrangement_rows)
    record = ImportRecord("data/register", default.sha256, "default", n)
    import_id = record_import(conn, record, n, 0)
    # An import committed since the read may still win an arrangement: it is skipped here.
    stored, _ = insert(conn, arrangement_rows, member_rows, import_id)
    if len(stored) != n:
        imports = db.imports
        conn.execute(sa.update(imports).where(imports.c.id == import_id).values(added=len(stored)))
    return len(stored)


def check_pair(paths: tuple[Path, Path], arrangements: Rows, members: Rows) -> None:
    """Refuse an ``arrangements.csv`` and a ``members.csv`` that do not come from one build."""
    ids = {r["id"] for r in arrangements}
    named = {m["arrangement_id"] for m in members}
    strays, lonely = sorted(named - ids), sorted(ids - named)
    problems = []
    if strays:
        problems.append(f"{len(strays)} arrangement(s) only in {paths[1].name}, e.g. {strays[0]}")
    if lonely:
        problems.append(f"{len(lonely)} with no members in {paths[1].name}, e.g. {lonely[0]}")
    if problems:
        raise DataError(
            f"{paths[0]} and {paths[1].name} do not belong together ({'; '.join(problems)}): "
            "rebuild them with `recommender register build-default`",
            field="register",
        )


def _previous(conn: Connection) -> Any:
    imports = db.imports
    return conn.execute(
        sa.select(imports.c.id, imports.c.sha256)
        .where(imports.c.layout == "default")
        .order_by(imports.c.id.desc())
        .limit(1)
    ).first()


def _is_current(conn: Connection, sha: str) -> bool:
    previous = _previous(conn)
    if previous is not None:
        return bool(previous.sha256 == sha)
    return db.count(conn, db.arrangements) > 0  # an analyst's own register, no default in it
