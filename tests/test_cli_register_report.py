"""``recommender register report`` and ``register simulate`` on the real reference data.

Both need the real bodies and geography (the simulator draws partners over them; the report
measures neighbours and tiers on them), so they run against ``data/`` with a database of their
own in ``tmp_path``, and are skipped when ``data/reference/`` is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.config import Settings
from recommender.simulate import DEFAULT_SEED

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
    registers = _no_nan(result.stdout)["registers"]
    assert list(registers) == ["simulated", "real", "combined"]
    ids = [f["id"] for f in registers["simulated"]]
    for facts in registers.values():
        assert [f["id"] for f in facts] == ids
        assert {f["status"] for f in facts} <= {"ok", "outside", "n/a", "info"}
        assert set(facts[0]) == {
            *("id", "published", "published_value", "value", "bound", "unit", "status"),
            "detail",
        }
    for name in ("simulated", "combined"):
        assert all(f["status"] == "ok" for f in registers[name] if f["bound"] is not None), name
    assert "simulated: " in result.stderr and "facts within their published bounds" in result.stderr
    only = _no_nan(run("report", "--json", "--register", "real").stdout)
    assert list(only["registers"]) == ["real"]
    assert only["registers"]["real"] == registers["real"]


def test_report_table_marks_each_register_and_exits_0_with_facts_outside(run: Run) -> None:
    facts = _no_nan(run("report", "--json").stdout)["registers"]
    result = run("report")
    assert result.exit_code == 0, result.output  # the real register has facts outside
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        *("fact", "published", "as", "published", "simulated", "real", "combined", "bound")
    ]
    rows = {line.split()[0]: line for line in lines[2 : 2 + len(facts["real"])]}
    assert list(rows) == [f["id"] for f in facts["real"]]
    assert "Jun 2019: 626 arrangements" in rows["arrangements_jun_2019"]
    assert rows["share_under_100k"].rstrip().endswith("0.50–0.75")
    assert "✗" in "".join(rows.values()) and "✓" in rows["share_under_100k"]
    assert "n/a" in rows["payback"]
    for name, register in facts.items():
        checked = [f for f in register if f["bound"] is not None]
        ok = sum(f["status"] == "ok" for f in checked)
        line = f"{name}: {ok} of {len(checked)} facts within their published bounds"
        assert line in result.stdout
    simulated_only = run("report", "--register", "simulated").stdout.splitlines()
    assert simulated_only[0].split()[-2:] == ["simulated", "bound"]


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
    assert (report["rows"], report["added"], report["warnings"]) == (20, 20, [])


def test_simulate_is_seeded(run: Run) -> None:
    first = run("simulate", "--size", "5").stdout
    assert run("simulate", "--size", "5", "--seed", str(DEFAULT_SEED)).stdout == first
    assert run("simulate", "--size", "5", "--seed", str(DEFAULT_SEED + 1)).stdout != first
    rows = first.splitlines()
    assert len(rows) == 6 and all(",true," in row for row in rows[1:])
    assert f"simulated (recommender.simulate, seed={DEFAULT_SEED}, size=5)" in rows[1]


def test_simulate_to_a_file(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "simulated.json"
    result = run("simulate", "--size", "3", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and f"wrote 3 simulated arrangement(s) to {out}" in result.stderr
    assert [a["simulated"] for a in json.loads(out.read_text())["arrangements"]] == [True] * 3
    assert [p.name for p in out.parent.iterdir()] == ["simulated.json"]  # no temporary left


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
