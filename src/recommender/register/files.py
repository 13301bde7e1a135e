"""Register files: read the import layouts, validate every row, write the export formats.

Layouts read (detected from the file; described in ``data/register/README.md``):

``project``
    What ``register export --format csv`` writes: one row per arrangement with
    :data:`PROJECT_COLUMNS`; ``partners`` are codes or names separated by ``;``. Optional, one
    value per partner: ``partner_roles`` (``lead``/``partner``/``external``),
    ``partner_names`` (the names as first given, kept with the codes) and ``partner_kinds``
    (the kind of body a name stands for, :data:`PARTNER_KINDS`, or an external member's kind:
    what the names were read as, so that an export imports again as the same bodies).
``known``
    The layout of ``../shared/data/register/known_arrangements.csv`` (:data:`KNOWN_COLUMNS`):
    partners as names, ``partner_types`` (``council``/``fire``/``police``/``health``/``other``)
    one per partner; ``other`` partners (a company, a national agency) become external members.
``json``
    What ``register export --format json`` writes: ``{"arrangements": [{...}, ...]}`` with the
    project columns and ``partners``, ``partner_roles``, ``partner_names`` as lists.

Row numbers in errors are those a spreadsheet shows (the header is row 1); in a JSON file, the
position of the arrangement in its list (the first is 1).

A hostile or broken file is a list of :class:`~recommender.core.errors.RowError`, never a traceback:
bytes that are not UTF-8, a field longer than :data:`MAX_FIELD` characters (an unclosed quote
reads as one), a NUL character or a lone surrogate, a repeated column (or key in a JSON
object), JSON nested too deeply or with integers too long to convert, a value that is an
object. A column (or key) no layout reads is ignored with a warning naming it
(:attr:`SourceFile.warnings`). A savings figure above :data:`MAX_SAVINGS_GBP` is refused.
Cells an export writes for spreadsheets carry a leading ``'`` against formula injection
(:func:`spreadsheet_cell`); reading a CSV file takes it off again (:func:`unguard`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from recommender.core import atomic
from recommender.core.errors import ImportRejected, InvalidInput, RowError, UnknownBody
from recommender.core.kinds import KINDS
from recommender.core.names import and_list, closest, gone_in
from recommender.core.numbers import DECIMAL, written_number
from recommender.core.sources import SIMULATOR_NOTE, SIMULATOR_SOURCE
from recommender.database.db import ROLES, SAVINGS_BASES, STATUSES
from recommender.reference.rules import EXTERNAL_KINDS, PUBLIC_EXTERNAL_KINDS, external_kind

PROJECT_COLUMNS = (
    *("id", "name", "service", "start_year", "end_year", "status"),
    *("savings_gbp", "savings_basis", "savings_period_years", "savings_aim"),
    *("source", "note", "simulated", "partners"),
)
KNOWN_COLUMNS = (
    *("arrangement_name", "partners", "partner_types", "service_category", "start_year"),
    *("savings_gbp", "savings_basis", "savings_period_years", "source_url", "note"),
)
# The columns a CSV must have; the others may be left out, as in JSON (a blank value is read as
# the field not given). A misspelt optional column is named in the report (_ignored).
REQUIRED = {
    "project": ("name", "service", "partners"),
    "known": ("arrangement_name", "partners", "partner_types", "service_category"),
}
_KNOWN_TO_PROJECT = {
    "arrangement_name": "name",
    "service_category": "service",
    "source_url": "source",
}
_PROJECT_TO_KNOWN = {project: known for known, project in _KNOWN_TO_PROJECT.items()}
PARTNER_TYPES = ("council", "fire", "police", "health", "other")
# The project layout's partner_kinds: a body's kind (a hint to read its name by), or an external
# member's kind; empty for none.
PARTNER_KINDS = (*KINDS, *EXTERNAL_KINDS)
FIRST_YEAR = 1900  # joint boards date from the 1960s, joint waste authorities from 1986
MAX_PERIOD_YEARS = 50
# The largest savings figure believed (any basis): the largest shared-service arrangements in
# England report tens of millions a year, the LGA's total for every council about £1.3bn.
MAX_SAVINGS_GBP = 1_000_000_000
# The longest field read: the csv module's own default limit (a longer one is an unclosed quote
# or not a register); the reader's limit is raised to the file's size so this check, which can
# name the column, is the one that speaks.
MAX_FIELD = 131_072
# Columns a layout does not read but an export writes (informative, or how the answers read an
# arrangement: the JSON export's internal, proposed, ended, merged and end_read): ignored
# without a warning.
_EXPORTED = (
    "annual_savings_gbp", "import_id", "fingerprint", "members", "internal", "proposed", "ended",
    "merged", "term_passed", "end_read", "status_read", "abolished",
)  # fmt: skip
# optional, one per partner
_LISTS = ("partner_types", "partner_roles", "partner_names", "partner_kinds")
_READ = (*PROJECT_COLUMNS, *_LISTS)
_CODE = re.compile(r"^[EWSN]\d{8}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A comma in a figure only separates thousands: "1,200,000" is read, "120,50" (a decimal comma)
# is refused rather than read as 12050.
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class ResolutionLike(Protocol):
    """What the register needs from :class:`recommender.reference.lookup.Resolution`."""

    @property
    def codes(self) -> tuple[str, ...]: ...
    @property
    def matched(self) -> str: ...
    @property
    def alias_type(self) -> str: ...
    @property
    def former_code(self) -> str | None: ...
    @property
    def others(self) -> tuple[str, ...]: ...  # other kinds of body the name is the own name of


# (name, kind hint) -> resolution; raises UnknownBody (with suggestions) when nothing matches.
Resolver = Callable[[str, str | None], ResolutionLike]


@dataclass(frozen=True)
class Directory:
    """The bodies a register may name: a resolver, and facts about every current code."""

    resolve: Resolver
    names: Mapping[str, str]  # code -> display name
    lonlat: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # WGS84 centroid
    regions: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # code -> (code, name)
    kinds: Mapping[str, str] = field(default_factory=dict)  # code -> kind (council, fire …)
    # fire code -> (the code of the body that runs it, who runs it as the governance table
    # names them): a county council, a mayor's combined authority or the GLA, a commissioner's
    # police force area. The two are one body, never partners (records.one_body).
    runs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # (name, kind hint) -> the abolished body that had the name before the current body that
    # has it now (Somerset County Council, now Somerset Council), with a note that says when
    # it went (:func:`recommender.reference.lookup.predecessor`), or None.
    predecessor: Callable[[str, str | None], Any] | None = None


@dataclass(frozen=True)
class SourceRow:
    """One arrangement as read from a file, keyed by project field names (values as text)."""

    row: int
    values: dict[str, str]
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> column name in the file


@dataclass(frozen=True)
class Member:
    body_code: str | None
    name_as_given: str
    role: str
    resolution: str
    external_kind: str | None = None  # for a member outside the reference: see EXTERNAL_KINDS


@dataclass(frozen=True)
class Candidate:
    """A validated arrangement, ready to store (the register adds fingerprint and id)."""

    row: int
    id: str | None
    name: str
    service: str
    start_year: int | None
    end_year: int | None
    status: str
    savings_gbp: float | None
    savings_basis: str
    savings_period_years: int | None
    savings_aim: bool
    source: str
    note: str
    simulated: bool
    members: tuple[Member, ...]
    identities: tuple[str, ...]  # one per partner named, sorted (see register.fingerprint)
    warnings: tuple[str, ...] = ()
    # The fields the file gave a value for (None: every field, as made elsewhere): what a row
    # already stored can be said to differ in (a file with no note says nothing of one).
    given: frozenset[str] | None = None


def current_year() -> int:
    return date.today().year


def normalise_name(name: str) -> str:
    """Return ``name`` case-folded with spaces collapsed (an external partner's identity)."""
    return " ".join(name.casefold().split())


# Reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """A register file as read: its layout, its rows, and warnings about its header."""

    layout: str
    rows: list[SourceRow]
    warnings: list[str] = field(default_factory=list)


def read_source(path: Path) -> tuple[str, list[SourceRow]]:
    """Return the layout and rows of a register file, or raise naming what is wrong with it."""
    found = read_file(path)
    return found.layout, found.rows


def read_file(
    path: Path,
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    fill: Mapping[str, str] | None = None,
) -> SourceFile:
    """Read a register file (see :func:`read_source`), with warnings about ignored columns.

    ``columns`` renames the file's columns to the fields they hold (``{"Councils involved":
    "partners"}``, :func:`parse_columns`), for a CSV file or a workbook whose header is another
    tool's (the LGA's own export, say); ``sheet`` names a workbook's sheet (the first by
    default); ``fill`` gives a field's value for every row that leaves it empty, or whose file
    has no column for it (``{"savings_basis": "annual"}`` for a file of annual savings,
    :func:`parse_fill`); a savings figure's basis and years only to the rows that give one
    (a row with no figure has no basis).
    """
    found = _read_any(path, columns or {}, sheet, set(fill or ()))
    if not fill:
        return found
    filled = {_KNOWN_TO_PROJECT.get(k, k): v for k, v in fill.items()}
    rows = []
    for row in found.rows:
        empty = [name for name in filled if not row.values.get(name)]
        if not row.values.get("savings_gbp"):  # a figure's basis and years: rows with one
            empty = [name for name in empty if name not in _OF_A_FIGURE]
        values = row.values | {name: filled[name] for name in empty}
        said = dict(row.columns) | {name: f"{name} (filled)" for name in empty}  # for errors
        rows.append(SourceRow(row.row, values, said))
    return SourceFile(found.layout, rows, found.warnings)


_OF_A_FIGURE = frozenset({"savings_basis", "savings_period_years"})


def _read_any(
    path: Path, columns: Mapping[str, str], sheet: str | None, filled: set[str]
) -> SourceFile:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"{path}: cannot read the file ({err.strerror})", field="file") from err
    suffix = path.suffix.lower()
    if data.startswith(_OLE) or suffix in (".xls", ".ods"):
        message = "an .xls or .ods workbook: save it as an Excel Workbook (.xlsx) or as CSV "
        message += "UTF-8 (comma delimited) and import that"
        raise ImportRejected(str(path), [RowError(1, "", "", message)])
    if data.startswith(_ZIP) or suffix == ".xlsx":
        header, cells, sheets = _read_workbook(path, data, sheet)
        if blank := _blank_columns(header, (row for _, row in cells)):
            header = _without(header, blank)
            cells = [(n, tuple(_without(row, blank))) for n, row in cells]
        try:
            return _read_cells(path, header, cells, columns, filled)
        except ImportRejected as err:
            if sheet is not None or len(sheets) < 2 or err.errors[0].row != 1:
                raise
            # Its first sheet read, and no register there: say so, and which others it has.
            first, *others = sheets
            said = (
                f" (the first sheet, {first!r}, was read; the workbook also has "
                f"{and_list([repr(n) for n in others])}: choose the register's with --sheet)"
            )
            raise ImportRejected(
                str(path), [replace(e, message=e.message + said) for e in err.errors]
            ) from None
    if sheet is not None:
        raise InvalidInput(f"{path.name} is not a workbook: a sheet applies to .xlsx files only",
                           field="sheet")  # fmt: skip
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ImportRejected(str(path), [_not_utf8(data, err)]) from err
    if not text.strip():
        message = "the file is empty: expected a CSV header row and arrangements, or JSON"
        raise ImportRejected(str(path), [RowError(1, "", "", message)])
    if suffix == ".json" or text.lstrip().startswith(("{", "[")):
        if columns:
            raise InvalidInput(f"{path.name} is JSON: a column mapping applies to CSV and "
                               ".xlsx files (JSON keys are the project's fields)",
                               field="columns")  # fmt: skip
        return _read_json(path, text)
    return _read_csv(path, text, columns, filled)


# Every field a layout reads: what a column mapping or a fill may name.
_FIELDS = tuple(dict.fromkeys((*PROJECT_COLUMNS, *_LISTS, *KNOWN_COLUMNS)))
# Zip files (xlsx, ods) and OLE files (xls): what a spreadsheet saves unless asked for CSV.
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
# The most a workbook may hold unpacked: a register of 100,000 arrangements is about 60 MB of
# sheet XML; a small file that unpacks to gigabytes is refused before it is read.
MAX_WORKBOOK_BYTES = 512 * 1024 * 1024


def parse_columns(text: str) -> dict[str, str]:
    """Read a column mapping, ``"File column=field; Another column=field"``: which of the
    file's columns holds which field of a register layout (``name``, ``partners``,
    ``service``, …). Raises :class:`InvalidInput` (``field="columns"``) naming a pair that is
    not ``column=field``, a field no layout reads (with the closest) or a column named twice."""
    return _pairs(text, "columns", "column mapping", "'file column=field', e.g. 'Councils "
                  "involved=partners'", "is mapped twice")  # fmt: skip


def parse_fill(text: str) -> dict[str, str]:
    """Read ``"field=value; field=value"``: a value for each field, for every row that leaves
    it empty (:func:`read_file`'s ``fill``). Raises :class:`InvalidInput` (``field="fill"``)
    naming a pair that is not ``field=value``, a field no layout reads or one given twice."""
    return _pairs(text, "fill", "fill", "'field=value', e.g. 'savings_basis=annual'",
                  "is given twice")  # fmt: skip


def _pairs(text: str, option: str, what: str, expected: str, twice: str) -> dict[str, str]:
    """``"key=value; key=value"`` as a dict, one of each pair a field of a layout: the value of
    a column mapping (``column=field``: split at the last ``=``), the key of a fill."""
    out: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(";")):
        if not pair:
            continue
        key, equals, value = pair.rpartition("=") if option == "columns" else pair.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key or not value:
            raise InvalidInput(f"{what} {pair!r}: expected {expected}", field=option)
        name = value if option == "columns" else key
        if name not in _FIELDS:
            raise InvalidInput(
                f"{what} {pair!r}: {name!r} is not a field of a register layout; expected one "
                f"of {', '.join(_FIELDS)}",
                field=option,
                suggestions=closest(name, _FIELDS, limit=3),
            )
        if key in out:
            raise InvalidInput(f"{what}: {key!r} {twice}", field=option)
        out[key] = value
    return out


def _read_workbook(
    path: Path, data: bytes, sheet: str | None
) -> tuple[list[str], list[tuple[int, tuple[Any, ...]]], list[str]]:
    """The header (as text) and the rows (with their sheet row numbers) of a workbook's sheet:
    values as the workbook last computed them, never a formula; and its sheets' names."""
    import zipfile

    from openpyxl import load_workbook

    def refuse(message: str) -> ImportRejected:
        return ImportRejected(str(path), [RowError(1, "", "", message)])

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as err:
        raise refuse(f"not a readable .xlsx workbook ({err})") from err
    if unpacked > MAX_WORKBOOK_BYTES:
        raise refuse(f"the workbook unpacks to {unpacked:,} bytes, over {MAX_WORKBOOK_BYTES:,}: "
                     "not a register (save the sheet as CSV to import it)")  # fmt: skip
    try:  # (openpyxl parses with defusedxml: an entity declared is refused, not expanded)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises whatever its parts do on a broken file
        raise refuse(_unreadable(err)) from err
    try:
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            raise InvalidInput(f"{path.name} has no sheet {sheet!r}; its sheets: "
                               f"{', '.join(names)}", field="sheet",
                               suggestions=closest(sheet, names, limit=2))  # fmt: skip
        found = book[sheet if sheet is not None else names[0]]
        try:  # a read-only sheet is parsed as its rows are read
            rows = list(found.iter_rows(values_only=True))
        except Exception as err:
            raise refuse(_unreadable(err)) from err
    finally:
        book.close()
    header = [_cell_text(v, "") for v in (rows[0] if rows else ())]
    while header and not header[-1]:  # trailing empty cells a sheet's width leaves
        header.pop()
    if not header and not any(any(v is not None for v in r) for r in rows[1:]):
        raise refuse(f"sheet {found.title!r} is empty: expected a header row and arrangements")
    if uncomputed := _uncomputed(data, str(getattr(found, "_worksheet_path", "")), header):
        raise ImportRejected(str(path), uncomputed)
    return header, list(enumerate(rows[1:], start=2)), names


_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.DOTALL)


def _uncomputed(data: bytes, part: str, header: Sequence[str]) -> list[RowError]:
    """The cells of a sheet (its XML ``part``) holding a formula the workbook never computed:
    a tool that writes formulas without their values (openpyxl, a script) leaves the value
    empty, and the cell read as no value at all (a saving of "=100000+25000" as no figure)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if part not in archive.namelist():
            return []
        xml = archive.read(part)
    if b"<f" not in xml:  # (most sheets: no formula at all)
        return []
    out = []
    for letters, row, inner in _CELL.findall(xml):
        if inner and b"<f" in inner and b"<v>" not in inner and b"<is>" not in inner:
            column = 0
            for letter in letters.decode():
                column = column * 26 + ord(letter) - 64
            name = header[column - 1] if column <= len(header) else letters.decode()
            message = "a formula the workbook never computed: open it in Excel and save it"
            out.append(RowError(int(row), name, "", message + " (its value is then stored)"))
    return out


def _unreadable(err: BaseException) -> str:
    """Why a workbook could not be read: the first cause (openpyxl wraps its parser's)."""
    while err.__cause__ is not None:
        err = err.__cause__
    return f"not a readable .xlsx workbook ({type(err).__name__}: {err})"


def _cell_text(value: Any, field: str) -> str:
    """A workbook cell as the text a CSV would hold: numbers as written (a whole number
    without ``.0``), true/false, a date as its ISO form or, for a year ``field``, its year."""
    from datetime import datetime, time

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return str(value.year) if field in ("start_year", "end_year") else value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _not_utf8(data: bytes, err: UnicodeDecodeError) -> RowError:
    """The row, column and value of the first byte that is not UTF-8, saying what to do."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # (Excel's "Unicode text", say)
        message = "a UTF-16 file (it starts with UTF-16's byte-order mark): save it as UTF-8 "
        return RowError(1, "", "", message + "(in Excel: CSV UTF-8)")
    row = data[: err.start].count(b"\n") + 1
    start = data.rfind(b"\n", 0, err.start) + 1
    end = data.find(b"\n", err.start)
    line = data[start : end if end >= 0 else len(data)].decode("utf-8", "replace")
    before = data[start : err.start].decode("utf-8", "replace")
    header = _record(data.split(b"\n", 1)[0].decode("utf-8", "replace"))
    place = len(_record(before)) - 1 if before else 0
    column = header[place].strip() if row > 1 and place < len(header) else ""
    cells = _record(line)
    value = cells[place] if place < len(cells) else ""
    message = f"not UTF-8 text (byte {err.start}, {data[err.start : err.start + 4]!r}): save the "
    message += "file as UTF-8 (in Excel: CSV UTF-8)"
    return RowError(row, column, value, message)


def _record(line: str) -> list[str]:
    """One line's cells, as far as the csv module reads them (a carriage return alone in a
    line is not CSV to it: then split at the commas), to say where a bad byte is."""
    try:
        return next(csv.reader([line]), [""])
    except csv.Error:
        return line.split(",")


@dataclass(frozen=True)
class _Header:
    """A file's header read: its layout, the field each column holds, and for errors the
    file's name of each field's column."""

    layout: str
    fields: list[str]
    columns: dict[str, str]  # project field -> the file's column (where they differ)
    warnings: list[str]

    def column(self, field_name: str) -> str:
        return self.columns.get(_KNOWN_TO_PROJECT.get(field_name, field_name), field_name)


def _header_or_later(
    path: Path,
    raw: Sequence[str],
    later: Iterable[tuple[int, Sequence[str]]],
    mapping: Mapping[str, str],
    filled: Collection[str] = (),
) -> _Header:
    """:func:`_header`, or, where the first row is no header and one of the next rows is (a
    title above it, a blank first line), an error saying which row: the mapping's columns were
    said to be missing, or the sheet to be empty."""
    try:
        return _header(path, raw, mapping, filled)
    except (InvalidInput, ImportRejected) as err:
        for number, cells in later:
            try:
                _header(path, [str(c) for c in cells], mapping, filled)
            except (InvalidInput, ImportRejected):
                continue
            above = number - 1
            message = (
                f"the header must be the first row: row {number} looks like the header (delete "
                f"the {'row' if above == 1 else f'{above} rows'} above it)"
            )
            first = ",".join(str(c) for c in raw if str(c).strip())[:60]
            raise ImportRejected(str(path), [RowError(1, "", first, message)]) from err
        raise


def _header(
    path: Path, raw: Sequence[str], mapping: Mapping[str, str], filled: Collection[str] = ()
) -> _Header:
    """Check a header (after renaming its columns by ``mapping``) against the layouts; a field
    ``filled`` for every row needs no column."""
    header = [h.strip() for h in raw]
    if absent := [c for c in mapping if c not in header]:
        raise InvalidInput(
            f"the column mapping names {absent[0]!r}, which is not a column of {path.name}; "
            f"its columns: {', '.join(header)}",
            field="columns",
            suggestions=closest(absent[0], header, limit=2),
        )
    fields = [mapping.get(h, h) for h in header]
    known = "arrangement_name" in fields or "partner_types" in fields
    if known and mapping:  # a mapping to the project's names, with partner types: the same
        fields = [  # fields by the documented arrangements' names ("Arrangement=name")
            _PROJECT_TO_KNOWN.get(f, f)
            if h in mapping and _PROJECT_TO_KNOWN.get(f) not in fields
            else f
            for h, f in zip(header, fields, strict=True)
        ]
    layout, expected = ("known", KNOWN_COLUMNS) if known else ("project", PROJECT_COLUMNS)
    problems = [_header_error(header, name) for name in dict.fromkeys(header)]
    for name in dict.fromkeys(fields):
        given = list(dict.fromkeys(h for h, f in zip(header, fields, strict=True) if f == name))
        if len(given) > 1:
            message = f"columns {', '.join(map(repr, given))} are all read as {name!r}; keep one"
            problems.append(RowError(1, given[-1], "", message))
    if not set(fields) & {*PROJECT_COLUMNS, *KNOWN_COLUMNS}:  # no layout's header at all
        message = "no column of a register layout: the project's has " + ", ".join(PROJECT_COLUMNS)
        message += "; the documented arrangements' has " + ", ".join(KNOWN_COLUMNS)
        message += " (another tool's columns can be mapped to these: --columns 'its column=field')"
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            message += " (this header is one column: save the file with commas between values)"
        raise ImportRejected(str(path), [RowError(1, "", ",".join(header), message)])
    if missing := [c for c in REQUIRED[layout] if c not in fields and c not in filled]:
        message = (
            f"missing column; the {layout} layout needs {', '.join(REQUIRED[layout])} (and reads "
            f"{', '.join(c for c in expected if c not in REQUIRED[layout])} when given)"
        )
        # A column of the file that is no field may be the missing one misspelt ("servise"):
        # named as the closest, as a misspelt optional column is.
        unread = [h for h, f in zip(header, fields, strict=True) if f not in expected]
        problems += [
            RowError(1, c, "", message, tuple(closest(c, unread, limit=1))) for c in missing
        ]
    if bad := [p for p in problems if p is not None]:
        raise ImportRejected(str(path), bad)
    columns = {}
    for name, f in zip(header, fields, strict=True):
        project = _KNOWN_TO_PROJECT.get(f, f) if known else f
        if project != name:
            columns[project] = name
    return _Header(layout, fields, columns, _ignored(header, fields, expected))


def _blank_columns(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[int]:
    """The columns with no name and nothing in them (a spreadsheet saved with an empty column,
    or a comma after each line): left out, where they were refused as "a column has no name".
    None (an empty list) when a column with no name holds a value: that is still refused.

    >>> _blank_columns(["name", "", "partners", ""], [["A", "", "B; C"], ["D", None, "E", ""]])
    [1, 3]
    >>> _blank_columns(["name", ""], [["A", "x"]])
    []
    """
    blank = [i for i, name in enumerate(header) if not str(name).strip()]
    if not blank:
        return []
    for row in rows:
        if any(i < len(row) and row[i] not in (None, "") and str(row[i]).strip() for i in blank):
            return []
    return blank


def _without(values: Sequence[Any], columns: Collection[int]) -> list[Any]:
    """``values`` but those at ``columns``."""
    return [v for i, v in enumerate(values) if i not in columns]


def _read_csv(
    path: Path, text: str, mapping: Mapping[str, str], filled: Collection[str] = ()
) -> SourceFile:
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(len(text) + 1)  # MAX_FIELD below is the limit that names a column
    try:
        first = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        first = []  # said below, as for any file
    if any(not name.strip() for name in first):  # (read twice only then)
        try:
            records = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:
            records = []  # said below, as for any file
        if records and (blank := _blank_columns(records[0], records[1:])):
            out = io.StringIO(newline="")
            csv.writer(out, lineterminator="\n").writerows(_without(r, blank) for r in records)
            text = out.getvalue()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        raw_header = list(reader.fieldnames or [])
    except csv.Error as err:
        raise ImportRejected(str(path), [RowError(1, "", "", f"not CSV: {err}")]) from err
    later = enumerate(itertools.islice(csv.reader(io.StringIO(text, newline="")), 1, 11), 2)
    head = _header_or_later(path, raw_header, later, mapping, filled)
    reader.fieldnames = head.fields
    rows: list[SourceRow] = []
    errors: list[RowError | None] = []
    try:
        for number, raw in enumerate(reader, start=2):
            values = {k: unguard((v or "").strip()) for k, v in raw.items() if k is not None}
            said = [e for k, v in values.items() if (e := _value_error(number, head.column(k), v))]
            errors += said
            short = any(v is None for k, v in raw.items() if k is not None)
            spans = [  # (a value past the limit is already said to be an unclosed quote)
                k
                for k, v in raw.items()
                if k is not None and v and "\n" in v and len(v) <= MAX_FIELD
            ]
            if short and spans:  # a quote opened in it and never closed took the next lines
                at = spans[-1]
                errors.append(RowError(number, head.column(at), values[at][:40], _UNCLOSED))
                continue
            cut = [k for k, v in raw.items() if k is not None and v is None]
            if (
                short
                and not said
                and any(values.values())
                and set(cut) & set(REQUIRED[head.layout])
            ):
                # A row that stops before a column it needs: said so, not as that column's
                # value being wrong ("unknown service id", of a value never given).
                n, last = len(head.fields) - len(cut), head.fields[len(head.fields) - len(cut) - 1]
                message = (
                    f"the row has {n} of the header's {len(head.fields)} values, and stops "
                    f"after {head.column(last)!r}: a row cut short, or a line break in a value "
                    "not in double quotes"
                )
                errors.append(RowError(number, head.column(cut[0]), "", message))
                continue
            if None in raw:
                more = [str(v) for v in raw[None]]
                hint = "a value with a comma needs double quotes"
                errors.append(_extra(number, more, raw_header, hint))
            if any(values.values()):  # skip blank lines
                values = {_KNOWN_TO_PROJECT.get(k, k): v for k, v in values.items()}
                rows.append(SourceRow(number, values, head.columns))
    except csv.Error as err:  # e.g. another thread lowered the field limit
        errors.append(RowError(reader.line_num, "", "", f"not CSV: {err}"))
    if found := [e for e in errors if e is not None]:
        raise ImportRejected(str(path), found)
    return SourceFile(head.layout, rows, head.warnings)


def _read_cells(
    path: Path,
    raw_header: Sequence[str],
    cells: Iterable[tuple[int, Sequence[Any]]],
    mapping: Mapping[str, str],
    filled: Collection[str] = (),
) -> SourceFile:
    """A workbook sheet's rows read as :func:`_read_csv` reads a CSV file's."""
    cells = list(cells)
    later = ((n, [_cell_text(v, "") for v in row]) for n, row in cells[:10])
    head = _header_or_later(path, raw_header, later, mapping, filled)
    width = len(head.fields)
    rows: list[SourceRow] = []
    errors: list[RowError | None] = []
    for number, found in cells:
        values = {f: _cell_text(v, f).strip() for f, v in zip(head.fields, found, strict=False)}
        errors += [_value_error(number, head.column(k), v) for k, v in values.items()]
        if extra := [_cell_text(v, "") for v in found[width:] if v is not None]:
            errors.append(_extra(number, extra, raw_header, "cells under no heading"))
        if any(values.values()):  # skip blank rows
            values = {_KNOWN_TO_PROJECT.get(k, k): v for k, v in values.items()}
            rows.append(SourceRow(number, values, head.columns))
    if bad := [e for e in errors if e is not None]:
        raise ImportRejected(str(path), bad)
    return SourceFile(head.layout, rows, head.warnings)


def _extra(row: int, extra: list[str], header: Sequence[str], hint: str) -> RowError:
    message = f"{len(extra)} more value(s) than the header's {len(header)} columns "
    message += f"(after {header[-1].strip()!r}); {hint}"
    return RowError(row, "", ", ".join(extra), message)


_UNCLOSED = (
    "opens a double quote that is never closed: the lines after it were read into this one "
    "value, and the row has too few values (close the quote, or remove it)"
)


def _header_error(header: Sequence[str], name: str) -> RowError | None:
    count = header.count(name)
    if not name:
        return RowError(1, "", "", "a column has no name")
    if count > 1:
        return RowError(1, name, "", f"this column appears {count} times; keep one")
    return None


def _value_error(row: int, column: str, value: str) -> RowError | None:
    shown = value[:40] + "…" if len(value) > 40 else value
    if len(value) > MAX_FIELD:
        message = f"{len(value):,} characters: longer than {MAX_FIELD:,} (an unclosed quote?)"
        return RowError(row, column, shown, message)
    if "\x00" in value:
        return RowError(row, column, shown.replace("\x00", "\\x00"), "holds a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in value):
        return RowError(row, column, ascii(shown), "holds a lone surrogate: not text")
    return None


def _ignored(header: Sequence[str], fields: Sequence[str], expected: Sequence[str]) -> list[str]:
    """Say which columns no layout reads (they are ignored; a typo of an optional one?)."""
    read = (*expected, *_LISTS)
    out = []
    for name, f in zip(header, fields, strict=True):
        if f in read or f in _EXPORTED:
            continue
        near = closest(f, read, limit=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        out.append(f"column {name!r} is not read and was ignored{hint}")
    return out


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once."""

    repeated: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> _Object:
    found = _Object(pairs)
    keys = [k for k, _ in pairs]
    found.repeated = tuple(k for k in dict.fromkeys(keys) if keys.count(k) > 1)
    return found


def _json_int(text: str) -> int | str:
    # Python refuses to convert integers of thousands of digits: keep such a value as its text
    # (the row's check then says it is not a plausible year or figure, naming row and field).
    return int(text) if len(text) <= 1000 else text


def _read_json(path: Path, text: str) -> SourceFile:
    try:
        payload = json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int)
    except json.JSONDecodeError as err:
        raise ImportRejected(
            str(path), [RowError(err.lineno, "", "", f"not JSON: {err.msg}")]
        ) from err
    except RecursionError:
        message = "not JSON this importer reads: nested too deeply"
        raise ImportRejected(str(path), [RowError(1, "", "", message)]) from None
    except ValueError as err:
        raise ImportRejected(str(path), [RowError(1, "", "", f"not JSON: {err}")]) from err
    items = payload.get("arrangements") if isinstance(payload, dict) else payload
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        message = "expected a list of objects under 'arrangements'"
        raise ImportRejected(str(path), [RowError(1, "arrangements", "", message)])
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    keys: dict[str, None] = {}
    for n, item in enumerate(items, 1):
        for key in getattr(item, "repeated", ()):
            errors.append(RowError(n, key, "", "this field appears twice in the object"))
        values = {}
        for key, value in item.items():
            keys[key] = None
            if (bad := _value_error(n, "field name", key)) is not None:
                errors.append(bad)
            elif not _scalar_or_list(value):
                if key in _READ:  # others (an export's "members") are not read: ignored
                    message = "expected text, a number or a list of them"
                    errors.append(RowError(n, key, "", message))
            elif (bad := _value_error(n, key, text := _text(value))) is not None:
                errors.append(bad)
            else:
                values[key] = text
        rows.append(SourceRow(n, values))
    if errors:
        raise ImportRejected(str(path), errors)
    return SourceFile("json", rows, _ignored(list(keys), list(keys), PROJECT_COLUMNS))


def _scalar_or_list(value: Any) -> bool:
    scalar = (str, int, float, bool, type(None))
    return isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, float) and not value.is_integer():
        # As given, checked as given: 2015.996 is no year, though "2016.00" to two places;
        # NaN is "nan", refused as not a figure (not an empty cell, asked for).
        return repr(value)
    return format_value(value).strip()


# Validation ------------------------------------------------------------------------------------


def validate(
    rows: Sequence[SourceRow],
    directory: Directory,
    services: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> tuple[list[Candidate], list[RowError]]:
    """Check every row; return the valid arrangements and every problem found, in row order.

    A service is one of the ``services`` ids or, given ``labels`` (a case-folded label to its
    id, :func:`recommender.core.services.service_labels`), named by its label ("Legal
    services"), as another tool's register may name it."""
    candidates: list[Candidate] = []
    errors: list[RowError] = []
    for source in rows:
        check = _RowCheck(source, directory, tuple(services), labels or {})
        candidate = check.candidate()
        errors.extend(check.errors)
        if not check.errors:
            candidates.append(candidate)
    return candidates, errors


def check_fill(
    fill: Mapping[str, str],
    directory: Directory,
    services: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> None:
    """Check a fill's values as a row's would be checked, once for the file rather than on
    every row it fills; raise :class:`InvalidInput` (``field="fill"``) naming the first wrong
    one, with the closest valid values."""
    values = {_KNOWN_TO_PROJECT.get(k, k): v for k, v in fill.items()}
    mine = {f"{name} (filled)": name for name in values}
    probe = SourceRow(0, values, {name: label for label, name in mine.items()})
    check = _RowCheck(probe, directory, tuple(services), labels or {})
    check.candidate()
    for error in check.errors:  # (what the probe lacks, a name or partners, is not the fill's)
        if error.column in mine:
            raise InvalidInput(f"fill {mine[error.column]}={error.value!r}: {error.message}",
                               field="fill", suggestions=list(error.suggestions))  # fmt: skip


class _RowCheck:
    """Turn one row's text into typed values, collecting a RowError for each problem."""

    def __init__(
        self,
        source: SourceRow,
        directory: Directory,
        services: tuple[str, ...],
        labels: Mapping[str, str],
    ):
        self.source, self.directory, self.services = source, directory, services
        self.labels = labels
        self.errors: list[RowError] = []
        self.warnings: list[str] = []

    def get(self, name: str) -> str:
        return self.source.values.get(name, "")

    def error(
        self, name: str, message: str, allowed: Sequence[str] = (), value: str | None = None
    ) -> None:
        shown = self.get(name) if value is None else value
        near = tuple(closest(shown, allowed, limit=3)) if allowed and shown else ()
        column = self.source.columns.get(name, name)
        self.errors.append(RowError(self.source.row, column, shown, message, near))

    def choice(self, name: str, allowed: Sequence[str], default: str) -> str:
        value = self.get(name).lower() or default
        if value and value not in allowed:
            self.error(name, "expected one of " + ", ".join(allowed), allowed)
        return value

    def integer(self, name: str, low: int, high: int, what: str) -> int | None:
        text = self.get(name)
        try:
            number = float(text) if text and written_number(text) else (0.5 if text else None)
        except ValueError:
            number = 0.5  # not a number: reported below as not whole
        if number is None:
            return None
        if not number.is_integer():
            self.error(name, f"expected a whole number ({what})")
        elif not low <= number <= high:
            self.error(name, f"impossible {what}; expected {low} to {high}")
        else:
            return int(number)
        return None

    def flag(self, name: str) -> bool | None:
        text = self.get(name).lower()
        if text and text not in _BOOLEANS:
            self.error(name, "expected true or false")
        return _BOOLEANS.get(text)

    def savings(self) -> float | None:
        text = self.get("savings_gbp").strip().removeprefix("£").strip()  # "£ 1,200,000"
        if "," in text and not text.strip("0123456789,."):  # commas in a figure, nothing else
            if not _THOUSANDS.match(text):
                self.error(
                    "savings_gbp",
                    "a comma may only separate thousands (e.g. 1,200,000); write a decimal "
                    "point, not a comma",
                )
                return None
            text = text.replace(",", "")
        try:
            if text and not written_number(text):
                raise ValueError(text)
            value = float(text) if text else None
        except ValueError:
            self.error("savings_gbp", "expected a number of pounds, e.g. 250000")
            return None
        if value is not None and not 0 <= value <= MAX_SAVINGS_GBP:
            reason = "not a figure" if value != value else "implausible"  # NaN
            if value < 0:
                reason = "negative"
            message = f"expected a figure of 0 or more pounds, at most £{MAX_SAVINGS_GBP:,}"
            self.error("savings_gbp", f"{reason}: {message}")
            return None
        return value

    def candidate(self) -> Candidate:
        if not (name := self.get("name")):
            self.error("name", "an arrangement needs a name")
        given_id = self.get("id") or None
        if given_id is not None and not _ID.match(given_id):
            self.error("id", "expected letters, digits, '-', '_' or '.' (at most 64)")
        service = self.get("service").lower()
        service = self.labels.get(" ".join(service.casefold().split()), service)
        if service not in self.services:
            message = "unknown service id" + (" or label" if self.labels else "")
            self.error("service", message, self.services)
        year = current_year()
        start = self.integer("start_year", FIRST_YEAR, year, "year")
        end = self.integer("end_year", FIRST_YEAR, year, "year")
        if start is not None and end is not None and end < start:
            self.error("end_year", f"the end year is before the start year {start}")
        status = self.choice("status", STATUSES, "ended" if end is not None else "unknown")
        if status in ("active", "proposed") and end is not None:
            self.error(
                "status",
                f"{status!r} with an end year ({end}); expected ended, or no end year",
            )
        figure = self.savings()
        given = bool(self.get("savings_gbp"))
        basis = self.choice("savings_basis", SAVINGS_BASES, "" if given else "unknown")
        period = self.integer("savings_period_years", 1, MAX_PERIOD_YEARS, "number of years")
        self.check_basis(figure, basis, period)
        aim = self.flag("savings_aim")
        simulated = bool(self.flag("simulated"))  # (read once: a bad value is one error)
        self.check_origin(given_id, simulated)
        if not self.get("source") and not simulated:
            self.warnings.append(  # said wherever it is shown: "no source was recorded"
                "no source: a real arrangement should name its public source (a web address "
                "or a document reference); pages will say none was recorded"
            )
        members, identities = self.members(start)
        return Candidate(
            *(self.source.row, given_id, name, service, start, end, status),
            *(
                figure,
                basis,
                period,
                not (figure == 0 and basis == "annual") if aim is None else aim,
            ),
            *(self.get("source"), self.get("note"), simulated),
            *(members, identities, tuple(self.warnings)),
            given=frozenset(k for k, v in self.source.values.items() if str(v).strip()),
        )

    def check_origin(self, given_id: str | None, simulated: bool) -> None:
        """A row the simulator made (its source, its note, an ``S-`` id) that does not say
        simulated=true is refused: imported as real, a body's page would list it as its own
        history. And a simulated row may not take a real arrangement's ``R-`` id."""
        marks = [
            f"{what} {value if len(value) <= 48 else value[:47] + '…'!r}"
            for what, value, mark in (
                ("source", self.get("source"), self.get("source").startswith(SIMULATOR_SOURCE)),
                ("note", self.get("note"), self.get("note").strip() == SIMULATOR_NOTE),
                ("id", given_id or "", (given_id or "").upper().startswith("S-")),
            )
            if mark
        ]
        if marks and not simulated:
            self.error(
                "simulated",
                f"the row has the marks of a simulated arrangement ({'; '.join(marks)}) but "
                "is not marked simulated=true: a simulated arrangement is never imported as a "
                "real one (mark it simulated, or give a real arrangement its own id, source "
                "and note)",
            )
        elif simulated and (given_id or "").upper().startswith("R-"):
            self.error("id", "an R- id is a real arrangement's: a simulated one's is S- or none")

    def check_basis(self, figure: float | None, basis: str, period: int | None) -> None:
        if basis == "":
            self.error(
                "savings_basis", "a savings figure needs its basis: " + ", ".join(SAVINGS_BASES)
            )
        elif not self.get("savings_gbp") and basis != "unknown":
            self.error("savings_gbp", f"basis {basis!r} needs a savings figure")
        if basis == "cumulative" and period is None and not self.get("savings_period_years"):
            self.error("savings_period_years", "a cumulative figure needs the years it covers")
        elif period is not None and basis in ("annual", "to_date", "unknown"):
            message = f"a period does not apply to basis {basis!r} (use 'cumulative' for N years)"
            self.error("savings_period_years", message)

    def members(self, start: int | None = None) -> tuple[tuple[Member, ...], tuple[str, ...]]:
        tokens = _split(self.get("partners"))
        n = len(tokens)
        if "partner_types" in self.source.values:  # the known layout
            types = self.listed("partner_types", n, "type(s)", PARTNER_TYPES, required=True)
            roles = ["external" if t == "other" else "partner" for t in types or [""] * n]
            kinds = [t if t in PARTNER_TYPES else "" for t in types or [""] * n]
        else:
            roles = self.listed("partner_roles", n, "role(s)", ROLES) or ["partner"] * n
            read_as = self.listed("partner_kinds", n, "kind(s)", PARTNER_KINDS, blank=True)
            kinds = read_as or [""] * n
            for kind, role, token in zip(kinds, roles, tokens, strict=True):
                if kind and (role == "external") != (kind in EXTERNAL_KINDS):
                    what = "an external member's kind" if role == "external" else "a body's kind"
                    message = f"{kind!r} for a partner with role {role!r}: expected {what}"
                    self.error("partner_kinds", message, value=token)
        given = self.listed("partner_names", n, "name(s)") or tokens
        resolved = [
            (token, *hit)
            for token, kind, role, name in zip(tokens, kinds, roles, given, strict=True)
            if (hit := self.resolve(token, kind or None, role, name)) is not None
        ]
        said = dict(zip(tokens, kinds, strict=True))
        resolved = self.predecessors(resolved, said, dict(zip(tokens, given, strict=True)), start)
        for token, found, _ in resolved:  # a type that is not what the name resolved to
            actual = {self.directory.kinds.get(m.body_code or "", "") for m in found} - {""}
            if said[token] not in ("", "other") and actual and said[token] not in actual:
                code = str(found[0].body_code)
                today = f"{self.directory.names.get(code, code)} ({code})"
                self.warnings.append(
                    f"{token!r} is listed as {said[token]}, but names "
                    f"{today}, a {' or '.join(sorted(actual))} body: imported as that"
                )
        members: list[Member] = []
        identities: list[str] = []
        for token, found, identity in resolved:
            twins = [(t, f) for t, f, i in resolved if i == identity]
            names = [normalise_name(t) for t, _ in twins]
            if len(twins) > 1 and len(set(names)) == len(names) and _by_variant(twins):
                # Two names for one body today: bodies merged since (e.g. the Devon and the
                # Somerset fire services, 2007). Kept as two partners, and said so.
                identity += "/" + normalise_name(token)
                if token == twins[0][0]:
                    code = str(found[0].body_code)
                    named = " and ".join(repr(t) for t, _ in twins)
                    today = f"{self.directory.names.get(code, code)} ({code})"
                    self.warnings.append(f"{named} are one body today, {today}: kept apart")
            elif identity in identities:
                self.error("partners", "this partner is listed twice", value=token)
            members.extend(found)
            identities.append(identity)
        # Companies and agencies do not make a sharing arrangement on their own; public
        # organisations outside the reference (NHS trusts, town councils) do.
        public = {
            identity
            for identity, member in zip(identities, (f[0] for _, f, _ in resolved), strict=True)
            if member.external_kind in (None, *PUBLIC_EXTERNAL_KINDS)
        }
        if len(public) < 2 and len(identities) == len(tokens):
            message = "an arrangement needs two or more distinct public organisations as partners"
            self.error("partners", f"{message}; found {len(public)}")
        return tuple(members), tuple(sorted(identities))

    def predecessors(
        self,
        resolved: list[tuple[str, list[Member], str]],
        kinds: Mapping[str, str],
        given: Mapping[str, str],
        start: int | None,
    ) -> list[tuple[str, list[Member], str]]:
        """``resolved`` with each name that a current body took over from the body it replaced
        read as that predecessor where the arrangement is older than the current body: it
        began before the year the predecessor went (its start year, or a member that went
        that year or before: "Ryedale" with "North Yorkshire" is North Yorkshire County
        Council, both gone in 2023). "Somerset" in a 2013 arrangement was Somerset County
        Council, not the Somerset Council of 2023."""
        find = self.directory.predecessor
        if find is None:
            return resolved
        hint = {t: k if k in KINDS else None for t, k in kinds.items()}  # as resolved
        bounds = [] if start is None else [start + 1]  # began before this year
        for token, found, _ in resolved:
            if any(m.resolution.startswith("former:") for m in found):
                note = getattr(self.directory.resolve(token, hint[token]), "note", "")
                if (year := gone_in(str(note))) is not None:
                    bounds.append(year)
        if not bounds:
            return resolved
        before = min(bounds)
        out = []
        for token, found, identity in resolved:
            was = None
            if found and all(m.resolution in ("exact", "alias") for m in found):
                was = find(token, hint[token])
            year = None if was is None else gone_in(str(getattr(was, "note", "")))
            if was is None or year is None or before > year:
                out.append((token, found, identity))
                continue
            role = found[0].role
            out.append((token, *self.former(token, given[token], role, was)))
        return out

    def former(
        self, token: str, given: str, role: str, res: ResolutionLike
    ) -> tuple[list[Member], str]:
        """The members a name for a body since abolished or merged stands for (the bodies
        that cover it today), said so, and its identity."""
        names = self.directory.names
        was = res.matched if res.alias_type == "former" and res.matched else token
        year = gone_in(str(getattr(res, "note", "")))
        if year is not None and {names.get(c) for c in res.codes} == {was}:
            was = f"{was} until {year}"  # one that had the name of the body now, said apart
        label = "former" if res.alias_type == "former" else "predecessor"
        found = [Member(c, given, role, f"{label}: {was} → {names.get(c, c)}") for c in res.codes]
        today = " and ".join(f"{names.get(c, c)} ({c})" for c in res.codes)
        gone = "a body since abolished or merged" if label == "former" else "an NHS body"
        self.warnings.append(f"{token!r} names {gone}: read as {today}, covering it today")
        return found, res.former_code or "n:" + normalise_name(was)

    def listed(
        self,
        name: str,
        count: int,
        what: str,
        allowed: Sequence[str] = (),
        required: bool = False,
        blank: bool = False,
    ) -> list[str] | None:
        """Return the ``;``-separated values of a column, one per partner (None if unusable);
        with ``blank``, a partner's may be empty (none given)."""
        if not self.get(name) and not required:
            return None
        values = _split(self.get(name))
        values = [v.lower() for v in values] if allowed else values
        for value in (v for v in values if allowed and v not in allowed and (v or not blank)):
            said = "expected " + ", ".join(allowed) + (" or nothing" if blank else "")
            self.error(name, said, allowed, value)
        if len(values) != count:
            self.error(name, f"{len(values)} {what} for {count} partner(s)")
            return None
        return values

    def resolve(
        self, token: str, kind: str | None, role: str, given: str
    ) -> tuple[list[Member], str] | None:
        """Return the member(s) a partner stands for and the partner's identity."""
        if not token:
            self.error("partners", "an empty partner name (two ';' in a row?)")
            return None
        # The project layout says an external member so itself, and its kind (as an export
        # writes it: "other" too); the known layout's type "other" may name a public body.
        known = "partner_types" in self.source.values
        if role == "external" and (kind != "other" or not known):
            said = kind if kind in EXTERNAL_KINDS else external_kind(token)
            return self.external(token, given, said or "other")
        names = self.directory.names
        role = "partner" if role == "external" else role  # "other" may name a public body
        as_kind = kind if kind in KINDS else None
        if _CODE.match(token.upper()) and token.upper() in names:
            code = token.upper()
            return [Member(code, given, role, self.read_as(code, given, as_kind))], code
        try:
            res = self.directory.resolve(token, as_kind)
        except UnknownBody as err:
            outside = "other" if kind == "other" else external_kind(token)
            if outside is not None:
                return self.external(token, given, outside)
            hint = f" of kind {kind!r}" if kind else ""
            message = f"no public body{hint} has this name"
            # What the reference said of it: the council type it names, or the partners it joins
            prefix = f"no public body matches {token!r}"
            said = err.detail[len(prefix) :].lstrip(":;, ") if err.detail.startswith(prefix) else ""
            message += f": {said}" if said and len(said) <= 400 else ""  # (never the value)
            near = tuple(err.suggestions[:5])
            column = self.source.columns.get("partners", "partners")
            self.errors.append(RowError(self.source.row, column, token, message, near))
            return None
        if res.alias_type in ("former", "nhs_predecessor"):
            return self.former(token, given, role, res)
        if res.alias_type == "rule":
            found = [
                Member(c, given, role, f"rule: {token} → {names.get(c, c)}") for c in res.codes
            ]
            return found, "+".join(sorted(res.codes))
        how = "exact" if res.alias_type == "official" else "alias"
        if res.others and as_kind is None:  # ("Durham" typed other: the council, or police?)
            read = and_list([f"{names.get(c, c)} ({c})" for c in res.codes])
            also = and_list([f"{names.get(c, c)} ({c})" for c in res.others])
            self.warnings.append(
                f"partner {token!r} also names {also}: read as {read}; give its type or code "
                "to mean another"
            )
        return [Member(c, given, role, how) for c in res.codes], "+".join(sorted(res.codes))

    def read_as(self, code: str, given: str, kind: str | None = None) -> str:
        """How a partner given by its code, beside the name its source gave (an export of the
        register writes both), was read: as that name reads when it names this body alone
        ("Avon and Somerset Police Authority" by rule, "Essex Police" as a variant), so the
        name's reading survives an export and import; "exact" for the code alone, beside the
        body's own name, or beside a name that reads as another body or none."""
        names = self.directory.names
        if normalise_name(given) in ("", normalise_name(code), normalise_name(names[code])):
            return "exact"
        try:
            res = self.directory.resolve(given, kind)
        except UnknownBody:
            return "exact"
        if list(res.codes) != [code]:
            return "exact"
        if res.alias_type == "rule":
            return f"rule: {given} → {names[code]}"
        exact = res.alias_type in ("official", "former", "nhs_predecessor")
        return "exact" if exact else "alias"

    def external(self, token: str, given: str, kind: str) -> tuple[list[Member], str]:
        """An organisation outside the public bodies the product ranks, kept by name."""
        if kind != "other":
            what = EXTERNAL_KINDS[kind]
            self.warnings.append(f"{token!r} kept as an external member ({what})")
        member = Member(None, given, "external", "external", external_kind=kind)
        return [member], "x:" + normalise_name(token)


def _by_variant(twins: Sequence[tuple[str, Sequence[Member]]]) -> bool:
    """Whether every one of these partners was named by a variant (not a code or official name)."""
    return all(
        m.resolution == "alias" or m.resolution.startswith("rule:")
        for _, found in twins
        for m in found
    )


def _split(text: str) -> list[str]:
    """A list cell's values: ``;`` between them, or one a line (a spreadsheet cell's own line
    breaks, as another tool's export lists partners)."""
    return [t.strip() for t in _LIST_BREAK.split(text.strip())] if text.strip() else []


_LIST_BREAK = re.compile(r"\s*(?:;|\r\n|\r|\n)\s*")


# Writing ---------------------------------------------------------------------------------------


def atomic_write(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (or bytes) to ``path`` through a temporary sibling, so no reader sees
    half a file."""
    return atomic_write_all({path: text})[0]


def atomic_write_all(files: Mapping[Path, str | bytes]) -> list[Path]:
    """Write several files together: every temporary sibling first, then a journal, then the
    renames, so that a failure or a kill at any point leaves all the old files or (finished by
    the next reader, :func:`recommender.core.atomic.reading`) all the new."""
    return atomic.write_files(files)


def csv_text(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, spreadsheet: bool = False
) -> str:
    """Return ``rows`` as CSV with ``columns``, each value written the same way every time.

    ``spreadsheet``: the file is for people to open (an export), so text a spreadsheet would
    run as a formula gets a leading ``'`` (:func:`spreadsheet_cell`); numbers stay numbers.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = [row.get(c) for c in columns]
        writer.writerow(spreadsheet_cell(v) if spreadsheet else format_value(v) for v in values)
    return out.getvalue()


_XLSX_WIDTHS = {
    "name": 44,
    "service": 26,
    "partners": 50,
    "partner_names": 50,
    "source": 40,
    "note": 60,
}


def xlsx_bytes(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], title: str) -> bytes:
    """Return ``rows`` as an Excel workbook with ``columns`` (a sheet named ``title``), which
    :func:`read_file` reads back as the same values: text stays text (never a formula, whatever
    it starts with), numbers numbers, flags true/false."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for j, column in enumerate(columns, 1):  # room for the long texts, the rest as headed
        width = _XLSX_WIDTHS.get(column, max(10, len(column) + 2))
        sheet.column_dimensions[get_column_letter(j)].width = width

    def cell(value: Any, bold: bool = False) -> Any:
        from openpyxl.cell import WriteOnlyCell

        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and value != value:  # NaN: not given
            value = None
        if isinstance(value, str):  # (control characters cannot be written in XML: taken
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # out before the cell checks them)
        out = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            out.data_type = "s"  # openpyxl would store "=…" as a formula
        if bold:
            out.font = Font(bold=True)
        return out

    sheet.append([cell(c, bold=True) for c in columns])
    for row in rows:
        sheet.append([cell(row.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# ("=HYPERLINK(...)" runs when the file is opened): CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_GUARDED = re.compile("^'*[" + re.escape("".join(FORMULA_STARTS)) + "]")


def spreadsheet_cell(value: Any) -> str:
    """Return a cell as :func:`format_value` does, with a leading ``'`` if it is text that a
    spreadsheet would read as a formula. Numbers (``-5``, also written as text) are kept.

    Text already starting with quotes then a formula character gets one more quote, so that
    :func:`unguard` gives back exactly what was written.
    """
    text = format_value(value)
    if isinstance(value, str) and _GUARDED.match(text) and not DECIMAL.fullmatch(text):
        return "'" + text
    return text


def unguard(text: str) -> str:
    """Undo :func:`spreadsheet_cell` (an exported file imports as the same arrangements)."""
    return text[1:] if text.startswith("'") and _GUARDED.match(text) else text


def format_value(value: Any) -> str:
    """Return a cell as text: '' for missing, true/false, whole numbers without '.0'."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return str(value)


def partner_tokens(
    members: Sequence[Mapping[str, Any]], kinds: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Return the ``partners``, ``partner_roles``, ``partner_names`` and ``partner_kinds`` that
    import again as the same members.

    A current body is written as its code, unless two members share it (bodies merged since);
    an abolished council by the name it was given (it resolves again to all its successors,
    once); an external partner by its name. Each with the kind its name was read as (``kinds``:
    code to kind), an external member's own: "Devon" of a fire service, since merged with
    Somerset's, read again as the council of Devon without it.
    """
    lists = ("partners", "partner_roles", "partner_names", "partner_kinds")
    out: dict[str, list[str]] = {k: [] for k in lists}
    codes = [m.get("body_code") for m in members]
    for member in members:
        code = member.get("body_code")
        former = str(member.get("resolution", "")).startswith(("former:", "predecessor:"))
        by_name = former or not code or codes.count(code) > 1
        token = str(member["name_as_given"]) if by_name else str(code)
        if token not in out["partners"]:
            out["partners"].append(token)
            out["partner_roles"].append(str(member["role"]))
            out["partner_names"].append(str(member["name_as_given"]))
            kind = (kinds or {}).get(str(code), "") if code else member.get("external_kind")
            out["partner_kinds"].append(str(kind or ""))
    return out


def geojson_text(
    records: Sequence[Mapping[str, Any]], lonlat: Mapping[str, tuple[float, float]]
) -> str:
    """Return a FeatureCollection: each arrangement a MultiPoint of its members' centroids."""
    features = []
    for record in records:
        codes = dict.fromkeys(m["body_code"] for m in record["members"] if m["body_code"])
        points = [[round(v, 6) for v in lonlat[c]] for c in codes if c in lonlat]
        properties = {k: v for k, v in record.items() if k != "members"}
        properties["partner_names"] = [m["name"] for m in record["members"]]
        geometry = {"type": "MultiPoint", "coordinates": points} if points else None
        features.append(
            {"type": "Feature", "id": record["id"], "geometry": geometry, "properties": properties}
        )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, indent=1, ensure_ascii=False) + "\n"
