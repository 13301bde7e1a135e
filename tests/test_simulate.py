"""The simulated register (``recommender.simulate``) on the tiny world of ``reference_fixtures``.

Five councils, a fire, a police and an NHS body, and the eight services of
``tests/fixtures/services.csv``: small enough that every structural rule can be checked on
every row.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from recommender.config import Settings
from recommender.reference import load_adjacency, load_bodies
from recommender.services import load_services
from recommender.simulate import (
    DEFAULT_SIZE,
    FIRST_YEAR,
    LAST_YEAR,
    YEAR_COUNTS,
    simulate,
    year_counts,
)
from reference_fixtures import write_tiny_reference

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class World:
    bodies: pd.DataFrame
    adjacency: pd.DataFrame
    services: pd.DataFrame

    def run(self, seed: int, size: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
        return simulate(
            self.bodies, seed=seed, size=size, adjacency=self.adjacency, services=self.services
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    data = tmp_path_factory.mktemp("simulate") / "data"
    write_tiny_reference(data / "reference")
    shutil.copy(FIXTURES / "services.csv", data / "services.csv")
    settings = Settings(data_dir=data)
    return World(load_bodies(settings), load_adjacency(settings), load_services(settings))


def test_the_same_seed_gives_the_same_register(world: World) -> None:
    first, again = world.run(seed=3), world.run(seed=3)
    pd.testing.assert_frame_equal(first[0], again[0])
    pd.testing.assert_frame_equal(first[1], again[1])


def test_another_seed_gives_another_register(world: World) -> None:
    first, other = world.run(seed=3), world.run(seed=4)
    assert not first[0].equals(other[0])
    assert not first[1].equals(other[1])


def test_size_is_the_number_of_arrangements(world: World) -> None:
    for size in (1, 2, 25):
        arrangements, members = world.run(seed=1, size=size)
        assert len(arrangements) == size
        assert set(members["arrangement_id"]) == set(arrangements["id"])


def test_every_row_says_it_is_simulated(world: World) -> None:
    arrangements, members = world.run(seed=5, size=30)
    assert arrangements["simulated"].dtype == bool and arrangements["simulated"].all()
    assert arrangements["source"].eq("simulated (recommender.simulate, seed=5, size=30)").all()
    assert arrangements["note"].str.contains("Simulated arrangement").all()
    assert arrangements["note"].str.contains("not a real partnership").all()
    assert arrangements["id"].str.match(r"^S-\d{4}$").all()
    assert members["resolution"].eq("simulated").all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_structure_of_a_small_run(world: World, seed: int) -> None:
    arrangements, members = world.run(seed=seed)
    a = arrangements.set_index("id")
    tiers = world.bodies["tier"]
    delivered_by = world.services["delivered_by"].str.split(";")
    for ident, group in members.groupby("arrangement_id"):
        group = group.sort_values("position")
        codes = list(group["body_code"])
        assert len(codes) >= 2, ident
        assert len(set(codes)) == len(codes), ident  # nobody twice
        assert set(codes) <= set(world.bodies.index), ident
        service = a.loc[ident, "service"]
        assert set(tiers[codes]) <= set(delivered_by[service]), (ident, service)
        assert list(group["role"]) == ["lead"] + ["partner"] * (len(codes) - 1), ident
        assert list(group["position"]) == list(range(len(codes))), ident
    assert a["start_year"].between(FIRST_YEAR, LAST_YEAR).all()
    ended = a["end_year"].notna()
    assert (a.loc[ended, "end_year"] <= 2025).all()
    assert (a.loc[ended, "end_year"] >= a.loc[ended, "start_year"] + 2).all()
    assert (a["status"] == ended.map({True: "ended", False: "active"})).all()
    savings = a["savings_gbp"].astype(float)
    assert (savings.dropna() >= 0).all()
    assert (a.loc[savings.isna(), "savings_basis"] == "unknown").all()
    assert (a.loc[savings.notna(), "savings_basis"] == "annual").all()
    assert a["annual_savings_gbp"].astype(float).equals(savings)
    # Not set up to save money: a real zero, never an unknown figure.
    assert (savings[~a["savings_aim"].astype(bool)] == 0).all()


def test_arrangements_grow_year_by_year_and_reach_every_council(world: World) -> None:
    arrangements, members = world.run(seed=2)
    per_year = arrangements["start_year"].value_counts().sort_index()
    assert per_year.to_dict() == year_counts(60)
    councils = set(world.bodies.index[world.bodies["kind"] == "council"])
    assert councils <= set(members["body_code"])


def test_year_counts_follow_the_lga_series() -> None:
    assert year_counts(DEFAULT_SIZE) == YEAR_COUNTS
    for size in (1, 7, 591, 1000):
        counts = year_counts(size)
        assert sum(counts.values()) == size
        assert sorted(counts) == list(range(FIRST_YEAR, LAST_YEAR + 1))
    with pytest.raises(ValueError, match="at least 1"):
        year_counts(0)
