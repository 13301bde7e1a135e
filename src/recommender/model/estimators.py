"""The model's estimators, following scikit-learn's conventions.

* :func:`build_choice_pipeline`: which partner a body chooses, from the pair features of
  :mod:`recommender.model.features` (standardised), by a regularised logistic regression fitted on
  the real arrangements' partners against sampled eligible non-partners. Its log-odds, turned
  into a softmax over a body's candidates, give the chance that a candidate is the new partner
  when the body looks beyond its existing partnerships.
* :func:`fit_history_weight`: how much a real shared history with a candidate raises the chance
  of choosing it again, as the weight of ``log(1 + tie)`` in a conditional logit whose offset is
  the partner-choice log-odds (fitted on real arrangements, each against the network from
  before it started).
* :class:`SavingsModel`: annual savings of an arrangement if it forms, with economies of scale:
  log savings grow with the log of the population merged in (for a pair, the smaller partner)
  and vary by service; the interval is conformal; every figure is kept within the range the
  real figures support per resident merged in.
* :func:`build_rate_pipeline`: how likely a body is to enter a new arrangement for a service in
  a year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from recommender.model.features import GROUP_NUMERIC
from recommender.model.patterns import GROUPS

FloatArray = npt.NDArray[np.float64]
RATE_NUMERIC = ("log_pop",)
RATE_CATEGORICAL = ("service", "group")


def build_choice_pipeline(*, C: float = 1.0) -> Pipeline:
    """Return the unfitted partner-choice pipeline (pair feature rows -> log-odds)."""
    return Pipeline(
        [("scale", StandardScaler()), ("logit", LogisticRegression(C=C, max_iter=5000))]
    )


def choice_weights(pipeline: Pipeline) -> tuple[FloatArray, float]:
    """The fitted choice model as weights on the raw (unscaled) pair features and an
    intercept, so that ``rows @ w + b`` is the log-odds (used for fast scoring and reasons)."""
    scale: StandardScaler = pipeline.named_steps["scale"]
    logit: LogisticRegression = pipeline.named_steps["logit"]
    sd = np.where(scale.scale_ > 0, scale.scale_, 1.0)
    w = logit.coef_[0] / sd
    b = float(logit.intercept_[0] - np.sum(logit.coef_[0] * scale.mean_ / sd))
    return np.asarray(w, dtype=float), b


def fit_history_weight(
    offset: FloatArray,
    history: FloatArray,
    relevant: npt.NDArray[np.bool_],
    query: npt.NDArray[np.intp],
    weight: FloatArray,
    *,
    most: float = 5.0,
) -> float:
    """The weight ``g`` of shared history in a conditional logit, by maximum likelihood.

    Each query (a body choosing partners for a service, with its candidates in consecutive
    rows, ``query`` ascending) scores its candidates ``offset + g · history`` (``offset``: the
    partner-choice log-odds; ``history``: ``log(1 + tie)`` with each candidate); the softmax
    gives each relevant candidate's probability. ``g`` maximises the weighted mean log
    probability of the relevant candidates, over ``[0, most]``.
    """
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    counts = np.diff(np.r_[starts, len(query)])
    n_relevant = np.add.reduceat(relevant.astype(float), starts)
    q_weight = weight[starts] / np.maximum(n_relevant, 1)

    def loss(g: float) -> float:
        z = offset + g * history
        top = np.maximum.reduceat(z, starts)
        log_total = top + np.log(np.add.reduceat(np.exp(z - np.repeat(top, counts)), starts))
        picked = np.add.reduceat(np.where(relevant, z, 0.0), starts)
        return -float(np.sum(q_weight * (picked - n_relevant * log_total)))

    found = minimize_scalar(loss, bounds=(0.0, most), method="bounded")
    return float(found.x)


class SavingsModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Annual savings of an arrangement if it forms, with economies of scale.

    ``log £ = a + b · log(population merged in) + c · members + service effect`` by ridge
    regression on the real arrangements' annualised figures (those that saved something), with
    ``b`` kept at or above 0: merging a larger population never saves less. The estimate is the
    median (the typical figure); the ``coverage`` interval adds cross-validated residual
    quantiles (split-conformal, so that coverage on new arrangements is honest). Every figure is
    then kept within what the real figures support: between the ``bound_percentiles`` of the
    training figures' savings per resident merged in, times the population merged in. The
    interval is the model's spread around the median as kept within those bounds, cut by them:
    where the median is within the bounds, the model's interval within them; where it is not
    (a very small body, whose whole interval lies above the upper bound), the spread below the
    bound it is held at, never one figure three times.

    Parameters
    ----------
    coverage : float, default=0.8
    alphas : tuple of float, default=(0.1, 1, 10, 100)
        Ridge penalties tried (efficient leave-one-out).
    bound_percentiles : tuple of float, default=(5, 95)
        Percentiles of real £ per resident merged in that bound every figure.

    Attributes
    ----------
    ridge_ : Pipeline
    residual_low_, residual_high_ : float
        Conformal quantiles of the cross-validated log residuals.
    per_resident_ : tuple of float
        The £ per resident merged in at ``bound_percentiles``.
    figures_ : ndarray of float
        The annual figures it was fitted on, smallest first (what they are like, e.g. against
        the published share of partnerships that save under £100k a year, is said with them).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    """

    def __init__(
        self,
        coverage: float = 0.8,
        alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0),
        bound_percentiles: tuple[float, float] = (5.0, 95.0),
    ) -> None:
        self.coverage = coverage
        self.alphas = alphas
        self.bound_percentiles = bound_percentiles

    def _pipeline(self, services: list[str]) -> Pipeline:
        columns = ColumnTransformer(
            [
                ("numeric", StandardScaler(), list(GROUP_NUMERIC)),
                (
                    "service",
                    OneHotEncoder(
                        categories=[services], handle_unknown="ignore", sparse_output=False
                    ),
                    ["service"],
                ),
            ],
            sparse_threshold=0,
        )
        return Pipeline([("features", columns), ("ridge", RidgeCV(alphas=self.alphas))])

    def fit(self, X: Any, y: Any) -> SavingsModel:
        """Fit on group feature frames ``X`` and annual savings ``y`` (£; figures <= 0 are not
        savings and are left out)."""
        if not 0 < self.coverage < 1:
            raise ValueError(f"coverage must be between 0 and 1, got {self.coverage}")
        y = np.asarray(y, dtype=float)
        keep = y > 0
        X, y = X[keep].reset_index(drop=True), y[keep]
        if len(y) < 5:
            raise ValueError(f"at least 5 positive savings figures are needed, got {len(y)}")
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.services_ = [str(s) for s in X["service"].cat.categories]
        log_y = np.log(y)
        self.ridge_ = self._pipeline(self.services_).fit(X, log_y)
        self._monotone(X)
        folds = KFold(min(5, len(y)), shuffle=True, random_state=0)
        predicted = cross_val_predict(self._pipeline(self.services_), X, log_y, cv=folds)
        residual = log_y - predicted
        alpha = (1 - self.coverage) / 2
        n = len(residual)
        # Split-conformal quantiles (with the finite-sample correction).
        self.residual_low_ = float(np.quantile(residual, max(0.0, np.floor(alpha * (n + 1)) / n)))
        self.residual_high_ = float(
            np.quantile(residual, min(1.0, np.ceil((1 - alpha) * (n + 1)) / n))
        )
        merged = np.exp(X["log_merged_pop"].to_numpy(dtype=float))
        low, high = np.percentile(y / merged, self.bound_percentiles)
        self.per_resident_ = (float(low), float(high))
        self.figures_ = np.sort(y)
        return self

    def _monotone(self, X: Any) -> None:
        """Keep the merged-population slope at or above 0 (economies of scale)."""
        ridge: RidgeCV = self.ridge_.named_steps["ridge"]
        if ridge.coef_[0] < 0:
            ridge.coef_[0] = 0.0

    def _log_median(self, X: Any) -> FloatArray:
        check_is_fitted(self, "ridge_")
        return np.asarray(self.ridge_.predict(X), dtype=float)

    def _bounds(self, X: Any) -> tuple[FloatArray, FloatArray]:
        merged = np.exp(np.asarray(X["log_merged_pop"], dtype=float))
        return self.per_resident_[0] * merged, self.per_resident_[1] * merged

    def predict(self, X: Any) -> FloatArray:
        """The typical (median) annual saving in £, within the supported range."""
        low, high = self._bounds(X)
        return np.clip(np.exp(self._log_median(X)), low, high)

    def predict_interval(self, X: Any) -> tuple[FloatArray, FloatArray]:
        """The ``coverage`` interval of annual savings in £, within the supported range."""
        mid = self._log_median(X)
        low, high = self._bounds(X)
        return self._kept(mid, low, high)

    def _kept(
        self, log_mid: FloatArray, low: FloatArray, high: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """The interval around the median kept within ``[low, high]``, cut by them."""
        median = np.minimum(np.maximum(np.exp(log_mid), low), high)
        lo = np.maximum(median * np.exp(self.residual_low_), low)
        hi = np.minimum(median * np.exp(self.residual_high_), high)
        return np.minimum(lo, median), np.maximum(hi, median)

    def pair_terms(self) -> tuple[FloatArray, float]:
        """``(a, b)`` such that the median log saving of a two-body arrangement for service
        ``s`` is ``a[s] + b · log(population merged in)`` (for fast vectorised scoring)."""
        check_is_fitted(self, "ridge_")
        ridge: RidgeCV = self.ridge_.named_steps["ridge"]
        features: ColumnTransformer = self.ridge_.named_steps["features"]
        scale: StandardScaler = features.named_transformers_["numeric"]
        b_pop, b_members = ridge.coef_[:2] / scale.scale_
        base = ridge.intercept_ - b_pop * scale.mean_[0] + b_members * (2 - scale.mean_[1])
        return np.asarray(base + ridge.coef_[2:], dtype=float), float(b_pop)

    def pair_savings(
        self,
        service: npt.NDArray[np.intp],
        merged: FloatArray,
        *,
        terms: tuple[FloatArray, float] | None = None,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Median and interval of two-body arrangements, vectorised (equal to
        :meth:`predict` and :meth:`predict_interval` on their group features); ``terms`` are
        :meth:`pair_terms`, when the caller keeps them."""
        a, b = self.pair_terms() if terms is None else terms
        mid = a[service] + b * np.log(np.maximum(merged, 1.0))
        low_cap, high_cap = self.per_resident_[0] * merged, self.per_resident_[1] * merged

        median = np.minimum(np.maximum(np.exp(mid), low_cap), high_cap)  # np.clip, faster
        return (median, *self._kept(mid, low_cap, high_cap))

    def slope(self) -> float:
        """The fitted elasticity of savings to the population merged in."""
        ridge: RidgeCV = self.ridge_.named_steps["ridge"]
        scale: StandardScaler = self.ridge_.named_steps["features"].named_transformers_["numeric"]
        return float(ridge.coef_[0] / scale.scale_[0])


def build_rate_pipeline(services: list[str]) -> Pipeline:
    """Return the unfitted pipeline for the yearly chance of entering a new arrangement: a
    logistic regression on the service, the tier group and log population."""
    columns = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(RATE_NUMERIC)),
            (
                "codes",
                OneHotEncoder(categories=[services, list(GROUPS)], handle_unknown="ignore"),
                list(RATE_CATEGORICAL),
            ),
        ]
    )
    return Pipeline([("features", columns), ("logit", LogisticRegression(max_iter=2000))])
