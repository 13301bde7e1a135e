"""The model page: how the serving model does against the baselines, what drives it, and the
data it was trained on, all read from its metadata."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from recommender.model import artifacts
from recommender.model.baselines import BASELINE_LABELS, PRODUCT_LABELS
from recommender.model.evaluation import Evaluation
from recommender.model.patterns import pair_label
from recommender.model.shape import QUERY_TITLES, RANK_METRICS
from recommender.model.verdicts import (
    HEADLINE,
    MIN_KIND_CASES,
    UNTESTED,
    at_a_glance,
    history_said,
    judge,
    overall,
    readable,
    savings_figures,
    untested_pairs,
    untested_said,
    verdicts,
)
from recommender.render import charts

METHOD_LABELS = {k: v[:1].upper() + v[1:] for k, v in (PRODUCT_LABELS | BASELINE_LABELS).items()}
METRIC_LABELS = {
    "hit@1": "Hit@1",
    "hit@5": "Hit@5",
    "hit@10": "Hit@10",
    "mrr": "MRR",
    "ndcg@10": "NDCG@10",
}
PROTOCOL_WORDS = {
    "lopo": "Leave one partnership out (the headline)",
    "lopo_warm": "Leave one partnership out, as served",
    "cold_start": "A body with no history (each body's whole history hidden)",
    "simulated": "Simulated arrangements (a check of the simulator, not evidence)",
}
CHART_WIDTH = 440  # px at which its 12 px text is drawn: readable on a phone and a desktop
SAVINGS_LABELS = {"model": "The product", "service_median": "Median savings by service"}


def model_context(meta: dict[str, Any]) -> dict[str, Any]:
    """Everything the model page shows, from the model's :meth:`Recommender.describe`."""
    evaluation = meta.get("evaluation") or {}
    ranking = list(evaluation.get("ranking") or [])
    notes = dict(evaluation.get("notes") or {})
    return {
        "model": meta,
        "commit": artifacts.commit_said(str(meta["git_commit"]))
        if meta.get("git_commit")
        else None,
        "evaluated": bool(ranking),
        "skipped": bool(notes.get("skipped")),
        "chart": ranking_chart(ranking),
        "ranking": _grouped([r for r in ranking if r["pair_kind"] == "all"]),
        "kinds": _grouped(_headline_kinds(ranking), by_kind=True),
        "untested": untested_said(untested_pairs(ranking)),
        "savings": [
            r
            | {
                "label": SAVINGS_LABELS.get(r["method"], r["method"]),
                "factor": math.exp(float(r["mae_log"])),
            }  # off by this factor, typically
            for r in evaluation.get("savings") or []
        ],
        "verdicts": [readable(v) for v in verdicts(Evaluation.from_dict(evaluation))]
        if ranking
        else [],
        "glance": glance(Evaluation.from_dict(evaluation)) if ranking else [],
        "min_kind_cases": MIN_KIND_CASES,
        "notes": notes,
        "metrics": [METRIC_LABELS[m] for m in RANK_METRICS],
        "importance": _importance(meta.get("importance") or []),
        "register": meta.get("register") or {},
        "savings_figures": savings_figures(evaluation),
        "trained": _when(meta.get("trained_at")),
        "cold_start": cold_start(ranking),
        "history_said": history_said(ranking),
        # the chart's (a fold that ranks nothing counts in no table)
        "held_out": int((overall(ranking, HEADLINE, "model") or {}).get("arrangements", 0)),
    }


JUDGED_WORDS = {  # a verdict as the table at a glance says it, and how it is marked
    "NOT BETTER": ("Not better", "verdict-no"),
    "no clear difference": ("No clear difference", "verdict-even"),
    "better": ("Better", "verdict-yes"),
    UNTESTED: ("Better, not tested for noise", "verdict-even"),
}


def glance(ev: Evaluation) -> list[dict[str, Any]]:
    """The verdicts as a table (:func:`~recommender.model.verdicts.judge`), a group for each
    protocol and question: for each pair kind (:func:`~recommender.model.verdicts.at_a_glance`:
    all pairs first, then the most held out), the judgement, and the product's MRR beside the
    best other method's. A pair kind with too few held-out arrangements says so beside its
    judgement."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for v in at_a_glance(judge(ev)):
        words, mark = JUDGED_WORDS[v.judged]
        groups.setdefault((v.protocol, v.query), []).append(
            {
                "pairs": pair_label(v.pair_kind),
                "arrangements": v.arrangements,
                "judged": words,
                "mark": mark,
                "few": v.few,
                "mrr": v.mrr,
                "rival": METHOD_LABELS.get(v.rival, v.rival),
                "rival_mrr": v.rival_mrr,
            }
        )
    return [
        {
            "title": f"{PROTOCOL_WORDS.get(protocol, protocol)}: {QUERY_TITLES.get(query, query)}",
            "rows": rows,
        }
        for (protocol, query), rows in groups.items()
    ]


def cold_start(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How the product ranks real partners for a body with no history (the ``cold_start``
    protocol, service given, every pair kind) beside the headline, if it was evaluated."""
    start, headline = overall(rows, "cold_start", "model"), overall(rows, HEADLINE, "model")
    if start is None or headline is None:
        return None
    baselines = [
        r
        for r in rows
        if (r["protocol"], r["query"], r["pair_kind"]) == ("cold_start", "service", "all")
        and not str(r["method"]).startswith("model")
    ]
    best = max(baselines, key=lambda r: float(r["mrr"]), default=None)
    gap = best.get("model_minus") if best else None
    return {
        "model": start,
        "headline": headline,
        "best": best | {"label": METHOD_LABELS.get(best["method"], best["method"])}
        if best
        else None,
        # the 95% interval of the product's MRR lead over it (None: not kept, evaluated before)
        "lead": list(gap["mrr"]) if isinstance(gap, dict) and "mrr" in gap else None,
    }


def _headline_kinds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The headline's rows by pair kind (service given)."""
    return [
        r
        for r in rows
        if r["protocol"] == HEADLINE and r["query"] == "service" and r["pair_kind"] != "all"
    ]


def ranking_chart(rows: list[dict[str, Any]]) -> str | None:
    """Bars of every ranking metric for the product and each baseline in the headline:
    leave one partnership out, the service given, every pair kind."""
    chosen = [
        r for r in rows
        if r["protocol"] == HEADLINE and r["query"] == "service" and r["pair_kind"] == "all"
        and r["method"] not in ("model_likelihood", "model_no_history")
    ]  # fmt: skip
    if not chosen:
        return None
    chosen.sort(key=lambda r: (r["method"] != "model", str(r["method"])))
    series = {
        METHOD_LABELS.get(r["method"], r["method"]): [float(r[m]) for m in RANK_METRICS]
        for r in chosen
    }
    return charts.bar_chart(
        [METRIC_LABELS[m] for m in RANK_METRICS],
        series,
        title="Ranking real partners, one partnership held out at a time: the product against "
        "the simple rules and the plain regression",
        max_value=1.0,
        highlight=METHOD_LABELS["model"],
        width=CHART_WIDTH,
    )


def _grouped(rows: list[dict[str, Any]], *, by_kind: bool = False) -> list[dict[str, Any]]:
    """Rows by protocol and query (or by pair kind), each method labelled, the product first."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        kind, protocol, query = str(row["pair_kind"]), str(row["protocol"]), str(row["query"])
        key = (kind,) if by_kind else (protocol, query)
        if key not in groups:
            where = f"{PROTOCOL_WORDS.get(protocol, protocol)}, {QUERY_TITLES.get(query, query)}"
            title = pair_label(kind) if by_kind else where
            groups[key] = {"title": title, "size": row.get("arrangements"), "rows": [],
                           "simulated": protocol == "simulated"}  # fmt: skip
        method = str(row["method"])
        shown = {
            "label": METHOD_LABELS.get(method, method),
            "is_model": method.startswith("model"),
            "values": [row.get(m) for m in RANK_METRICS],
        }
        groups[key]["rows"].append(row | shown)
    for group in groups.values():
        group["rows"].sort(key=lambda r: not r["is_model"])
    return list(groups.values())


def _when(stamp: Any) -> str:
    """An ISO timestamp as "23 November 2026 at 13:23 UTC"."""
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp or "unknown")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%B %Y at %H:%M}" + (" UTC" if moment.tzinfo else "")


def _importance(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    top = max((float(r["mean_abs_effect"]) for r in rows), default=0.0)
    return [
        r | {"share": float(r["mean_abs_effect"]) / top if top > 0 else 0.0}
        for r in sorted(rows, key=lambda r: -float(r["mean_abs_effect"]))
    ]
