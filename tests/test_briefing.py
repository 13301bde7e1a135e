"""The advisor's briefing: HTML and a real PDF (WeasyPrint), checked through its text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from recommender.briefing import write_briefing
from recommender.cli import cli
from recommender.config import Settings
from recommender.errors import InvalidInput, UnknownBody
from recommender.ranking import Query, Recommender
from recommender.sources import MYSOCIETY_ATTRIBUTION

ARTIFACTS = Path(__file__).parent / "artifacts"


def pdf_text(path: Path) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages)


def test_pdf_briefing_has_every_section_and_the_figures(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    out = write_briefing(recommender_model, "Rother", tmp_path / "rother.pdf")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "briefing-rother.pdf").write_bytes(out.read_bytes())
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    for heading in (
        "Shared-service opportunities: Rother",
        "The body",
        "Existing arrangements",
        "Top opportunities",
        "Best partner groups",
        "Comparable arrangements and what they saved",
        "How to read the figures",
        "Data sources",
    ):
        assert heading in text, heading
    assert recommender_model.version in text
    assert "Office for National Statistics" in text and "mySociety" in text
    top = recommender_model.recommend(Query("Rother", k=3), explain=False)
    for r in top:
        assert r.partner_name in text
    assert "East Sussex Procurement Hub" in text  # Rother's real arrangement


def test_html_briefing_is_self_contained(recommender_model: Recommender, tmp_path: Path) -> None:
    out = write_briefing(
        recommender_model, "Forest of Dean", tmp_path / "fod.html", service="hr_payroll"
    )
    html = out.read_text()
    assert html.count("<svg") >= 2  # the map and the chart, inline
    before_sources = html.split('<section id="evidence">')[0]
    assert not re.search(r'(src|href)="https?://', before_sources)  # no remote resources
    assert "<link" not in html and "<script" not in html
    assert MYSOCIETY_ATTRIBUTION in html
    assert "HR and payroll" in html


def test_briefing_states_who_governs_the_fire_service(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    html = write_briefing(recommender_model, "Cornwall", tmp_path / "cornwall.html").read_text()
    assert "Runs the fire and rescue service (Cornwall Fire and Rescue Authority)" in html
    assert "(source: https://en.wikipedia.org/wiki/Cornwall_Fire_and_Rescue_Service)" in html


def test_bad_file_names_and_bodies_are_refused(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=r"\.pdf or \.html"):
        write_briefing(recommender_model, "Rother", tmp_path / "rother.docx")
    with pytest.raises(UnknownBody):
        write_briefing(recommender_model, "Nowhereshire", tmp_path / "x.pdf")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_writes_the_briefing(trained_settings: Settings, tmp_path: Path) -> None:
    import os

    env = {
        "RECOMMENDER_MODELS_DIR": str(trained_settings.models),
        "RECOMMENDER_DATABASE_URL": trained_settings.db_url,
    }
    out = tmp_path / "b.html"
    result = CliRunner(env=env).invoke(cli, ["briefing", "Hastings", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and out.is_file()
    assert os.path.getsize(out) > 10_000
