"""Partner patterns: the definitions every comparison of who partners with whom shares.

The simulator's calibration (:mod:`recommender.simulation.patterns_compare`), the model and its
evaluation
all speak of the same tier groups, kinds of pair and pairs of an arrangement; they are defined
here, once:

* **tier group**: ``district``; ``upper`` (county, unitary, metropolitan and London borough
  councils: the councils with upper-tier functions); ``fire``; ``police``; ``health``;
  ``combined`` (combined authorities and the GLA, tier ``combined_authority``);
* **kind** of body: the ``kind`` column of ``bodies.csv``
(:data:`recommender.reference.lookup.KINDS`);
  the **pair kind** of two bodies is their two kinds, sorted, joined with ``-``
  (``council-council``, ``fire-police``, ``council-health``);
* a **pair** is two distinct reference bodies in one arrangement: external members (no body
  code) are ignored, and an arrangement with fewer than two reference bodies has no pair.

:class:`PairFacts` holds what each pair of bodies has in common: adjacency, distance, the same
county (two districts of one county, or a district and its county), the same fire, police,
NHS (ICB) or combined-authority area. Councils carry their areas in ``bodies.csv``; a fire,
police, NHS or combined authority body is placed in the area of each other kind that holds
most of its councils' people (a fire authority in its police area, so that fire and police of
one area count as the same police area), and in its own area for its own kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.core import kinds
from recommender.geo.pairs import PairMatrices
from recommender.reference.lookup import KINDS

BoolMatrix = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

TIER_GROUPS: dict[str, str] = {
    "district": "district",
    "county": "upper",
    "unitary": "upper",
    "metropolitan": "upper",
    "london_borough": "upper",
    "fire": "fire",
    "police": "police",
    "health": "health",
    "combined_authority": "combined",
}
GROUPS = ("district", "upper", "fire", "police", "health", "combined")
# The area columns of bodies.csv, and the tier whose bodies *are* that area.
AREAS: dict[str, tuple[str, str]] = {
    "county": ("county_code", "county"),
    "fire": ("fire_code", "fire"),
    "police": ("police_code", "police"),
    "icb": ("icb_code", "health"),
    "cauth": ("cauth_code", "combined_authority"),
}
LOWER_TIERS = kinds.LOWER_TIERS


def pair_kind(kind_a: str, kind_b: str) -> str:
    """Return the pair kind of two bodies: their kinds, sorted, joined with ``-``."""
    return "-".join(sorted((kind_a, kind_b)))


def _pair(pair: str) -> tuple[str, str]:
    """A pair kind's two kinds, in the order sentences name them (councils first)."""
    a, b = pair.split("-")
    return (a, b) if KINDS.index(a) <= KINDS.index(b) else (b, a)


def pair_order(pair: str) -> tuple[int, int]:
    """Where a pair kind comes in a list said to people: councils' pairs first, then fire,
    police, NHS and combined authorities' (:data:`KINDS`' order), not the ids' alphabet
    (which put "two combined authorities" first).

    >>> sorted(["health-health", "combined-council", "council-health"], key=pair_order)
    ['council-health', 'combined-council', 'health-health']
    """
    a, b = _pair(pair)
    return KINDS.index(a), KINDS.index(b)


def pair_words(pair: str) -> str:
    """A pair kind in a sentence, as an officer says it, not its id.

    >>> pair_words("council-health")
    'a council and an NHS body'
    >>> pair_words("fire-fire")
    'two fire and rescue authorities'
    """
    a, b = _pair(pair)
    return kinds.KIND_TWO[a] if a == b else f"{kinds.KIND_ONE[a]} and {kinds.KIND_ONE[b]}"


def pair_label(pair: str) -> str:
    """A pair kind as a table's row names it.

    >>> pair_label("combined-council")
    'council–combined authority or GLA'
    >>> pair_label("all")
    'all pairs'
    """
    if pair == "all":
        return "all pairs"
    return "–".join(kinds.KIND_SHORT[k] for k in _pair(pair))


PAIR_KINDS: tuple[str, ...] = tuple(
    sorted(
        {pair_kind(a, b) for a in KINDS for b in KINDS}, key=lambda k: (k != "council-council", k)
    )
)


def tier_groups(tiers: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Return the tier group of each tier (KeyError on an unknown tier)."""
    return np.asarray([TIER_GROUPS[str(t)] for t in np.asarray(tiers).ravel()], dtype=str)


def area_codes(bodies: pd.DataFrame) -> pd.DataFrame:
    """Return each body's county, fire, police, ICB and combined-authority area codes.

    Councils keep theirs (a county is its own county); a body that is an area (a fire
    authority, police force area, ICB or combined authority) is its own area of that kind and
    lies, for the other kinds, in the area holding most of its councils' population. Empty
    where a body is in no such area.
    """
    tier = bodies["tier"].astype(str)
    population = bodies["population"].astype(float)
    lower = bodies[tier.isin(LOWER_TIERS)]
    out = pd.DataFrame(index=bodies.index)
    for name, (column, own_tier) in AREAS.items():
        codes = bodies[column].astype("string").fillna("") if column in bodies else ""
        out[name] = pd.Series(codes, index=bodies.index, dtype="string")
        out.loc[tier == own_tier, name] = bodies.index[tier == own_tier]
    for name, (column, own_tier) in AREAS.items():
        if name == "county" or column not in bodies:
            continue
        mine = lower[lower[column].astype("string").fillna("") != ""]
        for other, (other_column, _) in AREAS.items():
            if other in ("county", name) or other_column not in bodies:
                continue
            people = (
                population[mine.index]
                .groupby([mine[column].astype(str), mine[other_column].fillna("").astype(str)])
                .sum()
                .reset_index(name="people")
                .sort_values(["people", other_column], ascending=[False, True], kind="stable")
                .drop_duplicates(column)
            )
            where = dict(zip(people[column], people[other_column], strict=True))
            areas = bodies.index[tier == own_tier]
            out.loc[areas, other] = [where.get(code, "") for code in areas]
    return out.fillna("")


@dataclass(frozen=True)
class PairFacts:
    """What every pair of bodies has in common, in the order of a :class:`PairMatrices`.

    Attributes
    ----------
    pairs : PairMatrices
        Distance, adjacency and border of every pair.
    kind, group : ndarray of str
        Each body's kind and tier group.
    log_pop : ndarray of float
        Each body's log population.
    same : dict of str to ndarray of shape (n, n)
        For ``county``, ``fire``, ``police``, ``icb`` and ``cauth``: both bodies lie in the
        same area (:func:`area_codes`).
    """

    pairs: PairMatrices
    kind: npt.NDArray[np.str_]
    group: npt.NDArray[np.str_]
    tier: npt.NDArray[np.str_]
    log_pop: npt.NDArray[np.float64]
    same: dict[str, BoolMatrix]

    @classmethod
    def build(cls, bodies: pd.DataFrame, pairs: PairMatrices) -> PairFacts:
        """Build the facts for ``bodies`` (indexed by code) in the order of ``pairs``."""
        bodies = bodies.reindex(pairs.codes)
        areas = area_codes(bodies)
        same = {}
        for name in AREAS:
            code = areas[name].to_numpy(dtype=str)
            same[name] = (code[:, None] == code[None, :]) & (code[:, None] != "")
        tier = bodies["tier"].to_numpy(dtype=str)
        return cls(
            pairs=pairs,
            kind=bodies["kind"].to_numpy(dtype=str),
            group=tier_groups(tier),
            tier=tier,
            log_pop=np.log(bodies["population"].to_numpy(dtype=float)),
            same=same,
        )

    def pair_kinds(self, a: IntArray, b: IntArray) -> npt.NDArray[np.str_]:
        """Return the pair kind of each pair ``(a[k], b[k])`` of positions."""
        return np.asarray(
            [pair_kind(x, y) for x, y in zip(self.kind[a], self.kind[b], strict=True)], dtype=str
        )


def register_pairs(
    arrangements: pd.DataFrame, members: pd.DataFrame, pairs: PairMatrices
) -> pd.DataFrame:
    """Return every pair of every arrangement: ``arrangement`` (its id), ``service``, ``a``
    and ``b`` (matrix positions, ``a < b``) and ``size`` (its reference bodies).

    Members without a body code, or with one the matrices do not know, are ignored; an
    arrangement with fewer than two distinct reference bodies has no pair. Rows are sorted by
    arrangement id, then positions.
    """
    known = members[members["body_code"].notna() & members["body_code"].isin(pairs.index)]
    known = known[known["arrangement_id"].isin(arrangements["id"])]
    bodies = (
        known.assign(pos=pairs.positions(known["body_code"]))[["arrangement_id", "pos"]]
        .drop_duplicates()
        .sort_values(["arrangement_id", "pos"])
    )
    size = bodies.groupby("arrangement_id")["pos"].transform("size")
    bodies = bodies[size >= 2].assign(size=size[size >= 2])
    both = bodies.merge(bodies[["arrangement_id", "pos"]], on="arrangement_id", suffixes=("", "_b"))
    both = both[both["pos"] < both["pos_b"]]
    service = arrangements.set_index("id")["service"]
    out = pd.DataFrame(
        {
            "arrangement": both["arrangement_id"].to_numpy(dtype=str),
            "service": service.reindex(both["arrangement_id"]).to_numpy(dtype=str),
            "a": both["pos"].to_numpy(dtype=np.intp),
            "b": both["pos_b"].to_numpy(dtype=np.intp),
            "size": both["size"].to_numpy(dtype=np.intp),
        }
    )
    return out.sort_values(["arrangement", "a", "b"], kind="stable").reset_index(drop=True)


def merged_population(members: pd.DataFrame, population: pd.Series) -> pd.Series:
    """Return the population merged in by each arrangement with two or more reference bodies:
    its distinct reference members' total population less its largest member's.

    Economies of scale come from the residents added to the largest member's service: merging
    a body of 2,000 people into one of 500,000 merges 2,000 residents. ``population`` is by body
    code; the result is indexed by arrangement id.
    """
    known = members[members["body_code"].isin(population.index)]
    known = known.drop_duplicates(["arrangement_id", "body_code"])
    people = population.reindex(known["body_code"]).to_numpy(dtype=float)
    grouped = pd.Series(people, index=known["arrangement_id"].to_numpy()).groupby(level=0)
    merged = grouped.sum() - grouped.max()
    return merged[grouped.size() >= 2].rename("merged_population")
