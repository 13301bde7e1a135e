"""Abuse guards: security headers and a CSP the pages pass, same-origin form posts, the
throttle on audit rows for refused admin calls, and the per-client buckets behind them."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.database import audit
from recommender.recommend import feedback
from recommender.webapp.guards import CSP, ClientBuckets, RefusalThrottle
from service_fixtures import TOKEN, AppFactory, auth

ROTHER = "E07000064"
FORM = {"partner": "Wealden", "service": "legal", "verdict": "interested"}
PAGES = ["/", "/search?q=north", f"/bodies/{ROTHER}", f"/bodies/{ROTHER}?service=legal",
         f"/bodies/{ROTHER}?k=abc", "/arrangements", "/model", "/bodies/Rothr"]  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [*PAGES, "/api/v1/health", "/api/v1/bodies/Atlantis", "/api/v1/nowhere", "/static/site.css"],
)
def test_every_response_has_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    response.close()  # a static file is streamed from an open file
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"] == CSP


def test_errors_from_a_bug_have_them_too(app: Flask) -> None:
    engine = app.extensions["recommender"].engine
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE feedback RENAME TO feedback_gone")
    try:
        response = app.test_client().post(
            "/api/v1/feedback", json=FORM | {"body": "Rother", "partner": "Wealden"}
        )
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE feedback_gone RENAME TO feedback")
    assert response.status_code == 500
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_nothing_inline_the_policy_would_block(client: FlaskClient, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    assert html.lstrip().startswith("<!doctype html>")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert not re.search(r"<style\b", html), "a <style> element"
    assert not re.search(r"\sstyle=", html), "a style attribute"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    assert "javascript:" not in html


# Same-origin form posts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://localhost.evil.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_origin_feedback_form_is_refused(
    client: FlaskClient, app: Flask, headers: dict[str, str]
) -> None:
    engine = app.extensions["recommender"].engine
    before = len(feedback.load(engine))
    response = client.post(f"/bodies/{ROTHER}/feedback", data=FORM, headers=headers)
    assert response.status_code == 403
    assert "That is not allowed from here" in response.get_data(as_text=True)
    assert len(feedback.load(engine)) == before
    api = client.post("/api/v1/feedback", json={"body": "Rother", **FORM}, headers=headers)
    assert api.status_code == 201  # JSON posts cannot be forged by a form: no check there


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost"},
        {"Origin": "http://localhost:80", "Sec-Fetch-Site": "same-origin"},
        {"Referer": f"http://localhost/bodies/{ROTHER}?service=legal"},
        {},  # not a browser: curl, a script (a browser always sends Origin cross-site)
    ],
)
def test_a_same_origin_feedback_form_is_recorded(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.post(f"/bodies/{ROTHER}/feedback", data=FORM, headers=headers)
    assert response.status_code == 303


# Audit rows for refused admin calls ----------------------------------------------------------


def test_refused_admin_calls_are_audited_once_per_client_per_minute(
    make_app: AppFactory,
) -> None:
    app = make_app(ADMIN_TOKEN=TOKEN)
    now = [500.0]
    app.extensions["recommender"].refusals.clock = lambda: now[0]
    client = app.test_client()
    engine = app.extensions["recommender"].engine

    def guess(address: str = "198.51.100.1") -> int:
        response = client.post("/api/v1/admin/reload", headers=auth("guess-" + "x" * 24),
                               environ_base={"REMOTE_ADDR": address})  # fmt: skip
        return response.status_code

    assert [guess() for _ in range(5)] == [401] * 5
    assert len(audit.entries(engine)) == 1
    assert guess("203.0.113.9") == 401  # another client gets its own row
    assert len(audit.entries(engine)) == 2
    now[0] += 59
    assert guess() == 401
    assert len(audit.entries(engine)) == 2
    now[0] += 1
    assert guess() == 401
    latest = audit.entries(engine)[0]
    assert latest["outcome"] == "refused"
    assert latest["detail"] == {"reason": "unauthorized", "refusals_not_logged_before": 5}
    assert client.post("/api/v1/admin/reload", headers=auth()).status_code == 200
    assert client.post("/api/v1/admin/reload", headers=auth()).status_code == 200
    assert [e["outcome"] for e in audit.entries(engine)[:2]] == ["ok", "ok"]  # never throttled


# The buckets ---------------------------------------------------------------------------------


def test_a_bucket_refills_at_its_rate_and_forgets_old_clients() -> None:
    now = [0.0]
    buckets = ClientBuckets(per_minute=60, burst=2, clock=lambda: now[0], clients=2)
    assert [buckets.take("a"), buckets.take("a")] == [0, 0]
    assert buckets.take("a") == pytest.approx(1.0)
    now[0] += 0.5
    assert buckets.take("a") == pytest.approx(0.5)  # half a token back, not yet one
    now[0] += 0.5
    assert buckets.take("a") == 0
    buckets.take("b")
    buckets.take("c")  # only two clients are remembered: "a" is forgotten
    assert len(buckets._buckets) == 2 and "a" not in buckets._buckets
    assert ClientBuckets(per_minute=0, burst=1).take("a") == 0  # 0: no limit


def test_the_refusal_throttle_counts_what_it_skips() -> None:
    now = [0.0]
    throttle = RefusalThrottle(window=60, clock=lambda: now[0])
    assert throttle.admit("a") == 0
    assert [throttle.admit("a") for _ in range(3)] == [None] * 3
    now[0] += 60
    assert throttle.admit("a") == 3


def test_behind_a_proxy_the_client_is_the_forwarded_address(make_app: AppFactory) -> None:
    app = make_app(FEEDBACK_PER_MINUTE=1, FEEDBACK_BURST=1, PROXY_HOPS=1)
    app.extensions["recommender"].feedback_limit.clock = lambda: 0.0
    client = app.test_client()
    body = {"body": "Rother", **FORM}

    def post(forwarded: str) -> int:
        headers = {"X-Forwarded-For": forwarded}
        return client.post("/api/v1/feedback", json=body, headers=headers).status_code

    assert [post("192.0.2.1"), post("192.0.2.1"), post("192.0.2.2")] == [201, 429, 201]
