"""Synthetic bodies for the growth benchmarks: every real body cut in two, or in four.

SYNTHETIC: made in memory for ``make bench`` only, never written into ``data/`` and never
shown as real. :func:`split` cuts each body's polygon (EPSG:27700) through its centroid,
across its longer side, into two pieces (``<code>a``, ``<code>b``, named "… (synthetic part
a)"); ``rounds=2`` cuts each piece again (four per body). Each piece takes its share of the
body's population in proportion to its area (the density stays the body's), its own centroid
and area, and the body's other facts. The relations are worked out again from the pieces:

* a piece is ``within`` (``contains``, ``overlaps``) a piece of a body its body was related to
  when their polygons share area (within: all of the piece's area);
* the area codes (``county_code``, ``fire_code`` …) name the piece of that area holding most
  of the piece;
* ``touches`` and the shared border lengths come from the polygons
  (:func:`recommender.geo.geography.adjacency`), the two halves of a body touching along the cut;
* a fire governance pair holds for every pair of their pieces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from recommender.geo import geography
from recommender.geo.pairs import AREA_COLUMNS

RELATED = ("within", "contains", "overlaps")
SHARE = 1e-6  # of a piece's area: rounding noise, not a real overlap


def split(
    bodies: gpd.GeoDataFrame,
    adjacency: pd.DataFrame,
    governed: Mapping[tuple[str, str], Any],
    rounds: int = 1,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[tuple[str, str], Any]]:
    """Cut every body in ``2 ** rounds`` pieces; return the pieces (indexed by code, with
    geometry), their adjacency table and their fire governance pairs."""
    governed = dict(governed)
    real = bodies.assign(real_code=bodies.index, real_name=bodies["name"],
                         real_display=bodies["display_name"])  # fmt: skip
    for _ in range(rounds):
        real, adjacency, governed = _halve(real, adjacency, governed)
    part = [f" (synthetic part {c[len(r) :]})" for c, r in zip(real.index, real["real_code"],
                                                                strict=True)]  # fmt: skip
    pieces = real.assign(name=real["real_name"] + part, display_name=real["real_display"] + part)
    return pieces.drop(columns=["real_code", "real_name", "real_display"]), adjacency, governed


def _halve(
    bodies: gpd.GeoDataFrame, adjacency: pd.DataFrame, governed: Mapping[tuple[str, str], Any]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[tuple[str, str], Any]]:
    geoms = bodies.geometry.to_numpy()
    minx, miny, maxx, maxy = shapely.bounds(geoms).T
    cx = shapely.get_x(shapely.centroid(geoms))
    cy = shapely.get_y(shapely.centroid(geoms))
    wide = (maxx - minx) >= (maxy - miny)
    pad = 1.0
    # Piece a: west of the centroid (or south, for a body taller than wide); piece b: the rest.
    box_a = shapely.box(minx - pad, miny - pad, np.where(wide, cx, maxx + pad),
                        np.where(wide, maxy + pad, cy))  # fmt: skip
    box_b = shapely.box(np.where(wide, cx, minx - pad), np.where(wide, miny - pad, cy),
                        maxx + pad, maxy + pad)  # fmt: skip
    parts = []
    for suffix, box in (("a", box_a), ("b", box_b)):
        piece = bodies.copy()
        cut = shapely.intersection(geoms, box)
        piece.geometry = [g if g.is_empty else geography.polygonal(g) for g in cut]
        piece.index = bodies.index + suffix
        piece["parent"] = bodies.index.to_numpy()
        parts.append(piece)
    pieces = gpd.GeoDataFrame(pd.concat(parts), crs=bodies.crs)
    pieces = pieces[~shapely.is_empty(pieces.geometry.to_numpy())].sort_index()
    pieces = _facts(pieces, bodies)
    pieces = _area_codes(pieces)
    relations = _relations(pieces, adjacency)
    codes = pd.Series(pieces.index.to_numpy())
    table = geography.adjacency(codes, pieces.geometry.to_numpy(), relations)
    governance = {
        (a + x, b + y): _moved(g, {a: a + x, b: b + y})
        for (a, b), g in governed.items()
        for x in "ab"
        for y in "ab"
        if a + x in pieces.index and b + y in pieces.index
    }
    return pieces.drop(columns="parent"), table, governance


def _moved(governor: Any, codes: Mapping[str, str]) -> Any:
    """The ``Governor`` with its codes those of the pieces (the pair's roles stay readable)."""
    fields = ("fire_code", "governor_code", "police_code")
    return dataclasses.replace(
        governor, **{f: codes.get(getattr(governor, f), getattr(governor, f)) for f in fields}
    )


def _facts(pieces: gpd.GeoDataFrame, bodies: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    area = shapely.area(pieces.geometry.to_numpy())
    parent_area = shapely.area(bodies.geometry.reindex(pieces["parent"]).to_numpy())
    share = area / parent_area
    centroid = shapely.centroid(pieces.geometry.to_numpy())
    x, y = shapely.get_x(centroid), shapely.get_y(centroid)
    lon, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)
    return pieces.assign(
        population=np.round(pieces["population"].to_numpy(float) * share),
        area_km2=area / 1e6,
        x=np.round(x),
        y=np.round(y),
        lat=lat,
        lon=lon,
    )


def _area_codes(pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Point each area column at the piece of that area holding most of the piece."""
    geoms = pieces.geometry
    out = pieces.copy()
    for column in AREA_COLUMNS:
        if column not in pieces:
            continue
        area = pieces[column].astype("string").fillna("")
        best = area.copy()
        split_areas = area[(area != "") & (area + "a").isin(pieces.index)]
        if len(split_areas):
            mine = geoms.loc[split_areas.index].to_numpy()
            a = geoms.reindex(split_areas + "a").to_numpy()
            b = geoms.reindex(split_areas + "b").to_numpy()
            in_a = shapely.area(shapely.intersection(mine, a))
            in_b = np.where(
                shapely.is_missing(b), -1.0, shapely.area(shapely.intersection(mine, b))
            )
            best.loc[split_areas.index] = np.where(
                in_a >= in_b, split_areas + "a", split_areas + "b"
            )
        out[column] = best.replace("", pd.NA)
    return out


def _relations(pieces: gpd.GeoDataFrame, adjacency: pd.DataFrame) -> pd.DataFrame:
    """``within``, ``contains`` and ``overlaps`` between the pieces of related bodies."""
    related = adjacency[adjacency["relation"].isin(RELATED)]
    rows = []
    for x in "ab":
        for y in "ab":
            rows.append(
                pd.DataFrame(
                    {
                        "code_a": related["code_a"].to_numpy() + x,
                        "code_b": related["code_b"].to_numpy() + y,
                        "was": related["relation"].to_numpy(),
                    }
                )
            )
    pairs = pd.concat(rows, ignore_index=True)
    present = pairs["code_a"].isin(pieces.index) & pairs["code_b"].isin(pieces.index)
    pairs = pairs[present].reset_index(drop=True)
    ga = pieces.geometry.reindex(pairs["code_a"]).to_numpy()
    gb = pieces.geometry.reindex(pairs["code_b"]).to_numpy()
    shared = shapely.area(shapely.intersection(ga, gb))
    area_a, area_b = shapely.area(ga), shapely.area(gb)
    a_in_b = shared >= area_a * (1 - SHARE) - geography.OVERLAP_TOLERANCE_M2
    b_in_a = shared >= area_b * (1 - SHARE) - geography.OVERLAP_TOLERANCE_M2
    relation = np.select(
        [
            (pairs["was"] == "within") & a_in_b,
            (pairs["was"] == "contains") & b_in_a,
            a_in_b,
            b_in_a,
            shared > geography.OVERLAP_TOLERANCE_M2,  # what geography.adjacency calls overlap
        ],
        ["within", "contains", "within", "contains", "overlaps"],
        default="",
    )
    out = pairs.assign(relation=relation)
    return out[out["relation"] != ""][["code_a", "code_b", "relation"]].reset_index(drop=True)
