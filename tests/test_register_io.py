"""Reading, validating and writing register files (``recommender.register.files``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.core.errors import ImportRejected, InvalidInput, RowError
from recommender.register import records
from recommender.register.files import (
    Candidate,
    Directory,
    atomic_write,
    atomic_write_all,
    csv_text,
    current_year,
    format_value,
    geojson_text,
    partner_tokens,
    read_source,
    validate,
)
from register_fixtures import FIXTURES

SERVICES = ("procurement", "legal", "revenues_benefits", "management_chief_exec", "other")
KNOWN_HEADER = (
    "arrangement_name,partners,partner_types,service_category,start_year,"
    "savings_gbp,savings_basis,savings_period_years,source_url,note\n"
)
GOOD = "Good,Rother; Wealden,council; council,legal,2012,100000,annual,,https://x.org,\n"


def check(
    tmp_path: Path, directory: Directory, *rows: str
) -> tuple[list[Candidate], list[RowError]]:
    path = tmp_path / "in.csv"
    path.write_text(KNOWN_HEADER + "".join(rows), encoding="utf-8")
    return validate(read_source(path)[1], directory, SERVICES)


def only_error(tmp_path: Path, directory: Directory, row: str) -> RowError:
    candidates, errors = check(tmp_path, directory, GOOD, row)
    assert len(candidates) == 1, errors
    assert len(errors) == 1, errors
    assert errors[0].row == 3  # the header is row 1, the good row is row 2
    return errors[0]


def test_a_good_row_is_valid(tmp_path: Path, directory: Directory) -> None:
    candidates, errors = check(tmp_path, directory, GOOD)
    assert errors == []
    (c,) = candidates
    assert (c.name, c.service, c.start_year, c.savings_gbp, c.savings_basis) == (
        "Good",
        "legal",
        2012,
        100000.0,
        "annual",
    )
    assert [m.body_code for m in c.members] == ["E07000064", "E07000065"]
    assert [m.resolution for m in c.members] == ["exact", "exact"]
    assert c.savings_aim and not c.simulated and c.status == "unknown"


NEXT_YEAR = str(current_year() + 1)


ROW = {"partners": "Rother; Wealden", "types": "council; council", "service": "legal"}
ROW |= {"start": "2012", "figure": "", "basis": "unknown", "period": ""}


@pytest.mark.parametrize(
    ("changes", "column", "value", "message", "closest"),
    [
        ({"partners": "Rothr; Wealden"},
         "partners", "Rothr", "no public body of kind 'council'", "Rother"),
        ({"service": "procurment"},
         "service_category", "procurment", "unknown service id", "procurement"),
        ({"start": "1899"},
         "start_year", "1899", "impossible year; expected 1900 to", None),
        ({"start": NEXT_YEAR},
         "start_year", NEXT_YEAR, "impossible year", None),
        ({"start": "20x1"},
         "start_year", "20x1", "expected a whole number", None),
        ({"figure": "-5", "basis": "annual"},
         "savings_gbp", "-5", "0 or more", None),
        ({"figure": "lots", "basis": "annual"},
         "savings_gbp", "lots", "expected a number of pounds", None),
        ({"figure": "1_200_000", "basis": "annual"},  # float() reads it as 1200000
         "savings_gbp", "1_200_000", "expected a number of pounds", None),
        ({"start": "2_010"},
         "start_year", "2_010", "expected a whole number", None),
        ({"start": "２０１０"},  # full-width digits, which float() reads
         "start_year", "２０１０", "expected a whole number", None),
        ({"figure": "1e999", "basis": "annual"},
         "savings_gbp", "1e999", "0 or more", None),
        ({"figure": "5000", "basis": "anual"},
         "savings_basis", "anual", "expected one of annual, to_date", "annual"),
        ({"figure": "5000", "basis": ""},
         "savings_basis", "", "a savings figure needs its basis", None),
        ({"basis": "annual"},
         "savings_gbp", "", "basis 'annual' needs a savings figure", None),
        ({"figure": "5000", "basis": "cumulative"},
         "savings_period_years", "", "a cumulative figure needs the years it covers", None),
        ({"figure": "5000", "basis": "annual", "period": "3"},
         "savings_period_years", "3", "does not apply to basis 'annual'", None),
        ({"figure": "5000", "basis": "cumulative", "period": "0"},
         "savings_period_years", "0", "impossible number of years", None),
        ({"partners": "Rother; Wealden; Lewes"},
         "partner_types", "council; council", "2 type(s) for 3 partner(s)", None),
        ({"types": "council; councl"},
         "partner_types", "councl", "expected council, fire", "council"),
    ],
)  # fmt: skip
def test_each_kind_of_bad_row_is_reported(
    tmp_path: Path,
    directory: Directory,
    changes: dict[str, str],
    column: str,
    value: str,
    message: str,
    closest: str | None,
) -> None:
    cells = ROW | changes
    row = ",".join(["X", *(cells[k] for k in ROW), "", ""]) + "\n"
    candidates, errors = check(tmp_path, directory, GOOD, row)
    assert len(candidates) == 1  # the good row, still checked, is not imported with it
    (error,) = errors
    assert (error.row, error.column, error.value) == (3, column, value)
    assert message in error.message
    assert tuple(error.suggestions[:1]) == ((closest,) if closest is not None else ())


def test_end_before_start_is_reported(tmp_path: Path, directory: Directory) -> None:
    path = tmp_path / "p.csv"
    path.write_text((FIXTURES / "project_small.csv").read_text().replace("2015,2020", "2015,2014"))
    _, errors = validate(read_source(path)[1], directory, SERVICES)
    assert [(e.row, e.column, e.value) for e in errors] == [(2, "end_year", "2014")]
    assert "before the start year 2015" in errors[0].message


@pytest.mark.parametrize(
    ("partners", "types"),
    [
        ("Rother", "council"),
        ("Rother; Rother", "council; council"),
        ("BT; Rother", "other; council"),
    ],
)
def test_fewer_than_two_distinct_partners_is_reported(
    tmp_path: Path, directory: Directory, partners: str, types: str
) -> None:
    row = f"X,{partners},{types},legal,2012,,unknown,,,\n"
    _, errors = check(tmp_path, directory, row)
    assert any(e.column == "partners" and "two or more distinct" in e.message for e in errors)


def test_partner_types_count_mismatch_is_reported(tmp_path: Path, directory: Directory) -> None:
    row = "X,Rother; Wealden; Lewes,council; council,legal,2012,,unknown,,,\n"
    error = only_error(tmp_path, directory, row)
    assert error.column == "partner_types"
    assert "2 type(s) for 3 partner(s)" in error.message


def test_unknown_partner_type_is_reported(tmp_path: Path, directory: Directory) -> None:
    row = "X,Rother; Wealden,council; councl,legal,2012,,unknown,,,\n"
    error = only_error(tmp_path, directory, row)
    assert (error.column, error.value, error.suggestions[0]) == (
        "partner_types",
        "councl",
        "council",
    )


def test_every_problem_of_every_row_is_reported(tmp_path: Path, directory: Directory) -> None:
    _, errors = check(
        tmp_path,
        directory,
        "X,Rothr; Wealden,council; council,legal,1850,,unknown,,,\n",
        GOOD,
        "Y,Lewes,council,legl,2012,-1,annual,,,\n",
    )
    assert [(e.row, e.column) for e in errors] == [
        (2, "start_year"),
        (2, "partners"),
        (4, "service_category"),
        (4, "savings_gbp"),
        (4, "partners"),
    ]


def test_abolished_councils_resolve_to_successors_keeping_the_name(
    tmp_path: Path, directory: Directory
) -> None:
    row = "X,Taunton Deane; Northamptonshire,council; council,legal,2010,,unknown,,,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == []
    assert [(m.body_code, m.name_as_given) for m in c.members] == [
        ("E06000066", "Taunton Deane"),
        ("E06000061", "Northamptonshire"),
        ("E06000062", "Northamptonshire"),
    ]
    assert c.members[0].resolution == "former: Taunton Deane → Somerset"
    assert c.members[2].resolution == "former: Northamptonshire → West Northamptonshire"
    assert c.identities == ("E07000190", "E10000021")
    # The import report says how each was read (it said nothing of it).
    assert "'Taunton Deane' names a body since abolished or merged: read as Somerset" in (
        " ".join(c.warnings)
    )
    assert "read as North Northamptonshire (E06000061) and West Northamptonshire" in (
        " ".join(c.warnings)
    )


def test_partners_merged_since_stay_distinct(tmp_path: Path, directory: Directory) -> None:
    row = "X,Chiltern; South Bucks,council; council,legal,2012,,unknown,,,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == []
    assert [m.body_code for m in c.members] == ["E06000060", "E06000060"]


def test_other_partners_become_external_members(tmp_path: Path, directory: Directory) -> None:
    row = "X,Rother; Wealden; BT,council; council; other,legal,2012,,unknown,,,\n"
    (c,), _ = check(tmp_path, directory, row)
    assert c.members[2].body_code is None
    assert (c.members[2].role, c.members[2].resolution) == ("external", "external")
    assert "x:bt" in c.identities


@pytest.mark.parametrize(
    ("partner", "kind", "external_kind"),
    [
        ("Rotherfield Hospital NHS Foundation Trust", "health", "nhs_trust"),
        ("Sussex Coast Ambulance Service NHS Trust", "health", "nhs_trust"),
        ("Battle Town Council", "council", "local_council"),
        ("Ticehurst Parish Council", "council", "local_council"),
        ("Rother Homes", "other", "other"),
    ],
)
def test_organisations_outside_the_reference_are_kept_by_name_with_a_kind(
    tmp_path: Path, directory: Directory, partner: str, kind: str, external_kind: str
) -> None:
    row = f"X,Rother; Wealden; {partner},council; council; {kind},legal,2012,,unknown,,,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == []
    outside = c.members[2]
    assert (outside.body_code, outside.role, outside.external_kind) == (
        None,
        "external",
        external_kind,
    )
    assert outside.name_as_given == partner
    # A line in the report, not an error (companies need no note: that is what "other" says).
    assert any(partner in w for w in c.warnings) == (external_kind != "other")


def test_public_organisations_outside_the_reference_make_an_arrangement(
    tmp_path: Path, directory: Directory
) -> None:
    trusts = "Hastings Hospitals NHS Trust; Lewes Community NHS Foundation Trust"
    row = f"X,{trusts}; Rother,health; health; council,other,2015,,unknown,,,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == []
    assert [m.external_kind for m in c.members] == ["nhs_trust", "nhs_trust", None]
    # but a company and one body do not
    _, errors = check(tmp_path, directory, "Y,Rother; Kier,council; other,other,2015,,,,,\n")
    assert any("two or more distinct public organisations" in e.message for e in errors)


def test_an_other_partner_that_is_a_public_body_resolves(
    tmp_path: Path, directory: Directory
) -> None:
    row = "X,Rother; Wealden DC,council; other,legal,2012,,unknown,,,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == []
    assert (c.members[1].body_code, c.members[1].role) == ("E07000065", "partner")
    row = "X,Rother; Rother DC; Wealden,council; other; council,legal,2012,,unknown,,,\n"
    _, errors = check(tmp_path, directory, row)
    assert [e.message for e in errors] == ["this partner is listed twice"]


def test_an_unresolved_commissioner_is_an_error_not_an_outsider(
    tmp_path: Path, directory: Directory
) -> None:
    row = "X,Rother; NHS Rothr CCG,council; health,other,2012,,unknown,,,\n"
    error = only_error(tmp_path, directory, row)
    assert (error.column, error.value) == ("partners", "NHS Rothr CCG")


def test_start_years_go_back_to_1900(tmp_path: Path, directory: Directory) -> None:
    row = "X,Rother; Wealden,council; council,other,1965,,,,,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == [] and c.start_year == 1965


def test_zero_annual_savings_means_not_set_up_to_save(tmp_path: Path, directory: Directory) -> None:
    (c,), _ = check(tmp_path, directory, "X,Rother; Wealden,council; council,legal,,0,annual,,,\n")
    assert c.savings_gbp == 0 and c.savings_aim is False


@pytest.mark.parametrize(
    ("figure", "read"),
    [("1,200,000", 1_200_000.0), ("£250,000", 250_000.0), ("1,234.5", 1234.5),
     ("120,50", None), ("1,2345", None), ("12,00,000", None)],
)  # fmt: skip
def test_a_comma_in_a_figure_only_separates_thousands(
    tmp_path: Path, directory: Directory, figure: str, read: float | None
) -> None:
    # "120,50" (a decimal comma) was read as £12,050 without a word.
    row = f'X,Rother; Wealden,council; council,legal,2012,"{figure}",annual,,,\n'
    candidates, errors = check(tmp_path, directory, row)
    if read is None:
        assert not candidates
        [error] = errors
        assert (error.column, error.value) == ("savings_gbp", figure)
        assert "a comma may only separate thousands" in error.message
    else:
        assert not errors and candidates[0].savings_gbp == read


@pytest.mark.parametrize("status", ["active", "proposed"])
def test_an_active_or_proposed_arrangement_with_an_end_year_is_reported(
    tmp_path: Path, directory: Directory, status: str
) -> None:
    item = {"name": "J", "service": "legal", "start_year": 2014, "partners": ["Rother", "Hastings"]}
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps([item | {"status": status, "end_year": 2020}, item | {"status": status}])
    )
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert [c.status for c in candidates] == [status]
    assert [(e.row, e.column, e.value) for e in errors] == [(1, "status", status)]
    assert f"'{status}' with an end year (2020)" in errors[0].message


@pytest.mark.parametrize(
    ("status", "stored"), [("unknown", ("ended", 2022)), ("active", ("active", None))]
)
def test_an_end_read_from_the_notes_fills_only_what_a_file_does_not_say(
    tmp_path: Path, directory: Directory, status: str, stored: tuple[str, int | None]
) -> None:
    """The documented arrangement's note says it "separated into borough services in autumn
    2022": read so when the file says nothing of its end, but an analyst's "active" stands."""
    item = {"name": "Camden and Islington shared public health service", "service": "other",
            "start_year": 2013, "partners": ["Rother", "Hastings"], "status": status}  # fmt: skip
    path = tmp_path / "r.json"
    path.write_text(json.dumps([item]))
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert not errors
    [row], _ = records.rows_for(records.unique_candidates(candidates)[0], set())
    assert (row["status"], row["end_year"]) == stored


def test_project_layout_reads_codes_names_and_roles(tmp_path: Path, directory: Directory) -> None:
    layout, rows = read_source(FIXTURES / "project_small.csv")
    candidates, errors = validate(rows, directory, SERVICES)
    assert (layout, errors) == ("project", [])
    first, second = candidates
    assert [(m.body_code, m.role) for m in first.members] == [
        ("E07000064", "lead"),
        ("E07000062", "partner"),
    ]
    assert (first.status, first.end_year) == ("ended", 2020)
    assert second.members[0].resolution == "alias"  # "East Sussex" is not the official form


def test_missing_columns_reject_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("arrangement_name,partners,partner_types\nA,B,C\n")
    with pytest.raises(ImportRejected) as caught:
        read_source(path)
    assert {e.column for e in caught.value.errors} == {"service_category"}  # the one needed
    assert all(e.row == 1 for e in caught.value.errors)
    assert "(and reads start_year, savings_gbp" in caught.value.errors[0].message
    assert caught.value.errors[0].suggestions == ()  # no column of the file is like it


def test_a_misspelt_required_column_is_named_as_the_closest(tmp_path: Path) -> None:
    """ "servise" for service was "missing column 'service'" with no word of the column the
    file has, where a misspelt optional column is named as the closest."""
    path = tmp_path / "x.csv"
    path.write_text("name,servise,partners\nJ,legal,Rother; Hastings\n")
    with pytest.raises(ImportRejected) as caught:
        read_source(path)
    (error,) = caught.value.errors
    assert (error.column, error.suggestions) == ("service", ("servise",))


def test_optional_columns_may_be_left_out_of_a_csv(tmp_path: Path, directory: Directory) -> None:
    """A CSV without savings_aim or savings_period_years was refused for "missing column"
    while JSON with the same fields left out was read."""
    path = tmp_path / "few.csv"
    path.write_text("name,service,partners\nJ,legal,Rother; Hastings\n")
    layout, rows = read_source(path)
    candidates, errors = validate(rows, directory, SERVICES)
    assert (layout, errors, len(candidates)) == ("project", [], 1)
    assert (candidates[0].savings_gbp, candidates[0].savings_basis) == (None, "unknown")
    assert candidates[0].start_year is None and candidates[0].status == "unknown"


def test_an_empty_column_with_no_name_is_left_out_and_one_with_values_named(
    tmp_path: Path, directory: Directory
) -> None:
    """A spreadsheet's CSV with a comma after each line, or an empty column in the middle,
    was refused: "row 1, column '': a column has no name"."""
    known = (FIXTURES / "known_small.csv").read_text().splitlines()
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("".join(line + ",\n" for line in known))
    expected = validate(read_source(FIXTURES / "known_small.csv")[1], directory, SERVICES)
    found = validate(read_source(trailing)[1], directory, SERVICES)
    assert found == expected and found[0]
    middle = tmp_path / "middle.csv"
    middle.write_text("name,,service,partners\nJ,,legal,Rother; Hastings\n\n")
    candidates, errors = validate(read_source(middle)[1], directory, SERVICES)
    assert (errors, [c.name for c in candidates]) == ([], ["J"])
    held = tmp_path / "held.csv"
    held.write_text("name,,service,partners\nJ,x,legal,Rother; Hastings\n")
    with pytest.raises(ImportRejected, match="a column has no name"):
        read_source(held)


def test_a_partners_kind_must_be_its_roles(tmp_path: Path, directory: Directory) -> None:
    """partner_kinds (what an export says each name was read as) is one per partner, a body's
    kind for a partner and an external member's kind for an external one."""
    path = tmp_path / "kinds.csv"
    path.write_text(
        "name,service,partners,partner_roles,partner_kinds\n"
        "J,legal,Rother; Hastings; BT,partner; partner; external,council; council; other\n"
        "K,legal,Rother; Hastings,external; partner,council; council\n"
        "L,legal,Rother; Hastings,partner; partner,council; nhs_trust\n"
        "M,legal,Rother; Hastings,partner; partner,council; spaceship\n"
    )
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert [c.name for c in candidates] == ["J"]
    said = [(e.row, e.column, e.message) for e in errors]
    assert (3, "partner_kinds", "'council' for a partner with role 'external': expected an "
            "external member's kind") in said  # fmt: skip
    assert (4, "partner_kinds", "'nhs_trust' for a partner with role 'partner': expected a "
            "body's kind") in said  # fmt: skip
    (unknown,) = [e for e in errors if e.row == 5]
    assert (unknown.column, unknown.value) == ("partner_kinds", "spaceship")
    assert unknown.message.startswith("expected council, fire, ") and unknown.message.endswith(
        "other or nothing"
    )


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        read_source(tmp_path / "nope.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(KNOWN_HEADER.encode() + "Caf\xe9,A; B".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_source(latin)


def test_json_layout_and_its_errors(tmp_path: Path, directory: Directory) -> None:
    item = {"name": "J", "service": "legal", "start_year": 2014, "savings_gbp": 1000.0}
    item |= {"savings_basis": "annual", "partners": ["Rother", "Hastings"], "simulated": False}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"arrangements": [item, item | {"service": "nope"}]}))
    layout, rows = read_source(path)
    candidates, errors = validate(rows, directory, SERVICES)
    assert layout == "json" and len(candidates) == 1
    assert [(e.row, e.column) for e in errors] == [(2, "service")]
    path.write_text("{not json")
    with pytest.raises(ImportRejected, match="not JSON"):
        read_source(path)


def test_json_numbers_are_checked_as_given(tmp_path: Path, directory: Directory) -> None:
    """A JSON number was written to two places before it was checked: 2015.996 became a
    year (2016), 2015.5 was reported as '2015.50', and a NaN figure as a missing one."""
    item = {"name": "J", "service": "legal", "partners": ["Rother", "Hastings"]}
    items = [
        item | {"start_year": 2015.996},
        item | {"start_year": 2015.5},
        item | {"savings_gbp": float("nan"), "savings_basis": "annual"},
        item | {"start_year": 2015.0, "savings_gbp": 1234.5, "savings_basis": "annual"},
    ]
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"arrangements": items}))  # NaN as Python's json writes it
    candidates, errors = validate(read_source(path)[1], directory, SERVICES)
    assert [(e.row, e.column, e.value, e.message) for e in errors] == [
        (1, "start_year", "2015.996", "expected a whole number (year)"),
        (2, "start_year", "2015.5", "expected a whole number (year)"),
        (3, "savings_gbp", "nan", "not a figure: expected a figure of 0 or more pounds, at "
         "most £1,000,000,000"),
    ]  # fmt: skip
    ((good,),) = [candidates]
    assert (good.start_year, good.savings_gbp) == (2015, 1234.5)


def test_format_value_is_stable() -> None:
    assert [format_value(v) for v in (None, float("nan"), True, 3.0, 2.5, 1 / 3, "a")] == [
        "",
        "",
        "true",
        "3",
        "2.50",
        "0.33",
        "a",
    ]
    assert csv_text([{"a": 1, "b": None}], ["a", "b"]) == "a,b\n1,\n"


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.csv"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]


def test_a_failed_write_of_several_files_leaves_all_the_old_ones(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("old")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OSError):
        atomic_write_all({first: "new", blocker / "b.csv": "new"})
    assert first.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "not-a-folder"]


def test_partner_tokens_write_former_councils_once_by_name() -> None:
    members = [
        {"body_code": "E06000061", "name_as_given": "Northamptonshire", "role": "partner",
         "resolution": "former: Northamptonshire → North Northamptonshire"},
        {"body_code": "E06000062", "name_as_given": "Northamptonshire", "role": "partner",
         "resolution": "former: Northamptonshire → West Northamptonshire"},
        {"body_code": "E07000064", "name_as_given": "Rother DC", "role": "lead",
         "resolution": "alias"},
        {"body_code": None, "name_as_given": "BT", "role": "external", "resolution": "external"},
    ]  # fmt: skip
    kinds = {"E06000061": "council", "E06000062": "council", "E07000064": "council"}
    assert partner_tokens(members, kinds) == {
        "partners": ["Northamptonshire", "E07000064", "BT"],
        "partner_roles": ["partner", "lead", "external"],
        "partner_names": ["Northamptonshire", "Rother DC", "BT"],
        "partner_kinds": ["council", "council", ""],
    }


def test_partner_names_are_kept_with_codes(tmp_path: Path, directory: Directory) -> None:
    path = tmp_path / "p.csv"
    header, row = (FIXTURES / "project_small.csv").read_text().splitlines()[:2]
    path.write_text(f"{header},partner_names\n{row},Rother District Council; Hastings\n")
    ((c,), errors) = validate(read_source(path)[1], directory, SERVICES)
    assert errors == []
    assert [m.name_as_given for m in c.members] == ["Rother District Council", "Hastings"]
    path.write_text(f"{header},partner_names\n{row},Rother District Council\n")
    _, errors = validate(read_source(path)[1], directory, SERVICES)
    assert [(e.column, e.message) for e in errors] == [
        ("partner_names", "1 name(s) for 2 partner(s)")
    ]


def test_geojson_is_a_feature_collection_of_multipoints() -> None:
    record = {"id": "R-1", "service": "legal", "members": [
        {"body_code": "E1", "name": "One"}, {"body_code": "E2", "name": "Two"},
        {"body_code": None, "name": "BT"},
    ]}  # fmt: skip
    collection = json.loads(geojson_text([record], {"E1": (0.1234567, 51.0), "E2": (1.0, 52.0)}))
    (feature,) = collection["features"]
    assert collection["type"] == "FeatureCollection"
    assert feature["geometry"] == {
        "type": "MultiPoint",
        "coordinates": [[0.123457, 51.0], [1.0, 52.0]],
    }
    assert feature["properties"]["partner_names"] == ["One", "Two", "BT"]


def test_two_names_for_one_body_today_are_kept_apart_with_a_warning(
    tmp_path: Path, directory: Directory
) -> None:
    row = "X,Devon Fire; Somerset Fire,fire; fire,other,2007,,unknown,,https://a.example/,\n"
    (c,), errors = check(tmp_path, directory, row)
    assert errors == []
    assert [m.body_code for m in c.members] == ["E31000010", "E31000010"]
    assert c.identities == ("E31000010/devon fire", "E31000010/somerset fire")
    assert c.warnings == (
        "'Devon Fire' and 'Somerset Fire' are one body today, "
        "Devon and Somerset Fire and Rescue (E31000010): kept apart",
    )


@pytest.mark.parametrize(
    "partners", ["Rother; rother", "Rother; E07000064", "Chiltern; Chiltern", "BT; bt; Rother"]
)
def test_the_same_partner_twice_is_reported(
    tmp_path: Path, directory: Directory, partners: str
) -> None:
    types = "; ".join(
        "other" if p.strip().lower() == "bt" else "council" for p in partners.split(";")
    )
    _, errors = check(tmp_path, directory, f"X,{partners},{types},legal,2012,,unknown,,,\n")
    assert any(e.message == "this partner is listed twice" for e in errors)


@pytest.mark.parametrize(
    ("figure", "read"),
    [("£ 1,200,000", 1_200_000.0), ("(5,000)", None), ("£500,000 pa", None), ("£1.2m", None)],
)  # fmt: skip
def test_a_figure_with_words_or_brackets_is_said_to_be_no_number(
    tmp_path: Path, directory: Directory, figure: str, read: float | None
) -> None:
    """ "£ 1,200,000" was refused, and "(5,000)" and "£500,000 pa" were told that "a comma may
    only separate thousands", which is not what is wrong with them."""
    row = f'X,Rother; Wealden,council; council,legal,2012,"{figure}",annual,,,\n'
    candidates, errors = check(tmp_path, directory, row)
    if read is None:
        [error] = errors
        assert error.message == "expected a number of pounds, e.g. 250000"
    else:
        assert not errors and candidates[0].savings_gbp == read
