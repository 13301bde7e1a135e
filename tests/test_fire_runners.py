"""A fire and rescue authority and the body that runs it are one body, never partners.

The county council that is the fire authority (West Sussex), the mayor's combined authority
(Greater Manchester) and the police, fire and crime commissioner's police force area (Essex):
the governance table's ``run_by_code``. Their arrangements together are internal, their pair is
never a candidate, shares no history and is no training pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from recommender.core.config import Settings
from recommender.geo.pairs import RUNS, SAME_GOVERNOR, UNGOVERNED, governance_matrix
from recommender.model.network import SnapshotCache, register_arrays
from recommender.recommend.ranking import Recommender
from recommender.reference.governance import Governor, governed_pairs_of
from test_network import pairs_for, register

COUNCIL, COUNCIL_FIRE = "E10000032", "E31000037"  # West Sussex
GMCA, GM_FIRE, GM_POLICE = "E47000001", "E31000040", "E23000005"
ESSEX_POLICE, ESSEX_FIRE = "E23000028", "E31000015"
ROW = "R-7d6edc27"  # West Sussex Fire and Rescue / West Sussex County Council co-ordination …
SAID = "West Sussex County Council runs the West Sussex Fire and Rescue Authority"


def _governance() -> pd.DataFrame:
    rows = [
        (COUNCIL_FIRE, "county_council", COUNCIL, "West Sussex County Council", "", "", "u"),
        (GM_FIRE, "mayor", GMCA, "Mayor of Greater Manchester", GM_POLICE, "2017", "u"),
        (ESSEX_FIRE, "pfcc", ESSEX_POLICE, "PFCC for Essex", ESSEX_POLICE, "2017", "u"),
    ]
    columns = ["fire_code", "governance", "governed_by_code", "governed_by_name", "police_code"]
    return pd.DataFrame(rows, columns=[*columns, "since_year", "source_url"])


def test_the_runner_of_a_fire_authority_is_one_body_with_it() -> None:
    """RUNS between each fire authority and its runner; other bodies one mayor governs stay
    two (SAME_GOVERNOR): before, only a county council counted as running its fire service."""
    codes = np.array([COUNCIL, COUNCIL_FIRE, GMCA, GM_FIRE, GM_POLICE, ESSEX_POLICE, ESSEX_FIRE])
    matrix, _ = governance_matrix(codes, governed_pairs_of(_governance()))
    at = {c: i for i, c in enumerate(codes)}
    for a, b in ((COUNCIL, COUNCIL_FIRE), (GMCA, GM_FIRE), (ESSEX_POLICE, ESSEX_FIRE)):
        assert matrix[at[a], at[b]] == matrix[at[b], at[a]] == RUNS, (a, b)
    for a, b in ((GM_FIRE, GM_POLICE), (GMCA, GM_POLICE)):
        assert matrix[at[a], at[b]] == SAME_GOVERNOR, (a, b)
    assert matrix[at[COUNCIL], at[GMCA]] == UNGOVERNED


def _runs(codes: list[str]) -> dict[tuple[str, str], Governor]:
    governor = Governor("county_council", "C", "C Council", "F", "", None, "u")
    return {(a, b): governor for a in ("C", "F") for b in ("C", "F") if a != b and a in codes}


def test_a_fire_authority_and_its_runner_share_no_history_and_are_no_training_pair() -> None:
    """Alone together, an arrangement is internal (not usable to learn from); in a larger one
    their pairs with the others count, theirs does not."""
    from recommender.geo.pairs import build_pair_matrices

    codes = ["C", "F", "X"]
    bodies = pd.DataFrame({"x": [0.0, 0.0, 1.0], "y": [0.0, 0.0, 1.0]}, index=codes)
    adjacency = pd.DataFrame(columns=["code_a", "code_b", "relation", "border_km"])
    pairs = build_pair_matrices(bodies, adjacency, _runs(codes))
    assert pairs.one_body() == ((0, 1),)
    rows = [("alone", "ict", 2015.0, np.nan, ["C", "F"]), ("three", "legal", 2016.0, np.nan, codes)]
    reg = register_arrays(*register(rows), pairs, ("ict", "legal"))
    assert reg.internal.tolist() == [True, False]
    now = SnapshotCache(reg, 3).now()
    assert now.prior[0, 1] == now.prior[1, 0] == now.ties[0, 1] == 0
    assert not now.shares[:, 0, 1].any() and not now.shares[:, 1, 0].any()
    assert now.prior[0, 2] == now.prior[1, 2] == 1  # each with X still counts
    plain = register_arrays(*register(rows), pairs_for(codes), ("ict", "legal"))
    assert plain.internal.tolist() == [False, False] and SnapshotCache(plain, 3).now().prior[0, 1]


def test_a_council_and_its_fire_service_are_no_training_pair(
    recommender_model: Recommender,
) -> None:
    from recommender.model.fit import choice_rows

    ctx = recommender_model.model.context
    at = ctx.pairs.index
    k = int(np.flatnonzero(ctx.reg.ids == ROW)[0])
    assert ctx.reg.internal[k] and not ctx.usable()[k]
    rows = choice_rows(ctx, ctx.usable())
    council, fire = at[COUNCIL], at[COUNCIL_FIRE]
    X = ctx.table.stack
    pair = {X[council, fire].tobytes(), X[fire, council].tobytes()}
    chosen = {row.tobytes() for row in rows.X[rows.y == 1]}
    assert not pair & chosen


def test_a_saved_model_follows_todays_governance(
    trained_settings: Settings, recommender_model: Recommender
) -> None:
    """A model saved without the rule (or under an older table) serves today's on load."""
    from recommender.model import artifacts
    from recommender.reference import lookup as reference

    loaded = artifacts.load_promoted(trained_settings)
    model = loaded.model
    at = model.context.pairs.index
    council, fire = at[COUNCIL], at[COUNCIL_FIRE]
    assert model.context.table.runs[council, fire]
    model.follow_governance({})  # as if saved knowing no governance
    assert not model.context.table.runs[council, fire]
    assert model.context.reg.one_body == ()
    model.follow_governance(reference.governed_pairs(trained_settings))
    assert model.context.table.runs[council, fire] and model.context.table.runs[fire, council]
    assert model.snapshot.prior[council, fire] == 0


def test_the_council_and_fire_row_is_internal_on_both_pages(client: FlaskClient) -> None:
    """West Sussex's page said it "is in" a two-partner working group with the fire service
    it runs, hatched on its map as an existing partner; now it is internal, with its source."""
    for code in (COUNCIL, COUNCIL_FIRE):
        found = client.get(f"/api/v1/bodies/{code}").get_json()
        assert ROW not in {a["id"] for a in found["arrangements"]}
        (row,) = [a for a in found["merged_arrangements"] if a["id"] == ROW]
        assert row["internal"] == SAID and row["source"].startswith("https://")
        members = {m["body_code"]: m["run_by"] for m in row["members"]}
        assert members == {COUNCIL: None, COUNCIL_FIRE: COUNCIL}
        page = client.get(f"/bodies/{code}").get_data(as_text=True)
        assert f"1 documented arrangement is internal, not a partnership ({SAID})" in page
        assert "existing partner hatched" not in page
    page = client.get(f"/arrangements/{ROW}").get_data(as_text=True)
    assert f"Internal, not a partnership: {SAID}, so its members are one body." in page


def test_no_reason_or_evidence_rests_on_the_internal_row(client: FlaskClient) -> None:
    for code in (COUNCIL, COUNCIL_FIRE):
        found = client.get(f"/api/v1/bodies/{code}/recommendations?k=50&min_choice=0").get_json()
        rows = found["recommendations"]
        assert rows
        for r in rows:
            assert ROW not in {e["id"] for e in r.get("evidence") or []}
            assert r["partner_code"] not in {COUNCIL, COUNCIL_FIRE}
        join = client.get(f"/api/v1/bodies/{code}/arrangements-to-join?k=50").get_json()
        assert ROW not in str(join)


def test_compare_refuses_a_body_with_its_own_fire_service(client: FlaskClient) -> None:
    response = client.get(f"/bodies/{COUNCIL}/compare?with={COUNCIL_FIRE}&with=E10000030")
    assert response.status_code == 400
    assert "are one body" in response.get_data(as_text=True)


@pytest.mark.slow
def test_no_runner_is_offered_its_own_fire_authority(
    real_client: FlaskClient, real_trained_settings: Settings
) -> None:
    """Greater Manchester Combined Authority was offered legal, ICT and other services with
    Greater Manchester Fire and Rescue Authority, which its mayor runs; likewise each police
    force area its commissioner's fire authority. Every runner in the governance table, both
    ways, in suggestions for fire (or the runner's kind) and in groups."""
    from recommender.reference import lookup as reference

    table = reference.fire_governance(real_trained_settings)
    runs = table[table["governed_by_code"] != ""]
    assert runs["governance"].value_counts().to_dict() == {
        "county_council": 12,
        "pfcc": 4,
        "mayor": 3,
    }
    kinds = reference.load_bodies(real_trained_settings)["kind"]
    for fire, runner in zip(runs.index, runs["governed_by_code"], strict=True):
        for body, other in ((runner, fire), (fire, runner)):
            asked = f"/api/v1/bodies/{body}/recommendations?k=50&min_choice=0&kinds={kinds[other]}"
            found = real_client.get(asked).get_json()["recommendations"]
            assert other not in {r["partner_code"] for r in found}, (body, other)
    for service in ("legal", "ict", "other"):
        for body, other in ((GMCA, GM_FIRE), (GM_FIRE, GMCA)):
            response = real_client.get(f"/api/v1/bodies/{body}/groups?service={service}&k=10")
            assert response.status_code == 200
            assert other not in response.get_data(as_text=True), (body, service)


def test_a_fire_authority_another_body_runs_says_who_runs_it(client: FlaskClient) -> None:
    """Suggested to a district, West Sussex Fire and Rescue Authority was shown as a partner of
    its own, with nothing to say that West Sussex County Council is its fire authority (the
    council was suggested beside it); a combined fire authority (Kent) has no such note."""
    found = client.get("/api/v1/bodies/Horsham/recommendations?kinds=fire&k=50&min_choice=0")
    notes = {
        r["partner_code"]: [x for x in r["reasons"] if x["factor"] == "run_by"]
        for r in found.get_json()["recommendations"]
    }
    (note,) = notes[COUNCIL_FIRE]
    said = "run by West Sussex County Council, which is its fire and rescue authority"
    assert note["text"] == said
    assert (note["direction"], note["label"]) == ("note", "who runs it")
    assert notes["E31000022"] == []
    page = client.get("/bodies/E07000227?kinds=fire&k=50&min_choice=0").get_data(as_text=True)
    assert "R" + said[1:] in page  # (capitalised)
