"""Pair features, candidates, training rows and partnership families."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.services import load_services
from recommender.model.features import (
    PAIR_FEATURES,
    group_frame,
    merged_population,
    pair_savings_frame,
)
from recommender.model.fit import Context, TrainingData, choice_rows
from recommender.model.network import SnapshotCache
from recommender.reference import lookup as reference

# The real data/, named: these tests check the committed reference and register.
REAL = Settings.from_env()


@pytest.fixture(scope="module")
def ctx() -> Context:
    """The real geography with a small register of invented arrangements (features only)."""
    bodies = pd.DataFrame(reference.load_bodies(REAL).drop(columns="geometry"))
    rows = [
        ("a1", "legal", 2010, ["E07000064", "E07000065"]),  # Rother, Wealden
        ("a2", "ict", 2012, ["E07000064", "E07000065", "E07000062"]),  # + Hastings
        ("a3", "legal", 2015, ["E07000062", "E07000061"]),  # Hastings, Eastbourne
        ("a4", "other", 2016, ["E31000014", "E23000033"]),  # East Sussex fire, Sussex police
    ]
    arrangements = pd.DataFrame(
        [
            {"id": i, "service": s, "start_year": y, "end_year": np.nan,
             "annual_savings_gbp": np.nan, "simulated": False}
            for i, s, y, _ in rows
        ]
    )  # fmt: skip
    members = pd.DataFrame(
        [
            {"arrangement_id": i, "position": p, "body_code": c}
            for i, _, _, codes in rows
            for p, c in enumerate(codes, 1)
        ]
    )
    return Context.build(
        bodies,
        reference.load_adjacency(REAL),
        load_services(REAL),
        arrangements,
        members,
        reference.governed_pairs(REAL),
    )


def test_pair_features_describe_the_geography(ctx: Context) -> None:
    index = ctx.pairs.index
    rother, wealden, county = index["E07000064"], index["E07000065"], index["E10000011"]
    frame = ctx.table.frame(np.array([rother, rother]), np.array([wealden, county]))
    assert list(frame.columns) == list(PAIR_FEATURES)
    assert frame.loc[0, "log_border"] > np.log1p(10)
    assert frame.loc[0, "same_county"] == 1 and frame.loc[0, "same_group"] == 1
    assert frame.loc[1, "nested"] == 1 and frame.loc[1, "same_group"] == 0
    assert frame.loc[0, "log_dist"] == pytest.approx(np.log1p(ctx.pairs.dist_km[rother, wealden]))


def test_fire_and_police_of_one_area_are_coterminous(ctx: Context) -> None:
    index = ctx.pairs.index
    fire, police = index["E31000015"], index["E23000028"]  # Essex
    row = ctx.table.frame(np.array([fire]), np.array([police])).iloc[0]
    assert row["coterminous"] == 1 and row["kind_fire-police"] == 1
    assert row["same_kind"] == 0


def test_features_are_symmetric(ctx: Context) -> None:
    stack = ctx.table.stack
    np.testing.assert_allclose(stack, stack.transpose(1, 0, 2))


def test_candidates_deliver_the_service_and_never_the_fire_service_a_council_runs(
    ctx: Context,
) -> None:
    index = ctx.pairs.index
    s = ctx.services.index("adult_social_care")
    county = index["E10000011"]  # East Sussex county council
    ok = ctx.table.candidates(county, s)
    assert not ok[county]
    assert set(ctx.bodies.tier[ok]) <= {
        "county", "unitary", "metropolitan", "london_borough", "health",
    }  # fmt: skip
    cornwall, its_fire = index["E06000052"], index["E31000008"]
    procurement = ctx.services.index("procurement")
    assert not ctx.table.candidates(cornwall, procurement)[its_fire]
    assert not ctx.table.candidates(its_fire, procurement)[cornwall]
    assert ctx.table.candidates(index["E06000059"], procurement)[its_fire]  # Dorset: a partner


def test_choice_rows_label_partners_and_weigh_arrangements_alike(ctx: Context) -> None:
    rows = choice_rows(ctx, ctx.usable())
    assert set(np.unique(rows.arrangement)) == {0, 1, 2, 3}
    for k in range(4):
        mine = rows.arrangement == k
        assert rows.weight[mine & (rows.y == 1)].sum() == pytest.approx(1.0)
    assert rows.X.shape[1] == len(PAIR_FEATURES)


def test_history_rows_see_only_the_network_before_the_arrangement(ctx: Context) -> None:
    """Leakage: each training query's ties come from arrangements that started before it."""
    data = TrainingData.build(ctx)
    history = data.history
    a1_rows = history.arrangement == 0  # the first arrangement: no history at all
    assert (history.history[a1_rows] == 0).all()
    a2_rows = (history.arrangement == 1) & history.relevant
    assert (history.history[a2_rows] > 0).any()  # Rother and Wealden shared a1 before


def test_families_hold_the_same_partnership_together(ctx: Context) -> None:
    # a1 and a2 share Rother and Wealden; a3 shares only Hastings with a2.
    assert set(ctx.families[0].indices) == {0, 1}
    assert set(ctx.families[2].indices) == {2}
    assert ctx.family_of(1).tolist() == [True, True, False, False]


def test_savings_features_merge_the_smaller_partners(ctx: Context) -> None:
    pop = ctx.bodies.population
    groups = [np.array([0, 1]), np.array([2, 3, 4])]
    merged = merged_population(groups, pop)
    assert merged[0] == pytest.approx(min(pop[0], pop[1]))
    assert merged[1] == pytest.approx(pop[[2, 3, 4]].sum() - pop[[2, 3, 4]].max())
    general = group_frame([np.array([5, 9])], np.array([3]), ctx.bodies, ctx.services)
    pair = pair_savings_frame(np.array([5]), np.array([9]), np.array([3]), ctx.bodies, ctx.services)
    pd.testing.assert_frame_equal(general, pair)


def test_network_ties_count_small_arrangements_more(ctx: Context) -> None:
    snap = SnapshotCache(ctx.reg, ctx.pairs.n).now()
    index = ctx.pairs.index
    rother, wealden, hastings = index["E07000064"], index["E07000065"], index["E07000062"]
    assert snap.ties[rother, wealden] == pytest.approx(1.0 + 0.5)  # a pair, then a trio
    assert snap.ties[rother, hastings] == pytest.approx(0.5)
