"""The shared definitions of partner patterns (``recommender.model.patterns``) on the tiny world.

Districts Alpha and Beta (in the county Shire), the unitary Gamma bordering both, the island
unitary Delta; one fire, one police and one NHS area over all but Delta.
"""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.geo.pairs import build_pair_matrices
from recommender.model.patterns import (
    GROUPS,
    PAIR_KINDS,
    TIER_GROUPS,
    PairFacts,
    area_codes,
    merged_population,
    pair_kind,
    register_pairs,
    tier_groups,
)
from recommender.reference.lookup import KINDS, TIER_NAMES, load_adjacency, load_bodies
from reference_fixtures import write_tiny_reference

ALPHA, BETA, GAMMA, DELTA = "E07000001", "E07000002", "E06000001", "E06000002"
SHIRE, POLICE, FIRE, ICB = "E10000001", "E23000001", "E31000001", "E54000001"


@pytest.fixture(scope="module")
def bodies(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("patterns") / "reference"
    write_tiny_reference(folder)
    settings = Settings(data_dir=folder.parent)
    shapes = load_bodies(settings)
    frame = pd.DataFrame(shapes.drop(columns=shapes.geometry.name)).sort_index()
    frame.attrs["adjacency"] = load_adjacency(settings)
    return frame


@pytest.fixture(scope="module")
def facts(bodies: pd.DataFrame) -> PairFacts:
    return PairFacts.build(bodies, build_pair_matrices(bodies, bodies.attrs["adjacency"]))


def test_every_tier_has_a_group_and_upper_tier_councils_share_one() -> None:
    assert set(TIER_GROUPS) == set(TIER_NAMES)
    assert set(TIER_GROUPS.values()) == set(GROUPS)
    upper = {t for t, g in TIER_GROUPS.items() if g == "upper"}
    assert upper == {"county", "unitary", "metropolitan", "london_borough"}
    assert list(tier_groups(["district", "london_borough", "combined_authority"])) == [
        "district",
        "upper",
        "combined",
    ]
    with pytest.raises(KeyError):
        tier_groups(["parish"])


def test_pair_kinds_are_sorted_and_cover_every_pair_of_kinds() -> None:
    assert pair_kind("police", "fire") == pair_kind("fire", "police") == "fire-police"
    assert pair_kind("health", "council") == "council-health"
    assert len(PAIR_KINDS) == len(KINDS) * (len(KINDS) + 1) // 2 == len(set(PAIR_KINDS))
    assert PAIR_KINDS[0] == "council-council"


def test_other_public_bodies_lie_in_the_areas_of_their_councils(bodies: pd.DataFrame) -> None:
    areas = area_codes(bodies)
    assert areas.loc[FIRE].to_dict() == {
        "county": "",
        "fire": FIRE,
        "police": POLICE,
        "icb": ICB,
        "cauth": "",
    }
    assert areas.loc[POLICE, "fire"] == FIRE and areas.loc[POLICE, "police"] == POLICE
    assert areas.loc[SHIRE, "county"] == SHIRE and areas.loc[ALPHA, "county"] == SHIRE
    assert areas.loc[DELTA].tolist() == ["", "", "", "", ""]  # the island is in no area


def test_pair_facts_say_what_two_bodies_share(facts: PairFacts) -> None:
    at = facts.pairs.index

    def same(area: str, a: str, b: str) -> bool:
        return bool(facts.same[area][at[a], at[b]])

    assert same("police", FIRE, POLICE) and same("fire", FIRE, POLICE)  # fire-police, one area
    assert same("county", ALPHA, BETA) and same("county", ALPHA, SHIRE)
    assert not same("county", ALPHA, GAMMA) and not same("police", GAMMA, DELTA)
    assert facts.group[at[SHIRE]] == facts.group[at[GAMMA]] == "upper"
    a = facts.pairs.positions([ALPHA, FIRE, POLICE])
    b = facts.pairs.positions([BETA, POLICE, ICB])
    assert list(facts.pair_kinds(a, b)) == ["council-council", "fire-police", "health-police"]


def test_pairs_ignore_external_members_repeats_and_lone_bodies(facts: PairFacts) -> None:
    arrangements = pd.DataFrame({"id": ["A", "B", "C"], "service": ["legal", "ict", "other"]})
    members = pd.DataFrame(
        {
            "arrangement_id": ["A", "A", "A", "B", "B", "B", "C", "C"],
            "body_code": [GAMMA, ALPHA, BETA, POLICE, None, POLICE, FIRE, None],
        }
    )
    pairs = register_pairs(arrangements, members, facts.pairs)
    named = [(r.arrangement, r.service, r.size) for r in pairs.itertuples()]
    assert named == [("A", "legal", 3)] * 3  # B has one body twice, C one body and a company
    codes = facts.pairs.codes
    found = {frozenset((codes[r.a], codes[r.b])) for r in pairs.itertuples()}
    assert found == {frozenset(p) for p in [(ALPHA, BETA), (ALPHA, GAMMA), (BETA, GAMMA)]}
    assert (pairs["a"] < pairs["b"]).all()


def test_merged_population_is_the_total_less_the_largest(bodies: pd.DataFrame) -> None:
    members = pd.DataFrame(
        {
            "arrangement_id": ["A", "A", "A", "B", "B", "C"],
            "body_code": [GAMMA, ALPHA, BETA, DELTA, None, ALPHA],
        }
    )
    merged = merged_population(members, bodies["population"])
    # Gamma 300, Alpha 100, Beta 200: 300 merged into Gamma; B and C have one body each.
    assert merged.to_dict() == {"A": 300.0}
