"""The whole training job: features, the held-out evaluation, the final fit, importance and the
metadata a saved model carries (:func:`train`); :func:`train_and_save` reads the inputs
(:func:`training_inputs`: the reference, the services and the register, the database's or a
file validated like an import), trains, saves through :func:`artifacts.save` (which records the
library versions and the git commit) and promotes when given the check to pass first. The CLI,
the bench and the tests train through here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from recommender.core.config import Settings
from recommender.core.errors import ImportRejected, InvalidInput
from recommender.database import db
from recommender.model import artifacts, engines
from recommender.model.engines import LOCAL_WORKERS
from recommender.model.estimators import SavingsModel
from recommender.model.evaluation import Evaluation
from recommender.model.explain import feature_importance
from recommender.model.features import GROUP_FEATURES, PAIR_FEATURES
from recommender.model.fit import (
    NEGATIVES,
    SIMULATED_WEIGHT,
    Context,
    TrainedModel,
    TrainingData,
    check_learnable,
    compact_register,
    fit_components,
    register_hash,
    savings_figures,
)
from recommender.model.horizon import HORIZON_YEARS
from recommender.model.network import SnapshotCache
from recommender.model.scoring import enter_probability
from recommender.model.verdicts import summary

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
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = LOCAL_WORKERS,
    stage: Stage | None = None,
    progress: Stage | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Evaluate, fit on the whole register and prepare serving; return model and metadata.

    ``stage(name)`` is called as each stage starts (for a progress bar); ``progress(text)``
    with finer detail inside the evaluation. ``evaluation=False`` skips the held-out
    evaluation (for tests and quick runs; the metadata then says so). The evaluation's folds
    run on ``engine`` (:func:`recommender.model.engines.evaluate`: in this process, or as Dask
    tasks on the cluster at ``scheduler``, else on a local one of ``workers``), with the same
    results.
    """
    step = stage or (lambda _: None)
    started = time.perf_counter()
    step("features")
    ctx = Context.build(bodies, adjacency, services, arrangements, members, governed)
    check_learnable(ctx)
    step("evaluation")
    if evaluation:
        result = engines.evaluate(
            ctx,
            engine=engine,
            scheduler=scheduler,
            workers=workers,
            random_state=random_state,
            progress=progress,
        )
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
            "savings": _savings_params(comp.savings, ctx, arrangements),
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


def _savings_params(
    model: SavingsModel | None, ctx: Context, arrangements: pd.DataFrame
) -> dict[str, Any]:
    if model is None:
        return {}
    return {
        "estimator": type(model).__name__,
        "elasticity_to_population_merged": round(model.slope(), 3),
        "per_resident_bounds_gbp": [round(v, 2) for v in model.per_resident_],
        "bound_percentiles": list(model.bound_percentiles),
        "coverage": model.coverage,
        "figures_gbp": [round(float(v)) for v in model.figures_],  # the documented ones
        "figures_by_basis": _figures_by_basis(ctx, arrangements),
    }


def _figures_by_basis(ctx: Context, arrangements: pd.DataFrame) -> dict[str, int]:
    """How the savings model's figures (:func:`savings_figures`: every documented one, each read
    as a yearly one) were given by their sources: ``{"annual": 7, "projected": 29, …}``, so
    that what it learnt from can be said plainly: a projection or a total is not a yearly
    saving reported."""
    known = savings_figures(ctx, ctx.usable() & ~ctx.reg.simulated)
    basis = dict(zip(arrangements["id"], arrangements["savings_basis"], strict=True))
    counts = Counter(str(basis[ctx.reg.ids[k]]) for k in known)
    return dict(sorted(counts.items()))


def training_inputs(
    settings: Settings, register_file: Path | None = None, *, refused: str = "no model was trained"
) -> dict[str, Any]:
    """Return the keyword arguments of :func:`train` for ``settings``:
    the bodies, adjacency, services, governed pairs and the register (or ``register_file``).

    ``refused`` ends the message when ``register_file`` has bad rows: what the caller did not
    do (``evaluate`` trains nothing, so it says "nothing was evaluated")."""
    from recommender.core.services import load_services
    from recommender.reference import lookup as reference
    from recommender.register import records as register

    bodies = pd.DataFrame(reference.load_bodies(settings).drop(columns="geometry"))
    if register_file is not None:
        try:
            arrangements, members = register.read_register_file(register_file, settings)
        except ImportRejected as err:  # a file to train on, not to import
            raise ImportRejected(err.path, err.errors, refused) from None
    else:
        arrangements, members = register.load_register(settings)
    return {
        "bodies": bodies,
        "adjacency": reference.load_adjacency(settings),
        "services": load_services(settings),
        "arrangements": arrangements,
        "members": members,
        "governed": reference.governed_pairs(settings),
    }


def train_and_save(
    settings: Settings,
    *,
    register_file: Path | None = None,
    promote: artifacts.Check | None = None,
    evaluate: bool = True,
    seed: int = 0,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = LOCAL_WORKERS,
    stage: Stage | None = None,
    progress: Stage | None = None,
) -> tuple[str, dict[str, Any]]:
    """Train a model on the settings' register, save it and optionally promote it.

    Parameters
    ----------
    settings : Settings
        Where the reference, the register (database) and the models folder are.
    register_file : Path, optional
        Train on this register file (CSV or JSON) instead of the database's register.
    promote : callable, optional
        Promote the saved version once this check passes on it (e.g.
        :func:`recommender.recommend.serving.check`: a first query on it, which the layer
        above this one knows how to ask).
    evaluate : bool
        Run the held-out evaluation first (minutes on the real register).
    seed : int
        The random state of the training.
    engine, scheduler, workers : str, str, int
        Where the evaluation's folds run (:func:`train`).
    stage, progress : callable, optional
        Called with each stage's name as it starts (the last one is ``"save"``) and with finer
        detail inside the evaluation.

    Returns
    -------
    version, metadata : str, dict
        The saved version and its metadata (as written beside the artifact, less the checksum).
    """
    artifacts.check_writable(settings)  # a read-only or full models/ fails now, not after training
    engines.check_engine(engine, scheduler)  # and a wrong engine choice
    inputs = training_inputs(settings, register_file)
    model: TrainedModel
    try:
        model, meta = train(
            **inputs,
            random_state=seed,
            evaluation=evaluate,
            engine=engine,
            scheduler=scheduler,
            workers=workers,
            stage=stage,
            progress=progress,
        )
    except InvalidInput as err:
        if err.field == "register":  # say which register (not the database URL: a password)
            raise InvalidInput(
                f"{register_file or 'the register database'} is {err.detail}", field=err.field
            ) from None
        raise
    if stage is not None:
        stage("save")
    # Shown on the public model page: no password, host or server folder.
    meta["register"]["source"] = db.public_source(str(register_file or settings.db_url))
    version = artifacts.save(model, meta, settings)
    if promote is not None:
        artifacts.promote(version, settings, check=promote)
    return version, meta
