"""Recommendations from a real trained model: filters, bounds, groups, joins, behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import InvalidInput, UnknownBody
from recommender.ranking import MAX_K, Query, Recommender
from recommender.scoring import choice_scores


def test_top_k_sorted_by_expected_savings_with_reasons_and_evidence(
    recommender_model: Recommender,
) -> None:
    found = recommender_model.recommend(Query("Rother", k=10))
    assert len(found) == 10
    expected = [r.expected_savings_gbp for r in found]
    assert expected == sorted(expected, reverse=True)
    for r in found:
        assert 0 < r.likelihood <= 1
        assert 0 <= r.savings_low_gbp <= r.savings_high_gbp
        assert not r.existing
        assert r.reasons and all(x.text for x in r.reasons)
        assert r.evidence and all(e["service"] == r.service for e in r.evidence)


def test_filters(recommender_model: Recommender) -> None:
    found = recommender_model.recommend(
        Query("Rother", service="ict", kinds=("council",), max_km=40, k=20)
    )
    assert found
    assert {r.service for r in found} == {"ict"}
    assert {r.partner_kind for r in found} == {"council"}
    assert max(r.distance_km for r in found) <= 40


def test_existing_partners_are_left_out_unless_asked(recommender_model: Recommender) -> None:
    model = recommender_model.model
    t = model.scores
    f = int(t.focal[np.flatnonzero(t.existing)[0]])
    code = str(model.context.pairs.codes[f])
    plain = recommender_model.recommend(Query(code, k=MAX_K, include_existing=False))
    assert not any(r.existing for r in plain)
    flagged = recommender_model.recommend(Query(code, k=MAX_K, include_existing=True))
    rows = slice(t.offsets[f], t.offsets[f + 1])
    if t.existing[rows][:MAX_K].any():
        assert any(r.existing for r in flagged)


def test_abolished_councils_resolve_to_their_successor(recommender_model: Recommender) -> None:
    a = recommender_model.recommend(Query("Taunton Deane", k=3), explain=False)
    b = recommender_model.recommend(Query("Somerset", k=3), explain=False)
    assert [r.partner_code for r in a] == [r.partner_code for r in b]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (Query("Rother", k=0), "k"),
        (Query("Rother", k=MAX_K + 1), "k"),
        (Query("Rother", max_km=-5), "max_km"),
        (Query("Rother", kinds=("ambulance",)), "kinds"),
        (Query("Rother", service="bin_collection"), "service"),
    ],
)
def test_bad_queries_name_the_field(
    recommender_model: Recommender, query: Query, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        recommender_model.recommend(query)
    assert err.value.field == field


def test_unknown_body_suggests_close_names(recommender_model: Recommender) -> None:
    with pytest.raises(UnknownBody) as err:
        recommender_model.recommend(Query("Rothr"))
    assert any("Rother" in s for s in err.value.suggestions)


def test_nearer_never_ranks_lower_all_else_equal(recommender_model: Recommender) -> None:
    """Directional: moving a candidate closer (nothing else changed) never lowers its score."""
    model = recommender_model.model
    ctx = model.context
    f = ctx.pairs.index["E07000064"]
    s = ctx.services.index("ict")
    cands = ctx.builder.candidates(f, s, model.snapshot)[:60]
    focal = np.full(len(cands), f)
    service = np.full(len(cands), s)
    X = ctx.builder.pair_frame(focal, cands, service, model.snapshot)
    before = choice_scores(ctx, model.components, focal, cands, service, X)
    closer = X.copy()
    closer["dist_km"] = closer["dist_km"] * 0.5
    after = np.asarray(model.components.choice.decision_function(closer))
    after = after + ctx.builder.log_q(focal, cands, service)  # log-q can only grow when nearer
    assert np.all(after >= before - 1e-9)


def test_groups_are_two_to_four_bodies_with_the_focal_body_first(
    recommender_model: Recommender,
) -> None:
    groups = recommender_model.groups("Rother", "procurement", k=5)
    assert groups
    for g in groups:
        assert 2 <= len(g.members) <= 4
        assert g.members[0]["code"] == "E07000064"
        assert g.savings_per_partner_gbp == pytest.approx(g.savings_gbp / len(g.members))
    scores = [g.likelihood * g.savings_per_partner_gbp for g in groups]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(InvalidInput):
        recommender_model.groups("Rother", "procurement", max_size=7)


def test_arrangements_to_join_exclude_those_the_body_is_in(recommender_model: Recommender) -> None:
    options = recommender_model.arrangements_to_join("Rother", k=10)
    assert options
    for option in options:
        assert "Rother" not in option.arrangement["partners"]
    scores = [o.score for o in options]
    assert scores == sorted(scores, reverse=True)


def test_describe_reports_the_model(recommender_model: Recommender) -> None:
    info = recommender_model.describe()
    assert info["version"] == recommender_model.version
    assert info["register"]["arrangements"] > 600
    assert [i["factor"] for i in info["importance"]]


def test_each_partner_appears_for_at_most_per_partner_services(
    recommender_model: Recommender,
) -> None:
    from collections import Counter

    capped = recommender_model.recommend(Query("Rother", k=20, per_partner=2), explain=False)
    assert max(Counter(r.partner_code for r in capped).values()) <= 2
    expected = [r.expected_savings_gbp for r in capped]
    assert expected == sorted(expected, reverse=True)
    every = recommender_model.recommend(Query("Rother", k=20, per_partner=16), explain=False)
    assert every[0].expected_savings_gbp == capped[0].expected_savings_gbp
    with pytest.raises(InvalidInput) as err:
        recommender_model.recommend(Query("Rother", per_partner=0))
    assert err.value.field == "per_partner"
