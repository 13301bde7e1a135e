"""Score a body's candidates for a service: the figures each suggestion shows.

For a focal body ``f`` and a service ``s`` the candidates are the bodies that deliver ``s``,
other than ``f`` and the fire service ``f`` runs (or the council running it). The fitted model
(:mod:`recommender.training`) gives:

* ``p_choice(c)``: a softmax over the candidates of ``log-odds(f, c) + g · log(1 + tie(f, c))``:
  the partner-choice log-odds (geography and the two bodies) plus the weight ``g`` of the
  pair's real shared history (``tie``: :class:`recommender.network.Snapshot`, real
  arrangements only; 0 for a pair that never shared one): the chance that ``c`` is the partner
  ``f`` chooses for ``s``;
* ``p_enter``: the chance that ``f`` enters a new arrangement for ``s`` within
  :data:`HORIZON_YEARS` years, ``1 - (1 - p_year)^5`` from the rate model;
* the savings model's median annual saving of the pair if it forms, and its 80% interval.

These combine into the figures every recommendation shows::

    likelihood       = p_enter × (1 − (1 − p_choice) ^ k_s)
    expected savings = likelihood × savings if formed

where ``k_s`` is the mean number of partners a body has in an arrangement for ``s``: the
likelihood is the chance that the two bodies share the service within five years.
Recommendations are ranked by expected savings. A partner already sharing ``s`` with ``f`` is
not a new opportunity: it is scored with likelihood 0 and marked ``existing``.

Everything here is a few vector operations over at most a few hundred candidates, so queries
are scored when asked (``Scorer.query``) rather than precomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.network import Snapshot
from recommender.training import Components, Context, IntArray, rate_frame

HORIZON_YEARS = 5
FloatArray = npt.NDArray[np.float64]


def enter_probability(ctx: Context, comp: Components) -> FloatArray:
    """(n, n_services): P(the body enters a new arrangement for the service within the
    horizon); 1 where there is no rate model (the choice alone then ranks)."""
    n, n_services = ctx.pairs.n, len(ctx.services)
    out = np.zeros((n, n_services))
    if comp.rate is None:
        return np.ones((n, n_services))
    s_idx, body = np.nonzero(ctx.bodies.eligible)
    p_year = comp.rate.predict_proba(rate_frame(ctx, body, s_idx))[:, 1]
    out[body, s_idx] = 1 - (1 - p_year) ** HORIZON_YEARS
    return out


@dataclass(frozen=True)
class QueryScores:
    """One (focal, service) query scored: arrays over its candidates, in candidate order."""

    focal: int
    service: int
    candidate: IntArray
    p_choice: FloatArray
    history: FloatArray  # log(1 + tie): the pair's real shared history
    likelihood: FloatArray  # 0 where existing
    savings: FloatArray
    low: FloatArray
    high: FloatArray
    expected: FloatArray
    existing: npt.NDArray[np.bool_]


class Scorer:
    """Scores queries for one fitted model and one network (see the module docstring)."""

    def __init__(self, ctx: Context, comp: Components, snap: Snapshot, p_enter: FloatArray) -> None:
        self.ctx, self.comp, self.snap, self.p_enter = ctx, comp, snap, p_enter
        stack = ctx.table.stack
        self.logit = (stack @ comp.choice_w.astype(np.float32)).astype(np.float64) + comp.choice_b

    def query(self, focal: int, service: int) -> QueryScores:
        """Score every candidate of ``focal`` for ``service``."""
        ctx, snap = self.ctx, self.snap
        ok = ctx.table.candidates(focal, service)
        cand = np.flatnonzero(ok)
        existing = snap.shares[service, focal, cand]
        history = np.log1p(snap.ties[focal, cand].astype(float))
        p_choice = self.choice(focal, cand, existing, history)
        k = self.comp.partners_per_service[service]
        # 1 - (1 - p)^k, accurate for tiny p (so that unlikely candidates keep their order)
        chosen = -np.expm1(k * np.log1p(-np.minimum(p_choice, 1 - 1e-12)))
        likelihood = self.p_enter[focal, service] * chosen
        likelihood = np.where(existing, 0.0, likelihood)
        merged = np.minimum(ctx.bodies.population[focal], ctx.bodies.population[cand])
        savings, low, high = self.pair_savings(np.full(len(cand), service), merged)
        return QueryScores(
            focal=focal,
            service=service,
            candidate=cand,
            p_choice=p_choice,
            history=history,
            likelihood=likelihood,
            savings=savings,
            low=low,
            high=high,
            expected=likelihood * savings,
            existing=existing,
        )

    def choice(
        self,
        focal: int,
        cand: IntArray,
        existing: npt.NDArray[np.bool_],
        history: FloatArray,
    ) -> FloatArray:
        """Softmax of log-odds plus weighted history over the candidates not already sharing."""
        logits = self.logit[focal, cand] + self.comp.history_weight * history
        logits = np.where(existing, -np.inf, logits)
        if not np.isfinite(logits).any():
            return np.zeros(len(cand))
        e = np.exp(logits - logits[np.isfinite(logits)].max())
        return np.asarray(e / e.sum())

    def pair_savings(
        self, service: IntArray, merged: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Median saving and interval of two-body arrangements (NaN without a savings model)."""
        if self.comp.savings is None:
            nan = np.full(len(service), np.nan)
            return nan, nan, nan
        return self.comp.savings.pair_savings(service, merged)


SCORE_COLUMNS = (
    "focal", "candidate", "service", "likelihood", "expected", "savings", "low", "high",
    "existing",
)  # fmt: skip


def score_all(scorer: Scorer, focal: IntArray | None = None) -> pd.DataFrame:
    """Every (focal body, candidate, service) scored, as one table (body positions and
    service positions; one row per candidate of every service each focal body delivers).

    ``focal`` limits it to some bodies (a partition: :mod:`recommender.engines` splits the
    bodies and concatenates the parts, which gives the same table).
    """
    ctx = scorer.ctx
    bodies = np.arange(ctx.pairs.n) if focal is None else np.asarray(focal, dtype=np.intp)
    parts: list[dict[str, npt.NDArray[np.generic]]] = []
    for f in bodies:
        for s in np.flatnonzero(ctx.bodies.eligible[:, f]):
            q = scorer.query(int(f), int(s))
            n = len(q.candidate)
            parts.append(
                {
                    "focal": np.full(n, f, dtype=np.int16),
                    "candidate": q.candidate.astype(np.int16),
                    "service": np.full(n, s, dtype=np.int8),
                    "likelihood": q.likelihood.astype(np.float32),
                    "expected": q.expected.astype(np.float32),
                    "savings": q.savings.astype(np.float32),
                    "low": q.low.astype(np.float32),
                    "high": q.high.astype(np.float32),
                    "existing": q.existing,
                }
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SCORE_COLUMNS})
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in SCORE_COLUMNS})
