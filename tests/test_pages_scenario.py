"""The scenario pages and the API's ``?scenario=`` through Flask's test client.

Everything works without JavaScript: the creation form is a POST that redirects to the new
scenario or shows every problem next to its field, filters are query parameters.
"""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from model_fixtures import trained_before
from recommender.recommend.query import Query
from recommender.register import records as reg
from recommender.scenario import store
from recommender.scenario.recommend import ScenarioCache
from scenario_fixtures import (
    EAST,
    JOINT_WASTE,
    NORTH,
    RUSHMOOR,
    SOUTH,
    WEST,
    kent_three_draft,
    surrey_draft,
)

NAME = "surrey-east-west"


@pytest.fixture(scope="module")
def stored(app: Flask) -> str:
    """The app's database holds Surrey's 2025 split."""
    state = app.extensions["recommender"]
    store.create(state.engine, surrey_draft(NAME), state.settings)
    return NAME


def _text(response: Any) -> str:
    return html.unescape(str(response.get_data(as_text=True)))


def _plain(page: str) -> str:
    """The page's text without tags (spaces kept)."""
    return re.sub(r"<[^>]+>", "", page)


def _rows(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr id="s-[^"]+" data-partner="([^"]+)" data-service="([^"]+)"', page)


def _form(name: str, east: tuple[str, ...], west: tuple[str, ...]) -> dict[str, str]:
    form = {"name": name, "successor-1": "North Surrey", "successor-2": "South Surrey"}
    form |= {f"c-{c}": "1" for c in east} | {f"c-{c}": "2" for c in west}
    return form


# Creating one --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_form_lists_every_council_grouped_by_county(real_client: FlaskClient) -> None:
    page = _text(real_client.get("/scenarios/new"))
    assert "Make a reorganisation scenario" in page
    assert page.count('<select class="select" id="c-') == 296  # every lower-tier council
    assert "Surrey (county council) and its districts" in page
    assert 'name="county-E10000030"' in page
    assert "Unitary, metropolitan and London borough councils: South East" in page
    assert "<script" not in page.split("</head>")[1]  # no inline script: works without it


def test_the_form_makes_a_scenario_and_shows_it(client: FlaskClient, app: Flask) -> None:
    response = client.post("/scenarios/new", data=_form("surrey-north-south", NORTH, SOUTH))
    assert response.status_code == 303
    assert response.headers["Location"] == "/scenarios/surrey-north-south?created=1"
    page = _text(client.get(response.headers["Location"]))
    assert "The scenario was saved" in page
    assert "North Surrey" in page and "South Surrey" in page
    # the district-only arrangement between four of North Surrey's councils becomes internal
    internal = page.split("Becoming internal (1)")[1].split("Carried over")[0]
    assert "Joint Waste Solutions" in internal
    engine = app.extensions["recommender"].engine
    made = store.load(engine, "surrey-north-south")
    assert set(made.successors[0].councils) == set(NORTH)
    store.delete(engine, "surrey-north-south")


def test_a_county_choice_gives_all_its_districts(client: FlaskClient, app: Flask) -> None:
    form = {"name": "surrey-whole", "successor-1": "Surrey", "county-E10000030": "1"}
    response = client.post("/scenarios/new", data=form)
    assert response.status_code == 303, _text(response)[:2000]
    engine = app.extensions["recommender"].engine
    assert set(store.load(engine, "surrey-whole").successors[0].councils) == {*EAST, *WEST}
    page = _text(client.get("/scenarios/surrey-whole/bodies/X06000001"))
    assert "Runs the fire and rescue service (Surrey Fire and Rescue Authority)" in page
    store.delete(engine, "surrey-whole")


@pytest.mark.parametrize("field", ["c-E09000015", "county-E10000030"])
@pytest.mark.parametrize("value", ["abc", "9", "0"])
def test_a_choice_the_form_cannot_make_is_refused_naming_it(
    client: FlaskClient, app: Flask, field: str, value: str
) -> None:
    """A council (Harrow) or county posted with no new unitary's number was dropped unseen,
    the scenario made without it or refused for something else."""
    form = _form("surrey-posted", EAST, WEST) | {field: value}
    response = client.post("/scenarios/new", data=form)
    assert response.status_code == 400, _text(response)[:500]
    assert (
        f"The choice {field}={value!r} is not the number of a new unitary (1 to"
        in html.unescape(_text(response))
    )
    engine = app.extensions["recommender"].engine
    assert "surrey-posted" not in {s.name for s in store.summaries(engine)}


@pytest.mark.slow
def test_bad_input_shows_every_problem_at_its_field_and_stores_nothing(
    real_client: FlaskClient, real_app: Flask
) -> None:
    form = _form("Bad Name", EAST, WEST[:-1])  # Woking left out, and a bad name
    form["successor-3"] = "Hampshire"
    form["c-E06000036"] = "3"  # Bracknell Forest alone
    response = real_client.post("/scenarios/new", data=form)
    assert response.status_code == 422
    page = _text(response)
    assert "There is a problem: nothing was saved" in page
    errors = dict(re.findall(r'<p class="field-error" id="([^"]+)-error">(.*?)</p>', page))
    assert "A scenario's name is 1 to 64" in errors["name"]
    assert "Woking (E07000217) is in no successor" in errors["county-E10000030"]
    assert "Bracknell Forest (E06000036) alone is already" in errors["councils-3"]
    assert "Hampshire (E10000014) keeps this name" in errors["successor-3"]
    # what was chosen is kept, and the groups with choices are open
    assert 'value="Bad Name"' in page
    assert re.search(r'<details class="council-group" open id="county-E10000030">', page)
    elmbridge = page[page.index('id="c-E07000207"') :].split("</select>")[0]
    assert '<option value="">As the county</option>' in elmbridge
    assert '<option value="1" selected>' in elmbridge
    engine = real_app.extensions["recommender"].engine
    assert {s.name for s in store.summaries(engine)} <= {NAME}


def test_a_name_taken_is_refused(client: FlaskClient, stored: str) -> None:
    response = client.post("/scenarios/new", data=_form(stored, EAST, WEST))
    assert response.status_code == 422
    assert "A scenario has this name already" in _text(response)


def test_a_post_from_another_site_is_refused(client: FlaskClient) -> None:
    headers = {"Origin": "https://evil.example"}
    response = client.post("/scenarios/new", data=_form("x", EAST, WEST), headers=headers)
    assert response.status_code == 403


# Viewing one ---------------------------------------------------------------------------------


def test_the_list_and_the_scenario(client: FlaskClient, stored: str) -> None:
    page = _text(client.get("/scenarios"))
    assert f'href="/scenarios/{stored}"' in page
    page = _text(client.get(f"/scenarios/{stored}"))
    assert "<svg" in page and 'class="successor"' in page  # the new map, successors outlined
    assert "East Surrey" in page and "551,313" in page  # East Surrey's population, summed
    assert "Surrey (County council, E10000030): abolished" in _plain(page)
    assert "Becoming internal (0)" in page
    carried = page.split("Carried over to the new unitaries (3)")[1]
    assert "Joint Waste Solutions" in carried
    assert "who governs it is for the reorganisation to decide" in page
    assert f'action="/scenarios/{stored}/compare"' in page


def test_an_unknown_scenario_is_a_404_naming_the_closest(client: FlaskClient, stored: str) -> None:
    response = client.get("/scenarios/surrey-east-wset")
    assert response.status_code == 404 and stored in _text(response)


def test_a_successors_page(client: FlaskClient, app: Flask, stored: str) -> None:
    response = client.get(f"/scenarios/{stored}/bodies/X06000002")
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>West Surrey</h1>" in page
    assert "does not exist today: it is made of Guildford, Runnymede, Spelthorne, Surrey Heath" in (
        page
    )
    assert "663,227" in page  # the sum of its councils' people
    # The county split between the two is said to be in part (it read "made of …, Woking,
    # Surrey", all of Surrey), in the page, the API's note, the scenario's page and the CLI's.
    made = page[page.index("it is made of") :].split("</p>")[0]
    assert "Woking, part of Surrey, and its shared history is theirs." in made
    assert "Formed from</dt><dd>" in page and 'part of <a href="/bodies/E10000030">' in page
    note = client.get(f"/api/v1/bodies/X06000002?scenario={stored}").json["resolution"]["note"]
    assert "formed from Guildford, " in note and ", Woking and part of Surrey;" in note
    scenario = _plain(_text(client.get(f"/scenarios/{stored}")))
    assert "Surrey Heath, Waverley, Woking, part of Surrey" in " ".join(scenario.split())
    state = app.extensions["recommender"]
    model = ScenarioCache().get(state.models.recommender, store.load(state.engine, stored))
    expected = [(r.partner_code, r.service) for r in model.recommend(Query("X06000002", k=10))]
    assert _rows(page) == expected
    assert "Inherits 1 documented arrangement with West Surrey" in page  # a reason
    assert 'data-code="X06000002"' in page  # drawn on the map
    assert "Joint Waste Solutions" in page  # inherited, listed
    assert f"/scenarios/{stored}/bodies/X06000002/briefing.pdf" in page
    # Evidence says its savings as the page today does: a ten-year target read "£20m a year".
    from recommender.render.charts import savings_said

    evidence = [e for r in model.recommend(Query("X06000002", k=10)) for e in r.evidence]
    assert evidence and all(savings_said(e) in html.unescape(page) for e in evidence)
    # Read as a body's page today: its reasons in the same words and marks, and how to read
    # them beside the map, with what the savings were learnt from.
    reasons = [x for r in model.recommend(Query("X06000002", k=10)) for x in r.to_dict()["reasons"]]
    for x in reasons:
        said = html.escape(x["text"][:1].upper() + x["text"][1:], quote=False)
        assert f'{x["marker"]}</span><span class="visually-hidden">' in page and said in page
    reading = page[page.index('id="reading-title"') :].split("</aside>")[0]
    assert "if formed" in reading and "Learnt from the" in reading and "documented" in reading


def test_filters_and_the_fragment(client: FlaskClient, stored: str) -> None:
    response = client.get(f"/scenarios/{stored}/bodies/X06000002?service=legal&k=3&fragment=1")
    page = _text(response)
    assert response.status_code == 200 and not page.lstrip().startswith("<!doctype")
    assert {s for _, s in _rows(page)} == {"legal"} and len(_rows(page)) == 3
    bad = client.get(f"/scenarios/{stored}/bodies/X06000002?k=0")
    assert bad.status_code == 400 and "Enter a whole number from 1 to" in _text(bad)
    # The long tail left out is said, and can be shown, as on today's page (it was hidden
    # with no word of it).
    page = _text(client.get(f"/scenarios/{stored}/bodies/X06000002?service=legal"))
    floor = re.search(r'<p class="floor" id="choice-floor">(.*?)</p>', page)
    assert floor and "are not shown: the far and unlike bodies of the long tail" in floor[1]
    (link,) = re.findall(r'href="([^"]+)">Show them', floor[1])
    assert urlsplit(link).path == f"/scenarios/{stored}/bodies/X06000002"
    assert parse_qs(urlsplit(link).query) == {"service": ["legal"], "min_choice": ["0"]}
    every = _text(client.get(link))
    assert "Every candidate partner is shown" in every and len(_rows(every)) >= len(_rows(page))


def test_a_service_the_scenario_model_cannot_answer_for_is_named_beside_the_field(
    client: FlaskClient, app: Flask, stored: str
) -> None:
    """As on a body's own page (a model older than today's taxonomy): beside the service
    field, not on an error page of its own."""
    from recommender.webapp import views_scenario

    with app.app_context():
        model = views_scenario.model(stored)
    with trained_before(model, "X06000002", "legal"):
        response = client.get(f"/scenarios/{stored}/bodies/X06000002?service=legal")
    page = _text(response)
    assert response.status_code == 400
    assert "delivers legal services, but the serving model" in page
    assert 'id="service-error"' in page and not _rows(page)


def test_a_council_that_joins_a_successor_goes_to_its_page(
    client: FlaskClient, stored: str
) -> None:
    response = client.get(f"/scenarios/{stored}/bodies/Woking")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/scenarios/{stored}/bodies/X06000002?from=E07000217"
    page = _text(client.get(response.headers["Location"]))
    assert "Woking becomes part of West Surrey in this scenario" in page
    county = client.get(f"/scenarios/{stored}/bodies/E10000030")
    assert county.status_code == 404
    assert f'href="/scenarios/{stored}/bodies/X06000001"' in _text(county)
    # The filters asked go with it (the redirect and the successors' links).
    filtered = client.get(f"/scenarios/{stored}/bodies/Woking?service=legal&k=5")
    assert filtered.headers["Location"] == (
        f"/scenarios/{stored}/bodies/X06000002?service=legal&k=5&from=E07000217"
    )
    county = client.get(f"/scenarios/{stored}/bodies/E10000030?service=legal")
    assert f'href="/scenarios/{stored}/bodies/X06000001?service=legal"' in _text(county)


def test_the_page_links_its_list_as_csv_and_excel_on_the_new_map(
    client: FlaskClient, stored: str
) -> None:
    """As the body's page does, with the scenario and the filters; Woking's page is West
    Surrey's, and so are its downloads."""
    pattern = r'href="(/api/v1/bodies/[^"]+/recommendations\.(?:csv|xlsx)[^"]*)"'
    moved = client.get(f"/scenarios/{stored}/bodies/Woking")
    assert moved.status_code == 302
    joined = re.findall(pattern, _text(client.get(moved.headers["Location"])))
    assert [urlsplit(link).path for link in joined] == [
        "/api/v1/bodies/X06000002/recommendations.csv",
        "/api/v1/bodies/X06000002/recommendations.xlsx",
    ]
    assert all(parse_qs(urlsplit(link).query) == {"scenario": [stored]} for link in joined)
    asked = "service=legal&kinds=council&kinds=fire&k=5"
    page = _text(client.get(f"/scenarios/{stored}/bodies/X06000002?{asked}"))
    links = re.findall(pattern, page)
    assert [urlsplit(link).path for link in links] == [urlsplit(j).path for j in joined]
    for link in links:
        assert parse_qs(urlsplit(link).query) == {
            "scenario": [stored], "service": ["legal"], "kinds": ["council,fire"], "k": ["5"]
        }  # fmt: skip
    shown = _rows(page)
    assert len(shown) == 5
    table = client.get(links[0])
    assert table.status_code == 200 and table.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(table.get_data(as_text=True))))
    assert [(r["Partner code"], r["Service id"]) for r in rows] == shown
    # A CSV says it is the scenario's list, in its name and on every row (it downloaded as
    # today's "suggestions-west-surrey.csv" and said nothing of the scenario).
    on_map = f"on the map of scenario '{stored}', a reorganisation not made: not today's map"
    assert f"suggestions-west_surrey-scenario-{stored}.csv" in table.headers["Content-Disposition"]
    assert all(on_map[1:] in r["Body note"] for r in rows), rows[0]["Body note"]
    untouched = client.get(f"/api/v1/bodies/E07000092/recommendations.csv?scenario={stored}")
    kept = list(csv.DictReader(io.StringIO(untouched.get_data(as_text=True))))
    assert kept and all(r["Body note"] == on_map[:1].upper() + on_map[1:] for r in kept)
    book = client.get(links[1])
    assert book.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(book.data))
    about = {row[0]: row[1] for row in workbook["About"].values}
    assert about["Body"] == "West Surrey (X06000002)" and about["Scenario"] == stored
    assert about["Filters"] == "service=legal; kinds=council,fire; k=5"
    codes = [r[2] for r in workbook["Table"].iter_rows(min_row=2, values_only=True)]
    assert codes == [p for p, _ in shown]


def test_a_neighbours_page_on_the_new_map(client: FlaskClient, stored: str) -> None:
    page = _text(client.get(f"/scenarios/{stored}/bodies/{RUSHMOOR}"))
    assert "<h1>Rushmoor</h1>" in page and "is as today" in page
    assert f'href="/scenarios/{stored}/bodies/X06000002">West Surrey</a>' in page  # neighbour
    assert not {p for p, _ in _rows(page)} & {*EAST, *WEST}


def test_before_and_after(client: FlaskClient, stored: str) -> None:
    page = _text(client.get(f"/scenarios/{stored}/compare?body=E07000217"))
    assert "Woking: before and after" in page
    assert "After: West Surrey" in page and "Today: Woking" in page
    assert "Part of West Surrey" in page or "Part of East Surrey" in page
    # "1 partner of the new list is on today's list" beside rows each "not in today's top 10":
    # the count is of partners for any service, a row's of its own service.
    plain = html.unescape(page)
    assert "on today's list, for one service or another" in plain
    for row in re.findall(r"not in today's top \d+[^<]*", plain):
        assert row.endswith("for this service"), row
    assert client.get(f"/scenarios/{stored}/compare").status_code == 302
    # Two bodies asked at once: the second was dropped without a word.
    twice = client.get(f"/scenarios/{stored}/compare?body=E07000217&body=E07000209")
    assert twice.status_code == 400 and "&#39;body&#39; is given more than once" in twice.text
    # A county split between successors: a 404 linking their pages on the scenario's map (it
    # linked /bodies/X06000001 and /bodies/X06000002, today's pages, themselves 404s).
    split = client.get(f"/scenarios/{stored}/compare?body=Surrey")
    assert split.status_code == 404
    assert "no one body of the new map to compare it with" in html.unescape(split.text)
    assert "compare one of them" not in split.text  # (the compare page refuses a successor)
    links = re.findall(r'href="(/[^"]*X0600000\d[^"]*)"', split.text)
    assert sorted(links) == [
        f"/scenarios/{stored}/bodies/X06000001",
        f"/scenarios/{stored}/bodies/X06000002",
    ]


def test_the_briefing_on_the_new_map(client: FlaskClient, stored: str) -> None:
    response = client.get(f"/scenarios/{stored}/bodies/X06000002/briefing.pdf?service=legal")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert (
        "briefing-surrey-east-west-west_surrey-legal.pdf"
        in (response.headers["Content-Disposition"])
    )
    text = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    assert "West Surrey" in text and "On the map of scenario" in text
    # It said "ONS name and code: West Surrey (X06000002)", of a code no ONS list has.
    assert "ONS name and code" not in text
    assert "(X06000002: a scenario's code, not an ONS one); formed from " in text
    assert "(the sum of its councils')" in text
    # Its summary said "West Surrey is in N documented arrangements already", of a body that
    # does not exist: it would inherit them.
    assert re.search(
        r"West Surrey would inherit \d+ documented arrangements? from its councils", text
    )
    assert "West Surrey is in" not in text


# The API -------------------------------------------------------------------------------------


def test_api_body_and_recommendations_on_the_new_map(client: FlaskClient, stored: str) -> None:
    body = client.get(f"/api/v1/bodies/X06000002?scenario={stored}").json
    assert body["body"]["population"] == 663227 and body["body"]["successor"] is True
    assert JOINT_WASTE in {a["id"] for a in body["arrangements"]}
    assert body["scenario"] == stored
    found = client.get(f"/api/v1/bodies/West%20Surrey/recommendations?scenario={stored}&k=5")
    assert found.status_code == 200
    payload = found.json
    assert payload["body"]["code"] == "X06000002" and payload["scenario"] == stored
    assert payload["query"]["scenario"] == stored and len(payload["recommendations"]) == 5
    assert client.get(found.request.full_path).headers["X-Cache"] == "hit"
    groups = client.get(f"/api/v1/bodies/{RUSHMOOR}/groups?service=legal&scenario={stored}")
    assert groups.status_code == 200 and groups.json["scenario"] == stored
    joins = client.get(f"/api/v1/bodies/X06000001/arrangements-to-join?scenario={stored}")
    assert joins.status_code == 200
    today = client.get(f"/api/v1/bodies/{RUSHMOOR}/recommendations?k=5").json
    assert "scenario" not in today
    # the same model's figures if formed, learnt from the same documented arrangements
    assert payload["savings_note"] and payload["savings_note"] == today["savings_note"]


def test_api_answers_for_a_council_that_joins_a_successor_as_the_page_does(
    client: FlaskClient, stored: str
) -> None:
    """The page opens West Surrey's page for Woking; the API answered 404 for the body and its
    recommendations (and the downloads 404'd). It now answers for West Surrey, saying so."""
    said = "Woking (E07000217) is not on the map of scenario"
    found = client.get(f"/api/v1/bodies/Woking/recommendations?scenario={stored}&k=3")
    assert found.status_code == 200, found.json
    assert found.json["body"]["code"] == "X06000002" and said in found.json["body"]["note"]
    assert "it is part of West Surrey (X06000002)" in found.json["body"]["note"]
    body = client.get(f"/api/v1/bodies/Woking?scenario={stored}")
    assert body.status_code == 200 and body.json["body"]["code"] == "X06000002"
    assert body.json["resolution"]["note"].startswith(said)
    groups = client.get(f"/api/v1/bodies/Woking/groups?service=legal&scenario={stored}")
    assert groups.status_code == 200 and groups.json["body"]["code"] == "X06000002"
    briefing = client.get(f"/scenarios/{stored}/bodies/Woking/briefing.pdf?service=legal")
    assert briefing.status_code == 302  # the 404 the page's own link would not give
    assert briefing.headers["Location"].endswith("/bodies/X06000002/briefing.pdf?service=legal")
    table = client.get(f"/api/v1/bodies/Woking/recommendations.csv?scenario={stored}&k=3")
    assert table.status_code == 200
    rows = list(csv.DictReader(io.StringIO(table.get_data(as_text=True))))
    assert rows and {(r["Body"], r["Body code"]) for r in rows} == {("West Surrey", "X06000002")}
    assert all(r["Body note"].startswith(said) for r in rows)
    assert (
        ".;" not in rows[0]["Body note"] and "here; on the map of scenario" in rows[0]["Body note"]
    )
    book = client.get(f"/api/v1/bodies/Woking/recommendations.xlsx?scenario={stored}&k=3")
    about = {
        row[0]: row[1] for row in openpyxl.load_workbook(io.BytesIO(book.data))["About"].values
    }
    assert about["Body"] == "West Surrey (X06000002)" and about["Note"].startswith(said)


def test_api_errors(client: FlaskClient, stored: str) -> None:
    gone = client.get(f"/api/v1/bodies/Surrey/recommendations?scenario={stored}")
    assert gone.status_code == 404 and gone.json["field"] == "code_or_name"
    assert gone.json["suggestions"] == ["East Surrey (X06000001)", "West Surrey (X06000002)"]
    unknown = client.get("/api/v1/bodies/Rother/recommendations?scenario=nope")
    assert unknown.status_code == 404 and unknown.json["error"] == "unknown_scenario"
    assert client.get("/api/v1/bodies/Woking?scenario=nope").status_code == 404
    # A code this scenario has not, asked on its map: its new councils named (it told a user
    # already on the scenario to add ?scenario=).
    said = (
        f"scenario '{stored}' has no new council X06000009: its new councils are East Surrey "
        "(X06000001) and West Surrey (X06000002)"
    )
    missing = client.get(f"/api/v1/bodies/X06000009?scenario={stored}")
    assert missing.status_code == 404 and missing.json["detail"] == said
    page = client.get(f"/scenarios/{stored}/bodies/X06000009")
    assert page.status_code == 404 and said[1:] in html.unescape(page.get_data(as_text=True))
    links = re.findall(r'href="(/[^"]*X0600000\d[^"]*)"', page.get_data(as_text=True))
    assert sorted(links) == [f"/scenarios/{stored}/bodies/X0600000{i}" for i in (1, 2)]
    # A scenario's code asked of today's map: said so, where it suggested Barnsley.
    for url in ("/api/v1/bodies/X06000001", "/api/v1/bodies/X06000001?scenario="):
        today = client.get(url)
        assert today.status_code == 404, url
        said = today.json["detail"]
        assert "codes X06… name the new councils of a reorganisation scenario" in said
        assert not today.json.get("suggestions"), today.json


def test_api_scenarios(client: FlaskClient, stored: str) -> None:
    listed = client.get("/api/v1/scenarios").json["scenarios"]
    assert {s["name"] for s in listed} >= {stored}
    shown = client.get(f"/api/v1/scenarios/{stored}").json
    assert [s["code"] for s in shown["successors"]] == ["X06000001", "X06000002"]
    assert shown["arrangements"]["internal"] == []
    assert client.get("/api/v1/scenarios/nope").status_code == 404


def test_a_deleted_and_remade_scenario_is_not_served_from_the_cache(
    client: FlaskClient, app: Flask
) -> None:
    state = app.extensions["recommender"]
    from recommender.scenario.define import Draft, DraftSuccessor

    store.create(state.engine, surrey_draft("remade"), state.settings)
    first = client.get("/api/v1/bodies/X06000001?scenario=remade").json["body"]["population"]
    store.delete(state.engine, "remade")
    swapped = Draft("remade", (DraftSuccessor("A", WEST), DraftSuccessor("B", EAST)))
    store.create(state.engine, swapped, state.settings)
    url = "/api/v1/bodies/X06000001/recommendations?scenario=remade&k=1"
    assert client.get(url).json["body"]["population"] == 663227 != first
    store.delete(state.engine, "remade")


def test_a_body_the_scenario_leaves_says_what_today_says_of_its_figures(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """On a scenario's map, Norfolk and Waveney's NHS board (its area Norfolk's, its people
    Waveney's too) gave 195 people per km², which its page today does not give, saying why."""
    state = real_app.extensions["recommender"]
    store.create(state.engine, surrey_draft("surrey-figures"), state.settings)
    try:
        page = _plain(_text(real_client.get("/scenarios/surrey-figures/bodies/E54000022")))
    finally:
        store.delete(state.engine, "surrey-figures")
    assert "no density is given" in page and "people per km²" not in page
    assert "an estimate: the people of East Suffolk are shared" in page
    assert "its councils' scores, weighted by their people" in page


def test_a_scenario_counts_the_county_it_abolishes_with_the_councils_it_replaces(
    client: FlaskClient, stored: str
) -> None:
    """The page said "2 new unitary councils replacing 11 of today's councils" and listed 12
    leaving the map, Surrey County Council among them, abolished."""
    page = " ".join(_plain(_text(client.get(f"/scenarios/{stored}"))).split())
    assert (
        "2 new unitary councils replacing 11 of today's councils and the county council over "
        "them (Surrey, abolished)."
    ) in page


def test_what_a_successor_inherits_says_what_no_longer_runs(
    app: Flask, client: FlaskClient
) -> None:
    """North Kent "inherits 17 documented arrangements" counted one that ended in 2021 (the
    Dartford and Sevenoaks Environmental Health Partnership) among them, and the scenario's page
    said "the new unitaries inherit these arrangements" of them all, as partnerships."""
    state = app.extensions["recommender"]
    store.create(state.engine, kent_three_draft("kent-three-history"), state.settings)
    shown = client.get("/api/v1/scenarios/kent-three-history").get_json()
    carried = shown["arrangements"]["carried_over"]
    ended = [a for a in carried if a["ended"]]
    assert ended and all(a["status"] == "ended" and not a["proposed"] for a in ended)
    said = reg.not_running_said(carried)
    assert "since ended or past a limited term" in said
    page = " ".join(_plain(_text(client.get("/scenarios/kent-three-history"))).split())
    assert f"those that do not run today{said} are inherited as history" in page
    # Both columns of members name the organisations outside the map (the new map's dropped
    # them; then they were counted, "and 2 other organisations": the Kent Total Place pilot's
    # Jobcentre Plus and Kent Probation), and today's members as they were in it.
    row = page[page.index("Kent Total Place pilot") :].split("Becoming internal")[0]
    row = row[: row.index("Carried over") if "Carried over" in row else None]
    assert row.count("and Jobcentre Plus and Kent Probation") == 2, row
    assert "West Kent PCT, and Eastern and Coastal Kent PCT (now NHS Kent and Medway" in row, row
    listed = " ".join(_plain(_text(client.get("/scenarios"))).split())
    assert "Councils merged into them" in listed
    for code in ("X06000001", "X06000002", "X06000003"):  # ("These 1 arrangement is …")
        one = _plain(_text(client.get(f"/scenarios/kent-three-history/bodies/{code}")))
        assert "These 1 " not in one and "no longer partnership" not in one
    north = client.get("/scenarios/kent-three-history/bodies/X06000001")
    body = " ".join(_plain(_text(north)).split())
    said = r"North Kent inherits \d+ documented arrangements from its councils \(1 of them since"
    assert re.search(said, body)
    # Each member once, as the arrangement's page lists them (the Kent Total Place pilot named
    # "NHS Kent and Medway Integrated Care Board" twice for its two PCTs, with no word of them,
    # and Kent police force area twice).
    pilot = body[body.index("Kent Total Place pilot") :]
    pilot = pilot[: pilot.index("Kent Probation")]
    assert "West Kent PCT (now NHS Kent and Medway Integrated Care Board)" in pilot
    assert pilot.count("NHS Kent and Medway Integrated Care Board") == 2  # its two PCTs
    assert pilot.count("Kent police force area") == 1


def test_a_body_the_scenario_leaves_as_it_is_says_what_no_longer_runs(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """ "Hartlepool is in 9 documented arrangements" on a scenario's map, where its page today
    says one has passed its limited term and one was only proposed."""
    state = real_app.extensions["recommender"]
    store.create(state.engine, surrey_draft("surrey-hartlepool"), state.settings)
    try:
        url = "/api/v1/bodies/E06000001?scenario=surrey-hartlepool"
        carried = real_client.get(url).get_json()["arrangements"]
        page = _plain(_text(real_client.get("/scenarios/surrey-hartlepool/bodies/E06000001")))
    finally:
        store.delete(state.engine, "surrey-hartlepool")
    said = reg.not_running_said(carried)
    assert "only proposed" in said and "past a limited term" in said
    assert f"Hartlepool is in {len(carried)} documented arrangements{said}, " in " ".join(
        page.split()
    )


def test_a_successors_answer_counts_what_it_inherits_as_its_page_does(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """With North and West Northamptonshire one unitary, the API's note said it "inherits 13
    documented arrangements" where it listed 12, and the page said 12: Kettering and
    Wellingborough's, between councils that were one body already, was counted in; and the
    page said it was "between bodies that are all now Northamptonshire", a unitary the
    scenario only proposes."""
    from recommender.scenario.define import Draft, DraftSuccessor

    state = real_app.extensions["recommender"]
    pair = (DraftSuccessor("Northamptonshire", ("E06000061", "E06000062")),)
    store.create(state.engine, Draft("northants-count", pair), state.settings)
    try:
        answer = real_client.get("/api/v1/bodies/X06000001?scenario=northants-count").get_json()
        page = _plain(_text(real_client.get("/scenarios/northants-count/bodies/X06000001")))
    finally:
        store.delete(state.engine, "northants-count")
    listed, merged = answer["arrangements"], answer["merged_arrangements"]
    assert merged  # (the one between councils already one body)
    note = answer["resolution"]["note"]
    said = f"it inherits {len(listed)} documented arrangements from them"
    assert said in note, note
    assert f"Northamptonshire inherits {len(listed)} documented arrangements" in " ".join(
        page.split()
    )
    assert "; 3 between them become internal (not partnerships)." in note
    # The one between councils one body already is said of the body they are today, not of
    # the unitary the scenario only proposes ("bodies that are all now Northamptonshire").
    assert (
        "1 documented arrangement was between bodies that are all now North Northamptonshire, "
        "so it is internal to it, not a partnership"
    ) in " ".join(page.split())
    assert "all now Northamptonshire" not in page
    # Nor do its evidence and the arrangements it could join name today's councils as the
    # unitary only proposed ("Northamptonshire County Council (now Northamptonshire)", under
    # a caption that said "members on the new map" of partners as they are today).
    assert "(now Northamptonshire)" not in page and "members on the new map" not in page
    assert "(partners as they are today)" in page
    # Those that become internal say which no longer ran, and when each ran.
    plain = " ".join(page.split())
    assert (
        "These 3 arrangements are between its own councils (1 of them since ended or past a "
        "limited term): in Northamptonshire they are internal, not partnerships."
    ) in plain
    assert (
        "shared director of public health (North Northamptonshire, West Northamptonshire; "
        "from 2021 to 2022)" in plain
    )


def test_a_scenario_page_names_a_body_in_its_sentences_as_the_page_does(
    client: FlaskClient, stored: str
) -> None:
    """ "… not known to have ended that Surrey police force area would not be in" and "the
    least likely of Surrey police force area's pairs", under "Arrangements the Surrey police
    force area could join"."""
    page = _plain(_text(client.get(f"/scenarios/{stored}/bodies/E23000031?service=ict")))
    said = " ".join(page.split())
    assert "Suggested partners for the Surrey police force area on the new map" in said
    assert "No documented arrangement names the Surrey police force area." in said
    assert "the least likely of the Surrey police force area’s pairs" in said
    joins = said[said.index("Arrangements the Surrey police force area could join") :]
    assert "that the Surrey police force area would not be in" in joins or (
        "is open to the Surrey police force area" in joins
    )
