"""Fit the model from the register and the reference geography.

:class:`Context` holds what is derived once per run (pair features, body arrays, the register
as arrays, partnership families); :func:`fit_components` fits the four parts of the model on a
chosen set of arrangements (see :mod:`recommender.model.estimators` and
:mod:`recommender.model.scoring`);
:class:`TrainedModel` is what is saved. :func:`recommender.model.workflow.train` runs the whole
job (evaluation, the final fit, importance).

What each part learns from
--------------------------
* **partner choice**: the real arrangements (the observed register) and, weighted down by
  ``simulated_weight``, the simulated ones, whose partner choice is calibrated to the real
  register (``recommender register report``);
* **the weight of shared history**: the real arrangements, each against the real network from
  before it started (undated ones: every dated arrangement), with the choice model's log-odds
  as offset;
* **savings**: the annualised figures of the real arrangements that ran only;
* **rate of entering a new arrangement**: the whole register, real and simulated, from 2008
  to 2019, which together reproduce the counts the LGA published at each of its map releases
  (December 2011 to June 2019).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from recommender.core.errors import InvalidInput
from recommender.core.names import former_name
from recommender.geo.pairs import RUNS, PairMatrices, build_pair_matrices, governance_matrix
from recommender.model.estimators import (
    SavingsModel,
    build_choice_pipeline,
    build_rate_pipeline,
    choice_weights,
    fit_history_weight,
)
from recommender.model.features import BodyArrays, PairTable, group_frame
from recommender.model.network import (
    RegisterArrays,
    Snapshot,
    SnapshotCache,
    families,
    register_arrays,
)

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]
NEGATIVES = 40  # sampled non-partners per training query (uniformly: no correction needed)
# Simulated arrangements are augmentation: each counts this much of a real one.
SIMULATED_WEIGHT = 0.0

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Context:
    """Everything derived from the reference data and the register, built once per run."""

    pairs: PairMatrices
    bodies: BodyArrays
    table: PairTable
    reg: RegisterArrays
    services: tuple[str, ...]
    families: sparse.csr_matrix
    labels: tuple[str, ...] = ()  # the services' everyday names, in ``services`` order

    @classmethod
    def build(
        cls,
        bodies: pd.DataFrame,
        adjacency: pd.DataFrame,
        services: pd.DataFrame,
        arrangements: pd.DataFrame,
        members: pd.DataFrame,
        governed: Mapping[tuple[str, str], Any] | None = None,
    ) -> Context:
        bodies = bodies.sort_index()
        pairs = build_pair_matrices(bodies, adjacency, governed or {})
        service_ids = tuple(services.index)
        body_arrays = BodyArrays.build(bodies, services, pairs.codes)
        reg = register_arrays(arrangements, members, pairs, service_ids)
        return cls(
            pairs=pairs,
            bodies=body_arrays,
            table=PairTable(pairs, body_arrays),
            reg=reg,
            services=service_ids,
            families=families(reg),
            labels=tuple(str(services.loc[s, "label"]) for s in service_ids)
            if "label" in services
            else service_ids,
        )

    def usable(self) -> npt.NDArray[np.bool_]:
        """Arrangements with at least two reference bodies among their members that are not
        all one body (a fire authority and the body that runs it: internal, no partnership)."""
        sizes = np.array([len(m) >= 2 for m in self.reg.members], dtype=bool)
        return sizes & ~self.reg.internal

    def one_body(self, positions: Sequence[int] | IntArray) -> bool:
        """Whether two or more bodies (matrix positions) are all one body: a fire authority
        and the body that runs it (an arrangement of theirs alone is internal)."""
        found = np.unique(np.asarray(positions, dtype=np.intp))
        if len(found) < 2:
            return False
        block = self.table.runs[np.ix_(found, found)]
        return bool((block | np.eye(len(found), dtype=bool)).all())

    def family_of(self, k: int) -> npt.NDArray[np.bool_]:
        """Mask of arrangement ``k``'s family (arrangements sharing 2+ members with it)."""
        mask = np.zeros(len(self.reg), dtype=bool)
        mask[self.families[k].indices] = True
        return mask


@dataclass
class Components:
    """The fitted parts of the model."""

    choice: Pipeline
    choice_w: FloatArray  # weights on the raw pair features (estimators.choice_weights)
    choice_b: float
    history_weight: float  # of log(1 + tie) in the choice log-odds (estimators.fit_history_weight)
    savings: SavingsModel | None
    rate: Pipeline | None
    partners_per_service: FloatArray


@dataclass(frozen=True)
class Rows:
    """Training rows of one part of the model, each tagged with its arrangement."""

    X: npt.NDArray[Any]
    y: npt.NDArray[Any]
    weight: FloatArray
    arrangement: IntArray

    def without(self, drop: npt.NDArray[np.bool_]) -> Rows:
        """The rows whose arrangement is not flagged in ``drop`` (a held-out family)."""
        keep = ~drop[self.arrangement]
        return Rows(self.X[keep], self.y[keep], self.weight[keep], self.arrangement[keep])


@dataclass(frozen=True)
class HistoryRows:
    """Every candidate of every real training query, against the network from before the
    arrangement started: its pair features, its tie with the focal body, whether it was
    chosen."""

    X: npt.NDArray[np.float32]  # pair feature rows
    history: FloatArray  # log(1 + tie)
    relevant: npt.NDArray[np.bool_]
    query: IntArray
    weight: FloatArray  # each arrangement weighs the same
    arrangement: IntArray

    def without(self, drop: npt.NDArray[np.bool_]) -> HistoryRows:
        keep = ~drop[self.arrangement]
        return HistoryRows(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


@dataclass(frozen=True)
class TrainingData:
    """Every training row the model needs, built once; folds select from them."""

    choice: Rows
    history: HistoryRows

    @classmethod
    def build(
        cls,
        ctx: Context,
        *,
        simulated_weight: float = SIMULATED_WEIGHT,
        random_state: int = 0,
    ) -> TrainingData:
        usable = ctx.usable()
        cache = SnapshotCache(ctx.reg, ctx.pairs.n)
        return cls(
            choice=choice_rows(
                ctx, usable, simulated_weight=simulated_weight, random_state=random_state
            ),
            history=history_rows(ctx, usable & ~ctx.reg.simulated, cache),
        )


def one_thread(fit: Callable[P, R]) -> Callable[P, R]:
    """``fit`` run with every thread pool (OpenMP, BLAS) limited to one thread.

    The L-BFGS path of the choice model follows the order in which its loss is summed, which
    follows the threads: a fit on two threads and one on one differed by 0.14 in a
    coefficient, so an evaluation on Dask workers (one thread each) and one in this process
    differed. On one thread the fits are the same on every machine and engine, and quicker
    here (0.17 s against 0.51 s a fold on two cores: the problem is too small to share out).
    """

    @functools.wraps(fit)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1):
            return fit(*args, **kwargs)

    return limited


@one_thread
def fit_components(
    ctx: Context,
    data: TrainingData,
    *,
    drop: npt.NDArray[np.bool_] | None = None,
    random_state: int = 0,
    with_rate: bool = True,
) -> Components:
    """Fit choice, continuation, savings and (optionally) rate on every arrangement but those
    flagged in ``drop`` (a held-out family in evaluation). Each fit starts afresh: started
    from a fit on more data, the solver stops, at its tolerance, near where it started (the
    held-out family's pull on the choice model partly kept)."""
    drop = np.zeros(len(ctx.reg), dtype=bool) if drop is None else drop
    rows = data.choice.without(drop)
    choice = build_choice_pipeline()
    choice.fit(rows.X, rows.y, logit__sample_weight=rows.weight)
    cw, cb = choice_weights(choice)
    history = data.history.without(drop)
    offset = history.X @ cw + cb
    weight = 0.0
    if history.relevant.any():
        weight = fit_history_weight(
            offset, history.history, history.relevant, history.query, history.weight
        )
    real = ctx.usable() & ~ctx.reg.simulated & ~drop
    rate = None
    if with_rate:
        panel, target = rate_panel(ctx, ctx.usable() & ~drop)
        if 0 < target.sum() < len(target):
            rate = build_rate_pipeline(list(ctx.services)).fit(panel, target)
    return Components(
        choice=choice,
        choice_w=cw,
        choice_b=cb,
        history_weight=weight,
        savings=fit_savings(ctx, real),
        rate=rate,
        partners_per_service=partners_per_service(ctx, real),
    )


def choice_rows(
    ctx: Context,
    select: npt.NDArray[np.bool_],
    *,
    simulated_weight: float = SIMULATED_WEIGHT,
    random_state: int = 0,
) -> Rows:
    """Training rows for partner choice: every member of a selected arrangement in turn is the
    focal body; its partners are positives, up to :data:`NEGATIVES` of its other candidates
    (drawn uniformly) negatives. Each arrangement weighs the same whatever its size (each of
    its queries ``1 / members``); a simulated one ``simulated_weight`` of that."""
    rng = np.random.default_rng(random_state)
    focal, cand, label, weight, arrangement = [], [], [], [], []
    for k in np.flatnonzero(select):
        members = ctx.reg.members[k]
        if ctx.reg.simulated[k] and simulated_weight <= 0:
            continue
        s = int(ctx.reg.service[k])
        base = (simulated_weight if ctx.reg.simulated[k] else 1.0) / len(members)
        for f in members:
            ok = ctx.table.candidates(int(f), s)
            positives = members[(members != f) & ok[members]]
            if not len(positives):
                continue
            ok[members] = False
            pool = np.flatnonzero(ok)
            negatives = rng.choice(pool, size=min(NEGATIVES, len(pool)), replace=False)
            both = np.r_[positives, negatives]
            focal.append(np.full(len(both), f))
            cand.append(both)
            label.append(np.r_[np.ones(len(positives)), np.zeros(len(negatives))])
            weight.append(np.full(len(both), base / len(positives)))
            arrangement.append(np.full(len(both), k))
    if not focal:
        raise ValueError("no arrangement with two or more known members to learn from")
    return Rows(
        X=ctx.table.rows(np.concatenate(focal), np.concatenate(cand)),
        y=np.concatenate(label).astype(np.int8),
        weight=np.concatenate(weight),
        arrangement=np.concatenate(arrangement).astype(np.intp),
    )


def history_rows(ctx: Context, real: npt.NDArray[np.bool_], cache: SnapshotCache) -> HistoryRows:
    """Every candidate of each member of each real arrangement, for the history weight."""
    parts: dict[str, list[Any]] = {f: [] for f in HistoryRows.__dataclass_fields__}
    parts["focal"], parts["candidate"] = [], []
    query = 0
    for k in np.flatnonzero(real):
        members = ctx.reg.members[k]
        s = int(ctx.reg.service[k])
        snap = cache.for_arrangement(int(k))
        for f in members:
            ok = ctx.table.candidates(int(f), s) & ~snap.shares[s, f]
            cand = np.flatnonzero(ok)
            relevant = np.isin(cand, members)
            if not relevant.any():
                continue
            parts["focal"].append(np.full(len(cand), f))
            parts["candidate"].append(cand)
            parts["history"].append(np.log1p(snap.ties[f, cand].astype(float)))
            parts["relevant"].append(relevant)
            parts["query"].append(np.full(len(cand), query))
            parts["weight"].append(np.full(len(cand), 1.0 / len(members)))
            parts["arrangement"].append(np.full(len(cand), k))
            query += 1
    if not query:
        empty = np.empty(0)
        return HistoryRows(
            np.empty((0, ctx.table.stack.shape[-1]), dtype=np.float32), empty,
            empty.astype(bool), empty.astype(np.intp), empty, empty.astype(np.intp),
        )  # fmt: skip
    joined = {f: np.concatenate(v) for f, v in parts.items() if f != "X"}
    joined["X"] = ctx.table.rows(joined.pop("focal"), joined.pop("candidate"))
    return HistoryRows(**joined)


MIN_SAVINGS_FIGURES = 10  # real arrangements with an annual figure the savings model needs


def savings_figures(ctx: Context, real: npt.NDArray[np.bool_]) -> IntArray:
    """The selected real arrangements with an annual savings figure that ran (what savings
    learn from): a proposal's figure is a projection for a partnership that never formed."""
    known = real & ctx.reg.ran() & ~np.isnan(ctx.reg.annual) & (ctx.reg.annual > 0)
    return np.flatnonzero(known)


def check_learnable(ctx: Context) -> None:
    """Raise :class:`InvalidInput` (field ``register``) for a register too small to learn from:
    no arrangement with two known members (no partner to learn a choice from), or fewer than
    :data:`MIN_SAVINGS_FIGURES` real ones with a savings figure (no savings model: every
    estimate would be missing)."""
    pairs = int(ctx.usable().sum())
    figures = len(savings_figures(ctx, ~ctx.reg.simulated))
    short = []  # only what falls short is said
    if not pairs:
        short.append("no arrangement with two or more known members (at least 1 needed)")
    if figures < MIN_SAVINGS_FIGURES:
        short.append(
            f"{figures} real arrangement(s) with an annual savings figure (at least "
            f"{MIN_SAVINGS_FIGURES} needed)"
        )
    if not short:
        return
    raise InvalidInput(
        f"too small to learn from: {' and '.join(short)}; use the whole register, or add to it",
        field="register",
    )


def fit_savings(ctx: Context, real: npt.NDArray[np.bool_]) -> SavingsModel | None:
    """Fit the savings model on the selected real arrangements' annualised figures."""
    known = savings_figures(ctx, real)
    if len(known) < MIN_SAVINGS_FIGURES:
        return None
    frame = savings_frame(ctx, known)
    return SavingsModel().fit(frame, ctx.reg.annual[known])


def savings_frame(ctx: Context, arrangements: IntArray) -> pd.DataFrame:
    """Group features of the given arrangements (their reference members)."""
    groups = [ctx.reg.members[k] for k in arrangements]
    return group_frame(groups, ctx.reg.service[arrangements], ctx.bodies, ctx.services)


def partners_per_service(ctx: Context, select: npt.NDArray[np.bool_]) -> FloatArray:
    """Mean number of partners (members minus one) per arrangement, by service."""
    sizes = np.array([len(m) for m in ctx.reg.members], dtype=float)
    out = np.ones(len(ctx.services))
    overall = sizes[select].mean() - 1 if select.any() else 1.0
    for s in range(len(ctx.services)):
        mask = select & (ctx.reg.service == s)
        out[s] = sizes[mask].mean() - 1 if mask.sum() >= 3 else overall
    return out


RATE_YEARS = (2008, 2019)  # the years the rate is learnt over (LGA counts from December 2011)


def rate_panel(
    ctx: Context, select: npt.NDArray[np.bool_]
) -> tuple[pd.DataFrame, npt.NDArray[np.int8]]:
    """A body x service x year panel (2008-2019): did the body enter a new arrangement?"""
    reg, b = ctx.reg, ctx.bodies
    n, n_services = ctx.pairs.n, len(ctx.services)
    s_idx, body_idx = np.nonzero(b.eligible)
    frames, targets = [], []
    for year in range(RATE_YEARS[0], RATE_YEARS[1] + 1):
        joined = np.zeros((n_services, n), dtype=bool)
        for k in np.flatnonzero(select & (reg.start == year)):
            joined[reg.service[k], reg.members[k]] = True
        frames.append(rate_frame(ctx, body_idx, s_idx))
        targets.append(joined[s_idx, body_idx].astype(np.int8))
    return pd.concat(frames, ignore_index=True), np.concatenate(targets)


def rate_frame(ctx: Context, body: IntArray, service: IntArray) -> pd.DataFrame:
    """Features of the rate model for (body, service) rows."""
    from recommender.model.patterns import GROUPS

    b = ctx.bodies
    frame = pd.DataFrame({"log_pop": b.log_pop[body]})
    frame["service"] = pd.Categorical.from_codes(
        service, dtype=pd.CategoricalDtype(list(ctx.services))
    )
    frame["group"] = pd.Categorical(b.group[body], categories=list(GROUPS))
    return frame


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
    p_enter: FloatArray  # (n, n_services): P(enter a new arrangement within the horizon)
    arrangements: pd.DataFrame
    importance: list[dict[str, Any]] = field(default_factory=list)

    def follow_governance(self, governed: Mapping[tuple[str, str], Any]) -> None:
        """Take fire governance from ``governed`` (:func:`recommender.reference.lookup.
        governed_pairs`, today's) instead of what the model was saved with: which bodies are one
        (never candidates for each other, no shared history) follows the reference, so a model
        saved under an older rule or table serves the current one. The scores stay as trained.
        """
        ctx = self.context
        matrix, notes = governance_matrix(ctx.pairs.codes, governed)
        same = ctx.pairs.governed is not None and np.array_equal(matrix, ctx.pairs.governed)
        if same and ctx.reg.one_body == ctx.pairs.one_body():
            return
        pairs = replace(ctx.pairs, governed=matrix, governors=notes)
        ctx.pairs = pairs
        ctx.table.pairs = pairs
        ctx.table.runs = pairs.governance() == RUNS
        ctx.reg = replace(ctx.reg, one_body=pairs.one_body())
        self.snapshot = SnapshotCache(ctx.reg, pairs.n).now()


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
    names as lists; simulated arrangements are left out. ``member_via`` goes with
    ``member_codes``: for each, the full name of the body now gone (a former council, an NHS
    predecessor) the source named that the member stands for, else ""; ``member_given``
    is every member as ``(body code or "", name as given, resolution)``."""
    arrangements = arrangements[~arrangements["simulated"].astype(bool)]
    m = members.sort_values(["arrangement_id", "position"])
    codes = m.groupby("arrangement_id")["body_code"].agg(lambda s: [c for c in s if c])
    names = m.groupby("arrangement_id")["name_as_given"].agg(list)
    resolution = m["resolution"] if "resolution" in m else pd.Series("", index=m.index)
    # The body gone by its full name ("Bedfordshire County Council"), not as the source wrote
    # it ("Bedfordshire", which reads as the place).
    named = [former_name(r) or "" for r in resolution.fillna("").astype(str)]
    via = (
        m.assign(via=named)
        .groupby("arrangement_id")[["body_code", "via"]]
        .apply(lambda g: [v for c, v in zip(g["body_code"], g["via"], strict=True) if c])
    )
    # Every member as the source gave it, in its order (code or "", name, resolution): what
    # the evidence lists them by, as the register's own lists do (explain.partner_labels).
    given = (
        m.assign(
            code=m["body_code"].fillna("").astype(str),
            resolution=resolution.fillna("").astype(str),
        )
        .groupby("arrangement_id")[["code", "name_as_given", "resolution"]]
        .apply(
            lambda g: [
                (str(c), str(n), str(r))
                for c, n, r in zip(g["code"], g["name_as_given"], g["resolution"], strict=True)
            ]
        )
    )
    columns = [
        "id",
        "name",
        "service",
        "start_year",
        "end_year",
        "status",
        "savings_gbp",
        "savings_basis",
        "savings_period_years",
        "annual_savings_gbp",
        "savings_aim",
        "source",
        "note",
        "simulated",
    ]
    out = arrangements[[c for c in columns if c in arrangements]].copy().set_index("id", drop=False)
    out["member_codes"] = codes.reindex(out.index)
    out["member_names"] = names.reindex(out.index)
    out["member_via"] = via.reindex(out.index)
    out["member_given"] = given.reindex(out.index)
    for column in ("member_codes", "member_names", "member_via", "member_given"):
        out[column] = out[column].apply(lambda v: v if isinstance(v, list) else [])
    return out.reset_index(drop=True)
