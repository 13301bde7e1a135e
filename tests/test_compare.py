"""The comparison page: two or three partners of a body side by side, with the model's own
figures for every service (as its suggestions table shows them) and their real arrangements."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.model.explain import whole_km
from recommender.recommend.compare import compare
from recommender.recommend.ranking import Query, Recommender
from recommender.render.charts import money

ROTHER, WEALDEN, HASTINGS, EAST_SUSSEX = "E07000064", "E07000065", "E07000062", "E10000011"
URL = f"/bodies/{ROTHER}/compare?with={WEALDEN}&with={HASTINGS}&with={EAST_SUSSEX}"


def _model(app: Flask) -> Recommender:
    model = app.extensions["recommender"].models.recommender
    assert model is not None
    return model


def test_each_estimate_is_the_suggestions_own(app: Flask) -> None:
    model = _model(app)
    result = compare(model, "Rother", ["Wealden", "Hastings", "East Sussex"])
    assert [c.code for c in result.candidates] == [WEALDEN, HASTINGS, EAST_SUSSEX]
    for service, _ in result.services[:5]:
        listed = model.recommend(
            Query(ROTHER, service=service, k=50, min_choice=0, include_existing=True),
            explain=False,
        )
        rows = {r.partner_code: r for r in listed}
        for c in result.candidates:
            e, row = c.estimates[service], rows.get(c.code)
            if row is None:  # not a candidate for this service: no figures at all
                assert (e.likelihood, e.expected, e.savings, e.existing) == (None,) * 3 + (False,)
                continue
            assert e.existing == row.existing
            if not row.existing:
                assert e.likelihood == pytest.approx(row.likelihood)
                assert e.savings == pytest.approx(row.savings_gbp, nan_ok=True)
    # Ranked by the best expected saving of any candidate, highest first.
    best = [
        max(c.estimates[s].expected or 0 for c in result.candidates) for s, _ in result.services
    ]
    assert best == sorted(best, reverse=True)
    # Real shared history: the procurement hub Rother shares with Wealden and Hastings.
    shared = {c.code: {a["name"] for a in c.shared} for c in result.candidates}
    assert "East Sussex Procurement Hub (ESPH)" in shared[WEALDEN] & shared[HASTINGS]
    assert not any(a["simulated"] for c in result.candidates for a in c.shared)


def test_the_page_shows_facts_figures_and_reasons(client: FlaskClient, app: Flask) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "<h1>Wealden, Hastings and East Sussex</h1>" in page
    assert page.count("<h1") == 1 and "<caption>At a glance</caption>" in page
    result = compare(_model(app), ROTHER, [WEALDEN, HASTINGS, EAST_SUSSEX])
    for c in result.candidates:
        assert f'<th scope="col"><a href="/bodies/{c.code}">{c.facts["display_name"]}</a></th>' in (
            page
        )
        # As the reasons say it (Hastings, 9.46 km: "10 km", not "9 km" beside "10 km from")
        assert f"{whole_km(c.distance_km)} km between centres" in page
        assert c.best is not None and money(c.best.expected or 0) in page
        for reason in c.why:
            assert reason.text[:1].upper() + reason.text[1:] in page
    assert "shares 44 km of border with Rother" in page and "its area contains Rother" in page
    legal = re.search(r'<tr data-service="legal">(.*?)</tr>', page, re.S)
    assert legal is not None and legal.group(1).count("expected") == 3
    assert '<td data-label="Wealden" class="best">' in legal.group(1)  # the highest, marked
    assert "highest" in legal.group(1)


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        (f"with={WEALDEN}", 400, "choose 2 or 3 partners to compare, not 1"),
        (f"with={WEALDEN}&with={WEALDEN}", 400, "not 1"),  # the same partner twice is one
        (f"with={WEALDEN}&with={ROTHER}", 400, "not compared with itself"),
        (f"with={WEALDEN}&with=E07000061&with=E07000063&with={HASTINGS}", 400, "not 4"),
        (f"with={WEALDEN}&with=Nowhereshire", 404, "Nowhereshire"),
    ],
)
def test_what_cannot_be_compared_is_said(
    client: FlaskClient, query: str, status: int, says: str
) -> None:
    response = client.get(f"/bodies/{ROTHER}/compare?{query}")
    assert response.status_code == status and response.mimetype == "text/html"
    assert says.lower() in html.unescape(response.text).lower()


def test_too_few_partners_lead_back_to_the_list_as_it_was(client: FlaskClient) -> None:
    """Wealden ticked on two rows (legal, waste) is one partner: the 400 said "not 1" and
    offered only the start page."""
    came = f"http://localhost/bodies/{ROTHER}?service=legal&k=5"
    response = client.get(
        f"/bodies/{ROTHER}/compare?with={WEALDEN}&with={WEALDEN}", headers={"Referer": came}
    )
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert "not 1 (a partner ticked twice, for two services, counts once)" in text
    assert (
        f'<a href="/bodies/{ROTHER}?service=legal&k=5">Back to the suggestions for Rother' in text
    )
    elsewhere = client.get(f"/bodies/{ROTHER}/compare?with={WEALDEN}",
                           headers={"Referer": "https://example.org/x?y=1"})  # fmt: skip
    assert f'<a href="/bodies/{ROTHER}">Back to the suggestions for Rother' in elsewhere.text
    assert "ticked twice" not in elsewhere.text


def test_a_partner_not_found_is_called_that(client: FlaskClient) -> None:
    response = client.get(f"/bodies/{ROTHER}/compare?with={WEALDEN}&with=Nowhereshire")
    assert response.status_code == 404
    assert "A partner to compare was not found" in response.text
    assert "Page not found" not in response.text


def test_names_redirect_to_codes_keeping_the_partners(client: FlaskClient) -> None:
    response = client.get("/bodies/Rother/compare?with=Wealden&with=Hastings")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == f"/bodies/{ROTHER}/compare"
    assert parse_qs(target.query) == {"with": ["Wealden", "Hastings"]}


def test_the_suggestions_link_to_a_comparison_without_javascript(
    client: FlaskClient, app: Flask
) -> None:
    page = client.get(f"/bodies/{ROTHER}").text
    assert '<form class="compare-form" id="compare-form" method="get" action="' in page
    boxes = re.findall(
        r'<input type="checkbox" id="cmp\d+" name="with" value="(\w+)" form="compare-form">', page
    )
    rows = re.findall(r'<tr id="s-[^"]+" data-partner="([^"]+)"', page)
    assert boxes == rows  # one box on every suggestion
    found = _model(app).recommend(Query(ROTHER))
    top = list(dict.fromkeys(r.partner_code for r in found))[:3]
    link = re.search(r'<a href="([^"]+)">compare the top 3 partners</a>', page)
    assert link is not None
    assert parse_qs(urlsplit(html.unescape(link.group(1))).query) == {"with": top}
    assert client.get(html.unescape(link.group(1))).status_code == 200
