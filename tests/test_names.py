"""Name normalisation and closest matches."""

from __future__ import annotations

import pytest

from recommender.core.names import and_list, closest, normalise, word_index, word_scores


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Herefordshire, County of", "herefordshire"),
        ("Camden London Borough Council", "camden"),  # a London borough's legal style
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


def test_every_word_of_the_query_must_be_found() -> None:
    keys = ["luton", "arun", "thanet", "taunton deane", "basingstoke and deane", "rother",
            "rotherham", "solihull", "kingston upon hull"]  # fmt: skip
    index = word_index(keys)
    scores = dict(zip(keys, word_scores("taunton deane", index), strict=True))
    assert scores["taunton deane"] == 100
    assert max(scores[k] for k in ("luton", "arun", "thanet", "basingstoke and deane")) < 70
    half_typed = dict(zip(keys, word_scores("taunton dea", index), strict=True))
    assert half_typed["taunton deane"] == 100 and half_typed["basingstoke and deane"] < 70
    typo = dict(zip(keys, word_scores("rothr", index), strict=True))
    assert typo["rother"] > 90 and typo["rotherham"] >= 80 and typo["luton"] < 60
    hull = dict(zip(keys, word_scores("hull", index), strict=True))
    assert hull["kingston upon hull"] == 100 and hull["solihull"] < 70
    assert not word_scores("", index).any()


@pytest.mark.parametrize(
    ("items", "said"),
    [([], ""), (["Rother"], "Rother"), (["Rother", "Wealden"], "Rother and Wealden"),
     (["A", "B", "C"], "A, B and C")],
)  # fmt: skip
def test_and_list_is_how_every_sentence_lists_names(items: list[str], said: str) -> None:
    assert and_list(items) == said
