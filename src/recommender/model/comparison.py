"""Two trained models side by side, from their saved metadata (``recommender models compare``).

For each, the register it was trained on and its held-out evaluation on the real arrangements:
for every protocol and query, all pair kinds, the model's figure on each metric beside the best
baseline's on that metric in the same evaluation, and the change from the first model to the
second. Two models trained on different registers were also evaluated on different held-out
arrangements, so the comparison says so: the change then mixes the data's with the model's.
Nothing is refitted; a model saved without an evaluation (``train --no-evaluate``) is shown
as not evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommender.model.baselines import BASELINE_LABELS, PARTNER_BASELINES
from recommender.model.evaluation import Evaluation
from recommender.model.shape import RANK_METRICS
from recommender.model.verdicts import REAL_PROTOCOLS, judge

SAVINGS_METRICS = ("mae_log", "coverage80")


def compare(
    first: tuple[str, Mapping[str, Any]], second: tuple[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """``first`` and ``second`` (each ``(version, metadata)``) compared: their registers, the
    ranking figures (``ranking``: one row per protocol, query and metric), the savings figures
    and the verdicts' judgements that differ between them (``judgements``)."""
    (a, meta_a), (b, meta_b) = first, second
    ev_a, ev_b = (Evaluation.from_dict(dict(m.get("evaluation") or {})) for m in (meta_a, meta_b))
    reg_a, reg_b = (dict(m.get("register") or {}) for m in (meta_a, meta_b))
    ranking = []
    for protocol in REAL_PROTOCOLS:
        for query in ("service", "any"):
            found_a, found_b = _headline(ev_a, protocol, query), _headline(ev_b, protocol, query)
            if found_a is None and found_b is None:
                continue
            for metric in RANK_METRICS:
                one, two = _figures(found_a, metric), _figures(found_b, metric)
                change = (
                    None
                    if one["model"] is None or two["model"] is None
                    else two["model"] - one["model"]
                )
                ranking.append(
                    {"protocol": protocol, "query": query, "metric": metric}
                    | {"first": one, "second": two, "change": change}
                )
    savings = []
    for metric in SAVINGS_METRICS:
        low, high = _savings(ev_a, metric), _savings(ev_b, metric)
        moved = None if low is None or high is None else high - low
        savings.append({"metric": metric, "first": low, "second": high, "change": moved})
    judged_a, judged_b = _judgements(ev_a), _judgements(ev_b)
    differ = [
        {"where": where, "first": judged_a.get(where), "second": judged_b.get(where)}
        for where in dict.fromkeys([*judged_a, *judged_b])
        if judged_a.get(where) != judged_b.get(where)
    ]
    return {
        "first": _model(a, meta_a, ev_a),
        "second": _model(b, meta_b, ev_b),
        "same_register": bool(reg_a.get("hash")) and reg_a.get("hash") == reg_b.get("hash"),
        "ranking": ranking,
        "savings": savings,
        "judgements": differ,
        # The verdict an analyst promotes on, said whether or not the two differ on it.
        "headline": {
            "where": _HEADLINE_WHERE,
            "first": judged_a.get(_HEADLINE_WHERE),
            "second": judged_b.get(_HEADLINE_WHERE),
        },
    }


_HEADLINE_WHERE = "lopo, service given, all pair kinds"  # (:attr:`Verdict.where`)


def _judgements(ev: Evaluation) -> dict[str, str]:
    """Each verdict's judgement ("better", "NOT BETTER", …) by where it is made (protocol,
    query and pair kind, :attr:`Verdict.where`); the pair kinds with too few cases, judged
    together, are left out."""
    return {v.where: v.judged for v in judge(ev) if not v.few}


def _model(version: str, meta: Mapping[str, Any], ev: Evaluation) -> dict[str, Any]:
    register = dict(meta.get("register") or {})
    return {
        "version": version,
        "created_at": meta.get("created_at"),
        "register_hash": register.get("hash"),
        "arrangements": register.get("arrangements"),
        "real": register.get("real"),
        "evaluated": not ev.ranking.empty,
        "held_out": _held_out(ev),
    }


def _held_out(ev: Evaluation) -> int | None:
    found = _headline(ev, "lopo", "service")
    return None if found is None else int(found["model"]["arrangements"])


def _headline(ev: Evaluation, protocol: str, query: str) -> dict[str, dict[str, Any]] | None:
    """The rows of ``protocol`` and ``query`` over all pair kinds, by method, if evaluated."""
    table = ev.ranking
    if table.empty:
        return None
    part = table[
        (table["protocol"] == protocol) & (table["query"] == query) & (table["pair_kind"] == "all")
    ]
    rows = {str(r["method"]): {str(k): v for k, v in r.items()} for r in part.to_dict("records")}
    return rows if "model" in rows else None


def _figures(rows: Mapping[str, Mapping[str, Any]] | None, metric: str) -> dict[str, Any]:
    """The model's figure and the best baseline's (id, label and figure) on ``metric``."""
    if rows is None or metric not in rows["model"]:
        return {"model": None, "baseline": None, "baseline_label": None, "baseline_value": None}
    baselines = [b for b in PARTNER_BASELINES if b in rows and rows[b].get(metric) is not None]
    best = max(baselines, key=lambda b: float(rows[b][metric]), default=None)
    return {
        "model": float(rows["model"][metric]),
        "baseline": best,
        "baseline_label": None if best is None else BASELINE_LABELS.get(best, best),
        "baseline_value": None if best is None else float(rows[best][metric]),
    }


def _savings(ev: Evaluation, metric: str) -> float | None:
    table = ev.savings
    if table.empty or metric not in table:
        return None
    rows = table[(table["method"] == "model") & (table["subset"] == "real")]
    return None if rows.empty else float(rows.iloc[0][metric])
