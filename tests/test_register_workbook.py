"""Registers in another tool's layout: an .xlsx workbook read as its CSV would be, a column
mapping naming the field each of a file's columns holds, and a fill for what a file says only
once (``recommender.register.files``)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from recommender.core.errors import ImportRejected, InvalidInput
from recommender.register import files
from recommender.register.files import Directory, parse_columns, parse_fill, read_file, validate
from register_fixtures import FIXTURES

SERVICES = ("procurement", "legal", "revenues_benefits", "other")
# Another tool's export, as an analyst might be given it: its own headings, a column this
# importer has no field for, figures as numbers and dates as dates.
THEIR_HEADER = ("Arrangement", "Councils involved", "Service area", "Saving (£)", "Saving type",
                "Date started", "Web link", "Lead officer")  # fmt: skip
THEIR_ROWS: list[tuple[Any, ...]] = [
    ("Rother and Hastings legal", "Rother; Hastings", "legal", 125000.0, "annual",
     date(2015, 4, 1), "https://example.org/rh", "A. Officer"),
    ("Wealden and Rother procurement", "Wealden; Rother", "procurement", 62500.5, "annual",
     datetime(2012, 9, 30, 0, 0), "https://example.org/wr", None),
]  # fmt: skip
MAPPING = ("Arrangement=name; Councils involved=partners; Service area=service; "
           "Saving (£)=savings_gbp; Saving type=savings_basis; Date started=start_year; "
           "Web link=source")  # fmt: skip


def workbook(
    path: Path, header: tuple[Any, ...], rows: list[tuple[Any, ...]], **sheets: Any
) -> Path:
    """Write ``rows`` under ``header`` on the first sheet (and each of ``sheets``, named by its
    keyword, as (header, rows) after it)."""
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Register"
    for values in (header, *rows):
        first.append(list(values))
    for title, (other_header, other_rows) in sheets.items():
        sheet = book.create_sheet(title)
        for values in (other_header, *other_rows):
            sheet.append(list(values))
    book.save(path)
    return path


def as_csv(path: Path, header: tuple[Any, ...], rows: list[tuple[Any, ...]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_a_workbook_in_another_layout_reads_as_its_fields_say(
    tmp_path: Path, directory: Directory
) -> None:
    path = workbook(tmp_path / "theirs.xlsx", THEIR_HEADER, THEIR_ROWS)
    found = read_file(path, columns=parse_columns(MAPPING))
    assert found.layout == "project"
    first, second = (row.values for row in found.rows)
    # Figures as written (not 125000.0, not rounded), a date's year for a year.
    assert (first["savings_gbp"], first["start_year"]) == ("125000", "2015")
    assert (second["savings_gbp"], second["start_year"]) == ("62500.5", "2012")
    assert [row.row for row in found.rows] == [2, 3]  # the sheet's own row numbers
    [warning] = found.warnings
    assert warning.startswith("column 'Lead officer' is not read and was ignored")
    candidates, errors = validate(found.rows, directory, SERVICES)
    assert errors == []
    assert [(c.name, c.service, c.start_year, c.savings_gbp) for c in candidates] == [
        ("Rother and Hastings legal", "legal", 2015, 125000.0),
        ("Wealden and Rother procurement", "procurement", 2012, 62500.5),
    ]
    # The same mapping reads a CSV file with those columns (its text as written).
    text = [("Rother and Hastings legal", "Rother; Hastings", "legal", "125000", "annual", "2015",
             "https://example.org/rh", "A. Officer")]  # fmt: skip
    again = read_file(as_csv(tmp_path / "theirs.csv", THEIR_HEADER, text),
                      columns=parse_columns(MAPPING))  # fmt: skip
    assert again.rows[0].values == first
    assert again.rows[0].columns == found.rows[0].columns
    assert found.rows[0].columns["partners"] == "Councils involved"


def test_a_service_may_be_named_by_its_label(tmp_path: Path, directory: Directory) -> None:
    """Another tool names services by words, not ids: the taxonomy's labels are read."""
    labels = {"legal services": "legal", "procurement": "procurement"}
    rows = [(*THEIR_ROWS[0][:2], "Legal  Services", *THEIR_ROWS[0][3:]),
            (*THEIR_ROWS[1][:2], "Legal advice", *THEIR_ROWS[1][3:])]  # fmt: skip
    found = read_file(
        workbook(tmp_path / "t.xlsx", THEIR_HEADER, rows), columns=parse_columns(MAPPING)
    )
    candidates, errors = validate(found.rows, directory, SERVICES, labels)
    assert [c.service for c in candidates] == ["legal"]
    [error] = errors
    assert (error.row, error.column, error.message) == (
        3,
        "Service area",
        "unknown service id or label",
    )
    assert error.suggestions[0] == "legal"
    _, without = validate(found.rows, directory, SERVICES)  # ids only, as before
    assert [e.row for e in without] == [2, 3]


def test_partners_one_a_line_in_a_cell_are_partners(tmp_path: Path, directory: Directory) -> None:
    """A spreadsheet lists a cell's partners one a line (Alt+Enter) as often as with ';'."""
    rows = [(*THEIR_ROWS[0][:1], "Rother\nHastings\r\nWealden\n", *THEIR_ROWS[0][2:])]
    found = read_file(
        workbook(tmp_path / "t.xlsx", THEIR_HEADER, rows), columns=parse_columns(MAPPING)
    )
    [candidate], errors = validate(found.rows, directory, SERVICES)
    assert errors == []
    assert [m.name_as_given for m in candidate.members] == ["Rother", "Hastings", "Wealden"]


def test_errors_name_the_files_own_column_and_row(tmp_path: Path, directory: Directory) -> None:
    rows = [*THEIR_ROWS, ("Bad", "Rother; Nowhere Town", "legl", "a lot", "annual", 2016, "x")]
    path = workbook(tmp_path / "theirs.xlsx", THEIR_HEADER, rows)
    found = read_file(path, columns=parse_columns(MAPPING))
    _, errors = validate(found.rows, directory, SERVICES)
    said = {(e.row, e.column): e for e in errors}
    assert set(said) == {(4, "Councils involved"), (4, "Service area"), (4, "Saving (£)")}
    assert said[(4, "Service area")].suggestions[0] == "legal"
    assert said[(4, "Councils involved")].value == "Nowhere Town"


def test_a_workbook_in_the_projects_layout_needs_no_mapping(tmp_path: Path) -> None:
    header = ("name", "service", "start_year", "savings_gbp", "savings_basis", "partners")
    rows = [("Legal", "legal", 2015, 1000, "annual", "Rother; Hastings"), (None,) * 6,
            ("Pay", "procurement", None, True, "annual", "Rother; Wealden")]  # fmt: skip
    found = read_file(workbook(tmp_path / "ours.xlsx", header, rows))
    assert [r.row for r in found.rows] == [2, 4]  # the blank row is skipped, numbers kept
    assert found.rows[1].values["savings_gbp"] == "true"  # said as the CSV would, then refused


def test_a_control_character_a_csv_gave_is_left_out_of_the_workbook_not_a_traceback(
    tmp_path: Path,
) -> None:
    """A note holding a vertical tab (a spreadsheet's line break, which a CSV import takes)
    ended the whole Excel export in openpyxl's IllegalCharacterError: the cell checked the
    raw text before it was cleaned."""
    rows = [{"name": "Legal", "service": "legal", "note": "pasted\x0bline break",
             "partners": "Rother; Hastings"}]  # fmt: skip
    path = tmp_path / "out.xlsx"
    columns = ["name", "service", "note", "partners"]
    path.write_bytes(files.xlsx_bytes(rows, columns, "Arrangements"))
    found = read_file(path)
    assert found.rows[0].values["note"] == "pastedline break"
    assert found.rows[0].values["partners"] == "Rother; Hastings"


def test_an_empty_column_with_no_heading_in_a_workbook_is_left_out(tmp_path: Path) -> None:
    """A workbook with an empty column between two headed ones was refused: "a column has
    no name" (one at the end was already left out)."""
    header = ("name", None, "service", "partners")
    rows = [("Legal", None, "legal", "Rother; Hastings")]
    found = read_file(workbook(tmp_path / "gap.xlsx", header, rows))
    assert found.rows[0].values == {"name": "Legal", "service": "legal",
                                    "partners": "Rother; Hastings"}  # fmt: skip
    held = [("Legal", "x", "legal", "Rother; Hastings")]
    with pytest.raises(ImportRejected, match="a column has no name"):
        read_file(workbook(tmp_path / "held.xlsx", header, held))


def test_the_sheet_is_chosen_by_name_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    header = ("name", "service", "partners")
    path = workbook(tmp_path / "two.xlsx", ("Notes",), [("read me",)],
                    Arrangements=(header, [("Legal", "legal", "Rother; Hastings")]))  # fmt: skip
    assert read_file(path, sheet="Arrangements").rows[0].values["name"] == "Legal"
    with pytest.raises(ImportRejected, match="no column of a register layout") as caught:
        read_file(path)  # the first sheet: not the register; which it read, and the others
    assert caught.value.errors[0].message.endswith(
        "(the first sheet, 'Register', was read; the workbook also has 'Arrangements': choose "
        "the register's with --sheet)"
    )
    with pytest.raises(InvalidInput) as caught:
        read_file(path, sheet="arrangement")
    assert caught.value.field == "sheet" and "Register, Arrangements" in caught.value.detail
    assert caught.value.suggestions[0] == "Arrangements"
    with pytest.raises(InvalidInput, match="not a workbook"):
        read_file(as_csv(tmp_path / "a.csv", header, []), sheet="Arrangements")


def test_cells_past_the_header_and_an_empty_sheet_are_refused(tmp_path: Path) -> None:
    header = ("name", "service", "partners")
    path = workbook(tmp_path / "wide.xlsx", header, [("Legal", "legal", "Rother; Hastings", "?")])
    with pytest.raises(ImportRejected) as caught:
        read_file(path)
    [error] = caught.value.errors
    assert (error.row, error.value) == (2, "?") and error.message.endswith("cells under no heading")
    empty = Workbook()
    empty.save(tmp_path / "empty.xlsx")
    with pytest.raises(ImportRejected, match="sheet 'Sheet' is empty"):
        read_file(tmp_path / "empty.xlsx")


def test_a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "big.xlsx", ("name", "service", "partners"), [("x" * 5000,) * 3])
    monkeypatch.setattr(files, "MAX_WORKBOOK_BYTES", 10_000)
    with pytest.raises(ImportRejected, match=r"unpacks to .* bytes, over 10,000"):
        read_file(path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Councils involved", "expected 'file column=field'"),
        ("Councils involved=partner", "'partner' is not a field of a register layout"),
        ("A=name; A=note", "'A' is mapped twice"),
    ],
)
def test_a_bad_mapping_is_named(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as caught:
        parse_columns(text)
    assert caught.value.field == "columns"
    if "not a field" in says:
        assert "partners" in caught.value.suggestions


def test_a_mapping_must_fit_the_file(tmp_path: Path) -> None:
    path = as_csv(tmp_path / "theirs.csv", THEIR_HEADER, THEIR_ROWS[:1])
    with pytest.raises(
        InvalidInput, match=r"'Councils', which is not a column of theirs\.csv"
    ) as caught:
        read_file(path, columns={"Councils": "partners"})
    assert caught.value.suggestions[0] == "Councils involved"
    with pytest.raises(ImportRejected) as twice:  # two columns read as one field
        read_file(path, columns=parse_columns(MAPPING + "; Lead officer=name"))
    [error] = twice.value.errors
    assert (
        error.row == 1 and "'Arrangement', 'Lead officer' are all read as 'name'" in error.message
    )
    with pytest.raises(ImportRejected, match="another tool's columns can be mapped"):
        read_file(path)  # no mapping: nothing a layout reads
    json_file = tmp_path / "a.json"
    json_file.write_text('{"arrangements": []}')
    with pytest.raises(InvalidInput, match="is JSON"):
        read_file(json_file, columns={"a": "name"})


def test_a_workbook_expanding_xml_entities_is_refused_not_expanded(tmp_path: Path) -> None:
    """A sheet whose XML declares entities (a "billion laughs" upload to the admin API) is
    refused by the parser openpyxl uses (defusedxml), not expanded into memory."""
    import zipfile

    plain = workbook(tmp_path / "plain.xlsx", ("name", "service", "partners"), [("a", "b", "c")])
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 9))
        + "]>"
    ).replace("&lol0;", "&lol;")
    hostile = tmp_path / "hostile.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(hostile, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = data.decode().replace("<t>a</t>", "<t>&lol8;</t>")
                data = (laughs + body).encode()
            out.writestr(item, data)
    with pytest.raises(ImportRejected, match=r"not a readable \.xlsx workbook") as caught:
        read_file(hostile)
    assert "EntitiesForbidden" in str(caught.value)


def test_a_fill_gives_every_row_the_value_its_file_leaves_out(
    tmp_path: Path, directory: Directory
) -> None:
    """A file of annual savings says so in its heading, not in a column: 'savings_basis=annual'
    gives every row that basis, and a file of one service needs no service column."""
    header = tuple(h for h in THEIR_HEADER if h not in ("Saving type", "Service area"))
    rows = [tuple(v for h, v in zip(THEIR_HEADER, row, strict=True) if h in header)
            for row in THEIR_ROWS]  # fmt: skip
    left_out = ("Saving type", "Service area")
    mapping = {k: v for k, v in parse_columns(MAPPING).items() if k not in left_out}
    path = workbook(tmp_path / "t.xlsx", header, rows)
    with pytest.raises(ImportRejected, match="missing column"):
        read_file(path, columns=mapping)  # no service column, and none given
    found = read_file(path, columns=mapping, fill=parse_fill("savings_basis=annual; service=legal"))
    candidates, errors = validate(found.rows, directory, SERVICES)
    assert errors == []
    assert [(c.service, c.savings_basis) for c in candidates] == [("legal", "annual")] * 2
    # A value in the file is kept; a bad filled value names the fill, row by row.
    kept = read_file(path, columns=mapping, fill={"service": "legal", "source": "https://x.org"})
    assert kept.rows[0].values["source"] == "https://example.org/rh"
    bad = read_file(path, columns=mapping, fill={"service": "legal", "savings_basis": "anual"})
    _, errors = validate(bad.rows, directory, SERVICES)
    assert [(e.row, e.column) for e in errors] == [
        (2, "savings_basis (filled)"),
        (3, "savings_basis (filled)"),
    ]


def test_a_fill_of_a_savings_basis_goes_only_to_the_rows_with_a_figure(
    tmp_path: Path, directory: Directory
) -> None:
    """'savings_basis=annual' for a column of annual savings refused every row without a
    figure ("basis 'annual' needs a savings figure"), most of a real export's rows."""
    header = tuple(h for h in THEIR_HEADER if h != "Saving type")
    rows = [tuple(v for h, v in zip(THEIR_HEADER, row, strict=True) if h in header)
            for row in THEIR_ROWS]  # fmt: skip
    rows[1] = tuple(None if h == "Saving (£)" else v for h, v in zip(header, rows[1], strict=True))
    mapping = {k: v for k, v in parse_columns(MAPPING).items() if k != "Saving type"}
    path = workbook(tmp_path / "t.xlsx", header, rows)
    found = read_file(path, columns=mapping, fill=parse_fill("savings_basis=annual"))
    candidates, errors = validate(found.rows, directory, SERVICES)
    assert errors == []
    assert [(c.savings_gbp, c.savings_basis) for c in candidates] == [
        (125000.0, "annual"),
        (None, "unknown"),
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [("savings_basis", "expected 'field=value'"), ("basis=annual", "'basis' is not a field"),
     ("status=active; status=ended", "'status' is given twice")],
)  # fmt: skip
def test_a_bad_fill_is_named(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as caught:
        parse_fill(text)
    assert caught.value.field == "fill"


def test_a_wrong_fill_value_is_said_once_before_the_file_is_read(directory: Directory) -> None:
    """A fill's value is checked as a row's would be, once: not the same error on each row."""
    from recommender.register.files import check_fill

    check_fill({"savings_basis": "annual", "service": "Legal services"}, directory, SERVICES,
               {"legal services": "legal"})  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        check_fill({"savings_basis": "anual"}, directory, SERVICES)
    assert caught.value.field == "fill" and caught.value.suggestions[0] == "annual"
    assert caught.value.detail.startswith("fill savings_basis='anual': expected one of annual")
    with pytest.raises(InvalidInput, match="'active' with an end year"):
        check_fill({"status": "active", "end_year": "2010"}, directory, SERVICES)
    with pytest.raises(InvalidInput, match="fill partners='Nowhere Town': no public body"):
        check_fill({"partners": "Rother; Nowhere Town"}, directory, SERVICES)


def test_a_header_below_a_title_or_a_blank_row_is_found_and_named(tmp_path: Path) -> None:
    """A title row above the header (as exports have), or a blank first row, was refused as
    "the column mapping names 'Arrangement', which is not a column", or "sheet 'Export' is
    empty" of a sheet with a header and arrangements: neither said where the header was."""
    mapping = parse_columns(MAPPING)
    titled = workbook(tmp_path / "t.xlsx", ("Shared services export, June 2019",),
                      [THEIR_HEADER, *THEIR_ROWS])  # fmt: skip
    with pytest.raises(ImportRejected) as caught:
        read_file(titled, columns=mapping)
    assert "row 2 looks like the header (delete the row above it)" in str(caught.value)
    blank = workbook(tmp_path / "b.xlsx", (None,), [(None,), THEIR_HEADER, *THEIR_ROWS])
    with pytest.raises(ImportRejected) as caught:
        read_file(blank, columns=mapping)
    assert "row 3 looks like the header (delete the 2 rows above it)" in str(caught.value)
    text = io.StringIO()
    csv.writer(text).writerows([["Our shared services"], THEIR_HEADER])
    path = tmp_path / "t.csv"
    path.write_text(text.getvalue() + "Rother and Hastings legal,Rother; Hastings,legal,1,annual,"
                    "2015,https://example.org/rh,\n")  # fmt: skip
    with pytest.raises(ImportRejected, match="row 2 looks like the header") as caught:
        read_file(path, columns=mapping)
    plain = tmp_path / "p.csv"  # with no mapping too: the project's own header, a line down
    plain.write_text("\n" + (FIXTURES / "known_small.csv").read_text())
    with pytest.raises(ImportRejected, match="row 2 looks like the header"):
        read_file(plain)


def test_partner_types_mapped_beside_the_projects_field_names_are_read(
    tmp_path: Path, directory: Directory
) -> None:
    """Mapping a column to partner_types (the documented arrangements' layout) beside
    'Arrangement=name' and 'Service area=service' was refused as "missing column
    'arrangement_name' … (closest: Arrangement)", though Arrangement was mapped."""
    header = (*THEIR_HEADER, "Organisation types")
    rows = [(*row, "council; council") for row in THEIR_ROWS]
    path = workbook(tmp_path / "t.xlsx", header, rows)
    mapping = parse_columns(MAPPING + "; Organisation types=partner_types")
    found = read_file(path, columns=mapping)
    candidates, errors = validate(found.rows, directory, SERVICES)
    assert errors == [] and found.layout == "known"
    assert [(c.name, c.service) for c in candidates] == [
        ("Rother and Hastings legal", "legal"),
        ("Wealden and Rother procurement", "procurement"),
    ]


def test_a_formula_the_workbook_never_computed_is_refused_by_its_cell(tmp_path: Path) -> None:
    """A saving written "=100000+25000" by a tool that stores formulas without their values
    (openpyxl does) was imported as no figure at all, without a word."""
    rows = [
        tuple(
            "=100000+25000" if h == "Saving (£)" else v
            for h, v in zip(THEIR_HEADER, row, strict=True)
        )
        for row in THEIR_ROWS[:1]
    ]
    rows.append(THEIR_ROWS[1])  # fmt: skip
    path = workbook(tmp_path / "f.xlsx", THEIR_HEADER, rows)
    with pytest.raises(ImportRejected) as caught:
        read_file(path, columns=parse_columns(MAPPING))
    [error] = caught.value.errors
    assert (error.row, error.column) == (2, "Saving (£)")
    assert "a formula the workbook never computed" in error.message
