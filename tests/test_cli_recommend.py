"""``recommender recommend`` through click's CliRunner, on the session's trained model."""

from __future__ import annotations

import json

from click.testing import CliRunner

from recommender.cli import cli
from recommender.config import Settings


def _run(settings: Settings, *args: str) -> str:
    env = {
        "RECOMMENDER_MODELS_DIR": str(settings.models),
        "RECOMMENDER_DATABASE_URL": settings.db_url,
    }
    result = CliRunner(env=env).invoke(cli, ["recommend", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_abolished_council_is_named_with_its_successor(trained_settings: Settings) -> None:
    out = _run(trained_settings, "Aylesbury Vale", "--k", "2")
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("Buckinghamshire (E06000060)")
    assert lines[1] == (
        "Aylesbury Vale District Council was abolished in 2020; its area is now part of "
        "Buckinghamshire."
    )
    shown = json.loads(_run(trained_settings, "Aylesbury Vale", "--k", "1", "--format", "json"))
    assert "abolished in 2020" in shown[0]["body"]["note"]
    plain = _run(trained_settings, "Buckinghamshire", "--k", "1")
    assert "abolished" not in plain


def test_reasons_have_words_for_their_direction(trained_settings: Settings) -> None:
    out = _run(trained_settings, "Rother", "--k", "3")
    reasons = [line for line in out.splitlines() if line.startswith("  1. ")]
    assert reasons and reasons[0].startswith("  1. ▲ ")
