"""Exporting the register, and importing an export again
(``recommender.register.records.export``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput
from recommender.register.files import PROJECT_COLUMNS, Directory
from recommender.register.records import Filters, export, import_file, query
from register_fixtures import FIXTURES


@pytest.fixture
def loaded(register_settings: Settings, directory: Directory) -> Settings:
    import_file(FIXTURES / "known_small.csv", settings=register_settings, directory=directory)
    import_file(FIXTURES / "project_small.csv", settings=register_settings, directory=directory)
    return register_settings


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_then_import_adds_nothing(
    loaded: Settings, directory: Directory, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"register.{fmt}"
    export(fmt, out, filters=Filters(origin="all"), settings=loaded, directory=directory)
    report = import_file(out, settings=loaded, directory=directory)
    assert (report.layout, report.rows, report.added, report.duplicates) == (
        "json" if fmt == "json" else "project",
        10,
        0,
        10,
    )
    # What the JSON export adds (how the answers read each: internal, proposed, ended) is its
    # own: importing it said "column 'internal' is not read and was ignored".
    assert report.warnings == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_an_export_fills_an_empty_register_with_the_same_arrangements(
    loaded: Settings, directory: Directory, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"register.{fmt}"
    export(fmt, out, filters=Filters(origin="real"), settings=loaded, directory=directory)
    fresh = loaded.with_(database_url=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    report = import_file(out, settings=fresh, directory=directory)
    assert report.added == 9
    before, after = (query(settings=s, directory=directory) for s in (loaded, fresh))
    for record in before + after:  # a current body comes back through its code: "exact"
        for member in record["members"]:
            if not member["resolution"].startswith("former"):
                member["resolution"] = "exact" if member["body_code"] else "external"
    assert after == before
    assert any(
        m["name_as_given"] == "East Sussex County Council" for r in after for m in r["members"]
    )
    assert any(m["resolution"].startswith("former:") for r in after for m in r["members"])


def test_csv_export_has_the_project_layout(loaded: Settings, directory: Directory) -> None:
    text = export("csv", settings=loaded, directory=directory)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(PROJECT_COLUMNS) <= set(rows[0]) and "partner_roles" in rows[0]
    bt = next(r for r in rows if "BT" in r["partners"])
    assert bt["partners"] == "E07000244; E07000245; BT"
    assert bt["partner_roles"] == "partner; partner; external"
    assert bt["partner_names"] == "East Suffolk; West Suffolk; BT"
    assert bt["simulated"] == "false"


def test_geojson_export_is_valid(loaded: Settings, directory: Directory, tmp_path: Path) -> None:
    out = tmp_path / "r.geojson"
    export("geojson", out, filters=Filters(origin="real"), settings=loaded, directory=directory)
    collection = json.loads(out.read_text())
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 9
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] == "MultiPoint" and geometry["coordinates"]
        for lon, lat in geometry["coordinates"]:
            assert -6.5 < lon < 2 and 49.8 < lat < 56  # England, in WGS84 lon/lat order
        properties = feature["properties"]
        for key in ("partners", "service", "start_year", "savings_gbp", "annual_savings_gbp"):
            assert key in properties
        assert properties["simulated"] is False and properties["source"].startswith("https://")
    hub = next(f for f in collection["features"] if f["properties"]["name"].endswith("Hub"))
    assert len(hub["geometry"]["coordinates"]) == 5


def test_filters_apply_to_exports(loaded: Settings, directory: Directory) -> None:
    text = export("json", filters=Filters(service="legal"), settings=loaded, directory=directory)
    assert {a["service"] for a in json.loads(text)["arrangements"]} == {"legal"}


def test_unknown_format_is_refused(loaded: Settings, directory: Directory) -> None:
    with pytest.raises(InvalidInput, match="xml"):
        export("xml", settings=loaded, directory=directory)
