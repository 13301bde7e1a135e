"""The pages through Flask's test client: home, search, a body's page, its feedback and briefing.

Everything here works without JavaScript: filters are query parameters, feedback a form POST
that redirects back. The figures on the pages are checked against the domain's own answers.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from browser_fixtures import field_error
from model_fixtures import trained_before
from recommender.core.config import Settings
from recommender.core.sources import MYSOCIETY_ATTRIBUTION, ONS_ATTRIBUTION
from recommender.recommend import feedback
from recommender.recommend.query import CHOICE_FLOOR
from recommender.recommend.ranking import Query, Recommender
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.render import charts
from recommender.render.charts import money
from service_fixtures import AppFactory

# The real data/, named: these tests check the committed reference and register.
REAL = Settings.from_env()

ROTHER = "E07000064"


def _model(app: Flask) -> Recommender:
    model = app.extensions["recommender"].models.recommender
    assert model is not None
    return model


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _rows(page: str) -> list[tuple[str, str]]:
    """(partner code, service) of each suggestion row, in order."""
    return re.findall(r'<tr id="s-[^"]+" data-partner="([^"]+)" data-service="([^"]+)"', page)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/", "Find partners to share services with"),
        ("/search?q=Rothe", "Bodies matching “Rothe”"),
        (f"/bodies/{ROTHER}", "Suggested partners for Rother, best first"),
        ("/arrangements", "Shared-service arrangements"),
        ("/model", "How good are the suggestions?"),
    ],
)
def test_every_page_renders_with_the_layout(client: FlaskClient, path: str, text: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = _text(response)
    assert text in page
    assert '<html lang="en-GB">' in page
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in page
    assert '<main id="main"' in page and page.count("<h1") == 1
    for line in (ONS_ATTRIBUTION, MYSOCIETY_ATTRIBUTION):
        assert html.escape(line) in page
    # Offline: every stylesheet and script comes from the app itself.
    assert not re.search(r'<(link|script)[^>]+(href|src)="(https?:)?//', page)


def test_static_files_are_served(client: FlaskClient) -> None:
    with client.get("/static/site.css") as css, client.get("/static/app.js") as js:
        assert css.status_code == 200 and css.mimetype == "text/css"
        assert js.status_code == 200 and "javascript" in js.mimetype
        assert b"@media (max-width: 48rem)" in css.data and b'role", "combobox"' in js.data


def test_home_figures_are_counted_from_the_real_register(client: FlaskClient, app: Flask) -> None:
    settings = app.extensions["recommender"].settings
    real = reg.query(settings=settings, directory=app.extensions["recommender"].directory)
    assert real and not any(a["simulated"] for a in real)
    said = {a["id"]: reg.status_said(a) for a in real}
    running = [a for a in real if said[a["id"]] not in ("ended", "proposed", "merged")]
    # a proposal: no one took part; between bodies now one: no body with another
    ran = [a for a in real if said[a["id"]] not in ("proposed", "merged")]
    # the bodies in one themselves (not only through a body gone that they succeed)
    bodies = {m["body_code"] for a in ran for m in a["members"] if m["body_code"]
              and not reg.former(m)}  # fmt: skip
    # The savings the running ones report: not a proposal's projection, nor an ended one's.
    figures = [a for a in running if a["annual_savings_gbp"] is not None]
    savings = sum(a["annual_savings_gbp"] for a in figures)
    projected = sum(a["annual_savings_gbp"] for a in figures if a["savings_basis"] == "projected")
    totals = sum(  # a total to date or cumulative, divided by its years: no yearly saving said
        a["annual_savings_gbp"] for a in figures if a["savings_basis"] in ("to_date", "cumulative")
    )
    page = _text(client.get("/"))
    assert f'<span class="figure">{len(real):,}</span>' in page
    counts = {s: sum(v == s for v in said.values()) for s in ("ended", "proposed", "merged")}
    assert counts["ended"] and counts["proposed"] and counts["merged"]  # the small world's
    # Between councils since merged into one: no partnership runs between them, nor counts.
    # Of the ended, those past a limited term their source gives are said apart: no source
    # says they ended (records.term_passed).
    term = sum(bool(a["term_passed"]) for a in real if said[a["id"]] == "ended")
    assert term  # the small world has one
    assert (
        f"{len(running):,} running (none says it has ended), {counts['merged']:,} between bodies "
        f"that have since merged into one, {counts['ended'] - term:,} since ended, {term:,} past "
        f"a limited term that no source says was renewed and {counts['proposed']:,} only proposed"
    ) in page
    assert f'<span class="figure">{len(bodies):,}</span>' in page
    assert f'<span class="figure">{money(savings)}</span>' in page
    assert f"read from the figures of the {len(figures):,} running ones that give one:" in page
    assert projected and totals  # the small world has both
    assert (
        f"{money(projected)} of it a projection rather than a saving made, {money(totals)} totals"
        " divided by their years"
    ) in page
    # Simulated arrangements are training data: never counted among the register's figures.
    assert " simulated</span>" not in page
    assert 'data-suggest-url="/api/v1/bodies/search"' in page  # for the script's suggestions


@pytest.mark.slow
def test_search_finds_names_aliases_and_abolished_councils(real_client: FlaskClient) -> None:
    page = _text(real_client.get("/search?q=Taunton"))
    assert "abolished" in page and "Taunton Deane Borough Council" in page
    (successor,) = reference.resolve("Taunton Deane", settings=REAL).codes
    assert f'href="/bodies/{successor}?from=Taunton+Deane+Borough+Council"' in page
    for fuzzy in ("Luton", "Arun", "Thanet"):
        assert f">{fuzzy}</a>" not in page
    split = _text(real_client.get("/search?q=Northamptonshire"))
    for code in reference.resolve("Northamptonshire", settings=REAL).codes:
        assert f'href="/bodies/{code}"' in split
    assert f'href="/bodies/{ROTHER}"' in _text(real_client.get("/search?q=e0700006"))
    nothing = _text(real_client.get("/search?q=zzqqxx"))
    assert "No public body matches “zzqqxx”" in nothing
    assert "Search for a body" in _text(real_client.get("/search"))


def test_search_lists_every_police_force_area_and_counts_what_it_lists(
    real_client: FlaskClient,
) -> None:
    """/search?q=police said "20 matches, best first" of some 40 police force areas, and
    Nottinghamshire's was never listed."""
    page = _text(real_client.get("/search?q=police"))
    police = reference.load_bodies(REAL)
    codes = police.index[police["kind"] == "police"]
    listed = [c for c in codes if f'href="/bodies/{c}"' in page]
    assert len(listed) == len(codes) and "E23000019" in listed  # Nottinghamshire
    count = int(re.search(r"<p>(\d+) matches, best first\.</p>", page).group(1))  # type: ignore[union-attr]
    assert count == page.count('class="result-link"') >= len(codes)
    many = _text(real_client.get("/search?q=E06"))  # the codes of some 60 unitaries
    assert "The 50 best of more than 50 matches; add a word to find the rest." in many


def test_did_you_mean_keeps_the_filters(client: FlaskClient) -> None:
    """/bodies/Rothr?service=legal&k=5 suggested Rother at /bodies/E07000064, filters lost."""
    response = client.get("/bodies/Rothr?service=legal&k=5")
    assert response.status_code == 404
    assert f'href="/bodies/{ROTHER}?service=legal&amp;k=5"' in response.text


def test_an_exact_name_opens_the_body(client: FlaskClient) -> None:
    assert client.get("/search?q=Rother").headers["Location"] == f"/bodies/{ROTHER}"
    assert client.get("/search?q=rother+district+council").headers["Location"] == (
        f"/bodies/{ROTHER}"
    )
    assert client.get("/search?q=E07000064").headers["Location"] == f"/bodies/{ROTHER}"
    # A name several bodies share ("Kent": a council, a fire and a police area) is a list.
    kent = client.get("/search?q=Kent")
    assert kent.status_code == 200 and "Bodies matching “Kent”" in _text(kent)


@pytest.mark.slow
def test_an_abolished_council_is_named_on_its_successors_page(real_client: FlaskClient) -> None:
    (bucks,) = reference.resolve("Aylesbury Vale", settings=REAL).codes
    response = real_client.get("/search?q=Aylesbury+Vale")
    assert response.headers["Location"] == f"/bodies/{bucks}?from=Aylesbury+Vale"
    page = _text(real_client.get(response.headers["Location"]))
    assert (
        '<p class="notice notice-info" id="former-note">Aylesbury Vale District Council was '
        "abolished in 2020; its area is now part of Buckinghamshire.</p>"
    ) in page
    # Only a name that really became this body: no note for a made-up or unrelated one.
    for other in ("Rother", "Taunton Deane", "<b>x</b>"):
        assert 'id="former-note"' not in _text(real_client.get(f"/bodies/{bucks}?from={other}"))


@pytest.mark.slow
def test_a_name_other_bodies_share_or_one_renamed_is_said_on_the_page(
    real_client: FlaskClient,
) -> None:
    """ "Durham" opened County Durham's page and said nothing of Durham police force area,
    whose name it is too; "Shepway" opened Folkestone and Hythe's with no word of the rename."""
    durham = real_client.get("/bodies/Durham")
    assert durham.headers["Location"] == "/bodies/E06000047?from=Durham"
    page = html.unescape(_text(real_client.get(durham.headers["Location"])))
    assert (
        '<p class="notice notice-info" id="former-note">“Durham” also names Durham police force '
        'area (<a href="/bodies/E23000008">E23000008</a>): ask for it by its code.</p>'
    ) in page  # the other body a click away
    shepway = real_client.get("/bodies/Shepway")
    assert shepway.headers["Location"] == "/bodies/E07000112?from=Shepway"
    page = _text(real_client.get(shepway.headers["Location"]))
    assert "Shepway was renamed Folkestone and Hythe." in page
    # A name only this body has says nothing; nor one that is another's only loosely ("Kent
    # Council" reads as Kent's key, but is no name of its police force area's).
    assert real_client.get("/bodies/Rother").headers["Location"] == f"/bodies/{ROTHER}"
    assert real_client.get("/bodies/Kent Council").headers["Location"] == "/bodies/E10000016"
    kent = real_client.get("/bodies/Kent").headers["Location"]
    assert kent == "/bodies/E10000016?from=Kent"


@pytest.mark.slow
def test_a_name_redirects_to_the_code_keeping_the_filters(real_client: FlaskClient) -> None:
    response = real_client.get("/bodies/Rother?service=legal&kinds=council&kinds=fire")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == f"/bodies/{ROTHER}"
    assert parse_qs(target.query) == {"service": ["legal"], "kinds": ["council", "fire"]}
    assert real_client.get("/bodies/e07000064").headers["Location"] == f"/bodies/{ROTHER}"
    # An abolished council resolves to its successor; one split in two asks which.
    (somerset,) = reference.resolve("Taunton Deane", settings=REAL).codes
    assert real_client.get("/bodies/Taunton Deane").headers["Location"] == (
        f"/bodies/{somerset}?from=Taunton+Deane"
    )
    split = real_client.get("/bodies/Northamptonshire")
    assert split.status_code == 302 and split.headers["Location"].startswith("/search?q=")


def test_body_page_shows_the_models_suggestions(client: FlaskClient, app: Flask) -> None:
    page = _text(client.get(f"/bodies/{ROTHER}"))
    expected = _model(app).recommend(Query(ROTHER))
    assert _rows(page) == [(r.partner_code, r.service) for r in expected]
    first = expected[0]
    said = first.reasons[0]
    assert said.direction == "raises"
    assert (
        '<li class="reason reason-raises"><span class="marker" aria-hidden="true">▲</span>'
        '<span class="visually-hidden">Raises it: </span>'
        + html.escape(said.text[:1].upper() + said.text[1:], quote=False)
    ) in page
    assert money(first.savings_low_gbp) in page and money(first.savings_high_gbp) in page
    assert first.evidence[0]["name"] in html.unescape(page)
    assert page.count("data-feedback") == len(expected)  # a feedback control on each
    assert page.count('<th scope="col"') >= 7 and "<caption>" in page
    # The map: Rother highlighted, its suggested partners shaded, described in words.
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg and "<desc" in svg and "<a " not in svg  # an image: no links
    assert 'data-map-link="/bodies/__CODE__"' in page  # for the script
    assert f'data-code="{ROTHER}" class="focal"' in svg
    assert f'data-code="{first.partner_code}" class="suggested"' in svg
    assert f'href="/bodies/{ROTHER}/briefing.pdf"' in page
    # Facts and the body's own arrangements in the register.
    assert f"{reference.body(ROTHER, REAL)['population']:,.0f}" in page
    assert "East Sussex Procurement Hub" in html.unescape(page)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "fact"),
    [
        ("E06000052", "Runs the fire and rescue service (Cornwall Fire and Rescue Authority)"),
        ("E31000008", "Run by Cornwall Council"),
        ("E31000015", "Governed by the Police, Fire and Crime Commissioner for Essex since 2017"),
    ],
)
def test_body_page_says_who_governs_the_fire_service(
    real_client: FlaskClient, code: str, fact: str
) -> None:
    page = html.unescape(_text(real_client.get(f"/bodies/{code}")))
    facts = page[page.index('id="facts-title"') : page.index('id="existing-title"')]
    source = reference.body(code, REAL)["governance"][0]["source_url"]
    assert f'<dd>{fact} (<a href="{source}" rel="noopener noreferrer">source</a>)</dd>' in facts
    assert "Fire and rescue governance" not in _text(real_client.get(f"/bodies/{ROTHER}"))


@pytest.mark.slow
def test_a_combined_authority_has_its_page_and_map(real_client: FlaskClient) -> None:
    response = real_client.get("/bodies/Greater Manchester Combined Authority")
    assert response.status_code == 302 and response.location.endswith("/bodies/E47000001")
    page = _text(real_client.get("/bodies/E47000001"))
    assert "Combined authority, North West" in page
    assert "The Mayor of Greater Manchester governs" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'data-code="E47000001" class="focal"' in svg  # drawn on the authorities' layer
    assert 'id="kinds-combined" name="kinds" value="combined"' in page


def test_filters_are_query_parameters(client: FlaskClient, app: Flask) -> None:
    url = f"/bodies/{ROTHER}?service=legal&kinds=council&kinds=fire&max_km=40&k=5"
    page = _text(client.get(url))
    expected = _model(app).recommend(
        Query(ROTHER, service="legal", kinds=("council", "fire"), max_km=40, k=5)
    )
    assert 0 < len(expected) <= 5
    assert _rows(page) == [(r.partner_code, "legal") for r in expected]
    assert '<option value="legal" selected>' in page
    assert 'value="council" checked' in page and 'value="fire" checked' in page
    assert 'value="police">' in page and 'value="40"' in page
    assert f'href="/bodies/{ROTHER}/briefing.pdf?service=legal"' in page
    assert "Showing" in page and "for Legal services" in page and "within 40 km" in page
    # Comma-separated kinds (as the API takes them) mean the same.
    same = _text(client.get(f"/bodies/{ROTHER}?service=legal&kinds=council,fire&max_km=40&k=5"))
    assert _rows(same) == _rows(page)


def test_include_existing_shows_current_partners(client: FlaskClient, app: Flask) -> None:
    # Existing partners rank last (no likelihood): look close by, where there are few others.
    model = _model(app)
    for found in reg.query(reg.Filters(body=ROTHER), settings=model.settings):
        service = found["service"]
        query = Query(ROTHER, service=service, max_km=30, k=50, include_existing=True)
        existing = [r for r in model.recommend(query, explain=False) if r.existing]
        if existing:
            break
    assert existing, "Rother shares a service with a neighbour in the register"
    url = f"/bodies/{ROTHER}?service={service}&max_km=30&k=50"
    shown = (existing[0].partner_code, service)
    page = _text(client.get(url + "&include_existing=1"))
    assert "already a partner" in page and shown in _rows(page)
    assert shown not in _rows(_text(client.get(url)))


def test_fragment_is_the_results_alone(client: FlaskClient) -> None:
    response = client.get(f"/bodies/{ROTHER}?service=legal&fragment=1")
    fragment = _text(response)
    assert response.status_code == 200
    assert "<html" not in fragment and '<form class="filters"' not in fragment
    assert fragment.lstrip().startswith('<div class="results" data-summary="Showing')
    assert "<svg" in fragment and _rows(fragment)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("k=abc", "k", "Enter a whole number from 1 to 50, not &#39;abc&#39;"),
        ("k=0", "k", "Enter a whole number from 1 to 50"),
        ("k=51", "k", "Enter a whole number from 1 to 50"),
        ("max_km=-3", "max_km", "Enter a distance in km over 0 and at most 2000"),
        ("max_km=nan", "max_km", "Enter a distance in km over 0"),
        ("kinds=dragons", "kinds", "Unknown kind &#39;dragons&#39;"),
        (
            "service=legel",
            "service",
            "Choose a service from the list: &#39;legel&#39; is not one of the",
        ),
        ("service=adult_social_care", "service", "Rother does not deliver adult social care"),
        ("include_existing=maybe", "include_existing", "Tick the box or leave it empty"),
    ],
)
def test_bad_filters_are_reported_next_to_their_field(
    client: FlaskClient, query: str, field: str, message: str
) -> None:
    response = client.get(f"/bodies/{ROTHER}?{query}")
    page = _text(response)
    assert response.status_code == 400
    assert message in str(field_error(page, field))
    assert "There is a problem" in page and f'href="#{field}' in page
    # kinds is a group of checkboxes: the group (a fieldset) names the error, not one input.
    described = f'aria-describedby="{field}-error"'
    assert (f'{described} aria-invalid="true"' in page) != (field == "kinds")
    assert described in page
    assert not _rows(page)  # no results under a wrong filter
    assert "About Rother" in page  # but the rest of the page is there


def test_a_service_the_model_cannot_answer_for_is_named_beside_the_field(
    client: FlaskClient, app: Flask
) -> None:
    """A model trained before today's taxonomy counted the body's kind as delivering a service
    the page offers refused it on an error page of its own (400, the body's page gone); the
    refusal now stands beside the service field, with the rest of the page."""
    from recommender.webapp.state import state

    with app.app_context():
        model = state().models.require()
    with trained_before(model, ROTHER, "legal"):
        response = client.get(f"/bodies/{ROTHER}?service=legal")
    page = _text(response)
    assert response.status_code == 400
    said = str(field_error(page, "service"))
    assert f"Rother ({ROTHER}) delivers legal services, but the serving model" in said
    assert "recommender train --promote" in said
    assert "About Rother" in page and not _rows(page)


def test_feedback_form_records_and_redirects_back(client: FlaskClient, app: Flask) -> None:
    engine = app.extensions["recommender"].engine
    before = len(feedback.load(engine))
    form = {
        "partner": "E07000062",
        "service": "legal",
        "verdict": "interested",
        "comment": "<b>worth a call</b>",
        "filters": "service=legal&k=5&next=https://example.com/&kinds=bogus",
    }
    response = client.post(f"/bodies/{ROTHER}/feedback", data=form)
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.netloc == "" and target.path == f"/bodies/{ROTHER}"
    stored = feedback.load(engine)
    assert len(stored) == before + 1
    row = stored.iloc[-1]
    assert (row.body_code, row.partner_code, row.service, row.verdict) == (
        ROTHER, "E07000062", "legal", "interested",
    )  # fmt: skip
    assert row.comment == "<b>worth a call</b>"
    assert row.model_version == _model(app).version
    # Bad filters in the form are dropped, never echoed into the redirect.
    assert parse_qs(target.query) == {"feedback": [str(row.id)]}
    back = _text(client.get(response.headers["Location"]))
    assert "Thank you: your feedback was recorded" in back
    assert "on Hastings for Legal services" in back and "<b>" not in back

    kept = dict(form, filters="service=legal&k=5")
    again = urlsplit(client.post(f"/bodies/{ROTHER}/feedback", data=kept).headers["Location"])
    assert parse_qs(again.query) == {"feedback": [str(row.id + 1)], "service": ["legal"],
                                     "k": ["5"]}  # fmt: skip


def test_feedback_without_a_verdict_is_a_400_page(client: FlaskClient) -> None:
    response = client.post(f"/bodies/{ROTHER}/feedback", data={"partner": "Hastings"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "There is a problem with your request" in _text(response)


def test_feedback_notice_only_for_this_bodys_feedback(client: FlaskClient) -> None:
    form = {"partner": "Hastings", "service": "ict", "verdict": "not_relevant"}
    target = client.post(f"/bodies/{ROTHER}/feedback", data=form).headers["Location"]
    ident = parse_qs(urlsplit(target).query)["feedback"][0]
    assert "Thank you" in _text(client.get(f"/bodies/{ROTHER}?feedback={ident}"))
    assert "Thank you" not in _text(client.get(f"/bodies/E07000062?feedback={ident}"))
    assert "Thank you" not in _text(client.get(f"/bodies/{ROTHER}?feedback=99999"))
    assert "Thank you" not in _text(client.get(f"/bodies/{ROTHER}?feedback=x"))


def test_briefing_downloads_as_a_pdf(client: FlaskClient, app: Flask) -> None:
    response = client.get(f"/bodies/{ROTHER}/briefing.pdf?service=legal")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="briefing-rother-legal.pdf"'
    )
    assert response.data.startswith(b"%PDF")
    text = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Rother" in text and _model(app).version in " ".join(text.split())
    bad = client.get(f"/bodies/{ROTHER}/briefing.pdf?service=legel")
    assert bad.status_code == 400 and "Unknown service &#39;legel&#39;" in _text(bad)


def test_a_briefing_is_made_once_per_body_service_model_and_register(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A briefing costs seconds of CPU: the second asking is served from the worker's cache;
    another service, a new model or a change to the body's arrangements makes it again."""
    import hashlib

    from recommender.model import artifacts
    from recommender.render import briefing as briefing_doc
    from service_fixtures import TOKEN, auth

    made: list[str] = []

    def pdf_bytes(html_text: str, settings: Any) -> bytes:  # quick, and says what it printed
        made.append(html_text)
        return b"%PDF-" + hashlib.sha256(html_text.encode()).hexdigest().encode()

    monkeypatch.setattr(briefing_doc, "pdf_bytes", pdf_bytes)
    app = make_app(ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    url = f"/bodies/{ROTHER}/briefing.pdf"
    first = client.get(url)
    second = client.get(url)
    assert first.headers["X-Cache"] == "miss" and second.headers["X-Cache"] == "hit"
    assert second.data == first.data and len(made) == 1
    assert client.get(f"{url}?service=legal").headers["X-Cache"] == "miss" and len(made) == 2
    assert client.get(url).headers["X-Cache"] == "hit"

    # A promotion made elsewhere (another worker, the CLI) clears nothing here: the new model
    # misses because the key holds the model's version.
    current = app.extensions["recommender"]
    other = next(v for v in artifacts.versions(current.settings) if v != current.models.version)
    artifacts.promote(other, current.settings)
    current.models.check_seconds = 0
    current.models._next_check = 0.0
    newer = client.get(url)
    assert current.models.version == other and len(current.briefings) == 3  # none dropped
    assert newer.headers["X-Cache"] == "miss" and len(made) == 3 and other in made[-1]
    assert client.get(url).headers["X-Cache"] == "hit"

    csv = (
        "arrangement_name,partners,partner_types,service_category,start_year,savings_gbp,"
        "savings_basis,savings_period_years,source_url,note\n"
        "Rother and Hastings HR,Rother; Hastings,council; council,hr_payroll,2016,40000,annual,,"
        "https://example.org/rh-hr,\n"
    )
    imported = client.post(
        "/api/v1/admin/register/import",
        data=csv,
        headers=auth() | {"Content-Type": "text/csv"},
    )
    assert imported.status_code == 200 and imported.json["added"] == 1
    changed = client.get(url)
    assert changed.headers["X-Cache"] == "miss" and "Rother and Hastings HR" in made[-1]
    assert 0 < current.briefings.bytes <= current.briefings.max_bytes


def test_a_busy_body_lists_its_first_arrangements_and_links_to_the_rest(
    client: FlaskClient, app: Flask
) -> None:
    current = app.extensions["recommender"]
    counts: dict[str, int] = {}
    for found in reg.query(settings=current.settings, directory=current.directory):
        for code in {m["body_code"] for m in found["members"] if m["body_code"]}:
            counts[code] = counts.get(code, 0) + 1
    busy = max(counts, key=lambda c: counts[c])
    assert counts[busy] > 8
    page = _text(client.get(f"/bodies/{busy}"))
    listed = page[page.index('class="list arrangements-list"') :].split("</ul>")[0]
    assert listed.count("<li>") == 8
    assert f'href="/arrangements?body={busy}">All {counts[busy]} arrangements' in page
    # "is in 9 documented arrangements" over a list of 8 read as a miscount: it says so
    said = page[page.index('id="existing-title"') : page.index('class="list arrangements-list"')]
    assert (
        "documented arrangements, " in said
        and f"The first 8 of the {counts[busy]} are listed here." in said
    )


def test_a_partners_kind_is_said_in_the_singular(client: FlaskClient) -> None:
    """One partner read "Combined authorities, 42 km away"."""
    from recommender.webapp import views_body

    assert views_body.KIND_LABEL.keys() == views_body.KIND_LABELS.keys()
    assert views_body.KIND_LABEL["combined"] == "Combined authority"
    page = _text(client.get("/bodies/E07000064"))
    assert re.search(r'<span class="muted block">Council, [\d.]+ km between centres</span>', page)
    assert "Councils, " not in page and "authorities, " not in page


@pytest.mark.slow
def test_reasons_show_a_marker_and_words_for_every_direction(
    real_client: FlaskClient, real_app: Flask
) -> None:
    # Greater Manchester's fire authority and police force are under one mayor: a note, not an
    # effect (Essex's, under one commissioner, are one body: never each other's candidates).
    fire = reference.resolve("Greater Manchester Fire and Rescue Authority", settings=REAL).codes[0]
    found = _model(real_app).recommend(Query(fire, k=20))
    notes = [x for r in found for x in r.reasons if x.direction == "note"]
    lowers = [x for r in found for x in r.reasons if x.direction == "lowers"]
    assert notes
    page = html.unescape(_text(real_client.get(f"/bodies/{fire}?k=20")))
    items = re.findall(
        r'<li class="reason reason-(\w+)"><span class="marker" aria-hidden="true">'
        r'(.)</span><span class="visually-hidden">([^<]+) </span>([^<]+)</li>',
        page,
    )
    marks = {"raises": ("▲", "Raises it:"), "lowers": ("▼", "Lowers it:"), "note": ("ℹ", "Note:")}
    assert len(items) == sum(len(r.reasons) for r in found)
    for direction, marker, words, text in items:
        assert marks[direction] == (marker, words)
        assert not re.search(r"\d\.\d{2}", text)  # words, never the model's raw effect
    assert {d for d, *_ in items} >= {"raises", "note"} | ({"lowers"} if lowers else set())


def test_the_choice_floor_is_stated_with_a_control(client: FlaskClient, app: Flask) -> None:
    url = f"/bodies/{ROTHER}?service=ict&k=50"
    page = html.unescape(_text(client.get(url)))
    assert "Partners with less than a 1 in 200 chance of being the one chosen" in page
    link = re.search(r'not shown: [^<]*<a href="([^"]+)">Show them</a>', page)
    assert link is not None
    target = urlsplit(link.group(1))
    assert parse_qs(target.query) == {"service": ["ict"], "k": ["50"], "min_choice": ["0"]}
    everything = html.unescape(_text(client.get(link.group(1))))
    assert "Every candidate partner is shown" in everything
    shown, more = _rows(page), _rows(everything)
    every = _model(app).recommend(Query(ROTHER, service="ict", k=50, min_choice=0))
    assert more == [(r.partner_code, r.service) for r in every]
    assert len(more) > len(shown)
    assert any((r.choice or 0) < CHOICE_FLOOR for r in every)
    # The form keeps the choice (a checkbox, so it works without JavaScript).
    assert 'id="min_choice" name="min_choice" value="0" checked' in everything
    bad = client.get(f"/bodies/{ROTHER}?min_choice=2")
    assert bad.status_code == 400 and field_error(_text(bad), "min_choice")


def test_an_empty_list_under_the_floor_says_how_to_see_the_rest(
    client: FlaskClient, app: Flask
) -> None:
    """Rother, legal, fire only, within 30 km: "Try all services, more partner kinds or a
    longer distance", when the partner there was only under the 1 in 200 floor."""
    model = _model(app)
    asked = next(
        q
        for km in (10.0, 20.0, 30.0, 40.0, 60.0)
        for kinds in (("fire",), ("police",), ("health",), ("council",))
        for q in [Query(ROTHER, service="legal", kinds=kinds, max_km=km)]
        if not model.recommend(q) and model.recommend(Query(**{**q.__dict__, "min_choice": 0}))
    )
    url = f"/bodies/{ROTHER}?service=legal&kinds={asked.kinds[0]}&max_km={asked.max_km:g}"
    page = html.unescape(_text(client.get(url)))
    link = re.search(r'distance, or <a href="([^"]+)">show the partners with less than a 1 in '
                     r"200 chance</a> of being the one chosen", page)  # fmt: skip
    assert link is not None
    shown = _rows(html.unescape(_text(client.get(link.group(1)))))
    assert shown and parse_qs(urlsplit(link.group(1)).query)["min_choice"] == ["0"]


def test_the_briefing_link_says_which_filters_it_keeps(client: FlaskClient) -> None:
    """The briefing link carries the service only; with other filters set the page did not say
    the briefing ignores them."""
    plain = html.unescape(_text(client.get(f"/bodies/{ROTHER}?service=legal")))
    assert "the other filters here shape this list only" not in plain
    narrowed = html.unescape(_text(client.get(f"/bodies/{ROTHER}?service=legal&kinds=council&k=5")))
    assert (
        "It covers its top partners of every kind for this service, by expected savings: the "
        "other filters here shape this list only." in narrowed
    )


def test_the_list_can_be_ranked_by_likelihood(client: FlaskClient, app: Flask) -> None:
    page = _text(client.get(f"/bodies/{ROTHER}?sort=likelihood"))
    expected = _model(app).recommend(Query(ROTHER, sort="likelihood"))
    assert _rows(page) == [(r.partner_code, r.service) for r in expected]
    assert "ranked by likelihood" in page and '<option value="likelihood" selected>' in page


def test_the_partner_groups_table_links_each_other_member(
    client: FlaskClient, recommender_model: Recommender
) -> None:
    groups = recommender_model.groups(ROTHER, "legal", k=3)
    assert groups
    page = client.get(f"/bodies/{ROTHER}?service=legal").get_data(as_text=True)
    table = page[page.index('id="groups-title"') : page.index('id="joins-title"')]
    assert "<caption>The best groups of two to four bodies, Rother included</caption>" in table
    for g in groups:
        for m in g.members:
            if m["code"] != ROTHER:
                assert f'href="/bodies/{m["code"]}"' in table
    assert table.count('<tr><th scope="row"') == len(groups)
    # What a group's likelihood is: Rother's pairs only (Wealden–Hastings is not scored).
    assert "least likely of Rother’s pairs in it" in html.unescape(table)
    assert "as likely as its least likely pair" not in table
    # Its savings are the model's estimate, said so as beside the arrangements to join.
    assert '<th scope="col" class="num">Estimated savings a year</th>' in table
    assert "the model's estimate of the whole group's, if formed" in html.unescape(table)


def test_an_evidence_source_that_is_not_a_web_address_is_text_not_a_link(
    make_app: AppFactory,
) -> None:
    """An imported arrangement's source is any text (a report's title, or worse): only an
    http(s) address becomes a link (``javascript:`` was an href, kept off only by the CSP)."""
    app = make_app(PREPARE_SUGGESTIONS=False)
    rec = app.extensions["recommender"].models.recommender
    for block in rec._evidence._blocks.values():
        for record in block.records:
            record["source"] = "javascript:alert(1)"
    page = app.test_client().get(f"/bodies/{ROTHER}").get_data(as_text=True)
    assert "source: javascript:alert(1)" in page
    assert 'href="javascript:' not in page


def test_existing_partners_asked_for_are_shown_and_counted_apart(client: FlaskClient) -> None:
    """ "Include partners it already shares the service with" showed none (ranked last, cut by
    "how many"); the summary counted them as suggestions, and wrote "nhs"."""
    url = f"/bodies/{ROTHER}?service=procurement&include_existing=1&kinds=council&kinds=health"
    page = client.get(url).get_data(as_text=True)
    said = r"Showing (\d+) suggestions for Procurement, with councils and NHS, and (\d+) existing"
    match = re.search(said + r" partners, after them\.", page)
    assert match and int(match[2]) > 0, re.findall(r"Showing [^<\"]*", page)[:1]
    assert page.count("already sharing") >= int(match[2])


def test_an_area_the_body_only_partly_lies_in_is_marked_partly(client: FlaskClient) -> None:
    """Hart (E07000089) is split between two NHS boards: both were listed under "Lies within"
    as if it lay wholly in each (the scenario pages already said "partly"); then its own (the
    board most of its people are in) still read as if it lay wholly within it."""
    page = client.get("/bodies/E07000089").get_data(as_text=True)
    within = page[page.index("Lies within") :].split("</dd>")[0]
    other = reference.body("E54000042", REAL)["display_name"]
    own = reference.body(reference.body("E07000089", REAL)["icb_code"], REAL)["display_name"]
    assert f"{other}</a> (partly)" in within
    assert f"{own}</a> (partly)" in within  # most of Hart, not all of it
    county = reference.body("E10000014", REAL)["display_name"]  # Hampshire: wholly within
    assert f"{county}</a>" in within and f"{county}</a> (partly)" not in within


def test_a_body_page_lists_the_bodies_within_it_by_kind(client: FlaskClient) -> None:
    """A county's page lists its districts under "Covers", each linked, a line a kind with
    its count; a district's page has no such row."""
    page = client.get("/bodies/E10000011").get_data(as_text=True)  # East Sussex
    covers = page[page.index("<dt>Covers</dt>") :].split("</dd>")[0]
    within = reference.contents("E10000011", REAL)
    districts = within[within["kind"] == "council"]
    assert f"Councils ({len(districts)}):" in covers
    for code, name in zip(districts["code"], districts["display_name"], strict=True):
        assert f'<a href="/bodies/{code}">{name}</a>' in covers
    assert "<dt>Covers</dt>" not in client.get("/bodies/E07000064").get_data(as_text=True)


def test_every_saving_to_join_says_it_is_estimated_and_no_arrangement_is_said_running(
    client: FlaskClient, app: Flask
) -> None:
    """Rother's "could join" table showed "£269k" per member for the East Sussex and Surrey
    legal service, which has no figure in the register, with no word that the model made it;
    its caption said "Running arrangements" of arrangements whose status is "unknown"."""
    options = _model(app).arrangements_to_join("E07000064", "legal", k=5)
    assert any(o.arrangement["savings_gbp"] is None for o in options)
    page = html.unescape(_text(client.get("/bodies/E07000064?service=legal")))
    joins = page[
        page.index('id="joins-title"') : page.index("</table>", page.index('id="joins-title"'))
    ]
    assert "Running" not in joins
    assert "Arrangements for legal services not known to have ended that Rother is not in" in joins
    for o in options:
        row = joins[joins.index(f">{o.arrangement['name']}<") :].split("</tr>")[0]
        assert f'{money(o.savings_per_partner_gbp)}<span class="muted block">estimated; ' in row
        if o.arrangement["savings_gbp"] is None:
            assert "estimated; the register has no figure for it" in row


def test_a_comparable_arrangement_that_ended_says_when(real_client: FlaskClient) -> None:
    """Evidence gave "from 2010" for a shared management team that ended in 2021 (its source
    says so): the page and the API now say it ended."""
    url = "/api/v1/bodies/E06000016/recommendations?k=10&service=management_chief_exec"
    shown = real_client.get(url).json
    ended = [
        e
        for r in shown["recommendations"]
        for e in r["evidence"]
        if e["name"] == "Breckland and South Holland shared management team"
    ]
    assert ended and {(e["start_year"], e["end_year"]) for e in ended} == {(2010, 2021)}
    page = html.unescape(
        real_client.get("/bodies/E06000016?k=10&service=management_chief_exec").get_data(
            as_text=True
        )
    )
    item = page[page.index(">Breckland and South Holland shared management team<") :]
    assert "; from 2010 to 2021; " in item.split("</li>")[0]


def test_savings_say_that_documented_arrangements_are_larger_than_most(
    client: FlaskClient, app: Flask, recommender_model: Recommender, tmp_path: Any
) -> None:
    from recommender.model.fit import savings_figures
    from recommender.render.briefing import write_briefing

    # The figures the savings model learnt from, kept with the model: every documented one.
    model = _model(app)
    ctx = model.model.context
    fitted = ctx.reg.annual[savings_figures(ctx, ctx.usable() & ~ctx.reg.simulated)]
    figures = model.describe()["parameters"]["savings"]["figures_gbp"]
    assert figures == sorted(round(v) for v in fitted) and len(figures) >= 5
    # and how their sources gave them: a projection or a total is no yearly saving reported
    known = savings_figures(ctx, ctx.usable() & ~ctx.reg.simulated)
    extension = app.extensions["recommender"]
    basis = {
        a["id"]: a["savings_basis"]
        for a in reg.query(
            reg.Filters(), settings=extension.settings, directory=extension.directory
        )
    }
    bases = Counter(basis[str(ctx.reg.ids[k])] for k in known)
    assert model.describe()["parameters"]["savings"]["figures_by_basis"] == bases
    given: Counter[tuple[str, str]] = Counter()  # a total to date and a cumulative one: alike
    for b in charts.FIGURE_BASES:  # yearly, projected, then totals
        if bases.get(b):
            given[charts.FIGURE_BASES[b]] += bases[b]
    how = ", ".join(f"{n} {words[n != 1]}" for words, n in given.items())
    under = sum(v < 100_000 for v in figures)
    count = f"{under} of the {len(figures)}" if under else f"none of the {len(figures)}"
    said = f"Learnt from the savings figures of {len(figures)} documented arrangements, each read"
    said += f" as a yearly one ({how}); {count}"
    lga = "where the LGA found that more than half of all partnerships save less than that"
    # beside the suggestions, on the model page and in the briefing
    body = html.unescape(client.get(f"/bodies/{ROTHER}").get_data(as_text=True))
    reading = body[body.index('id="reading-title"') :].split("</aside>")[0]
    assert said in reading and lga in reading
    page = html.unescape(client.get("/model").get_data(as_text=True))
    assert said in page and lga in page
    printed = write_briefing(recommender_model, ROTHER, tmp_path / "rother.html").read_text()
    assert said in " ".join(html.unescape(printed).split())


def test_a_likelihood_is_rounded_once_on_the_page(client: FlaskClient, app: Flask) -> None:
    """The page showed the JSON's likelihood (0.1335 of a 13.346% chance) as 13.4%, where the
    compare page rounded the chance itself: 13.3%. Pages now round the chance once."""
    model = _model(app)
    twice = 0
    for code in (ROTHER, "E10000011", "E07000061", "E07000223"):
        found = model.recommend(Query(code, k=50, min_choice=0))
        page = _text(client.get(f"/bodies/{code}?k=50&min_choice=0"))
        cells = re.findall(r'data-label="Likelihood" class="num"><strong>([^<]+)</strong>', page)
        assert cells == [charts.percent(r.likelihood) for r in found], code
        twice += sum(
            charts.percent(r.likelihood) != charts.percent(round(r.likelihood, 4)) for r in found
        )
    assert twice  # rows whose JSON figure, rounded again, reads another last digit


def test_the_model_page_says_when_its_code_had_changes_not_committed(make_app: Any) -> None:
    """The page cut "e2781ac9924bb72f…+dirty" to its first 12 characters: a model trained on
    changed code read as trained on a clean commit."""
    app = make_app()
    model = _model(app)
    commit = "e2781ac9924bb72fee78315266829d7ad768da0b"
    model.metadata = model.metadata | {"git_commit": f"{commit}+dirty"}  # this app's model
    page = _text(app.test_client().get("/model"))
    assert f"commit <code>{commit[:12]}</code> with changes not committed" in page
    model.metadata = model.metadata | {"git_commit": commit}
    page = _text(app.test_client().get("/model"))
    assert f"commit <code>{commit[:12]}</code></dd>" in page


def test_error_text_is_readable_on_the_light_panels() -> None:
    """A field's error, red on the filter panels' light grey, was 4.3:1, under the 4.5:1 WCAG
    AA asks of text its size."""
    css = (Path(__file__).parents[1] / "web" / "static" / "site.css").read_text()
    colours = dict(re.findall(r"--(error|light):\s*(#[0-9a-fA-F]{6})", css))

    def luminance(colour: str) -> float:
        def linear(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, error = sorted((luminance(colours["light"]), luminance(colours["error"])))[::-1]
    assert (light + 0.05) / (error + 0.05) >= 4.5


def test_a_police_force_area_is_named_with_the_in_the_pages_sentences(client: FlaskClient) -> None:
    """ "Kent police force area is in 1 documented arrangement", "… least likely of Kent police
    force area's pairs": the reasons said "the", the page's own sentences did not."""
    page = " ".join(_text(client.get("/bodies/E23000032?service=legal")).split())
    page = re.sub(r"<[^>]+>", " ", page)
    page = " ".join(page.split())
    assert re.search(r"The Kent police force area is in \d+ documented arrangement", page)
    assert "least likely of the Kent police force area’s pairs" in page
    assert "The Kent police force area outlined in orange" in page
    assert not re.search(r"(?<!the )(?<!The )Kent police force area (is|share|outlined)", page)
    rother = " ".join(re.sub(r"<[^>]+>", " ", _text(client.get(f"/bodies/{ROTHER}"))).split())
    assert re.search(r"Rother is in \d+ documented arrangement", rother)  # a council: no "the"


def test_search_for_a_code_no_body_has_says_which_codes_are_held(
    real_client: FlaskClient,
) -> None:
    """/search?q=E31000017 said "Check the spelling" of a code the API explains."""
    page = _text(real_client.get("/search?q=E31000017"))
    assert "No public body in the reference has the code" in page
    assert "Check the spelling" not in page


def test_a_groups_likelihood_is_said_to_be_at_most_its_least_likely_pair(
    client: FlaskClient,
) -> None:
    """ "A group is as likely as the least likely of Rother's pairs in it": all of them
    forming the group is at most that likely."""
    page = html.unescape(_text(client.get(f"/bodies/{ROTHER}")))
    assert "A group’s likelihood is that of the least likely of Rother’s pairs in it" in page
    assert "all of them forming it is no likelier" in page
