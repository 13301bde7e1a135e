"""Recommendations from a real trained model: filters, bounds, groups, joins, behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import InvalidInput, UnknownBody
from recommender.features import PAIR_FEATURES
from recommender.query import CHOICE_FLOOR
from recommender.ranking import MAX_K, Query, Recommender


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
    s, f, c = (int(v[0]) for v in np.nonzero(model.snapshot.shares))
    code = str(model.context.pairs.codes[f])
    service = model.context.services[s]
    plain = recommender_model.recommend(Query(code, service=service, k=MAX_K), explain=False)
    partner = str(model.context.pairs.codes[c])
    assert partner not in {r.partner_code for r in plain}
    near = float(model.context.pairs.dist_km[f, c]) + 0.1  # few candidates: none cut off
    kind = (str(model.context.bodies.kind[c]),)
    flagged = recommender_model.recommend(
        Query(code, service, kind, near, MAX_K, include_existing=True, min_choice=0),
        explain=False,
    )
    (shown,) = [r for r in flagged if r.partner_code == partner]
    assert shown.existing and shown.likelihood is None and flagged[-1].existing


def test_suggestions_under_the_floor_are_shown_only_when_asked(
    recommender_model: Recommender,
) -> None:
    default = recommender_model.recommend(Query("Rother", service="ict", k=MAX_K), explain=False)
    assert all(r.choice is not None and r.choice >= CHOICE_FLOOR for r in default)
    everyone = recommender_model.recommend(
        Query("Rother", service="ict", k=MAX_K, min_choice=0), explain=False
    )
    assert len(everyone) == MAX_K > len(default)
    assert min(r.choice or 0 for r in everyone) < CHOICE_FLOOR


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


def test_nearer_and_a_longer_border_never_rank_lower(recommender_model: Recommender) -> None:
    """Directional: all else equal, a nearer candidate or a longer shared border never lowers
    the choice score; and real shared history never lowers it either."""
    comp = recommender_model.model.components
    w = dict(zip(PAIR_FEATURES, comp.choice_w, strict=True))
    assert w["log_dist"] < 0 and w["log_border"] >= 0
    assert comp.history_weight >= 0


def test_a_council_never_partners_the_fire_service_it_runs(recommender_model: Recommender) -> None:
    from recommender import reference

    table = reference.fire_governance(recommender_model.settings)
    runs = table[table["governance"] == "county_council"]
    assert len(runs) == 12
    for fire, council in zip(runs.index, runs["governed_by_code"], strict=True):
        for body, other in ((council, fire), (fire, council)):
            found = recommender_model.recommend(
                Query(body, k=MAX_K, per_partner=16, min_choice=0), explain=False
            )
            assert other not in {r.partner_code for r in found}, (body, other)


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
    assert info["register"]["real"] >= 300
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


def test_savings_grow_with_the_smaller_partner_and_stay_within_real_figures(
    recommender_model: Recommender,
) -> None:
    """Economies of scale: for one focal body and service, a partner of 2,000 people never
    saves more than one of 200,000 at a similar distance; and every scored pair's saving lies
    within the range the real figures support per resident of the smaller partner."""
    from recommender.scoring import score_all

    model = recommender_model.model
    savings = model.components.savings
    assert savings is not None and savings.slope() >= 0
    table = score_all(recommender_model.scorer, np.arange(0, model.context.pairs.n, 7))
    pop = model.context.bodies.population
    merged = np.minimum(pop[table["focal"].to_numpy()], pop[table["candidate"].to_numpy()])
    low, high = savings.per_resident_
    for column in ("savings", "low", "high"):
        values = table[column].to_numpy(dtype=float)
        assert (values <= high * merged * (1 + 1e-5)).all(), column
        assert (values >= low * merged * (1 - 1e-5)).all(), column
    mid, _, _ = savings.pair_savings(np.zeros(2, dtype=np.intp), np.array([2_000.0, 200_000.0]))
    assert mid[0] <= mid[1]
