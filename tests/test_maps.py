"""SVG maps: the web layer (simplified, aligned, compact) and the rendered maps.

The map tests use the committed ``data/reference`` (the layer is built once per session and
process); the path encoding and coverage snapping are also checked on tiny shapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import shapely

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.reference import lookup as reference
from recommender.render import maps
from recommender.render.charts import text_width
from recommender.render.partner_map import partners_map

SVG = "{http://www.w3.org/2000/svg}"
SETTINGS = Settings()
ROTHER = "E07000064"
NEIGHBOURS = {
    "E07000065": 120_000.0,
    "E07000062": 480_000.0,
    "E07000116": 35_000.0,
    "E07000105": 210_000.0,
    "E07000112": 60_000.0,
}
FIRE = "E31000014"  # East Sussex Fire and Rescue Authority
BUDGET = 120_000  # bytes of path data for the 296 councils at national scale


@pytest.fixture(scope="session")
def layer() -> maps.WebLayer:
    return maps.web_layer(SETTINGS)


@pytest.fixture(scope="session")
def councils(layer: maps.WebLayer) -> list[str]:
    return [c for c in layer.paths if layer.tiers[c] in maps.LOWER_TIERS]


@pytest.fixture(scope="session")
def national(layer: maps.WebLayer) -> str:
    return maps.render_map(title="England", settings=SETTINGS)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg" and root.get("width") == "100%"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title[@id='{title_id}']") is not None
    assert root.find(f"{SVG}desc[@id='{desc_id}']") is not None
    return root


def bodies(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-code", ""): p for p in root.iter(SVG + "path") if p.get("data-code")}


def desc(root: ET.Element) -> str:
    return root.findtext(SVG + "desc") or ""


def legend(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(SVG + "text")]


def rings(path: str) -> list[list[tuple[int, int]]]:
    """Decode our path data (M/m, l, z) back into rings of absolute points."""
    out: list[list[tuple[int, int]]] = []
    start = (0, 0)
    for command, numbers in re.findall(r"([MmLlz])([^MmLlz]*)", path):
        values = [int(v) for v in re.findall(r"-?\d+", numbers)]
        pairs = list(zip(values[::2], values[1::2], strict=True))
        if command == "M":
            start = pairs[0]
            out.append([start])
        elif command == "m":
            start = (start[0] + pairs[0][0], start[1] + pairs[0][1])
            out.append([start])
        elif command == "l":
            x, y = out[-1][-1]
            for dx, dy in pairs:
                x, y = x + dx, y + dy
                out[-1].append((x, y))
    return out


# The layer ----------------------------------------------------------------------------------


def test_svg_path_round_trips_rings_with_holes_and_parts() -> None:
    outer = [(0, 0), (1000, 0), (1000, 1000), (0, 1000)]
    hole = [(200, 200), (200, 400), (400, 400), (400, 200)]
    geom = shapely.MultiPolygon(
        [shapely.Polygon(outer, [hole]), shapely.box(5000, -3000, 5300, -2700)]
    )
    path = maps.svg_path(geom)
    assert path.startswith("M0 0l10 0") and path.count("z") == 3
    decoded = rings(path)
    assert decoded[0] == [(x // 100, -y // 100) for x, y in outer]
    assert decoded[1] == [(x // 100, -y // 100) for x, y in hole]
    assert sorted(decoded[2]) == sorted([(50, 30), (53, 30), (53, 27), (50, 27)])


def test_layer_is_a_valid_aligned_coverage(layer: maps.WebLayer, councils: list[str]) -> None:
    simple = np.asarray([layer.geometry[c] for c in councils], dtype=object)
    assert len(simple) == 296
    assert shapely.is_valid(simple).all()
    assert bool(shapely.coverage_is_valid(simple))
    # No overlaps: the areas add up to the union's.
    union = shapely.union_all(simple)
    assert shapely.area(simple).sum() == pytest.approx(union.area, rel=1e-9)
    # No gaps between neighbours: any hole in the union lies outside the original England
    # (sea closed off by rounding), not between councils.
    original = reference.load_bodies(SETTINGS).loc[councils].geometry.to_numpy()
    england = shapely.union_all(original)
    holes = [shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors]
    inland = sum(shapely.intersection(h, england).area for h in holes)
    assert inland < 0.5e6
    assert abs(union.area - england.area) < 0.001 * england.area


def test_upper_bodies_are_unions_of_their_councils(layer: maps.WebLayer) -> None:
    table = reference.load_bodies(SETTINGS)
    for code, column in [
        ("E10000011", "county_code"),
        (FIRE, "fire_code"),
        ("E23000033", "police_code"),
        ("E54000064", "icb_code"),
        ("E47000013", "cauth_code"),  # East Midlands: Derby, Nottingham and two counties
    ]:
        members = table.index[table[column] == code]
        union = shapely.union_all([layer.geometry[c] for c in members])
        assert shapely.symmetric_difference(union, layer.geometry[code]).area == 0, code
    assert len(layer.paths) == len(table) == 454


def test_national_paths_fit_the_budget(layer: maps.WebLayer, councils: list[str]) -> None:
    size = sum(len(layer.paths[c]) for c in councils)
    assert 20_000 < size < BUDGET
    detail = maps.web_layer(SETTINGS, "detail")
    assert sum(len(detail.paths[c]) for c in councils) > size


# Maps ---------------------------------------------------------------------------------------


def test_national_map_draws_every_council(national: str, councils: list[str]) -> None:
    root = parse(national)
    drawn = bodies(root)
    assert sorted(drawn) == sorted(councils)
    assert {p.get("class") for p in drawn.values()} == {"other"}
    assert drawn[ROTHER].findtext(SVG + "title") == "Rother"
    assert len(national.encode()) < 150_000
    assert desc(root) == "Map of England."
    assert not re.search(r"(href|src)=\"?(https?:|//)|<image|<script|url\((?!#)", national)
    assert national == maps.render_map(title="England", settings=SETTINGS)
    assert "\x00" not in national


def test_focal_suggested_and_existing(layer: maps.WebLayer) -> None:
    svg = maps.render_map(
        focal=ROTHER,
        values=NEIGHBOURS,
        value_label="estimated annual savings",
        existing=["E07000061", "E07000111"],
        title="Partners for Rother",
        settings=SETTINGS,
    )
    root = parse(svg)
    drawn = bodies(root)
    assert drawn[ROTHER].get("class") == "focal"
    assert drawn[ROTHER].get("fill") == maps.FOCAL_FILL  # a light area: partners show above
    # The focal body's outline is drawn last of the shapes, above every partner.
    outline = [p for p in root.iter(SVG + "path") if p.get("class") == "focal-outline"]
    assert len(outline) == 1 and outline[0].get("d") == drawn[ROTHER].get("d")
    assert outline[0].get("fill") == "none"
    assert {drawn[c].get("class") for c in NEIGHBOURS} == {"suggested"}
    assert drawn["E07000061"].get("class") == "existing"
    assert drawn["E07000065"].findtext(SVG + "title") == "Wealden: £120k"
    # Darker shades for larger values.
    ramp = maps.RAMP
    assert ramp.index(drawn["E07000062"].get("fill", "")) > ramp.index(
        drawn["E07000116"].get("fill", "")
    )
    assert root.find(f".//{SVG}pattern") is not None
    assert {"Estimated annual savings", "Existing partner", "Rother (focus, outlined)"} <= set(
        legend(root)
    )
    text = desc(root)
    assert text.startswith("Map of England: Rother highlighted; 5 suggested partners shaded by ")
    assert "from £35k to £480k, highest first: Hastings £480k, Ashford £210k" in text
    assert "2 existing partners hatched: Eastbourne, Sevenoaks" in text


def test_a_suggested_partner_already_sharing_another_service_is_shaded_and_hatched(
    layer: maps.WebLayer,
) -> None:
    """Wealden, suggested and already a partner for another service, showed as a suggestion
    alone (shaded, not hatched): the map hid that the two already work together."""
    svg = maps.render_map(focal=ROTHER, values=NEIGHBOURS, existing=["E07000065"],
                          title="Partners for Rother", settings=SETTINGS)  # fmt: skip
    root = parse(svg)
    wealden = bodies(root)["E07000065"]
    assert wealden.get("fill") in maps.RAMP  # shaded by its suggestion
    assert wealden.findtext(SVG + "title") == "Wealden (existing partner): £120k"
    hatched = [p for p in root.iter(SVG + "path") if re.search(r"-hl?\)", p.get("fill") or "")]
    assert [p.get("d") for p in hatched] == [wealden.get("d")]
    # Over its dark shade the hatching is white (dark lines on dark blue did not show).
    dark = maps._dark(wealden.get("fill", ""))
    assert hatched[0].get("fill", "").endswith("-hl)" if dark else "-h)")
    assert "1 existing partner hatched: Wealden" in desc(root)
    # A body's map: Wealden suggested for legal, already sharing waste with Rother.
    body = {"code": ROTHER, "display_name": "Rother", "tier": "district"}
    rows = [{"partner_code": "E07000065", "existing": False, "expected_savings_gbp": 120_000.0}]
    members = [{"body_code": ROTHER}, {"body_code": "E07000065"}]
    shared = [{"service": "waste_environment", "members": members}]
    drawn = partners_map(body, rows, shared, None, SETTINGS, width=600)
    page = parse(drawn[drawn.index("<svg") : drawn.index("</svg>") + len("</svg>")])
    hatched = [p for p in page.iter(SVG + "path") if re.search(r"-hl?\)", p.get("fill") or "")]
    assert [p.get("d") for p in hatched] == [bodies(page)["E07000065"].get("d")]


@pytest.mark.parametrize(
    "ended", [{"end_year": 2021, "status": "ended"}, {"end_year": None, "status": "ended"}]
)
def test_a_partner_only_in_an_arrangement_that_has_ended_is_not_hatched(
    ended: dict[str, object],
) -> None:
    """The map hatched every member of the body's arrangements as an existing partner, those
    the register says have ended too (Barking and Dagenham on Thurrock's, for the chief
    executive they shared until 2014)."""
    body = {"code": ROTHER, "display_name": "Rother", "tier": "district"}
    members = [{"body_code": ROTHER}, {"body_code": "E07000065"}]
    over = [{"service": "waste_environment", "members": members} | ended]
    drawn = partners_map(body, [], over, None, SETTINGS, width=600)
    page = parse(drawn[drawn.index("<svg") : drawn.index("</svg>") + len("</svg>")])
    assert not [p for p in page.iter(SVG + "path") if re.search(r"-hl?\)", p.get("fill") or "")]
    running = [{"service": "waste_environment", "members": members, "status": "active"}]
    drawn = partners_map(body, [], running, None, SETTINGS, width=600)
    page = parse(drawn[drawn.index("<svg") : drawn.index("</svg>") + len("</svg>")])
    hatched = [p for p in page.iter(SVG + "path") if re.search(r"-hl?\)", p.get("fill") or "")]
    assert [p.get("d") for p in hatched] == [bodies(page)["E07000065"].get("d")]


def test_legend_breaks_are_round_figures_near_the_quantiles() -> None:
    first = legend(parse(maps.render_map(values=NEIGHBOURS, title="t", settings=SETTINGS)))
    doubled = {c: 2 * v for c, v in NEIGHBOURS.items()}
    second = legend(parse(maps.render_map(values=doubled, title="t", settings=SETTINGS)))
    assert maps.class_breaks(NEIGHBOURS.values()) == [35_000, 50_000, 100_000, 200_000, 480_000]
    assert [t for t in first if t.startswith(("Under", "£"))] == [
        "Under £50k", "£50k–£100k", "£100k–£200k", "£200k or more"
    ]  # fmt: skip
    assert [t for t in second if t.startswith(("Under", "£"))][-1] == "£500k or more"
    assert maps.class_breaks(range(1, 11)) == [1, 2, 5, 10]
    # Where 1, 2, 5 leave one class, finer round figures: 1, 1.5, 2, 3, 5, 7.
    assert maps.class_breaks([60, 70, 80, 90]) == [60, 70, 90]
    assert maps.class_breaks([5, 5, 5]) == [5, 5]
    assert maps.class_breaks([]) == []
    one = legend(parse(maps.render_map(values={ROTHER: 5.0}, title="t", settings=SETTINGS)))
    assert "£5" in one  # a single class reads as its value


def test_text_is_escaped() -> None:
    svg = maps.render_map(
        focal=ROTHER, names={ROTHER: "Rother & Hastings <joint>"}, title="A & B", settings=SETTINGS
    )
    assert "Rother &amp; Hastings &lt;joint&gt; (focus)" in svg
    root = parse(svg)
    assert bodies(root)[ROTHER].findtext(SVG + "title") == "Rother & Hastings <joint> (focus)"
    assert root.findtext(SVG + "title") == "A & B"


def test_zoom_frames_the_bodies(layer: maps.WebLayer) -> None:
    zoom = [ROTHER, *NEIGHBOURS]
    svg = maps.render_map(
        focal=ROTHER, values=NEIGHBOURS, zoom_to=zoom, title="z", settings=SETTINGS
    )
    root = parse(svg)
    clip = root.find(f"{SVG}clipPath/{SVG}rect")
    assert clip is not None
    width, height = float(clip.get("width", 0)), float(clip.get("height", 0))
    group = next(g for g in root.iter(SVG + "g") if g.get("transform", "").startswith("matrix"))
    s, _, _, _, e, f = (float(v) for v in group.get("transform", "")[7:-1].split())
    for code in zoom:
        minx, miny, maxx, maxy = layer.bounds[code]
        left, top = minx / 100 * s + e, -maxy / 100 * s + f
        right, bottom = maxx / 100 * s + e, -miny / 100 * s + f
        assert 0 < left < right < width and 0 < top < bottom < height, code
    drawn = bodies(root)
    assert 5 < len(drawn) < 60  # only what is in view
    assert drawn[ROTHER].get("d") == maps.web_layer(SETTINGS, "detail").paths[ROTHER]
    assert root.find(f".//{SVG}g[@class='locator']") is not None
    assert "Hastings" in [t.text for t in root.iter(SVG + "text")]  # labelled when zoomed
    assert desc(root).startswith("Map of part of England around ")


def test_bbox_sets_the_view() -> None:
    box = (500_000.0, 100_000.0, 600_000.0, 160_000.0)
    root = parse(maps.render_map(bbox=box, title="b", settings=SETTINGS))
    assert ROTHER in bodies(root) and "E06000057" not in bodies(root)  # not Northumberland
    with pytest.raises(InvalidInput, match="bbox"):
        maps.render_map(bbox=(1, 1, 0, 0), title="b", settings=SETTINGS)


def test_a_body_covering_a_partner_is_an_outline(councils: list[str]) -> None:
    # The fire authority covers Wealden and Hastings: filled, it would hide them.
    svg = maps.render_map(
        focal=ROTHER, values={**NEIGHBOURS, FIRE: 150_000}, title="t", settings=SETTINGS
    )
    root = parse(svg)
    drawn = bodies(root)
    assert len(drawn) == len(councils) + 1
    assert drawn[FIRE].get("fill") == "none" and drawn[FIRE].get("stroke-dasharray")
    assert drawn[FIRE].findtext(SVG + "title") == "East Sussex Fire and Rescue Authority: £150k"
    assert "East Sussex Fire and Rescue Authority (dashed outline)" in legend(root)
    # Its swatch dashed, casing and all: coloured dashes on a solid dark casing read as a
    # plain line at the legend's size.
    html = maps.render_map(
        focal=ROTHER, values={**NEIGHBOURS, FIRE: 150_000}, title="t", settings=SETTINGS,
        legend_html=True,
    )  # fmt: skip
    item = html.split('class="map-legend"', 1)[1].split("(dashed outline)", 1)[0]
    swatch = item.rsplit("<li", 1)[1]
    lines = re.findall(r"<path [^>]*>", swatch)
    assert len(lines) == 2 and all("stroke-dasharray" in line for line in lines), swatch


def test_bodies_of_other_layers_are_filled_above_it_largest_first() -> None:
    # A police force's map: its county and two districts inside it are partners. The county
    # covers the districts, so it is an outline; the districts are filled, above the layer.
    police, county, districts = "E23000033", "E10000011", {"E07000065": 90_000.0,
                                                           "E07000062": 30_000.0}  # fmt: skip
    svg = maps.render_map(
        focal=police,
        values={county: 200_000.0, **districts},
        layer="police",
        zoom_to=[police],
        title="t",
        settings=SETTINGS,
    )
    root = parse(svg)
    drawn = bodies(root)
    assert drawn[county].get("fill") == "none"
    fills = {c: drawn[c].get("fill") for c in districts}
    assert len(set(fills.values())) == 2 and maps.OTHER not in fills.values()
    order = [p.get("data-code") for p in root.iter(SVG + "path") if p.get("data-code")]
    assert order.index(police) < order.index("E07000065")  # the layer, then the partners
    names = [t.text for g in root.iter(SVG + "g") if g.get("class") == "labels"
             for t in g.iter(SVG + "text")]  # fmt: skip
    assert {"Wealden", "Hastings"} <= set(names)


def test_labels_come_in_a_phone_size_and_never_overlap() -> None:
    svg = maps.render_map(
        focal=ROTHER, values=NEIGHBOURS, zoom_to=[ROTHER, *NEIGHBOURS], width=480,
        phone_labels=True, title="t", settings=SETTINGS,
    )  # fmt: skip
    root = parse(svg)
    groups = {g.get("class"): g for g in root.iter(SVG + "g") if "labels" in g.get("class", "")}
    assert set(groups) == {"labels", "labels labels-phone"}
    assert float(groups["labels"].get("font-size", 0)) >= maps.LABEL_PX
    phone = float(groups["labels labels-phone"].get("font-size", 0))
    assert phone * maps.PHONE_PX / 480 >= maps.LABEL_PX  # 11 px on a 290 px wide map
    assert groups["labels labels-phone"].get("display") == "none"  # shown by the page's CSS
    for group, size in ((groups["labels"], maps.LABEL_PX), (groups["labels labels-phone"], phone)):
        texts = list(group)[-1:]  # the halo group, then the names
        boxes = []
        for text in group.findall(SVG + "text"):
            x, y = float(text.get("x", 0)), float(text.get("y", 0))
            half = text_width(text.text or "", size) / 2
            boxes.append((x - half, y - 0.9 * size, x + half, y + 0.35 * size))
        assert texts and boxes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_the_legend_can_be_html_after_the_map() -> None:
    out = maps.render_map(
        focal=ROTHER, values=NEIGHBOURS, value_label="expected annual savings",
        legend_html=True, title="t", settings=SETTINGS,
    )  # fmt: skip
    svg, rest = out.split("</svg>", 1)[0] + "</svg>", out.split("</svg>", 1)[1]
    root = parse(svg)
    assert "Under £50k" not in legend(root)  # not in the picture: in the page's text
    assert rest.startswith('<div class="map-legend"><p class="map-legend-title">Expected annual')
    assert "<li><svg" in rest and "Under £50k</li>" in rest and "url(#" not in rest


@pytest.mark.parametrize(
    ("layer_name", "count"),
    [("fire", 44), ("police", 39), ("health", 42), ("upper_tier", 21 + 132), ("combined", 12)],
)
def test_layers(layer_name: str, count: int) -> None:
    drawn = bodies(parse(maps.render_map(layer=layer_name, title="t", settings=SETTINGS)))
    assert len(drawn) == count


def test_links_and_errors() -> None:
    svg = maps.render_map(
        zoom_to=[ROTHER], link=lambda c: f"/bodies/{c}?a=1&b=2", title="t", settings=SETTINGS
    )
    root = parse(svg)
    links = {a.get("href"): a for a in root.iter(SVG + "a")}
    assert f"/bodies/{ROTHER}?a=1&b=2" in links
    assert all(a.find(SVG + "path") is not None for a in links.values())
    with pytest.raises(UnknownBody) as error:
        maps.render_map(focal="E07000999", title="t", settings=SETTINGS)
    assert "E07000999" in str(error.value)
    # The closest real codes: bodies of the same kind of code (districts, E07).
    codes = set(reference.load_bodies(SETTINGS).index)
    suggested = list(error.value.suggestions)
    assert suggested and set(suggested) <= codes
    assert all(s.startswith("E07") for s in suggested)
    with pytest.raises(InvalidInput):
        maps.render_map(layer="county", title="t", settings=SETTINGS)


def test_arrangements_map() -> None:
    arrangements = [
        maps.MapArrangement("a1", "Shared revenues", [ROTHER, "E07000062"], "Revenues"),
        maps.MapArrangement("a2", "Legal & democratic", [ROTHER, "E07000065", FIRE], "Legal"),
        maps.MapArrangement("a3", "Audit", ["E07000061", "E07000063"], "Revenues"),
    ]
    svg = maps.render_arrangements_map(arrangements, title="Arrangements", settings=SETTINGS)
    root = parse(svg)
    groups = {g.get("data-id"): g for g in root.iter(SVG + "g") if g.get("class") == "arrangement"}
    assert list(groups) == ["a1", "a2", "a3"]
    assert len(groups["a2"].findall(SVG + "circle")) == 3
    assert groups["a1"].get("stroke") == groups["a3"].get("stroke") != groups["a2"].get("stroke")
    assert groups["a2"].findtext(SVG + "title") == (
        "Legal & democratic (Legal): Rother, Wealden, East Sussex Fire and Rescue Authority"
    )
    assert {"Revenues", "Legal"} <= set(legend(root))
    assert "coloured by service: Revenues 2, Legal 1" in desc(root)
    assert "3 arrangements drawn as lines" in desc(root) and "now one" not in desc(root)
    # Between bodies now one (councils merged since): no line to draw, and said so.
    # (One with a single body on the map, its other partner outside it, is drawn as before.)
    lone = maps.MapArrangement("a5", "With a company", [ROTHER], "Legal")
    merged = [*arrangements, maps.MapArrangement("a4", "Merged", [ROTHER, ROTHER], "Legal"), lone]
    said = desc(parse(maps.render_arrangements_map(merged, title="t", settings=SETTINGS)))
    assert "4 arrangements drawn as lines" in said
    assert ", 1 arrangement between bodies now one, a dot on that body" in said
    assert svg == maps.render_arrangements_map(
        arrangements, title="Arrangements", settings=SETTINGS
    )
    with pytest.raises(UnknownBody):
        maps.render_arrangements_map(
            [maps.MapArrangement("x", "x", ["E99"])], title="t", settings=SETTINGS
        )
    # On a phone the drawing shrinks to 60%: its legend read at 7 px. As HTML after it, it
    # keeps the page's size; "Any other service" is not confused with the service "Other".
    many = [maps.MapArrangement(f"m{i}", "x", [ROTHER, "E07000062"], f"Service {i}")
            for i in range(9)]  # fmt: skip
    out = maps.render_arrangements_map(many, title="t", legend_html=True, settings=SETTINGS)
    picture, after = out.split("</svg>", 1)
    assert not legend(parse(picture + "</svg>"))
    assert after.startswith('<div class="map-legend">') and "Any other service</li>" in after


def test_a_whole_register_is_one_mark_a_body_sized_by_its_arrangements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 12: hundreds of arrangements as lines are a tangle. A register is drawn as one
    mark a member body (a circle sized by its real arrangements, a dashed square by its
    simulated ones), with lines only for the arrangements given (a page of them)."""
    points = {ROTHER: (12, 0), "E07000065": (3, 2), FIRE: (1, 0), "E07000061": (0, 4)}
    page = [maps.MapArrangement("a1", "Shared legal", [ROTHER, "E07000065"], "Legal")]
    svg = maps.render_arrangements_map(page, title="Register", points=points, settings=SETTINGS)
    root = parse(svg)
    (members,) = [g for g in root.iter(SVG + "g") if g.get("class") == "members"]
    marks = {g.get("data-code"): g for g in members.findall(SVG + "g")}
    assert set(marks) == set(points)
    radius = {c: float(g.find(SVG + "circle").get("r")) for c, g in marks.items() if points[c][0]}
    assert radius[ROTHER] > radius["E07000065"] > radius[FIRE]  # sized by count
    assert marks["E07000061"].find(SVG + "circle") is None  # simulated only: a square
    assert marks["E07000061"].find(SVG + "rect").get("stroke-dasharray")
    assert marks["E07000065"].findtext(SVG + "title") == (
        "Wealden: 3 real arrangements and 2 simulated ones"
    )
    assert [g.get("data-id") for g in root.iter(SVG + "g") if g.get("class") == "arrangement"] == [
        "a1"
    ]
    keys = legend(root)
    assert "A body in 1 arrangement" in keys and "A body in 12 arrangements" in keys
    assert "Simulated: training data, not real" in keys
    assert "4 member bodies marked, sized by the arrangements each is in" in desc(root)
    assert "the most: Rother 12, Wealden 5" in desc(root)
    assert root.findtext(SVG + "title") == "Register"

    monkeypatch.setattr(maps, "MOST_POINTS", 2)  # the drawing is bounded whatever the register
    capped = parse(maps.render_arrangements_map([], title="t", points=points, settings=SETTINGS))
    (members,) = [g for g in capped.iter(SVG + "g") if g.get("class") == "members"]
    assert {g.get("data-code") for g in members.findall(SVG + "g")} == {ROTHER, "E07000065"}
    assert "(the busiest 2 of 4)" in desc(capped)


def test_layer_follows_the_settings(tiny_settings: Settings, tiny_data: Path) -> None:
    tiny = maps.web_layer(tiny_settings)
    assert sorted(c for c in tiny.paths if tiny.tiers[c] in maps.LOWER_TIERS) == [
        "E06000001",
        "E06000002",
        "E07000001",
        "E07000002",
    ]
    root = parse(maps.render_map(focal="E07000001", title="tiny", settings=tiny_settings))
    assert len(bodies(root)) == 4 and bodies(root)["E07000001"].get("class") == "focal"


def test_labels_use_short_names() -> None:
    assert maps.short_name("Suffolk Fire and Rescue Authority") == "Suffolk Fire"
    assert maps.short_name("Norfolk police force area") == "Norfolk Police"
    assert maps.short_name("NHS Kent and Medway Integrated Care Board") == "NHS Kent and Medway ICB"
    assert maps.short_name("Rother") == "Rother"
    svg = maps.render_map(
        focal="E31000034", values={"E31000026": 2.0}, layer="fire",
        zoom_to=["E31000034", "E31000026"], title="t", settings=SETTINGS,
    )  # fmt: skip
    root = parse(svg)
    names = {t.text for g in root.iter(SVG + "g") if g.get("class") == "labels"
             for t in g.iter(SVG + "text")}  # fmt: skip
    assert "Norfolk Fire" in names
    tips = {p.findtext(SVG + "title") for p in root.iter(SVG + "path") if p.get("data-code")}
    assert any(t and t.startswith("Norfolk Fire and Rescue Authority") for t in tips)


def test_the_body_a_map_is_about_keeps_its_name_over_a_partner_covering_it() -> None:
    """Cornwall's map labelled Cornwall "NHS Cornwall and the Isles of Scilly ICB": a partner
    covering the same area was named first and the body's own name, clashing, was dropped."""
    body = {"code": "E10000030", "display_name": "Surrey", "tier": "county"}
    rows = [{"partner_code": "E23000031", "existing": False, "expected_savings_gbp": 500_000.0}]
    drawn = partners_map(body, rows, [], None, SETTINGS, width=600)
    labels = drawn[drawn.index('class="labels') :].split("</g></g>")[0]
    assert ">Surrey<" in labels and "Surrey Police" not in labels


def test_an_existing_partner_with_a_suggested_ones_outline_is_named_on_it() -> None:
    """Hereford and Worcester Fire's map hatched Warwickshire Fire, a suggestion with no shared
    history, as an existing partner: the hatching was Warwickshire's police force area (a
    partner), whose outline is the same. The label now names both."""
    svg = maps.render_map(
        focal="E31000018",
        values={"E31000036": 120_000.0},
        existing=["E23000017"],
        value_label="expected annual savings",
        zoom_to=["E31000018", "E31000036"],
        labels=True,
        title="Partners for Hereford and Worcester Fire",
        settings=SETTINGS,
    )
    texts = [t.text for t in parse(svg).iter(SVG + "text")]
    assert "Warwickshire Fire" in texts and "+ Warwickshire Police (existing)" in texts
    alone = maps.render_map(
        focal="E31000018",
        values={"E31000036": 120_000.0},
        value_label="expected annual savings",
        zoom_to=["E31000018", "E31000036"],
        labels=True,
        title="Partners for Hereford and Worcester Fire",
        settings=SETTINGS,
    )
    assert not any("(existing)" in (t.text or "") for t in parse(alone).iter(SVG + "text"))


def test_a_partner_far_larger_around_the_body_is_cut_by_the_frame_not_framed() -> None:
    """Newcastle's map framed its NHS board (North East and North Cumbria), one of its
    suggestions, whole: the North East, with Newcastle and its neighbours a speck."""
    from recommender.render.partner_map import _framed

    newcastle, gateshead, sunderland, board = "E08000021", "E08000037", "E08000024", "E54000050"
    framed = _framed(newcastle, [gateshead, board, sunderland], SETTINGS)
    assert framed == [gateshead, sunderland]
    assert _framed(newcastle, [board], SETTINGS) == [board]  # alone: framed all the same
    far = "E06000052"  # Cornwall: far larger, but not around Newcastle, so framed
    assert _framed(newcastle, [gateshead, far], SETTINGS) == [gateshead, far]


def test_a_partner_under_the_focal_bodys_name_is_named_a_line_off() -> None:
    """The North Central London board's name sat on Barnet, its likeliest partner, which was
    left unnamed: a name that clashes is tried a line below or above its point."""
    values = {"E09000003": 300_000.0, "E09000010": 200_000.0, "E09000014": 150_000.0,
              "E09000007": 100_000.0, "E09000019": 90_000.0}  # fmt: skip
    svg = maps.render_map(
        focal="E54000028", values=values, title="t", settings=SETTINGS,
        zoom_to=[*values, "E54000028"],
    )  # fmt: skip
    labels = svg.split('class="labels"', 1)[1].split("</g></g>", 1)[0]
    named = set(re.findall(r">([^<>]+)</text>", labels))
    assert {"Barnet", "NHS North Central London ICB"} <= named
