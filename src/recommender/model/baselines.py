"""The simple rules an officer would use, as rankers, and a savings guess.

Each partner baseline scores the candidates of one query (a focal body, a service, the bodies
that deliver it) from the pair feature rows the model sees (:data:`recommender.model.features.
PAIR_FEATURES`) and a few body facts, so every method ranks exactly the same candidates, over
the whole universe of bodies. Ties are broken by distance, nearest first, which only makes
the rules stronger.

* ``nearest``: nearest by distance between centroids.
* ``kind_nearest``: the same kind of body first (council, fire, police, NHS, combined
  authority), then nearest: the officer's rule as its users put it ("same kind of body, then
  nearest"), which does not part districts from county and unitary councils.
* ``group_nearest``: same tier group first (district / upper-tier council / fire / police /
  NHS / combined authority), then nearest: the one-line rule an officer would use.
* ``group_border``: same tier group neighbours by length of shared border, then the rest of
  the same tier group nearest first, then everyone else nearest first.
* ``similar``: CIPFA-style nearest neighbours used for benchmarking: same tier group first,
  then the closest in standardised (log population, log density, deprivation).
* ``most_partnered``: the bodies in the most (real) arrangements known when the held-out
  arrangement started (those that started in an earlier year).
* ``shared_history``: "already works with it, then nearest": the bodies with which the focal
  body shares the most documented arrangements, as known at the time, first, then nearest.
  Only where a protocol shows the model the focal body's history with its true partners (see
  :mod:`recommender.model.evaluation`): where that history is hidden, it is nearest with the
  focal body's ties to wrong candidates lifted, a rule set up to lose.
* ``plain_logit``: a plain logistic regression on a dozen pair features
  (:data:`PLAIN_FEATURES`), fitted on the real register alone: the simplest learnt model, so
  the verdicts say plainly where the product's model does not beat it.

For savings, ``service_median`` predicts the median annual saving of the real arrangements in
the same service (the overall median when a service has fewer than three), with their 10th and
90th percentiles as its 80% interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.model.features import PAIR_FEATURES

FloatArray = npt.NDArray[np.float64]
_TIE = 1e-6  # a distance tie-break too small to overturn a difference in the primary score
PLAIN_FEATURES = (
    "log_dist",
    "log_border",
    "nested",
    "same_county",
    "same_region",
    "same_police",
    "same_fire",
    "same_icb",
    "same_group",
    "same_kind",
    "log_pop_ratio",
    "same_cauth",
)
PLAIN_COLUMNS = np.array([PAIR_FEATURES.index(f) for f in PLAIN_FEATURES])


@dataclass(frozen=True)
class QueryFacts:
    """What the rules see of one query's candidates (aligned arrays)."""

    rows: npt.NDArray[np.float32]  # pair feature rows
    dist_km: FloatArray
    similarity_gap: FloatArray
    degree: FloatArray  # the candidate's arrangements in the (real) network
    shared: FloatArray  # arrangements the candidate shares with the focal body (the same)


def _column(facts: QueryFacts, name: str) -> FloatArray:
    return np.asarray(facts.rows[:, PAIR_FEATURES.index(name)], dtype=float)


def _nearest(f: QueryFacts) -> FloatArray:
    return -f.dist_km


def _kind_nearest(f: QueryFacts) -> FloatArray:
    return _column(f, "same_kind") * 1e6 - f.dist_km


def _group_nearest(f: QueryFacts) -> FloatArray:
    return _column(f, "same_group") * 1e6 - f.dist_km


def _group_border(f: QueryFacts) -> FloatArray:
    group = _column(f, "same_group")
    border = np.expm1(_column(f, "log_border"))
    neighbour = group * (border > 0)
    return neighbour * (1e9 + 1e4 * border) + group * 1e6 - f.dist_km


def _similar(f: QueryFacts) -> FloatArray:
    return _column(f, "same_group") * 1e3 - f.similarity_gap - _TIE * f.dist_km


def _most_partnered(f: QueryFacts) -> FloatArray:
    return f.degree - _TIE * f.dist_km


def _shared_history(f: QueryFacts) -> FloatArray:
    return f.shared - _TIE * f.dist_km


HISTORY_RULE = "shared_history"  # needs the focal body's history with its true partners
RULES: dict[str, Callable[[QueryFacts], FloatArray]] = {
    "nearest": _nearest,
    "kind_nearest": _kind_nearest,
    "group_nearest": _group_nearest,
    "group_border": _group_border,
    "similar": _similar,
    "most_partnered": _most_partnered,
    HISTORY_RULE: _shared_history,
}
PARTNER_BASELINES = (*RULES, "plain_logit")

# The product's own rows of the evaluation: its order, its likelihood, and the same without
# its shared-history term (what that term adds or costs: not a baseline, never judged against).
PRODUCT_LABELS = {
    "model": "the product (by expected savings)",
    "model_likelihood": "the product's likelihood alone",
    "model_no_history": "the product without shared history",
}
BASELINE_LABELS = {
    "nearest": "nearest by distance",
    "kind_nearest": "same kind of body, then nearest",
    "group_nearest": "same tier group, then nearest",
    "group_border": "same tier group neighbours by border length, then nearest",
    "similar": "similar bodies (CIPFA-style), same tier group first",
    "most_partnered": "most-partnered bodies",
    "shared_history": "already works with it, then nearest",
    "plain_logit": "plain logistic regression on a dozen pair features (real register)",
    "service_median": "median savings by service",
}


class ServiceMedian:
    """Median annual savings by service, with the 10th-90th percentile range as interval."""

    def fit(self, service: npt.ArrayLike, savings: npt.ArrayLike) -> ServiceMedian:
        frame = pd.DataFrame({"service": np.asarray(service), "y": np.asarray(savings, float)})
        grouped = frame.groupby("service")["y"]
        enough = grouped.size() >= 3
        self.median_ = grouped.median()[enough].to_dict()
        self.low_ = grouped.quantile(0.1)[enough].to_dict()
        self.high_ = grouped.quantile(0.9)[enough].to_dict()
        self.overall_ = (
            float(frame["y"].median()),
            float(frame["y"].quantile(0.1)),
            float(frame["y"].quantile(0.9)),
        )
        return self

    def predict(self, service: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return (median, low, high) for each row's service."""
        keys = list(np.asarray(service))
        med, low, high = self.overall_
        return (
            np.array([self.median_.get(k, med) for k in keys], dtype=float),
            np.array([self.low_.get(k, low) for k in keys], dtype=float),
            np.array([self.high_.get(k, high) for k in keys], dtype=float),
        )
