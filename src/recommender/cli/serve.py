"""``recommender serve``: run the web service under gunicorn (not Flask's development server)."""

from __future__ import annotations

import os
from typing import Any

import click

from recommender.cli._common import SettingsObj, pass_settings

DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
DEFAULT_THREADS = 4


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="RECOMMENDER_HOST",
    help="Address to listen on (0.0.0.0 for every interface).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    envvar="RECOMMENDER_PORT",
    help="Port to listen on.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Worker processes (one per core is a good start).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Threads per worker (1: gunicorn's sync worker).",
)
@click.option(
    "--timeout",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    help="Seconds before a silent worker is restarted.",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every request to standard output.",
)
@pass_settings
def serve(
    obj: SettingsObj,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int,
    access_log: bool,
) -> None:
    """Serve the JSON API (and pages) with gunicorn on HOST:PORT."""  # fmt: skip
    from recommender.service import create_app

    # Built before gunicorn starts, so a missing reference folder or a bad setting is a clean
    # error here; the workers fork from this process and share the loaded model.
    app = create_app()
    version = app.extensions["recommender"].models.version
    click.echo(
        f"Serving the pages on http://{host}:{port}/ and the API under /api/v1 with "
        f"{workers} worker(s) × {threads} thread(s); "
        f"model {version or 'none (recommendations answer 503)'}",
        err=True,
    )
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 10,
        "keepalive": 5,
        "preload_app": True,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "post_fork": _post_fork,
    }
    _run(app, options)


def _post_fork(server: Any, worker: Any) -> None:
    # Connections opened in the parent must not be shared with the children.
    app = worker.app.wsgi()
    app.extensions["recommender"].engine.dispose(close=False)


def _run(app: Any, options: dict[str, Any]) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        """gunicorn serving the app built above, with options from the command line."""

        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()
