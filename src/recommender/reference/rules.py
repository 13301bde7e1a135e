"""Names of fire, police and NHS bodies resolved by rule: the way sources write them.

Sources name a fire and rescue authority, a police force area or an NHS integrated care board
in many ways that no alias table can list: "Essex County Fire and Rescue Service", "Cleveland
Fire Brigade", "Office of the Police and Crime Commissioner for Cleveland", "Kent Police
Authority" (abolished 2012), "NHS Manchester CCG", "NHS Knowsley (PCT)", "West Kent PCT",
"Barnsley Health Authority". Each rule reads the *place* out of the name and finds the body of
that place:

1. the place names a body of the wanted kind ("Cleveland" is a fire authority);
2. the place names a council, current or abolished, and the body is the fire, police or NHS
   area that council sits in ("Essex" → Essex's fire authority, "Knowsley" → the ICB of
   Knowsley); a merged or renamed authority thus resolves to its successor;
3. the place with a qualifier dropped ("West Kent", "Eastern and Coastal Kent" → Kent);
4. the place as a list ("Wiltshire and Swindon"): every part in the same area → that area.

Rules only ever resolve to one body of the wanted kind; a place that resolves to none, or to
several, leaves the name unresolved (reported with the closest names, never guessed).

:func:`external_kind` tells the organisations that are *not* bodies the product ranks (NHS
trusts, town and parish councils) from a misspelt name of one that is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# (place, kind) -> codes of the bodies of ``kind`` that the place stands for (empty if none).
PlaceLookup = Callable[[str, str], tuple[str, ...]]

FIRE = re.compile(
    r"^(?:the )?(?P<place>.+?)(?: county)? (?:combined fire authority|fire and rescue service"
    r"|fire and rescue authority|fire and rescue|fire rescue service|fire service"
    r"|fire brigade|fire authority|fire and civil defence authority|frs|fra)$"
)
_COMMISSIONER = r"(?:police fire and crime|police and crime|fire and crime)"
_COMMISSIONER_LABEL = "police and crime commissioner"
POLICE = (
    (
        re.compile(
            rf"^(?:the )?(?:office of the )?{_COMMISSIONER} commissioner for (?P<place>.+)$"
        ),
        _COMMISSIONER_LABEL,
    ),
    (
        re.compile(r"^(?:the )?(?:office of the )?(?:opcc|ospcc|pcc|pfcc) for (?P<place>.+)$"),
        _COMMISSIONER_LABEL,
    ),
    (
        re.compile(r"^(?P<place>.+?) commissioner for police(?: fire and rescue)? and crime$"),
        _COMMISSIONER_LABEL,
    ),
    (
        re.compile(r"^(?:the )?(?P<place>.+?) police authority$"),
        "police authority (abolished in 2012)",
    ),
    (
        re.compile(
            rf"^(?:the )?(?P<place>.+?) (?:{_COMMISSIONER} commissioner|opcc|pcc|pfcc"
            r"|constabulary|police force|police service|police)$"
        ),
        "police force",
    ),
)
# Commissioners of NHS care, named after their area: CCGs (2013-2022), primary care trusts
# (2002-2013), care trusts and health authorities before them.
NHS_COMMISSIONER = re.compile(
    r"^(?:nhs )?(?P<place>.+?) (?:clinical commissioning group|ccg|teaching primary care trust"
    r"|primary care trust|tpct|pct|care trust|area health authority|district health authority"
    r"|health authority)$"
)
NHS_PLACE = re.compile(r"^nhs (?P<place>.+)$")  # "NHS Nottingham City", "NHS Herefordshire"
QUALIFIER = re.compile(
    r"^(?:(?:north|south|east|west|central|mid|eastern|western|northern|southern|coastal"
    r"|inner|outer|greater|rural|urban)(?: and | ))+"
)
NHS_TRUST = re.compile(
    r"\bnhs\b.*\btrust\b|\bfoundation trust\b|\bhospitals?\b|\bambulance service\b"
    r"|\bhealthcare nhs\b|\bmental health\b.*\btrust\b"
)
LOCAL_COUNCIL = re.compile(
    r"\b(?:town|parish|village|community|neighbourhood) council$|\bparish meeting$"
)
# Public organisations outside the reference: partners in a sharing arrangement in their own
# right, though the product does not rank them as candidates.
PUBLIC_EXTERNAL_KINDS = ("nhs_trust", "local_council")
EXTERNAL_KINDS = {
    "nhs_trust": "NHS trust",
    "local_council": "town or parish council",
    "other": "organisation outside the public bodies the product ranks",
}


@dataclass(frozen=True)
class RuleMatch:
    """A name resolved by rule: the bodies, the rule that read it, and what kind of name it is.

    ``alias_type`` is ``rule`` for another name of today's body and ``nhs_predecessor`` for
    a commissioner that no longer exists (a CCG or PCT) whose area's ICB stands in for it.
    """

    codes: tuple[str, ...]
    kind: str
    place: str
    rule: str
    alias_type: str


def clean(name: str) -> str:
    """Lower-case ASCII words: "&" read as "and", brackets and punctuation dropped."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("&", " and ")
    text = re.sub(r"['’`]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def match(name: str, kind: str | None, lookup: PlaceLookup) -> RuleMatch | None:
    """Resolve ``name`` by the first rule that reads a place resolving to one body, or None.

    ``kind`` (the kind the source says the partner is) limits the rules tried; None tries all.
    """
    text = clean(name)
    for rule_kind, rule, found in _candidates(text):
        if kind is not None and kind != rule_kind:
            continue
        place = found.group("place").strip()
        codes = place_codes(place, rule_kind, lookup)
        if len(codes) == 1:
            alias_type = "nhs_predecessor" if rule_kind == "health" else "rule"
            return RuleMatch(codes, rule_kind, place, rule, alias_type)
    return None


def _candidates(text: str) -> list[tuple[str, str, re.Match[str]]]:
    out: list[tuple[str, str, re.Match[str]]] = []
    if found := FIRE.match(text):
        out.append(("fire", "fire and rescue service", found))
    for pattern, label in POLICE:
        if found := pattern.match(text):
            out.append(("police", label, found))
            break
    trust = NHS_TRUST.search(text)  # a provider, never its area's commissioner
    if not trust and ((found := NHS_COMMISSIONER.match(text)) or (found := NHS_PLACE.match(text))):
        out.append(("health", "NHS commissioner", found))
    return out


def place_codes(place: str, kind: str, lookup: PlaceLookup) -> tuple[str, ...]:
    """The body (or bodies) of ``kind`` that ``place`` stands for; see the module docstring."""
    if codes := lookup(place, kind):
        return codes
    if kind == "police" and (codes := lookup(f"{place} police", kind)):
        return codes  # "Metropolitan Police Authority": the force is "Metropolitan Police"
    stripped = QUALIFIER.sub("", place).strip()
    if stripped and stripped != place and (codes := lookup(stripped, kind)):
        return codes
    parts = [p.strip() for p in re.split(r",| and ", place) if p.strip()]
    if len(parts) > 1:
        found = [lookup(p, kind) for p in parts]
        if all(found) and len({c for codes in found for c in codes}) == 1:
            return found[0]
    return ()


def place_title(place: str) -> str:
    """A place read by a rule, capitalised as a name ("Wiltshire and Swindon")."""
    small = {"and", "of", "on", "upon", "the", "in", "le", "under"}
    words = place.split()
    return " ".join(w if w in small and i else w.capitalize() for i, w in enumerate(words))


def external_kind(name: str) -> str | None:
    """The kind of an organisation outside the reference, when its name says which.

    ``nhs_trust`` (acute, mental health, community and ambulance trusts), ``local_council``
    (town and parish councils), or None: a name that may be a misspelt public body (an
    unresolved "NHS … CCG" or "… City Council" is never taken for an outside organisation).
    """
    text = clean(name)
    if NHS_COMMISSIONER.match(text) and not NHS_TRUST.search(text):
        return None
    if NHS_TRUST.search(text):
        return "nhs_trust"
    if LOCAL_COUNCIL.search(text):
        return "local_council"
    return None
