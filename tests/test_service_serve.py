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
from pathlib import Path

from recommender.config import Settings


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


def test_serve_runs_gunicorn(
    trained_settings: Settings, service_models: Path, tmp_path: Path
) -> None:
    port = _free_port()
    env = os.environ | {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(service_models),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
    }
    recommender = Path(sys.executable).with_name("recommender")  # the installed entry point
    command = [str(recommender), "serve", "--port", str(port),
               "--workers", "2", "--threads", "2"]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                status, headers, health = _get(f"{base}/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 200 and health["status"] == "ok"
        assert "gunicorn" in headers.get("Server", "")
        status, _, shown = _get(f"{base}/bodies/Rother/recommendations?k=1")
        assert status == 200 and shown["model_version"] == health["model_version"]
        status, _, error = _get(f"{base}/bodies/Rother/recommendations?k=-1")
        assert status == 400 and error["field"] == "k"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "Serving the pages on" in output and "gunicorn" in output.lower()
