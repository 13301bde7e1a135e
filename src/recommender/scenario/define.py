"""What a scenario is: a name and the successor unitaries it makes out of today's councils.

A person writes a :class:`Draft` (on the command line, in a JSON or CSV file, or in the page's
form): successors, each a name and the councils it is made of, as codes or names. :func:`check`
turns it into a :class:`Definition` or raises :class:`~recommender.core.errors.ScenarioRejected`
listing every problem, so nothing half-checked is ever stored.

The rules
---------
* The name is a slug: lowercase letters, digits and single hyphens, starting with a letter, at
  most 64 characters (``surrey-east-west``); ``new`` is kept for the page that makes one.
* Each successor is made of lower-tier councils (districts, unitaries, metropolitan boroughs,
  London boroughs), taken whole. A county council stands for all its districts. Anything else
  (a fire, police or NHS body, a combined authority, a name that matches nothing, an
  abolished council split between successors) is refused, naming it.
* A council goes to one successor only.
* A county goes all or nothing: when some of its districts are in successors, all must be
  (its share follows its districts, so a county partly reorganised would be a county without
  all its area; such a proposal is refused naming the districts left out). A county whose
  districts all go to successors is abolished.
* A successor of one council is a district becoming a unitary; one unitary (or metropolitan or
  London borough) alone would change nothing and is refused.
* A successor's name (by default its councils' names) is unique in the scenario and is not the
  name of a council that remains on the map; at most 100 characters.

Successors get codes ``X06000001``, ``X06000002`` … in the order given: the ONS code shape with
an ``X``, so they can never be mistaken for a real body's code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.core import kinds
from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, ScenarioProblem, ScenarioRejected, UnknownBody
from recommender.core.names import and_list, normalise
from recommender.reference import lookup as reference

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_NAME = 64
RESERVED_NAMES = ("new",)  # /scenarios/new is the page that makes one
MAX_SUCCESSORS = 50
MAX_SUCCESSOR_NAME = 100
MAX_DESCRIPTION = 2000
MAX_TOKEN = 200
MAX_FILE_BYTES = 1_000_000
LOWER_TIERS = kinds.LOWER_TIERS
CODE_PREFIX = "X06"
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def successor_code(position: int) -> str:
    """The code of the ``position``-th successor (1-based): ``X06000001`` …"""
    return f"{CODE_PREFIX}{position:06d}"


def is_successor_code(code: str) -> bool:
    return len(code) == 9 and code.startswith(CODE_PREFIX) and code[3:].isdigit()


@dataclass(frozen=True)
class Successor:
    """A new unitary council: its code, its name and the councils it takes whole."""

    code: str
    name: str
    councils: tuple[str, ...]


@dataclass(frozen=True)
class Definition:
    """A checked scenario (hashable: derived worlds are cached by it)."""

    name: str
    successors: tuple[Successor, ...]
    description: str = ""

    def fingerprint(self) -> str:
        """A short hash of what shapes the scenario's map (not its description)."""
        shape = [[s.code, s.name, list(s.councils)] for s in self.successors]
        text = json.dumps({"name": self.name, "successors": shape}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def successor_of(self) -> dict[str, str]:
        """Council code -> the code of the successor it goes to."""
        return {c: s.code for s in self.successors for c in s.councils}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "successors": [
                {"code": s.code, "name": s.name, "councils": list(s.councils)}
                for s in self.successors
            ],
        }


@dataclass(frozen=True)
class DraftSuccessor:
    """A successor as written: an optional name and councils as codes or names."""

    name: str | None
    councils: tuple[str, ...]


@dataclass(frozen=True)
class Draft:
    """A scenario as written, before :func:`check`."""

    name: str
    successors: tuple[DraftSuccessor, ...]
    description: str = ""


# Reading drafts -------------------------------------------------------------------------------


def from_options(
    name: str, froms: tuple[str, ...], names: tuple[str, ...], description: str = ""
) -> Draft:
    """A draft from ``--from CODE,CODE,…`` options (one per successor) and their ``--name``s,
    matched in order (a successor without one is named after its councils)."""
    if len(names) > len(froms):
        raise ScenarioRejected(
            name,
            [ScenarioProblem("name", names[len(froms)], "more --name options than --from ones")],
        )
    successors = tuple(
        DraftSuccessor(names[i] if i < len(names) else None, _tokens(text))
        for i, text in enumerate(froms)
    )
    return Draft(name, successors, description)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def read_file(path: Path, name: str, description: str = "") -> Draft:
    """A draft from a JSON or CSV file (see the README for both layouts)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _file_problem(name, path, f"cannot read the file ({err.strerror})") from err
    if len(data) > MAX_FILE_BYTES:
        raise _file_problem(name, path, f"larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _file_problem(name, path, f"not UTF-8 text (byte {err.start})") from err
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        return _from_json(path, text, name, description)
    return _from_csv(path, text, name, description)


def _file_problem(name: str, path: Path, message: str) -> ScenarioRejected:
    return ScenarioRejected(name, [ScenarioProblem("file", path.name, message)])


def _from_json(path: Path, text: str, name: str, description: str) -> Draft:
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise _file_problem(name, path, f"not valid JSON: {err}") from err
    if isinstance(payload, dict):
        description = description or str(payload.get("description") or "")
        payload = payload.get("successors")
    if not isinstance(payload, list):
        raise _file_problem(name, path, 'expected {"successors": [{"name": …, "councils": […]}]}')
    successors = []
    for i, item in enumerate(payload, 1):
        councils = item.get("councils", item.get("from")) if isinstance(item, dict) else None
        if isinstance(councils, str):
            councils = list(_tokens(councils))
        if not isinstance(councils, list) or not all(isinstance(c, str) for c in councils):
            raise _file_problem(
                name, path, f"successor {i}: expected an object with a list of council codes"
            )
        label = item.get("name")
        successors.append(DraftSuccessor(str(label) if label else None, tuple(councils)))
    return Draft(name, tuple(successors), description)


def _from_csv(path: Path, text: str, name: str, description: str) -> Draft:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as err:
        raise _file_problem(name, path, f"not CSV: {err}") from err
    if not {"successor", "council"} <= set(header):
        raise _file_problem(name, path, "expected the columns successor and council")
    reader.fieldnames = header
    grouped: dict[str, list[str]] = {}
    try:
        for row in reader:
            label = (row.get("successor") or "").strip()
            council = (row.get("council") or "").strip()
            if council:
                grouped.setdefault(label, []).append(council)
    except csv.Error as err:
        raise _file_problem(name, path, f"not CSV: {err}") from err
    successors = tuple(DraftSuccessor(k or None, tuple(v)) for k, v in grouped.items())
    return Draft(name, successors, description)


# Checking -------------------------------------------------------------------------------------


def check_name(name: str) -> list[ScenarioProblem]:
    """Problems with a scenario's name (empty when it is a valid slug)."""
    if len(name) > MAX_NAME or not NAME_PATTERN.fullmatch(name):
        message = (
            f"a scenario's name is 1 to {MAX_NAME} lowercase letters, digits and single "
            "hyphens, starting with a letter (e.g. surrey-east-west)"
        )
        return [ScenarioProblem("name", name[: MAX_NAME + 10], message)]
    if name in RESERVED_NAMES:
        return [ScenarioProblem("name", name, "this name is kept for the site's own pages")]
    return []


@dataclass
class _Checker:
    draft: Draft
    settings: Settings
    problems: list[ScenarioProblem] = field(default_factory=list)

    def add(self, where: str, value: str, message: str, suggestions: tuple[str, ...] = ()) -> None:
        self.problems.append(ScenarioProblem(where, value, message, suggestions))

    def councils(self, i: int, tokens: tuple[str, ...]) -> list[str]:
        """The lower-tier councils the tokens name (counties stand for their districts)."""
        bodies = reference.load_bodies(self.settings)
        where = f"successors[{i}].councils"
        codes: list[str] = []
        named: dict[str, str] = {}  # each council's code to the token that named it first

        def once(code: str, token: str) -> None:
            if code in named:  # (a slip, not two wishes: said rather than merged unseen)
                self.add(
                    where,
                    token,
                    f"names {_label(bodies, code)} again (already named by {named[code]!r}): "
                    "name each council once",
                )
            else:
                named[code] = token
                codes.append(code)

        for token in tokens:
            if len(token) > MAX_TOKEN or _CONTROL.search(token):
                self.add(where, token[:MAX_TOKEN], "not a council's code or name")
                continue
            try:
                found = reference.resolve(token, kind="council", settings=self.settings)
            except UnknownBody as err:
                self.add(
                    where, token, "no public body has this code or name", tuple(err.suggestions)
                )
                continue
            if len(found.codes) > 1:
                several = ", ".join(_label(bodies, c) for c in found.codes)
                self.add(
                    where, token, f"{found.note or 'names several bodies'}: name one of {several}"
                )
                continue
            code = found.codes[0]
            kind, tier = str(bodies.at[code, "kind"]), str(bodies.at[code, "tier"])
            if kind != "council":
                what = kinds.tier_name(tier, code)  # "strategic authority" for the GLA
                self.add(
                    where,
                    token,
                    f"{_label(bodies, code)} is a {what}, not a council: "
                    "only councils form a successor",
                )
            elif tier == "county":
                if code in named:  # the county itself again: one problem, not one a district
                    once(code, token)
                    continue
                named[code] = token
                districts = bodies.index[bodies["county_code"] == code]
                for district in sorted(str(c) for c in districts):
                    once(district, token)
            else:
                once(code, token)
        return codes


def check(draft: Draft, settings: Settings) -> Definition:
    """Check ``draft`` against the reference; return the :class:`Definition` or raise
    :class:`ScenarioRejected` listing every problem (see the module docstring)."""
    checker = _Checker(draft, settings)
    checker.problems += check_name(draft.name)
    description = draft.description.strip()
    if len(description) > MAX_DESCRIPTION or "\x00" in description:
        checker.add(
            "description", description[:40], f"at most {MAX_DESCRIPTION:,} characters of text"
        )
    if not draft.successors:
        checker.add("successors", "", "a scenario needs at least one successor council")
    if len(draft.successors) > MAX_SUCCESSORS:
        checker.add(
            "successors", str(len(draft.successors)), f"at most {MAX_SUCCESSORS} successors"
        )
        raise ScenarioRejected(draft.name, checker.problems)
    bodies = reference.load_bodies(settings)
    members = [checker.councils(i, s.councils) for i, s in enumerate(draft.successors, 1)]
    _check_assignment(checker, members, bodies)
    names = [
        _successor_name(checker, i, s, m, bodies)
        for i, (s, m) in enumerate(zip(draft.successors, members, strict=True), 1)
    ]
    _check_names(checker, names, members, bodies, settings)
    if checker.problems:
        raise ScenarioRejected(draft.name, checker.problems)
    successors = tuple(
        Successor(successor_code(i), name, tuple(m))
        for i, (name, m) in enumerate(zip(names, members, strict=True), 1)
    )
    return Definition(draft.name, successors, description)


def _check_assignment(checker: _Checker, members: list[list[str]], bodies: Any) -> None:
    owner: dict[str, int] = {}
    for i, codes in enumerate(members, 1):
        where = f"successors[{i}].councils"
        if not codes and not any(p.field == where for p in checker.problems):
            checker.add(where, "", f"successor {i} names no council")
        for code in codes:
            if code in owner and owner[code] != i:
                checker.add(
                    where,
                    code,
                    f"{_label(bodies, code)} is already in successor "
                    f"{owner[code]}: a council goes to one successor only",
                )
            owner.setdefault(code, i)
        if len(codes) == 1 and str(bodies.at[codes[0], "tier"]) != "district":
            tier = kinds.tier_name(str(bodies.at[codes[0], "tier"]), codes[0])  # "city corporation"
            checker.add(
                where,
                codes[0],
                f"{_label(bodies, codes[0])} alone is already a {tier}: "
                "a successor takes two or more councils, or one district",
            )
    counties = {str(bodies.at[c, "county_code"]) for c in owner} - {""}
    for county in sorted(counties):
        districts = [str(c) for c in bodies.index[bodies["county_code"] == county]]
        left = [c for c in districts if c not in owner]
        if left:
            named = ", ".join(_label(bodies, c) for c in left)
            verb = "is" if len(left) == 1 else "are"
            checker.add(
                "successors",
                county,
                f"{_label(bodies, county)} is only partly reorganised: {named} {verb} in no "
                "successor; a county's districts all go to successors, or none do",
            )


def _successor_name(
    checker: _Checker, i: int, successor: DraftSuccessor, codes: list[str], bodies: Any
) -> str:
    name = " ".join((successor.name or "").split())
    if name:
        return name
    names = [str(bodies.at[c, "display_name"]) for c in codes]
    if len(names) <= 1:
        return names[0] if names else f"Successor {i}"
    if len(names) <= 3:  # "Barking and Dagenham, and Havering" (core.names.and_list)
        return and_list(names)
    return and_list([names[0], names[1], f"{len(names) - 2} more"])


def _named_body(name: str, bodies: Any, removed: set[str], settings: Settings) -> str:
    """The body other than a council that ``name`` names by one of its names ("Kent Police",
    "Essex Police", "Norfolk Fire and Rescue Service"), staying on the map: a successor so
    named was found by a look-up for that body. "" for none (a name that is a council's, or
    a place's that other kinds share, is :func:`_check_names`' own)."""
    try:
        found = reference.resolve(name, settings=settings)
    except (UnknownBody, InvalidInput):
        return ""
    codes = [c for c in found.codes if c not in removed and c in bodies.index]
    if len(codes) != 1 or str(bodies.at[codes[0], "kind"]) == "council":
        return ""
    # A place alone ("Cleveland", "Humberside": a fire or police area's short name) is a
    # unitary's name as well; a name saying the body's kind, or a variant of it, is not.
    named = found.alias_type != "official" or _KIND_WORDS.search(normalise(name))
    return codes[0] if named else ""


_KIND_WORDS = re.compile(
    r"\b(?:police|constabulary|fire|rescue|nhs|health|care board|combined authority|"
    r"commissioner|mayor)\b"
)


def _check_names(
    checker: _Checker,
    names: list[str],
    members: list[list[str]],
    bodies: Any,
    settings: Settings,
) -> None:
    removed = {c for m in members for c in m}
    removed |= {str(bodies.at[c, "county_code"]) for c in removed} - {""}
    # A council's names, and another body's full name: a unitary called Kent beside Kent's
    # fire and police areas is the norm, one called "Cleveland police force area" is not (a
    # look-up by that name found the successor, and the police area's page listed it).
    remaining = bodies[~bodies.index.isin(list(removed))]
    councils = remaining[remaining["kind"] == "council"]
    taken = {normalise(str(n)): str(code) for code, n in remaining["display_name"].items()}
    taken |= {normalise(str(n)): str(code) for code, n in councils["name"].items()}
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        where = f"successors[{i}].name"
        key = normalise(name)
        if len(name) > MAX_SUCCESSOR_NAME or _CONTROL.search(name) or not key:
            checker.add(
                where,
                name[:MAX_SUCCESSOR_NAME],
                f"a name of 1 to {MAX_SUCCESSOR_NAME} characters with a letter or digit",
            )
        elif key in seen:
            checker.add(where, name, f"successor {seen[key]} has this name already")
        elif key in taken or (other := _named_body(name, bodies, removed, settings)):
            checker.add(
                where,
                name,
                f"{_label(bodies, taken.get(key) or other)} keeps this name on the "
                "scenario's map: choose another",
            )
        seen.setdefault(key, i)


def _label(bodies: Any, code: str) -> str:
    return f"{bodies.at[code, 'display_name']} ({code})"
