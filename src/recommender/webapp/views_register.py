"""The register on the pages: headline figures, the explorer's filters and rows, its maps.

Every figure is counted from the database when the page is asked for. Filters come from a GET
form; a bad value is reported next to its field (:attr:`RegisterFilters.errors`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from werkzeug.datastructures import MultiDict

from recommender.core import services
from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, NotFound, UnknownBody
from recommender.core.names import FORMER_RESOLUTIONS, closest
from recommender.database import db
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.register.files import Directory
from recommender.render import charts, maps

PAGE_SIZE = 25
MAP_WIDTH = 480  # px at which map text is drawn: readable on a phone and a desktop
ORIGIN_LABELS = {
    "real": "Real arrangements (documented, each with a source)",
    "simulated": "Simulated training data (not real partnerships)",
    "all": "Both, simulated ones marked",
}
# The status filter's choices (register.STATUS_FILTERS), as the answers read a status.
STATUS_LABELS = {
    "": "Any status",
    "running": "Running (none says it has ended)",
    "ended": "Ended, or past a limited term",
    "proposed": "Only proposed (never ran)",
    "merged": "Between bodies now one (merged since)",
}
# The orders the explorer lists in (register.ORDERS).
ORDER_LABELS = {
    "id": "By id",
    "name": "By name",
    "newest": "Newest first",
    "savings": "Largest saving first",
}


def headline(engine: Engine, settings: Settings) -> dict[str, Any]:
    """The observed register in a few figures (simulated ones are never counted): its real
    arrangements, how many run, have ended, are past a limited term their source gives (no
    source saying they ended: ``term_passed``, apart from ``ended``), were only proposed or are
    between bodies since merged into one (as the answers read each,
    :data:`register.STATUS_SAID`), the bodies in those that ran, the annual savings the running
    ones' figures give (``projected``: how much of it is a projection, ``totals``: a total to
    date or cumulative divided by its years), and the services."""
    a, m = db.arrangements, db.members
    real = a.c.simulated.is_(False)
    state = reg.STATUS_WORD.label("state")  # read once a row: grouped by, not tested in each sum
    saved, basis = a.c.annual_savings_gbp, a.c.savings_basis
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                state,
                sa.func.count(),
                sa.func.count(saved),
                sa.func.coalesce(sa.func.sum(saved), 0.0),
                sa.func.coalesce(sa.func.sum(sa.case((basis == "projected", saved))), 0.0),
                sa.func.coalesce(
                    sa.func.sum(sa.case((basis.in_(("to_date", "cumulative")), saved))), 0.0
                ),
                sa.func.count(sa.case((reg.TERM, 1))),
            )
            .where(real)
            .group_by(state)
        ).all()
        services = int(
            conn.scalar(sa.select(sa.func.count(sa.distinct(a.c.service))).where(real)) or 0
        )
        # A proposal: no one took part; one between bodies now one: no body is in it with
        # another (Dorset's only arrangement was its three districts', before it existed).
        gone = sa.or_(reg.STATUS_SAID["proposed"], reg.STATUS_SAID["merged"])
        ran = sa.select(a.c.id).where(real, sa.not_(gone))
        member = sa.and_(m.c.body_code.is_not(None), m.c.arrangement_id.in_(ran))
        itself = sa.not_(sa.or_(*(m.c.resolution.startswith(f) for f in FORMER_RESOLUTIONS)))
        # A body in one only through a body gone that it succeeds (an NHS board through a
        # CCG, Somerset through Taunton Deane) is counted apart: it was not in it itself.
        # (Both counted in one reading of the members.)
        bodies, every = conn.execute(
            sa.select(
                sa.func.count(sa.distinct(sa.case((itself, m.c.body_code)))),
                sa.func.count(sa.distinct(m.c.body_code)),
            ).where(member)
        ).one()
    by = {str(r[0]): r for r in rows}
    running = by.get("running", ("running", 0, 0, 0.0, 0.0, 0.0, 0))  # the savings: theirs alone
    # Of the ended, those whose limited term has passed are said apart: no source says they
    # ended (records.term_passed).
    term = int(by["ended"][6]) if "ended" in by else 0
    counts = {said: int(by[said][1]) if said in by else 0 for said in reg.STATUS_FILTERS}
    return {
        "arrangements": sum(int(r[1]) for r in rows),
        **counts,
        "ended": counts["ended"] - term,
        "term_passed": term,
        "with_figure": int(running[2]),
        "savings": float(running[3]),
        "projected": float(running[4]),
        "totals": float(running[5]),
        "bodies": int(bodies),
        "bodies_through": int(every) - int(bodies),
        "bodies_known": len(reference.load_bodies(settings)),
        "services": services,
    }


# The explorer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterFilters:
    """The explorer's filters and page, and what was wrong with them (field -> message)."""

    service: str | None = None
    region: str | None = None
    body: str | None = None
    origin: str = "real"  # one of register.ORIGINS: simulated ones only when asked for
    status: str | None = None  # one of register.STATUS_FILTERS, or any
    order: str = "id"  # one of register.ORDERS
    page: int = 1
    errors: Mapping[str, str] = field(default_factory=dict)
    body_note: str | None = None  # the body named by a body gone: whose arrangements these are

    def params(self, **changes: Any) -> dict[str, Any]:
        """The filters as query parameters (empty ones left out), with ``changes``."""
        values = {
            "service": self.service,
            "region": self.region,
            "body": self.body,
            "origin": self.origin if self.origin != "real" else None,
            "status": self.status,
            "order": self.order if self.order != "id" else None,
            "page": self.page if self.page != 1 else None,
        } | changes
        return {k: v for k, v in values.items() if v not in (None, "", 1)}


def regions(settings: Settings) -> list[str]:
    """The English regions, by name."""
    return sorted(set(reference.load_bodies(settings)["region"]))


def page_service(raw: str, settings: Settings) -> str:
    """A service id, or the page's words for one that is not (the API's message lists ids)."""
    try:
        return services.check_service(raw, settings)
    except InvalidInput:
        labels = service_labels(settings)
        near = closest(raw, list(labels.values()), limit=1)
        hint = f" (closest: {near[0]})" if near else ""
        raise ValueError(
            f"Choose a service from the list: {raw!r} is not one of the {len(labels)}{hint}"
        ) from None


def parse_filters(args: MultiDict[str, str], settings: Settings) -> RegisterFilters:
    """Read the explorer's filters from ``args``; a bad value is named under its field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    names = ("service", "region", "body", "origin", "status", "order")
    text = {name: args.get(name, "").strip() for name in names}
    if text["service"]:
        try:
            values["service"] = page_service(text["service"], settings)
        except ValueError as err:
            errors["service"] = str(err)
    if text["region"]:
        known = regions(settings)
        match = [r for r in known if r.casefold() == text["region"].casefold()]
        if match:
            values["region"] = match[0]
        else:
            near = closest(text["region"], known, limit=2)
            hint = f"; did you mean {' or '.join(near)}?" if near else ""
            errors["region"] = f"No English region is called {text['region']!r}{hint}"
    if text["body"]:
        try:
            found = reference.resolve(text["body"], settings=settings)
            values["body"] = text["body"]
            values["body_note"] = reference.listed_note(text["body"], found, settings)
        except UnknownBody as err:
            hint = f"; did you mean {', '.join(err.suggestions[:3])}?" if err.suggestions else ""
            errors["body"] = f"No public body matches {text['body']!r}{hint}"
    if text["origin"] in ("", *reg.ORIGINS):
        values["origin"] = text["origin"] or "real"
    else:
        errors["origin"] = "Choose real arrangements, simulated training data or both"
    if text["status"] in reg.STATUS_FILTERS:
        values["status"] = text["status"]
    elif text["status"]:
        errors["status"] = (
            "Choose a status from the list: running, ended, only proposed, or between bodies "
            "now one"
        )
    if text["order"] in ("", *reg.ORDERS):
        values["order"] = text["order"] or "id"
    else:
        errors["order"] = "Choose an order from the list: by id, by name, newest or largest saving"
    page = args.get("page", "1").strip() or "1"
    if not (page.isascii() and page.isdigit() and len(page) < 10) or int(page) < 1:
        errors["page"] = f"page {page!r}: expected a whole number from 1"
    else:
        values["page"] = int(page)
    return RegisterFilters(**values, errors=errors)


def explore(
    filters: RegisterFilters, settings: Settings, directory: Directory, engine: Engine
) -> dict[str, Any]:
    """One page of the arrangements the filters keep, their number, the page count, the
    figures by service and the bodies in them: each counted and paged in the database, so the
    page costs the same for a register of a thousand arrangements or of a hundred thousand."""
    wanted = reg.Filters(
        filters.service, filters.body, filters.region, filters.origin, status=filters.status,
        order=filters.order,
    )  # fmt: skip
    total = reg.count(wanted, settings=settings, directory=directory, engine=engine)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if filters.page > pages:
        raise NotFound(
            f"there is no page {filters.page}: these arrangements fill {pages} page"
            f"{'s' * (pages != 1)}",
            field="page",
        )
    start = (filters.page - 1) * PAGE_SIZE
    page = replace(wanted, limit=PAGE_SIZE, offset=start)
    shown = reg.query(page, settings=settings, directory=directory, engine=engine)
    labels = service_labels(settings)
    services = reg.by_service(wanted, settings=settings, directory=directory, engine=engine)
    members = reg.member_counts(wanted, settings=settings, directory=directory, engine=engine)
    return {
        "page_items": shown,
        "members": members,
        "total": total,
        "pages": pages,
        "first": start + 1,
        "last": min(start + PAGE_SIZE, total),
        "rows": [row(a, labels) for a in shown],
        "page_links": page_links(filters.page, pages),
        "by_service": [e | {"label": labels.get(e["service"], e["service"])} for e in services],
        "body_note": filters.body_note,
    }


def page_links(page: int, pages: int) -> list[int | None]:
    """The page numbers to link: the first, the last and two either side of ``page``, with
    None where others are left out (as many as a page of 25 from 100,000 needs: a few)."""
    near = range(max(1, page - 2), min(pages, page + 2) + 1)
    wanted = sorted({1, pages, *near})
    out: list[int | None] = []
    for before, number in zip([0, *wanted], wanted, strict=False):
        if number - before == 2:
            out.append(number - 1)  # a gap of one page: link it rather than hide it
        elif number - before > 2:
            out.append(None)
        out.append(number)
    return out


def service_labels(settings: Settings) -> dict[str, str]:
    """Service id -> everyday name."""
    return {str(k): str(v) for k, v in services.load_services(settings)["label"].items()}


def row(arrangement: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """An arrangement as the explorer and its detail page show it."""
    a = dict(arrangement)
    basis = str(a["savings_basis"])
    source = str(a["source"] or "")
    url = source if source.startswith(("https://", "http://")) else None
    return a | {
        "service_label": labels.get(a["service"], a["service"]),
        "basis_words": charts.BASIS_WORDS.get(basis, basis),
        "annualisation": reg.annualisation_note(
            basis,
            a["savings_period_years"],
            a["start_year"],
            reg.savings_reading(str(a["name"]), a["savings_gbp"], bool(a["simulated"])),
            simulated=bool(a["simulated"]),
        ),
        "source_url": url,
        "source_host": urlsplit(url).netloc.removeprefix("www.") if url else None,
    }


def arrangements_map(
    found: Iterable[Mapping[str, Any]],
    labels: Mapping[str, str],
    *,
    title: str,
    zoom_to: Iterable[str] | None,
    settings: Settings,
    points: Mapping[str, tuple[int, int]] | None = None,
) -> str:
    """The arrangements drawn over England (zoomed to ``zoom_to`` when given); ``points``
    (body -> arrangements it is in, real and simulated) marks every member of a register."""
    items = [
        maps.MapArrangement(
            id=str(a["id"]),
            label=str(a["name"]),
            members=list(dict.fromkeys(m["body_code"] for m in a["members"] if m["body_code"])),
            service=labels.get(a["service"], str(a["service"])),
            simulated=bool(a["simulated"]),
        )
        for a in found
    ]
    zoom = sorted(set(zoom_to)) if zoom_to else None
    return maps.render_arrangements_map(
        items, title=title, points=points, zoom_to=zoom, width=MAP_WIDTH, legend_html=True,
        settings=settings,
    )  # fmt: skip


def zoom_codes(
    filters: RegisterFilters, members: Mapping[str, tuple[int, int]], settings: Settings
) -> list[str]:
    """What the explorer's map zooms to: the region's councils, or the body's partners."""
    if filters.region:
        bodies = reference.load_bodies(settings)
        inside = bodies[
            (bodies["region"] == filters.region) & bodies["tier"].isin(maps.LOWER_TIERS)
        ]
        return [str(c) for c in inside.index]
    if filters.body:
        return sorted(members)
    return []
