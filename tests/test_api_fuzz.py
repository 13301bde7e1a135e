"""Schema-based fuzzing: schemathesis generates requests from the OpenAPI document and sends
them to the app (WSGI, in process); no request may get a 5xx, and every response must be
JSON of a documented content type. Valid requests (positive) and requests that break the
schema (negative) are both sent.

Then what a schema does not describe, from hypothesis strategies: query values and path
segments with lone surrogates, NUL and other control characters, non-ASCII digits and
integers far out of range, sent to the API and to the pages; JSON bodies with such strings,
huge integers and deep nesting, sent to the feedback, promote and import routes. None may get
a 5xx, and every API error must be the one JSON shape.

(schemathesis' own pytest plugin does not run under this pytest, so each operation's
hypothesis strategy is driven here.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error

from service_fixtures import TOKEN

EXAMPLES_PER_OPERATION = 30
EXAMPLES = 60
EXAMPLES_PER_ROUTE = 25
SHAPE = {"status", "error", "detail", "field"}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=True, database=None)  # fmt: skip


def fuzz(
    operation: schemathesis.APIOperation, mode: GenerationMode = GenerationMode.POSITIVE
) -> Callable[[], None]:
    """Return a hypothesis test sending generated requests for one operation."""
    admin = operation.path.startswith("/admin")
    headers = {"Authorization": f"Bearer {TOKEN}"} if admin else None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, content_type_conformance]
        )

    return run  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(app: Flask, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not (len(operation.query) or len(operation.body)):
            continue  # nothing a request could break: /health, or a path segment (any string)
        fuzz(operation, mode)()


# What the schema does not describe -------------------------------------------------------------

NASTY = ["\ud800", "\udfff", "a\x00b", "\x1b[2J", "²", "٣", "1_0", "1e400", "nan", "-0", "inf",
         "9" * 5000, "99999999999999999999", "-1", "0", "Rother", "legal", "council,fire", "true",
         ""]  # fmt: skip
HOSTILE_TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(NASTY),  # twice: drawn as often as the two strategies below together
    st.text(st.characters(codec=None, exclude_categories=()), max_size=12),  # surrogates too
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
)
# (path with {body} for a path segment, the query parameters it takes)
ROUTES = [
    ("/api/v1/bodies", ["kind", "region", "county", "limit", "offset"]),
    ("/api/v1/bodies/search", ["q", "kind", "limit"]),
    ("/api/v1/bodies/{body}", []),
    ("/api/v1/bodies/{body}/recommendations",
     ["service", "kinds", "max_km", "k", "include_existing", "per_partner"]),
    ("/api/v1/bodies/{body}/groups", ["service", "max_size", "k"]),
    ("/api/v1/bodies/{body}/arrangements-to-join", ["service", "k"]),
    ("/api/v1/arrangements", ["service", "region", "body", "origin", "limit", "offset"]),
    ("/api/v1/arrangements/{body}", []),
    ("/", []),
    ("/search", ["q"]),
    ("/bodies/{body}", ["service", "kinds", "max_km", "k", "include_existing", "feedback"]),
    ("/arrangements", ["service", "region", "body", "shown", "page"]),
    ("/arrangements/{body}", []),
]  # fmt: skip


def encode(text: str) -> str:
    """Percent-encode ``text`` as a client would, lone surrogates included (as bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def hostile_requests(draw: st.DrawFn, path: str, names: list[str]) -> str:
    body = draw(st.one_of(st.just("Rother"), st.just("E07000064"), HOSTILE_TEXT))
    path = path.replace("{body}", encode(body) or "x")
    chosen = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    query = "&".join(f"{name}={encode(draw(HOSTILE_TEXT))}" for name in chosen)
    return path + ("?" + query if query else "")


def assert_answered(response: Any, path: str) -> None:
    """No 5xx (a 503 needs a missing model, which this app has); API errors in the shape."""
    assert response.status_code < 500, (path, response.get_data(as_text=True)[:300])
    if path.startswith("/api/") and response.status_code >= 400:
        assert response.mimetype == "application/json"
        assert set(response.json) >= SHAPE and response.json["status"] == response.status_code


@pytest.mark.parametrize(("path", "names"), ROUTES)
def test_hostile_query_strings_and_path_segments_get_no_server_error(
    client: FlaskClient, path: str, names: list[str]
) -> None:
    @given(url=hostile_requests(path, names))
    @settings(FUZZ, max_examples=EXAMPLES_PER_ROUTE)
    def run(url: str) -> None:
        assert_answered(client.get(url), url)

    run()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/bodies/Rother/recommendations?k=99999999999999999999",
        "/api/v1/bodies?offset=99999999999999999999",
        "/api/v1/arrangements?offset=99999999999999999999&limit=1",
        "/api/v1/bodies/search?q=%ED%A0%80",
        "/bodies/E07000064?k=99999999999999999999&max_km=1e400",
        "/bodies/E07000064?feedback=99999999999999999999999",
        "/bodies/E07000064?k=%C2%B2",
        "/arrangements?page=%C2%B2",
        "/arrangements?page=" + "9" * 5000,
        "/bodies/E07000064?k=" + "9" * 5000,
        "/api/v1/bodies/Rother/recommendations?k=" + "9" * 5000,
        "/api/v1/bodies/" + "a" * 4000,
    ],
)
def test_out_of_range_and_odd_values_are_a_4xx(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert_answered(response, url)
    if "99999999999999999999" in url and url.startswith("/api/"):
        assert response.status_code == 400


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | HOSTILE_TEXT
    | st.integers(min_value=-(10**30), max_value=10**30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=10,
)  # fmt: skip
FIELDS = ["body", "partner", "service", "verdict", "comment", "model_version", "version",
          "arrangements"]  # fmt: skip


@st.composite
def hostile_bodies(draw: st.DrawFn) -> str:
    """A JSON text: an object of known and hostile keys, nested deeply now and then."""
    keys = draw(st.lists(st.sampled_from(FIELDS) | HOSTILE_TEXT, max_size=5, unique=True))
    obj = {k: draw(JSON_VALUES) for k in keys}
    text = json.dumps(obj)  # ASCII: lone surrogates travel as \\ud800 escapes
    depth = draw(st.sampled_from([0, 0, 0, 50, 2000]))
    if depth and keys:
        text = text[:-1] + (", " if obj else "") + '"deep": ' + "[" * depth + "]" * depth + "}"
    digits = draw(st.sampled_from([0, 0, 400, 5000]))
    if digits:
        text = text[:-1] + (", " if text != "{}" else "") + '"big": 1' + "0" * digits + "}"
    return text


@pytest.mark.parametrize(
    "path", ["/api/v1/feedback", "/api/v1/admin/promote", "/api/v1/admin/register/import"]
)
def test_hostile_json_bodies_get_no_server_error(client: FlaskClient, path: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}

    @given(body=hostile_bodies())
    @FUZZ
    def run(body: str) -> None:
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert_answered(response, path)

    run()
