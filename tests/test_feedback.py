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

from db_fixtures import ENGINES, PostgresServer
from recommender import feedback
from recommender.cli import cli
from recommender.config import Settings
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


def test_model_version_given_is_kept(client: FlaskClient) -> None:
    response = client.post("/api/v1/feedback", json=GOOD | {"model_version": "older"})
    assert response.status_code == 201 and response.json["model_version"] == "older"


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


def test_training_signals_count_verdicts_per_pair(new_app: AppFactory) -> None:
    app = new_app()
    post = app.test_client().post
    for verdict in ("interested", "not_relevant", "already_sharing"):
        assert post("/api/v1/feedback", json=GOOD | {"verdict": verdict}).status_code == 201
    other = GOOD | {"partner": "Hastings", "verdict": "other"}
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
