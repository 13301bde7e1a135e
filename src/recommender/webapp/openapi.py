"""The OpenAPI 3 document at ``/api/v1/openapi.json``, generated from the routes themselves.

Each view carries an :class:`Operation` (set by :func:`operation`): its summary, the
:class:`~recommender.webapp.params.Param` list it parses, its request body and its responses.
:func:`build` walks ``app.url_map`` and writes one entry per route and method, so the document
lists what the app serves; path parameters come from the rule, query parameters from the same
list the view parses with. ``tests/test_openapi.py`` checks both directions.

The schemas below describe the JSON the views return (built by
:mod:`recommender.recommend.readmodels`,
which the CLI's ``--format json`` shares). The document leaves objects open, so that a field
added later does not break a client, but every field a GET returns is documented: the test
``test_every_get_returns_only_documented_fields`` validates answers with every object closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask

from recommender import __version__
from recommender.database.db import STATUSES
from recommender.model.horizon import HORIZON_YEARS, LIKELIHOOD_SIDE, LIKELIHOOD_UNCHECKED
from recommender.model.shape import RANK_METRICS
from recommender.webapp.params import Param

PREFIX = "/api/v1"
F = TypeVar("F", bound=Callable[..., Any])

PATH_PARAMS = {
    "code_or_name": "A body's ONS code or any of its names, incl. abolished councils "
    "(e.g. E07000064, Rother, 'Rother District Council').",
    "arrangement_id": "An arrangement id (e.g. R-1a2b3c4d).",
    "scenario": "A stored reorganisation scenario's name (e.g. surrey-east-west).",
}
ERROR_TEXT = {
    400: "Bad request: a parameter or field is malformed (``field`` names it).",
    401: "Missing or wrong admin token.",
    403: "Admin routes are off: the operator set no RECOMMENDER_ADMIN_TOKEN.",
    404: "Not found (``suggestions`` lists the closest matches).",
    409: "The model could not be loaded; the previous one is still serving.",
    413: "The upload is too large.",
    415: "Unsupported upload type.",
    422: "The uploaded register has bad rows (``errors`` lists each).",
    429: "Too many requests from this client; Retry-After says when to try again.",
    503: "No model is loaded: train and promote one (`recommender train --promote`).",
}


@dataclass(frozen=True)
class Operation:
    """How one view is documented."""

    summary: str
    tag: str
    response: str  # a schema in COMPONENTS
    params: tuple[Param, ...] = ()
    status: int = 200
    errors: tuple[int, ...] = (400,)
    body: str | None = None  # a request body schema in COMPONENTS
    # (media type, its schema in COMPONENTS): ``body`` unless named
    body_types: tuple[tuple[str, str | None], ...] = (("application/json", None),)
    admin: bool = False
    media: str = "application/json"  # what a success returns: JSON (``response``) or a file


def operation(
    summary: str,
    *,
    tag: str,
    response: str,
    params: Sequence[Param] = (),
    status: int = 200,
    errors: Sequence[int] = (400,),
    body: str | None = None,
    body_types: Sequence[str | tuple[str, str]] = ("application/json",),
    admin: bool = False,
    media: str = "application/json",
) -> Callable[[F], F]:
    """Attach an :class:`Operation` to a view (the document is built from these); ``media``
    other than JSON makes ``response`` the description of the file a success returns. A body
    type given as ``(media type, schema)`` has its own schema, others ``body``'s."""
    op = Operation(
        summary,
        tag,
        response,
        tuple(params),
        status,
        tuple(errors),
        body,
        tuple((t, None) if isinstance(t, str) else (t[0], t[1]) for t in body_types),
        admin,
        media,
    )

    def decorate(view: F) -> F:
        view.openapi = op  # type: ignore[attr-defined]
        return view

    return decorate


def build(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI document for every ``/api/v1`` route of ``app`` that is documented."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        op: Operation | None = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if op is None:
            continue
        path = rule.rule[len(PREFIX) :]
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "{" + name + "}")
        entry = paths.setdefault(path, {})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry[method.lower()] = _operation(
                rule.endpoint, op, sorted(rule.arguments), app.config
            )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "recommender",
            "version": __version__,
            "description": "Shared-service partners for English councils and other public "
            "bodies: bodies, recommendations with reasons and evidence, partner groups, "
            "arrangements to join, the register, feedback and model administration. Every "
            "error has one JSON shape (Error).",
        },
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(
    endpoint: str, op: Operation, arguments: list[str], config: Mapping[str, Any]
) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMS[name],
            "schema": {"type": "string", "minLength": 1},
        }
        for name in arguments
    ]
    parameters += [_query(p, config) for p in op.params]
    if op.media == "application/json":
        ok = {"description": "OK", "content": _json(op.response)}
    else:
        binary = {"schema": {"type": "string", "format": "binary"}}
        ok = {"description": op.response, "content": {op.media: binary}}
    responses: dict[str, Any] = {str(op.status): ok}
    for status in sorted({*op.errors, 404, 405, 500}):
        text = ERROR_TEXT.get(
            status, {405: "Method not allowed.", 500: "Unexpected error."}.get(status, "Error")
        )
        responses[str(status)] = {"description": text, "content": _json("Error")}
    out: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if op.body:
        out["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": {"$ref": f"#/components/schemas/{schema or op.body}"}}
                for media, schema in op.body_types
            },
        }
    if op.admin:
        out["security"] = [{"adminToken": []}]
    return out


def _query(param: Param, config: Mapping[str, Any]) -> dict[str, Any]:
    kinds = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
    schema: dict[str, Any]
    allowed = param.allowed(config)
    if param.kind == "list":
        item: dict[str, Any] = {"type": "string"}
        if allowed:
            item["enum"] = allowed
        schema = {"type": "array", "items": item, "minItems": 1}
    else:
        schema = {"type": kinds[param.kind]}
        if allowed:
            schema["enum"] = allowed
        if param.minimum is not None:
            schema["minimum"] = param.minimum
            if param.exclusive_minimum:
                schema["exclusiveMinimum"] = True
        maximum = param.bound(config)
        if maximum is not None:
            schema["maximum"] = maximum
        if param.default is not None:
            schema["default"] = param.default
        if param.kind == "string" and param.required:
            schema["minLength"] = 1
    out: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": param.description,
        "schema": schema,
    }
    if param.kind == "list":
        out |= {"style": "form", "explode": False}
    return out


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


# Schemas ----------------------------------------------------------------------------------------


def _obj(required: Sequence[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(schema: Any) -> dict[str, Any]:
    return {"type": "array", "items": schema}


STR = {"type": "string"}
NSTR = {"type": "string", "nullable": True}
NUM = {"type": "number"}
HELD_AT = NSTR | {
    "enum": ["floor", "ceiling", None],
    "description": "Whether savings_gbp is held at the floor or the ceiling of what real "
    "arrangements save per resident merged in (the model's own figure for so large, or small, "
    "a population lies beyond): then it is the low, or high, end of its range; else null.",
}
NNUM = {"type": "number", "nullable": True}
INT = {"type": "integer"}
NINT = {"type": "integer", "nullable": True}
BOOL = {"type": "boolean"}
ANY_OBJ = {"type": "object"}
SCENARIO_NAME = {"type": "string", "description": "The scenario's name, when asked on one."}
EMPTY_NOTE = {"type": "string", "description": "When nothing is found: why, and what to try."}

COMPONENTS: dict[str, Any] = {
    "Error": _obj(
        ["status", "error", "detail", "field"],
        status=INT,
        error=STR,
        detail=STR,
        field=NSTR,
        suggestions=_list(STR),
        errors=_list(_ref("RowError"))
        | {"description": "A register file refused (422): each row's problem."},
        cause={
            "type": "string",
            "description": "A model that failed to load (409): the error it failed with.",
        },
        model_version={
            "type": "string",
            "nullable": True,
            "description": "With cause: the model still serving (null: none is).",
        },
    ),
    "RowError": _obj(
        ["row", "column", "value", "message"],
        row=INT,
        column=STR,
        value=STR,
        message=STR,
        suggestions=_list(STR),
    ),
    "BodySummary": _obj(
        ["code", "name", "kind", "tier", "region"],
        code=STR,
        name=STR,
        kind=STR,
        tier=STR,
        region=STR,
        county_code=STR,
        population=NNUM,
        note={
            "type": "string",
            "description": "When asked by an abolished or renamed council's name, or by a name "
            "other bodies have too ('Durham': also Durham police force area's): whose answer "
            "this is, and which other bodies the name names.",
        },
    ),
    "BodyList": _obj(
        ["total", "limit", "offset", "bodies"],
        total=INT,
        limit=INT,
        offset=INT,
        bodies=_list(_ref("BodySummary")),
    ),
    "SearchHit": _obj(
        ["codes", "display_name", "kind", "matched", "alias_type", "abolished", "score"],
        codes=_list(STR),
        display_name=STR,
        kind=STR,
        matched=STR,
        alias_type=STR,
        abolished=BOOL,
        former_code=NSTR,
        successors=_list(_obj(["code", "name"], code=STR, name=STR)),
        note=STR,
        score=NUM,
    ),
    "SearchResults": _obj(["query", "results"], query=STR, results=_list(_ref("SearchHit"))),
    "Related": _obj(
        ["code", "display_name", "kind", "relation"],
        code=STR,
        display_name=STR,
        kind=STR,
        tier=STR,
        relation=STR,
        border_km=NNUM,
    ),
    "BodyDetail": _obj(
        ["body", "resolution", "neighbours", "containers", "covers", "arrangements"],
        body={"type": "object", "description": "Every fact in data/reference/bodies.csv."},
        scenario=SCENARIO_NAME,
        resolution=_obj(
            ["matched", "alias_type"],
            matched=STR,
            alias_type=STR,
            note=STR,
            others={
                "type": "array",
                "items": STR,
                "description": "The codes of the other bodies the name asked for names "
                "('Durham': County Durham, and Durham police force area, E23000008): ask "
                "for one by its code.",
            },
        ),
        neighbours=_list(_ref("Related")),
        containers=_list(_ref("Related")),
        covers={
            **_list(_ref("Related")),
            "description": "The bodies whose whole area lies within this body's (relation "
            "contains): a county's districts, the councils of a fire, police or NHS board's "
            "area; by kind, a council by tier (a county first), then name.",
        },
        arrangements=_list(_ref("Arrangement")),
        merged_arrangements={
            **_list(_ref("Arrangement")),
            "description": "Arrangements internal to one body, not partnerships (not in "
            "arrangements): between bodies that are all now this body (councils merged since), "
            "or between a fire and rescue authority and the body that runs it (see internal).",
        },
        fire_authority={
            "type": "object",
            "nullable": True,
            "description": "For a county council that is its area's fire and rescue authority "
            "(its fire service part of it): that authority's code and name, and the ids of the "
            "documented arrangements that name its fire service (listed under the authority, "
            "not in arrangements). Absent for any other body.",
            "properties": {"code": STR, "name": STR, "arrangements": _list(STR)},
        },
    ),
    "Member": _obj(
        ["position", "name", "role"],
        position=INT,
        body_code=NSTR,
        name=STR,
        name_as_given=STR,
        role=STR,
        resolution=STR,
        run_by={
            "type": "string",
            "nullable": True,
            "description": "For a fire and rescue authority run by another body (a county "
            "council, a mayor's combined authority or the GLA, a police, fire and crime "
            "commissioner's police force area): that body's code. The two are one body.",
        },
        external_kind={
            "type": "string",
            "nullable": True,
            "description": "For a member outside the reference (no body_code): what it is.",
        },
        today_code={
            "type": "string",
            "nullable": True,
            "description": "On a reorganisation scenario's map, for a member whose body_code is "
            "its successor there: the body it is today.",
        },
        left={
            "type": "boolean",
            "description": "The member left the arrangement, which runs on without it, as its "
            "source says: for it, the arrangement has ended (it no longer shares the service "
            "through it). In a body's own list of arrangements the arrangement carries left "
            "and left_year too.",
        },
        left_year={**NINT, "description": "The year it left, when the source gives one."},
        left_words={
            **NSTR,
            "description": "With left: the source's words it was read from ('H&F left the "
            "arrangement in 2022').",
        },
    ),
    "Arrangement": _obj(
        ["id", "name", "service", "simulated", "members"],
        id=STR,
        name=STR,
        service=STR,
        start_year=NINT,
        end_year=NINT,
        status={
            "type": "string",
            "enum": list(STATUSES),
            "description": "As the register records it (a source with no status: unknown); "
            "status_read is how the answers read it.",
        },
        status_read={
            "type": "string",
            "enum": ["running", "ended", "proposed", "merged"],
            "description": "The status as the answers read it, the ?status= filter's word: "
            "running (none says it has ended, nor only proposed, nor merged), ended (or past "
            "a limited term: term_passed), proposed or merged.",
        },
        savings_gbp=NNUM,
        savings_basis=STR,
        savings_period_years=NINT,
        annual_savings_gbp=NNUM,
        savings_aim=BOOL,
        source=STR,
        note=STR,
        simulated=BOOL,
        fingerprint={"type": "string", "description": "What makes it a duplicate on import."},
        proposed={
            "type": "boolean",
            "description": "Only proposed (its status, or its name ending '(proposal)', as the "
            "documented arrangements write it): never stated as a partnership, nor offered to "
            "join; start_year is the year it was proposed.",
        },
        ended={
            "type": "boolean",
            "description": "Said to have ended: an end year, the status ended, or a name saying "
            "it split ('… split 2012').",
        },
        merged={
            "type": "boolean",
            "description": "Between members that have all since become one body (every "
            "member's body_code the same: councils merged since, CCGs now one board): no longer "
            "a partnership, whatever its status; ?status=merged lists those not proposed nor "
            "ended.",
        },
        term_passed={
            "type": "boolean",
            "description": "Read as ended only because a limited term its source gives has "
            "passed ('one-year agreement from April 2024'; end_read.why says so): no source "
            "says it ended, nor that it went on. ?status=ended lists it (it is not known to "
            "run); its page says 'term passed'.",
        },
        abolished={
            "type": "string",
            "nullable": True,
            "description": "Which of its members has since been abolished with no one body "
            "succeeding it (a primary care trust, a health authority, a care trust): 'NHS Leeds "
            "(PCT) has since been abolished'; no source says it went on without it, it is not "
            "offered to join when fewer than two members remain without it, and the member's "
            "area's ICB is not said to share its service through it. Null when none was.",
        },
        end_read={
            "type": "object",
            "nullable": True,
            "required": ["source_words", "words_from", "why", "said"],
            "description": "When the register's source gives no end and it was read from its "
            "note's words ('partnership ended c.2021'; a term since passed, 'Six-month trial'): "
            "the words, the arrangement whose note holds them when another's (words_from), why "
            "a term reads as an end (why), and the sentence its page says (said).",
            "properties": {
                "source_words": STR,
                "words_from": NSTR,
                "why": NSTR,
                "said": STR,
            },
        },
        left={
            "type": "boolean",
            "description": "Only in a body's own list of arrangements (GET /bodies/{code}): "
            "the body left this arrangement, which runs on without it (members[].left). For "
            "the body it has ended.",
        },
        left_year={**NINT, "description": "With left: the year it left, when given."},
        partners={
            "type": "array",
            "items": STR,
            "description": "The partners as the source gave them (codes or names), in "
            "position order; members[].name is the body each is today.",
        },
        partner_roles=_list(STR),
        partner_names={
            "type": "array",
            "items": STR,
            "description": "The members' names as the source gave them, in position order "
            "(a former council under its own name: members[].name is the body it is now).",
        },
        partner_kinds={
            "type": "array",
            "items": STR,
            "description": "What each of partners was read as, in position order: the kind of "
            "body (council, fire, police, health, combined) or an external member's kind "
            "(nhs_trust, local_council, other); an import reads names by it, so that an export "
            "imports again as the same bodies.",
        },
        members=_list(_ref("Member")),
        internal={
            "type": "string",
            "nullable": True,
            "description": "For an arrangement between a fire and rescue authority and the "
            "body that runs it, and no one else: who runs it ('West Sussex County Council runs "
            "West Sussex Fire and Rescue Authority'); for one whose members are all now one "
            "body (councils merged since): which ('Suffolk Coastal and Waveney are both now "
            "East Suffolk'). Its members are one body: it is internal, not a partnership (in "
            "merged_arrangements, never in arrangements).",
        },
    ),
    "ArrangementList": _obj(
        ["total", "limit", "offset", "arrangements"],
        total=INT,
        limit=INT,
        offset=INT,
        arrangements=_list(_ref("Arrangement")),
        body_note={
            "type": "string",
            "description": "Only when body names a body gone (an abolished council, a CCG): "
            "that these are the arrangements of the body it is now part of, not only those it "
            "was in; a renamed one: that it was renamed; a name other bodies have too "
            "('Cheshire': also the police force area's and the fire authority's): that theirs "
            "are not listed. As the explorer page says it.",
        },
    ),
    "Reason": _obj(
        ["text", "effect", "factor", "direction"],
        text=STR,
        effect=NUM,
        factor=STR,
        label=STR,
        direction={"type": "string", "enum": ["raises", "lowers", "note"]},
        marker={
            "type": "string",
            "description": "The direction as a sign: ▲ for a reason that raises the chance, ▼ for "
            "one that lowers it, ℹ for a note that does not move it.",
        },
    ),
    "Evidence": _obj(
        ["id", "name", "service", "ended", "simulated"],
        id=STR,
        name=STR,
        service=STR,
        partner_names={
            "type": "array",
            "items": STR,
            "description": "The members' names (as in Arrangement).",
        },
        start_year=NINT,
        end_year=NINT | {"description": "The year it ended, where a source says it has."},
        ended={
            "type": "boolean",
            "description": "Whether the register says it has ended (end_year may still be "
            "null: the year not given).",
        },
        merged={
            "type": "boolean",
            "description": "Between members that have all since become one body (as in "
            "Arrangement): no longer running as a partnership.",
        },
        term_passed={
            "type": "boolean",
            "description": "Read as ended only because a limited term its source gives has "
            "passed (as in Arrangement): said 'for a limited term, since passed', not ended.",
        },
        annual_savings_gbp=NNUM,
        savings_gbp=NNUM,
        savings_basis=NSTR,
        savings_period_years=NINT,
        source=NSTR,
        simulated=BOOL,
    ),
    "Recommendation": _obj(
        ["partner_code", "partner_name", "service", "likelihood", "savings_gbp", "reasons"],
        partner_code=STR,
        partner_name=STR,
        partner_kind=STR,
        service=STR,
        service_label=STR,
        likelihood=NNUM
        | {
            "description": "The chance that the two bodies share the service within "
            f"{HORIZON_YEARS} years, {LIKELIHOOD_SIDE}. {LIKELIHOOD_UNCHECKED} Null for a "
            "partner already sharing it."
        },
        choice=NNUM,
        expected_savings_gbp=NNUM,
        savings_gbp=NUM,
        savings_low_gbp=NUM,
        savings_high_gbp=NUM,
        savings_held_at=HELD_AT,
        distance_km=NUM,
        existing=BOOL,
        existing_through=NSTR
        | {
            "description": "For an existing partner linked only through bodies now gone that "
            'they succeed, how ("only through Somerset County Council, now gone"); else null.'
        },
        reasons=_list(_ref("Reason")),
        evidence=_list(_ref("Evidence")),
    ),
    "Recommendations": _obj(
        ["body", "model_version", "query", "cautions", "savings_note", "recommendations"],
        body=_ref("BodySummary"),
        model_version=STR,
        scenario=SCENARIO_NAME,
        query=ANY_OBJ,
        cautions=_list(_ref("Caution"))
        | {
            "description": "How far to trust the order: the pair kinds (of this body with the "
            "partner kinds asked; every kind when not asked) where the model's evaluation on real "
            "arrangements held out from training ranks real partners no better than a baseline, "
            "or ahead of one only within the noise, worst first; one caution (verdict not "
            "evaluated) for a model trained without that evaluation. Empty when it beats every "
            "baseline for them beyond the noise."
        },
        savings_note=NSTR
        | {
            "description": "What the figures if formed (savings_gbp and its range) were learnt "
            "from: how many documented arrangements' savings figures, each read as a yearly "
            "one, and how their sources gave them (yearly, projected, or a total), how many of "
            "them save under the LGA's published threshold against the share the LGA found "
            "among all partnerships, so a typical arrangement may save less. Null for a model "
            "saved before its figures were recorded, or whose figures are no larger than the "
            "published share says."
        },
        recommendations=_list(_ref("Recommendation")),
        note=EMPTY_NOTE,
    ),
    "Caution": _obj(
        [
            "pair_kind",
            "query",
            "verdict",
            "measures",
            "model_mrr",
            "baseline",
            "baseline_label",
            "baseline_mrr",
            "lead_interval",
            "held_out",
            "few",
            "said",
        ],
        pair_kind={
            "type": "string",
            "description": "The two kinds, sorted (council-police); all for a model not evaluated.",
        },
        query={
            "type": "string",
            "enum": ["service", "any"],
            "description": "Judged as the list was asked: the service given, or any.",
        },
        verdict={
            "type": "string",
            "enum": [
                "not better",
                "no clear difference",
                "ahead, not tested for noise",
                "not evaluated",
                "untested",
            ],
            "description": "A baseline matches or beats the model, or the model is ahead of "
            "it only within the noise (the 95% paired bootstrap interval of its lead reaches 0), "
            "or the order was not evaluated (a model trained without a held-out evaluation, or "
            "a list ranked by savings if formed, an order the evaluation never tests), or "
            "(untested) no real arrangement of this pair kind was there to hold out and test it "
            "(for those two the figures are null). A list ranked by likelihood is judged on the "
            "evaluation's likelihood alone, by its figures: not better, or, where it is ahead of "
            "every baseline, ahead, not tested for noise (its leads are not resampled).",
        },
        measures=_list({"type": "string", "enum": list(RANK_METRICS)})
        | {
            "description": "The measures it falls short on, MRR's first (as the model page "
            "judges a pair kind: on every measure, or by MRR alone with too few held out); "
            "empty for the two without figures and for a lead not tested for noise."
        },
        model_mrr=NNUM,
        baseline={
            "type": "string",
            "nullable": True,
            "description": "The baseline's id (see /model) the sentence names first: the one "
            "that matches or beats the model on the first of its measures, or whose lead over "
            "is least sure.",
        },
        baseline_label=NSTR,
        baseline_mrr=NNUM,
        lead_interval=_list(NUM)
        | {
            "nullable": True,
            "description": "The 95% paired bootstrap interval of the model's figure minus the "
            "baseline's on the first of its measures (MRR when it falls short there; a share, "
            "0 to 1, for hit@k), over held-out arrangements (null for a model evaluated before "
            "intervals were kept, and for a list ranked by likelihood: its leads are not kept).",
        },
        held_out={"type": "integer", "description": "Held-out real arrangements of this kind."},
        few={"type": "boolean", "description": "Too few to judge firmly."},
        said={"type": "string", "description": "The sentence the page and the briefing show."},
    ),
    "Group": _obj(
        ["members", "service", "savings_gbp", "savings_per_partner_gbp", "likelihood"],
        members=_list(_obj(["code", "name"], code=STR, name=STR)),
        service=STR,
        savings_gbp=NUM | {"description": "The whole group's estimated annual savings if formed."},
        savings_per_partner_gbp=NUM
        | {
            "description": "An even share of savings_gbp for each member: not what each would "
            "save (a small member brings little of the group's saving)."
        },
        savings_low_gbp=NUM,
        savings_high_gbp=NUM,
        savings_held_at=HELD_AT,
        likelihood=NUM,
    ),
    "Groups": _obj(
        ["body", "model_version", "query", "groups"],
        body=_ref("BodySummary"),
        model_version=STR,
        scenario=SCENARIO_NAME,
        query=ANY_OBJ,
        groups=_list(_ref("Group")),
        note=EMPTY_NOTE,
    ),
    "JoinOption": _obj(
        ["arrangement", "score", "likelihood", "savings_per_partner_gbp", "reason"],
        arrangement=_ref("Evidence"),
        score=NUM,
        likelihood=NUM,
        savings_per_partner_gbp={
            "type": "number",
            "description": "The model's estimate of each member's annual saving with the body "
            "in: never a reported figure (what its source reports is the arrangement's "
            "savings_gbp and savings_basis; savings_gbp is null when the register has none).",
        },
        reason=STR,
    ),
    "JoinOptions": _obj(
        ["body", "model_version", "query", "options"],
        body=_ref("BodySummary"),
        model_version=STR,
        scenario=SCENARIO_NAME,
        query=ANY_OBJ,
        options=_list(_ref("JoinOption")),
        note=EMPTY_NOTE,
    ),
    "ScenarioSummary": _obj(
        ["name", "description", "created_at", "successors", "councils"],
        name=STR,
        description=STR,
        created_at=STR,
        successors=INT,
        councils=INT,
    ),
    "ScenarioList": _obj(["scenarios"], scenarios=_list(_ref("ScenarioSummary"))),
    "Scenario": _obj(
        ["name", "successors", "leaves_map", "arrangements"],
        name=STR,
        description=STR,
        fingerprint=STR,
        successors={
            "type": "array",
            "items": {"type": "object", "description": "A successor's facts, as a body's."},
        },
        leaves_map=_list(ANY_OBJ),
        notes=_list(STR),
        arrangements=_obj(
            ["internal", "carried_over", "unchanged"],
            internal=_list(ANY_OBJ),
            carried_over=_list(ANY_OBJ),
            unchanged=INT,
        ),
    ),
    "Service": _obj(
        ["id", "label", "office", "delivered_by"],
        id=STR,
        label=STR,
        office={"type": "string", "enum": ["back", "front"]},
        delivered_by=_list(STR),
        description=STR,
    ),
    "Services": _obj(["services"], services=_list(_ref("Service"))),
    "Verdict": _obj(
        [
            "protocol",
            "query",
            "pair_kind",
            "arrangements",
            "verdict",
            "few",
            "model_mrr",
            "baseline",
            "baseline_label",
            "baseline_mrr",
            "said",
        ],
        protocol={
            "type": "string",
            "description": "How arrangements were held out: lopo (the headline, with their "
            "partnership), lopo_warm (as served), cold_start (each body's history hidden).",
        },
        query={
            "type": "string",
            "description": "service (given), any, or either with "
            "'_one_kind' (a list asked for one kind of partner).",
        },
        pair_kind={"type": "string", "description": "The two kinds, sorted, or all."},
        arrangements=INT,
        verdict={
            "type": "string",
            "enum": [
                "NOT BETTER",
                "no clear difference",
                "better",
                "better (not tested for noise)",
            ],
            "description": "Better only where the product beats every simple rule and the "
            "plain regression on every measure, beyond the noise (a 95% interval of its lead "
            "clear of 0); no clear difference where it is ahead only within the noise; NOT "
            "BETTER where one matches or beats it.",
        },
        few={
            "type": "boolean",
            "description": "Too few held-out arrangements to judge firmly: judged by MRR alone.",
        },
        model_mrr=NNUM,
        baseline={"type": "string", "description": "The best other method by MRR."},
        baseline_label=STR,
        baseline_mrr=NNUM,
        said={"type": "string", "description": "The verdict in words, with each measure."},
    ),
    "Model": _obj(
        ["version", "trained_at", "evaluation", "headline", "verdicts", "summary_note"],
        version=STR,
        trained_at=NSTR,
        register={"type": "object", "description": "The register it was trained on."},
        evaluation={"type": "object", "description": "The evaluation tables, if evaluated."},
        summary={
            "type": "object",
            "description": "The product's own figures by protocol/query (mrr, hit@1, hit@10), "
            "beside no baseline: lopo is the headline (real arrangements held out with their "
            "partnership), lopo_warm as served, cold_start with each body's history hidden; "
            "simulated/* is measured on the simulated register, a check of the simulator, not "
            "evidence of quality. Whether the model beats the simple rules and the plain "
            "regression is in evaluation.ranking (every method's figures, with the intervals "
            "of the leads), judged in headline and verdicts, and said in words on the /model "
            "page and by `recommender models show`.",
        },
        importance=_list(ANY_OBJ),
        features={"type": "object", "description": "The features, by group."},
        parameters={"type": "object", "description": "The estimators' parameters."},
        versions={"type": "object", "description": "Library versions it was trained with."},
        git_commit=NSTR,
        headline=_ref("Verdict")
        | {
            "nullable": True,
            "description": "The headline verdict (lopo, the service given, every pair kind): "
            "what a promotion rests on. Null for a model not evaluated.",
        },
        verdicts=_list(_ref("Verdict"))
        | {
            "description": "Every verdict on real arrangements held out, as the /model page "
            "gives them (empty for a model not evaluated)."
        },
        summary_note={"type": "string", "description": "What the summary's figures are."},
    ),
    "Health": _obj(
        ["state", "model_version", "register_size"],
        state={
            "type": "string",
            "enum": ["ok", "degraded"],
            "description": "ok: a model serves; degraded: none does (see problem). Not an "
            "HTTP status: an Error's status is.",
        },
        model_version=NSTR,
        register_size=INT,
        problem={
            "type": "string",
            "nullable": True,
            "description": "Why no model serves, or why the promoted one does not.",
        },
    ),
    "FeedbackIn": _obj(
        ["body", "partner", "service", "verdict"],
        body={"type": "string", "description": "The focal body (code or name)."},
        partner={"type": "string", "description": "The suggested partner (code or name)."},
        service={"type": "string", "description": "A service id."},
        verdict={
            "type": "string",
            "enum": ["interested", "not_relevant", "already_sharing", "other"],
        },
        comment={
            "type": "string",
            "maxLength": 2000,
            "description": "Required (not blank) with the verdict other: say what it is.",
        },
        model_version={"type": "string", "description": "Default: the model serving now."},
    ),
    "Feedback": _obj(
        ["id", "created_at", "body_code", "partner_code", "service", "verdict"],
        id=INT,
        created_at=STR,
        body_code=STR,
        partner_code=STR,
        service=STR,
        verdict=STR,
        comment=STR,
        model_version=NSTR,
    ),
    "Promote": _obj(["version"], version=STR),
    "Empty": {"type": "object"},
    "RegisterUpload": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    },
    "RegisterCsv": {"type": "string", "description": "A register file in CSV."},
    "RegisterJson": {
        "type": "object",
        "description": "A register file in JSON: what `register export --format json` writes.",
        "properties": {"arrangements": {"type": "array", "items": {"type": "object"}}},
        "required": ["arrangements"],
    },
    "RegisterWorkbook": {
        "type": "string",
        "format": "binary",
        "description": "A register as an Excel workbook (.xlsx): its first sheet, or `sheet`.",
    },
    "ModelSwap": _obj(
        ["action", "previous", "model_version"],
        action=STR,
        previous=NSTR,
        model_version=NSTR,
    ),
    "ImportReport": _obj(
        ["path", "layout", "rows", "added", "duplicates", "dry_run"],
        path=STR,
        layout=STR,
        rows=INT,
        added=INT,
        duplicates=INT,
        in_file_duplicates={
            "type": "array",
            "items": {"type": "array", "items": INT},
            "description": "Rows that repeat an earlier row of the same file: [row, first row].",
        },
        already={
            "type": "array",
            "items": {"type": "array", "items": {"oneOf": [INT, STR]}},
            "description": "The first rows already in the register: [row, id, name].",
        },
        differ={
            "type": "array",
            "items": {"type": "array", "items": {"oneOf": [INT, STR, _list(STR)]}},
            "description": "Of those, the ones whose other fields differ from the file's: "
            "[row, id, [field, …]].",
        },
        ids=_list(STR),
        warnings=_list(STR),
        dry_run=BOOL,
        import_id=NINT,
        register_size=INT,
    ),
    "OpenApi": {"type": "object"},
}
