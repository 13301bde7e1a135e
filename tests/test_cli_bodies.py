"""``recommender bodies`` through click's CliRunner, on the tiny synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli


@pytest.fixture
def run(tiny_data: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env={"RECOMMENDER_DATA_DIR": str(tiny_data)})

    return invoke


def test_search_best_first(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "Shire")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["code", "name"]
    assert lines[2].startswith("E10000001")


def test_search_says_a_name_is_abolished(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "Omega District Council")
    assert result.exit_code == 0, result.output
    assert "E07000001 + E07000002" in result.output
    assert "Omega was abolished" in result.output


def test_search_json_and_kind(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "Shire", "--kind", "police", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["codes"] for r in rows] == ["E23000001"]
    assert rows[0]["display_name"] == "Shire police force area"


def test_show_facts_neighbours_and_containers(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "Alpha")
    assert result.exit_code == 0, result.output
    assert "Alpha (E07000001)" in result.output
    assert "Gamma" in result.output and "10.000" in result.output
    assert "Shire and Gamma Fire and Rescue Authority" in result.output


def test_show_json(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "gamma city council", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["body"]["code"] == "E06000001"
    # The county borders Gamma along both districts' edges, so it comes first.
    assert [n["code"] for n in shown["neighbours"]] == ["E10000001", "E07000001", "E07000002"]
    assert {w["code"] for w in shown["within"]} == {"E31000001", "E23000001", "E54000001"}


def test_unknown_name_exits_non_zero_with_suggestions(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "Alfa")
    assert result.exit_code == 2
    assert "no public body matches 'Alfa'" in result.output
    assert "Closest matches: Alpha (E07000001)" in result.output


def test_search_with_no_match_fails(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "zzzzqqqq")
    assert result.exit_code == 1
    assert "no public body matches" in result.output


def test_list_filters(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "list", "--county", "Shire", "--json")
    assert result.exit_code == 0, result.output
    assert [r["code"] for r in json.loads(result.output)] == ["E07000001", "E07000002"]
    fire = json.loads(run("bodies", "list", "--kind", "fire", "--json").output)
    assert [r["code"] for r in fire] == ["E31000001"]
    bad = run("bodies", "list", "--region", "Sout West")
    assert bad.exit_code == 2 and "Closest matches: South West" in bad.output
