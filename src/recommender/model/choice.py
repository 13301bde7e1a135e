"""A conditional logit: one choice among a set of alternatives, fitted by weighted Newton steps.

Used to compare how the simulated and the real registers choose partners
(:mod:`recommender.simulation.patterns_compare`): each *event* is a focal body choosing one partner
among
its alternatives, the chosen partner first. The probability of alternative *j* in event *e* is
the softmax of ``X[e, j] @ beta`` over the alternatives available in that event. With
alternatives sampled uniformly from the eligible ones, the estimate is consistent for the
coefficients of the full choice set (McFadden, 1978), so the sample size changes only the
precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

RIDGE = 1e-6  # a whisper of L2, so that a feature constant within every event stays finite


@dataclass(frozen=True)
class LogitFit:
    """A fitted conditional logit.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        The coefficients.
    log_likelihood : float
        The weighted log-likelihood at ``coef``.
    n_iter : int
        Newton steps taken.
    converged : bool
        Whether the last step was below the tolerance.
    """

    coef: FloatArray
    log_likelihood: float
    n_iter: int
    converged: bool


def _terms(
    X: FloatArray, available: BoolArray, weights: FloatArray, coef: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Return the log-likelihood, its gradient and its Hessian at ``coef``."""
    u = np.where(available, X @ coef, -np.inf)
    top = u.max(axis=1, keepdims=True)
    e = np.exp(u - top)
    total = e.sum(axis=1, keepdims=True)
    p = e / total
    ll = float((weights * (u[:, 0] - top[:, 0] - np.log(total[:, 0]))).sum())
    # Unavailable alternatives have p = 0, so their (finite) features drop out.
    mean = np.einsum("ej,ejf->ef", p, X)
    grad = weights @ (X[:, 0, :] - mean)
    root = np.sqrt(weights[:, None] * p)[..., None] * (X - mean[:, None, :])
    flat = root.reshape(-1, X.shape[2])
    return ll, grad, -(flat.T @ flat)


def event_terms(
    X: FloatArray, available: BoolArray, coef: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return each event's score (gradient of its log-likelihood, shape (n_events,
    n_features)) and information (minus its Hessian, shape (n_events, n_features,
    n_features)) at ``coef``: weighted sums of them give any reweighting's Newton step."""
    u = np.where(available, X @ coef, -np.inf)
    e = np.exp(u - u.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    mean = np.einsum("ej,ejf->ef", p, X)
    centred = X - mean[:, None, :]
    info = np.einsum("ej,ejf,ejg->efg", p, centred, centred, optimize=True)
    return X[:, 0, :] - mean, info


def one_step(
    score: FloatArray, info: FloatArray, coef: FloatArray, weights: FloatArray
) -> FloatArray:
    """Return the coefficients one Newton step from ``coef`` for each row of event
    ``weights`` (shape (n_draws, n_events)): the one-step bootstrap (Davidson and MacKinnon,
    1999), which needs no refit per resample."""
    ridge = RIDGE * np.maximum(1.0, weights.sum(axis=1))
    grad = weights @ score - ridge[:, None] * coef
    n = len(coef)
    hess = (weights @ info.reshape(len(info), -1)).reshape(-1, n, n) + ridge[
        :, None, None
    ] * np.eye(n)
    return coef + np.linalg.solve(hess, grad[..., None])[..., 0]


def fit_conditional_logit(
    X: FloatArray,
    available: BoolArray | None = None,
    weights: FloatArray | None = None,
    *,
    start: FloatArray | None = None,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> LogitFit:
    """Fit a conditional logit by Newton's method with step halving.

    Parameters
    ----------
    X : ndarray of shape (n_events, n_alternatives, n_features)
        Features of each alternative; alternative 0 of every event is the one chosen.
    available : ndarray of bool, shape (n_events, n_alternatives), optional
        Which alternatives exist in each event (all when omitted); alternative 0 must.
    weights : ndarray of shape (n_events,), optional
        Weight of each event (e.g. bootstrap counts); 1 when omitted.
    start : ndarray of shape (n_features,), optional
        Starting coefficients (zeros when omitted); a warm start speeds up refits.
    max_iter, tol : int, float
        At most ``max_iter`` steps; converged when the largest step is below ``tol``.

    Returns
    -------
    LogitFit
    """
    n_events, _, n_features = X.shape
    available = np.ones(X.shape[:2], dtype=bool) if available is None else available
    if n_events and not available[:, 0].all():
        raise ValueError("the chosen alternative (0) must be available in every event")
    weights = np.ones(n_events) if weights is None else np.asarray(weights, dtype=float)
    coef = np.zeros(n_features) if start is None else np.asarray(start, dtype=float).copy()
    ridge = RIDGE * max(1.0, float(weights.sum()))
    ll, grad, hess = _terms(X, available, weights, coef)
    for step in range(1, max_iter + 1):
        grad_r = grad - ridge * coef
        hess_r = hess - ridge * np.eye(n_features)
        delta = np.linalg.solve(hess_r, -grad_r)
        scale = 1.0
        while True:
            trial = coef + scale * delta
            ll_t, grad_t, hess_t = _terms(X, available, weights, trial)
            penalty = ridge / 2 * (trial @ trial - coef @ coef)
            if ll_t - penalty >= ll - 1e-12 * abs(ll) or scale < 1e-4:
                break
            scale /= 2
        coef, ll, grad, hess = trial, ll_t, grad_t, hess_t
        if np.abs(scale * delta).max() < tol:
            return LogitFit(coef, ll, step, True)
    return LogitFit(coef, ll, max_iter, False)
