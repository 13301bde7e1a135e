"""The OpenAPI document at /api/v1/openapi.json stays true to the routes the app serves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.webapp.openapi import PREFIX

IGNORED = {"HEAD", "OPTIONS"}
# A valid example per documented query parameter (to show each one is accepted).
EXAMPLES = {
    "kind": "council", "region": "South East", "county": "East Sussex", "limit": "2",
    "offset": "1", "q": "Rother", "service": "legal", "kinds": "council,fire", "max_km": "50",
    "k": "2", "include_existing": "true", "max_size": "3", "body": "Rother",
    "origin": "real", "dry_run": "true", "per_partner": "2", "sort": "likelihood",
    "min_choice": "0.05", "scenario": "surrey-east-west", "status": "ended", "order": "name",
}  # fmt: skip
PATH_EXAMPLES = {"code_or_name": "Rother", "arrangement_id": None, "scenario": "surrey-east-west"}


@pytest.fixture(scope="module", autouse=True)
def scenario(app: Flask) -> None:
    """The scenario the examples name, stored in the module's app."""
    from recommender.scenario import store
    from scenario_fixtures import surrey_draft

    state = app.extensions["recommender"]
    store.create(state.engine, surrey_draft("surrey-east-west"), state.settings)


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


def _routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len(PREFIX) :])
            found |= {(path, m.lower()) for m in (rule.methods or set()) - IGNORED}
    return found


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in document["paths"].items() for method in ops}


def test_every_route_and_method_is_documented(app: Flask, document: dict[str, Any]) -> None:
    routes = _routes(app)
    assert len(routes) >= 16
    assert routes - _documented(document) == set()


def test_every_documented_operation_is_served(app: Flask, document: dict[str, Any]) -> None:
    assert _documented(document) - _routes(app) == set()


def test_path_parameters_match_the_rules(document: dict[str, Any]) -> None:
    for path, ops in document["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == in_path, path


def test_every_operation_documents_the_error_shape(document: dict[str, Any]) -> None:
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            errors = [s for s in op["responses"] if s.startswith(("4", "5"))]
            assert errors, (path, method)
            for status in errors:
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}


def test_references_resolve(document: dict[str, Any]) -> None:
    text = str(document)
    names = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert names <= set(document["components"]["schemas"])


def _example_path(app: Flask, path: str) -> str | None:
    for name, value in PATH_EXAMPLES.items():
        if "{" + name + "}" in path:
            if value is None:
                client = app.test_client()
                value = client.get("/api/v1/arrangements?limit=1").json["arrangements"][0]["id"]
            path = path.replace("{" + name + "}", value)
    return PREFIX + path


def test_documented_query_parameters_are_the_ones_parsed(
    app: Flask, document: dict[str, Any]
) -> None:
    # A route parses exactly its documented parameters: each one is accepted, and anything
    # else is refused naming it. So the document cannot list a parameter the view ignores.
    client = app.test_client()
    checked = 0
    for path, ops in document["paths"].items():
        url = _example_path(app, path)
        for method, op in ops.items():
            if method != "get":
                continue
            names = [p["name"] for p in op["parameters"] if p["in"] == "query"]
            required = {p["name"]: EXAMPLES[p["name"]] for p in op["parameters"]
                        if p["in"] == "query" and p["required"]}  # fmt: skip
            for name in names:
                query = required | {name: EXAMPLES[name]}
                response = client.get(url, query_string=query)
                assert response.status_code == 200, (path, name, response.json)
                checked += 1
            response = client.get(url, query_string=required | {"undocumented": "1"})
            assert response.status_code == 400, path
            assert response.json["field"] == "undocumented"
    assert checked >= 20


def test_schemathesis_reads_the_document(app: Flask) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    labels = {op.ok().label for op in schema.get_all_operations()}
    # schemathesis leaves out the document's own path
    expected = {f"{m.upper()} {p}" for p, m in _routes(app) if p != "/openapi.json"}
    assert labels == expected


def test_document_is_served_as_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.mimetype == "application/json"
    assert response.json["openapi"].startswith("3.")


def strict(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema, every object with properties closed
    (``additionalProperties: false``): a field the document does not name fails validation."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items() if k != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


# Every GET answering JSON, on one example request each (the scenario form too).
STRICT_EXAMPLES = [
    ("/bodies", {"county": "East Sussex"}),
    ("/bodies/search", {"q": "Aylesbury Vale"}),
    ("/bodies/{code_or_name}", {}),
    ("/bodies/{code_or_name}", {"scenario": "surrey-east-west"}),
    ("/bodies/{code_or_name}/recommendations", {"k": "3"}),
    ("/bodies/{code_or_name}/recommendations", {"k": "2", "scenario": "surrey-east-west"}),
    ("/bodies/{code_or_name}/groups", {"service": "legal", "k": "2"}),
    ("/bodies/{code_or_name}/arrangements-to-join", {"k": "2"}),
    ("/arrangements", {"limit": "5", "origin": "all"}),
    ("/arrangements/{arrangement_id}", {}),
    ("/scenarios", {}),
    ("/scenarios/{scenario}", {}),
    ("/services", {}),
    ("/model", {}),
    ("/health", {}),
]


def test_every_get_returns_only_documented_fields(app: Flask, document: dict[str, Any]) -> None:
    import jsonschema_rs

    definitions = strict(document["components"]["schemas"])
    answered, failures = set(), []
    for path, query in STRICT_EXAMPLES:
        op = document["paths"][path]["get"]
        response = app.test_client().get(_example_path(app, path), query_string=query)
        assert response.status_code == 200, (path, response.json)
        schema = strict(op["responses"]["200"]["content"]["application/json"]["schema"])
        validator = jsonschema_rs.Draft4Validator(schema | {"definitions": definitions})
        problems = [f"{e.instance_path}: {e.message}"[:300] for e in validator.iter_errors(
            response.json)]  # fmt: skip
        failures += [(path, query, sorted(set(problems))[:10])] if problems else []
        answered.add(path)
    if failures:
        pytest.fail("\n".join(f"{path} {query}: {problems}" for path, query, problems in failures))
    json_gets = {
        path
        for path, ops in document["paths"].items()
        if "application/json"
        in ops.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
    }
    assert json_gets - {"/openapi.json"} <= answered, json_gets - answered


def test_a_saving_to_join_is_documented_as_the_models_estimate(document: dict[str, Any]) -> None:
    """The API has no words beside the figure: its description says whose figure it is."""
    said = document["components"]["schemas"]["JoinOption"]["properties"]["savings_per_partner_gbp"]
    assert "estimate" in said["description"] and "never a reported figure" in said["description"]


def _problems(document: dict[str, Any], name: str, instance: Any) -> list[str]:
    import jsonschema_rs

    definitions = strict(document["components"]["schemas"])
    schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
    return [e.message[:200] for e in jsonschema_rs.Draft4Validator(schema).iter_errors(instance)]


def test_error_and_import_answers_carry_only_documented_fields(
    app: Flask, document: dict[str, Any]
) -> None:
    """A refused file's 422 carries ``errors``, a failed reload's 409 ``cause`` and
    ``model_version``, an import report ``in_file_duplicates``, ``already`` and ``differ``, and
    a member on a scenario's map ``today_code``: none of them was in the document."""
    from recommender.core.errors import ImportRejected, InvalidInput, RowError
    from recommender.register.records import ImportReport
    from recommender.webapp.state import ReloadFailed

    rejected = ImportRejected("f.csv", [RowError(2, "service", "x", "unknown service", ("legal",))])
    failed = ReloadFailed(InvalidInput("no such file", field="model"), "20260101-000000-abc")
    report = ImportReport("f.csv", "project", 3, 1, 1, [(3, 2)], [(2, "R-1", "a")],
                          [(2, "R-1", ["note"])], ["R-2"])  # fmt: skip
    answers = {
        "Error": [rejected.to_dict(), failed.to_dict()],
        "ImportReport": [report.to_dict() | {"register_size": 4}],
    }
    for name, instances in answers.items():
        for instance in instances:
            assert _problems(document, name, instance) == [], (name, instance)
    body = app.test_client().get(
        PREFIX + "/bodies/East Surrey", query_string={"scenario": "surrey-east-west"}
    )
    members = [m for a in body.json["arrangements"] for m in a["members"]]
    assert any("today_code" in m for m in members)
    ok = document["paths"]["/bodies/{code_or_name}"]["get"]["responses"]["200"]
    name = ok["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert _problems(document, name, body.json) == []


def test_the_models_summary_says_what_its_figures_are(document: dict[str, Any]) -> None:
    """/api/v1/model's summary put the simulated check's MRR 0.664 beside the headline's 0.585,
    unmarked and with no baseline, under "Headline figures of the training"."""
    from recommender.model.verdicts import REAL_PROTOCOLS

    said = document["components"]["schemas"]["Model"]["properties"]["summary"]["description"]
    assert all(p in said for p in REAL_PROTOCOLS), said
    assert "simulated/* is measured on the simulated register, a check of the simulator" in said
    assert "beside no baseline" in said and "evaluation.ranking" in said
