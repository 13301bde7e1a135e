"""Pair and group features: what an officer's choice of partner and an arrangement's savings
depend on.

**Pair features** describe a focal body and a candidate partner, for every kind of body. They
are geography and the two bodies only, never the partnership network, so they mean the same
in training, in evaluation and when serving (the network enters through
:mod:`recommender.model.scoring`'s continuation term instead, from the observed register only):

==================  ===============================================================================
feature             meaning
==================  ===============================================================================
log_dist            log(1 + km between centroids)
log_border          log(1 + km of shared border): 0 when the areas do not touch
nested              one area lies within the other or they overlap (district and county, council
                    and its fire, police or NHS area)
coterminous         nested and (almost) the same area, e.g. a fire authority and the police force
                    of one county
same_county …       both in the same county, region, combined authority, fire, police or NHS area
same_group          same tier group (``patterns.TIER_GROUPS``: district, upper-tier council,
                    fire, police, NHS, combined authority)
same_kind           same kind of body (council, fire, police, NHS, combined authority)
log_pop_ratio       |log population of one − log population of the other|
kind_fire-police    a fire authority and a police force area
nested_council-…    ``nested`` for a council and an NHS board, police force or fire authority:
                    *its* own
==================  ===============================================================================

All of them are dense ``n × n`` matrices computed once per reference (:class:`PairTable`), so
a feature row is an index into them.

**Group features** describe an arrangement of two or more bodies for the savings model: the
population merged in (everyone but the largest member: for a pair, the smaller partner), the
number of members and the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.geo.pairs import RUNS, PairMatrices
from recommender.model.patterns import TIER_GROUPS, pair_kind

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

AREAS = {
    "same_county": "county_code",
    "same_region": "region_code",
    "same_cauth": "cauth_code",
    "same_fire": "fire_code",
    "same_police": "police_code",
    "same_icb": "icb_code",
}
# Sharing a border is log_border > 0: one feature, so that a longer border (and touching at
# all) can only raise a partner's chance, whatever the fit.
GEOGRAPHY = ("log_dist", "log_border", "nested", "coterminous", *AREAS)
BODIES = ("same_group", "same_kind", "log_pop_ratio")
# The pairs of kinds whose real partnerships follow their own rule: a fire authority and the
# police force of its area; a council and its own NHS board, police force or fire authority.
KIND_TERMS = (
    "kind_fire-police",
    "nested_council-health",
    "nested_council-police",
    "nested_council-fire",
)
PAIR_FEATURES = GEOGRAPHY + BODIES + KIND_TERMS
# Bodies whose areas differ by less than this in log area count as covering the same area.
COTERMINOUS_LOG_AREA = 0.05

GROUP_NUMERIC = ("log_merged_pop", "n_members")
GROUP_FEATURES = (*GROUP_NUMERIC, "service")


def pair_kinds(kind: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """:func:`recommender.model.patterns.pair_kind` of every pair of bodies, as an ``(n, n)`` array
    (vectorised)."""
    values = sorted(set(str(k) for k in kind))
    rank = np.array([values.index(str(k)) for k in kind], dtype=np.intp)
    names = np.array([[pair_kind(a, b) for b in values] for a in values])
    return np.asarray(names[rank[:, None], rank[None, :]])


@dataclass(frozen=True)
class BodyArrays:
    """Per-body arrays in matrix order, and which bodies deliver which service."""

    codes: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    tier: npt.NDArray[np.str_]
    group: npt.NDArray[np.str_]
    kind: npt.NDArray[np.str_]
    population: FloatArray
    log_pop: FloatArray
    log_density: FloatArray
    log_area: FloatArray
    imd: FloatArray
    similarity: FloatArray  # standardised (log pop, log density, imd): CIPFA-style distance
    eligible: npt.NDArray[np.bool_]  # (n_services, n): the body's tier delivers the service

    @classmethod
    def build(
        cls, bodies: pd.DataFrame, services: pd.DataFrame, codes: npt.NDArray[np.str_]
    ) -> BodyArrays:
        b = bodies.reindex(codes)
        population = b["population"].to_numpy(dtype=float)
        log_density = np.log(b["density"].to_numpy(dtype=float))
        imd = b["imd_score"].to_numpy(dtype=float)
        stack = np.column_stack([np.log(population), log_density, imd])
        similarity = (stack - stack.mean(axis=0)) / stack.std(axis=0)
        tier = b["tier"].to_numpy(dtype=str)
        eligible = np.stack(
            [np.isin(tier, str(services.loc[s, "delivered_by"]).split(";")) for s in services.index]
        )
        names = b["display_name"] if "display_name" in b else b["name"]
        return cls(
            codes=codes,
            names=names.to_numpy(dtype=str),
            tier=tier,
            group=np.array([TIER_GROUPS.get(t, t) for t in tier], dtype=str),
            kind=b["kind"].to_numpy(dtype=str),
            population=population,
            log_pop=np.log(population),
            log_density=log_density,
            log_area=np.log(b["area_km2"].to_numpy(dtype=float)),
            imd=imd,
            similarity=similarity,
            eligible=eligible,
        )

    def taxonomy_drift(self, services: Sequence[str], taxonomy: pd.DataFrame) -> list[str]:
        """Where ``taxonomy`` (a service table such as today's ``data/services.csv``, indexed
        by id) counts other tiers among these bodies as delivering a service than these arrays
        were built under (``services``: their ids, in order), in words ("tier 'health' now
        delivers 'management_chief_exec'"); empty when the two agree."""
        tiers = set(self.tier.tolist())
        out: list[str] = []
        for s, service in enumerate(services):
            if service not in taxonomy.index:
                out.append(f"{service!r} is no longer a service")
                continue
            then = set(self.tier[self.eligible[s]].tolist())
            now = tiers & set(str(taxonomy.at[service, "delivered_by"]).split(";"))
            out += [f"tier {t!r} now delivers {service!r}" for t in sorted(now - then)]
            out += [f"tier {t!r} no longer delivers {service!r}" for t in sorted(then - now)]
        known = set(services)
        out += [f"{str(s)!r} is a new service" for s in taxonomy.index if s not in known]
        return out


class PairTable:
    """Every pair feature as an ``(n, n)`` float32 matrix; rows are looked up by index."""

    def __init__(self, pairs: PairMatrices, bodies: BodyArrays) -> None:
        self.pairs = pairs
        self.bodies = bodies
        n = pairs.n
        m: dict[str, npt.NDArray[Any]] = {}
        area_gap = np.abs(bodies.log_area[:, None] - bodies.log_area[None, :])
        m["log_dist"] = np.log1p(pairs.dist_km)
        m["log_border"] = np.log1p(pairs.border_km)
        m["nested"] = pairs.nested
        m["coterminous"] = pairs.nested & (area_gap < COTERMINOUS_LOG_AREA)
        for name, column in AREAS.items():
            same = pairs.same.get(column)
            m[name] = same if same is not None else np.zeros((n, n), dtype=bool)
        m["same_group"] = bodies.group[:, None] == bodies.group[None, :]
        m["same_kind"] = bodies.kind[:, None] == bodies.kind[None, :]
        m["log_pop_ratio"] = np.abs(bodies.log_pop[:, None] - bodies.log_pop[None, :])
        kinds = pair_kinds(bodies.kind)
        m["kind_fire-police"] = kinds == "fire-police"
        for other in ("health", "police", "fire"):
            m[f"nested_council-{other}"] = (kinds == f"council-{other}") & pairs.nested
        self.kinds = kinds
        self.stack = np.stack([np.asarray(m[f], dtype=np.float32) for f in PAIR_FEATURES], axis=-1)
        # A council and the fire service it runs are one body: never candidates for each other.
        self.runs = pairs.governance() == RUNS

    def rows(self, focal: IntArray, cand: IntArray) -> npt.NDArray[np.float32]:
        """Feature rows ``(len(focal), len(PAIR_FEATURES))`` for the pairs given."""
        return self.stack[focal, cand]

    def frame(self, focal: IntArray, cand: IntArray) -> pd.DataFrame:
        """The same rows as a frame with :data:`PAIR_FEATURES` columns."""
        return pd.DataFrame(self.rows(focal, cand), columns=list(PAIR_FEATURES))

    def candidates(self, focal: int, service: int) -> npt.NDArray[np.bool_]:
        """Mask of the bodies that could partner ``focal`` for ``service``: they deliver it,
        are not the focal body and are not the fire service it runs (or the council running
        it)."""
        ok = self.bodies.eligible[service].copy()
        ok[focal] = False
        ok &= ~self.runs[focal]
        return np.asarray(ok, dtype=bool)


def merged_population(groups: Sequence[IntArray], population: FloatArray) -> FloatArray:
    """The population merged into each group's largest member: everyone but the largest (for
    a pair, the smaller partner). Economies of scale grow with it."""
    out = np.empty(len(groups))
    for i, g in enumerate(groups):
        pop = population[g]
        out[i] = pop.sum() - pop.max()
    return out


def group_frame(
    groups: Sequence[IntArray], service: IntArray, bodies: BodyArrays, services: Sequence[str]
) -> pd.DataFrame:
    """Group features (:data:`GROUP_FEATURES`) of arrangements given as member positions."""
    merged = merged_population(groups, bodies.population)
    frame = pd.DataFrame(
        {
            "log_merged_pop": np.log(np.maximum(merged, 1.0)),
            "n_members": np.array([len(g) for g in groups], dtype=float),
        }
    )
    frame["service"] = pd.Categorical.from_codes(
        np.asarray(service, dtype=int), dtype=pd.CategoricalDtype(list(services))
    )
    return frame


def pair_savings_frame(
    focal: IntArray, cand: IntArray, service: IntArray, bodies: BodyArrays, services: Sequence[str]
) -> pd.DataFrame:
    """Group features of two-body groups, vectorised (equal to :func:`group_frame`)."""
    merged = np.minimum(bodies.population[focal], bodies.population[cand])
    frame = pd.DataFrame(
        {"log_merged_pop": np.log(np.maximum(merged, 1.0)), "n_members": np.full(len(focal), 2.0)}
    )
    frame["service"] = pd.Categorical.from_codes(
        np.asarray(service, dtype=int), dtype=pd.CategoricalDtype(list(services))
    )
    return frame
