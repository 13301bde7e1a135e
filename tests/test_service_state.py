"""What an app keeps between requests: the response caches, bounded in bytes."""

from __future__ import annotations

import sys

import pytest
from flask import Flask

from recommender.webapp.state import ResponseCache
from service_fixtures import AppFactory


def _cost(size: int) -> int:
    return ResponseCache.cost(b"x" * size)


def test_the_cache_evicts_by_size_least_recently_used_first() -> None:
    cache = ResponseCache(max_bytes=3 * _cost(1000))
    for key in "abc":
        cache.put(key, b"x" * 1000)
    assert len(cache) == 3 and cache.bytes == 3 * _cost(1000)
    assert cache.get("a") is not None  # "b" is now the least recently used
    cache.put("d", b"x" * 1000)
    assert cache.get("b") is None and all(cache.get(k) for k in "acd")
    cache.put("big", b"x" * 2000)  # room is made by size, not by count: two go for one
    assert [k for k in "acd" if cache.get(k)] == ["d"] and cache.get("big") is not None
    assert cache.bytes <= cache.max_bytes


def test_many_small_answers_fit_where_few_large_ones_do() -> None:
    cache = ResponseCache(max_bytes=100 * _cost(1000))
    for i in range(1000):
        cache.put(("small", i), b"x" * 100)
    assert len(cache) == cache.max_bytes // _cost(100)  # as many as fit, not a fixed count
    for i in range(1000):
        cache.put(("large", i), b"x" * 98_000)  # a k=50 answer
    assert len(cache) == 1 and cache.bytes <= cache.max_bytes


def test_a_value_larger_than_the_whole_cache_is_not_kept_and_a_repeat_is_counted_once() -> None:
    cache = ResponseCache(max_bytes=_cost(1000))
    cache.put("huge", b"x" * 5000)
    assert cache.get("huge") is None and cache.bytes == 0
    cache.put("k", b"x" * 500)
    cache.put("k", b"x" * 900)
    assert cache.bytes == _cost(900) and cache.get("k") == b"x" * 900
    assert ResponseCache.cost(b"x" * 900) >= sys.getsizeof(b"x" * 900)
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0


def test_zero_bytes_keeps_nothing() -> None:
    cache = ResponseCache(max_bytes=0)
    cache.put("k", b"")
    assert cache.get("k") is None and len(cache) == 0


@pytest.mark.parametrize("k", [1, 50])
def test_the_app_keeps_answers_within_its_budget(make_app: AppFactory, k: int) -> None:
    budget = 200_000  # bytes: a few answers of k=50 (~15-100 KB each)
    app: Flask = make_app(CACHE_BYTES=budget)
    current = app.extensions["recommender"]
    client = app.test_client()
    codes = [b["code"] for b in client.get("/api/v1/bodies?limit=60").json["bodies"]]
    for code in codes:
        assert client.get(f"/api/v1/bodies/{code}/recommendations?k={k}").status_code == 200
    assert 0 < current.cache.bytes <= current.cache.max_bytes == budget
