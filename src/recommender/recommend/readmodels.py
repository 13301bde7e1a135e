"""Read models: the one JSON shape of each resource, emitted alike by the CLI and the API.

``recommender ... --format json`` and ``/api/v1`` answer the same question with the same
data because both build it here: a body (its summary and its detail), a search hit, a page
of bodies or arrangements, a model answer (recommendations, groups, arrangements to join),
the model's description and the service's health. The shapes are the ones the OpenAPI
document describes (``service/openapi.py``); this module imports neither ``cli`` nor
``service``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput
from recommender.core.names import closest
from recommender.database import db
from recommender.reference import lookup as reference

if TYPE_CHECKING:
    import pandas as pd


class Row(Protocol):
    """A model answer's row (a suggestion, a partner group, an arrangement to join:
    :mod:`recommender.recommend.ranking`, which builds on this module, not the other way)."""

    def to_dict(self) -> dict[str, Any]: ...


class ShownRow(Row, Protocol):
    """A row with its likelihood (None for a partner already sharing the service)."""

    @property
    def likelihood(self) -> float | None: ...


# The model answers, each a list under its key (see :func:`answer`).
ANSWER_KEYS = ("recommendations", "groups", "options")
# What an empty answer says (the pages say the same under their tables).
EMPTY_NOTES = {
    "recommendations": "No suggestion matches these filters: try all services, more partner "
    "kinds, a longer distance (max_km) or a lower min_choice.",
    "groups": "No group could be formed for this service.",
    "options": "No arrangement for this service, of those not known to have ended, is open to "
    "this body.",
}


# Bodies ------------------------------------------------------------------------------------


def formed_names(formed_from: Iterable[Mapping[str, Any]]) -> list[str]:
    """The bodies of today a successor is formed from, as a sentence names them: one it takes
    a part of said so ("part of Kent", of a county split between successors: West Kent was
    "made of Dartford, …, Kent").

    >>> formed_names([{"name": "Dartford", "part": False}, {"name": "Kent", "part": True}])
    ['Dartford', 'part of Kent']
    """
    return [f"part of {f['name']}" if f.get("part") else str(f["name"]) for f in formed_from]


def held_at(savings: float, low: float, high: float) -> str | None:
    """Whether an estimate of savings is held at a bound of what real arrangements save per
    resident merged in (:class:`~recommender.model.estimators.SavingsModel`): ``"floor"``
    when it is the low end of its range, ``"ceiling"`` the high end (the range is cut there),
    else None. The model's own figure for so large (small) a population is lower (higher).

    >>> held_at(3239066.0, 3239066.0, 24049189.0), held_at(56183, 9795, 56183.4)
    ('floor', 'ceiling')
    >>> held_at(509018.0, 88743.0, 3779320.0) is None
    True
    """
    if not all(math.isfinite(v) for v in (savings, low, high)):
        return None
    figures = [round(float(v)) for v in (savings, low, high)]
    if figures[1] == figures[2]:
        return None
    return "floor" if figures[0] == figures[1] else "ceiling" if figures[0] == figures[2] else None


HELD_SHORT = {  # beside the figure (a table's cell)
    "floor": "held at the floor per resident",
    "ceiling": "held at the ceiling per resident",
}
HELD_SAID = {  # what a figure held at a bound is, said with its HELD_SHORT
    "floor": "the low end of what real arrangements save per resident merged in, times the "
    "population merged in; the model's own figure for so large a population is lower",
    "ceiling": "the high end of what real arrangements save per resident merged in, times the "
    "population merged in; the model's own figure for so small a population is higher",
}
HELD_MARK = {"floor": "*", "ceiling": "†"}  # beside a figure in a plain-text table


def held_note(held: str) -> str:
    """A figure held at a bound as a plain-text note says it (a CLI's footnote, a CSV's cell):
    "held at the ceiling per resident: the high end of …"."""
    return f"{HELD_SHORT[held]}: {HELD_SAID[held]}"


COUNTY_LIKENESS = 80.0  # of 100: a county suggested for a name that is not one, if like it


def body_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A body in a list or at the head of a model answer (``name`` is its everyday name)."""
    return {
        "code": row["code"],
        "name": row["display_name"],
        "kind": row["kind"],
        "tier": row["tier"],
        "region": row["region"],
        "county_code": row["county_code"],
        "population": row["population"],
    }


def body_page(
    settings: Settings,
    *,
    kind: str | None = None,
    region: str | None = None,
    county: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """Bodies of a kind, region or county (a county's districts), ``limit`` from ``offset``
    (``None``: all of them); a region or county that is not one is an :class:`InvalidInput`."""
    table = reference.load_bodies(settings)
    if kind:
        table = table[table["kind"] == kind]
    if region:
        table = table[table["region_code"] == region_code(region, settings)]
    if county:
        found = reference.body(county, settings)
        if found["tier"] != "county":
            every = reference.load_bodies(settings).set_index("code")
            counties = every.loc[every["tier"] == "county", "display_name"].astype(str)
            raise InvalidInput(
                f"{found['display_name']} is not a county; expected "
                + (
                    f"one of the {len(counties)} counties"
                    if len(counties) != 1
                    else "the one county"
                )
                + " (councils of two-tier areas, whose districts it lists)",
                field="county",
                suggestions=(  # a district's own county first (Rother's: East Sussex)
                    [str(counties[found["county_code"]])]
                    if found.get("county_code") in counties.index
                    else closest(str(county), list(counties), limit=3, min_score=COUNTY_LIKENESS)
                ),
            )
        table = table[table["county_code"] == found["code"]]
    stop = None if limit is None else offset + limit
    rows = [body_summary(row) for row in table.iloc[offset:stop].to_dict("records")]
    shown = len(table) if limit is None else limit
    return {"total": len(table), "limit": shown, "offset": offset, "bodies": rows}


def region_code(region: str, settings: Settings) -> str:
    """The code of a region given by name or code (any case), or an :class:`InvalidInput`."""
    every = reference.load_bodies(settings)
    wanted = region.strip().casefold()
    for code, name in zip(every["region_code"], every["region"], strict=True):
        if wanted in (str(code).casefold(), str(name).casefold()):
            return str(code)
    names = sorted(set(every["region"]))
    raise InvalidInput(
        f"unknown region {region!r}; expected one of: {', '.join(names)}",
        field="region",
        suggestions=closest(region, names, limit=3),
    )


def search_hit(hit: reference.Resolution, table: pd.DataFrame) -> dict[str, Any]:
    """One match of a search: the bodies it stands for (several for an abolished council)."""
    abolished = hit.alias_type == "former"
    names = [str(table.at[c, "display_name"]) for c in hit.codes]
    return {
        "codes": list(hit.codes),
        "display_name": " + ".join(names),
        "kind": str(table.at[hit.codes[0], "kind"]),
        "matched": hit.matched,
        "alias_type": hit.alias_type,
        "abolished": abolished,
        "former_code": hit.former_code,
        "successors": [{"code": c, "name": n} for c, n in zip(hit.codes, names, strict=True)]
        if abolished
        else [],
        "note": hit.note,
        "score": round(hit.score, 1),
    }


def search(
    query: str, settings: Settings, *, limit: int = 10, kind: str | None = None
) -> dict[str, Any]:
    """Bodies matching what was typed, best first."""
    found = reference.search(query, limit=limit, kind=kind, settings=settings)
    table = reference.load_bodies(settings)
    return {"query": query, "results": [search_hit(h, table) for h in found]}


def body_detail(
    facts: Mapping[str, Any],
    resolution: Mapping[str, Any],
    neighbours: Sequence[Mapping[Any, Any]],
    containers: Sequence[Mapping[Any, Any]],
    arrangements: Sequence[Mapping[str, Any]],
    scenario: str | None = None,
    *,
    merged: Sequence[Mapping[str, Any]] = (),
    contents: Sequence[Mapping[Any, Any]] = (),
    fire_authority: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One body: its facts, how the name was read, neighbours, the bodies it lies in
    (``containers``) and those that lie wholly within it (``covers``), the documented
    arrangements it is in with others, those between its former councils
    (``merged_arrangements``: now internal, no partnership), the fire and rescue authority a
    county council is, with the arrangements that name its fire service (``fire_authority``),
    and the scenario's name, on one."""
    return {
        **({"fire_authority": dict(fire_authority)} if fire_authority is not None else {}),
        "body": dict(facts),
        **({"scenario": scenario} if scenario is not None else {}),
        "resolution": dict(resolution),
        "neighbours": [dict(n) for n in neighbours],
        "containers": [dict(c) for c in containers],
        "covers": [dict(c) for c in contents],
        "arrangements": [arrangement(a) for a in arrangements],
        "merged_arrangements": [arrangement(a) for a in merged],
    }


def fire_authority(
    code: str, settings: Settings, directory: Any = None, engine: Any = None
) -> dict[str, Any] | None:
    """The fire and rescue authority council ``code`` is (:func:`reference.fire_run_by`: its
    fire service part of it), with the documented arrangements that name that service
    (``arrangements``: records, as a list of the authority's own shows them); None for any
    other body. What the body's page, the API and ``bodies show`` say beside its own."""
    from recommender.register import records as reg

    fire = reference.fire_run_by(code, settings)
    if fire is None:
        return None
    named = reg.query(reg.Filters(body=fire), settings=settings, directory=directory,
                      engine=engine)  # fmt: skip
    return {
        "code": fire,
        "name": reference.body(fire, settings)["display_name"],
        "arrangements": reg.partnerships_of(named, fire)[0],
    }


def fire_authority_json(found: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """:func:`fire_authority` as the API and ``bodies show --format json`` give it: the
    arrangements by id."""
    if found is None:
        return None
    return dict(found) | {"arrangements": [str(a["id"]) for a in found["arrangements"]]}


def resolution(found: reference.Resolution, note: str | None = None) -> dict[str, Any]:
    """How a name was read: what it matched, as which kind of alias, a note (``note``, the
    name's as pages say it: :func:`reference.name_note`; else the alias's), and the other
    bodies the same name names (``others``: "Durham" is also Durham police force area's)."""
    return {
        "matched": found.matched,
        "alias_type": found.alias_type,
        "note": note or found.note,
        "others": list(found.others),
    }


# The register -------------------------------------------------------------------------------


def arrangement(record: Mapping[str, Any]) -> dict[str, Any]:
    """An arrangement with its members. ``partners`` are the partners as the source gave
    them (codes or names, the import layout), ``partner_names`` the members' names as given
    (``members[].name`` is the body each is today); a suggestion's evidence has
    ``partner_names`` too."""
    return dict(record)


def arrangement_page(
    records: Iterable[Mapping[str, Any]],
    *,
    total: int,
    limit: int | None,
    offset: int,
    body_note: str | None = None,
) -> dict[str, Any]:
    """A page of arrangements and how many match in all; ``body_note``, when given: whose
    arrangements they are, the body asked for being gone."""
    page = {
        "total": total,
        "limit": total if limit is None else limit,
        "offset": offset,
        "arrangements": [arrangement(r) for r in records],
    }
    return page if body_note is None else page | {"body_note": body_note}


# Model answers ------------------------------------------------------------------------------


def recommend_query(
    *,
    service: str | None,
    kinds: Sequence[str] | None,
    max_km: float | None,
    k: int,
    include_existing: bool,
    per_partner: int,
    sort: str,
    min_choice: float,
    scenario: str | None = None,
) -> dict[str, Any]:
    """The question a list of recommendations answers, as it is echoed in the answer."""
    asked = {
        "service": service,
        "kinds": list(kinds) if kinds else None,
        "max_km": max_km,
        "k": k,
        "include_existing": include_existing,
        "per_partner": per_partner,
        "sort": sort,
        "min_choice": min_choice,
    }
    return asked | ({"scenario": scenario} if scenario is not None else {})


def answer_head(
    body: Mapping[str, Any],
    model_version: str,
    query: Mapping[str, Any],
    scenario: str | None = None,
    cautions: Sequence[Mapping[str, Any]] | None = None,
    savings_note: str | None = None,
) -> dict[str, Any]:
    """What a model answer starts with: the body, the model, the scenario if any, the query,
    and (suggestions, given their ``cautions``) the cautions, where the model's held-out
    evaluation ranks real partners no better than a baseline for the body's pairs, or ahead of
    one only within the noise, and the ``savings_note``, what the figures if formed were
    learnt from (:func:`recommender.render.charts.documented_sizes`; null when it says
    nothing). The answer's rows follow under their key: :func:`answer`."""
    extra = {} if scenario is None else {"scenario": scenario}
    head = {"body": dict(body), "model_version": model_version, **extra, "query": dict(query)}
    if cautions is None:
        return head
    return head | {"cautions": [dict(c) for c in cautions], "savings_note": savings_note}


def answer(
    key: str,
    body: Mapping[str, Any],
    model_version: str,
    query: Mapping[str, Any],
    rows: Sequence[Row],
    scenario: str | None = None,
    cautions: Sequence[Mapping[str, Any]] | None = None,
    savings_note: str | None = None,
) -> dict[str, Any]:
    """A whole model answer: :func:`answer_head` and the rows' read models under ``key``."""
    if key not in ANSWER_KEYS:
        raise ValueError(f"unknown answer {key!r}; expected one of {ANSWER_KEYS}")
    head = answer_head(body, model_version, query, scenario, cautions, savings_note)
    out = head | {key: [row(r) for r in rows]}
    return out if rows else out | {"note": EMPTY_NOTES[key]}


def row(item: Row) -> dict[str, Any]:
    """A suggestion, a partner group or an arrangement to join, as JSON."""
    return item.to_dict()


def shown(item: ShownRow) -> dict[str, Any]:
    """A suggestion, group or arrangement to join as a page or briefing shows it: its JSON
    (:func:`row`) with the likelihood unrounded, so that its percentage is rounded once, as
    the compare page's is (the JSON's 0.1335 of a 13.346% chance read 13.4% beside 13.3%)."""
    out = item.to_dict()
    if item.likelihood is not None:
        out["likelihood"] = float(item.likelihood)
    return out


def model_info(version: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """A model from its metadata: version, training time, register, evaluation and what
    drives it (the API's /model for the serving one, ``models show`` for any)."""
    register = dict(meta.get("register", {}))
    if "source" in register:  # models saved before it was written safe held the database URL
        register["source"] = db.public_source(str(register["source"]))
    return {
        "version": version,
        "trained_at": meta.get("created_at"),
        "register": register,
        "evaluation": meta.get("evaluation", {}),
        "summary": meta.get("summary", {}),
        "importance": meta.get("importance", []),
        "features": meta.get("features", {}),
        "parameters": meta.get("parameters", {}),
        "versions": meta.get("versions", {}),
        "git_commit": meta.get("git_commit"),
    }


SUMMARY_NOTE = (
    "The product's own figures by protocol and question (no baseline beside them): "
    "'simulated/…' is measured on the simulated register, a check of the simulator, not "
    "evidence. Judge the product by 'headline' and 'verdicts': on real arrangements held out, "
    "against the simple rules and the plain regression."
)


def model_judged(version: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`model_info` with what its evaluation says beside its figures (the API's /model,
    ``models show --format json``): the headline verdict, every verdict on real arrangements,
    and a note on what the summary's figures are."""
    from recommender.model.verdicts import judged

    ranking = (meta.get("evaluation") or {}).get("ranking") or []
    return model_info(version, meta) | judged(ranking) | {"summary_note": SUMMARY_NOTE}


def health(model_version: str | None, register_size: int, problem: str | None) -> dict[str, Any]:
    """Whether the service can answer: ``state`` is ``ok`` with a model, else ``degraded``
    (named ``state``, not ``status``: an error's ``status`` is its HTTP code)."""
    return {
        "state": "ok" if model_version else "degraded",
        "model_version": model_version,
        "register_size": register_size,
        "problem": problem,
    }


def scenario_list(summaries: Iterable[Any]) -> dict[str, Any]:
    """The stored scenarios (``scenario.store.summaries``), newest as the store orders them."""
    return {"scenarios": [s.to_dict() for s in summaries]}


def services(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The service taxonomy (``services.load_services``), one dict a service."""
    return [
        {
            "id": r["id"],
            "label": r["label"],
            "office": r["office"],
            "delivered_by": [t for t in str(r["delivered_by"]).split(";") if t],
            "description": r["description"],
        }
        for r in table.reset_index().to_dict("records")
    ]
