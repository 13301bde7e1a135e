"""What the evaluation says: the verdicts on real held-out arrangements, the cautions beside a
body's suggestions, and the figures quoted from it.

:mod:`recommender.model.evaluation` measures (the protocols, the metrics, the intervals of the
model's lead over each baseline) and saves its tables in a model's metadata; this module reads
those tables, as saved, and says what they show: :func:`verdicts` ("NOT BETTER", "no clear
difference", "better") for ``models show``, ``compare`` and the model page, :func:`cautions`
and :func:`trust_said` for the pages, the briefing, the CLI and the API beside a body's
suggestions. It needs none of the evaluation's machinery (no scikit-learn), so what only reads
a model's metadata does not load it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from recommender.core.kinds import KIND_PLURALS, KINDS
from recommender.core.names import and_list
from recommender.model.baselines import BASELINE_LABELS, PARTNER_BASELINES
from recommender.model.patterns import PAIR_KINDS, pair_kind, pair_label, pair_order, pair_words
from recommender.model.shape import ONE_KIND as ONE_KIND
from recommender.model.shape import RANK_METRICS

if TYPE_CHECKING:
    import pandas as pd

HEADLINE = "lopo"
REAL_PROTOCOLS = ("lopo", "lopo_warm", "cold_start")  # judged; "simulated" checks the simulator
MIN_KIND_CASES = 15  # pair kinds with fewer held-out arrangements: too few to judge firmly
UNTESTED = "better (not tested for noise)"  # an evaluation saved before intervals were kept
# A list ranked by likelihood where the likelihood alone leads every baseline: its leads were
# never resampled (the intervals kept are the default order's), so the lead is not tested.
NOISE_UNTESTED = "ahead, not tested for noise"


class Evaluated(Protocol):
    """What is read of an evaluation (:class:`recommender.model.evaluation.Evaluation`): its
    ranking table, a row per protocol, query, pair kind and method."""

    ranking: pd.DataFrame


@dataclass(frozen=True)
class Verdict:
    """What the evaluation says for one protocol, query and pair kind (:func:`judge`): its
    judgement (``NOT BETTER``, ``no clear difference``, ``better``, or ``better (not tested
    for noise)``), the product's MRR beside the baseline's with the best MRR (``rival``), and
    the sentence with every metric (``said``). ``few``: a pair kind with fewer than
    :data:`MIN_KIND_CASES` held-out arrangements, judged by MRR alone and not firmly."""

    protocol: str
    query: str
    pair_kind: str
    arrangements: int
    judged: str
    few: bool
    mrr: float | None
    rival: str
    rival_mrr: float | None
    said: str

    @property
    def where(self) -> str:
        """ "lopo, service given, all pair kinds": where it is judged (without the count)."""
        return _where(self.protocol, self.query, self.pair_kind)

    @property
    def asked(self) -> str:
        """ "lopo, service given": the protocol and the question."""
        return _asked(self.protocol, self.query)


def judge(ev: Evaluated, protocols: Sequence[str] = REAL_PROTOCOLS) -> list[Verdict]:
    """Judge, for each protocol on real arrangements, each query type and each pair kind,
    whether the product's ranking beats every baseline on every metric shown, beyond the noise.

    ``NOT BETTER`` where a baseline matches or beats it on some metric (the best baseline, per
    metric: a tie is not a win); ``no clear difference`` where it is ahead on every metric but,
    on some, the 95% paired bootstrap interval of its lead over a baseline
    (:func:`~recommender.model.evaluation.leads`) reaches 0 or below (the interval shown);
    ``better`` only where every lead on every metric is clear of 0. An evaluation saved before
    the intervals were kept is judged as it was then, and a lead in it is said to be ``not
    tested for noise``. Pair kinds with fewer than :data:`MIN_KIND_CASES` cases are judged by
    MRR alone (``few``): shown, not hidden."""
    table = ev.ranking
    out: list[Verdict] = []
    if table.empty:
        return out
    for protocol in protocols:
        for (query, kind), g in table[table["protocol"] == protocol].groupby(
            ["query", "pair_kind"], sort=False
        ):
            rows = {r["method"]: r for r in g.to_dict(orient="records")}
            baselines = [b for b in PARTNER_BASELINES if b in rows]
            if "model" not in rows or not baselines:
                continue
            n = int(rows["model"]["arrangements"])
            metrics = [m for m in RANK_METRICS if m in rows["model"]]
            few = kind != "all" and n < MIN_KIND_CASES
            if few and "mrr" not in metrics:
                continue
            if few:
                judged, said = _said_few(str(kind), n, rows, baselines)
            else:
                where = f"{_where(str(protocol), str(query), str(kind))} ({n} arrangements)"
                judged, said = _said(where, rows, baselines, metrics)
            has_mrr = "mrr" in metrics
            rival = _best(baselines, rows, "mrr" if has_mrr else metrics[0])
            mrr = float(rows["model"]["mrr"]) if has_mrr else None
            rival_mrr = float(rows[rival]["mrr"]) if has_mrr else None
            out.append(Verdict(str(protocol), str(query), str(kind), n, judged, few, mrr, rival,
                               rival_mrr, said))  # fmt: skip
    return out


def headline(ranking: Sequence[Mapping[str, Any]]) -> Verdict | None:
    """The headline verdict (:data:`HEADLINE`, the service given, all pair kinds) of an
    evaluation's ranking as saved in a model's metadata: what a promotion rests on (None for
    a model not evaluated)."""
    import pandas as pd

    rows = [
        r for r in ranking
        if (r.get("protocol"), r.get("query"), r.get("pair_kind")) == (HEADLINE, "service", "all")
    ]  # fmt: skip
    found = judge(_Ranking(pd.DataFrame(rows)), (HEADLINE,)) if rows else []
    return found[0] if found else None


def verdict_dict(v: Verdict) -> dict[str, Any]:
    """A verdict as the API's ``/model`` and ``models show --format json`` give it: where it
    is judged, the judgement, the product's MRR beside the best other method's by MRR, and the
    sentence with every measure."""
    return {
        "protocol": v.protocol,
        "query": v.query,
        "pair_kind": v.pair_kind,
        "arrangements": v.arrangements,
        "verdict": v.judged,
        "few": v.few,
        "model_mrr": None if v.mrr is None else round(v.mrr, 3),
        "baseline": v.rival,
        "baseline_label": BASELINE_LABELS.get(v.rival, v.rival),
        "baseline_mrr": None if v.rival_mrr is None else round(v.rival_mrr, 3),
        "said": v.said,
    }


def judged(ranking: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What an evaluation's ranking as saved in a model's metadata says, for a reader of its
    figures: the headline verdict (None for a model not evaluated) and every verdict on real
    arrangements (:func:`judge`), so no channel gives the product's figures without them."""
    import pandas as pd

    found = judge(_Ranking(pd.DataFrame(list(ranking)))) if ranking else []
    top = headline(ranking)
    return {
        "headline": None if top is None else verdict_dict(top),
        "verdicts": [verdict_dict(v) for v in found],
    }


@dataclass
class _Ranking:
    """A ranking table alone, judged as an evaluation's (:class:`Evaluated`)."""

    ranking: pd.DataFrame


def at_a_glance(found: Sequence[Verdict]) -> list[Verdict]:
    """Verdicts in the order a table of them reads: by protocol as judged, the service given
    before any service, every pair kind first, then the pair kinds with the most held out."""
    order = {p: i for i, p in enumerate(dict.fromkeys(v.protocol for v in found))}
    return sorted(
        found,
        key=lambda v: (order[v.protocol], v.query != "service", v.pair_kind != "all",
                       -v.arrangements, v.pair_kind),
    )  # fmt: skip


# Each question of the evaluation in a verdict's words (:data:`shape.QUERY_TITLES`, short): the
# lists asked with one kind of partner are questions of their own, never "any service".
ASKED_WORDS = {
    "service": "service given",
    "any": "any service",
    f"service{ONE_KIND}": "service given, one kind of partner asked",
    f"any{ONE_KIND}": "any service, one kind of partner asked",
}


def _asked(protocol: str, query: str) -> str:
    return f"{protocol}, {ASKED_WORDS.get(query, query)}"


def _where(protocol: str, query: str, kind: str) -> str:
    return f"{_asked(protocol, query)}, {'all pair kinds' if kind == 'all' else kind}"


def verdicts(ev: Evaluated, protocols: Sequence[str] = REAL_PROTOCOLS) -> list[str]:
    """Say plainly what :func:`judge` finds, a line for each protocol, query type and pair kind
    with enough cases; after each protocol's, the pair kinds with too few said together, a line
    for each query, as too few to judge firmly."""
    if ev.ranking.empty:
        return ["no held-out arrangements to evaluate"]
    judged = judge(ev, protocols)
    out: list[str] = []
    for protocol in protocols:
        few: dict[str, list[str]] = {}
        for v in judged:
            if v.protocol != protocol:
                continue
            if v.few:
                few.setdefault(v.asked, []).append(v.said)
            else:
                out.append(v.said)
        out.extend(
            f"TOO FEW TO JUDGE on {asked} (pair kinds with fewer than {MIN_KIND_CASES} "
            f"arrangements): " + "; ".join(said)
            for asked, said in few.items()
        )
    return out


Rows = Mapping[Any, Mapping[Any, Any]]

VERDICT_PROTOCOLS = {  # how a verdict line names the protocols after the headline
    "lopo_warm": "as served (with what was known when it started in view)",
    "cold_start": "for a body with no history",
}
_PAIR_IDS = re.compile(r"\b(?:" + "|".join(map(re.escape, PAIR_KINDS)) + r")\b")
_METHOD_IDS = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, BASELINE_LABELS), key=len, reverse=True)) + r")\b"
)


def readable(verdict: str) -> str:
    """A verdict line (:func:`verdicts`) in words, as the model page and ``models show`` print
    it: the protocol and the baselines by their names, not their ids (the lines keep the ids:
    the JSON's readers match on them).

    >>> readable("NOT BETTER on lopo, service given, …: does not beat nearest on mrr …")
    'NOT BETTER in the headline, service given, …: does not beat “nearest by distance” on mrr …'
    >>> readable("NOT BETTER for council-health (17: mrr 0.330 against nearest 0.492)")
    'NOT BETTER for council–NHS (17: mrr 0.330 against “nearest by distance” 0.492)'
    """
    text = verdict.replace(f"on {HEADLINE}, ", "in the headline, ")
    for protocol, words in VERDICT_PROTOCOLS.items():
        text = text.replace(f"on {protocol}, ", f"{words}, ")
    text = _PAIR_IDS.sub(lambda m: pair_label(m.group(0)), text)
    return _METHOD_IDS.sub(lambda m: f"“{BASELINE_LABELS[m.group(0)]}”", text)


def _lead(rows: Rows, baselines: Sequence[str], metric: str) -> tuple[str, list[float]] | None:
    """The closest call on ``metric``: the baseline whose interval of the model's lead over it
    reaches lowest, and that interval (None when any is missing: an evaluation saved before
    the intervals were kept, or a single arrangement)."""
    found = []
    for b in baselines:
        gap = rows[b].get("model_minus")
        if not isinstance(gap, Mapping) or metric not in gap:
            return None
        found.append((b, [float(v) for v in gap[metric]]))
    return min(found, key=lambda f: f[1][0])


def _interval(lead: Sequence[float], digits: int = 3, of: str = "the lead") -> str:
    """A lead's 95% interval in words (an end at 0 unsigned: "+0.000" would read as above)."""
    low, high = (f"{v:+.{digits}f}" if round(v, digits) else f"{0:.{digits}f}" for v in lead)
    return f"95% interval of {of} {low} to {high}"


def _said(
    where: str, rows: Rows, baselines: Sequence[str], metrics: Sequence[str]
) -> tuple[str, str]:
    """One verdict: NOT BETTER, no clear difference, or better (see :func:`judge`), and its
    line."""
    best = {m: _best(baselines, rows, m) for m in metrics}
    mine = {m: float(rows["model"][m]) for m in metrics}

    def theirs(m: str, b: str | None = None) -> float:
        return float(rows[b or best[m]][m])

    beaten: dict[str, list[str]] = {}  # each baseline once, with the metrics it wins
    for m in metrics:
        if theirs(m) >= mine[m]:
            beaten.setdefault(best[m], []).append(f"{m} {mine[m]:.3f} against {theirs(m):.3f}")
    if beaten:
        return "NOT BETTER", f"NOT BETTER on {where}: " + "; ".join(
            f"does not beat {b} on {', '.join(ms)}" for b, ms in beaten.items()
        )
    closest = {m: c for m in metrics if (c := _lead(rows, baselines, m)) is not None}
    if len(closest) < len(metrics):
        return UNTESTED, f"{UNTESTED} on {where}: " + "; ".join(
            f"{m} {mine[m]:.3f} against at best {theirs(m):.3f}" for m in metrics
        )
    noisy: dict[str, list[str]] = {}
    clear = []
    for m, (b, (low, high)) in closest.items():
        if low > 0:
            lead = rows[best[m]]["model_minus"][m]
            clear.append(f"{m} {mine[m]:.3f} against at best {theirs(m):.3f} ({_interval(lead)})")
        else:
            noisy.setdefault(b, []).append(
                f"{m} {mine[m]:.3f} against {theirs(m, b):.3f} ({_interval([low, high])})"
            )
    if not noisy:
        return "better", f"better on {where}: " + "; ".join(clear)
    said = "; ".join(f"ahead of {b} only within the noise on {', '.join(ms)}"
                     for b, ms in noisy.items())  # fmt: skip
    return "no clear difference", f"no clear difference on {where}: {said}" + (
        f"; clearly ahead on {', '.join(clear)}" if clear else ""
    )


def _said_few(kind: str, n: int, rows: Rows, baselines: Sequence[str]) -> tuple[str, str]:
    """A pair kind with too few cases, by MRR: NOT BETTER, no clear difference or better, and
    its words."""
    best = _best(baselines, rows, "mrr")
    mine, theirs = float(rows["model"]["mrr"]), float(rows[best]["mrr"])
    if theirs >= mine:
        return (
            "NOT BETTER",
            f"NOT BETTER for {kind} ({n}: mrr {mine:.3f} against {best} {theirs:.3f})",
        )
    closest = _lead(rows, baselines, "mrr")
    if closest is None:
        return UNTESTED, (
            f"better, not tested for noise, for {kind} ({n}: mrr {mine:.3f} against "
            f"{best} {theirs:.3f})"
        )
    b, (low, high) = closest
    if low > 0:
        lead = rows[best]["model_minus"]["mrr"]
        return "better", (
            f"better for {kind} ({n}: mrr {mine:.3f} against {best} {theirs:.3f}, "
            f"{_interval(lead)})"
        )
    return "no clear difference", (
        f"no clear difference for {kind} ({n}: mrr {mine:.3f} against {b} "
        f"{float(rows[b]['mrr']):.3f}, {_interval([low, high])})"
    )


def summary(ev: Evaluated) -> dict[str, Any]:
    """A few headline figures for ``models list``: the model's MRR and hit@10 per protocol
    and query type, over all pair kinds."""
    out: dict[str, Any] = {}
    table = ev.ranking
    if table.empty:
        return out
    model = table[(table["method"] == "model") & (table["pair_kind"] == "all")]
    for row in model.to_dict(orient="records"):
        key = f"{row['protocol']}/{row['query']}"
        out[key] = {
            "mrr": round(float(row["mrr"]), 3),
            "hit@1": round(float(row["hit@1"]), 3),
            "hit@10": round(float(row["hit@10"]), 3),
        }
    return out


def overall(
    ranking: Sequence[Mapping[str, Any]], protocol: str, method: str
) -> Mapping[str, Any] | None:
    """The row of ``ranking`` (an evaluation's, as saved) for ``method`` in ``protocol`` with
    the service given, over every pair kind (None when it has none)."""
    wanted = (protocol, "service", "all", method)
    return next(
        (r for r in ranking if (r["protocol"], r["query"], r["pair_kind"], r["method"]) == wanted),
        None,
    )


def history_said(ranking: Sequence[Mapping[str, Any]]) -> str | None:
    """What the product's shared-history term adds or costs, by MRR with the service given:
    the product against itself without the term (``model_no_history``), in the headline and
    as served, with the 95% paired interval of the difference (None for an evaluation saved
    before that row was kept). The headline hides each held-out partner's ties with its
    partnership, so there the term can only lift wrong candidates: it is judged as served."""
    parts = []
    for protocol, where in ((HEADLINE, "in the headline"), ("lopo_warm", "as served")):
        mine = overall(ranking, protocol, "model")
        alone = overall(ranking, protocol, "model_no_history")
        if mine is None or alone is None:
            return None
        with_it, without = float(mine["mrr"]), float(alone["mrr"])
        gap = alone.get("model_minus")
        interval = gap["mrr"] if isinstance(gap, Mapping) and "mrr" in gap else None
        noise = "" if interval is None else f", {_interval(interval, of='the difference')}"
        change = round(with_it - without, 3)
        moved = (
            f"{'adds' if change > 0 else 'costs'} {abs(change):.3f}"
            if change
            else "changes nothing"
        )
        if change and interval is not None and interval[0] <= 0 <= interval[1]:
            moved += ", within the noise"
        parts.append(
            f"{where} it {moved} (MRR {with_it:.3f} with it, {without:.3f} without{noise})"
        )
    return (
        f"the product's shared-history term, by MRR with the service given: {parts[0]}, where "
        "each held-out partner's ties are hidden with its partnership, so only wrong candidates' "
        f"ties stay in view; {parts[1]}, with what was known when each arrangement started"
    )


Behind = dict[str, list[tuple[str, str]]]  # each baseline named, with (measure, its figures)


def _shortfall(rows: Rows, baselines: Sequence[str], metrics: Sequence[str]) -> (
    tuple[str, Behind] | None
):  # fmt: skip
    """Where the model falls short of the baselines on ``metrics`` as :func:`judge` finds it:
    ``("not better", …)`` with each baseline that matches or beats it and on which measures,
    ``("no clear difference", …)`` with each it leads only within the noise (the 95% interval
    of its lead reaching 0), or None where it is clearly ahead of every one on every measure
    (or, in an evaluation saved before the intervals were kept, ahead). Baselines are named
    in the order of the measures, MRR's first."""
    mine = {m: float(rows["model"][m]) for m in metrics}
    ordered = sorted(metrics, key=lambda m: m != "mrr")
    beaten: Behind = {}
    for m in ordered:
        best = _best(baselines, rows, m)
        if float(rows[best][m]) >= mine[m]:
            beaten.setdefault(best, []).append((m, _measured(m, mine[m], float(rows[best][m]))))
    if beaten:
        return "not better", beaten
    noisy: Behind = {}
    for m in ordered:
        closest = _lead(rows, baselines, m)
        if closest is not None and closest[1][0] <= 0:
            b, interval = closest
            noisy.setdefault(b, []).append((m, _measured(m, mine[m], float(rows[b][m]), interval)))
    return ("no clear difference", noisy) if noisy else None


# The other measures a caution names after its first one's figures ("…, and on first places
# and nDCG@10").
_MEASURE_NAMES = {
    "mrr": "mean reciprocal rank",
    "hit@1": "first places",
    "hit@5": "top-five places",
    "hit@10": "top-ten places",
    "ndcg@10": "nDCG@10",
}


def _measured(metric: str, mine: float, theirs: float, lead: Sequence[float] = ()) -> str:
    """The model's figure against a baseline's on one measure, in words, with the 95% interval
    of its lead when given (a share's in percentage points).

    >>> print(_measured("hit@10", 0.979, 0.854, [0.0, 0.3]))  # doctest: +NORMALIZE_WHITESPACE
    a true partner in the top ten in 97.9% of cases against 85.4%,
    95% interval of the lead 0.0 to +30.0 points
    """
    if not metric.startswith("hit@"):
        name = "mean reciprocal rank" if metric == "mrr" else metric.replace("ndcg", "nDCG")
        said = f"{name} {mine:.3f} against {theirs:.3f}"
        return f"{said}, {_interval(lead, digits=3)}" if len(lead) else said
    where = {"1": "first", "5": "in the top five", "10": "in the top ten"}[metric[4:]]
    said = f"a true partner {where} in {mine:.1%} of cases against {theirs:.1%}"
    if not len(lead):
        return said
    return f"{said}, {_interval([100 * v for v in lead], digits=1)} points"


def _caution_said(
    pairs: str, verdict: str, behind: Behind, held: str, subject: str = "the model"
) -> str:
    """A caution's sentence: where (``pairs``), against which baselines, each with the first
    measure it falls short on (MRR's when it does, with its figures) and the others named, and
    how many held-out arrangements it rests on."""
    named = [f"“{BASELINE_LABELS.get(b, b)}”" for b in behind]
    figures = []
    for measures in behind.values():
        others = and_list([_MEASURE_NAMES[m] for m, _ in measures[1:]])
        figures.append(measures[0][1] + (f", and on {others}" if others else ""))
    if verdict == "not better":
        if len(named) > 1:
            joined = " or ".join(f"{n} ({f})" for n, f in zip(named, figures, strict=True))
            return f"{pairs} {subject} ranked real partners no better than {joined}, on {held}"
        # one figure of MRR: "(… against 0.500, 7 held-out arrangements)", as always said
        sep = "; " if ", and on " in figures[0] else ", "
        return f"{pairs} {subject} ranked real partners no better than {named[0]} " + (
            f"({figures[0]}{sep}{held})"
        )
    if verdict == NOISE_UNTESTED:
        return (
            f"{pairs} {subject} ranked real partners ahead of every simple rule and the plain "
            f"regression, the closest {named[0]} ({figures[0]}; {held}), but that lead was "
            "never tested for noise: only the default order's leads were resampled"
        )
    if len(named) > 1:
        joined = " and ".join(f"{n} ({f})" for n, f in zip(named, figures, strict=True))
        return (
            f"{pairs} the model's lead over {joined} in ranking real partners is within the "
            f"noise, on {held}"
        )
    return (
        f"{pairs} the model's lead over {named[0]} in ranking real partners is within the "
        f"noise ({figures[0]}; {held})"
    )


def _best(baselines: Sequence[str], rows: Mapping[Any, Mapping[Any, Any]], metric: str) -> str:
    """The baseline with the highest ``metric`` (the first of equals)."""
    return max(baselines, key=lambda b: float(rows[b][metric]))


def savings_figures(evaluation: Mapping[str, Any]) -> int | None:
    """How many real annual savings figures the savings were learned from: those the
    evaluation held out one by one (None when it was skipped)."""
    rows = evaluation.get("savings") or []
    return next((int(r["n"]) for r in rows if r["method"] == "model"), None)


def measured_coverage(evaluation: Mapping[str, Any]) -> float | None:
    """The share of held-out real savings figures inside the savings interval (leave one
    partnership out), if the model was evaluated: the real coverage, never a simulated one."""
    for row in evaluation.get("savings") or []:
        if (row["protocol"], row["subset"], row["method"]) == ("lopo", "real", "model"):
            return float(row["coverage80"])
    return None


NOT_EVALUATED = "not evaluated"


def not_evaluated(query: str) -> dict[str, Any]:
    """The caution of a model trained without a held-out evaluation (``train --no-evaluate``):
    nothing measured how its order compares with the rules, and silence would read as
    trusted."""
    return {
        "pair_kind": "all",
        "query": query,
        "verdict": NOT_EVALUATED,
        "measures": [],
        "model_mrr": None,
        "baseline": None,
        "baseline_label": None,
        "baseline_mrr": None,
        "lead_interval": None,
        "held_out": 0,
        "few": True,
        "said": "this model was not evaluated on real arrangements held out from training (it "
        "was trained without its evaluation), so nothing measures whether its order beats the "
        "simple rules an officer would use",
    }


# Beside partner groups and arrangements to join: the evaluation ranks single partners only.
UNTESTED_ORDERS = (
    "The held-out evaluation tests the order of single partners (the list above), not of "
    "groups nor of arrangements to join: this order is the model's alone, untested against "
    "the simple rules an officer would use."
)

# The caution of a list ranked by savings if formed (``sort=savings``).
SAVINGS_ORDER_SAID = (
    "ranked by savings if formed, an order the held-out evaluation never tested (it tests the "
    "default order, by expected savings, and the likelihood alone): this order is by what each "
    "partnership would save if it formed, not by how likely it is to form"
)

# The caution of a list ranked by likelihood, from a model whose evaluation did not rank by it.
LIKELIHOOD_ORDER_SAID = (
    "ranked by likelihood, an order this model's held-out evaluation did not test (it was "
    "saved before the likelihood alone was ranked)"
)

UNTRIED = "untested"


def untried(pair: str, query: str) -> dict[str, Any]:
    """The caution of a pair kind the evaluation has no held-out arrangement of: its order
    there is the model's alone, and silence would read as tested. Its figures are null, as
    :func:`not_evaluated`'s."""
    return not_evaluated(query) | {
        "pair_kind": pair,
        "verdict": UNTRIED,
        "said": _untried_said([pair]),
    }


def _untried_said(pairs: Sequence[str]) -> str:
    between = and_list([f"between {pair_words(p)}" for p in pairs])
    return (
        f"{between}, no documented arrangement was there to hold out and test the "
        "model's order against the simple rules an officer would use (such as the nearest body "
        "of the same kind), so there the order is the model's alone, untested"
    )


def untested_pairs(ranking: Sequence[Mapping[str, Any]]) -> list[str]:
    """The pair kinds the headline evaluation has no held-out arrangement of (none for a model
    not evaluated): their order is the model's alone (:func:`untried`), as the model page and
    ``models show`` say beside the verdicts."""
    tested = {
        str(r["pair_kind"]) for r in ranking if r["protocol"] == HEADLINE and r["method"] == "model"
    }
    return sorted((p for p in PAIR_KINDS if p not in tested), key=pair_order) if ranking else []


def untested_said(pairs: Sequence[str]) -> str:
    """:func:`untested_pairs` in a sentence ("" for none)."""
    if not pairs:
        return ""
    said = _untried_said(pairs)
    return f"{said[:1].upper()}{said[1:]}; a body's list says so beside such partners."


def trust_said(cautions: Sequence[Mapping[str, Any]]) -> str:
    """The note beside a body's suggestions that says how far to trust their order, from its
    :func:`cautions` (the page, the briefing and the CLI say it alike): what the held-out
    evaluation found, then the pair kinds it could not test (:func:`untried`)."""
    unevaluated = [c for c in cautions if c.get("verdict") == NOT_EVALUATED]
    if unevaluated:
        said = str(unevaluated[0]["said"])
        return f"{said[:1].upper()}{said[1:]}. Treat the order as untested."
    tested = [c for c in cautions if c.get("verdict") != UNTRIED]
    untested = [str(c["pair_kind"]) for c in cautions if c.get("verdict") == UNTRIED]
    parts = []
    if tested:
        them = "it" if len(tested) == 1 else "them"
        said = "; ".join(str(c["said"]) for c in tested)
        parts.append(
            f"On real arrangements held out from training, {said}. Weigh the order of these "
            f"partners against {them}."
        )
    if untested:  # the pair kinds said together, in one sentence
        said = _untried_said(untested)
        parts.append(f"{said[:1].upper()}{said[1:]}.")
    return " ".join(parts)


def cautions(
    ranking: Sequence[Mapping[str, Any]],
    kind: str,
    partner_kinds: Iterable[str] | None = None,
    query: str = "service",
    *,
    asked: Iterable[str] | None = None,
    sort: str = "expected",
) -> list[dict[str, Any]]:
    """Where the model's own headline evaluation (real arrangements held out; ``query``: the service
    given, or ``"any"`` for a list of every service, as the default list is) says it ranks real
    partners no better than a baseline, or ahead of one only within the noise (the 95% paired
    interval of its lead reaches 0: :func:`~recommender.model.evaluation.leads`), for pairs a
    body of ``kind`` is in (with partners of ``partner_kinds`` only, when given: the kinds a
    list shows), by MRR, worst first. What an officer weighs the order of a body's suggestions
    against (a council's list, a police force's …). An evaluation saved before the intervals
    were kept warns only where a baseline matches or beats the model. Each: ``pair_kind``,
    ``query``, ``verdict`` (``"not better"`` or ``"no clear difference"``), ``model_mrr``,
    ``baseline`` (its id), ``baseline_label``, ``baseline_mrr``, ``measures`` (those it falls
    short on, MRR's first), ``lead_interval`` (the 95% interval of the model's figure minus
    the baseline's on the first of ``measures``, or None when not kept), ``held_out``
    (arrangements), ``few`` (too few to judge firmly) and ``said`` (the sentence
    :func:`trust_said` joins). A model with no held-out evaluation gets one caution saying so
    (:func:`not_evaluated`, pair kind ``all``); after the others, each pair kind the list can
    hold that the evaluation could not test (no real arrangement of it held out: health–health,
    say) gets one (:func:`untried`, verdict ``"untested"``, its figures null).

    ``asked`` is the kinds of partner the list was asked for (its filter). A list asked for one
    kind ranks that kind's candidates alone, so it is judged on the evaluation's ranks among
    them (``query`` + :data:`ONE_KIND`), and each sentence says so; a list of several kinds, or
    of every kind, on the ranks among every candidate (an evaluation saved before the ranks
    among one kind were kept: those too).

    ``sort`` is the list's order: by expected savings (the default, the evaluation's
    ``model``), by likelihood (its ``model_likelihood``, judged on its figures alone: the
    intervals kept are the default order's leads, so a lead of the likelihood is not tested
    for noise: a baseline matching or beating it is said, and where it leads every one, that
    the lead is untested, verdict :data:`NOISE_UNTESTED`, silence reading as a clear lead),
    or by savings if formed,
    an order the evaluation never ranks by: one caution says so (:func:`not_evaluated`)."""
    if not ranking:  # no held-out evaluation at all: say so, rather than nothing
        return [not_evaluated(query)]
    if sort == "savings":
        return [not_evaluated(query) | {"said": SAVINGS_ORDER_SAID}]
    if sort == "likelihood" and not any(r["method"] == "model_likelihood" for r in ranking):
        return [not_evaluated(query) | {"said": LIKELIHOOD_ORDER_SAID}]  # saved before it was
    if sort == "likelihood":
        ranking = [
            {k: v for k, v in r.items() if k != "model_minus"} | {"method": "model"}
            if r["method"] == "model_likelihood" else
            {k: v for k, v in r.items() if k != "model_minus"}
            for r in ranking if r["method"] != "model"
        ]  # fmt: skip
    wanted = None if partner_kinds is None else {pair_kind(kind, k) for k in partner_kinds}
    one = sorted(set(asked or ()))
    judged, among = query, ""
    if len(one) == 1 and any(r["query"] == query + ONE_KIND for r in ranking):
        judged, among = query + ONE_KIND, f", in a list of {KIND_PLURALS[one[0]]} only,"
        only = {pair_kind(kind, one[0])}
        wanted = only if wanted is None else wanted & only
    rows = [
        r
        for r in ranking
        if (r["protocol"], r["query"]) == (HEADLINE, judged)
        and r["pair_kind"] != "all"
        and kind in str(r["pair_kind"]).split("-")
        and (wanted is None or r["pair_kind"] in wanted)
    ]
    tested = {str(r["pair_kind"]) for r in rows if r["method"] == "model"}
    possible = wanted if wanted is not None else {pair_kind(kind, k) for k in KINDS}
    untested = [untried(p, query) for p in sorted(possible - tested, key=pair_order)]
    found: list[dict[str, Any]] = []
    subject = "the model's likelihood alone" if sort == "likelihood" else "the model"
    for pair in dict.fromkeys(str(r["pair_kind"]) for r in rows):
        by = {r["method"]: r for r in rows if r["pair_kind"] == pair}
        baselines = [b for b in PARTNER_BASELINES if b in by]
        if "model" not in by or not baselines:
            continue
        n = int(by["model"]["arrangements"])
        few = n < MIN_KIND_CASES  # judged by MRR alone, as the verdicts judge such kinds
        metrics = ["mrr"] if few else [m for m in RANK_METRICS if m in by["model"]]
        shortfall = _shortfall(by, baselines, metrics)
        if shortfall is None and sort == "likelihood":  # ahead, but its leads are not kept
            best = _best(baselines, by, "mrr")
            mine = float(by["model"]["mrr"])
            shortfall = (
                NOISE_UNTESTED,
                {best: [("mrr", _measured("mrr", mine, float(by[best]["mrr"])))]},
            )
        if shortfall is None:
            continue  # clearly ahead of every baseline on every measure (or, saved before
            # intervals, ahead)
        verdict, behind = shortfall
        best = next(iter(behind))
        first = behind[best][0][0]  # the measure said first (MRR's, when it is short there)
        gap = by[best].get("model_minus")
        interval = list(gap[first]) if isinstance(gap, Mapping) and first in gap else None
        mine, theirs = float(by["model"]["mrr"]), float(by[best]["mrr"])
        held = f"{n:,} held-out arrangement{'s' if n != 1 else ''}"
        held += "; too few to judge firmly" * few
        pairs = f"between {pair_words(pair)}{among or ','}"
        found.append(
            {
                "pair_kind": pair,
                "query": query,
                "verdict": verdict,
                "measures": []
                if verdict == NOISE_UNTESTED
                else list(dict.fromkeys(m for ms in behind.values() for m, _ in ms)),
                "model_mrr": round(mine, 3),
                "baseline": best,
                "baseline_label": BASELINE_LABELS.get(best, best),
                "baseline_mrr": round(theirs, 3),
                "lead_interval": interval,
                "held_out": n,
                "few": few,
                "said": _caution_said(pairs, verdict, behind, held, subject),
            }
        )
    return sorted(found, key=lambda c: c["model_mrr"] - c["baseline_mrr"]) + untested
