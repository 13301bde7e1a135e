"""Ranking metrics, verdicts, and a small end-to-end evaluation against the baselines."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model_fixtures import real_context
from recommender.core.config import Settings
from recommender.model.baselines import PARTNER_BASELINES, ServiceMedian
from recommender.model.evaluation import (
    RANK_METRICS,
    Evaluation,
    evaluate,
    held_out,
    leads,
    partnerships,
    prepare,
    query_metrics,
    tied_positions,
)
from recommender.model.verdicts import (
    MIN_KIND_CASES,
    ONE_KIND,
    cautions,
    history_said,
    judge,
    trust_said,
    untried,
    verdicts,
)

# The real data/, named: these tests check the committed reference and register.
REAL = Settings.from_env()


def test_tied_positions_count_the_candidates_above_and_alongside() -> None:
    scores = np.array([5.0, 3.0, 3.0, 1.0])
    relevant = np.array([False, True, False, True])
    assert tied_positions(scores, relevant).tolist() == [[1, 3], [2, 1]]


def test_query_metrics_by_hand() -> None:
    m = query_metrics(np.array([[2, 11], [1, 1]]))  # no ties: ranks 3 and 12
    assert m["hit@1"] == 0 and m["hit@5"] == 1 and m["hit@10"] == 1
    assert m["mrr"] == pytest.approx(1 / 3)
    ideal = 1 + 1 / np.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 / np.log2(4)) / ideal)


def _by_every_order(scores: np.ndarray, relevant: np.ndarray) -> dict[str, float]:
    """The metrics averaged over every way of breaking the ties (the truth, by brute force)."""
    from itertools import permutations

    found = []
    for order in set(permutations(range(len(scores)))):
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], order[i]))
        ranks = np.array([ranked.index(i) + 1 for i in np.flatnonzero(relevant)])
        dcg = np.sum(1 / np.log2(ranks[ranks <= 10] + 1))
        ideal = np.sum(1 / np.log2(np.arange(1, min(len(ranks), 10) + 1) + 1))
        first = ranks.min()
        hits = {f"hit@{k}": first <= k for k in (1, 5, 10)}
        found.append(hits | {"mrr": 1 / first, "ndcg@10": dcg / ideal})
    return {m: float(np.mean([f[m] for f in found])) for m in found[0]}


@pytest.mark.parametrize(
    ("scores", "relevant"),
    [
        # one real partner tied with two others at the top (three councils at 0 km)
        ([9, 9, 9, 5, 4, 3], [1, 0, 0, 0, 0, 0]),
        # two real partners among four tied after one: the first of them is the one that counts
        ([9, 7, 7, 7, 7, 1], [0, 1, 0, 1, 0, 0]),
        # a tie across the cut of hit@5, a second real partner further down
        ([9, 8, 7, 6, 5, 5, 5, 2], [0, 0, 0, 0, 0, 1, 0, 1]),
        ([1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 0, 1, 0, 1]),  # all tied: three of seven relevant
    ],
)
def test_query_metrics_are_exact_expectations_under_random_tie_breaking(
    scores: list[float], relevant: list[int]
) -> None:
    s, r = np.array(scores, dtype=float), np.array(relevant, dtype=bool)
    found = query_metrics(tied_positions(s, r))
    truth = _by_every_order(s, r)
    assert found == pytest.approx(truth, abs=1e-12)


def test_ties_are_not_scored_by_the_metric_of_the_expected_rank() -> None:
    """One real partner tied with another body at the top: it is first half the time. The
    expected rank, 1.5, once gave MRR 1/1.5 = 0.667 and hit@1 0 (1.5 > 1)."""
    m = query_metrics(tied_positions(np.array([2.0, 2.0, 1.0]), np.array([True, False, False])))
    assert m["mrr"] == pytest.approx(0.75)  # (1 + 1/2) / 2
    assert m["hit@1"] == pytest.approx(0.5)


def test_service_median_baseline() -> None:
    baseline = ServiceMedian().fit(["ict", "ict", "ict", "legal"], [10.0, 20.0, 30.0, 5.0])
    med, low, high = baseline.predict(["ict", "legal", "waste"])
    assert med.tolist() == [20.0, 15.0, 15.0]  # legal has one figure: the overall median
    assert low[0] == pytest.approx(12.0) and high[0] == pytest.approx(28.0)


def test_verdicts_say_plainly_where_the_model_loses() -> None:
    rows = []
    for protocol in ("lopo", "cold_start", "simulated"):
        for kind, n in (("all", 40), ("fire-police", 20), ("police-police", 5)):
            for method, mrr in [("model", 0.5), *((m, 0.4) for m in PARTNER_BASELINES)]:
                if kind == "police-police" and method == "group_nearest":
                    mrr = 0.8  # few cases, and the model loses by far
                rows.append(
                    {
                        "protocol": protocol,
                        "query": "service",
                        "pair_kind": kind,
                        "method": method,
                        "hit@1": 0.3,
                        "hit@5": 0.7
                        if method != "plain_logit" or protocol != "cold_start"
                        else 0.8,
                        "hit@10": 0.9 if method != "nearest" else 0.95,
                        "mrr": mrr,
                        "ndcg@10": 0.6,
                        "arrangements": n,
                    }
                )
    lines = verdicts(Evaluation(pd.DataFrame(rows), pd.DataFrame()))
    assert len(lines) == 6  # two judged kinds and the few-case line, for each real protocol
    assert lines[0].startswith("NOT BETTER on lopo, service given, all pair kinds (40")
    assert "hit@10 0.900 against 0.950" in lines[0]
    assert lines[0].split(": ", 1)[1].startswith("does not beat nearest on hit@1 ")
    assert "hit@1 0.300 against 0.300" in lines[0]  # a tie is not a win
    assert "ndcg@10 0.600 against 0.600" in lines[0]  # every metric shown is judged
    # Each baseline is named once, with every metric it matches or beats.
    for method in ("nearest", "plain_logit", "group_nearest"):
        assert lines[0].count(f"does not beat {method} ") <= 1
    assert lines[1].startswith("NOT BETTER on lopo, service given, fire-police (20")
    assert lines[2] == (  # too few cases to judge firmly: still said, not hidden
        "TOO FEW TO JUDGE on lopo, service given (pair kinds with fewer than 15 "
        "arrangements): NOT BETTER for police-police (5: mrr 0.500 against group_nearest 0.800)"
    )
    assert lines[3].startswith("NOT BETTER on cold_start, service given, all pair kinds (40")
    assert "does not beat plain_logit on hit@5 0.700 against 0.800" in lines[3]
    assert not any("simulated" in line for line in lines)  # a check of the simulator only


def test_each_verdict_is_also_kept_as_what_it_judges() -> None:
    """The model page's table and `models compare` read each verdict's judgement, where it is
    made and the MRRs beside it from :func:`judge`, not by taking the sentences apart: every
    sentence is one verdict's, and the two agree."""
    ev = _judged(0.002, 0.3)  # ahead only within the noise
    rows = ev.ranking.to_dict(orient="records")
    few = [r | {"pair_kind": "police-police", "arrangements": 4} for r in rows
           if r["pair_kind"] == "all"]  # fmt: skip
    ev = Evaluation(pd.DataFrame(rows + few), pd.DataFrame())
    found = judge(ev)
    lines = verdicts(ev)
    assert [v.said for v in found if not v.few] == lines[:2]
    assert lines[2].endswith(found[2].said) and found[2].few  # said with the other few
    for v in found:
        assert (v.judged in v.said.split(" on ")[0]) or v.few
        assert v.judged == "no clear difference"
        kind = ev.ranking[(ev.ranking["pair_kind"] == v.pair_kind)]
        others = kind[~kind["method"].str.startswith("model")]
        best = others.loc[others["mrr"].idxmax()]
        assert (v.rival, v.rival_mrr) == (best["method"], pytest.approx(best["mrr"]))
        assert v.mrr == pytest.approx(float(kind.loc[kind["method"] == "model", "mrr"].iloc[0]))
        assert v.few == (v.pair_kind != "all" and v.arrangements < MIN_KIND_CASES)
    assert found[0].where == "lopo, service given, all pair kinds"
    assert [v.judged for v in judge(_judged(0.2, 0.01))] == ["better"] * 2
    assert judge(Evaluation(pd.DataFrame(), pd.DataFrame())) == []


def test_cautions_name_the_pair_kinds_a_body_is_in_where_the_model_loses() -> None:
    def row(kind: str, method: str, mrr: float, n: int) -> dict[str, object]:
        return {"protocol": "lopo", "query": "service", "pair_kind": kind, "method": method,
                "mrr": mrr, "arrangements": n}  # fmt: skip

    ranking = [
        row("police-police", "model", 0.3, 7), row("police-police", "group_nearest", 0.8, 7),
        row("fire-police", "model", 0.8, 19), row("fire-police", "nearest", 0.6, 19),
        row("council-police", "model", 0.4, 20), row("council-police", "nearest", 0.45, 20),
        row("council-council", "model", 0.4, 200), row("council-council", "nearest", 0.5, 200),
        row("all", "model", 0.1, 300), row("all", "nearest", 0.9, 300),
    ]  # fmt: skip
    every = cautions([r | {"protocol": "cold_start"} for r in ranking] + ranking, "police")
    found = _tested(every)
    assert [c["said"] for c in found] == [  # worst first; a kind the model wins is not named;
        "between two police forces, the model ranked real partners no better than “same tier "
        "group, then nearest” (mean reciprocal rank 0.300 against 0.800, 7 held-out "
        "arrangements; too few to judge firmly)",  # the headline protocol only
        "between a council and a police force, the model ranked real partners no better than "
        "“nearest by distance” (mean reciprocal rank 0.400 against 0.450, 20 held-out "
        "arrangements)",
    ]
    assert found[0] == found[0] | {
        "pair_kind": "police-police", "model_mrr": 0.3, "baseline": "group_nearest",
        "baseline_mrr": 0.8, "held_out": 7, "few": True,
    }  # fmt: skip
    # After them, the pair kinds a police force's list can hold that no held-out arrangement
    # tested: the order there is the model's alone, and silence would read as tested.
    assert every[len(found) :] == [untried("health-police", "service"),
                                   untried("combined-police", "service")]  # fmt: skip
    # (councils' pairs first, then fire, police, NHS and combined authorities': not the ids')
    assert every[-2]["said"] == (
        "between a police force and an NHS body, no documented arrangement was there to hold "
        "out and test the model's order against the simple rules an officer would use (such as "
        "the nearest body of the same kind), so there the order is the model's alone, untested"
    )
    assert every[-2]["model_mrr"] is None and every[-2]["held_out"] == 0
    assert _tested(cautions(ranking, "health")) == []
    assert {c["pair_kind"] for c in cautions(ranking, "health")} == {
        "council-health", "combined-health", "fire-health", "health-health", "health-police"
    }  # fmt: skip
    # A list of councils only (the page's, or the API's kinds=council) is not warned about
    # police–police pairs it does not show.
    only = cautions(ranking, "police", ["council"])
    assert [c["pair_kind"] for c in only] == ["council-police"]
    assert cautions(ranking, "police", ["fire"]) == []
    # The default list (every service) is judged on the "any service" rows, not these.
    assert _tested(cautions(ranking, "police", query="any")) == []
    anyq = [r | {"query": "any"} for r in ranking]
    assert [c["query"] for c in cautions(anyq, "police", query="any")] == ["any"] * 4


def test_the_note_says_what_was_tested_then_what_could_not_be() -> None:
    """The note beside a list says what the held-out evaluation found, then the pair kinds it
    could not test; a list of only those is not said to be weighed on held-out arrangements."""
    ranking = [
        {"protocol": "lopo", "query": "service", "pair_kind": "council-council", "method": m,
         "mrr": mrr, "arrangements": 200} for m, mrr in (("model", 0.4), ("nearest", 0.5))
    ]  # fmt: skip
    rule = (
        "no documented arrangement was there to hold out and test the model's order against "
        "the simple rules an officer would use (such as the nearest body of the same kind), so "
        "there the order is the model's alone, untested."
    )
    both = cautions(ranking, "council", ["council", "combined"])
    assert [c["verdict"] for c in both] == ["not better", "untested"]
    assert trust_said(both) == (
        "On real arrangements held out from training, between two councils, the model "
        "ranked real partners no better than “nearest by distance” (mean reciprocal rank 0.400 "
        "against 0.500, 200 held-out arrangements). Weigh the order of these partners against "
        f"it. Between a council and a combined authority (or the GLA), {rule}"
    )
    # Several untested kinds: said together, once.
    alone = cautions(ranking, "council", ["combined", "health"])
    assert [c["pair_kind"] for c in alone] == ["council-health", "combined-council"]
    assert trust_said(alone) == (
        "Between a council and an NHS body, and between a council and a combined authority (or "
        f"the GLA), {rule}"
    )
    # No pair kind is said by its id ("combined–council"): in an officer's words.
    assert "–" not in trust_said(alone) and "-" not in trust_said(alone)
    # Asked for one kind: no "in a list of … only" (nothing was judged among them either).
    one = ranking + [r | {"query": "service_one_kind"} for r in ranking]
    (said,) = cautions(one, "council", ["combined"], asked=["combined"])
    assert said["said"] == f"between a council and a combined authority (or the GLA), {rule[:-1]}"


def _tested(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cautions of pair kinds the evaluation tested (not :func:`untried`'s)."""
    return [c for c in found if c["verdict"] != "untested"]


def test_a_list_asked_for_one_kind_is_judged_among_that_kind() -> None:
    """A council asking for NHS partners only was told the model ranked its real NHS partners
    no better than nearest (0.332 against 0.492): figures of a list of every kind, where the
    nearest councils come first. A list of one kind is judged on the ranks among that kind."""

    def row(query: str, method: str, mrr: float) -> dict[str, object]:
        return {"protocol": "lopo", "query": query, "pair_kind": "council-health",
                "method": method, "mrr": mrr, "arrangements": 17}  # fmt: skip

    every = [row("service", "model", 0.332), row("service", "nearest", 0.492)]
    one = [row("service_one_kind", "model", 0.70), row("service_one_kind", "nearest", 0.78)]
    (said,) = cautions(every + one, "council", ["health"], asked=["health"])
    assert (said["model_mrr"], said["baseline_mrr"], said["query"]) == (0.70, 0.78, "service")
    assert said["said"].startswith(
        "between a council and an NHS body, in a list of NHS bodies only, the model ranked real "
        "partners no better than “nearest by distance” (mean reciprocal rank 0.700 against 0.780"
    )
    # Shown unfiltered, or asked for two kinds: the ranks among every candidate.
    for asked in (None, ["council", "health"]):
        (said,) = cautions(every + one, "council", ["health"], asked=asked)
        assert (said["model_mrr"], said["baseline_mrr"]) == (0.332, 0.492)
        assert "only" not in said["said"]
    # Among NHS bodies alone the model leads clearly: nothing to warn of.
    ahead = [row("service_one_kind", "model", 0.9), row("service_one_kind", "nearest", 0.2)]
    assert cautions(every + ahead, "council", ["health"], asked=["health"]) == []
    # An evaluation saved before the ranks among one kind were kept: the ranks among every one.
    (said,) = cautions(every, "council", ["health"], asked=["health"])
    assert said["model_mrr"] == 0.332 and "only" not in said["said"]


def test_ranks_among_one_kind_are_never_worse_than_among_every_kind(
    small_evaluation: Evaluation,
) -> None:
    """Leaving out the candidates of other kinds can only lift a real partner, for every method
    and pair kind; and somewhere it does (other kinds stood ahead of one)."""
    table = small_evaluation.ranking
    keys = ["protocol", "pair_kind", "method"]
    lifted = []
    for query in ("service", "any"):
        every = table[table["query"] == query].set_index(keys)["mrr"]
        one = table[table["query"] == query + "_one_kind"].set_index(keys)["mrr"]
        assert set(one.index) <= set(every.index)
        gain = one - every.loc[one.index]
        assert (gain >= -1e-12).all()
        lifted.append(bool((gain > 0).any()))
    assert any(lifted)


def _judged(lead: float, spread: float, n: int = 200, seed: int = 1) -> Evaluation:
    """A synthetic headline (service given, every pair kind, and 200 council-council cases)
    where, per held-out arrangement, the model's reciprocal rank and hits lead every baseline
    by ``lead`` on average, give or take ``spread`` (noise the bootstrap has to see)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.6, size=(n, len(RANK_METRICS)))
    per = {b: base + rng.normal(0, 0.01, base.shape) for b in PARTNER_BASELINES}
    swing = spread * np.where(np.arange(n) % 2, 1.0, -1.0)[:, None]  # averages exactly 0
    per["model"] = base + lead + swing
    gaps = leads(per)
    rows = []
    for kind in ("all", "council-council"):
        for method, values in per.items():
            row = {"protocol": "lopo", "query": "service", "pair_kind": kind, "method": method}
            row |= {m: float(values[:, j].mean()) for j, m in enumerate(RANK_METRICS)}
            row |= {"queries": n, "arrangements": n}
            rows.append(row | ({"model_minus": gaps[method]} if method in gaps else {}))
    return Evaluation(pd.DataFrame(rows), pd.DataFrame())


def test_leads_are_paired_bootstrap_intervals_that_reruns_repeat() -> None:
    values = np.tile(np.linspace(0, 1, 50)[:, None], (1, len(RANK_METRICS)))
    # the same noise in both: paired, the lead is exactly 0.1 in every resample
    per = {"model": values + 0.1, "nearest": values}
    assert leads(per)["nearest"]["mrr"] == pytest.approx([0.1, 0.1])
    noisy = {"model": values[::-1] + 0.01, "nearest": values}
    low, high = leads(noisy, seed=3)["nearest"]["mrr"]
    assert low < 0.01 < high and leads(noisy, seed=3) == leads(noisy, seed=3)
    assert leads({"model": values[:1], "nearest": values[:1]}) == {}  # one case: no noise known


def test_the_bootstrap_resamples_whole_partnerships() -> None:
    """The held-out arrangements of one partnership (the same partners, another service or
    year) are not independent cases: resampled one by one, they made the intervals narrower
    than the cases allow."""
    values = np.tile(np.linspace(0, 1, 25)[:, None], (1, len(RANK_METRICS)))
    twice = np.repeat(values, 2, axis=0)  # each case twice: one partnership of two each
    per = {"model": twice[::-1] + 0.01, "nearest": twice}
    alone = leads(per, seed=3)["nearest"]["mrr"]
    whole = leads(per, seed=3, clusters=np.arange(50) // 2)["nearest"]["mrr"]
    assert whole[1] - whole[0] > 1.2 * (alone[1] - alone[0])
    assert leads(per, seed=3, clusters=np.arange(50)) == leads(per, seed=3)
    assert leads(per, clusters=np.zeros(50)) == {}  # one partnership: no noise known


def test_partnerships_join_the_held_out_arrangements_that_share_two_members() -> None:
    ctx = real_context()
    folds = held_out(prepare(ctx))
    groups = partnerships(ctx, folds)
    assert set(groups) == set(folds) and len(set(groups.values())) < len(folds)
    for k in folds:
        family = np.flatnonzero(ctx.family_of(k) & ~ctx.reg.simulated)
        assert {groups[int(j)] for j in family if int(j) in groups} == {groups[k]}


def test_a_lead_within_the_noise_is_no_clear_difference() -> None:
    ev = _judged(lead=0.01, spread=0.15)  # ahead on every metric, well inside the noise
    lines = verdicts(ev, protocols=["lopo"])
    assert len(lines) == 2
    assert lines[0].startswith("no clear difference on lopo, service given, all pair kinds (200")
    assert "only within the noise on" in lines[0] and "95% interval of the lead -" in lines[0]
    assert not any(line.startswith("better") for line in lines)
    # the same lead in a pair kind a body is in is a caution beside its suggestions
    found = cautions(_records(ev), "council", ["council"])
    assert [c["verdict"] for c in found] == ["no clear difference"]
    low, high = found[0]["lead_interval"]
    assert low <= 0 < high
    assert (
        "the model's lead over “" in found[0]["said"] and "is within the noise" in found[0]["said"]
    )
    assert "95% interval of the lead -0." in found[0]["said"]


def test_a_clear_lead_is_better_with_its_interval() -> None:
    ev = _judged(lead=0.1, spread=0.05)
    lines = verdicts(ev, protocols=["lopo"])
    assert all(line.startswith("better on lopo, service given") for line in lines)
    assert "mrr " in lines[0] and "(95% interval of the lead +0.0" in lines[0]
    assert cautions(_records(ev), "council", ["council"]) == []


def test_an_evaluation_saved_before_the_intervals_says_its_lead_was_not_tested() -> None:
    """A model saved before the intervals were kept still loads (through JSON, as its
    metadata is read) and is described: judged as it was, a lead said to be untested."""
    import json

    rows = _records(_judged(lead=0.01, spread=0.15))
    old = [{k: v for k, v in r.items() if k != "model_minus"} for r in rows]
    ev = Evaluation.from_dict(json.loads(json.dumps({"ranking": old, "savings": [], "notes": {}})))
    lines = verdicts(ev, protocols=["lopo"])
    assert lines[0].startswith("better (not tested for noise) on lopo, service given, all pair")
    assert "interval" not in lines[0]
    # As before: only a baseline level or ahead warns.
    assert cautions(old, "council", ["council"]) == []
    behind = [r | {"mrr": 0.9} if r["method"] == "nearest" else r for r in old]
    assert [c["verdict"] for c in cautions(behind, "council", ["council"])] == ["not better"]
    assert cautions(behind, "council", ["council"])[0]["lead_interval"] is None


def test_the_intervals_survive_the_models_metadata() -> None:
    import json

    ev = _judged(lead=0.01, spread=0.15)
    again = Evaluation.from_dict(json.loads(json.dumps(ev.to_dict())))
    assert verdicts(again) == verdicts(ev)


def _records(ev: Evaluation) -> list[dict[str, Any]]:
    return list(ev.to_dict()["ranking"])


@pytest.fixture(scope="module")
def small_evaluation() -> Evaluation:
    """Leave-one-partnership-out on the first few real arrangements of the default register."""
    ctx = real_context()
    return evaluate(ctx, limit=6)


def test_evaluation_reports_the_model_and_every_baseline(small_evaluation: Evaluation) -> None:
    table = small_evaluation.ranking
    assert set(table["protocol"]) == {"lopo", "lopo_warm", "cold_start", "simulated"}
    assert set(table["query"]) == {"service", "any", "service_one_kind", "any_one_kind"}
    assert {"model", "model_likelihood", "model_no_history", *PARTNER_BASELINES} <= set(
        table["method"]
    )
    assert table[["hit@1", "hit@5", "hit@10", "mrr", "ndcg@10"]].stack().between(0, 1).all()
    assert (table["hit@1"] <= table["hit@5"]).all() and (table["hit@5"] <= table["hit@10"]).all()
    headline = table[(table["protocol"] == "lopo") & (table["pair_kind"] == "all")]
    assert set(headline["arrangements"]) == {6}
    notes = small_evaluation.notes
    assert notes["real_arrangements_evaluated"] == notes["real_arrangements_held_out"] == 6
    assert notes["real_arrangements"] > 6  # every real one, whether it could be held out or not
    # the held-out proposals, counted: a documented choice of partner that never ran
    ctx = real_context()
    proposed = {str(ctx.reg.ids[k]) for k in ctx.reg.proposed}
    first = [str(ctx.reg.ids[k]) for k in held_out(prepare(ctx))[:6]]
    assert notes["held_out_proposed"] == len(proposed & set(first)) >= 1
    # the partnerships held out, real arrangements only (they counted the simulated ones too)
    folds = held_out(prepare(ctx))[:6]
    sizes = [int((ctx.family_of(k) & ~ctx.reg.simulated).sum()) for k in folds]
    assert notes["family_sizes"] == [min(sizes), max(sizes)]
    assert 1 <= notes["partnerships_held_out"] <= 6
    served = table[(table["protocol"] == "lopo_warm") & (table["pair_kind"] == "all")]
    assert set(served["arrangements"]) == {6 - len(notes["as_served_left_out"])}
    # the shared-history rule only where the focal body's ties to its partners can be seen
    by_protocol = table.groupby("protocol")["method"].agg(set)
    assert "shared_history" in by_protocol["lopo_warm"]
    assert "shared_history" not in by_protocol["lopo"] | by_protocol["cold_start"]
    savings = small_evaluation.savings
    assert savings.empty or set(savings["method"]) == {"model", "service_median"}


def test_the_product_without_shared_history_is_the_product_with_its_weight_at_0() -> None:
    """``model_no_history`` ranks a held-out arrangement's partners as the product would with
    the weight of shared history at 0, in the headline and as served. With the focal body's
    whole history hidden (a body with no history) the term still acts, through each
    candidate's own choice among its candidates (its history with others is known): the
    likelihood is the mean of the two sides' estimates."""
    from dataclasses import replace

    from recommender.model.evaluation import Fold, as_served
    from recommender.model.fit import fit_components
    from recommender.model.network import SnapshotCache

    ctx = real_context()
    setup = prepare(ctx)
    assert setup.full.history_weight > 0
    differs = 0
    for k in held_out(setup)[:12]:
        family = ctx.family_of(k)
        comp = fit_components(ctx, setup.data, drop=family, with_rate=False)
        alone = replace(comp, history_weight=0.0)
        headline = SnapshotCache(ctx.reg, ctx.pairs.n, exclude=family).now()
        for net in (headline, as_served(ctx, k)):
            with_it = Fold(ctx, comp, net, setup.p_enter, setup.full_plain).rank(k)
            without = Fold(ctx, alone, net, setup.p_enter, setup.full_plain).rank(k)
            for a, b in zip(with_it, without, strict=True):
                np.testing.assert_array_equal(a.ranks["model_no_history"], b.ranks["model"])
                differs += not np.array_equal(a.ranks["model"], a.ranks["model_no_history"])
    assert differs  # the term moves some partner somewhere: the row measures something


def test_a_fold_ranks_with_models_fitted_afresh_without_its_partnership() -> None:
    """Each fold's choice model and plain regression are what a fit without the held-out
    partnership finds. Started from the fit on everything, the solver stopped after a few steps
    near where it started, at its tolerance: the held-out partnership's pull partly kept."""
    from recommender.model.evaluation import Fold, fit_plain, known_when, lopo_fold
    from recommender.model.fit import fit_components
    from recommender.model.network import SnapshotCache

    ctx = real_context()
    setup = prepare(ctx)
    for k in held_out(setup)[:8]:
        family = ctx.family_of(k)
        comp = fit_components(ctx, setup.data, drop=family, with_rate=False)
        plain = fit_plain(ctx, setup.data, family)
        net = SnapshotCache(ctx.reg, ctx.pairs.n, exclude=family).now()
        known = known_when(ctx, k, family)
        fresh = Fold(ctx, comp, net, setup.p_enter, plain, known=known).rank(k)
        found = lopo_fold(setup, k).cold
        assert len(found) == len(fresh)
        for a, b in zip(found, fresh, strict=True):
            for method, ranks in b.ranks.items():
                np.testing.assert_array_equal(a.ranks[method], ranks, err_msg=f"{k} {method}")


def test_a_fit_is_the_same_whatever_threads_the_process_allows() -> None:
    """The choice model's L-BFGS path follows the order its loss is summed in, which follows
    the threads: a Dask worker (one thread) and a process on two cores fitted different models
    (0.14 apart in a coefficient) and ranked differently. Every fit runs on one thread."""
    from threadpoolctl import threadpool_limits

    from recommender.model.evaluation import fit_plain
    from recommender.model.fit import fit_components

    ctx = real_context()
    setup = prepare(ctx)
    family = ctx.family_of(held_out(setup)[1])
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            comp = fit_components(ctx, setup.data, drop=family, with_rate=False)
            plain = fit_plain(ctx, setup.data, family)
        fits.append((comp.choice_w, comp.history_weight, plain[-1].coef_))
    for a, b in zip(*fits, strict=True):
        np.testing.assert_array_equal(a, b)


def test_what_shared_history_adds_or_costs_is_said_with_its_interval() -> None:
    """The product against itself without the history term, by MRR with the service given:
    in the headline, where the held-out partners' ties are hidden, and as served; an
    evaluation saved before that row was kept says nothing."""
    base = {"query": "service", "pair_kind": "all", "arrangements": 269}
    ranking = [
        base | {"protocol": "lopo", "method": "model", "mrr": 0.583},
        base | {"protocol": "lopo", "method": "model_no_history", "mrr": 0.609,
                "model_minus": {"mrr": [-0.041, -0.012]}},
        base | {"protocol": "lopo_warm", "method": "model", "mrr": 0.603},
        base | {"protocol": "lopo_warm", "method": "model_no_history", "mrr": 0.595,
                "model_minus": {"mrr": [-0.004, 0.02]}},
        base | {"protocol": "lopo", "method": "model_no_history", "mrr": 0.9, "query": "any"},
    ]  # fmt: skip
    said = history_said(ranking)
    assert said is not None
    assert (
        "in the headline it costs 0.026 (MRR 0.583 with it, 0.609 without, 95% interval of the "
        "difference -0.041 to -0.012), where each held-out partner's ties are hidden"
    ) in said
    assert (
        "as served it adds 0.008, within the noise (MRR 0.603 with it, 0.595 without, 95% "
        "interval of the difference -0.004 to +0.020)"
    ) in said
    assert history_said(ranking[:1] + ranking[2:3]) is None  # saved before the row was kept
    alike = [r | {"mrr": 0.6} for r in ranking[:4]]
    assert history_said(alike) is not None and "it changes nothing (MRR 0.600" in str(
        history_said(alike)
    )


def test_a_held_out_partnership_is_out_of_training_and_of_its_own_network() -> None:
    """The family of the held-out arrangement leaves every training row and the network its
    queries see (cold), or only the arrangement itself leaves the network (warm)."""
    from recommender.core.services import load_services
    from recommender.model.evaluation import lopo_fold, prepare
    from recommender.model.fit import Context
    from recommender.reference import lookup as reference
    from recommender.register import records as register

    arrangements, members = register.read_default_register(REAL)
    ctx = Context.build(
        pd.DataFrame(reference.load_bodies(REAL).drop(columns="geometry")),
        reference.load_adjacency(REAL),
        load_services(REAL),
        arrangements,
        members,
    )
    setup = prepare(ctx)
    k = next(k for k in range(len(ctx.reg)) if ctx.families[k].nnz > 2 and not ctx.reg.simulated[k])
    family = ctx.family_of(k)
    assert not set(setup.data.choice.without(family).arrangement) & set(np.flatnonzero(family))
    result = lopo_fold(setup, k)
    assert {r.arrangement for r in result.cold} == {k}
    # the same fold run twice gives the same ranks (so any engine can run it)
    again = lopo_fold(setup, k)
    for a, b in zip(result.cold, again.cold, strict=True):
        for method, ranks in a.ranks.items():
            np.testing.assert_array_equal(ranks, b.ranks[method])
    for a, b in zip(result.cold_start, again.cold_start, strict=True):
        for method, ranks in a.ranks.items():
            np.testing.assert_array_equal(ranks, b.ranks[method])


def test_cold_start_hides_the_focal_bodys_whole_history() -> None:
    """For each member in turn, every arrangement it is in leaves the network its queries see:
    no shared history, no service "already shared"; its partners' other arrangements stay."""
    from recommender.core.services import load_services
    from recommender.model.evaluation import _arrangements_of, lopo_fold, prepare
    from recommender.model.fit import Context
    from recommender.model.network import SnapshotCache
    from recommender.reference import lookup as reference
    from recommender.register import records as register

    arrangements, members = register.read_default_register(REAL)
    ctx = Context.build(
        pd.DataFrame(reference.load_bodies(REAL).drop(columns="geometry")),
        reference.load_adjacency(REAL),
        load_services(REAL),
        arrangements,
        members,
    )
    real = ~ctx.reg.simulated
    # a real arrangement whose first member is in other real arrangements too
    k = next(
        k
        for k in np.flatnonzero(ctx.usable() & real)
        if (_arrangements_of(ctx, int(ctx.reg.members[k][0])) & real).sum() > 2
    )
    f = int(ctx.reg.members[k][0])
    hidden = ctx.family_of(k) | _arrangements_of(ctx, f)
    net = SnapshotCache(ctx.reg, ctx.pairs.n, exclude=hidden).now()
    assert net.prior[f].sum() == 0 and net.ties[f].sum() == 0 and not net.shares[:, f].any()
    assert net.degree[f] == 0
    warm = SnapshotCache(ctx.reg, ctx.pairs.n, exclude=ctx.family_of(k)).now()
    assert warm.degree[f] > 0  # the family alone leaves some of its history
    others = np.flatnonzero(real & ~hidden)
    assert net.degree.sum() == sum(len(ctx.reg.members[j]) for j in others)
    result = lopo_fold(prepare(ctx), int(k))
    focal = {r.focal for r in result.cold_start}
    assert focal <= set(ctx.reg.members[k].tolist()) and f in focal
    assert {r.arrangement for r in result.cold_start} == {int(k)}


def _toy_register() -> SimpleNamespace:
    """Five bodies; the partnership of bodies 0 and 1 in four arrangements (2012, 2015,
    2018 and undated), 0 with 2 in 2010, 2 with 3 in 2020. Arrangement 0 (2015) is held out."""
    from recommender.model.network import RegisterArrays, families

    members = [[0, 1], [0, 1], [0, 2], [0, 1], [0, 1], [2, 3]]
    reg = RegisterArrays(
        ids=np.array([f"A{i}" for i in range(len(members))]),
        service=np.array([0, 0, 1, 2, 3, 1], dtype=np.intp),  # A1: A0's service, later
        start=np.array([2015, 2018, 2010, np.nan, 2012, 2020], dtype=float),
        end=np.full(len(members), np.nan),
        members=[np.array(m, dtype=np.intp) for m in members],
        annual=np.full(len(members), np.nan),
        simulated=np.zeros(len(members), dtype=bool),
        services=("legal", "ict", "hr", "audit"),
    )
    fam = families(reg)

    def family_of(k: int) -> np.ndarray:
        mask = np.zeros(len(reg), dtype=bool)
        mask[fam[k].indices] = True
        return mask

    return SimpleNamespace(reg=reg, pairs=SimpleNamespace(n=5), family_of=family_of)


def test_as_served_sees_only_what_was_known_when_the_arrangement_started() -> None:
    """A later arrangement of the same partnership (A1, the same service, 2018) would give the
    answer away and make partner 1 "already share" the service; only the earlier A4 (2012)
    and A2 (2010) are known in 2015. The undated A3 cannot be shown to have come first."""
    from recommender.model.evaluation import as_served

    ctx = _toy_register()
    net = as_served(ctx, 0)
    assert net.prior[0, 1] == 1  # A4 only: not A0 itself, not the later A1, not undated A3
    assert net.prior[0, 2] == 1 and net.prior[2, 3] == 0  # A2 known; A5 (2020) not yet
    assert not net.shares[0, 0, 1]  # A1 (legal, 2018) does not make 1 an existing partner
    assert net.shares[3, 0, 1]  # A4 (audit, 2012) is running
    assert net.degree.tolist() == [2, 1, 1, 0, 0]


def test_as_served_hides_the_whole_partnership_of_an_undated_arrangement() -> None:
    from recommender.model.evaluation import as_served

    ctx = _toy_register()
    net = as_served(ctx, 3)  # undated: none of A0, A1, A4 can be shown to come first
    assert net.prior[0, 1] == 0
    assert net.prior[0, 2] == 1 and net.prior[2, 3] == 1  # the rest: every dated arrangement


def test_the_rules_count_partnerships_as_of_the_start_year_without_what_is_hidden() -> None:
    """most-partnered counts from here: body 3's 2020 arrangement is not yet known in 2015,
    and the held-out family is not counted for anyone."""
    from recommender.model.evaluation import known_when

    ctx = _toy_register()
    known = known_when(ctx, 0, ctx.family_of(0))
    assert known.degree.tolist() == [1, 0, 1, 0, 0]


def test_the_shared_history_rule_puts_existing_partners_first_then_nearest() -> None:
    from recommender.model.baselines import BASELINE_LABELS, RULES, QueryFacts
    from recommender.model.features import PAIR_FEATURES

    facts = QueryFacts(
        rows=np.zeros((5, len(PAIR_FEATURES)), dtype=np.float32),
        dist_km=np.array([5.0, 90.0, 40.0, 10.0, 200.0]),
        similarity_gap=np.zeros(5),
        degree=np.array([9.0, 0, 0, 0, 0]),
        shared=np.array([0.0, 1, 3, 0, 1]),
    )
    scores = RULES["shared_history"](facts)
    assert np.argsort(-scores).tolist() == [2, 1, 4, 0, 3]  # most shared, then nearest
    assert BASELINE_LABELS["shared_history"] == "already works with it, then nearest"


def test_as_served_ranks_a_case_that_only_a_later_arrangement_made_existing() -> None:
    """On the real register: an arrangement whose partners all "already shared" its service
    only through its partnership's later (or undated) arrangements is ranked as served, and
    the shared-history rule ranks beside the model there (not in the headline)."""
    from recommender.model.evaluation import as_served, lopo_fold, prepare
    from recommender.model.network import SnapshotCache

    ctx = real_context()
    reg = ctx.reg

    def every_partner_shares(net: object, k: int) -> bool:
        g, s = reg.members[k], reg.service[k]
        return all(net.shares[s, f, g[g != f]].all() for f in g)  # type: ignore[attr-defined]

    def leaked(k: int) -> bool:
        itself = np.arange(len(reg)) == k
        seen_later = SnapshotCache(reg, ctx.pairs.n, exclude=itself).now()
        return every_partner_shares(seen_later, k) and not every_partner_shares(
            as_served(ctx, k), k
        )

    k = next(int(k) for k in np.flatnonzero(ctx.usable() & ~reg.simulated) if leaked(int(k)))
    result = lopo_fold(prepare(ctx), k)
    assert {r.arrangement for r in result.warm} == {k}
    assert all("shared_history" in r.ranks for r in result.warm)
    assert not any("shared_history" in r.ranks for r in result.cold + result.cold_start)


def test_the_register_arrays_know_the_arrangements_only_proposed() -> None:
    """Named "… (proposal)" or recorded as proposed: never ran (:func:`is_proposed`)."""
    from recommender.register import records as register

    arrangements, members = register.read_default_register(Settings.from_env())
    arrangements.loc[arrangements.index[-1], "status"] = "proposed"  # a simulated one, recorded so
    ctx = real_context(arrangements, members)
    named = {
        str(i)
        for i, n in zip(arrangements["id"], arrangements["name"], strict=True)
        if str(n).endswith("(proposal)")
    }
    assert named  # the default register has some
    said = {str(ctx.reg.ids[k]) for k in ctx.reg.proposed}
    assert said == named | {str(arrangements["id"].iloc[-1])}


def test_each_question_keeps_its_own_words_in_the_verdicts() -> None:
    """The lists asked with one kind of partner were said as "any service": the model page
    gave "any service, council-council" three times, each with another question's figures."""
    rows = []
    for query in ("service", "any", f"service{ONE_KIND}", f"any{ONE_KIND}"):
        for kind, n in (("council-council", 40), ("police-police", 5)):
            for method, mrr in [("model", 0.5), *((m, 0.6) for m in PARTNER_BASELINES)]:
                rows.append({"protocol": "lopo", "query": query, "pair_kind": kind,
                             "method": method, "hit@1": 0.3, "hit@5": 0.7, "hit@10": 0.9,
                             "mrr": mrr, "ndcg@10": 0.6, "arrangements": n})  # fmt: skip
    lines = verdicts(Evaluation(pd.DataFrame(rows), pd.DataFrame()))
    judged = [line.split(" (")[0] for line in lines if line.startswith("NOT BETTER")]
    assert judged == [
        "NOT BETTER on lopo, service given, council-council",
        "NOT BETTER on lopo, any service, council-council",
        "NOT BETTER on lopo, service given, one kind of partner asked, council-council",
        "NOT BETTER on lopo, any service, one kind of partner asked, council-council",
    ]
    few = [line.split(" (")[0] for line in lines if line.startswith("TOO FEW")]
    assert len(few) == 4 and len(set(few)) == 4  # one line for each question


def test_a_list_is_cautioned_wherever_the_model_page_says_not_better_or_no_clear_difference() -> (
    None
):
    """A fire authority's list said nothing of its police partners where the model page said
    "no clear difference" for fire–police: the cautions judged by MRR alone (the model clearly
    ahead there), the page on every measure (its lead on hit@10 reaching 0). Pair kinds with
    enough held-out arrangements are cautioned on every measure, as the page judges them, and
    the sentence names the measure."""

    def row(kind: str, method: str, n: int, gaps: dict[str, list[float]] | None = None,
            **measures: float) -> dict[str, object]:  # fmt: skip
        behind = 0.0 if method == "model" else 0.1  # a baseline: behind on the others
        found = {"protocol": "lopo", "query": "any", "pair_kind": kind, "method": method,
                 "arrangements": n, "hit@1": 0.5 - behind, "hit@5": 0.8 - behind,
                 "ndcg@10": 0.6 - behind} | measures  # fmt: skip
        return found | ({"model_minus": gaps} if gaps else {})

    clear = {m: [0.05, 0.2] for m in RANK_METRICS}
    ranking = [  # fire–police: ahead on MRR beyond the noise, on hit@10 only within it
        row("fire-police", "model", 16, mrr=0.789, **{"hit@10": 0.979}),
        row("fire-police", "nearest", 16, clear | {"hit@10": [0.0, 0.3]}, mrr=0.662,
            **{"hit@10": 0.854}),
        # council–council: ahead on MRR, behind "same kind of body, then nearest" on hit@10
        row("council-council", "model", 221, mrr=0.7, **{"hit@10": 0.924}),
        row("council-council", "kind_nearest", 221, clear, mrr=0.5, **{"hit@10": 0.933}),
        # council–fire: too few, judged by MRR alone (clearly ahead): no caution
        row("council-fire", "model", 6, mrr=0.8, **{"hit@10": 0.5}),
        row("council-fire", "nearest", 6, clear, mrr=0.3, **{"hit@10": 0.9}),
    ]  # fmt: skip
    fire = _tested(cautions(ranking, "fire", query="any"))
    assert [(c["pair_kind"], c["verdict"], c["measures"]) for c in fire] == [
        ("fire-police", "no clear difference", ["hit@10"])
    ]
    assert fire[0]["said"] == (
        "between a fire and rescue authority and a police force, the model's lead over "
        "“nearest by distance” in ranking real partners is within the noise (a true partner in "
        "the top ten in 97.9% of cases against 85.4%, 95% interval of the lead 0.0 to +30.0 "
        "points; 16 held-out arrangements)"
    )
    (council,) = _tested(cautions(ranking, "council", ["council"], query="any"))
    assert (council["verdict"], council["measures"], council["baseline"]) == (
        "not better", ["hit@10"], "kind_nearest"
    )  # fmt: skip
    assert council["said"].endswith(
        "no better than “same kind of body, then nearest” (a true partner in the top ten in "
        "92.4% of cases against 93.3%, 221 held-out arrangements)"
    )
    # The page's verdicts, judged on the same table, say the same of each pair kind.
    judged = {
        v.pair_kind: v.judged for v in judge(Evaluation(pd.DataFrame(ranking), pd.DataFrame()))
    }
    assert judged == {"fire-police": "no clear difference", "council-council": "NOT BETTER",
                      "council-fire": "better"}  # fmt: skip


def test_a_list_ranked_otherwise_is_cautioned_on_its_own_order() -> None:
    """Camden's list ranked by savings if formed, or by likelihood, carried the caution of
    the default order's figures (expected savings): one never evaluated, the other judged on
    another row of the evaluation."""

    def row(method: str, mrr: float, gaps: bool = True) -> dict[str, object]:
        found = {"protocol": "lopo", "query": "service", "pair_kind": "council-council",
                 "method": method, "mrr": mrr, "arrangements": 221}  # fmt: skip
        return found | ({"model_minus": {"mrr": [0.01, 0.2]}} if gaps else {})

    # The default order clearly ahead of nearest; its likelihood alone behind it.
    ranking = [row("model", 0.6, False), row("model_likelihood", 0.4), row("nearest", 0.5)]
    assert _tested(cautions(ranking, "council", ["council"])) == []
    (by_likelihood,) = _tested(cautions(ranking, "council", ["council"], sort="likelihood"))
    assert by_likelihood["said"] == (
        "between two councils, the model's likelihood alone ranked real partners no better "
        "than “nearest by distance” (mean reciprocal rank 0.400 against 0.500, 221 held-out "
        "arrangements)"
    )
    assert by_likelihood["lead_interval"] is None  # the default order's lead, not its own
    # An evaluation saved before the likelihood alone was ranked: not "untested" pair kinds
    # ("no documented arrangement was there to hold out"), but an order it did not test.
    older = [r for r in ranking if r["method"] != "model_likelihood"]
    (before,) = cautions(older, "council", ["council"], sort="likelihood")
    assert before["verdict"] == "not evaluated"
    assert before["said"].startswith("ranked by likelihood, an order this model's held-out")
    (by_savings,) = cautions(ranking, "council", ["council"], sort="savings")
    assert by_savings["verdict"] == "not evaluated"
    assert trust_said([by_savings]) == (
        "Ranked by savings if formed, an order the held-out evaluation never tested (it tests "
        "the default order, by expected savings, and the likelihood alone): this order is by "
        "what each partnership would save if it formed, not by how likely it is to form. Treat "
        "the order as untested."
    )


def test_a_caution_names_every_measure_it_falls_short_on() -> None:
    """ "(mean reciprocal rank 0.599 against 0.617 and on 2 other measures)" did not say
    which: the first measure with its figures, the others by name."""
    rows = [
        {"protocol": "lopo", "query": "service", "pair_kind": "council-council", "method": m,
         "arrangements": 221, "mrr": mrr, "hit@1": hit, "hit@5": 0.8, "hit@10": 0.9,
         "ndcg@10": ndcg}
        for m, mrr, hit, ndcg in (("model", 0.599, 0.42, 0.62), ("plain_logit", 0.617, 0.45, 0.63))
    ]  # fmt: skip
    (said,) = _tested(cautions(rows, "council", ["council"]))
    assert said["measures"] == ["mrr", "hit@1", "hit@5", "hit@10", "ndcg@10"]
    assert said["said"].endswith(
        "no better than “plain logistic regression on a dozen pair features (real register)” "
        "(mean reciprocal rank 0.599 against 0.617, and on first places, top-five places, "
        "top-ten places and nDCG@10; 221 held-out arrangements)"
    )


def test_a_list_ranked_by_likelihood_says_a_lead_never_tested_for_noise() -> None:
    """The Hertfordshire police force area's list of fire authorities warned that the model's
    lead over "nearest by distance" between a fire authority and a police force is within the
    noise; ranked by likelihood, the same partners carried no word of it, as if the lead were
    clear, where the likelihood's leads are never resampled (the intervals kept are the
    default order's)."""
    from recommender.model.verdicts import NOISE_UNTESTED

    def row(method: str, mrr: float, hit10: float) -> dict[str, object]:
        found = {"protocol": "lopo", "query": "service", "pair_kind": "fire-police",
                 "method": method, "mrr": mrr, "hit@10": hit10, "arrangements": 16}  # fmt: skip
        gaps = {"mrr": [0.02, 0.3], "hit@10": [0.0, 0.3]}
        return found | (
            {"model_minus": gaps} if method not in ("model", "model_likelihood") else {}
        )

    ranking = [row("model", 0.789, 0.979), row("model_likelihood", 0.788, 0.979),
               row("nearest", 0.662, 0.854), row("plain_logit", 0.6, 0.8)]  # fmt: skip
    (default,) = _tested(cautions(ranking, "fire", ["police"]))
    assert default["verdict"] == "no clear difference"
    (ranked,) = _tested(cautions(ranking, "fire", ["police"], sort="likelihood"))
    assert (ranked["verdict"], ranked["measures"], ranked["baseline"]) == (
        NOISE_UNTESTED, [], "nearest"
    )  # fmt: skip
    assert ranked["lead_interval"] is None
    assert ranked["said"] == (
        "between a fire and rescue authority and a police force, the model's likelihood alone "
        "ranked real partners ahead of every simple rule and the plain regression, the closest "
        "“nearest by distance” (mean reciprocal rank 0.788 against 0.662; 16 held-out "
        "arrangements), but that lead was never tested for noise: only the default order's "
        "leads were resampled"
    )
    assert trust_said([ranked]).startswith("On real arrangements held out from training, between")
    # Behind a baseline, it says so, as before (not "ahead").
    behind = [*ranking[:1], row("model_likelihood", 0.6, 0.979), *ranking[2:]]
    (short,) = _tested(cautions(behind, "fire", ["police"], sort="likelihood"))
    assert short["verdict"] == "not better"
