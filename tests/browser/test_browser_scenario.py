"""The scenario pages in a real browser: headless Chromium on the app served by ``recommender
serve``.

What an officer does: make a scenario of Surrey's districts in two unitaries with the form
(no JavaScript needed), see its map and facts, open a new unitary's page and narrow its
suggestions, compare a council's suggestions today with its unitary's; the same with
JavaScript (results update in place, the map opens a body's page). Screenshots at desktop and
phone width go to ``tests/artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from browser_fixtures import DESKTOP, PHONE, SCREENSHOTS, LiveServer, watch_csp
from scenario_fixtures import EAST, WEST

# The real register, in a real browser: behind `slow` (make test runs it).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
NAME = "browser-surrey"


def _rows(page: Any) -> list[tuple[str, str]]:
    rows = page.locator("table.suggestions tbody tr[data-partner]")
    return [
        (str(r.get_attribute("data-partner")), str(r.get_attribute("data-service")))
        for r in rows.all()
    ]


def _make(page: Any, name: str) -> None:
    """Fill and send the form: East and West Surrey, district by district."""
    page.goto("/scenarios/new")
    page.get_by_label("Scenario name").fill(name)
    page.get_by_label("Name of new unitary 1").fill("East Surrey")
    page.get_by_label("Name of new unitary 2").fill("West Surrey")
    page.locator("summary", has_text="Surrey (county council) and its districts").click()
    for slot, councils in (("1", EAST), ("2", WEST)):
        for code in councils:
            page.locator(f"#c-{code}").select_option(slot)
    page.get_by_role("button", name="Make the scenario").click()


@pytest.fixture(scope="module")
def made(browser: Any, live_server: LiveServer) -> str:
    """The scenario, made once through the form with JavaScript off."""
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        _make(page, NAME)
        page.wait_for_url(f"**/scenarios/{NAME}?created=1")
        assert page.get_by_role("heading", level=1).inner_text() == NAME
    finally:
        context.close()
    return NAME


def test_the_pages_work_without_javascript(
    browser: Any, live_server: LiveServer, made: str
) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto(f"/scenarios/{made}")
        assert page.locator("svg.rec-map path.successor").count() == 2
        assert "Surrey Fire and Rescue Authority is run by Surrey County Council" in (
            page.locator("main").inner_text()
        )
        page.get_by_role("link", name="West Surrey", exact=True).first.click()
        page.wait_for_url(f"**/scenarios/{made}/bodies/X06000002")
        assert page.get_by_role("heading", level=1).inner_text() == "West Surrey"
        page.get_by_label("Service", exact=True).select_option("legal")
        page.get_by_role("button", name="Update suggestions").click()
        page.wait_for_url(re.compile(r"service=legal"))
        rows = _rows(page)
        assert rows and {s for _, s in rows} == {"legal"}
        assert not {p for p, _ in rows} & {*EAST, *WEST}
        # before and after, from the scenario's page
        page.goto(f"/scenarios/{made}")
        page.get_by_label("Body", exact=True).select_option("E07000217")
        page.get_by_role("button", name="Compare").click()
        page.wait_for_url(re.compile(r"compare\?body=E07000217"))
        assert page.get_by_role("heading", level=1).inner_text() == "Woking: before and after"
        assert page.get_by_role("heading", name="After: West Surrey").is_visible()
        # a bad form keeps what was chosen and says what is wrong, at the field
        page.goto("/scenarios/new")
        page.get_by_label("Scenario name").fill(made)
        page.locator("summary", has_text="Surrey (county council) and its districts").click()
        page.get_by_label("All districts of Surrey").select_option("1")
        page.get_by_role("button", name="Make the scenario").click()
        assert page.get_by_role("alert").is_visible()
        assert "A scenario has this name already" in page.locator("#name-error").inner_text()
        assert page.get_by_label("All districts of Surrey").input_value() == "1"
    finally:
        context.close()


def test_results_update_in_place_and_the_map_opens_bodies(page: Any, made: str) -> None:
    page.goto(f"/scenarios/{made}/bodies/X06000002")
    before = _rows(page)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Service", exact=True).select_option("ict")
    page.wait_for_url(re.compile(r"service=ict"))
    page.locator('#results .results[data-summary*="ICT"]').wait_for()
    after = _rows(page)
    assert after != before and {s for _, s in after} == {"ict"}
    assert page.evaluate("window.notReloaded") is True
    partner = after[0][0]
    page.locator(f'#results svg [data-code="{partner}"]').first.dispatch_event("click")
    page.wait_for_url(f"**/scenarios/{made}/bodies/{partner}")
    page.goto(f"/scenarios/{made}")
    page.locator('svg path.successor[data-code="X06000001"]').dispatch_event("click")
    page.wait_for_url(f"**/scenarios/{made}/bodies/X06000001")


def test_a_click_on_the_forms_map_chooses_a_councils_new_unitary(page: Any) -> None:
    page.goto("/scenarios/new")
    picker = page.get_by_role("group", name="A click on the map puts a council in")
    assert picker.is_visible()  # shown only with JavaScript
    picker.get_by_label("New unitary 2").check()
    page.locator('figure[data-assign] [data-code="E07000217"]').dispatch_event("click")
    assert page.locator("#c-E07000217").input_value() == "2"
    assert page.locator("#county-E10000030").evaluate("el => el.open") is True
    shape = page.locator('figure[data-assign] [data-code="E07000217"]')
    assert shape.get_attribute("fill") == "#E69F00"
    assert "Woking: New unitary 2" in page.locator("#assign-status").inner_text()
    # a county's choice shows on the map for the districts left "as the county"
    page.get_by_label("All districts of Surrey").select_option("1")
    elmbridge = page.locator('figure[data-assign] [data-code="E07000207"]')
    assert elmbridge.get_attribute("fill") == "#0072B2"
    assert shape.get_attribute("fill") == "#E69F00"  # its own choice wins


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_no_sideways_scrolling_and_the_content_security_policy(
    browser: Any, live_server: LiveServer, made: str, size: str, viewport: dict[str, int]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    violations = watch_csp(context)
    pages = {
        "scenarios": "/scenarios",
        "scenario-new": "/scenarios/new",
        "scenario": f"/scenarios/{made}",
        "scenario-successor": f"/scenarios/{made}/bodies/X06000002",
        "scenario-neighbour": f"/scenarios/{made}/bodies/E07000092?service=legal",
        "scenario-compare": f"/scenarios/{made}/compare?body=E07000217",
    }
    try:
        page = context.new_page()
        for name, path in pages.items():
            page.goto(path)
            page.wait_for_load_state("load")
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], f"{name} scrolls sideways at {size} width"
            assert page.evaluate("window.__csp") == [], name
        assert not violations
    finally:
        context.close()


def test_the_scenarios_map_names_and_legend_are_readable_on_a_phone(
    browser: Any, live_server: LiveServer, made: str
) -> None:
    """The map of a scenario's new unitaries was drawn 640 px wide with its names and legend
    inside it: on a phone, 5 to 6 px. The names are 11 px or more there and the legend is text
    on the page."""
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto(f"/scenarios/{made}")
        figure = page.locator("figure.map-figure").first
        names = figure.locator("svg g.labels-phone > g > text")
        said = names.evaluate_all("els => els.map(e => e.textContent)")
        assert sorted(said) == ["East Surrey", "West Surrey"]
        heights = names.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 11, heights
        assert not figure.locator("svg g.labels:not(.labels-phone)").first.is_visible()
        legend = figure.locator(".map-legend li")
        assert "Border between the councils it is made of" in legend.all_inner_texts()
        sizes = legend.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert min(sizes) >= 14, sizes
    finally:
        context.close()
