"""The kinds and tiers of public body, declared once: every package names them from here.

A body's ``kind`` is what officers filter on (``--kinds``, ``?kinds=``); its ``tier`` says which
sort of council (or other body) it is. ``Kind`` and ``Tier`` are the types of those fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

Kind = Literal["council", "fire", "police", "health", "combined"]
Tier = Literal[
    "district",
    "county",
    "unitary",
    "metropolitan",
    "london_borough",
    "fire",
    "police",
    "health",
    "combined_authority",
]
KINDS: tuple[Kind, ...] = get_args(Kind)
TIERS: tuple[Tier, ...] = get_args(Tier)
OTHER_KINDS: tuple[Kind, ...] = KINDS[1:]  # the public bodies other than councils
# The councils that collect bins and run local services under a county or on their own.
LOWER_TIERS: tuple[Tier, ...] = ("district", "unitary", "metropolitan", "london_borough")
# The councils with no county above them.
SINGLE_TIER: tuple[Tier, ...] = ("unitary", "metropolitan", "london_borough")
# The councils that are the upper tier where they are (a county, or a single-tier council).
UPPER_TIERS: tuple[Tier, ...] = ("county", *SINGLE_TIER)
# Bodies of each kind, as a heading or a filter's label says them ("Councils", "NHS").
KIND_LABELS: dict[str, str] = {  # keyed by Kind
    "council": "Councils",
    "fire": "Fire",
    "police": "Police",
    "health": "NHS",
    "combined": "Combined authorities and the GLA",  # the GLA stands with them (below)
}
# Bodies of each kind in a sentence ("a list of NHS bodies only").
KIND_PLURALS: dict[str, str] = {  # keyed by Kind
    "council": "councils",
    "fire": "fire and rescue authorities",
    "police": "police forces",
    "health": "NHS bodies",
    "combined": "combined authorities and the GLA",
}
# One body of each kind in a sentence ("between a council and an NHS body").
KIND_ONE: dict[str, str] = {  # keyed by Kind
    "council": "a council",
    "fire": "a fire and rescue authority",
    "police": "a police force",
    "health": "an NHS body",
    "combined": "a combined authority (or the GLA)",
}
# Two bodies of one kind in a sentence ("between two councils").
KIND_TWO: dict[str, str] = {  # keyed by Kind
    "council": "two councils",
    "fire": "two fire and rescue authorities",
    "police": "two police forces",
    "health": "two NHS bodies",
    "combined": "two combined authorities (or one and the GLA)",
}
# Each kind in a table's short label of a pair of kinds ("council–NHS").
KIND_SHORT: dict[str, str] = {  # keyed by Kind
    "council": "council",
    "fire": "fire",
    "police": "police",
    "health": "NHS",
    "combined": "combined authority or GLA",
}
# What each tier is called in a sentence ("both district councils").
TIER_NAMES: dict[str, str] = {  # keyed by Tier
    "district": "district council",
    "county": "county council",
    "unitary": "unitary council",
    "metropolitan": "metropolitan borough council",
    "london_borough": "London borough council",
    "fire": "fire and rescue authority",
    "police": "police force area",
    "health": "NHS integrated care board",
    "combined_authority": "combined authority",
}

# The Greater London Authority sits in the combined authorities' tier (the Mayor of London's
# strategic authority over the boroughs, as a combined authority is over its councils), but it
# is not a combined authority: it is named for what it is wherever a body's type is said.
GLA = "E61000001"
# The City of London is in the London boroughs' tier (it runs their services), but it is the
# City of London Corporation, a city corporation: not a borough council.
CITY_OF_LONDON = "E09000001"
BODY_TIER_NAMES: dict[str, str] = {GLA: "strategic authority", CITY_OF_LONDON: "city corporation"}


def tier_name(tier: str, code: str = "") -> str:
    """What a body of ``tier`` (its ``code``, for a body named apart from its tier: the GLA) is
    called in a sentence: "district council", "combined authority", "strategic authority"."""
    return BODY_TIER_NAMES.get(code) or TIER_NAMES.get(tier, tier.replace("_", " "))


# The kinds of body named with "the" in a sentence ("12 km from the Essex police force area",
# "The London Fire Commissioner is in 3 documented arrangements"); a council, named by its
# place, and an NHS board ("NHS Kent and Medway Integrated Care Board") without.
THE_KINDS = frozenset({"fire", "police", "combined"})


def in_sentence(name: str, kind: str, *, start: bool = False) -> str:
    """A body's name as a sentence says it (:data:`THE_KINDS`): after a word, or at its
    ``start``.

    >>> in_sentence("Kent police force area", "police"), in_sentence("Kent", "council")
    ('the Kent police force area', 'Kent')
    >>> in_sentence("London Fire Commissioner", "fire", start=True)
    'The London Fire Commissioner'
    >>> in_sentence("Isles of Scilly", "council"), in_sentence("Isle of Wight", "council")
    ('the Isles of Scilly', 'the Isle of Wight')
    """
    if kind not in THE_KINDS and not name.startswith(THE_NAMES):
        return name
    return f"{'The' if start else 'the'} {name}"


THE_NAMES = ("Isles of ", "Isle of ")  # councils whose names people say with "the"


def named(body: Mapping[str, Any], *, start: bool = False) -> str:
    """A body (its facts: ``display_name``, ``kind``) as a sentence names it
    (:func:`in_sentence`), for the pages and the briefing."""
    return in_sentence(str(body["display_name"]), str(body.get("kind") or ""), start=start)
