"""The map after a scenario: every body, its facts and polygon, adjacency and fire governance.

:func:`derive` starts from ``data/reference/`` and changes only what the scenario changes:

* **Bodies.** The councils that go to successors leave, and so do the counties all of whose
  districts go (a county goes all or nothing, :mod:`~recommender.scenario.define`). Each
  successor is a unitary council (kind ``council``, tier ``unitary``, no county) whose facts
  are derived from its councils, as the reference build derives its aggregate bodies:

  - polygon: the union of the councils' snapped polygons (EPSG:27700, 1 m grid), so its
    borders are exactly its neighbours' (the councils tile England);
  - population: the sum; area from the polygon; density the two;
  - deprivation: the population-weighted mean score, and its decile placed among the
    councils' decile cut points (the lowest score of each decile among the reference's
    lower-tier councils; they place every aggregate body of the reference in its built decile);
  - rural-urban class, region, and the fire, police, NHS and combined-authority areas it sits
    in: the one holding most of its people (its councils' own, weighted by population; for
    NHS boards the councils' majority board, so a council split between boards counts
    wholly for its majority one);
  - centroid of the polygon, in BNG metres and WGS84.

  Fire, police, NHS boards and combined authorities keep their areas, so their facts stand.
* **Adjacency.** Rows between bodies that remain are the reference's. A successor's relation
  to a fire, police, NHS or combined-authority area follows its councils' relations (the
  reference derives those from LSOAs): ``within`` when every council is within the area,
  ``contains`` when every council related to the area is in the successor, both (the same
  area) ``within`` (the lower tier within the higher, as the reference records it),
  ``overlaps`` when some of them are related, and otherwise ``touches`` when the polygons share
  a border of positive length. Border lengths are measured on the polygons, both directions
  are written, and the result is checked symmetric.
* **Fire governance.** A council that runs its fire service hands that role to its successor
  when the successor takes it whole (a unitary in a merger, or a county all of whose
  districts go to one successor). A county split between successors hands it to none: the
  fire authority is then not run by any council of the scenario, and :attr:`World.notes` says
  so. Commissioners' and mayors' governance is untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from recommender.core.config import Settings
from recommender.core.errors import CheckFailed, UnknownScenario
from recommender.core.names import and_list
from recommender.geo import geography
from recommender.reference import lookup as reference
from recommender.reference.bodies import imd_decile, largest_class, majority
from recommender.reference.build import INVERSE, check_symmetric
from recommender.reference.governance import Governor
from recommender.scenario.define import LOWER_TIERS, Definition

AREA_KINDS = ("fire", "police", "health", "combined")
AREA_COLUMNS = ("fire_code", "police_code", "icb_code", "cauth_code", "region_code")
RELATIONS = ("within", "contains", "overlaps")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (a cache key)
class World:
    """The scenario's map: what :func:`derive` returns (see the module docstring).

    Attributes
    ----------
    definition : Definition
    bodies : GeoDataFrame
        Every body on the scenario's map (index: code, sorted), the columns of
        ``bodies.csv`` and its polygon in EPSG:27700.
    adjacency : DataFrame
        ``code_a, code_b, relation, border_km`` for the scenario's map, both directions.
    governed : dict
        Ordered pairs of codes under one governor (as :func:`reference.governed_pairs`).
    replaced : dict
        Each body that leaves the map -> the successor(s) its area goes to (a county split
        between successors goes to several).
    notes : tuple of str
        What the scenario leaves undecided (a fire service whose running council is split).
    """

    definition: Definition
    bodies: gpd.GeoDataFrame
    adjacency: pd.DataFrame
    governed: Mapping[tuple[str, str], Governor]
    replaced: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...]
    settings: Settings  # its reference data, and the database its arrangements are read from

    @property
    def successors(self) -> list[str]:
        return [s.code for s in self.definition.successors]

    def sources(self, code: str) -> list[str]:
        """The bodies of today whose area (or part of it) goes to ``code``."""
        return sorted(c for c, to in self.replaced.items() if code in to)

    def name(self, code: str) -> str:
        """The display name of ``code``, on this map or (for one that leaves it) today."""
        if code in self.bodies.index:
            return str(self.bodies.at[code, "display_name"])
        return str(reference.load_bodies(self.settings).at[code, "display_name"])

    def facts(self, code: str) -> dict[str, Any]:
        """The facts of body ``code`` on this map, as :func:`reference.body` gives them, with
        ``successor`` (True for a new body) and ``formed_from`` (the bodies of today whose
        area it takes, ``part`` where it takes a part of one: a county split between
        successors)."""
        row = self.bodies.loc[code]
        facts = {c: _plain(row[c]) for c in self.bodies.columns if c != "geometry"}
        facts["successor"] = code in self.successors
        facts["formed_from"] = [
            {"code": c, "name": self.name(c), "part": len(self.replaced.get(c, ())) > 1}
            for c in self.sources(code)
        ]
        facts["governance"] = self.governance_facts(code)
        if code not in self.successors and code in reference.load_bodies(self.settings).index:
            # A body the scenario leaves as it is says what today's map says of its figures:
            # an NHS board's area of split councils gives no density, as its note says.
            today = reference.body(code, self.settings)
            for note in ("area_note", "population_note", "deprivation_note"):
                if note in today:
                    facts[note] = today[note]
            if "area_note" in today:
                facts["density"] = None
        return facts

    def governance_facts(self, code: str) -> list[dict[str, str]]:
        """What fire governance says about ``code`` on this map (see the module docstring)."""
        table = reference.fire_governance(self.settings)
        out = []
        for (a, fire), governor in sorted(self.governed.items()):
            if a == code and code in self.successors and governor.governance == "county_council":
                before = str(table.at[fire, "governed_by_name"])
                out.append(
                    _fact(
                        f"Runs the fire and rescue service ({self.name(fire)}), as "
                        f"{before} does today",
                        governor.source_url,
                        fire,
                    )
                )
        if code in self.successors:
            return out
        for fact in reference.governance_facts(code, self.settings):
            runner = str(table.at[fact["fire_code"], "governed_by_code"])
            if runner not in self.replaced:
                out.append(fact)
                continue
            heirs = self.replaced[runner]
            before = str(table.at[fact["fire_code"], "governed_by_name"])
            text = (
                f"Run by {self.name(heirs[0])}, which takes over from {before}"
                if len(heirs) == 1
                else f"Run today by {before}, which the scenario splits between "
                f"{and_list([self.name(h) for h in heirs])}: who runs it is left to decide"
            )
            out.append(_fact(text, fact["source_url"], fact["fire_code"]))
        return out

    def related(self, code: str, relations: tuple[str, ...]) -> pd.DataFrame:
        """Rows of the adjacency from ``code`` with the other body's name, kind and tier."""
        adj = self.adjacency
        rows = adj[(adj["code_a"] == code) & adj["relation"].isin(relations)]
        facts = self.bodies[["display_name", "kind", "tier"]]
        out = rows.rename(columns={"code_b": "code"}).join(facts, on="code")
        return out[["code", "display_name", "kind", "tier", "relation", "border_km"]]

    def neighbours(self, code: str, kind: str | None = None) -> pd.DataFrame:
        """As :func:`reference.neighbours`, on this map."""
        found = self.related(code, ("touches",))
        if kind is not None:
            found = found[found["kind"] == kind]
        found = found.sort_values(["border_km", "code"], ascending=[False, True])
        return found.reset_index(drop=True)

    def contents(self, code: str) -> pd.DataFrame:
        """As :func:`reference.contents`, on this map."""
        return reference.in_order(self.related(code, ("contains",)))

    def containers(self, code: str) -> pd.DataFrame:
        """As :func:`reference.containers`, on this map."""
        found = self.related(code, ("within", "overlaps"))
        rank = found["kind"].map({k: i for i, k in enumerate(reference.KINDS)})
        found = found.assign(rank=rank).sort_values(["rank", "relation", "code"])
        return found.drop(columns="rank").reset_index(drop=True)


def _fact(text: str, source_url: str, fire: str) -> dict[str, str]:
    return {
        "text": text,
        "source_url": source_url,
        "governance": "county_council",
        "fire_code": fire,
    }


def derive(definition: Definition, settings: Settings) -> World:
    """Return the map after ``definition`` (cached by definition and reference files)."""
    folder = settings.reference_dir.resolve()
    stamp = tuple((folder / n).stat().st_mtime_ns for n in reference.FILES if (folder / n).exists())
    return _derive(definition, settings, stamp)


@lru_cache(maxsize=8)
def _derive(definition: Definition, settings: Settings, stamp: tuple[int, ...]) -> World:
    """The world, kept with the caller's settings: its register is read from their database
    (a world made with other settings named the checkout's own SQLite file)."""
    del stamp  # part of the cache key only
    ref = reference.load_bodies(settings)
    missing = [c for s in definition.successors for c in s.councils if c not in ref.index]
    if missing:
        raise UnknownScenario(
            f"scenario {definition.name!r} names {', '.join(missing[:5])}, which the reference "
            "data no longer has (rebuilt since?): delete it and make it again",
            field="scenario",
        )
    councils = definition.successor_of()
    counties = {str(ref.at[c, "county_code"]) for c in councils} - {""}
    replaced: dict[str, tuple[str, ...]] = {c: (s,) for c, s in councils.items()}
    for county in sorted(counties):
        districts = ref.index[ref["county_code"] == county]
        replaced[county] = tuple(sorted({councils[str(d)] for d in districts}))
    new = _successor_rows(definition, ref)
    kept = ref[~ref.index.isin(list(replaced))]
    bodies = gpd.GeoDataFrame(pd.concat([kept, new]).sort_index(), crs=ref.crs)
    adjacency = _adjacency(definition, ref, bodies, replaced, reference.load_adjacency(settings))
    governed, notes = _governance(replaced, reference.governed_pairs(settings), ref, bodies)
    invalid = [c for c in new.index if not new.geometry[c].is_valid]
    if invalid:
        raise CheckFailed(f"scenario {definition.name!r}: invalid polygon for {invalid}")
    return World(definition, bodies, adjacency, governed, replaced, notes, settings)


def _successor_rows(definition: Definition, ref: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    lower = ref[ref["tier"].isin(LOWER_TIERS)]
    cuts = lower.groupby("imd_decile")["imd_score"].min().sort_index()
    regions = ref.drop_duplicates("region_code").set_index("region_code")["region"]
    to_wgs84 = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    rows, geoms = [], []
    for successor in definition.successors:
        parts = ref.loc[list(successor.councils)]
        people = parts["population"].astype(float)
        geom = geography.polygonal(shapely.union_all(parts.geometry.to_numpy(), grid_size=1.0))
        area = geom.area / 1e6
        score = float((parts["imd_score"] * people).sum() / people.sum())
        centre = geom.centroid
        x, y = round(centre.x), round(centre.y)
        lon, lat = to_wgs84.transform(x, y)
        weighted = parts.assign(group=successor.code, people=people)
        row: dict[str, Any] = {
            "code": successor.code,
            "name": successor.name,
            "display_name": successor.name,
            "kind": "council",
            "tier": "unitary",
            "county_code": "",
            "population": int(people.sum()),
            "area_km2": round(area, 3),
            "density": round(float(people.sum()) / area, 1),
            "imd_score": round(score, 3),
            "imd_decile": imd_decile(score, cuts),
            "rural_urban": largest_class(parts["rural_urban"], people),
            "x": x,
            "y": y,
            "lat": round(lat, 6),
            "lon": round(lon, 6),
        }
        for column in AREA_COLUMNS:
            row[column] = str(majority(weighted, "group", column, weight="people").iloc[0])
        row["region"] = str(regions[row["region_code"]])
        rows.append(row)
        geoms.append(geom)
    frame = pd.DataFrame(rows).set_index("code", drop=False)
    frame = frame[[c for c in ref.columns if c != "geometry"]]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=ref.crs)


def _adjacency(
    definition: Definition,
    ref: gpd.GeoDataFrame,
    bodies: gpd.GeoDataFrame,
    replaced: Mapping[str, tuple[str, ...]],
    before: pd.DataFrame,
) -> pd.DataFrame:
    gone = list(replaced)
    kept = before[~before["code_a"].isin(gone) & ~before["code_b"].isin(gone)]
    relations = _relations(definition, ref, before)
    codes = bodies.index.to_numpy(dtype=str)
    geoms = bodies.geometry.to_numpy()
    mine = np.asarray([bodies.index.get_loc(s.code) for s in definition.successors])
    left, right = shapely.STRtree(geoms).query(geoms[mine], predicate="intersects")
    left = mine[left]
    keep = left != right
    left, right = left[keep], right[keep]
    border = geography.shared_border_km(geoms[left], geoms[right])
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    found = pd.DataFrame(
        {"code_a": codes[left], "code_b": codes[right], "border_km": border, "overlap": overlap}
    )
    new = set(definition.successor_of().values())
    twice = found["code_b"].isin(new) & (found["code_a"] > found["code_b"])
    rows = relations.merge(found[~twice], on=["code_a", "code_b"], how="outer")
    stray = rows[rows["relation"].isna() & (rows["overlap"] > geography.OVERLAP_TOLERANCE_M2)]
    if len(stray):
        first = stray.iloc[0]
        raise CheckFailed(
            f"scenario {definition.name!r}: {first['code_a']} overlaps {first['code_b']} "
            f"by {first['overlap']:.0f} m² without a relation"
        )
    rows["relation"] = rows["relation"].fillna("touches")
    rows["border_km"] = rows["border_km"].fillna(0.0)
    rows = rows[(rows["relation"] != "touches") | (rows["border_km"] > 0)]
    rows = rows[["code_a", "code_b", "relation", "border_km"]]
    back = rows.rename(columns={"code_a": "code_b", "code_b": "code_a"})
    back = back.assign(relation=back["relation"].map(INVERSE))
    out = pd.concat([kept, rows, back[rows.columns]], ignore_index=True)
    out["border_km"] = out["border_km"].astype(float).round(3)
    out = out.sort_values(["code_a", "code_b"]).reset_index(drop=True)
    check_symmetric(out)
    return out


def _relations(definition: Definition, ref: gpd.GeoDataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """``code_a`` (a successor), ``code_b`` (an area), ``relation`` from the councils'."""
    lower = set(ref.index[ref["tier"].isin(LOWER_TIERS)])
    areas = set(ref.index[ref["kind"].isin(AREA_KINDS)])
    shared = before[
        before["code_a"].isin(lower)
        & before["code_b"].isin(areas)
        & before["relation"].isin(RELATIONS)
    ]
    by_area = shared.groupby("code_b")
    rows = []
    for successor in definition.successors:
        mine = set(successor.councils)
        related = shared[shared["code_a"].isin(mine)]
        for area, group in related.groupby("code_b"):
            every = by_area.get_group(area)
            inside = len(group) == len(mine) and (group["relation"] == "within").all()
            holds = set(every["code_a"]) <= mine
            relation = "within" if inside else "contains" if holds else "overlaps"
            rows.append((successor.code, str(area), relation))
    return pd.DataFrame(rows, columns=["code_a", "code_b", "relation"])


def _governance(
    replaced: Mapping[str, tuple[str, ...]],
    governed: Mapping[tuple[str, str], Governor],
    ref: gpd.GeoDataFrame,
    bodies: gpd.GeoDataFrame,
) -> tuple[dict[tuple[str, str], Governor], tuple[str, ...]]:
    out: dict[tuple[str, str], Governor] = {}
    notes: list[str] = []
    for (a, b), governor in governed.items():
        if a not in replaced and b not in replaced:
            out[(a, b)] = governor
            continue
        council = a if a in replaced else b
        heirs = replaced[council]
        if len(heirs) > 1:  # a county split between successors runs nothing any more
            if a == council:
                names = " and ".join(str(bodies.at[h, "display_name"]) for h in heirs)
                notes.append(
                    f"{ref.at[b, 'display_name']} is run by {governor.governor_name}, which the "
                    f"scenario splits between {names}: none of them is taken to run it (who "
                    "governs it is for the reorganisation to decide)"
                )
            continue
        heir = heirs[0]
        moved = replace(
            governor, governor_code=heir, governor_name=str(bodies.at[heir, "display_name"])
        )
        out[(heir, b) if a == council else (a, heir)] = moved
    return out, tuple(sorted(set(notes)))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
