"""Name normalisation and closest matches."""

from __future__ import annotations

import pytest

from recommender.names import closest, normalise


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Herefordshire, County of", "herefordshire"),
        ("Bristol, City of", "bristol"),
        ("Bristol City Council", "bristol"),
        ("City of Bristol", "bristol"),
        ("Kingston upon Hull, City of", "kingston upon hull"),
        ("St. Helens", "st helens"),
        ("Saint Helens Metropolitan Borough Council", "st helens"),
        ("Telford & Wrekin Council", "telford and wrekin"),
        ("London Borough of Brent", "brent"),
        ("Royal Borough of Kensington and Chelsea", "kensington and chelsea"),
        ("Council of the Isles of Scilly", "isles of scilly"),
        ("Borough of Poole", "poole"),
        ("Stoke-on-Trent City Council", "stoke on trent"),
        ("King's Lynn & West Norfolk", "kings lynn and west norfolk"),
        ("Durham County Council", "durham"),
        ("County Durham", "county durham"),
        ("Vale Royal Borough Council", "vale royal"),
        ("  Mid   Suffolk  District Council ", "mid suffolk"),
        ("NHS Herefordshire (PCT)", "nhs herefordshire pct"),
        ("Southend-on-Sea", "southend on sea"),
    ],
)
def test_normalise(name: str, key: str) -> None:
    assert normalise(name) == key


@pytest.mark.parametrize(
    "name", ["City of London", "London, City of", "City of London Corporation"]
)
def test_city_of_london_keeps_city_of(name: str) -> None:
    assert normalise(name) == "city of london"


def test_normalise_keeps_words_that_tell_places_apart() -> None:
    assert normalise("North Somerset") != normalise("Somerset")
    assert normalise("Council") == "council"  # nothing left to strip to


def test_closest_compares_normalised_names() -> None:
    choices = ["Bristol, City of", "Bath and North East Somerset", "Bromsgrove"]
    assert closest("Bristol City Council", choices, limit=1) == ["Bristol, City of"]
    assert closest("Brist", choices, limit=2)[0] == "Bristol, City of"
    assert closest("anything", [], limit=3) == []
    assert closest("anything", choices, limit=0) == []
