"""Ranking metrics, verdicts, and a small end-to-end evaluation against the baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.baselines import PARTNER_BASELINES, ServiceMedian
from recommender.evaluation import (
    Evaluation,
    evaluate,
    expected_ranks,
    query_metrics,
    verdicts,
)


def test_expected_ranks_split_ties() -> None:
    scores = np.array([5.0, 3.0, 3.0, 1.0])
    relevant = np.array([False, True, False, True])
    assert expected_ranks(scores, relevant).tolist() == [2.5, 4.0]


def test_query_metrics_by_hand() -> None:
    m = query_metrics(np.array([3.0, 12.0]))
    assert m["hit@1"] == 0 and m["hit@5"] == 1 and m["hit@10"] == 1
    assert m["mrr"] == pytest.approx(1 / 3)
    ideal = 1 + 1 / np.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 / np.log2(4)) / ideal)


def test_service_median_baseline() -> None:
    baseline = ServiceMedian().fit(["ict", "ict", "ict", "legal"], [10.0, 20.0, 30.0, 5.0])
    med, low, high = baseline.predict(["ict", "legal", "waste"])
    assert med.tolist() == [20.0, 5.0, 15.0]
    assert low[0] == pytest.approx(12.0) and high[0] == pytest.approx(28.0)


def test_verdicts_say_plainly_where_the_model_loses() -> None:
    rows = []
    for method, mrr in [("model", 0.5), *((m, 0.4) for m in PARTNER_BASELINES)]:
        rows.append(
            {
                "protocol": "temporal",
                "subset": "real",
                "method": method,
                "mrr": mrr,
                "hit@10": 0.9 if method != "nearest" else 0.95,
                "arrangements": 4,
            }
        )
    lines = verdicts(Evaluation(pd.DataFrame(rows), pd.DataFrame()))
    assert len(lines) == 1
    assert lines[0].startswith("NOT BETTER on temporal, real")
    assert "hit@10 0.900 does not beat nearest (0.950)" in lines[0]


@pytest.fixture(scope="module")
def small_evaluation() -> Evaluation:
    from recommender import reference
    from recommender.services import load_services
    from recommender.simulate import simulate
    from recommender.training import Context

    bodies = pd.DataFrame(reference.load_bodies().drop(columns="geometry"))
    adjacency = reference.load_adjacency()
    arrangements, members = simulate(bodies, seed=3, size=260, adjacency=adjacency)
    ctx = Context.build(bodies, adjacency, load_services(), arrangements, members)
    return evaluate(ctx, folds=3)


def test_evaluation_reports_the_model_and_every_baseline(small_evaluation: Evaluation) -> None:
    table = small_evaluation.ranking
    assert set(table["protocol"]) == {"temporal", "grouped_cv"}
    assert {"model", *PARTNER_BASELINES} <= set(table["method"])
    assert table[["hit@1", "hit@5", "hit@10", "mrr", "ndcg@10"]].stack().between(0, 1).all()
    assert (table["hit@1"] <= table["hit@5"]).all() and (table["hit@5"] <= table["hit@10"]).all()
    savings = small_evaluation.savings
    assert set(savings["method"]) == {"model", "service_median"}


def test_the_model_beats_the_baselines_on_simulated_hold_outs(small_evaluation: Evaluation) -> None:
    table = small_evaluation.ranking
    cv = table[(table["protocol"] == "grouped_cv") & (table["subset"] == "simulated")]
    cv = cv.set_index("method")
    for baseline in PARTNER_BASELINES:
        assert cv.loc["model", "mrr"] > cv.loc[baseline, "mrr"], baseline
