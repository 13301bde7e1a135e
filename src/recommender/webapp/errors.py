"""One JSON error shape for every 4xx and 5xx the service answers (pages get it as HTML).

``{"status", "error", "detail", "field", ["suggestions"]}`` (:meth:`RecommenderError.to_dict`):
domain errors keep their own status; Flask's and Werkzeug's (404 for an unknown URL, 405,
400 for malformed JSON, 413 …) are reshaped; anything else is logged with its traceback and
answered as an opaque 500 ``internal_error``. Server folders in a domain error's detail (the
models folder, an upload's temporary folder …) are cut to the file's name (:func:`public`):
the CLI shows them, a client has no use for them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Flask, Response, current_app, has_app_context, request
from werkzeug.exceptions import HTTPException, InternalServerError

from recommender.core.config import Settings
from recommender.core.errors import AuthError, RecommenderError
from recommender.webapp.error_pages import error_page

log = logging.getLogger(__name__)


class AdminDisabled(AuthError):
    """The operator set no admin token, so the admin routes are off."""

    status = 403
    error = "admin_disabled"


def error_response(payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """Return ``payload`` (an error shape) as a JSON response with its status.

    Outside ``/api`` (the pages) the same error is an HTML page with the same status.
    """
    if not (request.path + "/").startswith("/api/"):
        response = error_page(payload)
    else:
        text = json.dumps(payload, ensure_ascii=False)
        try:
            body = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate echoed from the request: escape it
            body = json.dumps(payload).encode("ascii")
        response = Response(body, status=payload["status"], mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def public(text: str, settings: Settings | None = None) -> str:
    """Return ``text`` with every path under a server folder cut to its last part."""
    if settings is None and has_app_context():
        found = current_app.extensions.get("recommender")
        settings = getattr(found, "settings", None)
    roots = {tempfile.gettempdir(), sys.prefix, str(Path.home())}
    if settings is not None:
        roots |= {str(p) for p in (settings.root, settings.data, settings.models, settings.web)}
    roots = {r.rstrip("/") for r in roots if r.strip("/")}
    if not any(r in text for r in roots):
        return text
    alternatives = "|".join(re.escape(r) for r in sorted(roots, key=len, reverse=True))
    pattern = re.compile(rf"(?:{alternatives})(?:/[^/\s'\"`:;,()]+)*/?")
    return pattern.sub(lambda m: PurePosixPath(m.group(0)).name or "/", text)


def _domain(err: RecommenderError) -> Response:
    if err.status >= 500 and err.status != 503:  # 503: no model yet, said at start-up
        log.warning("%s %s: %s (%s)", request.method, request.path, err.detail, err.error)
    headers = {"WWW-Authenticate": 'Bearer realm="recommender admin"'} if err.status == 401 else {}
    headers |= getattr(err, "headers", {})  # e.g. Retry-After on 429
    payload = err.to_dict()
    payload["detail"] = public(str(payload["detail"]))
    return error_response(payload, headers)


def _http(err: HTTPException) -> Response:
    status = err.code or 500
    name = (err.name or "error").lower().replace(" ", "_").replace("'", "")
    detail = err.description or err.name or "error"
    if status == 404 and request.url_rule is None:
        detail = f"no route {request.path}; the API is described at /api/v1/openapi.json"
    elif status == 413 and request.max_content_length is not None:
        limit = request.max_content_length
        detail = f"the request body is over the {_size(limit)} this accepts"
    elif status == 405:
        allowed = sorted(m for m in getattr(err, "valid_methods", None) or [] if m != "OPTIONS")
        detail = f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}"
    payload = {"status": status, "error": name, "detail": detail, "field": None}
    response = error_response(payload)
    for key, value in err.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def _size(count: int) -> str:
    """``count`` bytes as people say it, with the exact count: 16 KB (16,384 bytes)."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit} ({count:,} bytes)"  # binary, as the settings
    return f"{count:,} bytes"


def _unexpected(err: Exception) -> Response:
    if isinstance(err, HTTPException) and not isinstance(err, InternalServerError):
        return _http(err)
    original = getattr(err, "original_exception", None) or err
    log.error("unexpected error on %s %s", request.method, request.path, exc_info=original)
    payload = {
        "status": 500,
        "error": "internal_error",
        "detail": "an unexpected error occurred; it has been logged",
        "field": None,
    }
    return error_response(payload)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers that give every error response the one JSON shape."""
    app.register_error_handler(RecommenderError, _domain)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
