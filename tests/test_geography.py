"""Geometry helpers on small synthetic polygons (metres, EPSG:27700)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from recommender.core.errors import CheckFailed
from recommender.geo import geography


def _squares() -> np.ndarray:
    # Two 10 km squares sharing a 10 km edge, and a third touching only at a corner.
    return np.asarray(
        [
            shapely.box(0, 0, 10_000, 10_000),
            shapely.box(10_000, 0, 20_000, 10_000),
            shapely.box(20_000, 10_000, 30_000, 20_000),
        ],
        dtype=object,
    )


def test_check_crs() -> None:
    gdf = gpd.GeoDataFrame(geometry=list(_squares()), crs=27700)
    geography.check_crs(gdf)
    with pytest.raises(CheckFailed, match="EPSG:27700"):
        geography.check_crs(gdf.to_crs(4326))
    with pytest.raises(CheckFailed, match="no CRS"):
        geography.check_crs(gpd.GeoDataFrame(geometry=list(_squares())))


def test_to_bng_reprojects_degrees_to_metres() -> None:
    london = gpd.GeoDataFrame(geometry=[shapely.Point(-0.1276, 51.5072)], crs=4326)
    point = geography.to_bng(london).geometry.iloc[0]
    assert point.x == pytest.approx(530_000, abs=1_000)
    assert point.y == pytest.approx(180_400, abs=1_000)
    with pytest.raises(CheckFailed):
        geography.to_bng(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]))


def test_pairwise_distance_km() -> None:
    d = geography.pairwise_distance_km(np.array([0.0, 3_000.0]), np.array([0.0, 4_000.0]))
    assert d.tolist() == [[0.0, 5.0], [5.0, 0.0]]
    with pytest.raises(ValueError, match="1-d arrays"):
        geography.pairwise_distance_km(np.zeros(2), np.zeros(3))


def test_shared_border_km() -> None:
    a, b, c = _squares()
    assert geography.shared_border_km(a, b) == pytest.approx(10.0)
    assert geography.shared_border_km(b, c) == 0.0  # corner only
    both = geography.shared_border_km(np.array([a, a], dtype=object), np.array([b, c]))
    assert both.tolist() == pytest.approx([10.0, 0.0])


def test_snap_coverage_keeps_shared_borders_and_validity() -> None:
    # Off-grid shared vertices plus a near-duplicate vertex that folds when rounded alone.
    left = shapely.Polygon([(0, 0), (10.4, 0), (10.6, 5.2), (10.9, 5.3), (10.4, 10), (0, 10)])
    right = shapely.Polygon([(10.4, 0), (20, 0), (20, 10), (10.4, 10), (10.9, 5.3), (10.6, 5.2)])
    snapped = geography.snap_coverage(np.asarray([left, right], dtype=object))
    assert shapely.is_valid(snapped).all()
    coords = shapely.get_coordinates(snapped)
    assert np.array_equal(coords, np.round(coords))
    report = geography.topology_report(snapped)
    assert report.n_gaps == 0 and report.max_overlap_m2 == 0.0
    assert report.sum_area_km2 == pytest.approx(report.union_area_km2)


def test_topology_report_finds_gaps_and_overlaps() -> None:
    ring = [shapely.box(x, y, x + 10, y + 10) for x in (0, 10, 20) for y in (0, 10, 20)]
    holed = np.asarray(ring[:4] + ring[5:], dtype=object)  # the centre square missing
    report = geography.topology_report(holed)
    assert report.n_gaps == 1 and report.gap_area_km2 == pytest.approx(100 / 1e6)
    overlapping = np.asarray([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)], dtype=object)
    assert geography.topology_report(overlapping).max_overlap_m2 == pytest.approx(50.0)
    assert "1 gaps" in report.summary()


def test_adjacency_touches_both_ways_and_keeps_relations() -> None:
    geoms = _squares()
    county = shapely.union_all(geoms[:2])
    codes = pd.Series(["A", "B", "C", "K"])
    relations = pd.DataFrame(
        [
            ("A", "K", "within"),
            ("K", "A", "contains"),
            ("B", "K", "within"),
            ("K", "B", "contains"),
        ],
        columns=["code_a", "code_b", "relation"],
    )
    out = geography.adjacency(codes, np.append(geoms, county), relations)
    pairs = {(a, b): (r, km) for a, b, r, km in out.itertuples(index=False)}
    assert pairs[("A", "B")] == ("touches", pytest.approx(10.0))
    assert pairs[("B", "A")] == ("touches", pytest.approx(10.0))
    assert pairs[("A", "K")] == ("within", pytest.approx(30.0))
    assert ("B", "C") not in pairs  # corner contact is not a border
    assert ("K", "C") not in pairs


def test_adjacency_rejects_unexplained_overlap() -> None:
    geoms = np.asarray([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)], dtype=object)
    with pytest.raises(CheckFailed, match="overlap although no lookup relates them"):
        geography.adjacency(pd.Series(["A", "B"]), geoms)


def test_dissolve_unions_by_label() -> None:
    geoms = _squares()
    out = geography.dissolve(geoms, np.array(["x", "x", "y"]))
    assert out["x"].equals(shapely.box(0, 0, 20_000, 10_000))
    assert out["y"].area == pytest.approx(1e8)
    assert out["x"].geom_type == "Polygon"


def test_snap_coverage_on_a_coarse_grid_keeps_neighbours_sharing_their_border() -> None:
    # Two polygons sharing a wiggly border with vertices off the 100 m grid.
    border = [(0, 1000), (430, 560), (520, 440), (1000, 0)]
    left = shapely.Polygon([(0, 0), *border[::-1]])
    right = shapely.Polygon([*border, (1000, 1000)])
    assert left.is_valid and right.is_valid and left.intersection(right).area == 0
    snapped = geography.snap_coverage(np.asarray([left, right], dtype=object), 100.0)
    assert shapely.is_valid(snapped).all() and bool(shapely.coverage_is_valid(snapped))
    assert shapely.area(shapely.intersection(snapped[0], snapped[1])) == 0
    assert shapely.union_all(snapped).area == pytest.approx(1_000_000)
    assert all(c % 100 == 0 for c in shapely.get_coordinates(snapped).ravel())
