"""Candidates and features: every (focal body, candidate partner, service) and every group.

Two feature tables, both built vectorised from dense matrices:

* **pair features** describe a focal body, a candidate partner and a service at a moment
  (:class:`~recommender.network.Snapshot`): geography (distance, border, same county, region,
  combined authority, fire, police and NHS area, nesting), the two bodies (tiers,
  populations and their ratio, density, deprivation, rural-urban class, a CIPFA-style
  similarity distance), the network (arrangements shared before, partners in common,
  Adamic-Adar, each body's arrangements and partners, whether either already shares this
  service, and whether the candidate already shares it with one of the focal body's
  partners) and the service. They feed the partner-choice model.
* **group features** describe a whole arrangement (two to fourteen bodies and a service):
  size, population, spread, borders, tiers, other public bodies, earlier partnerships,
  deprivation and density. They feed the savings model, for real arrangements and for any
  pair or group the recommender proposes.

Training rows pair every member of an arrangement, as focal body, with its partners
(positives) and with sampled eligible non-partners (negatives), using the snapshot from
before the arrangement started, so nothing about it leaks into its own features.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.network import RegisterArrays, Snapshot, SnapshotCache
from recommender.pairs import SINGLE_TIER, PairMatrices
from recommender.reference import OTHER_KINDS

IntArray = npt.NDArray[np.intp]
NEAR = 40  # half of the sampled negatives come from the focal body's NEAR nearest
TIERS = (
    "district",
    "county",
    "unitary",
    "metropolitan",
    "london_borough",
    "fire",
    "police",
    "health",
    "combined_authority",
)
AREAS = {
    "same_county": "county_code",
    "same_region": "region_code",
    "same_cauth": "cauth_code",
    "same_fire": "fire_code",
    "same_police": "police_code",
    "same_icb": "icb_code",
}
PAIR_GEOGRAPHY = ("dist_km", "touches", "border_km", "nested", *AREAS)
PAIR_BODIES = (
    "focal_log_pop",
    "candidate_log_pop",
    "log_pop_ratio",
    "focal_log_density",
    "candidate_log_density",
    "log_density_gap",
    "log_area_gap",
    "focal_imd",
    "candidate_imd",
    "imd_gap",
    "same_rural_urban",
    "same_tier",
    "both_single_tier",
    "similarity_gap",
)
PAIR_NETWORK = (
    "prior_arrangements",
    "common_partners",
    "adamic_adar",
    "focal_arrangements",
    "candidate_arrangements",
    "focal_partners",
    "candidate_partners",
    "focal_shares_service",
    "candidate_shares_service",
    "candidate_shares_with_focal_partners",
)
PAIR_NUMERIC = PAIR_GEOGRAPHY + PAIR_BODIES + PAIR_NETWORK
PAIR_CATEGORICAL = ("service", "focal_tier", "candidate_tier")
PAIR_FEATURES = PAIR_NUMERIC + PAIR_CATEGORICAL

GROUP_NUMERIC = (
    "n_members",
    "log_total_pop",
    "mean_log_pop",
    "log_pop_ratio",
    "mean_dist_km",
    "max_dist_km",
    "share_pairs_touching",
    "total_border_km",
    "share_pairs_nested",
    "all_same_county",
    "all_same_region",
    "all_same_tier",
    "share_district",
    "share_county",
    "share_other_body",
    "mean_prior",
    "max_prior",
    "mean_imd",
    "mean_log_density",
)
GROUP_CATEGORICAL = ("service",)
GROUP_FEATURES = GROUP_NUMERIC + GROUP_CATEGORICAL


@dataclass(frozen=True)
class BodyArrays:
    """Per-body arrays in matrix order, and which bodies deliver which service."""

    codes: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    tier: npt.NDArray[np.str_]
    kind: npt.NDArray[np.str_]
    log_pop: npt.NDArray[np.float64]
    log_density: npt.NDArray[np.float64]
    log_area: npt.NDArray[np.float64]
    imd: npt.NDArray[np.float64]
    rural_urban: npt.NDArray[np.str_]
    similarity: npt.NDArray[np.float64]  # standardised (log pop, log density, imd)
    eligible: npt.NDArray[np.bool_]  # (n_services, n)

    @classmethod
    def build(
        cls, bodies: pd.DataFrame, services: pd.DataFrame, codes: npt.NDArray[np.str_]
    ) -> BodyArrays:
        b = bodies.reindex(codes)
        log_pop = np.log(b["population"].to_numpy(dtype=float))
        log_density = np.log(b["density"].to_numpy(dtype=float))
        log_area = np.log(b["area_km2"].to_numpy(dtype=float))
        imd = b["imd_score"].to_numpy(dtype=float)
        stack = np.column_stack([log_pop, log_density, imd])
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
            kind=b["kind"].to_numpy(dtype=str),
            log_pop=log_pop,
            log_density=log_density,
            imd=imd,
            rural_urban=b["rural_urban"].astype("string").fillna("").to_numpy(dtype=str),
            log_area=log_area,
            similarity=similarity,
            eligible=eligible,
        )


class FeatureBuilder:
    """Builds pair and group feature frames for one reference geography and taxonomy."""

    def __init__(self, pairs: PairMatrices, bodies: BodyArrays, services: Sequence[str]) -> None:
        self.pairs = pairs
        self.bodies = bodies
        self.services = tuple(services)
        self._service_cat = pd.CategoricalDtype(list(self.services))
        self._tier_cat = pd.CategoricalDtype(list(TIERS))
        self._single = np.isin(bodies.tier, SINGLE_TIER)
        # Distance to the NEAR-th nearest body that delivers each service, per body: negatives
        # are drawn half from within it (see choice_rows), which the log-q correction undoes.
        dist = pairs.dist_km.copy()
        np.fill_diagonal(dist, np.inf)
        self.near_km = np.empty((len(self.services), pairs.n))
        self.pool_size = bodies.eligible.sum(axis=1) - 1
        for s in range(len(self.services)):
            d = dist[:, bodies.eligible[s]]
            k = min(NEAR, d.shape[1]) - 1
            self.near_km[s] = np.partition(d, k, axis=1)[:, k] if k >= 0 else np.inf

    def is_near(self, focal: IntArray, cand: IntArray, service: IntArray) -> npt.NDArray[np.bool_]:
        """Whether each candidate is among the focal body's NEAR nearest for the service."""
        return np.asarray(self.pairs.dist_km[focal, cand] <= self.near_km[service, focal])

    def log_q(self, focal: IntArray, cand: IntArray, service: IntArray) -> npt.NDArray[np.float64]:
        """Log of how much likelier a candidate was to be drawn as a negative than uniformly.

        Adding it to the choice classifier's log-odds gives scores proportional to the log
        of the choice probability (the "log-q correction" of sampled softmax).
        """
        ratio = self.pool_size[service] / NEAR
        return np.where(self.is_near(focal, cand, service), np.log1p(ratio), 0.0)

    # --- pairs --------------------------------------------------------------------------------
    def pair_frame(
        self, focal: IntArray, cand: IntArray, service: IntArray, snap: Snapshot
    ) -> pd.DataFrame:
        """Pair features for rows (focal[i], cand[i], service[i]) as of ``snap``."""
        p, b = self.pairs, self.bodies
        f, c, s = focal, cand, service
        cols: dict[str, object] = {
            "dist_km": p.dist_km[f, c],
            "touches": p.touches[f, c],
            "border_km": p.border_km[f, c],
            "nested": p.nested[f, c],
        }
        for name, column in AREAS.items():
            same = p.same.get(column)
            cols[name] = same[f, c] if same is not None else np.zeros(len(f), dtype=bool)
        cols.update(
            focal_log_pop=b.log_pop[f],
            candidate_log_pop=b.log_pop[c],
            log_pop_ratio=np.abs(b.log_pop[f] - b.log_pop[c]),
            focal_log_density=b.log_density[f],
            candidate_log_density=b.log_density[c],
            log_density_gap=np.abs(b.log_density[f] - b.log_density[c]),
            log_area_gap=np.abs(b.log_area[f] - b.log_area[c]),
            focal_imd=b.imd[f],
            candidate_imd=b.imd[c],
            imd_gap=np.abs(b.imd[f] - b.imd[c]),
            same_rural_urban=(b.rural_urban[f] == b.rural_urban[c]) & (b.rural_urban[f] != ""),
            same_tier=b.tier[f] == b.tier[c],
            both_single_tier=self._single[f] & self._single[c],
            similarity_gap=np.linalg.norm(b.similarity[f] - b.similarity[c], axis=1),
            prior_arrangements=snap.prior[f, c],
            common_partners=snap.common[f, c],
            adamic_adar=snap.adamic_adar[f, c],
            focal_arrangements=snap.degree[f],
            candidate_arrangements=snap.degree[c],
            focal_partners=snap.n_partners[f],
            candidate_partners=snap.n_partners[c],
            focal_shares_service=snap.body_shares[s, f],
            candidate_shares_service=snap.body_shares[s, c],
            candidate_shares_with_focal_partners=self._shares_with_partners(f, c, s, snap),
        )
        frame = pd.DataFrame({k: np.asarray(v, dtype=np.float32) for k, v in cols.items()})
        frame["service"] = pd.Categorical.from_codes(s, dtype=self._service_cat)
        frame["focal_tier"] = pd.Categorical(b.tier[f], dtype=self._tier_cat)
        frame["candidate_tier"] = pd.Categorical(b.tier[c], dtype=self._tier_cat)
        return frame

    @staticmethod
    def _shares_with_partners(
        f: IntArray, c: IntArray, s: IntArray, snap: Snapshot
    ) -> npt.NDArray[np.float32]:
        """How many of the focal body's past partners the candidate shares the service with."""
        out = np.zeros(len(f), dtype=np.float32)
        for service in np.unique(s):
            rows = np.flatnonzero(s == service)
            out[rows] = _partner_sharing(snap, int(service))[f[rows], c[rows]]
        return out

    # --- groups -------------------------------------------------------------------------------
    def group_frame(
        self, groups: Sequence[IntArray], service: IntArray, snap: Snapshot
    ) -> pd.DataFrame:
        """Group features for arrangements (each an array of member positions)."""
        p, b = self.pairs, self.bodies
        rows = []
        for g in groups:
            n = len(g)
            iu = np.triu_indices(n, 1)
            block = np.ix_(g, g)
            pop = np.exp(b.log_pop[g])
            dist = p.dist_km[block][iu]
            prior = snap.prior[block][iu]
            tiers = b.tier[g]
            rows.append(
                (
                    n,
                    np.log(pop.sum()),
                    b.log_pop[g].mean(),
                    b.log_pop[g].max() - b.log_pop[g].min(),
                    dist.mean(),
                    dist.max(),
                    p.touches[block][iu].mean(),
                    p.border_km[block][iu].sum(),
                    p.nested[block][iu].mean(),
                    self._all_same(g, "county_code"),
                    self._all_same(g, "region_code"),
                    float(len(set(tiers)) == 1),
                    np.mean(tiers == "district"),
                    np.mean(tiers == "county"),
                    np.mean(np.isin(b.kind[g], OTHER_KINDS)),
                    prior.mean(),
                    prior.max(),
                    b.imd[g].mean(),
                    b.log_density[g].mean(),
                )
            )
        frame = pd.DataFrame(
            np.asarray(rows, dtype=np.float32).reshape(len(rows), len(GROUP_NUMERIC)),
            columns=list(GROUP_NUMERIC),
        )
        frame["service"] = pd.Categorical.from_codes(service, dtype=self._service_cat)
        return frame

    def pair_group_frame(
        self, focal: IntArray, cand: IntArray, service: IntArray, snap: Snapshot
    ) -> pd.DataFrame:
        """Group features of two-body groups, vectorised (equal to :meth:`group_frame`)."""
        p, b = self.pairs, self.bodies
        f, c = focal, cand
        pop = np.exp(b.log_pop[f]) + np.exp(b.log_pop[c])
        tf, tc = b.tier[f], b.tier[c]
        other = np.isin(b.kind[f], OTHER_KINDS).astype(float) + np.isin(b.kind[c], OTHER_KINDS)
        same_county = p.same.get("county_code")
        same_region = p.same.get("region_code")
        prior = snap.prior[f, c]
        cols = {
            "n_members": np.full(len(f), 2.0),
            "log_total_pop": np.log(pop),
            "mean_log_pop": (b.log_pop[f] + b.log_pop[c]) / 2,
            "log_pop_ratio": np.abs(b.log_pop[f] - b.log_pop[c]),
            "mean_dist_km": p.dist_km[f, c],
            "max_dist_km": p.dist_km[f, c],
            "share_pairs_touching": p.touches[f, c],
            "total_border_km": p.border_km[f, c],
            "share_pairs_nested": p.nested[f, c],
            "all_same_county": same_county[f, c] if same_county is not None else 0.0,
            "all_same_region": same_region[f, c] if same_region is not None else 0.0,
            "all_same_tier": tf == tc,
            "share_district": ((tf == "district").astype(float) + (tc == "district")) / 2,
            "share_county": ((tf == "county").astype(float) + (tc == "county")) / 2,
            "share_other_body": other / 2,
            "mean_prior": prior,
            "max_prior": prior,
            "mean_imd": (b.imd[f] + b.imd[c]) / 2,
            "mean_log_density": (b.log_density[f] + b.log_density[c]) / 2,
        }
        frame = pd.DataFrame({k: np.asarray(v, dtype=np.float32) for k, v in cols.items()})
        frame["service"] = pd.Categorical.from_codes(service, dtype=self._service_cat)
        return frame

    def _all_same(self, g: IntArray, column: str) -> float:
        same = self.pairs.same.get(column)
        if same is None:
            return 0.0
        return float(same[np.ix_(g, g)].all())

    # --- candidates -----------------------------------------------------------------------------
    def candidates(
        self, focal: int, service: int, snap: Snapshot, *, include_existing: bool = False
    ) -> IntArray:
        """Bodies that deliver ``service``, other than ``focal`` (and, unless asked, other than
        those already sharing it with ``focal``)."""
        ok = self.bodies.eligible[service].copy()
        ok[focal] = False
        if not include_existing:
            ok &= ~snap.shares[service][focal]
        return np.flatnonzero(ok)


_SHARING: weakref.WeakKeyDictionary[Snapshot, dict[int, npt.NDArray[np.float32]]]
_SHARING = weakref.WeakKeyDictionary()


def _partner_sharing(snap: Snapshot, service: int) -> npt.NDArray[np.float32]:
    """counts[i, j]: how many of i's past partners j shares ``service`` with (cached per
    snapshot, which is immutable)."""
    per_service = _SHARING.setdefault(snap, {})
    if service not in per_service:
        linked = (snap.prior > 0).astype(np.float32)
        per_service[service] = linked @ snap.shares[service].astype(np.float32).T
    return per_service[service]


@dataclass(frozen=True)
class TrainingRows:
    """Pair rows for the choice model, with the query each row belongs to."""

    X: pd.DataFrame
    y: npt.NDArray[np.int8]
    query: IntArray
    arrangement: IntArray


def choice_rows(
    builder: FeatureBuilder,
    reg: RegisterArrays,
    cache: SnapshotCache,
    select: npt.NDArray[np.bool_],
    *,
    negatives: int = 30,
    max_focal: int = 4,
    real_repeats: int = 1,
    random_state: int = 0,
) -> TrainingRows:
    """Training rows for the partner-choice model.

    For every selected arrangement with two or more reference members, up to ``max_focal``
    members in turn are the focal body (all of them for small arrangements, a random few for
    large ones, so that a fourteen-council alliance does not outweigh a dozen pairs); the
    focal body's partners (again up to ``max_focal``) are positives, and ``negatives``
    eligible non-partners are negatives, drawn half uniformly and half among the focal body's
    ``NEAR`` nearest (where the hard choices are). Rows are unweighted; the classifier's
    log-odds plus :meth:`FeatureBuilder.log_q` differ from the log of the choice probability
    by a constant per query, which the softmax over candidates removes.
    """
    rng = np.random.default_rng(random_state)
    by_snap: dict[int, list[tuple[int, int, IntArray, IntArray]]] = {}
    snaps: dict[int, Snapshot] = {}
    for k in np.flatnonzero(select):
        members = reg.members[k]
        if len(members) < 2:
            continue
        s = int(reg.service[k])
        snap = cache.for_arrangement(int(k))
        snaps[id(snap)] = snap
        focal_members = members
        if len(members) > max_focal:
            focal_members = rng.choice(members, size=max_focal, replace=False)
        repeats = 1 if reg.simulated[k] else real_repeats
        for f in np.repeat(focal_members, repeats):
            pool = builder.candidates(int(f), s, snap, include_existing=True)
            pool = pool[~np.isin(pool, members)]
            neg = _draw_negatives(builder, int(f), s, pool, negatives, rng)
            pos = members[members != f]
            if len(pos) > max_focal:
                pos = rng.choice(pos, size=max_focal, replace=False)
            by_snap.setdefault(id(snap), []).append((int(k), int(f), pos, neg))
    if not by_snap:
        raise ValueError("no arrangement with two or more known members to learn from")
    frames, ys, queries, arrangements = [], [], [], []
    query = 0
    for key, items in by_snap.items():
        cand = [np.concatenate([pos, neg]) for _, _, pos, neg in items]
        sizes = np.array([len(c) for c in cand])
        focal = np.repeat([f for _, f, _, _ in items], sizes).astype(np.intp)
        service = np.repeat([reg.service[k] for k, _, _, _ in items], sizes).astype(np.intp)
        candidates = np.concatenate(cand).astype(np.intp)
        frames.append(builder.pair_frame(focal, candidates, service, snaps[key]))
        labels = [np.r_[np.ones(len(pos)), np.zeros(len(neg))] for _, _, pos, neg in items]
        ys.append(np.concatenate(labels))
        queries.append(np.repeat(np.arange(query, query + len(items)), sizes))
        arrangements.append(np.repeat([k for k, _, _, _ in items], sizes))
        query += len(items)
    return TrainingRows(
        X=pd.concat(frames, ignore_index=True),
        y=np.concatenate(ys).astype(np.int8),
        query=np.concatenate(queries).astype(np.intp),
        arrangement=np.concatenate(arrangements).astype(np.intp),
    )


def _draw_negatives(
    builder: FeatureBuilder,
    focal: int,
    service: int,
    pool: IntArray,
    k: int,
    rng: np.random.Generator,
) -> IntArray:
    """Draw ``k`` of ``pool`` without replacement, half uniformly and half among the near."""
    if len(pool) <= k:
        return pool
    near = builder.is_near(np.full(len(pool), focal), pool, np.full(len(pool), service))
    q = 0.5 / len(pool) + 0.5 * near / max(int(near.sum()), 1)
    return rng.choice(pool, size=k, replace=False, p=q / q.sum())
