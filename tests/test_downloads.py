"""Downloads: a body's suggestions and the register as CSV and Excel, opened as a spreadsheet
user would (pandas, openpyxl) and compared with what the JSON API and the pages show."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from browser_fixtures import synthetic_evaluation
from recommender.core.config import Settings
from recommender.model.horizon import HORIZON_YEARS, LIKELIHOOD_SIDE, LIKELIHOOD_UNCHECKED
from recommender.model.verdicts import trust_said
from recommender.register import records as reg
from recommender.render import downloads
from recommender.render.charts import documented_sizes
from recommender.scenario import store
from scenario_fixtures import surrey_draft
from service_fixtures import build_app

ROTHER = "E07000064"
SUSSEX_POLICE, SURREY_POLICE = "E23000033", "E23000031"
TRUST = "How far to trust the order"


def _json_rows(client: FlaskClient, query: str) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/bodies/{ROTHER}/recommendations?{query}")
    assert response.status_code == 200
    return list(response.json["recommendations"])  # type: ignore[index]


@pytest.mark.parametrize("query", ["", "service=legal&k=20&min_choice=0", "sort=likelihood"])
def test_suggestions_as_csv_match_the_json(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/v1/bodies/Rother/recommendations.csv?{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="suggestions-rother.csv"' in response.headers["Content-Disposition"]
    table = pd.read_csv(io.BytesIO(response.data))
    expected = _json_rows(client, query)
    assert list(table.columns) == [c.heading for c in downloads.RECOMMENDATION_COLUMNS]
    assert table["Rank"].tolist() == list(range(1, len(expected) + 1))
    assert table["Partner code"].tolist() == [r["partner_code"] for r in expected]
    assert table["Service id"].tolist() == [r["service"] for r in expected]
    assert table["Service"].tolist() == [r["service_label"] for r in expected]
    for got, want in zip(table.to_dict("records"), expected, strict=True):
        assert got[f"Likelihood ({HORIZON_YEARS} years)"] == pytest.approx(
            want["likelihood"], abs=1e-4
        )
        assert got["Annual savings if formed (£)"] == pytest.approx(want["savings_gbp"], abs=1)
        assert got["Expected annual savings (£)"] == pytest.approx(
            want["expected_savings_gbp"], abs=1
        )
        for reason in want["reasons"]:  # type: ignore[attr-defined]
            assert reason["text"] in got["Why"]
    # what those figures were learnt from, on every row, as the JSON answer says it
    asked = client.get(f"/api/v1/bodies/Rother/recommendations?{query}")
    said = asked.json["savings_note"]  # type: ignore[index]
    assert said and set(table["What the figures if formed were learnt from"]) == {said}


def test_suggestions_as_xlsx_match_the_json(client: FlaskClient) -> None:
    response = client.get(f"/api/v1/bodies/{ROTHER}/recommendations.xlsx?service=legal")
    assert response.status_code == 200
    assert response.mimetype == downloads.XLSX_TYPE
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Table", "About"]
    sheet = book["Table"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [c.heading for c in downloads.RECOMMENDATION_COLUMNS]
    expected = _json_rows(client, "service=legal")
    assert [r[2] for r in rows[1:]] == [r["partner_code"] for r in expected]
    assert all(isinstance(r[6], float) and 0 < r[6] <= 1 for r in rows[1:])  # numbers, not text
    assert sheet.cell(row=2, column=7).number_format == downloads.SHARE
    assert sheet.cell(row=2, column=9).number_format == downloads.POUNDS
    assert sheet.freeze_panes == "A2"
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["Body"] == f"Rother ({ROTHER})" and about["Filters"] == "service=legal"
    # the sources' attribution, as every page and briefing gives it (it had none)
    assert "Office for National Statistics" in about["Attribution"]
    assert "mySociety (CC BY 4.0)" in about["Attribution"]
    assert about["Likelihood"] == (
        f"the chance that the two bodies share the service within {HORIZON_YEARS} years, "
        f"{LIKELIHOOD_SIDE}. {LIKELIHOOD_UNCHECKED}"
    )
    served = client.application.extensions["recommender"]  # what the figures were learnt from
    said = documented_sizes(served.models.recommender.describe(), served.settings)
    assert said and about["If formed"] == said
    frame = pd.read_excel(io.BytesIO(response.data), sheet_name="Table")
    assert frame["Partner"].tolist() == [r["partner_name"] for r in expected]


def test_the_register_downloads_filtered(client: FlaskClient, app: Flask) -> None:
    extension = app.extensions["recommender"]
    wanted = reg.query(
        reg.Filters(service="legal", region="South East"),
        settings=extension.settings,
        directory=extension.directory,
    )
    csv = client.get("/api/v1/arrangements.csv?service=legal&region=South+East")
    assert (
        csv.status_code == 200
        and 'filename="arrangements.csv"' in csv.headers["Content-Disposition"]
    )
    table = pd.read_csv(io.BytesIO(csv.data), keep_default_na=False)
    assert table["Id"].tolist() == [a["id"] for a in wanted]
    assert set(table["Service"]) == {"Legal services"} and set(table["Origin"]) == {"real"}
    xlsx = client.get("/api/v1/arrangements.xlsx?service=legal&region=South+East")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data))["Table"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [a["id"] for a in wanted]
    # The JSON route pages; a download has every row the filters keep.
    everything = client.get("/api/v1/arrangements.csv")
    total = client.get("/api/v1/arrangements?limit=1").json["total"]  # type: ignore[index]
    every = pd.read_csv(io.BytesIO(everything.data), keep_default_na=False)
    assert len(every) == total > 25
    # A documented proposal read "unknown" (with its year under "Start"), as if it had begun.
    proposals = every[every["Name"].str.endswith("(proposal)")]
    assert len(proposals) >= 1 and set(proposals["Status"]) == {"proposed"}
    # An end read from the notes' words, or a member that left, says how, as the page does.
    records = {a["id"]: a for a in reg.query(reg.Filters(), settings=extension.settings,
                                             directory=extension.directory)}  # fmt: skip
    # One running whose source gives no status says so: "running" is what none says has ended.
    unsaid = "Its source gives no status, and none says it has ended"
    merged = "It no longer runs between separate bodies: its members have all since become one."
    read = every[every["How the status was read"] != ""]
    assert len(read) >= 1 and all(said.startswith(("Read from", unsaid, merged)) or " left" in said
                                  for said in read["How the status was read"])  # fmt: skip
    for ident, said in zip(read["Id"], read["How the status was read"], strict=True):
        a = records[ident]
        # (a member abolished since, a primary care trust: said so, as its page says it)
        abolished = reg.abolished_said(a)
        them = "them" if str(abolished).endswith(" have since been abolished") else "it"
        gone = f"; {abolished}, and no source says it went on without {them}" if abolished else ""
        assert said == " ".join(
            [*([a["end_read"]["said"]] if a["end_read"] else []),
             *([f"{unsaid}{gone}."] if a["status"] != "active" and reg.status_said(a) == "running"
               else []),
             *([merged] if reg.status_said(a) == "merged" else []),
             *([f"Internal, not a partnership: {a['internal']}."] if a["internal"] else []),
             *reg.exits_said(a)]
        )  # fmt: skip
    assert set(every.loc[every["How the status was read"] == "", "Id"]) == {
        i
        for i, a in records.items()
        if not a["end_read"] and not reg.exits_said(a) and not reg.status_unsaid(a)
    }
    assert set(every["Status"]) == {
        "running",
        "ended",
        "proposed",
        "merged",
        "term passed",  # a limited term passed: no source says it ended (records.term_passed)
    }  # not "unknown", "active"
    # The annual figure is drawn from the reported one by a rule: how, beside it, as the page
    # says it (the column "Annual savings (£)" read as reported yearly savings).
    figured = every[every["Savings as reported (£)"] != ""]
    assert len(figured) >= 5 and set(figured["How the annual figure was read"]) >= {
        "reported as an annual figure"
    }
    for ident, read in zip(figured["Id"], figured["How the annual figure was read"], strict=True):
        a = records[ident]
        reading = reg.savings_reading(a["name"], a["savings_gbp"], a["simulated"])
        assert read == reg.annualisation_note(
            a["savings_basis"], a["savings_period_years"], a["start_year"], reading
        )
    assert set(
        every.loc[every["Savings as reported (£)"] == "", "How the annual figure was read"]
    ) <= {""}
    assert "Annual savings (£)" not in every and "Annual savings, as read (£)" in every
    # Filtered by status, as the explorer's link asks: its rows, and the filter said above them.
    ended = client.get("/api/v1/arrangements.csv?status=ended")
    kept = pd.read_csv(io.BytesIO(ended.data), keep_default_na=False)
    assert set(kept["Id"]) == {i for i, a in records.items() if reg.status_said(a) == "ended"}
    assert set(kept["Status"]) == {"ended", "term passed"}
    biggest = client.get("/api/v1/arrangements.csv?order=savings")  # as the explorer orders it
    ordered = pd.read_csv(io.BytesIO(biggest.data), keep_default_na=False)
    assert ordered["Id"].tolist() == [
        a["id"]
        for a in reg.query(reg.Filters(order="savings"), settings=extension.settings,
                           directory=extension.directory)
    ]  # fmt: skip
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/api/v1/arrangements.xlsx?status=ended").data)
    )
    assert ("Filters", "status=ended") in set(book["About"].iter_rows(values_only=True))


def test_bad_parameters_are_the_api_errors(client: FlaskClient) -> None:
    bad = client.get(f"/api/v1/bodies/{ROTHER}/recommendations.csv?k=0")
    assert bad.status_code == 400 and bad.json["field"] == "k"  # type: ignore[index]
    unknown = client.get("/api/v1/bodies/Rothr/recommendations.xlsx")
    assert unknown.status_code == 404 and unknown.mimetype == "application/json"
    paged = client.get("/api/v1/arrangements.csv?limit=5")  # every row, so no paging
    assert paged.status_code == 400 and paged.json["field"] == "limit"  # type: ignore[index]


def test_text_that_looks_like_a_formula_stays_text() -> None:
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2-3", "@SUM(A1)", "plain", "-5"]
    table = downloads.Table(
        "t",
        [downloads.Column("Name"), downloads.Column("Pounds", downloads.POUNDS)],
        [[text, 7.0] for text in hostile] + [["bad\x01control", None]],
    )
    frame = pd.read_csv(io.StringIO(downloads.to_csv(table)), dtype=str, keep_default_na=False)
    assert frame["Name"].tolist()[:4] == ["'" + t for t in hostile[:4]]
    assert frame["Name"].tolist()[4:6] == ["plain", "-5"]  # a number written as text is kept
    sheet = openpyxl.load_workbook(io.BytesIO(downloads.to_xlsx(table)))["Table"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells][:6] == hostile  # exactly as written ...
    assert {c.data_type for c in cells} == {"s"}  # ... and stored as text, never a formula
    assert cells[-1].value == "badcontrol"
    assert sheet.cell(row=2, column=2).value == 7 and sheet.cell(row=2, column=2).number_format == (
        downloads.POUNDS
    )


def test_the_downloads_are_documented(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]  # type: ignore[index]
    for path, media in (
        ("/bodies/{code_or_name}/recommendations.csv", "text/csv"),
        ("/bodies/{code_or_name}/recommendations.xlsx", downloads.XLSX_TYPE),
        ("/arrangements.csv", "text/csv"),
        ("/arrangements.xlsx", downloads.XLSX_TYPE),
    ):
        ok = paths[path]["get"]["responses"]["200"]
        assert list(ok["content"]) == [media]
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert "limit" not in names and ("service" in names)


def test_the_pages_link_their_lists_with_their_filters(client: FlaskClient) -> None:
    page = client.get(f"/bodies/{ROTHER}?service=legal&kinds=council&kinds=fire&k=5").text
    links = re.findall(r'href="(/api/v1/bodies/[^"]+/recommendations\.(?:csv|xlsx)[^"]*)"', page)
    assert len(links) == 2
    for link in links:
        query = parse_qs(urlsplit(html.unescape(link)).query)
        assert query == {"service": ["legal"], "kinds": ["council,fire"], "k": ["5"]}
        assert client.get(html.unescape(link)).status_code == 200
    rows = pd.read_csv(io.BytesIO(client.get(html.unescape(links[0])).data))
    shown = re.findall(r'<tr id="s-[^"]+" data-partner="([^"]+)" data-service="([^"]+)"', page)
    assert list(zip(rows["Partner code"], rows["Service id"], strict=True)) == shown
    explorer = client.get("/arrangements?service=legal&region=South+East&page=1").text
    (csv_link,) = re.findall(r'href="(/api/v1/arrangements\.csv[^"]*)"', explorer)
    assert parse_qs(urlsplit(html.unescape(csv_link)).query) == {
        "service": ["legal"], "region": ["South East"]
    }  # fmt: skip


# How far to trust the order -----------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluated_client(
    trained_settings: Settings, evaluated_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> FlaskClient:
    """A client of the small world's model with an evaluation table (synthetic figures, in
    which the model ranks police forces' real partners no better than a rule), and Surrey's
    2025 split stored as a scenario."""
    app = build_app(tmp_path_factory.mktemp("downloads-evaluated"), trained_settings,
                    evaluated_models)  # fmt: skip
    current = app.extensions["recommender"]
    store.create(current.engine, surrey_draft(), current.settings)
    return app.test_client()


def _cautions(client: FlaskClient, code: str, query: str) -> list[dict[str, Any]]:
    """The cautions the JSON route gives with the same list."""
    found = client.get(f"/api/v1/bodies/{code}/recommendations?{query}")
    assert found.status_code == 200
    return list(found.json["cautions"])  # type: ignore[index]


def test_a_download_for_an_abolished_council_says_whose_list_it_is(client: FlaskClient) -> None:
    """Asked about Forest Heath, the JSON answers for West Suffolk with a note saying so; the
    CSV named West Suffolk only in its file name, and the workbook's About sheet not at all."""
    said = (
        "Forest Heath District Council was abolished in 2019; its area is now part of West Suffolk."
    )
    base = "/api/v1/bodies/Forest%20Heath/recommendations"
    assert client.get(f"{base}?k=3").json["body"]["note"] == said  # type: ignore[index]
    rows = _csv_rows(client, f"{base}.csv?k=3")
    assert rows and {(r["Body"], r["Body code"], r["Body note"]) for r in rows} == {
        ("West Suffolk", "E07000245", said)
    }
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{base}.xlsx?k=3").data))
    about = dict(book["About"].iter_rows(max_col=2, values_only=True))
    assert about["Body"] == "West Suffolk (E07000245)" and about["Note"] == said
    table = list(book["Table"].iter_rows(values_only=True))
    assert {r[table[0].index("Body note")] for r in table[1:]} == {said}
    asked = _csv_rows(client, f"/api/v1/bodies/{ROTHER}/recommendations.csv?k=3")
    assert {(r["Body"], r["Body code"], r["Body note"]) for r in asked} == {("Rother", ROTHER, "")}


def _csv_rows(client: FlaskClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _tested(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cautions of pair kinds the evaluation tested (not those it could not)."""
    return [c for c in found if c["verdict"] != "untested"]


def _caution_rows(sheet: Any) -> list[tuple[Any, ...]]:
    """The about sheet's cautions, one row each, below their headings (none: [])."""
    rows = list(sheet.iter_rows(values_only=True))
    starts = [i for i, r in enumerate(rows) if r[0] == downloads.CAUTION_HEADINGS[0]]
    if not starts:
        return []
    assert rows[starts[0]] == downloads.CAUTION_HEADINGS
    return rows[starts[0] + 1 :]


@pytest.mark.parametrize(
    ("query", "judged"), [("min_choice=0&k=40", "any"), ("service=ict&min_choice=0", "service")]
)
def test_each_row_and_the_about_sheet_say_how_far_to_trust_the_order(
    evaluated_client: FlaskClient, query: str, judged: str
) -> None:
    client = evaluated_client
    found = _cautions(client, SUSSEX_POLICE, query)  # as the JSON route says it
    (caution,) = _tested(found)
    assert caution["pair_kind"] == "police-police" and caution["query"] == judged
    # Then the pair kinds the list can hold that the evaluation has no held-out case of.
    untested = {c["pair_kind"]: c for c in found if c["verdict"] == "untested"}
    assert list(untested) == ["council-police", "health-police", "combined-police"]
    # Its figures are the evaluation's, computed, not typed.
    mrr = {
        r["method"]: r["mrr"]
        for r in synthetic_evaluation()["ranking"]
        if (r["protocol"], r["query"], r["pair_kind"]) == ("lopo", judged, "police-police")
    }
    assert (caution["model_mrr"], caution["baseline_mrr"]) == (mrr["model"], mrr["plain_logit"])
    base = f"/api/v1/bodies/{SUSSEX_POLICE}/recommendations"
    rows = _csv_rows(client, f"{base}.csv?{query}")
    assert list(rows[0]) == [c.heading for c in downloads.RECOMMENDATION_COLUMNS]
    police = [r for r in rows if r["Partner kind"] == "police"]
    others = [r for r in rows if r["Partner kind"] != "police"]
    assert police and others  # both kinds of pair in the list
    assert {r[TRUST] for r in police} == {trust_said([caution])}
    assert caution["said"] in police[0][TRUST] and "7 held-out arrangements" in police[0][TRUST]
    assert {r["Partner kind"] for r in others} >= {"council", "fire"}
    for row in others:  # council–police pairs: none held out; fire–police: the model leads
        said = untested.get(f"{row['Partner kind']}-police")
        assert row[TRUST] == (trust_said([said]) if said else "")
    assert "no documented arrangement was there to hold out and test" in trust_said(
        [untested["council-police"]]
    )
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{base}.xlsx?{query}").data))
    table = list(book["Table"].iter_rows(values_only=True))
    assert list(table[0]) == list(rows[0])  # the same columns in both
    trust = table[0].index(TRUST)
    assert [r[trust] or "" for r in table[1:]] == [r[TRUST] for r in rows]
    said, *rest = _caution_rows(book["About"])
    assert [(r[0], r[2], r[5], r[6]) for r in rest] == [
        ("council–police", None, 0, "not tested"),
        ("police–NHS", None, 0, "not tested"),
        ("police–combined authority or GLA", None, 0, "not tested"),
    ]  # no figures for what was not tested, nor "too few to judge firmly"; kinds in words
    words = {"any": "a list of every service", "service": "a list for one service"}[judged]
    assert said == (
        "police–police",
        caution["said"][0].upper() + caution["said"][1:],
        caution["model_mrr"],
        caution["baseline_label"],
        caution["baseline_mrr"],
        caution["held_out"],
        "yes",  # 7 held out: too few to judge firmly
        words,
    )
    assert book["About"].cell(row=1, column=1).value == "Table"


def test_a_list_without_a_caution_has_empty_cells_and_none_in_the_about_sheet(
    evaluated_client: FlaskClient,
) -> None:
    query = "k=12&kinds=police"  # among police forces alone the model leads: no caution
    assert _cautions(evaluated_client, SUSSEX_POLICE, query) == []
    base = f"/api/v1/bodies/{SUSSEX_POLICE}/recommendations"
    rows = _csv_rows(evaluated_client, f"{base}.csv?{query}")
    assert rows and {r[TRUST] for r in rows} == {""}
    book = openpyxl.load_workbook(io.BytesIO(evaluated_client.get(f"{base}.xlsx?{query}").data))
    assert _caution_rows(book["About"]) == []
    assert dict(book["About"].iter_rows(values_only=True))["Filters"] == "kinds=police; k=12"


def test_a_list_asked_for_one_kind_is_cautioned_as_judged_among_that_kind(
    evaluated_client: FlaskClient,
) -> None:
    """Among every kind the model ranks police forces' real partners no better than a rule;
    among police forces alone it leads. A list asked for police partners only was cautioned
    with the first figures."""
    base = f"/api/v1/bodies/{SUSSEX_POLICE}/recommendations"
    every = evaluated_client.get(f"{base}?k=12").json["cautions"]  # type: ignore[index]
    assert "police-police" in {c["pair_kind"] for c in every}
    assert evaluated_client.get(f"{base}?k=12&kinds=police").json["cautions"] == []  # type: ignore[index]
    rows = _csv_rows(evaluated_client, f"{base}.csv?k=12&kinds=police")
    assert rows and {r["Partner kind"] for r in rows} == {"police"}
    assert {r[TRUST] for r in rows} == {""}
    page = evaluated_client.get(f"/bodies/{SUSSEX_POLICE}?kinds=police").get_data(as_text=True)
    shown = evaluated_client.get(f"/bodies/{SUSSEX_POLICE}?k=40").get_data(as_text=True)
    assert "between two police forces" in shown and "between two police forces" not in page


def test_a_scenarios_download_says_how_far_to_trust_its_order(
    evaluated_client: FlaskClient,
) -> None:
    query = "scenario=surrey-east-west&k=40&min_choice=0"
    found = _cautions(evaluated_client, SURREY_POLICE, query)
    (caution,) = _tested(found)
    untested = {c["pair_kind"]: c for c in found if c["verdict"] == "untested"}
    base = f"/api/v1/bodies/{SURREY_POLICE}/recommendations"
    rows = _csv_rows(evaluated_client, f"{base}.csv?{query}")
    assert "X06000002" in {r["Partner code"] for r in rows}  # West Surrey: on the new map
    for row in rows:
        said = untested.get(f"{row['Partner kind']}-police")
        expected = trust_said([caution]) if row["Partner kind"] == "police" else ""
        assert row[TRUST] == (trust_said([said]) if said else expected)
    assert any(r[TRUST] for r in rows)
    book = openpyxl.load_workbook(io.BytesIO(evaluated_client.get(f"{base}.xlsx?{query}").data))
    said, *_ = _caution_rows(book["About"])
    assert said[0] == "police–police" and said[2:6] == (
        caution["model_mrr"], caution["baseline_label"], caution["baseline_mrr"],
        caution["held_out"],
    )  # fmt: skip
