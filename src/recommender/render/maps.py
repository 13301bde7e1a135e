"""Maps as inline SVG: councils, fire, police, NHS areas and combined authorities, with no tiles
and no JavaScript.

The web layer is built once per process and reference folder (:func:`web_layer`): the 296
lower-tier councils are simplified together as a coverage (``shapely.coverage_simplify``, so
neighbours keep one shared border), rounded onto a 100 m grid as a coverage
(:func:`recommender.geo.geography.snap_coverage`, so rounding opens no gaps) and every upper
body (county, fire, police, ICB, combined authority) is the union of its simplified councils,
so all layers line up. The combined authorities' layer covers only their areas: the rest of
England is not drawn on it. Paths are in units of 100 m in British National Grid with y
flipped, as relative path commands.

:func:`render_map` draws one layer with suggested partners shaded by value (bodies of other
layers filled above it, or outlined where they would hide another), hatched existing partners
and the focal body outlined above them all; :func:`render_arrangements_map` draws
arrangements as spokes from each group's centre to its members over the grey councils. Both
return one standalone ``<svg>`` and share the conventions of :mod:`recommender.render.charts`: px at
the nominal width, a title and a description in words, escaped text, deterministic output.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.ops import polylabel

from recommender.core import kinds
from recommender.core.config import Settings
from recommender.core.errors import CheckFailed, InvalidInput, UnknownBody
from recommender.core.names import closest
from recommender.geo.geography import snap_coverage
from recommender.reference import lookup as reference
from recommender.register.records import one_body
from recommender.render.charts import (
    ID,
    INK,
    MUTED,
    PALETTE,
    esc,
    flow_legend,
    money,
    num,
    svg_document,
    svg_text,
    text_width,
)

LOWER_TIERS = kinds.LOWER_TIERS
LAYERS = {
    "councils": LOWER_TIERS,
    "upper_tier": kinds.UPPER_TIERS,
    "fire": ("fire",),
    "police": ("police",),
    "health": ("health",),
    "combined": ("combined_authority",),
}
# The column that names each lower-tier council's upper body of a tier.
MEMBERSHIP = {
    "county": "county_code",
    "fire": "fire_code",
    "police": "police_code",
    "health": "icb_code",
    "combined_authority": "cauth_code",
}
# Visvalingam-Whyatt tolerance (about the square root of the smallest triangle kept), metres.
# "national" (about 1 km a px at 640 px) puts the 296 councils in ~58 KB of path data;
# "detail" serves views under 0.35 km a px.
TOLERANCE_M = {"national": 1000.0, "detail": 200.0}
DETAIL_BELOW_KM_PER_PX = 0.35
GRID_M = 100.0  # one path unit
MOST_LABELS = 30
MOST_OUTLINES = 4  # outlined partners named one by one in the legend

OTHER, EDGE, FOCAL, PARTNER = "#e3e3e3", "#ffffff", "#d55e00", "#2c7fb8"
FOCAL_FILL = "#fde6d2"  # the focal body's own area, under any partner drawn inside it
EXISTING_FILL = "#f7f7f7"
# Legend breaks are round figures near the quantiles: 1, 2, 5 × 10ⁿ, else finer ones.
LADDERS = ((1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0))
COVERS = 0.5  # a body covering this share of another highlighted body is drawn as an outline
LABEL_PX = 11.0  # labels are at least this size where the map is shown
LINE = 1.15  # a label's second line, in its size
PHONE_PX = 290.0  # the narrowest a map is shown (a 320 px phone less the page margins)
# ColorBrewer YlGnBu (colour-blind safe), and which of its colours serve k classes.
RAMP = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
RAMP_PICK = {1: (3,), 2: (1, 3), 3: (1, 2, 4), 4: (1, 2, 3, 4), 5: (0, 1, 2, 3, 4)}


@dataclass(frozen=True)
class WebLayer:
    """Every body's simplified polygon and SVG path at one level of detail.

    ``geometry`` is in BNG metres on the 100 m grid; ``paths`` hold the same rings in units
    of 100 m with y flipped (``x / 100, -y / 100``); ``anchors`` are label points inside each
    body; ``outline`` is a coarse England for locators.
    """

    level: str
    tolerance_m: float
    names: Mapping[str, str]  # code -> display name
    tiers: Mapping[str, str]
    centroids: Mapping[str, tuple[float, float]]  # BNG metres, from the reference
    geometry: Mapping[str, Any]
    paths: Mapping[str, str]
    bounds: Mapping[str, tuple[float, float, float, float]]
    anchors: Mapping[str, tuple[float, float]]
    england: tuple[float, float, float, float]
    outline: str


@dataclass(frozen=True)
class MapArrangement:
    """An arrangement to draw: its id, label, member body codes and (optional) service."""

    id: str
    label: str
    members: Sequence[str]
    service: str = ""
    simulated: bool = False  # drawn dashed with square marks, and said so in the legend


def web_layer(settings: Settings, level: str = "national") -> WebLayer:
    """Return the web-weight layer of ``level`` (``national`` or ``detail``), built once."""
    if level not in TOLERANCE_M:
        raise InvalidInput(f"unknown level {level!r}; expected national or detail", field="level")
    folder = settings.reference_dir.resolve()
    stamp = tuple((folder / n).stat().st_mtime_ns for n in reference.FILES if (folder / n).exists())
    return _build(folder, stamp, level)


@lru_cache(maxsize=8)
def _build(folder: Path, stamp: tuple[int, ...], level: str) -> WebLayer:
    bodies = reference.load_bodies(Settings(data_dir=folder.parent))
    lower = bodies[bodies["tier"].isin(LOWER_TIERS)]
    simple = shapely.coverage_simplify(lower.geometry.to_numpy(), TOLERANCE_M[level])
    snapped = snap_coverage(simple, GRID_M, drop_outside=True)
    geometry = dict(zip(lower.index, snapped, strict=True))
    for tier, column in MEMBERSHIP.items():
        members = lower.groupby(lower[column].to_numpy()).groups
        for code in bodies.index[bodies["tier"] == tier]:
            if code not in members:
                raise CheckFailed(f"{code} ({tier}) has no councils naming it in {column}")
            parts = [geometry[c] for c in members[code]]
            geometry[code] = shapely.union_all(parts, grid_size=GRID_M)
    coarse = shapely.simplify(shapely.union_all(snapped, grid_size=GRID_M), 5_000)
    return WebLayer(
        level=level,
        tolerance_m=TOLERANCE_M[level],
        names={str(c): str(n) for c, n in bodies["display_name"].items()},
        tiers={str(c): str(t) for c, t in bodies["tier"].items()},
        centroids={str(c): (float(row.x), float(row.y)) for c, row in bodies.iterrows()},
        geometry=geometry,
        paths={code: svg_path(geom) for code, geom in sorted(geometry.items())},
        bounds={code: tuple(geom.bounds) for code, geom in geometry.items()},
        anchors={code: _anchor(geom) for code, geom in geometry.items()},
        england=tuple(shapely.total_bounds(snapped)),
        outline=svg_path(coarse),
    )


def _anchor(geom: Any) -> tuple[float, float]:
    # The point furthest inside the largest part: labels sit well inside odd shapes.
    largest = max(shapely.get_parts(geom), key=lambda part: part.area)
    point = polylabel(largest, 500.0)
    return float(point.x), float(point.y)


def svg_path(geom: Any) -> str:
    """Return SVG path data for a (multi)polygon: units of 100 m, y down, relative moves."""
    chunks: list[str] = []
    previous: np.ndarray[Any, Any] | None = None
    for polygon in shapely.get_parts(geom):
        for ring in (polygon.exterior, *polygon.interiors):
            points = np.rint(np.asarray(ring.coords)[:-1] / GRID_M).astype(np.int64)
            points[:, 1] *= -1
            points = points[np.r_[True, np.any(np.diff(points, axis=0) != 0, axis=1)]]
            move = points[0] if previous is None else points[0] - previous
            steps = np.diff(points, axis=0).ravel()
            chunks.append(f"{'M' if previous is None else 'm'}{_numbers(move)}l{_numbers(steps)}z")
            previous = points[0]
    return "".join(chunks)


def _numbers(values: Iterable[int]) -> str:
    out: list[str] = []
    for value in values:
        if out and value >= 0:
            out.append(" ")  # a minus sign separates numbers by itself
        out.append(str(value))
    return "".join(out)


# Views --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """The part of England shown (BNG metres) and the px width it is drawn at."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    width: float
    national: bool

    @property
    def scale(self) -> float:  # px per metre
        return self.width / (self.maxx - self.minx)

    @property
    def height(self) -> float:
        return (self.maxy - self.miny) * self.scale

    def px(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.minx) * self.scale, (self.maxy - y) * self.scale

    def units(self, px: float) -> str:
        """Return ``px`` in path units, for stroke widths and radii inside the map."""
        return num(px / (self.scale * GRID_M), 3)

    def transform(self) -> str:
        s = num(self.scale * GRID_M, 6)
        shift = f"{num(-self.minx * self.scale, 3)} {num(self.maxy * self.scale, 3)}"
        return f"matrix({s} 0 0 {s} {shift})"

    def level(self) -> str:
        per_px = (self.maxx - self.minx) / 1000 / self.width
        return "detail" if per_px < DETAIL_BELOW_KM_PER_PX else "national"

    def shows(self, box: tuple[float, float, float, float]) -> bool:
        minx, miny, maxx, maxy = box
        return maxx >= self.minx and minx <= self.maxx and maxy >= self.miny and miny <= self.maxy


def _view(
    layer: WebLayer,
    zoom_to: Iterable[str] | None,
    bbox: tuple[float, float, float, float] | None,
    width: int,
) -> _View:
    zoom = _known(layer, zoom_to or ())
    national = bbox is None and not zoom
    if bbox is not None:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        if not (minx < maxx and miny < maxy):
            raise InvalidInput(
                f"bbox {bbox} must be (minx, miny, maxx, maxy) in BNG metres", field="bbox"
            )
    else:
        boxes = [layer.bounds[c] for c in zoom] or [layer.england]
        minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
        maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
        margin = 5_000.0 if national else max(5_000.0, 0.12 * max(maxx - minx, maxy - miny))
        minx, miny, maxx, maxy = minx - margin, miny - margin, maxx + margin, maxy + margin
    # Keep the panel between landscape 5:3 and portrait 10:13 by widening its short side.
    dx, dy = maxx - minx, maxy - miny
    grow_x, grow_y = max(0.0, dy / 1.3 - dx) / 2, max(0.0, 0.6 * dx - dy) / 2
    return _View(minx - grow_x, miny - grow_y, maxx + grow_x, maxy + grow_y, width, national)


def _known(layer: WebLayer, codes: Iterable[str]) -> list[str]:
    found = [str(c) for c in codes]
    for code in found:
        if code not in layer.paths:
            raise UnknownBody(
                f"no public body has the code {code!r}",
                field="code",
                suggestions=closest(code, list(layer.paths), limit=3),
            )
    return found


def class_breaks(values: Iterable[float], classes: int = 5) -> list[float]:
    """Return class limits for shading: the minimum, up to ``classes - 1`` inner breaks and
    the maximum (empty without finite values).

    Inner breaks are round figures (1, 2 or 5 × 10ⁿ; 1, 1.5, 2, 3, 5 or 7 × 10ⁿ when those
    leave a single class) nearest the quantiles, so a legend reads "£50k–£100k", never
    "£13k–£14k".
    """
    data = np.sort(np.asarray([v for v in values if math.isfinite(v)], dtype=float))
    if not len(data):
        return []
    k = min(classes, len(np.unique(data)))
    quantiles = np.quantile(data, np.arange(1, k) / k) if k > 1 else np.array([])
    inner: list[float] = []
    for ladder in LADDERS:
        inner = sorted({_round_figure(q, ladder) for q in quantiles if q > 0})
        inner = [b for b in inner if data[0] < b < data[-1]]
        if inner:
            break
    return [float(data[0]), *inner, float(data[-1])]


def _round_figure(value: float, ladder: Sequence[float]) -> float:
    """The figure of ``ladder`` × 10ⁿ nearest ``value`` (on a log scale)."""
    power = math.floor(math.log10(value))
    options = [m * 10.0**e for e in (power - 1, power, power + 1) for m in ladder]
    return float(f"{min(options, key=lambda o: abs(math.log(o / value))):.6g}")


# One map's bodies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Roles:
    """Who is who on one map, and how each body is coloured, named and explained."""

    focus: tuple[str, ...]
    values: Mapping[str, float]
    partners: frozenset[str]
    existing: frozenset[str]
    names: Mapping[str, str]
    partner_label: str
    value_label: str
    value_format: Callable[[float], str]
    detail_format: Callable[[float], str]
    breaks: tuple[float, ...]
    inherited: frozenset[str] = frozenset()  # existing only through bodies now gone
    partner_inherited: frozenset[str] = frozenset()  # … gone that the partners succeed
    succeeds: str = ""  # the body that succeeds them (its name), as the description says

    def kind(self, code: str) -> str:
        """A suggested partner that is also an existing one is "suggested" (and hatched)."""
        if code in self.focus:
            return "focal"
        if code in self.values or code in self.partners:
            return "suggested"
        return "existing" if code in self.existing else "other"

    def shade(self, value: float) -> str:
        breaks = self.breaks
        colours = [RAMP[i] for i in RAMP_PICK[max(1, len(breaks) - 1)]]
        return colours[bisect.bisect_right(breaks[1:-1], value)]

    def colour(self, code: str) -> str:
        if code in self.focus:
            return FOCAL_FILL
        if code in self.values:
            return self.shade(self.values[code])
        return EXISTING_FILL if code in self.existing else PARTNER

    def tip(self, code: str) -> str:
        role = " (focus)" if code in self.focus else ""
        role = role or (" (existing partner)" if code in self.existing else "")
        if code in self.values:
            return f"{self.names[code]}{role}: {self.detail_format(self.values[code])}"
        plain = f": {self.partner_label.lower()}" if code in self.partners else ""
        return self.names[code] + (role or plain)

    def plain_partners(self) -> list[str]:
        return sorted(self.partners - set(self.values) - self.existing - set(self.focus))

    def legend(self, outlined: Sequence[str]) -> list[tuple[str, str]]:
        """The legend's (swatch, label) items: one per class of values ("Under £50k",
        "£50k–£100k", "£100k or more"), then the focus, plain and existing partners."""
        fmt, items, last = self.value_format, [], len(self.breaks) - 2
        for i, (lo, hi) in enumerate(itertools.pairwise(self.breaks)):
            if last == 0:
                text = fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"
            elif i == 0:
                text = f"Under {fmt(hi)}"
            elif i == last:
                text = f"{fmt(lo)} or more"
            else:
                text = f"{fmt(lo)}–{fmt(hi)}"
            items.append((_swatch(self.shade(lo), "#555555"), text))
        if self.focus:
            focus = f"{self.names[self.focus[0]]} (focus, outlined)"
            items.append((_focal_swatch(), focus))
        if self.plain_partners():
            plain = self.partner_label + (" (no estimate)" if self.values else "")
            items.append((_swatch(PARTNER, "#555555"), plain))
        if self.existing:
            items.append((_hatch_swatch(), "Existing partner"))
        if 0 < len(outlined) <= MOST_OUTLINES:  # named: a dashed line alone does not say who
            for code in outlined:
                colour = "#ffffff" if self.kind(code) == "existing" else self.colour(code)
                items.append((_dash_swatch(colour), f"{self.names[code]} (dashed outline)"))
        elif outlined:
            items.append((_dash_swatch(RAMP[3]), "Partner covering a wider area (dashed)"))
        items.append((_swatch(OTHER, "#bbbbbb"), "Other"))
        return items

    def describe(self, view: _View, zoom: Sequence[str], outlined: Sequence[str]) -> str:
        where = "England" if view.national else "part of England"
        where += f" around {_list(sorted(zoom), self.names, 3)}" if zoom else ""
        parts = [f"{self.names[c]} highlighted" for c in self.focus]
        if self.values:
            ranked = sorted(self.values, key=lambda c: (-self.values[c], c))
            low, high = min(self.values.values()), max(self.values.values())
            listed = [f"{self.names[c]} {self.detail_format(self.values[c])}" for c in ranked]
            label = self.value_label or "value"
            label = label[0].lower() + label[1:] if label[1:2].islower() else label
            parts.append(
                f"{_count(len(ranked), 'suggested partner')} shaded by {label} from "
                f"{self.detail_format(low)} to "
                f"{self.detail_format(high)}, highest first: {_list(listed, None)}"
            )
        plain = self.plain_partners()
        if plain:
            noun = self.partner_label.lower()
            parts.append(f"{_count(len(plain), noun)}: {_list(plain, self.names)}")
        if self.existing:
            hatched = _list(sorted(self.existing), self.names)
            said = f"{_count(len(self.existing), 'existing partner')} hatched: {hatched}"
            gone = sorted(self.inherited & self.existing)
            if gone:  # partners through its predecessors' arrangements, not its own
                who = (
                    "all"
                    if len(gone) == len(self.existing)
                    else _list(gone, self.names)
                    if len(gone) <= 3
                    else f"{len(gone)} of them"
                )
                said += (
                    f" ({who} only through bodies now gone that {self.succeeds or 'it'} succeeds)"
                )
            theirs = sorted(self.partner_inherited & self.existing)
            if theirs:  # partners in them through their own predecessors (Devon's Somerset)
                one = len(theirs) == 1
                who = "" if len(theirs) == len(self.existing) else _list(theirs, self.names) + " "
                said += (
                    f" ({who}only through bodies now gone that "
                    f"{'it succeeds' if one else 'they succeed'})"
                )
            parts.append(said)
        if outlined:
            parts.append(f"areas outlined with dashes: {_list(outlined, self.names)}")
        return f"Map of {where}" + (": " + "; ".join(parts) if parts else "") + "."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _list(items: Sequence[str], names: Mapping[str, str] | None, most: int = 12) -> str:
    shown = [names[i] if names else i for i in items[:most]]
    return ", ".join(shown) + (f" and {len(items) - most} more" if len(items) > most else "")


def _swatch(fill: str, stroke: str, extra: str = "") -> str:
    return f'<rect x="0.5" y="1.5" width="13" height="11" fill="{fill}" stroke="{stroke}"{extra}/>'


def _focal_swatch() -> str:
    return (
        f'<rect x="1.5" y="2.5" width="11" height="9" fill="{FOCAL_FILL}" stroke="{INK}" '
        f'stroke-width="3"/><rect x="1.5" y="2.5" width="11" height="9" fill="none" '
        f'stroke="{FOCAL}" stroke-width="1.6"/>'
    )


def _hatch_swatch() -> str:
    # Lines, not the map's pattern: the swatch also stands alone in an HTML legend.
    lines = "M0.5 6.5l6-5M0.5 12.5l12-11M6.5 12.5l7-6"
    return (
        f'<rect x="0.5" y="1.5" width="13" height="11" fill="{EXISTING_FILL}" stroke="#000000"/>'
        f'<path d="{lines}" stroke="#333333" stroke-width="1.2"/>'
    )


def _dash_swatch(colour: str) -> str:
    # Dashed casing too, as on the map: a solid dark casing under coloured dashes read as a
    # plain line at a legend's size.
    line = '<path d="M0 7h14" stroke-width="{}" stroke="{}" stroke-dasharray="5 2.5"/>'
    return line.format(3.6, INK) + line.format(2.2, colour)


# Rendering ----------------------------------------------------------------------------------


def render_map(
    *,
    focal: str | None = None,
    values: Mapping[str, float] | None = None,
    value_label: str = "",
    partners: Iterable[str] = (),
    existing: Iterable[str] = (),
    inherited: Iterable[str] = (),
    partner_inherited: Iterable[str] = (),
    layer: str = "councils",
    bbox: tuple[float, float, float, float] | None = None,
    zoom_to: Iterable[str] | None = None,
    title: str,
    width: int = 640,
    legend: bool = True,
    link: Callable[[str], str] | None = None,
    value_format: Callable[[float], str] = money,
    tooltip_format: Callable[[float], str] | None = None,
    names: Mapping[str, str] | None = None,
    labels: bool | None = None,
    phone_labels: bool = False,
    legend_html: bool = False,
    partner_label: str = "Suggested partner",
    locator: bool = True,
    settings: Settings,
    layers: Mapping[str, WebLayer] | None = None,
) -> str:
    """Return a map of one ``layer`` as a standalone ``<svg>``.

    Each body of the layer in view is a ``<path>`` with ``data-code``, a ``class`` (``focal``,
    ``suggested``, ``existing`` or ``other``) and a ``<title>`` tooltip (``names`` overrides display
    names). ``values`` shade suggested bodies in up to five classes (:func:`class_breaks`; legend,
    tooltips and description in ``value_format``, or ``tooltip_format`` for the last two);
    ``partners`` without a value share one colour; ``existing`` partners are hatched
    (``partner_label`` names the plain ones in the legend, "Suggested partner" by default), the
    description saying which of them are ``inherited`` (partners only through bodies now gone that
    the ``focal`` body succeeds) and ``partner_inherited`` (only through bodies gone that the
    partners succeed). Named bodies of other layers (councils on a fire map) are filled over the
    layer, the largest first; one covering another named body (a county around its districts, a
    police area around the focal fire authority) is drawn as a dashed outline in its colour instead,
    so that nothing named is hidden; an existing partner with a named body's outline is named in its
    label. The focal body is an outline above everything. ``zoom_to`` (codes) or ``bbox`` (BNG
    metres) set the view, with an England locator beside the legend; zoomed maps name the bodies
    they fill unless ``labels=False``, in two sizes: at least :data:`LABEL_PX` px at the nominal
    width and, for pages that show ``phone_labels`` (``.labels-phone``, hidden unless a stylesheet
    shows it), at :data:`PHONE_PX` px wide. ``legend_html`` leaves the legend out of the SVG and
    returns it after it as an HTML list (text that scales with the page); ``locator=False`` then
    leaves out the England locator too. ``link(code)`` makes each body a link. ``layers`` (by level)
    replace today's web layers, e.g. with a reorganisation scenario's.
    """
    if layer not in LAYERS:
        raise InvalidInput(
            f"unknown layer {layer!r}", field="layer", suggestions=closest(layer, list(LAYERS))
        )
    view = _view(layers["national"] if layers else web_layer(settings), zoom_to, bbox, width)
    geo = layers[view.level()] if layers else web_layer(settings, view.level())
    shown = {str(c): float(v) for c, v in sorted((values or {}).items()) if math.isfinite(v)}
    titles = {**geo.names, **(names or {})}
    roles = _Roles(
        focus=tuple(_known(geo, [focal] if focal else [])),
        values={
            c: v for c, v in zip(_known(geo, shown), shown.values(), strict=True) if c != focal
        },
        partners=frozenset(_known(geo, partners)),
        existing=frozenset(_known(geo, existing)),
        inherited=frozenset(_known(geo, inherited)),
        partner_inherited=frozenset(_known(geo, partner_inherited)),
        succeeds=str(titles.get(focal, "")) if focal else "",
        names=titles,
        partner_label=partner_label,
        value_label=value_label,
        value_format=value_format,
        detail_format=tooltip_format or value_format,
        breaks=tuple(class_breaks(shown.values())),
    )
    mentioned = sorted({*roles.focus, *roles.values, *roles.partners, *roles.existing})
    tiers = LAYERS[layer]
    in_layer = [c for c in geo.paths if geo.tiers[c] in tiers and view.shows(geo.bounds[c])]
    named = [c for c in mentioned if c not in roles.focus]
    outlined = _covering(geo, named, [*roles.values, *roles.partners])
    raised = sorted(
        (c for c in mentioned if geo.tiers[c] not in tiers and c not in outlined),
        key=lambda c: (-geo.geometry[c].area, c),
    )
    # Existing partners of other layers are hatching alone, over whatever is under them.
    hatched = [c for c in [*in_layer, *raised] if c in roles.existing and c not in roles.focus]
    raised = [c for c in raised if roles.kind(c) != "existing"]
    zoom = sorted(zoom_to or ())
    fills = []
    for code in in_layer:
        kind = roles.kind(code)
        style = ""
        if kind != "other":
            colour = OTHER if code in outlined else roles.colour(code)
            style = f' fill="{colour}" stroke="#555555" stroke-width="{view.units(0.6)}"'
        fills.append(_body_path(code, kind, style, geo, roles, link))
    for code in raised:
        style = f' fill="{roles.colour(code)}" stroke="#555555" stroke-width="{view.units(0.6)}"'
        fills.append(_body_path(code, roles.kind(code), style, geo, roles, link))
    lines = [c for c in mentioned if c in outlined]
    body = _panel(view, "".join(fills), _overlays(view, geo, roles, hatched, lines))
    if labels or (labels is None and not view.national):
        filled = [c for c in mentioned if c not in outlined and (c in in_layer or c in raised)]
        body += _labels(view, geo, roles, filled, LABEL_PX, "labels")
        if phone_labels:
            size = LABEL_PX * view.width / PHONE_PX
            body += _labels(view, geo, roles, filled, size, "labels labels-phone")
    items = roles.legend(lines) if legend else []
    heading = value_label[:1].upper() + value_label[1:] if legend else ""
    band, height = _band(view, geo, [] if legend_html else items, "" if legend_html else heading)
    if not locator and (legend_html or not items):
        band, height = "", view.height  # nothing below the map (print names the area)
    desc = roles.describe(view, zoom, lines)
    svg = svg_document(width, height, title, desc, body + band, kind="map")
    return svg + (html_legend(items, heading) if legend_html and items else "")


def html_legend(items: Sequence[tuple[str, str]], heading: str) -> str:
    """Return a map's legend as an HTML list, each swatch a small inline SVG."""
    rows = "".join(
        f'<li><svg viewBox="0 0 14 14" width="14" height="14" aria-hidden="true" '
        f'focusable="false">{swatch}</svg> {esc(label)}</li>'
        for swatch, label in items
    )
    title = f'<p class="map-legend-title">{esc(heading)}</p>' if heading else ""
    return f'<div class="map-legend">{title}<ul>{rows}</ul></div>'


def _body_path(
    code: str,
    kind: str,
    style: str,
    geo: WebLayer,
    roles: _Roles,
    link: Callable[[str], str] | None,
) -> str:
    path = (
        f'<path data-code="{code}" class="{kind}"{style} d="{geo.paths[code]}">'
        f"<title>{esc(roles.tip(code))}</title></path>"
    )
    return f'<a href="{esc(link(code))}">{path}</a>' if link else path


def _covering(geo: WebLayer, codes: Sequence[str], covered: Iterable[str]) -> set[str]:
    """The named bodies that cover at least :data:`COVERS` of a ``covered`` body (a suggested
    partner) no larger than themselves: drawn as outlines, so as not to hide it (a county
    around its districts, a police area around its county)."""
    shapes = {c: geo.geometry[c] for c in codes}
    areas = {c: float(shapes[c].area) for c in codes}
    inside = [c for c in codes if c in set(covered)]
    found = set()
    for big in codes:
        for small in inside:
            if small == big or (areas[small], small) > (areas[big], big):
                continue  # of two the same size, only the one with the later code
            a, b = geo.bounds[small], geo.bounds[big]
            if a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]:
                continue
            if shapely.intersection(shapes[small], shapes[big]).area >= COVERS * areas[small]:
                found.add(big)
                break
    return found


def _overlays(
    view: _View, geo: WebLayer, roles: _Roles, hatched: list[str], outlined: list[str]
) -> str:
    """Return the hatching of existing partners, the dashed outlines of the bodies covering
    others, and the focal body's outline above them all."""
    step = view.units(5)
    patterns = "".join(
        f'<pattern id="{ID}-{name}" patternUnits="userSpaceOnUse" width="{step}" '
        f'height="{step}" patternTransform="rotate(45)"><path d="M0 0V{step}" stroke="{ink}" '
        f'stroke-width="{view.units(1.5)}"/></pattern>'
        for name, ink in (("h", "#333333"), ("hl", "#ffffff"))
    )
    parts = [f"<defs>{patterns}</defs>"]
    for code in hatched:
        # Over a dark shade (a suggested partner that is also an existing one) the hatching is
        # white: dark lines on dark blue did not show.
        light = code in roles.values and _dark(roles.colour(code))
        parts.append(
            f'<path fill="url(#{ID}-{"hl" if light else "h"})" stroke="#000000" '
            f'stroke-width="{view.units(1.4)}" d="{geo.paths[code]}"/>'
        )
    for code in roles.focus:
        parts.append(
            f'<path class="focal-outline" fill="none" stroke="{INK}" '
            f'stroke-width="{view.units(4.6)}" d="{geo.paths[code]}"/><path fill="none" '
            f'stroke="{FOCAL}" stroke-width="{view.units(2.4)}" d="{geo.paths[code]}"/>'
        )
    # Above the focal outline, dashed (casing too): where the two run together, both show.
    dash = f' stroke-dasharray="{view.units(7)} {view.units(4)}"'
    for code in outlined:
        kind = roles.kind(code)
        colour = "#ffffff" if kind == "existing" else roles.colour(code)
        parts.append(
            f'<path fill="none" stroke="{INK}" stroke-width="{view.units(3.4)}"{dash} '
            f'd="{geo.paths[code]}"/><path data-code="{code}" class="{kind}" fill="none" '
            f'stroke="{colour}" stroke-width="{view.units(2)}"{dash} '
            f'pointer-events="stroke" d="{geo.paths[code]}"><title>{esc(roles.tip(code))}'
            "</title></path>"
        )
    return "".join(parts)


def _dark(colour: str) -> bool:
    """Whether a ``#rrggbb`` fill is dark enough to need light lines over it."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 128


def _panel(view: _View, fills: str, overlays: str, marks: str = "") -> str:
    """Return the map itself: bodies, overlays and marks, clipped to the view."""
    return (
        f'<clipPath id="{ID}-c"><rect width="{num(view.width)}" '
        f'height="{num(view.height)}"/></clipPath>'
        f'<g clip-path="url(#{ID}-c)"><g transform="{view.transform()}" '
        f'fill="{OTHER}" fill-rule="evenodd" stroke="{EDGE}" stroke-width="{view.units(0.5)}" '
        f'stroke-linejoin="round">{fills}<g pointer-events="none">{overlays}</g>{marks}</g></g>'
    )


def _labels(
    view: _View, geo: WebLayer, roles: _Roles, codes: list[str], size: float, kind: str
) -> str:
    """Return names over the filled bodies in ``size`` px, the focal body first, then the
    largest values, skipping any that would overlap one placed or run off the map."""
    # The focal body first: a partner covering the same area (Cornwall's NHS board) otherwise
    # put its own name on the body the map is about.
    order = sorted(codes, key=lambda c: (roles.kind(c) != "focal", -roles.values.get(c, 0), c))
    placed: list[tuple[float, float, float, float]] = []
    texts = []
    for code in order[:MOST_LABELS]:
        x, y = view.px(*geo.anchors[code])
        lines = [short_name(roles.names[code])]
        if code not in roles.existing:  # an existing partner of the same outline, hatched
            lines += [  # over it, is named too: Warwickshire Fire's hatching was its police's
                f"+ {short_name(roles.names[other])} (existing)"
                for other in sorted(roles.existing)
                if other != code and geo.paths.get(other) == geo.paths[code]
            ]
        half = max(text_width(line, size) for line in lines) / 2
        below = (len(lines) - 1) * LINE * size
        # At its point, else a line above or below it (the North Central London board's name
        # over Barnet, its likeliest partner, left Barnet unnamed), else not at all; never off
        # the map.
        for shift in (0.0, LINE * size, -LINE * size):
            at = y + shift
            box = (x - half - 2, at - 0.9 * size, x + half + 2, at + 0.35 * size + below)
            clash = any(
                b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in placed
            )
            inside = box[0] >= 0 and box[2] <= view.width and 0 <= box[1] <= view.height
            if not clash and inside and box[3] <= view.height:
                break
        else:
            continue
        placed.append(box)
        texts += [
            svg_text(x, at + i * LINE * size, t, anchor="middle") for i, t in enumerate(lines)
        ]
    halo = f'<g stroke="#ffffff" stroke-width="{num(size / 3.5)}" stroke-linejoin="round">'
    hidden = ' display="none"' if "labels-phone" in kind else ""
    return (
        f'<g class="{kind}" aria-hidden="true" font-size="{num(size)}"{hidden}>'
        f"{halo}{''.join(texts)}</g>{''.join(texts)}</g>"
    )


# Long official endings shortened on the map itself (tooltips and legends keep them).
_SHORT = (
    (" Fire and Rescue Authority", " Fire"),
    (" police force area", " Police"),
    (" Integrated Care Board", " ICB"),
    (" Combined County Authority", " CCA"),
    (" Combined Authority", " CA"),
)


def short_name(name: str) -> str:
    """A body's name as a map label: "Suffolk Fire", "Norfolk Police", "NHS Kent and Medway
    ICB", "Greater Manchester CA"."""
    for long, short in _SHORT:
        if name.endswith(long):
            return name[: -len(long)] + short
    return name


def _band(
    view: _View, layer: WebLayer, items: Sequence[tuple[str, str]], heading: str
) -> tuple[str, float]:
    """Return the legend (and, for a zoomed view, an England locator) below the map."""
    if not items and view.national:
        return "", view.height
    top = view.height + 10
    locator, locator_h = ("", 0.0) if view.national else _locator(view, layer, top)
    room = view.width - (view.width * 0.2 + 24 if locator else 0) - 8
    parts, y = [locator], top
    if heading:
        parts.append(svg_text(8, y + 12, heading, bold=True))
        y += 20
    legend, legend_h = flow_legend(items, 8, y, room)
    parts.append(legend)
    return "".join(parts), max(y + legend_h, top + locator_h) + 8


def _locator(view: _View, layer: WebLayer, top: float) -> tuple[str, float]:
    minx, miny, maxx, maxy = layer.england
    width = view.width * 0.2
    scale = width / (maxx - minx)
    left = view.width - width - 8

    def at(x: float, y: float) -> tuple[float, float]:
        return left + (x - minx) * scale, top + (maxy - y) * scale

    x0, y0 = at(max(view.minx, minx), min(view.maxy, maxy))
    x1, y1 = at(min(view.maxx, maxx), max(view.miny, miny))
    s = num(scale * GRID_M, 6)
    return (
        f'<g class="locator" aria-hidden="true"><path transform="matrix({s} 0 0 {s} '
        f'{num(left - minx * scale)} {num(top + maxy * scale)})" fill="{OTHER}" stroke="#9a9a9a" '
        f'stroke-width="{num(0.8 / (scale * GRID_M))}" d="{layer.outline}"/><rect x="{num(x0)}" '
        f'y="{num(y0)}" width="{num(max(x1 - x0, 3))}" height="{num(max(y1 - y0, 3))}" '
        f'fill="none" stroke="{FOCAL}" stroke-width="2"/></g>',
        (maxy - miny) * scale,
    )


def render_arrangements_map(
    arrangements: Iterable[MapArrangement],
    *,
    title: str,
    points: Mapping[str, tuple[int, int]] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    zoom_to: Iterable[str] | None = None,
    width: int = 640,
    legend: bool = True,
    by_service: bool = True,
    link: Callable[[str], str] | None = None,
    legend_html: bool = False,
    settings: Settings,
) -> str:
    """Return arrangements drawn over the grey councils as a standalone ``<svg>`` (and, with
    ``legend_html``, its legend after it as an HTML list, readable on a phone, where the
    drawing shrinks).

    Each arrangement is a ``<g class="arrangement" data-id=…>`` with a tooltip: lines from the
    centre of its members to each member's centroid, and a dot on each member. With
    ``by_service`` the seven most common services get colour-blind-safe colours (the rest one
    grey), explained in the legend. ``link(id)`` makes each arrangement a link.

    ``points`` (body code -> arrangements it is in, real and simulated) draws every member of
    a whole register, however large, as one mark a body (``<g class="members">``) under the
    lines: a circle sized by its real arrangements, a square by its simulated ones, at most
    :data:`MOST_POINTS` of them (the busiest), with the largest few named in the description.
    The size of the drawing then depends on the number of bodies, not of arrangements; draw
    lines for a bounded few (a page of them).
    """
    items = list(arrangements)
    view = _view(web_layer(settings), zoom_to, bbox, width)
    geo = web_layer(settings, view.level())
    for item in items:
        _known(geo, item.members)
    counts = Counter(a.service for a in items if a.service)
    ranked = sorted(counts, key=lambda s: (-counts[s], s))
    colours = {s: PALETTE[i] for i, s in enumerate(ranked[: len(PALETTE)])} if by_service else {}
    fills = "".join(
        f'<path data-code="{c}" class="other" d="{geo.paths[c]}">'
        f"<title>{esc(geo.names[c])}</title></path>"
        for c in geo.paths
        if geo.tiers[c] in LOWER_TIERS and view.shows(geo.bounds[c])
    )
    shown = _busiest(geo, points or {})
    marks = [_member_marks(view, geo, shown)] if shown else []
    for item in items:
        if not item.members:
            continue
        points_of = np.asarray([geo.centroids[c] for c in item.members]) / GRID_M * [1, -1]
        hub = np.rint(points_of.mean(axis=0)).astype(int)
        ends = np.rint(points_of).astype(int)
        spokes = "".join(f"M{_numbers(hub)}l{_numbers(p - hub)}" for p in ends)
        r = view.units(2.6)
        if item.simulated:  # not a real partnership: dashed, square, named so in the tooltip
            side = view.units(5.2)
            dots = "".join(
                f'<rect x="{p[0]}" y="{p[1]}" width="{side}" height="{side}" '
                f'transform="translate(-{r} -{r})"/>'
                for p in ends
            )
            dash = f' stroke-dasharray="{view.units(4)} {view.units(3)}"'
        else:
            dots = "".join(f'<circle cx="{p[0]}" cy="{p[1]}" r="{r}"/>' for p in ends)
            dash = ""
        colour = colours.get(item.service, MUTED if by_service else PALETTE[0])
        service = f" ({item.service})" if item.service else ""
        origin = "SIMULATED, not a real partnership: " if item.simulated else ""
        tip = f"{origin}{item.label}{service}: {_list(list(item.members), geo.names, 10)}"
        kind = "arrangement simulated" if item.simulated else "arrangement"
        group = (
            f'<g class="{kind}" data-id="{esc(item.id)}" stroke="{colour}" fill="{colour}">'
            f'<title>{esc(tip)}</title><path fill="none" stroke-width="{view.units(1.6)}" '
            f'stroke-opacity="0.75"{dash} d="{spokes}"/>{dots}</g>'
        )
        marks.append(f'<a href="{esc(link(item.id))}">{group}</a>' if link else group)
    body = _panel(view, fills, "", marks="".join(marks))
    keys = [(f'<circle cx="7" cy="7" r="5" fill="{c}"/>', s) for s, c in colours.items()]
    if by_service and len(ranked) > len(colours):
        keys.append((f'<circle cx="7" cy="7" r="5" fill="{MUTED}"/>', "Any other service"))
    if shown:
        keys += _member_keys(shown)
    if any(a.simulated for a in items) or any(fake for _, fake in shown.values()):
        mark = (
            f'<path d="M0 7h14" stroke="{MUTED}" stroke-width="2" stroke-dasharray="4 3"/>'
            f'<rect x="4" y="4" width="6" height="6" fill="{MUTED}"/>'
        )
        keys.append((mark, "Simulated: training data, not real"))
    band, height = _band(view, geo, keys if legend and not legend_html else [], "")
    where = "England" if view.national else "part of England"
    desc = f"Map of {where}: "
    if shown:
        desc += _member_description(geo, points or {}, shown) + "; "
    # One whose members are all one body today (councils merged since) draws no line: a dot.
    one = sum(one_body(list(a.members)) for a in items)
    desc += f"{_count(len(items) - one, 'arrangement')} drawn as lines from the centre "
    desc += "of each group to its members"
    if one:
        desc += f", {_count(one, 'arrangement')} between bodies now one, a dot on that body"
    if by_service and counts:
        desc += ", coloured by service: " + ", ".join(f"{s} {counts[s]}" for s in ranked)
    svg = svg_document(width, height, title, desc + ".", body + band, kind="map")
    return svg + (html_legend(keys, "") if legend and legend_html and keys else "")


MOST_POINTS = 1000  # member marks on one map at most (the busiest bodies): a bounded drawing
POINT_RADIUS_PX = (2.5, 11.0)  # a body in one arrangement, the busiest body on the map
MEMBER_FILL = "#0072B2"


def _busiest(geo: WebLayer, points: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The bodies to mark (known to the map, in some arrangement), at most MOST_POINTS."""
    known = [(c, n) for c, n in points.items() if c in geo.centroids and sum(n) > 0]
    known.sort(key=lambda item: (-sum(item[1]), item[0]))
    return dict(known[:MOST_POINTS])


def _radius(count: int, most: int) -> float:
    """Marks sized by area: a body in ``most`` arrangements gets the largest."""
    low, high = POINT_RADIUS_PX
    return low + (high - low) * math.sqrt((count - 1) / max(most - 1, 1))


def _member_marks(view: _View, geo: WebLayer, shown: Mapping[str, tuple[int, int]]) -> str:
    """One mark a body: a square sized by its simulated arrangements under a circle sized by
    its real ones, largest first so that small marks stay on top."""
    most = max(max(real, fake) for real, fake in shown.values())
    order = sorted(shown, key=lambda c: (-sum(shown[c]), c))
    parts = []
    for code in order:
        real, fake = shown[code]
        x, y = (np.rint(np.asarray(geo.centroids[code]) / GRID_M * [1, -1])).astype(int)
        tip = f"{geo.names[code]}: {_count(real, 'real arrangement')}"
        tip += f" and {_count(fake, 'simulated one')}" if fake else ""
        shapes = ""
        if fake:
            side = _radius(fake, most) * 2
            half = view.units(side / 2)
            shapes += (
                f'<rect class="simulated" x="{x}" y="{y}" width="{view.units(side)}" '
                f'height="{view.units(side)}" transform="translate(-{half} -{half})" '
                f'fill="#ffffff" stroke="{MUTED}" stroke-dasharray="{view.units(2)} '
                f'{view.units(1.5)}"/>'
            )
        if real:
            shapes += f'<circle cx="{x}" cy="{y}" r="{view.units(_radius(real, most))}"/>'
        parts.append(f'<g data-code="{code}"><title>{esc(tip)}</title>{shapes}</g>')
    return (
        f'<g class="members" fill="{MEMBER_FILL}" fill-opacity="0.55" stroke="#ffffff" '
        f'stroke-width="{view.units(0.8)}">{"".join(parts)}</g>'
    )


def _member_keys(shown: Mapping[str, tuple[int, int]]) -> list[tuple[str, str]]:
    """Legend marks for a body in 1, a middling number and the most arrangements."""
    most = max(max(real, fake) for real, fake in shown.values())
    sizes = sorted({1, max(1, round(most / 4)), most})
    keys = []
    for n in sizes:
        r = min(_radius(n, most), 7.0)  # the key's box is 14 px: the largest is drawn capped
        mark = (
            f'<circle cx="7" cy="7" r="{num(r, 1)}" fill="{MEMBER_FILL}" fill-opacity="0.55" '
            'stroke="#555555"/>'
        )
        keys.append((mark, f"A body in {_count(n, 'arrangement')}"))
    return keys


def _member_description(
    geo: WebLayer, points: Mapping[str, tuple[int, int]], shown: Mapping[str, tuple[int, int]]
) -> str:
    every = sum(1 for c in points if c in geo.centroids)
    bodies = f"{len(shown)} member bod{'y' if len(shown) == 1 else 'ies'}"
    text = f"{bodies} marked, sized by the arrangements each is in"
    if len(shown) < every:
        text += f" (the busiest {len(shown)} of {every})"
    busiest = [f"{geo.names[c]} {sum(shown[c])}" for c in list(shown)[:5]]
    return text + ", the most: " + ", ".join(busiest)
