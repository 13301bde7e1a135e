"""The JSON API under ``/api/v1``: bodies, recommendations, the register, services, model, health.

Views are thin: parse the query (:mod:`recommender.webapp.params`), call the domain, return
JSON. Recommendation responses are cached serialised, keyed by the model version and the
parsed query, so a repeated question costs a dictionary look-up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request

from recommender.core import services
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.core.jsontext import dumps
from recommender.recommend import feedback as feedback_domain
from recommender.recommend import readmodels
from recommender.recommend.query import CHOICE_FLOOR, MAX_KM, MAX_PER_PARTNER, PER_PARTNER, SORTS
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.webapp import openapi
from recommender.webapp.guards import client_address
from recommender.webapp.params import LIMIT, OFFSET, Param, parse
from recommender.webapp.state import ResponseCache, state

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender

bp = Blueprint("api", __name__, url_prefix=openapi.PREFIX)


def _service_ids(config: Mapping[str, Any]) -> list[str]:
    return list(services.service_ids(state().settings))


KIND = Param(
    "kind", "string", "Only bodies of this kind.", choices=reference.KINDS, strict_choices=True
)
SERVICE = Param("service", "string", "A service id (see /services).", choices=_service_ids)
K = Param("k", "integer", "How many to return.", default=10, minimum=1, maximum="MAX_K")
SCENARIO = Param(
    "scenario",
    "string",
    "Answer as the map would be after this reorganisation scenario (see /scenarios): "
    "successors by code (X06…) or name, every other body on the new map.",
)
BODY_PARAMS = (
    KIND,
    Param("region", "string", "Region name or code (e.g. 'South West', E12000009)."),
    Param("county", "string", "County name or code: its districts."),
    LIMIT,
    OFFSET,
)
SEARCH_PARAMS = (
    Param("q", "string", "What the user typed so far (a name, alias or code).", required=True),
    KIND,
    Param("limit", "integer", "At most this many matches.", default=10, minimum=1, maximum=50),
)
RECOMMEND_PARAMS = (
    SERVICE,
    Param(
        "kinds",
        "list",
        "Partner kinds, comma-separated (council,fire,police,health,combined).",
        choices=reference.KINDS,
        strict_choices=True,
    ),
    Param("max_km", "number", "Only partners this close (km between centroids).", minimum=0,
          exclusive_minimum=True, maximum=MAX_KM),
    K,
    Param("include_existing", "boolean", "Also show every partner already sharing the "
          "service, after the k suggestions.", default=False),
    Param("per_partner", "integer", "At most this many services per partner in the list.",
          default=PER_PARTNER, minimum=1, maximum=MAX_PER_PARTNER),
    Param("sort", "string", "Rank by expected annual savings (the default), likelihood or "
          "savings if formed.", default="expected", choices=SORTS, strict_choices=True),
    Param("min_choice", "number", "Leave out partners whose chance of being the one chosen, "
          "should the body share the service, is under this (0 to 1; "
          f"{CHOICE_FLOOR:g} by default; 0 shows every candidate).", default=CHOICE_FLOOR,
          minimum=0, maximum=1),
    SCENARIO,
)  # fmt: skip
GROUP_PARAMS = (
    Param("service", "string", "A service id (see /services).", choices=_service_ids,
          required=True),
    Param("max_size", "integer", "Largest group, the body included.", default=4, minimum=2,
          maximum=4),
    Param("k", "integer", "How many groups.", default=5, minimum=1, maximum="MAX_K"),
    SCENARIO,
)  # fmt: skip
JOIN_PARAMS = (SERVICE, K, SCENARIO)
ARRANGEMENT_PARAMS = (
    SERVICE,
    Param("region", "string", "Keep arrangements with a member in this region."),
    Param("body", "string", "Keep arrangements with this body (code or any name)."),
    Param(
        "origin",
        "string",
        "real (the documented arrangements, the default), simulated "
        "(the simulated training register: never real partnerships) or all.",
        default="real",
        choices=reg.ORIGINS,
        strict_choices=True,
    ),
    Param(
        "status",
        "string",
        "Keep arrangements by their status as the answers read it: running (not said to have "
        "ended, nor only proposed, nor merged), ended (its register entry, name or source's "
        "words say so, or a limited term they give has passed: term_passed), proposed (never "
        "ran) or merged (between bodies that have all since become one).",
        choices=reg.STATUS_FILTERS,
        strict_choices=True,
    ),
    Param(
        "order",
        "string",
        "The order of the list (and of its pages): id (the default), name, newest (the latest "
        "start year first; none given, last) or savings (the largest annual saving first; none "
        "reported, last; a proposal's target, for what never ran, after every arrangement that "
        "formed).",
        default="id",
        choices=tuple(reg.ORDERS),
        strict_choices=True,
    ),
    LIMIT,
    OFFSET,
)


# Bodies -----------------------------------------------------------------------------------------


@bp.get("/bodies")
@openapi.operation("List bodies, filtered by kind, region or county.", tag="bodies",
                   response="BodyList", params=BODY_PARAMS)  # fmt: skip
def list_bodies() -> Response:
    """List bodies."""
    args = parse(BODY_PARAMS)
    return json_response(readmodels.body_page(state().settings, **args))


@bp.get("/bodies/search")
@openapi.operation("Find bodies by name, alias or code as the user types, best first.",
                   tag="bodies", response="SearchResults", params=SEARCH_PARAMS)  # fmt: skip
def search_bodies() -> Response:
    """Search bodies."""
    args = parse(SEARCH_PARAMS)
    found = readmodels.search(args["q"], state().settings, limit=args["limit"], kind=args["kind"])
    return json_response(found)


@bp.get("/bodies/<code_or_name>")
@openapi.operation("One body: facts, neighbours with border length, the bodies it lies within "
                   "and those within it, arrangements "
                   "(on a scenario's map with ?scenario=).", tag="bodies", response="BodyDetail",
                   params=(SCENARIO,), errors=(400, 404))  # fmt: skip
def show_body(code_or_name: str) -> Response:
    """Show one body."""
    args = parse((SCENARIO,))
    if args["scenario"]:
        return _scenario_body(args["scenario"], code_or_name)
    current = state()
    settings = current.settings
    facts = _facts(code_or_name)
    found = reference.resolve(code_or_name, settings=settings)
    code = facts["code"]
    near = reference.neighbours(code, settings, kind=facts["kind"])
    inside = reference.containers(code, settings)
    arrangements, merged = reg.partnerships_of(
        reg.query(
            reg.Filters(body=code), settings=settings, directory=current.directory,
            engine=current.engine,
        ),
        code,
    )  # fmt: skip
    run = readmodels.fire_authority_json(
        readmodels.fire_authority(code, settings, current.directory, current.engine)
    )  # a council that is its fire authority: the arrangements naming its fire service
    return json_response(
        readmodels.body_detail(
            facts,
            readmodels.resolution(found, reference.name_note(code_or_name, code, settings)),
            near.to_dict("records"),
            inside.to_dict("records"),
            arrangements,
            merged=merged,
            contents=reference.contents(code, settings).to_dict("records"),
            fire_authority=run,
        )
    )


# Recommendations --------------------------------------------------------------------------------


@bp.get("/bodies/<code_or_name>/recommendations")
@openapi.operation("Suggested partners and services for a body, with reasons and evidence.",
                   tag="recommendations", response="Recommendations", params=RECOMMEND_PARAMS,
                   errors=(400, 404, 503))  # fmt: skip
def recommendations(code_or_name: str) -> Response:
    """Recommend partners."""
    from recommender.recommend.ranking import Query

    args = parse(RECOMMEND_PARAMS)
    if args["service"] is not None:  # answered, and echoed, as the id it names ("LEGAL": legal)
        args["service"] = services.check_service(args["service"], state().settings)
    shown = dict(args, kinds=list(args["kinds"]) if args["kinds"] else None)
    asked = {k: v for k, v in args.items() if k != "scenario"}
    return _answer(
        "recommendations",
        code_or_name,
        shown,
        lambda model, code: model.recommend_json(Query(body=code, **asked)),
        encoded=True,  # each suggestion's JSON, made once (with its shortlist when prepared)
    )


@bp.get("/bodies/<code_or_name>/groups")
@openapi.operation("The best groups of 2–4 bodies around a body to share a service.",
                   tag="recommendations", response="Groups", params=GROUP_PARAMS,
                   errors=(400, 404, 503))  # fmt: skip
def groups(code_or_name: str) -> Response:
    """Suggest partner groups."""
    args = parse(GROUP_PARAMS)
    service = services.check_service(args["service"], state().settings)
    return _answer(
        "groups",
        code_or_name,
        args,
        lambda model, code: model.groups(code, service, max_size=args["max_size"], k=args["k"]),
    )


@bp.get("/bodies/<code_or_name>/arrangements-to-join")
@openapi.operation("Existing arrangements a body could join, ranked.", tag="recommendations",
                   response="JoinOptions", params=JOIN_PARAMS,
                   errors=(400, 404, 503))  # fmt: skip
def arrangements_to_join(code_or_name: str) -> Response:
    """Suggest arrangements to join."""
    args = parse(JOIN_PARAMS)
    service = args["service"] and services.check_service(args["service"], state().settings)
    return _answer(
        "options",
        code_or_name,
        args,
        lambda model, code: model.arrangements_to_join(code, service, k=args["k"]),
    )


def _answer(
    key: str,
    code_or_name: str,
    query: dict[str, Any],
    rows: Callable[[Recommender, str], Sequence[Any]],
    *,
    encoded: bool = False,
) -> Response:
    """Answer a model question about one body: ``{"body", "model_version", "query", key}``.

    The model is taken once, at the start (a swap during the request does not affect it), and
    the serialised answer is cached under its version and the query. ``rows`` gives the
    answer's rows, each written as its ``to_dict()``, or (``encoded``) each row's JSON already
    made, in parts to put one after the other; the answer is every part put together at once.
    """
    current = state()
    model = current.models.require()
    scenario = None
    if query.get("scenario") is None:
        query = {k: v for k, v in query.items() if k != "scenario"}  # as before scenarios
    else:  # the model answering on a scenario's map (cached by its content)
        from recommender.webapp import views_scenario

        model = scenario = views_scenario.model(query["scenario"])

    def produce() -> bytes:
        note: str | None = None
        if scenario is None:
            found = _body(code_or_name)
        else:  # a council that joins a successor is answered for by it
            place, note = _in_scenario(scenario.world, scenario.place, code_or_name)
            found = readmodels.body_summary(place.facts)
        note = whose(code_or_name, found["code"], note)
        if note:  # (as the CLI does)
            found = found | {"note": note}
        named = None if scenario is None else scenario.definition.name
        answered = rows(model, found["code"])
        head = dumps(readmodels.answer_head(found, model.version, query, named))[:-1]
        if key == "recommendations":  # how far to trust their order, and their figures' source
            head += _suggestions_head(model, found["kind"], query, bool(answered))
        parts = [head, b',"', key.encode(), b'":[']
        for i, row in enumerate(answered):
            if i:
                parts.append(b",")
            if encoded:
                parts.extend(row)
            else:
                parts.append(dumps(readmodels.row(row)))
        if len(parts) == 4:  # no row: say why, as the pages do
            parts.append(b'],"note":' + dumps(readmodels.EMPTY_NOTES[key]) + b"}")
        else:
            parts.append(b"]}")
        return b"".join(parts)

    frozen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in query.items())
    return _cached(current.cache, (key, *model.identity, code_or_name, *frozen), produce)


HEADS_KEPT = 4096  # encoded ends of suggestions' heads kept (a few hundred questions a model)


def _suggestions_head(
    model: Recommender, kind: str, query: Mapping[str, Any], answered: bool
) -> bytes:
    """What the head of suggestions ends with after the query (:func:`readmodels.answer_head`):
    ``,"cautions":[…],"savings_note":…``, how far to trust their order for the partner kinds
    asked (none when there is no suggestion: no order to trust) and what their figures if
    formed were learnt from. Encoded once per model state and the question's parts they depend
    on (the body's kind, the kinds, a service or none, the order), not on every request."""
    kinds, service, sort = query["kinds"], query["service"], query["sort"]
    key = (model.identity, kind, kinds and tuple(kinds), service is None, sort, answered)
    made: dict[Hashable, bytes] = state().extras.setdefault("suggestions_heads", {})
    found = made.get(key)
    if found is None:
        said = model.cautions(kind, kinds, service, asked=kinds, sort=sort) if answered else []
        found = b"".join((
            b',"cautions":', dumps([dict(c) for c in said]),
            b',"savings_note":', dumps(_documented_sizes(model)),
        ))  # fmt: skip
        if len(made) >= HEADS_KEPT:
            made.clear()  # (keeping them is only a saving: start again)
        made[key] = found
    return found


def _documented_sizes(model: Recommender) -> str | None:
    """What a model's figures if formed were learnt from (:func:`charts.documented_sizes`),
    made once per model version: its metadata and the published facts do not change."""
    made: dict[str, str | None] = state().extras.setdefault("documented_sizes", {})
    if model.version not in made:
        from recommender.render import charts

        made[model.version] = charts.documented_sizes(model.describe(), state().settings)
    return made[model.version]


def whose(code_or_name: str, code: str, joined: str | None) -> str | None:
    """Why an answer about ``code_or_name`` is ``code``'s, when it names another body: the
    scenario's note for a council that joins ``code`` (``joined``), or that it names an
    abolished council whose area ``code`` now covers, or other bodies too ("Durham": also the
    police force area's name); None when it names ``code`` itself."""
    if joined or code_or_name == code:
        return joined
    return reference.name_note(code_or_name, code, state().settings)


def _in_scenario(
    world: Any, find: Callable[[str], Any], code_or_name: str
) -> tuple[Any, str | None]:
    """``find`` applied to the body on the scenario's map; a council that joins one successor
    is answered for by it, with a note saying so (as the page opens the successor's page)."""
    from recommender.scenario import report

    try:
        code, note = report.answering(world, code_or_name)
    except (UnknownBody, InvalidInput) as err:  # (none such, or none named: blank)
        err.field = "code_or_name"  # the path segment at fault
        raise
    return find(code), note


def _scenario_body(name: str, code_or_name: str) -> Response:
    """One body on a scenario's map (needs no model)."""
    from recommender.scenario import report
    from recommender.webapp import views_scenario

    world = views_scenario.world(name)
    place, joined = _in_scenario(world, lambda body: report.place(world, body), code_or_name)
    note = place.note if joined is None else f"{joined} {place.note}"
    matched = {"matched": place.facts["code"], "alias_type": "scenario", "note": note}
    arrangements, merged = reg.partnerships_of(place.arrangements, str(place.facts["code"]))
    current = state()  # a county left as it is that is its fire authority, as today's answer
    run = None if place.facts["successor"] else readmodels.fire_authority(
        str(place.facts["code"]), current.settings, current.directory, current.engine
    )  # fmt: skip
    return json_response(
        readmodels.body_detail(
            place.facts,
            matched,
            place.neighbours,
            place.containers,
            arrangements,
            scenario=name,
            merged=merged,
            contents=place.contents,
            fire_authority=readmodels.fire_authority_json(run),
        )
    )


# Scenarios --------------------------------------------------------------------------------------


@bp.get("/scenarios")
@openapi.operation("Stored reorganisation scenarios (make them with `recommender scenario create` "
                   "or the pages).", tag="scenarios", response="ScenarioList")  # fmt: skip
def list_scenarios() -> Response:
    """List scenarios."""
    parse(())
    from recommender.scenario import store

    found = store.summaries(state().engine)
    return json_response(readmodels.scenario_list(found))


@bp.get("/scenarios/<scenario>")
@openapi.operation("One scenario: its successors' facts, the bodies that leave the map, what "
                   "happens to the real arrangements.", tag="scenarios", response="Scenario",
                   errors=(400, 404))  # fmt: skip
def show_scenario(scenario: str) -> Response:
    """Show a scenario."""
    parse(())
    from recommender.scenario.report import report
    from recommender.webapp import views_scenario

    current = state()
    world = views_scenario.world(scenario)
    records = reg.query(
        reg.Filters(origin="real"), settings=current.settings, directory=current.directory
    )
    return json_response(report(world, records))


# The register, services, model, health ----------------------------------------------------------


@bp.get("/arrangements")
@openapi.operation("List real arrangements (simulated ones if asked) by service, region, body.",
                   tag="register", response="ArrangementList", params=ARRANGEMENT_PARAMS,
                   errors=(400, 404))  # fmt: skip
def list_arrangements() -> Response:
    """List arrangements."""
    args = parse(ARRANGEMENT_PARAMS)
    current = state()
    filters = reg.Filters(
        args["service"], args["body"], args["region"], args["origin"], args["limit"],
        args["offset"], args["status"], args["order"],
    )  # fmt: skip
    settings, directory, engine = current.settings, current.directory, current.engine
    # Counted and paged in the database: a page costs what it holds, whatever the register.
    try:
        total = reg.count(filters, settings=settings, directory=directory, engine=engine)
        found_body = args["body"] and reference.resolve(args["body"], settings=settings)
    except UnknownBody as err:
        err.field = "body"  # the parameter at fault (the lookup calls it a name)
        raise
    # Named by a body gone: these are its successor's arrangements, as the explorer says.
    note = found_body and reference.listed_note(args["body"], found_body, settings)
    found = (
        reg.query(filters, settings=settings, directory=directory, engine=engine)
        if args["offset"] < total
        else []
    )
    page = readmodels.arrangement_page(
        found, total=total, limit=args["limit"], offset=args["offset"], body_note=note or None
    )
    return json_response(page)


@bp.get("/arrangements/<arrangement_id>")
@openapi.operation("One arrangement with its members.", tag="register", response="Arrangement",
                   errors=(400, 404))  # fmt: skip
def show_arrangement(arrangement_id: str) -> Response:
    """Show one arrangement."""
    parse(())
    current = state()
    found = reg.get_arrangement(
        arrangement_id, settings=current.settings, directory=current.directory,
        engine=current.engine,
    )  # fmt: skip
    return json_response(readmodels.arrangement(found))


@bp.get("/services")
@openapi.operation("The service taxonomy.", tag="reference", response="Services")
def list_services() -> Response:
    """List services."""
    parse(())
    table = services.load_services(state().settings)
    return json_response({"services": readmodels.services(table)})


@bp.get("/model")
@openapi.operation("The serving model: version, training time, evaluation table.", tag="model",
                   response="Model", errors=(400, 503))  # fmt: skip
def model_info() -> Response:
    """Describe the model."""
    parse(())
    model = state().models.require()
    # Judging every verdict takes ~150 ms: made once per model version (the serving one only).
    made: dict[str, dict[str, Any]] = state().extras.setdefault("model_judged", {})
    if model.version not in made:
        made.clear()
        made[model.version] = readmodels.model_judged(model.version, model.metadata)
    return json_response(made[model.version])


@bp.get("/health")
@openapi.operation("Whether the service is up, which model serves, how big the register is.",
                   tag="model", response="Health")  # fmt: skip
def health() -> Response:
    """Report health."""
    parse(())
    current = state()
    version = current.models.current_version()
    return json_response(
        readmodels.health(version, current.register_size.get(), current.models.problem())
    )


@bp.post("/feedback")
@openapi.operation("Record a verdict on a suggestion (limited per client: 429 with Retry-After).",
                   tag="feedback", response="Feedback", status=201, body="FeedbackIn",
                   errors=(400, 404, 413, 429))  # fmt: skip
def post_feedback() -> Response:
    """Record feedback."""
    current = state()
    current.feedback_limit.check(client_address(), "feedback posts")
    request.max_content_length = int(current_app.config["FEEDBACK_MAX_BYTES"])
    parse(())
    values = json_body()
    stored = feedback_domain.record(
        current.engine, values, settings=current.settings, model_version=current.models.version
    )
    return json_response(stored, status=201)


@bp.get("/openapi.json")
@openapi.operation("This document.", tag="meta", response="OpenApi")
def openapi_document() -> Response:
    """Serve the OpenAPI document."""
    parse(())
    extras = state().extras
    if "openapi" not in extras:
        extras["openapi"] = dumps(openapi.build(current_app._get_current_object()))  # type: ignore[attr-defined]
    return Response(extras["openapi"], mimetype="application/json")


# Helpers ----------------------------------------------------------------------------------------


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or raise 400 saying what is wrong with it.

    Refused too: nesting deeper than Python's parser goes, integers of more than
    :data:`JSON_INT_DIGITS` digits, and strings no database can store (a lone surrogate such as
    ``\\ud800``, or a NUL character).
    """
    if not request.is_json:
        raise InvalidInput("send a JSON object with Content-Type: application/json", field=None)
    try:
        data = json.loads(
            request.get_data(cache=True) or b"null",
            parse_int=_json_int,
            object_pairs_hook=_object,
        )
    except RecursionError:
        raise InvalidInput("the request body is nested too deeply", field=None) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidInput(f"the request body is not valid JSON: {err}", field=None) from None
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object", field=None)
    for key, value in data.items():
        _storable(key, None)
        _storable(value, key)
    return data


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, each name in it once: given twice, which was meant is not for us to pick
    (Python's parser keeps the last)."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise InvalidInput(f"the request body names {name!r} more than once", field=name)
        found[name] = value
    return found


JSON_INT_DIGITS = 1000  # Python converts at most 4,300 digits; nothing here needs 1,000


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > JSON_INT_DIGITS:
        raise InvalidInput(
            f"the request body holds a number of {digits:,} digits; expected at most "
            f"{JSON_INT_DIGITS:,}",
            field=None,
        )
    return int(text)


def _storable(value: Any, name: str | None) -> None:
    """Raise 400 naming ``name`` if ``value`` holds text that is not storable Unicode."""
    stack = [value]
    while stack:  # not recursive: the body may be deeply nested
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(
                    f"{name or 'a field name'} holds a lone surrogate (e.g. \\ud800): not "
                    "text; send UTF-8",
                    field=name,
                ) from None
            if "\x00" in item:
                raise InvalidInput(f"{name or 'a field name'} holds a NUL character", field=name)


def json_response(payload: Any, status: int = 200) -> Response:
    """Return ``payload`` as JSON through the app's provider (:mod:`.jsonprovider`)."""
    text = current_app.json.dumps(payload)
    return current_app.response_class(text, status=status, mimetype="application/json")


def _cached(cache: ResponseCache, key: Hashable, produce: Callable[[], bytes]) -> Response:
    body = cache.get(key)
    hit = body is not None
    if body is None:
        body = produce()
        cache.put(key, body)
    response = Response(body, mimetype="application/json")
    response.headers["X-Cache"] = "hit" if hit else "miss"  # this worker's response cache
    return response


def _body(code_or_name: str) -> dict[str, Any]:
    found = _summaries().get(code_or_name)
    return found if found is not None else readmodels.body_summary(_facts(code_or_name))


SUMMARIES_SECONDS = 5.0  # how often the table of summaries is checked against the reference


def _summaries() -> dict[str, dict[str, Any]]:
    """Every body's summary by code (what a model answer starts with), made once per reference
    table: a code then costs a dictionary look-up, not a resolution and a row of facts."""
    current = state()
    now = time.monotonic()
    made = current.extras.get("summaries")
    if made is not None and now < made[0]:
        return made[2]  # type: ignore[no-any-return]
    table = reference.load_bodies(current.settings)
    if made is None or made[1] is not table:
        rows = table.drop(columns="geometry").to_dict("records")
        made = (0.0, table, {str(row["code"]): readmodels.body_summary(row) for row in rows})
    current.extras["summaries"] = (now + SUMMARIES_SECONDS, made[1], made[2])
    return made[2]


def _facts(code_or_name: str) -> dict[str, Any]:
    try:
        return reference.body(code_or_name, state().settings)
    except (UnknownBody, InvalidInput) as err:  # (none such, or none named: blank)
        err.field = "code_or_name"  # the path segment at fault
        raise
