"""Write transactions and named locks, the two things every writer (and the migrations) needs:
:func:`transaction` (one short write transaction) and :func:`lock` (writers that read before
they write take turns). Below :mod:`recommender.database.db` and
:mod:`~recommender.database.migrate`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine


@contextmanager
def transaction(engine: Engine, *, commit: bool = True) -> Iterator[sa.Connection]:
    """Yield a connection in one write transaction: committed at the end (rolled back when
    ``commit`` is False, e.g. a dry run) and rolled back on any error.

    On SQLite it holds the write lock from its first statement, so keep it short.
    """
    with engine.connect() as conn:
        conn.execution_options(recommender_write=True)
        trans = conn.begin()
        try:
            yield conn
        except BaseException:
            trans.rollback()
            raise
        if commit:
            trans.commit()
        else:
            trans.rollback()


def lock(conn: sa.Connection, name: str) -> None:
    """Hold the lock called ``name`` until the transaction ends, so that writers who read
    before they write (loading the default register, migrating) take turns.

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing more is needed, a
    :func:`transaction` already holds the database's one write lock.
    """
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"recommender:{name}".encode())
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
