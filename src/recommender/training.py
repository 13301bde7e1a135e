"""Fit the model from a register and the reference geography, and score every body.

The fitted model has three parts (see :mod:`recommender.estimators`):

* the **choice** pipeline gives, for a focal body and a service, a score for every candidate;
  a softmax over the candidates turns it into ``p_choice``, the probability that the
  candidate is the partner chosen;
* the **rate** pipeline gives the yearly probability that the focal body enters a new
  arrangement for the service; over five years that is ``p_enter = 1 - (1 - p_year)^5``;
* the **savings** pipeline gives the expected annual savings of the two bodies' arrangement
  and an 80% interval.

These combine into the figures every recommendation shows::

    likelihood       = p_enter × (1 − (1 − p_choice) ^ k_s)
    expected savings = likelihood × savings if formed

where ``k_s`` is the mean number of partners a body has in an arrangement for that service
(the register's mean size minus one): the likelihood is the chance that the two bodies share
the service within five years. Recommendations are ranked by expected savings.

Scoring every body against every candidate and service is done once, at training time. The
candidates of a body are those within 80 km, those sharing a border or nested with it, and
those within two steps in the partnership network; the evaluation reports how many real
partners lie outside that set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.pipeline import Pipeline

from recommender.estimators import (
    RATE_CATEGORICAL,
    RATE_NUMERIC,
    build_choice_pipeline,
    build_rate_pipeline,
    build_savings_pipeline,
)
from recommender.features import BodyArrays, FeatureBuilder, choice_rows
from recommender.network import RegisterArrays, Snapshot, SnapshotCache, register_arrays
from recommender.pairs import PairMatrices, build_pair_matrices

IntArray = npt.NDArray[np.intp]
HORIZON_YEARS = 5
CANDIDATE_RADIUS_KM = 80.0


@dataclass
class Context:
    """Everything derived from the reference data and the register, built once per run."""

    pairs: PairMatrices
    bodies: BodyArrays
    builder: FeatureBuilder
    reg: RegisterArrays
    services: tuple[str, ...]
    years: tuple[int, ...]

    @classmethod
    def build(
        cls,
        bodies: pd.DataFrame,
        adjacency: pd.DataFrame,
        services: pd.DataFrame,
        arrangements: pd.DataFrame,
        members: pd.DataFrame,
    ) -> Context:
        bodies = bodies.sort_index()
        pairs = build_pair_matrices(bodies, adjacency)
        service_ids = tuple(services.index)
        body_arrays = BodyArrays.build(bodies, services, pairs.codes)
        builder = FeatureBuilder(pairs, body_arrays, service_ids)
        reg = register_arrays(arrangements, members, pairs, service_ids)
        dated = reg.start[reg.dated]
        years = tuple(range(int(dated.min()), int(dated.max()) + 1)) if len(dated) else ()
        return cls(pairs, body_arrays, builder, reg, service_ids, years)

    def usable(self) -> npt.NDArray[np.bool_]:
        """Arrangements with at least two reference bodies among their members."""
        return np.array([len(m) >= 2 for m in self.reg.members], dtype=bool)


@dataclass
class Components:
    """The fitted parts of the model."""

    choice: Pipeline
    savings: Pipeline | None
    rate: Pipeline | None
    partners_per_service: npt.NDArray[np.float64]


def fit_components(
    ctx: Context,
    select: npt.NDArray[np.bool_],
    cache: SnapshotCache,
    *,
    random_state: int = 0,
    with_rate: bool = True,
) -> Components:
    """Fit choice, savings and (optionally) rate models on the selected arrangements."""
    select = select & ctx.usable()
    rows = choice_rows(ctx.builder, ctx.reg, cache, select, random_state=random_state)
    choice = build_choice_pipeline(ctx.services, random_state=random_state)
    choice.fit(rows.X, rows.y)

    savings = None
    known = select & ~np.isnan(ctx.reg.annual)
    if known.sum() >= 10:
        X, y = savings_rows(ctx, cache, known)
        savings = build_savings_pipeline(ctx.services, random_state=random_state).fit(X, y)

    rate = None
    if with_rate and ctx.years:
        panel, target = rate_panel(ctx, cache, select)
        if 0 < target.sum() < len(target):
            rate = build_rate_pipeline(ctx.services, random_state=random_state).fit(panel, target)
    return Components(choice, savings, rate, partners_per_service(ctx, select))


def savings_rows(
    ctx: Context, cache: SnapshotCache, select: npt.NDArray[np.bool_]
) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    """Group features (as of each start) and annual savings of the selected arrangements."""
    idx = np.flatnonzero(select)
    frames = []
    for k in idx:
        snap = cache.for_arrangement(int(k))
        frames.append(
            ctx.builder.group_frame([ctx.reg.members[k]], np.array([ctx.reg.service[k]]), snap)
        )
    return pd.concat(frames, ignore_index=True), ctx.reg.annual[idx]


def partners_per_service(ctx: Context, select: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Mean number of partners (members minus one) per arrangement, by service."""
    sizes = np.array([len(m) for m in ctx.reg.members], dtype=float)
    out = np.ones(len(ctx.services))
    overall = sizes[select].mean() - 1 if select.any() else 1.0
    for s in range(len(ctx.services)):
        mask = select & (ctx.reg.service == s)
        out[s] = sizes[mask].mean() - 1 if mask.sum() >= 3 else overall
    return out


def rate_panel(
    ctx: Context, cache: SnapshotCache, select: npt.NDArray[np.bool_]
) -> tuple[pd.DataFrame, npt.NDArray[np.int8]]:
    """A body × service × year panel: did the body enter a new arrangement that year?"""
    reg, b = ctx.reg, ctx.bodies
    n, n_services = ctx.pairs.n, len(ctx.services)
    years = sorted({int(y) for y in reg.start[select & reg.dated]})
    frames, targets = [], []
    for year in years:
        snap = cache.before(year)
        joined = np.zeros((n_services, n), dtype=bool)
        for k in np.flatnonzero(select & (reg.start == year)):
            joined[reg.service[k], reg.members[k]] = True
        s_idx, body_idx = np.nonzero(b.eligible)
        frames.append(rate_frame(ctx, snap, body_idx, s_idx))
        targets.append(joined[s_idx, body_idx].astype(np.int8))
    return pd.concat(frames, ignore_index=True), np.concatenate(targets)


def rate_frame(ctx: Context, snap: Snapshot, body: IntArray, service: IntArray) -> pd.DataFrame:
    """Features of the rate model for (body, service) rows as of ``snap``."""
    b = ctx.bodies
    frame = pd.DataFrame(
        {
            "log_pop": b.log_pop[body],
            "arrangements": snap.degree[body],
            "partners": snap.n_partners[body],
            "shares_service": snap.body_shares[service, body].astype(float),
            "services_shared": snap.body_shares[:, body].sum(axis=0).astype(float),
        },
        columns=list(RATE_NUMERIC),
    )
    frame["service"] = pd.Categorical.from_codes(
        service, dtype=pd.CategoricalDtype(list(ctx.services))
    )
    frame["tier"] = pd.Categorical(b.tier[body], categories=sorted(set(b.tier)))
    return frame[list(RATE_NUMERIC) + list(RATE_CATEGORICAL)]


def softmax_by_group(logits: npt.NDArray[np.float64], group: IntArray) -> npt.NDArray[np.float64]:
    """Softmax of ``logits`` within each group id (rows of one query sum to one)."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    maxes = np.maximum.reduceat(logits[order], starts)
    counts = np.diff(np.r_[starts, len(g)])
    shifted = np.exp(logits[order] - np.repeat(maxes, counts))
    sums = np.add.reduceat(shifted, starts)
    out = np.empty_like(logits, dtype=float)
    out[order] = shifted / np.repeat(sums, counts)
    return out


def candidate_sets(ctx: Context, snap: Snapshot) -> npt.NDArray[np.bool_]:
    """(n, n) mask of the candidates considered for each focal body (see module docstring)."""
    p = ctx.pairs
    linked = snap.prior > 0
    two_step = linked | ((linked.astype(np.float32) @ linked.astype(np.float32)) > 0)
    mask = (p.dist_km <= CANDIDATE_RADIUS_KM) | p.touches | p.nested | two_step
    np.fill_diagonal(mask, False)
    return np.asarray(mask, dtype=bool)


@dataclass
class ScoreTable:
    """Every (focal, candidate, service) scored, sorted by focal then expected savings.

    ``offsets[i]:offsets[i + 1]`` are the rows of the body at matrix position ``i``.
    """

    focal: npt.NDArray[np.int16]
    candidate: npt.NDArray[np.int16]
    service: npt.NDArray[np.int8]
    likelihood: npt.NDArray[np.float32]
    savings: npt.NDArray[np.float32]
    low: npt.NDArray[np.float32]
    high: npt.NDArray[np.float32]
    expected: npt.NDArray[np.float32]
    existing: npt.NDArray[np.bool_]
    offsets: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, np.int64))

    def __len__(self) -> int:
        return len(self.focal)


def score_all(ctx: Context, comp: Components, snap: Snapshot) -> ScoreTable:
    """Score every body against its candidates for every service both deliver."""
    n = ctx.pairs.n
    mask = candidate_sets(ctx, snap)
    fs, cs, ss = [], [], []
    for s in range(len(ctx.services)):
        eligible = ctx.bodies.eligible[s]
        f, c = np.nonzero(mask & eligible[:, None] & eligible[None, :])
        fs.append(f)
        cs.append(c)
        ss.append(np.full(len(f), s))
    focal = np.concatenate(fs).astype(np.intp)
    cand = np.concatenate(cs).astype(np.intp)
    service = np.concatenate(ss).astype(np.intp)
    existing = snap.shares[service, focal, cand]

    X = ctx.builder.pair_frame(focal, cand, service, snap)
    logits = choice_scores(ctx, comp, focal, cand, service, X)
    query = focal * len(ctx.services) + service
    logits = np.where(existing, -np.inf, logits)
    p_choice = softmax_by_group(np.asarray(logits, dtype=float), query)
    p_enter = enter_probability(ctx, comp, snap, focal, service)
    k = comp.partners_per_service[service]
    likelihood = p_enter * (1 - (1 - p_choice) ** k)

    savings, low, high = pair_savings(ctx, comp, snap, focal, cand, service)
    expected = likelihood * savings
    order = np.lexsort((-expected, focal))
    offsets = np.searchsorted(focal[order], np.arange(n + 1)).astype(np.int64)
    return ScoreTable(
        focal=focal[order].astype(np.int16),
        candidate=cand[order].astype(np.int16),
        service=service[order].astype(np.int8),
        likelihood=likelihood[order].astype(np.float32),
        savings=savings[order].astype(np.float32),
        low=low[order].astype(np.float32),
        high=high[order].astype(np.float32),
        expected=expected[order].astype(np.float32),
        existing=existing[order],
        offsets=offsets,
    )


def choice_scores(
    ctx: Context,
    comp: Components,
    focal: IntArray,
    cand: IntArray,
    service: IntArray,
    X: pd.DataFrame,
) -> npt.NDArray[np.float64]:
    """Log choice probability, up to a constant per (focal, service), for pair rows ``X``."""
    logits = np.asarray(comp.choice.decision_function(X), dtype=float)
    return logits + ctx.builder.log_q(focal, cand, service)


def enter_probability(
    ctx: Context, comp: Components, snap: Snapshot, focal: IntArray, service: IntArray
) -> npt.NDArray[np.float64]:
    """P(the focal body enters a new arrangement for the service within the horizon)."""
    if comp.rate is None:
        return np.ones(len(focal))
    n_services = len(ctx.services)
    key = focal * n_services + service
    unique, inverse = np.unique(key, return_inverse=True)
    frame = rate_frame(ctx, snap, unique // n_services, unique % n_services)
    p_year = comp.rate.predict_proba(frame)[:, 1]
    return np.asarray(1 - (1 - p_year[inverse]) ** HORIZON_YEARS)


def pair_savings(
    ctx: Context,
    comp: Components,
    snap: Snapshot,
    focal: IntArray,
    cand: IntArray,
    service: IntArray,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Expected annual savings and 80% interval of each pair's arrangement (symmetric)."""
    if comp.savings is None:
        nan = np.full(len(focal), np.nan)
        return nan, nan, nan
    a, b = np.minimum(focal, cand), np.maximum(focal, cand)
    n, n_services = ctx.pairs.n, len(ctx.services)
    key = (a * n + b) * n_services + service
    unique, inverse = np.unique(key, return_inverse=True)
    ua, ub, us = unique // n_services // n, unique // n_services % n, unique % n_services
    return group_savings(comp, ctx.builder.pair_group_frame(ua, ub, us, snap), inverse)


def group_savings(
    comp: Components, frame: pd.DataFrame, inverse: IntArray | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Expected annual savings and interval for group feature rows."""
    assert comp.savings is not None
    Xt = comp.savings[:-1].transform(frame)
    regressor: Any = comp.savings[-1]
    mean, low, high = regressor.summarise(regressor.predict_parts(Xt))
    if inverse is not None:
        mean, low, high = mean[inverse], low[inverse], high[inverse]
    return np.asarray(mean), np.asarray(low), np.asarray(high)
