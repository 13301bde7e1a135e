"""``recommender scenario`` and ``recommend --scenario`` through click's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.core.config import Settings
from scenario_fixtures import EAST, WEST


@pytest.fixture
def run(trained_settings: Settings, tmp_path: Path) -> Any:
    runner = CliRunner()
    env = {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(trained_settings.models),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=env)

    return invoke


def _create(run: Any, name: str = "surrey-east-west") -> Result:
    return run(
        "scenario", "create", name,
        "--from", ",".join(EAST), "--name", "East Surrey",
        "--from", ",".join(WEST), "--name", "West Surrey",
        "--description", "the 2025 proposal",
    )  # fmt: skip


def test_create_list_show_delete(run: Any) -> None:
    made = _create(run)
    assert made.exit_code == 0, made.output
    assert made.output.startswith(
        "created scenario surrey-east-west: 2 successor(s) from 11 council(s); abolished: Surrey"
    )
    assert "X06000002  West Surrey" in made.output
    assert "Joint Waste Solutions" in made.output  # carried over, between East and West
    assert "Surrey Fire and Rescue Authority is run by Surrey County Council" in made.output
    listed = run("scenario", "list")
    assert listed.exit_code == 0 and "surrey-east-west" in listed.output
    shown = json.loads(run("scenario", "show", "surrey-east-west", "--json").output)
    assert [s["display_name"] for s in shown["successors"]] == ["East Surrey", "West Surrey"]
    assert shown["description"] == "the 2025 proposal"
    assert {b["code"] for b in shown["leaves_map"]} == {*EAST, *WEST, "E10000030"}
    deleted = run("scenario", "delete", "surrey-east-west")
    assert deleted.exit_code == 0 and "deleted scenario surrey-east-west" in deleted.output
    assert "no scenarios yet" in run("scenario", "list").output


def test_bodies_show_on_the_new_map_as_the_api_shows_it(run: Any) -> None:
    """`bodies show` had no --scenario: the API and the pages showed a body on a scenario's map,
    the CLI only today's."""
    assert _create(run).exit_code == 0
    shown = run("bodies", "show", "West Surrey", "--scenario", "surrey-east-west")
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("On the map of scenario 'surrey-east-west': a new unitary")
    assert "West Surrey (X06000002)" in shown.output and "Joint Waste Solutions" in shown.output
    assert "Population 663,227" in shown.output and "East Surrey" in shown.output  # neighbour
    joined = run("bodies", "show", "Woking", "--scenario", "surrey-east-west", "--json")
    assert joined.exit_code == 0, joined.output
    payload = json.loads(joined.output)
    assert payload["body"]["code"] == "X06000002" and payload["scenario"] == "surrey-east-west"
    assert payload["resolution"]["note"].startswith("Woking (E07000217) is not on the map")
    split = run("bodies", "show", "Surrey", "--scenario", "surrey-east-west")
    assert split.exit_code == 2 and "East Surrey and West Surrey" in split.output
    today = json.loads(run("bodies", "show", "Woking", "--json").output)
    assert today["body"]["code"] == "E07000217" and "scenario" not in today


def test_bad_input_is_refused_with_every_problem_and_nothing_stored(run: Any) -> None:
    result = run(
        "scenario", "create", "Bad Name",
        "--from", f"{','.join(EAST)},E31000035", "--from", f"{','.join(WEST)},E07000207",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "3 problem(s) in scenario 'Bad Name'; nothing was stored" in result.output
    assert "E31000035" in result.output and "a fire and rescue authority, not a council" in (
        result.output
    )
    assert "Elmbridge (E07000207) is already in successor 1" in result.output
    assert "no scenarios yet" in run("scenario", "list").output
    assert _create(run).exit_code == 0
    again = _create(run)
    assert again.exit_code == 2 and "a scenario has this name already" in again.output
    missing = run("scenario", "show", "surrey-east-wset")
    assert missing.exit_code == 2 and "Closest matches: surrey-east-west" in missing.output


def test_a_file_and_usage(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "surrey.csv"
    rows = [f"East Surrey,{c}" for c in EAST] + [f"West Surrey,{c}" for c in WEST]
    path.write_text("successor,council\n" + "\n".join(rows) + "\n")
    made = run("scenario", "create", "from-file", "--file", str(path), "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["successors"][1]["display_name"] == "West Surrey"
    both = run("scenario", "create", "x", "--file", str(path), "--from", "E07000207")
    assert both.exit_code == 2 and "with --from (and --name), or with --file" in both.output


def test_recommend_and_briefing_on_the_new_map(run: Any, tmp_path: Path) -> None:
    assert _create(run).exit_code == 0
    found = run("recommend", "West Surrey", "Rushmoor", "--scenario", "surrey-east-west",
                "--format", "json", "--k", "5")  # fmt: skip
    assert found.exit_code == 0, found.output
    payload = json.loads(found.output)
    assert [b["body"]["code"] for b in payload] == ["X06000002", "E07000092"]
    assert all(b["scenario"] == "surrey-east-west" for b in payload)
    partners = {r["partner_code"] for b in payload for r in b["recommendations"]}
    assert not partners & {*EAST, *WEST, "E10000030"}
    joined = run("recommend", "Woking", "--scenario", "surrey-east-west", "--format", "json",
                 "--k", "2")  # fmt: skip
    assert joined.exit_code == 0, joined.output
    head = json.loads(joined.output)[0]["body"]
    assert head["code"] == "X06000002" and "it is part of West Surrey" in head["note"]
    grouped = run("groups", "Woking", "--service", "legal", "--scenario", "surrey-east-west")
    assert grouped.exit_code == 0 and grouped.output.startswith("Woking (E07000217) is not on")
    briefed = run("briefing", "Woking", "--scenario", "surrey-east-west", "--out",
                  str(tmp_path / "woking.html"))  # fmt: skip
    assert briefed.exit_code == 0, briefed.output
    assert "West Surrey" in (tmp_path / "woking.html").read_text()
    gone = run("recommend", "Surrey", "--scenario", "surrey-east-west")
    assert gone.exit_code == 2 and "its area goes to East Surrey and West Surrey" in gone.output
    out = tmp_path / "west.html"
    wrote = run("briefing", "West Surrey", "--scenario", "surrey-east-west", "--out", str(out))
    assert wrote.exit_code == 0, wrote.output
    assert "On the map of scenario" in out.read_text()


def test_every_answer_on_a_scenario_map_says_so_in_its_heading(run: Any) -> None:
    """`groups` and `join` headed their answers "— model …" on a scenario's map, as if today's
    (`recommend` named the scenario)."""
    assert _create(run).exit_code == 0
    for command in (("groups", "--service", "legal"), ("join",), ("recommend", "--k", "2")):
        said = run(command[0], "West Surrey", *command[1:], "--scenario", "surrey-east-west")
        assert said.exit_code == 0, said.output
        heading = next(line for line in said.output.splitlines() if line.startswith("West"))
        assert heading.startswith("West Surrey (X06000002) — model ")
        assert heading.endswith(", scenario surrey-east-west"), heading


def test_show_says_when_each_carried_over_arrangement_ran(run: Any) -> None:
    """The carried-over table listed one that ended in 2021 with no word of it."""
    north = ("E07000107", "E07000109", "E07000113", "E07000115")
    west = ("E07000110", "E07000111", "E07000116")
    east = ("E07000105", "E07000106", "E07000108", "E07000112", "E07000114")
    made = run(
        "scenario", "create", "kent-three",
        "--from", ",".join(north), "--name", "North Kent",
        "--from", ",".join(west), "--name", "West Kent",
        "--from", ",".join(east), "--name", "East Kent",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    shown = run("scenario", "show", "kent-three")
    assert shown.exit_code == 0, shown.output
    assert "of them since ended or past a limited term;" in shown.output
    row = next(
        line for line in shown.output.splitlines() if "Dartford and Sevenoaks Environmental" in line
    )
    assert "2012–2021" in row


def test_show_says_when_each_arrangement_becoming_internal_ran(run: Any) -> None:
    """The arrangements that become internal were listed with no years: the Dartford and
    Sevenoaks Environmental Health Partnership, which ended in 2021, among them when the two
    join one unitary."""
    north = ("E07000107", "E07000109", "E07000111", "E07000113", "E07000115")
    west = ("E07000110", "E07000116")
    east = ("E07000105", "E07000106", "E07000108", "E07000112", "E07000114")
    made = run(
        "scenario", "create", "kent-three-internal",
        "--from", ",".join(north), "--name", "North Kent",
        "--from", ",".join(west), "--name", "West Kent",
        "--from", ",".join(east), "--name", "East Kent",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    shown = run("scenario", "show", "kent-three-internal")
    assert shown.exit_code == 0, shown.output
    assert re.search(
        r"Documented arrangements that become internal \(\d+: not partnerships; "
        r"(\d+ of them |)since ended or past a limited term",
        shown.output,
    ), shown.output
    internal = shown.output.split("become internal")[1].split("carried over")[0]
    row = next(line for line in internal.splitlines() if "Dartford and Sevenoaks Environ" in line)
    assert "2012–2021" in row
