"""The conditional logit (``recommender.model.choice``) on choices drawn from known coefficients."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from recommender.model.choice import event_terms, fit_conditional_logit, one_step

TRUE = np.array([1.5, -0.8, 0.0])


def draw(
    n_events: int, n_alternatives: int = 8, seed: int = 0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Events whose chosen alternative (moved to position 0) follows the logit with TRUE."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_events, n_alternatives, len(TRUE)))
    X[..., 0] = rng.random((n_events, n_alternatives)) < 0.3  # a binary feature, like "touches"
    u = X @ TRUE + rng.gumbel(size=(n_events, n_alternatives))
    chosen = u.argmax(axis=1)
    rows = np.arange(n_events)
    first = X[rows, 0].copy()
    X[rows, 0], X[rows, chosen] = X[rows, chosen], first
    return X, np.ones(X.shape[:2], dtype=bool)


def test_the_fit_recovers_the_coefficients_that_drew_the_choices() -> None:
    X, available = draw(4000)
    fit = fit_conditional_logit(X, available)
    assert fit.converged and fit.n_iter < 15
    assert fit.coef == pytest.approx(TRUE, abs=0.12)


def test_unavailable_alternatives_are_not_chosen_among() -> None:
    X, available = draw(3000, seed=1)
    # Make half the alternatives very attractive but unavailable: the estimate must not move.
    padded = np.concatenate([X, X[:, 1:] + np.array([5.0, 0.0, 0.0])], axis=1)
    mask = np.concatenate([available, np.zeros_like(available[:, 1:])], axis=1)
    assert fit_conditional_logit(padded, mask).coef == pytest.approx(
        fit_conditional_logit(X, available).coef, abs=1e-8
    )
    with pytest.raises(ValueError, match="chosen alternative"):
        fit_conditional_logit(X, ~available)


def test_weights_count_events() -> None:
    X, available = draw(600, seed=2)
    weights = np.random.default_rng(3).integers(0, 3, len(X)).astype(float)
    repeated = np.repeat(np.arange(len(X)), weights.astype(int))
    weighted = fit_conditional_logit(X, available, weights).coef
    assert weighted == pytest.approx(fit_conditional_logit(X[repeated], available[repeated]).coef)


def test_one_newton_step_approximates_a_refit_of_a_resample() -> None:
    X, available = draw(2000, seed=4)
    full = fit_conditional_logit(X, available).coef
    rng = np.random.default_rng(5)
    weights = rng.multinomial(len(X), np.full(len(X), 1 / len(X)), size=3).astype(float)
    score, info = event_terms(X, available, full)
    steps = one_step(score, info, full, weights)
    for w, step in zip(weights, steps, strict=True):
        refit = fit_conditional_logit(X, available, w).coef
        assert step == pytest.approx(refit, abs=0.02)
        assert not np.allclose(step, full)
    # The score sums to zero at the estimate: the step from it on all-ones weights is nil.
    assert one_step(score, info, full, np.ones((1, len(X))))[0] == pytest.approx(full, abs=1e-6)
