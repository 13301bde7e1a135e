"""The HTML face of an error: the API's error shape rendered as a page with the same status,
its suggestions as links. Imports nothing of the app (the error handlers call it), so that
errors, state and pages do not import each other in a circle.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, render_template, request, url_for

TRAIN_HINT = "train and promote one with `recommender train --promote` (or `make model`)"
CODE = re.compile(r"\(([A-Z]\d{8})\)")
TITLES = {
    400: "There is a problem with your request",
    403: "That is not allowed from here",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "That is too much to send",
    429: "Too many requests: please wait a moment",
    503: "Recommendations are unavailable",
}


def error_page(payload: dict[str, Any]) -> Response:
    """Render an error (the API's error shape) as an HTML page with the same status."""
    status = int(payload["status"])
    detail = str(payload["detail"])
    if status == 404 and request.url_rule is None:
        detail = f"There is no page at {request.path}."
    elif status >= 500 and status != 503:
        detail = "Sorry, something went wrong on our side. It has been logged; try again later."
    title = TITLES.get(status, "Sorry, something went wrong")
    if status == 404 and request.endpoint == "compare.page" and payload.get("field") == "with":
        title = "A partner to compare was not found"
    html = render_template(
        "error.html",
        status=status,
        title=title,
        detail=detail,
        field=payload.get("field"),
        links=_suggestion_links(payload),
        train_hint=TRAIN_HINT if status == 503 else None,
        query=(request.view_args or {}).get("code_or_name", ""),
    )
    return Response(html, status=status, mimetype="text/html")


def _suggestion_links(payload: dict[str, Any]) -> list[dict[str, str | None]]:
    """The error's suggestions, as links where they name bodies or arrangements (a body page
    asked for by a name that matched nothing: its filters kept)."""
    out: list[dict[str, str | None]] = []
    kept: dict[str, Any] = (
        request.args.to_dict(flat=False) if request.endpoint == "pages.body" else {}
    )
    for text in payload.get("suggestions") or []:
        if payload["error"] == "unknown_arrangement":
            out.append({"label": text, "url": url_for("pages.arrangement", arrangement_id=text)})
            continue
        parts = str(text).split(" + ")
        for part in parts:
            code = CODE.search(part)
            url = url_for("pages.body", code_or_name=code.group(1), **kept) if code else None
            out.append({"label": part, "url": url})
    return out
