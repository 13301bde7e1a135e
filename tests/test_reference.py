"""The reference API (load, resolve, search, facts) on the tiny synthetic world."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.core.config import Settings
from recommender.core.errors import DataError, InvalidInput, UnknownBody
from recommender.reference import lookup as reference
from reference_fixtures import COUNTY_RUN, write_tiny_reference


def test_load_bodies_is_indexed_by_code_in_bng(tiny_settings: Settings) -> None:
    bodies = reference.load_bodies(tiny_settings)
    assert list(bodies.index) == sorted(bodies.index)
    assert bodies.crs.to_epsg() == 27700
    assert bodies.loc["E07000001", "display_name"] == "Alpha"
    assert bodies.loc["E07000001", "geometry"].area == pytest.approx(1e8)
    assert bodies["code"].tolist() == list(bodies.index)


def test_loaders_are_cached_per_folder(tiny_settings: Settings) -> None:
    assert reference.load_bodies(tiny_settings) is reference.load_bodies(tiny_settings)
    assert reference.load_aliases(tiny_settings).columns.tolist() == [
        "alias", "key", "code", "alias_type", "former_code", "note",
    ]  # fmt: skip


def test_missing_reference_names_the_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="make reference"):
        reference.load_bodies(Settings(data_dir=tmp_path))


@pytest.mark.parametrize(
    ("query", "kind", "codes", "alias_type"),
    [
        ("E07000001", None, ("E07000001",), "code"),
        ("e07000001", None, ("E07000001",), "code"),
        ("Gamma, City of", None, ("E06000001",), "official"),
        ("City of Gamma", None, ("E06000001",), "official"),
        ("gamma city council", None, ("E06000001",), "official"),
        ("Gamma", "fire", ("E31000001",), "variant"),
        ("Shire", None, ("E10000001",), "official"),
        ("Shire", "police", ("E23000001",), "official"),
        ("Shire", "health", ("E10000001",), "official"),
        ("Omega District Council", None, ("E07000001", "E07000002"), "former"),
        ("E07000099", None, ("E07000001", "E07000002"), "former"),
        ("Shire Health Authority", "health", ("E54000001",), "nhs_predecessor"),
    ],
)
def test_resolve(
    tiny_settings: Settings, query: str, kind: str | None, codes: tuple[str, ...], alias_type: str
) -> None:
    found = reference.resolve(query, kind=kind, settings=tiny_settings)
    assert found.codes == codes
    assert found.alias_type == alias_type
    assert found.score == 100.0


def test_resolve_former_keeps_code_and_note(tiny_settings: Settings) -> None:
    found = reference.resolve("Omega", settings=tiny_settings)
    assert found.former_code == "E07000099"
    assert "abolished" in found.note


def test_unknown_name_suggests_closest(tiny_settings: Settings) -> None:
    with pytest.raises(UnknownBody) as caught:
        reference.resolve("Alfa", settings=tiny_settings)
    assert caught.value.suggestions[0] == "Alpha (E07000001)"


def test_unknown_kind_is_rejected(tiny_settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="unknown kind 'firee'"):
        reference.resolve("Alpha", kind="firee", settings=tiny_settings)


def test_search_puts_exact_and_prefix_first(tiny_settings: Settings) -> None:
    found = reference.search("Shire", settings=tiny_settings)
    assert found[0].codes == ("E10000001",)
    assert {f.codes for f in found[:4]} >= {("E23000001",), ("E31000001",)}
    assert len({f.codes for f in found}) == len(found)  # each body once
    assert reference.search("Omeg", settings=tiny_settings)[0].codes == ("E07000001", "E07000002")


def test_search_filters_by_kind_and_limit(tiny_settings: Settings) -> None:
    found = reference.search("Shire", kind="police", settings=tiny_settings)
    assert [f.codes for f in found] == [("E23000001",)]
    assert len(reference.search("a", limit=2, settings=tiny_settings)) <= 2
    assert reference.search("", settings=tiny_settings) == []


def test_body_facts_are_plain_values(tiny_settings: Settings) -> None:
    facts = reference.body("Beta", settings=tiny_settings)
    assert facts["code"] == "E07000002"
    assert facts["population"] == 200 and isinstance(facts["population"], int)
    assert facts["county_code"] == "E10000001"
    assert "geometry" not in facts


def test_body_of_split_former_council_asks_to_choose(tiny_settings: Settings) -> None:
    with pytest.raises(UnknownBody) as caught:
        reference.body("Omega District Council", settings=tiny_settings)
    assert caught.value.suggestions == ["Alpha (E07000001)", "Beta (E07000002)"]


def test_neighbours_longest_border_first(tiny_settings: Settings) -> None:
    near = reference.neighbours("E07000001", settings=tiny_settings, kind="council")
    assert near["code"].tolist() == ["E06000001", "E07000002"]
    assert near["border_km"].tolist() == [10.0, 10.0]
    assert reference.neighbours("Delta", settings=tiny_settings).empty


def test_containers(tiny_settings: Settings) -> None:
    inside = reference.containers("Alpha", settings=tiny_settings)
    assert inside["code"].tolist() == ["E10000001", "E31000001", "E23000001", "E54000001"]
    assert set(inside["relation"]) == {"within"}


def test_contents_are_the_bodies_wholly_within_a_body_county_first(
    tiny_settings: Settings,
) -> None:
    """The fire authority's area holds the county, its districts and the unitary; the county
    comes first, then the unitary, then the districts, each by name; a district holds none."""
    within = reference.contents("E31000001", settings=tiny_settings)
    assert set(within["relation"]) == {"contains"}
    assert within["tier"].tolist()[0] == "county"
    councils = within[within["kind"] == "council"]
    ranks = councils["tier"].map({"county": 0, "unitary": 1, "district": 2}).tolist()
    assert ranks == sorted(ranks)
    for tier in ("district", "unitary"):
        names = councils.loc[councils["tier"] == tier, "display_name"].tolist()
        assert names == sorted(names)
    assert {"E07000001", "E06000001"} <= set(within["code"])
    # the inverse of containers: each lies within the fire authority
    for code in within["code"]:
        assert "E31000001" in set(reference.containers(code, settings=tiny_settings)["code"])
    assert reference.contents("Alpha", settings=tiny_settings).empty


def test_body_says_how_its_fire_authority_is_governed(tiny_settings: Settings) -> None:
    fire = reference.body("E31000001", settings=tiny_settings)["governance"]
    assert fire == [
        {
            "text": "Governed by the Police, Fire and Crime Commissioner for Shire since 2019",
            "source_url": "https://example.org/shire-pfcc",
            "governance": "pfcc",
            "fire_code": "E31000001",
        }
    ]
    police = reference.body("E23000001", settings=tiny_settings)["governance"]
    assert [g["text"] for g in police] == [
        "Governed by the Police, Fire and Crime Commissioner for Shire, who also governs "
        "the Shire and Gamma Fire and Rescue Authority"
    ]
    assert reference.body("Alpha", settings=tiny_settings)["governance"] == []


def test_fire_and_police_under_one_commissioner(tiny_settings: Settings) -> None:
    found = reference.shared_governor("E31000001", "E23000001", settings=tiny_settings)
    assert found is not None and found == reference.shared_governor(
        "E23000001", "E31000001", settings=tiny_settings
    )
    assert (found.governance, found.governor_code, found.since_year) == ("pfcc", "E23000001", 2019)
    assert found.source_url == "https://example.org/shire-pfcc"
    assert reference.shared_governor("E10000001", "E31000001", settings=tiny_settings) is None
    assert reference.fire_run_by("E10000001", settings=tiny_settings) is None
    assert set(reference.governed_pairs(tiny_settings)) == {
        ("E31000001", "E23000001"),
        ("E23000001", "E31000001"),
    }


def test_a_council_that_runs_its_fire_service(tmp_path: Path) -> None:
    write_tiny_reference(tmp_path / "reference", governance=COUNTY_RUN)
    settings = Settings(data_dir=tmp_path)
    assert reference.fire_run_by("E10000001", settings=settings) == "E31000001"
    assert reference.fire_run_by("E07000001", settings=settings) is None
    found = reference.shared_governor("E31000001", "E10000001", settings=settings)
    assert found is not None and found.governance == "county_council"
    assert found.governor_name == "Shire County Council" and found.since_year is None
    # The police area is not under the council.
    assert reference.shared_governor("E23000001", "E31000001", settings=settings) is None
    county = reference.body("Shire", settings=settings)["governance"]
    assert [g["text"] for g in county] == [
        "Runs the fire and rescue service (Shire and Gamma Fire and Rescue Authority)"
    ]
    fire = reference.body("E31000001", settings=settings)["governance"]
    assert [g["text"] for g in fire] == ["Run by Shire County Council"]


def test_a_mayors_year_is_the_fire_authoritys_and_not_said_of_the_police() -> None:
    """The table's year is when the fire authority came under its governor: the GLA and the
    Metropolitan Police read "already under one governor, the Mayor of London since 2018",
    the year of the London Fire Commissioner, where the Mayor governed the police before."""
    import pandas as pd

    from recommender.reference.governance import governed_pairs_of

    table = pd.DataFrame(
        [["E31000046", "mayor", "E61000001", "Mayor of London", "E23000001", "2018",
          "https://example.org/london"]],
        columns=["fire_code", "governance", "governed_by_code", "governed_by_name",
                 "police_code", "since_year", "source_url"],
    )  # fmt: skip
    pairs = governed_pairs_of(table)
    assert len(pairs) == 6
    for (a, b), governor in pairs.items():
        assert governor.governor_name == "Mayor of London"
        assert governor.since_year == (2018 if "E31000046" in (a, b) else None), (a, b)
