"""A savings figure held at a bound of what real arrangements save per resident is said so.

The Isles of Scilly (2,281 people) got "£56k (£9.8k–£56k)" for every partner, and the Metropolitan
Police force area (8.9 million) "£3.2m (£3.2m–£24m)" with the GLA and the London Fire
Commissioner alike: each the bound per resident times the population merged in, shown as the
typical figure with a range collapsed onto it, and only the page's general note said a figure
"may sit at an edge of its range". Each such figure is now marked where it is shown.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from recommender.cli import cli
from recommender.core.config import Settings
from recommender.recommend.ranking import Query, Recommender
from recommender.recommend.readmodels import HELD_MARK, HELD_SAID, HELD_SHORT, held_at
from recommender.render import briefing


@pytest.fixture(scope="module")
def held(recommender_model: Recommender) -> dict[str, str]:
    """A body with a suggestion held at a bound, by bound (the small world's bodies have one
    held at the floor at least; the real map's have both, the Isles of Scilly's at the ceiling)."""
    found: dict[str, str] = {}
    codes = [str(c) for c in recommender_model.model.context.pairs.codes]
    for code in codes:
        for r in recommender_model.recommend(Query(body=code, k=briefing.TOP)):
            if r.savings_held_at:
                found.setdefault(r.savings_held_at, code)
        if len(found) == 2:
            break
    assert found
    assert set(found) <= {"floor", "ceiling"}
    return found


def test_held_at_reads_the_end_of_the_range_the_figure_sits_on() -> None:
    assert held_at(56183.0, 9795.0, 56183.2) == "ceiling"
    assert held_at(3239066.0, 3239066.0, 24049189.0) == "floor"
    assert held_at(509018.0, 88743.0, 3779320.0) is None
    assert held_at(100.0, 100.0, 100.0) is None  # (no range: no end to be held at)
    assert held_at(float("nan"), 1.0, 2.0) is None


def test_the_api_says_which_bound_a_figure_is_held_at(
    client: FlaskClient, held: dict[str, str]
) -> None:
    for bound, code in held.items():
        rows = client.get(f"/api/v1/bodies/{code}/recommendations?k=10").json["recommendations"]
        assert bound in [r["savings_held_at"] for r in rows]
        for r in rows:
            want = held_at(r["savings_gbp"], r["savings_low_gbp"], r["savings_high_gbp"])
            assert r["savings_held_at"] == want
            if want == "ceiling":
                assert r["savings_gbp"] == r["savings_high_gbp"] > r["savings_low_gbp"]
            elif want == "floor":
                assert r["savings_gbp"] == r["savings_low_gbp"] < r["savings_high_gbp"]
    asked = client.get(f"/api/v1/bodies/{next(iter(held.values()))}/groups?service=legal&k=10").json
    for g in asked["groups"]:
        want = held_at(g["savings_gbp"], g["savings_low_gbp"], g["savings_high_gbp"])
        assert g["savings_held_at"] == want


def test_the_page_marks_each_figure_held_at_a_bound(
    client: FlaskClient, recommender_model: Recommender, held: dict[str, str]
) -> None:
    for bound, code in held.items():
        page = client.get(f"/bodies/{code}").get_data(as_text=True)
        shown = [r.savings_held_at for r in recommender_model.recommend(Query(body=code))]
        assert page.count(f">{HELD_SHORT[bound]}</span>") == shown.count(bound)
        assert HELD_SAID[bound].replace("'", "&#39;") in page  # (its title)


def test_the_briefing_marks_them_and_says_what_the_bound_is_once(
    recommender_model: Recommender, trained_settings: Settings, held: dict[str, str]
) -> None:
    for bound, code in held.items():
        context = briefing.briefing_context(recommender_model, code, settings=trained_settings)
        text = briefing.render_html(context, trained_settings)
        said = f"Held at the {bound} per resident: {HELD_SAID[bound]}.".replace("'", "&#39;")
        assert text.count(said) == 1
        rows = [r for r in context["recommendations"] if r["savings_held_at"] == bound]
        assert rows and text.count(f"<br>{HELD_SHORT[bound]}</span>") == len(rows)  # each row


def test_the_cli_and_the_csv_mark_them(
    client: FlaskClient, trained_settings: Settings, held: dict[str, str]
) -> None:
    bound, code = next(iter(held.items()))
    mark, said = HELD_MARK[bound], f"{HELD_SHORT[bound]}: {HELD_SAID[bound]}"
    env = {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(trained_settings.models),
        "RECOMMENDER_DATABASE_URL": trained_settings.db_url,
    }
    out = CliRunner(env=env).invoke(cli, ["recommend", code, "--k", "10"])
    assert out.exit_code == 0, out.output
    table, note = out.output.split(f"\n  {mark} ", 1)
    assert f"{mark} (" in table  # beside a figure in the table
    assert note.startswith(said)
    table = pd.read_csv(
        io.BytesIO(client.get(f"/api/v1/bodies/{code}/recommendations.csv?k=10").data)
    )
    marked = table["Held at a bound per resident"].dropna()
    assert said in set(marked)


def test_the_compare_page_and_the_cli_csv_mark_them_too(
    client: FlaskClient,
    recommender_model: Recommender,
    trained_settings: Settings,
    held: dict[str, str],
) -> None:
    """The compare page showed "£56k if formed, range £9.8k to £56k" with no mark, and the
    CLI's CSV had no column for it, where the page, the briefing and the API say so."""
    bound, code = next(iter(held.items()))
    found = recommender_model.recommend(Query(body=code, k=20))
    first = next(r.partner_code for r in found if r.savings_held_at == bound)
    other = next(r.partner_code for r in found if r.partner_code != first)  # (two to compare)
    page = client.get(f"/bodies/{code}/compare?with={first}&with={other}")
    assert page.status_code == 200
    page = page.get_data(as_text=True)
    assert f">{HELD_SHORT[bound]}</span>" in page
    env = {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(trained_settings.models),
        "RECOMMENDER_DATABASE_URL": trained_settings.db_url,
    }
    out = CliRunner(env=env).invoke(cli, ["recommend", code, "--k", "10", "--format", "csv"])
    assert out.exit_code == 0, out.output
    table = pd.read_csv(io.StringIO(out.output))
    assert bound in set(table["savings_held_at"].dropna())
