"""The savings regressor follows scikit-learn's conventions and its interval is honest."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from recommender.estimators import SavingsRegressor


@parametrize_with_checks([SavingsRegressor(random_state=0)])
def test_sklearn_conventions(estimator, check):  # type: ignore[no-untyped-def]
    check(estimator)


def zero_inflated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    saves = rng.random(n) >= 0.25
    y = np.where(saves, np.exp(10 + 0.8 * X[:, 0] + rng.normal(scale=0.9, size=n)), 0.0)
    return X, y


def test_interval_covers_about_eighty_percent_of_new_data() -> None:
    X, y = zero_inflated(1500, 0)
    model = SavingsRegressor(random_state=0).fit(X[:1000], y[:1000])
    low, high = model.predict_interval(X[1000:])
    covered = np.mean((y[1000:] >= low) & (y[1000:] <= high))
    assert 0.72 <= covered <= 0.9
    assert np.all(low >= 0) and np.all(low <= high)


def test_learns_the_driver_of_savings() -> None:
    X, y = zero_inflated(800, 1)
    model = SavingsRegressor(random_state=0).fit(X, y)
    parts = model.predict_parts(np.array([[-1.0, 0, 0], [1.0, 0, 0]]))
    assert parts["log_median"][1] - parts["log_median"][0] == pytest.approx(1.6, abs=0.3)
    assert parts["p_saving"] == pytest.approx([0.75, 0.75], abs=0.1)


def test_expected_savings_account_for_arrangements_that_save_nothing() -> None:
    X, y = zero_inflated(800, 2)
    model = SavingsRegressor(random_state=0).fit(X, y)
    parts = model.predict_parts(X[:5])
    mean = model.predict(X[:5])
    conditional = np.exp(parts["log_median"] + parts["log_sigma"] ** 2 / 2)
    np.testing.assert_allclose(mean, parts["p_saving"] * conditional)


def test_all_zero_targets_predict_zero() -> None:
    X = np.random.default_rng(3).normal(size=(40, 2))
    model = SavingsRegressor(random_state=0).fit(X, np.zeros(40))
    assert np.all(model.predict(X) == 0)


@pytest.mark.parametrize("coverage", [0, 1, 1.5])
def test_rejects_a_coverage_outside_zero_one(coverage: float) -> None:
    X, y = zero_inflated(50, 4)
    with pytest.raises(ValueError, match="coverage"):
        SavingsRegressor(coverage=coverage).fit(X, y)
