"""Every figure ``data/README.md`` gives about the sources and the built reference is the one
the sources and ``data/reference/`` give now (they were typed in once; this computes each)."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from recommender.core.config import Settings

SETTINGS = Settings()
README = (SETTINGS.root / "data" / "README.md").read_text(encoding="utf-8")
SOURCES = SETTINGS.sources


def _said(pattern: str) -> tuple[str, ...]:
    found = re.search(pattern, " ".join(README.split()))
    assert found, f"data/README.md no longer says {pattern!r}"
    return found.groups()


def _number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.fixture(scope="module")
def councils() -> gpd.GeoDataFrame:
    path = SOURCES / "ons" / "lad_may2024_uk_buc.geojson"
    if not path.is_file():
        pytest.skip(f"sources not found under {SOURCES}")
    found = gpd.read_file(path)
    return found[found["LAD24CD"].str.startswith("E")]


def test_the_source_polygons_are_as_said(councils: gpd.GeoDataFrame) -> None:
    features, vertices = _said(r"England, (\d+) features, ([\d,]+) vertices")
    assert len(councils) == int(features)
    assert shapely.get_num_coordinates(councils.geometry.values).sum() == _number(vertices)
    shapes = councils.to_crs(27700).geometry.values
    left, right = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
    lengths = [shapes[i].intersection(shapes[j]).length for i, j in pairs]
    meet, points = _said(r"([\d,]+) pairs of councils meet, (\w+) of them only at a point")
    assert len(pairs) == _number(meet)
    assert sum(length == 0 for length in lengths) == (0 if points == "none" else _number(points))
    (shortest,) = _said(r"the shortest council border is (\d+) m")
    assert round(min(lengths)) == int(shortest)
    built = gpd.read_file(SETTINGS.reference_dir / "boundaries.geojson")
    built = built[built["code"].isin(councils["LAD24CD"])].geometry.area.sum()
    (rounding,) = _said(r"\(\+([\d.]+) km² from rounding\)")
    assert round((built - sum(s.area for s in shapes)) / 1e6, 2) == float(rounding)


def test_the_built_reference_is_as_said() -> None:
    bodies = pd.read_csv(SETTINGS.reference_dir / "bodies.csv", dtype={"code": str})
    shapes = gpd.read_file(SETTINGS.reference_dir / "boundaries.geojson")
    lower = bodies[(bodies["kind"] == "council") & (bodies["tier"] != "county")]["code"]
    (total,) = _said(r"total area ([\d,.]+) km²")
    assert round(shapes[shapes["code"].isin(lower)].geometry.area.sum() / 1e6, 2) == _number(total)
    (size,) = _said(r"per line\. About ([\d.]+) MB")
    assert round((SETTINGS.reference_dir / "boundaries.geojson").stat().st_size / 1e6, 1) == float(
        size
    )
    adjacency = pd.read_csv(SETTINGS.reference_dir / "adjacency.csv", dtype=str)
    touching = adjacency[adjacency["code_a"].isin(lower) & adjacency["code_b"].isin(lower)]
    border = touching["border_km"].astype(float)
    (shortest,) = _said(r"the shortest council border is (\d+) m")
    assert round(1000 * border[border > 0].min()) == int(shortest)
    (ours,) = _said(r"Devon: decile (\d+) here")
    assert int(bodies.set_index("code").at["E10000008", "imd_decile"]) == int(ours)


def test_the_figures_read_from_the_lookups_are_as_said() -> None:
    lookups = SOURCES / "lookups"
    if not (lookups / "lookup_lsoa21_icb24.csv").is_file():
        pytest.skip(f"sources not found under {SOURCES}")
    bodies = pd.read_csv(SETTINGS.reference_dir / "bodies.csv", dtype={"code": str})
    attributes = pd.read_csv(SOURCES / "ons" / "lad_may2024_bfe_attributes.csv",
                             encoding="utf-8-sig")  # fmt: skip
    full, clipped = _said(r"Bristol (\d+) vs (\d+) km²")
    bristol = attributes.set_index("LAD24CD").at["E06000023", "Shape__Area"]
    assert round(bristol / 1e6) == int(full)
    assert round(bodies.set_index("code").at["E06000023", "area_km2"]) == int(clipped)
    icb = pd.read_csv(lookups / "lookup_lsoa21_icb24.csv", dtype=str)
    ltla = pd.read_csv(lookups / "lookup_lsoa21_ward24_ltla24.csv", dtype=str)
    east_suffolk = ltla[ltla["ltla24_code"] == "E07000244"].merge(icb, on="lsoa21_code")
    counts = sorted(east_suffolk["icb24_code"].value_counts().tolist(), reverse=True)
    assert counts == [int(n) for n in _said(r"East Suffolk is (\d+) to (\d+)")]
    (theirs,) = _said(r"(\d+) in mySociety's own county figure")
    imd = pd.read_csv(lookups / "mysoc_la_imd.csv")
    devon = imd[imd["official-name"] == "Devon County Council"]["la-imd-pop-decile"]
    assert devon.tolist() == [int(theirs)]


def test_the_counts_of_bodies_are_as_said() -> None:
    """The counts of bodies, and the England total the build checks the population against,
    were typed in and checked by nothing."""
    bodies = pd.read_csv(SETTINGS.reference_dir / "bodies.csv", dtype={"code": str})
    council = bodies[bodies["kind"] == "council"]
    tiers = council["tier"].value_counts()
    lower = council[council["tier"] != "county"]
    said = _said(
        r"(\d+) bodies: (\d+) councils \((\d+) lower-tier: (\d+) unitaries incl\. the Isles of "
        r"Scilly, (\d+) districts, (\d+) metropolitan districts, (\d+) London boroughs incl\. the "
        r"City of London; and (\d+) county councils\), (\d+) fire and rescue authorities, (\d+) "
        r"police force areas, (\d+) integrated care boards, (\d+) combined authorities"
    )
    kinds = bodies["kind"].value_counts()
    assert [int(n) for n in said] == [
        len(bodies), len(council), len(lower), tiers["unitary"], tiers["district"],
        tiers["metropolitan"], tiers["london_borough"], tiers["county"], kinds["fire"],
        kinds["police"], kinds["health"], kinds["combined"],
    ]  # fmt: skip
    checks = _said(
        r"Checks that fail the build: (\d+) lower-tier councils, (\d+) counties, (\d+) regions, "
        r"(\d+) fire and rescue authorities, (\d+) police force areas, (\d+) integrated care "
        r"boards, (\d+) combined authorities"
    )
    assert [int(n) for n in checks] == [
        len(lower), tiers["county"], bodies["region_code"].dropna().nunique(), kinds["fire"],
        kinds["police"], kinds["health"], kinds["combined"],
    ]  # fmt: skip
    (england,) = _said(r"from the population file \(([\d,]+)\)")
    assert int(lower["population"].sum()) == _number(england)
