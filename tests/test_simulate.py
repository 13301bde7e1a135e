"""The simulated register (``recommender.simulation.process``) on the tiny world of
``reference_fixtures``.

Five councils, a fire, a police and an NHS body, and the eight services of
``tests/fixtures/services.csv``: small enough that every structural rule can be checked on
every row.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput
from recommender.core.services import load_services
from recommender.geo.pairs import build_pair_matrices
from recommender.model.patterns import merged_population
from recommender.reference.lookup import load_adjacency, load_bodies
from recommender.simulation.process import (
    DEFAULT_SIZE,
    FIRST_YEAR,
    LAST_YEAR,
    SAVINGS_PERCENTILE,
    YEAR_COUNTS,
    Coefficients,
    RealRegister,
    simulate,
    year_counts,
)
from recommender.simulation.world import World as SimWorld
from reference_fixtures import COUNTY_RUN, write_tiny_reference

FIXTURES = Path(__file__).parent / "fixtures"
ALPHA, BETA, GAMMA, DELTA = "E07000001", "E07000002", "E06000001", "E06000002"
SHIRE, FIRE = "E10000001", "E31000001"


@dataclass(frozen=True)
class World:
    bodies: pd.DataFrame
    adjacency: pd.DataFrame
    services: pd.DataFrame

    def run(self, seed: int, size: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    assert (
        arrangements["source"]
        .eq("simulated (recommender.simulation.process, seed=5, size=30)")
        .all()
    )
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
    assert per_year.to_dict() == year_counts(40)
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


def test_year_counts_complement_the_real_register() -> None:
    # Real arrangements: two before the series (counted in its first year), then 2011 and 2012.
    real = RealRegister(started=((1990, ()), (2005, ()), (2011, ()), (2012, ())))
    assert real.counts()[FIRST_YEAR] == 2 and sum(real.counts().values()) == 4
    counts = year_counts(DEFAULT_SIZE - 4, real)
    assert sum(counts.values()) == DEFAULT_SIZE - 4
    lga = real_so_far = simulated = 0
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        lga += YEAR_COUNTS[year]
        real_so_far += real.counts()[year]
        simulated += counts[year]
        # Together they follow the LGA series, year by year (the real ones never removed).
        assert simulated + real_so_far == max(lga, real_so_far), year
    # More real arrangements early than the series holds: none simulated until it catches up.
    early = RealRegister(started=tuple((2008, ()) for _ in range(30)))
    counts = year_counts(DEFAULT_SIZE - 30, early)
    assert counts[2008] == 0 and counts[2009] == 52 - 30
    assert sum(counts.values()) == DEFAULT_SIZE - 30


def test_the_real_register_summary(world: World) -> None:
    arrangements = pd.DataFrame(
        {
            "id": ["R1", "R2", "R3", "R4"],
            "start_year": [2010, None, 2021, 1986],
            "annual_savings_gbp": [30_000.0, 900.0, None, 3_000.0],
        }
    )
    members = pd.DataFrame(
        {
            "arrangement_id": ["R1", "R1", "R2", "R2", "R3", "R3", "R4", "R4"],
            "body_code": [ALPHA, BETA, GAMMA, ALPHA, ALPHA, DELTA, GAMMA, None],
        }
    )
    real = RealRegister.from_frames(arrangements, members, world.bodies["population"])
    # Dated by 2019: R1 and R4 (R2 has no year, R3 is later); members' codes, sorted.
    assert real.started == ((1986, (GAMMA,)), (2010, (ALPHA, BETA)))
    # Per resident merged in: R1 £30,000 / 100 (Beta 200 is the largest) = £300; R2 £900 / 100
    # (Alpha into Gamma) = £9; R4 has one reference body.
    assert real.max_per_resident == pytest.approx(np.percentile([300, 9], SAVINGS_PERCENTILE))
    assert real.max_annual == 30_000


def test_savings_are_capped_by_what_the_real_register_supports(world: World) -> None:
    real = RealRegister(max_per_resident=40.0, max_annual=9_000.0)
    arrangements, members = simulate(
        world.bodies, seed=6, size=40, adjacency=world.adjacency, services=world.services, real=real
    )
    merged = merged_population(members, world.bodies["population"])
    annual = arrangements.set_index("id")["annual_savings_gbp"].astype(float).dropna()
    assert (annual > 0).any()
    assert (annual <= 9_000).all()
    assert (annual <= 40.0 * merged.reindex(annual.index)).all()
    uncapped = simulate(
        world.bodies, seed=6, size=40, adjacency=world.adjacency, services=world.services
    )[0]
    assert uncapped["annual_savings_gbp"].astype(float).max() > 9_000  # the cap did bind


def test_savings_grow_with_the_population_merged_in(world: World) -> None:
    def saving(people: float) -> float:
        bodies = world.bodies.sort_index().copy()
        bodies.loc[BETA, "population"] = 1_000_000
        bodies.loc[ALPHA, "population"] = people  # the smaller partner: the people merged in
        pairs = build_pair_matrices(bodies, world.adjacency)
        coef = Coefficients(unreported=0.0, no_aim_default=0.0)
        w = SimWorld(bodies, pairs, coef, np.random.default_rng(0), world.services)
        group = [pairs.index[BETA], pairs.index[ALPHA]]
        return float(w.savings(group, "legal", None, None)["annual_savings_gbp"])  # type: ignore[arg-type]

    # The same draw: a hundred times the people merged in, 100 ** elasticity times the saving.
    small, large = saving(2_000), saving(200_000)
    assert 0 < small < large
    assert large / small == pytest.approx(100 ** Coefficients().savings_elasticity, rel=0.05)
    assert Coefficients().savings_elasticity >= 0.8  # economies of scale, not a flat saving


def test_a_fire_service_run_by_its_county_is_never_its_partner(
    world: World, tmp_path: Path
) -> None:
    write_tiny_reference(tmp_path / "reference", governance=COUNTY_RUN)
    governance = pd.read_csv(tmp_path / "reference" / "fire_governance.csv", dtype=str)

    def together(members: pd.DataFrame) -> int:
        codes = members.groupby("arrangement_id")["body_code"].agg(set)
        return sum({SHIRE, FIRE} <= c for c in codes)

    free = run = 0
    for seed in (1, 2, 3):
        kwargs = {"seed": seed, "size": 40, "adjacency": world.adjacency}
        free += together(simulate(world.bodies, services=world.services, **kwargs)[1])
        run += together(
            simulate(world.bodies, services=world.services, fire_governance=governance, **kwargs)[1]
        )
    assert free > 0 and run == 0


def test_a_world_too_small_for_the_size_says_so(world: World) -> None:
    with pytest.raises(InvalidInput, match="ask for a smaller size"):
        world.run(seed=1, size=2_000)
