"""Databases for the tests: SQLite files, and a throwaway PostgreSQL server.

:func:`database_url` is parametrised over both engines, so every test that takes it (directly,
or through ``register_settings``) runs on SQLite and on PostgreSQL. The SQLite database is a
file in ``tmp_path``; the PostgreSQL one a fresh database on the session's server.

:func:`postgres_server` starts once per test session (once per xdist worker) and only when a
PostgreSQL test runs: ``initdb`` makes a cluster in a private temporary folder, and ``pg_ctl``
starts it listening on a unix socket in that folder only (no TCP port, so parallel sessions and
other servers on the machine cannot clash), with fsync off (the data is thrown away). It is
stopped and deleted at the end (or, when the session was killed before that, by the next
session, which finds the cluster's owner gone). PostgreSQL refuses to run as root: as root
(CI), the cluster belongs to, and the server runs as, the ``postgres`` system user that
Debian's package creates.
Without the server binaries (``/usr/lib/postgresql/*/bin``) the PostgreSQL tests fail saying so:
``make test`` installs them (``.ci/system-deps.sh``), so a skip would only hide a broken setup.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ENGINES = ("sqlite", "postgresql")
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_USER = "postgres"  # the system user of Debian's package, and the database superuser here
PG_PORT = 5432  # only names the socket file, in a folder of our own
PG_PREFIX = "recommender-pg-"
NewDatabase = Callable[..., str]


@dataclass
class PostgresServer:
    """A running throwaway cluster; :meth:`new_database` makes an empty database on it."""

    socket_dir: Path
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@/{database}?host={self.socket_dir}&port={PG_PORT}"

    def new_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`new_database`, closing what is still connected
        (each is a few MB on disk: dropped, a session's cluster stays small and quick to delete)."""
        name = url.split("?")[0].rsplit("/", 1)[1]
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=PG_PORT, user=PG_USER, dbname="postgres",
            autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(statement)  # type: ignore[arg-type]


def pg_bin() -> Path:
    """Return the newest PostgreSQL server's bin folder, or fail the test saying what to do."""
    found = [Path(p) for p in glob.glob(PG_BIN_GLOB) if (Path(p) / "initdb").is_file()]
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries not found ({PG_BIN_GLOB}/initdb): install Debian's "
            "postgresql package (`make test` does it through .ci/system-deps.sh, as root)",
            pytrace=False,
        )
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _as_server_user() -> dict[str, Any]:
    """The subprocess arguments that run a command as the server's user."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(PG_USER)
    except KeyError:
        pytest.fail(
            f"running as root, and there is no {PG_USER!r} system user to run PostgreSQL as "
            "(Debian's postgresql package creates it)",
            pytrace=False,
        )
    # extra_groups=[]: drop root's supplementary groups too.
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _stop_orphans(bin_dir: Path, as_user: dict[str, Any]) -> None:
    """Stop and delete the clusters of test sessions that were killed before their teardown
    (each folder names the pid of the session that made it)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PG_PREFIX}*"):
        try:
            owner = int((folder / "owner.pid").read_text())
            os.kill(owner, 0)
            continue  # still running: not ours to stop
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not one of ours, or not readable
        if (folder / "data" / "postmaster.pid").is_file():
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w",
                 "stop"], capture_output=True, check=False, **as_user,
            )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this session (see the module docstring)."""
    bin_dir = pg_bin()
    as_user = _as_server_user()
    _stop_orphans(bin_dir, as_user)
    folder = Path(tempfile.mkdtemp(prefix=PG_PREFIX))
    (folder / "owner.pid").write_text(str(os.getpid()))
    if as_user:
        os.chown(folder, as_user["user"], as_user["group"])
    data, log = folder / "data", folder / "server.log"
    env = os.environ | {"LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        done = subprocess.run(
            [str(bin_dir / args[0]), *args[1:]], cwd=folder, env=env, capture_output=True,
            text=True, check=False, **as_user,
        )  # fmt: skip
        if done.returncode != 0:
            server_log = log.read_text() if log.is_file() else ""
            pytest.fail(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"{server_log}",
                pytrace=False,
            )

    options = (
        f"-k {folder} -p {PG_PORT} -c listen_addresses='' -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    try:
        run("initdb", "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync")  # fmt: skip
        run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
        yield PostgresServer(folder)
    finally:
        if (data / "postmaster.pid").is_file():
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _factory(
    request: pytest.FixtureRequest, engine: str, folder: Path, made: list[str]
) -> NewDatabase:
    names = itertools.count()

    def new(name: str | None = None) -> str:
        if engine == "sqlite":
            return f"sqlite:///{folder / 'var' / (name or f'db-{next(names)}')}.sqlite"
        server: PostgresServer = request.getfixturevalue("postgres_server")
        made.append(server.new_database())
        return made[-1]

    return new


@pytest.fixture(params=ENGINES)
def database_engine(request: pytest.FixtureRequest) -> str:
    """The engine of this run of the test: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def new_database(
    request: pytest.FixtureRequest, database_engine: str, tmp_path: Path
) -> Iterator[NewDatabase]:
    """Return a function making an empty database of this test's engine (SQLite: ``name``
    names the file under ``tmp_path/var``) and returning its URL; dropped after the test."""
    made: list[str] = []
    yield _factory(request, database_engine, tmp_path, made)
    if made:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        for url in made:
            server.drop_database(url)


@pytest.fixture
def database_url(new_database: NewDatabase) -> str:
    """The URL of an empty database, once on SQLite and once on PostgreSQL."""
    return new_database("register")
