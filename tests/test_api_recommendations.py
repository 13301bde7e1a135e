"""Recommendations, partner groups, arrangements to join and model info, on a real model."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.model import artifacts
from recommender.recommend.query import CHOICE_FLOOR
from recommender.recommend.ranking import MAX_K, PER_PARTNER, Query, Recommender


def _model(app: Flask) -> Recommender:
    model = app.extensions["recommender"].models.recommender
    assert model is not None
    return model


def test_recommendations_match_the_model(client: FlaskClient, app: Flask) -> None:
    shown = client.get("/api/v1/bodies/Rother/recommendations?k=3").json
    model = _model(app)
    assert shown["body"]["code"] == "E07000064" and shown["body"]["name"] == "Rother"
    assert shown["model_version"] == model.version
    assert shown["query"] == {
        "service": None, "kinds": None, "max_km": None, "k": 3, "include_existing": False,
        "per_partner": PER_PARTNER, "sort": "expected", "min_choice": CHOICE_FLOOR,
    }  # fmt: skip
    expected = [r.to_dict() for r in model.recommend(Query(body="E07000064", k=3))]
    assert shown["recommendations"] == expected
    first = shown["recommendations"][0]
    assert first["reasons"] and {"text", "effect", "factor"} <= set(first["reasons"][0])
    assert first["evidence"]


def test_recommendation_filters(client: FlaskClient) -> None:
    url = "/api/v1/bodies/E07000064/recommendations"
    args = "service=legal&kinds=council,fire&max_km=40&k=5"
    shown: dict[str, Any] = client.get(f"{url}?{args}").json
    assert shown["query"]["kinds"] == ["council", "fire"]
    rows = shown["recommendations"]
    assert 0 < len(rows) <= 5
    assert all(r["service"] == "legal" for r in rows)
    assert all(r["partner_kind"] in ("council", "fire") for r in rows)
    assert all(r["distance_km"] <= 40 for r in rows)
    assert not any(r["existing"] for r in rows)


def test_include_existing_adds_current_partners(client: FlaskClient, app: Flask) -> None:
    model = _model(app)
    ctx = model.model.context
    s, f, c = (int(v[0]) for v in np.nonzero(model.model.snapshot.shares))  # already sharing
    body, partner, service = str(ctx.pairs.codes[f]), str(ctx.pairs.codes[c]), ctx.services[s]
    # Existing partners rank last: look only as far as the partner, so the list holds it.
    km = float(ctx.pairs.dist_km[f, c]) + 1
    url = (
        f"/api/v1/bodies/{body}/recommendations?service={service}&k=50&max_km={km:.0f}"
        "&min_choice=0&include_existing="
    )
    without = client.get(url + "false").json["recommendations"]
    with_ = client.get(url + "true").json["recommendations"]
    assert partner not in {r["partner_code"] for r in without}
    shown = next(r for r in with_ if r["partner_code"] == partner)
    assert shown["existing"] is True and shown["likelihood"] is None


def test_sort_and_floor(client: FlaskClient) -> None:
    url = "/api/v1/bodies/Rother/recommendations?service=ict&k=50"
    by_likelihood = client.get(url + "&sort=likelihood").json["recommendations"]
    values = [r["likelihood"] for r in by_likelihood]
    assert values == sorted(values, reverse=True)
    assert min(r["choice"] for r in by_likelihood) >= CHOICE_FLOOR
    everyone = client.get(url + "&min_choice=0").json["recommendations"]
    assert len(everyone) > len(by_likelihood)
    assert client.get(url + "&sort=alphabetical").status_code == 400
    # Equal savings if formed (one service, partners of a size) go to the larger expected.
    for query in ("&sort=savings", "&sort=savings&min_choice=0"):
        by_savings = client.get(url + query).json["recommendations"]
        keys = [(r["savings_gbp"], r["expected_savings_gbp"]) for r in by_savings]
        assert keys == sorted(keys, reverse=True)
        assert len({k[0] for k in keys}) < len(keys)  # there are ties to break


def test_same_answer_from_the_cache(client: FlaskClient, app: Flask) -> None:
    url = "/api/v1/bodies/Wealden/recommendations?k=2&service=ict"
    first = client.get(url)
    assert len(app.extensions["recommender"].cache) > 0
    assert client.get(url).data == first.data


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("k=-1", "k"),
        ("k=0", "k"),
        (f"k={MAX_K + 1}", "k"),
        ("k=2.5", "k"),
        ("service=lgal", "service"),
        ("kinds=council,dragon", "kinds"),
        ("max_km=-5", "max_km"),
        ("max_km=0", "max_km"),
        ("max_km=nan", "max_km"),
        ("k=1_0", "k"),  # int() reads it as 10
        ("k=%EF%BC%95", "k"),  # a full-width 5, which int() reads
        ("max_km=1_0", "max_km"),
        ("include_existing=perhaps", "include_existing"),
        ("servce=legal", "servce"),
        ("k=1&k=2", "k"),
    ],
)
def test_recommendation_bad_parameters(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/bodies/Rother/recommendations?{query}")
    assert response.status_code == 400, response.json
    assert response.json["field"] == field
    assert response.json["error"] == "invalid_input"


def test_service_suggests_closest(client: FlaskClient) -> None:
    response = client.get("/api/v1/bodies/Rother/recommendations?service=lgal")
    assert response.json["suggestions"][0] == "legal"


def test_a_service_named_by_its_label_is_read_as_its_id(client: FlaskClient) -> None:
    """The page's own select names services by label: asked "Legal services", the page said
    "'Legal services' is not one of the 16 (closest: Legal services)" and the API 400."""
    by_id = client.get("/api/v1/bodies/Rother/recommendations?service=legal&k=3").json
    for asked in ("Legal+services", "legal%20SERVICES"):
        found = client.get(f"/api/v1/bodies/Rother/recommendations?service={asked}&k=3")
        assert found.status_code == 200, found.json
        assert found.json["query"]["service"] == "legal"
        assert found.json["recommendations"] == by_id["recommendations"]
    page = client.get("/bodies/E07000064?service=Legal+services")
    assert page.status_code == 200 and "is not one of the" not in page.get_data(as_text=True)
    typo = client.get("/bodies/E07000064?service=Legal+servces").get_data(as_text=True)
    assert "(closest: Legal services)" in typo


@pytest.mark.parametrize("path", ["recommendations?", "groups?", "arrangements-to-join?"])
def test_a_service_the_body_does_not_deliver_is_a_bad_request(
    client: FlaskClient, path: str
) -> None:
    """Rother, a district, runs no adult social care: 400 naming it, with what it runs."""
    response = client.get(f"/api/v1/bodies/Rother/{path}service=adult_social_care")
    assert response.status_code == 400, response.json
    assert response.json["field"] == "service"
    assert "Rother (E07000064) does not deliver adult social care" in response.json["detail"]
    assert "legal" in response.json["suggestions"]
    assert "adult_social_care" not in response.json["suggestions"]


def test_recommendations_for_unknown_body(client: FlaskClient) -> None:
    response = client.get("/api/v1/bodies/Nowhereshire/recommendations")
    assert response.status_code == 404
    assert response.json["error"] == "unknown_body"
    assert "suggestions" in response.json


def test_groups(client: FlaskClient, app: Flask) -> None:
    shown = client.get("/api/v1/bodies/Rother/groups?service=legal&max_size=3&k=2").json
    assert shown["query"] == {"service": "legal", "max_size": 3, "k": 2}
    expected = [g.to_dict() for g in _model(app).groups("E07000064", "legal", max_size=3, k=2)]
    assert shown["groups"] == expected
    assert 0 < len(shown["groups"]) <= 2
    for group in shown["groups"]:
        assert group["members"][0]["code"] == "E07000064"
        assert 2 <= len(group["members"]) <= 3
        assert group["savings_per_partner_gbp"] == pytest.approx(
            group["savings_gbp"] / len(group["members"]), abs=1
        )


@pytest.mark.parametrize(
    ("query", "field"),
    [("", "service"), ("service=legal&max_size=5", "max_size"),
     ("service=legal&max_size=1", "max_size"), ("service=legal&k=0", "k"),
     ("service=nope", "service")],
)  # fmt: skip
def test_groups_bad_parameters(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/bodies/Rother/groups?{query}")
    assert response.status_code == 400
    assert response.json["field"] == field


def test_arrangements_to_join(client: FlaskClient, app: Flask) -> None:
    shown = client.get("/api/v1/bodies/Rother/arrangements-to-join?k=3").json
    expected = [o.to_dict() for o in _model(app).arrangements_to_join("E07000064", k=3)]
    assert shown["options"] == expected
    assert shown["options"], "a district in East Sussex has arrangements nearby to join"
    option = shown["options"][0]
    assert "Rother" not in option["arrangement"]["partner_names"]
    service = option["arrangement"]["service"]
    only = client.get(f"/api/v1/bodies/Rother/arrangements-to-join?service={service}").json
    assert only["options"] and all(o["arrangement"]["service"] == service for o in only["options"])
    assert option in only["options"]


def test_arrangements_to_join_bad_parameters(client: FlaskClient) -> None:
    response = client.get("/api/v1/bodies/Rother/arrangements-to-join?k=100")
    assert response.status_code == 400 and response.json["field"] == "k"


def test_model_info(client: FlaskClient, app: Flask) -> None:
    shown = client.get("/api/v1/model").json
    model = _model(app)
    meta = artifacts.metadata(model.version, model.settings)
    assert shown["version"] == model.version == meta["version"]
    assert shown["trained_at"] == meta["created_at"]
    assert shown["evaluation"] == meta["evaluation"]
    assert shown["versions"] == meta["versions"] == artifacts.library_versions()
    assert shown["git_commit"] == meta["git_commit"]
    # Not evaluated: no verdict to give, said as such (an evaluated one's: test_cli_model).
    assert shown["headline"] is None and shown["verdicts"] == []
    assert "a check of the simulator, not evidence" in shown["summary_note"]


def test_model_info_judges_the_verdicts_once_per_model(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judging every verdict takes ~150 ms (pandas): an anonymous /model made each request pay
    it. Made once per model version."""
    from recommender.recommend import readmodels

    made: list[str] = []
    judged = readmodels.model_judged

    def counted(version: str, meta: dict[str, Any]) -> dict[str, Any]:
        made.append(version)
        return judged(version, meta)

    monkeypatch.setattr(readmodels, "model_judged", counted)
    client.application.extensions["recommender"].extras.pop("model_judged", None)
    first = client.get("/api/v1/model").json
    assert client.get("/api/v1/model").json == first
    assert made == [first["version"]]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/bodies/Rother/recommendations",
        "/api/v1/bodies/Rother/groups?service=legal",
        "/api/v1/bodies/Rother/arrangements-to-join",
        "/api/v1/model",
    ],
)
def test_model_routes_without_a_model_say_how_to_train(bare_app: Flask, path: str) -> None:
    response = bare_app.test_client().get(path)
    assert response.status_code == 503
    assert response.json["error"] == "no_promoted_model"
    assert "recommender train --promote" in response.json["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "k=50",
        "k=7&service=legal",
        "k=20&kinds=council,fire&max_km=60",
        "k=50&include_existing=true&min_choice=0",
        "k=12&sort=likelihood&per_partner=1",
    ],
)
def test_answers_put_together_from_kept_parts_are_the_whole_answer(
    make_app: Any, query: str
) -> None:
    """Suggestions are serialised once and kept (without their evidence, kept apart): an
    answer put together from them is byte for byte the answer serialised whole, on its first
    asking, from kept parts under other filters, and from the cache of answers."""
    from recommender.webapp.api import _body, dumps

    app = make_app(PREPARE_SUGGESTIONS=True)
    client = app.test_client()
    model = _model(app)
    codes = ["E07000064", "Wealden", "E10000011"]
    for code in codes:
        client.get(f"/api/v1/bodies/{code}/recommendations?k=50")  # parts kept from these
    for code in codes:
        response = client.get(f"/api/v1/bodies/{code}/recommendations?{query}")
        again = client.get(f"/api/v1/bodies/{code}/recommendations?{query}")
        assert response.headers["X-Cache"] == "miss" or query == "k=50"
        assert again.headers["X-Cache"] == "hit" and again.data == response.data
        shown = response.json["query"]
        args = dict(shown, kinds=tuple(shown["kinds"]) if shown["kinds"] else None)
        with app.test_request_context("/"):
            found = model.recommend(Query(body=response.json["body"]["code"], **args))
            whole = dumps(
                {
                    "body": _body(code),
                    "model_version": model.version,
                    "query": shown,
                    "cautions": model.cautions(
                        _body(code)["kind"], shown["kinds"], shown["service"]
                    ),
                    "savings_note": response.json["savings_note"],
                    "recommendations": [r.to_dict() for r in found],
                }
            )
        assert response.data == whole
        assert any(r["evidence"] for r in response.json["recommendations"])  # put back in


def test_a_bound_that_is_not_allowed_is_not_said_to_be(client: FlaskClient) -> None:
    """max_km=0 was refused as "expected a number between 0 and 2000"."""
    shown = client.get("/api/v1/bodies/E07000064/recommendations?max_km=0").json
    assert shown["detail"] == "max_km='0': expected a number over 0 and at most 2000"


def test_choices_are_read_whatever_their_case_and_echoed_as_their_ids(client: FlaskClient) -> None:
    """service=LEGAL was answered and echoed as "LEGAL", while kinds=Council and sort=Savings
    were refused."""
    upper = client.get("/api/v1/bodies/Rother/recommendations?service=LEGAL&kinds=Council,FIRE"
                       "&sort=Likelihood&k=3")  # fmt: skip
    assert upper.status_code == 200, upper.json
    asked = upper.json["query"]
    assert asked["service"] == "legal" and asked["kinds"] == ["council", "fire"]
    assert asked["sort"] == "likelihood"
    lower = client.get("/api/v1/bodies/Rother/recommendations?service=legal&kinds=council,fire"
                       "&sort=likelihood&k=3")  # fmt: skip
    assert lower.json["recommendations"] == upper.json["recommendations"]
    assert client.get("/api/v1/bodies/Rother/recommendations?kinds=nhs").status_code == 400


def test_a_model_not_evaluated_says_its_order_is_untested(client: FlaskClient, app: Flask) -> None:
    """A model trained without its held-out evaluation gave no caution at all, which read as a
    model that beats every rule; the API, the page and the downloads now say it is untested."""
    assert not (_model(app).describe().get("evaluation") or {}).get("ranking")  # the small world's
    shown = client.get("/api/v1/bodies/Rother/recommendations?k=3&service=legal").json
    [caution] = shown["cautions"]
    assert (caution["verdict"], caution["pair_kind"], caution["query"]) == (
        "not evaluated",
        "all",
        "service",
    )
    assert caution["model_mrr"] is None and caution["held_out"] == 0
    page = client.get("/bodies/E07000064?service=legal").get_data(as_text=True)
    assert "This model was not evaluated on real arrangements held out from training" in page
    assert "Treat the order as untested." in page
    table = client.get("/api/v1/bodies/Rother/recommendations.csv?k=3").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert rows and all(
        r["How far to trust the order"].endswith("Treat the order as untested.") for r in rows
    )


def test_the_answer_says_what_its_figures_if_formed_were_learnt_from(
    client: FlaskClient, app: Flask
) -> None:
    """The pages, the briefing and the CLI table said that documented arrangements, which the
    savings were learnt from, are larger than most; the API gave the same figures without it."""
    figures = _model(app).describe()["parameters"]["savings"]["figures_gbp"]
    under = sum(v < 100_000 for v in figures)
    said = f"Learnt from the savings figures of {len(figures)} documented arrangements, each read"
    end = f"{f'{under} of the {len(figures)}' if under else f'none of the {len(figures)}'}"
    for query in ("k=3", "k=2&service=legal", "k=50&kinds=council"):
        shown = client.get(f"/api/v1/bodies/Rother/recommendations?{query}").json
        assert shown["savings_note"].startswith(said), shown["savings_note"]
        assert f"; {end} " in shown["savings_note"]
        assert "so a typical one may save less than the figures here" in shown["savings_note"]
    # in the answer's schema, and only where there are figures if formed
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "savings_note" in spec["Recommendations"]["required"]
    groups = client.get("/api/v1/bodies/Rother/groups?service=legal").json
    assert "savings_note" not in groups and "cautions" not in groups


def test_a_model_saved_before_its_figures_were_recorded_has_no_savings_note(
    make_app: Any,
) -> None:
    app = make_app()
    model = _model(app)
    meta = copy.deepcopy(model.metadata)  # this app's model alone
    del meta["parameters"]["savings"]["figures_gbp"]  # as models saved before them
    model.metadata = meta
    shown = app.test_client().get("/api/v1/bodies/Rother/recommendations?k=2").json
    assert shown["savings_note"] is None and shown["recommendations"]


def test_an_empty_list_has_no_caution_on_its_order(client: FlaskClient) -> None:
    """The GLA asked for combined authorities only got no suggestion and a caution on the
    order of combined–combined pairs: there is no order to trust. As the page, none."""
    base = "/api/v1/bodies/Rother/recommendations"
    listed = client.get(base).json
    assert listed["recommendations"] and listed["cautions"]  # this model: not evaluated
    empty = client.get(f"{base}?max_km=1").json
    assert empty["recommendations"] == [] and empty["cautions"] == []
    assert "note" in empty  # why there is none
