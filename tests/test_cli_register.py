"""``recommender register …`` through click's CliRunner: exit codes, messages, outputs.

The commands run against a register in ``tmp_path`` (settings from the environment, as a user
would set them) and the small directory of bodies from ``register_fixtures``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.core.config import Settings
from recommender.register import records as register
from recommender.register.files import Directory
from recommender.simulation import default_register as register_build
from recommender.simulation.process import DEFAULT_SEED
from register_fixtures import FIXTURES, simulated_frames

Run = Callable[..., Result]


@pytest.fixture
def run(register_settings: Settings, directory: Directory, monkeypatch: pytest.MonkeyPatch) -> Run:
    # The commands look bodies up in the reference; here, in the small test directory.
    for module in (register, register_build):
        monkeypatch.setattr(module, "default_directory", lambda settings=None: directory)
    env = {
        "RECOMMENDER_HOME": str(register_settings.root),
        "RECOMMENDER_DATA_DIR": str(register_settings.data),
        "RECOMMENDER_SOURCE_DIR": str(register_settings.sources),
        "RECOMMENDER_DATABASE_URL": register_settings.db_url,
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["register", *args], env=env)

    return invoke


def test_import_reports_added_then_duplicates(run: Run) -> None:
    path = str(FIXTURES / "known_small.csv")
    first = run("import", path)
    assert first.exit_code == 0, first.output
    assert "7 row(s), added 7 arrangement(s), 0 duplicate(s) skipped" in first.stdout
    again = run("import", path)
    assert "added 0 arrangement(s), 7 duplicate(s) skipped" in again.stdout


def test_a_workbook_in_another_tools_layout_imports_through_a_column_mapping(
    run: Run, tmp_path: Path
) -> None:
    from test_register_workbook import MAPPING, THEIR_HEADER, THEIR_ROWS, workbook

    basis = THEIR_HEADER.index("Saving type")  # their file of annual savings, said once
    short = [row[:basis] + row[basis + 1 :] for row in THEIR_ROWS]
    header = THEIR_HEADER[:basis] + THEIR_HEADER[basis + 1 :]
    annual = str(workbook(tmp_path / "annual.xlsx", header, short))
    mapping = MAPPING.replace("Saving type=savings_basis; ", "")
    unsaid = run("import", annual, "--columns", mapping)
    assert unsaid.exit_code == 2 and "a savings figure needs its basis" in unsaid.output
    first = run("import", annual, "--columns", mapping, "--fill", "savings_basis=annual")
    assert first.exit_code == 0, first.output
    assert "2 row(s), added 2 arrangement(s)" in first.stdout
    assert "column 'Lead officer' is not read and was ignored" in first.output
    bad = run("import", annual, "--columns", mapping, "--fill", "basis=annual")
    assert bad.exit_code == 2 and "'basis' is not a field of a register layout" in bad.output
    typo = run("import", annual, "--columns", mapping, "--fill", "savings_basis=anual")
    assert typo.exit_code == 2 and typo.output.count("savings_basis='anual'") == 1
    path = str(workbook(tmp_path / "theirs.xlsx", THEIR_HEADER, THEIR_ROWS))
    shown = json.loads(run("list", "--format", "json").stdout)
    names = {a["name"]: a for a in shown["arrangements"]}
    assert names["Rother and Hastings legal"]["start_year"] == 2015
    again = run("import", path, "--columns", MAPPING)
    assert "added 0 arrangement(s), 2 duplicate(s) skipped" in again.stdout
    bad = run("import", path, "--columns", "Councils involved=partner")
    assert bad.exit_code == 2 and "'partner' is not a field of a register layout" in bad.output
    sheet = run("import", path, "--columns", MAPPING, "--sheet", "Arrangements")
    assert (
        sheet.exit_code == 2 and "has no sheet 'Arrangements'; its sheets: Register" in sheet.output
    )


def test_a_wrong_figure_is_corrected_by_removing_the_row_and_importing_it_again(
    run: Run, tmp_path: Path
) -> None:
    """A re-import with a corrected figure is skipped as a duplicate (same partners, service
    and year): there was no way to correct an arrangement but `reset`, losing every import."""
    lines = (FIXTURES / "known_small.csv").read_text().splitlines()
    wrong, fixed = tmp_path / "wrong.csv", tmp_path / "fixed.csv"
    wrong.write_text("\n".join(lines[:2]) + "\n")
    fixed.write_text("\n".join([lines[0], lines[1].replace(",8000000,", ",6000000,")]) + "\n")
    assert run("import", str(wrong)).exit_code == 0
    listed = json.loads(run("list", "--format", "json", "--origin", "all").stdout)["arrangements"]
    (hub,) = [a["id"] for a in listed if a["name"] == "East Sussex Procurement Hub"]
    assert "1 duplicate(s) skipped" in run("import", str(fixed)).stdout
    unknown = run("remove", hub, "NOPE-1", "--yes")
    assert unknown.exit_code == 2 and "no arrangement has the id 'NOPE-1'" in unknown.stderr
    assert "nothing was removed" in unknown.stderr
    asked = run("remove", hub)
    assert asked.exit_code == 2 and "East Sussex Procurement Hub; pass --yes" in asked.stderr
    assert run("show", hub).exit_code == 0  # neither removed anything
    removed = run("remove", hub, "--yes")
    assert removed.exit_code == 0, removed.output
    assert f"removed {hub}  East Sussex Procurement Hub (real)" in removed.stdout
    said = "Suggestions no longer cite them, offer them to join or tell them as shared history"
    assert said in removed.stdout
    assert run("show", hub).exit_code == 2
    assert "added 1 arrangement(s)" in run("import", str(fixed)).stdout
    again = json.loads(run("list", "--format", "json", "--origin", "all").stdout)["arrangements"]
    (corrected,) = [a for a in again if a["name"] == "East Sussex Procurement Hub"]
    assert corrected["savings_gbp"] == 6000000 and len(corrected["members"]) == 5


def test_import_rejects_a_bad_file_naming_row_column_value_and_closest(run: Run) -> None:
    result = run("import", str(FIXTURES / "known_one_bad.csv"))
    assert result.exit_code == 2
    assert "1 problem(s) in" in result.stderr and "nothing was imported" in result.stderr
    assert "row 4, column 'service_category', value 'procurment'" in result.stderr
    assert "(closest: procurement" in result.stderr
    assert run("list").stdout.strip().splitlines()[2:] == []


def test_import_json_errors(run: Run) -> None:
    result = run("import", str(FIXTURES / "known_one_bad.csv"), "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["error"] == "import_rejected" and payload["status"] == 422
    assert payload["errors"][0]["suggestions"][0] == "procurement"


def test_dry_run_json_writes_nothing(run: Run) -> None:
    result = run("import", str(FIXTURES / "known_small.csv"), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 7
    real = json.loads(run("list", "--json").stdout)  # the old spelling of --format json
    assert real["arrangements"] == [] and real["total"] == 0  # the default lists real ones only
    everything = json.loads(run("list", "--origin", "all", "--format", "json").stdout)
    assert [r["id"] for r in everything["arrangements"]] == ["S-0001"]


def test_import_of_a_missing_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    result = run("import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_list_filters_and_table(run: Run) -> None:
    run("import", str(FIXTURES / "known_small.csv"))
    result = run("list", "--service", "management_chief_exec")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Names and labels, not ids; no origin column when every row is real.
    assert lines[0].split() == ["id", "name", "service", "years", "partners", "a", "year"]
    assert "Shared management" in lines[2] and "management_chief_exec" not in lines[2]
    assert "Suffolk Coastal, Waveney" in lines[2]  # as the source names them, where "(now …)"
    assert "East Suffolk" in run("show", lines[2].split()[0]).stdout  # does not fit
    assert " 2008–merged " in lines[2]  # a year, not 2,008; its members since one body
    assert "1 arrangement;" in result.stderr
    assert max(len(line) for line in lines) <= 140
    simulated = json.loads(run("list", "--origin", "simulated", "--format", "json").stdout)
    assert [r["id"] for r in simulated["arrangements"]] == ["S-0001"]


def test_list_and_export_by_status(run: Run, tmp_path: Path) -> None:
    """--status keeps arrangements by status as the answers read it (an end year, or a name
    that says it was only a proposal), for a list and for an export alike."""
    path = tmp_path / "statuses.csv"
    path.write_text(
        "name,service,start_year,end_year,savings_basis,partners,source\n"
        "Shared legal,legal,2015,,unknown,Rother; Hastings,https://example.org/a\n"
        "Shared procurement,procurement,2011,2019,unknown,Rother; Wealden,https://example.org/b\n"
        "Shared customer talks (proposal),customer_services,2020,,unknown,Lewes; Wealden,"
        "https://example.org/c\n"
    )
    assert run("import", str(path)).exit_code == 0
    names = {}
    for status in ("running", "ended", "proposed"):
        listed = json.loads(run("list", "--status", status, "--format", "json").stdout)
        names[status] = {a["name"] for a in listed["arrangements"]}
        assert listed["total"] == len(names[status])
    assert names["ended"] == {"Shared procurement"}
    assert names["proposed"] == {"Shared customer talks (proposal)"}
    assert "Shared legal" in names["running"] and names["running"].isdisjoint(
        names["ended"] | names["proposed"]
    )
    by_name = json.loads(run("list", "--order", "name", "--format", "json").stdout)
    listed = [a["name"] for a in by_name["arrangements"]]
    assert listed == sorted(listed, key=str.lower) and len(listed) >= 3
    exported = json.loads(run("export", "--format", "json", "--status", "ended").stdout)
    assert [a["name"] for a in exported["arrangements"]] == ["Shared procurement"]
    bad = run("list", "--status", "over")
    assert bad.exit_code == 2 and "'over' is not one of 'running', 'ended', 'proposed'" in (
        bad.stderr
    )


def test_list_unknown_service_exits_2_with_closest(run: Run) -> None:
    result = run("list", "--service", "legl")
    assert result.exit_code == 2
    assert "unknown service 'legl'" in result.stderr and "Closest matches: legal" in result.stderr


def test_show_text_and_json(run: Run) -> None:
    run("import", str(FIXTURES / "known_small.csv"))
    listed = json.loads(run("list", "--body", "Taunton Deane", "--format", "json").stdout)
    (record,) = listed["arrangements"]
    result = run("show", record["id"])
    assert result.exit_code == 0, result.output
    assert "Devon and Somerset trading standards" in result.stdout
    said = "\nservice   Regulatory and trading standards (regulatory_trading_standards)\n"
    assert said in result.stdout  # the service named as the list names it, with its id
    assert "former: Taunton Deane → Somerset" in result.stdout
    assert "£0 (annual); about £0 a year" in result.stdout
    assert "not set up to save money" in result.stdout
    # running, as the register's filter lists it, and said as far as the register knows
    said = "status    running\n          its source gives no status, and none says it has ended\n"
    assert said in result.stdout
    shown = json.loads(run("show", record["id"], "--json").stdout)
    assert shown["members"][1]["name_as_given"] == "Taunton Deane"


def test_show_unknown_id_exits_2_with_closest(run: Run) -> None:
    result = run("show", "S-001")
    assert result.exit_code == 2
    assert "no arrangement has the id 'S-001'" in result.stderr
    assert "Closest matches: S-0001" in result.stderr
    # An id like none held: no "closest" ids (it listed the first five held).
    unlike = run("show", "R-nope")
    assert unlike.exit_code == 2 and "Closest matches" not in unlike.stderr


def test_an_excel_export_needs_a_file_and_imports_again(run: Run, tmp_path: Path) -> None:
    assert run("import", str(FIXTURES / "known_small.csv")).exit_code == 0
    printed = run("export", "--format", "xlsx")
    assert printed.exit_code == 2 and "give --out FILE.xlsx" in printed.output
    out = tmp_path / "register.xlsx"
    done = run("export", "--format", "xlsx", "--out", str(out))
    assert done.exit_code == 0 and out.read_bytes().startswith(b"PK")
    again = run("import", str(out))
    assert again.exit_code == 0 and "added 0 arrangement(s), 7 duplicate(s) skipped" in again.stdout


def test_export_to_stdout_and_file(run: Run, tmp_path: Path) -> None:
    result = run("export", "--format", "json", "--origin", "simulated")
    assert [a["id"] for a in json.loads(result.stdout)["arrangements"]] == ["S-0001"]
    out = tmp_path / "r.geojson"
    result = run("export", "--format", "geojson", "--out", str(out))
    assert result.exit_code == 0 and f"wrote {out}" in result.stderr
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    assert "note:" not in result.stderr  # the extension fits
    assert run("export", "--format", "xml").exit_code == 2
    # GeoJSON written to a .csv: written as asked, with a note (it was silent).
    wrong = tmp_path / "x.csv"
    result = run("export", "--format", "geojson", "--out", str(wrong))
    assert result.exit_code == 0 and json.loads(wrong.read_text())["type"] == "FeatureCollection"
    assert "note: x.csv will hold GEOJSON (--format geojson)" in result.stderr


def test_build_default_then_reset(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int | None, int | None]] = []

    def simulate(settings: Settings, seed: int | None, size: int | None, real: object) -> object:
        asked.append((seed, size))  # the real simulator needs the real reference data
        return simulated_frames()

    monkeypatch.setattr(register_build, "_simulate", simulate)
    result = run("build-default", "--seed", "7", "--size", "4")
    assert result.exit_code == 0, result.output
    assert asked == [(7, 4)]
    assert result.stdout.startswith("7 real and 1 simulated arrangement(s)")
    assert "simulated: seed 7, size 4 (as given)" in result.stdout
    assert "left out: S-0004 repeats S-0002" in result.stderr
    assert "wrote " in result.stdout
    refused = run("reset")
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    result = run("reset", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("loaded ")
    listed = json.loads(run("list", "--format", "json").stdout)
    assert listed["arrangements"][0]["simulated"] is False


def test_build_default_sizes_the_simulation_to_626_by_june_2019(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[int, int]] = []
    real: list[object] = []

    def simulate(settings: Settings, seed: int, size: int, register: object) -> object:
        asked.append((seed, size))
        real.append(register)  # the real register the simulated one complements
        return simulated_frames()

    monkeypatch.setattr(register_build, "_simulate", simulate)
    result = run("build-default")
    assert result.exit_code == 0, result.output
    # known_small.csv: 5 of its 7 arrangements have a start year, all before 2019.
    assert asked == [(DEFAULT_SEED, 621)]
    arrangements, members = real[0]  # type: ignore[misc]
    assert len(arrangements) == 7 and not arrangements["simulated"].any()
    assert set(members["arrangement_id"]) <= set(arrangements["id"])
    rule = (
        "size 621 (626, the LGA's June 2019 count, minus 5 real arrangement(s) started by 2019, "
        "those only proposed (which never ran) not counted)"
    )
    assert f"simulated: seed {DEFAULT_SEED}, {rule}" in result.stdout


def test_list_cuts_long_cells_and_formats_money(run: Run) -> None:
    from recommender.cli.register import _partners

    members = [{"name": f"Council number {i}", "name_as_given": "", "resolution": "exact"}
               for i in range(12)]  # fmt: skip
    text = _partners(members)
    assert len(text) <= 46 and text.endswith(" and 10 more")
    assert _partners(members[:2]) == "Council number 0, Council number 1"
    run("import", str(FIXTURES / "known_small.csv"))
    listed = run("list", "--origin", "all").stdout.splitlines()
    assert listed[0].split()[-1] == "origin"  # both kinds: the column says which
    assert not any("0.000" in line or ".0 " in line for line in listed)
    assert any(re.search(r"£\d+(\.\d)?[km]?\s", line + " ") for line in listed)


def test_list_pages_as_the_api_does(run: Run) -> None:
    run("import", str(FIXTURES / "known_small.csv"))
    every = json.loads(run("list", "--origin", "all", "--format", "json").stdout)
    page = json.loads(
        run("list", "--origin", "all", "--limit", "2", "--offset", "1", "--format", "json").stdout
    )
    assert every["total"] >= 3
    assert (page["total"], page["limit"], page["offset"]) == (every["total"], 2, 1)
    assert page["arrangements"] == every["arrangements"][1:3]
    # The table says what its page is a page of, as the JSON's total does (it said "2
    # arrangements", as of a register of two).
    total = every["total"]
    table = run("list", "--origin", "all", "--limit", "2", "--offset", "1")
    assert f"arrangements 2 to 3 of {total}; names and partners cut to fit" in table.output
    last = run("list", "--origin", "all", "--offset", str(total - 1))
    assert f"arrangement {total} of {total};" in last.output
    past = run("list", "--origin", "all", "--offset", str(total))
    assert f"no arrangements: --offset {total} is past the last of {total}" in past.output
    assert f"{total} arrangements; names" in run("list", "--origin", "all").output


@pytest.mark.parametrize("command", ["list", "export"])
@pytest.mark.parametrize("option", ["--limit", "--offset"])
def test_a_page_past_the_databases_integers_is_refused_with_its_bound(
    run: Run, command: str, option: str
) -> None:
    """A --limit or --offset past SQLite's 64-bit INTEGER ended in an OverflowError traceback."""
    result = run(command, option, "99999999999999999999")
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': 99999999999999999999 is not in the range" in (
        result.output
    )
    assert "1000000000" in result.output and "Traceback" not in result.output
    assert run(command, option, "1000000000").exit_code == 0  # the bound itself is taken


def test_list_marks_an_annual_figure_read_with_no_period_and_says_how(
    run: Run, tmp_path: Path
) -> None:
    """GO Shared Services' "£3.4m projected" (no period) and AGMA's "£19m to date" (no start
    year) were listed as £3.4m and £3.7m "a year" with no word of the assumption."""
    path = tmp_path / "no_period.csv"
    header = (FIXTURES / "known_small.csv").read_text().splitlines()[0]
    path.write_text(
        header + "\nA,Rother; Lewes,council; council,legal,2012,3400000,projected,,"
        "https://a.example/,\nB,Rother; Wealden,council; council,procurement,,18500000,to_date,,"
        "https://b.example/,\nC,Hastings; Lewes,council; council,legal,2012,500000,annual,,"
        "https://c.example/,\n"
    )
    done = run("import", str(path))
    assert done.exit_code == 0, done.output
    out = run("list").stdout
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("R-")}
    assert rows["A"].rstrip().endswith("£3.4m *") and rows["B"].rstrip().endswith("£3.7m *")
    assert rows["C"].rstrip().endswith("£500k")
    assert out.splitlines()[-1] == (
        "* projected, no period recorded with it: read as a year; "
        "to date, start year not given: spread over 5 years"
    )


def test_show_says_how_a_figure_over_years_was_read_once(run: Run) -> None:
    """`register show` wrote Southwest One's savings as "£200,000,000 (projected over 10
    years); about £20,000,000 a year: projected over 10 years", and never what it did with
    the ten years."""
    run("import", str(FIXTURES / "known_small.csv"))
    listed = json.loads(run("list", "--body", "Rother", "--format", "json").stdout)
    hub = next(a for a in listed["arrangements"] if a["name"] == "East Sussex Procurement Hub")
    line = next(x for x in run("show", hub["id"]).stdout.splitlines() if x.startswith("savings"))
    assert line.endswith(
        "£8,000,000 (cumulative over 5 years); about £1,600,000 a year: divided by 5"
    )
