"""The scenario pages: list, create, view a scenario; a body's page and briefing on its map; a
body's suggestions before and after.

Like every page they work without JavaScript: the creation form is a POST that redirects to
the new scenario (or shows the form again with each problem next to its field), filters are
GET forms. Only the creation form writes: it must come from the site's own pages
(:func:`~recommender.webapp.guards.same_origin`) and shares the anonymous-post limit with
feedback (``FEEDBACK_PER_MINUTE``, ``FEEDBACK_BURST``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.utils import secure_filename

from recommender.core import services
from recommender.core.errors import InvalidInput, ModelError, ScenarioRejected, UnknownBody
from recommender.model.horizon import HORIZON_YEARS
from recommender.recommend import readmodels
from recommender.recommend.query import CHOICE_FLOOR
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.scenario import drawing, report, store
from recommender.scenario.define import is_successor_code
from recommender.scenario.recommend import compare
from recommender.webapp import views_body, views_register, views_scenario
from recommender.webapp.error_pages import TRAIN_HINT
from recommender.webapp.guards import client_address, same_origin
from recommender.webapp.pages import _compress
from recommender.webapp.params import one
from recommender.webapp.state import state

bp = Blueprint("scenario_pages", __name__, url_prefix="/scenarios")
bp.after_request(_compress)


@bp.before_request
def _same_origin() -> None:
    if request.method == "POST":
        same_origin()


@bp.get("")
def index() -> str:
    """List the stored scenarios."""
    found = store.summaries(state().engine)
    return render_template("scenarios.html", scenarios=found)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    """Show the form that makes a scenario; make it (then show it) or say what is wrong."""
    current = state()
    settings = current.settings
    form = views_scenario.Form(request.form.copy() if request.method == "POST" else request.args)
    status = 200
    if request.method == "POST":
        current.feedback_limit.check(client_address(), "scenario posts")
        draft, slots = views_scenario.draft_from_form(request.form, settings)
        try:
            made = store.create(current.engine, draft, settings)
        except ScenarioRejected as err:
            form.problems = err.problems
            form.errors = views_scenario.form_errors(err.problems, slots)
            status = 422
        else:
            return redirect(url_for(".show", name=made.name, created=1), code=303)
    groups = views_scenario.groups(settings)
    return render_template(
        "scenario_new.html",
        form=form,
        slots=range(1, views_scenario.SLOTS + 1),
        groups=groups,
        open_groups=views_scenario.open_groups(groups, form),
        map_svg=views_scenario.councils_map(settings),
        colours=views_scenario.COLOURS,
    ), status


@bp.get("/<name>")
def show(name: str) -> str:
    """Show a scenario: its map, its successors' facts, what happens to the arrangements."""
    current = state()
    world = views_scenario.world(name)
    records = reg.query(
        reg.Filters(origin="real"), settings=current.settings, directory=current.directory
    )
    shown = report.report(world, records)
    nearby = {
        str(n["code"]): str(n["display_name"])
        for code in world.successors
        for n in world.neighbours(code).to_dict("records")
        if n["code"] not in world.successors
    }
    before = {c: world.name(c) for c in sorted(world.replaced) if len(world.replaced[c]) == 1}
    return render_template(
        "scenario.html",
        scenario=shown,
        map_svg=drawing.overview(world),
        created=request.args.get("created") == "1",
        compare_choices={"Councils it reorganises": before, "Their neighbours": nearby},
        service_labels=views_register.service_labels(current.settings),
    )


@bp.get("/<name>/find")
def find(name: str) -> Any:
    """Open the page of the body asked for (by code or any name) on the scenario's map."""
    views_scenario.definition(name)
    asked = request.args.get("q", "").strip()[:200]
    if not asked:
        return redirect(url_for(".show", name=name, _anchor="compare"))
    return redirect(url_for(".body", name=name, code_or_name=asked))


@bp.get("/<name>/bodies/<code_or_name>")
def body(name: str, code_or_name: str) -> Any:
    """Show a body on the scenario's map: facts, neighbours, opportunities."""
    current = state()
    settings = current.settings
    world = views_scenario.world(name)
    try:
        code = report.code_of(world, code_or_name)
    except UnknownBody as err:
        return _gone(world, code_or_name, err)
    if code_or_name != code:
        kept: dict[str, Any] = request.args.to_dict(flat=False)
        return redirect(url_for(".body", name=name, code_or_name=code, **kept))
    place = report.place(world, code)
    max_k = int(current_app.config["MAX_K"])
    filters = views_body.parse_filters(request.args, settings, max_k, place.facts)
    status, results, unavailable = 200, None, None
    if filters.errors:
        status = 400
    else:
        try:
            model = views_scenario.model(name)
        except ModelError as err:
            status, unavailable = 503, err.detail
        else:
            try:
                results = _results(model, place.facts, filters, place.arrangements, name)
            except InvalidInput as err:  # a service this model cannot answer for
                status, filters = 400, views_body.refused(filters, err)
    summary = ""
    if results is not None:
        summary = views_body.summary(filters, results["recommendations"], results["service_label"])
    joined_from = request.args.get("from", "")
    partnerships, merged = reg.partnerships_of(place.arrangements, str(place.facts["code"]))
    # A county council the scenario leaves as it is, that is its fire and rescue authority, as
    # its page today says (a successor's fire governance is for the reorganisation to decide).
    run = None if place.facts["successor"] else readmodels.fire_authority(
        str(place.facts["code"]), settings, current.directory, current.engine
    )  # fmt: skip
    context = {
        "scenario": world.definition,
        "choice_floor": CHOICE_FLOOR,
        "body": place.facts,
        "place": place,
        "containers": place.containers,
        "covers": place.contents,
        "neighbours": place.neighbours,
        "arrangements": partnerships,
        "merged_arrangements": merged,
        "fire_run": [run] if run is not None and run["arrangements"] else [],
        "internal": _internal(world, place.facts, current),
        "services": views_body.service_choices(str(place.facts["tier"]), settings),
        "filters": filters,
        "form": request.args,
        "results": results,
        "summary": summary,
        "unavailable": unavailable,
        "train_hint": TRAIN_HINT,
        "filter_query": urlencode(filters.params(), doseq=True),
        "service_labels": views_register.service_labels(settings),
        "max_k": current_app.config["MAX_K"],
        "default_k": views_body.DEFAULT_K,
        "horizon_years": HORIZON_YEARS,
        "joined_from": world.name(joined_from) if joined_from in world.replaced else None,
        "compare_with": [c for c in world.sources(code) if len(world.replaced[c]) == 1]
        or ([code] if code not in world.successors else []),
        "names": {c: world.name(c) for c in world.replaced},
    }
    template = "_scenario_results.html" if request.args.get("fragment") == "1" else None
    return render_template(template or "scenario_body.html", **context), status


def _gone(world: Any, asked: str, err: UnknownBody) -> Any:
    """A body that leaves the scenario's map: a council goes to its successor's page (which
    says so); a county split between successors is a 404 linking each of them. The filters
    asked go along."""
    kept: dict[str, Any] = request.args.to_dict(flat=False)  # the filters asked, kept
    kept.pop("from", None)
    kept.pop("body", None)  # (the compare page's question)
    if is_successor_code(asked.strip().upper()):  # one this scenario has not: its own, linked
        heirs = tuple(s.code for s in world.definition.successors)
        return _not_here(world, err, heirs, kept)
    try:
        codes = reference.resolve(asked, settings=world.settings).codes
    except UnknownBody:
        raise err from None
    gone = [c for c in codes if c in world.replaced]
    if not gone:
        raise err
    heirs = world.replaced[gone[0]]
    if len(heirs) == 1:
        joined = kept | {"from": gone[0]}
        return redirect(
            url_for(".body", name=world.definition.name, code_or_name=heirs[0], **joined)
        )
    return _not_here(world, err, heirs, kept)


def _not_here(world: Any, err: UnknownBody, heirs: Sequence[str], kept: dict[str, Any]) -> Any:
    """A 404 saying why (``err``) and linking the pages of ``heirs`` on the scenario's map."""
    links = [
        {
            "label": f"{world.name(h)} ({h})",
            "url": url_for(".body", name=world.definition.name, code_or_name=h, **kept),
        }
        for h in heirs
    ]
    html = render_template(
        "error.html",
        status=404,
        title="Not on this scenario's map",
        detail=err.detail,
        links=links,
        train_hint=None,
        query="",
    )
    return html, 404


def _internal(world: Any, facts: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The real arrangements between the councils of a successor, internal on its map."""
    if not facts.get("successor"):
        return []
    records: dict[str, Any] = {}
    for source in world.sources(facts["code"]):
        for r in reg.query(
            reg.Filters(body=source), settings=current.settings, directory=current.directory
        ):
            records.setdefault(r["id"], r)
    from recommender.scenario import history

    found = history.from_records(world, records.values())
    return [o.to_dict(world) for o in found if o.internal]


def _results(
    model: Any, body: dict[str, Any], filters: Any, arrangements: list[dict[str, Any]], name: str
) -> dict[str, Any]:
    """As :func:`views_body.results`, on the scenario's map (its layers for the map)."""
    from recommender.recommend.ranking import likelihood_words
    from recommender.render import charts, partner_map

    code = str(body["code"])
    settings = state().settings
    found = model.recommend(filters.query(code))
    rows = [
        readmodels.shown(r)
        | {"likelihood_words": likelihood_words(r.likelihood) if r.likelihood else ""}
        for r in found
    ]
    focus = filters.service or (found[0].service if found else None)
    map_svg = partner_map.partners_map(
        body,
        rows,
        arrangements,
        filters.service,
        settings,
        width=views_register.MAP_WIDTH,
        title=f"Map of {body['display_name']} and its suggested partners in scenario {name}",
        layers=model.map_layers(),
    )
    return {
        "recommendations": rows,
        "focus_service": focus,
        "focus_label": views_body.service_label(focus, settings) if focus else None,
        "service_label": views_body.service_label(filters.service, settings)
        if filters.service
        else None,
        "groups": [readmodels.shown(g) for g in model.groups(code, focus, k=3)] if focus else [],
        "joins": [readmodels.shown(j) for j in model.arrangements_to_join(code, focus, k=5)]
        if focus
        else [],
        "map_svg": map_svg,
        "documented_sizes": charts.documented_sizes(model.describe(), settings),
        "likelihood_learnt": charts.likelihood_learnt(model.describe()),
        "cautions": model.cautions(
            str(body["kind"]),
            {r.partner_kind for r in found},
            filters.service,
            asked=filters.kinds,
            sort=filters.sort,
        ),
    }


@bp.get("/<name>/bodies/<code_or_name>/briefing.pdf")
def briefing(name: str, code_or_name: str) -> Any:
    """Download the briefing on a body as the map would be after the scenario (PDF)."""
    from recommender.render import briefing as briefing_doc

    settings = state().settings
    model = views_scenario.model(name)
    code, joined = report.answering(model.world, code_or_name)
    if joined is not None:  # a council that joins one new unitary: that unitary's briefing
        kept: dict[str, Any] = request.args.to_dict(flat=False)
        return redirect(url_for(".briefing", name=name, code_or_name=code, **kept))
    wanted = (one(request.args, "service") or "").strip()
    service = services.check_service(wanted, settings) if wanted else None
    context = briefing_doc.briefing_context(model, code, service, settings)
    data = briefing_doc.pdf_bytes(briefing_doc.render_html(context, settings), settings)
    label = f"briefing-{name}-{context['body']['display_name']}-{service or 'all'}.pdf"
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{secure_filename(label).lower()}"'},
    )


@bp.get("/<name>/compare")
def compare_page(name: str) -> Any:
    """Show a body's top suggestions today and on the scenario's map, side by side."""
    current = state()
    asked = (one(request.args, "body") or "").strip()
    world = views_scenario.world(name)
    if not asked:
        return redirect(url_for(".show", name=name, _anchor="compare"))
    try:
        model = views_scenario.model(name)
    except ModelError as err:
        return render_template(
            "error.html",
            status=503,
            title="Recommendations are unavailable",
            detail=err.detail,
            links=[],
            train_hint=TRAIN_HINT,
            query="",
        ), 503
    base = current.models.require()
    try:
        found = compare(base, model, asked, k=10)
    except UnknownBody as err:  # a county split between successors: their pages, not today's
        return _gone(world, asked, err)
    return render_template(
        "scenario_compare.html",
        scenario=world.definition,
        found=found,
        horizon_years=HORIZON_YEARS,
    )
