"""The whole training job: features, the held-out evaluation, the final fit, importance and the
metadata a saved model carries (:func:`train`); :func:`train_and_save` also saves it (and
promotes it when asked). The CLI, the bench and the tests train through here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from recommender.model.estimators import SavingsModel
from recommender.model.evaluation import Evaluation, evaluate, summary
from recommender.model.explain import feature_importance
from recommender.model.features import GROUP_FEATURES, PAIR_FEATURES
from recommender.model.fit import (
    NEGATIVES,
    SIMULATED_WEIGHT,
    Context,
    TrainedModel,
    TrainingData,
    compact_register,
    fit_components,
    register_hash,
)
from recommender.model.network import SnapshotCache
from recommender.model.scoring import HORIZON_YEARS, enter_probability

Stage = Callable[[str], None]


def train(
    bodies: pd.DataFrame,
    adjacency: pd.DataFrame,
    services: pd.DataFrame,
    arrangements: pd.DataFrame,
    members: pd.DataFrame,
    *,
    governed: Mapping[tuple[str, str], Any] | None = None,
    random_state: int = 0,
    evaluation: bool = True,
    stage: Stage | None = None,
    progress: Stage | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Evaluate, fit on the whole register and prepare serving; return model and metadata.

    ``stage(name)`` is called as each stage starts (for a progress bar); ``progress(text)``
    with finer detail inside the evaluation. ``evaluation=False`` skips the held-out
    evaluation (for tests and quick runs; the metadata then says so).
    """
    step = stage or (lambda _: None)
    started = time.perf_counter()
    step("features")
    ctx = Context.build(bodies, adjacency, services, arrangements, members, governed)
    step("evaluation")
    if evaluation:
        result = evaluate(ctx, random_state=random_state, progress=progress)
    else:  # tests and quick runs: no held-out figures
        result = Evaluation(pd.DataFrame(), pd.DataFrame(), {"skipped": True})
    step("fit")
    data = TrainingData.build(ctx, random_state=random_state)
    comp = fit_components(ctx, data, random_state=random_state)
    step("scoring")
    snap = SnapshotCache(ctx.reg, ctx.pairs.n).now()
    model = TrainedModel(
        context=ctx,
        components=comp,
        snapshot=snap,
        p_enter=enter_probability(ctx, comp),
        arrangements=compact_register(arrangements, members),
    )
    step("importance")
    model.importance = feature_importance(model)
    simulated = arrangements["simulated"].astype(bool)
    meta: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "register": {
            "hash": register_hash(arrangements, members),
            "arrangements": len(arrangements),
            "real": int((~simulated).sum()),
            "simulated": int(simulated.sum()),
            "members": len(members),
        },
        "parameters": {
            "random_state": random_state,
            "horizon_years": HORIZON_YEARS,
            "negatives": NEGATIVES,
            "simulated_weight": SIMULATED_WEIGHT,
            "choice": _params(comp.choice),
            "savings": _savings_params(comp.savings),
            "history_weight": round(comp.history_weight, 3),
            "rate": _params(comp.rate),
        },
        "features": {"pair": list(PAIR_FEATURES), "group": list(GROUP_FEATURES)},
        "evaluation": result.to_dict(),
        "summary": summary(result),
        "importance": model.importance,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return model, meta


def _params(pipeline: Pipeline | None) -> dict[str, Any]:
    if pipeline is None:
        return {}
    last = pipeline[-1]
    return {
        "estimator": type(last).__name__,
        **{k: v for k, v in last.get_params().items() if isinstance(v, int | float | str)},
    }


def _savings_params(model: SavingsModel | None) -> dict[str, Any]:
    if model is None:
        return {}
    return {
        "estimator": type(model).__name__,
        "elasticity_to_population_merged": round(model.slope(), 3),
        "per_resident_bounds_gbp": [round(v, 2) for v in model.per_resident_],
        "bound_percentiles": list(model.bound_percentiles),
        "coverage": model.coverage,
    }
