"""What officers and advisors do in a real browser (issue 12): open a body by its exact name,
find an abolished council's successor, read maps of fire, police, NHS and county areas, take
the suggestions and the register away as CSV and Excel, compare partners, and hand over a
briefing. Headless Chromium on the app served by ``recommender serve``.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from browser_fixtures import DESKTOP, PHONE, SCREENSHOTS, LiveServer
from recommender.core.config import Settings
from recommender.core.services import load_services

# The real register, in a real browser: behind `slow` (make test runs it).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ROTHER, BUCKS = "E07000064", "E06000060"
# A fire authority, a police force area, an NHS board and a county whose lists have partners
# of several values that the map fills (a partner covering another is an outline instead).
MAPS = {
    "fire": "E31000034",  # Suffolk Fire and Rescue Authority
    "police": "E23000036",  # Avon and Somerset
    "icb": "E54000057",  # NHS Greater Manchester
    "county": "E10000014",  # Hampshire
}


# The real data/, named: these tests check the committed reference and register.
REAL = Settings.from_env()


def _rows(page: Any) -> list[tuple[str, str]]:
    rows = page.locator("table.suggestions tbody tr[data-partner]")
    return [
        (str(r.get_attribute("data-partner")), str(r.get_attribute("data-service")))
        for r in rows.all()
    ]


def test_enter_on_an_exact_name_opens_the_body(page: Any) -> None:
    page.goto("/")
    box = page.get_by_role("combobox", name="Search for a body")
    box.press_sequentially("Rother", delay=30)
    page.get_by_role("listbox", name="Suggested bodies").wait_for()
    box.press("Enter")  # no suggestion chosen: the exact name is enough
    page.wait_for_url(f"**/bodies/{ROTHER}")
    assert page.get_by_role("heading", level=1).inner_text() == "Rother"


def test_an_abolished_council_leads_to_its_successor_saying_so(page: Any) -> None:
    note = "Aylesbury Vale District Council was abolished in 2020; its area is now part of "
    note += "Buckinghamshire."
    page.goto("/")
    box = page.get_by_role("combobox", name="Search for a body")
    box.press_sequentially("Aylesbury Vale", delay=30)
    first = page.get_by_role("option").first
    first.wait_for()
    assert "abolished" in first.inner_text() and "Buckinghamshire" in first.inner_text()
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/bodies/{BUCKS}\?from="))
    assert page.get_by_role("heading", level=1).inner_text() == "Buckinghamshire"
    assert page.locator("#former-note").inner_text() == note
    # Choosing the suggestion says it too.
    page.goto("/")
    box.press_sequentially("Aylesbury", delay=30)
    page.get_by_role("option").first.click()
    page.wait_for_url(re.compile(rf"/bodies/{BUCKS}\?from="))
    assert page.locator("#former-note").inner_text() == note
    # "Taunton Deane" suggests Somerset alone: no Luton, Arun or Thanet.
    page.goto("/")
    box.press_sequentially("Taunton Deane", delay=30)
    page.get_by_role("option").first.wait_for()
    texts = " ".join(page.get_by_role("option").all_inner_texts())
    assert "Somerset" in texts and not re.search(r"Luton|Arun|Thanet", texts)


@pytest.mark.parametrize("kind", list(MAPS))
def test_the_map_fills_partners_in_distinct_colours_below_the_outlined_body(
    page: Any, kind: str
) -> None:
    code = MAPS[kind]
    page.goto(f"/bodies/{code}")
    svg = page.locator("#results figure svg").first
    fills = svg.locator("[data-code].suggested").evaluate_all(
        "els => els.map(e => [e.dataset.code, e.getAttribute('fill')])"
    )
    filled = {c: f for c, f in fills if f not in (None, "none")}
    assert len(set(filled.values())) >= 2, f"{kind}: partners in one colour: {fills}"
    partners = {p for p, _ in _rows(page)}
    drawn = {c for c, _ in fills}
    assert partners <= drawn, f"{kind}: every suggested partner is on the map"
    # The body itself: a light area and an outline drawn after every fill.
    order = svg.locator("path").evaluate_all(
        "els => els.map(e => (e.getAttribute('class') || '') + ' ' + e.getAttribute('fill'))"
    )
    last_fill = max(i for i, c in enumerate(order) if c.startswith("suggested #"))
    outline = next(i for i, c in enumerate(order) if c.startswith("focal-outline"))
    assert outline > last_fill  # above every partner it could hide
    # The legend is text on the page, one entry per colour in use at least.
    legend = page.locator("#results .map-legend li").all_inner_texts()
    assert sum(bool(re.match(r"(Under |£)", t)) for t in legend) >= 2


def test_map_names_are_at_least_11_px_on_a_phone(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    try:
        page = context.new_page()
        for code in (ROTHER, MAPS["county"]):
            page.goto(f"/bodies/{code}")
            names = page.locator("#results figure svg g.labels-phone > text")
            assert names.count() >= 2
            heights = names.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
            assert min(heights) >= 11, heights
            hidden = page.locator("#results figure svg g.labels:not(.labels-phone)").first
            assert not hidden.is_visible()
    finally:
        context.close()


def test_the_suggestions_and_the_register_download_as_the_table_shows_them(
    page: Any,
) -> None:
    page.goto(f"/bodies/{ROTHER}?service=legal&kinds=council")
    shown = _rows(page)
    with page.expect_download() as event:
        page.locator("#downloads").get_by_role("link", name=re.compile("^CSV")).click()
    csv = pd.read_csv(event.value.path())
    assert list(zip(csv["Partner code"], csv["Service id"], strict=True)) == shown
    with page.expect_download() as event:
        page.locator("#downloads").get_by_role("link", name=re.compile("^Excel")).click()
    assert event.value.suggested_filename == "suggestions-rother.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(event.value.path().read_bytes()))["Table"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[5]) for r in rows] == shown
    partners = page.locator("table.suggestions tbody tr[data-partner] th a").all_inner_texts()
    assert [r[1] for r in rows] == partners

    page.goto("/arrangements?service=legal")
    total = int(re.match(r"(\d+)", page.locator("#explorer-summary").inner_text()).group(1))  # type: ignore[union-attr]
    first_page = page.locator("table.explorer tbody th a").all_inner_texts()
    with page.expect_download() as event:
        page.locator("#downloads").get_by_role("link", name=re.compile("^Excel")).click()
    frame = pd.read_excel(io.BytesIO(event.value.path().read_bytes()), sheet_name="Table")
    assert len(frame) == total and frame["Name"].tolist()[: len(first_page)] == first_page
    assert set(frame["Service"]) == {"Legal services"}


def test_partners_are_compared_side_by_side(page: Any) -> None:
    page.goto(f"/bodies/{ROTHER}")
    rows = page.locator("table.suggestions tbody tr[data-partner]")
    partners: list[str] = []
    for row in rows.all():
        code = str(row.get_attribute("data-partner"))
        if code not in partners:
            row.get_by_label(re.compile("^Compare")).check()
            partners.append(code)
        if len(partners) == 2:
            break
    page.get_by_role("button", name="compare them side by side").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    heading = page.get_by_role("heading", level=1).inner_text()
    names = page.locator("#at-a-glance thead th a").all_inner_texts()
    assert len(names) == 2 and heading == f"{names[0]} and {names[1]}"
    services = page.locator("#by-service tbody tr")
    assert services.count() >= 5
    assert page.locator("#by-service td.best").count() >= 1
    assert page.get_by_role("link", name="Back to the suggestions for Rother").count() == 1


def test_the_briefing_opens_with_its_summary_and_shows_no_service_id(page: Any) -> None:
    page.goto(f"/bodies/{ROTHER}")
    top = page.locator("table.suggestions tbody tr th a").all_inner_texts()[:3]
    with page.expect_download(timeout=60_000) as event:
        page.get_by_role("link", name="Download briefing (PDF)").click()
    with open(event.value.path(), "rb") as handle:
        data = handle.read()
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages
    )
    summary = text[text.index("In short") : text.index("ONS name and code")]
    assert "Rother's three best opportunities are" in summary
    for name in top:
        assert f"with {name} (" in summary
    for service, label in load_services(REAL)["label"].items():
        if "_" not in str(service):
            continue  # "legal", "ict": words the text may use
        words = str(service).replace("_", " ")
        assert service not in text
        assert words not in text.lower() or words == str(label).lower(), words


PAGES = {
    "body-fire": f"/bodies/{MAPS['fire']}",
    "body-police": f"/bodies/{MAPS['police']}",
    "body-icb": f"/bodies/{MAPS['icb']}",
    "body-county": f"/bodies/{MAPS['county']}",
    "body-abolished": "/search?q=Aylesbury+Vale",
    "body-all-likelihoods": f"/bodies/{ROTHER}?service=ict&min_choice=0",
    "compare": f"/bodies/{ROTHER}/compare?with=E07000065&with=E07000062&with=E10000011",
    "search-partial": "/search?q=Taunton",
}


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_of_the_new_pages(
    browser: Any, live_server: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    try:
        page = context.new_page()
        for name, path in PAGES.items():
            page.goto(path)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], f"{name} scrolls sideways at {size} width"
    finally:
        context.close()


def test_on_a_phone_every_table_wider_than_the_screen_says_so(
    browser: Any, live_server: LiveServer
) -> None:
    """The explorer's table by service ran off a phone's screen, its savings cut, with no word
    that it scrolls: each table that scrolls sideways has the hint just above it, shown."""
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    found = []
    try:
        page = context.new_page()
        for path in ["/arrangements", "/model", *PAGES.values()]:
            page.goto(path)
            found += page.evaluate(
                """path => [...document.querySelectorAll('.table-wrap')]
                  .filter(w => w.offsetParent !== null && w.scrollWidth > w.clientWidth + 1)
                  .map(w => {
                    const hint = w.previousElementSibling;
                    const shown = hint && hint.classList.contains('scroll-hint')
                      && getComputedStyle(hint).display !== 'none';
                    return [path, (w.querySelector('caption') || {}).textContent || '', !!shown];
                  })""",
                path,
            )
    finally:
        context.close()
    assert ["/arrangements", "By service", True] in found  # the table that scrolls
    assert [f for f in found if not f[2]] == []
