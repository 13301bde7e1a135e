"""Normalise body names so that the ways people write them meet on one key.

``normalise("Bristol, City of") == normalise("Bristol City Council") == "bristol"``. The key
drops what varies between writers (case, punctuation, "&", "St." and the council-type words
around a place name) and keeps what tells places apart ("North", "upon Tyne", "County Durham").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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


def closest(query: str, choices: Iterable[str], limit: int = 5) -> list[str]:
    """Return up to ``limit`` of ``choices`` closest to ``query``, best first.

    Compares normalised forms, so "Bristol City Council" finds "Bristol, City of".
    Ties keep the order of ``choices``.
    """
    options = list(dict.fromkeys(choices))
    if not options or limit <= 0:
        return []
    keys = [normalise(c) for c in options]
    found = process.extract(
        normalise(query), keys, scorer=fuzz.WRatio, limit=min(limit, len(options))
    )
    return [options[index] for _key, _score, index in found]
