"""A body's page: its filters (read from a GET form), facts, suggestions, map, groups and joins.

The filter form works without JavaScript: every filter is a query parameter, and a bad one is
reported next to its field (:class:`BodyFilters.errors`) rather than as an opaque error. The
same results, rendered alone (``?fragment=1``), let the page's script update the table and the
map in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from werkzeug.datastructures import MultiDict

from recommender.core import kinds, services
from recommender.core.config import Settings
from recommender.core.errors import InvalidInput
from recommender.recommend import readmodels
from recommender.recommend.query import CHOICE_FLOOR, SORTS
from recommender.recommend.ranking import Query, likelihood_words
from recommender.reference import lookup as reference
from recommender.register.files import Directory
from recommender.render import charts, partner_map
from recommender.webapp.views_register import MAP_WIDTH, page_service, service_labels

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender

MAX_KM = 2000.0
DEFAULT_K = 10
TRUE, FALSE = ("1", "on", "true", "yes"), ("", "0", "off", "false", "no")
VERDICT_LABELS = {
    "interested": "Interested: we would consider it",
    "not_relevant": "Not relevant to us",
    "already_sharing": "We already share this service",
    "other": "Something else (say what below)",
}
KIND_LABELS = kinds.KIND_LABELS
# One partner's kind, beside its name ("Combined authority, 42 km away").
KIND_LABEL = {
    "council": "Council",
    "fire": "Fire",
    "police": "Police",
    "health": "NHS",
    "combined": "Combined authority",
}


def partner_label(kind: str, code: str) -> str:
    """One partner's kind as said beside its name ("Council, 42 km away"): the GLA, which
    stands with the combined authorities, as what it is ("Strategic authority")."""
    if code in kinds.BODY_TIER_NAMES:
        return type_label("", code)
    return KIND_LABEL.get(kind, kind)


def type_label(tier: str, code: str = "") -> str:
    """A body's type as a page's caption says it: "District council", "Strategic authority"
    (the GLA: :func:`recommender.core.kinds.tier_name`)."""
    name = kinds.tier_name(str(tier), str(code))
    return name[:1].upper() + name[1:]


SORT_LABELS = {
    "expected": "Expected annual savings",
    "likelihood": "Likelihood",
    "savings": "Savings if formed",
}
assert tuple(SORT_LABELS) == SORTS


@dataclass(frozen=True)
class BodyFilters:
    """What the officer asked for, and what was wrong with it (field -> message)."""

    service: str | None = None
    kinds: tuple[str, ...] = ()
    max_km: float | None = None
    k: int = DEFAULT_K
    include_existing: bool = False
    min_choice: float = CHOICE_FLOOR
    sort: str = "expected"
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def beyond_service(self) -> bool:
        """Whether a filter other than the service is set: the briefing, which takes the
        service only, then says these shape the list alone."""
        defaults = BodyFilters()
        return bool(self.kinds or self.max_km) or (
            self.k,
            self.include_existing,
            self.min_choice,
            self.sort,
        ) != (defaults.k, defaults.include_existing, defaults.min_choice, defaults.sort)

    def query(self, code: str) -> Query:
        return Query(
            body=code,
            service=self.service,
            kinds=self.kinds or None,
            max_km=self.max_km,
            k=self.k,
            include_existing=self.include_existing,
            min_choice=self.min_choice,
            sort=self.sort,
        )

    def params(self) -> dict[str, Any]:
        """The filters as query parameters (defaults left out), for links and redirects."""
        out: dict[str, Any] = {}
        if self.service:
            out["service"] = self.service
        if self.kinds:
            out["kinds"] = list(self.kinds)
        if self.max_km is not None:
            out["max_km"] = f"{self.max_km:g}"
        if self.k != DEFAULT_K:
            out["k"] = self.k
        if self.include_existing:
            out["include_existing"] = "1"
        if self.min_choice != CHOICE_FLOOR:
            out["min_choice"] = f"{self.min_choice:g}"
        if self.sort != "expected":
            out["sort"] = self.sort
        return out

    def api_params(self) -> dict[str, Any]:
        """The same list's query parameters for the API (and its downloads)."""
        out = self.params()
        if self.kinds:
            out["kinds"] = ",".join(self.kinds)
        if self.include_existing:
            out["include_existing"] = "true"
        return out

    def with_floor(self, floor: float) -> dict[str, Any]:
        """The query parameters of the same list with another likelihood floor."""
        out = {k: v for k, v in self.params().items() if k != "min_choice"}
        if floor != CHOICE_FLOOR:
            out["min_choice"] = f"{floor:g}"
        return out


def parse_filters(
    args: MultiDict[str, str], settings: Settings, max_k: int, body: Mapping[str, Any]
) -> BodyFilters:
    """Read the filters from ``args`` for ``body`` (its facts); a bad value is named in
    ``errors`` under its field (a service the body does not deliver among them)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def check(name: str, read: Callable[[str], Any]) -> None:
        raw = args.get(name, "").strip()
        if not raw:
            return
        try:
            values[name] = read(raw)
        except (InvalidInput, ValueError) as err:
            errors[name] = err.detail if isinstance(err, InvalidInput) else str(err)

    check("service", lambda raw: _delivered(page_service(raw, settings), body, settings))
    check("max_km", _distance)
    check("k", lambda raw: _count(raw, max_k))
    check("include_existing", _flag)
    check("min_choice", _share)
    check("sort", _sort)
    kinds = [k.strip() for raw in args.getlist("kinds") for k in raw.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in reference.KINDS]
    if unknown:
        errors["kinds"] = (
            f"Unknown kind {', '.join(map(repr, unknown))}: choose from "
            f"{', '.join(reference.KINDS)}"
        )
    else:
        values["kinds"] = tuple(dict.fromkeys(kinds))
    return BodyFilters(**values, errors=errors)


def refused(filters: BodyFilters, err: InvalidInput) -> BodyFilters:
    """``filters`` with the model's refusal of the service asked named under that field, as
    the form's own checks are, rather than as an error page: a model trained before today's
    taxonomy counted the body's kind as delivering the service the form offers it says so
    (:meth:`recommender.recommend.ranking.Recommender.delivered`). Any other refusal is
    raised again."""
    if err.field != "service":
        raise err
    return replace(filters, errors={**filters.errors, "service": err.detail})


def _delivered(service: str, body: Mapping[str, Any], settings: Settings) -> str:
    offered = service_choices(body["tier"], settings)
    if service not in {s["id"] for s in offered}:
        raise ValueError(
            f"{body['name']} does not deliver {service_label(service, settings).lower()}: "
            f"choose one of the {len(offered)} services it delivers"
        )
    return service


def _distance(raw: str) -> float:
    try:
        km = float(raw)
    except ValueError:
        km = float("nan")
    if not 0 < km <= MAX_KM:  # NaN fails too
        raise ValueError(f"Enter a distance in km over 0 and at most {MAX_KM:g}, not {raw!r}")
    return km


def _count(raw: str, most: int) -> int:
    # ASCII digits only ("²".isdigit() is true, int("²") fails), and few of them.
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10) or not 1 <= int(raw) <= most:
        raise ValueError(f"Enter a whole number from 1 to {most}, not {raw!r}")
    return int(raw)


def _share(raw: str) -> float:
    try:
        share = float(raw)
    except ValueError:
        share = float("nan")
    if not 0 <= share <= 1:  # NaN fails too
        raise ValueError(f"Enter a share from 0 to 1 (0.01 is 1%), not {raw!r}")
    return share


def _sort(raw: str) -> str:
    if raw not in SORTS:
        raise ValueError(f"Choose how to rank: {', '.join(SORTS)}, not {raw!r}")
    return raw


def _flag(raw: str) -> bool:
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    raise ValueError(f"Tick the box or leave it empty, not {raw!r}")


# What the page shows ----------------------------------------------------------------------


def facts(
    code: str, settings: Settings, directory: Directory, engine: Engine | None = None
) -> dict[str, Any]:
    """The body's facts, where it sits, its neighbours and its arrangements in the register."""
    from recommender.register import records as reg

    body = reference.body(code, settings)
    found = reg.query(reg.Filters(body=code), settings=settings, directory=directory, engine=engine)
    partnerships, merged = reg.partnerships_of(found, code)
    # A county council that is its area's fire and rescue authority: that authority's
    # arrangements are the council's too, though the register names the fire service.
    run = readmodels.fire_authority(code, settings, directory, engine)
    return {
        "body": body,
        "fire_run": [run] if run is not None and run["arrangements"] else [],
        "containers": reference.containers(code, settings).to_dict("records"),
        "covers": reference.contents(code, settings).to_dict("records"),
        "neighbours": reference.neighbours(code, settings, kind=body["kind"]).to_dict("records"),
        "arrangements": partnerships,
        "merged_arrangements": merged,
        "services": service_choices(body["tier"], settings),
    }


def service_choices(tier: str, settings: Settings) -> list[dict[str, str]]:
    """The services a body of ``tier`` delivers, in the taxonomy's order."""
    table = services.load_services(settings)
    return [
        {"id": str(sid), "label": str(row["label"])}
        for sid, row in table.iterrows()
        if tier in str(row["delivered_by"]).split(";")
    ]


def service_label(service: str, settings: Settings) -> str:
    """The everyday name of a service id (the id itself if the taxonomy lacks it)."""
    return service_labels(settings).get(service, service)


def results(
    model: Recommender,
    body: Mapping[str, Any],
    filters: BodyFilters,
    arrangements: list[dict[str, Any]],
    *,
    settings: Settings,
) -> dict[str, Any]:
    """Suggestions with reasons and evidence, the map, partner groups and arrangements to join."""
    code = str(body["code"])
    found = model.recommend(filters.query(code))
    rows = [readmodels.shown(r) | {"likelihood_words": _words(r.likelihood)} for r in found]
    focus = filters.service or (found[0].service if found else None)
    groups = model.groups(code, focus, k=3) if focus else []
    joins = model.arrangements_to_join(code, focus, k=5) if focus else []
    partners = list(dict.fromkeys(r.partner_code for r in found if not r.existing))
    return {
        "recommendations": rows,
        "top_partners": partners[:3],
        "focus_service": focus,
        "focus_label": service_label(focus, settings) if focus else None,
        "service_label": service_label(filters.service, settings) if filters.service else None,
        "groups": [readmodels.shown(g) for g in groups],
        "joins": [readmodels.shown(j) for j in joins],
        "map_svg": partners_map(body, rows, arrangements, filters.service, settings),
        "documented_sizes": charts.documented_sizes(model.describe(), settings),
        "likelihood_learnt": charts.likelihood_learnt(model.describe()),
        # How far to trust the order: for the kinds shown, judged as the list was asked.
        "cautions": model.cautions(
            str(body["kind"]),
            {r.partner_kind for r in found},
            filters.service,
            asked=filters.kinds,
            sort=filters.sort,
        ),
    }


def _words(likelihood: float | None) -> str:
    return "" if likelihood is None else likelihood_words(likelihood)


def partners_map(
    body: Mapping[str, Any],
    rows: list[dict[str, Any]],
    arrangements: list[dict[str, Any]],
    service: str | None,
    settings: Settings,
) -> str:
    """England around the body: suggested partners shaded by savings, existing ones hatched."""
    return partner_map.partners_map(body, rows, arrangements, service, settings, width=MAP_WIDTH)


def _in_sentence(label: str) -> str:
    """A label inside a sentence: lower case, but an acronym kept (NHS, not nhs)."""
    return label if label.isupper() else label.lower()


def summary(
    filters: BodyFilters, rows: Sequence[Mapping[str, Any]], service_label: str | None
) -> str:
    """One sentence saying what the table shows (also announced when it changes)."""
    known = sum(bool(r["existing"]) for r in rows)
    count = len(rows) - known
    what = f"{count} suggestion{'s' * (count != 1)}"
    parts = [f"for {service_label}" if service_label else "across all services"]
    if filters.kinds:
        parts.append("with " + " and ".join(_in_sentence(KIND_LABELS[k]) for k in filters.kinds))
    if filters.max_km is not None:
        parts.append(f"within {filters.max_km:g} km")
    if filters.include_existing:
        parts.append(f"and {known} existing partner{'s' * (known != 1)}, after them")
    if filters.sort != "expected":
        parts.append(f"ranked by {SORT_LABELS[filters.sort].lower()}")
    return f"Showing {what} " + ", ".join(parts) + "."
