"""Downloads: a body's suggestions and the register as CSV and Excel, opened as a spreadsheet
user would (pandas, openpyxl) and compared with what the JSON API and the pages show."""

from __future__ import annotations

import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.register import records as reg
from recommender.render import downloads

ROTHER = "E07000064"


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
        assert got["Likelihood (5 years)"] == pytest.approx(want["likelihood"], abs=1e-4)
        assert got["Annual savings if formed (£)"] == pytest.approx(want["savings_gbp"], abs=1)
        assert got["Expected annual savings (£)"] == pytest.approx(
            want["expected_savings_gbp"], abs=1
        )
        for reason in want["reasons"]:  # type: ignore[attr-defined]
            assert reason["text"] in got["Why"]


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
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["Body"] == f"Rother ({ROTHER})" and about["Filters"] == "service=legal"
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
    assert len(pd.read_csv(io.BytesIO(everything.data))) == total > 25


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
