"""One arrangement's page: what it is (its description), where the facts come from (its
source, ranked by kind) and a map that names its members."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from recommender.core import sources
from recommender.core.config import Settings
from recommender.reference import lookup as reference
from recommender.register import records
from recommender.render import maps
from recommender.render.partner_map import layer_of
from recommender.webapp.views_register import MAP_WIDTH, row


def page(
    found: Mapping[str, Any],
    labels: Mapping[str, str],
    settings: Settings,
    find: Callable[[str], str | None],
) -> dict[str, Any]:
    """The arrangement as its page shows it: the explorer's row, its source's kind, how its end
    was read when the register's source did not give it (with a link to the arrangement whose
    note says it, ``find`` giving its id) and a map."""
    shown = row(found, labels)
    url = shown["source_url"]
    ended = records.end_read(found)
    return {
        "end_read": ended,
        # before, the other arrangement's name (linked; None when its own note's), after
        "end_read_said": ended.said_parts() if ended else None,
        "exits_said": records.exits_said(found),
        "end_read_from": find(ended.words_from) if ended and ended.words_from else None,
        "a": shown,
        # Made by this project's simulator, or imported as simulated by an analyst.
        "from_simulator": str(found.get("source") or "").startswith(sources.SIMULATOR_SOURCE),
        "source_kind": sources.source_kind(url) if url else None,
        "map_svg": members_map(found, settings),
    }


def members_map(found: Mapping[str, Any], settings: Settings) -> str | None:
    """The members on the map of the layer most of them are on, each filled and named (None
    when no member is a body the reference knows)."""
    codes = list(dict.fromkeys(m["body_code"] for m in found["members"] if m["body_code"]))
    if not codes:
        return None
    bodies = reference.load_bodies(settings)
    layers = Counter(layer_of(str(bodies.at[c, "tier"])) for c in codes)
    layer = max(layers, key=lambda name: (layers[name], name == "councils"))
    return maps.render_map(
        partners=codes,
        layer=layer,
        zoom_to=codes,
        labels=True,
        phone_labels=True,
        legend_html=True,
        partner_label="Member",
        title=f"Map of the members of {found['name']}",
        width=MAP_WIDTH,
        settings=settings,
    )
