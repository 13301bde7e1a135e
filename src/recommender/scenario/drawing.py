"""The scenario's map as the pages draw it: web layers with its successors, and an overview.

:func:`layers` gives :func:`recommender.render.maps.render_map` the scenario's bodies: today's web
layers (simplified on a 100 m grid as a coverage, :mod:`recommender.render.maps`) with the councils
and counties that leave replaced by each successor, the union of its councils' simplified
polygons (so the successors' borders are their neighbours' exactly, as on today's map).

:func:`overview` draws the scenario itself: the councils around its successors in grey, each
successor in its own colour with a dark outline, the borders of the councils it is made of
as thin dashed lines inside it, and its name; a legend names each successor and says how many
councils it is made of.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.ops import polylabel

from recommender.render import maps
from recommender.render.charts import FONT, INK, PALETTE, esc, num, svg_document, svg_text
from recommender.scenario.world import World


def layers(world: World) -> dict[str, maps.WebLayer]:
    """The web layers by level (``national``, ``detail``) with the scenario's successors."""
    return {level: _layer(world, level) for level in maps.TOLERANCE_M}


@lru_cache(maxsize=16)
def _layer(world: World, level: str) -> maps.WebLayer:
    base = maps.web_layer(world.settings, level)
    geometry = {c: g for c, g in base.geometry.items() if c not in world.replaced}
    for successor in world.definition.successors:
        parts = [base.geometry[c] for c in successor.councils]
        geometry[successor.code] = shapely.union_all(parts, grid_size=maps.GRID_M)
    new = {s.code: s for s in world.definition.successors}
    names = {c: n for c, n in base.names.items() if c not in world.replaced}
    tiers = {c: t for c, t in base.tiers.items() if c not in world.replaced}
    centroids = {c: p for c, p in base.centroids.items() if c not in world.replaced}
    for code, successor in new.items():
        names[code] = successor.name
        tiers[code] = "unitary"
        row = world.bodies.loc[code]
        centroids[code] = (float(row["x"]), float(row["y"]))
    return replace(
        base,
        names=names,
        tiers=tiers,
        centroids=centroids,
        geometry=geometry,
        # today's paths for the bodies that stay (drawing them again would cost seconds)
        paths={
            c: maps.svg_path(g) if c in new else base.paths[c] for c, g in sorted(geometry.items())
        },
        bounds={c: tuple(g.bounds) if c in new else base.bounds[c] for c, g in geometry.items()},
        anchors={c: base.anchors[c] if c not in new else _anchor(g) for c, g in geometry.items()},
    )


def _anchor(geom: Any) -> tuple[float, float]:
    largest = max(shapely.get_parts(geom), key=lambda part: part.area)
    point = polylabel(largest, 500.0)
    return float(point.x), float(point.y)


def overview(world: World, *, width: int = 640, title: str | None = None) -> str:
    """The scenario's successors on the map of the councils around them, as one ``<svg>``
    with its legend after it as an HTML list (:func:`recommender.render.maps.html_legend`)."""
    national = layers(world)["national"]
    boxes = np.asarray([national.bounds[c] for c in world.successors])
    minx, miny = boxes[:, 0].min(), boxes[:, 1].min()
    maxx, maxy = boxes[:, 2].max(), boxes[:, 3].max()
    margin = max(5_000.0, 0.15 * max(maxx - minx, maxy - miny))
    minx, miny, maxx, maxy = minx - margin, miny - margin, maxx + margin, maxy + margin
    grow = max(0.0, (maxy - miny) / 1.3 - (maxx - minx)) / 2  # no taller than 10:13
    minx, maxx = minx - grow, maxx + grow
    scale = width / (maxx - minx)
    level = "detail" if (maxx - minx) / 1000 / width < maps.DETAIL_BELOW_KM_PER_PX else "national"
    geo = layers(world)[level]
    before = maps.web_layer(world.settings, level)
    height = (maxy - miny) * scale
    unit = maps.GRID_M * scale

    def shows(box: tuple[float, float, float, float]) -> bool:
        return bool(box[2] >= minx and box[0] <= maxx and box[3] >= miny and box[1] <= maxy)

    colours = {s.code: PALETTE[i % len(PALETTE)] for i, s in enumerate(world.definition.successors)}
    grey = [
        f'<path data-code="{c}" d="{geo.paths[c]}"><title>{esc(geo.names[c])}</title></path>'
        for c in geo.paths
        if geo.tiers[c] in maps.LOWER_TIERS and c not in colours and shows(geo.bounds[c])
    ]
    filled = [
        f'<path data-code="{c}" class="successor" fill="{colours[c]}" fill-opacity="0.55" '
        f'stroke="{INK}" stroke-width="{num(2.4 / unit, 3)}" d="{geo.paths[c]}">'
        f"<title>{esc(geo.names[c])}: a successor made of {len(s.councils)} council"
        f"{'s' * (len(s.councils) != 1)}</title></path>"
        for s in world.definition.successors
        for c in [s.code]
    ]
    inner = [
        f'<path d="{before.paths[c]}"/>' for s in world.definition.successors for c in s.councils
    ]
    transform = f"matrix({num(unit, 6)} 0 0 {num(unit, 6)} {num(-minx * scale, 3)} "
    transform += f"{num(maxy * scale, 3)})"
    body = (
        f'<g transform="{transform}" fill="#e3e3e3" stroke="#ffffff" stroke-linejoin="round" '
        f'stroke-width="{num(0.6 / unit, 3)}">{"".join(grey)}{"".join(filled)}'
        f'<g fill="none" stroke="{INK}" stroke-opacity="0.6" stroke-width="{num(0.8 / unit, 3)}" '
        f'stroke-dasharray="{num(4 / unit, 3)} {num(3 / unit, 3)}" pointer-events="none">'
        f"{''.join(inner)}</g></g>"
    )
    # The names in two sizes, as a body's map draws them: the page's and, shown instead on a
    # phone (.labels-phone), one drawn for the map at its narrowest, still 11 px there.
    for size, kind in ((FONT, "labels"), (FONT * width / maps.PHONE_PX, "labels labels-phone")):
        labels = []
        for s in world.definition.successors:
            x, y = geo.anchors[s.code]
            px, py = (x - minx) * scale, (maxy - y) * scale
            labels.append(svg_text(px, py, s.name, anchor="middle", bold=True, size=size))
        hidden = ' display="none"' if "labels-phone" in kind else ""
        body += (
            f'<g class="{kind}"{hidden} aria-hidden="true" pointer-events="none">'
            '<g stroke="#ffffff" stroke-width="3" stroke-linejoin="round">'
            f"{''.join(labels)}</g>{''.join(labels)}</g>"
        )
    items = [
        (
            f'<rect x="0.5" y="1.5" width="13" height="11" fill="{colours[s.code]}" '
            f'fill-opacity="0.55" stroke="{INK}" stroke-width="2"/>',
            f"{s.name} ({len(s.councils)} councils)",
        )
        for s in world.definition.successors
    ]
    items.append(
        (
            f'<path d="M0 7h14" stroke="{INK}" stroke-dasharray="4 3"/>',
            "Border between the councils it is made of",
        )
    )
    items.append(
        ('<rect x="0.5" y="1.5" width="13" height="11" fill="#e3e3e3"/>', "Other councils")
    )
    described = "; ".join(
        f"{s.name}, made of {', '.join(world.name(c) for c in s.councils)}"
        for s in world.definition.successors
    )
    desc = f"Map of the scenario {world.definition.name}: {described}."
    caption = title or f"Map of the successors in scenario {world.definition.name}"
    # The legend is text on the page after the map, so it scales with the page, not the map.
    svg = svg_document(width, height, caption, desc, body, kind="map")
    return svg + maps.html_legend(items, "")
