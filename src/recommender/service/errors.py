"""One JSON error shape for every 4xx and 5xx the service answers (pages get it as HTML).

``{"status", "error", "detail", "field", ["suggestions"]}`` (:meth:`RecommenderError.to_dict`):
domain errors keep their own status; Flask's and Werkzeug's (404 for an unknown URL, 405,
400 for malformed JSON, 413 …) are reshaped; anything else is logged with its traceback and
answered as an opaque 500 ``internal_error``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from recommender.errors import AuthError, RecommenderError

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
        from recommender.service.pages import error_page

        response = error_page(payload)
    else:
        body = json.dumps(payload, ensure_ascii=False)
        response = Response(body, status=payload["status"], mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _domain(err: RecommenderError) -> Response:
    if err.status >= 500 and err.status != 503:  # 503: no model yet, said at start-up
        log.warning("%s %s: %s (%s)", request.method, request.path, err.detail, err.error)
    headers = {"WWW-Authenticate": 'Bearer realm="recommender admin"'} if err.status == 401 else {}
    return error_response(err.to_dict(), headers)


def _http(err: HTTPException) -> Response:
    status = err.code or 500
    name = (err.name or "error").lower().replace(" ", "_").replace("'", "")
    detail = err.description or err.name or "error"
    if status == 404 and request.url_rule is None:
        detail = f"no route {request.path}; the API is described at /api/v1/openapi.json"
    elif status == 405:
        allowed = sorted(m for m in getattr(err, "valid_methods", None) or [] if m != "OPTIONS")
        detail = f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}"
    payload = {"status": status, "error": name, "detail": detail, "field": None}
    response = error_response(payload)
    for key, value in err.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


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
