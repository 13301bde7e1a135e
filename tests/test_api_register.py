"""``/api/v1/arrangements``, ``/services`` and ``/health``."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.core import services
from recommender.register import records as reg


@pytest.mark.slow
def test_list_arrangements_filters(real_client: FlaskClient) -> None:
    real = real_client.get("/api/v1/arrangements?limit=500").json
    assert real["total"] > 100
    # The observed register by default: simulated arrangements only when asked for by name.
    assert not any(a["simulated"] for a in real["arrangements"])
    legal = real_client.get("/api/v1/arrangements?service=legal&limit=500").json
    assert legal["total"] == len(legal["arrangements"]) > 0
    assert {a["service"] for a in legal["arrangements"]} == {"legal"}
    fake = real_client.get("/api/v1/arrangements?origin=simulated&limit=500").json["arrangements"]
    every = real_client.get("/api/v1/arrangements?origin=all&limit=1").json
    assert fake and all(a["simulated"] for a in fake)
    assert real["total"] + len(fake) == every["total"]
    mine = real_client.get("/api/v1/arrangements?body=Rother&region=South East").json[
        "arrangements"
    ]
    assert mine and all("E07000064" in {m["body_code"] for m in a["members"]} for a in mine)


def test_list_arrangements_by_status_as_the_answers_read_it(client: FlaskClient) -> None:
    """Each status keeps the arrangements its flags say (``proposed``, else ``ended``, else
    ``merged``, else running), and together they are the whole register, counted in the
    database."""
    every = client.get("/api/v1/arrangements?limit=500").json
    assert every["total"] == len(every["arrangements"])
    expected: dict[str, set[str]] = {s: set() for s in ("running", "ended", "proposed", "merged")}
    for a in every["arrangements"]:
        said = ("proposed" if a["proposed"] else "ended" if a["ended"] else
                "merged" if a["merged"] else "running")  # fmt: skip
        expected[said].add(a["id"])
        # merged: its members are all one body now, by their codes
        codes = [m["body_code"] for m in a["members"]]
        assert a["merged"] == (len(codes) >= 2 and None not in codes and len(set(codes)) == 1)
    assert all(expected.values())  # the default register has each
    for status, ids in expected.items():
        page = client.get(f"/api/v1/arrangements?status={status}&limit=500").json
        assert page["total"] == len(ids)
        assert {a["id"] for a in page["arrangements"]} == ids, status
    legal = client.get("/api/v1/arrangements?status=ended&service=legal&limit=500").json
    assert {a["id"] for a in legal["arrangements"]} == {
        a["id"]
        for a in every["arrangements"]
        if a["id"] in expected["ended"] and a["service"] == "legal"
    }


def test_list_arrangements_in_order_of_savings_pages_alike(client: FlaskClient) -> None:
    every = client.get("/api/v1/arrangements?order=savings&origin=all&limit=500").json
    # Those that formed, the largest saving first (none reported, last), then the proposals: a
    # proposal's figure is a target for what never ran.
    proposed = [a["status"] == "proposed" for a in every["arrangements"]]
    assert proposed == sorted(proposed)
    formed = [a for a in every["arrangements"] if a["status"] != "proposed"]
    saved = [a["annual_savings_gbp"] for a in formed]
    figures = [s for s in saved if s is not None]
    assert figures == sorted(figures, reverse=True) and len(figures) >= 2
    assert saved[: len(figures)] == figures  # none reported: last
    first = client.get("/api/v1/arrangements?order=savings&origin=all&limit=2").json
    second = client.get("/api/v1/arrangements?order=savings&origin=all&limit=2&offset=2").json
    assert first["arrangements"] + second["arrangements"] == every["arrangements"][:4]


def test_list_arrangements_pages(client: FlaskClient) -> None:
    first = client.get("/api/v1/arrangements?limit=3").json["arrangements"]
    second = client.get("/api/v1/arrangements?limit=2&offset=1").json["arrangements"]
    assert second == first[1:3]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("service=lgal", 400, "service"),
        ("region=Narnia", 400, "region"),
        ("body=Rothr", 404, "body"),
        ("origin=maybe", 400, "origin"),
        ("status=gone", 400, "status"),
        ("order=cost", 400, "order"),
        ("limit=-3", 400, "limit"),
    ],
)
def test_list_arrangements_errors(client: FlaskClient, query: str, status: int, field: str) -> None:
    response = client.get(f"/api/v1/arrangements?{query}")
    assert response.status_code == status
    assert response.json["field"] == field


def test_show_arrangement(client: FlaskClient) -> None:
    first = client.get("/api/v1/arrangements?limit=1").json["arrangements"][0]
    shown = client.get(f"/api/v1/arrangements/{first['id']}").json
    assert shown == first
    assert [m["position"] for m in shown["members"]] == list(range(1, len(shown["members"]) + 1))
    assert len(shown["members"]) >= 2  # an arrangement is shared by two or more


def test_unknown_arrangement_suggests_the_closest_ids(client: FlaskClient) -> None:
    known = client.get("/api/v1/arrangements?limit=1").json["arrangements"][0]["id"]
    response = client.get(f"/api/v1/arrangements/{known[:-1]}")  # one character short
    assert response.status_code == 404
    assert response.json["error"] == "unknown_arrangement"
    assert response.json["suggestions"][0] == known
    # an id like none held has none close (the first five held were suggested)
    assert not client.get("/api/v1/arrangements/R-nothing").json.get("suggestions")


def test_services(client: FlaskClient, app: Flask) -> None:
    listed = client.get("/api/v1/services").json["services"]
    settings = app.extensions["recommender"].settings
    assert [s["id"] for s in listed] == list(services.service_ids(settings))
    legal = next(s for s in listed if s["id"] == "legal")
    assert "district" in legal["delivered_by"] and legal["office"] in ("back", "front")


def test_health_with_a_model(client: FlaskClient, app: Flask) -> None:
    health = client.get("/api/v1/health").json
    assert health["state"] == "ok"
    assert health["model_version"] == app.extensions["recommender"].models.version
    assert health["register_size"] == client.get("/api/v1/arrangements").json["total"]


def test_health_without_a_model(bare_app: Flask) -> None:
    health = bare_app.test_client().get("/api/v1/health").json
    assert health["state"] == "degraded"
    assert health["model_version"] is None
    assert health["register_size"] > 0


def _every(app: Flask, **filters: Any) -> list[dict[str, Any]]:
    current = app.extensions["recommender"]
    return reg.query(reg.Filters(**filters), settings=current.settings, directory=current.directory)


@pytest.mark.parametrize(
    "filters",
    [{}, {"service": "legal"}, {"region": "South East"}, {"body": "Rother"}, {"origin": "all"}],
)
def test_pages_of_a_large_register_are_counted_and_read_in_the_database(
    large_app: Flask, monkeypatch: pytest.MonkeyPatch, filters: dict[str, str]
) -> None:
    """A page reads only its own arrangements from the database (never all, then a slice),
    and the total is counted there; together the pages are the whole filtered register."""
    every = _every(large_app, **filters)
    assert len(every) > 20
    read: list[int] = []
    records = reg._records

    def counting(conn: Any, stmt: Any, directory: Any) -> list[dict[str, Any]]:
        found = records(conn, stmt, directory)
        read.append(len(found))
        return found

    monkeypatch.setattr(reg, "_records", counting)
    client = large_app.test_client()
    first = client.get("/api/v1/arrangements", query_string=filters | {"limit": 1}).json
    assert first["total"] == len(every) and first["arrangements"] == every[:1]
    assert read == [1]
    offsets = (0, len(every) // 2, max(0, len(every) - 50))
    for offset in offsets:
        page = client.get(
            "/api/v1/arrangements", query_string=filters | {"limit": 50, "offset": offset}
        ).json
        assert page["total"] == len(every)
        assert [a["id"] for a in page["arrangements"]] == [
            a["id"] for a in every[offset : offset + 50]
        ]
    assert read[1:] == [len(every[offset : offset + 50]) for offset in offsets]
    beyond = client.get("/api/v1/arrangements", query_string=filters | {"offset": len(every)})
    assert beyond.json["arrangements"] == [] and beyond.json["total"] == len(every)


def test_an_unknown_body_filter_names_the_body_parameter(client: FlaskClient) -> None:
    """``?body=Nowhere`` answered 404 naming the field ``name``, which the route has not."""
    response = client.get("/api/v1/arrangements?body=Nowhere")
    assert response.status_code == 404
    assert response.json["field"] == "body" and response.json["error"] == "unknown_body"
