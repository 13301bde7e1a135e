"""``/api/v1/bodies``: list, search as you type, one body (facts, neighbours, arrangements)."""

from __future__ import annotations

import html
import io

import pytest
from flask.testing import FlaskClient


@pytest.mark.slow
def test_list_filters_and_pages(real_client: FlaskClient) -> None:
    every = real_client.get("/api/v1/bodies?limit=500").json
    assert every["total"] == len(every["bodies"]) > 400
    fire = real_client.get("/api/v1/bodies?kind=fire&limit=5&offset=2").json
    assert fire["limit"] == 5 and fire["offset"] == 2 and len(fire["bodies"]) == 5
    assert {b["kind"] for b in fire["bodies"]} == {"fire"}
    assert fire["total"] < every["total"]
    page = real_client.get("/api/v1/bodies?kind=fire&limit=2&offset=3").json["bodies"]
    assert page == fire["bodies"][1:3]


@pytest.mark.slow
def test_list_by_region_and_county(real_client: FlaskClient) -> None:
    south_west = real_client.get("/api/v1/bodies?region=South West&limit=500").json["bodies"]
    assert south_west and {b["region"] for b in south_west} == {"South West"}
    by_code = real_client.get("/api/v1/bodies?region=e12000009&limit=500").json["bodies"]
    assert by_code == south_west
    districts = real_client.get("/api/v1/bodies?county=East Sussex").json["bodies"]
    assert {b["name"] for b in districts} >= {"Rother", "Wealden", "Lewes"}
    assert {b["county_code"] for b in districts} == {"E10000011"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=dragon", "kind"),
        ("region=Atlantis", "region"),
        ("county=Rother", "county"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
    ],
)
def test_list_bad_filters(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/bodies?{query}")
    assert response.status_code == 400
    assert response.json["field"] == field


def test_search_best_first_as_you_type(client: FlaskClient) -> None:
    found = client.get("/api/v1/bodies/search?q=wealde").json
    assert found["query"] == "wealde"
    assert found["results"][0]["codes"] == ["E07000065"]
    assert found["results"][0]["abolished"] is False


@pytest.mark.slow
def test_search_flags_abolished_councils_with_successors(real_client: FlaskClient) -> None:
    hit = real_client.get("/api/v1/bodies/search?q=Taunton Deane").json["results"][0]
    assert hit["abolished"] is True
    assert hit["successors"] == [{"code": "E06000066", "name": "Somerset"}]
    assert hit["former_code"] == "E07000190"
    assert "abolished" in hit["note"].lower() or hit["note"]


@pytest.mark.slow
def test_search_kind_and_limit(real_client: FlaskClient) -> None:
    found = real_client.get("/api/v1/bodies/search?q=Devon&kind=fire&limit=1").json["results"]
    assert len(found) == 1 and found[0]["kind"] == "fire"


@pytest.mark.slow
def test_combined_authorities_are_a_kind(real_client: FlaskClient) -> None:
    listed = real_client.get("/api/v1/bodies?kind=combined&limit=50").json
    assert listed["total"] == 12
    assert {b["tier"] for b in listed["bodies"]} == {"combined_authority"}
    found = real_client.get("/api/v1/bodies/search?q=Sheffield City Region&kind=combined").json
    assert found["results"][0]["codes"] == ["E47000002"]
    shown = real_client.get("/api/v1/bodies/GLA").json
    assert shown["body"]["code"] == "E61000001"
    assert shown["body"]["governance"][0]["governance"] == "mayor"


def test_search_needs_q(client: FlaskClient) -> None:
    response = client.get("/api/v1/bodies/search")
    assert response.status_code == 400 and response.json["field"] == "q"


def test_show_body(client: FlaskClient) -> None:
    shown = client.get("/api/v1/bodies/Rother District Council").json
    assert shown["body"]["code"] == "E07000064"
    assert shown["body"]["population"] > 0
    neighbours = {n["code"]: n for n in shown["neighbours"]}
    assert neighbours["E07000065"]["border_km"] > 0  # Wealden
    assert "E10000011" in {c["code"] for c in shown["containers"]}  # East Sussex
    assert shown["covers"] == []  # a district: no body lies within it
    county = client.get("/api/v1/bodies/E10000011").json
    assert "E07000064" in {c["code"] for c in county["covers"]}  # Rother, in East Sussex
    assert {c["relation"] for c in county["covers"]} == {"contains"}
    assert shown["arrangements"]
    assert all("E07000064" in {m["body_code"] for m in a["members"]} for a in shown["arrangements"])


@pytest.mark.slow
def test_show_abolished_council_resolves_to_its_successor(real_client: FlaskClient) -> None:
    shown = real_client.get("/api/v1/bodies/Taunton Deane").json
    assert shown["body"]["code"] == "E06000066"
    assert shown["resolution"]["alias_type"] == "former"


def test_unknown_body_suggests_closest(client: FlaskClient) -> None:
    response = client.get("/api/v1/bodies/Rothr")
    assert response.status_code == 404
    assert response.json["error"] == "unknown_body"
    assert response.json["field"] == "code_or_name"
    assert response.json["suggestions"][0].startswith("Rother")


@pytest.mark.parametrize("route", ["", "/recommendations", "/groups?service=legal",
                                   "/arrangements-to-join"])  # fmt: skip
def test_a_blank_name_is_asked_for_not_matched(client: FlaskClient, route: str) -> None:
    """ " " matched every alias with no former code: 404 "several bodies match; choose one",
    suggesting Hartlepool, Middlesbrough …"""
    response = client.get(f"/api/v1/bodies/%20{route}")
    assert response.status_code == 400, response.json
    assert response.json == {
        "status": 400,
        "error": "invalid_input",
        "detail": "a body's code or name is needed; ' ' is blank",
        "field": "code_or_name",
    }
    page = client.get("/bodies/%20")  # the page: the search, to find one
    assert page.status_code == 302 and page.headers["Location"] == "/search"


@pytest.mark.slow
def test_split_council_asks_to_choose(real_client: FlaskClient) -> None:
    response = real_client.get("/api/v1/bodies/Northamptonshire County Council")
    assert response.status_code == 404
    assert any("North Northamptonshire" in s for s in response.json["suggestions"])
    # "Cheshire" is also the police force area's name and the fire authority's: offered too,
    # where only the county's two successors were.
    cheshire = real_client.get("/api/v1/bodies/Cheshire").json
    assert cheshire["suggestions"] == [
        "Cheshire East (E06000049)",
        "Cheshire West and Chester (E06000050)",
        "Cheshire police force area (E23000006)",
        "Cheshire Fire and Rescue Authority (E31000006)",
    ]
    assert "“Cheshire” also names Cheshire police force area (E23000006)" in cheshire["detail"]


@pytest.mark.slow
def test_a_name_other_bodies_share_says_which_they_are(real_client: FlaskClient) -> None:
    """ "Durham" is County Durham's name, and Durham police force area's: a police officer
    asking for "Durham" was given the council's answers with no word of it."""
    shown = real_client.get("/api/v1/bodies/Durham").json
    assert shown["body"]["code"] == "E06000047"
    assert shown["resolution"]["others"] == ["E23000008"]
    assert shown["resolution"]["note"] == (
        "“Durham” also names Durham police force area (E23000008): ask for it by its code."
    )
    assert real_client.get("/api/v1/bodies/E06000047").json["resolution"]["others"] == []
    answer = real_client.get("/api/v1/bodies/Durham/recommendations?k=1").json
    assert answer["body"]["note"] == (
        "“Durham” also names Durham police force area (E23000008): ask for it by its code."
    )
    assert (
        "note" not in real_client.get("/api/v1/bodies/E06000047/recommendations?k=1").json["body"]
    )


def test_arrangements_between_bodies_now_one_are_not_partnerships(
    real_client: FlaskClient,
) -> None:
    """Dorset's page said it "is in" the Dorset Councils Partnership, whose members were all
    councils Dorset replaced; and Bournemouth, Christchurch and Poole was offered to join it."""
    found = real_client.get("/api/v1/bodies/E06000059").get_json()
    merged = {a["name"] for a in found["merged_arrangements"]}
    assert "Dorset Councils Partnership (tri-council)" in merged
    assert not merged & {a["name"] for a in found["arrangements"]}
    assert all(
        {m["body_code"] for m in a["members"]} == {"E06000059"}
        for a in found["merged_arrangements"]
    )
    page = real_client.get("/bodies/E06000059").get_data(as_text=True)
    assert "No documented arrangement names Dorset with another body" in page
    assert "were between bodies that are all now Dorset, so they are internal to it" in page
    joins = real_client.get("/api/v1/bodies/E06000058/arrangements-to-join?k=50").get_json()
    offered = {o["arrangement"]["name"] for o in joins["options"]}
    assert offered and not offered & merged


def test_a_successor_is_not_said_to_be_a_member_of_what_its_predecessors_joined(
    real_client: FlaskClient,
) -> None:
    """North Northamptonshire (2021) "is in" the Welland Partnership "from 2000": its member was
    East Northamptonshire. Its page and `bodies show` now say so against each such arrangement."""
    page = html.unescape(real_client.get("/bodies/E06000061").get_data(as_text=True))
    item = page[page.index(">Welland Partnership<") :].split("</li>")[0]
    said = "only through East Northamptonshire Council</strong>, a predecessor of North"
    assert f"{said} Northamptonshire" in item
    item = page[page.index("North and West Northamptonshire shared services") :]
    assert "a predecessor" not in item.split("</li>")[0]  # its own, from 2021
    assert "of them only through bodies now gone that it succeeds" in page
    audit = page[page.index(">Welland Internal Audit Consortium<") :].split("</li>")[0]
    assert "only through Corby Borough Council and East Northamptonshire Council</strong>" in audit
    assert "predecessors of North Northamptonshire" in audit
    from click.testing import CliRunner

    from recommender.cli import cli

    settings = real_client.application.extensions["recommender"].settings
    env = {"RECOMMENDER_DATA_DIR": str(settings.data), "RECOMMENDER_DATABASE_URL": settings.db_url}
    shown = CliRunner().invoke(cli, ["bodies", "show", "E06000061"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "only through (predecessors)" in shown.output
    line = next(x for x in shown.output.splitlines() if x.startswith("R-682663f3"))
    assert line.rstrip().endswith("East Northamptonshire Council")  # the Welland Partnership, 2000
    briefing = real_client.get("/bodies/E06000061/briefing.pdf")
    from pypdf import PdfReader

    text = " ".join(PdfReader(io.BytesIO(briefing.data)).pages[0].extract_text().split())
    assert "of them only through bodies now gone that it succeeds" in text


def test_a_council_split_since_counts_as_the_one_partner_the_source_named(
    real_client: FlaskClient,
) -> None:
    """LGSS Law read "Partners (4)" and "4 members": its source names three councils, one of
    them Northamptonshire County Council, now North and West Northamptonshire."""
    page = html.unescape(real_client.get("/arrangements/R-42df57cc").get_data(as_text=True))
    assert "Partners (3)" in page
    assert (
        "3 partners, each body once however many names the source gives it; 4 bodies today" in page
    )
    body = html.unescape(real_client.get("/bodies/E10000003").get_data(as_text=True))
    item = body[body.index(">LGSS Law Ltd<") :].split("</li>")[0]
    assert "3 partners" in item and "members" not in item


def test_an_arrangement_to_join_shows_what_its_members_report_beside_the_estimate(
    real_client: FlaskClient,
) -> None:
    """One Legal's source reports £80k a year; Rother's page offered it at £159k per member,
    an estimate, with nothing to weigh it against. The figure is its source's, not "its
    members'" (One Legal's note says the £80k is Cheltenham's own)."""
    from recommender.render.charts import savings_said

    for code in ("E07000079", "E07000083", "E07000078", "E07000064", "E07000033"):
        api = real_client.get(f"/api/v1/bodies/{code}/arrangements-to-join?service=legal&k=5")
        reported = [o for o in api.get_json()["options"] if o["arrangement"]["savings_gbp"]]
        if reported:
            break
    assert reported, "no legal arrangement with a figure offered to these councils"
    page = html.unescape(real_client.get(f"/bodies/{code}?service=legal").get_data(as_text=True))
    shown = reported[0]["arrangement"]
    joins = page[page.index('id="joins-title"') :]
    row = joins[joins.index(f">{shown['name']}<") :].split("</tr>")[0]
    assert f"estimated; its source reports {savings_said(shown)}" in row


def test_an_arrangement_page_says_how_a_figure_with_no_annual_estimate_was_read(
    real_client: FlaskClient,
) -> None:
    """SAFS showed only "£16m to date": its source says losses prevented, no saving."""
    page = html.unescape(real_client.get("/arrangements/R-c948f723").get_data(as_text=True))
    assert "losses prevented, not service-cost savings: no annual saving" in page
    ict = html.unescape(real_client.get("/arrangements/R-682663f3").get_data(as_text=True))
    assert "All ICT and digital arrangements" in ict  # it read "All ict and digital"


def test_a_combined_fire_authority_is_not_said_to_share_what_the_services_it_replaced_did(
    real_client: FlaskClient,
) -> None:
    """Surrey's fire authority "already works with Hampshire and Isle of Wight Fire and Rescue
    Authority" (formed 2021): through the Isle of Wight's service, in a control room of 2012."""
    found = real_client.get(
        "/api/v1/bodies/E31000035/recommendations?k=50&include_existing=true&min_choice=0"
    ).get_json()["recommendations"]
    said = [
        reason["text"]
        for r in found
        if r["partner_code"] == "E31000048"
        for reason in r["reasons"]
        if reason["factor"] == "history"
    ]
    assert said and not [t for t in said if t.startswith("already works with")], said
    page = html.unescape(real_client.get("/bodies/E31000048").get_data(as_text=True))
    assert "only through Isle of Wight Fire and Rescue Service</strong>, a predecessor" in page


def test_proposals_and_split_arrangements_are_not_offered_to_join(
    real_client: FlaskClient,
) -> None:
    """Devon's neighbours were offered "Plymouth, Torbay and Devon regional adoption agency
    (proposal)" and "Wessex Youth Offending Team (joint YOT, split 2012)"."""
    offered = []
    for code in ("E06000026", "E06000027", "E10000008", "E06000058", "E06000022"):
        joins = real_client.get(f"/api/v1/bodies/{code}/arrangements-to-join?k=50").get_json()
        offered += [o["arrangement"]["name"] for o in joins["options"]]
    assert offered
    assert not [n for n in offered if n.endswith("(proposal)") or "split 2012" in n]


def test_an_nhs_board_split_from_a_council_gives_no_misleading_density(
    real_client: FlaskClient,
) -> None:
    """Norfolk and Waveney's area is Norfolk's (the councils mostly in it) while its people
    include Waveney's, by small area: 195 people per km² mixed the two. Its population was
    said to be "counted by small area"; it is shared out by the number of small areas (the
    sources give no small area's population), an estimate, and now says so."""
    facts = real_client.get("/api/v1/bodies/E54000022").get_json()["body"]
    assert "East Suffolk" in facts["area_note"] and "no density is given" in facts["area_note"]
    assert facts["density"] is None  # as the note says: the JSON gave 195.0 beside it
    assert facts["population_note"] == (  # not Suffolk's: a county's people are not summed
        "an estimate: the people of East Suffolk are shared with another NHS board by the number"
        " of its small areas (LSOAs) in each"
    )
    page = real_client.get("/bodies/E54000022").get_data(as_text=True)
    assert "the area of the councils mostly within it" in page
    people = page.split("Population (mid-2022)</dt>")[1].split("</dd>")[0]
    assert "an estimate: the people of East Suffolk are shared" in people
    assert "people per km²" not in page.split("Area</dt>")[1].split("</dd>")[0]
    whole = real_client.get("/api/v1/bodies/E54000032").get_json()["body"]  # Kent and Medway
    assert "area_note" not in whole and "population_note" not in whole and whole["density"] > 0
    # Mid and South Essex's nine councils are whole, its people their sum: only the county of
    # Essex is split among boards, and it read "an estimate: the people of Essex are shared".
    essex = real_client.get("/api/v1/bodies/E54000026").get_json()["body"]
    assert "area_note" not in essex and "population_note" not in essex and essex["density"] > 0


def test_the_greater_london_authority_is_not_called_a_combined_authority(
    real_client: FlaskClient,
) -> None:
    """The GLA stands in the combined authorities' tier, and its page, the search and the
    compare page called it "Combined authority, London"."""
    page = real_client.get("/bodies/E61000001").get_data(as_text=True)
    assert '<span class="caption">Strategic authority, London</span>' in page
    assert "Combined authority, London" not in page
    found = real_client.get("/search?q=Greater").get_data(as_text=True)  # several: listed
    assert "Strategic authority, London, E61000001" in found
    manchester = real_client.get("/bodies/E47000001").get_data(as_text=True)  # one that is
    assert '<span class="caption">Combined authority, North West</span>' in manchester
    # As a partner, the Metropolitan Police's list called it "Combined authority, 0 km away",
    # and the filter that keeps it offered "Combined authorities" alone.
    met = real_client.get("/bodies/E23000001?kinds=combined").get_data(as_text=True)
    assert '<span class="muted block">Strategic authority, 0 km between centres</span>' in met
    assert "Combined authority, " not in met
    assert '<label for="kinds-combined">Combined authorities and the GLA</label>' in met


def test_a_deprivation_made_from_councils_says_so(real_client: FlaskClient) -> None:
    """A county's, a fire, police or NHS area's and a combined authority's deprivation is its
    councils' scores weighted by their people (data/README.md), where the source scores councils
    (and counties otherwise: Devon's own figure is decile 7): the page, the API and `bodies
    show` gave the decile as if read from it."""
    from click.testing import CliRunner
    from markupsafe import escape

    from recommender.cli import cli
    from recommender.reference.lookup import DEPRIVATION_NOTE

    for code in ("E10000008", "E31000046", "E23000001", "E54000032", "E47000001"):
        facts = real_client.get(f"/api/v1/bodies/{code}").get_json()["body"]
        assert facts["deprivation_note"] == DEPRIVATION_NOTE, code
        page = real_client.get(f"/bodies/{code}").get_data(as_text=True)
        said = page.split("<dt>Deprivation</dt>")[1].split("</dd>")[0]
        assert f'<span class="muted">({escape(DEPRIVATION_NOTE)})</span>' in said, code
    shown = CliRunner().invoke(cli, ["bodies", "show", "E10000008"])
    assert f"(1 is the most deprived) ({DEPRIVATION_NOTE})" in shown.output
    for code in ("E07000064", "E06000052"):  # a district's and a unitary's: the source's own
        assert (
            "deprivation_note" not in real_client.get(f"/api/v1/bodies/{code}").get_json()["body"]
        )


def test_search_finds_an_abolished_councils_code_as_the_other_routes_do(
    real_client: FlaskClient,
) -> None:
    """/api/v1/bodies/E07000190 (Taunton Deane's code) answers with Somerset, but searching
    for the code found nothing, in the API and the CLI alike."""
    assert real_client.get("/api/v1/bodies/E07000190").json["body"]["code"] == "E06000066"
    (hit,) = real_client.get("/api/v1/bodies/search?q=E07000190").json["results"]
    assert hit["codes"] == ["E06000066"] and hit["former_code"] == "E07000190"
    assert hit["matched"] == "Taunton Deane Borough Council" and hit["abolished"]
    assert real_client.get("/api/v1/bodies/search?q=E07000190&kind=fire").json["results"] == []


def test_an_unknown_code_is_said_to_be_one_with_no_names_suggested(
    real_client: FlaskClient,
) -> None:
    """E31000017 (Hampshire's fire authority before 2021) was answered "no public body
    matches", with Barnsley and Sheffield as the closest matches."""
    answer = real_client.get("/api/v1/bodies/E31000017")
    assert answer.status_code == 404 and answer.json["error"] == "unknown_body"
    said = answer.json["detail"]
    assert said.startswith("no public body in the reference has the code 'E31000017': it holds")
    assert "not a code a body had before a merger or a boundary change" in said
    assert not answer.json.get("suggestions")
    named = real_client.get("/api/v1/bodies/Rothr").json  # a name still gets its closest
    assert named["suggestions"][0].startswith("Rother")


def test_a_county_that_is_not_one_suggests_only_counties_like_it(
    real_client: FlaskClient,
) -> None:
    """county=Cornwall suggested Devon, Norfolk and Lincolnshire; a district's own county is
    suggested (Rother: East Sussex)."""
    cornwall = real_client.get("/api/v1/bodies?county=Cornwall").json
    assert cornwall["status"] == 400 and not cornwall.get("suggestions")
    rother = real_client.get("/api/v1/bodies?county=Rother").json
    assert rother["suggestions"] == ["East Sussex"]
