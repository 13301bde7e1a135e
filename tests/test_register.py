"""The register: annualisation, identity, transactional import, queries (a real SQLite file)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from recommender.core.config import Settings
from recommender.core.errors import (
    DataError,
    ImportRejected,
    InvalidInput,
    UnknownArrangement,
    UnknownBody,
)
from recommender.database import db
from recommender.reference import lookup as reference
from recommender.register.files import Directory
from recommender.register.records import (
    Filters,
    annualisation_note,
    annualise,
    arrangement_id,
    count,
    ensure_database,
    fingerprint,
    get_arrangement,
    import_file,
    load_register,
    query,
    reset,
    years_said,
)
from register_fixtures import FIXTURES


def counts(settings: Settings) -> dict[str, int]:
    with db.connect(settings) as engine, engine.connect() as conn:
        return {t.name: db.count(conn, t) for t in (db.arrangements, db.members, db.imports)}


# Annualisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figure", "basis", "period", "start", "expected"),
    [
        (120_000, "annual", None, 2010, 120_000),
        (0, "annual", None, None, 0),
        (1_000_000, "cumulative", 5, 2010, 200_000),
        (1_000_000, "to_date", None, 2013, 1_000_000 / 6),
        (1_000_000, "to_date", None, 2019, 1_000_000),  # at least one year
        (1_000_000, "to_date", None, 2023, 1_000_000),
        (1_000_000, "to_date", None, None, 200_000),  # start unknown: over 5 years
        (12_000_000, "projected", 10, 2016, 1_200_000),
        (325_000, "projected", None, 2011, 325_000),  # an annual target
        (5_000, "unknown", None, 2011, None),
        (None, "unknown", None, 2011, None),
    ],
)
def test_annualise_each_basis(
    figure: float | None, basis: str, period: int | None, start: int | None, expected: float | None
) -> None:
    assert annualise(figure, basis, period, start) == pytest.approx(expected)


def test_annualise_refuses_what_it_cannot_do() -> None:
    with pytest.raises(InvalidInput, match="period"):
        annualise(100, "cumulative", None, 2010)
    with pytest.raises(InvalidInput, match="basis"):
        annualise(100, "weekly", None, 2010)


def test_annualisation_note_says_the_period_it_assumes() -> None:
    assert annualisation_note("to_date", None, None) == (
        "to date, start year not given: spread over 5 years"
    )
    assert annualisation_note("to_date", None, 2013) == (
        "to date, divided by 6 years from 2013 to 2019: the source's date is not kept, and 2019 "
        "is when the LGA last counted"
    )
    assert annualisation_note("to_date", None, 2018) == (
        "to date, divided by 1 year from 2018 to 2019: the source's date is not kept, and 2019 is "
        "when the LGA last counted"
    )
    # A start after 2019: read as a year from it (as the figure is), not "from 2021 to 2019".
    assert annualisation_note("to_date", None, 2021) == "to date, read as a year from 2021"
    assert annualisation_note("cumulative", 1, 2013) == "cumulative over 1 year, divided by 1"
    assert annualisation_note("unknown", None, 2013) == "no annual estimate is made from it"
    assert annualisation_note("projected", None, 2013) == (
        "projected, no period recorded with it: read as a year"
    )
    assert annualisation_note("projected", 10, 2013) == "projected over 10 years, divided by 10"


@pytest.mark.parametrize(
    ("record", "said", "short"),
    [
        ({"start_year": 2012, "end_year": 2021, "status": "ended"}, "from 2012 to 2021",
         "2012–2021"),
        ({"start_year": 2012, "end_year": None, "status": "ended"}, "from 2012, since ended",
         "2012–ended"),
        ({"start_year": None, "end_year": None, "status": "ended"}, "ended", "ended"),
        ({"start_year": None, "end_year": 2014, "status": "ended"}, "ended 2014", "ended 2014"),
        ({"start_year": 2015, "end_year": None, "status": "active"}, "from 2015", "2015–"),
        ({"start_year": 2015, "end_year": None, "status": "unknown"}, "from 2015", "2015–"),
        ({"start_year": None, "end_year": None, "status": "unknown"}, "", ""),
        # an arrangement cited as evidence carries no status: ``ended`` says it
        ({"start_year": 2009, "end_year": None, "ended": True}, "from 2009, since ended",
         "2009–ended"),
        ({"start_year": pd.NA, "end_year": pd.NA, "status": "ended"}, "ended", "ended"),
        # what the documented arrangements' names say: only proposed, or split in a year
        ({"name": "Adoption agency (proposal)", "start_year": 2015, "end_year": None,
          "status": "unknown"}, "proposed in 2015", "proposed 2015"),
        ({"name": "Shared legal talks (proposal)", "start_year": None, "end_year": None,
          "status": "unknown"}, "proposed", "proposed"),
        ({"name": "Wessex Youth Offending Team (joint YOT, split 2012)", "start_year": 2000,
          "end_year": None, "status": "unknown"}, "from 2000 to 2012", "2000–2012"),
    ],
)  # fmt: skip
def test_the_years_an_arrangement_ran_say_when_it_has_ended(
    record: dict[str, Any], said: str, short: str
) -> None:
    """An arrangement the register says has ended, with or without its year, read as running
    wherever only its start year was shown (the explorer, a body's page, the briefing, the
    evidence beside suggestions, `bodies show`, `register list`)."""
    assert years_said(record) == said
    assert years_said(record, short=True) == short


def test_fingerprint_ignores_partner_order_but_not_service_year_or_origin() -> None:
    base = fingerprint("legal", ["E1", "E2"], 2012, False)
    assert base == fingerprint("legal", ["E2", "E1"], 2012, False)
    others = [
        fingerprint("ict", ["E1", "E2"], 2012, False),
        fingerprint("legal", ["E1", "E3"], 2012, False),
        fingerprint("legal", ["E1", "E2"], 2013, False),
        fingerprint("legal", ["E1", "E2"], 2012, True),
    ]
    assert base not in others and len(set(others)) == 4
    assert arrangement_id(base, False) == "R-" + base[:8]
    assert arrangement_id(base, True).startswith("S-")


# Import ----------------------------------------------------------------------------------------


def test_import_adds_arrangements_and_keeps_the_default(
    register_settings: Settings, directory: Directory
) -> None:
    report = import_file(
        FIXTURES / "known_small.csv", settings=register_settings, directory=directory
    )
    assert (report.layout, report.rows, report.added, report.duplicates) == ("known", 7, 7, 0)
    assert all(i.startswith("R-") and len(i) == 10 for i in report.ids)
    assert counts(register_settings)["arrangements"] == 1 + 7  # the default register is loaded
    arrangements, members = load_register(register_settings)
    assert arrangements["simulated"].sum() == 1
    hub = arrangements.set_index("name").loc["East Sussex Procurement Hub"]
    assert hub["annual_savings_gbp"] == pytest.approx(1_600_000)
    assert pd.isna(hub["start_year"])
    assert set(members.columns) == {c.name for c in db.members.columns}


def test_reimporting_the_same_file_adds_nothing(
    register_settings: Settings, directory: Directory
) -> None:
    path = FIXTURES / "known_small.csv"
    import_file(path, settings=register_settings, directory=directory)
    again = import_file(path, settings=register_settings, directory=directory)
    assert (again.added, again.duplicates) == (0, 7)
    assert "7 duplicate(s) skipped" in again.summary()
    assert counts(register_settings)["arrangements"] == 8
    assert counts(register_settings)["imports"] == 3  # default, first, second


def test_duplicates_inside_one_file_are_reported_and_skipped(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    lines = (FIXTURES / "known_small.csv").read_text().splitlines()
    # The same arrangement written another way: other order, other spelling.
    lines.append(
        "Hub again,Wealden; Rother; Lewes; Eastbourne; Hastings Borough Council,"
        "council; council; council; council; council,procurement,,8000000,cumulative,5,,"
    )
    path = tmp_path / "twice.csv"
    path.write_text("\n".join(lines) + "\n")
    report = import_file(path, settings=register_settings, directory=directory)
    assert report.in_file_duplicates == [(9, 2)]
    assert report.added == 7
    assert "row 9 repeats row 2" in report.summary()
    # The count said "0 duplicate(s) skipped" of 8 rows, 7 added: the rows now add up.
    said = "8 row(s), added 7 arrangement(s), 1 duplicate(s) skipped (0 already in the register"
    assert said + ", 1 repeated in the file)" in report.summary()
    # Its other name and figure were dropped without a word: now said, and which row is kept.
    said = "row 9 repeats row 2 of the same file, but its name, source and note differ: row 2's"
    assert said + " are kept" in report.summary()


def test_a_reimport_names_the_arrangements_already_stored(
    register_settings: Settings, directory: Directory
) -> None:
    """ "7 duplicate(s) skipped" said nothing of which: each now names what it duplicates."""
    path = FIXTURES / "known_small.csv"
    first = import_file(path, settings=register_settings, directory=directory)
    again = import_file(path, settings=register_settings, directory=directory, dry_run=True)
    assert [ident for _, ident, _ in again.already] == first.ids
    assert (2, first.ids[0], "East Sussex Procurement Hub") == again.already[0]
    assert f"row 2 is already in the register as {first.ids[0]} (East Sussex Procurement Hub)" in (
        again.summary()
    )


def test_a_reimport_that_changes_a_stored_arrangement_says_how_to_correct_it(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """A corrected file (same partners, service and year; another name and figure) was only
    "already in the register … skipped", as if nothing differed."""
    path = FIXTURES / "known_small.csv"
    first = import_file(path, settings=register_settings, directory=directory)
    same = import_file(path, settings=register_settings, directory=directory, dry_run=True)
    assert same.differ == [] and "differ" not in same.summary()
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("East Sussex Procurement Hub", "ESPH").replace("8000000", "9000000")
    corrected = tmp_path / "corrected.csv"
    corrected.write_text("\n".join(lines) + "\n")
    again = import_file(corrected, settings=register_settings, directory=directory)
    assert again.added == 0
    assert again.differ == [(2, first.ids[0], ["name", "savings_gbp"])]
    assert (
        f"as {first.ids[0]} (East Sussex Procurement Hub): skipped; its name and savings_gbp "
        f"differ from the file's: to correct it, `recommender register remove {first.ids[0]} "
        "--yes`, then import again"
    ) in again.summary()
    lines[1] = lines[1].replace("9000000", "8000000")  # the name alone: "its name differs"
    corrected.write_text("\n".join(lines) + "\n")
    named = import_file(corrected, settings=register_settings, directory=directory)
    assert "skipped; its name differs from the file's: to correct it" in named.summary()
    # A file without the note column said the stored note "differs", and that removing the
    # arrangement and importing again would correct it: it would have lost the note.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["note"])
    bare = tmp_path / "no_note.csv"
    frame.iloc[:1].to_csv(bare, index=False)
    quiet = import_file(bare, settings=register_settings, directory=directory, dry_run=True)
    assert quiet.differ == [] and "differ" not in quiet.summary()


def test_an_id_another_arrangement_has_is_said_to_be_replaced(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """A file's id that another arrangement already had (stored, or earlier in the file) was
    replaced by a new one without a word: the analyst looked for the arrangement by its id."""
    first = import_file(FIXTURES / "known_small.csv", settings=register_settings,
                        directory=directory)  # fmt: skip
    path = tmp_path / "ids.csv"
    path.write_text(
        "id,name,service,partners\n"
        f"{first.ids[0]},Collides,procurement,Hastings;Rother\n"
        "X-1,First,legal,Hastings;Rother\n"
        "X-1,Second,customer_services,Hastings;Rother\n"
    )
    report = import_file(path, settings=register_settings, directory=directory)
    assert report.added == 3 and report.ids[1] == "X-1"
    stored = dict(zip(["Collides", "First", "Second"], report.ids, strict=True))
    assert stored["Collides"] != first.ids[0] and stored["Second"] != "X-1"
    assert [w for w in report.warnings if " id " in w] == [
        f"row 2: id {first.ids[0]!r} is already another arrangement's (in the register or "
        f"earlier in the file): stored as {stored['Collides']}",
        "row 4: id 'X-1' is already another arrangement's (in the register or earlier in the "
        f"file): stored as {stored['Second']}",
    ]


def test_a_large_reimport_names_a_few_duplicates_and_counts_the_rest() -> None:
    from recommender.register.records import SHOWN_DUPLICATES, ImportReport

    named = [(r, f"R-{r:08d}", f"Arrangement {r}") for r in range(2, 2 + SHOWN_DUPLICATES)]
    report = ImportReport("big.csv", "project", 100_000, duplicates=100_000, already=named)
    lines = report.summary().splitlines()
    assert len(lines) == 1 + SHOWN_DUPLICATES + 1
    assert lines[-1] == f"  and {100_000 - SHOWN_DUPLICATES:,} more already in the register"


def test_a_partner_type_that_is_not_the_bodys_is_said(tmp_path: Path) -> None:
    """A council listed as a fire authority was imported as the council without a word (the
    real reference: a name of another kind resolves to the body that has it)."""
    settings = Settings.from_env().with_(database_url=f"sqlite:///{tmp_path / 'k.sqlite'}")
    path = tmp_path / "kinds.csv"
    lines = (FIXTURES / "known_small.csv").read_text().splitlines()[:1]
    lines.append("Legal,Adur; Worthing,council; fire,legal,2015,,,,https://example.org/l,")
    path.write_text("\n".join(lines) + "\n")
    report = import_file(path, settings=settings, dry_run=True)
    assert report.added == 1
    assert report.warnings == [
        "row 2: 'Worthing' is listed as fire, but names Worthing (E07000229), a council body: "
        "imported as that"
    ]


def test_one_bad_row_rejects_the_whole_file(
    register_settings: Settings, directory: Directory
) -> None:
    with pytest.raises(ImportRejected) as caught:
        import_file(FIXTURES / "known_one_bad.csv", settings=register_settings, directory=directory)
    (error,) = caught.value.errors
    assert (error.row, error.column, error.value) == (4, "service_category", "procurment")
    assert "known_one_bad.csv" in str(caught.value) and "nothing was imported" in str(caught.value)
    assert not (register_settings.instance_dir / "register.sqlite").exists()


REFUSE_WAVENEY = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON members WHEN NEW.name_as_given = 'Waveney' "
        "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.name_as_given = 'Waveney' THEN RAISE EXCEPTION 'refused by test trigger' "
        "USING ERRCODE = 'integrity_constraint_violation'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def test_a_database_error_half_way_rolls_everything_back(
    register_settings: Settings, directory: Directory
) -> None:
    ensure_database(register_settings)
    before = counts(register_settings)
    with db.connect(register_settings) as engine, engine.begin() as conn:
        # A real failure inside the database, after the arrangements are written.
        for statement in REFUSE_WAVENEY[conn.dialect.name]:
            conn.exec_driver_sql(statement)
    with pytest.raises(sa.exc.IntegrityError, match="refused by test trigger"):
        import_file(FIXTURES / "known_small.csv", settings=register_settings, directory=directory)
    assert counts(register_settings) == before


def test_dry_run_writes_nothing(register_settings: Settings, directory: Directory) -> None:
    ensure_database(register_settings)
    before = counts(register_settings)
    report = import_file(
        FIXTURES / "known_small.csv", dry_run=True, settings=register_settings, directory=directory
    )
    assert (report.added, report.dry_run) == (7, True)
    assert "would add 7" in report.summary()
    assert counts(register_settings) == before


def test_to_date_without_start_year_is_flagged(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    path = tmp_path / "k.csv"
    header = (FIXTURES / "known_small.csv").read_text().splitlines()[0]
    path.write_text(
        header + "\nA,Rother; Lewes,council; council,legal,,50000,to_date,,https://a.example/,\n"
    )
    report = import_file(path, settings=register_settings, directory=directory)
    assert report.warnings == ["row 2: to date, start year not given: spread over 5 years"]
    assert get_arrangement(report.ids[0], settings=register_settings, directory=directory)[
        "annual_savings_gbp"
    ] == pytest.approx(10_000)


def test_a_real_arrangement_without_a_source_is_said_to_have_none(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """It imported silently, and the body's page then said "each with its public source"."""
    path = tmp_path / "k.csv"
    header = (FIXTURES / "known_small.csv").read_text().splitlines()[0]
    path.write_text(header + "\nUnsourced legal,Rother; Lewes,council; council,legal,2018,,,,,\n")
    report = import_file(path, settings=register_settings, directory=directory)
    assert report.added == 1 and report.warnings == [
        "row 2: no source: a real arrangement should name its public source (a web address or "
        "a document reference); pages will say none was recorded"
    ]


# The default register and the database ---------------------------------------------------------


def test_ensure_database_loads_the_default_once(register_settings: Settings) -> None:
    assert ensure_database(register_settings) == 1
    assert ensure_database(register_settings) == 0
    assert counts(register_settings) == {"arrangements": 1, "members": 2, "imports": 1}


def test_a_newer_default_replaces_the_old_one_and_keeps_imports(
    register_settings: Settings, directory: Directory
) -> None:
    report = import_file(
        FIXTURES / "known_small.csv", settings=register_settings, directory=directory
    )
    assert counts(register_settings)["arrangements"] == 1 + report.added
    # A newer checkout ships a different default register (here: the same arrangement renamed).
    path = register_settings.register_dir / "arrangements.csv"
    path.write_text(
        path.read_text().replace("Rother and Wealden: shared legal services", "Renamed")
    )
    assert ensure_database(register_settings) == 1
    assert ensure_database(register_settings) == 0
    assert counts(register_settings)["arrangements"] == 1 + report.added
    renamed = get_arrangement("S-0001", settings=register_settings, directory=directory)
    assert renamed["name"] == "Renamed"
    for ident in report.ids:  # the analyst's own arrangements are still there
        assert get_arrangement(ident, settings=register_settings, directory=directory)


def test_ensure_database_names_a_missing_default(register_settings: Settings) -> None:
    (register_settings.register_dir / "members.csv").unlink()
    with pytest.raises(DataError, match="build-default"):
        ensure_database(register_settings)


def test_a_malformed_default_names_the_cell(register_settings: Settings) -> None:
    path = register_settings.register_dir / "arrangements.csv"
    path.write_text(path.read_text().replace(",2012,", ",twenty,"))
    with pytest.raises(DataError, match=r"row 2, column 'start_year', value 'twenty'"):
        ensure_database(register_settings)


def test_reset_reloads_the_default(register_settings: Settings, directory: Directory) -> None:
    import_file(FIXTURES / "known_small.csv", settings=register_settings, directory=directory)
    assert reset(register_settings) == 1
    assert counts(register_settings) == {"arrangements": 1, "members": 2, "imports": 1}


# Queries ---------------------------------------------------------------------------------------


@pytest.fixture
def loaded(register_settings: Settings, directory: Directory) -> Settings:
    import_file(FIXTURES / "known_small.csv", settings=register_settings, directory=directory)
    return register_settings


@pytest.mark.parametrize(
    ("filters", "names"),
    [
        # Listings show the observed register unless the simulated one is asked for by name.
        (Filters(service="legal"), []),
        (Filters(service="legal", origin="all"), ["Rother and Wealden: shared legal services"]),
        (Filters(body="Taunton Deane"), ["Devon and Somerset trading standards"]),
        (Filters(body="E07000245"), [
            "Forest Heath and St Edmundsbury benefits", "Suffolk customer services with BT"]),
        (Filters(region="East Midlands"), ["Highways alliance"]),
        (Filters(region="e12000009"), ["Devon and Somerset trading standards"]),
        (Filters(origin="simulated"), ["Rother and Wealden: shared legal services"]),
        (Filters(body="Rother", origin="simulated"), ["Rother and Wealden: shared legal services"]),
        (Filters(body="Rother"), ["East Sussex Procurement Hub"]),
    ],
)  # fmt: skip
def test_query_filters(
    loaded: Settings, directory: Directory, filters: Filters, names: list[str]
) -> None:
    found = query(filters, settings=loaded, directory=directory)
    assert sorted(r["name"] for r in found) == sorted(names)


def test_query_limit_and_order(loaded: Settings, directory: Directory) -> None:
    ids = [r["id"] for r in query(Filters(origin="all"), settings=loaded, directory=directory)]
    assert ids == sorted(ids) and len(ids) == 8
    assert len(query(Filters(limit=3), settings=loaded, directory=directory)) == 3


def test_query_rejects_unknown_service_region_and_origin(
    loaded: Settings, directory: Directory
) -> None:
    with pytest.raises(InvalidInput, match="unknown origin 'fake'"):
        query(Filters(origin="fake"), settings=loaded, directory=directory)
    with pytest.raises(InvalidInput) as caught:
        query(Filters(service="legl"), settings=loaded, directory=directory)
    assert caught.value.suggestions[0] == "legal"
    with pytest.raises(InvalidInput) as caught:
        query(Filters(region="South Wst"), settings=loaded, directory=directory)
    assert caught.value.suggestions[0] == "South West"


def test_get_arrangement_shows_members_and_resolution(
    loaded: Settings, directory: Directory
) -> None:
    (found,) = query(Filters(body="Northamptonshire"), settings=loaded, directory=directory)
    record = get_arrangement(found["id"], settings=loaded, directory=directory)
    assert [(m["body_code"], m["name"], m["role"]) for m in record["members"]] == [
        ("E06000061", "North Northamptonshire", "partner"),
        ("E06000062", "West Northamptonshire", "partner"),
        ("E06000060", "Buckinghamshire", "partner"),
        (None, "Highways Agency", "external"),
    ]
    assert record["members"][2]["resolution"] == "former: Aylesbury Vale → Buckinghamshire"
    assert record["partners"] == ["Northamptonshire", "Aylesbury Vale", "Highways Agency"]
    assert record["annual_savings_gbp"] == pytest.approx(2_420_000 / 12)


def test_unknown_id_names_the_closest(loaded: Settings, directory: Directory) -> None:
    with pytest.raises(UnknownArrangement) as caught:
        get_arrangement("S-0002", settings=loaded, directory=directory)
    assert "S-0001" in caught.value.suggestions


def test_a_settings_database_url_is_used(tmp_path: Path, register_settings: Settings) -> None:
    other = tmp_path / "elsewhere" / "other.sqlite"
    settings = register_settings.with_(database_url=f"sqlite:///{other}")
    ensure_database(settings)
    assert other.is_file()
    shutil.rmtree(other.parent)


@given(
    figure=st.floats(min_value=0, max_value=1e10, allow_nan=False),
    basis=st.sampled_from(["annual", "cumulative", "to_date", "projected"]),
    period=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
    start=st.one_of(st.none(), st.integers(min_value=1900, max_value=2026)),
)
def test_an_annual_estimate_is_never_more_than_the_figure_nor_negative(
    figure: float, basis: str, period: int | None, start: int | None
) -> None:
    if basis == "cumulative" and period is None:
        period = 1
    annual = annualise(figure, basis, period, start)
    assert annual is not None and 0 <= annual <= figure


def test_a_list_of_arrangements_says_each_has_a_source_only_when_each_has() -> None:
    from recommender.register.records import sources_said

    assert sources_said([{"source": "https://a.example"}]) == "with its public source"  # one
    two = [{"source": "https://a.example"}, {"source": "https://b.example"}]
    assert sources_said(two) == "each with its public source"
    said = sources_said([{"source": "https://a.example"}, {"source": ""}, {"source": None}])
    assert said == "1 of them with a public source (none recorded for 2)"


def test_a_body_named_twice_by_the_source_is_one_partner() -> None:
    """Kent Total Place listed "Kent police force area, Kent police force area" (Kent Police
    Authority and Kent Police) and counted 20 partners."""
    from recommender.register.records import bodies_today, listed_partners, partners_named

    def m(code: str | None, name: str, given: str, resolution: str = "exact") -> dict[str, Any]:
        return {"body_code": code, "name": name, "name_as_given": given, "resolution": resolution}

    ndr = "predecessor: West Kent PCT → NHS Kent and Medway Integrated Care Board"
    members = [
        m("E10000016", "Kent", "Kent"),
        m("E23000032", "Kent police force area", "Kent Police Authority", "rule: → Kent"),
        m("E23000032", "Kent police force area", "Kent Police", "alias"),
        m("E54000032", "NHS Kent and Medway ICB", "West Kent PCT", ndr),
        m("E54000032", "NHS Kent and Medway ICB", "Eastern and Coastal Kent PCT", ndr),
        m(None, "Jobcentre Plus", "Jobcentre Plus", "external"),
        m("E06000061", "North Northamptonshire", "Northamptonshire", "former: E10000021"),
        m("E06000062", "West Northamptonshire", "Northamptonshire", "former: E10000021"),
    ]
    labels = [p["label"] for p in listed_partners(members)]
    assert labels == [
        "Kent",
        "Kent police force area",
        "West Kent PCT (now NHS Kent and Medway ICB)",
        "Eastern and Coastal Kent PCT (now NHS Kent and Medway ICB)",
        "Jobcentre Plus",
        "Northamptonshire (now North Northamptonshire and West Northamptonshire)",
    ]
    record = {"members": members}
    assert partners_named(record) == 6 and bodies_today(record) == 6


def test_an_arrangement_said_ended_without_a_year_is_not_running(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """Said ended with no end year, an imported arrangement counted as running for who already
    shares what (the query asked only for no end year), while the rest of the register read it
    as ended: its partners were marked as sharing the service, and the reasons said they
    already work together on it."""
    from recommender.register.records import real_ids, running_partnerships

    path = tmp_path / "ends.csv"
    path.write_text(
        "name,service,start_year,status,end_year,savings_basis,partners,source\n"
        "Gone,legal,2015,ended,,unknown,Rother; Hastings,https://example.org/gone\n"
        "Over,procurement,2012,ended,2020,unknown,Rother; Wealden,https://example.org/over\n"
        "Running,revenues_benefits,2016,unknown,,unknown,Lewes; Wealden,https://example.org/running\n"
    )
    report = import_file(path, settings=register_settings, directory=directory)
    assert report.added == 3, report.summary()
    ids = dict(zip(["Gone", "Over", "Running"], report.ids, strict=True))
    held, ended = real_ids(settings=register_settings)
    assert set(ids.values()) <= held
    assert ended == {ids["Gone"]: None, ids["Over"]: 2020}
    running = running_partnerships(settings=register_settings)
    assert ("revenues_benefits", ["E07000063", "E07000065"]) in running
    assert {service for service, _ in running}.isdisjoint({"legal", "procurement"})


STATUS_ROWS = {  # name, status, end year: what each is said to be, by the rule that reads it
    "Legal, running": ("unknown", "", "running"),
    "Legal, active": ("active", "", "running"),
    "Legal, ended": ("ended", "", "ended"),
    "Legal, over": ("unknown", "2020", "ended"),
    "Legal talks (proposal)": ("unknown", "", "proposed"),
    "Legal talks (PROPOSAL)": ("unknown", "", "proposed"),
    "Legal recorded as proposed": ("proposed", "", "proposed"),
    "Legal proposal talks": ("unknown", "", "running"),  # "proposal", not "(proposal)" at the end
    "Legal team (joint team, split 2012)": ("unknown", "", "ended"),
    "Legal team (Split in 2014)": ("unknown", "", "ended"),
    "Legal team (resplit 2012)": ("unknown", "", "running"),  # not the word "split"
    "Legal team (split 2012) renamed": ("unknown", "", "running"),  # not at the end
}


def test_the_status_filter_keeps_what_the_answers_say_of_each_arrangement(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """A listing filtered by status (running, ended, proposed) keeps exactly the arrangements
    each of whose status the answers read so (:func:`status_said`: its status, its end year, or
    its name saying it is a proposal or split), in the database, on either engine."""
    from recommender.register.records import STATUS_FILTERS, status_said

    path = tmp_path / "statuses.csv"
    path.write_text(
        "name,service,start_year,status,end_year,savings_basis,partners,source\n"
        + "".join(
            f'"{name}",legal,{2000 + i},{status},{end},unknown,Rother; Hastings,'
            f"https://example.org/{i}\n"
            for i, (name, (status, end, _)) in enumerate(STATUS_ROWS.items())
        )
    )
    report = import_file(path, settings=register_settings, directory=directory)
    assert report.added == len(STATUS_ROWS), report.summary()
    every = query(Filters(service="legal"), settings=register_settings, directory=directory)
    running = ("active", "unknown")  # the register's words for one not said to have ended
    read = {r["name"]: status_said(r) for r in every}
    assert {name: "running" if read[name] in running else read[name] for name in STATUS_ROWS} == {
        name: said for name, (_, _, said) in STATUS_ROWS.items()
    }
    for status in STATUS_FILTERS:
        kept = query(
            Filters(service="legal", status=status), settings=register_settings,
            directory=directory,
        )  # fmt: skip
        expected = {name for name, (_, _, said) in STATUS_ROWS.items() if said == status}
        assert {r["name"] for r in kept} == expected, status
        wanted = Filters(service="legal", status=status)
        assert count(wanted, settings=register_settings, directory=directory) == len(expected)
    with pytest.raises(InvalidInput, match="unknown status 'gone'; expected one of running"):
        query(Filters(status="gone"), settings=register_settings, directory=directory)


def test_a_listing_is_in_the_order_asked_and_pages_follow_it(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """By name, newest first or largest saving first (none given: last), each then by id, in
    the database on either engine, so that its pages put together are the whole list."""
    from recommender.register.records import ORDERS

    path = tmp_path / "orders.csv"
    rows = [  # name, start year, annual saving
        ("Bravo legal", "2012", "5000"),
        ("alpha legal", "", "9000"),
        ("Charlie legal", "2019", ""),
        ("Delta legal", "2015", "1000"),
    ]
    path.write_text(
        "name,service,start_year,savings_gbp,savings_basis,partners,source\n"
        + "".join(
            f"{name},legal,{year},{saving},{'annual' if saving else 'unknown'},Rother; "
            f"Hastings,https://example.org/{i}\n"
            for i, (name, year, saving) in enumerate(rows)
        )
    )
    assert import_file(path, settings=register_settings, directory=directory).added == 4

    def names(order: str, **page: int) -> list[str]:
        found = query(
            Filters(service="legal", order=order, **page), settings=register_settings,
            directory=directory,
        )  # fmt: skip
        return [r["name"] for r in found]

    assert names("name") == ["alpha legal", "Bravo legal", "Charlie legal", "Delta legal"]
    assert names("newest") == ["Charlie legal", "Delta legal", "Bravo legal", "alpha legal"]
    assert names("savings") == ["alpha legal", "Bravo legal", "Delta legal", "Charlie legal"]
    by_id = query(Filters(service="legal"), settings=register_settings, directory=directory)
    assert names("id") == [r["name"] for r in sorted(by_id, key=lambda r: r["id"])]
    for order in ORDERS:
        pages = [names(order, limit=3, offset=0), names(order, limit=3, offset=3)]
        assert pages[0] + pages[1] == names(order)
    with pytest.raises(InvalidInput, match="unknown order 'cost'; expected one of id, name"):
        query(Filters(order="cost"), settings=register_settings, directory=directory)


def test_the_savings_by_service_leave_out_a_proposals_figure(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """A proposal's projection is no saving (it never ran): the figures by service leave it
    out, and count it apart."""
    from recommender.register.records import by_service

    path = tmp_path / "proposal.csv"
    path.write_text(
        "name,service,start_year,savings_gbp,savings_basis,partners,source\n"
        "Shared legal,legal,2012,5000,annual,Rother; Hastings,https://example.org/a\n"
        "Shared legal talks (proposal),legal,2015,90000,annual,Rother; Wealden,"
        "https://example.org/b\n"
    )
    assert import_file(path, settings=register_settings, directory=directory).added == 2
    (legal,) = by_service(Filters(service="legal"), settings=register_settings, directory=directory)
    assert (legal["count"], legal["real"]) == (2, 2)
    assert (legal["real_savings"], legal["real_with_figure"]) == (5000, 1)
    assert (legal["savings"], legal["with_figure"], legal["proposed_figures"]) == (5000, 1, 1)


def test_an_import_stores_what_a_name_says_of_the_status(
    register_settings: Settings, directory: Directory, tmp_path: Path
) -> None:
    """A source that gives no status names a proposal "… (proposal)" and a split "… (split
    2014)": the import stores status proposed, and the split's year as its end, so that the
    API's and an export's status say what the pages say. A status or end year given is kept."""
    path = tmp_path / "named.csv"
    path.write_text(
        "name,service,start_year,status,end_year,savings_basis,partners,source\n"
        "Legal talks (proposal),legal,2015,,,unknown,Rother; Hastings,https://example.org/a\n"
        '"Legal team (joint team, split 2014)",legal,2010,,,unknown,Rother; Wealden,'
        "https://example.org/b\n"
        "Buying talks (proposal),procurement,2016,active,,unknown,Rother; Lewes,"
        "https://example.org/c\n"
        '"Buying team (split 2014)",procurement,2010,ended,2013,unknown,Hastings; Lewes,'
        "https://example.org/d\n"
    )
    assert import_file(path, settings=register_settings, directory=directory).added == 4
    stored = {
        r["name"]: (r["status"], r["end_year"])
        for r in query(Filters(), settings=register_settings, directory=directory)
    }
    assert stored["Legal talks (proposal)"] == ("proposed", None)
    assert stored["Legal team (joint team, split 2014)"] == ("ended", 2014)
    assert stored["Buying talks (proposal)"] == ("active", None)  # as the file says
    assert stored["Buying team (split 2014)"] == ("ended", 2013)


@pytest.mark.parametrize(
    ("name", "codes", "alias_type"),
    [("Durham City Council", ("E06000047",), "former"),  # the City of Durham Council of 2009
     ("Durham County Council", ("E06000047",), "official"),
     ("Newcastle-under-Lyme Borough Council", ("E07000195",), "official"),
     ("Newcastle City Council", ("E08000021",), "official"),
     ("Lichfield District Council", ("E07000194",), "official"),
     ("Southend-on-Sea City Council", ("E06000033",), "official"),  # a city since 2022
     ("Milton Keynes City Council", ("E06000042",), "official"),  # its names give no type
     ("Wigan Borough Council", ("E08000010",), "official"),
     # a type its tier gives: every district is one, a metropolitan district a borough too
     ("Maidstone District Council", ("E07000110",), "official"),
     ("South Tyneside Metropolitan Borough Council", ("E08000023",), "official"),
     ("Chelmsford Borough Council", ("E07000070",), "official"),  # its name until 2012
     ("City of Nottingham Fire and Rescue Service", ("E31000030",), "variant")],  # no council's
)  # fmt: skip
def test_a_council_is_read_by_the_type_its_name_gives(
    name: str, codes: tuple[str, ...], alias_type: str
) -> None:
    found = reference.resolve(name, settings=Settings.from_env())
    assert (found.codes, found.alias_type) == (codes, alias_type)


@pytest.mark.parametrize(
    ("name", "says", "suggested"),
    [("Newcastle Borough Council", "Newcastle upon Tyne (Newcastle City Council) is none",
      "Newcastle-under-Lyme (E07000195)"),
     ("Lichfield City Council", "Lichfield (Lichfield District Council) is none", None),
     ("Salisbury City Council", "Salisbury District Council (now Wiltshire) is none", None),
     ("Hereford City Council", "a city council, and Herefordshire", None),
     ("Adur and Worthing Councils", "for 2 partners, write each apart with ';' between: "
      "Adur; Worthing", "Worthing (E07000229)"),
     # a council's type names a council, never its area's fire or police body
     ("Kent Borough", "a borough council, and Kent (Kent County Council) is none", None),
     ("Borough of Essex", "a borough council, and Essex (Essex County Council) is none", None),
     ("Wycombe County Council", "Wycombe District Council (now Buckinghamshire) is none", None)],
)  # fmt: skip
def test_a_council_name_of_another_type_or_two_councils_is_refused(
    name: str, says: str, suggested: str | None
) -> None:
    """ "Newcastle Borough Council" (Newcastle-under-Lyme) was read as Newcastle upon Tyne, the
    parish councils "Lichfield City Council" and "Salisbury City Council" as the district and
    the district of 2009, "Hereford City Council" as the fire authority, and "Adur and
    Worthing" as Worthing alone (a name mySociety gives Worthing), Adur dropped, all silently."""
    with pytest.raises(UnknownBody) as caught:
        reference.resolve(name, settings=Settings.from_env())
    assert says in caught.value.detail
    if suggested:
        assert suggested in caught.value.suggestions


def test_a_council_gone_and_its_successor_of_one_name_are_two_partners(tmp_path: Path) -> None:
    """ "Durham City Council; Sedgefield; Durham County Council" (2007) was refused: the City of
    Durham Council read as Durham County Council, "this partner is listed twice"."""
    settings = Settings.from_env().with_(database_url=f"sqlite:///{tmp_path / 'd.sqlite'}")
    path = tmp_path / "durham.csv"
    lines = (FIXTURES / "known_small.csv").read_text().splitlines()[:1]
    lines.append("Durham legal,Durham City Council; Sedgefield; Durham County Council,"
                 "council; council; council,legal,2007,,,,https://example.org/d,")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    report = import_file(path, settings=settings, dry_run=True)
    assert report.added == 1
    gone = [w.split("'")[1] for w in report.warnings if "since abolished" in w]
    assert gone == ["Durham City Council", "Sedgefield"]  # Durham County Council is itself


def test_an_import_says_why_a_council_name_is_refused(tmp_path: Path) -> None:
    """An import said only "no public body has this name" of "Adur and Worthing Councils"
    (closest: Northumbria police force area …) and of the parish "Lichfield City Council",
    the reference's reasons dropped."""
    settings = Settings.from_env().with_(database_url=f"sqlite:///{tmp_path / 'n.sqlite'}")
    path = tmp_path / "names.csv"
    lines = (FIXTURES / "known_small.csv").read_text().splitlines()[:1]
    lines += [f"X{i},{partners},council; council,legal,2012,,,,https://example.org/x,"
              for i, partners in enumerate(["Adur and Worthing Councils; Horsham",
                                            "Lichfield City Council; Tamworth"])]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(path, settings=settings, dry_run=True)
    adur, lichfield = caught.value.errors
    assert "for 2 partners, write each apart with ';' between: Adur; Worthing" in adur.message
    assert adur.suggestions == ("Adur (E07000223)", "Worthing (E07000229)")
    assert "keep it as an external member" in lichfield.message
    assert "Lichfield (E07000194)" not in lichfield.suggestions  # not the body it is not
