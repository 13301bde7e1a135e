"""``recommender register report`` and ``register simulate`` on the real reference data.

Both need the real bodies and geography (the simulator draws partners over them; the report
measures neighbours and tiers on them), so they run against ``data/`` with a database of their
own in ``tmp_path``, and are skipped when ``data/reference/`` is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.core.config import Settings
from recommender.simulation.process import DEFAULT_SEED

SETTINGS = Settings()
pytestmark = pytest.mark.skipif(
    not (SETTINGS.reference_dir / "bodies.csv").is_file(), reason="needs data/reference/"
)

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {"RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'register.sqlite'}"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["register", *args], env=env)

    return invoke


def _no_nan(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_report_json_has_every_fact_for_each_register(run: Run) -> None:
    result = run("report", "--json")
    assert result.exit_code == 0, result.output
    payload = _no_nan(result.stdout)
    assert list(payload) == ["registers", "patterns"]
    registers = payload["registers"]
    assert list(registers) == ["simulated", "real", "combined"]
    ids = [f["id"] for f in registers["simulated"]]
    for facts in registers.values():
        assert [f["id"] for f in facts] == ids
        assert {f["status"] for f in facts} <= {"ok", "outside", "n/a", "info"}
        assert set(facts[0]) == {
            *("id", "published", "published_value", "value", "bound", "unit", "status"),
            *("detail", "checked_on", "checked"),
        }
    # Counts on the combined register, shapes on the simulated one, nothing on the real one.
    for name in ("simulated", "combined"):
        checked = [f for f in registers[name] if f["checked"]]
        assert checked and all(f["status"] == "ok" for f in checked), name
        assert all(f["checked_on"] == [name] for f in checked), name
    assert not any(f["checked"] for f in registers["real"])
    assert {f["status"] for f in registers["real"]} <= {"info", "n/a"}
    patterns = payload["patterns"]
    assert patterns["rule"].startswith("✓: the simulated value lies within 2 standard errors")
    assert all(p["status"] == "ok" for p in patterns["patterns"])
    assert patterns["counts"]["real"]["arrangements"] > 250
    assert "simulated: " in result.stderr and "facts checked on it within" in result.stderr
    assert "partner patterns: " in result.stderr
    only = _no_nan(run("report", "--json", "--register", "real").stdout)
    assert list(only["registers"]) == ["real"]
    assert only["registers"]["real"] == registers["real"]
    assert only["patterns"] == patterns


def test_report_table_marks_each_register_where_it_is_checked(run: Run) -> None:
    payload = _no_nan(run("report", "--json").stdout)
    facts = payload["registers"]
    result = run("report")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        *("fact", "published", "as", "published", "simulated", "real", "combined", "bound"),
        *("checked", "on"),
    ]
    rows = {line.split()[0]: line for line in lines[2 : 2 + len(facts["real"])]}
    assert list(rows) == [f["id"] for f in facts["real"]]
    assert "Jun 2019: 626 arrangements" in rows["arrangements_jun_2019"]
    assert rows["share_under_100k"].rstrip().endswith("0.50–0.75            simulated")
    assert rows["arrangements_jun_2019"].rstrip().endswith("combined")
    assert "✓" in rows["share_under_100k"] and "✗" not in "".join(rows.values())
    assert rows["share_under_100k"].count("✓") == 1  # on the simulated register only
    assert "n/a" in rows["payback"]
    assert "Checked on: counts (arrangements in place, councils sharing, savings in £)" in (
        result.stdout
    )
    for name, register in facts.items():
        checked = [f for f in register if f["checked"]]
        if checked:
            ok = sum(f["status"] == "ok" for f in checked)
            line = f"{name}: {ok} of {len(checked)} facts checked on it within"
        else:
            line = f"{name}: no published fact is checked on it"
        assert line in result.stdout
    # The partner patterns, one row each, with the rule and the summary.
    start = lines.index("Partner patterns: the simulated register against the real one")
    table = lines[start + 3 : start + 3 + len(payload["patterns"]["patterns"])]
    assert [line.split()[0] for line in table[:2]] == ["pair", "pair"]
    assert all("✓" in line for line in table)
    assert any(line.startswith("choice model  same tier group") for line in table)
    n = len(payload["patterns"]["patterns"])
    assert f"partner patterns: {n} of {n} within tolerance of the real register" in result.stdout
    simulated_only = run("report", "--register", "simulated").stdout.splitlines()
    assert simulated_only[0].split()[-4:] == ["simulated", "bound", "checked", "on"]


def test_the_patterns_are_computed_from_the_register(run: Run, tmp_path: Path) -> None:
    before = _no_nan(run("report", "--json").stdout)["patterns"]
    more = tmp_path / "more.csv"
    more.write_text(run("simulate", "--seed", "5", "--size", "60").stdout, encoding="utf-8")
    assert run("import", str(more)).exit_code == 0
    after = _no_nan(run("report", "--json").stdout)["patterns"]
    old = {p["id"]: p for p in before["patterns"]}
    new = {p["id"]: p for p in after["patterns"]}
    assert after["counts"]["real"] == before["counts"]["real"]
    assert (
        after["counts"]["simulated"]["arrangements"] > before["counts"]["simulated"]["arrangements"]
    )
    assert all(new[k]["real"] == old[k]["real"] for k in old)  # the real register is unchanged
    assert any(new[k]["simulated"] != old[k]["simulated"] for k in old)


def test_seeds_checks_each_seed_as_the_shipped_register_is_checked(run: Run) -> None:
    result = run("seeds", "--first", str(DEFAULT_SEED), "--last", str(DEFAULT_SEED))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["seed", "all", "met", "facts", "outside", "patterns", "outside"]
    assert lines[2].split() == [str(DEFAULT_SEED), "yes", "-", "-"]
    assert f"1 of 1 seeds meet every bound and pattern; the default seed is {DEFAULT_SEED}." in (
        result.stdout
    )
    answer = json.loads(run("seeds", "--first", "1", "--last", "2", "--json").stdout)
    assert answer["default_seed"] == DEFAULT_SEED
    assert [r["seed"] for r in answer["seeds"]] == [1, 2]
    assert all(
        r["all_met"] == (not r["facts_outside"] and not r["patterns_outside"])
        for r in answer["seeds"]
    )
    backwards = run("seeds", "--first", "3", "--last", "2")
    assert backwards.exit_code == 2 and "is before --first 3" in backwards.stderr


def test_report_rejects_an_unknown_register(run: Run) -> None:
    result = run("report", "--register", "imaginary")
    assert result.exit_code == 2 and "'imaginary' is not one of" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_simulate_writes_a_register_that_imports_again(run: Run, tmp_path: Path, fmt: str) -> None:
    result = run("simulate", "--seed", "4", "--size", "20", "--format", fmt)
    assert result.exit_code == 0, result.output
    path = tmp_path / f"simulated.{fmt}"
    path.write_text(result.stdout, encoding="utf-8")
    imported = run("import", "--dry-run", "--json", str(path))
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.stdout)
    # Some may repeat arrangements of the shipped simulated register (the same service, year
    # and members): skipped as duplicates, never rejected.
    assert (report["rows"], report["added"] + report["duplicates"]) == (20, 20)
    # Its ids (S-0001 on) are the shipped simulated register's too: stored under new ids, said.
    (renamed,) = report["warnings"]
    assert re.fullmatch(
        r"\d+ simulated arrangement\(s\) had an id another arrangement has \(e\.g\. "
        r"'S-\d{4}', stored as S-[0-9a-f]{8}\): stored under new ids",
        renamed,
    ), renamed
    assert (report["in_file_duplicates"], report["added"] > 10) == (
        [],
        True,
    )


def test_simulate_is_seeded(run: Run) -> None:
    first = run("simulate", "--size", "5").stdout
    assert run("simulate", "--size", "5", "--seed", str(DEFAULT_SEED)).stdout == first
    assert run("simulate", "--size", "5", "--seed", str(DEFAULT_SEED + 1)).stdout != first
    rows = first.splitlines()
    assert len(rows) == 6 and all(",true," in row for row in rows[1:])
    assert f"simulated (recommender.simulation.process, seed={DEFAULT_SEED}, size=5)" in rows[1]


def test_simulate_to_a_file(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "simulated.json"
    out.parent.mkdir()  # a folder that does not exist is refused (a mistyped path)
    result = run("simulate", "--size", "3", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and f"wrote 3 simulated arrangement(s) to {out}" in result.stderr
    assert [a["simulated"] for a in json.loads(out.read_text())["arrangements"]] == [True] * 3
    assert [p.name for p in out.parent.iterdir()] == ["simulated.json"]  # no temporary left


def test_out_through_a_link_writes_the_linked_file(run: Run, tmp_path: Path) -> None:
    """The write is atomic (a temporary renamed over the path): the link was replaced by a
    file and the file it points to left as it was. Now the link is followed."""
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = run("simulate", "--size", "2", "--out", str(link))
    assert result.exit_code == 0, result.output
    assert f"wrote 2 simulated arrangement(s) to {real}" in result.stderr
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text().startswith("id,") and real.read_text().count("\n") == 3
    written = sorted(p.name for p in tmp_path.iterdir() if ".csv" in p.name)
    assert written == ["link.csv", "real.csv"]  # no temporary left
    # A link to a file not made yet makes it; register export the same.
    dangling = tmp_path / "new.csv"
    dangling.symlink_to(tmp_path / "made.csv")
    result = run("export", "--origin", "all", "--out", str(dangling))
    assert result.exit_code == 0, result.output
    assert dangling.is_symlink() and (tmp_path / "made.csv").read_text().startswith("id,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "0"], "Invalid value for '--size': 0 is not in the range 1<=x<=20000"),
        (["--size", "20001"], "Invalid value for '--size'"),
        (["--size", "many"], "'many' is not a valid integer"),
        (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0"),
        (["--format", "xml"], "Invalid value for '--format': 'xml' is not one of 'csv', 'json'"),
    ],
)
def test_simulate_rejects_bad_values(run: Run, args: list[str], message: str) -> None:
    result = run("simulate", *args)
    assert result.exit_code == 2 and message in result.stderr
