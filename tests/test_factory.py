"""The app factory: defaults, then RECOMMENDER_* variables, then the test config."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recommender.core.errors import ConfigError, DataError
from recommender.recommend.ranking import MAX_K
from service_fixtures import AppFactory


def test_defaults(make_app: AppFactory) -> None:
    app = make_app()
    assert app.config["MAX_K"] == MAX_K
    assert app.config["ADMIN_TOKEN"] is None
    assert "recommender" in app.extensions


def test_environment_overrides_defaults(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOMMENDER_MAX_K", "7")
    monkeypatch.setenv("RECOMMENDER_CACHE_BYTES", "0")
    app = make_app()
    assert app.config["MAX_K"] == 7
    assert len(app.extensions["recommender"].cache) == 0
    client = app.test_client()
    assert client.get("/api/v1/bodies/Rother/recommendations?k=7").status_code == 200
    response = client.get("/api/v1/bodies/Rother/recommendations?k=8")
    assert response.status_code == 400 and response.json["field"] == "k"
    assert len(app.extensions["recommender"].cache) == 0  # CACHE_BYTES=0: nothing kept


def test_test_config_overrides_the_environment(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOMMENDER_MAX_K", "7")
    app = make_app(MAX_K=9)
    assert app.config["MAX_K"] == 9
    schema = app.test_client().get("/api/v1/openapi.json").json
    params = schema["paths"]["/bodies/{code_or_name}/recommendations"]["get"]["parameters"]
    assert next(p for p in params if p["name"] == "k")["schema"]["maximum"] == 9


def test_environment_sets_token_and_timings(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOMMENDER_ADMIN_TOKEN", "from-the-environment-12345")
    monkeypatch.setenv("RECOMMENDER_REGISTER_SIZE_SECONDS", "2.5")
    app = make_app()
    assert app.config["ADMIN_TOKEN"] == "from-the-environment-12345"
    assert app.extensions["recommender"].register_size.ttl == 2.5
    response = app.test_client().post(
        "/api/v1/admin/reload", headers={"Authorization": "Bearer from-the-environment-12345"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("short-token", "11 characters; use at least 24"),
        (" padded-admin-token-123456789 ", "spaces or a newline around it"),
        ("admin-token-123456789012345\n", "spaces or a newline around it"),
        ("admin-token-1234567890123£", "printable ASCII"),
        (12345678901234567890123456, "must be a string"),
    ],
)
def test_a_weak_or_malformed_admin_token_stops_the_start(
    make_app: AppFactory, token: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        make_app(ADMIN_TOKEN=token)
    assert caught.value.field == "ADMIN_TOKEN"


def test_serve_refuses_a_short_token_before_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from recommender.cli import cli

    result = CliRunner().invoke(cli, ["serve"], env={"RECOMMENDER_ADMIN_TOKEN": "123"})
    assert result.exit_code == 1
    assert "ADMIN_TOKEN is 3 characters; use at least 24" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"MAX_K": MAX_K + 1}, ConfigError),
        ({"MAX_K": 0}, ConfigError),
        ({"CACHE_BYTES": "lots"}, ConfigError),
        ({"CACHE_BYTES": "-1MB"}, ConfigError),
        ({"CACHE_SIZE": 4096}, ConfigError),  # the old setting (answers, not bytes): not ignored
        ({"DATABASE_URL": "recommender.sqlite"}, ConfigError),
        ({"DATA_DIR": "/nonexistent/data"}, DataError),
        ({"ADMIN_TOKEN": "too-short"}, ConfigError),
    ],
)
def test_bad_configuration_fails_at_start(
    make_app: AppFactory, config: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        make_app(**config)


def test_nothing_is_loaded_at_import() -> None:
    code = (
        "import sys, recommender.webapp, recommender.webapp.api, recommender.webapp.admin\n"
        "heavy = [m for m in ('recommender.recommend.ranking', 'recommender.model.fit', 'sklearn')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("given", "size"),
    [(0, 0), (4096, 4096), ("64MB", 64 * 1024**2), ("512 KB", 512 * 1024), ("1G", 1024**3)],
)
def test_cache_sizes_are_bytes_or_bytes_with_a_unit(
    make_app: AppFactory, given: object, size: int
) -> None:
    app = make_app(CACHE_BYTES=given, BRIEFING_CACHE_BYTES=given)
    current = app.extensions["recommender"]
    assert current.cache.max_bytes == size
    assert current.briefings.max_bytes == size


def test_the_apps_json_is_compact_utf8_with_nan_as_null(make_app: AppFactory) -> None:
    import datetime

    import numpy as np

    from recommender.core.jsontext import dumps

    app = make_app(models=False)
    payload = {"b": float("nan"), "a": np.int64(3), "s": "Ynys Môn", "d": datetime.date(2026, 1, 2)}
    expected = '{"b":null,"a":3,"s":"Ynys Môn","d":"2026-01-02"}'
    assert app.json.dumps(payload) == expected  # keys in the order given
    assert dumps(payload) == expected.encode("utf-8")
    assert app.json.dumps({"s": "a\ud800b"}) == '{"s":"a\\ud800b"}'  # not UTF-8: escaped
    with app.test_request_context():
        from flask import jsonify

        assert jsonify(payload).get_data(as_text=True).strip() == expected
