"""Replicas: two ``recommender serve`` processes on one PostgreSQL database and one models folder.

A promotion made through one replica's admin API, and a rollback through the other's, are
served by every worker of both within the stated bound (``MODEL_CHECK_SECONDS`` plus the time a
worker takes to load the model), while a load generator sends requests to both and not one of
them fails. The allowance for a model load is generous (the machine is shared): what the test
proves is the mechanism (no admin call reaches the other replica; it reads the shared registry
by itself), not a speed; ``make bench`` measures speed.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from db_fixtures import PostgresServer
from recommender.core.config import Settings
from recommender.database import audit
from recommender.model import artifacts
from service_fixtures import TOKEN

CHECK_SECONDS = 1.0
LOAD_ALLOWANCE = 30.0  # a model loads in about a second; four workers at once on two busy cores
BOUND = CHECK_SECONDS + LOAD_ALLOWANCE
SETTLED = 20  # a swap has reached a replica when this many answers in a row carry the new model
DEADLINE = 180.0  # the test gives up waiting for a swap after this long (it then fails)
URLS = [
    "/api/v1/bodies/Rother/recommendations?k=2",
    "/api/v1/bodies/E07000065/recommendations?k=2&service=legal",
    "/api/v1/bodies/Hastings/recommendations?k=3&kinds=council",
    "/api/v1/bodies/Wealden/groups?service=ict&k=1&max_size=2",
    "/api/v1/health",
]


@dataclass(frozen=True)
class Answer:
    replica: int
    started: float
    status: int  # 0: no answer (connection refused, reset or timed out)
    version: str | None
    detail: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(
    port: int, method: str, path: str, body: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    # A new connection for every request: the kernel hands each to any of the replica's
    # workers, so every worker is asked (a kept-alive connection stays with one worker).
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers |= {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def replicas(
    postgres_server: PostgresServer, service_models: Path, trained_settings: Settings,
    tmp_path: Path,
) -> Iterator[tuple[list[int], Settings, str]]:  # fmt: skip
    """Two replicas (two workers × two threads each) sharing a PostgreSQL database and a models
    folder; their ports, the shared settings and the database URL."""
    url = postgres_server.new_database()
    models = tmp_path / "models"
    shutil.copytree(service_models, models)
    env = os.environ | {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(models),
        "RECOMMENDER_DATABASE_URL": url,
        "RECOMMENDER_ADMIN_TOKEN": TOKEN,
        "RECOMMENDER_MODEL_CHECK_SECONDS": str(CHECK_SECONDS),
    }
    command = str(Path(sys.executable).with_name("recommender"))
    subprocess.run([command, "db", "upgrade"], env=env, check=True, capture_output=True)
    ports = [_free_port(), _free_port()]
    logs = [(tmp_path / f"replica-{i}.log").open("w+") for i in range(2)]
    serve = [command, "serve", "--workers", "2", "--threads", "2", "--port"]
    servers = [
        subprocess.Popen([*serve, str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for server, port, log in zip(servers, ports, logs, strict=True):
            deadline = time.monotonic() + DEADLINE
            while True:
                assert server.poll() is None, log.seek(0) or log.read()
                try:
                    if _request(port, "GET", "/api/v1/health")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "a replica did not start"
                time.sleep(0.2)
        yield ports, trained_settings.with_(models_dir=models, database_url=url), url
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server, log in zip(servers, logs, strict=True):
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
        postgres_server.drop_database(url)


class Load:
    """Threads asking both replicas, in turn, for :data:`URLS` until stopped; every answer kept."""

    def __init__(self, ports: list[int], threads_per_replica: int = 2) -> None:
        self.ports = ports
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(replica, n), daemon=True)
            for replica in range(len(ports))
            for n in range(threads_per_replica)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _run(self, replica: int, offset: int) -> None:
        n = offset
        stop_at = time.monotonic() + 2 * DEADLINE + 60  # bounded even if the test hangs
        while not self._stop.is_set() and time.monotonic() < stop_at:
            path = URLS[n % len(URLS)]
            n += 1
            started = time.monotonic()
            try:
                status, body = _request(self.ports[replica], "GET", path)
                version = body.get("model_version")
                answer = Answer(replica, started, status, str(version) if version else None,
                                "" if status == 200 else f"{path}: {body}")  # fmt: skip
            except (OSError, http.client.HTTPException, ValueError) as err:
                answer = Answer(replica, started, 0, None, f"{path}: {err!r}")
            with self._lock:
                self.answers.append(answer)

    def since(self, replica: int, moment: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.replica == replica and a.started >= moment]

    def wait_for(self, replica: int, version: str, moment: float) -> None:
        """Wait until the replica's last :data:`SETTLED` answers to requests made after
        ``moment`` all carry ``version``."""
        deadline = time.monotonic() + DEADLINE
        while True:
            recent = self.since(replica, moment)[-SETTLED:]
            if len(recent) == SETTLED and all(a.version == version for a in recent):
                return
            assert time.monotonic() < deadline, f"replica {replica} still not serving {version}"
            time.sleep(0.1)


def _switch(load: Load, replica: int, old: str, new: str, moment: float, end: float) -> float:
    """How long after ``moment`` the replica last started a request answered by ``old``; the
    answers after that one (until ``end``) all carry ``new``."""
    answers = [a for a in load.since(replica, moment) if a.started < end]
    old_starts = [a.started for a in answers if a.version == old]
    last_old = max(old_starts, default=moment)
    after = [a for a in answers if a.started > last_old]
    assert after and all(a.version == new for a in after), (replica, old, new)
    return last_old - moment


def test_a_promotion_through_one_replica_reaches_the_other_with_no_failed_request(
    replicas: tuple[list[int], Settings, str],
) -> None:
    (a, b), settings, url = replicas
    first, second = artifacts.versions(settings)
    assert artifacts.promoted_version(settings) == first
    with Load([a, b]) as load:
        load.wait_for(0, first, 0.0)
        load.wait_for(1, first, 0.0)
        # Promote through replica A's admin API only.
        status, swap = _request(a, "POST", "/api/v1/admin/promote", {"version": second})
        assert status == 200, swap
        promoted = time.monotonic()
        load.wait_for(0, second, promoted)
        load.wait_for(1, second, promoted)
        # Roll back through replica B's admin API only.
        rolling_back = time.monotonic()
        status, swap = _request(b, "POST", "/api/v1/admin/rollback", {})
        assert status == 200 and swap["model_version"] == first, swap
        rolled_back = time.monotonic()
        load.wait_for(0, first, rolled_back)
        load.wait_for(1, first, rolled_back)
        done = time.monotonic()
    failed = [a for a in load.answers if a.status != 200]
    assert not failed, failed[:5]
    assert len(load.answers) > 8 * SETTLED
    delays = {
        (replica, what): _switch(load, replica, old, new, moment, end)
        for what, old, new, moment, end in (
            ("promote", first, second, promoted, rolling_back),
            ("rollback", second, first, rolled_back, done),
        )
        for replica in (0, 1)
    }
    print("\nlast request answered by the old model, seconds after the swap:", delays)
    assert all(delay <= BOUND for delay in delays.values()), delays
    # Both replicas wrote to the one database: both admin actions are in its audit log.
    engine = sa.create_engine(url)
    try:
        actions = [(e["action"], e["outcome"]) for e in audit.entries(engine)]
    finally:
        engine.dispose()
    assert sorted(actions) == [("promote", "ok"), ("rollback", "ok")]
    assert json.loads((settings.models / artifacts.REGISTRY).read_text())["promoted"] == first
