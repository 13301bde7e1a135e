"""Reorganisation scenarios: checks, the derived map, the arrangements, storage, and the
promoted model answering on the new map (Surrey's districts into two unitaries)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from recommender.core.config import Settings
from recommender.core.errors import ScenarioRejected, UnknownBody, UnknownScenario
from recommender.database import db
from recommender.recommend.query import Query
from recommender.reference import lookup as reference
from recommender.reference.bodies import largest_class
from recommender.reference.build import check_symmetric
from recommender.register import records as reg
from recommender.scenario import define, history, report, store
from recommender.scenario.define import Draft, DraftSuccessor
from recommender.scenario.recommend import ScenarioCache, ScenarioRecommender, compare
from recommender.scenario.world import World, derive
from scenario_fixtures import (
    EAST,
    JOINT_WASTE,
    NORTH,
    RUSHMOOR,
    SURREY,
    WEST,
    kent_three_draft,
    north_south_draft,
    surrey,
    surrey_draft,
)

# The real data/, named: these tests check the committed reference and register.
REAL = Settings.from_env()


@pytest.fixture(scope="module")
def world() -> World:
    return derive(surrey(REAL), REAL)


@pytest.fixture(scope="module")
def records() -> list[dict]:  # type: ignore[type-arg]
    """The default register's real arrangements as register records (members listed)."""
    arrangements, members = reg.read_default_register(REAL)
    real = arrangements[~arrangements["simulated"]]
    out = []
    for row in real.to_dict("records"):
        mine = members[members["arrangement_id"] == row["id"]].sort_values("position")
        row["members"] = [  # (one outside the reference has no code, as in the register's)
            {"body_code": c if isinstance(c, str) and c else None, "name": n, "resolution": how}
            for c, n, how in zip(
                mine["body_code"], mine["name_as_given"], mine["resolution"], strict=True
            )
        ]
        out.append(row)
    return out


# Checks ---------------------------------------------------------------------------------------


def test_surrey_in_two_gets_codes_names_and_its_councils_in_order() -> None:
    found = surrey(REAL)
    assert [(s.code, s.name) for s in found.successors] == [
        ("X06000001", "East Surrey"),
        ("X06000002", "West Surrey"),
    ]
    assert found.successors[0].councils == EAST
    assert found.successor_of()["E07000217"] == "X06000002"
    assert define.is_successor_code("X06000002") and not define.is_successor_code("E06000001")


def test_names_and_counties_stand_for_councils() -> None:
    # Names resolve like codes; a county stands for its districts; a district alone becomes a
    # unitary, named after itself by default.
    draft = Draft(
        "suffolk-three",
        (
            DraftSuccessor(None, ("Babergh", "Ipswich", "mid suffolk")),
            DraftSuccessor(None, ("East Suffolk",)),
            DraftSuccessor("West Suffolk Council", ("E07000245",)),
        ),
    )
    found = define.check(draft, REAL)
    assert [s.name for s in found.successors] == [
        "Babergh, Ipswich and Mid Suffolk",
        "East Suffolk",
        "West Suffolk Council",
    ]
    # A name with an "and" of its own: the list still reads as its councils.
    two = Draft(
        "avon-two", (DraftSuccessor(None, ("Bath and North East Somerset", "North Somerset")),)
    )
    assert define.check(two, REAL).successors[0].name == (
        "Bath and North East Somerset, and North Somerset"
    )
    whole = define.check(Draft("surrey-one", (DraftSuccessor("Surrey", ("Surrey",)),)), REAL)
    assert set(whole.successors[0].councils) == set(EAST + WEST)


def _problems(draft: Draft, settings: Settings = REAL) -> list[str]:
    with pytest.raises(ScenarioRejected) as caught:
        define.check(draft, settings)
    assert caught.value.status == 422
    assert caught.value.to_dict()["problems"]
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("successors", "says"),
    [
        # a code that is not a council
        ([("A", (*EAST, "E31000035")), ("B", WEST)],
         "Surrey Fire and Rescue Authority (E31000035) is a fire and rescue authority, not a "
         "council"),
        ([("A", (*EAST, "E54000063")), ("B", WEST)], "not a council"),
        ([("A", (*EAST, "E47000001")), ("B", WEST)], "not a council"),
        # the GLA and the City of London named for what they are (not a combined authority,
        # not a London borough council)
        ([("A", (*EAST, "E61000001")), ("B", WEST)],
         "Greater London Authority (E61000001) is a strategic authority, not a council"),
        ([("A", EAST), ("B", WEST), ("C", ("E09000001",))],
         "City of London (E09000001) alone is already a city corporation"),
        ([("A", (*EAST, "Nowhereshire")), ("B", WEST)], "'Nowhereshire': no public body"),
        # a council in two successors
        ([("A", (*EAST, "E07000217")), ("B", WEST)],
         "Woking (E07000217) is already in successor 1: a council goes to one successor only"),
        # a county left partly unassigned
        ([("A", EAST)],
         "Surrey (E10000030) is only partly reorganised: Guildford (E07000209)"),
        # a unitary alone changes nothing
        ([("A", EAST), ("B", WEST), ("C", ("E06000036",))],
         "Bracknell Forest (E06000036) alone is already a unitary council"),
        ([("A", EAST), ("B", WEST), ("C", ())], "successor 3 names no council"),
        # names: twice in the scenario, or a council that stays on the map
        ([("Surrey", EAST), ("surrey", WEST)], "successor 1 has this name already"),
        ([("Hampshire", EAST), ("B", WEST)], "Hampshire (E10000014) keeps this name"),
        # nor another body's full name (the police area's page listed it among its councils)
        ([("Cleveland police force area", EAST), ("B", WEST)],
         "Cleveland police force area (E23000013) keeps this name"),
        # or one of its other names (a look-up by it found the successor)
        ([("Kent Police", EAST), ("B", WEST)], "Kent police force area (E23000032) keeps"),
        ([("A", EAST), ("Metropolitan Police", WEST)],
         "Metropolitan Police force area (E23000001) keeps"),
        ([("Norfolk Fire and Rescue Service", EAST), ("B", WEST)],
         "Norfolk Fire and Rescue Authority (E31000026) keeps"),
        ([("x" * 101, EAST), ("B", WEST)], "a name of 1 to 100 characters"),
    ],
)  # fmt: skip
def test_bad_input_names_the_code_and_what_is_wrong(
    successors: list[tuple[str, tuple[str, ...]]], says: str
) -> None:
    draft = Draft("bad", tuple(DraftSuccessor(n, c) for n, c in successors))
    problems = _problems(draft)
    assert any(says in p for p in problems), problems


def test_a_council_named_twice_in_a_successor_is_refused_not_merged_unseen() -> None:
    """ "Brent, Harrow, E09000005, London Borough of Brent" (Brent three times) and "Surrey,
    Woking, Surrey" were taken without a word, each council once: a slip said back, as the
    README promises of every problem."""
    brent = _problems(Draft("d", (DraftSuccessor("A", ("Brent", "Harrow", "E09000005",
                                                       "London Borough of Brent")),)))  # fmt: skip
    said = [p for p in brent if "names Brent (E09000005) again" in p]
    assert len(said) == 2 and all("already named by 'Brent'" in p for p in said), brent
    surrey_twice = _problems(Draft("d", (DraftSuccessor("A", ("Surrey", "Woking", "Surrey")),)))
    assert len(surrey_twice) == 2, surrey_twice  # Woking again, and Surrey again: not 11
    assert any("names Woking (E07000217) again (already named by 'Surrey')" in p
               for p in surrey_twice)  # fmt: skip


def test_an_abolished_council_split_in_two_is_refused_naming_both() -> None:
    # Northamptonshire became North and West Northamptonshire: which one is meant?
    problems = _problems(Draft("n", (DraftSuccessor("A", ("Northamptonshire County Council",)),)))
    assert any("North Northamptonshire" in p and "West Northamptonshire" in p for p in problems)


@pytest.mark.parametrize("name", ["Surrey", "surrey east", "-surrey", "surrey--east", "new", ""])
def test_names_are_slugs(name: str) -> None:
    assert define.check_name(name)
    assert not define.check_name("surrey-east-west-2026")


def test_every_problem_is_listed_at_once() -> None:
    draft = Draft("Bad Name", (DraftSuccessor("A", ("E31000035", "E07000207")),))
    problems = _problems(draft)
    assert len(problems) >= 3  # the name, the fire authority, Surrey left partly unassigned


def test_the_command_line_and_file_layouts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    options = define.from_options("s", (",".join(EAST), ",".join(WEST)), ("East",), "d")
    assert options.successors[0] == DraftSuccessor("East", EAST)
    assert options.successors[1].name is None and options.description == "d"
    csv_file = tmp_path / "s.csv"
    rows = [f"East Surrey,{c}" for c in EAST] + [f"West Surrey,{c}" for c in WEST]
    csv_file.write_text("successor,council\n" + "\n".join(rows) + "\n")
    json_file = tmp_path / "s.json"
    payload = {
        "description": "two",
        "successors": [
            {"name": "East Surrey", "councils": list(EAST)},
            {"name": "West Surrey", "from": ",".join(WEST)},
        ],
    }
    json_file.write_text(json.dumps(payload))
    for path in (csv_file, json_file):
        read = define.check(define.read_file(path, "surrey-east-west"), REAL)
        assert read.successors == surrey(REAL).successors
    assert define.read_file(json_file, "s").description == "two"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,code\nA,E07000207\n")
    with pytest.raises(ScenarioRejected, match="expected the columns successor and council"):
        define.read_file(bad, "x")


# The map after the scenario -----------------------------------------------------------------


def test_surrey_leaves_the_map_and_the_districts_go_to_their_successors(world: World) -> None:
    assert SURREY not in world.bodies.index
    assert not set(EAST + WEST) & set(world.bodies.index)
    assert world.replaced[SURREY] == ("X06000001", "X06000002")
    assert world.replaced["E07000207"] == ("X06000001",)
    before = reference.load_bodies(REAL)
    assert len(world.bodies) == len(before) - 12 + 2
    assert world.sources("X06000002") == sorted([*WEST, SURREY])


def test_merged_facts_are_the_sums_of_the_parts(world: World) -> None:
    before = reference.load_bodies(REAL)
    for code, councils in (("X06000001", EAST), ("X06000002", WEST)):
        new, parts = world.bodies.loc[code], before.loc[list(councils)]
        people = parts["population"].astype(float)
        assert new["population"] == parts["population"].sum()
        assert new["area_km2"] == pytest.approx(parts["area_km2"].sum(), abs=0.01)
        assert new["density"] == pytest.approx(new["population"] / new["area_km2"], abs=0.1)
        weighted = float((parts["imd_score"] * people).sum() / people.sum())
        assert new["imd_score"] == pytest.approx(weighted, abs=1e-3)
        assert new["imd_decile"] == 10  # Surrey's districts are among the least deprived
        assert new["rural_urban"] == largest_class(parts["rural_urban"], people)
        assert (new["kind"], new["tier"], new["county_code"]) == ("council", "unitary", "")
        assert (new["fire_code"], new["police_code"]) == ("E31000035", "E23000031")
        assert new["icb_code"] == "E54000063" and new["cauth_code"] == ""
        assert (new["region"], new["region_code"]) == ("South East", "E12000008")
        centre = world.bodies.geometry[code].centroid
        assert (new["x"], new["y"]) == (round(centre.x), round(centre.y))
    both = world.bodies.loc[["X06000001", "X06000002"], "population"].sum()
    assert both == before.at[SURREY, "population"]


def test_the_new_polygons_are_valid_and_share_their_neighbours_borders(world: World) -> None:
    before = reference.load_bodies(REAL)
    geoms = world.bodies.geometry
    for code, councils in (("X06000001", EAST), ("X06000002", WEST)):
        assert geoms[code].is_valid and geoms[code].geom_type in ("Polygon", "MultiPolygon")
        union = shapely.union_all(before.geometry[list(councils)].to_numpy())
        assert shapely.symmetric_difference(geoms[code], union).area < 1.0  # m²
    lower = world.bodies[world.bodies["tier"].isin(define.LOWER_TIERS)].geometry.to_numpy()
    total = shapely.area(lower).sum()
    assert total == pytest.approx(shapely.union_all(lower).area, rel=1e-9)  # still a tiling
    assert world.bodies.crs.to_epsg() == 27700


def test_adjacency_is_symmetric_and_borders_are_the_councils(world: World) -> None:
    adj = world.adjacency
    check_symmetric(adj)
    before = reference.load_adjacency(REAL)
    touches = before[before["relation"] == "touches"].set_index(["code_a", "code_b"])["border_km"]

    def border(a: str, b: str) -> float:
        row = adj[(adj["code_a"] == a) & (adj["code_b"] == b)]
        return float(row["border_km"].iloc[0]) if len(row) else 0.0

    east_west = sum(touches.get((e, w), 0.0) for e in EAST for w in WEST)
    assert border("X06000001", "X06000002") == pytest.approx(east_west, abs=0.02)
    rushmoor = sum(touches.get((w, RUSHMOOR), 0.0) for w in WEST)
    assert border("X06000002", RUSHMOOR) == pytest.approx(rushmoor, abs=0.02)
    assert border(RUSHMOOR, "X06000002") == border("X06000002", RUSHMOOR)
    # rows between bodies that stay are the reference's
    kept = before[~before["code_a"].isin([*EAST, *WEST, SURREY])]
    kept = kept[~kept["code_b"].isin([*EAST, *WEST, SURREY])]
    merged = kept.merge(adj, on=["code_a", "code_b"], suffixes=("", "_new"))
    assert len(merged) == len(kept)
    assert (merged["relation"] == merged["relation_new"]).all()


def test_relations_follow_the_councils(world: World) -> None:
    def relation(a: str, b: str) -> str:
        adj = world.adjacency
        return str(adj[(adj["code_a"] == a) & (adj["code_b"] == b)]["relation"].iloc[0])

    for code in ("X06000001", "X06000002"):
        assert relation(code, "E31000035") == "within"  # Surrey's fire area
        assert relation("E31000035", code) == "contains"
        assert relation(code, "E23000031") == "within"
    assert relation("X06000001", "E54000063") == "within"  # East: all in Surrey Heartlands
    # West: Guildford, Runnymede, Surrey Heath and Waverley are split with Frimley
    assert relation("X06000002", "E54000063") == "overlaps"
    assert relation("X06000002", "E54000034") == "overlaps"
    assert relation("X06000002", RUSHMOOR) == "touches"
    assert set(world.containers("X06000002")["code"]) >= {"E31000035", "E23000031", "E54000034"}
    # Surrey's police area holds the two new unitaries, not the councils they replace
    held = set(world.contents("E23000031")["code"])
    assert {"X06000001", "X06000002"} <= held and RUSHMOOR not in held
    assert held.isdisjoint(world.replaced)
    assert "X06000001" in set(world.neighbours("X06000002")["code"])


def test_a_whole_county_in_one_successor_takes_over_its_fire_service() -> None:
    split = derive(surrey(REAL), REAL)
    assert ("X06000001", "E31000035") not in split.governed
    assert any("Surrey Fire and Rescue Authority is run by Surrey County Council" in n
               for n in split.notes)  # fmt: skip
    assert "left to decide" in split.facts("E31000035")["governance"][0]["text"]
    whole = derive(
        define.check(Draft("surrey-one", (DraftSuccessor("Surrey", ("Surrey",)),)), REAL), REAL
    )
    governor = whole.governed[("X06000001", "E31000035")]
    assert governor.governance == "county_council" and governor.governor_code == "X06000001"
    facts = whole.facts("X06000001")
    assert (
        "Runs the fire and rescue service (Surrey Fire and Rescue Authority)"
        in (facts["governance"][0]["text"])
    )
    # one unitary with Surrey's exact area: within its fire area, which covers the same ground
    row = whole.adjacency[(whole.adjacency["code_a"] == "X06000001")
                          & (whole.adjacency["code_b"] == "E31000035")]  # fmt: skip
    assert row["relation"].tolist() == ["within"] and not whole.notes


# The real arrangements ----------------------------------------------------------------------


def test_arrangements_between_councils_of_one_successor_become_internal(records) -> None:  # type: ignore[no-untyped-def]
    north = derive(define.check(north_south_draft(), REAL), REAL)
    outcomes = {o.id: o for o in history.from_records(north, records)}
    joint = outcomes[JOINT_WASTE]
    assert joint.internal and joint.after == ("X06000001",)
    assert set(joint.before) == {"E07000207", "E07000210", "E07000214", "E07000217"}
    shown = report.report(north, records)
    assert [a["id"] for a in shown["arrangements"]["internal"]] == [JOINT_WASTE]
    # under the 2025 split the same arrangement carries over, between East and West Surrey
    east_west = {o.id: o for o in history.from_records(derive(surrey(REAL), REAL), records)}
    assert not east_west[JOINT_WASTE].internal
    assert east_west[JOINT_WASTE].after == ("X06000001", "X06000002")


def test_the_rest_carry_over_with_successors_once_and_a_split_county_to_each(records) -> None:  # type: ignore[no-untyped-def]
    world = derive(surrey(REAL), REAL)
    outcomes = history.from_records(world, records)
    with_county = [o for o in outcomes if SURREY in o.before]
    assert with_county
    for o in with_county:
        assert {"X06000001", "X06000002"} <= set(o.after) and SURREY not in o.after
        assert len(o.after) == len(set(o.after))  # duplicates merged
    untouched = [o for o in outcomes if not set(o.before) & {*EAST, *WEST, SURREY}]
    assert all(o.after == o.before and not o.changed for o in untouched)
    shown = report.report(world, records)
    carried = shown["arrangements"]["carried_over"]
    assert {a["id"] for a in carried} == {o.id for o in outcomes if o.changed}
    assert shown["arrangements"]["unchanged"] == len(untouched)


def test_simulated_arrangements_never_enter(records) -> None:  # type: ignore[no-untyped-def]
    world = derive(surrey(REAL), REAL)
    fake = {"id": "S-1", "name": "x", "service": "legal", "simulated": True,
            "members": [{"body_code": "E07000207"}, {"body_code": "E07000209"}]}  # fmt: skip
    assert history.from_records(world, [*records, fake]) == history.from_records(world, records)


# Storage ------------------------------------------------------------------------------------


def test_create_list_show_delete(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings().with_(database_url=database_url)
    with db.connect(settings) as engine:
        made = store.create(engine, surrey_draft(), settings)
        assert store.load(engine, made.name) == made
        assert made.description == "Surrey into two unitaries (the 2025 proposal)"
        [summary] = store.summaries(engine)
        assert (summary.name, summary.successors, summary.councils) == (made.name, 2, 11)
        # the name is taken: refused, nothing more stored
        with pytest.raises(ScenarioRejected, match="a scenario has this name already"):
            store.create(engine, surrey_draft(), settings)
        # bad input stores nothing
        with pytest.raises(ScenarioRejected):
            store.create(engine, Draft("other", (DraftSuccessor("A", EAST),)), settings)
        assert [s.name for s in store.summaries(engine)] == [made.name]
        with db.transaction(engine) as conn:
            assert db.count(conn, db.scenario_councils) == 11
        store.delete(engine, made.name)
        assert store.summaries(engine) == []
        with db.transaction(engine) as conn:
            assert db.count(conn, db.scenario_councils) == 0
        with pytest.raises(UnknownScenario):
            store.load(engine, made.name)
        with pytest.raises(UnknownScenario):
            store.delete(engine, made.name)


def test_the_database_refuses_a_council_in_two_successors(database_url: str) -> None:
    import sqlalchemy as sa

    settings = Settings().with_(database_url=database_url)
    with db.connect(settings) as engine:
        store.create(engine, surrey_draft(), settings)
        with pytest.raises(sa.exc.IntegrityError), db.transaction(engine) as conn:
            ident = conn.scalar(sa.select(db.scenarios.c.id))
            conn.execute(
                sa.insert(db.scenario_councils),
                [{"scenario_id": ident, "council_code": EAST[0], "successor_code": "X06000002",
                  "successor_name": "West Surrey", "position": 9}],
            )  # fmt: skip
        store.delete(engine, "surrey-east-west")


def test_unknown_scenario_names_the_closest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings().with_(database_url=f"sqlite:///{tmp_path / 's.sqlite'}")
    with db.connect(settings) as engine:
        store.create(engine, surrey_draft(), settings)
        with pytest.raises(UnknownScenario) as caught:
            store.load(engine, "surrey-east-wset")
    assert caught.value.suggestions == ["surrey-east-west"]


# Recommending on the new map ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario_model(recommender_model) -> ScenarioRecommender:  # type: ignore[no-untyped-def]
    return ScenarioRecommender(recommender_model, derive(surrey(REAL), REAL))


def test_the_model_scores_the_new_map_without_retraining(
    scenario_model: ScenarioRecommender, recommender_model
) -> None:  # type: ignore[no-untyped-def]
    assert scenario_model.model.components is recommender_model.model.components
    assert scenario_model.version == recommender_model.version
    codes = set(scenario_model.model.context.pairs.codes)
    assert {"X06000001", "X06000002"} <= codes and not codes & {*EAST, *WEST, SURREY}
    assert not scenario_model.model.context.reg.simulated.any()  # the network is real only


def test_recommendations_for_a_successor(scenario_model: ScenarioRecommender) -> None:
    found = scenario_model.recommend(Query("West Surrey", k=10))
    assert found and len(found) <= 10
    partners = {r.partner_code for r in found}
    assert not partners & {*EAST, *WEST, SURREY, "X06000002"}
    assert all(r.likelihood is not None and 0 < r.likelihood < 1 for r in found)
    expected = [r.expected_savings_gbp for r in found]
    assert expected == sorted(expected, reverse=True)
    assert found == scenario_model.recommend(Query("X06000002", k=10))


def test_one_between_councils_merged_before_the_scenario_is_not_offered_to_join(
    scenario_model: ScenarioRecommender, recommender_model
) -> None:  # type: ignore[no-untyped-def]
    """Suffolk Coastal and Waveney (both East Suffolk since 2019): on a scenario's map it was
    offered to join, and cited as running ("merged": false), its two members read as one."""
    trained = recommender_model.model.arrangements
    pairs = zip(trained["id"], trained["member_codes"], strict=True)
    merged = {str(i) for i, codes in pairs if reg.one_body(codes)}
    assert merged
    offered, cited = set(), set()
    for body in ("X06000001", "X06000002", "E07000200", "E07000202", "E07000203"):
        for o in scenario_model.arrangements_to_join(body, k=50):
            offered.add(o.arrangement["id"])
            assert not o.arrangement["merged"], o.arrangement["name"]
        for r in scenario_model.recommend(Query(body, k=50)):
            cited |= {e["id"] for e in r.evidence if e["id"] in merged and e["merged"]}
            assert not [e for e in r.evidence if e["id"] in merged and not e["merged"]]
    assert offered and not offered & merged
    assert cited  # cited beside suggestions, as merged


def test_the_bodies_gone_a_member_stands_for_stay_in_line_with_its_code(
    recommender_model,
) -> None:  # type: ignore[no-untyped-def]
    """Kent split between three successors: the Kent Total Place pilot's members on the new
    map, made distinct, were read against the names of the bodies gone of other members
    ("West Kent PCT" against North Kent, "Eastern and Coastal Kent PCT" against West Kent, the
    board standing for both read as a member itself)."""
    world = derive(define.check(kent_three_draft(), REAL), REAL)
    scen = ScenarioRecommender(recommender_model, world)
    compact = scen.model.arrangements
    for codes, vias in zip(compact["member_codes"], compact["member_via"], strict=True):
        assert len(codes) == len(vias)
    pilot = compact[compact["name"].str.startswith("Kent Total Place pilot")].iloc[0]
    via = dict(zip(pilot["member_codes"], pilot["member_via"], strict=True))
    assert via["E54000032"].split("\x1f") == ["West Kent PCT", "Eastern and Coastal Kent PCT"]
    assert via["X06000001"] == via["X06000002"] == via["X06000003"] == ""
    assert via["E23000032"] == ""  # (Kent Police and its police authority: the force itself)


def test_a_board_in_an_arrangement_only_through_its_abolished_trusts_inherits_nothing(
    recommender_model,
) -> None:  # type: ignore[no-untyped-def]
    """NHS Kent and Medway ICB is in the Kent Total Place pilot only through West Kent PCT and
    Eastern and Coastal Kent PCT, abolished in 2013: today's map says so ("has been in 1
    documented arrangement with Kent, only through bodies since abolished"); on a map of Kent
    in three the successors were said to inherit it "with NHS Kent and Medway ICB", as if the
    board were a member itself."""
    world = derive(define.check(kent_three_draft(), REAL), REAL)
    scen = ScenarioRecommender(recommender_model, world)
    board = "NHS Kent and Medway Integrated Care Board"
    texts = [
        x.text
        for name in ("North Kent", "West Kent", "East Kent")
        for r in scen.recommend(Query(name, kinds=("health",), k=20))
        if r.partner_name == board
        for x in r.reasons
        if x.factor == "history"
    ]
    assert texts
    for text in texts:
        assert f"with {board}" not in text, text
        assert text.endswith(f"that {board} was in only through bodies since abolished"), text
    assert any(t.startswith("East Kent inherits 1 documented arrangement from Kent County "
                            "Council, Ashford and 4 more") for t in texts), texts  # fmt: skip
    # Its two members outside the reference (Jobcentre Plus, Kent Probation) are externals,
    # where each was read as a body coded "nan" and none as external.
    pilot = next(o for o in scen.outcomes if o.name.startswith("Kent Total Place pilot"))
    assert pilot.externals == 2
    assert "nan" not in pilot.before and all(c in world.bodies.index for c in pilot.after)


def test_an_arrangement_deleted_from_the_register_is_not_cited_on_the_new_map(
    recommender_model,  # type: ignore[no-untyped-def]
) -> None:
    """A scenario's map was made from the model's own register: an arrangement an analyst
    deleted since was still cited there, and a scenario made before a deletion was served from
    the cache after it."""
    from recommender.recommend.ranking import Recommender

    base = Recommender(recommender_model.model, recommender_model.version,
                       recommender_model.metadata, recommender_model.settings)  # fmt: skip
    cache = ScenarioCache()
    before = cache.get(base, surrey(REAL))
    cited = next(e["id"] for r in before.recommend(Query("West Surrey", k=10)) for e in r.evidence)
    real = base.model.arrangements[~base.model.arrangements["simulated"].astype(bool)]
    assert base.withdraw({str(i) for i in real["id"]} - {cited}) == 1
    after = cache.get(base, surrey(REAL))
    assert after is not before and after.identity != before.identity
    assert after.withdrawn == {cited}
    found = after.recommend(Query("West Surrey", k=10))
    assert any(r.evidence for r in found)  # others are cited in its place
    assert all(e["id"] != cited for r in found for e in r.evidence)


def test_inherited_history_is_stated_as_such(scenario_model: ScenarioRecommender) -> None:
    # East and West Surrey inherit three documented arrangements: Joint Waste Solutions
    # (Elmbridge and Mole Valley with Surrey Heath and Woking) and Surrey County Council's two
    # with East Sussex, the county's share going to each.
    shared = [o for o in scenario_model.outcomes
              if not o.internal and {"X06000001", "X06000002"} <= set(o.after)]  # fmt: skip
    assert {o.id for o in shared} >= {JOINT_WASTE} and len(shared) == 3
    found = scenario_model.recommend(Query("West Surrey", k=10))
    texts = [x.text for r in found if r.partner_code == "X06000001" for x in r.reasons
             if x.factor == "history"]  # fmt: skip
    assert texts, [x.text for r in found for x in r.reasons]
    # Joint Waste Solutions links the two; the county's two are each's as its successor.
    assert texts[0] == (
        "inherits 1 documented arrangement with West Surrey: East Surrey from Elmbridge and Mole "
        "Valley, West Surrey from Surrey Heath and Woking; both also succeed Surrey County "
        "Council in 2 documented arrangements (with others: no partnership of the two)"
    )
    every = [x.text for r in found for x in r.reasons]
    assert not any(t.startswith("has been in") for t in every if "Surrey" in t)


def test_neighbours_see_the_new_map(scenario_model: ScenarioRecommender, recommender_model) -> None:  # type: ignore[no-untyped-def]
    today = recommender_model.recommend(Query(RUSHMOOR, k=20, service="legal"))
    after = scenario_model.recommend(Query(RUSHMOOR, k=20, service="legal"))
    assert {r.partner_code for r in today} & set(WEST)  # Surrey Heath is a candidate today
    assert not {r.partner_code for r in after} & {*EAST, *WEST}
    scored = scenario_model.scorer.query(
        scenario_model.body_position(RUSHMOOR), scenario_model.service_position("legal")
    )
    codes = scenario_model.model.context.pairs.codes[scored.candidate]
    assert "X06000002" in set(codes)  # West Surrey is one now
    place = scenario_model.place(RUSHMOOR)
    assert "X06000002" in {n["code"] for n in place.neighbours}


def test_a_council_that_leaves_the_map_names_its_successor(
    scenario_model: ScenarioRecommender,
) -> None:
    with pytest.raises(UnknownBody) as caught:
        scenario_model.recommend(Query("Woking"))
    assert "its area goes to West Surrey" in caught.value.detail
    assert caught.value.suggestions == ["West Surrey (X06000002)"]
    with pytest.raises(UnknownBody, match="East Surrey and West Surrey"):
        scenario_model.code_of("Surrey County Council")


def test_a_successors_place_and_its_briefing(scenario_model: ScenarioRecommender) -> None:
    from recommender.render.briefing import briefing_context, render_html

    place = scenario_model.place("X06000002")
    assert place.facts["successor"] and place.facts["population"] > 600_000
    assert "a new unitary council formed from Guildford" in place.note
    ids = {a["id"] for a in place.arrangements}
    assert JOINT_WASTE in ids
    joint = next(a for a in place.arrangements if a["id"] == JOINT_WASTE)
    assert {m["body_code"] for m in joint["members"]} == {"X06000001", "X06000002"}
    html = render_html(briefing_context(scenario_model, "X06000002"), scenario_model.settings)
    assert "Shared-service opportunities: West Surrey" in html
    assert "On the map of scenario &#39;surrey-east-west&#39;" in html
    assert 'data-code="X06000002"' in html  # the new body is drawn
    # Past its first page's note, every page's footer, and its first words, say West Surrey
    # is not a council today (they read as an existing council's briefing).
    assert "that does not exist today: scenario" in html
    assert (
        'content: "West Surrey, not a council today: on the map of scenario surrey-east-west'
        in html
    )
    today = render_html(briefing_context(scenario_model.base, "E07000209"), scenario_model.settings)
    assert "not a council today" not in today and "on the map of scenario" not in today


def test_a_place_reads_its_arrangements_from_the_settings_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A world keeps the caller's settings: a successor's inherited arrangements come from the
    database they name (a world made its own settings and read the checkout's SQLite file)."""
    settings = REAL.with_(database_url=f"sqlite:///{tmp_path / 'own.sqlite'}")
    path = tmp_path / "new.csv"
    path.write_text(
        "arrangement_name,partners,partner_types,service_category,start_year,savings_gbp,"
        "savings_basis,savings_period_years,source_url,note\n"
        "Woking and Rushmoor payroll,Woking; Rushmoor,council; council,hr_payroll,2024,,,,"
        "https://example.org/wr,\n"
    )
    (new_id,) = reg.import_file(path, settings=settings).ids
    world = derive(surrey(settings), settings)
    assert world.settings.db_url == settings.db_url
    inherited = {a["id"] for a in report.place(world, "X06000002").arrangements}
    assert new_id in inherited and JOINT_WASTE in inherited


def test_before_and_after(scenario_model: ScenarioRecommender, recommender_model) -> None:  # type: ignore[no-untyped-def]
    found = compare(recommender_model, scenario_model, "Woking", k=10)
    assert found["body"]["code"] == "E07000217"
    assert found["scenario_body"] == {"code": "X06000002", "name": "West Surrey"}
    assert len(found["now"]) == len(found["scenario"]) == 10
    fates = {r["partner_code"]: r["fate"] for r in found["now"]}
    west = "part of West Surrey too: one council with it, no longer a partner"
    assert {fates[c] for c in fates.keys() & set(WEST)} <= {west}
    assert {fates[c] for c in fates.keys() & set(EAST)} <= {"part of East Surrey"}
    assert fates.keys() & (set(WEST) | set(EAST)), "Woking's list names a Surrey council"
    assert all(r["partner_code"] != "X06000002" for r in found["scenario"])
    with pytest.raises(UnknownBody, match="split between East Surrey and West Surrey"):
        compare(recommender_model, scenario_model, SURREY)
    # The new unitary itself was "no public body matches 'X06000002'; did you mean Barnsley…".
    for asked in ("X06000002", "west surrey"):
        with pytest.raises(UnknownBody, match="is a new unitary of scenario") as caught:
            compare(recommender_model, scenario_model, asked)
        assert caught.value.suggestions[0] == f"Guildford ({WEST[0]})"


def test_a_new_unitarys_place_today_is_the_best_of_its_councils(
    scenario_model: ScenarioRecommender, recommender_model
) -> None:  # type: ignore[no-untyped-def]
    """Rushmoor's West Surrey for waste read "#8 today", Waverley's place, where Surrey Heath,
    which joins it too, stood fifth: the same service with a joining council, at its best."""
    found = compare(recommender_model, scenario_model, "Rushmoor", k=30)
    best: dict[tuple[str, str], int] = {}
    for rank, r in enumerate(found["now"], 1):
        for heir in scenario_model.world.replaced.get(r["partner_code"], ()):
            best.setdefault((heir, r["service"]), rank)
    checked = 0
    for r in found["scenario"]:
        if r["new"]:
            assert r["rank_now"] == best.get((r["partner_code"], r["service"])), r
            checked += r["rank_now"] is not None
    assert checked
    counted = [k for k in best if sum(
        1 for r in found["now"]
        if k[0] in scenario_model.world.replaced.get(r["partner_code"], ()) and r["service"] == k[1]
    ) > 1]  # fmt: skip
    assert counted, "no new unitary stands twice for one service on Rushmoor's list"


def test_the_cache_keeps_one_world_per_scenario_and_model(recommender_model) -> None:  # type: ignore[no-untyped-def]
    cache = ScenarioCache(size=2)
    first = cache.get(recommender_model, surrey(REAL))
    assert cache.get(recommender_model, surrey(REAL)) is first
    other = define.check(north_south_draft(), REAL)
    assert cache.get(recommender_model, other) is not first
    cache.get(recommender_model, define.check(surrey_draft("again"), REAL))
    assert len(cache) == 2  # the oldest went


def test_nothing_changes_the_reference_or_the_model(recommender_model) -> None:  # type: ignore[no-untyped-def]
    before = reference.load_bodies(REAL).copy()
    n = recommender_model.model.context.pairs.n
    ScenarioRecommender(recommender_model, derive(define.check(north_south_draft(), REAL), REAL))
    pd.testing.assert_frame_equal(
        pd.DataFrame(reference.load_bodies(REAL).drop(columns="geometry")),
        pd.DataFrame(before.drop(columns="geometry")),
    )
    assert recommender_model.model.context.pairs.n == n
    assert np.isin(list(NORTH), recommender_model.model.context.pairs.codes).all()


def test_inherited_history_counts_running_arrangements_apart_from_the_rest() -> None:
    """A successor "inherits 1 documented arrangement with Brighton and Hove from Medway" where
    the one was a proposal, and "5 … from Cherwell" where four had ended and one was only
    proposed: every shared one was counted as running history."""
    from recommender.scenario.history import Outcome
    from recommender.scenario.recommend import _history_said

    def one(ended: bool = False, proposed: bool = False) -> Outcome:
        return Outcome("R-1", "x", "legal", 2012, ended, None, ("A",), ("B",), 0, False, proposed)

    assert _history_said([one(), one(), one(ended=True)]) == (
        "2 documented arrangements (and 1 more that ended or was only proposed)"
    )
    assert _history_said([one(proposed=True)]) == "1 documented proposal never formed"
    assert _history_said([one(ended=True)] * 4 + [one(proposed=True)]) == (
        "4 documented arrangements that ended and 1 documented proposal never formed"
    )
    assert not one(proposed=True).running and one().running


def test_a_split_countys_share_is_never_read_as_making_a_partnership_internal(
    world: World,
) -> None:
    """Kent split three ways: the Maidstone Gateway (Maidstone and Kent) read on North Kent's
    page "between bodies that are all now North Kent, so it is internal", Kent standing as the
    first successor other than North Kent, the one Maidstone went to. Here Elmbridge goes to
    East Surrey and Surrey County Council is split: on West Surrey's page the two are East
    and West Surrey, a partnership."""
    from recommender.scenario.report import _mapped

    east, west = sorted(world.successors)
    assert world.replaced["E07000207"] == (east,) and set(world.replaced[SURREY]) == {east, west}
    record = {"id": "R-x", "members": [{"body_code": "E07000207"}, {"body_code": SURREY}]}
    codes = [m["body_code"] for m in _mapped(world, record, west)["members"]]
    assert codes == [east, west] and not reg.merged_into_one(_mapped(world, record, west))
    assert [m["body_code"] for m in _mapped(world, record, east)["members"]] == [east, west]


def test_a_successors_briefing_lists_each_member_as_it_is_today(world: World) -> None:
    """A scenario's briefing grouped members by their successor and named each group by its
    first council: West Kent's "Maidstone, Swale" for Maidstone, Tunbridge Wells, Swale and
    Kent. Joint Waste Solutions, on West Surrey's map, is its four councils."""
    from recommender.scenario.report import _mapped

    names = {"E07000207": "Elmbridge", "E07000210": "Mole Valley", "E07000214": "Surrey Heath",
             "E07000217": "Woking"}  # fmt: skip
    record = {"id": JOINT_WASTE, "members": [{"body_code": c, "name": n, "resolution": "exact"}
                                             for c, n in names.items()]}  # fmt: skip
    mapped = _mapped(world, record, "X06000002")
    assert {m["body_code"] for m in mapped["members"]} == {"X06000001", "X06000002"}
    listed = reg.listed_partners(mapped["members"])
    assert [p["label"] for p in listed] == list(names.values())


def test_a_council_split_between_two_successors_is_no_partnership_of_them(
    scenario_model: ScenarioRecommender,
) -> None:
    """East Surrey "inherits 3 documented arrangements with West Surrey: … East Surrey from
    Elmbridge, Mole Valley and Surrey County Council, West Surrey from Surrey Heath, Woking and
    Surrey County Council": two of the three were the county's with East Sussex alone, which
    each successor inherits, no link between the two."""
    listed = scenario_model.recommend(Query("X06000001", k=50, include_existing=True, min_choice=0))

    def history_with(partner: str) -> list[str]:
        return [x.text for r in listed if r.partner_code == partner for x in r.reasons
                if x.factor == "history"]  # fmt: skip

    said = history_with("X06000002")
    assert said, "East Surrey's list has no history with West Surrey"
    for text in said:
        linked = text.split(";")[0]
        assert "Surrey County Council" not in linked, text
        assert "both also succeed Surrey County Council in" in text, text
    sussex = history_with("E10000011")  # East Sussex
    assert sussex and all("from Surrey County Council" in t for t in sussex), sussex


def test_a_successor_may_take_a_place_name_another_kind_of_body_shares() -> None:
    """A unitary called Cleveland or Humberside beside the fire and police areas of those
    names is refused no more than one called Kent: only a name that says the other body's
    kind, or is one of its variants ("Kent Police"), is another body's."""
    draft = Draft("places", (DraftSuccessor("Cleveland", EAST), DraftSuccessor("Humberside", WEST)))
    made = define.check(draft, REAL)
    assert [s.name for s in made.successors] == ["Cleveland", "Humberside"]


def test_an_area_a_successor_straddles_is_said_to_overlap_it(
    scenario_model: ScenarioRecommender, world: World
) -> None:
    """West Surrey lies partly in NHS Frimley and partly in NHS Surrey Heartlands (Waverley is
    split between them): each board's reasons said "its area contains West Surrey", read from
    today's map, which has no West Surrey; on the scenario's map the two overlap."""
    west = "X06000002"
    straddled = set(world.adjacency.query("code_a == @west and relation == 'overlaps'")["code_b"])
    boards = {c for c in straddled if c.startswith("E54")}
    assert len(boards) == 2, straddled
    listed = scenario_model.recommend(
        Query(west, kinds=("health",), k=50, min_choice=0, include_existing=True)
    )
    said = {r.partner_code: [x.text for x in r.reasons] for r in listed}
    for board in boards:
        assert board in said, sorted(said)
        texts = said[board]
        assert not any("contains West Surrey" in t or "lies within" in t for t in texts), texts
        assert "its area overlaps the area of West Surrey" in texts, texts


def oxfordshire_in_two(base) -> ScenarioRecommender:  # type: ignore[no-untyped-def]
    draft = Draft(
        "oxon-split",
        (
            DraftSuccessor("North Oxfordshire", ("E07000177", "E07000181", "E07000178")),
            DraftSuccessor("South Oxfordshire and Vale", ("E07000179", "E07000180")),
        ),  # Cherwell, West Oxfordshire, Oxford; South Oxfordshire, Vale of White Horse
    )
    return ScenarioRecommender(base, derive(define.check(draft, REAL), REAL))


def history_of(scen: ScenarioRecommender, body: str, partner: str) -> list[str]:
    listed = scen.recommend(Query(body, k=50, min_choice=0, include_existing=True))
    return [x.text for r in listed if r.partner_code == partner for x in r.reasons
            if x.factor == "history"]  # fmt: skip


@pytest.mark.slow  # (the model trained on the real register)
def test_a_partner_in_inherited_history_only_as_a_body_gone_is_named_as_it(
    real_recommender_model,
) -> None:  # type: ignore[no-untyped-def]
    """North Oxfordshire "inherits 4 documented arrangements that ended and 1 documented
    proposal never formed with West Northamptonshire from Cherwell": every one was South
    Northamptonshire Council's, abolished in 2021, before West Northamptonshire was made."""
    scen = oxfordshire_in_two(real_recommender_model)
    west_northants = "E06000062"
    texts = history_of(scen, "North Oxfordshire", west_northants)
    assert texts
    for text in texts:
        assert "with West Northamptonshire" not in text, text
        assert (
            "with South Northamptonshire Council (now West Northamptonshire) from Cherwell"
        ) in text, text
    # and each arrangement's members, as the scenario's page lists them
    row = next(o for o in scen.outcomes if west_northants in o.before and "E07000177" in o.before)
    labels = [m["label"] for m in row.to_dict(scen.world)["members_before"]]
    assert "South Northamptonshire Council (now West Northamptonshire)" in labels, labels


@pytest.mark.slow  # (the model trained on the real register)
def test_successors_of_a_split_county_linked_only_through_it_are_no_partnership(
    real_recommender_model,
) -> None:  # type: ignore[no-untyped-def]
    """Oxfordshire County Council's arrangements with Cherwell (a joint chief executive, on-street
    parking in West Oxfordshire) made South Oxfordshire and Vale "inherit 2 documented
    arrangements with North Oxfordshire" and "share management" with it, as if the two had
    shared anything; in Kent, the Maidstone Gateway (Maidstone and Kent County Council) linked
    East Kent with West Kent. A county split between the two links them in no partnership
    (said as such, "both also succeed …"), wherever a member of today's on one side shares
    it only with the county on the other."""
    scen = oxfordshire_in_two(real_recommender_model)
    south, north = (scen.code_of(n) for n in ("South Oxfordshire and Vale", "North Oxfordshire"))
    listed = scen.recommend(Query(south, k=50, min_choice=0, include_existing=True))
    mine = [x for r in listed if r.partner_code == north for x in r.reasons]
    assert mine, "South Oxfordshire and Vale's list has no North Oxfordshire"
    assert not [x for x in mine if x.factor == "management"], [x.text for x in mine]
    said = [x.text for x in mine if x.factor == "history"]
    assert said and all(t.startswith("both succeed Oxfordshire County Council in") for t in said)
    assert not any("inherits" in t for t in said), said

    kent = ScenarioRecommender(
        real_recommender_model, derive(define.check(kent_three_draft(), REAL), REAL)
    )
    west, east = kent.code_of("West Kent"), kent.code_of("East Kent")
    gateway = next(o for o in kent.outcomes if o.name.startswith("Maidstone Gateway"))
    assert {west, east} <= set(gateway.after) and not kent._apart(gateway, west, east)
    # The partnership counted is of the arrangements linking them through councils of their
    # own (5 with the county's two, before); the county's are said apart.
    from recommender.scenario.recommend import _history_said

    linking = [o for o in kent._carried if {west, east} <= set(o.after)]
    own = [o for o in linking if kent._apart(o, east, west)]
    assert gateway in linking and gateway not in own and len(own) < len(linking)
    texts = history_of(kent, "East Kent", west)  # (one a service West Kent is listed for)
    assert texts
    for text in texts:
        assert text.startswith(f"inherits {_history_said(own)} with East Kent: "), text
        assert "; both also succeed Kent County Council in" in text, text


@pytest.mark.slow  # (the model trained on the real register)
def test_a_scenarios_arrangements_name_their_members_outside_the_reference(
    real_recommender_model,
) -> None:  # type: ignore[no-untyped-def]
    """Customer Service Direct (Suffolk County Council, Mid Suffolk and BT) was listed with
    its councils alone ("Suffolk and 1 other organisation"): BT is named."""
    scen = ScenarioRecommender(real_recommender_model, derive(surrey(REAL), REAL))
    outside = [o for o in scen.outcomes if o.externals]
    assert outside
    for o in outside:
        assert len(o.others) == o.externals and all(o.others), o
        assert o.to_dict(scen.world)["external_names"] == list(o.others)


def test_one_councils_arrangements_from_before_a_merger_are_listed_not_called_uninvolved(
    records,
) -> None:  # type: ignore[no-untyped-def]
    """Suffolk made one unitary: the page said "288 other documented arrangements do not
    involve these councils", counting among them Suffolk Coastal and Waveney's partnership
    (both East Suffolk since 2019), which involves East Suffolk. Such an arrangement is listed
    with those that become internal, marked as between councils one body before."""
    draft = Draft("suffolk-one", (DraftSuccessor("Suffolk", ("E10000029",)),))
    world = derive(define.check(draft, REAL), REAL)
    found = report.report(world, records)["arrangements"]
    merged = [a for a in found["internal"] if a["merged_before"]]
    names = {a["name"] for a in merged}
    assert "Suffolk Coastal and Waveney partnership" in names, names
    for a in merged:
        assert len(a["members_before"]) == 1 and "(now " in a["members_before"][0]["label"], a
    outcomes = history.from_records(world, records)
    involved = {o.id for o in outcomes if set(o.before) & set(world.replaced)}
    listed = {a["id"] for a in found["internal"] + found["carried_over"]}
    assert involved <= listed, involved - listed
    assert found["unchanged"] == len(outcomes) - len(listed)
