"""The register on the real reference data and the committed default register (``data/``).

Skipped when ``data/reference/`` or the shared sources are missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.services import service_ids
from recommender.register import records
from recommender.register.files import Directory
from recommender.register.records import (
    Filters,
    annualise,
    default_directory,
    export,
    get_arrangement,
    import_file,
    load_register,
    query,
    savings_reading,
)
from recommender.render import charts
from recommender.simulation.default_register import build_default

SETTINGS = Settings()
KNOWN = SETTINGS.sources / "register" / "known_arrangements.csv"
pytestmark = pytest.mark.skipif(
    not (SETTINGS.reference_dir / "bodies.csv").is_file() or not KNOWN.is_file(),
    reason="needs data/reference/ and ../shared/data/register/",
)


@pytest.fixture(scope="module")
def real() -> Directory:
    return default_directory(SETTINGS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The real data, with a database of its own."""
    return SETTINGS.with_(database_url=f"sqlite:///{tmp_path / 'register.sqlite'}")


@pytest.fixture(scope="module")
def committed() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = SETTINGS.register_dir
    return pd.read_csv(folder / "arrangements.csv"), pd.read_csv(folder / "members.csv")


@pytest.mark.parametrize(
    ("name", "codes", "resolution"),
    [
        ("Aylesbury Vale", ["E06000060"], "former: "),
        ("Taunton Deane", ["E06000066"], "former: "),
        ("Waveney", ["E07000244"], "former: "),
        ("Forest Heath", ["E07000245"], "former: "),
        ("Northamptonshire", ["E06000061", "E06000062"], "former: "),
        ("Hull", ["E06000010"], "exact"),  # normalised, it is an official name
    ],
)
def test_names_resolve_to_todays_councils(
    tmp_path: Path,
    settings: Settings,
    real: Directory,
    name: str,
    codes: list[str],
    resolution: str,
) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        "arrangement_name,partners,partner_types,service_category,start_year,savings_gbp,"
        f"savings_basis,savings_period_years,source_url,note\nX,{name}; Rutland,council; council,"
        "legal,2012,,unknown,,,\n"
    )
    report = import_file(path, dry_run=False, settings=settings, directory=real)
    record = get_arrangement(report.ids[0], settings=settings, directory=real)
    mine = [m for m in record["members"] if m["name_as_given"] == name]
    assert [m["body_code"] for m in mine] == codes
    assert all(m["resolution"].startswith(resolution) for m in mine)


@pytest.mark.parametrize(
    ("partners", "start", "resolution"),
    [
        ("Devon; Somerset", "2013", "former: Somerset County Council → Somerset"),
        ("Devon; Somerset", "2024", "exact"),  # Somerset Council, of 2023
        ("Devon; Somerset", "", "exact"),  # no year: the body that has the name now
        ("Ryedale; North Yorkshire", "", "former: North Yorkshire County Council → North"),
        ("Bedfordshire; Buckinghamshire", "", "former: Buckinghamshire County Council → "),
        ("Dorset; Devon", "2015", "former: Dorset County Council → Dorset"),
    ],
)
def test_a_name_a_council_took_over_is_its_predecessors_in_an_older_arrangement(
    tmp_path: Path, settings: Settings, real: Directory, partners: str, start: str,
    resolution: str,
) -> None:  # fmt: skip
    """ "Somerset" in a 2013 arrangement was Somerset County Council, abolished in 2023: read
    as Somerset Council of today, it made the unitary a member in its own right of what the
    county did (and Devon "already works with Somerset" on it). An arrangement is older than
    a body when it began before that year, or has a member gone by then (Ryedale, 2023;
    Bedfordshire County Council, 2009)."""
    path = tmp_path / "one.csv"
    path.write_text(
        "arrangement_name,partners,partner_types,service_category,start_year,savings_gbp,"
        f"savings_basis,savings_period_years,source_url,note\nX,{partners},council; council,"
        f"legal,{start},,unknown,,,\n"
    )
    report = import_file(path, dry_run=False, settings=settings, directory=real)
    record = get_arrangement(report.ids[0], settings=settings, directory=real)
    name = partners.split("; ")[0 if partners.startswith("Dorset") else 1]
    (member,) = [m for m in record["members"] if m["name_as_given"] == name]
    assert member["resolution"].startswith(resolution)
    if resolution.startswith("former"):  # said as the body it was, not "Somerset (now Somerset)"
        assert records.member_label(member).endswith(f"County Council (now {member['name']})")


def test_every_known_arrangement_imports_with_abolished_councils_resolved(
    settings: Settings, real: Directory
) -> None:
    known_rows = len(pd.read_csv(KNOWN))
    report = import_file(KNOWN, settings=settings, directory=real)
    assert report.rows == report.added + report.duplicates == known_rows
    records = query(Filters(origin="real"), settings=settings, directory=real)
    given = {m["name_as_given"]: m for r in records for m in r["members"]}
    for name, code in [
        ("Chiltern", "E06000060"),
        ("South Bucks", "E06000060"),
        ("Wycombe", "E06000060"),
        ("Waveney", "E07000244"),
        ("Suffolk Coastal", "E07000244"),
        ("Forest Heath", "E07000245"),
        ("St Edmundsbury", "E07000245"),
        ("Weymouth and Portland", "E06000059"),
    ]:
        assert given[name]["body_code"] == code, name
        assert given[name]["resolution"].startswith("former: "), name
    assert given["BT"]["body_code"] is None and given["BT"]["role"] == "external"
    # NHS trusts and town councils: external members with their kind, never an error
    trust = given["Oxleas NHS Foundation Trust"]
    assert (trust["body_code"], trust["external_kind"]) == (None, "nhs_trust")
    assert given["Shepton Mallet Town Council"]["external_kind"] == "local_council"
    # merged or renamed fire authorities resolve to their successor; abolished police authorities
    # and NHS commissioners to today's body of their area
    for name, code in [
        ("Wiltshire and Swindon Fire and Rescue Service", "E31000047"),
        ("Cleveland Fire Brigade", "E31000007"),
        ("Kent Police Authority", "E23000032"),
        ("Office of the Police and Crime Commissioner for Cleveland", "E23000013"),
        ("NHS Manchester CCG", "E54000057"),
        ("Eastern and Coastal Kent PCT", "E54000032"),
        ("North of Tyne Combined Authority", "E47000014"),
    ]:
        assert given[name]["body_code"] == code, name


def test_the_committed_default_register_is_consistent(
    committed: tuple[pd.DataFrame, pd.DataFrame], real: Directory
) -> None:
    arrangements, members = committed
    assert list(arrangements["id"]) == sorted(arrangements["id"])
    assert arrangements["id"].is_unique and arrangements["fingerprint"].is_unique
    assert set(arrangements["service"]) <= set(service_ids(SETTINGS))
    assert set(members["arrangement_id"]) == set(arrangements["id"])
    codes = members["body_code"].dropna()
    assert set(codes) <= set(real.names)
    real_rows = arrangements[~arrangements["simulated"]]
    assert len(real_rows) == len(pd.read_csv(KNOWN))
    assert real_rows["source"].str.startswith("http").all()
    assert arrangements.loc[arrangements["simulated"], "id"].str.startswith("S-").all()
    for row in arrangements.itertuples():
        figure = None if pd.isna(row.savings_gbp) else row.savings_gbp
        reading = savings_reading(row.name, figure, row.simulated)
        expected = (
            reading.annual
            if reading is not None
            else annualise(
                figure,
                row.savings_basis,
                None if pd.isna(row.savings_period_years) else int(row.savings_period_years),
                None if pd.isna(row.start_year) else int(row.start_year),
            )
        )
        if expected is None:
            assert pd.isna(row.annual_savings_gbp), row.id
        else:
            assert row.annual_savings_gbp == pytest.approx(expected, abs=0.01), row.id


def test_the_default_register_loads_and_round_trips(
    tmp_path: Path, settings: Settings, real: Directory, committed: tuple[pd.DataFrame, ...]
) -> None:
    arrangements, members = load_register(settings)
    assert len(arrangements) == len(committed[0]) and len(members) == len(committed[1])
    for fmt in ("csv", "json"):
        out = tmp_path / f"all.{fmt}"
        export(fmt, out, filters=Filters(origin="all"), settings=settings, directory=real)
        report = import_file(out, settings=settings, directory=real)
        assert (report.added, report.duplicates) == (0, len(arrangements)), fmt


def test_rebuilding_the_default_register_reproduces_it(tmp_path: Path, real: Directory) -> None:
    data = tmp_path / "data"
    shutil.copytree(SETTINGS.data, data, ignore=shutil.ignore_patterns("register"))
    settings = SETTINGS.with_(data_dir=data)
    build_default(settings, directory=real)
    for name in ("arrangements.csv", "members.csv"):
        rebuilt = (settings.register_dir / name).read_bytes()
        assert rebuilt == (SETTINGS.register_dir / name).read_bytes(), name


def test_each_figure_read_from_its_sources_words_quotes_them_and_reads_them_so() -> None:
    """ "to save £6m by 2020" (from 2015) was shown and trained on as £6m a year, "£16.91m
    projected by 2024" as £17m a year, "£15.5m of losses prevented (not service-cost savings)"
    as £3.9m a year of savings, "£2.42m saved by July 2009" (from 2007) as £202k a year."""
    known = pd.read_csv(KNOWN, dtype=str, keep_default_na=False)
    notes = dict(zip(known["arrangement_name"], known["note"], strict=True))
    figures = dict(zip(known["arrangement_name"], known["savings_gbp"], strict=True))
    readings = records._savings_readings()
    assert len(readings) == 12
    for (name, figure), reading in readings.items():
        assert reading.source_words in notes[name], name  # the source's own words
        assert float(figures[name]) == figure, name
    committed = pd.read_csv(SETTINGS.register_dir / "arrangements.csv").set_index("name")
    annual = committed["annual_savings_gbp"]
    assert annual["Dorset Councils Partnership (tri-council)"] == 1_200_000  # £6m over 5 years
    assert annual["Networked Fire Control Services Partnership (NFCSP)"] == 1_409_167
    assert annual["Midlands Highway Alliance"] == 1_210_000  # over 2 years, not 12
    assert annual["North and North East Lincolnshire joint procurement service"] == 600_000
    assert pd.isna(annual["Hertfordshire Shared Anti-Fraud Service (SAFS)"])  # no saving
    assert pd.isna(annual["Hertfordshire Building Control (council-owned company)"])
    # One member's own figure is said so: not the partnership's (One Legal's £80k, Cheltenham's).
    one_legal = "One Legal shared legal service (Tewkesbury and Cheltenham)"
    assert annual[one_legal] == 80_000
    record = {"name": one_legal, "savings_gbp": 80_000.0, "annual_savings_gbp": 80_000.0,
              "savings_basis": "annual"}  # fmt: skip
    said = charts.savings_said(record)
    assert said == (
        "£80k a year; Cheltenham's own, by 2014: what the partnership saved in all is not given"
    )
    # Ubico's £125k was shown as the company's ("projected, no period recorded with it: read
    # as a year"), where its source gives Cheltenham's own expected saving.
    ubico = "Ubico Ltd (Cheltenham and Cotswold environmental services company)"
    assert annual[ubico] == 125_000
    record = {"name": ubico, "savings_gbp": 125_000.0, "annual_savings_gbp": 125_000.0,
              "savings_basis": "projected"}  # fmt: skip
    assert charts.savings_said(record) == (
        "£125k projected; Cheltenham's own, a year, rising to £225k by 2014: what the "
        "partnership saved in all is not given"
    )
    # An analyst's corrected figure is read by the rule again; a simulated row never is.
    assert savings_reading("Midlands Highway Alliance", 2_500_000) is None
    assert savings_reading("Midlands Highway Alliance", 2_420_000, simulated=True) is None


YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def test_each_end_read_from_its_sources_words_quotes_them() -> None:
    """ "partnership ended c.2021", "county paused sharing in 2021": the known layout has no end
    year, so these were offered to join as running arrangements and said to be shared now. The
    words are the note's own, or another's that says it (Cherwell's "After leaving the South
    Northants partnership" ends its arrangements with South Northamptonshire); a year is the
    words' own, and none is made up where they give none."""
    known = pd.read_csv(KNOWN, dtype=str, keep_default_na=False)
    notes = dict(zip(known["arrangement_name"], known["note"], strict=True))
    readings = records._end_readings()
    assert len(readings) >= 15
    committed = pd.read_csv(SETTINGS.register_dir / "arrangements.csv").set_index("name")
    for name, reading in readings.items():
        assert reading.source_words in notes[reading.words_from or name], name
        assert name in notes, name  # a documented arrangement, by the name it is known by
        start = committed.at[name, "start_year"]
        if reading.year is None and reading.why is None:  # none of the words' years its end
            assert not YEAR.search(reading.source_words), name
        if reading.year is None:  # a term's years are its source's ("from April 2024")
            given = set(YEAR.findall(notes[name])) | (
                {str(int(start))} if pd.notna(start) else set()
            )
            for said in (reading.source_words, reading.why or ""):
                assert set(YEAR.findall(said)) <= given, name
            assert pd.isna(committed.at[name, "end_year"]), name
        else:
            assert str(reading.year) in reading.source_words, name  # the year is the source's
            assert committed.at[name, "end_year"] == reading.year, name
        assert committed.at[name, "status"] == "ended", name
    assert records.end_reading("Breckland and South Holland shared management team", True) is None


# A note that speaks of an end, read as not ending the arrangement, and why (every other such
# note is read as an end in end_readings.csv).
NOT_ENDED = {
    "CenSus Revenues and Benefits partnership": "Horsham and Adur sought to leave; not said to",
    "Barking and Dagenham and Thurrock shared legal service": "retained after the chief "
    "executive's sharing ended",
    "Eastern Shires Purchasing Organisation (ESPO)": "Leicester City, which left, is no member",
    "Maidstone Gateway one-stop shop (Maidstone and Kent County Council)": "withdrawal only "
    "proposed",
    "Tri-borough Libraries and Archives service (One Library Card)": "one member left: "
    "exit_readings.csv",
    "North and West Northamptonshire shared services joint committee (hosted IT)": "to be "
    "disaggregated by 2027",
    "Northumberland and Harrogate and District NHS FT children's public health partnership "
    "(proposal)": "the Northumbria partnership it followed ended",
    "Wessex Youth Offending Team (joint YOT, split 2012)": "its name says it split",
    "Cherwell and Oxfordshire County Council joint chief executive": "it is what followed",
    "Gravesham and Tonbridge and Malling shared chief executive (proposal)": "a post split 50:50",
    "One Legal expansion to Gloucester City": "the monitoring officer kept in-house",
    "Westminster and Kensington and Chelsea merger into LGSS Law (proposal)": "a third "
    "borough to stay in-house",
    # A term that has not passed, or is a supplier's, not the partnership's own; one renewed
    # at each term.
    "Northamptonshire police and fire joint estates strategy": "a ten-year plan from 2020",
    "Essex Procurement Partnership": "a three-year agreement from 2025",
    "Joint Waste Solutions (Surrey joint waste collection contract)": "a ten-year contract from "
    "2017",
    "West London Waste Authority": "its supplier's contract; the authority is statutory",
    "Worcestershire Hub Shared Service (customer contact)": "its supplier's contract",
    "Southwest One (Somerset shared services joint venture with IBM)": "a savings target's "
    "years, not a term",
    "South Thames Gateway (STG) Building Control Partnership": "renewed at each five-year term "
    "since 2007",
    "Cambridgeshire County Council parking enforcement agency for Cambridge City car parks": "an "
    "agency since 2010, renewed at its term",
    "Cheltenham and Tewkesbury building control shared service": "renewed for ten years; when "
    "is not given",
    "Peterborough-delivered regulatory services for Rutland": "extended pending a new agreement",
    "Evolve programme (Durham, Cleveland and North Yorkshire police collaboration)": "extended "
    "to more services",
    "Devon and Somerset joint highways term maintenance contract renewal": "the contracts' "
    "renewal is what they shared",
    "Ealing, Hounslow and Brent joint parking services contract (West London Alliance)": "no "
    "start year: whether its five years have passed is not known",
    "Gloucester City Council relocation into Gloucestershire County Council's Shire Hall": "an "
    "initial licence: a longer stay was meant",
    # Years that are not a term: what was saved over them, when it was set up.
    "Rother and Wealden shared environmental health": "the years its savings were counted over",
    "Beamish Museum Joint Committee": "the years the museum was set up",
    # What happened before something else, not an end.
    "City of Lincoln internal audit service for Boston": "the transfer to the county only proposed",
    "Tees Valley Unlimited (jointly funded economic body)": "what followed the proposal is not "
    "said",
    "South West Audit Partnership expansion to Wiltshire": "it went on as SWAP Ltd",
    "Networked Fire Control Services Partnership (NFCSP)": "before two members merged",
    # A pilot of no stated year or term: it may be what the hub is now.
    "London Counter Fraud Hub pilot": "a pilot of no stated year: what followed is not said",
    # Temporary arrangements that led to lasting ones, or pilots of something else.
    "Liverpool and Wirral Coroner Service": "interim until the coroner areas merged",
    "Gravesham-led shared licensing service for Medway": "an interim manager, then delegation",
    "Kent Total Place pilot (Gateway multi-channel access and single asset management)": "the "
    "Gateways it extended ran on",
    "Adoption East Midlands regional adoption agency": "the pilot came before it",
    "Barking and Dagenham and Havering joint youth offending service": "the pilot came before it",
    "Camden and Islington councils integrated mental health services with Camden and "
    "Islington NHS FT": "a pilot site of an assurance framework",
    "Barking and Dagenham, Havering and Waltham Forest integrated mental health with NELFT": "a "
    "pilot site of an assurance framework",
    "Bexley and Oxleas NHS Foundation Trust section 75 integrated mental health": "a pilot "
    "site of an assurance framework",
    "Hackney and East London NHS Foundation Trust section 75 integrated mental health": "a "
    "pilot site of an assurance framework",
}
ENDING_WORDS = re.compile(
    r"\b(ended|ending|until|terminated|withdr[ae]w\w*|left|leaving|paused|separated|split|"
    r"dissolved|disbanded|ceased|wound up|in-house|disaggregat\w*|exit|temporary|interim|"
    r"trial|pilot\w*|prior to|before|had been|renew\w*|extended|extension|"
    r"(?:\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twenty)-(?:year|month)|"
    r"for (?:\d+|two|three|four|five|six|seven|eight|nine|ten|twenty) (?:years|months)|"
    r"(?:19|20)\d\d ?[-–] ?(?:19|20)?\d\d)\b",  # a span of years: "Joint 2018-2021 … plan"
    re.IGNORECASE,
)


def test_each_member_that_left_is_read_from_its_sources_words() -> None:
    """ "H&F left the arrangement in 2022": the Tri-borough libraries run on for the other two.
    Each exit reading quotes its note, takes its year from the words, and names a member the
    register holds; the arrangement itself is not said to have ended."""
    known = pd.read_csv(KNOWN, dtype=str, keep_default_na=False)
    notes = dict(zip(known["arrangement_name"], known["note"], strict=True))
    committed = pd.read_csv(SETTINGS.register_dir / "arrangements.csv").set_index("name")
    members = pd.read_csv(SETTINGS.register_dir / "members.csv", dtype=str)
    readings = records._exit_readings()
    assert readings
    for name, left in readings.items():
        ident = committed.at[name, "id"]
        held = set(members.loc[members["arrangement_id"] == ident, "body_code"])
        for code, reading in left.items():
            assert reading.source_words in notes[name], name
            assert reading.year is None or str(reading.year) in reading.source_words, name
            assert code in held, (name, code)
        assert len(held - set(left)) >= 2  # it runs on, a partnership, for the others
        assert committed.at[name, "status"] != "ended" and pd.isna(committed.at[name, "end_year"])
        assert name in NOT_ENDED
    assert records.exits_of(next(iter(readings)), simulated=True) == {}


def test_every_note_that_speaks_of_an_end_is_read() -> None:
    """Five arrangements whose notes said they ended ("from 2011 until the 2021 break-up",
    "separated into borough services in autumn 2022", "until the council decided to bring
    monitoring in-house") were still said to be shared now, and so was Knowsley's "temporary
    sharing" with Liverpool from 2010, Melton's "Six-month trial" with Harborough from 2023
    and Newcastle's "one-year agreement from April 2024" with Gateshead. Each note that speaks
    of an end or a term is read as an end (end_readings.csv) or listed above with why it is
    not; a reading of a term, not an end, says why it reads as one."""
    known = pd.read_csv(KNOWN, dtype=str, keep_default_na=False)
    readings = records._end_readings()
    speaking = {
        name
        for name, note in zip(known["arrangement_name"], known["note"], strict=True)
        if ENDING_WORDS.search(note)
    }
    from_other = {r.words_from for r in readings.values() if r.words_from}
    unread = speaking - set(readings) - set(NOT_ENDED) - from_other
    assert not unread, f"notes that speak of an end, read neither way: {sorted(unread)}"
    assert not set(NOT_ENDED) & set(readings)
    assert set(NOT_ENDED) <= speaking, set(NOT_ENDED) - speaking  # none listed for nothing
    term = re.compile(r"\b(temporary|interim|trial|\w+-year|\w+-month|for \w+ years)\b", re.I)
    terms = {name for name, r in readings.items() if term.search(r.source_words)}
    assert {"Melton and Harborough shared waste and regulatory management",
            "Newcastle and Gateshead shared director of public health",
            "Tees Valley councils joint external legal panel"} <= terms  # fmt: skip
    for name in terms:
        assert readings[name].why and readings[name].said().endswith(f": {readings[name].why}.")


def test_a_directory_resolves_each_name_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A register names the same bodies row after row; each name was resolved again (~9 ms of
    table look-ups), so importing 40,000 rows took over 8 minutes."""
    from recommender.core.errors import UnknownBody
    from recommender.reference import lookup

    calls: list[tuple[str, str | None]] = []
    real_resolve = lookup.resolve

    def counted(query: str, *, kind: str | None = None, settings: Settings) -> object:
        calls.append((query, kind))
        return real_resolve(query, kind=kind, settings=settings)

    monkeypatch.setattr(lookup, "resolve", counted)
    directory = default_directory(SETTINGS)
    first = directory.resolve("Rother", "council")
    assert directory.resolve("Rother", "council") is first and first.codes == ("E07000064",)
    assert directory.resolve("Rother", None).codes == ("E07000064",)  # another question
    for _ in range(2):  # a name that names nothing is refused every time
        with pytest.raises(UnknownBody):
            directory.resolve("Atlantis District Council", "council")
    assert calls == [("Rother", "council"), ("Rother", None), *[("Atlantis District Council",
                     "council")] * 2]  # fmt: skip


def test_who_an_arrangement_leaves_out_is_read_from_its_sources_words() -> None:
    """The Nottinghamshire business rates pool "excludes city, police and fire": Nottingham was
    offered it to join first, and the county's fire authority among its options. Each
    exclusion reading quotes its note and names a body the reference holds (or a kind), and
    every note that speaks of leaving someone out is read."""
    known = pd.read_csv(KNOWN, dtype=str, keep_default_na=False)
    notes = dict(zip(known["arrangement_name"], known["note"], strict=True))
    bodies = pd.read_csv(SETTINGS.reference_dir / "bodies.csv", dtype=str).set_index("code")
    readings = records._exclusion_readings()
    assert readings
    for name, left_out in readings.items():
        for who, words in left_out.items():
            assert words in notes[name], name
            assert who in {"police", "fire"} or who in bodies.index, (name, who)
            if who in bodies.index:  # the words name it (Wigan), or what it is (the city)
                said = bodies.at[who, "display_name"]
                assert said in words or "city" in words, (name, who)
    speaking = {n for n, note in notes.items() if re.search(r"\bexclud", note, re.IGNORECASE)}
    assert speaking == set(readings)
    assert records.excluded_from(next(iter(readings)), simulated=True) == {}


def test_a_service_an_arrangement_was_extended_to_is_read_from_its_sources_words() -> None:
    """The Evolve programme of three police forces, filed under other services, was "later
    extended to shared legal services (2019)"; two of them were suggested legal services to the
    third as new. Each service reading quotes its note, names a service of the taxonomy, and
    every note that says an arrangement was extended to another service is read."""
    known = pd.read_csv(KNOWN, dtype=str, keep_default_na=False)
    notes = dict(zip(known["arrangement_name"], known["note"], strict=True))
    filed = dict(zip(known["arrangement_name"], known["service_category"], strict=True))
    readings = records._service_readings()
    assert readings
    for name, found in readings.items():
        for reading in found:
            assert reading.source_words in notes[name], name
            assert reading.service in service_ids(SETTINGS) and reading.service != filed[name]
            if reading.year is not None:
                assert str(reading.year) in reading.source_words, name
    extended = re.compile(r"\bextended to (?:shared )?\w+ services\b", re.IGNORECASE)
    assert {n for n, note in notes.items() if extended.search(note)} == set(readings)
    assert records.also_shares(next(iter(readings)), simulated=True) == ()


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_an_exported_register_imports_again_as_the_same_readings_of_its_names(
    tmp_path: Path, settings: Settings, real: Directory, fmt: str
) -> None:
    """An analyst who exports the register and imports it into another database keeps how each
    name was read. The export writes a current body as its code beside the name as given, and
    the import read a code as an exact name: "Avon and Somerset Police Authority" (abolished in
    2012) came back as if it were the police force area's own name, so Southwest One's partner
    lost its "(now Avon and Somerset police force area)", and every name read as a variant
    ("Essex Police", "Shepway") was said to be exact."""
    kept = ["position", "body_code", "name_as_given", "role", "resolution", "external_kind"]

    def readings() -> set[tuple[object, ...]]:
        arrangements, members = load_register(settings)
        names = dict(zip(arrangements["id"], arrangements["name"], strict=True))
        real_ids = set(arrangements.loc[~arrangements["simulated"].astype(bool), "id"])
        mine = members[members["arrangement_id"].isin(real_ids)].fillna("")
        return {
            (names[r.arrangement_id], *(getattr(r, c) for c in kept)) for r in mine.itertuples()
        }

    def facts() -> dict[str, dict[str, object]]:
        arrangements = load_register(settings)[0].astype(object)
        real = arrangements[~arrangements["simulated"].astype(bool)]
        return {
            str(r["name"]): {k: None if pd.isna(v) else v for k, v in r.items() if k != "import_id"}
            for r in real.to_dict(orient="records")
        }

    before, said = readings(), facts()
    arrangements = load_register(settings)[0]
    real_ids = arrangements.loc[~arrangements["simulated"].astype(bool), "id"].tolist()
    out = tmp_path / f"real.{fmt}"
    export(fmt, out, filters=Filters(origin="real"), settings=settings, directory=real)
    records.remove(real_ids, settings)
    report = import_file(out, settings=settings, directory=real)
    assert (report.added, report.duplicates) == (len(real_ids), 0)
    after = readings()
    assert after == before, sorted(after ^ before)[:6]
    # And every fact of each arrangement (its annual figure gained decimals: 423333.33 came
    # back as 423333.3333333333).
    again = facts()
    assert {n: {k: v for k, v in f.items() if again[n][k] != v} for n, f in said.items()} == {
        n: {} for n in said
    }
    southwest = "Southwest One (Somerset shared services joint venture with IBM)"
    said = query(Filters(origin="real"), settings=settings)
    (record,) = [r for r in said if r["name"] == southwest]
    labels = [records.member_label(m) for m in record["members"]]
    assert "Avon and Somerset Police Authority (now Avon and Somerset police force area)" in labels


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_names_read_by_the_kind_their_file_gave_import_again_as_the_same_bodies(
    tmp_path: Path, settings: Settings, real: Directory, fmt: str
) -> None:
    """ "Devon" and "Somerset" typed fire (the two fire services, since merged) were exported by
    name with no kind and read again as the councils of Devon and Somerset: a fire partnership
    became one of two councils, running where it had been merged; "Somerset" typed police
    came back said to be exact; an NHS trust typed other came back an NHS trust."""
    known = tmp_path / "typed.csv"
    known.write_text(
        "arrangement_name,partners,partner_types,service_category,start_year,source_url\n"
        "Fire test,Devon;Somerset,fire;fire,other,2016,https://example.org/g\n"
        "Police test,Somerset;Devon and Cornwall Police,police;police,other,2016,"
        "https://example.org/a\n"
        "Trust test,Mid Devon;Torridge;Torbay and South Devon NHS Foundation Trust,"
        "council;council;other,other,2016,https://example.org/b\n"
    )
    assert import_file(known, settings=settings, directory=real).added == 3
    names = ("Fire test", "Police test", "Trust test")

    def readings() -> dict[str, list[tuple[object, ...]]]:
        found = query(Filters(service="other", origin="real"), settings=settings, directory=real)
        return {
            r["name"]: [
                (m["body_code"], m["name_as_given"], m["resolution"], m["external_kind"])
                for m in r["members"]
            ]
            + [("status", r["status_read"])]
            for r in found
            if r["name"] in names
        }

    before = readings()
    assert [m[0] for m in before["Fire test"][:2]] == ["E31000011", "E31000011"]
    ids = [r["id"] for r in query(Filters(service="other"), settings=settings, directory=real)
           if r["name"] in names]  # fmt: skip
    out = tmp_path / f"typed.{fmt}"
    export(fmt, out, filters=Filters(service="other"), settings=settings, directory=real)
    records.remove(ids, settings)
    assert import_file(out, settings=settings, directory=real).added == 3
    assert readings() == before


def test_an_external_member_named_as_a_body_stays_external_with_its_kind(
    tmp_path: Path, real: Directory
) -> None:
    """ "Kent" kept as an external member was exported with the kind "other" and imported
    again as Kent County Council, a partner: the kind "other" was read as the documented
    arrangements' type, which may name a public body."""
    from recommender.core.services import load_services
    from recommender.register.files import read_source, validate

    path = tmp_path / "external.csv"
    path.write_text(
        "name,service,partners,partner_roles,partner_kinds\n"
        "J,legal,Rother; Hastings; Kent,partner; partner; external,council; council; other\n"
    )
    services = list(load_services(SETTINGS).index)
    (candidate,), errors = validate(read_source(path)[1], real, services)
    assert errors == []
    kent = candidate.members[-1]
    assert (kent.body_code, kent.role, kent.external_kind) == (None, "external", "other")
