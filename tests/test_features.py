"""Pair and group features: consistency, candidates, negative sampling, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import reference
from recommender.features import GROUP_NUMERIC, PAIR_FEATURES, choice_rows
from recommender.network import SnapshotCache
from recommender.services import load_services
from recommender.training import Context


@pytest.fixture(scope="module")
def ctx() -> Context:
    from recommender.simulate import simulate

    bodies = pd.DataFrame(reference.load_bodies().drop(columns="geometry"))
    adjacency = reference.load_adjacency()
    arrangements, members = simulate(bodies, seed=5, size=150, adjacency=adjacency)
    # Flagged as observed, so that they form the network whose features are tested here.
    arrangements = arrangements.assign(simulated=False)
    return Context.build(bodies, adjacency, load_services(), arrangements, members)


def test_pair_group_features_equal_the_general_group_features(ctx: Context) -> None:
    snap = SnapshotCache(ctx.reg, ctx.pairs.n).now()
    rng = np.random.default_rng(0)
    f = rng.integers(0, ctx.pairs.n, 30)
    c = (f + rng.integers(1, ctx.pairs.n, 30)) % ctx.pairs.n
    s = rng.integers(0, len(ctx.services), 30)
    fast = ctx.builder.pair_group_frame(f, c, s, snap)
    slow = ctx.builder.group_frame([np.array([a, b]) for a, b in zip(f, c, strict=True)], s, snap)
    np.testing.assert_allclose(fast[list(GROUP_NUMERIC)], slow[list(GROUP_NUMERIC)], rtol=1e-5)
    assert (fast["service"] == slow["service"]).all()


def test_pair_features_describe_the_geography(ctx: Context) -> None:
    index = ctx.pairs.index
    rother, wealden = index["E07000064"], index["E07000065"]
    east_sussex = index["E10000011"]
    snap = SnapshotCache(ctx.reg, ctx.pairs.n).now()
    frame = ctx.builder.pair_frame(
        np.array([rother, rother]), np.array([wealden, east_sussex]), np.array([0, 0]), snap
    )
    assert list(frame.columns) == list(PAIR_FEATURES)
    assert frame.loc[0, "touches"] == 1 and frame.loc[0, "border_km"] > 10
    assert frame.loc[0, "same_county"] == 1 and frame.loc[0, "same_tier"] == 1
    assert frame.loc[1, "nested"] == 1 and frame.loc[1, "candidate_tier"] == "county"


def test_training_rows_never_see_their_own_arrangement(ctx: Context) -> None:
    """Leakage: the positives of an arrangement carry the network from before it started."""
    cache = SnapshotCache(ctx.reg, ctx.pairs.n)
    select = np.zeros(len(ctx.reg), dtype=bool)
    k = int(np.flatnonzero(ctx.usable())[-1])
    select[k] = True
    rows = choice_rows(ctx.builder, ctx.reg, cache, select)
    positives = rows.X[rows.y == 1]
    members = ctx.reg.members[k]
    # If the arrangement leaked, every positive pair would show at least one shared arrangement
    # and the service being shared; recompute from the snapshot without it.
    before = cache.for_arrangement(k)
    expected = {float(before.prior[a, b]) for a in members for b in members if a != b}
    assert set(positives["prior_arrangements"].astype(float)) <= expected
    now = cache.now()
    assert all(
        now.prior[a, b] >= before.prior[a, b] + 1 for a in members for b in members if a != b
    )


def test_candidates_deliver_the_service_and_exclude_existing_sharers(ctx: Context) -> None:
    snap = SnapshotCache(ctx.reg, ctx.pairs.n).now()
    s = ctx.services.index("adult_social_care")
    f = ctx.pairs.index["E10000011"]  # East Sussex county council
    cands = ctx.builder.candidates(f, s, snap)
    assert f not in cands
    assert set(ctx.bodies.tier[cands]) <= {
        "county",
        "unitary",
        "metropolitan",
        "london_borough",
        "health",
    }


def test_log_q_favours_exactly_the_near_candidates(ctx: Context) -> None:
    f = np.full(ctx.pairs.n, ctx.pairs.index["E07000064"])
    c = np.arange(ctx.pairs.n)
    s = np.zeros(ctx.pairs.n, dtype=np.intp)
    near = ctx.builder.is_near(f, c, s)
    correction = ctx.builder.log_q(f, c, s)
    assert near.sum() >= 30
    assert (correction[near] > 0).all() and (correction[~near] == 0).all()
