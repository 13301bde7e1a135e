"""Score a body's candidates for a service: the figures each suggestion shows.

For a focal body ``f`` and a service ``s`` the candidates are the bodies that deliver ``s``,
other than ``f`` and the fire service ``f`` runs (or the council running it). The fitted model
(:mod:`recommender.model.fit`) gives:

* ``p_choice(c)``: a softmax over the candidates of ``log-odds(f, c) + g · log(1 + tie(f, c))``:
  the partner-choice log-odds (geography and the two bodies) plus the weight ``g`` of the
  pair's real shared history (``tie``: :class:`recommender.model.network.Snapshot`, real
  arrangements only; 0 for a pair that never shared one): the chance that ``c`` is the partner
  ``f`` chooses for ``s``;
* ``p_enter``: the chance that ``f`` enters a new arrangement for ``s`` within
  :data:`HORIZON_YEARS` years, ``1 - (1 - p_year)^5`` from the rate model;
* the savings model's median annual saving of the pair if it forms, and its 80% interval.

These combine into the figures every recommendation shows::

    from f's side    = p_enter(f) × (1 − (1 − p_choice(c | f)) ^ k_s)
    likelihood       = (from f's side + from c's side) / 2
    expected savings = likelihood × savings if formed

where ``k_s`` is the mean number of partners a body has in an arrangement for ``s``, and
``p_choice(f | c)`` is ``c``'s own softmax over its own candidates: the likelihood is the chance
that the two bodies share the service within five years, the mean of the estimates from each
body's side (its own rate of entering, its own choice among its candidates), so both bodies'
lists give the pair the same figure (:data:`~recommender.model.horizon.LIKELIHOOD_SIDE`).
On real arrangements held out, it ranked real partners better by MRR than the asking body's
side alone, on every protocol, and a little worse on hit@10 (the choice was made on that
evaluation). A
candidate's own denominator leaves out the partners it already shares the service with in the
network the facts are read from, not those imported since training (:attr:`Scorer.since`,
kept for the focal body only). The held-out evaluation tests the order it gives, never the
percentages (:data:`~recommender.model.horizon.LIKELIHOOD_UNCHECKED`).
Recommendations are ranked by expected savings. A partner already sharing ``s`` with ``f`` is
not a new opportunity: it is scored with likelihood 0 and marked ``existing``.

Everything here is a few vector operations over at most a few hundred candidates, so queries
are scored when asked (``Scorer.query``) rather than precomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.model.fit import Components, Context, IntArray, rate_frame
from recommender.model.horizon import HORIZON_YEARS
from recommender.model.network import Snapshot


class Proposed(NamedTuple):
    """A pair named together only in documented proposals (``… (proposal)``): their services
    (positions), and the bodies now gone the source named for the focal body and the
    candidate ("" for a body named as itself); :func:`recommender.model.explain.proposed_said`
    says it."""

    services: tuple[int, ...]
    via_focal: str
    via_candidate: str


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


@dataclass(frozen=True)
class LongScores:
    """One focal body's candidates for several services, as one long table: row ``i`` is
    candidate ``candidate[i]`` for service ``service[i]``; the rows of ``services[j]`` are the
    ``counts[j]`` that follow those of the services before it."""

    focal: int
    services: IntArray
    counts: IntArray
    service: IntArray
    candidate: IntArray
    p_choice: FloatArray
    history: FloatArray
    likelihood: FloatArray
    savings: FloatArray
    low: FloatArray
    high: FloatArray
    expected: FloatArray
    existing: npt.NDArray[np.bool_]

    def take(self, rows: IntArray) -> LongScores:
        """The rows given, in that order (``counts`` no longer tell the services' blocks)."""
        return LongScores(
            focal=self.focal,
            services=self.services,
            counts=np.zeros(len(self.services), dtype=np.intp),
            service=self.service[rows],
            candidate=self.candidate[rows],
            p_choice=self.p_choice[rows],
            history=self.history[rows],
            likelihood=self.likelihood[rows],
            savings=self.savings[rows],
            low=self.low[rows],
            high=self.high[rows],
            expected=self.expected[rows],
            existing=self.existing[rows],
        )

    def select(self, keep: npt.NDArray[np.bool_]) -> LongScores:
        """The rows where ``keep`` is true (still grouped by service, ``counts`` recounted)."""
        block = np.repeat(np.arange(len(self.services)), self.counts)
        return LongScores(
            focal=self.focal,
            services=self.services,
            counts=np.bincount(block[keep], minlength=len(self.services)),
            service=self.service[keep],
            candidate=self.candidate[keep],
            p_choice=self.p_choice[keep],
            history=self.history[keep],
            likelihood=self.likelihood[keep],
            savings=self.savings[keep],
            low=self.low[keep],
            high=self.high[keep],
            expected=self.expected[keep],
            existing=self.existing[keep],
        )

    def part(self, j: int, start: int, stop: int) -> QueryScores:
        """The rows ``start:stop`` (those of ``services[j]``) as that service's scores."""
        cut = slice(start, stop)
        return QueryScores(
            focal=self.focal,
            service=int(self.services[j]),
            candidate=self.candidate[cut],
            p_choice=self.p_choice[cut],
            history=self.history[cut],
            likelihood=self.likelihood[cut],
            savings=self.savings[cut],
            low=self.low[cut],
            high=self.high[cut],
            expected=self.expected[cut],
            existing=self.existing[cut],
        )


class Scorer:
    """Scores queries for one fitted model and one network (see the module docstring)."""

    def __init__(self, ctx: Context, comp: Components, snap: Snapshot, p_enter: FloatArray) -> None:
        self.ctx, self.comp, self.snap, self.p_enter = ctx, comp, snap, p_enter
        stack = ctx.table.stack
        self.logit = (stack @ comp.choice_w.astype(np.float32)).astype(np.float64) + comp.choice_b
        self._pair_terms: tuple[FloatArray, float] | None = None
        self._totals: tuple[Snapshot, FloatArray] | None = None  # (:meth:`_log_totals`)
        # Running partnerships the model was trained without (the register as it is now), by
        # body: (services × bodies) marks, read with the snapshot's ``shares`` (see
        # :meth:`recommender.recommend.ranking.Recommender.follow`); replaced, never changed.
        self.since: Mapping[int, npt.NDArray[np.bool_]] = {}
        # Pairs named together only in documented proposals (``… (proposal)``), with those
        # proposals' services: a tie in the model's scores that no answer states as a
        # partnership, said as what it is (:func:`recommender.model.explain.reasons`).
        self.proposed: Mapping[tuple[int, int], Proposed] = {}
        # The network as the register holds it now, when it has deleted, or said ended, real
        # arrangements the model was trained with, or some are named proposals or split
        # (:func:`~recommender.model.network.as_the_register_says`, :meth:`recommender.
        # recommend.ranking.Recommender._facts`): who already shares what, and the history the
        # reasons state, are read from it; None: as trained. Replaced, never changed.
        self.facts: Snapshot | None = None
        # Pairs whose areas overlap without one containing the other (the reasons' wording;
        # the model's features see "nested" either way), when the reference is at hand.
        self.overlaps: npt.NDArray[np.bool_] | None = None
        # The bodies whose population is an estimate (an NHS board sharing a council's people
        # with another), when the reference is at hand: said "an estimated" in the reasons.
        self.estimated: npt.NDArray[np.bool_] | None = None

    @property
    def network(self) -> Snapshot:
        """The network facts are read from: :attr:`facts`, else the model's own."""
        facts = self.facts
        return self.snap if facts is None else facts

    def query(self, focal: int, service: int) -> QueryScores:
        """Score every candidate of ``focal`` for ``service``."""
        return self.query_many(focal, [service])[0]

    def query_many(self, focal: int, services: Sequence[int]) -> list[QueryScores]:
        """Score every candidate of ``focal`` for each of ``services`` at once.

        One pass of vector operations over a (services × bodies) block, so that a question
        about every service costs about as much as one about a single service; equal, bit for
        bit, to :meth:`query` for each service (which is this with one service).
        """
        long = self.score_long(focal, services)
        bounds = np.r_[0, np.cumsum(long.counts)]
        return [long.part(i, int(bounds[i]), int(bounds[i + 1])) for i in range(len(long.services))]

    def score_long(self, focal: int, services: Sequence[int]) -> LongScores:
        """Every candidate of ``focal`` for each of ``services``, as one long table (rows
        grouped by service in the order given, candidates ascending within each)."""
        ctx, snap, comp = self.ctx, self.snap, self.comp
        wanted = np.asarray(services, dtype=np.intp)
        ok = ctx.bodies.eligible[wanted] & ~ctx.table.runs[focal]
        ok[:, focal] = False
        shares = self.network.shares[wanted, focal]
        since = self.since.get(focal)
        if since is not None:
            shares = shares | since[wanted]
        history = np.log1p(snap.ties[focal].astype(float))
        # The choice softmax of each service over its candidates not already sharing it.
        logits = np.where(ok & ~shares, self.logit[focal] + comp.history_weight * history, -np.inf)
        top = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
        total = e.sum(axis=1, keepdims=True)
        p_choice = np.divide(e, total, out=np.zeros_like(e), where=total > 0)[ok]
        # The rest row by row, over the candidates only (``[ok]`` reads them row-major).
        counts = ok.sum(axis=1)
        service = np.repeat(wanted, counts)
        cand = np.nonzero(ok)[1]
        existing = shares[ok]
        k = comp.partners_per_service[service]
        # 1 - (1 - p)^k, accurate for tiny p (so that unlikely candidates keep their order)
        chosen = -np.expm1(k * np.log1p(-np.minimum(p_choice, 1 - 1e-12)))
        # The same from the candidate's side: its own chance of entering, and of choosing the
        # focal body among its own candidates; the pair's likelihood is the mean of the two.
        toward = self.logit[cand, focal] + comp.history_weight * np.log1p(
            snap.ties[cand, focal].astype(float)
        )
        back = np.exp(toward - self._log_totals()[service, cand])
        chosen_back = -np.expm1(k * np.log1p(-np.minimum(back, 1 - 1e-12)))
        mine = self.p_enter[focal, service] * chosen
        theirs = self.p_enter[cand, service] * chosen_back
        likelihood = np.where(existing, 0.0, (mine + theirs) / 2)
        merged = np.minimum(ctx.bodies.population[focal], ctx.bodies.population[cand])
        savings, low, high = self.pair_savings(service, merged)
        return LongScores(
            focal=focal,
            services=wanted,
            counts=counts,
            service=service,
            candidate=cand,
            p_choice=p_choice,
            history=history[cand],
            likelihood=likelihood,
            savings=savings,
            low=low,
            high=high,
            expected=likelihood * savings,
            existing=existing,
        )

    def _log_totals(self) -> FloatArray:
        """(services × bodies): the log of each body's choice softmax denominator for each
        service, over its own candidates not already sharing it with it, so that any body's
        chance of choosing another is one look-up (:meth:`score_long`'s other side). Made
        once per network it is read against (a new one when the register changes)."""
        network = self.network
        made = self._totals
        if made is not None and made[0] is network:
            return made[1]
        ctx, comp = self.ctx, self.comp
        n = ctx.pairs.n
        utility = self.logit + comp.history_weight * np.log1p(self.snap.ties.astype(float))
        blocked = ctx.table.runs | np.eye(n, dtype=bool)
        out = np.full((len(ctx.services), n), -np.inf)
        for s in range(len(ctx.services)):
            ok = ctx.bodies.eligible[s][None, :] & ~blocked & ~network.shares[s]
            u = np.where(ok, utility, -np.inf)
            top = u.max(axis=1)
            top = np.where(np.isfinite(top), top, 0.0)
            with np.errstate(divide="ignore"):  # a body with no candidate: log 0
                out[s] = np.log(np.exp(u - top[:, None]).sum(axis=1)) + top
        self._totals = (network, out)
        return out

    def pair_savings(
        self, service: IntArray, merged: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Median saving and interval of two-body arrangements (NaN without a savings model)."""
        if self.comp.savings is None:
            nan = np.full(len(service), np.nan)
            return nan, nan, nan
        if self._pair_terms is None:  # the fitted model's terms, worked out once
            self._pair_terms = self.comp.savings.pair_terms()
        return self.comp.savings.pair_savings(service, merged, terms=self._pair_terms)


SCORE_COLUMNS = (
    "focal", "candidate", "service", "likelihood", "expected", "savings", "low", "high",
    "existing",
)  # fmt: skip


def score_all(scorer: Scorer, focal: IntArray | None = None) -> pd.DataFrame:
    """Every (focal body, candidate, service) scored, as one table (body positions and
    service positions; one row per candidate of every service each focal body delivers).

    ``focal`` limits it to some bodies (a partition: :mod:`recommender.model.engines` splits the
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
