"""Score every body against its candidates and services: the figures each suggestion shows.

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

from recommender.network import Snapshot
from recommender.training import Components, Context, IntArray, rate_frame

HORIZON_YEARS = 5
CANDIDATE_RADIUS_KM = 80.0


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
