"""The model page: how the serving model does against the baselines, what drives it, and the
data it was trained on, all read from its metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recommender import charts
from recommender.baselines import BASELINE_LABELS
from recommender.evaluation import RANK_METRICS, Evaluation, verdicts

METHOD_LABELS = {
    "model": "Model (likelihood)",
    "model_savings": "Model (expected savings)",
} | {k: v[:1].upper() + v[1:] for k, v in BASELINE_LABELS.items()}
METRIC_LABELS = {
    "hit@1": "Hit@1",
    "hit@5": "Hit@5",
    "hit@10": "Hit@10",
    "mrr": "MRR",
    "ndcg@10": "NDCG@10",
}
SUBSET_ORDER = ("all", "simulated", "real")
CHART_WIDTH = 440  # px at which its 12 px text is drawn: readable on a phone and a desktop
SAVINGS_LABELS = {"model": "Model", "service_median": "Median savings by service"}


def protocol_words(protocol: str, notes: dict[str, Any]) -> str:
    """The evaluation protocol in words."""
    if protocol == "temporal":
        return f"Temporal hold-out (from {notes.get('temporal_cutoff', 'the cut-off year')})"
    if protocol == "grouped_cv":
        return f"Grouped cross-validation ({notes.get('folds', 'several')} folds)"
    if protocol == "loao_real":
        return "Leave one real arrangement out"
    return protocol.replace("_", " ")


def model_context(meta: dict[str, Any]) -> dict[str, Any]:
    """Everything the model page shows, from the model's :meth:`Recommender.describe`."""
    evaluation = meta.get("evaluation") or {}
    ranking = list(evaluation.get("ranking") or [])
    notes = dict(evaluation.get("notes") or {})
    return {
        "model": meta,
        "evaluated": bool(ranking),
        "skipped": bool(notes.get("skipped")),
        "chart": ranking_chart(ranking),
        "ranking": _grouped(ranking, notes, METHOD_LABELS),
        "savings": _grouped(list(evaluation.get("savings") or []), notes, SAVINGS_LABELS),
        "verdicts": verdicts(Evaluation.from_dict(evaluation)) if ranking else [],
        "notes": notes,
        "metrics": [METRIC_LABELS[m] for m in RANK_METRICS],
        "importance": _importance(meta.get("importance") or []),
        "register": meta.get("register") or {},
        "trained": _when(meta.get("trained_at")),
    }


def ranking_chart(rows: list[dict[str, Any]]) -> str | None:
    """Bars of every ranking metric for the model and each baseline on the temporal hold-out
    (all held-out arrangements if they were scored together, else the first subset)."""
    held = [r for r in rows if r["protocol"] == "temporal"]
    subsets = [s for s in SUBSET_ORDER if any(r["subset"] == s for r in held)]
    if not subsets:
        return None
    subset = subsets[0]
    chosen = sorted(
        (r for r in held if r["subset"] == subset and r["method"] != "model_savings"),
        key=lambda r: (not str(r["method"]).startswith("model"), str(r["method"])),
    )
    series = {
        METHOD_LABELS.get(r["method"], r["method"]): [float(r[m]) for m in RANK_METRICS]
        for r in chosen
    }
    highlight = METHOD_LABELS["model"] if METHOD_LABELS["model"] in series else None
    return charts.bar_chart(
        [METRIC_LABELS[m] for m in RANK_METRICS],
        series,
        title=f"Ranking on the temporal hold-out ({subset} arrangements): model against baselines",
        max_value=1.0,
        highlight=highlight,
        width=CHART_WIDTH,
    )


def _grouped(
    rows: list[dict[str, Any]], notes: dict[str, Any], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """Rows by protocol and subset (in their order), each method labelled, the model first."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (str(row["protocol"]), str(row["subset"]))
        if key not in groups:
            groups[key] = {
                "title": f"{protocol_words(key[0], notes)}, {key[1]} arrangements",
                "size": row.get("arrangements", row.get("n")),
                "queries": row.get("queries"),
                "rows": [],
            }
        method = str(row["method"])
        shown = {
            "label": labels.get(method, method),
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
