"""The calibration report (``recommender.simulation.calibration``): each metric on a register small
enough
to compute by hand, and the committed default register against every published bound.

The hand-built register lives in the tiny world of ``reference_fixtures``: districts Alpha and
Beta (in the county Shire), the unitary Gamma bordering both, the island unitary Delta, and one
fire area over all but Delta.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.services import load_services
from recommender.geo.pairs import build_pair_matrices
from recommender.model.patterns import merged_population
from recommender.reference.lookup import load_adjacency, load_bodies
from recommender.simulation.calibration import (
    METRICS,
    REGISTERS,
    FactResult,
    RegisterParts,
    RegisterView,
    format_bound,
    format_value,
    load_published,
    partner_patterns,
    register_reports,
    release_facts,
    report,
    summary,
)
from recommender.simulation.process import RealRegister
from reference_fixtures import write_tiny_reference

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Settings()
ALPHA, BETA, GAMMA, DELTA = "E07000001", "E07000002", "E06000001", "E06000002"
SHIRE, FIRE = "E10000001", "E31000001"

COLUMNS = ["id", "name", "service", "start_year", "end_year", "annual_savings_gbp"]
COLUMNS += ["savings_aim", "simulated"]
# id, service, start, end, annual £ (None: no figure), set up to save money, members (lead first)
REGISTER = [
    ("A1", "legal", 2010, 2013, 50_000, True, [ALPHA, BETA]),
    ("A2", "procurement", 2011, None, 300_000, True, [GAMMA, ALPHA, SHIRE]),
    ("A3", "other", 2012, 2014, 0, False, [BETA, FIRE]),
    ("A4", "revenues_benefits", 2013, None, None, True, [ALPHA, BETA, GAMMA, DELTA]),
    ("A5", "waste_environment", 2015, None, 80_000, True, [DELTA, GAMMA]),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("calibration") / "data"
    write_tiny_reference(data / "reference")
    shutil.copy(FIXTURES / "services.csv", data / "services.csv")
    shutil.copy(REPO.data / "calibration.json", data / "calibration.json")
    return Settings(data_dir=data)


def frames(rows: list[tuple[Any, ...]] = REGISTER) -> tuple[pd.DataFrame, pd.DataFrame]:
    arrangements = pd.DataFrame(
        [
            {
                "id": ident,
                "name": f"arrangement {ident}",
                "service": service,
                "start_year": start,
                "end_year": end,
                "annual_savings_gbp": annual,
                "savings_aim": aim,
                "simulated": True,
            }
            for ident, service, start, end, annual, aim, _ in rows
        ],
        columns=COLUMNS,
    ).astype({"start_year": "Int64", "end_year": "Int64", "annual_savings_gbp": "float64"})
    members = pd.DataFrame(
        [
            (ident, position, code)
            for ident, *_, codes in rows
            for position, code in enumerate(codes, 1)
        ],
        columns=["arrangement_id", "position", "body_code"],
    )
    # Stored order is not position order: the lead must come from ``position``.
    return arrangements, members.iloc[::-1].reset_index(drop=True)


def tiny_bodies(settings: Settings) -> pd.DataFrame:
    shapes = load_bodies(settings)
    return pd.DataFrame(shapes.drop(columns=shapes.geometry.name)).sort_index()


@pytest.fixture(scope="module")
def view(world: Settings) -> RegisterView:
    bodies = tiny_bodies(world)
    pairs = build_pair_matrices(bodies, load_adjacency(world))
    return RegisterView(*frames(), bodies, pairs, load_services(world))


def metric(view: RegisterView, name: str, **params: Any) -> float | None:
    return METRICS[name](view, params)[0]


def test_share_under_leaves_out_arrangements_without_a_figure(view: RegisterView) -> None:
    # Figures: 50k, 300k, 0, 80k (A4 has none): three of four are under £100k.
    assert metric(view, "share_under", threshold=100_000) == 0.75
    assert metric(view, "share_under", threshold=50_000) == 0.25  # only the £0
    assert METRICS["largest_saving"](view, {}) == (300_000, "arrangement A2")


def test_size_shares_and_the_largest(view: RegisterView) -> None:
    # Sizes 2, 3, 2, 4, 2.
    assert metric(view, "size_share", min=2, max=2) == 0.6
    assert metric(view, "size_share", min=3, max=3) == 0.2
    assert metric(view, "size_share", min=4, max=99) == 0.2
    assert metric(view, "largest_size") == 4


def test_district_led_share_reads_the_lead_from_the_first_position(view: RegisterView) -> None:
    assert metric(view, "district_led_share", until=2011) == 0.5  # Alpha leads A1, Gamma A2
    assert metric(view, "district_led_share", until=2013) == 0.75  # and Beta A3, Alpha A4
    assert metric(view, "district_led_share", until=2009) is None


def test_district_only_against_mixed(view: RegisterView) -> None:
    # To 2013: A1 district-only; A2 and A4 mix districts with a unitary or county; A3 neither.
    assert metric(view, "district_only_vs_mixed", until=2013) == 0.5


def test_cumulative_savings_run_from_mid_start_year_to_the_end_year(view: RegisterView) -> None:
    # At mid-2014: A1 £50k from 2010.5 to its end, 2013 (2.5 years); A2 £300k from 2011.5
    # (3 years); A3 saves £0; A4 has no figure; A5 has not started.
    assert view.cumulative_savings(2014.5) == 50_000 * 2.5 + 300_000 * 3
    assert view.cumulative_savings(2012.0) == 50_000 * 1.5 + 300_000 * 0.5
    assert view.cumulative_savings(2010.0) == 0


def test_councils_sharing_share(view: RegisterView) -> None:
    # Five councils. Started by 2011 (A1, A2): Alpha, Beta, Gamma, Shire; Delta joins in 2013.
    assert view.councils_share(2012.0) == 0.8
    assert view.councils_share(2014.5) == 1.0
    assert view.councils_share(2010.0) == 0


def test_annual_savings_in_a_year_count_the_arrangements_running(view: RegisterView) -> None:
    assert metric(view, "annual_savings_in_year", year=2012) == 50_000 + 300_000 + 0
    assert metric(view, "annual_savings_in_year", year=2014) == 300_000  # A1 ended in 2013
    assert metric(view, "other_bodies_savings_in_year", year=2013) == 0  # A3, with the fire


def test_partners_tiers_and_neighbours(view: RegisterView) -> None:
    # Council pairs: A1 1 (same), A2 3 (none same), A4 6 (Alpha–Beta, Gamma–Delta), A5 1 (same).
    assert metric(view, "same_tier_share") == pytest.approx(4 / 11)
    # Partners bordering or nested with another: all of A1–A3, 3 of 4 in A4 (not the island
    # Delta), none in A5 (Delta and Gamma are apart).
    assert metric(view, "neighbour_share") == pytest.approx(10 / 13)
    assert metric(view, "other_bodies_share") == 0.2  # A3
    assert metric(view, "other_bodies_better") == 0  # £0 with the fire, £80k median without


def test_services_and_savings_per_partner(view: RegisterView) -> None:
    assert metric(view, "back_front_ratio") == 1.5  # legal, procurement, revenues: 3 to 2
    assert metric(view, "share_no_aim") == 0.2
    assert metric(view, "procurement_property_top") == 1
    assert metric(view, "core_back_office_smaller") == 1  # £50k against a median of £80k
    # Per partner: pairs £25k, £0, £40k (mean £21.7k); the trio £100k.
    assert metric(view, "best_size_per_partner") == 3
    assert metric(view, "early_service_share", until=2012, services=["legal", "other"]) == (
        pytest.approx(2 / 3)
    )


def test_release_facts_count_arrangements_councils_and_savings(view: RegisterView) -> None:
    release = {"release": "Test 2014", "date": 2014.5, "arrangements": 4}
    release |= {"councils_share": 0.62, "councils_text": "62%", "savings_gbp": 1_000_000}
    release |= {"savings_text": "£1m", "checked_on": ["combined"]}
    count, councils, savings = release_facts(view, [release], "combined")
    assert (count.id, count.value, count.status, count.detail) == (
        "arrangements_test_2014",
        4,
        "ok",
        "started by 2014",
    )
    assert (councils.value, councils.status) == (1.0, "outside")  # 0.62 ± 0.1
    assert (savings.value, savings.status) == (1_025_000, "ok")  # the last release: ± 25%
    assert councils.checked and councils.checked_on == ("combined",)
    # The same values on a register the release is not checked on: shown, not marked.
    shown = release_facts(view, [release], "simulated")
    assert [(r.value, r.status, r.checked) for r in shown] == [
        (4, "info", False),
        (1.0, "info", False),
        (1_025_000, "info", False),
    ]


def test_status_bound_and_json() -> None:
    def fact(value: float | None, bound: tuple[float | None, float | None] | None) -> FactResult:
        return FactResult("f", "published", None, value, bound, "share", "", ("real",), "real")

    assert fact(0.5, (0.5, 0.75)).status == "ok"
    assert fact(0.8, (0.5, 0.75)).status == "outside"
    assert fact(0.4, (0.5, None)).status == "outside"
    assert fact(0.4, None).status == "info"
    assert fact(None, (0.5, 0.75)).status == "n/a"
    assert fact(math.nan, (0.5, 0.75)).status == "n/a"
    assert fact(math.nan, (0.5, 0.75)).to_dict()["value"] is None  # NaN is not JSON
    assert fact(0.6, (0.5, 0.75)).to_dict()["bound"] == [0.5, 0.75]
    assert fact(0.6, (0.5, 0.75)).to_dict()["checked_on"] == ["real"]
    elsewhere = FactResult("f", "p", None, 0.8, (0.5, 0.75), "share", "", ("combined",), "real")
    assert (elsewhere.checked, elsewhere.status, elsewhere.to_dict()["checked"]) == (
        False,
        "info",
        False,
    )


@pytest.mark.parametrize(
    ("bound", "unit", "text"),
    [
        ((0.5, 0.75), "share", "0.50–0.75"),
        ((2_500_000, None), "gbp", "≥ £2.5m"),
        ((None, 10), "count", "≤ 10"),
        ((4, 4), "partners", "4"),
        ((1, 1), "flag", "yes"),
        (None, None, ""),
    ],
)
def test_format_bound(
    bound: tuple[float | None, float | None] | None, unit: str | None, text: str
) -> None:
    assert format_bound(bound, unit) == text


def test_format_value() -> None:
    assert format_value(1_340_000_000, "gbp") == "£1,340.0m"
    assert format_value(80_000, "gbp") == "£80,000"
    assert format_value(0.5749, "share") == "0.57"
    assert format_value(None, "share") == format_value(math.nan, "share") == "—"


def test_report_covers_every_published_fact_and_summarises(world: Settings) -> None:
    bodies = tiny_bodies(world)
    pairs = build_pair_matrices(bodies, load_adjacency(world))
    services = load_services(world)
    published = load_published(world.data / "calibration.json")
    results = report(*frames(), bodies, pairs, services, world, register="simulated")
    ids = [r.id for r in results]
    assert len(ids) == len(set(ids))
    assert ids[len(ids) - len(published["facts"]) :] == [f["id"] for f in published["facts"]]
    assert {f["metric"] for f in published["facts"]} <= set(METRICS)
    checked = [r for r in results if r.checked]
    elsewhere = [r for r in results if r.bound is not None and not r.checked]
    ok = sum(r.status == "ok" for r in checked)
    outside = sum(r.status == "outside" for r in checked)
    na = sum(r.status == "n/a" for r in checked)
    assert checked and elsewhere
    assert summary("tiny", results) == (
        f"tiny: {ok} of {len(checked)} facts checked on it within their published bounds "
        f"({outside} outside, {na} not applicable; {len(elsewhere)} checked on another "
        f"register, {len(results) - len(checked) - len(elsewhere)} shown for information only)"
    )
    real = report(*frames(), bodies, pairs, services, world, register="real")
    assert not any(r.checked for r in real)
    assert summary("real", real).startswith("real: no published fact is checked on it")
    # An empty register (a database holding no simulated arrangement): no value, no error.
    empty = report(*frames([]), bodies, pairs, services, world)
    assert [r.id for r in empty] == ids
    assert all(r.status in ("n/a", "outside", "info") for r in empty)


def test_counts_are_checked_on_the_combined_register_and_shapes_on_the_simulated() -> None:
    published = load_published(REPO.data / "calibration.json")
    for release in published["releases"]:
        assert release["checked_on"] == ["combined"], release["release"]
    counts = {"annual_savings_in_year", "other_bodies_savings_in_year"}
    for fact in published["facts"]:
        if fact["bound"] is None:
            assert fact["checked_on"] == [], fact["id"]
        else:
            want = ["combined"] if fact["metric"] in counts else ["simulated"]
            assert fact["checked_on"] == want, fact["id"]


# The committed default register ---------------------------------------------------------------


@pytest.mark.skipif(
    not (REPO.reference_dir / "bodies.csv").is_file(), reason="needs data/reference/"
)
def test_the_default_register_is_within_every_published_bound_and_real_pattern(
    tmp_path: Path,
) -> None:
    settings = REPO.with_(database_url=f"sqlite:///{tmp_path / 'register.sqlite'}")
    parts = RegisterParts.load(settings)
    results = register_reports(settings, parts=parts)
    assert list(results) == list(REGISTERS)
    checked = {name: [r for r in results[name] if r.checked] for name in REGISTERS}
    assert (len(checked["simulated"]), len(checked["combined"])) == (20, 17)
    assert checked["real"] == []
    for name in ("simulated", "combined"):
        outside = [(r.id, r.value, r.bound) for r in checked[name] if r.status != "ok"]
        assert outside == [], name
    # Every fact with a bound is checked somewhere.
    bounded = {r.id for r in results["simulated"] if r.bound is not None}
    assert bounded == {r.id for name in REGISTERS for r in checked[name]}
    # The real register is a documented sample: shown, checked on nothing. Only the
    # arrangements that ran: one only proposed is no arrangement in place.
    assert [r.id for r in results["real"]] == [r.id for r in results["simulated"]]
    real_names = parts.parts["real"][0]["name"]
    assert len(real_names) and not real_names.str.endswith("(proposal)").any()
    combined = parts.parts["combined"][0]
    assert len(combined) == len(real_names) + len(parts.parts["simulated"][0])
    # Savings: never more than the real register supports, per resident merged in and in all.
    real = RealRegister.from_frames(*parts.parts["real"], parts.bodies["population"])
    assert real.max_per_resident is not None and real.max_annual is not None
    arrangements, members = parts.parts["simulated"]
    annual = arrangements.set_index("id")["annual_savings_gbp"].dropna().astype(float)
    merged = merged_population(members, parts.bodies["population"]).reindex(annual.index)
    assert (annual <= real.max_per_resident * merged + 1e-6).all()
    assert annual.max() <= real.max_annual
    patterns = partner_patterns(parts)
    assert len(patterns.patterns) >= 36
    outside = [(p.id, p.real, p.simulated, p.bounds) for p in patterns.patterns if p.status != "ok"]
    assert outside == []
