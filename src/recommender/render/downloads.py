"""Tables to download: a body's opportunities and the (filtered) register, as CSV or as an
Excel workbook, the same columns in both.

A :class:`Table` holds typed cells (text, numbers, None). :func:`to_csv` writes it with the
register's formula guard (:func:`recommender.register.files.spreadsheet_cell`: a cell that would
run as a formula in a spreadsheet gets a leading ``'``); :func:`to_xlsx` writes a real
workbook with openpyxl, every text cell stored as text (never as a formula, whatever it starts
with), numbers as numbers with a format (pounds, percentages), the header row frozen, and a
second sheet saying what the table is, when it was made and from what.

A body's suggestions carry how far to trust their order
(:func:`recommender.model.verdicts.cautions`), as the pages and the API's JSON do: in both
files each row's last cell is the caution for its pair kind (empty when its pair kind has
none), and the workbook's second sheet lists every caution of the list with its figures.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recommender.core.sources import MYSOCIETY_ATTRIBUTION, ONS_ATTRIBUTION
from recommender.model.explain import DIRECTION_WORDS
from recommender.model.horizon import HORIZON_YEARS
from recommender.model.patterns import pair_kind, pair_label
from recommender.model.verdicts import UNTRIED, trust_said
from recommender.recommend.ranking import Recommendation
from recommender.recommend.readmodels import held_note
from recommender.register.files import spreadsheet_cell
from recommender.register.records import (
    annualisation_note,
    exits_said,
    listed_partners,
    savings_reading,
    status_shown,
    status_unsaid,
)

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POUNDS, SHARE, KM, WHOLE, MRR = "£#,##0", "0.0%", "#,##0.0", "0", "0.000"
Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Column:
    """A column: its heading, and the Excel number format of its numbers (if any)."""

    heading: str
    number_format: str | None = None
    width: int = 14


@dataclass(frozen=True)
class Table:
    """A table to download, with what it is (``about``: label, value pairs) and, below that on
    the workbook's second sheet, a small table of its own (``about_table``: headings, then
    rows), such as the cautions of a body's suggestions. A CSV has neither."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    about: Sequence[tuple[str, str]] = field(default_factory=tuple)
    about_table: Sequence[Sequence[Cell]] = field(default_factory=tuple)

    @property
    def headings(self) -> list[str]:
        return [c.heading for c in self.columns]


RECOMMENDATION_COLUMNS = (
    Column("Rank", WHOLE, 6),
    Column("Partner", None, 34),
    Column("Partner code", None, 12),
    Column("Partner kind", None, 12),
    Column("Service", None, 28),
    Column("Service id", None, 20),
    Column(f"Likelihood ({HORIZON_YEARS} years)", SHARE, 12),
    Column("Expected annual savings (£)", POUNDS, 14),
    Column("Annual savings if formed (£)", POUNDS, 14),
    Column("Low (£)", POUNDS, 12),
    Column("High (£)", POUNDS, 12),
    Column("Held at a bound per resident", None, 40),
    Column("Distance (km)", KM, 10),
    Column("Already a partner", None, 10),
    Column("Why", None, 80),
    Column("How far to trust the order", None, 80),
    Column("What the figures if formed were learnt from", None, 80),
    Column("Body", None, 34),
    Column("Body code", None, 12),
    Column("Body note", None, 80),
)
CAUTION_HEADINGS = (
    "How far to trust the order: pair kind",
    "What the held-out evaluation says",
    "Model's mean reciprocal rank",
    "Simple rule it is weighed against",
    "Its mean reciprocal rank",
    "Held-out arrangements",
    "Too few to judge firmly",
    "Judged on",
)
QUERY_WORDS = {"any": "a list of every service", "service": "a list for one service"}
ARRANGEMENT_COLUMNS = (
    Column("Id", None, 12),
    Column("Name", None, 44),
    Column("Service", None, 28),
    Column("Service id", None, 20),
    Column("Start", WHOLE, 8),
    Column("End", WHOLE, 8),
    Column("Status", None, 10),
    Column("How the status was read", None, 60),
    Column("Partners", None, 60),
    Column("Partner codes", None, 40),
    Column("Savings as reported (£)", POUNDS, 14),
    Column("Savings basis", None, 12),
    # Drawn from the reported figure by a rule, said beside it (the pages say it too)
    Column("Annual savings, as read (£)", POUNDS, 14),
    Column("How the annual figure was read", None, 40),
    Column("Source", None, 50),
    Column("Description", None, 80),
    Column("Origin", None, 10),
)


def recommendations_table(
    body: Mapping[str, Any],
    found: Sequence[Recommendation],
    about: Sequence[tuple[str, str]],
    cautions: Sequence[Mapping[str, Any]] = (),
    note: str | None = None,
    sizes: str | None = None,
) -> Table:
    """A body's suggestions as a table, in the list's order, with their reasons in words, and
    how far to trust their order: ``cautions`` (:meth:`Recommender.cautions` for the list as
    it was asked) go on each row of their pair kind, as the page's sentence, and in the
    workbook's second sheet, one row each with its figures. ``sizes`` (what the figures if
    formed were learnt from: :func:`recommender.render.charts.documented_sizes`) goes on each
    row too. Each row names the body the list is for, and ``note`` says why where that is not
    the body asked about (an abolished council's successor, or the new council a scenario
    merges it into): a CSV has no other place to say either."""
    by_pair = {str(c["pair_kind"]): trust_said([c]) for c in cautions}
    rows = [
        [
            rank,
            r.partner_name,
            r.partner_code,
            r.partner_kind,
            r.service_label,
            r.service,
            r.likelihood,
            _finite(r.expected_savings_gbp),
            _finite(r.savings_gbp),
            _finite(r.savings_low_gbp),
            _finite(r.savings_high_gbp),
            r.savings_held_at and held_note(r.savings_held_at),
            round(r.distance_km, 1),
            "yes" if r.existing else "no",
            "; ".join(f"{DIRECTION_WORDS[x.direction]}: {x.text}" for x in r.reasons),
            by_pair.get(pair_kind(str(body["kind"]), r.partner_kind), by_pair.get("all")),
            sizes,
            body["display_name"],
            body["code"],
            note,
        ]
        for rank, r in enumerate(found, 1)
    ]
    title = f"Suggested partners for {body['display_name']}"
    said = [
        [
            pair_label(str(c["pair_kind"])),
            str(c["said"])[:1].upper() + str(c["said"])[1:],
            c["model_mrr"],
            c["baseline_label"],
            c["baseline_mrr"],
            c["held_out"],
            "not tested" if c["verdict"] == UNTRIED else "yes" if c["few"] else "no",
            QUERY_WORDS.get(str(c["query"]), str(c["query"])),
        ]
        for c in cautions
    ]
    return Table(
        title, RECOMMENDATION_COLUMNS, rows, about, [CAUTION_HEADINGS, *said] if said else ()
    )


def arrangements_table(
    found: Sequence[Mapping[str, Any]], labels: Mapping[str, str], about: Sequence[tuple[str, str]]
) -> Table:
    """Arrangements (register records) as a table, one row each, partners joined by "; "."""
    rows = [
        [
            a["id"],
            a["name"],
            labels.get(a["service"], a["service"]),
            a["service"],
            a["start_year"],
            a["end_year"],
            status_shown(a),  # "proposed" when its name says so, as the pages read it
            _status_read(a),
            # Its partners as the explorer lists them: a council since abolished as its source
            # names it, with what it is now ("Chiltern (now Buckinghamshire)", not
            # "Buckinghamshire"), bodies since combined each as the body it was.
            "; ".join(p["label"] for p in listed_partners(a["members"])),
            "; ".join(str(m["body_code"]) for m in a["members"] if m["body_code"]),
            a["savings_gbp"],
            a["savings_basis"],
            a["annual_savings_gbp"],
            _annual_read(a),
            a["source"],
            a["note"],
            "simulated" if a["simulated"] else "real",
        ]
        for a in found
    ]
    return Table("Shared-service arrangements", ARRANGEMENT_COLUMNS, rows, about)


def _annual_read(record: Mapping[str, Any]) -> str | None:
    """How the annual figure was drawn from the reported one, as the arrangement's page says
    it ("to date, divided by 12 years from 2007 to 2019", "reported as an annual figure"); None
    with no figure."""
    if record.get("savings_gbp") is None:
        return None
    reading = savings_reading(
        str(record["name"]), record["savings_gbp"], bool(record.get("simulated"))
    )
    basis = str(record.get("savings_basis") or "unknown")
    return annualisation_note(
        basis,
        record.get("savings_period_years"),
        record.get("start_year"),
        reading,
        simulated=bool(record.get("simulated")),
    )


def _status_read(record: Mapping[str, Any]) -> str | None:
    """How an end its source did not give was read from the notes' words, who left it, and
    why one whose source gives no status is said to run, in the sentences its page says (None
    when none of them)."""
    read = record.get("end_read")
    said = [str(read["said"])] if read else []
    unsaid = status_unsaid(record)
    if unsaid is not None:
        said.append(f"{unsaid[:1].upper()}{unsaid[1:]}.")
    if record.get("internal"):  # as its page says it
        said.append(f"Internal, not a partnership: {record['internal']}.")
    return " ".join([*said, *exits_said(record)]) or None


def _finite(value: float | None) -> float | None:
    return None if value is None or value != value else round(float(value))


def to_csv(table: Table) -> str:
    """The table as CSV (a header row, then the rows); text that a spreadsheet would run as a
    formula gets a leading ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headings)
    for row in table.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def _csv_cell(value: Cell) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"  # a share: 0.3081
    return spreadsheet_cell(value)


def to_xlsx(table: Table) -> bytes:
    """The table as an Excel workbook: the table on its first sheet, what it is on a second
    (its ``about_table`` below, after an empty row, headings in bold)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "Table"
    bold = Font(bold=True)
    for j, column in enumerate(table.columns, 1):
        _put(sheet.cell(row=1, column=j), column.heading).font = bold
        sheet.column_dimensions[get_column_letter(j)].width = column.width
    for i, row in enumerate(table.rows, 2):
        for j, (column, value) in enumerate(zip(table.columns, row, strict=True), 1):
            cell = _put(sheet.cell(row=i, column=j), value)
            if column.number_format and isinstance(value, int | float):
                cell.number_format = column.number_format
            if column.width >= 40:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    about = book.create_sheet("About")
    credits = [("Attribution", f"{ONS_ATTRIBUTION} {MYSOCIETY_ATTRIBUTION}")]  # as every page
    for i, (label, value) in enumerate([("Table", table.title), *table.about, *credits], 1):
        _put(about.cell(row=i, column=1), label).font = bold
        _put(about.cell(row=i, column=2), value)
    below = len(table.about) + 4  # the title and attribution rows, then an empty one
    for i, row in enumerate(table.about_table, below):
        for j, value in enumerate(row, 1):
            cell = _put(about.cell(row=i, column=j), value)
            if i == below:
                cell.font = bold
            elif isinstance(value, float):
                cell.number_format = MRR
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 100
    for j in range(3, max(map(len, table.about_table), default=0) + 1):
        about.column_dimensions[get_column_letter(j)].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _put(cell: Any, value: Cell) -> Any:
    """Write ``value`` into ``cell``: text stays text (openpyxl would store "=…" as a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters: not allowed in XML
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell
