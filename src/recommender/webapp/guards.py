"""What protects the service from abuse: per-client limits, same-origin form posts, headers.

Everything here is kept in the process that answers (each gunicorn worker has its own): it
holds nothing another worker or replica needs, and a restart forgets it. A client is its
address (``request.remote_addr``; behind a reverse proxy set ``PROXY_HOPS`` so that it is the
address the proxy saw, from ``X-Forwarded-For``).

* :class:`ClientBuckets`: a token bucket per client (anonymous feedback): ``burst`` requests at
  once, then ``per_minute``; past that 429 ``rate_limited`` with ``Retry-After``.
* :class:`RefusalThrottle`: at most one audit row per client per ``window`` seconds for refused
  admin calls (a guessing client must not fill the audit log); the next row says how many
  refusals were not written.
* :func:`same_origin`: a form post to a page must come from a page of this site (``Origin``,
  else ``Referer``, and ``Sec-Fetch-Site`` when the browser sends it), so another site cannot
  make a visitor's browser post feedback (CSRF). A request with neither header is not a
  browser's cross-site post (browsers send ``Origin`` on every cross-origin POST): allowed.
* :func:`security_headers`: on every response, ``nosniff``, no framing, and a Content Security
  Policy that allows only this site's own scripts, styles and images (no inline script or
  style: the pages use ``/static/app.js`` and ``/static/site.css``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request

from recommender.core.errors import RecommenderError

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
}
MAX_CLIENTS = 10_000  # clients remembered per process (least recently seen forgotten first)


class RateLimited(RecommenderError):
    """Too many requests from one client; ``Retry-After`` says when to try again."""

    status = 429
    error = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class CrossOrigin(RecommenderError):
    """A form post that another site made the browser send."""

    status = 403
    error = "cross_origin"


@dataclass
class ClientBuckets:
    """A token bucket per client: ``burst`` at once, refilled at ``per_minute``."""

    per_minute: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    clients: int = MAX_CLIENTS
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, client: str) -> float:
        """Take one token for ``client``; return 0, or the seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0  # 0 turns the limit off
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.clients:
                self._buckets.popitem(last=False)
        return wait

    def check(self, client: str, what: str) -> None:
        """Raise :class:`RateLimited` when ``client`` has no token left for ``what``."""
        wait = self.take(client)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many {what} from your address: at most {self.per_minute:g} a minute "
                f"(bursts of {self.burst:g}); try again in {retry} s",
                retry_after=retry,
            )


@dataclass
class RefusalThrottle:
    """At most one audit row per client per ``window`` seconds for refused admin calls."""

    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    clients: int = MAX_CLIENTS
    _seen: OrderedDict[str, tuple[float, int]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, client: str) -> int | None:
        """Return None to skip the row, or the refusals not written since the client's last row."""
        now = self.clock()
        with self._lock:
            found = self._seen.pop(client, None)
            if found is not None and now - found[0] < self.window:
                self._seen[client] = (found[0], found[1] + 1)
                return None
            self._seen[client] = (now, 0)
            while len(self._seen) > self.clients:
                self._seen.popitem(last=False)
        return found[1] if found is not None else 0


def client_address() -> str:
    """The address a request came from (the proxy's view of it with ``PROXY_HOPS``)."""
    return request.remote_addr or "unknown"


def same_origin() -> None:
    """Refuse a POST to a page unless it comes from a page of this site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise CrossOrigin(f"a form on another site ({site}) cannot post here", field="Origin")
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        return
    if origin == "null" or _host(urlsplit(origin).netloc) != _host(request.host):
        raise CrossOrigin(
            "this form can only be sent from this site's own pages; open the page here and "
            "send it again",
            field="Origin",
        )


def _host(netloc: str) -> str:
    host = netloc.lower().rsplit("@", 1)[-1]
    for default in (":80", ":443"):
        host = host.removesuffix(default)
    return host


def security_headers(response: Response) -> Response:
    """Add the security headers to ``response`` (kept when a view set its own)."""
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def install(app: Flask, config: Any) -> None:
    """Add the headers to every response and trust ``PROXY_HOPS`` proxies for addresses."""
    hops = int(config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.after_request(security_headers)
