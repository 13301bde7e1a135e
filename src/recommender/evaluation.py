"""Honest evaluation: held-out arrangements, the model against the baselines, side by side.

Protocols
---------
``temporal``
    Fit on arrangements that started up to 2014; test on those that started from 2015 on
    (features of each test arrangement still use only what was known before it started).
``grouped_cv``
    Five folds over arrangements (every row of one arrangement stays in one fold).
``loao_real``
    Each real arrangement in turn is removed from the register entirely (from the network
    too), the model refitted without it, and its partners ranked.

Partner ranking
---------------
Each member of a held-out arrangement, in turn, is the focal body; its partners in that
arrangement are the relevant candidates among all bodies that deliver the service and do not
already share it with the focal body. The model is evaluated as served: candidates outside
the set it scores (beyond 80 km with no border, nesting or network link) rank after all the
others; the baselines rank every candidate. Ranks use expected positions under random
tie-breaking.
Metrics: hit@1/5/10 (a partner in the top k), MRR (mean reciprocal rank of the first
partner) and NDCG@10. Queries are weighted so that each arrangement counts once.

Savings
-------
On held-out arrangements with an annual figure: MAE and R² of log(£) on those that saved
something, against the predicted median saving given a saving (the baseline: the median
non-zero saving in the service), and, over all of them (zeros included), the share of figures
inside the 80% interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import KFold

from recommender.baselines import PARTNER_BASELINES, ServiceMedian
from recommender.network import SnapshotCache
from recommender.scoring import candidate_sets, choice_scores, group_savings, pair_savings
from recommender.training import Components, Context, fit_components, savings_rows

IntArray = npt.NDArray[np.intp]
TEMPORAL_CUTOFF = 2015
RANK_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10")
Progress = Callable[[str], None]


@dataclass
class QueryResult:
    """Ranks of the relevant candidates in one query, per method."""

    arrangement: int
    weight: float
    simulated: bool
    ranks: dict[str, npt.NDArray[np.float64]]
    outside_candidates: int = 0
    n_relevant: int = 0


@dataclass
class Evaluation:
    """Ranking and savings tables for every protocol, subset and method."""

    ranking: pd.DataFrame
    savings: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ranking": _records(self.ranking),
            "savings": _records(self.savings),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Evaluation:
        return cls(
            ranking=pd.DataFrame(payload.get("ranking", [])),
            savings=pd.DataFrame(payload.get("savings", [])),
            notes=dict(payload.get("notes", {})),
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def expected_ranks(
    scores: npt.NDArray[np.float64], relevant: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Expected 1-based rank of each relevant row under random tie-breaking."""
    out = np.empty(int(relevant.sum()))
    for i, s in enumerate(scores[relevant]):
        greater = np.sum(scores > s)
        ties = np.sum(scores == s) - 1
        out[i] = 1 + greater + ties / 2
    return out


def query_metrics(ranks: npt.NDArray[np.float64]) -> dict[str, float]:
    """Hit@k, reciprocal rank and NDCG@10 for one query's relevant ranks."""
    if len(ranks) == 0:
        return dict.fromkeys(RANK_METRICS, 0.0)
    first = float(ranks.min())
    dcg = float(np.sum(1 / np.log2(ranks[ranks <= 10] + 1)))
    ideal = float(np.sum(1 / np.log2(np.arange(1, min(len(ranks), 10) + 1) + 1)))
    return {
        "hit@1": float(first <= 1),
        "hit@5": float(first <= 5),
        "hit@10": float(first <= 10),
        "mrr": 1 / first,
        "ndcg@10": dcg / ideal,
    }


def rank_arrangements(
    ctx: Context,
    comp: Components,
    cache: SnapshotCache,
    test: Iterable[int],
    *,
    with_savings: bool = False,
) -> list[QueryResult]:
    """Rank the partners of each test arrangement with the model and every baseline.

    Queries that share a snapshot (arrangements that started in the same year) are scored in
    one batch.
    """
    builder = ctx.builder
    batches: dict[int, list[tuple[int, int, IntArray]]] = {}
    snaps = {}
    for k in test:
        members = ctx.reg.members[k]
        if len(members) < 2:
            continue
        s = int(ctx.reg.service[k])
        snap = cache.for_arrangement(int(k))
        snaps[id(snap)] = snap
        for f in members:
            pool = builder.candidates(int(f), s, snap)
            cand = np.union1d(pool, members[members != f]).astype(np.intp)
            batches.setdefault(id(snap), []).append((int(k), int(f), cand))

    results: list[QueryResult] = []
    for key, queries in batches.items():
        snap = snaps[key]
        retrieval = candidate_sets(ctx, snap)
        sizes = np.array([len(q[2]) for q in queries])
        bounds = np.r_[0, np.cumsum(sizes)]
        focal = np.repeat([q[1] for q in queries], sizes).astype(np.intp)
        cand = np.concatenate([q[2] for q in queries]).astype(np.intp)
        service = np.repeat([ctx.reg.service[q[0]] for q in queries], sizes).astype(np.intp)
        X = builder.pair_frame(focal, cand, service, snap)
        # As served: candidates outside the scored set (see scoring.candidate_sets) rank last.
        served = retrieval[focal, cand]
        logits = choice_scores(ctx, comp, focal, cand, service, X)
        scores = {"model": np.where(served, logits, -np.inf)}
        if with_savings and comp.savings is not None:
            savings, _, _ = pair_savings(ctx, comp, snap, focal, cand, service)
            scores["model_savings"] = savings  # times p_choice, per query below
        for name, rule in PARTNER_BASELINES.items():
            scores[name] = rule(X)
        for i, (k, f, _) in enumerate(queries):
            rows = slice(bounds[i], bounds[i + 1])
            members = ctx.reg.members[k]
            relevant = np.isin(cand[rows], members)
            ranks = {}
            for name, values in scores.items():
                v = values[rows]
                if name == "model_savings":
                    v = _expected_savings(scores["model"][rows], v)
                ranks[name] = expected_ranks(v, relevant)
            results.append(
                QueryResult(
                    arrangement=k,
                    weight=1.0 / len(members),
                    simulated=bool(ctx.reg.simulated[k]),
                    ranks=ranks,
                    outside_candidates=int((~retrieval[f, cand[rows][relevant]]).sum()),
                    n_relevant=int(relevant.sum()),
                )
            )
    return results


def _expected_savings(
    logits: npt.NDArray[np.float64], savings: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Choice probability (softmax over the served candidates) times savings; -inf for the
    candidates the model does not serve."""
    served = np.isfinite(logits)
    out = np.full(len(logits), -np.inf)
    if served.any():
        p = np.exp(logits[served] - logits[served].max())
        out[served] = p / p.sum() * savings[served]
    return out


def summarise_ranking(results: list[QueryResult], protocol: str) -> pd.DataFrame:
    """Weighted means of the ranking metrics, by subset (simulated, real, all) and method."""
    rows = []
    subsets = {
        "simulated": [r for r in results if r.simulated],
        "real": [r for r in results if not r.simulated],
        "all": results,
    }
    for subset, items in subsets.items():
        if not items:
            continue
        weights = np.array([r.weight for r in items])
        for method in items[0].ranks:
            metrics = pd.DataFrame([query_metrics(r.ranks[method]) for r in items])
            row: dict[str, Any] = {"protocol": protocol, "subset": subset, "method": method}
            for metric in RANK_METRICS:
                row[metric] = float(np.average(metrics[metric], weights=weights))
            row["queries"] = len(items)
            row["arrangements"] = len({r.arrangement for r in items})
            rows.append(row)
    return pd.DataFrame(rows)


def savings_scores(
    ctx: Context,
    comp: Components,
    cache: SnapshotCache,
    train: npt.NDArray[np.bool_],
    test: npt.NDArray[np.bool_],
    protocol: str,
) -> pd.DataFrame:
    """MAE and R² on log(1 + £) and 80% coverage, model against the service median."""
    test = test & ~np.isnan(ctx.reg.annual) & ctx.usable()
    train = train & ~np.isnan(ctx.reg.annual) & ctx.usable()
    if comp.savings is None or not test.any():
        return pd.DataFrame()
    X, y = savings_rows(ctx, cache, test)
    _, low, high = group_savings(comp, X)
    median = np.exp(comp.savings[-1].predict_parts(comp.savings[:-1].transform(X))["log_median"])
    services = np.array(ctx.services)
    train_services, train_y = services[ctx.reg.service[train]], ctx.reg.annual[train]
    test_services = services[ctx.reg.service[test]]
    b_med, _, _ = (
        ServiceMedian()
        .fit(train_services[train_y > 0], train_y[train_y > 0])
        .predict(test_services)
    )
    _, b_low, b_high = ServiceMedian().fit(train_services, train_y).predict(test_services)
    simulated = ctx.reg.simulated[test]
    rows = []
    for subset, mask in (
        ("simulated", simulated),
        ("real", ~simulated),
        ("all", np.ones_like(simulated)),
    ):
        if not mask.any():
            continue
        for method, pred, lo, hi in (
            ("model", median, low, high),
            ("service_median", b_med, b_low, b_high),
        ):
            rows.append(
                {
                    "protocol": protocol,
                    "subset": subset,
                    "method": method,
                    **_savings_metrics(y[mask], pred[mask], lo[mask], hi[mask]),
                }
            )
    return pd.DataFrame(rows)


def _savings_metrics(
    y: npt.NDArray[np.float64],
    pred: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
) -> dict[str, float]:
    """Log metrics on the arrangements that saved something; coverage on all of them."""
    positive = (y > 0) & (pred > 0)
    ly, lp = np.log(y[positive]), np.log(pred[positive])
    total = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1 - float(np.sum((ly - lp) ** 2)) / total if total > 0 else float("nan")
    return {
        "mae_log": float(np.mean(np.abs(ly - lp))) if positive.any() else float("nan"),
        "r2_log": r2,
        "coverage80": float(np.mean((y >= low) & (y <= high))),
        "n": len(y),
    }


def evaluate(
    ctx: Context,
    *,
    random_state: int = 0,
    folds: int = 5,
    loao: bool = False,
    progress: Progress | None = None,
) -> Evaluation:
    """Run the temporal hold-out and grouped cross-validation (and, if asked, LOAO)."""
    say = progress or (lambda _: None)
    n_arr = len(ctx.reg)
    usable = ctx.usable()
    ranking, savings = [], []
    results_all: list[QueryResult] = []

    say("temporal hold-out")
    cache = SnapshotCache(ctx.reg, ctx.pairs.n)
    train = ctx.reg.dated & (ctx.reg.start < TEMPORAL_CUTOFF)
    test = ctx.reg.dated & (ctx.reg.start >= TEMPORAL_CUTOFF) & usable
    comp = fit_components(ctx, train, cache, random_state=random_state, with_rate=False)
    results = rank_arrangements(ctx, comp, cache, np.flatnonzero(test), with_savings=True)
    results_all += results
    ranking.append(summarise_ranking(results, "temporal"))
    savings.append(savings_scores(ctx, comp, cache, train, test, "temporal"))

    say("grouped cross-validation")
    cv_results: list[QueryResult] = []
    cv_savings = []
    splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
    for fold, (train_idx, _) in enumerate(splitter.split(np.arange(n_arr))):
        say(f"grouped cross-validation, fold {fold + 1} of {folds}")
        train = np.zeros(n_arr, dtype=bool)
        train[train_idx] = True
        comp = fit_components(ctx, train, cache, random_state=random_state, with_rate=False)
        test_mask = ~train & usable
        cv_results += rank_arrangements(ctx, comp, cache, np.flatnonzero(test_mask))
        cv_savings.append(savings_scores(ctx, comp, cache, train, test_mask, "grouped_cv"))
    ranking.append(summarise_ranking(cv_results, "grouped_cv"))
    savings.append(_pool_savings(cv_savings))

    if loao:
        real = np.flatnonzero(~ctx.reg.simulated & usable)
        loao_results: list[QueryResult] = []
        for i, k in enumerate(real):
            say(f"leave one real arrangement out ({i + 1} of {len(real)})")
            exclude = np.zeros(n_arr, dtype=bool)
            exclude[k] = True
            held_cache = SnapshotCache(ctx.reg, ctx.pairs.n, exclude=exclude)
            comp = fit_components(
                ctx, ~exclude, held_cache, random_state=random_state, with_rate=False
            )
            loao_results += rank_arrangements(ctx, comp, held_cache, [int(k)])
        ranking.append(summarise_ranking(loao_results, "loao_real"))

    outside = sum(r.outside_candidates for r in results_all + cv_results)
    relevant = sum(r.n_relevant for r in results_all + cv_results)
    notes = {
        "temporal_cutoff": TEMPORAL_CUTOFF,
        "folds": folds,
        "partners_outside_candidate_set": outside,
        "partners_evaluated": relevant,
    }
    return Evaluation(
        ranking=pd.concat([r for r in ranking if not r.empty], ignore_index=True),
        savings=pd.concat([s for s in savings if not s.empty], ignore_index=True),
        notes=notes,
    )


def _pool_savings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Combine per-fold savings scores, weighting each fold by its number of arrangements."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    both = pd.concat(frames, ignore_index=True)
    rows = []
    for (protocol, subset, method), g in both.groupby(["protocol", "subset", "method"], sort=False):
        w = g["n"].to_numpy(dtype=float)
        rows.append(
            {
                "protocol": protocol,
                "subset": subset,
                "method": method,
                "mae_log": float(np.average(g["mae_log"], weights=w)),
                "r2_log": float(np.average(g["r2_log"].fillna(0), weights=w)),
                "coverage80": float(np.average(g["coverage80"], weights=w)),
                "n": int(w.sum()),
            }
        )
    return pd.DataFrame(rows)


def verdicts(ev: Evaluation) -> list[str]:
    """Say plainly, for every protocol and subset, whether the model beats every baseline on
    MRR and hit@10 (and by how much, or where it does not)."""
    out = []
    table = ev.ranking
    if table.empty:
        return ["no held-out arrangements to evaluate"]
    for (protocol, subset), g in table.groupby(["protocol", "subset"], sort=False):
        if subset == "all" and protocol != "loao_real":
            continue
        rows: dict[Any, dict[Any, Any]] = {r["method"]: r for r in g.to_dict(orient="records")}
        if "model" not in rows:
            continue
        losses = []
        for metric in ("mrr", "hit@10"):
            mine = float(rows["model"][metric])
            for method in PARTNER_BASELINES:
                if method in rows and float(rows[method][metric]) >= mine:
                    theirs = float(rows[method][metric])
                    losses.append(f"{metric} {mine:.3f} does not beat {method} ({theirs:.3f})")
        n = int(rows["model"]["arrangements"])
        where = f"{protocol}, {subset} ({n} arrangements)"
        if losses:
            out.append(f"NOT BETTER on {where}: " + "; ".join(losses))
        else:
            best = {
                m: max(float(rows[b][m]) for b in PARTNER_BASELINES if b in rows)
                for m in ("mrr", "hit@10")
            }
            out.append(
                f"better on {where}: MRR {float(rows['model']['mrr']):.3f} against best "
                f"baseline {best['mrr']:.3f}; hit@10 {float(rows['model']['hit@10']):.3f} "
                f"against {best['hit@10']:.3f}"
            )
    return out


def summary(ev: Evaluation) -> dict[str, Any]:
    """A few headline figures for ``models list``: the model's MRR and hit@10 per protocol."""
    out: dict[str, Any] = {}
    table = ev.ranking
    if table.empty:
        return out
    model = table[table["method"] == "model"]
    for row in model.to_dict(orient="records"):
        key = f"{row['protocol']}/{row['subset']}"
        out[key] = {"mrr": round(float(row["mrr"]), 3), "hit@10": round(float(row["hit@10"]), 3)}
    return out
