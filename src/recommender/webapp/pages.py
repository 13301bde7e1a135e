"""The pages: home and search, a body's opportunities, the arrangements explorer, the model.

Every page works without JavaScript (filters are GET forms, feedback a POST form that
redirects back); ``web/static/app.js`` adds search suggestions as you type, in-place updates
of a body's results (``?fragment=1`` renders them alone) and feedback without leaving the page.
Views stay thin: they read the request, call :mod:`views_body`, :mod:`views_register` or
:mod:`views_model`, and render a template from ``web/templates``. Errors on these paths are
rendered by :func:`~recommender.webapp.error_pages.error_page` (``webapp.errors`` sends them
there), with the same status as the API would give.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response as Redirect

from recommender import __version__
from recommender.core import services
from recommender.core.errors import InvalidInput, ModelError
from recommender.core.kinds import named
from recommender.core.names import and_list
from recommender.core.sources import (
    MYSOCIETY_ATTRIBUTION,
    ONS_ATTRIBUTION,
    SIMULATED_NOTE,
    SOURCE_KINDS,
)
from recommender.database import db
from recommender.model.explain import border_length, service_words, whole_km
from recommender.model.horizon import HORIZON_YEARS, LIKELIHOOD_SIDE, LIKELIHOOD_UNCHECKED
from recommender.model.verdicts import UNTESTED_ORDERS, trust_said
from recommender.recommend import feedback as feedback_domain
from recommender.recommend.query import CHOICE_FLOOR, odds
from recommender.recommend.readmodels import HELD_SAID, HELD_SHORT, formed_names, held_at
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.render import charts
from recommender.webapp import views_arrangement, views_body, views_model, views_register
from recommender.webapp.error_pages import TRAIN_HINT
from recommender.webapp.guards import client_address, same_origin
from recommender.webapp.params import one
from recommender.webapp.state import state

bp = Blueprint("pages", __name__)
GZIP_FROM = 2048  # bytes


@bp.before_request
def _same_origin() -> None:
    # The feedback form is the only POST on the pages; another site must not send it for a
    # visitor (CSRF). The JSON API needs no such check: a cross-site JSON post is preflighted.
    if request.method == "POST":
        same_origin()


@bp.after_request
def _compress(response: Response) -> Response:
    # Maps make pages large (the explorer's is ~400 KB of SVG, ~80 KB compressed).
    if (
        response.status_code < 200
        or response.direct_passthrough
        or response.mimetype != "text/html"
        or "gzip" not in request.headers.get("Accept-Encoding", "")
        or "Content-Encoding" in response.headers
    ):
        return response
    data = response.get_data()
    if len(data) < GZIP_FROM:
        return response
    response.set_data(gzip.compress(data, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


@bp.app_context_processor
def _page_globals() -> dict[str, Any]:
    return {
        "attribution": (ONS_ATTRIBUTION, MYSOCIETY_ATTRIBUTION),
        "simulated_note": SIMULATED_NOTE,
        "asset_version": __version__,
        "kind_labels": views_body.KIND_LABELS,
        "partner_label": views_body.partner_label,
        "type_label": views_body.type_label,
        "untested_orders": UNTESTED_ORDERS,  # beside groups and arrangements to join
        "likelihood_side": LIKELIHOOD_SIDE,  # what a likelihood is, wherever one is defined
        "likelihood_unchecked": LIKELIHOOD_UNCHECKED,
    }


@bp.app_template_filter("money")
def _money(value: float | None, precise: bool = False) -> str:
    return "no figure" if value is None else charts.money(float(value), precise=precise)


_BODY_CODE = re.compile(r"\b([EWSN]\d{8})\b")


@bp.app_template_filter("linked_codes")
def _linked_codes(text: str) -> Markup:
    """A note with each body code in it a link to that body's page ("“Durham” also names
    Durham police force area (E23000008)": the police force area a click away); the rest
    escaped."""
    parts = _BODY_CODE.split(str(text))
    out = Markup("")
    for i, part in enumerate(parts):
        if i % 2:  # a code
            href = url_for("pages.body", code_or_name=part)
            out += Markup('<a href="{}">{}</a>').format(href, part)
        else:
            out += part  # escaped by Markup's +
    return out


@bp.app_template_filter("host")
def _host(host: str) -> Markup:
    """A web address's host that a narrow column breaks after a dot ("tunbridgewells." then
    "gov.uk"), not inside a word."""
    return Markup(".<wbr>").join(host.split("."))  # each part escaped by the join


bp.add_app_template_filter(reg.member_label, "member")
bp.add_app_template_filter(reg.given_label, "given")  # as its source names it
bp.add_app_template_filter(reg.left_said, "left_said")
bp.add_app_template_filter(formed_names, "formed_names")  # a successor's councils
bp.add_app_template_filter(charts.savings_said, "savings_said")
bp.add_app_template_filter(border_length, "border")
bp.add_app_template_filter(reference.by_kind, "by_kind")
bp.add_app_template_filter(lambda merged, name: reg.merged_said(name, merged), "merged_said")
bp.add_app_template_filter(reg.sources_said, "sources_said")
bp.add_app_template_filter(reg.some_of, "some_of")
bp.add_app_template_filter(reg.not_running_said, "not_running_said")
bp.add_app_template_filter(HELD_SHORT.get, "held_short")  # a figure at a bound per resident
bp.add_app_template_filter(HELD_SAID.get, "held_said")
bp.add_app_template_global(held_at, "held_at")
bp.add_app_template_filter(named, "named")  # a body in a sentence: "the Kent police force area"
bp.add_app_template_filter(functools.partial(named, start=True), "named_first")
bp.add_app_template_filter(reg.through_former, "through_former")
bp.add_app_template_filter(reg.partners_named, "partners_named")
bp.add_app_template_filter(reg.years_said, "years_said")
bp.add_app_template_filter(reg.status_said, "status_said")
bp.add_app_template_filter(reg.status_shown, "status_shown")
bp.add_app_template_filter(reg.status_unsaid, "status_unsaid")
bp.add_app_template_filter(reg.member_role, "member_role")
bp.add_app_template_test(reg.record_ended, "ended")
bp.add_app_template_test(reg.term_passed, "term_passed")
bp.add_app_template_test(reg.record_proposed, "proposed")
bp.add_app_template_test(reg.record_left, "left")
bp.add_app_template_test(  # a member abolished since, no one body succeeding it (a PCT)
    lambda m: reg.gone_member(str(m.get("name_as_given") or ""), str(m.get("resolution") or "")),
    "gone_member",
)
bp.add_app_template_test(  # a council abolished since, named as it was ("Somerset" of 2013)
    lambda m: bool(reg.former(m)) and bool(m.get("name_as_given")), "former_member"
)
bp.add_app_template_filter(reg.listed_partners, "listed_partners")
bp.add_app_template_filter(reg.bodies_today, "bodies_today")
bp.add_app_template_filter(service_words, "service_words")
bp.add_app_template_test(lambda a, code: bool(reg.through_former(a, code)), "through_former")
bp.add_app_template_filter(and_list, "and_list")
bp.add_app_template_filter(trust_said, "trust_said")
bp.add_app_template_filter(whole_km, "km")


@bp.app_template_filter("percent")
def _percent(value: float | None, digits: int = 1) -> str:
    return charts.percent(value, digits)


@bp.app_template_filter("share")
def _share(value: float) -> str:
    """A share as a percentage with no more digits than it has: 1%, 0.5%, 12.5%."""
    return f"{100 * float(value):.3g}%"


@bp.app_template_filter("odds")
def _odds(value: float) -> str:
    """A small chance as odds: 0.005 is "1 in 200"."""
    return odds(value)


@bp.app_template_filter("number")
def _number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{float(value):,.{digits}f}"


@bp.app_template_filter("sentence")
def _sentence(value: str | None) -> str:
    text = "" if value is None else str(value)
    return text[:1].upper() + text[1:]


@bp.app_template_filter("words")
def _words(value: str | None) -> str:
    return "" if value is None else str(value).replace("_", " ")


# Home and search -----------------------------------------------------------------------------


@bp.get("/")
def home() -> str:
    """Show what the tool does, the search box and the register's headline figures."""
    current = state()
    figures = views_register.headline(current.engine, current.settings)
    return render_template(
        "home.html", figures=figures, model_version=current.models.current_version()
    )


SEARCH_LIMIT = 50  # matches listed: every police force area, fire or NHS body at once


@bp.get("/search")
def search() -> Any:
    """Open the body the query names exactly, else list the bodies whose names or aliases
    match it, abolished councils included."""
    settings = state().settings
    query = request.args.get("q", "").strip()[:200]
    if query and (exact := reference.exact(query, settings)):
        return _to_body(exact)
    hits = reference.search(query, limit=SEARCH_LIMIT + 1, settings=settings) if query else []
    more = len(hits) > SEARCH_LIMIT  # (said so: the count shown is of those listed)
    hits = hits[:SEARCH_LIMIT]
    table = reference.load_bodies(settings)
    results = [
        {
            "matched": hit.matched,
            "alias_type": hit.alias_type,
            "note": hit.note,
            "bodies": [
                {
                    "code": code,
                    "name": str(table.at[code, "display_name"]),
                    "tier": str(table.at[code, "tier"]),
                    "region": str(table.at[code, "region"]),
                }
                for code in hit.codes
            ],
        }
        for hit in hits
    ]
    unknown = reference.unknown_code_said(query) if query and not results else None
    return render_template(
        "search.html", query=query, results=results, more=more, unknown_code=unknown
    )


# A body's opportunities ----------------------------------------------------------------------


@bp.get("/bodies/<code_or_name>")
def body(code_or_name: str) -> Any:
    """Show a body's facts and its suggested partners, filtered by the query parameters."""
    current = state()
    settings = current.settings
    if not code_or_name.strip():  # no name at all: the search page, to find one
        return redirect(url_for(".search"))
    found = reference.resolve(code_or_name, settings=settings)
    if len(found.codes) > 1:  # an abolished council split between successors: choose one
        return redirect(url_for(".search", q=code_or_name))
    code = found.codes[0]
    if code_or_name != code:
        return _to_body(found, request.args.to_dict(flat=False))
    page = views_body.facts(code, settings, current.directory, current.engine)
    max_k = int(current_app.config["MAX_K"])
    filters = views_body.parse_filters(request.args, settings, max_k, page["body"])
    status, results, unavailable = 200, None, None
    if filters.errors:
        status = 400
    else:
        try:
            model = current.models.require()
        except ModelError as err:
            status, unavailable = 503, err.detail
        else:
            try:
                results = views_body.results(
                    model,
                    page["body"],
                    filters,
                    page["arrangements"],
                    settings=settings,
                )
            except InvalidInput as err:  # a service this model cannot answer for
                status, filters = 400, views_body.refused(filters, err)
    summary = ""
    if results is not None:
        summary = views_body.summary(filters, results["recommendations"], results["service_label"])
    context = page | {
        "former": reference.name_note(request.args.get("from", "")[:200], code, settings),
        "filters": filters,
        "form": request.args,
        "results": results,
        "summary": summary,
        "unavailable": unavailable,
        "train_hint": TRAIN_HINT,
        "filter_query": urlencode(filters.params(), doseq=True),
        "verdicts": views_body.VERDICT_LABELS,
        "service_labels": views_register.service_labels(settings),
        "max_k": current_app.config["MAX_K"],
        "default_k": views_body.DEFAULT_K,
        "horizon_years": HORIZON_YEARS,
        "choice_floor": CHOICE_FLOOR,
        "sort_labels": views_body.SORT_LABELS,
        "recorded": _recorded(code, request.args.get("feedback", "")),
    }
    template = "_body_results.html" if request.args.get("fragment") == "1" else "body.html"
    return render_template(template, **context), status


def _to_body(found: reference.Resolution, kept: dict[str, Any] | None = None) -> Redirect:
    """Redirect to the body ``found`` names (keeping ``kept`` query parameters); an abolished
    or renamed body's name, or one other bodies share ("Durham": also the police force area's),
    goes along as ``from``, for the page to say so (:func:`reference.name_note`)."""
    params = dict(kept or {})
    if reference.noted(found):
        params["from"] = found.query
    return redirect(url_for(".body", code_or_name=found.codes[0], **params))


@bp.post("/bodies/<code>/feedback")
def feedback(code: str) -> Any:
    """Record a verdict on one suggestion, then go back to the page it was given on."""
    current = state()
    current.feedback_limit.check(client_address(), "feedback posts")
    request.max_content_length = int(current_app.config["FEEDBACK_MAX_BYTES"])
    form = request.form
    values = {name: one(form, name) for name in ("partner", "service", "verdict", "comment")}
    stored = feedback_domain.record(
        current.engine,
        {"body": code, **values},
        settings=current.settings,
        model_version=current.models.version,
    )
    # Only the filters go back into the URL (never a URL from the form: no open redirect).
    back = MultiDict([(k, v) for k, vs in parse_qs(form.get("filters", "")).items() for v in vs])
    body = reference.body(stored["body_code"], current.settings)
    max_k = int(current_app.config["MAX_K"])
    filters = views_body.parse_filters(back, current.settings, max_k, body)
    target = url_for(
        ".body",
        code_or_name=stored["body_code"],
        feedback=stored["id"],
        **(filters.params() if not filters.errors else {}),
        _anchor="feedback-recorded",
    )
    return redirect(target, code=303)


def _recorded(code: str, ident: str) -> dict[str, Any] | None:
    """The feedback the page was redirected back with, if it is this body's."""
    if not (ident.isascii() and ident.isdigit() and len(ident) < 19):  # a SQL integer
        return None
    table = db.feedback
    stmt = sa.select(table).where(table.c.id == int(ident), table.c.body_code == code)
    with state().engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    if row is None:
        return None
    settings = state().settings
    return dict(row) | {
        "partner_name": reference.body(str(row["partner_code"]), settings)["display_name"],
        "service_label": views_body.service_label(str(row["service"]), settings),
        "verdict_label": views_body.VERDICT_LABELS.get(row["verdict"], row["verdict"]),
    }


@bp.get("/bodies/<code_or_name>/briefing.pdf")
def briefing(code_or_name: str) -> Response:
    """Download the advisor's briefing on this body as a PDF (optionally for one service)."""
    from recommender.render import briefing as briefing_doc

    current = state()
    settings = current.settings
    facts = reference.body(code_or_name, settings)
    wanted = (one(request.args, "service") or "").strip()
    service = services.check_service(wanted, settings) if wanted else None
    model = current.models.require()
    code = facts["code"]
    asked = briefing_doc.asked_as(code_or_name, code, settings)  # an abolished council's?
    key = (*_briefing_key(model.identity, code, service), asked)
    data = current.briefings.get(key)
    hit = data is not None
    if data is None:  # seconds of work: made once per body, service, model and register state
        context = briefing_doc.briefing_context(model, asked, service, settings)
        data = briefing_doc.pdf_bytes(briefing_doc.render_html(context, settings), settings)
        current.briefings.put(key, data)
    name = secure_filename(f"briefing-{facts['display_name']}-{service or 'all'}.pdf").lower()
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Cache": "hit" if hit else "miss",  # this worker's briefing cache
        },
    )


def _briefing_key(
    identity: tuple[str, ...], code: str, service: str | None
) -> tuple[str | tuple[str, ...], ...]:
    """What a briefing depends on: the model, the body and service, the body's arrangements in
    the register now (an import changes them, in any worker or process) and the day it shows."""
    current = state()
    found = reg.query(
        reg.Filters(body=code),
        settings=current.settings,
        directory=current.directory,
        engine=current.engine,
    )
    register = hashlib.sha256(json.dumps(found, sort_keys=True, default=str).encode()).hexdigest()
    day = datetime.now(UTC).date().isoformat()
    return ("briefing", identity, code, service or "", register, day)


# The register --------------------------------------------------------------------------------


@bp.get("/arrangements")
def arrangements() -> Any:
    """Show the register on a map and in a table, filtered and a page at a time."""
    current = state()
    settings = current.settings
    filters = views_register.parse_filters(request.args, settings)
    found: dict[str, Any] | None = None
    map_svg = None
    if not filters.errors:
        found = views_register.explore(filters, settings, current.directory, current.engine)
        map_svg = views_register.arrangements_map(
            found["page_items"],
            views_register.service_labels(settings),
            title="Map of the arrangements listed",
            zoom_to=views_register.zoom_codes(filters, found["members"], settings),
            settings=settings,
            points=found["members"],
        )
    return render_template(
        "arrangements.html",
        filters=filters,
        form=request.args,
        found=found,
        map_svg=map_svg,
        services=views_register.service_labels(settings),
        regions=views_register.regions(settings),
        origin_labels=views_register.ORIGIN_LABELS,
        status_labels=views_register.STATUS_LABELS,
        order_labels=views_register.ORDER_LABELS,
    ), (400 if filters.errors else 200)


@bp.get("/arrangements/<arrangement_id>")
def arrangement(arrangement_id: str) -> str:
    """Show one arrangement: what it is, its partners, service, dates, savings, source and a
    map naming its members."""
    current = state()
    settings = current.settings
    found = reg.get_arrangement(
        arrangement_id, settings=settings, directory=current.directory, engine=current.engine
    )
    labels = views_register.service_labels(settings)
    context = views_arrangement.page(
        found,
        labels,
        settings,
        lambda name: reg.real_id_named(name, settings=settings, engine=current.engine),
    )
    return render_template("arrangement.html", **context, source_kinds=SOURCE_KINDS)


# The model -----------------------------------------------------------------------------------


@bp.get("/model")
def model() -> Any:
    """Show the serving model's evaluation against the baselines, its factors and its data."""
    try:
        rec = state().models.require()
    except ModelError as err:
        return render_template("model.html", unavailable=err.detail, train_hint=TRAIN_HINT), 503
    meta = rec.describe()
    sizes = charts.documented_sizes(meta, state().settings)  # against the LGA's published sizes
    return render_template("model.html", **views_model.model_context(meta), documented_sizes=sizes)


# Errors --------------------------------------------------------------------------------------
