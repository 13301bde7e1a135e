"""Checks on the committed ``data/reference/`` (the build's checks, plus known facts)."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from recommender.core.config import Settings
from recommender.core.errors import UnknownBody
from recommender.reference import lookup as reference
from recommender.reference.rules import external_kind

SETTINGS = Settings()
REGISTER = SETTINGS.sources / "register" / "known_arrangements.csv"
LOWER = ["district", "unitary", "metropolitan", "london_borough"]


@pytest.fixture(scope="module")
def bodies() -> gpd.GeoDataFrame:
    return reference.load_bodies(SETTINGS)


@pytest.fixture(scope="module")
def adjacency() -> pd.DataFrame:
    return reference.load_adjacency(SETTINGS)


def test_columns_match_the_contract() -> None:
    with (SETTINGS.reference_dir / "bodies.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header == [
        "code", "name", "display_name", "kind", "tier", "region_code", "region", "county_code",
        "fire_code", "police_code", "icb_code", "cauth_code", "population", "area_km2",
        "density", "imd_score", "imd_decile", "rural_urban", "x", "y", "lat", "lon",
    ]  # fmt: skip


def test_counts(bodies: gpd.GeoDataFrame) -> None:
    tiers = bodies["tier"].value_counts()
    assert int(tiers[LOWER].sum()) == 296
    assert tiers["county"] == 21
    assert tiers["police"] == 39
    assert tiers["health"] == 42
    assert tiers["fire"] == 44
    assert tiers["combined_authority"] == 12  # the ONS 2024 set and the GLA
    assert len(bodies) == 454
    assert bodies["kind"].value_counts().to_dict() == {
        "council": 317, "fire": 44, "police": 39, "health": 42, "combined": 12,
    }  # fmt: skip
    assert bodies["region_code"].nunique() == 9
    assert bodies.loc["E06000053", "tier"] == "unitary"  # Isles of Scilly
    assert bodies.loc["E09000001", "tier"] == "london_borough"  # City of London


def test_populations_add_up(bodies: gpd.GeoDataFrame) -> None:
    lower = bodies[bodies["tier"].isin(LOWER)]
    assert lower["population"].sum() == 57_106_398
    for tier in ("fire", "police"):
        assert bodies.loc[bodies["tier"] == tier, "population"].sum() == 57_106_398
    icb = bodies.loc[bodies["tier"] == "health", "population"].sum()
    assert icb == pytest.approx(57_106_398, abs=50)  # shares rounded per ICB
    districts = lower[lower["tier"] == "district"].groupby("county_code")["population"].sum()
    counties = bodies.loc[bodies["tier"] == "county", "population"]
    assert districts.sort_index().tolist() == counties.sort_index().tolist()
    members = lower[lower["cauth_code"] != ""].groupby("cauth_code")["population"].sum()
    combined = bodies.loc[bodies["tier"] == "combined_authority", "population"]
    assert members.sort_index().to_dict() == combined.sort_index().to_dict()


def test_combined_authorities(bodies: gpd.GeoDataFrame, adjacency: pd.DataFrame) -> None:
    lower = bodies[bodies["tier"].isin(LOWER)]
    members = lower.groupby("cauth_code").size().drop("")
    assert members.to_dict() == {
        "E47000001": 10, "E47000002": 4, "E47000003": 5, "E47000004": 6, "E47000006": 5,
        "E47000007": 7, "E47000008": 6, "E47000009": 3, "E47000012": 2, "E47000013": 17,
        "E47000014": 7, "E61000001": 33,
    }  # fmt: skip
    # 2024 changes from the 2023 lookup: North East and North of Tyne merged; two new ones.
    assert set(lower.loc[["E08000021", "E06000057", "E06000047"], "cauth_code"]) == {"E47000014"}
    assert lower.loc[["E06000014", "E06000065"], "cauth_code"].tolist() == ["E47000012"] * 2
    assert (lower.loc[lower["tier"] == "london_borough", "cauth_code"] == "E61000001").all()
    # A county whose districts all sit in one combined authority is in it too.
    assert bodies.loc[["E10000007", "E10000024", "E10000003"], "cauth_code"].tolist() == [
        "E47000013", "E47000013", "E47000008",
    ]  # fmt: skip
    combined = bodies[bodies["tier"] == "combined_authority"]
    assert (combined[["county_code", "cauth_code", "fire_code", "police_code"]] == "").all().all()
    assert bodies.loc["E47000001", "display_name"] == "Greater Manchester Combined Authority"
    assert bodies.loc["E47000013", "display_name"] == "East Midlands Combined County Authority"
    assert bodies.loc["E61000001", "region"] == "London"
    rel = {(a, b): r for a, b, r, _ in adjacency.itertuples(index=False)}
    assert rel[("E08000003", "E47000001")] == "within"  # Manchester in Greater Manchester
    assert rel[("E31000040", "E47000001")] == "within"  # same area: fire within the authority
    assert rel[("E23000001", "E61000001")] == "within"  # the Met: all London but the City
    assert rel[("E10000007", "E47000013")] == "within"  # Derbyshire county in East Midlands
    assert rel[("E47000001", "E47000003")] == "touches"  # Greater Manchester, West Yorkshire


def test_every_district_in_one_county(bodies: gpd.GeoDataFrame) -> None:
    districts = bodies[bodies["tier"] == "district"]
    counties = set(bodies.index[bodies["tier"] == "county"])
    assert districts["county_code"].isin(counties).all()
    assert (bodies.loc[bodies["tier"] != "district", "county_code"] == "").all()


def test_facts_are_complete(bodies: gpd.GeoDataFrame) -> None:
    for column in ("population", "area_km2", "density", "imd_score", "imd_decile", "x", "y"):
        assert bodies[column].notna().all(), column
    assert (bodies["rural_urban"] != "").all()
    assert bodies["imd_decile"].between(1, 10).all()
    councils = bodies[bodies["kind"] == "council"]
    assert (councils[["fire_code", "police_code", "icb_code"]] != "").all().all()
    # Centroids in England, in both coordinate systems.
    assert bodies["x"].between(80_000, 660_000).all() and bodies["y"].between(5_000, 660_000).all()
    assert bodies["lat"].between(49.8, 55.9).all() and bodies["lon"].between(-6.5, 1.8).all()


def test_geometries_valid_in_bng(bodies: gpd.GeoDataFrame) -> None:
    assert bodies.crs.to_epsg() == 27700
    assert bodies.is_valid.all()
    assert (SETTINGS.reference_dir / "boundaries.geojson").stat().st_size <= 3_000_000
    assert (bodies.area / 1e6 - bodies["area_km2"]).abs().max() < 0.001


def test_councils_tile_without_gaps_or_overlaps(bodies: gpd.GeoDataFrame) -> None:
    lower = bodies[bodies["tier"].isin(LOWER)].geometry.to_numpy()
    union = shapely.union_all(lower)
    assert shapely.area(lower).sum() == pytest.approx(union.area, abs=1.0)
    assert sum(len(p.interiors) for p in shapely.get_parts(union)) == 0


def test_adjacency_symmetric(adjacency: pd.DataFrame) -> None:
    inverse = {"within": "contains", "contains": "within", "touches": "touches",
               "overlaps": "overlaps"}  # fmt: skip
    there = {(a, b): (r, km) for a, b, r, km in adjacency.itertuples(index=False)}
    assert len(there) == len(adjacency)
    for (a, b), (relation, km) in there.items():
        assert there[(b, a)] == (inverse[relation], km)


def _touching(adjacency: pd.DataFrame, code: str) -> set[str]:
    rows = adjacency[(adjacency["code_a"] == code) & (adjacency["relation"] == "touches")]
    return set(rows["code_b"])


def test_known_neighbours(bodies: gpd.GeoDataFrame, adjacency: pd.DataFrame) -> None:
    rother = _touching(adjacency, "E07000064")
    assert {"E07000065", "E07000062"} <= rother  # Wealden, Hastings
    assert _touching(adjacency, "E06000053") == set()  # Isles of Scilly
    for code in bodies.index[bodies["tier"] == "london_borough"]:
        near = _touching(adjacency, code)
        assert any(c.startswith("E09") for c in near), code


def test_known_containment(adjacency: pd.DataFrame) -> None:
    rel = {(a, b): r for a, b, r, _ in adjacency.itertuples(index=False)}
    assert rel[("E31000011", "E10000008")] == "contains"  # Devon and Somerset FRA, Devon
    assert rel[("E07000064", "E10000011")] == "within"  # Rother in East Sussex
    assert rel[("E10000008", "E23000035")] == "within"  # Devon in Devon and Cornwall police
    assert rel[("E07000244", "E54000022")] == "overlaps"  # East Suffolk split between ICBs
    split = adjacency[
        (adjacency["relation"] == "overlaps") & adjacency["code_a"].str.match("E0[6-9]")
    ]
    assert split["code_a"].nunique() == 13


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("Aylesbury Vale", ("E06000060",)),
        ("Taunton Deane", ("E06000066",)),
        ("Forest Heath", ("E07000245",)),
        ("Waveney", ("E07000244",)),
        ("Suffolk Coastal", ("E07000244",)),
        ("Weymouth and Portland", ("E06000059",)),
        ("Northamptonshire", ("E06000061", "E06000062")),
        ("Hull", ("E06000010",)),
        ("Herefordshire, County of", ("E06000019",)),
        ("Kennet", ("E06000054",)),
        ("Bristol City Council", ("E06000023",)),
        ("St. Helens", ("E08000013",)),
        ("Durham", ("E06000047",)),
        ("Southend", ("E06000033",)),
        ("BCP", ("E06000058",)),  # the council's everyday name: it found nothing
        ("BCP Council", ("E06000058",)),
        ("Hereford", ("E06000019",)),  # not the fire authority, whose name begins with it
        ("E08000038", ("E08000016",)),
        ("Sheffield City Region Combined Authority", ("E47000002",)),
        ("West Midlands Combined Authority", ("E47000007",)),
        ("Liverpool City Region CA", ("E47000004",)),
        ("East Midlands Combined County Authority", ("E47000013",)),
        ("GMCA", ("E47000001",)),
        ("Mayor of London", ("E61000001",)),
        ("GLA", ("E61000001",)),
        ("North of Tyne Combined Authority", ("E47000014",)),
        ("E47000010", ("E47000014",)),
    ],
)
def test_aliases_resolve(name: str, codes: tuple[str, ...]) -> None:
    assert reference.resolve(name, settings=SETTINGS).codes == codes


def test_a_body_goes_by_its_own_name_where_its_ons_name_is_gone() -> None:
    """The ONS code of London's fire and rescue authority still carries the name of the
    London Fire and Emergency Planning Authority, abolished in 2018: its page, the GLA's and
    the Met's said the Mayor governs it. It goes by the London Fire Commissioner's name, and
    the old one still finds it."""
    bodies = reference.load_bodies(SETTINGS).set_index("code")
    assert bodies.at["E31000046", "display_name"] == "London Fire Commissioner"
    assert bodies.at["E31000046", "name"] == "London Fire and Emergency Planning Authority"
    for name in ("London Fire Commissioner", "London Fire and Emergency Planning Authority"):
        assert reference.resolve(name, settings=SETTINGS).codes == ("E31000046",)
    # Asked for by the name gone, it says what became of it (it found the body silently).
    old = "London Fire and Emergency Planning Authority"
    assert reference.name_note(old, "E31000046", SETTINGS) == (
        "The London Fire and Emergency Planning Authority was abolished in 2018; the London "
        "Fire Commissioner took its place as the fire and rescue authority for Greater London."
    )
    assert reference.noted(reference.resolve(old, settings=SETTINGS))
    assert reference.name_note("London Fire Commissioner", "E31000046", SETTINGS) is None


def test_an_alias_is_written_with_its_capitals_when_a_source_gives_them() -> None:
    """The North of Tyne authority's former name was kept as mySociety's lower-case alt-name
    ("newcastle upon tyne, north tyneside and …"), which the search box showed."""
    aliases = pd.read_csv(SETTINGS.reference_dir / "aliases.csv", dtype=str, keep_default_na=False)
    lower = aliases[aliases["alias"].str.islower() & aliases["alias"].str.contains(" ")]
    assert not len(lower[lower["alias"].str.contains("combined authority")]), lower[
        "alias"
    ].tolist()
    assert "Newcastle Upon Tyne, North Tyneside and Northumberland Combined Authority" in set(
        aliases["alias"]
    )


def test_fire_services_a_combined_authority_replaced_are_its_former_names() -> None:
    """ "Hampshire Fire and Rescue Service" (an arrangement of 2014) read as the Hampshire and
    Isle of Wight authority formed in 2021 itself, so Surrey's authority "already works with"
    it through the Isle of Wight's control room of 2012."""
    for name, code, year in [
        ("Hampshire Fire and Rescue Service", "E31000048", "2021"),
        ("Isle of Wight Fire and Rescue Service", "E31000048", "2021"),
        ("Wiltshire Fire and Rescue Service", "E31000047", "2016"),
    ]:
        found = reference.resolve(name, settings=SETTINGS)
        assert found.codes == (code,) and found.alias_type == "former", name
        assert found.note.endswith(f"in {year}"), found.note
    today = reference.resolve(
        "Hampshire and Isle of Wight Fire and Rescue Service", settings=SETTINGS
    )
    assert today.codes == ("E31000048",) and today.alias_type != "former"
    assert reference.resolve("Hampshire", settings=SETTINGS).codes == ("E10000014",)  # the council


def test_kind_preference() -> None:
    assert reference.resolve("Devon", settings=SETTINGS).codes == ("E10000008",)
    assert reference.resolve("Devon", kind="fire", settings=SETTINGS).codes == ("E31000011",)
    assert reference.resolve("Hereford", kind="fire", settings=SETTINGS).codes == ("E31000018",)
    assert reference.resolve("Hampshire Fire and Rescue Service", settings=SETTINGS).codes == (
        "E31000048",
    )
    assert reference.resolve("Hampshire Constabulary", settings=SETTINGS).codes == ("E23000030",)


def test_replaced_combined_authorities_are_former_names() -> None:
    found = reference.resolve("North of Tyne Combined Authority", settings=SETTINGS)
    assert (found.alias_type, found.former_code) == ("former", "E47000011")
    assert "replaced in 2024 by North East Combined Authority" in found.note
    # The successor kept the name: its own display name wins over the former one.
    found = reference.resolve("North East Combined Authority", settings=SETTINGS)
    assert (found.codes, found.alias_type) == (("E47000014",), "display")
    # A place name still means the council, fire or police body before the authority.
    assert reference.resolve("Greater Manchester", settings=SETTINGS).codes == ("E31000040",)
    assert reference.resolve("Greater Manchester", kind="combined", settings=SETTINGS).codes == (
        "E47000001",
    )


def test_every_fire_authority_has_its_governance(bodies: gpd.GeoDataFrame) -> None:
    table = reference.fire_governance(SETTINGS)
    fire = sorted(bodies.index[bodies["kind"] == "fire"])
    assert sorted(table.index) == fire and len(fire) == 44
    assert table["source_url"].str.startswith("http").all()
    counts = table["governance"].value_counts().to_dict()
    assert counts == {
        "combined_fire_authority": 20, "county_council": 12, "metropolitan_fire_authority": 5,
        "pfcc": 4, "mayor": 3,
    }  # fmt: skip
    councils = table.loc[table["governance"] == "county_council", "governed_by_code"]
    assert set(bodies.loc[councils, "kind"]) == {"council"}
    assert "E06000053" in set(councils)  # the Council of the Isles of Scilly
    assert all(reference.fire_run_by(c, SETTINGS) for c in councils)
    governed = table[table["governance"].isin(["pfcc", "mayor"])]
    assert set(bodies.loc[governed["police_code"], "kind"]) == {"police"}
    mayors = table.loc[table["governance"] == "mayor", "governed_by_code"]
    assert set(bodies.loc[mayors, "kind"]) == {"combined"}


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("E06000052", "Runs the fire and rescue service (Cornwall Fire and Rescue Authority)"),
        ("E31000008", "Run by Cornwall Council"),
        ("E31000039", "Run by the Council of the Isles of Scilly"),
        ("E31000015", "Governed by the Police, Fire and Crime Commissioner for Essex since 2017"),
        ("E31000040", "Governed by the Mayor of Greater Manchester (Greater Manchester Combined "
                      "Authority) since 2017"),
        ("E31000001", "A combined fire authority (Avon Fire Authority) since 1996"),
        ("E31000041", "A metropolitan fire and rescue authority (Merseyside Fire and Rescue "
                      "Authority) since 1986"),
        ("E61000001", "The Mayor of London governs the London Fire Commissioner (since 2018) "
                      "and the Metropolitan Police force area"),
    ],
)  # fmt: skip
def test_governance_in_words(code: str, text: str) -> None:
    assert [g["text"] for g in reference.body(code, SETTINGS)["governance"]] == [text]


def test_bodies_under_one_governor() -> None:
    mayor = reference.shared_governor("E61000001", "E23000001", SETTINGS)
    assert mayor is not None and mayor.governor_name == "Mayor of London"
    fire = reference.shared_governor("E31000046", "E23000001", SETTINGS)
    assert fire is not None and fire.governor_name == "Mayor of London"
    # The table's 2018 is the London Fire Commissioner's: said of a pair with the fire only.
    assert (fire.since_year, mayor.since_year) == (2018, None)
    council = reference.shared_governor("E06000052", "E31000008", SETTINGS)
    assert council is not None and council.governance == "county_council"
    # Devon and Cornwall police is not under Cornwall Council, nor West Yorkshire's fire
    # authority under its mayor (a metropolitan fire authority governs itself).
    assert reference.shared_governor("E06000052", "E23000035", SETTINGS) is None
    assert reference.shared_governor("E31000045", "E47000003", SETTINGS) is None


def _register_partners() -> list[tuple[str, str]]:
    if not REGISTER.is_file():
        return []
    with REGISTER.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    pairs = []
    for row in rows:
        names = [n.strip() for n in row["partners"].split(";")]
        kinds = [k.strip() for k in row["partner_types"].split(";")]
        pairs += [(n, k) for n, k in zip(names, kinds, strict=True) if k in reference.KINDS]
    return sorted(set(pairs))


def test_every_register_partner_resolves() -> None:
    partners = _register_partners()
    if not partners:
        pytest.skip(f"{REGISTER} not found")
    failed = []
    outside = []
    for name, kind in partners:
        try:
            found = reference.resolve(name, kind=kind, settings=SETTINGS)
        except UnknownBody:  # an NHS trust or a town council, said so by its name
            outside.append(name)
            if external_kind(name) is None:
                failed.append((name, kind, ()))
            continue
        kinds = set(reference.load_bodies(SETTINGS).loc[list(found.codes), "kind"])
        if kinds != {kind}:
            failed.append((name, kind, found.codes))
    assert failed == []
    assert outside and all(external_kind(n) for n in outside)


def test_reference_files_exist() -> None:
    names = {p.name for p in Path(SETTINGS.reference_dir).iterdir()}
    assert names == {
        "bodies.csv", "boundaries.geojson", "adjacency.csv", "aliases.csv", "fire_governance.csv",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "first", "never"),
    [
        ("Taunton Deane", "E06000066", {"E06000032", "E07000224", "E07000114"}),  # Luton...
        ("Taunton", "E06000066", {"E06000032", "E07000224", "E07000114"}),
        ("Aylesbury Vale", "E06000060", {"E08000002"}),  # not Bury
        ("Rother", "E07000064", {"E08000017"}),  # Rotherham next, never Doncaster
        ("hull", "E06000010", {"E08000029"}),  # never Solihull
        ("kent icb", "E54000032", {"E54000038"}),  # never Somerset's ICB
    ],
)
def test_search_ranks_whole_words_and_successors_first(
    query: str, first: str, never: set[str]
) -> None:
    found = reference.search(query, limit=10, settings=SETTINGS)
    assert found[0].codes == (first,)
    assert not never & {c for hit in found for c in hit.codes}


def test_the_note_on_a_successors_page() -> None:
    assert reference.former_note("Aylesbury Vale", "E06000060", SETTINGS) == (
        "Aylesbury Vale District Council was abolished in 2020; its area is now part of "
        "Buckinghamshire."
    )
    assert reference.former_note("Aylesbury Vale", "E07000064", SETTINGS) is None
    assert reference.former_note("Buckinghamshire", "E06000060", SETTINGS) is None
    assert reference.exact("Kent", SETTINGS) is None  # a council, a fire and a police area
    assert reference.exact("Rother", SETTINGS).codes == ("E07000064",)  # type: ignore[union-attr]
