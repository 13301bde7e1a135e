"""Normalise body names so that the ways people write them meet on one key.

``normalise("Bristol, City of") == normalise("Bristol City Council") == "bristol"``. The key
drops what varies between writers (case, punctuation, "&", "St." and the council-type words
around a place name) and keeps what tells places apart ("North", "upon Tyne", "County Durham").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

# Inverted ONS forms: "Herefordshire, County of", "Kingston upon Hull, City of".
_INVERTED = re.compile(r"^(?P<place>.+?),?\s+(?:the\s+)?(?:city|county|borough)\s+of$")

# Words around the place name that only say what kind of council it is. Longest first, so
# "metropolitan borough council" goes before "borough council" goes before "council".
_PREFIXES = (
    "the royal borough of ",
    "royal borough of ",
    "the london borough of ",
    "london borough of ",
    "borough council of ",
    "council of the ",
    "the borough of ",
    "borough of ",
    "county of ",
    "the city of ",
    "city of ",
    "the ",
)
_SUFFIXES = (
    " london borough council",  # "Camden London Borough Council", its legal style
    " metropolitan borough council",
    " metropolitan district council",
    " city and district council",
    " borough council",
    " district council",
    " county council",
    " city council",
    " unitary authority",
    " corporation",
    " council",
    " london borough",
    " london boro",
    " borough",
    " district",
    " county",
    " city",
    " mbc",
    " mdc",
    " dc",
    " bc",
    " ua",
)
# "City of" is part of the name here: dropping it would turn the City into all of London.
_KEEP_CITY_OF = {"london"}

# How a register member's ``resolution`` begins when the source named a body that is gone: an
# abolished council (its area now part of the member's body) or an NHS predecessor.
FORMER_RESOLUTIONS = ("former:", "predecessor:")


def former_name(resolution: str) -> str | None:
    """The full name of the body gone that a member's ``resolution`` names ("former: Bedfordshire
    County Council → Bedford": Bedfordshire County Council), None for a body that was itself."""
    if not str(resolution).startswith(FORMER_RESOLUTIONS):
        return None
    head = str(resolution).split(":", 1)[1].split(" → ", 1)[0].strip()
    return head or None


# The words that say what type of council a name is; a name's key drops them ("Newcastle
# Borough Council": newcastle), so its type is read apart (:func:`council_types`).
COUNCIL_TYPES = frozenset({"city", "borough", "district", "county"})


def council_types(name: str) -> frozenset[str]:
    """The type words a council's name gives.

    >>> sorted(council_types("City of Bradford Metropolitan District Council"))
    ['city', 'district']
    """
    return COUNCIL_TYPES & frozenset(re.findall(r"[a-z]+", name.lower()))


def normalise(name: str) -> str:
    """Return the matching key for a body name.

    Lowercase, accents folded, "&" read as "and", "St."/"Saint" as "st", other punctuation
    dropped (hyphens become spaces), spaces collapsed, and council-type words around the
    place ("London Borough of", "City of", "District Council", …) removed.

    Examples
    --------
    >>> normalise("Herefordshire, County of")
    'herefordshire'
    >>> normalise("St. Helens Metropolitan Borough Council")
    'st helens'
    >>> normalise("City of London")
    'city of london'
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = text.lower().strip()
    text = re.sub(r"\(.*?\)", lambda m: " " + m.group(0)[1:-1] + " ", text)
    text = re.sub(r"\s+", " ", text)
    inverted = _INVERTED.match(text)
    if inverted and inverted.group("place").strip() not in _KEEP_CITY_OF:
        text = inverted.group("place")
    elif inverted:
        text = "city of " + inverted.group("place")
    text = text.replace("&", " and ")
    text = re.sub(r"['’`]", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"\bsaint\b", "st", text)
    return _strip_council_words(text)


def _strip_council_words(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)].strip()
                changed = True
                break
        for prefix in _PREFIXES:
            rest = text[len(prefix) :]
            if text.startswith(prefix) and rest and not _keeps_prefix(prefix, rest):
                text = rest.strip()
                changed = True
                break
    return text


def _keeps_prefix(prefix: str, rest: str) -> bool:
    return prefix.strip() in {"city of", "the city of"} and rest.split(" ")[0] in _KEEP_CITY_OF


def closest(
    query: str,
    choices: Iterable[str],
    limit: int = 5,
    *,
    min_score: float = 0.0,
    whole: bool = False,
) -> list[str]:
    """Return up to ``limit`` of ``choices`` closest to ``query``, best first (those scoring
    at least ``min_score`` of 100), each compared ``whole`` (an id: "R-nope" is like no
    "R-01d08f3f") or by its best-matching words (a name: the default).

    Compares normalised forms, so "Bristol City Council" finds "Bristol, City of".
    Ties keep the order of ``choices``.
    """
    options = list(dict.fromkeys(choices))
    if not options or limit <= 0:
        return []
    keys = [normalise(c) for c in options]
    found = process.extract(
        normalise(query),
        keys,
        scorer=fuzz.ratio if whole else fuzz.WRatio,
        limit=min(limit, len(options)),
        score_cutoff=min_score or None,
    )
    return [options[index] for _key, _score, index in found]


def council_named(name: str) -> str:
    """A council's name after a word: "the Council of the Isles of Scilly", "Cornwall Council".

    >>> council_named("Council of the Isles of Scilly"), council_named("Cornwall Council")
    ('the Council of the Isles of Scilly', 'Cornwall Council')
    """
    return f"the {name}" if name.startswith("Council of ") else name


ID_LIKENESS = 75.0  # of 100: an unknown id's closest ids, if that like it (any two ids: ~60)


def closest_ids(query: str, ids: Iterable[str], limit: int = 5) -> list[str]:
    """The ids (``R-1a2b3c4d``) most like ``query``, each compared whole: a typo's ("S-001":
    "S-0001"), none for an id like no other ("R-nope" shares only its prefix).

    >>> closest_ids("R-23d5b7b", ["R-23d20526", "R-23d5b7be"])
    ['R-23d5b7be']
    >>> closest_ids("R-nope", ["R-01d08f3f"])
    []
    """
    return closest(str(query).strip().upper(), ids, limit, min_score=ID_LIKENESS, whole=True)


@dataclass(frozen=True)
class WordIndex:
    """The words of a list of normalised names, for matching a query word by word.

    ``vocabulary`` holds each distinct word once; ``words[i]`` the positions in it of name
    ``i``'s words (-1 pads the shorter names).
    """

    vocabulary: list[str]
    words: np.ndarray[Any, np.dtype[np.intp]]


def word_index(keys: Sequence[str]) -> WordIndex:
    """Return the :class:`WordIndex` of ``keys`` (normalised names)."""
    split = [key.split() for key in keys]
    vocabulary = sorted({w for words in split for w in words})
    position = {w: i for i, w in enumerate(vocabulary)}
    most = max((len(words) for words in split), default=0)
    table = np.full((len(split), max(most, 1)), -1, dtype=np.intp)
    for i, words in enumerate(split):
        table[i, : len(words)] = [position[w] for w in words]
    return WordIndex(vocabulary, table)


def word_scores(query: str, index: WordIndex) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Score (0 to 100) how well each name of ``index`` matches ``query`` (normalised).

    Each word of the query is matched to the name's closest word (rapidfuzz's ``ratio``: one
    letter wrong in "rothr" still scores 91), the last one also to the start of a word, as it
    may be half typed ("Taunton Dea"); the score is the worst of the query's words. So every
    word the person wrote must be found: "taunton deane" scores Luton 67 and Basingstoke and
    Deane 30, not the 90 a partial match gives, and "hull" does not find Solihull.
    """
    words = query.split()
    if not words or not index.vocabulary:
        return np.zeros(len(index.words))
    scores = process.cdist(words, index.vocabulary, scorer=fuzz.ratio).astype(float)
    last = words[-1]
    starts = [w[: len(last)] if len(w) > len(last) else "" for w in index.vocabulary]
    begun = process.cdist([last], starts, scorer=fuzz.ratio)[0].astype(float)
    scores[-1] = np.maximum(scores[-1], begun)
    padded = np.column_stack([scores, np.zeros(len(words))])  # -1 reads this 0 column
    best = padded[:, index.words].max(axis=2)  # (query words, names)
    return np.asarray(best.min(axis=0))


def and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (and "" for none): how every sentence lists names.
    When an item holds an "and" of its own, the last is set off by a comma, so the list still
    reads as its items ("ICT and digital, and finance and audit"; not "ICT and digital and
    finance and audit"); when one holds a comma, semicolons part them.

    >>> and_list(["Adur", "Horsham", "Mid Sussex"])
    'Adur, Horsham and Mid Sussex'
    >>> and_list(["ICT and digital", "finance and audit"])
    'ICT and digital, and finance and audit'
    >>> and_list(["legal with Harborough (23%, £61k)", "waste with Rutland"])
    'legal with Harborough (23%, £61k); and waste with Rutland'
    """
    if len(items) <= 1:
        return items[0] if items else ""
    if any(", " in item for item in items):
        return "; ".join(items[:-1]) + "; and " + items[-1]
    last = ", and " if any(" and " in item for item in items) else " and "
    return ", ".join(items[:-1]) + last + items[-1]


_GONE_IN = re.compile(r"\b(?:was abolished|was replaced|became part of .+?) in (\d{4})\b")


def gone_in(note: str) -> int | None:
    """The year a former body's note in the reference's aliases says it went, as the build
    writes them ("… was abolished in 2023; …", "… was replaced in 2024 by …", "…'s fire and
    rescue service became part of … in 2016"), or None.

    >>> gone_in("Somerset County Council was abolished in 2023; now part of Somerset")
    2023
    >>> gone_in("Dorset's fire and rescue service became part of Dorset and Wiltshire Fire "
    ...         "and Rescue Authority in 2016")
    2016
    >>> gone_in("Avon was abolished; its area is now Bristol and Bath") is None
    True
    """
    found = _GONE_IN.search(note)
    return int(found.group(1)) if found else None
