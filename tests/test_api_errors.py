"""Every 4xx and 5xx answers one JSON shape (after Datasette's ``tests/test_error_shape.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

SHAPE = {"status", "error", "detail", "field"}
JSON = {"content_type": "application/json"}

# method, path, request kwargs, status, error, field
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str, str | None]] = [
    ("GET", "/api/v1/nowhere", {}, 404, "not_found", None),
    ("DELETE", "/api/v1/health", {}, 405, "method_not_allowed", None),
    ("POST", "/api/v1/bodies", {}, 405, "method_not_allowed", None),
    ("GET", "/api/v1/bodies/Atlantis", {}, 404, "unknown_body", "code_or_name"),
    ("GET", "/api/v1/bodies/Atlantis/recommendations", {}, 404, "unknown_body", "code_or_name"),
    ("GET", "/api/v1/bodies/Rother/recommendations?k=-1", {}, 400, "invalid_input", "k"),
    ("GET", "/api/v1/bodies/Rother/recommendations?k=51", {}, 400, "invalid_input", "k"),
    ("GET", "/api/v1/bodies/Rother/recommendations?service=x", {}, 400, "invalid_input",
     "service"),
    ("GET", "/api/v1/bodies/Rother/recommendations?kinds=elves", {}, 400, "invalid_input",
     "kinds"),
    ("GET", "/api/v1/bodies/Rother/recommendations?max_km=far", {}, 400, "invalid_input",
     "max_km"),
    ("GET", "/api/v1/bodies?limit=x", {}, 400, "invalid_input", "limit"),
    ("GET", "/api/v1/health?verbose=1", {}, 400, "invalid_input", "verbose"),
    ("GET", "/api/v1/arrangements/none", {}, 404, "unknown_arrangement", "id"),
    ("POST", "/api/v1/feedback", {"data": "{not json", **JSON}, 400, "invalid_input", None),
    ("POST", "/api/v1/feedback", {"data": "[1, 2]", **JSON}, 400, "invalid_input", None),
    ("POST", "/api/v1/feedback", {"data": "verdict=interested"}, 400, "invalid_input", None),
    ("POST", "/api/v1/feedback", {"json": {"body": "Rother"}}, 400, "invalid_input", "partner"),
    ("POST", "/api/v1/admin/reload", {}, 401, "unauthorized", "Authorization"),
    ("POST", "/api/v1/admin/promote", {"headers": {"Authorization": "Bearer no"}}, 401,
     "unauthorized", "Authorization"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "error", "field"), BAD_REQUESTS)
def test_error_shape(
    client: FlaskClient,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    error: str,
    field: str | None,
) -> None:
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.json
    assert SHAPE <= set(body) <= SHAPE | {"suggestions", "cause", "model_version", "errors"}
    assert body["status"] == status
    assert body["error"] == error
    assert body["field"] == field
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_unexpected_error_is_an_opaque_500(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    # A real bug (here: the database file vanishes from under the feedback table) must be
    # logged with its traceback and answered without one.
    state = app.extensions["recommender"]
    engine = state.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE feedback RENAME TO feedback_gone")
    try:
        response = app.test_client().post(
            "/api/v1/feedback",
            json={"body": "Rother", "partner": "Wealden", "service": "legal",
                  "verdict": "interested"},
        )  # fmt: skip
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE feedback_gone RENAME TO feedback")
    assert response.status_code == 500
    assert response.json == {
        "status": 500,
        "error": "internal_error",
        "detail": "an unexpected error occurred; it has been logged",
        "field": None,
    }
    assert "feedback" not in response.get_data(as_text=True)
    assert any(r.exc_info for r in caplog.records if r.levelname == "ERROR")


def test_no_model_is_503_in_the_shape(bare_app: Flask) -> None:
    response = bare_app.test_client().get("/api/v1/bodies/Rother/recommendations")
    assert response.status_code == 503
    assert set(response.json) == SHAPE
