"""Build ``data/reference/`` from the ONS, lookup and mySociety sources.

The build runs in a temporary sibling folder, checks everything it wrote, and only then swaps
it in, so a failed build leaves the existing reference data as it was. Steps:

1. council polygons: May 2024 LADs, reprojected to EPSG:27700 and snapped to a 1 m grid as
   one coverage (:func:`recommender.geo.geography.snap_coverage`), so borders stay shared;
2. the councils' facts (:mod:`recommender.reference.bodies`), their combined authorities from
   the 2024 boundaries (:mod:`recommender.reference.cauth`), and the aggregate bodies through
   the membership table, their polygons dissolved from the councils';
3. relations from LSOA sets (within / contains / overlaps) and touching pairs from geometry;
4. aliases (:mod:`recommender.reference.aliases`);
5. fire governance (:mod:`recommender.reference.governance`);
6. checks, written files read back and checked again, swap.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse

from recommender.core import atomic, kinds
from recommender.core.errors import CheckFailed
from recommender.geo import geography
from recommender.reference.aliases import build_aliases, former_fire_services, renamed
from recommender.reference.bodies import (
    Sources,
    aggregate_facts,
    check_counts,
    display_name,
    imd_decile,
    membership,
    read_sources,
)
from recommender.reference.cauth import GLA, cauth_aliases, combined_authorities
from recommender.reference.governance import governance_table
from recommender.reference.inputs import read_boundaries
from recommender.reference.write import fixed, swap_in, whole, write_csv, write_geojson

BODY_COLUMNS = [
    "code", "name", "display_name", "kind", "tier", "region_code", "region", "county_code",
    "fire_code", "police_code", "icb_code", "cauth_code", "population", "area_km2", "density",
    "imd_score", "imd_decile", "rural_urban", "x", "y", "lat", "lon",
]  # fmt: skip
BODY_FORMATS = {
    "population": whole,
    "area_km2": fixed(3),
    "density": fixed(1),
    "imd_score": fixed(3),
    "imd_decile": whole,
    "x": whole,
    "y": whole,
    "lat": fixed(6),
    "lon": fixed(6),
}
EXPECTED = {
    "lower-tier councils": 296,
    "counties": 21,
    "regions": 9,
    "fire and rescue authorities": 44,
    "police force areas": 39,
    "integrated care boards": 42,
    "combined authorities": 12,  # the ONS 2024 set (11) and the Greater London Authority
}
MAX_BOUNDARY_BYTES = 3_000_000
# Where two bodies cover the same area, the smaller kind sits "within" the larger one. A
# combined authority ranks highest: it is the strategic body over its councils, and where a
# mayor governs fire and police (Greater Manchester, York and North Yorkshire, London) they sit
# within the area of the authority that governs them.
TIER_RANK = {
    "district": 0, "unitary": 0, "metropolitan": 0, "london_borough": 0,
    "county": 1, "fire": 2, "police": 3, "health": 4, "combined_authority": 5,
}  # fmt: skip
INVERSE = {"within": "contains", "contains": "within", "overlaps": "overlaps", "touches": "touches"}


@dataclass
class BuildReport:
    """What a build produced, for the command to print."""

    target: Path
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    source_topology: str = ""
    rounded_topology: str = ""
    sizes: dict[str, int] = field(default_factory=dict)


def build_reference(source: Path, target: Path) -> BuildReport:
    """Build the reference tables from ``source`` into folder ``target``, atomically."""
    started = time.perf_counter()
    work = atomic.start_folder(target)  # also clears what killed builds left behind
    try:
        report = _build_into(Path(source), work)
        swap_in(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report.target = target
    report.seconds = time.perf_counter() - started
    return report


def _build_into(source: Path, out: Path) -> BuildReport:
    report = BuildReport(target=out)
    lad = read_boundaries(source)
    lad = lad[lad["LAD24CD"].str.startswith("E")].sort_values("LAD24CD")
    projected = np.asarray(geography.to_bng(lad).geometry.to_numpy(), dtype=object)
    report.source_topology = geography.topology_report(projected).summary()
    council_geoms = geography.snap_coverage(projected)
    rounded = geography.topology_report(council_geoms)
    report.rounded_topology = rounded.summary()
    if rounded.n_gaps or rounded.max_overlap_m2 > geography.OVERLAP_TOLERANCE_M2:
        raise CheckFailed(f"council polygons do not tile England after rounding: {rounded}")

    names = pd.Series(lad["LAD24NM"].to_numpy(), index=lad["LAD24CD"].to_numpy())
    sources = read_sources(source, names)
    combined = combined_authorities(source, sources.councils, council_geoms, sources.mysoc)
    sources.councils["cauth_code"] = combined.members
    sources.names.update(combined.names)
    sources.displays.update(combined.display)
    check_counts(sources.councils, EXPECTED)
    members = membership(sources)
    bodies, geoms = _bodies(sources, members, council_geoms)
    relations = lsoa_relations(bodies, sources, members)
    adjacency = geography.adjacency(bodies["code"], geoms, relations)
    aliases = build_aliases(bodies, sources, cauth_aliases(combined, sources.mysoc))
    _check(bodies, adjacency, sources)
    governance = governance_table(source, bodies, adjacency, aliases)
    aliases = former_fire_services(aliases, governance, bodies)

    write_csv(out / "bodies.csv", bodies[BODY_COLUMNS], BODY_FORMATS)
    write_geojson(out / "boundaries.geojson", bodies[["code", "name", "kind"]], geoms)
    write_csv(out / "adjacency.csv", adjacency, {"border_km": fixed(3)})
    write_csv(out / "aliases.csv", aliases, {})
    write_csv(out / "fire_governance.csv", governance, {})
    _check_written(out)
    report.counts = {f"kind={k}": int(n) for k, n in bodies["kind"].value_counts().items()}
    report.counts["aliases"] = len(aliases)
    report.counts["adjacency rows"] = len(adjacency)
    report.sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    return report


def _bodies(
    sources: Sources, members: pd.DataFrame, council_geoms: Any
) -> tuple[pd.DataFrame, Any]:
    councils = sources.councils.copy()
    councils["kind"] = "council"
    councils["display_name"] = [display_name(str(c), str(n)) for c, n in councils["name"].items()]
    councils["imd_decile"] = [imd_decile(s, sources.imd_cuts) for s in councils["imd_score"]]
    facts = aggregate_facts(sources, members)
    n_icb = int(facts.index.str.startswith("E54").sum())
    if n_icb != EXPECTED["integrated care boards"]:
        raise CheckFailed(f"found {n_icb} integrated care boards; expected 42")
    # A body its ONS name no longer names (the London Fire Commissioner) goes by its own.
    sources.displays.update(renamed(facts.index))
    facts["display_name"] = [
        sources.displays.get(str(c)) or display_name(str(c), str(n))
        for c, n in facts["name"].items()
    ]

    by_code = dict(zip(councils.index, council_geoms, strict=True))
    drawn = members[members["majority"]]
    parts = np.asarray([by_code[c] for c in drawn["council"]], dtype=object)
    dissolved = geography.dissolve(parts, drawn["body"].to_numpy())
    undrawn = sorted(set(facts.index) - set(dissolved))
    if undrawn:
        raise CheckFailed(f"bodies with no council mostly inside them, cannot draw: {undrawn}")
    by_code.update(dissolved)

    bodies = pd.concat([councils, facts]).rename_axis("code").reset_index()
    bodies = bodies.sort_values("code").reset_index(drop=True)
    geoms = np.asarray([by_code[c] for c in bodies["code"]], dtype=object)
    bodies["area_km2"] = shapely.area(geoms) / 1e6
    bodies["density"] = bodies["population"] / bodies["area_km2"]
    centroids = shapely.centroid(geoms)
    bodies["x"] = np.round(shapely.get_x(centroids))
    bodies["y"] = np.round(shapely.get_y(centroids))
    to_wgs84 = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    bodies["lon"], bodies["lat"] = to_wgs84.transform(bodies["x"], bodies["y"])
    return bodies.fillna({"county_code": ""}), geoms


def lsoa_relations(bodies: pd.DataFrame, sources: Sources, members: pd.DataFrame) -> pd.DataFrame:
    """Return ``code_a, code_b, relation`` for every pair of bodies sharing LSOAs.

    Each body is the set of LSOAs it covers (a council its own, a county or fire or police
    area its councils', an ICB its own). ``a`` is ``within`` ``b`` when all of ``a``'s LSOAs
    are in ``b``, ``contains`` the inverse, ``overlaps`` otherwise (a council split between
    ICBs). Two bodies with the same LSOAs: the lower tier sits within the higher one.
    """
    lsoa = sources.lsoa
    index = pd.Series(np.arange(len(bodies)), index=bodies["code"])
    whole_councils = members[~members["body"].str.startswith("E54")][["body", "council"]]
    own = pd.DataFrame({"body": sources.councils.index, "council": sources.councils.index})
    by_council = pd.concat([own, whole_councils]).merge(lsoa, on="council")
    pairs = pd.concat([by_council[["body", "lsoa21_code"]], lsoa.rename(columns={"icb": "body"})])[
        ["body", "lsoa21_code"]
    ]
    columns = pd.Series(np.arange(len(lsoa)), index=lsoa["lsoa21_code"])
    matrix = sparse.csr_matrix(
        (
            np.ones(len(pairs)),
            (index[pairs["body"]].to_numpy(), columns[pairs["lsoa21_code"]].to_numpy()),
        ),
        shape=(len(bodies), len(lsoa)),
    )
    shared = (matrix @ matrix.T).toarray()
    size = np.diag(shared)
    a, b = np.nonzero(shared)
    keep = a != b
    a, b = a[keep], b[keep]
    common = shared[a, b]
    rank = bodies["tier"].map(TIER_RANK).to_numpy()
    a_in_b = common == size[a]
    b_in_a = common == size[b]
    same = a_in_b & b_in_a
    relation = np.where(a_in_b, "within", np.where(b_in_a, "contains", "overlaps"))
    relation = np.where(same, np.where(rank[a] <= rank[b], "within", "contains"), relation)
    codes = bodies["code"].to_numpy()
    return pd.DataFrame({"code_a": codes[a], "code_b": codes[b], "relation": relation})


def _check(bodies: pd.DataFrame, adjacency: pd.DataFrame, sources: Sources) -> None:
    lower = bodies[bodies["tier"].isin(kinds.LOWER_TIERS)]
    total = int(lower["population"].sum())
    if total != sources.england_population:
        raise CheckFailed(
            f"lower-tier population sums to {total:,}; the England total in the source is "
            f"{sources.england_population:,}"
        )
    prefixes = bodies["code"].str[:3].value_counts()
    for prefix, what in (("E23", "police force areas"), ("E54", "integrated care boards")):
        if prefixes.get(prefix, 0) != EXPECTED[what]:
            raise CheckFailed(f"found {prefixes.get(prefix, 0)} {what}; expected {EXPECTED[what]}")
    _check_combined(bodies, lower)
    check_symmetric(adjacency)


def _check_combined(bodies: pd.DataFrame, lower: pd.DataFrame) -> None:
    """Every combined authority is a body with councils, whose people are counted once."""
    combined = bodies[bodies["tier"] == "combined_authority"]
    expected = EXPECTED["combined authorities"]
    if len(combined) != expected or GLA not in set(combined["code"]):
        raise CheckFailed(
            f"found {len(combined)} combined authorities ({', '.join(combined['code'])}); "
            f"expected {expected}, the GLA ({GLA}) among them"
        )
    people = lower.groupby("cauth_code")["population"].sum()
    by_code = combined.set_index("code")["population"]
    if sorted(people.drop("", errors="ignore").items()) != sorted(by_code.items()):
        raise CheckFailed(
            "combined authorities' populations are not the sums of their councils' "
            f"({people.drop('', errors='ignore').sum():,} in councils, {by_code.sum():,} in "
            "the authorities)"
        )


def check_symmetric(adjacency: pd.DataFrame) -> None:
    """Raise :class:`CheckFailed` unless every pair appears both ways with inverse relations."""
    there = adjacency.set_index(["code_a", "code_b"])
    back = adjacency.assign(relation=adjacency["relation"].map(INVERSE))
    back = back.rename(columns={"code_a": "code_b", "code_b": "code_a"})
    back = back.set_index(["code_a", "code_b"]).reindex(there.index)
    wrong = (back["relation"] != there["relation"]) | (
        (back["border_km"] - there["border_km"]).abs() > 1e-9
    )
    if wrong.any() or there.index.duplicated().any():
        pair = there.index[wrong.to_numpy()][0] if wrong.any() else "duplicates"
        raise CheckFailed(f"adjacency is not symmetric, e.g. {pair}")


def _check_written(out: Path) -> None:
    path = out / "boundaries.geojson"
    size = path.stat().st_size
    if size > MAX_BOUNDARY_BYTES:
        raise CheckFailed(f"{path}: {size:,} bytes; at most {MAX_BOUNDARY_BYTES:,} allowed")
    written = gpd.read_file(path, engine="pyogrio")
    geography.check_crs(written, what=str(path))
    invalid = written.loc[~written.is_valid, "code"].tolist()
    if invalid:
        raise CheckFailed(f"{path}: invalid geometries for {', '.join(invalid[:5])}")
    bodies = pd.read_csv(out / "bodies.csv", dtype={"code": str})
    if bodies["code"].tolist() != written["code"].tolist():
        raise CheckFailed(f"{path}: features do not match the rows of bodies.csv")
