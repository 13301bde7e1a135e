"""Everything said about a body comes from the observed register: for a body of every kind, no
simulated arrangement (by id or by name, as the register exports them) appears on its page, in
the API's facts, suggestions (reasons, evidence) and arrangements to join, in `bodies show`, or
in its briefing."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from recommender.cli import cli
from recommender.recommend.ranking import Query
from recommender.recommend.ranking import rows as reg_rows
from recommender.reference.lookup import load_bodies as reference_bodies
from recommender.register import records as reg
from recommender.render.briefing import briefing_document

pytestmark = pytest.mark.slow

BODIES = [
    "E07000064",  # Rother, a district council
    "E10000016",  # Kent County Council
    "E06000052",  # Cornwall, a unitary that runs its fire service
    "E09000029",  # Sutton, a London borough
    "E31000022",  # a fire and rescue authority
    "E23000032",  # a police force area
    "E54000032",  # an NHS integrated care board
    "E47000001",  # a combined authority
]


@pytest.fixture(scope="module")
def simulated(real_app: Flask) -> list[str]:
    """The ids and names of the simulated arrangements (as exported), none shared by a real one."""
    state = real_app.extensions["recommender"]
    every = reg.query(reg.Filters(origin="all"), settings=state.settings, directory=state.directory)
    real_names = {a["name"] for a in every if not a["simulated"]}
    fake = [a for a in every if a["simulated"]]
    assert len(fake) > 400  # the default register's simulated half is there to be missed
    return [a["id"] for a in fake] + [a["name"] for a in fake if a["name"] not in real_names]


def _leaks(text: str, simulated: list[str]) -> list[str]:
    return [s for s in simulated if s in text]


def _text(client: FlaskClient, url: str) -> str:
    """A page as its reader reads it: the text, tags stripped, entities read, spaces one."""
    page = html.unescape(client.get(url).get_data(as_text=True))
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _said(answer: dict[str, Any], factor: str, partner: str | None = None) -> list[str]:
    """The reasons of one factor in an API answer's suggestions (of one partner, if given)."""
    return [
        x["text"]
        for r in answer["recommendations"]
        if partner is None or r["partner_code"] == partner
        for x in r["reasons"]
        if x["factor"] == factor
    ]


def _cli_env(app: Flask) -> dict[str, str]:
    """The CLI's settings for the real app's data, model and register (a fresh machine has
    no promoted model of its own in the checkout)."""
    settings = app.extensions["recommender"].settings
    return {
        "RECOMMENDER_DATA_DIR": str(settings.data),
        "RECOMMENDER_MODELS_DIR": str(settings.models),
        "RECOMMENDER_DATABASE_URL": settings.db_url,
    }


@pytest.mark.parametrize("code", BODIES)
def test_no_simulated_arrangement_is_said_about_a_body(
    code: str, real_app: Flask, real_client: FlaskClient, simulated: list[str]
) -> None:
    texts = []
    for query in ("", "?include_existing=1&min_choice=0&k=50"):
        page = real_client.get(f"/bodies/{code}{query}")
        assert page.status_code == 200
        texts.append(page.get_data(as_text=True))
    for path in ("", "/recommendations?k=50&include_existing=true&min_choice=0",
                 "/arrangements-to-join", "/groups?service=legal"):  # fmt: skip
        response = real_client.get(f"/api/v1/bodies/{code}{path}")
        assert response.status_code in (200, 400), response.json  # 400: no legal service
        texts.append(response.get_data(as_text=True))
    state = real_app.extensions["recommender"]
    env = _cli_env(real_app)  # its model, not the checkout's
    shown = CliRunner(env=env).invoke(cli, ["bodies", "show", code, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    texts.append(shown.stdout)
    body: Any = json.loads(shown.stdout)
    assert all(not a["simulated"] for a in body["arrangements"])
    texts.append(briefing_document(state.models.require(), code, fmt=".html").decode())
    assert _leaks("\n".join(texts), simulated) == []


def test_the_check_finds_a_simulated_name_when_there_is_one(simulated: list[str]) -> None:
    page = f"<li>{simulated[-1]}</li>"
    assert _leaks(page, simulated) == [simulated[-1]]


def test_an_arrangement_that_has_ended_is_said_to_have_ended_about_each_member(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The register's real arrangements that have ended (Barking and Dagenham and Thurrock's
    shared chief executive, 2012 to 2014) were listed on their members' pages, in the
    explorer, in the briefing (its summary: Thurrock "is in 2 documented arrangements
    already") and by `bodies show` with their start year alone: read as running."""
    state = real_app.extensions["recommender"]
    every = reg.query(reg.Filters(), settings=state.settings, directory=state.directory)
    ended = [a for a in every if reg.has_ended(a["end_year"], a["status"])]
    assert any(a["end_year"] for a in ended) and any(not a["end_year"] for a in ended)
    for a in ended:
        said = reg.years_said(a)
        if a["end_year"]:
            assert f"to {a['end_year']}" in said or said == f"ended {a['end_year']}"
        elif a["term_passed"]:  # its limited term passed: no source says it ended
            assert said.endswith(reg.TERM_SAID) and "ended" not in said, said
        else:  # the year not known: "from 2016, since ended", never "from 2016"
            assert said.endswith("since ended") or said == "ended", said
        for code in {m["body_code"] for m in a["members"] if m["body_code"]}:
            page = real_client.get(f"/bodies/{code}").get_data(as_text=True)
            assert re.search(r"(has been|is named) in \d+ documented arrangements?, .*"
                             r"((has|have) ended|renewed)[;)]", page)  # fmt: skip
            if f"/arrangements/{a['id']}" in page:
                item = page[page.index(f"/arrangements/{a['id']}") :]
                assert said in item[: item.index("</li>")]
            else:  # a busy body's page lists its first 8, running ones first; the rest here
                assert re.search(r"The first 8 of the \d+ are listed here", page), code
                assert f'href="/arrangements?body={code}"' in page
            explorer = real_client.get(f"/arrangements?body={code}")
            row = explorer.get_data(as_text=True).split(f'<tr data-id="{a["id"]}"')[1]
            assert said in row[: row.index("</tr>")]

    a = ended[0]
    code = next(m["body_code"] for m in a["members"] if m["body_code"])
    document = briefing_document(state.models.require(), code, fmt=".html").decode()
    assert re.search(r"(\d+ more (has|have) ended|all now ended)[.;]", document)
    row = document.split(str(escape(a["name"])), 1)[1]
    assert reg.years_said(a) in row[: row.index("</tr>")]
    env = {
        "RECOMMENDER_DATA_DIR": str(state.settings.data),
        "RECOMMENDER_MODELS_DIR": str(state.settings.models),
        "RECOMMENDER_DATABASE_URL": state.settings.db_url,
    }
    shown = CliRunner(env=env).invoke(cli, ["bodies", "show", code])
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.stdout.splitlines() if x.startswith(a["id"]))
    assert line.rstrip().endswith(reg.years_said(a, short=True))


def test_an_arrangement_past_a_limited_term_is_not_said_to_have_ended(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Nine real arrangements are read as over only because a term their source gives has
    passed ("one-year agreement from April 2024", "Six-month trial", "temporary", "Joint
    2018-2021"): no source
    says they ended. Their members' pages said "from 2024, since ended" and the home page
    counted them among "25 since ended"; they are said to be past their term, everywhere."""
    state = real_app.extensions["recommender"]
    every = reg.query(reg.Filters(), settings=state.settings, directory=state.directory)
    terms = {n for n, r in reg._end_readings().items() if r.why and r.year is None}
    term = [a for a in every if a["term_passed"]]
    assert {a["name"] for a in term} == terms and len(term) == 9
    assert all(reg.status_said(a) == "ended" for a in term)  # the ended filter keeps them
    env = {
        "RECOMMENDER_DATA_DIR": str(state.settings.data),
        "RECOMMENDER_MODELS_DIR": str(state.settings.models),
        "RECOMMENDER_DATABASE_URL": state.settings.db_url,
    }
    for a in term:
        said = reg.years_said(a)
        assert said in (reg.TERM_SAID, f"from {a['start_year']}, {reg.TERM_SAID}")
        page = html.unescape(real_client.get(f"/arrangements/{a['id']}").get_data(as_text=True))
        assert re.search(r"<dt>Status</dt><dd>term passed<", page)
        api = real_client.get(f"/api/v1/arrangements/{a['id']}").json
        assert api is not None and api["term_passed"] is True and api["ended"] is True
        shown = CliRunner(env=env).invoke(cli, ["register", "show", a["id"]])
        assert "status    term passed" in shown.stdout
        for code in {m["body_code"] for m in a["members"] if m["body_code"]}:
            body = html.unescape(real_client.get(f"/bodies/{code}").get_data(as_text=True))
            if f"/arrangements/{a['id']}" in body:
                item = body[body.index(f"/arrangements/{a['id']}") :]
                item = item[: item.index("</li>")]
                assert said in item and "ended" not in item
                words = (r"\d+ of them (was|were) for a limited term that has since passed, and "
                         r"no source says (it was|they were) renewed")  # fmt: skip
                assert re.search(words, body)
    ended = [a for a in every if reg.status_said(a) == "ended" and not a["term_passed"]]
    home = html.unescape(real_client.get("/").get_data(as_text=True))
    assert (
        f"{len(ended)} since ended, {len(term)} past a limited term that no source says was "
        "renewed" in home
    )
    # Cited beside a suggestion: said past its term, not ended (Gateshead's public health).
    newcastle = next(a for a in term if "Newcastle and Gateshead" in a["name"])
    code = next(m["body_code"] for m in newcastle["members"] if m["body_code"])
    document = briefing_document(state.models.require(), code, fmt=".html").decode()
    row = document.split(str(escape(newcastle["name"])), 1)[1]
    assert reg.TERM_SAID in row[: row.index("</tr>")]


def test_an_end_read_from_the_notes_says_how_it_was_read(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """An end the register's source does not give, read from the notes' words: its page,
    `register show` and the API quote the words, and the page links to the arrangement whose
    note says it when it is another's (Cherwell's "After leaving the South Northants
    partnership"); a term since passed says why it reads as an end ("Six-month trial": what
    followed is not documented)."""
    state = real_app.extensions["recommender"]
    every = reg.query(reg.Filters(), settings=state.settings, directory=state.directory)
    read = [(a, reg.end_read(a)) for a in every]
    read = [(a, r) for a, r in read if r is not None]
    assert len(read) == len(reg._end_readings())  # each reading, on the register it reads
    env = {
        "RECOMMENDER_DATA_DIR": str(state.settings.data),
        "RECOMMENDER_MODELS_DIR": str(state.settings.models),
        "RECOMMENDER_DATABASE_URL": state.settings.db_url,
    }
    other = {a["name"]: a["id"] for a in every}
    for a, r in read:
        page = real_client.get(f"/arrangements/{a['id']}").get_data(as_text=True)
        line = page[page.index('id="end-read"') :]
        line = line[: line.index("</span>")]
        assert str(escape(f"“{r.source_words}”")) in line, a["name"]
        if r.why:  # a term since passed: why it reads as an end
            assert str(escape(f": {r.why}.")) in line, a["name"]
        text = re.sub(r"<[^>]+>", "", line[line.index(">") + 1 :])  # the sentence, as said
        assert text == str(escape(r.said())), a["name"]  # by `register show` and the API
        if r.words_from:
            assert f'href="/arrangements/{other[r.words_from]}"' in line
            assert str(escape(r.words_from)) in line
        shown = CliRunner(env=env).invoke(cli, ["register", "show", a["id"]])
        assert shown.exit_code == 0, shown.output
        status = "term passed" if r.why else "ended"  # a term since passed: not said ended
        assert f"status    {status}\n          {r.said()}\n" in shown.stdout
        api = real_client.get(f"/api/v1/arrangements/{a['id']}").get_json()
        assert api["end_read"] == {"source_words": r.source_words, "words_from": r.words_from,
                                   "why": r.why, "said": r.said()}  # fmt: skip
    # An arrangement not said to have ended says nothing of a reading.
    plain = next(a for a in every if a["status"] != "ended")
    assert 'id="end-read"' not in real_client.get(f"/arrangements/{plain['id']}").get_data(
        as_text=True
    )
    assert real_client.get(f"/api/v1/arrangements/{plain['id']}").get_json()["end_read"] is None


def test_a_member_that_left_is_said_to_have_left_and_shares_nothing_through_it(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Hammersmith and Fulham "left the arrangement in 2022" (the Tri-borough libraries, run on
    by the other two): its page listed it as running "from 2012", and its answers said it
    "already works with Westminster on … other services" through it."""
    state = real_app.extensions["recommender"]
    settings = state.settings
    every = reg.query(reg.Filters(), settings=settings, directory=state.directory)
    rec = state.models.require()
    network = rec.scorer.network  # what the answers state
    running = reg.running_partnerships(settings=settings)
    env = _cli_env(real_app)  # its model, not the checkout's
    checked = 0
    for a in every:
        left = reg.exits_of(a["name"])
        s = rec.model.context.services.index(a["service"])
        stay = [m["body_code"] for m in a["members"] if m["body_code"] not in left]
        if left:  # it runs on for the others
            assert network.shares[s, rec.body_position(stay[0]), rec.body_position(stay[1])]
        for code, reading in left.items():
            checked += 1
            said = f"left in {reading.year}"
            page = real_client.get(f"/bodies/{code}").get_data(as_text=True)
            item = page[page.index(f"/arrangements/{a['id']}") :]
            assert said in item[: item.index("</li>")]
            body = real_client.get(f"/api/v1/bodies/{code}").get_json()
            [listed] = [x for x in body["arrangements"] if x["id"] == a["id"]]
            assert (listed["left"], listed["left_year"], listed["ended"]) == (
                True,
                reading.year,
                False,
            )
            api = real_client.get(f"/api/v1/arrangements/{a['id']}").get_json()
            [member] = [m for m in api["members"] if m["body_code"] == code]
            assert member["left_words"] == reading.source_words  # the words, as the page's
            page = real_client.get(f"/arrangements/{a['id']}").get_data(as_text=True)
            assert f"<td>partner; left {reading.year}</td>" in page
            assert str(escape(f"“{reading.source_words}”")) in page
            shown = CliRunner(env=env).invoke(cli, ["bodies", "show", code])
            line = next(x for x in shown.stdout.splitlines() if x.startswith(a["id"]))
            assert line.rstrip().endswith(f"left {reading.year}")
            # Compared with the others, from either side: left, not running.
            when = f"({reg.years_said(reg.as_member(a, code))})"  # "(from 2012, left in 2022)"
            compared = f"with={stay[0]}&with={stay[1]}"
            page = real_client.get(f"/bodies/{code}/compare?{compared}").get_data(as_text=True)
            assert page.count(when) == 2 and said in when
            page = real_client.get(f"/bodies/{stay[0]}/compare?with={code}&with={stay[1]}")
            assert page.get_data(as_text=True).count(when) == 1
            f = rec.body_position(code)
            for other in stay:  # shared with them now only through another arrangement
                linked = any(
                    service == a["service"] and code in codes and other in codes
                    for service, codes in running
                )
                assert bool(network.shares[s, f, rec.body_position(other)]) == linked
    assert checked


def test_an_arrangement_named_a_proposal_or_split_is_no_running_partnership(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """23 documented arrangements are proposals ("Brent CCG move into Brent Civic Centre
    (proposal)"), one has split ("Wessex Youth Offending Team (joint YOT, split 2012)"). The
    answers stated them as running partnerships: the reasons said NHS North West London's
    predecessor "worked with Brent on property and assets", and the pair was marked as already
    sharing the service (never suggested for it)."""
    rec = real_app.extensions["recommender"].models.require()
    ctx, arr = rec.model.context, rec.model.arrangements
    real = arr[~arr["simulated"].astype(bool)]
    facts = rec.scorer.network
    named = [r for r in reg_rows(real) if reg.record_proposed(r) or reg.named_split(r["name"])]
    assert sum(reg.record_proposed(r) for r in named) >= 20 and len(named) > 20
    ids = {r["id"] for r in named}
    others = [r for r in reg_rows(real) if r["id"] not in ids and not reg.record_ended(r)]
    for r in named:
        s = ctx.services.index(r["service"])
        codes = [c for c in r["member_codes"] if c in ctx.pairs.index]
        for f in codes:
            for c in codes:
                running = any(
                    o["service"] == r["service"] and {f, c} <= set(o["member_codes"])
                    for o in others
                )
                if f != c and not running:
                    assert not facts.shares[s, ctx.pairs.index[f], ctx.pairs.index[c]], (r, f, c)
        said = reg.years_said(r)
        assert said.startswith("proposed") or said.endswith(str(reg.named_split(r["name"])))
    brent = next(r for r in named if r["name"].startswith("Brent CCG move into"))
    found = rec.recommend(Query("E09000005", k=50, include_existing=True, min_choice=0))
    icb = [r for r in found if r.partner_code in brent["member_codes"]]
    history = [x.text for r in icb for x in r.reasons if x.factor == "history"]
    assert icb and history and all("in a documented proposal to share" in t for t in history)
    assert not any("works with" in t or "worked with" in t for t in history)
    assert not any(r.existing for r in icb)
    page = real_client.get("/bodies/E09000005").get_data(as_text=True)
    assert re.search(r"\d+ (was|were) only proposed\)", page)
    document = briefing_document(rec, "E09000005", fmt=".html").decode()
    assert "and the proposal it was named in (never said to have formed)" in document
    assert re.search(r"\d+ more (was|were) only proposed\.", document)
    row = document.split(str(escape(brent["name"])), 1)[1]
    assert reg.years_said(brent) in row[: row.index("</tr>")]
    # Its own page, and `register show`, said "Started 2017" and status "unknown"; the API
    # gave that status, with no word of how the answers read it.
    for r in named:
        api = real_client.get(f"/api/v1/arrangements/{r['id']}").json
        assert api is not None and (api["proposed"], api["ended"]) == (
            reg.record_proposed(r),
            not reg.record_proposed(r),
        )
        facts = real_client.get(f"/arrangements/{r['id']}").get_data(as_text=True)
        shown = CliRunner().invoke(cli, ["register", "show", r["id"]]).output
        assert "<dt>Started</dt>" not in facts
        if reg.record_proposed(r):
            said = reg.years_said(r)  # "proposed in 2017", or "proposed" with no year
            year = said.removeprefix("proposed in ") if said != "proposed" else "year unknown"
            assert f"<dt>Proposed</dt><dd>{year}; not known to have formed</dd>" in facts, r
            assert "<dt>Status</dt><dd>proposed</dd>" in facts
            assert f"years     {reg.years_said(r)}\nstatus    proposed\n" in shown
        else:  # split: said ended, in the year its name gives
            assert f"<dd>{reg.years_said(r)}</dd>" in facts and "ended 2012" in facts
            assert "<dt>Status</dt><dd>ended</dd>" in facts
            assert "years     ended 2012\nstatus    ended\n" in shown
    # The tie the model's scores keep is said as what it was.
    asked = Query("E09000005", "property_assets", ("health",), k=1, min_choice=0)
    (top,) = rec.recommend(asked)
    assert top.partner_code in brent["member_codes"]
    said = "its predecessor NHS Brent CCG was named with Brent in a documented proposal to share"
    assert [x.text for x in top.reasons if x.factor == "history"] == [f"{said} property and assets"]


def test_every_body_in_a_real_arrangement_delivers_its_service(real_app: Flask) -> None:
    """A body is asked about, and suggested for, only the services its tier delivers. District
    councils were not among those that deliver highways and transport, while the register holds
    their parking partnerships with their county (North and South Essex); NHS bodies were not
    among those that deliver shared management, while it holds Herefordshire's joint chief
    executive with its primary care trust and the shared accountable officer of the North
    Central London CCGs, and police, fire and NHS bodies were not among those that deliver
    customer services, while it holds the Bedfordshire multi-agency contact centre and Kent's
    Gateway. The product told NHS Herefordshire and Worcestershire it "does not deliver shared
    management, so has none of it to share". A body in a real arrangement delivers its service
    in part or in whole."""
    from recommender.core.services import load_services

    state = real_app.extensions["recommender"]
    services = load_services(state.settings)
    bodies = reference_bodies(state.settings)
    every = reg.query(reg.Filters(), settings=state.settings, directory=state.directory)
    outside = [
        (a["id"], a["service"], m["body_code"])
        for a in every
        for m in a["members"]
        if m["body_code"]
        and str(bodies.at[m["body_code"], "tier"])
        not in str(services.loc[a["service"], "delivered_by"]).split(";")
    ]
    assert outside == []
    client = real_app.test_client()
    asked = "/api/v1/bodies/E54000019/recommendations?service=management_chief_exec&k=3"
    answer = client.get(asked)
    assert answer.status_code == 200 and answer.json["recommendations"]  # type: ignore[index]


def test_an_arrangement_whose_members_merged_says_it_is_internal_where_it_is_shown(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The Suffolk Coastal and Waveney partnership, and a dozen like it, read "status running
    … none says it has ended" on its own page, in `register show` and in the API, as if
    it still were a partnership, where its savings reading said "to the 2019 merger" and
    East Suffolk's page counted it among its internal arrangements."""
    every = real_client.get("/api/v1/arrangements?limit=500").get_json()["arrangements"]
    merged = [a for a in every if reg.merged_into_one(a)]
    assert len(merged) >= 10
    suffolk = next(a for a in merged if a["name"] == "Suffolk Coastal and Waveney partnership")
    said = "Suffolk Coastal and Waveney are both now East Suffolk"
    assert suffolk["internal"] == said
    page = real_client.get(f"/arrangements/{suffolk['id']}").get_data(as_text=True)
    assert f"Internal, not a partnership: {said}, so its members are one body." in page
    shown = CliRunner().invoke(cli, ["register", "show", suffolk["id"]])
    assert f"\n          internal, not a partnership: {said}\n" in shown.output
    # The Devon and Somerset combination names its two services, one body today: two partners
    # (each the service it was), one body.
    combination = real_client.get("/arrangements/R-82c75c6a").get_data(as_text=True)
    assert "2 partners, each body once" in combination and "1 body today" in combination
    # Its download names the partners as its source does, with what each is now, where it
    # said "Dorset; Dorset; Dorset".
    table = real_client.get("/api/v1/arrangements.csv?status=merged").get_data(as_text=True)
    dorset = next(r for r in csv.DictReader(io.StringIO(table)) if r["Id"] == "R-bcff9085")
    assert dorset["Partners"] == (
        "North Dorset (now Dorset); West Dorset (now Dorset); Weymouth and Portland (now Dorset)"
    )
    # Cited as a comparable arrangement beside a suggestion, it says so too, where Babergh's
    # list said "from 2008" as if it ran on.
    asked = "k=20&service=management_chief_exec"  # the service the partnership shared
    listed = real_client.get(f"/api/v1/bodies/E07000200/recommendations?{asked}").get_json()
    cited = [e for r in listed["recommendations"] for e in r["evidence"]]
    assert {e["id"] for e in cited if e["merged"]} <= {a["id"] for a in merged}
    assert next(e for e in cited if e["id"] == suffolk["id"])["merged"]
    babergh = html.unescape(real_client.get(f"/bodies/E07000200?{asked}").get_data(as_text=True))
    assert (
        "Suffolk Coastal (now East Suffolk), Waveney (now East Suffolk); from 2008, its members "
        "since merged into one;"
    ) in babergh
    ryedale = next(a for a in merged if a["id"] == "R-3b2e8698")  # not "… and North Yorkshire"
    assert (
        ryedale["internal"]
        == "Ryedale and North Yorkshire County Council are both now North Yorkshire"
    )
    for a in merged:  # every one says which body its members are now
        assert a["internal"], a["name"]
        if reg._one_code(a):
            assert a["internal"].endswith(f" now {a['members'][0]['name']}"), a["name"]
    # East Suffolk's page still says them together, as arrangements between bodies now it.
    body = real_client.get("/bodies/E07000244").get_data(as_text=True)
    assert "between bodies that are all now East Suffolk, so" in body
    assert f"internal, not a partnership ({said})" not in body
    # Nor is one "running" (the home page counted 252, their £18m a year among the savings):
    # its status is "merged", wherever it is said, filtered and counted.
    ones = {a["id"] for a in merged if reg._one_code(a)}
    assert {a["id"] for a in every if a["merged"]} == ones
    assert suffolk["merged"] and reg.status_said(suffolk) == "merged"
    assert "<dd>merged" in page and f"{reg.MERGED_SAID[:1].upper()}{reg.MERGED_SAID[1:]}." in page
    assert "\nstatus    merged\n" in shown.output
    # Its years say so too, where "from 2008" read as still running.
    assert "\nyears     from 2008, its members since merged into one\n" in shown.output
    assert reg.years_said(suffolk, short=True) == "2008–merged"
    listed = real_client.get("/api/v1/arrangements?status=merged&limit=500").get_json()
    assert {a["id"] for a in listed["arrangements"]} == ones
    running = real_client.get("/api/v1/arrangements?status=running&limit=500").get_json()
    assert not ones & {a["id"] for a in running["arrangements"]}
    home = " ".join(html.unescape(real_client.get("/").get_data(as_text=True)).split())
    assert f"{len(ones)} between bodies that have since merged into one" in home


def test_a_bodys_arrangements_are_listed_running_first_and_latest_first(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """A body's page lists its first 8 arrangements: in the order of their ids (hashes), West
    Northamptonshire's showed proposals and ended ones while a running one was cut."""
    state = real_app.extensions["recommender"]
    found = reg.query(reg.Filters(body="E06000062"), settings=state.settings,
                      directory=state.directory)  # fmt: skip
    listed, _ = reg.partnerships_of(found, "E06000062")
    assert len(listed) > 8
    ranks = [{"running": 0, "ended": 1, "left": 1, "proposed": 2}[reg.status_said(a)]
             for a in listed]  # fmt: skip
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == 2
    running = [a["start_year"] for a in listed if reg.status_said(a) == "running"]
    years = [y for y in running if y is not None]
    assert years == sorted(years, reverse=True) and running[: len(years)] == years
    page = real_client.get("/bodies/E06000062").get_data(as_text=True)
    page = page.split('<ul class="list arrangements-list">')[1].split("</ul>")[0]
    shown = re.findall(r'<li><a href="/arrangements/(R-[0-9a-f]+)">', page)
    assert shown == [a["id"] for a in listed[:8]]


def test_a_partner_only_through_bodies_now_gone_is_said_so_where_it_is_already_one(
    real_client: FlaskClient,
) -> None:
    """Somerset's compare page said Devon "already shares it" for trading standards, its page
    hatched six "existing partners", and West Northamptonshire's list, existing partners
    included, tagged North Northamptonshire "already a partner" for legal services: each only
    through Somerset County Council, or Northamptonshire County Council, whose arrangements
    they inherit (the reasons beside said so; these did not)."""
    page = real_client.get("/bodies/E06000066/compare?with=E10000008&with=E23000036").get_data(
        as_text=True
    )
    assert "already shares it, only through Somerset County Council, now gone" in page
    assert not re.search(r"already shares it</span>", page)
    listed = page.split("Documented arrangements with Somerset")[1].split("</tr>")[0]
    assert listed.count("only through Somerset County Council") >= 2  # its list, not plainly
    split = real_client.get("/bodies/E06000062/compare?with=E06000061&with=E06000060").get_data(
        as_text=True
    )
    legal = split.split('<tr data-service="legal">')[1].split("</tr>")[0]
    assert "already shares it, only as successors of Northamptonshire County Council" in legal
    somerset = real_client.get("/bodies/E06000066").get_data(as_text=True)
    assert re.search(r"\d+ existing partners hatched: [^;.]*\(all only through bodies now gone "
                     r"that Somerset succeeds\)", somerset)  # fmt: skip
    listed = real_client.get("/bodies/E06000062?service=legal&include_existing=1")
    row = listed.get_data(as_text=True).split('id="s-E06000061-legal"')[1].split("</tr>")[0]
    assert '<span class="tag">already a partner</span><span class="muted block">only ' in row
    assert "Northamptonshire County Council" in row


def test_a_partner_in_an_arrangement_only_through_its_own_predecessor_is_said_so(
    real_client: FlaskClient,
) -> None:
    """Devon's map hatched Somerset as its one existing partner, with no word that Somerset
    is in their arrangements only through Somerset County Council, as the compare page says."""
    page = real_client.get("/bodies/E10000008").get_data(as_text=True)
    assert re.search(r"1 existing partner hatched: Somerset \(only through bodies now gone that "
                     r"it succeeds\)", page)  # fmt: skip


def test_an_existing_partner_only_through_bodies_now_gone_is_said_so_in_the_api_and_cli(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The API's recommendations marked Somerset ``existing`` on Devon's list for trading
    standards with no field saying it is so only through Somerset County Council (the reasons
    said so; an API client reading ``existing`` did not), and ``recommend`` printed "already
    sharing" plainly."""
    answer = real_client.get("/api/v1/bodies/E10000008/recommendations?include_existing=true&k=50")
    rows = answer.get_json()["recommendations"]
    somerset = [r for r in rows if r["existing"] and r["partner_code"] == "E06000066"]
    assert {r["service"] for r in somerset} >= {"regulatory_trading_standards"}
    assert {r["existing_through"] for r in somerset} == {
        "only through Somerset County Council, now gone"
    }
    assert all(r["existing_through"] is None for r in rows if not r["existing"])
    adur = real_client.get("/api/v1/bodies/Adur/recommendations?include_existing=true&k=50")
    plain = [r for r in adur.get_json()["recommendations"] if r["existing"]]  # partners themselves
    assert "Worthing" in {r["partner_name"] for r in plain}
    assert all(r["existing_through"] is None for r in plain)
    env = _cli_env(real_app)  # its model, not the checkout's
    printed = CliRunner(env=env).invoke(
        cli,
        ["recommend", "Devon", "--include-existing", "--service", "regulatory_trading_standards"],
    )
    assert printed.exit_code == 0, printed.output
    assert "already sharing, only through Somerset County Council, now gone" in printed.output


def test_a_briefing_lists_the_arrangements_behind_its_best_suggestion(real_app: Flask) -> None:
    """The briefing's table of comparable arrangements kept the first ten of every suggestion's
    by service id: finance, HR and ICT filled it, and the Isles of Scilly's first suggestion
    (procurement with its NHS board) and Maidstone's (legal services with Kent) lost theirs."""
    from recommender.render.briefing import EVIDENCE, TOP, briefing_context

    model = real_app.extensions["recommender"].models.require()
    for code in ("E06000053", "E07000110", "E06000066", "E10000016"):
        found = model.recommend(Query(code, k=TOP))
        shown = {e["id"] for e in briefing_context(model, code)["evidence"]}
        first = [e["id"] for e in found[0].evidence][:EVIDENCE]
        assert first and set(first) <= shown, code


def test_a_briefing_numbers_the_source_of_an_arrangement_internal_to_the_body(
    real_app: Flask,
) -> None:
    """East Suffolk's briefing named the Suffolk Coastal and Waveney partnership, internal to
    it now, with no number and no source in its list: every arrangement it names is sourced."""
    from recommender.render.briefing import briefing_context

    model = real_app.extensions["recommender"].models.require()
    made = briefing_context(model, "E07000244")
    (suffolk,) = [a for a in made["merged_arrangements"] if a["id"] == "R-8dc9909d"]
    cited = {s["number"]: s["url"] for s in made["sources_cited"]}
    assert cited[suffolk["source_number"]] == suffolk["source"]


def test_a_former_council_named_as_its_successor_is_listed_by_its_full_name(
    real_app: Flask,
) -> None:
    """The briefing's partner lists read "Somerset (now Somerset)" for the county council of
    2007–2016 that the sources call "Somerset" (and North Yorkshire's and Buckinghamshire's
    likewise), where the arrangement's page says "Somerset County Council (now Somerset)"."""
    state = real_app.extensions["recommender"]
    every = reg.query(reg.Filters(), settings=state.settings, directory=state.directory)
    labels = [p["label"] for a in every for p in reg.listed_partners(a["members"])]
    assert "Somerset County Council (now Somerset)" in labels
    same = [x for x in labels if re.fullmatch(r"(.+) \(now \1\)", x)]
    assert same == []


def test_an_arrangement_a_body_left_is_not_said_to_have_ended(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Hammersmith and Fulham's page and briefing said of the Tri-borough libraries, which it
    left in 2022 while Kensington and Chelsea and Westminster stayed in, that it "has ended"."""
    page = real_client.get("/bodies/E09000013").get_data(as_text=True)
    said = page.split("Hammersmith and Fulham has been in ", 1)[1].split("</p>", 1)[0]
    assert "it has left 1 of them" in said and "ended" not in said
    model = real_app.extensions["recommender"].models.require()
    document = briefing_document(model, "E09000013", fmt=".html").decode()
    assert "; it has left 1 more." in document and "more has ended" not in document
    assert "and the one it left while others stayed in (with the year it left)" in document


def test_the_apis_arrangements_say_their_status_as_the_filter_reads_it(
    real_client: FlaskClient,
) -> None:
    """Every arrangement's ``status`` read "unknown" (as the register records a source with no
    status) in a list asked for ?status=running; each now says the filter's word too."""
    for status in reg.STATUS_FILTERS:
        listed = real_client.get(f"/api/v1/arrangements?status={status}&limit=500").get_json()
        assert listed["total"] and {a["status_read"] for a in listed["arrangements"]} == {status}
    every = real_client.get("/api/v1/arrangements?limit=500").get_json()
    # 237 until the Greater Manchester Waste Disposal Authority was read as ended; 236 until
    # the Peterborough, Cambridgeshire and Rutland joint plan for 2018-2021 was read past its term
    assert sum(a["status_read"] == "running" for a in every["arrangements"]) == 235
    assert {a["status"] for a in every["arrangements"]} <= {"unknown", "ended", "proposed"}


def test_the_members_that_stayed_in_are_told_who_left(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Westminster's page listed the Tri-borough libraries as "from 2012; 3 partners", and the
    explorer and briefing named Hammersmith and Fulham among its partners, with no word that it
    left in 2022 (only its own page and the arrangement's said so)."""
    tri = "R-46bad7fd"
    page = html.unescape(real_client.get("/bodies/E09000033").get_data(as_text=True))
    item = page[page.index(f"/arrangements/{tri}") :]
    assert "; 3 partners (Hammersmith and Fulham left in 2022)" in item[: item.index("</li>")]
    # The body that left says so on its own line, not again in brackets.
    own = html.unescape(real_client.get("/bodies/E09000013").get_data(as_text=True))
    item = own[own.index(f"/arrangements/{tri}") :]
    assert "left in 2022; 3 partners</span>" in item[: item.index("</li>")]
    explorer = real_client.get("/arrangements?body=E09000033").get_data(as_text=True)
    row = explorer.split(f'<tr data-id="{tri}"')[1].split("</tr>")[0]
    assert "Hammersmith and Fulham (left 2022)</a>" in row
    model = real_app.extensions["recommender"].models.require()
    document = briefing_document(model, "E09000033", fmt=".html").decode()
    assert "Hammersmith and Fulham (left 2022)" in document
    # Cited beside a suggestion, as evidence, too (it listed the three as partners).
    url = "/api/v1/bodies/E09000033/recommendations?k=50&service=other"  # the service it is
    answer = real_client.get(url).get_json()
    cited = [e for r in answer["recommendations"] for e in r["evidence"] if e["id"] == tri]
    assert cited and all("Hammersmith and Fulham (left 2022)" in e["partner_names"] for e in cited)


def test_evidence_names_the_partners_as_the_arrangement_page_does(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The arrangements cited beside a suggestion listed their members by the names their
    sources wrote ("Canterbury, Dover, Shepway, Thanet"; "Forest Heath, St Edmundsbury"),
    where the arrangement's page and the body pages say Folkestone and Hythe, and "Forest
    Heath (now West Suffolk)": a name no body has today, with no word of what it is now."""
    state = real_app.extensions["recommender"]
    cited: dict[str, list[str]] = {}
    for body in ("E07000108", "E07000106", "E07000245", "E07000203", "E06000055"):
        answer = real_client.get(f"/api/v1/bodies/{body}/recommendations?k=50").get_json()
        for r in answer["recommendations"]:
            for e in r["evidence"]:
                cited[e["id"]] = e["partner_names"]
        options = real_client.get(f"/api/v1/bodies/{body}/arrangements-to-join").get_json()
        for o in options["options"]:
            cited[o["arrangement"]["id"]] = o["arrangement"]["partner_names"]
    assert len(cited) > 10
    for ident, names in cited.items():
        record = reg.get_arrangement(ident, settings=state.settings, directory=state.directory)
        assert names == [p["label"] for p in reg.listed_partners(record["members"])], ident
    said = [n for names in cited.values() for n in names]
    assert "Folkestone and Hythe" in said and "Shepway" not in said
    assert "Forest Heath (now West Suffolk)" in said and "Forest Heath" not in said


def test_the_city_of_london_is_called_a_city_corporation_not_a_borough_council(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The City of London (the City of London Corporation) was called a "London borough
    council" on its page and briefing, and Tower Hamlets "also a London borough council"."""
    page = real_client.get("/bodies/E09000001").get_data(as_text=True)
    assert "City corporation, London" in page and "London borough council, London" not in page
    answer = real_client.get("/api/v1/bodies/E09000030/recommendations?k=50").get_json()
    city = next(r for r in answer["recommendations"] if r["partner_code"] == "E09000001")
    assert "a city corporation; Tower Hamlets is a London borough council" in str(city["reasons"])
    model = real_app.extensions["recommender"].models.require()
    document = briefing_document(model, "E09000001", fmt=".html").decode()
    assert "city corporation" in document.lower()
    assert (
        "Also a London borough council" not in document
        and "London borough council, London" not in document
    )


def test_already_sharing_only_through_bodies_gone_names_every_one_of_them(
    real_client: FlaskClient,
) -> None:
    """West Suffolk's compare page said Suffolk "already shares it, only through Forest Heath
    District Council, now gone", where its list beside it named Forest Heath and St
    Edmundsbury, both gone into West Suffolk (the first pair of names was kept)."""
    page = real_client.get("/bodies/E07000245/compare?with=E10000029&with=E07000244")
    said = re.findall(r"already shares it, (only through [^<]*)", page.get_data(as_text=True))
    assert said and all("St Edmundsbury Borough Council" in s for s in said), said
    answer = real_client.get("/api/v1/bodies/E07000245/recommendations?include_existing=true&k=50")
    through = [r["existing_through"] for r in answer.get_json()["recommendations"]]
    assert (
        "only through Forest Heath District Council and St Edmundsbury Borough Council, "
        "now gone" in through
    )


def test_the_home_page_counts_bodies_in_arrangements_themselves_apart(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The home page's count of bodies that "are or have been in" the arrangements counted
    21 that were only through a body gone that they succeed (NHS boards through PCTs and
    CCGs, new unitaries through their councils)."""
    state = real_app.extensions["recommender"]
    every = reg.query(reg.Filters(), settings=state.settings, directory=state.directory)
    # Nor those only in one between bodies now one (Dorset, in its three districts').
    ran = [a for a in every if not reg.record_proposed(a) and reg.status_said(a) != "merged"]
    members = [m for a in ran for m in a["members"] if m["body_code"]]
    itself = {m["body_code"] for m in members if not reg.former(m)}
    through = {m["body_code"] for m in members} - itself
    assert through  # (Somerset, the NHS boards …)
    merged = {m["body_code"] for a in every if reg.status_said(a) == "merged" for m in a["members"]}
    assert "E06000059" in merged - itself - through  # Dorset: in no partnership
    page = " ".join(re.sub(r"<[^>]+>", " ", real_client.get("/").get_data(as_text=True)).split())
    said = rf"{len(itself)} of the 454 public bodies the tool knows are or have been in them "
    assert re.search(said + rf".*?, and {len(through)} more only through bodies now gone", page)


def test_a_partner_already_sharing_is_not_given_a_saving_if_formed(
    real_client: FlaskClient,
) -> None:
    """Rother's list with existing partners gave Wealden, with whom it already shares
    environmental health (about £208k a year documented), "£390k if formed": a figure for an
    arrangement that exists. Distances now say they are between centres, and the reading
    notes say a figure may be held at the ceiling or the floor of its range per resident."""
    page = real_client.get("/bodies/E07000064?include_existing=1&k=50").get_data(as_text=True)
    rows = re.findall(r'<tr id="s-[^"]+"[^>]*>(.*?)</tr>', page, re.S)
    existing = [r for r in rows if "already a partner" in r]
    assert existing and all("if formed" not in r for r in existing)
    assert all("the model&#39;s estimate" in r or "the model's estimate" in r for r in existing)
    assert all("km between centres" in r for r in rows)
    assert "may be held at the ceiling or the floor of that range" in page


def test_the_explorer_says_an_abolished_councils_name_lists_its_successors_arrangements(
    real_client: FlaskClient,
) -> None:
    """/arrangements?body=Taunton+Deane listed "7 arrangements", Somerset's, with no word
    that Taunton Deane was in only one of them (Southwest One)."""
    page = real_client.get("/arrangements?body=Taunton+Deane").get_data(as_text=True)
    note = page.split('id="body-note">', 1)[1].split("</p>", 1)[0]
    assert note.startswith(
        "Taunton Deane Borough Council was abolished in 2019 (into Somerset West and Taunton "
        "Council, itself abolished in 2023); now part of Somerset."
    )  # not Somerset's in 2019: it became so with Somerset West and Taunton, in 2023
    shown = real_client.get("/api/v1/bodies/Taunton Deane").json["resolution"]["note"]
    assert shown == (
        "Taunton Deane Borough Council was abolished in 2019 (into Somerset West and Taunton "
        "Council, itself abolished in 2023); its area is now part of Somerset."
    )
    assert "These are the arrangements of Somerset, not only those Taunton Deane was in" in note
    plain = real_client.get("/arrangements?body=Somerset").get_data(as_text=True)
    assert 'id="body-note"' not in plain
    # The API's list says it alike (it listed Somerset's seven with no word).
    listed = real_client.get("/api/v1/arrangements?body=Taunton+Deane&limit=1").get_json()
    assert listed["total"] == 7 and html.unescape(note) == listed["body_note"]
    somerset = real_client.get("/api/v1/arrangements?body=Somerset&limit=1").get_json()
    assert "body_note" not in somerset and somerset["total"] == 7


def test_a_list_asked_for_by_a_name_other_bodies_share_says_whose_it_is(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """`register list --body Cumbria` listed nothing and said nothing; `--body Cheshire` listed
    the county's successors' arrangements, with no word of them, nor of Cheshire police force
    area and fire authority, whose name it is too."""
    env = _cli_env(real_app)  # its model, not the checkout's
    shown = CliRunner(env=env).invoke(cli, ["register", "list", "--body", "Cheshire"])
    assert shown.exit_code == 0, shown.output
    first = shown.stdout.splitlines()[0]
    assert first.startswith("Cheshire County Council was abolished in 2009")
    assert (
        "“Cheshire” also names Cheshire police force area (E23000006), and Cheshire Fire and "
        "Rescue Authority (E31000006), whose arrangements are not listed here" in first
    )
    listed = real_client.get("/api/v1/arrangements?body=Cheshire&limit=1").get_json()
    assert listed["body_note"] == first
    as_json = CliRunner(env=env).invoke(
        cli, ["register", "list", "--body", "Cheshire", "--format", "json"]
    )
    assert json.loads(as_json.stdout)["body_note"] == first
    page = html.unescape(real_client.get("/arrangements?body=Durham").get_data(as_text=True))
    note = page.split('id="body-note">', 1)[1].split("</p>", 1)[0]
    assert note == (
        '“Durham” also names Durham police force area (<a href="/bodies/E23000008">E23000008</a>)'
        ", whose arrangements are not listed here: ask for it by its code."
    )
    plain = CliRunner(env=env).invoke(cli, ["register", "list", "--body", "E06000047"])
    assert not plain.stdout.startswith("“")
    # A renamed council's name says so too, as its page does.
    renamed = real_client.get("/api/v1/arrangements?body=Shepway&limit=1").get_json()
    assert renamed["body_note"] == "Shepway was renamed Folkestone and Hythe."
    # And a briefing asked for by such a name.
    model = real_app.extensions["recommender"].models.require()
    document = html.unescape(briefing_document(model, "Durham", fmt=".html").decode())
    assert (
        "“Durham” also names Durham police force area (E23000008): ask for it by its code. "
        "This briefing is for County Durham." in document
    )


def test_a_member_abolished_since_is_said_so_where_its_arrangement_is_listed(
    real_client: FlaskClient,
) -> None:
    """Leeds's page listed the Leeds joint director of public health (from 2010, no end given)
    as one of its arrangements with no word that its partner, NHS Leeds, a primary care trust,
    was abolished in 2013: read as running, with its ICB as a partner sharing the service."""
    page = " ".join(html.unescape(re.sub("<[^>]+>", " ", real_client.get(
        "/bodies/E08000035").get_data(as_text=True))).split())  # fmt: skip
    assert "from 2010; 2 partners (NHS Leeds (PCT) has since been abolished)" in page
    listed = real_client.get("/api/v1/arrangements?body=E08000035").get_json()["arrangements"]
    dph = next(a for a in listed if a["name"].startswith("Leeds joint director of public health"))
    shown = html.unescape(real_client.get(f"/arrangements/{dph['id']}").get_data(as_text=True))
    assert (
        "Its source gives no status, and none says it has ended; NHS Leeds (PCT) has since been "
        "abolished, and no source says it went on without it."
    ) in shown
    assert dph["abolished"] == "NHS Leeds (PCT) has since been abolished"  # the API says it too
    # Its partners table names the board for its area, the PCT as the source named it: gone.
    assert (
        'NHS Leeds (PCT) <span class="muted">(since abolished: the body whose area it covered '
        "stands for it here)</span>"
    ) in shown
    # Nor is it a partnership to join (Leeds alone is left in it), nor is the board Leeds's
    # partner in it, on the map or in the suggestions.
    for body in ("E06000047", "E08000036", "E08000032"):
        options = real_client.get(f"/api/v1/bodies/{body}/arrangements-to-join?k=50").get_json()
        assert dph["id"] not in {o["arrangement"]["id"] for o in options["options"]}
    leeds = html.unescape(real_client.get("/bodies/E08000035").get_data(as_text=True))
    assert "NHS West Yorkshire Integrated Care Board (existing partner)" not in leeds
    kent = next(
        a
        for a in real_client.get("/api/v1/arrangements?body=E10000016&limit=200").get_json()[
            "arrangements"
        ]
        if a["name"].startswith("Kent Total Place pilot")
    )
    assert reg.abolished_said(kent) == (
        # (a comma before "and", as every list of names with an "and" inside one says it)
        "West Kent PCT, and Eastern and Coastal Kent PCT have since been abolished"
    )


def test_a_business_rates_pool_is_offered_to_join_only_to_who_receives_business_rates(
    real_client: FlaskClient,
) -> None:
    """The Nottinghamshire police force area was offered the Nottinghamshire business rates
    pool to join, at "£201k a member (estimated)": a pool of the authorities that receive
    business rates, which a police force area does not."""

    def offered(code: str) -> list[str]:
        answer = real_client.get(f"/api/v1/bodies/{code}/arrangements-to-join?k=50").get_json()
        return [o["arrangement"]["name"] for o in answer["options"]]

    pool = "Nottinghamshire business rates pool"
    assert pool not in offered("E23000019")  # Nottinghamshire police force area
    # A fire authority may be in a pool, but this one's source excludes fire (and the city):
    # test_a_body_an_arrangements_source_leaves_out_is_not_offered_it.


def test_arrangements_internal_to_a_body_name_it_and_its_predecessors_as_such(
    real_client: FlaskClient,
) -> None:
    """The North East Combined Authority's page listed the North East Joint Transport
    Committee as between "North of Tyne Combined Authority, North East Combined Authority",
    its own name as its own predecessor, "between bodies that are all now North East
    Combined Authority"."""
    page = html.unescape(real_client.get("/bodies/E47000014").get_data(as_text=True))
    merged = re.sub(r"<[^>]+>", "", page.split('<p class="merged">', 1)[1].split("</p>", 1)[0])
    assert "bodies that are all now the North East Combined Authority, so it is" in merged
    assert "(North of Tyne Combined Authority, North East Combined Authority until 2024;" in merged
    fire = html.unescape(real_client.get("/bodies/E31000011").get_data(as_text=True))
    assert "all now the Devon and Somerset Fire and Rescue Authority" in fire


def test_a_body_named_in_a_proposal_is_not_said_to_have_been_in_it(
    real_client: FlaskClient,
) -> None:
    """The Nottinghamshire police force area "has been in 6 documented arrangements … (1 was
    only proposed)": the Sherwood Lodge headquarters proposal never formed."""
    page = html.unescape(real_client.get("/bodies/E23000019").get_data(as_text=True))
    said = re.sub(r"<[^>]+>", "", page.split('id="existing-title"', 1)[1].split("</p>", 1)[0])
    assert "The Nottinghamshire police force area is named in 6 documented arrangements" in said
    assert "1 was only proposed" in said and "has been in" not in said


def test_the_briefing_promises_years_only_where_it_gives_them(real_app: Flask) -> None:
    """The Nottinghamshire police force area's briefing said "the one it was in that has ended
    (with its years)" above a row that gives none: its source gives no year (Newark and
    Sherwood CCTV monitoring); Thurrock's ended one has its years, and says so."""
    state = real_app.extensions["recommender"]
    police = briefing_document(state.models.require(), "E23000019", fmt=".html").decode()
    intro = police.split('<section id="existing">', 1)[1].split("</p>", 1)[0]
    assert "the one it was in that has ended, and the proposal it was named in" in intro
    thurrock = briefing_document(state.models.require(), "E06000034", fmt=".html").decode()
    intro = thurrock.split('<section id="existing">', 1)[1].split("</p>", 1)[0]
    assert "the one it was in that has ended (with its years)" in intro


def test_the_briefings_existing_arrangements_start_on_the_page_of_their_heading(
    real_app: Flask,
) -> None:
    """The Nottinghamshire police force area's briefing left "Existing arrangements" and its
    introduction at the foot of page 4, the table on page 5; "(6 km)" broke between its
    lines."""
    from pypdf import PdfReader

    state = real_app.extensions["recommender"]
    pdf = briefing_document(state.models.require(), "E23000019", fmt=".pdf")
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    (at,) = [i for i, text in enumerate(pages) if "Existing arrangements" in text]
    assert "Hucknall tri-service" in pages[at].split("Existing arrangements", 1)[1]
    assert not re.search(r"\(\d+\s*\n\s*km\)", "\n".join(pages))


def test_a_fire_authority_run_by_the_council_of_the_isles_of_scilly_is_said_so(
    real_client: FlaskClient,
) -> None:
    """The reasons said "run by Council of the Isles of Scilly", where its page says "Run by
    the Council of the Isles of Scilly"."""
    answer = real_client.get("/api/v1/bodies/E23000035/recommendations?kinds=fire&k=50").json
    said = _said(answer, "run_by", "E31000039")
    assert said and set(said) == {
        "run by the Council of the Isles of Scilly, which is its fire and rescue authority"
    }


def test_one_arrangement_or_none_is_said_as_such(real_app: Flask, real_client: FlaskClient) -> None:
    """ "The Humberside police force area is in 1 documented arrangement, each with its public
    source"; `bodies show` of the Isles of Scilly's fire authority gave "Neighbours (0, …)" and
    "Documented arrangements (0, each with its public source)" above empty tables; and the
    Isles of Scilly were named without "the" ("should Isles of Scilly share the service")."""
    page = html.unescape(real_client.get("/bodies/E23000012").get_data(as_text=True))
    said = re.sub(r"<[^>]+>", "", page.split('id="existing-title"', 1)[1].split("</p>", 1)[0])
    assert "in 1 documented arrangement, with its public source" in said
    state = real_app.extensions["recommender"]
    env = {
        "RECOMMENDER_DATA_DIR": str(state.settings.data),
        "RECOMMENDER_MODELS_DIR": str(state.settings.models),
        "RECOMMENDER_DATABASE_URL": state.settings.db_url,
    }
    shown = CliRunner(env=env).invoke(cli, ["bodies", "show", "E31000039"])
    assert shown.exit_code == 0, shown.output
    assert "Neighbours: none shares a border with it" in shown.output
    assert "Documented arrangements: none" in shown.output and "(0," not in shown.output
    scilly = html.unescape(real_client.get("/bodies/E06000053").get_data(as_text=True))
    assert "should the Isles of Scilly share the service" in scilly
    wight = html.unescape(real_client.get("/bodies/E06000046").get_data(as_text=True))
    assert "should the Isle of Wight share the service" in wight


def test_an_nhs_boards_estimated_population_is_said_to_be_an_estimate(
    real_client: FlaskClient,
) -> None:
    """NHS Frimley's people are an estimate (five of its councils are shared with another board
    by their small areas, as its page says); the reasons said "127,000 people against 776,000
    people" as a count, and the compare page gave the figure bare."""
    answer = real_client.get("/api/v1/bodies/E54000034/recommendations?k=20").json
    sizes = _said(answer, "size")
    assert sizes and all("against an estimated 776,000 people" in s for s in sizes), sizes
    # A board whose councils are all its own (Cornwall and the Isles of Scilly's): a count.
    cornwall = real_client.get("/api/v1/bodies/E06000052/recommendations?kinds=health&k=5").json
    said = [x["text"] for r in cornwall["recommendations"] for x in r["reasons"]]
    assert "578,000 people against 575,000 people" in " ".join(said), said
    assert not any("estimated" in s for s in said), said
    page = html.unescape(
        real_client.get("/bodies/E06000036/compare?with=E54000034&with=E06000037").get_data(
            as_text=True
        )
    )
    glance = re.sub(r"<[^>]+>", " ", page.split('id="at-a-glance"', 1)[1].split("</tr>", 3)[2])
    assert "an estimate: the people of" in glance, glance


def test_bodies_since_combined_are_each_named_as_the_body_they_were(
    real_client: FlaskClient,
) -> None:
    """The Devon and Somerset combination of 2007 was listed as "Devon and Somerset Fire and
    Rescue Authority" alone (both services read as aliases of it: one partner), and Dorset and
    Wiltshire's of 2016 as "Dorset Fire and Rescue Service (now …), Dorset and Wiltshire Fire
    and Rescue Authority": the authority its own partner."""
    answer = real_client.get("/api/v1/bodies/E31000033/recommendations?service=other&k=20").json
    evidence = {e["id"]: e for r in answer["recommendations"] for e in r["evidence"]}
    devon = "Devon and Somerset Fire and Rescue Authority"
    assert evidence["R-82c75c6a"]["partner_names"] == [
        f"Devon Fire and Rescue Service (now {devon})",
        f"Somerset Fire and Rescue Service (now {devon})",
    ]
    dorset = "Dorset and Wiltshire Fire and Rescue Authority"
    assert evidence["R-2e799bf7"]["partner_names"] == [
        f"Dorset Fire and Rescue Service (now {dorset})",
        f"Wiltshire and Swindon Fire and Rescue Service (now {dorset})",
    ]
    page = html.unescape(real_client.get("/arrangements/R-82c75c6a").get_data(as_text=True))
    assert "2 partners, each body once" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    # The download and `register list` as well ("Devon and Somerset Fire and Rescue Authority;
    # Devon and Somerset Fire and Rescue Authority"; "Devon and Somerset Fire and… and 1 more").
    table = real_client.get("/api/v1/arrangements.csv?status=merged").get_data(as_text=True)
    row = next(r for r in csv.DictReader(io.StringIO(table)) if r["Id"] == "R-82c75c6a")
    assert row["Partners"] == (
        f"Devon Fire and Rescue Service (now {devon}); Somerset Fire and Rescue Service (now "
        f"{devon})"
    )
    listed = CliRunner().invoke(cli, ["register", "list", "--status", "merged"])
    line = next(x for x in listed.output.splitlines() if x.startswith("R-82c75c6a"))
    assert "Devon Fire and Rescue Service" in line, line


def test_a_simulated_figure_is_said_to_be_simulated_not_reported(real_client: FlaskClient) -> None:
    """A simulated arrangement's page said "£212k a year reported as an annual figure", and its
    download and `register show` the same: nobody reported it; it was simulated."""
    drawn = "simulated as a yearly figure: no source reported it"
    every = real_client.get("/api/v1/arrangements?origin=simulated&limit=500").json
    one = next(a for a in every["arrangements"] if a["savings_basis"] == "annual")
    page = html.unescape(real_client.get(f"/arrangements/{one['id']}").get_data(as_text=True))
    assert drawn in page and "reported as an annual figure" not in page
    table = real_client.get("/api/v1/arrangements.csv?origin=simulated").get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(table)) if r["Id"] == one["id"]]
    assert rows and rows[0]["How the annual figure was read"] == drawn
    shown = CliRunner().invoke(cli, ["register", "show", one["id"]])
    assert drawn in " ".join(shown.output.split()), shown.output
    real = next(
        a
        for a in real_client.get("/api/v1/arrangements?limit=500").json["arrangements"]
        if a["savings_basis"] == "annual"
    )
    page = html.unescape(real_client.get(f"/arrangements/{real['id']}").get_data(as_text=True))
    assert "reported as an annual figure" in page and "simulator" not in page.split("Source")[0]


def test_the_likelihood_says_what_simulated_data_it_was_learnt_from(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """A body's page said its likelihood was "learnt from who formed arrangements with whom",
    where how often a body enters a new arrangement is learnt with the simulated register too."""
    register = real_app.extensions["recommender"].models.require().describe()["register"]
    said = _text(real_client, "/bodies/E07000064")
    assert (
        f"which partner, from those of the {register['real']:,} documented real arrangements with "
        "two or more members that are bodies it covers; how often a body enters a new "
        "arrangement, from the arrangements started 2008 to 2019, those and "
        f"{register['simulated']:,} simulated ones"
    ) in said


def test_a_proposal_for_a_service_a_pair_does_not_share_is_said_beside_their_history(
    real_client: FlaskClient,
) -> None:
    """Westminster's first suggestion, Kensington and Chelsea for legal services, said only
    that the two work together on finance and other services: the register's proposal of the
    two boroughs to move their legal service into LGSS Law went unsaid (a proposal was said
    only for a pair named together in nothing else)."""
    answer = real_client.get("/api/v1/bodies/E09000033/recommendations?service=legal&k=5").json
    said = _said(answer, "history", "E09000020")
    assert said == [
        "already works with Westminster on finance and audit, and other services (documented "
        "arrangements); also named with Westminster in a documented proposal to share legal "
        "services"
    ]


def test_a_share_of_a_bodys_arrangements_is_said_as_one_or_all_of_them(
    real_client: FlaskClient,
) -> None:
    """ "Buckinghamshire is in 1 documented arrangement …; 1 of them only through bodies now
    gone" and "Somerset is in 7 …; 7 of them only through …": one is it, seven of seven all."""

    def said(code: str) -> str:
        return _text(real_client, f"/bodies/{code}")

    bucks = said("E06000060")
    assert (
        "Buckinghamshire is in 1 documented arrangement, with its public source; only through "
        "bodies now gone that it succeeds"
    ) in bucks
    assert "all 7 only through bodies now gone that it succeeds" in said("E06000066")
    board = said("E54000027")
    assert "(it was only proposed); only through bodies now gone" in board
    assert "1 of them" not in bucks + board
    both = said("E54000042")  # "(2 were only proposed)" of 2
    assert "2 documented arrangements, each with its public source (both were only proposed)" in (
        both
    )


def test_a_headings_sentence_names_a_body_as_the_page_does(real_client: FlaskClient) -> None:
    """ "Arrangements Cumbria police force area could join" and "The best groups of two to four
    bodies, Stoke-on-Trent and Staffordshire Fire and Rescue Authority included", where the
    same page says "the Cumbria police force area"."""
    police = html.unescape(real_client.get("/bodies/E23000002?service=ict").get_data(as_text=True))
    assert "Arrangements the Cumbria police force area could join" in police
    fire = html.unescape(real_client.get("/bodies/E31000033?service=ict").get_data(as_text=True))
    assert (
        "The best groups of two to four bodies, the Stoke-on-Trent and Staffordshire Fire and "
        "Rescue Authority included"
    ) in fire


def test_a_body_an_arrangements_source_leaves_out_is_not_offered_it(
    real_client: FlaskClient,
) -> None:
    """Nottingham's first arrangement to join was the Nottinghamshire business rates pool,
    whose source says it "excludes city, police and fire"; the county's fire authority was
    offered it too."""
    for code in ("E06000018", "E31000030"):
        options = real_client.get(f"/api/v1/bodies/{code}/arrangements-to-join?k=50").json
        names = [o["arrangement"]["name"] for o in options["options"]]
        assert names and "Nottinghamshire business rates pool" not in names, code
    # A council its source does not leave out is still offered it (Erewash, over the border).
    derby = real_client.get("/api/v1/bodies/E07000036/arrangements-to-join?k=50").json
    assert "Nottinghamshire business rates pool" in [
        o["arrangement"]["name"] for o in derby["options"]
    ]


def test_an_estimated_size_is_never_set_against_the_same_figure(real_client: FlaskClient) -> None:
    """Lincolnshire and NHS Frimley: "similar in size to Lincolnshire: an estimated 776,000
    people against 776,000 people"."""
    answer = real_client.get(
        "/api/v1/bodies/E10000019/recommendations?service=ict&kinds=health&k=50&min_choice=0"
    ).json
    said = _said(answer, "size", "E54000034")
    assert said == [
        "about the same size as Lincolnshire (776,000 people each, one of the two an estimate)"
    ]


def test_an_arrangement_whose_functions_moved_on_is_said_to_have_ended(
    real_client: FlaskClient,
) -> None:
    """The Greater Manchester Waste Disposal Authority ("functions moved to GMCA later") was
    listed on Manchester's page and briefing as running from 1986, and counted as a shared
    history of its districts."""
    every = real_client.get("/api/v1/arrangements?limit=500").json["arrangements"]
    authority = next(a for a in every if a["name"] == "Greater Manchester Waste Disposal Authority")
    assert authority["ended"] and authority["end_year"] is None
    running = real_client.get("/api/v1/arrangements?status=running&limit=500").json
    assert authority["id"] not in {a["id"] for a in running["arrangements"]}


def test_a_compare_page_says_how_a_body_and_a_candidate_stand_as_they_are(
    real_client: FlaskClient,
) -> None:
    """Nottinghamshire's fire authority and its police force area (the same area) read "its
    area contains …" beside "covers the same area" in the reasons; and the Essex police force
    area and fire authority, both governed by the commissioner, were refused as "one body (a
    fire and rescue authority and the body that runs it)"."""

    def said(url: str) -> str:
        return _text(real_client, url)

    notts = said("/bodies/E31000030/compare?with=E23000019&with=E07000175")
    assert (
        "0 km between centres; covers the same area as the Nottinghamshire and City of "
        "Nottingham Fire and Rescue Authority"
    ) in notts
    assert "its area contains Nottinghamshire and City of Nottingham" not in notts
    # A proposal's name and its years said it twice: "… (proposal) (proposed in 2018)".
    assert "shared headquarters at Sherwood Lodge (proposed in 2018)" in notts
    essex = said("/bodies/E31000015/compare?with=E23000028&with=E10000012")
    assert (
        "The Essex police force area and the Essex Fire and Rescue Authority are both governed "
        "by the Police, Fire and Crime Commissioner for Essex, which is the fire and rescue "
        "authority, never partners"
    ) in essex
    glos = said("/bodies/E10000013/compare?with=E31000016&with=E07000078")
    assert "are one body (a fire and rescue authority and the council that is it)" in glos
    manchester = said("/bodies/E31000040/compare?with=E47000001&with=E08000003")
    assert "are one body (a fire and rescue authority and the authority whose mayor runs it)" in (
        manchester
    )


def test_the_estimated_populations_are_those_a_boards_page_calls_estimates(
    real_app: Flask,
) -> None:
    """The reasons' "an estimated" and a board's own page read one rule two ways."""
    from recommender.reference import lookup

    settings = real_app.extensions["recommender"].settings
    bodies = lookup.load_bodies(settings)
    noted = {
        str(c)
        for c in bodies.index[bodies["kind"] == "health"]
        if lookup.body(str(c), settings).get("population_note")
    }
    assert noted and lookup.estimated_populations(settings) == noted


def test_a_briefing_says_which_running_arrangements_lost_a_partner_since_abolished(
    real_app: Flask,
) -> None:
    """Herefordshire's briefing said it "is in 3 documented arrangements already", two of
    them with NHS Herefordshire (a primary care trust abolished in 2013) alone: a joint chief
    executive with a body that no longer exists. Each arrangement said so; the count did not."""
    model = real_app.extensions["recommender"].models.require()
    document = " ".join(briefing_document(model, "E06000019", fmt=".html").decode().split())
    assert (
        "Herefordshire is in 3 documented arrangements already (HR and payroll, property and "
        "assets, and shared management); in all 3, a partner has since been abolished (NHS "
        "Herefordshire (PCT)), and no source says whether they went on; 1 more was only "
        "proposed."
    ) in document
    # In the table, who was abolished is said apart from the partners, not after the last of
    # them ("…, Wye Valley NHS Trust (NHS Herefordshire (PCT) has since been abolished)").
    assert "Wye Valley NHS Trust (NHS Herefordshire" not in document
    assert "NHS Herefordshire (PCT) has since been abolished.</span>" in document
    # Two trusts in one arrangement: "partners have", not "a partner has (A and B)".
    kent = " ".join(briefing_document(model, "E10000016", fmt=".html").decode().split())
    assert (
        "in 1 of them, partners have since been abolished (West Kent PCT, and Eastern and Coastal "
        "Kent PCT), and no source says whether it went on"
    ) in kent
    # The arrangement's own page: "… have since been abolished, and no source says it went on
    # without them" (it said "without it").
    page = html.unescape(real_app.test_client().get("/arrangements/R-a12f4aca").get_data(
        as_text=True))  # fmt: skip
    assert "have since been abolished, and no source says it went on without them" in page
    # The board that succeeds the trust is said to hold them only through it, as before.
    board = " ".join(briefing_document(model, "E54000019", fmt=".html").decode().split())
    assert "all 3 only through bodies now gone that it succeeds." in board
    assert (
        "since been abolished (NHS" not in board.split("documented arrangements already")[1][:300]
    )


def test_a_list_ranked_otherwise_says_its_order_where_it_says_what_the_figures_are(
    real_client: FlaskClient,
) -> None:
    """Camden's list ranked by savings if formed opened "Partners and services ranked by
    expected annual savings"; its download called the expected figure "the list's order". (Its
    caution, on its own order: test_evaluation; this model was trained without one.)"""
    text = _text(real_client, "/bodies/E09000007?sort=savings")
    assert "Partners and services ranked by savings if formed, as asked: what the two" in text
    assert "ranked by expected annual savings" not in text
    page = real_client.get("/bodies/E09000007?sort=likelihood").get_data(as_text=True)
    assert "Partners and services ranked by likelihood, as asked: the chance" in page
    import openpyxl

    def about(query: str) -> dict[str, str]:
        made = real_client.get(f"/api/v1/bodies/E09000007/recommendations.xlsx{query}")
        book = openpyxl.load_workbook(io.BytesIO(made.data))
        return {str(r[0]): str(r[1]) for r in book["About"].iter_rows(values_only=True)}

    by_savings, default = about("?sort=savings"), about("")
    assert by_savings["Order"] == "ranked by savings if formed, as asked"
    assert "(the list's order)" not in by_savings["Expected"]
    assert "(the list's order)" in default["Expected"] and "Order" not in default


def test_a_police_authority_is_named_as_the_body_it_was(real_client: FlaskClient) -> None:
    """Southwest One's partners read "…, Avon and Somerset police force area, IBM", where its
    source names the Avon and Somerset Police Authority (abolished in 2012, its commissioner
    succeeding it), with no word of it; Kent Total Place, which names both Kent's police
    authority and its police, lists one partner for the two."""
    every = real_client.get("/api/v1/arrangements?body=E23000036&limit=50").json["arrangements"]
    southwest = next(a for a in every if a["name"].startswith("Southwest One"))
    table = real_client.get("/api/v1/arrangements.csv?body=E23000036").get_data(as_text=True)
    row = next(r for r in csv.DictReader(io.StringIO(table)) if r["Id"] == southwest["id"])
    assert (
        "Avon and Somerset Police Authority (now Avon and Somerset police force area)"
        in (row["Partners"])
    )
    table = real_client.get("/api/v1/arrangements.csv?body=E23000032").get_data(as_text=True)
    kent = next(r for r in csv.DictReader(io.StringIO(table)) if r["Id"] == "R-a12f4aca")
    assert "; Kent police force area;" in f"; {kent['Partners']};"
    assert "Police Authority" not in kent["Partners"]


def test_a_county_that_is_its_fire_authority_is_told_its_fire_services_arrangements(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Norfolk County Council is the Norfolk Fire and Rescue Authority; its page and briefing
    said it "is in 2 documented arrangements" and its first suggestion, the Norfolk police
    force area, gave no word of the headquarters and control room its fire service already
    shares with the police: the register names the fire service, which is the council's. The
    police's list offered Norfolk as a council new to it."""
    text = _text(real_client, "/bodies/E10000020")
    assert (
        "Norfolk is also the fire and rescue authority for its area, its fire service part of "
        "it: 2 documented arrangements name that service, listed on the page of the Norfolk "
        "Fire and Rescue Authority ."
    ) in text
    body = real_client.get("/api/v1/bodies/E10000020").json
    assert body["fire_authority"]["code"] == "E31000026"
    assert len(body["fire_authority"]["arrangements"]) == 2
    assert "fire_authority" not in real_client.get("/api/v1/bodies/E07000203").json
    shown = CliRunner().invoke(cli, ["bodies", "show", "E10000020", "--format", "json"])
    assert json.loads(shown.output)["fire_authority"] == body["fire_authority"]
    table = CliRunner().invoke(cli, ["bodies", "show", "E10000020"]).output
    assert "Norfolk is also the fire and rescue authority for its area" in table
    police = CliRunner().invoke(cli, ["bodies", "show", "E23000005"]).output
    assert "\nGovernance\n" in police and "Fire and rescue governance" not in police
    model = real_app.extensions["recommender"].models.require()
    document = " ".join(briefing_document(model, "E10000020", fmt=".html").decode().split())
    assert (
        "Norfolk is also the fire and rescue authority for its area: 2 more running documented "
        "arrangements name its fire service (as the Norfolk Fire and Rescue Authority)."
    ) in document
    answer = real_client.get("/api/v1/bodies/E10000020/recommendations?kinds=police&k=3").json
    assert _said(answer, "fire_service", "E23000024")[0] == (
        "already works with the Norfolk Fire and Rescue Authority on other services (documented "
        "arrangements): Norfolk is that fire and rescue authority"
    )
    # And the police's list, the other way: Norfolk read as a council new to the police.
    police = real_client.get("/api/v1/bodies/E23000024/recommendations?kinds=council").json
    assert _said(police, "fire_service", "E10000020")[0] == (
        "is also the Norfolk Fire and Rescue Authority, which already works with the Norfolk "
        "police force area on other services (documented arrangements)"
    )
    # The fire authority's own list says nothing of the kind of its council's partners (it
    # said of Broxbourne "already works with Hertfordshire …: the Hertfordshire Fire and Rescue
    # Authority is that fire and rescue authority"); nor a district's, which runs none.
    fire = real_client.get("/api/v1/bodies/E31000019/recommendations?kinds=council&k=30").json
    assert _said(fire, "fire_service") == []
    other = real_client.get("/api/v1/bodies/E07000203/recommendations?k=20").json
    assert _said(other, "fire_service") == []


def test_groups_and_arrangements_to_join_say_their_order_is_untested(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """The groups and the arrangements to join carried no word of how far to trust their
    order, beside a list of partners that did: the evaluation ranks single partners alone."""
    from recommender.model.verdicts import UNTESTED_ORDERS

    page = html.unescape(real_client.get("/bodies/E07000203").get_data(as_text=True))
    assert page.count(UNTESTED_ORDERS) == 1
    model = real_app.extensions["recommender"].models.require()
    document = html.unescape(briefing_document(model, "E07000203", fmt=".html").decode())
    assert UNTESTED_ORDERS in " ".join(document.split())


def test_a_body_whose_name_says_its_kind_is_not_told_its_kind(real_client: FlaskClient) -> None:
    """ "A fire and rescue authority, where the Greater Manchester police force area is a police
    force area"; the Greater London Authority compared as "Greater London Authority" and a
    police force area's governor under "Fire and rescue governance"."""
    answer = real_client.get("/api/v1/bodies/E23000005/recommendations?kinds=fire").json
    assert _said(answer, "type")[0] == (
        "a fire and rescue authority, another kind of body than the Greater Manchester police "
        "force area"
    )
    norfolk = real_client.get("/api/v1/bodies/E10000020/recommendations?kinds=police").json
    assert _said(norfolk, "type")[0] == "a police force area, where Norfolk is a county council"
    page = html.unescape(real_client.get("/bodies/E23000005").get_data(as_text=True))
    assert "<dt>Governance</dt><dd>Governed by the Mayor of Greater Manchester" in page
    compare = real_client.get("/bodies/E61000001/compare?with=E23000001&with=E09000033").get_data(
        as_text=True
    )
    assert "Comparing partners for the Greater London Authority" in compare


def test_a_service_a_partnership_was_extended_to_is_not_suggested_as_new(
    real_client: FlaskClient,
) -> None:
    """The North Yorkshire police force area's legal services list offered the Cleveland and
    Durham police force areas as new partners, where the Evolve programme the three share (filed
    under other services) was "later extended to shared legal services (2019)"; listed as
    sharing it, they cited other arrangements as the evidence, never the Evolve programme."""
    asked = "/api/v1/bodies/E23000009/recommendations?service=legal&k=50"
    new = {r["partner_code"] for r in real_client.get(asked).json["recommendations"]}
    assert not {"E23000008", "E23000013"} & new  # Durham, Cleveland
    every = real_client.get(asked + "&include_existing=1").json["recommendations"]
    sharing = {r["partner_code"]: r for r in every if r["existing"]}
    assert {"E23000008", "E23000013"} <= set(sharing)
    assert _said({"recommendations": [sharing["E23000013"]]}, "history") == [
        "already works with the North Yorkshire police force area on legal services and other "
        "services (documented arrangements)"
    ]
    # The arrangement they share it in is cited, as any pair's own: the evidence of a police
    # legal service named others' and never the Evolve programme.
    for partner in ("E23000008", "E23000013"):
        cited = [e["name"] for e in sharing[partner]["evidence"]]
        assert cited[0].startswith("Evolve programme"), cited


def test_a_scenarios_map_follows_who_already_shares_what(real_app: Flask) -> None:
    """On a scenario's map the North Yorkshire police force area was offered Cleveland for
    legal services as a new partner, which the Evolve programme's source says the three
    forces already share: the scenario's model never followed the register (an import since
    training, or a service an arrangement was extended to)."""
    from recommender.recommend.query import Query
    from recommender.scenario.recommend import ScenarioRecommender
    from recommender.scenario.world import derive
    from scenario_fixtures import surrey

    base = real_app.extensions["recommender"].models.require()
    settings = base.settings
    on_map = ScenarioRecommender(base, derive(surrey(settings), settings))
    found = on_map.recommend(Query(body="E23000009", service="legal", k=50))
    assert not {"E23000008", "E23000013"} & {r.partner_code for r in found}


@pytest.fixture(scope="module")
def northants(real_app: Flask) -> Any:
    """The promoted model on a scenario's map where North and West Northamptonshire are one
    unitary, "Northamptonshire"."""
    from recommender.scenario import define
    from recommender.scenario.define import Draft, DraftSuccessor
    from recommender.scenario.recommend import ScenarioRecommender
    from recommender.scenario.world import derive

    base = real_app.extensions["recommender"].models.require()
    settings = base.settings
    draft = Draft("northants", (DraftSuccessor("Northamptonshire", ("E06000061", "E06000062")),))
    return ScenarioRecommender(base, derive(define.check(draft, settings), settings))


def test_a_scenarios_evidence_names_the_councils_it_replaces_as_they_are_today(
    northants: Any,
) -> None:
    """With North and West Northamptonshire one unitary on a scenario's map, the evidence
    named the councils they succeeded as if still there: "Kettering Borough Council (now
    Kettering)", "Northamptonshire County Council (now Northamptonshire)": the scenario's map
    has no name for a council it replaces, and the name as given stood in for it."""
    on_map = northants
    today = set(reference_bodies(on_map.settings)["display_name"].astype(str))
    labels = {
        label
        for query in (
            Query(body=on_map.code_of("Northamptonshire"), k=50, include_existing=True),
            Query(body="E07000177", service="customer_services", k=50, include_existing=True),
        )
        for r in on_map.recommend(query)
        for e in r.evidence
        for label in e["partner_names"]
    }
    now = {m.group(1) for label in labels for m in re.finditer(r"\(now (.*?)\)", label)}
    assert "Kettering (now North Northamptonshire)" in labels
    named = {n for n in now if n in today or set(re.split(r", | and ", n)) <= today}
    assert now - named == set()


def test_a_scenarios_inherited_history_says_a_proposal_once(northants: Any) -> None:
    """Cherwell's suggestion of the new Northamptonshire said it "inherits 4 documented
    arrangements that ended and 1 documented proposal never formed with Cherwell …; also its
    predecessor South Northamptonshire Council was named with Cherwell in a documented
    proposal": the one proposal twice, and from Northamptonshire's side "South
    Northamptonshire Council (now Northamptonshire)", of a unitary only proposed."""
    successor = northants.code_of("Northamptonshire")
    said = []
    for body, partner in (("E07000177", successor), (successor, "E07000177")):
        query = Query(body=body, service="customer_services", k=50, include_existing=True)
        (found,) = [r for r in northants.recommend(query) if r.partner_code == partner]
        said += [x.text for x in found.reasons if x.factor == "history"]
    assert len(said) == 2
    for text in said:
        assert "1 documented proposal never formed with Cherwell" in text, text
        assert text.count("proposal") == 1 and "(now Northamptonshire)" not in text, text


def test_a_county_that_is_its_fire_authority_says_so_on_a_scenarios_map(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Norfolk, left as it is by a scenario elsewhere, lost on the scenario's map what its page
    today says: that it is the Norfolk Fire and Rescue Authority, whose arrangements name its
    fire service (the page's paragraph, the API's fire_authority, the note on a partner)."""
    from recommender.scenario import store
    from scenario_fixtures import surrey_draft

    state = real_app.extensions["recommender"]
    store.create(state.engine, surrey_draft("surrey-norfolk"), state.settings)
    try:
        page = _text(real_client, "/scenarios/surrey-norfolk/bodies/E10000020")
        body = real_client.get("/api/v1/bodies/E10000020?scenario=surrey-norfolk").json
        asked = "/api/v1/bodies/E10000020/recommendations?kinds=police&k=3&scenario=surrey-norfolk"
        answer = real_client.get(asked).json
        successor = real_client.get("/api/v1/bodies/X06000001?scenario=surrey-norfolk").json
    finally:
        store.delete(state.engine, "surrey-norfolk")
    assert (
        "Norfolk is also the fire and rescue authority for its area, its fire service part of "
        "it: 2 documented arrangements name that service, listed on the page of the Norfolk "
        "Fire and Rescue Authority ."
    ) in page
    today = real_client.get("/api/v1/bodies/E10000020").json["fire_authority"]
    assert body["fire_authority"] == today
    assert _said(answer, "fire_service", "E23000024")[0].startswith(
        "already works with the Norfolk Fire and Rescue Authority on other services"
    )
    assert "fire_authority" not in successor  # (for the reorganisation to decide)


def test_a_group_never_counts_a_county_council_and_its_own_fire_authority_as_two(
    real_client: FlaskClient,
) -> None:
    """The Surrey police force area's best group for legal services was itself, the Surrey Fire
    and Rescue Authority and Surrey County Council, £1.3m a year in three even shares: the fire
    authority is the county council (it runs it), so a third of the savings came from a council
    sharing with itself."""
    surrey, its_fire = "E10000030", "E31000035"
    answer = real_client.get("/api/v1/bodies/E23000031/groups?service=legal&k=20").json
    members = [{m["code"] for m in g["members"]} for g in answer["groups"]]
    assert any(its_fire in m for m in members) and any(surrey in m for m in members)
    assert not [m for m in members if {surrey, its_fire} <= m]
    for code in ("E06000052", "E10000020"):  # Cornwall, Norfolk: councils that run their own
        answer = real_client.get(f"/api/v1/bodies/{code}/groups?service=legal&k=20").json
        assert answer["groups"]


def test_a_council_split_between_two_is_not_said_to_have_worked_with_itself(
    real_client: FlaskClient,
) -> None:
    """West Northamptonshire's list said of North Northamptonshire "its predecessor
    Northamptonshire County Council worked with Northamptonshire County Council, Corby Borough
    Council and East Northamptonshire Council": the county council, a predecessor of both, is in
    the Welland audit consortium once, and was no partner of itself."""
    for focal, partner, mine, theirs in (
        ("E06000061", "E06000062", "Corby Borough Council and East Northamptonshire Council",
         "Northamptonshire County Council"),
        ("E06000062", "E06000061", "Northamptonshire County Council",
         "Corby Borough Council and East Northamptonshire Council"),
    ):  # fmt: skip
        answer = real_client.get(f"/api/v1/bodies/{focal}/recommendations?k=50&kinds=council").json
        said = _said(answer, "history", partner)
        assert said
        for text in said:
            assert "Northamptonshire County Council worked with Northamptonshire" not in text
            assert f"its predecessor{'s' * (' and ' in theirs)} {theirs} worked with {mine}, " in (
                text
            )
            assert "both succeed Northamptonshire County Council in its arrangements for legal" in (
                text
            )


def test_a_pairs_likelihood_is_the_same_from_either_side_and_its_percentages_untested(
    real_app: Flask, real_client: FlaskClient
) -> None:
    """Every definition read "the chance that the two bodies share the service within 5
    years", where each figure was one side's estimate (the asking body's own rate of entering,
    its own choice among its candidates): the Gloucestershire fire authority's legal services
    list gave the Avon fire authority 1.0%, Avon's gave Gloucestershire's 2.5%. It is now the
    mean of the two sides' estimates, one figure for the pair, and says so. Nothing said that
    the evaluation tests only the order the likelihoods give, never the percentages."""
    from recommender.model.horizon import LIKELIHOOD_SIDE, LIKELIHOOD_UNCHECKED

    def chance(focal: str, partner: str, service: str = "legal") -> float:
        url = f"/api/v1/bodies/{focal}/recommendations?service={service}&k=50&min_choice=0"
        found = real_client.get(url).json["recommendations"]
        return next(r["likelihood"] for r in found if r["partner_code"] == partner)

    for a, b, service in (
        ("E31000016", "E31000001", "legal"),
        ("E23000036", "E31000001", "legal"),
        ("E07000064", "E07000065", "ict"),
        ("E06000061", "E06000062", "hr_payroll"),
    ):
        assert chance(a, b, service) == chance(b, a, service) > 0, (a, b)  # fmt: skip
    for url in ("/bodies/E31000016", "/bodies/E31000016?sort=likelihood"):
        page = _text(real_client, url)
        assert f"{LIKELIHOOD_SIDE}; learnt from" in page and LIKELIHOOD_UNCHECKED in page
    compare = _text(real_client, "/bodies/E31000016/compare?with=E31000001&with=E23000036")
    assert f"share the service within 5 years ({LIKELIHOOD_SIDE})" in compare
    assert LIKELIHOOD_UNCHECKED in _text(real_client, "/model")
    schema = real_client.get("/api/v1/openapi.json").json["components"]["schemas"]
    said = schema["Recommendation"]["properties"]["likelihood"]["description"]
    assert LIKELIHOOD_SIDE in said and LIKELIHOOD_UNCHECKED in said
    model = real_app.extensions["recommender"].models.require()
    document = " ".join(
        html.unescape(briefing_document(model, "E31000016", fmt=".html").decode()).split()
    )
    assert f"{LIKELIHOOD_SIDE}; learnt from" in document and LIKELIHOOD_UNCHECKED in document
    env = _cli_env(real_app)  # its model, not the checkout's
    shown = CliRunner(env=env).invoke(cli, ["recommend", "E31000016", "--k", "3"])
    assert shown.exit_code == 0, shown.output
    assert LIKELIHOOD_SIDE in " ".join(shown.output.split())


def test_a_briefing_with_a_long_summary_keeps_its_map_on_the_first_page(real_app: Flask) -> None:
    """North Northamptonshire's briefing (asked for as Kettering, a note on top, a summary of
    three opportunities and eight arrangements) left page 1 more than half blank, the map
    pushed whole to page 2; the chart cut the service off a long partner's name ("NHS Bath
    and North East Somerset, Swindon and Wiltshire ICB: Procur…")."""
    from pypdf import PdfReader

    model = real_app.extensions["recommender"].models.require()
    pdf = briefing_document(model, "Kettering", fmt=".pdf")
    first = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Kettering Borough Council was abolished in 2021" in " ".join(first.split())
    assert "Expected annual savings" in first  # the map's legend, under the map
    board = briefing_document(model, "E54000039", fmt=".html").decode()
    chart = board[board.index('class="chart"') :].split("</svg>")[0]
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    assert "Procur…" not in labels and "ICT…" not in labels
    assert "Procurement" in labels and "ICT and digital" in labels


def test_a_council_since_abolished_is_said_so_on_its_arrangements_page(
    real_client: FlaskClient, real_app: Flask
) -> None:
    """Devon and Somerset Trading Standards (2013) listed a partner "Somerset", "named in the
    source as" Somerset, with nothing to say the source meant Somerset County Council (the
    download said "Somerset County Council (now Somerset)"); Taunton Deane, in Southwest One,
    was not said to be gone either."""
    state = real_app.extensions["recommender"]
    rows = reg.query(reg.Filters(body="Somerset"), settings=state.settings,
                     directory=state.directory)  # fmt: skip
    (trading,) = [a for a in rows if a["name"] == "Devon and Somerset Trading Standards Service"]
    (southwest,) = [a for a in rows if a["name"].startswith("Southwest One")]
    for found, said in (
        (trading, ["Somerset (Somerset County Council, since abolished: Somerset covers its"]),
        (southwest, ["Taunton Deane (since abolished: Somerset covers its area)",
                     "Somerset (Somerset County Council, since abolished: Somerset covers"]),
    ):  # fmt: skip
        page = real_client.get(f"/arrangements/{found['id']}").get_data(as_text=True)
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
        for words in said:
            assert words in text.replace("( ", "(").replace(" )", ")"), (words, found["id"])
    devon = real_client.get(f"/arrangements/{trading['id']}").get_data(as_text=True)
    assert "Devon <span" not in devon  # (a council of today: nothing added)


def test_score_says_who_already_shares_what_as_recommend_does(
    real_app: Flask, tmp_path: Path
) -> None:
    """`score` read the network the model was trained on: Cherwell and West Northamptonshire
    "existing" for customer services (likelihood 0, £0 expected), where the team of Cherwell
    and South Northamptonshire has ended and `recommend` suggests the pair, with its figures;
    and the other pairs' likelihoods differed with it."""
    import pandas as pd

    out = tmp_path / "scores.parquet"
    done = CliRunner(env=_cli_env(real_app)).invoke(cli, ["score", "--out", str(out)])
    assert done.exit_code == 0, done.output
    scores = pd.read_parquet(out)
    model = real_app.extensions["recommender"].models.require()
    for body, service in (("E07000177", "customer_services"), ("E07000203", "customer_services")):
        mine = scores[(scores["body_code"] == body) & (scores["service"] == service)]
        listed = model.recommend(
            Query(body, service=service, k=50, min_choice=0, include_existing=True)
        )
        assert listed
        for r in listed:
            row = mine[mine["partner_code"] == r.partner_code].iloc[0]
            assert bool(row["existing"]) == r.existing, (body, r.partner_code)
            if not r.existing:
                assert row["likelihood"] == pytest.approx(r.likelihood, abs=1e-4), r.partner_code
    cherwell = scores[(scores["body_code"] == "E07000177") & (scores["partner_code"] == "E06000062")
                      & (scores["service"] == "customer_services")].iloc[0]  # fmt: skip
    assert not cherwell["existing"] and cherwell["likelihood"] > 0
