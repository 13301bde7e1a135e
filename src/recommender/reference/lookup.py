"""The public bodies: load ``data/reference/``, resolve the names people write, and say who
governs each fire and rescue authority (and so which bodies are under one governor).

Nothing is read at import. Each loader reads its reference folder once and caches it
(``functools.lru_cache`` keyed by the folder and its files' modification times, so a rebuild
is picked up). Build the folder with ``recommender data build-reference``
(:mod:`recommender.reference.build`).

>>> resolve("Taunton Deane").codes          # doctest: +SKIP
('E06000066',)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from recommender.core import atomic, kinds
from recommender.core.config import Settings
from recommender.core.errors import DataError, InvalidInput, UnknownBody
from recommender.core.names import (
    WordIndex,
    and_list,
    closest,
    council_types,
    gone_in,
    normalise,
    word_index,
    word_scores,
)
from recommender.geo.geography import check_crs
from recommender.reference import rules as reference_rules
from recommender.reference.governance import (
    Governor,
    governance_sentence,
    governed_pairs_of,
    records,
)

KINDS, OTHER_KINDS, TIER_NAMES = kinds.KINDS, kinds.OTHER_KINDS, kinds.TIER_NAMES
ALIAS_TYPES = ("official", "display", "variant", "former", "nhs_predecessor")
TEXT_COLUMNS = [
    "code", "name", "display_name", "kind", "tier", "region_code", "region", "county_code",
    "fire_code", "police_code", "icb_code", "cauth_code", "rural_urban",
]  # fmt: skip
# A name matches a query when its words match the query's words this well (see
# names.word_scores): one wrong letter in a word of six still does, "Luton" for "Taunton" not.
MATCH_SCORE = 80.0
CLOSE_SCORE = 50.0  # for the closest names when nothing matches ("Alfa": Alpha)
FORMER_TYPES = ("former", "nhs_predecessor")
OWN_NAMES = ("official", "display")  # a body's own names, of the alias types
_ABOLISHED = re.compile(
    r"^(?P<name>.+?) was abolished in (?P<year>\d{4})(?P<between> \(into [^)]*\))?; "
    r"now part of (?P<now>.+)$"
)
FILES = ("bodies.csv", "boundaries.geojson", "adjacency.csv", "aliases.csv", "fire_governance.csv")


@dataclass(frozen=True)
class Resolution:
    """A name or code matched to current bodies (several when an abolished body was split)."""

    query: str
    codes: tuple[str, ...]
    matched: str
    alias_type: str
    former_code: str | None
    note: str
    score: float
    # Other current bodies whose own name (:data:`OWN_NAMES`) it is too ("Durham": County
    # Durham's, and Durham police force area's), said beside the answer (:func:`name_note`).
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Reference:
    bodies: gpd.GeoDataFrame
    adjacency: pd.DataFrame
    aliases: pd.DataFrame  # with the body's kind, sorted for resolution
    keys: np.ndarray[Any, np.dtype[np.object_]]  # distinct alias keys
    words: WordIndex  # the keys' words, for search
    governance: pd.DataFrame  # fire_governance.csv, indexed by fire code
    governed: dict[tuple[str, str], Governor]  # both orders of every pair under one governor


def _folder(settings: Settings) -> Path:
    return settings.reference_dir


def _reference(settings: Settings) -> _Reference:
    folder = _folder(settings).resolve()
    # A rebuild swaps the folder: finish one a kill left half-done, and read while none runs.
    with atomic.reading_folder(folder):
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise DataError(
                f"reference data missing in {folder}: {', '.join(missing)}; build it with "
                "`make reference` (recommender data build-reference)"
            )
        stamp = tuple((folder / name).stat().st_mtime_ns for name in FILES)
        return _load(folder, stamp)


@lru_cache(maxsize=4)
def _load(folder: Path, stamp: tuple[int, ...]) -> _Reference:
    table = pd.read_csv(
        folder / "bodies.csv", dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False
    )
    shapes = gpd.read_file(folder / "boundaries.geojson", engine="pyogrio")
    check_crs(shapes, what=str(folder / "boundaries.geojson"))
    geometry = shapes.set_index("code").geometry.reindex(table["code"])
    bodies = gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=shapes.crs)
    bodies.index = pd.Index(table["code"].to_numpy())
    adjacency = pd.read_csv(folder / "adjacency.csv", dtype=str, keep_default_na=False)
    adjacency["border_km"] = adjacency["border_km"].astype(float)
    aliases = pd.read_csv(folder / "aliases.csv", dtype=str, keep_default_na=False)
    aliases["kind"] = aliases["code"].map(bodies["kind"])
    aliases["kind_rank"] = aliases["kind"].map({k: i for i, k in enumerate(KINDS)})
    aliases["type_rank"] = aliases["alias_type"].map({t: i for i, t in enumerate(ALIAS_TYPES)})
    aliases = aliases.sort_values(["key", "kind_rank", "type_rank", "code"], kind="stable")
    aliases["styles"] = pd.Series(
        _styles(aliases, bodies["tier"]), index=aliases.index, dtype=object
    )
    keys = np.asarray(aliases["key"].drop_duplicates().to_numpy(), dtype=object)
    aliases.index = pd.Index(aliases["key"].to_numpy())
    governance = pd.read_csv(folder / "fire_governance.csv", dtype=str, keep_default_na=False)
    governance = governance.set_index("fire_code", drop=False)
    return _Reference(
        bodies,
        adjacency,
        aliases,
        keys,
        word_index(list(keys)),
        governance,
        governed_pairs_of(governance),
    )


# The types a council's tier gives it, whatever its names say (every non-metropolitan district
# is a district, be it styled a borough; a metropolitan district a borough or a district), unless
# its names say it is a city: "Newcastle Borough Council" is Newcastle-under-Lyme, not Newcastle
# City Council, a metropolitan district.
TIER_TYPES = {
    "district": frozenset({"district"}),
    "metropolitan": frozenset({"borough", "district"}),
    "london_borough": frozenset({"borough"}),
    "county": frozenset({"county"}),
}


def _styles(aliases: pd.DataFrame, tiers: pd.Series) -> list[frozenset[str]]:
    """Each alias row's council types: for a body today, every type any of its names gives
    (Newcastle upon Tyne: city, from "Newcastle City Council"; none for "Milton Keynes
    Council") and its tier's (:data:`TIER_TYPES`); for a body gone, every type its own names
    give ("City of Durham Council": city; Allerdale's bare name: borough, as "Allerdale Borough
    Council")."""
    today = ~aliases["alias_type"].isin(["former", "nhs_predecessor"])
    gone = list(zip(aliases["code"], aliases["former_code"], aliases["note"], strict=True))
    of: dict[Any, frozenset[str]] = {}
    for at, alias, now, was in zip(aliases["code"], aliases["alias"], today, gone, strict=True):
        key = at if now else was
        of[key] = of.get(key, frozenset()) | council_types(alias)
    for code in set(aliases.loc[today, "code"]):
        if "city" not in of.get(code, frozenset()):
            of[code] = of.get(code, frozenset()) | TIER_TYPES.get(str(tiers.get(code)), frozenset())
    return [of.get(at if now else was, frozenset())
            for at, now, was in zip(aliases["code"], today, gone, strict=True)]  # fmt: skip


def _typed(query: str, key: str, rows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The rows of ``key`` whose council type is the one ``query`` gives, councils only (a
    name that says "borough" or "district" names no fire or police body): "Durham City
    Council" is the City of Durham Council of 2009, not Durham County Council. A name whose
    type no council of that key has is none of them ("Newcastle Borough Council" is
    Newcastle-under-Lyme, not Newcastle City Council; "Lichfield City Council" a parish
    council, not Lichfield District Council): raise :class:`UnknownBody` saying so, with the
    closest councils of its place. Rows whose names and tier give no type ("Milton Keynes
    Council") take any."""
    given = council_types(query) - set(key.split())  # "County Durham": the place's own word
    if not given:
        return rows
    councils = rows[rows["kind"] == "council"]
    if not len(councils):  # "City of Nottingham Fire and Rescue": no council's name
        return rows
    rows = councils
    styles = rows["styles"]
    same = rows[[bool(given & s) for s in styles]]
    if len(same):
        return same
    if len(rows) and not all(styles):
        return rows[[not s for s in styles]]
    ref, wrong = _reference(settings), set(rows["code"])
    said = f"a {' or '.join(sorted(given))} council"
    if len(rows):  # "Lichfield (Lichfield District Council)"
        first = rows.drop_duplicates(["code", "former_code", "note"])  # one name a body
        named = [
            f"{alias} (now {ref.bodies.at[code, 'display_name']})"
            if kind == "former"
            else _styled(ref, str(code))
            for alias, code, kind in zip(
                first["alias"], first["code"], first["alias_type"], strict=True
            )
        ]
        said += f", and {and_list(list(dict.fromkeys(named)))} is none"
    if "city" in given:  # "Lichfield City Council", "Hereford City Council": parish councils
        said += "; a town or parish council is not among the bodies: keep it as an external member"
    place = key.split()[0]  # the councils of its place, not the one it is not
    near = search(query, limit=10, settings=settings, min_score=CLOSE_SCORE)
    suggestions = [
        _label(ref, r)
        for r in near
        if not wrong & set(r.codes)
        and all(
            ref.bodies.at[c, "kind"] == "council"
            and normalise(str(ref.bodies.at[c, "display_name"])).startswith(place)
            for c in r.codes
        )
    ]
    raise UnknownBody(
        f"no public body matches {query!r}: its name says {said}",
        field="name",
        suggestions=suggestions[:5],
    )


def _styled(ref: _Reference, code: str) -> str:
    """A council by its name, and the first of its names today to give its type (an official
    one first, never one a source wrote all lower case): "Lichfield (Lichfield District
    Council)"."""
    rows = ref.aliases[
        (ref.aliases["code"] == code)
        & ref.aliases["alias_type"].isin(["official", "display", "variant"])
    ]
    rows = rows.sort_values("type_rank", kind="stable")
    styled = next(
        (str(n) for n in rows["alias"] if council_types(str(n)) and not str(n).islower()), None
    )
    display = str(ref.bodies.at[code, "display_name"])
    return display if styled is None else f"{display} ({styled})"


def load_bodies(settings: Settings) -> gpd.GeoDataFrame:
    """Return every body (index: code), with its facts and polygon in EPSG:27700."""
    return _reference(settings).bodies


def load_adjacency(settings: Settings) -> pd.DataFrame:
    """Return the pairs of bodies that touch or share area: ``code_a, code_b, relation,
    border_km``."""
    return _reference(settings).adjacency


def load_aliases(settings: Settings) -> pd.DataFrame:
    """Return the alias table: ``alias, key, code, alias_type, former_code, note``."""
    aliases = _reference(settings).aliases
    return aliases[["alias", "key", "code", "alias_type", "former_code", "note"]].reset_index(
        drop=True
    )


def resolve(query: str, *, kind: str | None = None, settings: Settings) -> Resolution:
    """Return the current body or bodies ``query`` names (a code, a name or an alias).

    Exact matches only (after :func:`recommender.core.names.normalise`); bodies of ``kind`` are
    preferred, then councils, fire, police, health and combined authorities in that order, and
    official names over variants over abolished councils. Raises :class:`UnknownBody` with the
    closest names when nothing matches.
    """
    _check_kind(kind)
    ref = _reference(settings)
    text = " ".join(str(query).split())
    if not text:  # (it matched every alias with no former code: "several bodies match")
        raise InvalidInput(f"a body's code or name is needed; {query!r} is blank", field="name")
    code = text.upper()
    if code in ref.bodies.index:
        return Resolution(query, (code,), code, "code", None, "", 100.0)
    by_code = ref.aliases[ref.aliases["former_code"] == code]
    if len(by_code):
        return _resolution(query, by_code, kind, 100.0)
    key = normalise(text)
    if key and key in ref.aliases.index:
        return _resolution(query, _typed(text, key, ref.aliases.loc[[key]], settings), kind, 100.0)
    if ruled := reference_rules.match(text, kind, _place_lookup(ref)):
        return _ruled(query, ruled, ref)
    near = search(text, limit=5, kind=kind, settings=settings, min_score=CLOSE_SCORE)
    suggestions = [_label(ref, r) for r in near]
    if joined := _two(text, ref, settings):  # "Adur and Worthing Councils": two partners
        said = f"; for {len(joined)} partners, write each apart with ';' between"
        raise UnknownBody(
            f"no public body matches {query!r}{said}: {'; '.join(part for part, _ in joined)}",
            field="name",
            suggestions=[_label(ref, found) for _, found in joined],
        )
    if unknown := unknown_code_said(query):  # a code: names like it in letters are nothing like it
        raise UnknownBody(unknown, field="name")
    raise UnknownBody(f"no public body matches {query!r}", field="name", suggestions=suggestions)


ONS_CODE = re.compile(r"[EWSNK]\d{8}")  # an ONS GSS code: E31000017


# A scenario's new council (:data:`recommender.scenario.define.CODE_PREFIX`).
_SCENARIO_CODE = re.compile(r"X06\d{6}")


def unknown_code_said(query: str) -> str | None:
    """What to say of ``query`` when it is an ONS code no body in the reference has (None when
    it is not a code): which codes the reference holds.

    >>> unknown_code_said("E31000017").startswith("no public body in the reference has the code")
    True
    >>> unknown_code_said("Rothr") is None
    True
    >>> "a reorganisation scenario" in unknown_code_said("X06000001")
    True
    """
    code = " ".join(str(query).split()).upper()
    if _SCENARIO_CODE.fullmatch(code):  # (it suggested Barnsley and Sheffield)
        return (
            f"no public body in the reference has the code {query!r}: codes X06… name the new "
            "councils of a reorganisation scenario, on its map only (its pages are under "
            "/scenarios/NAME/bodies/, the API takes ?scenario=NAME; `recommender scenario "
            "list` names them)"
        )
    if not ONS_CODE.fullmatch(code):
        return None
    return (
        f"no public body in the reference has the code {query!r}: it holds the codes English"
        " bodies have today and those of abolished councils, not a code a body had before a"
        " merger or a boundary change, nor a Welsh, Scottish or Northern Irish one"
    )


def _two(text: str, ref: _Reference, settings: Settings) -> list[tuple[str, Resolution]]:
    """The bodies a name joins ("Adur and Worthing Councils": Adur, Worthing), each part a
    body's name; empty for a name that is not so made."""
    parts = re.split(r"\s+(?:and|&)\s+", re.sub(r"\s+councils?$", "", text, flags=re.I))
    if len(parts) < 2 or not all(normalise(p) in ref.aliases.index for p in parts if p):
        return []
    try:
        return [(part, resolve(part, settings=settings)) for part in parts]
    except (UnknownBody, InvalidInput):
        return []


# The area column that says which body of each kind a council sits in.
AREA_OF_KIND = {"fire": "fire_code", "police": "police_code", "health": "icb_code"}


def _place_lookup(ref: _Reference) -> reference_rules.PlaceLookup:
    """Bodies of a kind that a place name stands for (see :mod:`recommender.reference.rules`):
    a body of that kind with the name, else the area of that kind holding the named council(s)."""

    def lookup(place: str, kind: str) -> tuple[str, ...]:
        key = normalise(place)
        if not key or key not in ref.aliases.index:
            return ()
        rows = ref.aliases.loc[[key]]
        own = rows[rows["kind"] == kind]
        if len(own):
            return _resolution(place, own, kind, 100.0).codes
        councils = rows[rows["kind"] == "council"]
        column = AREA_OF_KIND.get(kind)
        if not len(councils) or column is None:
            return ()
        codes = _resolution(place, councils, "council", 100.0).codes
        areas = {str(ref.bodies.at[c, column]) for c in codes}
        return tuple(sorted(areas)) if "" not in areas else ()

    return lookup


def _ruled(query: str, ruled: reference_rules.RuleMatch, ref: _Reference) -> Resolution:
    names = " and ".join(str(ref.bodies.at[c, "display_name"]) for c in ruled.codes)
    place = reference_rules.place_title(ruled.place)
    if ruled.alias_type == "nhs_predecessor":
        note = (
            f"{query} was an NHS commissioner for {place}; the integrated care board for its "
            f"area ({names}) stands in for it"
        )
    else:
        note = f"{query} is read as the {ruled.rule} for {place}: {names}"
    matched = f"{ruled.rule}: {ruled.place}"
    return Resolution(query, ruled.codes, matched, ruled.alias_type, None, note, 100.0)


def _others(query: str, rows: pd.DataFrame, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The other bodies among ``rows`` whose own name (:data:`OWN_NAMES`) ``query`` is, as
    written (case and spacing aside): "Kent" is the police force area's and the fire
    authority's ONS name; "Kent Council", which reads as the same key, is neither's; nor is
    "Somerset" the name of Avon and Somerset police, for which it is a variant."""
    asked = " ".join(str(query).split()).casefold()
    own = rows["alias_type"].isin(OWN_NAMES) & (rows["alias"].str.casefold() == asked)
    return tuple(sorted(set(rows.loc[own, "code"]) - set(codes)))


def _resolution(query: str, rows: pd.DataFrame, kind: str | None, score: float) -> Resolution:
    ranked = rows.assign(other_kind=(rows["kind"] != kind) if kind else False)
    ranked = ranked.sort_values(["other_kind", "kind_rank", "type_rank"], kind="stable")
    top = ranked.iloc[0]
    same = ranked[
        (ranked["kind"] == top["kind"])
        & (ranked["alias_type"] == top["alias_type"])
        & (ranked["former_code"] == top["former_code"])
        & (ranked["note"] == top["note"])
    ]
    codes = tuple(sorted(set(same["code"])))
    return Resolution(
        query=query,
        codes=codes,
        matched=str(top["alias"]),
        alias_type=str(top["alias_type"]),
        former_code=str(top["former_code"]) or None,
        note=str(top["note"]),
        score=float(score),
        others=_others(query, ranked, codes),
    )


def search(
    query: str,
    *,
    limit: int = 10,
    kind: str | None = None,
    settings: Settings,
    min_score: float = MATCH_SCORE,
) -> list[Resolution]:
    """Return up to ``limit`` bodies whose names are like ``query``, best first.

    Codes starting with the query come first, then exact names, then names starting with the
    query, then names whose every word matches a word of the query
    (:func:`recommender.core.names.word_scores`, ``score``), closest in length first. An abolished
    council's name leads to its successor, so "Taunton Deane" finds Somerset first. Each body
    appears once. ``min_score`` lowers the bar for "did you mean" lists.
    """
    _check_kind(kind)
    ref = _reference(settings)
    key = normalise(query)
    if not key or limit <= 0:
        return []
    keys, words = ref.keys, ref.words
    if kind is not None:
        wanted = np.isin(keys, ref.aliases.loc[ref.aliases["kind"] == kind, "key"].unique())
    else:
        wanted = np.ones(len(keys), dtype=bool)
    scores = np.where(wanted, word_scores(key, words), 0.0)
    # Among names matching as well, those of the query's length first ("hull" before
    # "kingston upon hull").
    plain = process.cdist([key], list(keys), scorer=fuzz.QRatio)[0].astype(float)
    starts = np.asarray([k.startswith(key) for k in keys])
    rank = scores + 0.01 * plain + 200.0 * (keys == key) + 100.0 * starts
    found: list[Resolution] = []
    seen: set[tuple[str, ...]] = set()
    code = query.strip().upper()
    for match in ref.bodies.index[ref.bodies.index.str.startswith(code)][: limit if code else 0]:
        if len(code) >= 3 and (kind is None or ref.bodies.at[match, "kind"] == kind):
            found.append(Resolution(query, (match,), match, "code", None, "", 100.0))
            seen.add((match,))
    if len(code) >= 3 and code[1:].isdigit():  # an abolished council's code: its successor
        former = ref.aliases[ref.aliases["former_code"].str.startswith(code)]
        for _, rows in former.groupby("former_code", sort=True):
            if len(found) >= limit:
                break
            hit = _resolution(query, rows, kind, 100.0)
            if hit.codes not in seen and (kind is None or rows["kind"].eq(kind).any()):
                seen.add(hit.codes)
                found.append(hit)
    aliases = ref.aliases if kind is None else ref.aliases[ref.aliases["kind"] == kind]
    for index in np.argsort(-rank, kind="stable"):
        if len(found) >= limit or scores[index] < min_score:
            break
        rows = aliases.loc[[keys[index]]]
        for _, group in rows.groupby(["kind_rank", "type_rank", "former_code", "note"], sort=True):
            hit = _resolution(query, group, kind, min(100.0, float(scores[index])))
            if hit.codes not in seen:
                seen.add(hit.codes)
                found.append(hit)
    return found[:limit]


def exact(query: str, settings: Settings) -> Resolution | None:
    """Return the one body ``query`` names exactly (a code, a name or an alias of one body
    only, an abolished council with one successor), or None when it names none or several
    ("Kent" is a council, a fire authority and a police force area)."""
    try:
        found = resolve(query, settings=settings)
    except UnknownBody:
        return None
    if len(found.codes) != 1:
        return None
    ref = _reference(settings)
    key = normalise(" ".join(str(query).split()))
    if key in ref.aliases.index and ref.aliases.loc[[key], "code"].nunique() > 1:
        return None
    return found


def predecessor(query: str, *, kind: str | None = None, settings: Settings) -> Resolution | None:
    """The abolished body that had ``query``'s name before the current body that has it now
    (a former alias of the same name and body: "Somerset" was Somerset County Council until
    2023, and is now Somerset Council), or None: what an arrangement older than the current
    body meant by the name (:func:`gone_in` reads the year from its note).

    >>> predecessor("Somerset", kind="council").note  # doctest: +SKIP
    'Somerset County Council was abolished in 2023; now part of Somerset'
    """
    try:
        current = resolve(query, kind=kind, settings=settings)
    except UnknownBody:
        return None
    if current.alias_type not in ("official", "display", "variant"):
        return None
    ref = _reference(settings)
    key = normalise(" ".join(str(query).split()))
    if not key or key not in ref.aliases.index:
        return None
    rows = ref.aliases.loc[[key]]
    # The body gone that had the name, by its ONS code (Somerset County Council): not another
    # council gone whose key is the name too (the City of Durham Council of 2009, "durham",
    # whose area Durham County Council took on), nor one of another type than the name says.
    given = council_types(query) - set(key.split())
    former = rows[
        (rows["alias_type"] == "former")
        & rows["code"].isin(current.codes)
        & (rows["former_code"] != "")
        & np.array([not given or bool(given & styles) for styles in rows["styles"]])
    ]
    if not len(former) or gone_in(str(former["note"].iloc[0])) is None:
        return None
    return _resolution(query, former, kind, 100.0)


def former_note(query: str, code: str, settings: Settings) -> str | None:
    """Say that ``query`` names an abolished council (or a replaced combined authority, or an
    NHS predecessor) whose area is now (part of) the body ``code``; None when it does not.

    >>> former_note("Aylesbury Vale", "E06000060")  # doctest: +SKIP
    'Aylesbury Vale District Council was abolished in 2020; its area is now part of
    Buckinghamshire.'
    """
    found = _read_as(query, code, settings)
    return None if found is None else _former_said(found)


def _read_as(query: str, code: str, settings: Settings) -> Resolution | None:
    """``query`` resolved, where it names ``code`` (None where it names another, or none)."""
    try:
        found = resolve(query, settings=settings)
    except (UnknownBody, InvalidInput):
        return None
    return found if code in found.codes else None


def _former_said(found: Resolution) -> str | None:
    if found.alias_type not in FORMER_TYPES or not found.note:
        return None
    abolished = _ABOLISHED.match(found.note)
    if abolished:
        note = f"{abolished['name']} was abolished in {abolished['year']}"
        note += f"{abolished['between'] or ''}; its area is now part of {abolished['now']}"
    else:
        note = found.note
    return note.rstrip(".") + "."


def _also_said(found: Resolution, settings: Settings) -> str | None:
    """Which other current bodies the name ``found`` read has as their own: "Durham" is
    County Durham's, and Durham police force area's, which a police officer asking for
    "Durham" was given no word of. None when it names no other."""
    if not found.others:
        return None
    which = "it" if len(found.others) == 1 else "one of them"
    named = _others_named(found, _reference(settings))
    return f"“{' '.join(found.query.split())}” also names {named}: ask for {which} by its code."


def _others_named(found: Resolution, ref: _Reference) -> str:
    """ "Durham police force area (E23000008)": the other bodies a name names."""
    return and_list([f"{ref.bodies.at[c, 'display_name']} ({c})" for c in found.others])


def name_note(query: str, code: str, settings: Settings) -> str | None:
    """What a page, the API and the CLI say of the name ``query`` read as body ``code``'s:
    that it names an abolished council whose area ``code`` now covers (:func:`former_note`),
    or one renamed since ("Shepway was renamed Folkestone and Hythe"), and the other bodies it
    names ("“Durham” also names Durham police force area (E23000008): ask for it by its
    code."); None for none of these."""
    found = _read_as(query, code, settings)  # read once, said three ways
    if found is None:
        return None
    said = [_former_said(found), _renamed_said(found), _also_said(found, settings)]
    return " ".join(n for n in said if n) or None


def listed_note(name: str, found: Resolution, settings: Settings) -> str | None:
    """What a list of arrangements asked for by a body's ``name`` says of it (the explorer,
    the API's list, ``register list``): named by a body gone, the arrangements listed are its
    successor's, not only those it was in ("Taunton Deane" lists Somerset's seven, one of
    them Taunton Deane's), as the body page says of the name; a renamed body's name says so;
    and a name other bodies have too lists one body's alone ("Cheshire": the county's
    successors', not the police force area's nor the fire authority's). None for none of
    these."""
    said = []
    if found.alias_type in FORMER_TYPES and found.note:
        ref = _reference(settings)
        today = and_list([str(ref.bodies.at[c, "display_name"]) for c in found.codes])
        said.append(
            f"{found.note.rstrip('.')}. These are the arrangements of {today}, not only those "
            f"{name} was in: each lists its members as its source names them."
        )
    if renamed := _renamed_said(found):  # "Shepway was renamed Folkestone and Hythe."
        said.append(renamed)
    if found.others:
        which = "it" if len(found.others) == 1 else "one of them"
        said.append(
            f"“{' '.join(name.split())}” also names "
            f"{_others_named(found, _reference(settings))}, whose arrangements are not "
            f"listed here: ask for {which} by its code."
        )
    return " ".join(said) or None


def noted(found: Resolution) -> bool:
    """Whether what ``found`` read a name as needs a word beside it (:func:`name_note`): an
    abolished or renamed body's name, or one other bodies share."""
    return found.alias_type in FORMER_TYPES or bool(found.others) or bool(_renamed_said(found))


_RENAMED = " was renamed "


def _renamed_said(found: Resolution) -> str | None:
    """ "Shepway was renamed Folkestone and Hythe." for a renamed council's name; what became
    of a body's ONS name that it no longer goes by (an official name with a note: the London
    Fire and Emergency Planning Authority's)."""
    if _RENAMED in found.note or (found.alias_type == "official" and found.note):
        return found.note.rstrip(".") + "."
    return None


DEPRIVATION_NOTE = "its councils' scores, weighted by their people"


def body(code_or_name: str, settings: Settings) -> dict[str, Any]:
    """Return the facts of one body (plain Python values; no geometry).

    Besides the columns of ``bodies.csv``, ``governance`` lists what ``fire_governance.csv``
    says about the body (:func:`governance_facts`), each with its source.
    """
    ref = _reference(settings)
    code = _one_code(code_or_name, settings)
    row = ref.bodies.loc[code]
    facts = {column: _plain(row[column]) for column in ref.bodies.columns if column != "geometry"}
    facts = facts | {"governance": governance_facts(code, settings)}
    if facts.get("imd_decile") and facts["tier"] not in kinds.LOWER_TIERS:
        # The source scores councils that run local services (and, differently, counties):
        # every other body's score is its councils', as data/README.md says.
        facts["deprivation_note"] = DEPRIVATION_NOTE
    if facts["kind"] == "health" and (split := _split_councils(code, settings)):
        # Its outline (and so its area) is drawn from the councils mostly in it; its people
        # include a share of each split council's, by the number of its small areas (LSOAs) in
        # the board (the sources give no small area's population): the density of the two would
        # mislead, and the population is an estimate.
        one = len(split) == 1
        facts["area_note"] = (
            f"the area of the councils mostly within it; {and_list(split)} "
            f"{'is' if one else 'are'} split with another NHS board, so no density is given"
        )
        facts["density"] = None  # as its note says (the JSON gave one beside it)
        facts["population_note"] = (
            f"an estimate: the people of {and_list(split)} are shared with another NHS board "
            f"by the number of {'its' if one else 'their'} small areas (LSOAs) in each"
        )
    return facts


def estimated_populations(settings: Settings) -> frozenset[str]:
    """The bodies whose population is an estimate: NHS boards sharing a council's people with
    another board (:func:`body`'s ``population_note``, from :func:`_split_councils`: the same
    rule, read at once for every board), so a reason says "an estimated"."""
    ref = _reference(settings)
    adjacency = ref.adjacency
    overlaps = adjacency[adjacency["relation"] == "overlaps"]
    facts = ref.bodies[["kind", "tier"]]
    a = facts.reindex(overlaps["code_a"]).reset_index(drop=True)
    b = facts.reindex(overlaps["code_b"]).reset_index(drop=True)
    split = (a["kind"] == "health") & (b["kind"] == "council") & (b["tier"] != "county")
    return frozenset(overlaps["code_a"].to_numpy()[split.to_numpy()].astype(str))


def _split_councils(code: str, settings: Settings) -> list[str]:
    """The councils whose people a body shares with another body of its kind (an NHS board:
    by LSOA): the councils its population is summed from, never a county over them (Essex is
    split among three boards, but each board's people are its districts' and unitaries')."""
    found = _related(code, settings, ("overlaps",))
    summed = (found["kind"] == "council") & (found["tier"] != "county")
    return sorted(str(n) for n in found[summed]["display_name"])


def fire_governance(settings: Settings) -> pd.DataFrame:
    """Return how each fire authority is governed, indexed by fire code.

    Columns ``fire_code, governance, governed_by_code, governed_by_name, police_code,
    since_year, source_url`` (text; empty where the source states nothing), as built into
    ``fire_governance.csv`` by :mod:`recommender.reference.governance`.
    """
    return _reference(settings).governance


def fire_run_by(council: str, settings: Settings) -> str | None:
    """Return the code of the fire authority council ``council`` runs, or None.

    Where the governance is ``county_council`` the council is the fire and rescue authority:
    the fire service is part of the council, not a partner of it.
    """
    table = _reference(settings).governance
    runs = table[(table["governance"] == "county_council") & (table["governed_by_code"] == council)]
    return str(runs.index[0]) if len(runs) else None


def shared_governor(a: str, b: str, settings: Settings) -> Governor | None:
    """Return the :class:`Governor` two bodies (codes) are both under, or None.

    They are when one is a council and the other the fire authority it runs; a fire authority
    and the police force area under the same police, fire and crime commissioner or mayor;
    or a combined authority (or the GLA) and the fire authority or police force area its mayor
    governs. The answer does not depend on the order of ``a`` and ``b``.
    """
    return _reference(settings).governed.get((a, b))


def governed_pairs(settings: Settings) -> dict[tuple[str, str], Governor]:
    """Return every ordered pair of codes under one governor (both orders), for bulk use."""
    return dict(_reference(settings).governed)


def governance_facts(code: str, settings: Settings) -> list[dict[str, str]]:
    """Return what the fire governance table says about body ``code``, as sentences.

    Each item has ``text`` (e.g. "Runs the fire and rescue service (Cornwall Fire and Rescue
    Authority)", "Governed by the Police, Fire and Crime Commissioner for Essex since 2017"),
    ``source_url``, ``governance`` and ``fire_code``. Most bodies have none.
    """
    ref = _reference(settings)
    table = ref.governance
    names = ref.bodies["display_name"]
    rows = table[
        (table["fire_code"] == code)
        | (table["governed_by_code"] == code)
        | (table["police_code"] == code)
    ]
    return [
        {
            "text": governance_sentence(code, row, names),
            "source_url": row["source_url"],
            "governance": row["governance"],
            "fire_code": row["fire_code"],
        }
        for row in records(rows)
    ]


def neighbours(code: str, settings: Settings, *, kind: str | None = None) -> pd.DataFrame:
    """Return the bodies touching ``code`` (of ``kind`` if given), longest border first."""
    _check_kind(kind)
    found = _related(code, settings, ("touches",))
    if kind is not None:
        found = found[found["kind"] == kind]
    return found.sort_values(["border_km", "code"], ascending=[False, True]).reset_index(drop=True)


def containers(code: str, settings: Settings) -> pd.DataFrame:
    """Return the bodies ``code`` sits within or overlaps (county, fire, police, ICB …)."""
    found = _related(code, settings, ("within", "overlaps"))
    found["kind_rank"] = found["kind"].map({k: i for i, k in enumerate(KINDS)})
    found = found.sort_values(["kind_rank", "relation", "code"]).drop(columns="kind_rank")
    return found.reset_index(drop=True)


# How a body's contents are listed: by kind, a council by tier (a county before the councils
# within it), then by name.
_CONTENT_TIERS = ("county", "unitary", "metropolitan", "london_borough", "district")


def contents(code: str, settings: Settings) -> pd.DataFrame:
    """Return the bodies whose whole area lies within ``code``'s: a county's districts, the
    councils of a fire, police or NHS board's area, a fire authority with the same area as its
    police force area (the reference's ``contains``, from the ONS small areas of each), listed
    by :func:`in_order`."""
    return in_order(_related(code, settings, ("contains",)))


def in_order(found: pd.DataFrame) -> pd.DataFrame:
    """Rows of related bodies by kind (:data:`KINDS`), a council's tier (a county first), then
    name."""
    kind = found["kind"].map({k: i for i, k in enumerate(KINDS)})
    tier = found["tier"].map({t: i for i, t in enumerate(_CONTENT_TIERS)})
    ordered = found.assign(_kind=kind, _tier=tier.fillna(len(_CONTENT_TIERS)))
    ordered = ordered.sort_values(["_kind", "_tier", "display_name", "code"])
    return ordered.drop(columns=["_kind", "_tier"]).reset_index(drop=True)


def by_kind(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """``rows`` of bodies grouped by kind, in the order given, each group with its label
    (:data:`recommender.core.kinds.KIND_LABELS`): what a page lists a body's contents as.

    >>> by_kind([{"kind": "council", "code": "A"}, {"kind": "fire", "code": "F"},
    ...          {"kind": "council", "code": "B"}])  # doctest: +NORMALIZE_WHITESPACE
    [('Councils', [{'kind': 'council', 'code': 'A'}, {'kind': 'council', 'code': 'B'}]),
     ('Fire', [{'kind': 'fire', 'code': 'F'}])]
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["kind"]), []).append(row)
    return [(kinds.KIND_LABELS.get(kind, kind), found) for kind, found in groups.items()]


def _related(code: str, settings: Settings, relations: tuple[str, ...]) -> pd.DataFrame:
    ref = _reference(settings)
    one = _one_code(code, settings)
    adjacency = ref.adjacency
    rows = adjacency[(adjacency["code_a"] == one) & adjacency["relation"].isin(relations)]
    facts = ref.bodies[["display_name", "kind", "tier"]]
    out = rows.rename(columns={"code_b": "code"}).join(facts, on="code")
    return out[["code", "display_name", "kind", "tier", "relation", "border_km"]]


def _one_code(code_or_name: str, settings: Settings) -> str:
    found = resolve(code_or_name, settings=settings)
    if len(found.codes) == 1:
        return found.codes[0]
    ref = _reference(settings)
    # "Cheshire" is also the police force area's name and the fire authority's: offered too.
    also = f"; “{found.query}” also names {_others_named(found, ref)}" if found.others else ""
    raise UnknownBody(
        f"{code_or_name!r}: {found.note or 'several bodies match'}{also}; choose one",
        field="name",
        suggestions=[
            f"{ref.bodies.at[c, 'display_name']} ({c})" for c in (*found.codes, *found.others)
        ],
    )


def _label(ref: _Reference, found: Resolution) -> str:
    names = [f"{ref.bodies.at[c, 'display_name']} ({c})" for c in found.codes]
    return " + ".join(names)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise InvalidInput(
            f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}",
            field="kind",
            suggestions=closest(kind, KINDS, limit=2),
        )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
