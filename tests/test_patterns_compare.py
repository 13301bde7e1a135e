"""Partner patterns side by side (``recommender.simulation.patterns_compare``) on the tiny world.

Districts Alpha and Beta (in the county Shire), the unitary Gamma bordering both, the island
unitary Delta; one fire, one police and one NHS area over all but Delta.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.services import load_services
from recommender.geo.pairs import build_pair_matrices
from recommender.model.patterns import PAIR_KINDS, PairFacts
from recommender.reference.lookup import load_adjacency, load_bodies
from recommender.simulation.patterns_compare import (
    CHOICE_FEATURES,
    FLOORS,
    RULE,
    SECTIONS,
    Pattern,
    Z,
    choice_features,
    compare,
    feature_scales,
)
from reference_fixtures import write_tiny_reference

FIXTURES = Path(__file__).parent / "fixtures"
ALPHA, BETA, GAMMA, DELTA = "E07000001", "E07000002", "E06000001", "E06000002"
SHIRE, POLICE, FIRE, ICB = "E10000001", "E23000001", "E31000001", "E54000001"

Register = tuple[pd.DataFrame, pd.DataFrame]


def register(rows: list[tuple[str, str, list[str | None]]]) -> Register:
    arrangements = pd.DataFrame(
        [(ident, service) for ident, service, _ in rows], columns=["id", "service"]
    )
    members = pd.DataFrame(
        [(ident, code) for ident, _, codes in rows for code in codes],
        columns=["arrangement_id", "body_code"],
    )
    return arrangements, members


REAL = register(
    [
        ("R1", "legal", [ALPHA, BETA]),
        ("R2", "other", [FIRE, POLICE]),
        ("R3", "procurement", [ALPHA, BETA, GAMMA, None]),  # a company as a fourth member
        ("R4", "other", [GAMMA, ICB]),
        ("R5", "legal", [DELTA]),  # one reference body: no pair
    ]
)
SIMULATED = register(
    [
        ("S1", "legal", [GAMMA, DELTA]),
        ("S2", "procurement", [SHIRE, ALPHA, BETA, GAMMA]),
    ]
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[PairFacts, pd.DataFrame]:
    data = tmp_path_factory.mktemp("patterns_compare") / "data"
    write_tiny_reference(data / "reference")
    shutil.copy(FIXTURES / "services.csv", data / "services.csv")
    settings = Settings(data_dir=data)
    shapes = load_bodies(settings)
    bodies = pd.DataFrame(shapes.drop(columns=shapes.geometry.name)).sort_index()
    facts = PairFacts.build(bodies, build_pair_matrices(bodies, load_adjacency(settings)))
    return facts, load_services(settings)


def by_id(patterns: list[Pattern]) -> dict[str, Pattern]:
    return {p.id: p for p in patterns}


def test_shares_sizes_and_distances_are_computed_from_the_pairs(
    world: tuple[PairFacts, pd.DataFrame],
) -> None:
    facts, services = world
    report = compare(REAL, SIMULATED, facts, services, bootstrap=50)
    got = by_id(report.patterns)
    # Real pairs: R1 Alpha-Beta; R2 fire-police; R3 Alpha-Beta, Alpha-Gamma, Beta-Gamma;
    # R4 Gamma-ICB. Six pairs in four arrangements (R5 has one body).
    assert report.counts["real"] == {"arrangements": 4, "pairs": 6, "choice_events": 12}
    assert got["kind:council-council"].real == pytest.approx(4 / 6)
    assert got["kind:fire-police"].real == pytest.approx(1 / 6)
    assert got["kind:council-health"].real == pytest.approx(1 / 6)
    assert got["same_tier_group"].real == pytest.approx(2 / 6)  # Alpha-Beta twice
    assert got["adjacent"].real == pytest.approx(4 / 6)  # Alpha-Beta twice, both with Gamma
    assert got["same_county"].real == pytest.approx(2 / 6)
    assert got["same_police"].real == pytest.approx(6 / 6)  # all of them in the one area
    assert got["size:2"].real == pytest.approx(3 / 4)
    assert got["size:3"].real == pytest.approx(1 / 4)
    assert got["size:4+"].real == 0.0 and got["size:largest"].real == 3
    # Simulated: S1 Gamma-Delta (apart); S2 six council pairs, Shire with each (same county
    # for the districts), Alpha-Beta, both with Gamma.
    assert got["kind:council-council"].simulated == 1.0
    assert got["same_tier_group"].simulated == pytest.approx(
        3 / 7
    )  # Gamma-Delta, Shire-Gamma, Alpha-Beta
    assert got["same_county"].simulated == pytest.approx(3 / 7)
    assert got["size:4+"].simulated == pytest.approx(1 / 2)
    assert got["size:largest"].simulated == 4
    quartiles = [got[f"distance_q{q}"].real for q in (25, 50, 75)]
    assert quartiles == sorted(quartiles) and all(q is not None and q >= 0 for q in quartiles)
    assert [p.section for p in report.patterns] == sorted(
        (p.section for p in report.patterns), key=SECTIONS.index
    )
    assert {f"kind:{k}" for k in PAIR_KINDS} <= set(got)
    assert {f"coef:{k}" for k in CHOICE_FEATURES} <= set(got)


def test_a_register_compared_with_itself_is_within_every_tolerance(
    world: tuple[PairFacts, pd.DataFrame],
) -> None:
    facts, services = world
    report = compare(REAL, REAL, facts, services, bootstrap=50)
    for p in report.patterns:
        assert p.simulated == p.real, p.id
        assert p.status in ("ok", "n/a"), p.id
    assert report.summary().startswith("partner patterns: ")
    other = compare(REAL, SIMULATED, facts, services, bootstrap=50)
    assert any(p.status == "outside" for p in other.patterns)
    assert other.to_dict()["rule"] == RULE and RULE.startswith("✓")


def test_the_tolerance_is_two_standard_errors_or_the_floor_and_shares_stay_in_0_1() -> None:
    share = Pattern("s", "geography", "share", "share", real=0.4, simulated=0.5, se=0.04)
    assert share.tolerance == pytest.approx(Z * 0.04) and share.status == "outside"
    assert Pattern("s", "g", "s", "share", 0.4, 0.47, 0.04).status == "ok"
    tiny = Pattern("k", "pair kinds", "k", "share", real=0.0, simulated=0.008, se=0.0)
    assert tiny.tolerance == FLOORS["share"] and tiny.bounds == (0.0, FLOORS["share"])
    assert tiny.status == "ok"
    coef = Pattern("c", "choice model", "c", "coef", real=-1.5, simulated=-1.0, se=0.2)
    assert coef.bounds == pytest.approx((-1.9, -1.1)) and coef.status == "outside"
    assert Pattern("c", "c", "c", "coef", -1.5, None, 0.2).status == "n/a"
    assert Pattern("c", "c", "c", "coef", -1.5, -1.5, math.nan).status == "n/a"
    assert coef.to_dict()["bounds"] == pytest.approx([-1.9, -1.1])


def test_an_empty_simulated_register_has_no_values_and_no_error(
    world: tuple[PairFacts, pd.DataFrame],
) -> None:
    facts, services = world
    report = compare(REAL, register([]), facts, services, bootstrap=20)
    assert {p.status for p in report.patterns} == {"n/a"}
    assert report.counts["simulated"] == {"arrangements": 0, "pairs": 0, "choice_events": 0}


def test_choice_features_and_their_scales(world: tuple[PairFacts, pd.DataFrame]) -> None:
    facts, _ = world
    at = facts.pairs.index
    row = choice_features(facts, at[ALPHA], [at[BETA], at[SHIRE], at[FIRE]])  # type: ignore[arg-type]
    named = [dict(zip(CHOICE_FEATURES, r, strict=True)) for r in row]
    assert [n["same_tier_group"] for n in named] == [1, 0, 0]
    assert [n["same_kind"] for n in named] == [1, 1, 0]
    assert [n["touches"] for n in named] == [1, 0, 0]
    assert [n["same_county"] for n in named] == [1, 1, 0]
    assert [n["same_police"] for n in named] == [1, 0, 1]  # the tiny county has no police area
    assert named[0]["log_pop_ratio"] == pytest.approx(math.log(2))  # 100 and 200 people
    scales = feature_scales(facts)
    assert scales.shape == (len(CHOICE_FEATURES),) and (scales > 0).all()
