"""The pages in a real browser: headless Chromium on the app served by ``recommender serve``.

What a council officer does: find a body by typing, open its page, narrow the suggestions and
see the table and the map change in place, give feedback, download a briefing; then the
explorer and the model page. Screenshots of every page at desktop and phone width are saved to
``tests/artifacts/screenshots/`` for review.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from browser_fixtures import DESKTOP, PHONE, SCREENSHOTS, LiveServer, watch_csp
from recommender.database import db

# The real register, in a real browser: behind `slow` (make test runs it).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ROTHER = "E07000064"


def _rows(page: Any) -> list[tuple[str, str]]:
    rows = page.locator("table.suggestions tbody tr[data-partner]")
    return [
        (str(r.get_attribute("data-partner")), str(r.get_attribute("data-service")))
        for r in rows.all()
    ]


def _map_codes(page: Any) -> set[str]:
    shaded = page.locator("#results svg [data-code].suggested")
    return {str(code) for code in shaded.evaluate_all("els => els.map(e => e.dataset.code)")}


def test_search_as_you_type_and_open_a_body(page: Any) -> None:
    page.goto("/")
    box = page.get_by_role("combobox", name="Search for a body")
    box.press_sequentially("Rothe", delay=40)
    listbox = page.get_by_role("listbox", name="Suggested bodies")
    listbox.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    options = listbox.get_by_role("option")
    assert "Rother" in options.all_inner_texts()[0]
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    box.press("Enter")
    page.wait_for_url(f"**/bodies/{ROTHER}")
    assert page.get_by_role("heading", level=1).inner_text() == "Rother"

    # An abolished council is found by its old name, with where it went.
    page.goto("/")
    box.press_sequentially("Taunton Dea", delay=30)
    first = page.get_by_role("option").first
    first.wait_for()
    assert "abolished" in first.inner_text()
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"


def test_filters_update_the_table_and_the_map_in_place(page: Any) -> None:
    page.goto(f"/bodies/{ROTHER}")
    before_rows, before_map = _rows(page), _map_codes(page)
    assert len(before_rows) == 10 and before_map
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Service", exact=True).select_option("legal")
    page.wait_for_url(re.compile(r"service=legal"))
    page.locator('#results .results[data-summary*="Legal services"]').wait_for()
    after_rows, after_map = _rows(page), _map_codes(page)
    assert after_rows and {service for _, service in after_rows} == {"legal"}
    assert after_rows != before_rows and after_map != before_map
    assert page.evaluate("window.notReloaded") is True  # updated in place, not reloaded
    status = page.locator("#results-status")
    assert "Legal services" in status.inner_text()

    page.get_by_label("Maximum distance").fill("25")
    page.get_by_role("button", name="Update suggestions").click()
    page.wait_for_url(re.compile(r"max_km=25"))
    page.locator('#results .results[data-summary*="within 25 km"]').wait_for()
    near = page.locator("table.suggestions tbody tr[data-partner] th").all_inner_texts()
    distances = [float(re.search(r"([\d.]+) km between centres", t).group(1)) for t in near]  # type: ignore[union-attr]
    assert distances and max(distances) <= 25

    page.go_back()  # history: back to legal without the distance
    shown = len(after_rows)  # up to 10: fewer pass the likelihood floor for one service
    back = f"Showing {shown} suggestion{'s' * (shown != 1)} for Legal services."
    page.locator(f'#results .results[data-summary="{back}"]').wait_for()
    assert _rows(page) == after_rows
    assert page.get_by_label("Maximum distance").input_value() == ""
    # Every field shows the question the URL asks: "Rank by" was left blank (no option is "").
    assert page.locator("#sort").input_value() == "expected"
    assert page.get_by_label("Service", exact=True).input_value() == "legal"
    assert page.locator("#k").input_value() == "10"

    # With a mouse, a partner on the map opens its page.
    partner = sorted(_map_codes(page))[0]
    page.locator(f'#results svg [data-code="{partner}"]').first.dispatch_event("click")
    page.wait_for_url(f"**/bodies/{partner}")


def test_feedback_is_sent_and_stored(page: Any, live_server: LiveServer) -> None:
    page.goto(f"/bodies/{ROTHER}")
    row = page.locator("table.suggestions tbody tr[data-partner]").first
    partner, service = row.get_attribute("data-partner"), row.get_attribute("data-service")
    row.locator("summary", has_text="Give feedback").click()
    # "Something else" with nothing said is refused, inline, and the form can be sent again.
    row.get_by_label("Something else (say what below)").check()
    row.get_by_role("button", name="Send feedback").click()
    refused = row.locator(".feedback-result.bad")
    refused.wait_for()
    assert "needs a comment saying what it is" in refused.inner_text()
    row.get_by_label("Interested: we would consider it").check()
    row.get_by_label("Comment (needed for “Something else”)").fill("Worth a call (browser test)")
    row.get_by_role("button", name="Send feedback").click()
    result = row.locator(".feedback-result.ok")
    result.wait_for()
    assert result.inner_text() == "Thank you: your feedback was recorded."

    mine = sa.select(db.feedback).where(db.feedback.c.comment == "Worth a call (browser test)")
    engine = sa.create_engine(live_server.database_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(mine).mappings().all()
    finally:
        engine.dispose()
    assert [(r["body_code"], r["partner_code"], r["service"], r["verdict"]) for r in stored] == [
        (ROTHER, partner, service, "interested")
    ]


def test_briefing_downloads(page: Any) -> None:
    page.goto(f"/bodies/{ROTHER}?service=legal")
    with page.expect_download(timeout=60_000) as event:
        page.get_by_role("link", name="Download briefing (PDF)").click()
    download = event.value
    assert download.suggested_filename == "briefing-rother-legal.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_explorer_and_model_pages(page: Any) -> None:
    page.goto("/arrangements")
    page.get_by_label("Region", exact=True).select_option("South East")
    assert page.get_by_label("Show", exact=True).input_value() == "real"  # the default
    page.get_by_role("button", name="Show arrangements").click()
    page.wait_for_url(re.compile(r"region=South\+East"))
    summary = page.locator("#explorer-summary").inner_text()
    rows = page.locator("table.explorer tbody tr")
    total = int(re.match(r"(\d+) arrangements?", summary).group(1))  # type: ignore[union-attr]
    assert 0 < rows.count() == min(total, 25)
    assert page.locator("table.explorer .tag-sim").count() == 0
    first = rows.first.locator("th a")
    name = first.inner_text()
    first.click()
    assert page.get_by_role("heading", level=1).inner_text() == name
    page.go_back()
    # Pointing at a row picks its arrangement out on the map (the others fade).
    row = rows.first
    picked_id = row.get_attribute("data-id")
    row.hover()
    picked = page.locator("figure > svg g.arrangement.picked")
    assert picked.count() == 1 and picked.get_attribute("data-id") == picked_id
    assert "picking" in (page.locator("figure > svg").get_attribute("class") or "")
    page.get_by_role("heading", level=1).hover()
    assert page.locator("figure > svg g.arrangement.picked").count() == 0
    drawn = page.locator("figure > svg g.arrangement").first
    ident = drawn.get_attribute("data-id")
    drawn.dispatch_event("click")
    page.wait_for_url(f"**/arrangements/{ident}")

    page.get_by_role("link", name="The model").click()
    assert page.get_by_role("heading", level=1).inner_text() == "How good are the suggestions?"
    chart = page.get_by_role("img", name=re.compile("one partnership held out at a time"))
    assert chart.locator("rect.bar").count() == 5 * 7  # five metrics, the product and 6 rules
    assert page.locator("ul.verdicts li").count() >= 2


def test_pages_work_without_javascript(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_label("Search for a body").fill("Rothe")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="Rother", exact=True).click()
        page.wait_for_url(f"**/bodies/{ROTHER}")
        # An exact name opens the body straight away, without JavaScript too.
        page.goto("/")
        page.get_by_label("Search for a body").fill("Rother")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(f"**/bodies/{ROTHER}")
        page.get_by_label("Service", exact=True).select_option("ict")
        page.get_by_role("button", name="Update suggestions").click()
        page.wait_for_url(re.compile(r"service=ict"))
        assert {s for _, s in _rows(page)} == {"ict"}
        row = page.locator("table.suggestions tbody tr[data-partner]").first
        row.locator("summary", has_text="Give feedback").click()
        row.get_by_label("We already share this service").check()
        row.get_by_role("button", name="Send feedback").click()
        page.wait_for_url(re.compile(r"feedback=\d+.*service=ict"))
        notice = page.get_by_role("status").filter(has_text="Thank you")
        assert "We already share this service" in notice.inner_text()
    finally:
        context.close()


PAGES = {
    "home": "/",
    "search": "/search?q=north",
    "body": f"/bodies/{ROTHER}",
    "body-filtered": f"/bodies/{ROTHER}?service=legal&kinds=council&max_km=40",
    "body-bad-filter": f"/bodies/{ROTHER}?k=abc",
    "arrangements": "/arrangements",
    "arrangement": None,  # the first real arrangement, found on the explorer
    "model": "/model",
    "not-found": "/bodies/Rothr",
}


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_and_no_sideways_scrolling(
    browser: Any, live_server: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    try:
        page = context.new_page()
        for name, path in PAGES.items():
            if path is None:
                page.goto("/arrangements")
                path = page.locator("table.explorer tbody th a").first.get_attribute("href")
            page.goto(path)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], f"{name} scrolls sideways at {size} width"
        # The first Tab reaches the skip link, which shows itself.
        page.goto("/")
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to main content")
        assert skip.evaluate("el => el === document.activeElement") and skip.is_visible()
        # Suggestions open, as they look while typing.
        page.get_by_role("combobox").press_sequentially("Bris", delay=30)
        page.get_by_role("option").first.wait_for()
        page.screenshot(path=str(SCREENSHOTS / f"home-suggestions-{size}.png"))
    finally:
        context.close()


def test_main_pages_pass_the_content_security_policy(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    violations = watch_csp(context)
    try:
        page = context.new_page()
        for name, path in PAGES.items():
            if path is None:
                page.goto("/arrangements?shown=real")
                path = page.locator("table.explorer tbody th a").first.get_attribute("href")
            response = page.goto(path)
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.wait_for_load_state("load")
            seen = page.evaluate("window.__csp")
            assert seen == [], f"{name}: {seen}"
        page.goto(f"/bodies/{ROTHER}")  # the scripts at work: filters in place, suggestions
        page.get_by_label("Service", exact=True).select_option("legal")
        page.wait_for_url(re.compile(r"service=legal"))
        page.goto("/")
        page.get_by_role("combobox").press_sequentially("Bris", delay=30)
        page.get_by_role("option").first.wait_for()
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()
    assert violations == []
