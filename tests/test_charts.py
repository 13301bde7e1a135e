"""SVG charts: money formatting, nice ticks, grouped bars and range (forest) plots."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from recommender.core.errors import InvalidInput
from recommender.render import charts

SVG = "{http://www.w3.org/2000/svg}"
METRICS = ["hit@1", "hit@5", "hit@10", "MRR", "NDCG@10"]
SERIES = {
    "Model": [0.31, 0.62, 0.74, 0.45, 0.52],
    "Nearest": [0.22, 0.50, 0.66, 0.34, 0.41],
    "Popular": [0.10, 0.30, 0.45, 0.20, 0.26],
    "Same county": [0.18, 0.44, 0.58, 0.30, 0.37],
    "Same service": [0.12, 0.35, 0.50, 0.22, 0.30],
    "Random": [0.01, 0.05, 0.10, 0.03, 0.05],
}
ROWS = [
    ("Wealden", 40_000.0, 120_000.0, 260_000.0),
    ("Hastings", 0.0, 48_000.0, 180_000.0),
    ("Kent Fire & Rescue", 5_000.0, 20_000.0, 2_500_000.0),
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    assert root.get("width") == "100%" and root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title[@id='{title_id}']") is not None
    assert root.find(f"{SVG}desc[@id='{desc_id}']") is not None
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(SVG + "text")]


@pytest.mark.parametrize(
    ("value", "short", "precise"),
    [
        (0, "£0", "£0"),
        (0.4, "£0", "£0"),
        (950, "£950", "£950"),
        (999.6, "£1k", "£1,000"),
        (1_234, "£1.2k", "£1,234"),
        (7_119, "£7.1k", "£7,119"),
        (9_960, "£10k", "£9,960"),
        (12_345, "£12k", "£12,345"),
        (99_500, "£100k", "£99,500"),
        (480_000, "£480k", "£480,000"),
        (999_499, "£999k", "£999,499"),
        (999_500, "£1m", "£999,500"),
        (1_260_000, "£1.3m", "£1,260,000"),
        (2_000_000, "£2m", "£2,000,000"),
        (12_400_000, "£12m", "£12,400,000"),
        (2_300_000_000, "£2.3bn", "£2,300,000,000"),
        (-12_000, "-£12k", "-£12,000"),
        (math.nan, "n/a", "n/a"),
    ],
)
def test_money(value: float, short: str, precise: str) -> None:
    assert charts.money(value) == short
    assert charts.money(value, precise=True) == precise


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "n/a"),
        (0.0, "0.0%"),
        (0.000_01, "<0.1%"),
        (0.000_49, "<0.1%"),
        (0.0123, "1.2%"),
        (1.0, "100.0%"),
        (math.nan, "n/a"),
    ],
)
def test_a_chance_too_small_to_show_is_never_shown_as_none(value: float, shown: str) -> None:
    """An arrangement to join at 0.001% read "0.0%", which says there is no chance at all."""
    assert charts.percent(value) == shown


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 480_000, [0, 100_000, 200_000, 300_000, 400_000, 500_000]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 1_200_000, [0, 500_000, 1_000_000, 1_500_000]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    ],
)
def test_nice_ticks_examples(low: float, high: float, expected: list[float]) -> None:
    assert charts.nice_ticks(low, high) == expected


@given(st.floats(-1e9, 1e9), st.floats(1e-3, 1e9))
def test_nice_ticks_cover_the_range_in_round_steps(low: float, span: float) -> None:
    assume(span > 1e-4 * abs(low))  # an axis spans more than float noise
    high = low + span
    ticks = charts.nice_ticks(low, high)
    step = ticks[1] - ticks[0]
    assert ticks[0] <= low + 1e-9 * step and ticks[-1] >= high - 1e-9 * step
    assert 3 <= len(ticks) <= 9
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) - min(gaps) <= 1e-6 * step
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-5


def test_log_ticks() -> None:
    # From the last tick at or below the low end to the first at or above the high end.
    expected = [2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000]
    assert charts.log_ticks(3_000, 250_000) == expected
    assert charts.log_ticks(12, 480_000) == [10, 100, 1_000, 10_000, 100_000, 1_000_000]
    with pytest.raises(InvalidInput):
        charts.log_ticks(0, 10)


def test_bar_chart_draws_a_bar_per_category_and_series() -> None:
    svg = charts.bar_chart(METRICS, SERIES, title="Evaluation", highlight="Model", max_value=1)
    root = parse(svg)
    bars = [r for r in root.iter(SVG + "rect") if r.get("class") == "bar"]
    assert len(bars) == len(METRICS) * len(SERIES)
    model = [b for b in bars if b.get("data-series") == "Model"]
    assert {b.get("fill") for b in model} == {charts.HIGHLIGHT}
    assert charts.HIGHLIGHT not in {b.get("fill") for b in bars if b not in model}
    assert [b.get("data-category") for b in model] == METRICS
    # Longer values, longer bars; every value labelled; the axis ends at max_value.
    widths = {b.get("data-category"): float(b.get("width", 0)) for b in model}
    assert widths["hit@10"] > widths["hit@5"] > widths["hit@1"]
    labels = texts(root)
    assert "0.74" in labels and "0.01" in labels and "1.00" in labels
    desc = root.find(SVG + "desc")
    assert desc is not None and desc.text is not None
    assert "Model is highest on 5 of 5" in desc.text
    assert "hit@1: Model 0.31, Nearest 0.22" in desc.text


def test_each_series_beside_the_highlight_has_its_own_colour() -> None:
    """The model page's seven series drew six rules in five greys: two pairs of rules looked
    alike, and near-empty bars could not be matched to the legend."""
    series = {"Model": [0.5]} | {f"Rule {i}": [0.1 * i] for i in range(1, 7)}
    root = parse(charts.bar_chart(["MRR"], series, title="T", highlight="Model", max_value=1))
    fills = {b.get("data-series"): b.get("fill") for b in root.iter(SVG + "rect")
             if b.get("class") == "bar"}  # fmt: skip
    assert len(set(fills.values())) == len(series)


def test_bar_chart_escapes_and_checks_input() -> None:
    svg = charts.bar_chart(["R&D <x>"], {"A & B": [0.5]}, title="T & <t>\x00\x07")
    root = parse(svg)
    other = parse(charts.bar_chart(["R&D <x>"], {"A & B": [0.6]}, title="T & <t>"))
    assert root.get("aria-labelledby") != other.get("aria-labelledby")  # ids unique per chart
    assert "R&D <x>" in texts(root)
    assert root.find(SVG + "title") is not None and root.findtext(SVG + "title") == "T & <t>"
    assert "<x>" not in svg
    with pytest.raises(InvalidInput, match="2 values for 1 categories"):
        charts.bar_chart(["a"], {"s": [1, 2]}, title="t")
    with pytest.raises(InvalidInput) as error:
        charts.bar_chart(["a"], {"Model": [1]}, title="t", highlight="Modle")
    assert error.value.suggestions == ["Model"]
    assert "n/a" in texts(parse(charts.bar_chart(["a"], {"s": [math.nan]}, title="t")))


def test_range_chart_on_a_linear_axis() -> None:
    svg = charts.range_chart(ROWS, title="Savings")
    root = parse(svg)
    rows = [g for g in root.iter(SVG + "g") if g.get("class") == "estimate"]
    assert [g.get("data-label") for g in rows] == [r[0] for r in ROWS]
    labels = texts(root)
    ticks = ["£0", "£500k", "£1m", "£1.5m", "£2m", "£2.5m"]
    assert [t for t in labels if t in ticks] == ticks
    assert "£120k (£40k–£260k)" in labels
    tip = rows[1].findtext(SVG + "title")
    assert tip == "Hastings: £48k (80% interval £0 to £180k)"
    assert svg == charts.range_chart(ROWS, title="Savings")


def test_range_chart_log_axis_opens_intervals_from_zero() -> None:
    root = parse(charts.range_chart(ROWS, title="Savings", log=True))
    labels = texts(root)
    assert {"£1k", "£10k", "£100k", "£1m", "£10m"} <= set(labels)
    rows = {g.get("data-label"): g for g in root.iter(SVG + "g") if g.get("class") == "estimate"}
    # Hastings starts at £0, below a log axis: an arrowhead at the left end, not a cap.
    assert rows["Hastings"].find(SVG + "path") is not None
    assert rows["Wealden"].find(SVG + "path") is None
    circles = {k: float(g.find(SVG + "circle").get("cx", 0)) for k, g in rows.items()}  # type: ignore[union-attr]
    assert circles["Kent Fire & Rescue"] < circles["Hastings"] < circles["Wealden"]


def test_range_chart_rejects_bad_rows() -> None:
    with pytest.raises(InvalidInput, match="low <= mid <= high"):
        charts.range_chart([("x", 3.0, 1.0, 2.0)], title="t")
    assert texts(parse(charts.range_chart([], title="t"))) == ["No estimates to show."]
    zeros = parse(charts.range_chart([("x", 0.0, 0.0, 0.0)], title="t", log=True))
    assert "linear axis" in (zeros.findtext(SVG + "desc") or "")


def test_long_labels_wrap_and_fit() -> None:
    assert charts.wrap("Rother", 100) == ["Rother"]
    assert charts.wrap("Wealden: Waste and environment", 150) == [
        "Wealden:",
        "Waste and environment",
    ]
    assert charts.wrap("a b c d e f g h i j k l m n o p q r s t", 30, most=2)[-1].endswith("…")
    long = "Nottinghamshire and City of Nottingham Fire and Rescue Authority: Property and assets"
    rows = [(long, 100.0, 200.0, 400.0), ("Short: Legal", 50.0, 60.0, 90.0)]
    root = parse(charts.range_chart(rows, title="t", width=640))
    labels = [t for t in root.iter(SVG + "text") if t.get("text-anchor") == "end"]
    assert len(labels) == 3  # the long one on two lines
    for text in labels:  # every label starts inside the chart
        assert float(text.get("x", 0)) - charts.text_width(text.text or "") >= 0


def test_axis_labels_never_overlap() -> None:
    rows = [("A", 1.0, 1e3, 1e9)]
    root = parse(charts.range_chart(rows, title="t", width=320, log=True))
    axis = next(g for g in root.iter(SVG + "g") if g.get("class") == "axis")
    spans = sorted(
        (float(t.get("x", 0)) - charts.text_width(t.text or "") / 2,
         float(t.get("x", 0)) + charts.text_width(t.text or "") / 2)
        for t in axis.iter(SVG + "text")
    )  # fmt: skip
    assert len(spans) >= 2
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start > end


@pytest.mark.parametrize(
    ("record", "said"),
    [
        ({"savings_gbp": 1.6e6, "savings_basis": "annual", "annual_savings_gbp": 1.6e6},
         "£1.6m a year"),
        ({"savings_gbp": 2e8, "savings_basis": "projected", "annual_savings_gbp": 2e7},
         "£200m projected; about £20m a year"),  # a ten-year target: never "£20m" alone
        ({"savings_gbp": 8e6, "savings_basis": "cumulative", "annual_savings_gbp": 1.6e6},
         "£8m in total; about £1.6m a year"),
        # no period given: the rule's assumption is said, never a silent "about £3.4m a year"
        ({"name": "GO Shared Services (HR, finance, payroll)", "savings_gbp": 3.4e6,
          "savings_basis": "projected", "annual_savings_gbp": 3.4e6, "start_year": 2012,
          "savings_period_years": None},
         "£3.4m projected, no period recorded with it: read as a year"),
        ({"name": "AGMA collaborative procurement", "savings_gbp": 18.5e6,
          "savings_basis": "to_date", "annual_savings_gbp": 3.7e6, "start_year": None},
         "£18.5m to date, start year not given: spread over 5 years, about £3.7m a year"),
        ({"savings_gbp": 1e6, "savings_basis": "to_date", "annual_savings_gbp": 2.5e5,
          "start_year": 2015}, "£1m to date, taken as 2015 to 2019 (the source's date is not "
          "kept, and 2019 is when the LGA last counted): about £250k a year"),
        # the source's figure as it gave it (it said "£19m" of AGMA's £18.5m, "£1.5m" of this)
        ({"name": "Eastern Solent Coastal Partnership", "savings_gbp": 1_534_000,
          "savings_basis": "to_date", "annual_savings_gbp": 219142.86, "start_year": 2012},
         "£1.534m to date, taken as 2012 to 2019 (the source's date is not kept, and 2019 "
          "is when the LGA last counted): about £219k a year"),
        # evidence from an older model
        ({"savings_gbp": 2e6, "savings_basis": "projected", "annual_savings_gbp": 2e6},
         "£2m projected, no period recorded with it: read as a year"),
        # a figure whose source does not say over what time: said so, in words
        ({"savings_gbp": 47e3, "savings_basis": "unknown", "annual_savings_gbp": None},
         "£47k (not said whether a year or in total)"),
        ({"savings_gbp": float("nan"), "savings_basis": "unknown",
          "annual_savings_gbp": float("nan")}, "no savings figure"),
        ({"savings_gbp": None, "savings_basis": "unknown", "annual_savings_gbp": None},
         "no savings figure"),
        # read from the source's words, whatever the annual figure a model was trained with
        ({"name": "Dorset Councils Partnership (tri-council)", "savings_gbp": 6e6,
          "savings_basis": "projected", "annual_savings_gbp": 6e6},
         "£6m projected; by 2020, from 2015: about £1.2m a year"),
        ({"name": "Hertfordshire Shared Anti-Fraud Service (SAFS)", "savings_gbp": 15.5e6,
          "savings_basis": "to_date", "annual_savings_gbp": None},
         "£15.5m to date; losses prevented, not service-cost savings: no annual saving"),
    ],
)  # fmt: skip
def test_savings_are_said_with_their_basis(record: dict[str, object], said: str) -> None:
    assert charts.savings_said(record) == said


SHARE_UNDER_100K = {
    "id": "share_under_100k",
    "params": {"threshold": 100000},
    "published": "more than half of partnerships save less than £100,000 a year (2015 map)",
    "value": 0.5,
}


def test_documented_savings_are_said_to_be_larger_than_most() -> None:
    figures = [80_000, 50_000, 1e6, 2e6, 3e6, 5e5]
    bases = {"annual": 1, "cumulative": 1, "projected": 3, "to_date": 1}
    said = charts.documented_sizes_said(figures, SHARE_UNDER_100K, bases)
    assert said == (
        "Learnt from the savings figures of 6 documented arrangements, each read as a yearly one"
        " (1 reported as a yearly saving, 3 projected, 2 totals divided by their years); 2 of"
        " the 6 (33%) are under £100k a year, where the LGA found that more than half of all"
        " partnerships save less than that (2015 map): documented arrangements are larger than"
        " most and a projection is a target, not a saving made, so a typical one may save less"
        " than the figures here."
    )
    # with no projection, nor how they were given (a model saved before that was recorded)
    assert "(2 reported as yearly savings); none of the 2 is under £100k a year" in str(
        charts.documented_sizes_said([2e5, 3e5], SHARE_UNDER_100K, {"annual": 2})
    )
    assert "each read as a yearly one; 2 of the 6 (33%) are under £100k a year" in str(
        charts.documented_sizes_said(figures, SHARE_UNDER_100K)
    )
    assert "larger than most, so a typical one" in str(
        charts.documented_sizes_said([2e5, 3e5], SHARE_UNDER_100K, {"annual": 2})
    )
    # figures as small as the published share says, or nothing to compare: nothing said
    assert charts.documented_sizes_said([50_000, 60_000, 2e5], SHARE_UNDER_100K) is None
    assert charts.documented_sizes_said([], SHARE_UNDER_100K) is None
    assert charts.documented_sizes_said([2e5], None) is None
