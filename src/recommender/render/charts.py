"""Charts as inline SVG: grouped bars for evaluation metrics, forest plots for savings ranges.

Pure Python (no matplotlib, no JavaScript): each chart is one standalone ``<svg>`` string for a
Flask page or the WeasyPrint briefing, offline. Every chart carries a ``<title>`` and a
``<desc>`` that say in words what it shows, escapes all text and is deterministic (same
inputs, same string). Lengths are px at the nominal ``width`` (``viewBox="0 0 width height"``),
so text keeps its size in px there; the SVG scales to its container (``width="100%"``).

:func:`money` and the small SVG helpers below are shared with :mod:`recommender.render.maps`.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput
from recommender.core.names import closest
from recommender.model.fit import RATE_YEARS
from recommender.register.records import (
    TO_DATE_SAID,
    TO_DATE_YEAR,
    annual_assumption,
    annualise,
    savings_reading,
)

INK = "#222222"  # text: 15.9:1 on white
MUTED = "#595959"  # axis labels: 7:1 on white
GRID = "#d9d9d9"
FONT = 12.0  # px
HIGHLIGHT = "#0072B2"
ID = "\x00"  # stands for the document's id prefix until svg_document replaces it
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Okabe-Ito, colour-blind safe (its yellow left out: too faint on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
# The series beside a highlighted one: the palette's other colours, then two greys, each its
# own (five greys for six rules read as two pairs of the same bar), outlined (3:1 on white).
BESIDE = ("#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#595959", "#b3b3b3")


# Formatting ---------------------------------------------------------------------------------


BASIS_WORDS = {
    "annual": "a year",
    "to_date": "to date",
    "cumulative": "in total",
    "projected": "projected",
    "unknown": "(not said whether a year or in total)",  # the source does not say
}


def savings_said(record: Mapping[str, Any]) -> str:
    """An arrangement's savings as its source gave them, with the basis, and the annual figure
    drawn from them: "£1.6m a year", "£200m projected; about £20m a year" (a target over ten
    years is never shown as a yearly saving achieved), "no savings figure". Where the rule
    assumed a period the source does not give, it says so: "£3.4m projected, no period
    recorded with it: read as a year", "£19m to date, start year not given: spread over 5
    years, about £3.7m a year", "£1m to date, taken as 2015 to 2019 (the source's date is not
    kept: …): about £250k a year" (the register keeps no source's date: a total to date is
    spread to :data:`TO_DATE_YEAR`, and says so)."""

    def given(key: str) -> float | None:
        value = record.get(key)
        return None if value is None or value != value else float(value)  # NaN: none

    figure, annual = given("savings_gbp"), given("annual_savings_gbp")
    basis = str(record.get("savings_basis") or "unknown")
    if figure is None:
        return "no savings figure" if annual is None else f"{money(annual)} a year"
    source = money_as_given(figure)  # the source's figure, not rounded ("£18.5m", not "£19m")
    reading = savings_reading(str(record.get("name") or ""), figure, bool(record.get("simulated")))
    if reading is not None:  # read from the source's own words ("to save £6m by 2020")
        return f"{source} {BASIS_WORDS.get(basis, basis)}; {reading.reading}"
    if basis == "annual":
        return f"{source} a year"
    said = f"{source} {BASIS_WORDS.get(basis, basis)}"
    if annual is None:
        return said
    period, start = given("savings_period_years"), given("start_year")
    assumed = annual_assumption(
        basis, None if period is None else int(period), None if start is None else int(start)
    )
    if assumed is not None and math.isclose(  # the rule's own assumption made this figure
        annual, annualise(figure, basis, None, None) or math.nan
    ):
        said += f", {assumed}"
        return said if math.isclose(annual, figure) else f"{said}, about {money(annual)} a year"
    if (
        basis == "to_date"
        and start is not None
        and math.isclose(
            annual, annualise(figure, basis, None, int(start)) or math.nan, rel_tol=1e-6
        )
    ):  # the rule's end year, not the source's date (which the register does not keep)
        span = (
            f"{int(start)} to {TO_DATE_YEAR}"
            if start < TO_DATE_YEAR
            else f"a year from {int(start)}"
        )
        return f"{said}, taken as {span} ({TO_DATE_SAID}): about {money(annual)} a year"
    return f"{said}; about {money(annual)} a year"


def documented_sizes(meta: Mapping[str, Any], settings: Settings) -> str | None:
    """:func:`documented_sizes_said` of a model (its metadata, ``meta``) against the LGA's
    published share (``share_under_100k`` of ``data/calibration.json``); None for a model
    saved before its figures were recorded."""
    from recommender.simulation.calibration import published_fact

    savings = (meta.get("parameters") or {}).get("savings") or {}
    return documented_sizes_said(
        savings.get("figures_gbp") or [],
        published_fact(settings, "share_under_100k"),
        savings.get("figures_by_basis"),
    )


def likelihood_learnt(meta: Mapping[str, Any]) -> str:
    """What a model's likelihood was learnt from (its metadata, ``meta``), said beside it: the
    partner from the real arrangements (and the simulated ones, where they were given a weight),
    how often a body enters a new arrangement from the register's arrangements of
    :data:`~recommender.model.fit.RATE_YEARS`, the simulated part included, which is never any
    body's history.

    >>> meta = {"register": {"real": 300, "simulated": 471}, "parameters": {}}
    >>> print(likelihood_learnt(meta))  # doctest: +NORMALIZE_WHITESPACE
    learnt from who formed arrangements with whom: which partner, from those of the 300
    documented real arrangements with two or more members that are bodies it covers; how often
    a body enters a new arrangement, from the arrangements started 2008 to 2019, those and 471
    simulated ones (training data calibrated to the LGA's published counts, never any body's
    history)
    """
    register = meta.get("register") or {}
    real, simulated = int(register.get("real") or 0), int(register.get("simulated") or 0)
    weight = float((meta.get("parameters") or {}).get("simulated_weight") or 0.0)
    which = (
        f"those of the {real:,} documented real arrangements with two or more members that are "
        "bodies it covers"
    )
    if not simulated:
        return f"learnt from who formed arrangements with whom: {which}"
    if weight > 0:
        which += f" (and the simulated ones, each weighted {weight:g} of a real one)"
    first, last = RATE_YEARS
    return (
        f"learnt from who formed arrangements with whom: which partner, from {which}; how often "
        f"a body enters a new arrangement, from the arrangements started {first} to {last}, "
        f"those and {simulated:,} simulated ones (training data calibrated to the LGA's "
        "published counts, never any body's history)"
    )


# How a figure the savings model learnt from was given, in a few words (a total to date and
# a cumulative one are both divided by their years: one phrase).
FIGURE_BASES = {  # basis: (one, several)
    "annual": ("reported as a yearly saving", "reported as yearly savings"),
    "projected": ("projected", "projected"),
    "to_date": ("a total divided by its years", "totals divided by their years"),
    "cumulative": ("a total divided by its years", "totals divided by their years"),
}


def documented_sizes_said(
    figures: Sequence[float],
    fact: Mapping[str, Any] | None,
    bases: Mapping[str, int] | None = None,
) -> str | None:
    """How the annual figures a savings model learnt from (``figures``: documented
    arrangements, the ones whose savings were published, each read as a yearly figure;
    ``bases``: how many were given on each basis) compare with the LGA's share of every
    partnership that saves under a threshold (``fact``): "Learnt from the savings figures of
    51 documented arrangements, each read as a yearly one (7 reported as yearly savings, 27
    projected, 17 totals divided by their years); 3 of the 51 (6%) are under £100k a year,
    where the LGA found that more than half of all partnerships save less than that (2015
    map): documented arrangements are larger than most and a projection is a target, not a
    saving made, so a typical one may save less than the figures here." (in the one money
    format: the LGA's "£100,000" is not quoted). None without figures or the fact, or where
    the figures are no larger than the published share says."""
    if not figures or fact is None or fact.get("value") is None:
        return None
    threshold = float(fact["params"]["threshold"])
    count = len(figures)
    under = sum(1 for figure in figures if figure < threshold)
    if under / count >= float(fact["value"]):
        return None
    given: dict[tuple[str, str], int] = {}  # yearly first, then projected, then totals
    rank = {basis: i for i, basis in enumerate(FIGURE_BASES)}
    for basis, n in sorted((bases or {}).items(), key=lambda b: rank.get(b[0], len(rank))):
        words = FIGURE_BASES.get(basis, (basis, basis))
        given[words] = given.get(words, 0) + int(n)
    how = ", ".join(f"{n:,} {words[n != 1]}" for words, n in given.items() if n)
    few = (
        f"{under:,} of the {count:,} ({percent(under / count, 0)}) are"
        if under
        else f"none of the {count:,} is"
    )
    share = "half" if float(fact["value"]) == 0.5 else percent(float(fact["value"]), 0)
    when = re.search(r"\(([^()]*)\)\s*$", str(fact.get("published") or ""))  # "(2015 map)"
    target = (
        " and a projection is a target, not a saving made,"
        if (bases or {}).get("projected")
        else ","
    )
    return (
        f"Learnt from the savings figures of {count:,} documented arrangements, each read as a "
        f"yearly one{f' ({how})' if how else ''}; {few} under {money(threshold)} a year, where "
        f"the LGA found that more than {share} of all partnerships save less than that"
        f"{f' ({when[1]})' if when else ''}: documented arrangements are larger than "
        f"most{target} so a typical one may save less than the figures here."
    )


def percent(value: float | None, digits: int = 1) -> str:
    """Return a share as a percentage, the one form the CLI, pages and briefing use: ``12.3%``;
    a chance too small to show in ``digits`` reads ``<0.1%``, never ``0.0%`` (which says none)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    smallest = 10.0**-digits
    if 0 < 100 * value < smallest / 2:
        return f"<{smallest:.{digits}f}%"
    return f"{100 * value:.{digits}f}%"


def money(value: float, *, precise: bool = False) -> str:
    """Return ``value`` in pounds, the one short form every page, table, chart and map uses:
    £950, £7.1k, £19k, £1.2m, £12m, £2.3bn (two significant figures at least, so that
    neighbouring figures read alike). ``precise`` gives whole pounds (£7,119), for the rare
    place that needs them."""
    if not math.isfinite(value):
        return "n/a"
    amount = abs(float(value))
    pounds = math.floor(amount + 0.5)
    sign = "-" if value < 0 and pounds else ""
    if precise or pounds < 1000:
        return f"{sign}£{pounds:,}"
    unit, suffix = 1e3, "k"
    if math.floor(amount / 1e3 + 0.5) >= 1000:  # £999.5k reads as £1m
        unit, suffix = (1e6, "m") if math.floor(amount / 1e6 + 0.5) < 1000 else (1e9, "bn")
    tenths = math.floor(amount / unit * 10 + 0.5)
    figure = f"{math.floor(amount / unit + 0.5):,}" if tenths >= 100 else f"{tenths / 10:g}"
    return f"{sign}£{figure}{suffix}"


def money_as_given(value: float) -> str:
    """A documented figure as its source gave it: :func:`money`'s short form with as many
    significant figures as it has, up to four (£18.5m, £1.534m, £619k, £1.34bn, £3m), else in
    whole pounds (£1,234,567): a source's "£18.5m" is never said "£19m".

    >>> [money_as_given(v) for v in (18_500_000, 1_534_000, 619_000, 1.34e9, 3e6, 1_234_567)]
    ['£18.5m', '£1.534m', '£619k', '£1.34bn', '£3m', '£1,234,567']
    >>> money_as_given(950), money_as_given(100_000), money_as_given(999_500)
    ('£950', '£100k', '£999.5k')
    """
    if not math.isfinite(value):
        return "n/a"
    pounds = math.floor(abs(float(value)) + 0.5)
    sign = "-" if value < 0 and pounds else ""
    if pounds < 1000:
        return f"{sign}£{pounds:,}"
    unit, suffix = next(u for u in ((1e9, "bn"), (1e6, "m"), (1e3, "k")) if pounds >= u[0])
    digits = len(str(pounds)) - len(str(pounds).rstrip("0"))  # trailing zeros
    if len(str(pounds)) - digits > 4 or pounds / unit >= 1000:
        return f"{sign}£{pounds:,}"
    return f"{sign}£{pounds / unit:g}{suffix}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return about ``count`` evenly spaced round ticks (steps 1, 2 or 5 × 10ⁿ) covering
    ``low`` to ``high``; the first tick is at or below ``low``, the last at or above ``high``."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise InvalidInput(f"cannot make ticks from {low} to {high}", field="ticks")
    if high == low:
        low, high = (0.0, 1.0) if low == 0 else (min(0.0, low), max(0.0, high))
    intervals = max(count - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10((high - low) / intervals))
    options = []
    for step in (m * magnitude for m in (1.0, 2.0, 5.0, 10.0)):
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        # Closest to the asked number of intervals, then the tightest fit around the data.
        options.append((abs(last - first - intervals), (last - first) * step, first, last, step))
    _, _, first, last, step = min(options)
    return [_clean(i * step) for i in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Return ticks at 1, 2, 5 × 10ⁿ (only 10ⁿ beyond three decades) covering ``low`` to
    ``high`` (both above 0)."""
    if not (0 < low <= high and math.isfinite(high)):
        raise InvalidInput(f"a log axis needs 0 < low <= high, got {low} and {high}", field="log")
    bottom = math.floor(math.log10(low) + 1e-9)
    top = max(math.ceil(math.log10(high) - 1e-9), bottom + 1)
    steps = (1.0, 2.0, 5.0) if top - bottom <= 3 else (1.0,)
    ticks = [_clean(m * 10.0**e) for e in range(bottom, top + 1) for m in steps]
    below = [t for t in ticks if t <= low * (1 + 1e-9)]
    above = [t for t in ticks if t >= high * (1 - 1e-9)]
    return [t for t in ticks if below[-1] <= t <= above[0]]


def _clean(value: float) -> float:
    return float(f"{value:.12g}") + 0.0  # drops float noise and -0.0


# SVG helpers shared with maps ---------------------------------------------------------------


def esc(text: object) -> str:
    """Return ``text`` escaped for SVG/HTML text and attributes (control characters dropped)."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def num(value: float, digits: int = 2) -> str:
    """Return a compact decimal for an SVG attribute (``12.5``, ``3``, never ``-0``)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float = FONT) -> float:
    """Estimate (generously) the width in px of ``text`` in a sans-serif font of ``size`` px."""
    em = sum(
        0.32 if c in "ilj.,:;|!'()[] frt" else 0.85 if c.isupper() or c in "@%mw£—" else 0.6
        for c in text
    )
    return em * size


def svg_text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = FONT,
    anchor: str = "start",
    fill: str = INK,
    bold: bool = False,
) -> str:
    """Return a ``<text>`` element at ``(x, y)`` (baseline) with escaped ``content``."""
    extra = "" if anchor == "start" else f' text-anchor="{anchor}"'
    extra += ' font-weight="bold"' if bold else ""
    extra += "" if size == FONT else f' font-size="{num(size)}"'
    extra += "" if fill == INK else f' fill="{fill}"'
    return f'<text x="{num(x)}" y="{num(y)}"{extra}>{esc(content)}</text>'


def wrap(text: str, width: float, size: float = FONT, most: int = 2) -> list[str]:
    """Return ``text`` in at most ``most`` lines of at most ``width`` px (by words, after a
    colon first: "Wealden:" / "Waste and environment"); what still does not fit ends in "…",
    before the colon where what follows it fits a line of its own (a partner's long name
    shortened, never the service after it).

    >>> wrap("NHS Bath and North East Somerset, Swindon and Wiltshire ICB: ICT and digital", 230)
    ['NHS Bath and North East Somerset…', 'ICT and digital']
    """
    if text_width(text, size) <= width:
        return [text]
    head, colon, tail = text.partition(": ")
    if colon and text_width(head + ":", size) <= width and most > 1:
        return [head + ":", *wrap(tail, width, size, most - 1)]
    if colon and most > 1 and text_width(tail, size) <= width:  # what is after it kept whole
        return [*wrap(head + ":", width, size, most - 1), tail]
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    if len(lines) > most:
        lines = [*lines[: most - 1], " ".join(lines[most - 1 :])]
    if text_width(lines[-1], size) > width:
        last = lines[-1]
        while last and text_width(last + "…", size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip(" ,;:") + "…"
    return lines


def svg_document(
    width: float, height: float, title: str, desc: str, body: str, *, kind: str
) -> str:
    """Return the ``<svg>`` root around ``body``: responsive, titled and described.

    :data:`ID` in ``body`` (``f"{ID}-clip"``) becomes an id prefix hashed from the whole
    document, so two different charts on one page never share an id.
    """
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rec-{kind}" '
        f'viewBox="0 0 {num(width)} {num(height)}" width="100%" role="img" '
        f'aria-labelledby="{ID}-t {ID}-d" font-family="sans-serif" '
        f'font-size="{num(FONT)}" fill="{INK}">'
        f'<title id="{ID}-t">{esc(title)}</title><desc id="{ID}-d">{esc(desc)}</desc>'
        f"{body}</svg>"
    )
    return svg.replace(ID, kind + hashlib.sha1(svg.encode()).hexdigest()[:10])


def flow_legend(
    items: Sequence[tuple[str, str]], x: float, y: float, width: float, row: float = 20.0
) -> tuple[str, float]:
    """Lay out ``(swatch, label)`` items left to right, wrapping within ``width``.

    Each swatch is SVG drawn in a 14 × 14 px box at the origin. Returns the SVG and the height.
    """
    parts: list[str] = []
    left, top = x, y
    for swatch, label in items:
        needed = 20 + text_width(label) + 14
        if left > x and left + needed > x + width:
            left, top = x, top + row
        parts.append(f'<g transform="translate({num(left)} {num(top)})">{swatch}</g>')
        parts.append(svg_text(left + 20, top + 11.5, label))
        left += needed
    return "".join(parts), top + row - y if items else 0.0


def _axis(
    ticks: Sequence[float],
    position: Callable[[float], float],
    top: float,
    bottom: float,
    label: Callable[[float], str],
) -> str:
    parts = []
    for tick in ticks:
        x = num(position(tick))
        parts.append(f'<line x1="{x}" x2="{x}" y1="{num(top)}" y2="{num(bottom)}"/>')
    lines = f'<g stroke="{GRID}" stroke-width="1">{"".join(parts)}</g>'
    # A label that would touch the one before it is left out (its grid line stays).
    texts, right = [], -math.inf
    for tick in ticks:
        at, text = position(tick), label(tick)
        half = text_width(text) / 2
        if at - half < right + 6:
            continue
        texts.append(svg_text(at, bottom + 15, text, anchor="middle", fill=MUTED))
        right = at + half
    return f'<g class="axis">{lines}{"".join(texts)}</g>'


def _swatch(colour: str, edge: str = "") -> str:
    return f'<rect x="0.5" y="1.5" width="13" height="11" fill="{colour}"{_stroke(edge)}/>'


def _stroke(colour: str) -> str:
    return f' stroke="{colour}"' if colour else ""


# Charts -------------------------------------------------------------------------------------


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    value_format: str = "{:.2f}",
    max_value: float | None = None,
    highlight: str | None = None,
    width: int = 640,
) -> str:
    """Return grouped horizontal bars: one group per category, one bar per series.

    Bars carry ``class="bar"``, ``data-series`` and ``data-category`` and a tooltip; each is
    labelled with its value (``value_format``, a ``str.format`` pattern; NaN shows "n/a"). The
    ``highlight`` series (e.g. the model) is drawn in blue and bold, the others each in a
    colour of its own (:data:`BESIDE`).
    """
    labels = [str(c) for c in categories]
    names = [str(s) for s in series]
    if not labels or not names:
        raise InvalidInput("a bar chart needs at least one category and one series", field="series")
    values = {name: [float(v) for v in series[name]] for name in names}
    for name, row in values.items():
        if len(row) != len(labels):
            raise InvalidInput(
                f"series {name!r} has {len(row)} values for {len(labels)} categories",
                field="series",
            )
    if highlight is not None and highlight not in values:
        raise InvalidInput(
            f"highlight {highlight!r} is not a series",
            field="highlight",
            suggestions=closest(highlight, names),
        )
    colours = _series_colours(names, highlight)

    def fmt(v: float) -> str:
        return value_format.format(v) if math.isfinite(v) else "n/a"

    finite = [v for row in values.values() for v in row if math.isfinite(v)]
    low = min([0.0, *finite])
    high = max([0.0, *finite, *([] if max_value is None else [float(max_value)])])
    ticks = nice_ticks(low, high)
    edge = {n: "" if n == highlight or not highlight else "#444444" for n in names}
    keys = [(_swatch(colours[n], edge[n]), n) for n in names]
    legend, legend_h = flow_legend(keys, 8, 6, width - 16)
    label_w = min(0.35 * width, max(text_width(c) for c in labels) + 8)
    value_w = max(text_width(fmt(v)) for row in values.values() for v in row) + 10
    left, right = label_w + 14, width - value_w - 8
    bar, gap, group_gap = 14.0, 3.0, 14.0
    group_h = len(names) * bar + (len(names) - 1) * gap
    top = legend_h + 16

    def x(v: float) -> float:
        return left + (v - ticks[0]) / (ticks[-1] - ticks[0]) * (right - left)

    bottom = top + len(labels) * (group_h + group_gap) - group_gap
    parts = [legend, _axis(ticks, x, top - 4, bottom + 4, fmt)]
    for i, label in enumerate(labels):
        y0 = top + i * (group_h + group_gap)
        parts.append(svg_text(left - 8, y0 + group_h / 2 + 4, label, anchor="end"))
        for j, name in enumerate(names):
            v = values[name][i]
            y = y0 + j * (bar + gap)
            end = x(v) if math.isfinite(v) else x(0)
            tip = esc(f"{name}, {label}: {fmt(v)}")
            parts.append(
                f'<rect class="bar" data-series="{esc(name)}" data-category="{esc(label)}" '
                f'x="{num(min(end, x(0)))}" y="{num(y)}" width="{num(abs(end - x(0)))}" '
                f'height="{num(bar)}" fill="{colours[name]}"{_stroke(edge[name])}>'
                f"<title>{tip}</title></rect>"
            )
            parts.append(
                svg_text(max(end, x(0)) + 4, y + bar - 3, fmt(v), size=11, bold=name == highlight)
            )
    parts.append(f'<line x1="{num(x(0))}" x2="{num(x(0))}" y1="{num(top - 4)}" ')
    parts.append(f'y2="{num(bottom + 4)}" stroke="{MUTED}"/>')
    desc = _bar_desc(labels, values, highlight, fmt)
    return svg_document(width, bottom + 26, title, desc, "".join(parts), kind="chart")


def _series_colours(names: Sequence[str], highlight: str | None) -> dict[str, str]:
    if highlight is None:
        return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    others = [n for n in names if n != highlight]
    colours = {n: BESIDE[i % len(BESIDE)] for i, n in enumerate(others)}
    return {n: HIGHLIGHT if n == highlight else colours[n] for n in names}


def _bar_desc(
    labels: Sequence[str],
    values: Mapping[str, Sequence[float]],
    highlight: str | None,
    fmt: Callable[[float], str],
) -> str:
    names = list(values)
    text = f"Bar chart of {len(names)} series ({', '.join(names)}) over {len(labels)} categories"
    text += f", {highlight} highlighted. " if highlight else ". "
    rows = []
    best = 0
    for i, label in enumerate(labels):
        order = sorted(names, key=lambda n: -values[n][i] if math.isfinite(values[n][i]) else 1e300)
        best += order[0] == highlight
        rows.append(f"{label}: " + ", ".join(f"{n} {fmt(values[n][i])}" for n in order))
    if highlight:
        text += f"{highlight} is highest on {best} of {len(labels)}. "
    return text + "; ".join(rows) + "."


def range_chart(
    rows: Sequence[tuple[str, float, float, float]],
    *,
    title: str,
    value_format: Callable[[float], str] = money,
    log: bool = False,
    interval: str = "80% interval",
    width: int = 640,
) -> str:
    """Return a forest plot: one row per ``(label, low, mid, high)`` on a shared axis.

    Each estimate is a dot with a line over its interval and the numbers at the right, on nice
    ticks from the axis's start (0 or below) to past the highest value. ``log=True`` uses a
    logarithmic axis for very wide ranges; intervals starting at or below the axis's first tick
    (e.g. ``low=0``) then run off its left end, marked with an arrowhead (and with nothing
    above 0 the axis stays linear). No rows draw a note saying so.
    """
    items = [(str(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in rows]
    if not items:
        note = svg_text(8, 20, "No estimates to show.", fill=MUTED)
        return svg_document(width, 32, title, "No estimates to show.", note, kind="chart")
    for label, low, mid, high in items:
        if not all(map(math.isfinite, (low, mid, high))) or not low <= mid <= high:
            raise InvalidInput(
                f"row {label!r}: expected finite low <= mid <= high, got {low}, {mid}, {high}",
                field="rows",
            )
    positive = [v for _, *vs in items for v in vs if v > 0]
    log = log and bool(positive)  # nothing above 0: a linear axis
    if log:
        ticks = log_ticks(min(positive), max(positive))
    else:
        ticks = nice_ticks(min(0.0, *(r[1] for r in items)), max(r[3] for r in items))
    texts = [f"{value_format(m)} ({value_format(lo)}–{value_format(hi)})" for _, lo, m, hi in items]
    room = 0.36 * width - 8
    lines = [wrap(r[0], room) for r in items]
    label_w = max(text_width(line) for wrapped in lines for line in wrapped) + 8
    left = label_w + 14
    right = width - max(text_width(t) for t in texts) - 16
    key = (
        f'<path d="M1 7h12M1 3v8M13 3v8" stroke="{HIGHLIGHT}" stroke-width="2"/>'
        f'<circle cx="7" cy="7" r="4" fill="{HIGHLIGHT}" stroke="#fff" stroke-width="1.5"/>',
        f"Estimate, with its {interval}" + (" (logarithmic axis)" if log else ""),
    )
    legend, legend_h = flow_legend([key], 8, 6, width - 16)
    top, row_h = legend_h + 14, 24.0 + 14.0 * (max(len(w) for w in lines) - 1)
    start, end = (math.log10(ticks[0]), math.log10(ticks[-1])) if log else (ticks[0], ticks[-1])

    def x(v: float) -> float:
        at = (math.log10(v) if v > 0 else -math.inf) if log else v
        return left + (max(at, start) - start) / (end - start) * (right - left)

    bottom = top + len(items) * row_h
    parts = [legend, _axis(ticks, x, top, bottom, value_format)]
    for i, ((label, low, mid, high), numbers) in enumerate(zip(items, texts, strict=True)):
        y = top + row_h * i + row_h / 2
        cy = num(y)
        open_low = log and low < ticks[0]
        tip = f"{label}: {value_format(mid)} ({interval} {value_format(low)} to "
        tip += f"{value_format(high)})"
        ends = f'y1="{num(y - 5)}" y2="{num(y + 5)}"'
        cap = (
            f'<path d="M{num(x(low))} {cy}l6 -4v8z"/>'
            if open_low
            else f'<line x1="{num(x(low))}" x2="{num(x(low))}" {ends}/>'
        )
        parts.append(
            f'<g class="estimate" data-label="{esc(label)}" stroke="{HIGHLIGHT}" '
            f'fill="{HIGHLIGHT}" stroke-width="2"><title>{esc(tip)}</title>'
            f'<line x1="{num(x(low))}" x2="{num(x(high))}" y1="{cy}" y2="{cy}"/>{cap}'
            f'<line x1="{num(x(high))}" x2="{num(x(high))}" {ends}/>'
            f'<circle cx="{num(x(mid))}" cy="{cy}" r="4.5" stroke="#fff" stroke-width="1.5"/></g>'
        )
        for j, line in enumerate(lines[i]):
            at = y + 4 + 14 * (j - (len(lines[i]) - 1) / 2)
            parts.append(svg_text(left - 8, at, line, anchor="end"))
        parts.append(svg_text(right + 10, y + 4, numbers, fill=MUTED))
    scale = "logarithmic" if log else "linear"
    desc = (
        f"Range chart of {len(items)} estimates with their {interval}s on a {scale} axis from "
        f"{value_format(ticks[0])} to {value_format(ticks[-1])}: "
        + "; ".join(f"{r[0]} {t}" for r, t in zip(items, texts, strict=True))
        + "."
    )
    return svg_document(width, bottom + 24, title, desc, "".join(parts), kind="chart")
