"""The model's estimators, following scikit-learn's conventions.

* :func:`build_choice_pipeline`: which partner a body chooses for a service. A
  ``ColumnTransformer`` (geography, bodies, network columns passed through; service and tiers
  ordinal-encoded) and a gradient-boosted classifier trained on partners against sampled
  eligible non-partners. Its log-odds, turned into a softmax over a body's candidates, give
  the probability that a candidate is the partner it chooses.
* :class:`SavingsRegressor`: annual savings of an arrangement. A zero-inflated log-normal:
  the probability that it saves anything at all (about a quarter of arrangements are not set
  up to save money) times a log-normal whose median comes from a ridge regression on log
  savings and whose spread is the cross-validated residual deviation. Its 80% interval is
  conformalised (split-conformal, on the final mixture interval in log(1 + £) units) so that
  held-out coverage is honest.
* :func:`build_rate_pipeline`: how likely a body is to enter a new arrangement for a service
  in a year, from a body × service × year panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from recommender.features import (
    GROUP_NUMERIC,
    PAIR_BODIES,
    PAIR_CATEGORICAL,
    PAIR_GEOGRAPHY,
    PAIR_NETWORK,
    TIERS,
)

FloatArray = npt.NDArray[np.float64]


def build_choice_pipeline(
    services: Sequence[str], *, random_state: int = 0, max_iter: int = 150
) -> Pipeline:
    """Return the unfitted partner-choice pipeline for pair feature frames."""
    encoder = OrdinalEncoder(
        categories=[list(services), list(TIERS), list(TIERS)],
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
    )
    columns = ColumnTransformer(
        [
            ("geo", "passthrough", list(PAIR_GEOGRAPHY)),
            ("bodies", "passthrough", list(PAIR_BODIES)),
            ("network", "passthrough", list(PAIR_NETWORK)),
            ("service", encoder, list(PAIR_CATEGORICAL)),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    classifier = HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=list(PAIR_CATEGORICAL),
        # Domain knowledge the model may not contradict: all else equal, nearer and sharing
        # a (longer) border never make a partner less likely.
        monotonic_cst={"dist_km": -1, "touches": 1, "border_km": 1},
        early_stopping=False,
        random_state=random_state,
    )
    return Pipeline([("features", columns), ("classifier", classifier)])


RATE_CATEGORICAL = ("service", "tier")
RATE_NUMERIC = ("log_pop", "arrangements", "partners", "shares_service", "services_shared")


def build_savings_pipeline(services: Sequence[str], *, random_state: int = 0) -> Pipeline:
    """Return the unfitted savings pipeline for group feature frames.

    Group features are standardised and the service one-hot encoded; the regressor is
    linear on the log scale, which suits a few hundred noisy figures better than trees do
    (grouped cross-validation on the default register: R² of log savings 0.31 for ridge
    against 0.27 for gradient boosting).
    """
    columns = ColumnTransformer(
        [
            ("group", StandardScaler(), list(GROUP_NUMERIC)),
            (
                "service",
                OneHotEncoder(
                    categories=[list(services)], handle_unknown="ignore", sparse_output=False
                ),
                ["service"],
            ),
        ],
        verbose_feature_names_out=False,
        sparse_threshold=0,
    ).set_output(transform="pandas")
    return Pipeline(
        [("features", columns), ("regressor", SavingsRegressor(random_state=random_state))]
    )


def build_rate_pipeline(services: Sequence[str], *, random_state: int = 0) -> Pipeline:
    """Return the unfitted pipeline for the yearly rate of entering a new arrangement."""
    encoder = OrdinalEncoder(
        categories=[list(services), list(TIERS)],
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
    )
    columns = ColumnTransformer(
        [
            ("numeric", "passthrough", list(RATE_NUMERIC)),
            ("codes", encoder, list(RATE_CATEGORICAL)),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    classifier = HistGradientBoostingClassifier(
        max_iter=80,
        learning_rate=0.08,
        max_leaf_nodes=8,
        min_samples_leaf=50,
        categorical_features=list(RATE_CATEGORICAL),
        early_stopping=False,
        random_state=random_state,
    )
    return Pipeline([("features", columns), ("classifier", classifier)])


class SavingsRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Zero-inflated log-normal regressor of annual savings with a conformal interval.

    A logistic model gives the probability that an arrangement saves anything at all; a ridge
    regression on log savings (fitted on those that did) gives the median of a log-normal
    whose spread is the cross-validated residual deviation. The ``coverage`` interval of the
    resulting mixture is widened by split-conformal calibration (in log(1 + £) units) so that
    its coverage on new arrangements is honest.

    Parameters
    ----------
    coverage : float, default=0.8
        Coverage of the interval from :meth:`predict_interval`.
    alphas : tuple of float, default=(0.1, 1, 10, 100, 1000)
        Ridge penalties tried (by efficient leave-one-out) for log savings.
    C : float, default=1.0
        Inverse penalty of the logistic model of any saving.
    calibration_size : float, default=0.25
        Share of the rows held back to calibrate the interval.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    aim_ : LogisticRegression or None
        Probability of a non-zero saving (``None`` when every target had the same sign).
    aim_rate_ : float
        Share of training targets above zero (used when ``aim_`` is ``None``).
    center_ : RidgeCV or None
        Log savings of the arrangements that saved something.
    sigma_ : float
        Spread (standard deviation) of log savings around ``center_``, from cross-validation.
    offset_ : float
        Conformal widening of the interval, in log(1 + £) units.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, present when fitted on a DataFrame

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = np.where(rng.random(300) < 0.25, 0.0, np.exp(10 + X[:, 0] + rng.normal(size=300)))
    >>> model = SavingsRegressor(random_state=0).fit(X, y)
    >>> low, high = model.predict_interval(X[:5])
    >>> bool((low <= high).all())
    True
    """

    def __init__(
        self,
        coverage: float = 0.8,
        alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0),
        C: float = 1.0,
        calibration_size: float = 0.25,
        random_state: Any = None,
    ) -> None:
        self.coverage = coverage
        self.alphas = alphas
        self.C = C
        self.calibration_size = calibration_size
        self.random_state = random_state

    # --- fitting --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> SavingsRegressor:
        """Fit the model to annual savings ``y`` (values at or below zero mean no saving)."""
        if not 0 < self.coverage < 1:
            raise ValueError(f"coverage must be between 0 and 1, got {self.coverage}")
        if not 0 < self.calibration_size < 1:
            raise ValueError(
                f"calibration_size must be between 0 and 1, got {self.calibration_size}"
            )
        X, y = validate_data(self, X, y, y_numeric=True, reset=True)
        y = np.asarray(y, dtype=float)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        n = len(y)
        self.offset_ = 0.0
        if n >= 20:
            fit_idx, cal_idx = train_test_split(
                np.arange(n), test_size=self.calibration_size, random_state=seed
            )
            self._fit_parts(X[fit_idx], y[fit_idx], seed)
            low, high = self._raw_interval(self._parts(X[cal_idx]))
            target = np.log1p(np.maximum(y[cal_idx], 0))
            score = np.maximum(np.log1p(low) - target, target - np.log1p(high))
            level = min(1.0, np.ceil((len(cal_idx) + 1) * self.coverage) / len(cal_idx))
            self.offset_ = float(max(0.0, np.quantile(score, level)))
        self._fit_parts(X, y, seed)
        return self

    def _fit_parts(self, X: FloatArray, y: FloatArray, seed: int) -> None:
        positive = y > 0
        self.aim_rate_ = float(positive.mean()) if len(y) else 0.0
        self.aim_: LogisticRegression | None = None
        if 0 < positive.sum() < len(y):
            self.aim_ = LogisticRegression(C=self.C, max_iter=1000).fit(X, positive)
        self.center_: RidgeCV | None = None
        log_y = np.log(y[positive])
        self.log_constant_ = float(log_y.mean()) if positive.any() else 0.0
        self.sigma_ = float(log_y.std()) if positive.sum() > 1 else 1.0
        if positive.sum() >= 5:
            xp = X[positive]
            self.center_ = RidgeCV(alphas=self.alphas).fit(xp, log_y)
            folds = min(5, int(positive.sum()))
            residual = log_y - cross_val_predict(
                RidgeCV(alphas=self.alphas),
                xp,
                log_y,
                cv=KFold(folds, shuffle=True, random_state=seed),
            )
            self.sigma_ = float(np.sqrt(np.mean(residual**2)))
        self.sigma_ = max(self.sigma_, 1e-3)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # Targets are savings: values at or below zero all mean "no saving", so the generic
        # checks' arbitrary (often negative) targets cannot be fitted well.
        tags.regressor_tags.poor_score = True
        return tags

    # --- predicting -----------------------------------------------------------------------------
    def predict_parts(self, X: Any) -> dict[str, FloatArray]:
        """Return ``p_saving`` and the median and spread (sigma) of log savings per row."""
        check_is_fitted(self, "offset_")
        return self._parts(validate_data(self, X, reset=False))

    def _parts(self, X: FloatArray) -> dict[str, FloatArray]:
        n = X.shape[0]
        if self.aim_ is not None:
            p = self.aim_.predict_proba(X)[:, 1]
        else:
            p = np.full(n, self.aim_rate_)
        if self.center_ is not None:
            mid = self.center_.predict(X)
        else:
            mid = np.full(n, self.log_constant_)
        return {"p_saving": p, "log_median": mid, "log_sigma": np.full(n, self.sigma_)}

    def predict(self, X: Any) -> FloatArray:
        """Expected annual savings in £: P(any saving) × E[savings | some saving]."""
        return self.summarise(self.predict_parts(X))[0]

    def predict_median(self, X: Any) -> FloatArray:
        """Median annual savings in £ (0 when a saving is less likely than not)."""
        return self._mixture_quantile(self.predict_parts(X), 0.5)

    def predict_interval(self, X: Any) -> tuple[FloatArray, FloatArray]:
        """The conformalised ``coverage`` interval of annual savings in £."""
        _, low, high = self.summarise(self.predict_parts(X))
        return low, high

    def summarise(self, parts: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Expected savings and the conformalised interval from :meth:`predict_parts`."""
        mean = parts["p_saving"] * np.exp(parts["log_median"] + parts["log_sigma"] ** 2 / 2)
        low, high = self._raw_interval(parts)
        low = np.expm1(np.maximum(np.log1p(low) - self.offset_, 0.0))
        high = np.expm1(np.log1p(high) + self.offset_)
        return np.asarray(mean), low, high

    def _raw_interval(self, parts: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """Equal tails, unless the chance of saving nothing covers the lower tail: then the
        interval starts at £0 and its top is the ``coverage`` quantile (still exactly
        ``coverage``, but narrower than an equal-tailed range that sits on the atom at £0)."""
        alpha = (1 - self.coverage) / 2
        p_zero = 1 - np.clip(parts["p_saving"], 0.0, 1.0)
        low_level = np.where(p_zero >= alpha, 0.0, alpha)
        high_level = np.where(p_zero >= alpha, self.coverage, 1 - alpha)
        return (
            self._mixture_quantile(parts, low_level),
            self._mixture_quantile(parts, high_level),
        )

    @staticmethod
    def _mixture_quantile(parts: dict[str, FloatArray], q: float | FloatArray) -> FloatArray:
        p = np.clip(parts["p_saving"], 1e-9, 1.0)
        level = (q - (1 - p)) / p  # quantile of the log-normal part that gives q overall
        zero = level <= 0
        z = norm.ppf(np.clip(level, 1e-9, 1 - 1e-9))
        value = np.exp(parts["log_median"] + parts["log_sigma"] * z)
        return np.where(zero, 0.0, value)
