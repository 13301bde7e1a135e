"""The partnership network at a point in time: counts, sharing, Adamic-Adar, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.geo.pairs import PairMatrices
from recommender.model.network import SnapshotCache, register_arrays

SERVICES = ("ict", "legal")


def pairs_for(codes: list[str]) -> PairMatrices:
    n = len(codes)
    zeros = np.zeros((n, n))
    return PairMatrices(
        codes=np.array(codes),
        dist_km=zeros,
        touches=zeros.astype(bool),
        border_km=zeros,
        nested=zeros.astype(bool),
        same={},
    )


def register(
    rows: list[tuple[str, str, float, float, list[str]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    arrangements = pd.DataFrame(
        [
            {
                "id": i,
                "service": s,
                "start_year": start,
                "end_year": end,
                "annual_savings_gbp": 1000.0,
                "simulated": False,
            }
            for i, s, start, end, _ in rows
        ]
    )
    members = pd.DataFrame(
        [
            {"arrangement_id": i, "position": p, "body_code": c}
            for i, _, _, _, codes in rows
            for p, c in enumerate(codes, 1)
        ]
    )
    return arrangements, members


CODES = ["A", "B", "C", "D", "E"]
ROWS = [
    ("a1", "ict", 2010, np.nan, ["A", "B"]),
    ("a2", "legal", 2012, 2014, ["B", "C"]),
    ("a3", "ict", 2015, np.nan, ["C", "D", "E"]),
    ("a4", "legal", np.nan, np.nan, ["A", "E"]),
]


@pytest.fixture
def cache() -> SnapshotCache:
    pairs = pairs_for(CODES)
    reg = register_arrays(*register(ROWS), pairs, SERVICES)
    return SnapshotCache(reg, len(CODES))


def test_an_arrangement_never_sees_itself_or_later_ones(cache: SnapshotCache) -> None:
    a, b, c, d = 0, 1, 2, 3
    before_a3 = cache.for_arrangement(2)  # a3 started in 2015
    assert before_a3.prior[c, d] == 0  # its own pair is not yet linked
    assert before_a3.prior[a, b] == 1 and before_a3.prior[b, c] == 1
    first = cache.for_arrangement(0)
    assert first.prior.sum() == 0 and first.degree.sum() == 0


def test_undated_arrangements_enter_only_the_serving_snapshot(cache: SnapshotCache) -> None:
    a, e = 0, 4
    assert cache.dated().prior[a, e] == 0
    assert cache.for_arrangement(3).prior[a, e] == 0  # a4's own features exclude a4
    assert cache.now().prior[a, e] == 1


def test_ended_arrangements_count_as_history_but_not_as_sharing(cache: SnapshotCache) -> None:
    b, c = 1, 2
    legal = SERVICES.index("legal")
    during = cache.before(2013)
    assert during.shares[legal, b, c]
    later = cache.before(2016)
    assert later.prior[b, c] == 1 and not later.shares[legal, b, c]


def test_common_partners_and_adamic_adar(cache: SnapshotCache) -> None:
    a, c = 0, 2
    snap = cache.now()  # A and C share partners B (2 partners) and E (3 partners)
    assert snap.common[a, c] == 2
    assert snap.adamic_adar[a, c] == pytest.approx(1 / np.log(2) + 1 / np.log(3))
    assert snap.n_partners.tolist() == [2, 2, 3, 2, 3]


def test_excluded_arrangements_vanish_everywhere() -> None:
    pairs = pairs_for(CODES)
    reg = register_arrays(*register(ROWS), pairs, SERVICES)
    exclude = np.array([True, False, False, False])
    snap = SnapshotCache(reg, len(CODES), exclude=exclude).now()
    assert snap.prior[0, 1] == 0 and snap.degree[0] == 1  # A is left in a4 only


def test_simulated_arrangements_never_enter_the_network() -> None:
    """Shared history must be real: a simulated arrangement is a training example only."""
    arrangements, members = register(ROWS)
    arrangements.loc[arrangements["id"] == "a1", "simulated"] = True
    reg = register_arrays(arrangements, members, pairs_for(CODES), SERVICES)
    cache = SnapshotCache(reg, len(CODES))
    a, b = CODES.index("A"), CODES.index("B")
    for snap in (cache.now(), cache.dated(), cache.before(2030)):
        assert snap.prior[a, b] == 0 and not snap.shares[0, a, b]
        assert snap.degree[a] == (1 if snap is cache.now() else 0)  # a4 (undated) is real


def test_a_member_that_left_no_longer_shares_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hammersmith and Fulham "left the arrangement in 2022" (the Tri-borough libraries, which
    run on for the other two): it was still said to share the service with them."""
    from dataclasses import replace

    from recommender.model.network import as_the_register_says
    from recommender.register import records

    readings = {"a3": {"D": records.ExitReading(2018, "D left in 2018")}}
    monkeypatch.setattr(records, "_exit_readings", lambda: readings)
    arrangements, members = register(ROWS)
    arrangements["name"] = arrangements["id"]
    reg = register_arrays(arrangements, members, pairs_for(CODES), SERVICES)
    c, d, e = 2, 3, 4
    assert reg.left == ((2, d, 2018.0),)
    cache = SnapshotCache(reg, len(CODES))
    ict = SERVICES.index("ict")
    now = cache.now()
    assert now.shares[ict, c, e] and now.shares[ict, e, c]  # the others go on sharing
    assert not (now.shares[ict, c, d] or now.shares[ict, d, e] or now.shares[ict, d, c])
    assert now.prior[c, d] == 1 and now.prior[d, e] == 1  # the history stays
    assert cache.before(2017).shares[ict, c, d]  # before it left
    assert not cache.before(2019).shares[ict, c, d]
    # A model saved without it is told so by the serving network.
    saved = replace(reg, left=())
    assert as_the_register_says(saved, len(CODES)).shares[ict, c, d]
    told = as_the_register_says(saved, len(CODES), left=reg.left)
    assert not told.shares[ict, c, d] and told.shares[ict, c, e]
