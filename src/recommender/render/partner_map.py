"""The map of a body and its partners, drawn the same on its page, in a comparison and in the
briefing: suggested partners shaded by expected annual savings (the best of their services),
existing partners hatched, the body outlined above them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recommender.core.config import Settings
from recommender.register.records import (
    body_of,
    given_members,
    gone_codes,
    record_ended,
    record_proposed,
    through_former,
)
from recommender.render import maps

LAYER_BY_TIER = {
    "county": "upper_tier",
    "fire": "fire",
    "police": "police",
    "health": "health",
    "combined_authority": "combined",
}


def layer_of(tier: str) -> str:
    """The map layer a body of ``tier`` is drawn on (councils unless it is an upper body)."""
    return LAYER_BY_TIER.get(tier, "councils")


def partners_map(
    body: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    arrangements: Iterable[Mapping[str, Any]],
    service: str | None,
    settings: Settings,
    *,
    width: int,
    page: bool = True,
    title: str | None = None,
    layers: Mapping[str, maps.WebLayer] | None = None,
) -> str:
    """England around the body: ``rows`` (recommendations as dicts) shaded by expected
    savings, the members of its running ``arrangements`` (for ``service``, or all) hatched.

    The legend is HTML after the SVG. ``page`` draws it for a web page (names also in a phone
    size, an England locator); else for print (landscape, no locator). Bodies are not links in
    the SVG (an image to assistive technology, and hundreds of tab stops): the page's script
    makes them clickable, and the page's table links every partner. ``layers`` (by level)
    replace today's web layers, e.g. with a reorganisation scenario's.
    """
    code = str(body["code"])
    best: dict[str, float] = {}
    existing: set[str] = set()
    direct: set[str] = set()  # partners in an arrangement with the body itself
    gone: set[str] = set()  # partners only through bodies now gone that the body succeeds
    theirs: set[str] = set()  # … that the partner succeeds (Somerset, on Devon's map)
    for row in rows:
        partner = str(row["partner_code"])
        if row["existing"]:
            existing.add(partner)
        elif row["expected_savings_gbp"] is not None:
            best[partner] = max(best.get(partner, 0.0), float(row["expected_savings_gbp"]))
    for a in arrangements:
        if service is not None and a["service"] != service:
            continue
        if record_ended(a) or record_proposed(a):  # a partner once, or only proposed: not
            continue  # hatched as an existing partner
        # A member abolished since (a primary care trust) is in it no more: not the body's
        # partner, nor, if it is the body's own predecessor, the body in it.
        abolished = gone_codes(given_members(a["members"]))
        if code in abolished:
            continue
        # Not the body, nor the fire authority it runs (or the body running it): one body.
        mine = {body_of(m) for m in a["members"] if m["body_code"] == code} or {code}
        partners = {
            str(m["body_code"])
            for m in a["members"]
            if m["body_code"]
            and m["body_code"] != code
            and body_of(m) not in mine
            and m["body_code"] not in abolished
        }
        existing |= partners
        for partner in partners:
            if through_former(a, code):
                gone.add(partner)
            elif through_former(a, partner):
                theirs.add(partner)
            else:
                direct.add(partner)
    zoom = [code, *_framed(code, list(best), settings, layers)]
    return maps.render_map(
        focal=code,
        values=best,
        value_label="expected annual savings",
        # A partner already sharing another service and suggested for this one is both: shaded
        # by its suggestion and hatched (it showed as a suggestion alone, a stranger).
        existing=sorted(existing),
        inherited=sorted(gone - direct),
        partner_inherited=sorted(theirs - direct - gone),
        layer=layer_of(str(body["tier"])),
        # A page's map follows its bodies' shape; a printed one is landscape, the width of
        # the page, so that its names print as large as the text (no locator: print says where).
        zoom_to=zoom if page else None,
        bbox=None if page else landscape(zoom, settings, layers=layers),
        title=title or f"Map of {body['display_name']} and its suggested partners",
        width=width,
        labels=True,
        phone_labels=page,
        legend_html=True,
        locator=page,
        settings=settings,
        layers=layers,
    )


# A suggested partner whose area holds the body's and is this many times its size is drawn cut
# by the frame, not framed whole: Newcastle's NHS board (North East and North Cumbria) made the
# map of Newcastle and its neighbours one of the whole North East, the city a speck.
COVERING_FIT = 12.0


def _framed(
    code: str,
    partners: list[str],
    settings: Settings,
    layers: Mapping[str, maps.WebLayer] | None = None,
) -> list[str]:
    """The suggested partners a map frames whole: all but those covering the body's area that
    are far larger than it (seen around it, cut by the frame), unless that leaves none."""
    bounds = (layers["national"] if layers else maps.web_layer(settings)).bounds
    mine = bounds[code]

    def size(c: str) -> float:
        b = bounds[c]
        return (b[2] - b[0]) * (b[3] - b[1])

    def covers(c: str) -> bool:
        b = bounds[c]
        return b[0] <= mine[0] and b[1] <= mine[1] and b[2] >= mine[2] and b[3] >= mine[3]

    limit = COVERING_FIT * size(code)
    kept = [c for c in partners if not (covers(c) and size(c) > limit)]
    return kept or sorted(partners, key=size)[:1]


def landscape(
    codes: Iterable[str],
    settings: Settings,
    ratio: float = 1.5,
    layers: Mapping[str, maps.WebLayer] | None = None,
) -> tuple[float, float, float, float]:
    """A box (BNG metres) around the bodies ``codes``, with a margin, widened to ``ratio``
    (width / height) where it is taller than that."""
    bounds = (layers["national"] if layers else maps.web_layer(settings)).bounds
    boxes = [bounds[c] for c in codes]
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    margin = max(5_000.0, 0.08 * max(maxx - minx, maxy - miny))
    minx, miny, maxx, maxy = minx - margin, miny - margin, maxx + margin, maxy + margin
    grow = max(0.0, ratio * (maxy - miny) - (maxx - minx)) / 2
    return minx - grow, miny, maxx + grow, maxy
