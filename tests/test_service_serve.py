"""``recommender serve`` runs the app under gunicorn, answering on the port it was given."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.core.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str], dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served process's ``XDG_RUNTIME_DIR`` (the user's folder for sockets)."""
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(scope="module")
def served(
    trained_settings: Settings,
    service_models: Path,
    runtime_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """``recommender serve`` on a free port (two workers); its URL. Stopped with SIGTERM, it
    must exit cleanly."""
    port = _free_port()
    tmp_path = tmp_path_factory.mktemp("serve")
    env = os.environ | {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(service_models),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "XDG_RUNTIME_DIR": str(runtime_dir),  # where gunicorn would put its control socket
    }
    recommender = Path(sys.executable).with_name("recommender")  # the installed entry point
    command = [str(recommender), "serve", "--port", str(port),
               "--workers", "2", "--threads", "2"]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                _get(f"{base}/api/v1/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "Serving the pages on" in output and "gunicorn" in output.lower()


def test_serve_runs_gunicorn(served: str) -> None:
    base = f"{served}/api/v1"
    status, headers, health = _get(f"{base}/health")
    assert status == 200 and health["state"] == "ok"
    assert "gunicorn" in headers.get("Server", "")
    assert headers["X-Frame-Options"] == "DENY"
    status, _, shown = _get(f"{base}/bodies/Rother/recommendations?k=1")
    assert status == 200 and shown["model_version"] == health["model_version"]
    status, _, error = _get(f"{base}/bodies/Rother/recommendations?k=-1")
    assert status == 400 and error["field"] == "k"


def test_serve_refuses_a_port_in_use(served: str, trained_settings: Settings) -> None:
    """Workers listen with SO_REUSEPORT, which would let a second server share the port:
    it is refused, saying why, before anything starts."""
    port = served.rsplit(":", 1)[1]
    recommender = Path(sys.executable).with_name("recommender")
    env = os.environ | {"RECOMMENDER_DATA_DIR": str(trained_settings.data)}
    second = subprocess.run(
        [str(recommender), "serve", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "another server" in second.stderr


def _listening(port: int) -> set[int]:
    """The processes listening on ``port``."""
    import psutil

    return {
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
    }


def _both_workers_up(served: str) -> int:
    """Wait until both workers listen (the server answers once its first is up); the port."""
    port = int(served.rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while len(_listening(port)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_listening(port)) == 2  # one socket per worker
    return port


def test_serve_opens_no_control_socket(served: str, runtime_dir: Path) -> None:
    """gunicorn's control socket is off: its one path per user would be taken over by a second
    server, and removed when either stops. gunicorn starts it, when on, as it starts the
    workers, so it would be there by now."""
    _both_workers_up(served)
    assert _get(f"{served}/api/v1/health")[0] == 200
    assert list(runtime_dir.iterdir()) == []


def test_connections_are_spread_across_the_workers(served: str) -> None:
    """Each worker listens on a socket of its own, so connections opened at once (a proxy's
    pool, a load test) reach both workers rather than the first to accept."""
    import psutil

    port = _both_workers_up(served)
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
    try:
        for sock in sockets:  # each answered: accepted by a worker, kept alive
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        ours = {sock.getsockname() for sock in sockets}
        held = {
            c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.laddr and c.laddr.port == port and c.raddr and tuple(c.raddr) in ours
        }
    finally:
        for sock in sockets:
            sock.close()
    assert held == _listening(port)  # both hold some of the 32 connections


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    """Send ``request`` as it is (gunicorn parses it, not the app); return the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


REQUESTS = [
    (b"GET /api/v1/health?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "request_uri_too_long"),
    (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", 431,
     "request_header_fields_too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 9000 + b"\r\n\r\n", 431,
     "request_header_fields_too_large"),
    (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),  # raw bytes in a URI
    (b"GET /api/v1/bodies/search?q=%ED%A0%80&limit=99999999999999999999 HTTP/1.1\r\n"
     b"Host: x\r\n\r\n", 400, "invalid_input"),
]  # fmt: skip


@pytest.mark.parametrize(("request_bytes", "status", "error"), REQUESTS)
def test_gunicorns_own_errors_are_in_the_json_shape(
    served: str, request_bytes: bytes, status: int, error: str
) -> None:
    got, headers, body = _raw(served, request_bytes)
    assert (got, body["status"], body["error"]) == (status, status, error)
    assert set(body) >= {"status", "error", "detail", "field"}
    assert headers["Content-Type"].startswith("application/json")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def _exchange(url: str, request: bytes) -> tuple[int, dict[str, object]]:
    """Send ``request`` on a kept-alive connection; return the answer's status and JSON (read
    to its ``Content-Length``: gunicorn reads what is left of the body before it closes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536) or b"\0"
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        while len(body) < int(headers["content-length"]):
            body += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(body)


def _chunked_post(path: str, chunks: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks  # fmt: skip


def _chunks(body: bytes, size: int = 4096) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


FEEDBACK = {"body": "Rother", "partner": "Wealden District Council", "service": "legal",
            "verdict": "interested", "comment": "sent in chunks"}  # fmt: skip


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # a chunk size that is not hexadecimal
        b"2\r\n{}XX0\r\n\r\n",  # a chunk without its CRLF
        b"2;\x01\r\n{}\r\n0\r\n\r\n",  # a control character in a chunk extension
    ],
)
def test_a_malformed_chunked_body_is_a_400(served: str, chunks: bytes) -> None:
    """gunicorn's errors for a malformed chunk, raised as the app reads the body, were 500s."""
    got, body = _exchange(served, _chunked_post("/api/v1/feedback", chunks))
    assert (got, body["error"]) == (400, "bad_request"), body
    assert "chunked encoding is malformed" in str(body["detail"])


def test_a_chunked_body_is_read_whole_and_held_to_the_limit(served: str) -> None:
    """A chunked feedback post is stored; one over FEEDBACK_MAX_BYTES is a 413 naming the limit
    (it was cut at the limit and stored)."""
    small = json.dumps(FEEDBACK).encode()
    got, body = _exchange(served, _chunked_post("/api/v1/feedback", _chunks(small, 16)))
    assert got == 201 and body["comment"] == "sent in chunks", body
    padded = json.dumps(FEEDBACK).encode()[:-1] + b" " * 40_000 + b"}"  # valid JSON, 40 KB
    got, body = _exchange(served, _chunked_post("/api/v1/feedback", _chunks(padded)))
    assert (got, body["error"]) == (413, "request_entity_too_large"), body
    assert body["detail"] == "the request body is over the 16 KB (16,384 bytes) this accepts"
