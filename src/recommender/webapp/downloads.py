"""Downloads under ``/api/v1``: a body's suggestions and the (filtered) register as CSV or as
an Excel workbook (:mod:`recommender.render.downloads`), with the same parameters as their JSON
routes, documented in the OpenAPI document like them. The body's page, a body's page in a
scenario (with ``scenario``) and the explorer link here with their filters. A body's
suggestions carry how far to trust their order, the cautions the JSON route gives with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response
from werkzeug.utils import secure_filename

from recommender.model.horizon import HORIZON_YEARS, LIKELIHOOD_SIDE, LIKELIHOOD_UNCHECKED
from recommender.register import records as reg
from recommender.render import charts, downloads
from recommender.webapp import openapi
from recommender.webapp.api import (
    ARRANGEMENT_PARAMS,
    RECOMMEND_PARAMS,
    _facts,
    _in_scenario,
    whose,
)
from recommender.webapp.params import LIMIT, OFFSET, Param, parse
from recommender.webapp.state import state
from recommender.webapp.views_body import SORT_LABELS
from recommender.webapp.views_register import service_labels

bp = Blueprint("downloads", __name__, url_prefix=openapi.PREFIX)
REGISTER_PARAMS = tuple(p for p in ARRANGEMENT_PARAMS if p not in (LIMIT, OFFSET))
TYPES = {"csv": downloads.CSV_TYPE, "xlsx": downloads.XLSX_TYPE}


def _recommendations(code_or_name: str, fmt: str) -> Response:
    from recommender.recommend.ranking import Query

    args = parse(RECOMMEND_PARAMS)
    name = args.pop("scenario")
    model = state().models.require()
    joined = None
    if name is None:
        body = _facts(code_or_name)
    else:  # the model answering on the scenario's map, as the JSON route does
        from recommender.webapp import views_scenario

        model = scenario = views_scenario.model(name)
        place, joined = _in_scenario(scenario.world, scenario.place, code_or_name)
        body = dict(place.facts)
    found = model.recommend(Query(body=body["code"], **args))
    note = whose(code_or_name, body["code"], joined)  # an abolished council too
    about = [
        ("Body", f"{body['display_name']} ({body['code']})"),
        *([("Note", note)] if note else []),
        *([("Scenario", name)] if name is not None else []),
        ("Filters", _filters(args, RECOMMEND_PARAMS)),
        ("Model", model.version),
        ("Made", datetime.now(UTC).strftime("%d %B %Y %H:%M UTC")),
        (
            "Likelihood",
            f"the chance that the two bodies share the service within {HORIZON_YEARS} years, "
            f"{LIKELIHOOD_SIDE}. {LIKELIHOOD_UNCHECKED}",
        ),
        (
            "Expected",
            "likelihood times the annual saving if formed"
            + (" (the list's order)" if args["sort"] == "expected" else ""),
        ),
        *(
            [("Order", f"ranked by {SORT_LABELS[args['sort']].lower()}, as asked")]
            if args["sort"] != "expected"
            else []
        ),
    ]
    sizes = charts.documented_sizes(model.describe(), state().settings)
    if sizes:  # what the figures if formed were learnt from, as the pages say
        about.append(("If formed", sizes))
    # How far to trust the order: the API's cautions for the list as it was asked.
    cautions = model.cautions(
        str(body["kind"]), args["kinds"], args["service"], asked=args["kinds"], sort=args["sort"]
    ) if found else []  # fmt: skip
    # A CSV's rows say it is a scenario's list, as its name does (it downloaded as today's
    # "suggestions-hartlepool.csv", a successor among the partners, with no word of it).
    said = note
    if name is not None:
        on_map = f"on the map of scenario {name!r}, a reorganisation not made: not today's map"
        said = f"{note.rstrip('.')}; {on_map}" if note else on_map[:1].upper() + on_map[1:]
    table = downloads.recommendations_table(body, found, about, cautions, said, sizes)
    which = "" if name is None else f"-scenario-{name}"
    return _file(table, f"suggestions-{body['display_name']}{which}", fmt)


def _register(fmt: str) -> Response:
    args = parse(REGISTER_PARAMS)
    current = state()
    filters = reg.Filters(
        args["service"], args["body"], args["region"], args["origin"], status=args["status"],
        order=args["order"],
    )  # fmt: skip
    found = reg.query(filters, settings=current.settings, directory=current.directory)
    about = [
        ("Filters", _filters(args, REGISTER_PARAMS)),
        ("Made", datetime.now(UTC).strftime("%d %B %Y %H:%M UTC")),
        ("Arrangements", f"{len(found):,}"),
        ("Origin", "real: documented, each with its public source; simulated: training data, "
                   "never a real partnership"),
    ]  # fmt: skip
    table = downloads.arrangements_table(found, service_labels(current.settings), about)
    return _file(table, "arrangements", fmt)


def _filters(args: dict[str, Any], params: Sequence[Param]) -> str:
    """The filters asked for, defaults left out ("service=legal; kinds=council,fire")."""
    defaults = {p.name: p.default for p in params}
    shown = {
        k: (",".join(v) if isinstance(v, tuple) else v)
        for k, v in args.items()
        if v not in (None, ()) and v != defaults.get(k)
    }
    return "; ".join(f"{k}={v}" for k, v in shown.items()) or "none"


def _file(table: downloads.Table, name: str, fmt: str) -> Response:
    data: str | bytes = downloads.to_csv(table) if fmt == "csv" else downloads.to_xlsx(table)
    filename = secure_filename(f"{name}.{fmt}").lower()
    return Response(
        data,
        mimetype=TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/bodies/<code_or_name>/recommendations.csv")
@openapi.operation("A body's suggestions (as the JSON route filters them) as CSV.",
                   tag="downloads", response="The suggestions, one row each (CSV).",
                   params=RECOMMEND_PARAMS, errors=(400, 404, 503),
                   media=downloads.CSV_TYPE)  # fmt: skip
def recommendations_csv(code_or_name: str) -> Response:
    """Download a body's suggestions as CSV."""
    return _recommendations(code_or_name, "csv")


@bp.get("/bodies/<code_or_name>/recommendations.xlsx")
@openapi.operation("A body's suggestions (as the JSON route filters them) as an Excel workbook.",
                   tag="downloads", response="The suggestions, one row each (Excel).",
                   params=RECOMMEND_PARAMS, errors=(400, 404, 503),
                   media=downloads.XLSX_TYPE)  # fmt: skip
def recommendations_xlsx(code_or_name: str) -> Response:
    """Download a body's suggestions as an Excel workbook."""
    return _recommendations(code_or_name, "xlsx")


@bp.get("/arrangements.csv")
@openapi.operation("The register, filtered as the JSON route filters it, as CSV (every row).",
                   tag="downloads", response="The arrangements, one row each (CSV).",
                   params=REGISTER_PARAMS, errors=(400, 404),
                   media=downloads.CSV_TYPE)  # fmt: skip
def arrangements_csv() -> Response:
    """Download the (filtered) register as CSV."""
    return _register("csv")


@bp.get("/arrangements.xlsx")
@openapi.operation("The register, filtered as the JSON route filters it, as an Excel workbook.",
                   tag="downloads", response="The arrangements, one row each (Excel).",
                   params=REGISTER_PARAMS, errors=(400, 404),
                   media=downloads.XLSX_TYPE)  # fmt: skip
def arrangements_xlsx() -> Response:
    """Download the (filtered) register as an Excel workbook."""
    return _register("xlsx")
