"""Resolution rules for fire, police and NHS names, on places made up for the test.

The rules, not the register file, are what pass: every name here is invented, and the lookup
is a small table standing in for the reference.
"""

from __future__ import annotations

import pytest

from recommender.core.config import Settings
from recommender.core.errors import UnknownBody
from recommender.core.names import normalise
from recommender.reference import lookup as reference
from recommender.reference.rules import clean, external_kind, match, place_title

# (normalised place, kind) -> codes: what the reference would answer.
PLACES = {
    ("borsetshire", "fire"): ("F1",),  # a fire authority named after its county
    ("borsetshire", "police"): ("P1",),
    ("borsetshire", "health"): ("H1",),
    ("felpersham", "fire"): ("F1",),  # a city inside Borsetshire's fire area
    ("felpersham", "health"): ("H1",),
    ("westshire", "fire"): ("F2",),
    ("eastshire", "fire"): ("F2",),  # merged with Westshire's into one authority
    ("eastshire", "police"): ("P2",),
    ("westshire", "police"): ("P3",),
    ("metropolis police", "police"): ("P4",),
    ("ambridge", "health"): ("H1",),
}


def lookup(place: str, kind: str) -> tuple[str, ...]:
    return PLACES.get((normalise(place), kind), ())


@pytest.mark.parametrize(
    ("name", "kind", "codes", "rule"),
    [
        ("Borsetshire Fire and Rescue Service", "fire", ("F1",), "fire and rescue service"),
        ("Borsetshire County Fire & Rescue Service", "fire", ("F1",), "fire and rescue service"),
        ("Felpersham Fire Brigade", None, ("F1",), "fire and rescue service"),
        ("The Borsetshire Fire Authority", "fire", ("F1",), "fire and rescue service"),
        ("Westshire and Eastshire Fire and Rescue Service", "fire", ("F2",), "fire and rescue"),
        ("Office of the Police and Crime Commissioner for Borsetshire", "police", ("P1",), "comm"),
        ("Office of the Police, Fire and Crime Commissioner for Eastshire", None, ("P2",), "comm"),
        ("OPCC for Borsetshire", "police", ("P1",), "commissioner"),
        ("Borsetshire Commissioner for Police, Fire & Rescue and Crime", None, ("P1",), "comm"),
        ("Borsetshire Police Authority", "police", ("P1",), "police authority"),
        ("Metropolis Police Authority", "police", ("P4",), "police authority"),
        ("Eastshire Constabulary", "police", ("P2",), "police force"),
        ("NHS Felpersham CCG", "health", ("H1",), "NHS commissioner"),
        ("NHS Ambridge (PCT)", "health", ("H1",), "NHS commissioner"),
        ("Felpersham Teaching Primary Care Trust", None, ("H1",), "NHS commissioner"),
        ("West Borsetshire PCT", "health", ("H1",), "NHS commissioner"),
        ("Eastern and Coastal Borsetshire Clinical Commissioning Group", None, ("H1",), "NHS"),
        ("Felpersham Health Authority", "health", ("H1",), "NHS commissioner"),
        ("Ambridge Care Trust", "health", ("H1",), "NHS commissioner"),
        ("NHS Felpersham City", "health", ("H1",), "NHS commissioner"),
    ],
)
def test_rules_read_the_place_and_find_its_body(
    name: str, kind: str | None, codes: tuple[str, ...], rule: str
) -> None:
    found = match(name, kind, lookup)
    assert found is not None
    assert found.codes == codes
    assert found.rule.startswith(rule) or rule in found.rule
    assert found.alias_type == ("nhs_predecessor" if found.kind == "health" else "rule")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Borsetshire Fire and Rescue Service", "police"),  # the kind the source gives wins
        ("Westshire and Borsetshire Fire Brigade", "fire"),  # two fire areas: never a guess
        ("Westshire and Eastshire Police Authority", "police"),  # two forces
        ("Nowhere Fire and Rescue Service", "fire"),  # no such place
        ("NHS Nowhere CCG", "health"),
        ("Felpersham Hospital NHS Foundation Trust", "health"),  # a provider, not a commissioner
        ("Borsetshire County Council", "council"),  # not a rule's business
    ],
)
def test_rules_never_guess(name: str, kind: str | None) -> None:
    assert match(name, kind, lookup) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Felpersham Hospitals NHS Foundation Trust", "nhs_trust"),
        ("Borsetshire Partnership NHS Trust", "nhs_trust"),
        ("West Borsetshire Ambulance Service NHS Trust", "nhs_trust"),
        ("Borsetshire and Felpersham Mental Health NHS Trust", "nhs_trust"),
        ("Ambridge Parish Council", "local_council"),
        ("Loxley Barrett Town Council", "local_council"),
        ("Hollerton Parish Meeting", "local_council"),
        ("NHS Nowhere CCG", None),  # an unresolved commissioner is an error, not an outsider
        ("Felpersham City Council", None),  # may be a misspelt council
        ("Borchester Land Ltd", None),
    ],
)
def test_external_kind(name: str, kind: str | None) -> None:
    assert external_kind(name) == kind


def test_clean_and_title() -> None:
    assert clean("Devon & Somerset Fire (Service)") == "devon and somerset fire service"
    assert place_title("wiltshire and swindon") == "Wiltshire and Swindon"
    assert place_title("the wrekin") == "The Wrekin"


# The rules through reference.resolve, on the tiny synthetic world ---------------------------


@pytest.mark.parametrize(
    ("name", "kind", "code", "alias_type"),
    [
        ("Shire and Gamma Fire Brigade", "fire", "E31000001", "rule"),
        ("Alpha Fire and Rescue Service", None, "E31000001", "rule"),
        ("Office of the Police and Crime Commissioner for Gamma", "police", "E23000001", "rule"),
        ("Beta Police Authority", "police", "E23000001", "rule"),
        ("NHS Alpha CCG", "health", "E54000001", "nhs_predecessor"),
        ("North Gamma PCT", "health", "E54000001", "nhs_predecessor"),
        ("Omega Health Authority", "health", "E54000001", "nhs_predecessor"),  # abolished
    ],
)
def test_resolve_uses_the_rules(
    tiny_settings: Settings, name: str, kind: str | None, code: str, alias_type: str
) -> None:
    found = reference.resolve(name, kind=kind, settings=tiny_settings)
    assert found.codes == (code,)
    assert found.alias_type == alias_type
    assert name in found.note


def test_resolve_by_rule_still_refuses_unknown_places(tiny_settings: Settings) -> None:
    with pytest.raises(UnknownBody):
        reference.resolve("Zeta Fire and Rescue Service", kind="fire", settings=tiny_settings)
