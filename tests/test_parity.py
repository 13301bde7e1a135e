"""The CLI and the API give the same answer to the same question.

Each resource is asked for through ``recommender … --format json`` (click's CliRunner) and
through ``/api/v1`` (the Flask test client) of one app, on the same data, models and database;
the two JSON documents must be equal. Both build them with
:mod:`recommender.recommend.readmodels`, so a field renamed on one side only fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from recommender.cli import cli

Cli = Callable[..., Any]
# The questions name bodies all over England (Bristol, Hull, Aylesbury Vale): the real data and
# model, not the small world of the quick loop.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(real_app: Flask) -> Flask:
    return real_app


@pytest.fixture
def client(real_client: FlaskClient) -> FlaskClient:
    return real_client


@pytest.fixture(scope="module")
def scenario(app: Flask) -> str:
    """A scenario stored in the module's app (and so in the CLI's database)."""
    from recommender.scenario import store
    from scenario_fixtures import surrey_draft

    state = app.extensions["recommender"]
    store.create(state.engine, surrey_draft("surrey-east-west"), state.settings)
    return "surrey-east-west"


@pytest.fixture
def run(app: Flask) -> Cli:
    """Run the CLI on the app's data, models and database; return the parsed JSON."""
    settings = app.extensions["recommender"].settings
    env = {
        "RECOMMENDER_HOME": str(settings.root),
        "RECOMMENDER_DATA_DIR": str(settings.data),
        "RECOMMENDER_MODELS_DIR": str(settings.models),
        "RECOMMENDER_DATABASE_URL": settings.db_url,
    }

    def invoke(*args: str, ok: bool = True) -> Any:
        result = CliRunner(env=env).invoke(cli, [*args, "--format", "json"])
        if not ok:
            return result
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke


def api(client: FlaskClient, path: str, **query: Any) -> Any:
    response = client.get("/api/v1" + path, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


# Bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "query"),
    [
        (["--county", "East Sussex"], {"county": "East Sussex", "limit": 500}),
        (["--kind", "fire", "--limit", "5", "--offset", "3"], {"kind": "fire", "limit": 5,
                                                              "offset": 3}),
        (["--region", "south west", "--limit", "50"], {"region": "south west"}),
    ],
)  # fmt: skip
def test_bodies_list(run: Cli, client: FlaskClient, args: list[str], query: dict[str, Any]) -> None:
    from_cli = run("bodies", "list", *args)
    from_api = api(client, "/bodies", **query)
    if "limit" not in args and "--limit" not in args:
        from_cli["limit"] = from_api["limit"]  # the CLI lists all by default, the API 50
    assert from_cli == from_api
    assert from_api["bodies"] and set(from_api["bodies"][0]) >= {"code", "name", "kind"}


def test_a_county_that_is_not_one_is_refused_by_both(run: Cli, client: FlaskClient) -> None:
    result = run("bodies", "list", "--county", "Bristol", ok=False)
    assert result.exit_code == 2
    assert "Bristol is not a county" in result.stderr
    assert result.stdout == ""
    response = client.get("/api/v1/bodies", query_string={"county": "Bristol"})
    assert response.status_code == 400
    assert response.json["detail"].startswith("Bristol is not a county; expected one of the")
    assert response.json["detail"] in result.stderr  # the one message, by both
    assert response.json["field"] == "county"


@pytest.mark.parametrize("q", ["Aylesbury Vale", "Rother", "E06000023", "Hull"])
def test_search(run: Cli, client: FlaskClient, q: str) -> None:
    from_api = api(client, "/bodies/search", q=q, limit=5)
    assert run("bodies", "search", q, "--limit", "5") == from_api
    assert isinstance(from_api["results"][0]["codes"], list)


@pytest.mark.parametrize("body", ["Rother", "E06000023", "Aylesbury Vale"])
def test_body_detail(run: Cli, client: FlaskClient, body: str) -> None:
    from_api = api(client, f"/bodies/{body}")
    assert run("bodies", "show", body) == from_api
    assert from_api["containers"]
    county = api(client, "/bodies/East Sussex")
    assert run("bodies", "show", "East Sussex") == county and county["covers"]


# The register -------------------------------------------------------------------------------


def test_arrangements_page(run: Cli, client: FlaskClient) -> None:
    from_api = api(client, "/arrangements", origin="all", limit=4, offset=2)
    assert run("register", "list", "--origin", "all", "--limit", "4", "--offset", "2") == from_api
    assert len(from_api["arrangements"]) == 4 and from_api["total"] > 6
    ident = from_api["arrangements"][0]["id"]
    assert run("register", "show", ident) == api(client, f"/arrangements/{ident}")


@pytest.mark.parametrize("status", ["running", "ended", "proposed"])
def test_arrangements_by_status_in_order(run: Cli, client: FlaskClient, status: str) -> None:
    from_api = api(client, "/arrangements", status=status, order="savings", limit=5)
    cli = run("register", "list", "--status", status, "--order", "savings", "--limit", "5")
    assert cli == from_api and from_api["total"] >= 1


def test_arrangements_of_a_body(run: Cli, client: FlaskClient) -> None:
    from_api = api(client, "/arrangements", body="Rother", service="legal", limit=50)
    assert run("register", "list", "--body", "Rother", "--service", "legal", "--limit", "50") == (
        from_api
    )


# Model answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "query"),
    [
        (["--k", "3"], {"k": 3}),
        (["--service", "legal", "--kinds", "council,fire", "--max-km", "60", "--k", "4",
          "--sort", "likelihood", "--min-choice", "0", "--per-partner", "2"],
         {"service": "legal", "kinds": "council,fire", "max_km": 60, "k": 4,
          "sort": "likelihood", "min_choice": 0, "per_partner": 2}),
        (["--k", "2", "--include-existing"], {"k": 2, "include_existing": "true"}),
        # In any case, a kind twice: read alike (the CLI echoed "LEGAL" and refused "FIRE").
        (["--service", "LEGAL", "--kinds", "Council,FIRE,council", "--k", "3"],
         {"service": "LEGAL", "kinds": "Council,FIRE,council", "k": 3}),
    ],
)  # fmt: skip
def test_recommendations(
    run: Cli, client: FlaskClient, args: list[str], query: dict[str, Any]
) -> None:
    (from_cli,) = run("recommend", "Rother", *args)
    from_api = api(client, "/bodies/Rother/recommendations", **query)
    assert from_cli == from_api
    assert from_api["recommendations"]


@pytest.mark.parametrize(
    ("args", "query", "field"),
    [(["--max-km", "5000"], {"max_km": 5000}, "max_km"),
     (["--per-partner", "17"], {"per_partner": 17}, "per_partner")],
)  # fmt: skip
def test_a_limit_the_api_keeps_the_cli_keeps_too(
    run: Cli, client: FlaskClient, args: list[str], query: dict[str, Any], field: str
) -> None:
    """The CLI answered --max-km 5000 and --per-partner 17, which the API refuses."""
    result = run("recommend", "Rother", *args, ok=False)
    assert result.exit_code != 0 and f"--{field.replace('_', '-')} must be" in result.output
    response = client.get("/api/v1/bodies/Rother/recommendations", query_string=query)
    assert response.status_code == 400 and response.json["field"] == field


def test_recommendations_for_an_abolished_council_say_whose(run: Cli, client: FlaskClient) -> None:
    (from_cli,) = run("recommend", "Aylesbury Vale", "--k", "2")
    from_api = api(client, "/bodies/Aylesbury Vale/recommendations", k=2)
    assert from_cli == from_api
    assert "abolished" in from_api["body"]["note"]


def test_an_empty_answer_says_why_in_both(run: Cli, client: FlaskClient) -> None:
    """Nothing within 1 km: an empty list and nothing else (the page said why; the API did not)."""
    (from_cli,) = run("recommend", "Rother", "--max-km", "1")
    from_api = api(client, "/bodies/Rother/recommendations", max_km=1)
    assert from_cli == from_api
    assert from_api["recommendations"] == [] and "longer distance (max_km)" in from_api["note"]
    with_rows = api(client, "/bodies/Rother/recommendations", k=1)
    assert "note" not in with_rows


def test_recommendations_on_a_scenario(run: Cli, client: FlaskClient, scenario: str) -> None:
    (from_cli,) = run("recommend", "West Surrey", "--k", "2", "--scenario", scenario)
    from_api = api(client, "/bodies/West Surrey/recommendations", k=2, scenario=scenario)
    assert from_cli == from_api
    assert from_api["scenario"] == scenario


@pytest.mark.parametrize("body", ["West Surrey", "Woking", "Rushmoor"])
def test_a_body_and_its_answer_on_a_scenario(
    run: Cli, client: FlaskClient, scenario: str, body: str
) -> None:
    """A new unitary, a council that joins one (answered for by it) and a body beside them."""
    shown_cli = run("bodies", "show", body, "--scenario", scenario)
    shown_api = api(client, f"/bodies/{body}", scenario=scenario)
    assert shown_cli == shown_api and shown_api["scenario"] == scenario
    (from_cli,) = run("recommend", body, "--k", "2", "--scenario", scenario)
    from_api = api(client, f"/bodies/{body}/recommendations", k=2, scenario=scenario)
    assert from_cli == from_api
    assert from_api["body"]["code"] == shown_api["body"]["code"]


def test_groups(run: Cli, client: FlaskClient) -> None:
    from_cli = run("groups", "Rother", "--service", "legal", "--k", "2", "--max-size", "3")
    from_api = api(client, "/bodies/Rother/groups", service="legal", k=2, max_size=3)
    assert from_cli == from_api
    assert from_api["groups"]


@pytest.mark.parametrize(
    ("args", "query"), [([], {}), (["--service", "legal"], {"service": "legal"})]
)
def test_arrangements_to_join(
    run: Cli, client: FlaskClient, args: list[str], query: dict[str, Any]
) -> None:
    from_cli = run("join", "Rother", "--k", "3", *args)
    from_api = api(client, "/bodies/Rother/arrangements-to-join", k=3, **query)
    assert from_cli == from_api


# The model and scenarios ----------------------------------------------------------------------


def test_model_info(run: Cli, client: FlaskClient) -> None:
    from_api = api(client, "/model")
    assert run("models", "show") == from_api
    assert from_api["version"]


def test_scenarios(run: Cli, client: FlaskClient, scenario: str) -> None:
    from_api = api(client, "/scenarios")
    assert run("scenario", "list") == from_api
    assert run("scenario", "show", scenario) == api(client, f"/scenarios/{scenario}")


def test_the_old_json_flag_still_works(run: Cli, client: FlaskClient) -> None:
    settings = client.application.extensions["recommender"].settings
    env = {"RECOMMENDER_DATA_DIR": str(settings.data), "RECOMMENDER_DATABASE_URL": settings.db_url}
    result = CliRunner(env=env).invoke(cli, ["bodies", "search", "Rother", "--json"])
    assert json.loads(result.stdout) == api(client, "/bodies/search", q="Rother")
