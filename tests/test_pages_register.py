"""The explorer, an arrangement's page, the model page and the HTML error pages (test client)."""

from __future__ import annotations

import gzip
import html
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from browser_fixtures import field_error, synthetic_evaluation
from recommender.core.config import Settings
from recommender.core.sources import SOURCE_KINDS, source_host, source_kind
from recommender.model.evaluation import Evaluation
from recommender.model.patterns import pair_label
from recommender.model.shape import QUERY_TITLES
from recommender.model.verdicts import judge, verdicts
from recommender.model.verdicts import readable as _readable
from recommender.register import records as reg
from recommender.render.briefing import briefing_document
from recommender.render.charts import money
from recommender.webapp.views_model import JUDGED_WORDS, PROTOCOL_WORDS
from recommender.webapp.views_register import PAGE_SIZE
from service_fixtures import AppFactory, build_app


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _register(app: Flask, **filters: Any) -> list[dict[str, Any]]:
    current = app.extensions["recommender"]
    return reg.query(reg.Filters(**filters), settings=current.settings, directory=current.directory)


ROW = re.compile(r'<th scope="row" data-label="Arrangement"><a href="/arrangements/([^"]+)"')


def _row_ids(page: str) -> list[str]:
    return ROW.findall(page)


# The explorer ------------------------------------------------------------------------------


def _map(page: str) -> str:
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="rec-map"') :]
    return svg[: svg.index("</svg>")]


MARK = re.compile(r'<g data-code="([^"]+)"><title>[^<]*?: (\d+) real arrangements?')


def _marks(svg: str) -> dict[str, int]:
    """Each body marked on the explorer's map, and the real arrangements its title counts."""
    return {code: int(n) for code, n in MARK.findall(svg) if int(n)}


def _member_counts(found: list[dict[str, Any]]) -> dict[str, int]:
    from collections import Counter

    return dict(
        Counter(c for a in found for c in {m["body_code"] for m in a["members"] if m["body_code"]})
    )


def test_explorer_lists_the_register_a_page_at_a_time(client: FlaskClient, app: Flask) -> None:
    everything = _register(app)
    page = _text(client.get("/arrangements"))
    assert f"{len(everything):,} arrangements; showing 1 to {PAGE_SIZE}." in page
    assert _row_ids(page) == [a["id"] for a in everything[:PAGE_SIZE]]
    second = _text(client.get("/arrangements?page=2"))
    assert _row_ids(second) == [a["id"] for a in everything[PAGE_SIZE : 2 * PAGE_SIZE]]
    assert 'rel="prev" href="/arrangements"' in second and 'aria-current="page"' in second
    # The map marks every body of the arrangements found, sized by how many it is in, and
    # draws lines for this page's arrangements only; no links inside the image (the script
    # makes it clickable), so no tab stops either.
    svg = _map(page)
    placed = [a["id"] for a in everything[:PAGE_SIZE] if any(m["body_code"] for m in a["members"])]
    assert re.findall(r'<g class="arrangement[^"]*" data-id="([^"]+)"', svg) == placed
    assert _marks(svg) == _member_counts(everything)
    assert 'role="img"' in svg and "<a " not in svg
    assert 'data-map-link="/arrangements/__ID__"' in page
    assert f'<tr data-id="{everything[0]["id"]}"' in page  # pointing at a row picks it out


@pytest.mark.parametrize("filters", [{}, {"origin": "simulated"}, {"origin": "all"}])
def test_explorer_of_a_large_register_pages_and_draws_a_bounded_map(
    large_app: Flask, app: Flask, filters: dict[str, str]
) -> None:
    """3,000 more arrangements: the explorer still lists 25 a page (any page, counted in the
    database), its table by service counts them all, and the map marks each body once (sized
    by all the arrangements it is in) and draws the lines of this page's only, so the page
    hardly grows with the register."""
    from collections import Counter

    everything = _register(large_app, **filters)
    pages = -(-len(everything) // PAGE_SIZE)
    client = large_app.test_client()
    last = _text(client.get("/arrangements", query_string=filters | {"page": pages}))
    assert _row_ids(last) == [a["id"] for a in everything[(pages - 1) * PAGE_SIZE :]]
    assert f"{len(everything):,} arrangements; showing {(pages - 1) * PAGE_SIZE + 1} to" in last
    page = _text(client.get("/arrangements", query_string=filters))
    assert _row_ids(page) == [a["id"] for a in everything[:PAGE_SIZE]]
    svg = _map(page)
    assert len(re.findall(r'<g class="arrangement[^"]*" data-id=', svg)) <= PAGE_SIZE
    real = [a for a in everything if not a["simulated"]]
    assert _marks(svg) == _member_counts(real)
    by_service = Counter(a["service"] for a in everything)
    for service, count in by_service.items():
        assert re.search(rf'service={service}[^"]*">[^<]+</a></th><td class="num">{count:,}<', page)
    small = _map(_text(app.test_client().get("/arrangements", query_string=filters)))
    assert len(svg) < 1.5 * len(small)  # many times the arrangements, a little more drawing
    assert len(page) < 400_000


def test_the_savings_by_service_never_add_simulated_figures_to_real_ones(
    client: FlaskClient, app: Flask
) -> None:
    """With simulated arrangements shown, "Legal services 13 · Real 3 · £455k" summed ten
    simulated figures beside three real arrangements with none."""
    everything = _register(app, origin="all")
    service = max(
        {a["service"] for a in everything},
        key=lambda s: sum(
            a["annual_savings_gbp"] is not None and a["simulated"]
            for a in everything
            if a["service"] == s
        ),
    )
    rows = [a for a in everything if a["service"] == service]
    real = sum(a["annual_savings_gbp"] or 0 for a in rows if not a["simulated"])
    simulated = sum(a["annual_savings_gbp"] or 0 for a in rows if a["simulated"])
    assert simulated > 0
    page = _text(client.get(f"/arrangements?origin=all&service={service}"))
    row = page[page.index("<caption>By service</caption>") :].split("</tr>")[1]
    assert f'<span class="muted block">{money(simulated)} simulated</span>' in row
    assert (money(real) if real else "none") in row


def test_a_running_arrangement_says_running_and_whether_its_source_says_so(
    client: FlaskClient, app: Flask
) -> None:
    """The explorer's Status filter lists an arrangement as running, and its page said
    "unknown" (or "active", for a simulated one): it now says running, and, where the source
    gives no status, that none says it has ended."""
    every = _register(app, origin="all")
    unknown = next(a for a in every if a["status"] == "unknown" and not a["simulated"]
                   and reg.status_said(a) == "running")  # fmt: skip
    active = next(a for a in every if a["status"] == "active" and reg.status_said(a) == "running")
    page = html.unescape(_text(client.get(f"/arrangements/{unknown['id']}")))
    assert (
        '<dt>Status</dt><dd>running<span class="muted block" id="status-unsaid">Its source gives'
        " no status, and none says it has ended.</span>"
    ) in page
    page = _text(client.get(f"/arrangements/{active['id']}"))
    assert "<dt>Status</dt><dd>running</dd>" in page and "status-unsaid" not in page


def test_the_savings_note_says_a_simulated_figure_has_no_source(client: FlaskClient) -> None:
    """With simulated arrangements shown, the note said every figure was "as its source gives
    it": a simulated figure has no source, and is no saving made."""

    def note(origin: str) -> str:
        page = _text(client.get(f"/arrangements?origin={origin}"))
        return page[page.index('id="savings-note"') :].split("</p>")[0]

    # each figure as it is read: a projection or a total divided by its years is no yearly
    # saving its source gave (the totals add figures read from different bases)
    assert (
        "Each real figure read as a yearly one: as its source gives it where that is a year,"
        " else a projection or a total divided by its years"
    ) in note("real")
    assert "simulated" not in note("real")
    # What the totals add: the ended and the merged too, unlike the home page's running ones.
    assert "Those since ended, and those between bodies now one, are added in" in note("real")
    running = _text(client.get("/arrangements?status=running"))
    assert "are added in; the home page" not in running.split('id="savings-note"')[1]
    for origin in ("all", "simulated"):
        assert "each simulated one as the simulation drew it, never a saving made" in note(origin)


def test_the_savings_by_service_say_how_many_real_arrangements_have_a_figure(
    client: FlaskClient, app: Flask
) -> None:
    """A row "Finance and audit · 26 · £3k" read as 26 arrangements saving £3k a year between
    them; the £3k is one arrangement's figure, and the row now says so. That £3k was a
    proposal's, which never ran: a proposal's figure is not added in, and the note says how
    many were left out."""
    real = [a for a in _register(app) if not a["simulated"]]
    page = _text(client.get("/arrangements"))
    table = page[page.index("<caption>By service</caption>") :].split("</table>")[0]
    proposals = [a for a in real if a["proposed"] and a["annual_savings_gbp"] is not None]
    note = page[page.index('id="savings-note"') :].split("</p>")[0]
    assert ("only proposed are not added in" in note) == (len(proposals) > 1)
    checked = 0
    for service in {a["service"] for a in real}:
        rows = [a for a in real if a["service"] == service]
        figures = [
            a["annual_savings_gbp"]
            for a in rows
            if a["annual_savings_gbp"] is not None and not a["proposed"]
        ]
        row = next(r for r in table.split("</tr>") if f"service={service}" in r)
        if figures:
            assert money(sum(figures)) in row
            assert f"{len(figures):,} of {len(rows):,} with a figure" in row
            checked += 1
        else:
            assert "none" in row and "with a figure" not in row
    assert checked >= 5


def test_explorer_rows_show_partners_savings_and_source(client: FlaskClient, app: Flask) -> None:
    real = [a for a in _register(app) if a["savings_basis"] == "to_date"]
    assert real, "the register has a real arrangement with savings to date"
    shown = real[0]
    page = _text(client.get(f"/arrangements?service={shown['service']}"))
    start = page.index(f'data-label="Arrangement"><a href="/arrangements/{shown["id"]}"')
    row = page[start:].split("</tr>")[0]
    assert money(shown["savings_gbp"]) in row and "to date" in row
    assert f"about {money(shown['annual_savings_gbp'])} a year" in row
    assert f'href="{html.escape(shown["source"])}"' in row and 'tag-real">real' in row
    # its source's host, which a narrow column breaks after a dot, not inside a word
    host = urlsplit(shown["source"]).netloc.removeprefix("www.")
    assert f">{host.replace('.', '.<wbr>')}</a>" in row
    for member in shown["members"]:
        assert html.escape(member["name"]) in row
    assert "tag-sim" not in page and "simulated-notice" not in page
    simulated = _text(client.get("/arrangements?origin=simulated"))
    assert "simulated · not real</span>" in simulated and "tag-real" not in simulated
    assert 'id="simulated-notice"' in simulated and 'class="row-sim"' in simulated


@pytest.mark.parametrize(
    "filters",
    [
        {"service": "legal"},
        {"region": "South East"},
        {"body": "Rother"},
        {"body": "Forest Heath"},  # abolished: its successor's arrangements
        {"service": "procurement", "origin": "simulated"},
        {"body": "Rother", "origin": "all"},
        {"status": "ended"},
        {"status": "proposed"},
        {"status": "running", "region": "South East"},
        {"order": "newest"},
        {"order": "savings", "origin": "all"},
    ],
)
def test_explorer_filters_match_the_register(
    client: FlaskClient, app: Flask, filters: dict[str, Any]
) -> None:
    expected = _register(app, **filters)
    args = dict(filters)
    page = _text(client.get("/arrangements", query_string=args))
    status = f"{args['status']} " if "status" in args else ""  # "23 proposed arrangements"
    if args.get("status") == "ended":  # some only past a limited term: not said ended
        ended = len(expected)
        assert f"{ended:,} arrangement{'s' * (ended != 1)} ended or past a limited term" in page
    else:
        assert f"{len(expected):,} {status}arrangement" in page
    assert _row_ids(page) == [a["id"] for a in expected[:PAGE_SIZE]]
    for name, value in args.items():
        if name in ("body",):
            assert f'value="{value}"' in page
    for name in ("status", "order"):  # the choice stays chosen, and the downloads keep it
        if name not in args:
            continue
        assert f'<option value="{args[name]}" selected>' in page
        link = re.search(r'href="(/api/v1/arrangements\.csv\?[^"]*)"', page)
        assert link is not None
        query = parse_qs(urlsplit(html.unescape(link.group(1))).query)
        assert query == {key: [value] for key, value in args.items()}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("region=Atlantis", "region", "No English region is called &#39;Atlantis&#39;"),
        (
            "service=legel",
            "service",
            "Choose a service from the list: &#39;legel&#39; is not one of the",
        ),
        ("body=Nowhereshire", "body", "No public body matches &#39;Nowhereshire&#39;"),
        ("origin=maybe", "origin", "Choose real arrangements, simulated training data or both"),
        ("status=gone", "status", "Choose a status from the list: running, ended, only propos"),
        ("order=cost", "order", "Choose an order from the list: by id, by name, newest"),
    ],
)
def test_explorer_bad_filters_are_400_next_to_the_field(
    client: FlaskClient, query: str, field: str, message: str
) -> None:
    response = client.get(f"/arrangements?{query}")
    assert response.status_code == 400
    page = _text(response)
    assert message in str(field_error(page, field))
    assert not _row_ids(page)


def test_explorer_pages_out_of_range(client: FlaskClient) -> None:
    assert client.get("/arrangements?page=abc").status_code == 400
    beyond = client.get("/arrangements?page=9999")
    assert beyond.status_code == 404 and "There is no page 9999" in _text(beyond)


def test_arrangement_page(client: FlaskClient, app: Flask) -> None:
    (hub,) = [a for a in _register(app, body="Rother") if "Procurement Hub" in a["name"]]
    page = _text(client.get(f"/arrangements/{hub['id']}"))
    assert f"<h1>{html.escape(hub['name'])}</h1>" in page
    for member in hub["members"]:
        assert f'href="/bodies/{member["body_code"]}">{html.escape(member["name"])}</a>' in page
    assert f'href="{html.escape(hub["source"])}"' in page
    # Its description and its source: a link named by its host, with what kind of source it is.
    note = hub["note"][:1].upper() + hub["note"][1:]
    assert f'<p class="lead" id="description">{note}</p>' in html.unescape(page)
    host = source_host(hub["source"])
    kind = SOURCE_KINDS[source_kind(hub["source"])]
    assert f'rel="noopener noreferrer">{host}</a>, {kind}.</p>' in page
    # The map names every member, each filled on it.
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg
    for member in hub["members"]:
        assert f'data-code="{member["body_code"]}" class="suggested"' in svg
        assert f">{html.escape(member['name'])}</text>" in svg
    assert "Member</li>" in page  # the legend says what the coloured areas are
    assert f'href="/arrangements?service={hub["service"]}"' in page


def test_a_simulated_arrangements_page_is_marked_so_to_its_title(
    client: FlaskClient, app: Flask
) -> None:
    """A simulated arrangement's page said so in its body, but its title (what a tab, a
    bookmark and a search show) was the name alone, and its partners were "named in the
    source as", where it has no source."""
    simulated = _register(app, origin="simulated")[0]
    page = _text(client.get(f"/arrangements/{simulated['id']}"))
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and "(simulated · not real)" in html.unescape(title.group(1))
    assert "Named in the simulated row as" in page and "Named in the source as" not in page
    real = _register(app)[0]
    page = _text(client.get(f"/arrangements/{real['id']}"))
    assert "simulated" not in re.search(r"<title>(.*?)</title>", page, re.S).group(1)  # type: ignore[union-attr]
    assert "Named in the source as" in page


def test_unknown_arrangement_suggests_close_ids(client: FlaskClient, app: Flask) -> None:
    ident = _register(app)[0]["id"]
    response = client.get(f"/arrangements/{ident[:-1]}")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert f'href="/arrangements/{ident}"' in _text(response)


# The model page ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluated_app(
    trained_settings: Settings, evaluated_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    return build_app(tmp_path_factory.mktemp("pages-evaluated"), trained_settings, evaluated_models)


def test_model_page_charts_the_evaluation_against_baselines(evaluated_app: Flask) -> None:
    page = _text(evaluated_app.test_client().get("/model"))
    assert page.count("The model also learns from a simulated register") == 1  # it said it twice
    figures = next(r["n"] for r in synthetic_evaluation()["savings"] if r["method"] == "model")
    assert (  # not 300; nor every real one with a figure (62): those with two known members
        "partner choice and shared history are learned from those with two or more members that"
        f" are bodies it covers; savings from the {figures} of those with an annual savings"
        " figure that ran, not only proposed" in page
    )
    model = evaluated_app.extensions["recommender"].models.recommender
    assert model is not None and f"Model {model.version}" in page
    chart = page[page.index('class="rec-chart"') :].split("</svg>")[0]
    assert 'data-series="The product (by expected savings)" data-category="MRR"' in chart
    assert 'data-series="Nearest by distance"' in chart and "likelihood alone" not in chart
    evaluation = synthetic_evaluation()
    ranking = evaluation["ranking"]
    held = next(r for r in ranking if (r["protocol"], r["query"], r["pair_kind"], r["method"])
                == ("lopo", "service", "all", "model"))  # fmt: skip
    assert f"<title>The product (by expected savings), MRR: {held['mrr']:.2f}</title>" in chart
    # The tables: every protocol and query over all pair kinds, the headline by pair kind.
    tables = page[page.index("Every protocol") : page.index("The factors that")]
    shown = [
        r
        for r in ranking
        if r["pair_kind"] == "all" or (r["protocol"], r["query"]) == ("lopo", "service")
    ]
    heads = 3  # one head row for each table
    rows = tables.count("<tr") - tables.count('<tr class="group">') - heads
    assert rows == len(shown) + len(evaluation["savings"])
    models = sum(str(r["method"]).startswith("model") for r in shown) + 1
    assert tables.count('<tr class="is-model">') == models
    assert "Leave one partnership out (the headline), service given" in page
    # Each pair kind's group in words, not its id ("fire-police"; "council-health" read so)
    assert "fire–police <span" in tables and "fire-police" not in tables
    for line in map(_readable, verdicts(Evaluation.from_dict(evaluation))):
        assert html.escape(line[:1].upper() + line[1:]) in page
    # The factors and the data it learnt from.
    for factor in model.describe()["importance"][:3]:
        assert html.escape(factor["label"][:1].upper() + factor["label"][1:]) in page
    register = model.describe()["register"]
    assert f"{register['real']:,} real, documented arrangements" in page
    assert register["hash"] in page


def test_model_page_gives_the_verdicts_at_a_glance(evaluated_app: Flask) -> None:
    """Some thirty verdicts, each a long sentence with every measure, were the only way to read
    what the evaluation says. A table gives each protocol, question and pair kind its verdict
    and the product's MRR beside the best other method's; the sentences are kept, folded."""
    page = _text(evaluated_app.test_client().get("/model"))
    table = page[page.index('<table class="table glance sticky-first">') :].split("</table>")[0]
    table = html.unescape(table)
    found = judge(Evaluation.from_dict(synthetic_evaluation()))
    assert found
    rows = table.split("<tr>")[1:]  # the head row, then one for each verdict
    assert len(rows) == len(found) + 1
    for v in found:
        title = f"{PROTOCOL_WORDS[v.protocol]}: {QUERY_TITLES[v.query]}"
        group = table[table.index(title) :].split("</tbody>")[0]
        pairs = pair_label(v.pair_kind)
        row = next(r for r in group.split("<tr>") if f'<th scope="row">{pairs}</th>' in r)
        assert f'<td class="num">{v.arrangements:,}</td>' in row
        words, mark = JUDGED_WORDS[v.judged]
        assert f'<span class="verdict {mark}">{words}</span>' in row
        assert f"{v.mrr:.3f}" in row and f"{v.rival_mrr:.3f}" in row
        assert ("too few to judge firmly" in row) == v.few
    folded = page[page.index('<details class="verdict-lines">') :].split("</details>")[0]
    assert folded.count("<li>") == len(verdicts(Evaluation.from_dict(synthetic_evaluation())))
    # The pair kinds with no held-out arrangement are named, where the page said nothing of
    # them and a body's list, which does, sends its reader here for "the whole evaluation".
    untested = html.unescape(page.split('<p id="untested-kinds">')[1].split("</p>")[0])
    assert untested.startswith(  # councils' pairs first, not the ids' alphabet
        "Between a council and a fire and rescue authority, between a council and a police force, "
    )
    assert "between two NHS bodies" in untested and "the model's alone, untested" in untested
    assert "two police forces" not in untested and "two councils" not in untested
    assert "–" not in untested  # the kinds in words, not their ids ("combined–council")


def test_model_page_says_how_good_suggestions_are_for_a_body_with_no_history(
    evaluated_app: Flask,
) -> None:
    page = html.unescape(_text(evaluated_app.test_client().get("/model")))
    rows = {
        (r["protocol"], r["method"]): r
        for r in synthetic_evaluation()["ranking"]
        if (r["query"], r["pair_kind"]) == ("service", "all")
    }
    start, headline = rows[("cold_start", "model")], rows[("lopo", "model")]
    line = page[page.index("For a body with no history of its own") :].split("</p>")[0]
    assert f"top ten {100 * start['hit@10']:.0f}% of the time (MRR {start['mrr']:.3f})" in line
    assert f"against {100 * headline['hit@10']:.0f}% (MRR {headline['mrr']:.3f})" in line
    best = max(
        (r for (p, m), r in rows.items() if p == "cold_start" and not m.startswith("model")),
        key=lambda r: r["mrr"],
    )
    assert f"(MRR {best['mrr']:.3f})" in line
    beaten = best["mrr"] >= start["mrr"]
    assert ("the product does not beat it for a body with no history" in line) == beaten
    assert "above this floor" not in line  # nothing measured says inherited history helps
    assert "A body with no history (each body's whole history hidden), service given" in page


def test_model_page_says_what_shared_history_adds_or_costs(evaluated_app: Flask) -> None:
    """The headline hides each held-out partner's ties, so the product's history term can only
    cost there: the page says by how much, and what it adds as served, from the evaluation."""
    page = html.unescape(_text(evaluated_app.test_client().get("/model")))
    said = page[page.index('id="history-said"') :].split("</span>")[0]
    assert "The product's shared-history term, by MRR with the service given" in said
    assert "in the headline it costs 0.016 (MRR 0.604 with it, 0.620 without)" in said
    assert "as served it adds 0.015 (MRR 0.604 with it, 0.589 without)" in said
    chart = page[page.index('class="chart-figure"') :].split("</figure>")[0]
    assert "without shared history" not in chart  # a row of the tables, not a baseline's bar


def test_model_page_counts_the_arrangements_held_out_and_names_the_history_rule(
    evaluated_app: Flask,
) -> None:
    """Not "each documented arrangement": only those with two members on the reference list
    can be held out, and not every one of them leaves a partner to rank."""
    page = html.unescape(_text(evaluated_app.test_client().get("/model")))
    assert "Each documented arrangement is held out" not in page
    assert "Of the 300 documented arrangements, the 274 with two or more members" in page
    assert (
        "(19 of them only proposed: the partners a proposal names are a documented choice of "
        "partner, though it never ran) are held out one at a time, each with its whole"
    ) in page
    assert "(273 of them leave a real partner that could be suggested" in page
    assert "2 of the headline's arrangements rank nothing there" in page
    served = page[page.index("Leave one partnership out, as served, service given") :]
    served = served.split("</tbody>")[0]
    assert "Already works with it, then nearest" in served
    headline = page[page.index("Leave one partnership out (the headline), service given") :]
    assert "Already works with it" not in headline.split("</tbody>")[0]


def test_model_page_says_what_its_figures_rest_on(evaluated_app: Flask) -> None:
    """The intervals resample 86 partnerships, every figure cited 274 arrangements and the 86
    were shown nowhere; a table of simulated results sat under the caption "Ranking real
    partners of held-out arrangements"; the chart set the product "against each rule
    (greys)", coloured, the plain regression among them; "MAE (log) 1.29" was left for an
    officer to read; the briefing cited the 274 alone."""
    page = html.unescape(_text(evaluated_app.test_client().get("/model")))
    assert "They come from 86 partnerships: a partnership's arrangements are not independent" in (
        page
    )
    assert "the figures rest on 86 independent cases more than on 274." in page
    assert (
        "Ranking the partners of held-out arrangements, by protocol and query: real "
        "arrangements, then simulated ones, a check of the simulator, not evidence"
    ) in page
    assert "Ranking real partners of held-out arrangements" not in page
    assert "The product (blue) against each simple rule and the plain regression (a colour" in page
    assert "against rules" not in page and "(greys)" not in page
    assert "the product's 1.29 means its estimate is typically off by a factor of about " in page
    assert f"about {math.exp(1.29):.1f}, up or down" in page
    model = evaluated_app.extensions["recommender"].models.require()
    document = " ".join(
        html.unescape(briefing_document(model, "E07000064", fmt=".html").decode()).split()
    )
    assert (
        "held out with their whole partnership (86 partnerships, the independent cases; 19 of "
        "the arrangements only proposed, a documented choice of partner that never ran)"
    ) in document


def test_a_body_page_says_where_the_models_evaluation_does_not_back_its_order(
    evaluated_app: Flask,
) -> None:
    client = evaluated_app.test_client()
    rows = {
        (r["query"], r["method"]): r["mrr"]
        for r in synthetic_evaluation()["ranking"]
        if (r["protocol"], r["pair_kind"]) == ("lopo", "police-police")
    }
    # Judged as the list was asked: every service (the default list), or the one given (among
    # every kind: among police forces alone the model leads).
    for url, query in [("/bodies/E23000033?k=40", "any"),
                       ("/bodies/E23000033?k=40&service=ict", "service")]:  # fmt: skip
        police = html.unescape(_text(client.get(url)))
        said = police[police.index("How far to trust the order") :].split("</p>")[0]
        assert "between two police forces, the model ranked real partners no better than" in said
        mine, theirs = rows[(query, "model")], rows[(query, "plain_logit")]
        assert f"(real register)” (mean reciprocal rank {mine:.3f} against {theirs:.3f}, 7 " in said
        assert "too few to judge firmly" in said
    # The model beats every rule for council–council pairs; a council's list also shows
    # partners of kinds this evaluation held out no arrangement of: said to be untested.
    council = html.unescape(_text(client.get("/bodies/E07000064?k=40")))
    said = council[council.index("How far to trust the order") :].split("</p>")[0]
    assert "no better than" not in said and "within the noise" not in said
    assert "Between a council and an NHS body, no documented arrangement" in said
    assert "no documented arrangement was there to hold out and test" in said
    assert "two councils" not in said
    # Police pairs it does not show are not warned about (a list of councils said police–police)
    councils = html.unescape(_text(client.get("/bodies/E23000033?kinds=council")))
    assert "two police forces" not in councils
    police = html.unescape(_text(client.get("/bodies/E23000033?kinds=police")))
    assert "two police forces" not in police and "How far to trust the order" not in police


def test_model_page_without_an_evaluation_says_so(client: FlaskClient) -> None:
    page = _text(client.get("/model"))
    # No evaluation chart (charts.py's are class="rec-…"; the importance bars are tiny SVGs).
    assert "trained without the held-out evaluation" in page and 'class="rec-' not in page
    assert "The factors that matter most" in page


def test_without_a_model_pages_say_how_to_train_one(bare_app: Flask) -> None:
    client = bare_app.test_client()
    model = client.get("/model")
    assert model.status_code == 503 and "No model is serving" in _text(model)
    assert "recommender train --promote" in _text(model)
    body = client.get("/bodies/E07000064")
    assert body.status_code == 503
    assert "Recommendations are unavailable" in _text(body) and "About Rother" in _text(body)
    briefing = client.get("/bodies/E07000064/briefing.pdf")
    assert briefing.status_code == 503 and briefing.mimetype == "text/html"
    assert client.get("/").status_code == 200 and client.get("/arrangements").status_code == 200


# Errors, escaping, compression -------------------------------------------------------------


def test_unknown_pages_are_html_404s_and_the_api_stays_json(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "There is no page at /no/such/page." in _text(page) and 'name="q"' in _text(page)
    api = client.get("/api/v1/no/such/route")
    assert api.status_code == 404 and api.json is not None and api.json["status"] == 404
    assert client.post("/model").status_code == 405
    assert client.post("/model").mimetype == "text/html"


def test_unknown_body_is_a_404_with_the_closest_bodies(client: FlaskClient) -> None:
    response = client.get("/bodies/Rothr")
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = _text(response)
    assert '<a href="/bodies/E07000064">Rother (E07000064)</a>' in page
    assert 'value="Rothr"' in page  # the search box offers to look again


@pytest.mark.parametrize(
    "path",
    [
        "/search?q=<script>alert(1)</script>",
        "/bodies/<script>alert(1)</script>",
        "/arrangements?body=<script>alert(1)</script>",
        "/arrangements/<script>alert(1)</script>",
        "/<script>alert(1)</script>",
    ],
)
def test_user_input_is_escaped(client: FlaskClient, path: str) -> None:
    page = _text(client.get(path))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_large_pages_are_compressed(client: FlaskClient) -> None:
    plain = client.get("/arrangements")
    packed = client.get("/arrangements", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.vary
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 3
    assert "Content-Encoding" not in client.get("/api/v1/health").headers


class _Audit(HTMLParser):
    """Collects ids, labels, form controls, headings and tables' captions of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self.controls: list[str] = []
        self.headings: list[int] = []
        self.tables = self.captions = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(str(found.get("id")))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        self.tables += tag == "table"
        self.captions += tag == "caption"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search?q=north",
        "/bodies/E07000064",
        "/bodies/E07000064?k=abc",
        "/arrangements",
        "/arrangements?region=Atlantis",
        "/model",
        "/no/such/page",
    ],
)
def test_pages_are_labelled_and_ordered(client: FlaskClient, path: str) -> None:
    audit = _Audit()
    audit.feed(_text(client.get(path)))
    assert len(audit.ids) == len(set(audit.ids)), "ids are unique"
    unlabelled = [c for c in audit.controls if c not in audit.labelled]
    assert not unlabelled, f"every control has a label: {unlabelled}"
    assert audit.headings[0] == 1 and audit.headings.count(1) == 1
    steps = [b - a for a, b in zip(audit.headings, audit.headings[1:], strict=False)]
    assert max(steps, default=0) <= 1, f"headings skip a level: {audit.headings}"
    assert audit.tables == audit.captions, "every table has a caption"


def test_a_simulated_arrangement_says_who_made_it(make_app: AppFactory, tmp_path: Path) -> None:
    """An analyst's simulated arrangement (its source https://sim.example) read "generated by
    the project's simulator"."""
    from recommender.register.records import import_file

    app = make_app()
    current = app.extensions["recommender"]
    made = _register(app, origin="simulated")[0]
    assert made["source"].startswith("simulated (recommender.simulation.process, seed=")
    path = tmp_path / "sim.csv"
    path.write_text(
        "id,name,service,start_year,end_year,status,savings_gbp,savings_basis,"
        "savings_period_years,savings_aim,source,note,simulated,partners\n"
        ",Analyst's what-if,legal,2020,,active,1000,annual,,,https://sim.example,,true,"
        "Rother; Wealden\n"
    )
    report = import_file(path, settings=current.settings, directory=current.directory)
    client = app.test_client()
    theirs = _text(client.get(f"/arrangements/{report.ids[0]}"))
    ours = _text(client.get(f"/arrangements/{made['id']}"))
    assert "imported as simulated by an analyst" in theirs and "simulator" not in theirs
    assert "generated by the project's simulator" in ours


def _imported(make_app: AppFactory, tmp_path: Path, text: str) -> tuple[Flask, list[str]]:
    """A fresh app, and the ids of the arrangements of the CSV ``text`` imported into it."""
    from recommender.register.records import import_file

    app = make_app()
    current = app.extensions["recommender"]
    path = tmp_path / "imported.csv"
    path.write_text(text)
    return app, import_file(path, settings=current.settings, directory=current.directory).ids


def test_an_arrangement_said_ended_without_its_year_reads_as_ended(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """Imported as ended with no end year, an arrangement was listed by the explorer with its
    start year alone: read as running (its own page says its status)."""
    app, (gone, going) = _imported(
        make_app,
        tmp_path,
        "name,service,start_year,status,end_year,savings_basis,partners,source\n"
        "Gone,legal,2015,ended,,unknown,Rother; Hastings,https://example.org/gone\n"
        "Going,procurement,2016,active,,unknown,Rother; Wealden,https://example.org/going\n",
    )
    client = app.test_client()
    assert "<dt>Status</dt><dd>ended</dd>" in _text(client.get(f"/arrangements/{gone}"))
    explorer = client.get("/arrangements?body=Rother").get_data(as_text=True)
    rows = {i: explorer.split(f'<tr data-id="{i}"')[1].split("</tr>")[0] for i in (gone, going)}
    assert "from 2015, since ended" in rows[gone] and "from 2016<" in rows[going]


@pytest.mark.parametrize(
    ("name", "status"),
    [("Shared legal business case (proposal)", ""), ("Shared legal business case", "proposed")],
    ids=["named", "status"],
)
def test_an_arrangement_imported_as_a_proposal_is_never_stated_as_a_partnership(
    make_app: AppFactory, tmp_path: Path, name: str, status: str
) -> None:
    """An analyst records a business case as the register README says, with the status
    'proposed' or its name ending "(proposal)": it is listed as proposed, and its members are
    not said to share the service (Hastings stays a suggestion for Rother's legal services, as
    after an active one it would not), nor is it offered to join."""
    app, (ident,) = _imported(
        make_app,
        tmp_path,
        "name,service,start_year,status,savings_basis,partners,source\n"
        f"{name},legal,2020,{status},unknown,Rother; Hastings,https://example.org/case\n",
    )
    current = app.extensions["recommender"]
    client = app.test_client()
    explorer = client.get("/arrangements?body=Rother").get_data(as_text=True)
    row = explorer.split(f'<tr data-id="{ident}"')[1].split("</tr>")[0]
    assert "proposed in 2020" in row
    assert "(1 was only proposed)" in client.get("/bodies/E07000062").get_data(as_text=True)
    sharing = reg.running_partnerships(settings=current.settings)
    assert not any(service == "legal" and {"E07000062", "E07000064"} <= set(codes)
                   for service, codes in sharing)  # fmt: skip
    asked = "/api/v1/bodies/Rother/recommendations?service=legal&k=50&min_choice=0"
    partners = {s["partner_code"]: s for s in client.get(asked).json["recommendations"]}
    assert partners["E07000062"]["existing"] is False  # Hastings: suggested, not "sharing"
    joins = client.get("/api/v1/bodies/Wealden/arrangements-to-join?service=legal").json
    assert ident not in {o["arrangement"]["id"] for o in joins["options"]}
