"""Pure geometry functions on GeoDataFrames and shapely arrays.

Every distance, length and area is computed in British National Grid (EPSG:27700) metres and
reported in km or km²; nothing here measures in degrees. Functions take and return plain
values (no I/O), so the reference build and the features share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from recommender.core.errors import CheckFailed

BNG = 27700
# Overlaps below this (m²) are rounding noise at 1 m precision, not real overlaps.
OVERLAP_TOLERANCE_M2 = 1.0

GeometryArray = NDArray[np.object_]


def check_crs(gdf: gpd.GeoDataFrame, epsg: int = BNG, *, what: str = "geometries") -> None:
    """Raise :class:`CheckFailed` unless ``gdf`` is in ``EPSG:epsg``."""
    if gdf.crs is None:
        raise CheckFailed(f"{what} have no CRS; expected EPSG:{epsg}")
    found = gdf.crs.to_epsg()
    if found != epsg:
        raise CheckFailed(f"{what} are in {gdf.crs.to_string()}; expected EPSG:{epsg}")


def to_bng(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` in British National Grid (EPSG:27700); raise if it has no CRS."""
    if gdf.crs is None:
        raise CheckFailed("geometries have no CRS; cannot reproject to EPSG:27700")
    if gdf.crs.to_epsg() == BNG:
        return gdf
    return gdf.to_crs(BNG)


def pairwise_distance_km(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the matrix of straight-line distances (km) between BNG points ``(x[i], y[i])``."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-d arrays of one length, got {xs.shape}, {ys.shape}")
    dx = xs[:, None] - xs[None, :]
    dy = ys[:, None] - ys[None, :]
    return np.asarray(np.hypot(dx, dy) / 1000.0, dtype=np.float64)


def shared_border_km(a: Any, b: Any) -> Any:
    """Return the length (km) of the boundary shared by ``a`` and ``b`` (BNG metres).

    Works on two geometries or two equal-length arrays of them (vectorised).
    """
    common = shapely.intersection(shapely.boundary(a), shapely.boundary(b))
    return shapely.length(common) / 1000.0


def snap_coverage(
    geoms: GeometryArray, grid: float = 1.0, *, drop_outside: bool = False
) -> GeometryArray:
    """Snap polygons that tile an area onto a ``grid`` (metres), keeping them a tiling.

    Rounding each polygon on its own lets two neighbours round a shared border differently
    (and folds near-duplicate vertices into self-intersections). Instead all borders are noded
    together with snap-rounding (GEOS OverlayNG with a fixed grid), the faces between them are
    rebuilt, and each face goes to the polygon covering most of it. Neighbours therefore share
    every border vertex exactly and the result is valid.

    A face that no polygon covers for the most part (sea closed off by rounding, which only
    happens on coarse grids) is an error, or is dropped when ``drop_outside`` is set.
    """
    edges = shapely.union_all(shapely.boundary(geoms), grid_size=grid)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    face, owner = shapely.STRtree(geoms).query(faces, predicate="intersects")
    area = shapely.area(shapely.intersection(faces[face], geoms[owner]))
    order = np.lexsort((owner, -area, face))  # per face: largest share first, ties by index
    face, owner, area = face[order], owner[order], area[order]
    best = np.unique(face, return_index=True)[1]
    face, owner, area = face[best], owner[best], area[best]
    owned = area > 0.5 * shapely.area(faces[face])
    lost = np.setdiff1d(np.arange(len(faces)), face[owned])
    if len(lost) and not drop_outside:
        raise CheckFailed(
            f"snapping to a {grid:g} m grid left {len(lost)} face(s) without an owner "
            f"({float(shapely.area(faces[lost]).sum()):.1f} m²)"
        )
    face, owner = face[owned], owner[owned]
    snapped = []
    for i in range(len(geoms)):
        mine = faces[face[owner == i]]
        if not len(mine):
            raise CheckFailed(f"snapping to a {grid:g} m grid lost polygon {i}; use a finer grid")
        snapped.append(polygonal(shapely.union_all(mine, grid_size=grid)))
    return np.asarray(snapped, dtype=object)


def polygonal(geom: Any) -> Any:
    """Return only the (multi)polygon parts of ``geom`` (``make_valid`` may add lines)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        p
        for g in shapely.get_parts(geom)
        for p in shapely.get_parts(g)
        if p.geom_type == "Polygon" and not p.is_empty
    ]
    return shapely.multipolygons(parts) if len(parts) > 1 else parts[0]


def dissolve(geoms: GeometryArray, labels: NDArray[Any], grid: float = 1.0) -> dict[str, Any]:
    """Union ``geoms[i]`` by ``labels[i]``; each result shares its members' outer borders."""
    positions = pd.Series(np.arange(len(labels))).groupby(np.asarray(labels)).groups
    return {
        str(label): polygonal(shapely.union_all(geoms[np.asarray(index)], grid_size=grid))
        for label, index in positions.items()
    }


@dataclass(frozen=True)
class TopologyReport:
    """How well a set of polygons tiles its area (all areas in km²)."""

    n: int
    sum_area_km2: float
    union_area_km2: float
    n_gaps: int
    gap_area_km2: float
    n_overlapping_pairs: int
    max_overlap_m2: float
    n_invalid: int

    def summary(self) -> str:
        return (
            f"{self.n} polygons, {self.n_invalid} invalid; area sum {self.sum_area_km2:.3f} km², "
            f"union {self.union_area_km2:.3f} km²; {self.n_gaps} gaps "
            f"({self.gap_area_km2:.6f} km²); {self.n_overlapping_pairs} overlapping pairs "
            f"(largest {self.max_overlap_m2:.3f} m²)"
        )


def topology_report(geoms: GeometryArray) -> TopologyReport:
    """Measure gaps (holes in the union) and overlaps between neighbouring polygons."""
    union = shapely.union_all(geoms)
    holes = [shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors]
    left, right = touching_candidates(geoms)
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    return TopologyReport(
        n=len(geoms),
        sum_area_km2=float(shapely.area(geoms).sum()) / 1e6,
        union_area_km2=float(union.area) / 1e6,
        n_gaps=len(holes),
        gap_area_km2=float(sum(h.area for h in holes)) / 1e6,
        n_overlapping_pairs=int((overlap > 0).sum()),
        max_overlap_m2=float(overlap.max()) if len(overlap) else 0.0,
        n_invalid=int((~shapely.is_valid(geoms)).sum()),
    )


def touching_candidates(geoms: GeometryArray) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Return index pairs ``i < j`` whose geometries intersect (STRtree, vectorised)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    return left[keep], right[keep]


def border_pairs(geoms: GeometryArray) -> pd.DataFrame:
    """Return every pair ``i < j`` of intersecting geometries with shared border and overlap.

    Columns ``i``, ``j``, ``border_km`` (length of the common boundary) and ``overlap_km2``
    (area of the common interior). Pairs meeting only at a point have ``border_km`` 0.
    """
    left, right = touching_candidates(geoms)
    border = shared_border_km(geoms[left], geoms[right])
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right])) / 1e6
    return pd.DataFrame({"i": left, "j": right, "border_km": border, "overlap_km2": overlap})


def adjacency(
    codes: pd.Series,
    geoms: GeometryArray,
    relations: pd.DataFrame | None = None,
    tolerance_m2: float = OVERLAP_TOLERANCE_M2,
) -> pd.DataFrame:
    """Return ``code_a, code_b, relation, border_km`` for every touching or related pair.

    ``relations`` lists the pairs known to share area (``code_a, code_b, relation``, both
    directions, e.g. a district ``within`` its county); they are kept with the length of
    their common boundary (0 when it has none). Any other pair touches when it shares a
    border of positive length. Two areas that overlap by more than ``tolerance_m2`` (rounding
    noise) without a known relation mean broken geometry or lookups: :class:`CheckFailed`.
    """
    known = relations if relations is not None else pd.DataFrame(columns=["code_a", "code_b"])
    pairs = border_pairs(geoms)
    a = codes.iloc[pairs["i"]].to_numpy()
    b = codes.iloc[pairs["j"]].to_numpy()
    # Every intersecting pair in both directions.
    both = pd.DataFrame(
        {
            "code_a": np.concatenate([a, b]),
            "code_b": np.concatenate([b, a]),
            "border_km": np.tile(pairs["border_km"].to_numpy(), 2),
            "overlap_km2": np.tile(pairs["overlap_km2"].to_numpy(), 2),
        }
    )
    pair_index = pd.MultiIndex.from_frame(both[["code_a", "code_b"]])
    related = pair_index.isin(pd.MultiIndex.from_frame(known[["code_a", "code_b"]]))
    stray = both[~related & (both["overlap_km2"] * 1e6 > tolerance_m2)]
    if len(stray):
        first = stray.iloc[0]
        raise CheckFailed(
            f"{len(stray) // 2} pairs of areas overlap although no lookup relates them, e.g. "
            f"{first['code_a']} and {first['code_b']} by {first['overlap_km2'] * 1e6:.1f} m²"
        )
    touches = both[~related & (both["border_km"] > 0)].assign(relation="touches")
    kept = known.merge(both, on=["code_a", "code_b"], how="left").fillna({"border_km": 0.0})
    columns = ["code_a", "code_b", "relation", "border_km"]
    out = pd.concat([touches[columns], kept[columns]])
    return out.sort_values(["code_a", "code_b"]).reset_index(drop=True)
