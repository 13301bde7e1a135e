"""``recommender serve``: run the web service under gunicorn (not Flask's development server).

gunicorn answers some requests itself, before the app sees them: a request line longer than
:data:`LIMITS` allows (414), too many or too long header fields (431), a malformed request line,
method, HTTP version, header or chunked body (400), an unsupported transfer coding (501), and a
500 if a worker fails outside the app. :func:`json_error` makes those answers the app's JSON
error shape (``status``, ``error``, ``detail``, ``field``) with its security headers, in place
of gunicorn's HTML page (gunicorn writes all of them through ``gunicorn.util.write_error``,
which is replaced in this process before the workers fork).

What cannot be JSON: a connection closed with no answer at all, which is what gunicorn does
when a worker is killed for exceeding ``--timeout`` mid-request, when the client disconnects
before sending a request line, or when the listen backlog is full (the kernel refuses the
connection); and an answer to a request on a connection that does not speak HTTP/1.x (TLS sent
to the plain port) is unreadable to that client whatever its format.

Each worker listens on a socket of its own (``SO_REUSEPORT``), so the kernel spreads new
connections across the workers. With one shared socket, a worker that is quicker to accept
takes a burst of connections (a proxy's pool, a load test's clients) and keeps them for as long
as they are kept alive, while the other workers idle: under 32 kept-alive clients one of two
workers was seen serving every request for a minute at a time. As ``SO_REUSEPORT`` would also
let a second server share a port in use, the port is checked free before gunicorn starts.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import socket
from typing import Any

import click

from recommender.cli._common import SettingsObj, pass_settings

DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
DEFAULT_THREADS = 4
# gunicorn's limits on a request's head (its defaults, stated so they are documented): a longer
# URL answers 414; more header fields, or a longer one, 431.
LIMITS = {
    "limit_request_line": 4094,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
}


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
    type=click.IntRange(1, 65535),  # (not 0, "any": each worker would take another port)
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
    from recommender.webapp import create_app

    check_free(host, port)
    # Built before gunicorn starts, so a missing reference folder or a bad setting is a clean
    # error here; the workers fork from this process and share the loaded model.
    app = create_app()
    # What start-up made (the model, its prepared suggestions: millions of objects) lives as
    # long as the process: out of the cyclic garbage collector's reach, its collections stay
    # short (no pause of a request to walk them) and do not write to the pages the workers
    # share with this process.
    gc.freeze()
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
        "reuse_port": True,  # a listening socket per worker (see the module docstring)
        "preload_app": True,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "post_fork": _post_fork,
        # gunicorn's control socket (``gunicornc``: add or remove workers, reload, shut down)
        # is off. Its path is one per user ($XDG_RUNTIME_DIR or ~/.gunicorn), so a second
        # server started by the same user would take it over, and stopping either would remove
        # it; this service is run through its signals and its admin API.
        "control_socket_disable": True,
        **LIMITS,
    }
    _run(app, options)


def check_free(host: str, port: int) -> None:
    """Refuse to start (exit status 1, saying why) when ``host:port`` cannot be listened on:
    another server holds it, or the address is not this machine's."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror}") from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn's own
        try:
            probe.bind(address)
        except OSError as err:
            taken = " (is another server running there?)" if err.errno == errno.EADDRINUSE else ""
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {err.strerror}{taken}"
            ) from None


def json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Write one of gunicorn's own error answers in the app's JSON error shape."""
    from gunicorn import util
    from werkzeug.exceptions import default_exceptions

    from recommender.webapp.guards import HEADERS

    known = default_exceptions.get(status_int)
    name = known().name if known is not None else reason  # the names the app's errors use
    payload = {
        "status": status_int,
        "error": name.lower().replace(" ", "_").replace("'", ""),
        "detail": mesg or name,
        "field": None,
    }
    if status_int >= 500:  # as the app answers its own: logged by gunicorn, opaque here
        payload |= {"error": "internal_error",
                    "detail": "an unexpected error occurred; it has been logged"}  # fmt: skip
    body = json.dumps(payload).encode("ascii")  # ASCII: the request line may hold any byte
    head = [f"HTTP/1.1 {status_int} {reason}", "Connection: close",
            "Content-Type: application/json", f"Content-Length: {len(body)}",
            *(f"{key}: {value}" for key, value in HEADERS.items())]  # fmt: skip
    util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _post_fork(server: Any, worker: Any) -> None:
    # Connections opened in the parent must not be shared with the children.
    app = worker.app.wsgi()
    current = app.extensions["recommender"]
    current.engine.dispose(close=False)
    # A worker forked later (one restarted after a crash or a timeout) starts with the model the
    # master loaded at start-up: it catches up with the registry before it takes a request.
    current.models.follow()
    # Each worker follows promotions made elsewhere from a thread of its own (threads do not
    # survive a fork, so it starts here): requests never wait for a model to load.
    current.models.watch()


def _run(app: Any, options: dict[str, Any]) -> None:
    from gunicorn import util
    from gunicorn.app.base import BaseApplication

    util.write_error = json_error  # gunicorn's error pages in the JSON shape (see above)

    class Server(BaseApplication):  # type: ignore[misc]
        """gunicorn serving the app built above, with options from the command line."""

        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()
