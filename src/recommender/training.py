"""Fit the model from a register and the reference geography.

:class:`Context` holds everything derived once per run (pair geography, body arrays, the
register as arrays); :func:`fit_components` fits the three parts of the model on a chosen set
of arrangements (see :mod:`recommender.estimators`); :func:`train` runs the whole job —
evaluation, the final fit on every arrangement and the scoring of every body (see
:mod:`recommender.scoring`) — and returns a :class:`~recommender.artifacts.TrainedModel`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.pipeline import Pipeline

from recommender.estimators import (
    RATE_CATEGORICAL,
    RATE_NUMERIC,
    build_choice_pipeline,
    build_rate_pipeline,
    build_savings_pipeline,
)
from recommender.features import BodyArrays, FeatureBuilder, choice_rows
from recommender.network import RegisterArrays, Snapshot, SnapshotCache, register_arrays
from recommender.pairs import PairMatrices, build_pair_matrices

IntArray = npt.NDArray[np.intp]


# Each real arrangement's rows are drawn this many times (with fresh negatives), so that the
# few documented arrangements weigh as much as a larger sample of simulated ones.
REAL_REPEATS = 20


@dataclass
class Context:
    """Everything derived from the reference data and the register, built once per run."""

    pairs: PairMatrices
    bodies: BodyArrays
    builder: FeatureBuilder
    reg: RegisterArrays
    services: tuple[str, ...]
    years: tuple[int, ...]

    @classmethod
    def build(
        cls,
        bodies: pd.DataFrame,
        adjacency: pd.DataFrame,
        services: pd.DataFrame,
        arrangements: pd.DataFrame,
        members: pd.DataFrame,
    ) -> Context:
        bodies = bodies.sort_index()
        pairs = build_pair_matrices(bodies, adjacency)
        service_ids = tuple(services.index)
        body_arrays = BodyArrays.build(bodies, services, pairs.codes)
        builder = FeatureBuilder(pairs, body_arrays, service_ids)
        reg = register_arrays(arrangements, members, pairs, service_ids)
        dated = reg.start[reg.dated]
        years = tuple(range(int(dated.min()), int(dated.max()) + 1)) if len(dated) else ()
        return cls(pairs, body_arrays, builder, reg, service_ids, years)

    def usable(self) -> npt.NDArray[np.bool_]:
        """Arrangements with at least two reference bodies among their members."""
        return np.array([len(m) >= 2 for m in self.reg.members], dtype=bool)


@dataclass
class Components:
    """The fitted parts of the model."""

    choice: Pipeline
    savings: Pipeline | None
    rate: Pipeline | None
    partners_per_service: npt.NDArray[np.float64]


def fit_components(
    ctx: Context,
    select: npt.NDArray[np.bool_],
    cache: SnapshotCache,
    *,
    random_state: int = 0,
    with_rate: bool = True,
) -> Components:
    """Fit choice, savings and (optionally) rate models on the selected arrangements."""
    select = select & ctx.usable()
    rows = choice_rows(
        ctx.builder, ctx.reg, cache, select, real_repeats=REAL_REPEATS, random_state=random_state
    )
    choice = build_choice_pipeline(ctx.services, random_state=random_state)
    choice.fit(rows.X, rows.y)

    savings = None
    known = select & ~np.isnan(ctx.reg.annual)
    if known.sum() >= 10:
        X, y = savings_rows(ctx, cache, known)
        savings = build_savings_pipeline(ctx.services, random_state=random_state).fit(X, y)

    rate = None
    if with_rate and ctx.years:
        panel, target = rate_panel(ctx, cache, select)
        if 0 < target.sum() < len(target):
            rate = build_rate_pipeline(ctx.services, random_state=random_state).fit(panel, target)
    return Components(choice, savings, rate, partners_per_service(ctx, select))


def savings_rows(
    ctx: Context, cache: SnapshotCache, select: npt.NDArray[np.bool_]
) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    """Group features (as of each start) and annual savings of the selected arrangements."""
    idx = np.flatnonzero(select)
    frames = []
    for k in idx:
        snap = cache.for_arrangement(int(k))
        frames.append(
            ctx.builder.group_frame([ctx.reg.members[k]], np.array([ctx.reg.service[k]]), snap)
        )
    return pd.concat(frames, ignore_index=True), ctx.reg.annual[idx]


def partners_per_service(ctx: Context, select: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Mean number of partners (members minus one) per arrangement, by service."""
    sizes = np.array([len(m) for m in ctx.reg.members], dtype=float)
    out = np.ones(len(ctx.services))
    overall = sizes[select].mean() - 1 if select.any() else 1.0
    for s in range(len(ctx.services)):
        mask = select & (ctx.reg.service == s)
        out[s] = sizes[mask].mean() - 1 if mask.sum() >= 3 else overall
    return out


def rate_panel(
    ctx: Context, cache: SnapshotCache, select: npt.NDArray[np.bool_]
) -> tuple[pd.DataFrame, npt.NDArray[np.int8]]:
    """A body × service × year panel: did the body enter a new arrangement that year?"""
    reg, b = ctx.reg, ctx.bodies
    n, n_services = ctx.pairs.n, len(ctx.services)
    years = sorted({int(y) for y in reg.start[select & reg.dated]})
    frames, targets = [], []
    for year in years:
        snap = cache.before(year)
        joined = np.zeros((n_services, n), dtype=bool)
        for k in np.flatnonzero(select & (reg.start == year)):
            joined[reg.service[k], reg.members[k]] = True
        s_idx, body_idx = np.nonzero(b.eligible)
        frames.append(rate_frame(ctx, snap, body_idx, s_idx))
        targets.append(joined[s_idx, body_idx].astype(np.int8))
    return pd.concat(frames, ignore_index=True), np.concatenate(targets)


def rate_frame(ctx: Context, snap: Snapshot, body: IntArray, service: IntArray) -> pd.DataFrame:
    """Features of the rate model for (body, service) rows as of ``snap``."""
    b = ctx.bodies
    frame = pd.DataFrame(
        {
            "log_pop": b.log_pop[body],
            "arrangements": snap.degree[body],
            "partners": snap.n_partners[body],
            "shares_service": snap.body_shares[service, body].astype(float),
            "services_shared": snap.body_shares[:, body].sum(axis=0).astype(float),
        },
        columns=list(RATE_NUMERIC),
    )
    frame["service"] = pd.Categorical.from_codes(
        service, dtype=pd.CategoricalDtype(list(ctx.services))
    )
    frame["tier"] = pd.Categorical(b.tier[body], categories=sorted(set(b.tier)))
    return frame[list(RATE_NUMERIC) + list(RATE_CATEGORICAL)]


@dataclass
class TrainedModel:
    """Everything the recommender needs at serving time, pickled as one artifact.

    ``arrangements`` is a compact copy of the *observed* register the model was trained on:
    the real arrangements, the only ones ever shown as evidence or offered to join;
    ``snapshot`` is the partnership network of those arrangements as of now.
    """

    context: Context
    components: Components
    snapshot: Snapshot
    scores: Any  # recommender.scoring.ScoreTable
    arrangements: pd.DataFrame
    importance: list[dict[str, Any]] = field(default_factory=list)


def register_hash(arrangements: pd.DataFrame, members: pd.DataFrame) -> str:
    """A stable SHA-256 of the register's content (order-independent)."""
    a = arrangements.drop(columns=["import_id"], errors="ignore").sort_values("id")
    m = members.sort_values(["arrangement_id", "position"])
    digest = hashlib.sha256()
    digest.update(a.to_csv(index=False).encode())
    digest.update(m.to_csv(index=False).encode())
    return digest.hexdigest()


def compact_register(arrangements: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """The observed (real) register as one frame with each arrangement's member codes and
    names as lists; simulated arrangements are left out."""
    arrangements = arrangements[~arrangements["simulated"].astype(bool)]
    m = members.sort_values(["arrangement_id", "position"])
    codes = m.groupby("arrangement_id")["body_code"].agg(lambda s: [c for c in s if c])
    names = m.groupby("arrangement_id")["name_as_given"].agg(list)
    columns = [
        "id",
        "name",
        "service",
        "start_year",
        "end_year",
        "status",
        "savings_gbp",
        "savings_basis",
        "annual_savings_gbp",
        "savings_aim",
        "source",
        "simulated",
    ]
    out = arrangements[columns].copy().set_index("id", drop=False)
    out["member_codes"] = codes.reindex(out.index)
    out["member_names"] = names.reindex(out.index)
    return out.reset_index(drop=True)


Stage = Callable[[str], None]


def train(
    bodies: pd.DataFrame,
    adjacency: pd.DataFrame,
    services: pd.DataFrame,
    arrangements: pd.DataFrame,
    members: pd.DataFrame,
    *,
    random_state: int = 0,
    evaluation: bool = True,
    loao: bool = False,
    stage: Stage | None = None,
    progress: Stage | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Evaluate, fit on the whole register and score every body; return model and metadata.

    ``stage(name)`` is called as each stage starts (for a progress bar); ``progress(text)``
    with finer detail inside the evaluation. ``evaluation=False`` skips the held-out
    evaluation (for tests and quick runs; the metadata then says so).
    """
    from recommender.evaluation import Evaluation, evaluate, summary
    from recommender.explain import feature_importance
    from recommender.features import GROUP_FEATURES, PAIR_FEATURES
    from recommender.scoring import CANDIDATE_RADIUS_KM, HORIZON_YEARS, score_all

    step = stage or (lambda _: None)
    started = time.perf_counter()
    step("features")
    ctx = Context.build(bodies, adjacency, services, arrangements, members)
    step("evaluation")
    if evaluation:
        result = evaluate(ctx, random_state=random_state, loao=loao, progress=progress)
    else:  # tests and quick runs: no held-out figures
        result = Evaluation(pd.DataFrame(), pd.DataFrame(), {"skipped": True})
    step("fit")
    cache = SnapshotCache(ctx.reg, ctx.pairs.n)
    comp = fit_components(ctx, np.ones(len(ctx.reg), dtype=bool), cache, random_state=random_state)
    step("scoring")
    snap = cache.now()
    scores = score_all(ctx, comp, snap)
    model = TrainedModel(
        context=ctx,
        components=comp,
        snapshot=snap,
        scores=scores,
        arrangements=compact_register(arrangements, members),
    )
    step("importance")
    model.importance = feature_importance(model, random_state=random_state)
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
            "candidate_radius_km": CANDIDATE_RADIUS_KM,
            "choice": _params(comp.choice),
            "savings": _params(comp.savings),
            "rate": _params(comp.rate),
        },
        "features": {"pair": list(PAIR_FEATURES), "group": list(GROUP_FEATURES)},
        "evaluation": result.to_dict(),
        "summary": summary(result),
        "importance": model.importance,
        "scored_rows": len(scores),
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
