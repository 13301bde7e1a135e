"""The model's estimators: scikit-learn conventions, economies of scale, honest intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.model.estimators import (
    SavingsModel,
    build_choice_pipeline,
    choice_weights,
    fit_history_weight,
)

SERVICES = ["legal", "procurement", "ict"]


def savings_data(n: int, seed: int, slope: float = 0.6) -> tuple[pd.DataFrame, np.ndarray]:
    """Savings that grow with the population merged in, by service, with log-normal noise."""
    rng = np.random.default_rng(seed)
    merged = np.exp(rng.uniform(np.log(5_000), np.log(800_000), n))
    members = rng.integers(2, 6, n).astype(float)
    service = rng.integers(0, len(SERVICES), n)
    base = np.array([2.0, 3.5, 2.5])[service]
    y = np.exp(base + slope * np.log(merged) + rng.normal(scale=0.8, size=n))
    frame = pd.DataFrame({"log_merged_pop": np.log(merged), "n_members": members})
    frame["service"] = pd.Categorical.from_codes(service, dtype=pd.CategoricalDtype(SERVICES))
    return frame, y


def test_savings_learn_the_economies_of_scale() -> None:
    X, y = savings_data(400, 0)
    model = SavingsModel().fit(X, y)
    assert model.slope() == pytest.approx(0.6, abs=0.1)


def test_a_tiny_partner_never_saves_more_than_a_large_one() -> None:
    X, y = savings_data(300, 1)
    model = SavingsModel().fit(X, y)
    merged = np.array([2_000.0, 20_000.0, 200_000.0])
    for s in range(len(SERVICES)):
        mid, low, high = model.pair_savings(np.full(3, s), merged)
        assert (np.diff(mid) >= 0).all() and (np.diff(high) >= 0).all()
        assert (low <= mid).all() and (mid <= high).all()


def test_every_figure_stays_within_what_the_real_figures_support_per_resident() -> None:
    X, y = savings_data(200, 2)
    model = SavingsModel().fit(X, y)
    low_rate, high_rate = np.percentile(y / np.exp(X["log_merged_pop"]), [5, 95])
    assert model.per_resident_ == pytest.approx((low_rate, high_rate))
    merged = np.array([100.0, 2_000.0, 50_000.0, 3_000_000.0])
    mid, low, high = model.pair_savings(np.zeros(4, dtype=np.intp), merged)
    for values in (mid, low, high):
        assert (values <= high_rate * merged + 1e-6).all()
        assert (values >= low_rate * merged - 1e-6).all()


def test_a_range_is_the_models_spread_around_the_median_as_kept_within_the_bounds() -> None:
    """A very small body's whole interval lay above the upper bound: low, median and high all
    came out as that bound, "£55k to £55k". Now the range is the model's spread below the bound
    the median is held at; where the median is within the bounds, the model's interval cut by
    them, as before."""
    X, y = savings_data(200, 2)
    model = SavingsModel().fit(X, y)
    low_rate, high_rate = model.per_resident_
    merged = np.array([2.0, 100.0, 2_000.0, 50_000.0, 3_000_000.0])
    mid, low, high = model.pair_savings(np.zeros(len(merged), dtype=np.intp), merged)
    assert (low < high).all() and (low <= mid).all() and (mid <= high).all()
    assert (low >= low_rate * merged - 1e-9).all() and (high <= high_rate * merged + 1e-9).all()
    held = mid >= high_rate * merged - 1e-9  # the median at the upper bound
    assert held.any() and not held.all()
    np.testing.assert_allclose(high[held], high_rate * merged[held])
    spread = np.maximum(mid * np.exp(model.residual_low_), low_rate * merged)
    np.testing.assert_allclose(low[held], spread[held])
    log_mid = model._log_median(X.head(50))
    merged50 = np.exp(X["log_merged_pop"][:50].to_numpy())
    inside = (np.exp(log_mid) > low_rate * merged50) & (np.exp(log_mid) < high_rate * merged50)
    assert inside.sum() > 10
    lo, hi = model.predict_interval(X.head(50))
    cut_lo = np.maximum(np.exp(log_mid + model.residual_low_), low_rate * merged50)
    cut_hi = np.minimum(np.exp(log_mid + model.residual_high_), high_rate * merged50)
    np.testing.assert_allclose(lo[inside], cut_lo[inside])
    np.testing.assert_allclose(hi[inside], cut_hi[inside])


def test_pair_savings_equal_the_general_prediction() -> None:
    X, y = savings_data(200, 3)
    model = SavingsModel().fit(X, y)
    pairs = X.assign(n_members=2.0).head(20)
    mid, low, high = model.pair_savings(
        pairs["service"].cat.codes.to_numpy(), np.exp(pairs["log_merged_pop"].to_numpy())
    )
    np.testing.assert_allclose(mid, model.predict(pairs))
    np.testing.assert_allclose(low, model.predict_interval(pairs)[0])
    np.testing.assert_allclose(high, model.predict_interval(pairs)[1])


def test_the_interval_covers_about_eighty_percent_of_new_arrangements() -> None:
    X, y = savings_data(1500, 4)
    model = SavingsModel().fit(X.iloc[:1000], y[:1000])
    low, high = model.predict_interval(X.iloc[1000:].reset_index(drop=True))
    covered = np.mean((y[1000:] >= low) & (y[1000:] <= high))
    assert 0.72 <= covered <= 0.9


def test_a_negative_slope_is_never_used() -> None:
    X, y = savings_data(300, 5, slope=-0.4)
    model = SavingsModel().fit(X, y)
    assert model.slope() == 0.0


@pytest.mark.parametrize("coverage", [0, 1, 1.5])
def test_savings_refuse_a_coverage_outside_zero_one(coverage: float) -> None:
    X, y = savings_data(50, 6)
    with pytest.raises(ValueError, match="coverage"):
        SavingsModel(coverage=coverage).fit(X, y)


def test_savings_need_a_few_figures() -> None:
    X, y = savings_data(4, 7)
    with pytest.raises(ValueError, match="at least 5"):
        SavingsModel().fit(X, y)


def test_choice_weights_reproduce_the_pipeline() -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(loc=3.0, scale=[1.0, 5.0, 0.1], size=(500, 3))
    y = (X[:, 0] - 0.2 * X[:, 1] + rng.normal(size=500) > 3.5).astype(int)
    pipeline = build_choice_pipeline().fit(X, y)
    w, b = choice_weights(pipeline)
    np.testing.assert_allclose(X @ w + b, pipeline.decision_function(X), rtol=1e-6, atol=1e-8)


def history_queries(weight: float, seed: int, n: int = 400, size: int = 30) -> tuple:  # type: ignore[type-arg]
    """Queries whose chosen candidate is drawn from softmax(offset + weight * history)."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(size=n * size)
    history = np.where(rng.random(n * size) < 0.2, rng.uniform(0.3, 2.0, n * size), 0.0)
    query = np.repeat(np.arange(n), size)
    relevant = np.zeros(n * size, dtype=bool)
    for q in range(n):
        rows = slice(q * size, (q + 1) * size)
        z = offset[rows] + weight * history[rows]
        p = np.exp(z - z.max())
        relevant[q * size + rng.choice(size, p=p / p.sum())] = True
    return offset, history, relevant, query, np.ones(n * size)


@pytest.mark.parametrize("weight", [0.0, 0.8, 2.0])
def test_the_history_weight_is_recovered_by_maximum_likelihood(weight: float) -> None:
    found = fit_history_weight(*history_queries(weight, seed=int(weight * 10)))
    assert found == pytest.approx(weight, abs=0.25)


def test_the_history_weight_is_never_negative() -> None:
    offset, history, relevant, query, weight = history_queries(0.0, seed=5)
    # the chosen candidates never have history: the best weight would be negative
    history = np.where(relevant, 0.0, history + 0.5)
    assert fit_history_weight(offset, history, relevant, query, weight) == pytest.approx(
        0.0, abs=1e-3
    )
