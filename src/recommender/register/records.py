"""The register of shared-service arrangements: import, storage, queries and the default register.

Annualisation (``annual_savings_gbp``)
--------------------------------------
Published savings come on different bases. The register keeps each figure with its basis as
given and derives one annual estimate; figures of different bases are never added together.

==========  ===================================================================================
basis       annual estimate
==========  ===================================================================================
annual      the figure
cumulative  figure / N, N = ``savings_period_years`` (required)
to_date     figure / max(1, 2019 − start_year), 2019 being the year of the LGA's last map; when
            the start year is unknown, figure / 5 (flagged by :func:`annualisation_note`)
projected   figure / N when N is given; without N, the figure is read as a year (flagged)
unknown     NULL, never 0: an unknown saving is not a zero saving
==========  ===================================================================================

Where the rule assumes a period the source does not give (:func:`annual_assumption`), every
place showing the annual estimate says so ("£3.4m projected, no period recorded with it: read as
a year").

A figure of 0 on the annual basis is a real zero; with ``savings_aim`` False it marks an
arrangement that was not set up to save money.

A few real arrangements' figures say more in their source's own words than their basis does
("to save £6m by 2020" is projected, but over five years, not a year; "£15.5m of losses
prevented" is no service-cost saving at all). ``savings_readings.csv`` reads each of those
from the words it quotes (:func:`savings_reading`, checked against the source by the tests):
its annual estimate, or none, replaces the rule's, and what is shown says how it was read.
The known layout has no end year nor status: ``end_readings.csv`` reads that an arrangement
ended, and the year when the words give one, from its note's words in the same way
(:func:`end_reading`), or from another's note that says it ("After leaving the South Northants
partnership"). A term the words give, since passed, is read as an end too ("Six-month trial"
from 2023, "one-year agreement from April 2024"): the term ended, and what followed it, if
anything, is not documented; the reading says so (``why``). The arrangement's page says how it
was read (:func:`end_read`).

Identity
--------
``fingerprint`` is a SHA-256 of whether the arrangement is simulated, its service, its start year
and the sorted identities of its partners: a current body's code; an abolished council's former
code (so Chiltern with South Bucks stays two partners although both are now Buckinghamshire);
``x:`` and the name of an external partner. Importing the same arrangement again adds nothing.
Ids are ``R-`` (real) or ``S-`` (simulated) followed by the fingerprint's first 8 hex digits.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from recommender.core.config import Settings
from recommender.core.errors import ImportRejected, InvalidInput, RowError, UnknownArrangement
from recommender.core.names import (
    FORMER_RESOLUTIONS,
    and_list,
    closest,
    closest_ids,
    former_name,
    normalise,
)
from recommender.core.services import check_service, service_ids, service_labels
from recommender.database import db
from recommender.register import writes as store
from recommender.register.files import (
    Candidate,
    Directory,
    atomic_write,
    check_fill,
    csv_text,
    geojson_text,
    partner_tokens,
    read_file,
    read_source,
    validate,
    xlsx_bytes,
)

TO_DATE_YEAR = 2019  # a total "to date" runs to here: the register keeps no source's date
# Why, as a figure spread to it says ("to date, … from 2013 to 2019, …").
TO_DATE_SAID = "the source's date is not kept, and 2019 is when the LGA last counted"
UNKNOWN_START_YEARS = 5
ARRANGEMENT_COLUMNS = tuple(c.name for c in db.arrangements.columns if c.name != "import_id")
MEMBER_COLUMNS = tuple(c.name for c in db.members.columns)
EXPORT_FORMATS = ("csv", "xlsx", "json", "geojson")


def annualise(
    figure: float | None, basis: str, period: int | None, start_year: int | None
) -> float | None:
    """Return the annual estimate of a savings figure (the rule in the module docstring)."""
    if figure is None or basis == "unknown":
        return None
    if basis == "annual" or (basis == "projected" and not period):
        return float(figure)
    if basis in ("cumulative", "projected"):
        if not period:
            raise InvalidInput("a cumulative figure needs its period", field="savings_period_years")
        return figure / period
    if basis == "to_date":
        years = UNKNOWN_START_YEARS if start_year is None else max(1, TO_DATE_YEAR - start_year)
        return figure / years
    raise InvalidInput(f"unknown savings basis {basis!r}", field="savings_basis")


@dataclass(frozen=True)
class SavingsReading:
    """How a real arrangement's figure reads in its source's own words (see the module
    docstring): the annual estimate (None: no annual saving to draw) and the words saying so."""

    annual: float | None
    reading: str
    source_words: str


def _readings(name: str) -> list[dict[str, str]]:
    """The rows of a curated reading of the sources' words shipped with the package."""
    path = resources.files("recommender.register").joinpath(name)
    with path.open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return list(frame.to_dict("records"))  # type: ignore[arg-type]


@functools.cache
def _savings_readings() -> dict[tuple[str, float], SavingsReading]:
    return {
        (r["name"], float(r["savings_gbp"])): SavingsReading(
            float(r["annual_savings_gbp"]) if r["annual_savings_gbp"] else None,
            r["reading"],
            r["source_words"],
        )
        for r in _readings("savings_readings.csv")
    }


@dataclass(frozen=True)
class EndReading:
    """How a real arrangement's end reads in the sources' words (see the module docstring): the
    year it ended (None: the words give none), the words, and the arrangement whose note holds
    them when it is another's (None: its own). "After leaving the South Northants partnership,
    Cherwell proposed a joint chief executive with its county" ends Cherwell's arrangements
    with South Northamptonshire, whose own notes do not say so."""

    year: int | None
    source_words: str
    words_from: str | None = None
    why: str | None = None

    def said(self) -> str:
        """How the end was read, as a sentence; with :attr:`why` when the words give a term,
        not an end ("Six-month trial": what followed it is not documented).

        >>> EndReading(2021, "partnership ended c.2021").said()
        'Read from its source’s words “partnership ended c.2021”.'
        >>> EndReading(None, "agreed a temporary sharing", why="no source says it went on").said()
        'Read from its source’s words “agreed a temporary sharing”: no source says it went on.'
        """
        return "".join(part or "" for part in self.said_parts())

    def said_parts(self) -> tuple[str, str | None, str]:
        """:meth:`said` in three parts: before the other arrangement's name, that name (None
        when the words are its own note's), and after it; a page links the name."""
        end = f": {self.why}." if self.why else "."
        if self.words_from is None:
            return f"Read from its source’s words “{self.source_words}”{end}", None, ""
        before = f"Read from the words “{self.source_words}” in the note on "
        return before, self.words_from, end

    def to_dict(self) -> dict[str, Any]:
        """As the API gives it, with the sentence the page and ``register show`` say."""
        return {
            "source_words": self.source_words,
            "words_from": self.words_from,
            "why": self.why,
            "said": self.said(),
        }


@functools.cache
def _end_readings() -> dict[str, EndReading]:
    rows = _readings("end_readings.csv")
    return {
        r["name"]: EndReading(
            int(r["end_year"]) if r["end_year"] else None,
            r["source_words"],
            r["words_from"] or None,
            r["why"] or None,
        )
        for r in rows
    }


def term_passed(record: Mapping[str, Any]) -> bool:
    """Whether a real arrangement is read as ended only because a term its source's words give
    has passed ("one-year agreement from April 2024", "Six-month trial", "temporary"): its
    reading has a :attr:`EndReading.why` and no year. No source says that it ended, nor that it
    went on, so it is said "for a limited term, since passed" (:func:`years_said`), never
    "since ended"; it is not known to run, so the ``ended`` filter keeps it (:data:`TERM`).

    >>> term_passed({"name": "Newcastle and Gateshead shared director of public health",
    ...              "status": "ended", "end_year": None})
    True
    >>> term_passed({"name": "Breckland and South Holland shared management team",
    ...              "status": "ended", "end_year": 2021})
    False
    """
    if record.get("simulated") or record.get("left") or not record_ended(record):
        return False
    end = record.get("end_year")
    if end is not None and not pd.isna(end):
        return False
    return " ".join(str(record.get("name") or "").split()) in term_names()


@functools.cache
def term_names() -> frozenset[str]:
    """The names of the real arrangements whose end reading is a term since passed (a ``why``
    and no year): the one list :func:`term_passed` and the query :data:`TERM` read."""
    return frozenset(n for n, r in _end_readings().items() if r.why and r.year is None)


TERM_SAID = "for a limited term, since passed"


def status_shown(record: Mapping[str, Any]) -> str:
    """:func:`status_said` as an arrangement's page, ``register show`` and a download state it:
    "term passed" for one read as ended only because its limited term has passed
    (:func:`term_passed`: no source says it ended), which the ``ended`` filter keeps."""
    return "term passed" if term_passed(record) else status_said(record)


def end_reading(name: str, simulated: bool = False) -> EndReading | None:
    """How a real arrangement ended as the sources' notes say it ("partnership ended c.2021",
    "county paused sharing in 2021", "until the council decided to bring monitoring in-house"):
    the known layout has no end year nor status, and an arrangement that ended is no one's
    running partnership to join, nor a service two bodies "already" share
    (``end_readings.csv``, checked against the notes by the tests)."""
    return None if simulated else _end_readings().get(" ".join(str(name).split()))


@dataclass(frozen=True)
class ExitReading:
    """A member that left a real arrangement that goes on without it, as the source's note
    says it ("H&F left the arrangement in 2022"): the year (None: the words give none) and
    the words."""

    year: int | None
    source_words: str


@functools.cache
def _exit_readings() -> dict[str, dict[str, ExitReading]]:
    out: dict[str, dict[str, ExitReading]] = {}
    for r in _readings("exit_readings.csv"):
        year = int(r["year"]) if r["year"] else None
        out.setdefault(r["name"], {})[r["member_code"]] = ExitReading(year, r["source_words"])
    return out


@functools.cache
def _left_by_name() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in _readings("exit_readings.csv"):
        out.setdefault(r["name"], {})[r["member"]] = (
            f" (left {r['year']})" if r["year"] else (" (left)")
        )
    return out


def left_labels(name: str, given: Sequence[str]) -> list[str]:
    """The names a source gives a real arrangement's members (``given``), each that left it
    while it ran on labelled so ("Hammersmith and Fulham (left 2022)"), as a comparable
    arrangement cited beside a suggestion lists them (:func:`exits_of`'s readings)."""
    left = _left_by_name().get(" ".join(str(name).split()), {})
    return [f"{n}{left.get(n, '')}" for n in given]


@functools.cache
def _exclusion_readings() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in _readings("exclusion_readings.csv"):
        out.setdefault(r["name"], {})[r["excluded"]] = r["source_words"]
    return out


def excluded_from(name: str, simulated: bool = False) -> dict[str, str]:
    """Who a real arrangement's source says it leaves out (a body's code, or a kind of body:
    ``police``, ``fire``), each with the source's words (``exclusion_readings.csv``, checked
    against the notes by the tests): the Nottinghamshire business rates pool "excludes city,
    police and fire". Such a body is never offered it to join."""
    return {} if simulated else _exclusion_readings().get(" ".join(str(name).split()), {})


@dataclass(frozen=True)
class ServiceReading:
    """A service a real arrangement came to share besides the one it is filed under, as its
    source's note says it ("later extended to shared legal services (2019)"): the service id,
    the year (None: the words give none) and the words."""

    service: str
    year: int | None
    source_words: str


@functools.cache
def _service_readings() -> dict[str, tuple[ServiceReading, ...]]:
    out: dict[str, tuple[ServiceReading, ...]] = {}
    for r in _readings("service_readings.csv"):
        year = int(r["year"]) if r["year"] else None
        found = ServiceReading(r["service"], year, r["source_words"])
        out[r["name"]] = (*out.get(r["name"], ()), found)
    return out


def also_shares(name: str, simulated: bool = False) -> tuple[ServiceReading, ...]:
    """The services a real arrangement's source says it was extended to, besides the one it is
    filed under (``service_readings.csv``, checked against the notes by the tests): the
    Evolve programme of three police forces, filed under other services, "later extended to
    shared legal services (2019)". Its members already share those too: none is suggested
    to another for them as new (:func:`running_partnerships`)."""
    return () if simulated else _service_readings().get(" ".join(str(name).split()), ())


def exits_of(name: str, simulated: bool = False) -> dict[str, ExitReading]:
    """The members (body code to reading) that left a real arrangement that goes on without
    them, as its source's note says (``exit_readings.csv``, checked against the notes by the
    tests): for them it has ended, as :func:`end_reading` ends one for all its members. They
    no longer share its service through it, it is listed among their ended arrangements,
    and its page says they left; for the others it runs on."""
    return {} if simulated else _exit_readings().get(" ".join(str(name).split()), {})


def as_member(record: Mapping[str, Any], code: str | None) -> dict[str, Any]:
    """An arrangement as a list of ``code``'s arrangements shows it: one ``code`` left
    (:func:`exits_of`) carries ``left`` (True) and ``left_year``, read as ended for it
    (:func:`record_ended`, :func:`years_said`, :func:`status_said`). ``code`` left only if
    every member that is ``code`` left: a scenario's successor of Hammersmith and Fulham, which
    left the Tri-borough libraries, and of Kensington and Chelsea, which did not, is in them.

    >>> as_member({"members": [{"body_code": "X", "left": True, "left_year": 2022},
    ...                        {"body_code": "X", "left": False}]}, "X").get("left")
    """
    out = dict(record)
    mine = [m for m in record.get("members") or [] if m["body_code"] == code]
    if mine and all(m.get("left") for m in mine):
        out |= {"left": True, "left_year": mine[0].get("left_year")}
    return out


def member_role(member: Mapping[str, Any]) -> str:
    """A member's role as an arrangement's page and ``register show`` list it: "partner",
    or "partner; left 2022" for one that left (:func:`exits_of`)."""
    role = str(member.get("role") or "")
    if not member.get("left"):
        return role
    year = member.get("left_year")
    return f"{role}; left" + ("" if year is None else f" {year}")


def exits_said(record: Mapping[str, Any]) -> list[str]:
    """For each member that left the arrangement, how that was read, as a sentence:
    "Hammersmith and Fulham left in 2022: read from its source’s words “…”."."""
    readings = exits_of(str(record.get("name") or ""), bool(record.get("simulated")))
    out = []
    for m in record.get("members") or []:
        reading = readings.get(str(m.get("body_code")))
        if m.get("left") and reading is not None:
            when = "" if reading.year is None else f" in {reading.year}"
            words = f"read from its source’s words “{reading.source_words}”"
            out.append(f"{m['name']} left{when}: {words}.")
    return out


def end_read(record: Mapping[str, Any]) -> EndReading | None:
    """The reading a stored arrangement's end came from (:func:`end_reading`), if it did: a
    real arrangement of that name, said ended in the reading's year. One an analyst imported
    with an end year of their own, or a status other than ended, is not the reading's."""
    if record.get("simulated") or record.get("status") != "ended":
        return None
    found = end_reading(str(record.get("name") or ""))
    end = record.get("end_year")
    end = None if end is None or pd.isna(end) else int(end)
    return found if found is not None and found.year == end else None


def savings_reading(
    name: str, figure: float | None, simulated: bool = False
) -> SavingsReading | None:
    """The reading of a real arrangement's figure from its source's words, if it has one (the
    same name and figure: a figure an analyst corrected is read by the rule again)."""
    if simulated or figure is None or figure != figure:
        return None
    return _savings_readings().get((" ".join(str(name).split()), float(figure)))


def annual_assumption(basis: str, period: int | None, start_year: int | None) -> str | None:
    """What the rule assumes where the source gives no period (None where it assumes nothing):
    a projected figure with no period is read as a year; a figure to date with no start year
    is spread over ``UNKNOWN_START_YEARS``.

    >>> annual_assumption("to_date", None, None)
    'start year not given: spread over 5 years'
    """
    if basis == "projected" and not period:
        return "no period recorded with it: read as a year"
    if basis == "to_date" and start_year is None:
        return f"start year not given: spread over {UNKNOWN_START_YEARS} years"
    return None


def annualisation_note(
    basis: str,
    period: int | None,
    start_year: int | None,
    reading: SavingsReading | None = None,
    *,
    simulated: bool = False,
) -> str:
    """Return in one line how the annual estimate was derived, flagging any assumption; a
    simulated arrangement's figure was never reported, and says so.

    >>> annualisation_note("annual", None, 2012, simulated=True)
    'simulated as a yearly figure: no source reported it'
    """
    if simulated and basis == "annual":
        return "simulated as a yearly figure: no source reported it"
    if simulated:
        return f"simulated (no source reported it): {annualisation_note(basis, period, start_year)}"
    if reading is not None:
        return f"read from the source's words “{reading.source_words}”: {reading.reading}"
    if basis == "annual":
        return "reported as an annual figure"
    if basis == "cumulative":
        return f"cumulative over {_years(period)}, divided by {period}"
    assumed = annual_assumption(basis, period, start_year)
    if assumed is not None:  # no period given: the figure says so wherever it is shown
        words = "projected" if basis == "projected" else "to date"
        return f"{words}, {assumed}"
    if basis == "to_date":
        if start_year >= TO_DATE_YEAR:  # type: ignore[operator]
            return f"to date, read as a year from {start_year}"  # (as charts.savings_said)
        years = TO_DATE_YEAR - start_year  # type: ignore[operator]
        spread = f"to date, divided by {_years(years)} from {start_year} to {TO_DATE_YEAR}"
        return f"{spread}: {TO_DATE_SAID}"  # (a page puts it in brackets: none of its own)
    if basis == "projected":
        return f"projected over {_years(period)}, divided by {period}"
    return "no annual estimate is made from it"


def _years(count: int | None) -> str:
    """'1 year', '11 years'."""
    return f"{count} year" if count == 1 else f"{count} years"


def fingerprint(
    service: str, identities: Sequence[str], start_year: int | None, simulated: bool
) -> str:
    """Return the stable identity of an arrangement (see the module docstring)."""
    parts = [
        "S" if simulated else "R",
        service,
        str(start_year or ""),
        ",".join(sorted(identities)),
    ]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def former(member: Mapping[str, Any]) -> bool:
    """Whether a member record is a former council, resolved to what its area is now part of."""
    return str(member.get("resolution") or "").startswith(FORMER_RESOLUTIONS)


# The NHS bodies abolished with their work divided among others, as sources name them: primary
# care trusts (2002-2013: their commissioning went to CCGs, public health to councils), health
# authorities before them, care trusts.
_GONE_NHS = re.compile(r"\b(?:pct|tpct|primary care trust|health authority|care trust)\b")


def gone_member(name_as_given: str, resolution: str) -> bool:
    """Whether a member is an NHS body since abolished that no one body succeeded: a primary
    care trust, a health authority or a care trust, resolved as the predecessor of its area's
    integrated care board. No source says its arrangement went on without it, and it cannot
    be joined as its sources describe it. A CCG is not one: its ICB is its statutory successor
    (Health and Care Act 2022), nor is a police authority (its police and crime commissioner,
    since 2012), nor a former council (its successor took on its arrangements); nor an NHS
    predecessor whose name does not say which it was ("NHS Nottingham City").

    >>> gone_member("NHS Leeds (PCT)", "predecessor: NHS Leeds (PCT) → NHS West Yorkshire …")
    True
    >>> gone_member("NHS Somerset CCG", "predecessor: NHS Somerset CCG → NHS Somerset …")
    False
    >>> gone_member("Kent Police Authority", "rule: Kent Police Authority → Kent police …")
    False
    >>> gone_member("Forest Heath", "former: Forest Heath District Council → West Suffolk")
    False
    """
    if not str(resolution).startswith("predecessor:"):
        return False
    return bool(_GONE_NHS.search(" ".join(str(name_as_given).lower().split())))


def gone_codes(members: Iterable[tuple[str, str, str]]) -> frozenset[str]:
    """The body codes an arrangement's members (``(code or "", name as given, resolution)``)
    no longer stand for: each whose every member is gone (:func:`gone_member`). Kent Police
    and its police authority are one police force area: it stays while one of them does.

    >>> sorted(gone_codes([("E1", "Leeds", "exact"), ("E5", "NHS Leeds (PCT)", "predecessor: …")]))
    ['E5']
    """
    named: dict[str, list[bool]] = {}
    for code, name, resolution in members:
        if code:
            named.setdefault(code, []).append(gone_member(name, resolution))
    return frozenset(code for code, gone in named.items() if all(gone))


def given_members(members: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """Register members as :func:`gone_codes` reads them."""
    return [
        (
            str(m.get("body_code") or ""),
            str(m.get("name_as_given") or ""),
            str(m.get("resolution") or ""),
        )
        for m in members
    ]


_POLICE_AUTHORITY = re.compile(r"\bpolice authority$")


def police_authority(member: Mapping[str, Any]) -> bool:
    """Whether a member is a police authority as its source names it (abolished in 2012, its
    police and crime commissioner succeeding it), read by rule as its police force area.

    >>> police_authority({"name_as_given": "Avon and Somerset Police Authority",
    ...                   "resolution": "rule: Avon and Somerset Police Authority → …"})
    True
    """
    return str(member.get("resolution") or "").startswith("rule:") and bool(
        _POLICE_AUTHORITY.search(normalise(str(member.get("name_as_given") or "")))
    )


def member_label(member: Mapping[str, Any]) -> str:
    """A member as people should read it: a former council as the source names it, with what
    it is now ("Chiltern (now Buckinghamshire)"), not as its successor (which made a successor
    look like its own partner: "Buckinghamshire, Buckinghamshire"); a police authority too
    ("Avon and Somerset Police Authority (now Avon and Somerset police force area)")."""
    if former(member) and member.get("name_as_given"):
        return f"{_gone_said(member, str(member['name']))} (now {member['name']})" + _left([member])
    if police_authority(member):
        return f"{member['name_as_given']} (now {member['name']})" + _left([member])
    return str(member["name"]) + _left([member])


def _left(members: Sequence[Mapping[str, Any]]) -> str:
    """ " (left 2022)" after a partner whose every member left the arrangement while it ran
    on (:func:`exits_of`: Hammersmith and Fulham and the Tri-borough libraries), else ""."""
    if not members or not all(m.get("left") for m in members):
        return ""
    year = members[0].get("left_year")
    return " (left)" if year is None else f" (left {year})"


def left_said(record: Mapping[str, Any]) -> str | None:
    """Who left an arrangement that runs on without them, for a list of another member's
    arrangements: "Hammersmith and Fulham left in 2022" (Westminster's Tri-borough libraries
    read "3 partners" with no word of it); None when none did, or when the list is of the
    body that left (:func:`as_member`: its own line says so).

    >>> left_said({"members": [{"name": "Westminster"},
    ...     {"name": "Hammersmith and Fulham", "left": True, "left_year": 2022}]})
    'Hammersmith and Fulham left in 2022'
    """
    if record.get("left"):
        return None
    gone = [p for p in listed_partners(record.get("members") or []) if p["left"]]
    if not gone:
        return None
    years = {p["left_year"] for p in gone}
    when = f" in {years.pop()}" if len(years) == 1 and None not in years else ""
    return f"{and_list([p['name'] for p in gone])} left{when}"


def given_label(member: Mapping[str, Any]) -> str:
    """A member by the name its source gave, told apart from the body that has that name
    today where it was its predecessor: the North East Combined Authority of a 2023 source is
    "North East Combined Authority until 2024", the one merged into today's of that name."""
    if former(member) and member.get("name_as_given"):
        return _gone_said(member, str(member.get("name") or ""))
    return str(member.get("name_as_given") or member.get("name") or "")


def _gone_said(member: Mapping[str, Any], now: str) -> str:
    """The name of a former council's member as the source gave it, or its full name where
    that is its successor's too ("Somerset" of 2013: "Somerset County Council (now Somerset)",
    not "Somerset (now Somerset)")."""
    given = str(member["name_as_given"])
    if normalise(given) == normalise(now):
        return former_name(str(member.get("resolution") or "")) or given
    return given


def listed_partners(members: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The partners to list, each body once: ``code`` (to link, None for a body outside the
    reference) and ``label``. Two names the source gave for one body today are one partner
    (Kent Total Place's "Kent Police Authority" and "Kent Police", both Kent police force
    area); a former council is the body it was, by the name the source gave, with what it is
    now: split between successors, one partner ("Northamptonshire (now North Northamptonshire
    and West Northamptonshire)"); two merged since, two partners. On a scenario's map a member
    is the body it is today (``today_code``, its successor's ``body_code`` aside), as the
    scenario's pages list them: Maidstone and Tunbridge Wells, not one "Maidstone" for West
    Kent. A partner that left while it ran on is labelled so ("Hammersmith and Fulham (left
    2022)"; ``name`` without it, ``left``, ``left_year``). Members the source named apart
    that are all one body today were bodies since combined, each the body it was ("Devon Fire
    and Rescue Service (now Devon and Somerset Fire and Rescue Authority)" and Somerset's),
    however each name was read (an alias of the body it became, or a rule). A body named only
    as the police authority it had until 2012 is said so ("Avon and Somerset Police Authority
    (now Avon and Somerset police force area)")."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    todays = {m.get("today_code") or m.get("body_code") for m in members}
    given = {normalise(str(m.get("name_as_given") or "")) for m in members}
    combined = len(todays) == 1 and None not in todays and len(given - {""}) >= 2
    for m in members:
        today = m.get("today_code") or m.get("body_code")
        if (former(m) or combined) and m.get("name_as_given"):
            key = ("former", str(m["name_as_given"]))
        else:
            key = ("body", str(today)) if today else ("name", str(m["name"]))
        groups.setdefault(key, []).append(m)
    listed = []
    for (kind, _), group in groups.items():
        first = group[0]
        if kind == "former":
            now = and_list(list(dict.fromkeys(str(m["name"]) for m in group)))
            name = f"{_gone_said(first, now)} (now {now})"
        elif all(police_authority(m) for m in group):  # named only as the body replaced
            name = f"{first['name_as_given']} (now {first['name']})"
        else:
            name = str(first["name"])
        left = all(m.get("left") for m in group)  # one that left it while it ran on: said so
        listed.append(
            {
                "code": first.get("body_code") or None,
                "label": name + _left(group),
                "name": name,
                "left": left,
                "left_year": first.get("left_year") if left else None,
            }
        )
    return listed


def partners_named(record: Mapping[str, Any]) -> int:
    """How many partners the arrangement has, each body once (:func:`listed_partners`): a
    council since split between successors is one partner (LGSS Law's Northamptonshire County
    Council, now North and West Northamptonshire), though the register keeps a member for
    each body it is today; two names for one body are one."""
    return len(listed_partners(record.get("members") or []))


def bodies_today(record: Mapping[str, Any]) -> int:
    """How many bodies the partners are today (a body outside the reference counted by its
    name): two councils merged since are one, a council split since is each successor."""
    members = record.get("members") or []
    return len({str(m.get("body_code") or f"x:{m.get('name')}") for m in members})


def through_former(record: Mapping[str, Any], code: str) -> list[str]:
    """The bodies now gone, by their full names, through which the body ``code`` is in
    ``record`` when it is in it only through them ("East Northamptonshire Council" in the
    Welland Partnership of 2000, for North Northamptonshire); none when it is a member itself:
    a successor is not said to be a member, in its own right, of what its predecessors joined
    before it existed."""
    mine = [m for m in record.get("members") or [] if m.get("body_code") == code]
    if not mine or not all(former(m) for m in mine):
        return []
    names = [former_name(str(m.get("resolution") or "")) or str(m["name_as_given"]) for m in mine]
    return list(dict.fromkeys(names))


# How the sources name an arrangement that never ran or has stopped: "… (proposal)", "Wessex
# Youth Offending Team (joint YOT, split 2012)". The documented arrangements carry no status
# (their source gives none), so their names say it; an import stores what a name says (status
# proposed; a split's year as its end), as schema revision 0005 did for a register stored
# before that, and the answers read the name too. Each pattern is read the same way here and
# in a query (:data:`STATUS_SAID`): SQLite's REGEXP runs Python's re, and PostgreSQL's reads
# these too (no ``\b``, which there is a backspace: "split" follows the bracket or a non-word).
PROPOSAL_WORDS = r"(?i)\(proposal\)\s*$"
SPLIT_WORDS = r"(?i)\((?:[^()]*[^()\w])?split (?:in )?(\d{4})\)\s*$"
_PROPOSAL = re.compile(PROPOSAL_WORDS)
_SPLIT = re.compile(SPLIT_WORDS)


def named_proposal(name: str) -> bool:
    """Whether an arrangement's name says it was only proposed ("… talks (proposal)")."""
    return bool(_PROPOSAL.search(name))


def is_proposed(name: str, status: object = None) -> bool:
    """Whether an arrangement was only proposed: recorded so (status ``proposed``, as an
    analyst may import one) or named so (:func:`named_proposal`, as the sources write it)."""
    return status == "proposed" or named_proposal(name)


def named_split(name: str) -> int | None:
    """The year an arrangement's name says it split ("… (joint YOT, split 2012)"), or None."""
    found = _SPLIT.search(name)
    return int(found.group(1)) if found else None


def one_body(codes: Sequence[str | None]) -> bool:
    """Whether members with these body codes are now one and the same body: councils that
    have merged since (North Dorset, West Dorset and Weymouth and Portland, now Dorset), or,
    given as :func:`body_of` gives them, a fire authority and the body that runs it. It is no
    longer a partnership: not one the body "is in", nor one another body could join."""
    return len(codes) >= 2 and None not in codes and len(set(codes)) == 1


def body_of(member: Mapping[str, Any]) -> str | None:
    """The body a member is part of: the body that runs it for a fire authority run by a
    council, a mayor or a police, fire and crime commissioner (``run_by``), else its own."""
    found = member.get("run_by") or member.get("body_code")
    return None if found is None else str(found)


def merged_into_one(record: Mapping[str, Any]) -> bool:
    """Whether every member of ``record`` is now one body (:func:`one_body`): councils merged
    since, or a fire authority and the body that runs it."""
    return one_body([body_of(m) for m in record.get("members") or []])


def partnerships_of(
    records: Sequence[Mapping[str, Any]], code: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A body's arrangements split in two: those it is in with others, and those internal
    to one body (:func:`merged_into_one`: councils that are all now this body, or a fire
    authority with the body that runs it), said apart; each as ``code``'s list shows it
    (:func:`as_member`: one it left, ended for it), in the order a page lists them: running
    ones first, then those that ended (or it left), then proposals, the latest start first
    within each (none given, last), as a list cut to its first few shows what it does now."""
    mine = sorted((as_member(r, code) for r in records), key=_listed_order)
    merged = [r for r in mine if merged_into_one(r)]
    return [r for r in mine if not merged_into_one(r)], merged


def _one_code(record: Mapping[str, Any]) -> bool:
    """Whether every member of ``record`` is one body by its own code (councils merged since),
    not only through the body that runs it."""
    return one_body([m.get("body_code") for m in record.get("members") or []])


def _merged(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` is between bodies now one (:func:`_one_code`), or an arrangement
    cited as evidence (no members) that carries it as ``merged``."""
    return bool(record.get("merged")) or _one_code(record)


_STATUS_ORDER = {"running": 0, "left": 1, "ended": 1, "merged": 1, "proposed": 2}


def _listed_order(record: Mapping[str, Any]) -> tuple[int, int, str, str]:
    start = record.get("start_year")
    start = None if start is None or pd.isna(start) else int(start)
    latest = -start if start is not None else 1  # none given: after every year
    return (_STATUS_ORDER[status_said(record)], latest, str(record["name"]), str(record["id"]))


def merged_said(name: str, merged: Sequence[Mapping[str, Any]]) -> str:
    """What the page, the briefing and the CLI say of a body's internal arrangements
    (:func:`partnerships_of`), before listing them: those between bodies that are all now
    ``name``, and those between a fire authority and the body that runs it (each record's
    ``internal`` says who runs it, or which members are now the one body)."""
    runs = [r for r in merged if r.get("internal") and not _one_code(r)]
    said = []
    # On a scenario's map, the body its members are today (``one_today``), not the successor
    # it becomes part of there.
    running = {id(r) for r in runs}
    ones = [str(r.get("one_today") or name) for r in merged if id(r) not in running]
    for now in dict.fromkeys(ones):
        n = ones.count(now)
        said.append(
            f"{n} documented arrangement{'s' * (n != 1)} {'was' if n == 1 else 'were'} between "
            f"bodies that are all now {now}, so {'it is' if n == 1 else 'they are'} internal "
            "to it, not a partnership"
        )
    for why in dict.fromkeys(str(r["internal"]) for r in runs):
        n = sum(r["internal"] == why for r in runs)
        said.append(
            f"{n} documented arrangement{'s' * (n != 1)} {'is' if n == 1 else 'are'} "
            f"internal, not a partnership ({why})"
        )
    return "; ".join(said)


def not_running_said(records: Sequence[Mapping[str, Any]]) -> str:
    """How many of ``records`` do not run today, for a count that includes them ("17
    documented arrangements (3 of them since ended or past a limited term; 2 only
    proposed)"): "" when every one runs.

    >>> not_running_said([{"name": "A", "end_year": 2021}, {"name": "B (proposal)"}, {}])
    ' (1 of them since ended or past a limited term; 1 only proposed)'
    >>> not_running_said([{"name": "B (proposal)"}]), not_running_said([{"end_year": 1}] * 2)
    (' (only proposed)', ' (both since ended or past a limited term)')
    """
    proposed = sum(record_proposed(r) for r in records)
    over = sum(record_ended(r) and not record_proposed(r) for r in records)

    def who(n: int) -> str:  # (one arrangement: said of it alone)
        return "" if len(records) == 1 else f"{some_of(n, len(records))} "

    parts = []
    if over:
        parts.append(f"{who(over)}since ended or past a limited term")
    if proposed:
        parts.append(f"{who(proposed).replace(' of them', '')}only proposed")
    return f" ({'; '.join(parts)})" if parts else ""


def some_of(n: int, total: int) -> str:
    """``n`` of a body's ``total`` arrangements as a sentence says them: "it" when it has one,
    "both" or "all 7" when every one, else "3 of them" ("1 of them" after "is in 1 documented
    arrangement" read as one among several).

    >>> some_of(1, 1), some_of(2, 2), some_of(7, 7), some_of(3, 8)
    ('it', 'both', 'all 7', '3 of them')
    """
    if total == 1:
        return "it"
    if n == total:
        return "both" if n == 2 else f"all {n}"
    return f"{n} of them"


def sources_said(records: Sequence[Mapping[str, Any]]) -> str:
    """Whether each of ``records`` names its public source, as every list of a body's
    arrangements says it ("each with its public source" only when true).

    >>> sources_said([{"source": "https://a"}]), sources_said([{"source": "x"}, {"source": "y"}])
    ('with its public source', 'each with its public source')
    """
    missing = sum(not r.get("source") for r in records)
    if not missing:
        return "with its public source" if len(records) == 1 else "each with its public source"
    return f"{len(records) - missing} of them with a public source (none recorded for {missing})"


def arrangement_id(fp: str, simulated: bool) -> str:
    """Return the readable id for a fingerprint: ``R-`` or ``S-`` and 8 hex digits."""
    return ("S-" if simulated else "R-") + fp[:8]


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would have done)."""

    path: str
    layout: str
    rows: int
    added: int = 0
    duplicates: int = 0  # already in the register
    in_file_duplicates: list[tuple[int, int]] = field(default_factory=list)  # (row, first row)
    # The first SHOWN_DUPLICATES of them by file row: (row, id, name) of what is stored.
    already: list[tuple[int, str, str]] = field(default_factory=list)
    # Of those, the ones whose other fields differ from the file's: (row, id, the fields).
    differ: list[tuple[int, str, list[str]]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    import_id: int | None = None

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        text = f"{self.path}: {self.rows} row(s), {verb} {self.added} arrangement(s), "
        repeats = len(self.in_file_duplicates)
        text += f"{self.duplicates + repeats} duplicate(s) skipped"
        if repeats:  # the rows add up: each is added, already stored, or a repeat
            text += f" ({self.duplicates} already in the register, {repeats} repeated in the file)"
        changed = {row: fields for row, _, fields in self.differ}
        for row, ident, name in self.already:
            text += f"\n  row {row} is already in the register as {ident} ({name}): skipped"
            if row in changed:  # a correction, perhaps: say how to make one
                text += (
                    f"; its {and_list(changed[row])} "
                    f"{'differs' if len(changed[row]) == 1 else 'differ'} from the file's: to "
                    "correct it, "
                    f"`recommender register remove {ident} --yes`, then import again"
                )
        if self.duplicates > len(self.already):
            more = self.duplicates - len(self.already)
            # None named (a dry run on a new database: the default register's): not "more".
            said = f"and {more:,} more" if self.already else f"{more:,}"
            text += f"\n  {said} already in the register"
        for row, first in self.in_file_duplicates:
            text += f"\n  row {row} repeats row {first} of the same file: skipped"
        return text + "".join(f"\n  note: {w}" for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Which arrangements a listing shows: the observed register (real, sourced arrangements) unless
# the simulated training register is asked for by name.
ORIGINS = ("real", "simulated", "all")


@dataclass(frozen=True)
class Filters:
    """Which arrangements a query, list or export keeps (``None`` keeps all)."""

    service: str | None = None
    body: str | None = None  # a code or any name of a body, incl. abolished councils
    region: str | None = None  # region name or code
    origin: str = "real"  # one of ORIGINS
    limit: int | None = None
    offset: int = 0  # with ``limit``: a page, counted in the database
    status: str | None = None  # one of STATUS_FILTERS: as the answers read it
    order: str = "id"  # one of ORDERS: the order of a listing (and so of its pages)


RESOLUTIONS_KEPT = 8192  # names a directory keeps resolved (a register names a few hundred)


def default_directory(settings: Settings) -> Directory:
    """Return the directory of bodies backed by :mod:`recommender.reference.lookup`."""
    from recommender.reference import (
        lookup as reference,  # deferred: the reference is costly to load
    )

    bodies = reference.load_bodies(settings)

    # A register names the same bodies row after row, and a resolution (a few table look-ups,
    # ~9 ms) depends on the name, the kind and this reference only: each made once (a name that
    # resolves to nothing raises each time, as it is rare).
    @functools.lru_cache(maxsize=RESOLUTIONS_KEPT)
    def resolve(query: str, kind: str | None) -> Any:
        return reference.resolve(query, kind=kind, settings=settings)

    @functools.lru_cache(maxsize=RESOLUTIONS_KEPT)
    def predecessor(query: str, kind: str | None) -> Any:
        return reference.predecessor(query, kind=kind, settings=settings)

    codes = [str(c) for c in bodies.index]
    return Directory(
        resolve=resolve,
        names=dict(zip(codes, bodies["display_name"].astype(str), strict=True)),
        lonlat={
            c: (float(x), float(y)) for c, x, y in zip(codes, bodies.lon, bodies.lat, strict=True)
        },
        regions={
            c: (str(rc), str(r))
            for c, rc, r in zip(codes, bodies.region_code, bodies.region, strict=True)
        },
        kinds=dict(zip(codes, bodies["kind"].astype(str), strict=True)),
        runs=fire_runners(reference.fire_governance(settings)),
        predecessor=predecessor,
    )


def fire_runners(governance: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Each fire authority run by another body, from a ``fire_governance.csv`` table: its code
    to the runner's code (``governed_by_code``) and who runs it (``governed_by_name``)."""
    runs = governance[governance["governed_by_code"].astype(str) != ""]
    return {
        str(fire): (str(runner), str(name))
        for fire, runner, name in zip(
            runs["fire_code"], runs["governed_by_code"], runs["governed_by_name"], strict=True
        )
    }


# Import ----------------------------------------------------------------------------------------


def import_file(
    path: Path | str,
    *,
    dry_run: bool = False,
    settings: Settings,
    directory: Directory | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    fill: Mapping[str, str] | None = None,
) -> ImportReport:
    """Validate a register file and add its new arrangements, all in one transaction.

    A CSV file or an ``.xlsx`` workbook (its first sheet, or ``sheet``) whose columns are
    another tool's is read with ``columns`` naming the field each holds
    (:func:`recommender.register.files.parse_columns`), and ``fill`` gives a field's value for
    every row that leaves it empty (``{"savings_basis": "annual"}``).

    The file is read, validated and made into rows before the write transaction opens, which
    then only inserts; which arrangements are new is settled by the database's unique
    fingerprint, so an import overlapping another of the same file reports the other's
    arrangements as duplicates (:mod:`recommender.register.writes`). Raises
    :class:`ImportRejected` listing every bad row; nothing is written then, nor on a dry run,
    nor when the database fails half-way.
    """
    path = Path(path)
    services, labels = service_ids(settings), service_labels(settings)
    if fill:  # said once, before the file (not on every row it fills)
        directory = directory or default_directory(settings)
        check_fill(fill, directory, services, labels)
    source = read_file(path, columns=columns, sheet=sheet, fill=fill)
    layout, rows = source.layout, source.rows
    if not rows:  # a header (or an empty list) and nothing under it: nothing to import
        message = "no arrangements: the file has a register's header and no row under it"
        raise ImportRejected(str(path), [RowError(2, "", "", message)])
    directory = directory or default_directory(settings)
    candidates, errors = validate(rows, directory, services, labels)
    if errors:
        raise ImportRejected(str(path), errors)
    unique, repeats = unique_candidates(candidates)
    report = ImportReport(str(path), layout, len(rows), in_file_duplicates=repeats, dry_run=dry_run)
    report.warnings += _repeats_differing(candidates, repeats)

    def build(known: set[str], taken: set[str]) -> tuple[store.Rows, store.Rows]:
        return rows_for([(fp, c) for fp, c in unique if fp not in known], taken)

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    record = store.ImportRecord(path.name, sha, layout, len(rows), len(repeats))
    with db.connect(settings) as engine:
        if dry_run:
            added = store.preview(engine, settings.register_dir, build)
        else:
            store.ensure_default(engine, settings.register_dir)  # never hidden by an import
            added, report.import_id = store.store(engine, record, len(unique), build)
        new = {row["fingerprint"] for row in added}
        old = [(fp, c) for fp, c in unique if fp not in new]
        report.already = _stored(engine, [(fp, c.row) for fp, c in old])
        report.differ = _differing(engine, old, {row for row, _, _ in report.already})
    report.added, report.duplicates = len(added), len(unique) - len(added)
    report.ids = [r["id"] for r in added]
    report.warnings += source.warnings
    by_fingerprint = dict(unique)
    renamed: list[tuple[str, str]] = []  # simulated rows' ids taken: (the file's, stored as)
    for row in added:
        c = by_fingerprint[row["fingerprint"]]
        notes = list(c.warnings)
        if c.savings_basis == "to_date" and c.start_year is None:
            notes.append(annualisation_note(c.savings_basis, None, None))
        if c.id and row["id"] != c.id and c.simulated:
            renamed.append((c.id, str(row["id"])))
        elif c.id and row["id"] != c.id:  # the file's id is another arrangement's
            notes.append(
                f"id {c.id!r} is already another arrangement's (in the register or earlier in "
                f"the file): stored as {row['id']}"
            )
        report.warnings += [f"row {c.row}: {note}" for note in notes]
    if renamed:  # every simulated register numbers its rows S-0001 on: said once
        (given, stored), more = renamed[0], len(renamed) - 1
        report.warnings.append(
            f"{len(renamed)} simulated arrangement(s) had an id another arrangement has (e.g. "
            f"{given!r}, stored as {stored}): stored under new ids"
            if more
            else f"a simulated arrangement's id {given!r} is another arrangement's: stored as "
            f"{stored}"
        )
    return report


SHOWN_DUPLICATES = 20  # duplicates an import names (a re-import of 100,000 rows names a few)


def _stored(engine: Engine, rows: Sequence[tuple[str, int]]) -> list[tuple[int, str, str]]:
    """The first :data:`SHOWN_DUPLICATES` of these (fingerprint, file row) already stored:
    (file row, id, name)."""
    first = sorted(rows, key=lambda r: r[1])[:SHOWN_DUPLICATES]
    if not first:
        return []
    a = db.arrangements
    where = a.c.fingerprint.in_([fp for fp, _ in first])
    with engine.connect() as conn:
        stmt = sa.select(a.c.id, a.c.name, a.c.fingerprint).where(where)
        found = {fp: (i, n) for i, n, fp in conn.execute(stmt)}
    return [(row, *found[fp]) for fp, row in first if fp in found]


# What a correction changes: an arrangement's identity (its service, start year and members)
# is its fingerprint, so a row with the same identity can only differ in these.
COMPARED = ("name", "end_year", "status", "savings_gbp", "savings_basis",
            "savings_period_years", "savings_aim", "source", "note")  # fmt: skip


def _differing(
    engine: Engine, old: Sequence[tuple[str, Candidate]], shown: set[int]
) -> list[tuple[int, str, list[str]]]:
    """Of the rows already stored that an import names (``shown``: file rows), those whose
    fields (:data:`COMPARED`, as the import would store them) differ from the stored ones:
    (file row, id, the fields), of the fields the file gives (its end year gives a status)."""
    wanted = [(fp, c) for fp, c in old if c.row in shown]
    if not wanted:
        return []
    a = db.arrangements
    columns = [a.c.id, a.c.fingerprint, *(a.c[name] for name in COMPARED)]
    with engine.connect() as conn:
        stmt = sa.select(*columns).where(a.c.fingerprint.in_([fp for fp, _ in wanted]))
        stored = {row["fingerprint"]: row for row in conn.execute(stmt).mappings()}
    out = []
    for fp, c in wanted:
        if fp not in stored:
            continue
        made = _stored_row(fp, c)  # as the import would store it
        fields = [
            name
            for name in COMPARED
            if (c.given is None or name in c.given or (name == "status" and "end_year" in c.given))
            and not _same(made.get(name), stored[fp][name])
        ]
        if fields:
            out.append((c.row, str(stored[fp]["id"]), fields))
    return out


def _same(one: Any, two: Any) -> bool:
    blank = (None, "")
    if one in blank or two in blank or _nan(one) or _nan(two):
        return (one in blank or _nan(one)) and (two in blank or _nan(two))
    if isinstance(one, int | float) and isinstance(two, int | float):
        return math.isclose(float(one), float(two), rel_tol=1e-9, abs_tol=0.005)
    return bool(one == two)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def unique_candidates(
    candidates: Sequence[Candidate],
) -> tuple[list[tuple[str, Candidate]], list[tuple[int, int]]]:
    first: dict[str, int] = {}
    unique: list[tuple[str, Candidate]] = []
    repeats: list[tuple[int, int]] = []
    for c in candidates:
        fp = fingerprint(c.service, c.identities, c.start_year, c.simulated)
        if fp in first:
            repeats.append((c.row, first[fp]))
        else:
            first[fp] = c.row
            unique.append((fp, c))
    return unique, repeats


def _repeats_differing(
    candidates: Sequence[Candidate], repeats: Sequence[tuple[int, int]]
) -> list[str]:
    """What a row that repeats an earlier one of the file (the same arrangement) says
    otherwise (:data:`COMPARED`, as an import would store each): only the first is kept, so
    the figure or name it gives apart would be lost without a word."""
    by_row = {c.row: c for c in candidates}
    out = []
    for row, first in repeats:
        mine, kept = by_row[row], by_row[first]
        made, stored = _stored_row("", mine), _stored_row("", kept)
        given = (mine.given or set(COMPARED)) | (kept.given or set(COMPARED))
        fields = [n for n in COMPARED if n in given and not _same(made.get(n), stored.get(n))]
        if fields:
            verb = "differs" if len(fields) == 1 else "differ"
            out.append(
                f"row {row} repeats row {first} of the same file, but its {and_list(fields)} "
                f"{verb}: row {first}'s {'is' if len(fields) == 1 else 'are'} kept"
            )
    return out


def _stored_row(fp: str, c: Candidate) -> dict[str, Any]:
    """The arrangements table's row for a validated arrangement, as an import stores it (the
    curated readings of its end and its savings applied, and what a real one's name says of
    its status), without its id."""
    row = {k: v for k, v in asdict(c).items() if k in ARRANGEMENT_COLUMNS and k != "id"}
    row["fingerprint"] = fp
    # The reading fills what the register does not say: not an end year or status given.
    said = c.end_year is not None or c.status not in ("unknown", "ended")
    ended = None if said else end_reading(c.name, c.simulated)
    split = None if said or c.simulated else named_split(c.name)
    if ended is not None:
        row["end_year"], row["status"] = ended.year, "ended"
    elif split is not None and (c.start_year is None or c.start_year <= split):
        row["end_year"], row["status"] = split, "ended"  # "… (joint YOT, split 2012)"
    elif not said and c.status == "unknown" and not c.simulated and named_proposal(c.name):
        row["status"] = "proposed"  # "… (proposal)": it never ran, and its status says so
    reading = savings_reading(c.name, c.savings_gbp, c.simulated)
    annual = (
        reading.annual
        if reading is not None
        else annualise(c.savings_gbp, c.savings_basis, c.savings_period_years, c.start_year)
    )
    # To the penny, as the default register's files keep it: an arrangement exported and
    # imported again read £423,333.3333… a year where it had read £423,333.33.
    row["annual_savings_gbp"] = None if annual is None else round(annual, 2)
    return row


def rows_for(
    new: Sequence[tuple[str, Candidate]], taken: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the table rows for validated arrangements, giving each an id not in ``taken``."""
    arrangement_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    for fp, c in new:
        ident = c.id if c.id and c.id not in taken else arrangement_id(fp, c.simulated)
        if ident in taken:  # two fingerprints sharing 8 hex digits: lengthen, still stable
            ident = ident[:2] + fp[:16]
        taken.add(ident)
        arrangement_rows.append({"id": ident} | _stored_row(fp, c))
        member_rows += [
            {"arrangement_id": ident, "position": i, **asdict(m)}
            for i, m in enumerate(c.members, 1)
        ]
    return arrangement_rows, member_rows


# The default register ---------------------------------------------------------------------------


def ensure_database(settings: Settings) -> int:
    """Make the database hold the shipped default register; return how many were loaded.

    An empty database gets the default register. When the shipped files have changed since
    they were loaded (a newer checkout), the arrangements that came from the old default are
    replaced by the new ones in one transaction; arrangements an analyst imported are kept.
    Processes doing this at the same moment take turns: one loads, the others find it loaded.
    """
    with db.connect(settings) as engine:
        return store.ensure_default(engine, settings.register_dir)


def remove(ids: Sequence[str], settings: Settings) -> list[dict[str, Any]]:
    """Delete arrangements by id, with their members, all or none (an unknown id deletes
    nothing); return those deleted. A default-register arrangement deleted stays deleted until
    ``reset`` or a new default register. The serving model stops citing a deleted real one
    (:meth:`~recommender.recommend.ranking.Recommender.withdraw`); what it learnt from it stays
    until the next training."""
    wanted = list(dict.fromkeys(i.strip() for i in ids))
    ensure_database(settings)
    with db.connect(settings) as engine:
        return store.remove(engine, wanted)


def reset(settings: Settings) -> int:
    """Delete every arrangement and import record and reload the default register."""
    with db.connect(settings) as engine:
        return store.reset(engine, settings.register_dir)


# Reading the register ---------------------------------------------------------------------------


def read_register_file(
    path: Path | str, settings: Settings, directory: Directory | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate a register file like an import and return its (arrangements, members) frames
    without storing anything (raises :class:`ImportRejected` on bad rows)."""
    path = Path(path)
    _, rows = read_source(path)
    candidates, errors = validate(
        rows, directory or default_directory(settings), service_ids(settings),
        service_labels(settings),
    )  # fmt: skip
    if errors:
        raise ImportRejected(str(path), errors)
    unique, _ = unique_candidates(candidates)
    arrangement_rows, member_rows = rows_for(unique, set())
    arrangements = pd.DataFrame(arrangement_rows, columns=list(ARRANGEMENT_COLUMNS))
    members = pd.DataFrame(member_rows, columns=list(MEMBER_COLUMNS))
    return _typed(arrangements, members)


def _typed(arrangements: pd.DataFrame, members: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    types = dict.fromkeys(("start_year", "end_year", "savings_period_years"), "Int64")
    types |= dict.fromkeys(("savings_gbp", "annual_savings_gbp"), "float64")
    types |= dict.fromkeys(("savings_aim", "simulated"), "bool")
    if "import_id" in arrangements:
        types["import_id"] = "Int64"
    return arrangements.astype(types), members.astype({"position": "int64"})


def load_register(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the arrangements and the members from the database, sorted by their keys."""
    ensure_database(settings)
    frames = []
    with db.connect(settings) as engine, engine.connect() as conn:
        for t in (db.arrangements, db.members):
            rows = conn.execute(sa.select(t).order_by(*t.primary_key)).mappings().all()
            frames.append(
                pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in t.columns])
            )
    arrangements, members = frames
    return _typed(arrangements, members)


def read_default_register(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the shipped default register (``data/register/``) as (arrangements, members)
    frames, read from its files without a database (for evaluation and tests)."""
    folder = settings.register_dir
    frames = []
    for name, table in (("arrangements.csv", db.arrangements), ("members.csv", db.members)):
        rows = db.rows_from_csv(folder / name, table)
        columns = [c.name for c in table.columns]
        frames.append(pd.DataFrame(rows, columns=columns))
    return _typed(*frames)


# The orders a listing of the register can be in, each ending in the id so that pages are
# stable: by id (the default: the order of the API's pages since the first), by name, the
# newest first (the latest start year; none given, last) or the largest annual saving first
# (none reported, last; a proposal's figure, a target for what never ran, after every
# arrangement that formed). Names sort as the database collates them.
ORDERS: dict[str, tuple[sa.ColumnElement[Any], ...]] = {
    "id": (db.arrangements.c.id,),
    "name": (sa.func.lower(db.arrangements.c.name), db.arrangements.c.id),
    "newest": (
        db.arrangements.c.start_year.desc().nulls_last(),
        sa.func.lower(db.arrangements.c.name),
        db.arrangements.c.id,
    ),
    "savings": (
        sa.case((db.arrangements.c.status == "proposed", 1), else_=0),
        db.arrangements.c.annual_savings_gbp.desc().nulls_last(),
        db.arrangements.c.id,
    ),
}


def query(
    filters: Filters | None = None,
    *,
    settings: Settings,
    directory: Directory | None = None,
    engine: Engine | None = None,
) -> list[dict[str, Any]]:
    """Return the arrangements that match ``filters``, each with its members, in the order
    ``filters.order`` names (:data:`ORDERS`: by id unless asked).

    ``filters.limit`` and ``filters.offset`` select a page in the database, so a page of a
    large register costs what the page holds. With ``engine`` (the service's, whose database
    is ready), that engine is used; else one is opened for the call.
    """
    filters = filters or Filters()
    directory = directory or default_directory(settings)
    table = db.arrangements
    stmt = sa.select(table).where(*_conditions(filters, settings, directory))
    if filters.order not in ORDERS:
        raise InvalidInput(
            f"unknown order {filters.order!r}; expected one of {', '.join(ORDERS)}",
            field="order",
        )
    stmt = stmt.order_by(*ORDERS[filters.order])
    stmt = stmt.limit(filters.limit).offset(filters.offset or None)
    with _connection(settings, engine) as conn:
        return _records(conn, stmt, directory)


def count(
    filters: Filters | None = None,
    *,
    settings: Settings,
    directory: Directory | None = None,
    engine: Engine | None = None,
) -> int:
    """Return how many arrangements match ``filters`` (their ``limit`` and ``offset`` aside),
    counted in the database."""
    filters = filters or Filters()
    directory = directory or default_directory(settings)
    where = _conditions(filters, settings, directory)
    stmt = sa.select(sa.func.count()).select_from(db.arrangements).where(*where)
    with _connection(settings, engine) as conn:
        return int(conn.scalar(stmt) or 0)


def has_ended(end_year: Any, status: Any) -> bool:
    """Whether the register says an arrangement has ended: it gives an end year, or its status
    is ``ended`` (the year not known). The one rule, for rows and (:data:`RUNNING`) queries."""
    return (end_year is not None and not pd.isna(end_year)) or status == "ended"


def record_ended(record: Mapping[str, Any]) -> bool:
    """:func:`has_ended` for a register record, or an arrangement cited as evidence (which
    carries it as ``ended``); or its name says it split (:func:`named_split`)."""
    return (
        has_ended(record.get("end_year"), record.get("status"))
        or bool(record.get("ended"))
        or bool(record.get("left"))  # for the member it left (:func:`as_member`)
        or named_split(str(record.get("name") or "")) is not None
    )


def record_left(record: Mapping[str, Any]) -> bool:
    """Whether the body a record is read for (:func:`as_member`) left it while it ran on for
    others (:func:`status_said` "left"): Hammersmith and Fulham and the Tri-borough libraries,
    which it left in 2022; said apart from one that has ended."""
    return status_said(record) == "left"


def record_proposed(record: Mapping[str, Any]) -> bool:
    """Whether the record was only proposed (:func:`is_proposed`): no one's running
    arrangement, whatever it would have shared."""
    return is_proposed(str(record.get("name") or ""), record.get("status"))


def years_said(record: Mapping[str, Any], *, short: bool = False) -> str:
    """When an arrangement ran, in the words every list of arrangements uses: "from 2012 to
    2021", "from 2012", "ended 2021", "" when the register gives no year; ``short``, for a
    table's column: "2012–2021", "2012–", "ended 2021". One the register says has ended
    (:func:`record_ended`; evidence carries it as ``ended``) always says so, its year known or
    not ("from 2012, since ended", "2012–ended", "ended"), and one only proposed says that
    ("proposed in 2015", "proposed 2015"), and one between bodies since merged into one says
    that ("from 2008, its members since merged into one", "2008–merged"): never read as running.

    >>> years_said({"start_year": 2012, "end_year": None, "status": "ended"})
    'from 2012, since ended'
    >>> years_said({"start_year": 2012, "end_year": 2021}, short=True)
    '2012–2021'

    One read as ended only because a term its source gives has passed (:func:`term_passed`)
    says that: "from 2024, for a limited term, since passed", "2024–term passed".
    """
    start, end = record.get("start_year"), record.get("end_year")
    start = None if start is None or pd.isna(start) else int(start)
    end = None if end is None or pd.isna(end) else int(end)
    if record_proposed(record):
        if start is None:
            return "proposed"
        return f"proposed {start}" if short else f"proposed in {start}"
    if record.get("left"):  # for the member it left (:func:`as_member`): it runs on
        year = record.get("left_year")
        left = "left" if year is None else f"left {year}" if short else f"left in {year}"
        if start is None:
            return left
        return f"{start}–{left}" if short else f"from {start}, {left}"
    if term_passed(record):  # no source says it ended: its term passed
        term = "term passed" if short else TERM_SAID
        if start is None:
            return term
        return f"{start}–{term}" if short else f"from {start}, {term}"
    if end is None:  # "… (joint YOT, split 2012)": the year its name gives
        end = named_split(str(record.get("name") or ""))
    ended = record_ended(record)
    if not ended and end is None and _merged(record):  # status_said's "merged": not running
        merged = "merged" if short else "its members since merged into one"
        return (
            merged if start is None else f"{start}–{merged}" if short else f"from {start}, {merged}"
        )
    if start is not None and end is not None:
        return f"{start}–{end}" if short else f"from {start} to {end}"
    if start is not None:
        if short:
            return f"{start}–ended" if ended else f"{start}–"
        return f"from {start}, since ended" if ended else f"from {start}"
    if end is not None:
        return f"ended {end}"
    return "ended" if ended else ""


def status_said(record: Mapping[str, Any]) -> str:
    """An arrangement's status as the answers read it, the word the register's filter takes
    (:data:`STATUS_SAID`): "proposed" for one only proposed (:func:`record_proposed`, its name
    may say so whatever its status), "ended" for one ended (:func:`record_ended`, its name may
    say it split), "merged" for one between bodies that have all since become one (the Dorset
    Councils Partnership's three districts, now Dorset: no partnership can run between bodies
    gone into one, whatever its source said then), else "running", whether its source says so
    (status ``active``) or gives no status (``unknown``: :func:`status_unsaid` says so).

    >>> status_said({"name": "Fareham offices letting (proposal)", "status": "unknown"})
    'proposed'
    >>> status_said({"name": "Wessex YOT (joint YOT, split 2012)", "status": "unknown"})
    'ended'
    >>> status_said({"name": "LGSS Law Ltd", "status": "unknown"})
    'running'
    """
    if record_proposed(record):
        return "proposed"
    if record.get("left"):  # for the member it left (:func:`as_member`)
        return "left"
    if record_ended(record):
        return "ended"
    return "merged" if _merged(record) else "running"


STATUS_UNSAID = "its source gives no status, and none says it has ended"
MERGED_SAID = "it no longer runs between separate bodies: its members have all since become one"


def status_unsaid(record: Mapping[str, Any]) -> str | None:
    """Why an arrangement said to be running (:func:`status_said`) is said so when its source
    gives no status: :data:`STATUS_UNSAID`, and which of its members has since been abolished
    (:func:`abolished_said`); or why one is said "merged" (:data:`MERGED_SAID`). None when its
    source says it runs, or when it is said ended, left or proposed."""
    said = status_said(record)
    if said == "merged":
        return MERGED_SAID
    if said != "running" or record.get("status") == "active":
        return None
    gone = record["abolished"] if "abolished" in record else abolished_said(record)
    if gone is None:
        return STATUS_UNSAID
    them = "them" if gone.endswith(" have since been abolished") else "it"
    return f"{STATUS_UNSAID}; {gone}, and no source says it went on without {them}"


def abolished_names(record: Mapping[str, Any]) -> list[str]:
    """The members of a real arrangement since abolished, no one body succeeding them
    (:func:`gone_member`), each once, as their source names them (none for a simulated one)."""
    if record.get("simulated"):
        return []
    return list(
        dict.fromkeys(
            str(m["name_as_given"])
            for m in record.get("members") or []
            if gone_member(str(m.get("name_as_given") or ""), str(m.get("resolution") or ""))
        )
    )


def abolished_said(record: Mapping[str, Any]) -> str | None:
    """Which of a real arrangement's members has since been abolished, no one body succeeding
    it (:func:`gone_member`): "NHS Leeds (PCT) has since been abolished" (a primary care trust);
    None when none has.

    >>> abolished_said({"members": [{"name_as_given": "Leeds", "resolution": "exact"},
    ...     {"name_as_given": "NHS Leeds (PCT)", "resolution": "predecessor: NHS Leeds …"}]})
    'NHS Leeds (PCT) has since been abolished'
    """
    names = abolished_names(record)
    if not names:
        return None
    return f"{and_list(names)} {'has' if len(names) == 1 else 'have'} since been abolished"


def proposed_rows(frame: pd.DataFrame) -> pd.Series:
    """:func:`is_proposed` for each row of a frame of arrangements (one with no ``status``
    column: by name alone): one only proposed never ran, so it is no arrangement in place, and
    its projection was never saved."""
    statuses = frame["status"] if "status" in frame else [None] * len(frame)
    flags = [is_proposed(str(n), s) for n, s in zip(frame["name"], statuses, strict=True)]
    return pd.Series(flags, index=frame.index, dtype=bool)


def ended_rows(frame: pd.DataFrame) -> pd.Series:
    """:func:`has_ended` for each row of a frame of arrangements."""
    return frame["end_year"].notna() | (frame["status"] == "ended")


# How the answers read an arrangement's status (:func:`status_said`), as a query: the filter
# every listing of the register takes. "running" is every arrangement not said to have ended nor
# named or recorded as only proposed, nor "merged": between members that are all one body now
# (each with the same body code); what the answers state as running, whatever its status
# "active" or "unknown". A member that left a running one is said so on its own rows.
STATUS_FILTERS = ("running", "ended", "proposed", "merged")
_NAME = db.arrangements.c.name  # each pattern tried only on names with its words (quick)
_PROPOSED = sa.or_(
    db.arrangements.c.status == "proposed",
    sa.and_(_NAME.ilike("%(proposal)%"), _NAME.regexp_match(PROPOSAL_WORDS)),
)
_ENDED = sa.or_(
    db.arrangements.c.end_year.is_not(None),
    db.arrangements.c.status == "ended",
    sa.and_(_NAME.ilike("%split %"), _NAME.regexp_match(SPLIT_WORDS)),
)
_OWN = db.members.alias("own_members")  # the arrangement's, apart from a query's own members
# Two or more members, every one with a body code, and the same one (_one_code): one set, made
# once a query (a subquery per row, with every status and sum it is in, doubled the home page's
# time at 100k arrangements).
_MERGED = db.arrangements.c.id.in_(
    sa.select(_OWN.c.arrangement_id)
    .group_by(_OWN.c.arrangement_id)
    .having(
        sa.and_(
            sa.func.count() >= 2,
            sa.func.count(_OWN.c.body_code) == sa.func.count(),
            sa.func.min(_OWN.c.body_code) == sa.func.max(_OWN.c.body_code),
        )
    )
)
# Of the ended, those read so only because a term their source gives has passed
# (:func:`term_passed`): the real arrangements of those readings' names, ended, with no year.
TERM = sa.and_(
    db.arrangements.c.simulated.is_(False),
    db.arrangements.c.status == "ended",
    db.arrangements.c.end_year.is_(None),
    _NAME.in_(sorted(term_names())),
)
STATUS_SAID: dict[str, sa.ColumnElement[bool]] = {
    "running": sa.not_(sa.or_(_PROPOSED, _ENDED, _MERGED)),
    "ended": sa.and_(sa.not_(_PROPOSED), _ENDED),
    "proposed": _PROPOSED,
    "merged": sa.and_(sa.not_(sa.or_(_PROPOSED, _ENDED)), _MERGED),
}
# The same, as the word itself, for a query that groups by it (each row read once).
STATUS_WORD: sa.ColumnElement[str] = sa.case(
    (_PROPOSED, "proposed"), (_ENDED, "ended"), (_MERGED, "merged"), else_="running"
)
RUNNING = STATUS_SAID["running"]  # a real arrangement still running, as the answers read it


def real_ids(
    *, settings: Settings, engine: Engine | None = None
) -> tuple[set[str], dict[str, int | None]]:
    """The ids of every real arrangement the register holds now, and of those it says have
    ended (:func:`has_ended`), their end year (None when not given)."""
    a = db.arrangements
    stmt = sa.select(a.c.id, a.c.end_year, a.c.status).where(a.c.simulated.is_(False))
    held: set[str] = set()
    ended: dict[str, int | None] = {}
    with _connection(settings, engine) as conn:
        for ident, end, status in conn.execute(stmt):
            held.add(str(ident))
            if has_ended(end, status):
                ended[str(ident)] = None if end is None else int(end)
    return held, ended


def running_partnerships(
    *, settings: Settings, engine: Engine | None = None
) -> list[tuple[str, list[str]]]:
    """Each real arrangement still running (:data:`RUNNING`: no end year, not said ended nor
    proposed, nor named as only proposed or split), as the register holds it now: its service
    id and its members' body codes (a member that is no body on the map left out, one that
    left it, :func:`exits_of`, and one abolished since, :func:`gone_member`); and again for
    each service its source says it was extended to (:func:`also_shares`)."""
    a, m = db.arrangements, db.members
    stmt = (
        sa.select(a.c.id, a.c.name, a.c.service, m.c.body_code, m.c.name_as_given, m.c.resolution)
        .join(m, m.c.arrangement_id == a.c.id)
        .where(a.c.simulated.is_(False), RUNNING, m.c.body_code.is_not(None))
        .order_by(a.c.id, m.c.position)
    )
    found: dict[str, tuple[str, list[str]]] = {}
    names: dict[str, str] = {}
    with _connection(settings, engine) as conn:
        for ident, name, service, code, given, resolution in conn.execute(stmt):
            codes = found.setdefault(ident, (service, []))[1]
            names[ident] = str(name)
            if code in exits_of(str(name)) or gone_member(str(given), str(resolution or "")):
                continue  # a member that left, or abolished since: not through it
            codes.append(code)
    # The services its source says it was extended to (:func:`also_shares`), shared too.
    also = [
        (reading.service, codes)
        for ident, (_, codes) in found.items()
        for reading in also_shares(names[ident])
    ]
    return [*found.values(), *also]


def by_service(
    filters: Filters | None = None,
    *,
    settings: Settings,
    directory: Directory | None = None,
    engine: Engine | None = None,
) -> list[dict[str, Any]]:
    """Per service, of the arrangements that match ``filters``: how many, how many are real,
    the sum of their annual savings and how many have a figure, and the same of the real ones
    alone (``real_savings``, ``real_with_figure``: a simulated figure is never added to a real
    one where both are shown), counted in the database, most arrangements first. The figure of
    one only proposed is never added (it never ran: nothing was saved); ``proposed_figures``
    counts those left out."""
    filters = filters or Filters()
    directory = directory or default_directory(settings)
    a = db.arrangements
    is_real = a.c.simulated.is_(False)
    ran = sa.not_(STATUS_SAID["proposed"])
    saved = sa.case((ran, a.c.annual_savings_gbp))
    real_saved = sa.case((sa.and_(is_real, ran), a.c.annual_savings_gbp))
    stmt = (
        sa.select(
            a.c.service,
            sa.func.count(),
            sa.func.sum(sa.case((is_real, 1), else_=0)),
            sa.func.coalesce(sa.func.sum(saved), 0.0),
            sa.func.count(saved),
            sa.func.coalesce(sa.func.sum(real_saved), 0.0),
            sa.func.count(real_saved),
            sa.func.count(sa.case((sa.not_(ran), a.c.annual_savings_gbp))),
        )
        .where(*_conditions(filters, settings, directory))
        .group_by(a.c.service)
    )
    with _connection(settings, engine) as conn:
        rows = conn.execute(stmt).all()
    out = [
        {"service": str(service), "count": int(n), "real": int(real or 0),
         "savings": float(total), "with_figure": int(figures),
         "real_savings": float(real_total), "real_with_figure": int(real_figures),
         "proposed_figures": int(proposed)}
        for service, n, real, total, figures, real_total, real_figures, proposed in rows
    ]  # fmt: skip
    return sorted(out, key=lambda e: (-e["count"], e["service"]))


def member_counts(
    filters: Filters | None = None,
    *,
    settings: Settings,
    directory: Directory | None = None,
    engine: Engine | None = None,
) -> dict[str, tuple[int, int]]:
    """For each reference body in the arrangements that match ``filters``: in how many real
    and how many simulated ones it is a member (counted in the database; at most one row a
    body, whatever the size of the register)."""
    filters = filters or Filters()
    directory = directory or default_directory(settings)
    a, m = db.arrangements, db.members
    # distinct: two former councils of one arrangement may now be the same body
    stmt = (
        sa.select(m.c.body_code, a.c.simulated, sa.func.count(sa.distinct(m.c.arrangement_id)))
        .join(a, a.c.id == m.c.arrangement_id)
        .where(m.c.body_code.is_not(None), *_conditions(filters, settings, directory))
        .group_by(m.c.body_code, a.c.simulated)
    )
    out: dict[str, tuple[int, int]] = {}
    with _connection(settings, engine) as conn:
        for code, simulated, n in conn.execute(stmt).all():
            real, fake = out.get(str(code), (0, 0))
            out[str(code)] = (real, fake + int(n)) if simulated else (real + int(n), fake)
    return out


def _conditions(
    filters: Filters, settings: Settings, directory: Directory
) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses that keep the arrangements ``filters`` describe."""
    table = db.arrangements
    where: list[sa.ColumnElement[bool]] = []
    if filters.service:
        where.append(table.c.service == check_service(filters.service, settings))
    if filters.origin not in ORIGINS:
        raise InvalidInput(
            f"unknown origin {filters.origin!r}; expected one of {', '.join(ORIGINS)}",
            field="origin",
        )
    if filters.origin != "all":
        where.append(table.c.simulated == (filters.origin == "simulated"))
    if filters.status is not None:
        if filters.status not in STATUS_SAID:
            raise InvalidInput(
                f"unknown status {filters.status!r}; expected one of {', '.join(STATUS_FILTERS)}",
                field="status",
            )
        where.append(STATUS_SAID[filters.status])
    for codes in _body_filters(filters, directory):
        within = sa.select(db.members.c.arrangement_id).where(db.members.c.body_code.in_(codes))
        where.append(table.c.id.in_(within))
    return where


@contextmanager
def _connection(settings: Settings, engine: Engine | None) -> Iterator[Connection]:
    if engine is not None:
        with engine.connect() as conn:
            yield conn
        return
    ensure_database(settings)
    with db.connect(settings) as opened, opened.connect() as conn:
        yield conn


def get_arrangement(
    ident: str,
    *,
    settings: Settings,
    directory: Directory | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Return one arrangement with its members, or raise :class:`UnknownArrangement`."""
    directory = directory or default_directory(settings)
    table = db.arrangements
    with _connection(settings, engine) as conn:
        found = _records(conn, sa.select(table).where(table.c.id == ident.strip()), directory)
        ids = [] if found else list(conn.scalars(sa.select(table.c.id)))
    if found:
        return found[0]
    near = closest_ids(ident, ids)
    raise UnknownArrangement(f"no arrangement has the id {ident!r}", field="id", suggestions=near)


def real_id_named(name: str, *, settings: Settings, engine: Engine | None = None) -> str | None:
    """The id of the real arrangement the register holds by ``name`` (the first, by id), or
    None: what a note names, to link to."""
    table = db.arrangements
    stmt = (
        sa.select(table.c.id)
        .where(table.c.name == name, table.c.simulated.is_(False))
        .order_by(table.c.id)
        .limit(1)
    )
    with _connection(settings, engine) as conn:
        found = conn.scalar(stmt)
    return None if found is None else str(found)


def export(
    fmt: str,
    out: Path | str | None = None,
    *,
    filters: Filters | None = None,
    settings: Settings,
    directory: Directory | None = None,
) -> str | bytes:
    """Return the register as ``csv``, ``json`` or ``geojson`` text, or an ``xlsx`` workbook's
    bytes (the CSV's columns and values, which import again), also written to ``out``."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    directory = directory or default_directory(settings)
    records = query(filters, settings=settings, directory=directory)
    text: str | bytes
    if fmt in ("csv", "xlsx"):
        # The project layout; annual_savings_gbp is informative (derived again on import).
        lists = ["partners", "partner_roles", "partner_names", "partner_kinds"]
        columns = [c for c in ARRANGEMENT_COLUMNS if c != "fingerprint"] + lists
        rows = [r | {k: "; ".join(r[k]) for k in lists} for r in records]
        if fmt == "csv":  # formulas neutralised, re-importable
            text = csv_text(rows, columns, spreadsheet=True)
        else:
            text = xlsx_bytes(rows, columns, "Arrangements")
    elif fmt == "json":
        text = json.dumps({"arrangements": records}, indent=1, ensure_ascii=False) + "\n"
    else:
        text = geojson_text(records, directory.lonlat)
    if out is not None:
        atomic_write(Path(out), text)
    return text


def _body_filters(filters: Filters, directory: Directory) -> list[list[str]]:
    found: list[list[str]] = []
    if filters.body:
        body = filters.body.strip()
        known = body.upper() in directory.names
        found.append([body.upper()] if known else list(directory.resolve(body, None).codes))
    if filters.region:
        wanted = filters.region.strip().casefold()
        regions = directory.regions.items()
        codes = [c for c, pair in regions if wanted in (pair[0].casefold(), pair[1].casefold())]
        if not codes:
            names = sorted({name for _, name in directory.regions.values()})
            raise InvalidInput(
                f"unknown region {filters.region!r}; expected one of: {', '.join(names)}",
                field="region",
                suggestions=closest(filters.region, names, limit=3),
            )
        found.append(codes)
    return found


def _records(conn: Connection, stmt: sa.Select[Any], directory: Directory) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(stmt).mappings()]
    members: dict[str, list[dict[str, Any]]] = {}
    ids = [r["id"] for r in rows]
    for i in range(0, len(ids), 500):  # stay under the database's limit on bound parameters
        chunk = sa.select(db.members).where(db.members.c.arrangement_id.in_(ids[i : i + 500]))
        for m in conn.execute(chunk.order_by(db.members.c.position)).mappings():
            member = {k: m[k] for k in MEMBER_COLUMNS if k != "arrangement_id"}
            code = member["body_code"]
            member["name"] = (
                directory.names.get(code, m["name_as_given"]) if code else m["name_as_given"]
            )
            # The body that runs this fire authority: with it, one body (see one_body).
            member["run_by"] = directory.runs[code][0] if code in directory.runs else None
            members.setdefault(m["arrangement_id"], []).append(member)
    out = []
    for row in rows:
        mine = members.get(row["id"], [])
        left = exits_of(row["name"], bool(row["simulated"]))
        for member in mine:  # one that left it, as its source says (it runs on without)
            reading = left.get(str(member["body_code"]))
            member["left"] = reading is not None
            member["left_year"] = None if reading is None else reading.year
            member["left_words"] = None if reading is None else reading.source_words
        lists = partner_tokens(mine, directory.kinds)
        ended = end_read(row)
        said = {  # how the answers read it, as its own page says it
            "internal": _runs_said(mine, directory) or _merged_said(mine),
            "proposed": record_proposed(row),
            "ended": record_ended(row),
            "merged": one_body([m.get("body_code") for m in mine]),  # status_said's "merged"
            "term_passed": term_passed(row),
            "end_read": None if ended is None else ended.to_dict(),
            # A member abolished since, no one body succeeding it: "NHS Leeds (PCT) has since
            # been abolished" (None when none was)
            "abolished": abolished_said(row | {"members": mine}),
        }
        # The ?status= filter's word for it (status is as the register records it)
        said["status_read"] = status_said(row | {"members": mine})
        out.append({k: row[k] for k in ARRANGEMENT_COLUMNS} | lists | {"members": mine} | said)
    return out


def _merged_said(members: Sequence[Mapping[str, Any]]) -> str | None:
    """Why an arrangement whose members are all now one body is internal to it, in the
    source's names ("Suffolk Coastal and Waveney are both now East Suffolk"); None for any
    other arrangement.

    >>> _merged_said([{"body_code": "E07000244", "name_as_given": "Suffolk Coastal",
    ...                "name": "East Suffolk"},
    ...               {"body_code": "E07000244", "name_as_given": "Waveney",
    ...                "name": "East Suffolk"}])
    'Suffolk Coastal and Waveney are both now East Suffolk'
    """
    if not one_body([m.get("body_code") for m in members]):
        return None
    now = str(members[0]["name"])
    # A member the source names as its successor is now called is named in full ("Ryedale
    # and North Yorkshire County Council", not "Ryedale and North Yorkshire … now North
    # Yorkshire"), as the explorer names it.
    given = list(dict.fromkeys(_gone_said(m, now) for m in members))
    if len(given) == 1:  # one body named twice (by two of its names, as the source wrote them)
        return f"its members are all {now}"
    both = "both" if len(given) == 2 else "all"
    return f"{and_list(given)} are {both} now {now}"


def _runs_said(members: Sequence[Mapping[str, Any]], directory: Directory) -> str | None:
    """Why an arrangement between a fire authority and the body that runs it, and no one
    else, is internal ("West Sussex County Council runs the West Sussex Fire and Rescue
    Authority"); None for any other arrangement."""
    fires = [str(m["body_code"]) for m in members if m.get("run_by")]
    codes = [m.get("body_code") for m in members]
    if len(fires) != 1 or not one_body([body_of(m) for m in members]) or one_body(codes):
        return None
    fire = fires[0]
    runner, who = directory.runs[fire]
    fire_name = directory.names.get(fire, fire)
    kind = directory.kinds.get(runner)
    if kind == "police":  # a police, fire and crime commissioner, over both
        return f"the {who} governs both the police ({directory.names[runner]}) and the {fire_name}"
    if kind == "council":
        return f"{who} runs the {fire_name}"
    return f"the {who} ({directory.names.get(runner, runner)}) runs the {fire_name}"
