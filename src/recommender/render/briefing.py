"""The advisor's briefing: a printable document about one body's sharing opportunities.

``recommender briefing BODY [--service S] --out FILE.pdf|FILE.html`` and the download button
on a body's page both call :func:`briefing_document` (the CLI through :func:`write_briefing`).
The document opens with a paragraph naming the body's three best opportunities, then holds
its facts, a map of its partners, the top opportunities with ranges and reasons, a chart of
what each would save if formed, the best partner groups, its existing arrangements, the
comparable arrangements and the savings their sources give, how to read the figures, the
model, and the sources: the arrangements' own, official documents first
(:func:`recommender.core.sources.rank_sources`), and the data's, with their attribution.
Every figure in it is computed from the reference data, the register and the promoted model
when it is made, and written in one money format (:func:`recommender.render.charts.money`)
with service labels, never ids.

HTML comes from the ``briefing.html`` Jinja template in ``web/templates`` (maps and charts
inline as SVG, styles inline: one self-contained file); PDF is that HTML printed by
WeasyPrint. Printing takes most of the time, so the finished PDF of a (model, body, service,
day) is kept in a small in-process cache, as is the map (:func:`_map`).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput
from recommender.core.kinds import in_sentence, named, tier_name
from recommender.core.names import and_list
from recommender.core.sources import (
    MYSOCIETY_ATTRIBUTION,
    ONS_ATTRIBUTION,
    SIMULATED_NOTE,
    SOURCE_KINDS,
    SOURCES,
    rank_sources,
    source_host,
    source_kind,
)
from recommender.model.baselines import BASELINE_LABELS
from recommender.model.explain import DIRECTION_WORDS, MARKERS, border_length, whole_km
from recommender.model.horizon import HORIZON_YEARS, LIKELIHOOD_SIDE, LIKELIHOOD_UNCHECKED
from recommender.model.verdicts import (
    UNTESTED_ORDERS,
    headline,
    measured_coverage,
    savings_figures,
    trust_said,
)
from recommender.recommend import readmodels
from recommender.recommend.query import CHOICE_FLOOR, odds
from recommender.recommend.ranking import Query, Recommendation, Recommender, likelihood_words
from recommender.recommend.readmodels import HELD_SAID, HELD_SHORT
from recommender.reference import lookup as reference
from recommender.register.records import (
    TERM_SAID,
    abolished_names,
    given_label,
    listed_partners,
    member_label,
    merged_said,
    partnerships_of,
    record_ended,
    record_left,
    record_proposed,
    some_of,
    status_said,
    term_passed,
    through_former,
    years_said,
)
from recommender.render import charts
from recommender.render.maps import short_name
from recommender.render.partner_map import partners_map

TOP = 8
REASONS = 3  # per suggestion in print: the three largest, and a shared history always
EVIDENCE = 10
FORMATS = (".pdf", ".html")
MAP_WIDTH = 640
CACHED_PDFS = 16
CACHED_MAPS = 64


def briefing_context(
    rec: Recommender, body: str, service: str | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Everything the briefing shows, computed now."""
    settings = settings or rec.settings
    position = rec.body_position(body)
    code = str(rec.model.context.pairs.codes[position])
    # The body on the map the model answers on: today's, or a reorganisation scenario's.
    place = rec.place(code)
    facts, neighbours, containers = place.facts, place.neighbours, place.containers
    existing, merged = partnerships_of(place.arrangements, str(facts["code"]))
    labels = _labels(settings)
    found = rec.recommend(Query(code, service=service, k=TOP))
    top_service = service or (found[0].service if found else None)
    groups = rec.groups(code, top_service, k=3) if top_service else []
    evidence = _unique_evidence(found)
    cited = rank_sources([str(a["source"] or "") for a in [*existing, *merged, *evidence]])
    number = {url: i for i, url in enumerate(cited, 1)}
    meta = rec.describe()
    shown_kinds = {r.partner_kind for r in found}  # how far to trust the order: for these
    return {
        "generated_at": datetime.now(UTC).strftime("%d %B %Y"),
        "body": facts,
        "tier_label": tier_name(str(facts["tier"]), str(facts["code"])),
        "summary": summary(
            str(facts["display_name"]),
            found,
            existing,
            labels,
            service,
            code=code,
            successor=bool(facts.get("successor")),
            kind=str(facts["kind"]),
            fire_run=_fire_run(rec, code, settings),
        ),
        "neighbours": neighbours,
        "covers": place.contents,
        "containers": containers,
        "place_note": place.note,
        # A scenario's map (its name: a slug): every page says so, and a new unitary that it
        # does not exist today.
        "scenario_name": definition.name
        if (definition := getattr(rec, "definition", None))
        else None,
        # Asked for an abolished or renamed council, or by a name other bodies have too: say
        # whose briefing this is (as the CLI and pages do).
        "former_note": body != code and reference.name_note(body, code, settings),
        "existing": [a | {"source_number": number.get(a["source"] or "")} for a in existing],
        # Each with its source's number too: every arrangement the briefing names is sourced.
        "merged_arrangements": [
            a | {"source_number": number.get(a["source"] or "")} for a in merged
        ],
        "service": service,
        "service_words": service_words(labels.get(service, service)) if service else None,
        "labels": labels,
        "recommendations": [
            readmodels.shown(r)
            | {"likelihood_words": _words(r.likelihood), "reasons": _printed(r.reasons)}
            for r in found
        ],
        "groups": [readmodels.shown(g) for g in groups],
        "group_words": service_words(labels.get(top_service, top_service)) if top_service else None,
        "evidence": [e | {"source_number": number.get(e["source"] or "")} for e in evidence],
        "sources_cited": [
            {"number": i, "url": url, "host": source_host(url), "kind": source_kind(url)}
            for i, url in enumerate(cited, 1)
        ],
        "source_kinds": SOURCE_KINDS,
        "map_svg": _map(rec, facts, found, existing, service, settings),
        "chart_svg": _chart(found, rec),
        "model": meta,
        "headline": _headline(meta),
        "savings_figures": savings_figures(meta.get("evaluation") or {}),
        "cautions": rec.cautions(str(facts["kind"]), shown_kinds, service),
        "sources": SOURCES,
        "attribution": [ONS_ATTRIBUTION, MYSOCIETY_ATTRIBUTION],
        "simulated_note": SIMULATED_NOTE,
        "horizon_years": HORIZON_YEARS,
        "likelihood_side": LIKELIHOOD_SIDE,
        "likelihood_unchecked": LIKELIHOOD_UNCHECKED,
        "floor_odds": odds(CHOICE_FLOOR),
        "coverage": rec.coverage,
        "no_aim_share": _no_aim_share(settings),
        "documented_sizes": charts.documented_sizes(meta, settings),
        "measured_coverage": measured_coverage(meta.get("evaluation") or {}),
        "markers": MARKERS,
        "direction_words": DIRECTION_WORDS,
    }


def summary(
    name: str,
    found: Sequence[Recommendation],
    existing: Sequence[dict[str, Any]],
    labels: dict[str, str],
    service: str | None = None,
    *,
    code: str | None = None,
    successor: bool = False,
    kind: str = "council",
    fire_run: Sequence[tuple[str, int]] = (),
) -> str:
    """One paragraph naming the body's three best opportunities in words, with their figures
    (and, given the body's ``code``, how many of its arrangements are only its predecessors'; a
    scenario's ``successor``, which is in none, inherits its councils'). A body of ``kind`` is
    named as a sentence says it (:func:`in_sentence`: "The Kent police force area's …").
    ``fire_run``: the fire and rescue authority a county council is, with how many running
    arrangements name its fire service (said after its own).

    >>> summary("Rother", [], [], {})
    'No partner for Rother has at least a 1 in 200 chance of being the one chosen. Rother is in no documented arrangement.'
    >>> summary("Kent police force area", [], [], {}, kind="police")
    'No partner for the Kent police force area has at least a 1 in 200 chance of being the one chosen. The Kent police force area is in no documented arrangement.'
    """  # noqa: E501
    it, name = in_sentence(name, kind), in_sentence(name, kind, start=True)
    best = [r for r in found if not r.existing][:3]
    what = f" for {service_words(labels.get(service, service))}" if service else ""
    if not best:
        text = (
            f"No partner for {it}{what} has at least a {odds(CHOICE_FLOOR)} chance of being "
            "the one chosen."
        )
    else:
        items = [  # one service asked for: said once, before them ("…, for HR and payroll:")
            f"{'' if service else service_words(r.service_label) + ' with '}{_partner(r)} "
            f"({_chance(r.likelihood or 0.0)}; {charts.money(r.savings_gbp)} a year if formed, "
            f"{charts.money(r.expected_savings_gbp or 0.0)} expected)"
            for r in best
        ]
        count = {1: "best opportunity is", 2: "two best opportunities are"}.get(
            len(best), "three best opportunities are"
        )
        text = f"{name}'s {count}{what.replace(' for ', ', for ', 1)}: {and_list(items)}."
        by_service: dict[str, list[Recommendation]] = {}
        for r in best:
            by_service.setdefault(r.service, []).append(r)
        # One partner or the other for a service: their savings do not add up, so a total
        # counts one option per service (its best) and none at all when there is only one.
        alternatives = [(sid, rs) for sid, rs in by_service.items() if len(rs) > 1]
        uncertain = "the ranges below show how uncertain each figure is."
        if len(by_service) > 1:
            counted = [
                max(rs, key=lambda r: r.expected_savings_gbp or 0.0) for rs in by_service.values()
            ]
            total = sum(r.expected_savings_gbp or 0.0 for r in counted)
            if alternatives:
                by_partner: dict[str, list[str]] = {}  # one partner best for two: named once
                for r in counted:
                    by_partner.setdefault(_partner(r), []).append(
                        service_words(labels.get(r.service, r.service))
                    )
                each = [f"{who} for {and_list(what)}" for who, what in by_partner.items()]
                text += f" Counting only the best partner for each service ({and_list(each)}),"
                text += " weighed by their chances"
            else:
                text += " Weighed by their chances"
            text += (
                f" they come to about {charts.money(total)} a year in expected savings; {uncertain}"
            )
        elif len(best) > 1:
            text += f" Each figure stands alone; {uncertain}"
        for sid, rs in alternatives:
            text += (
                f" {_first_up(and_list([_partner(r) for r in rs]))} are alternatives for "
                f"{service_words(labels.get(sid, sid))}, not savings to add up."
            )
    # Those the register says have ended, that the body left while they ran on for others
    # (Hammersmith and Fulham and the Tri-borough libraries), or that were only proposed, are
    # said apart: the body is not in them (now).
    said = [status_said(a) for a in existing]
    running = [a for a, s in zip(existing, said, strict=True) if s == "running"]
    proposed, over, left = (said.count(s) for s in ("proposed", "ended", "left"))
    # Of those read as ended, the ones whose limited term has passed: no source says they ended
    term = sum(term_passed(a) for a, s in zip(existing, said, strict=True) if s == "ended")
    over -= term
    who = "its councils" if successor else "it"
    is_in = "would inherit" if successor else "is in"
    held = " from its councils" if successor else " already"
    if running:
        kinds = sorted(
            {service_words(labels.get(a["service"], a["service"])) for a in running},
            key=str.casefold,  # "building control, HR and payroll", not capitals first
        )
        n = len(running)
        text += (
            f" {name} {is_in} {n} documented arrangement{'s' * (n != 1)}{held} "
            f"({and_list([*kinds[:4], f'{len(kinds) - 4} more'] if len(kinds) > 4 else kinds)})"
        )
        inherited = sum(bool(through_former(a, code)) for a in running) if code else 0
        if inherited:  # a successor is no member in its own right of what it inherits
            which = f"{some_of(inherited, n)} " if n > 1 else ""
            text += f", {which}only through bodies now gone that it succeeds"
        # Its own, with a partner since abolished (a primary care trust) that no one body
        # succeeded: no source says they went on without it (each arrangement says so too).
        lost = [
            abolished_names(a) for a in running if not (code and through_former(a, code))
        ]  # fmt: skip
        lost = [names for names in lost if names]
        if lost:
            names = list(dict.fromkeys(name for found in lost for name in found))
            k, several = len(lost), len(names) > 1
            partner = "partners" if several else "a partner"
            where = f"{partner} in it" if n == 1 else f"in {some_of(k, n)}, {partner}"
            text += (
                f"; {where} {'have' if several else 'has'} since been abolished "
                f"({and_list(names)}), and no source says whether {'it' if k == 1 else 'they'} "
                "went on"
            )
        if over:
            text += f"; {over} more {'has' if over == 1 else 'have'} ended"
        if term:
            text += f"; {term} more {'was' if term == 1 else 'were'} {TERM_SAID}"
        if left:
            text += f"; {who} {'have' if successor else 'has'} left {left} more"
        if proposed:
            text += f"; {proposed} more {'was' if proposed == 1 else 'were'} only proposed"
        text += "."
    elif over or term or left or proposed:
        parts = [f"{over} that {'has' if over == 1 else 'have'} ended"] if over else []
        parts += [f"{term} {TERM_SAID}"] if term else []
        parts += [f"{left} {who} left"] if left else []
        parts += [f"{proposed} only proposed"] if proposed else []
        text += f" {name} {is_in} no running documented arrangement ({and_list(parts)})."
    else:
        text += f" {name} {is_in} no documented arrangement{held if successor else ''}."
    for fire, n in fire_run:  # the fire authority it is: its service's arrangements are its own
        more = " more" if running else ""
        text += (
            f" {name} is also the fire and rescue authority for its area: {n}{more} running "
            f"documented arrangement{'s name' if n != 1 else ' names'} its fire service (as "
            f"the {fire})."
        )
    return text


def _fire_run(rec: Recommender, code: str, settings: Settings) -> list[tuple[str, int]]:
    """The fire and rescue authority council ``code`` is (:func:`reference.fire_run_by`), with
    how many running documented arrangements name its fire service (none: nothing)."""
    fire = reference.fire_run_by(code, settings)
    if fire is None:
        return []
    place = rec.place(fire)
    running = [
        a for a in partnerships_of(place.arrangements, fire)[0] if status_said(a) == "running"
    ]
    return [(str(place.facts["display_name"]), len(running))] if running else []


def _partner(r: Recommendation) -> str:
    """A suggestion's partner as a sentence names it, after a word ("the Kent Fire and Rescue
    Authority")."""
    return in_sentence(r.partner_name, r.partner_kind)


def _first_up(text: str) -> str:
    """``text`` to start a sentence ("The Kent Fire and Rescue Authority, and Kent"; the
    template filter ``sentence`` too)."""
    return text[:1].upper() + text[1:]


def _chance(p: float) -> str:
    return f"{100 * p:.0f}% likely within {HORIZON_YEARS} years" if p >= 0.01 else "under 1% likely"


def service_words(label: str | None) -> str:
    """A service's label inside a sentence: "legal services", "ICT and digital"."""
    text = str(label or "")
    if text.lower() == "other":
        return "other services"
    return text if text[:3].isupper() else text[:1].lower() + text[1:]


def _labels(settings: Settings) -> dict[str, str]:
    from recommender.core.services import load_services

    return {str(k): str(v) for k, v in load_services(settings)["label"].items()}


class _Cache:
    """A few recent results by key (least recently used dropped first): the map and the PDF
    of a briefing asked for again are not drawn again. Safe enough across threads: at worst
    two requests make the same thing at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = self.items[key] = make()
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


_MAPS, _PDFS = _Cache(CACHED_MAPS), _Cache(CACHED_PDFS)


def _map(
    rec: Recommender,
    facts: dict[str, Any],
    found: Sequence[Recommendation],
    existing: Sequence[dict[str, Any]],
    service: str | None,
    settings: Settings,
) -> str:
    """The map of the body and its partners, as its page draws it but for print (cached per
    model, body and service)."""
    # the existing partners are drawn: an import that changes them makes a new map
    held = tuple(sorted(str(a["id"]) for a in existing))
    key = (rec.identity, facts["code"], service, held, settings)
    return str(
        _MAPS.get(
            key,
            lambda: partners_map(
                facts,
                [r.to_dict() for r in found],
                existing,
                service,
                settings,
                width=MAP_WIDTH,
                page=False,
                title=f"{facts['display_name']}: suggested and existing partners",
                layers=rec.map_layers(),
            ),
        )
    )


def _chart(found: Sequence[Recommendation], rec: Recommender) -> str:
    return charts.range_chart(
        [
            (
                f"{short_name(r.partner_name)}: {r.service_label}",  # as the map names it
                r.savings_low_gbp,
                r.savings_gbp,
                r.savings_high_gbp,
            )
            for r in found
        ],
        title=f"Annual savings if each partnership forms ({rec.coverage:.0%} interval)",
        interval=f"{rec.coverage:.0%} interval",
        log=True,
    )


def _no_aim_share(settings: Settings) -> float | None:
    """The LGA's published share of arrangements not set up to save money (2018), as
    ``data/calibration.json`` records it."""
    from recommender.simulation.calibration import published_fact

    fact = published_fact(settings, "no_savings_aim")
    return None if fact is None or fact.get("value") is None else float(fact["value"])


def _words(likelihood: float | None) -> str:
    return "" if likelihood is None else likelihood_words(likelihood)


def _unique_evidence(found: list[Any]) -> list[dict[str, Any]]:
    """The first :data:`EVIDENCE` arrangements cited, the best suggestion's first (the table
    kept the first by service id, so finance and HR filled it and a legal suggestion at the
    top lost its own), listed by service and name."""
    seen: dict[str, dict[str, Any]] = {}
    for r in found:
        for e in r.evidence:
            if len(seen) < EVIDENCE:
                seen.setdefault(e["id"], e)
    return sorted(seen.values(), key=lambda e: (e["service"], e["name"]))


def _headline(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The product against the best rule in the headline evaluation (leave one partnership
    out, real arrangements, the service given), if the model was evaluated."""
    rows = [
        r
        for r in meta.get("evaluation", {}).get("ranking", [])
        if (r["protocol"], r["query"], r["pair_kind"]) == ("lopo", "service", "all")
    ]
    model = next((r for r in rows if r["method"] == "model"), None)
    baselines = [r for r in rows if not str(r["method"]).startswith("model")]
    if model is None or not baselines:
        return None
    best = max(baselines, key=lambda r: r["mrr"])
    label = BASELINE_LABELS.get(str(best["method"]), str(best["method"]).replace("_", " "))

    # Ahead of every rule only within the noise is no win (the 95% interval of the lead, as
    # the verdicts judge it): not "beats every baseline" where the model page says "no clear
    # difference".
    # The baseline it is least clearly ahead of: its interval is the one quoted, and named.
    def low(r: dict[str, Any]) -> float:
        found = (r.get("model_minus") or {}).get("mrr")
        return float("-inf") if found is None else float(found[0])

    closest = min(baselines, key=low)
    judged = headline(meta.get("evaluation", {}).get("ranking", []))
    return {
        "verdict": None if judged is None else judged.judged,  # on every measure, as the page
        "model": model,
        "best": best | {"label": label},
        "beaten": best["mrr"] >= model["mrr"],
        "noise": best["mrr"] < model["mrr"] and low(closest) <= 0,
        "lead": (closest.get("model_minus") or {}).get("mrr"),
        "closest": BASELINE_LABELS.get(str(closest["method"]), str(closest["method"])),
    }


def render_html(context: dict[str, Any], settings: Settings) -> str:
    """The briefing as one self-contained HTML document."""
    env = Environment(
        loader=FileSystemLoader(str(settings.web / "templates")),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["money"] = lambda v: "no figure" if v is None else charts.money(float(v))
    env.filters["member"] = member_label
    env.filters["given"] = given_label  # as its source names it
    env.filters["formed_names"] = readmodels.formed_names  # a successor's councils
    env.filters["by_kind"] = reference.by_kind
    env.filters["listed_partners"] = listed_partners
    env.filters["held_short"] = HELD_SHORT.get  # a figure held at a bound per resident
    env.filters["held_said"] = HELD_SAID.get
    env.filters["named"] = named  # a body in a sentence: "the Kent police force area"
    env.filters["named_first"] = functools.partial(named, start=True)
    env.filters["savings_said"] = charts.savings_said
    env.filters["years_said"] = years_said
    env.tests["ended"] = record_ended
    env.tests["term_passed"] = term_passed
    env.globals["term_said"] = TERM_SAID
    env.globals["untested_orders"] = UNTESTED_ORDERS
    env.tests["proposed"] = record_proposed
    env.tests["left"] = record_left
    env.filters["border"] = border_length
    env.filters["trust_said"] = trust_said
    env.filters["merged_said"] = lambda merged, name: merged_said(name, merged)
    env.filters["km"] = whole_km
    env.filters["sentence"] = lambda v: _first_up(str(v or ""))
    env.filters["percent"] = charts.percent
    template = env.get_template("briefing.html")
    return template.render(**context)


def briefing_document(
    rec: Recommender,
    body: str,
    *,
    service: str | None = None,
    fmt: str = ".pdf",
    settings: Settings | None = None,
) -> bytes:
    """The briefing as PDF (``.pdf``) or HTML (``.html``) bytes; a PDF already made today for
    the same model, body, service and the body's arrangements comes from the cache."""
    settings = settings or rec.settings
    if fmt not in FORMATS:
        raise InvalidInput(f"the briefing is PDF or HTML, not {fmt!r}", field="format")
    code = str(rec.model.context.pairs.codes[rec.body_position(body)])
    asked = asked_as(body, code, settings)
    if fmt == ".html":
        return render_html(briefing_context(rec, asked, service, settings), settings).encode()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    held = tuple(sorted(str(a["id"]) for a in rec.place(code).arrangements))
    return bytes(
        _PDFS.get(
            (rec.identity, asked, service, day, held, settings),
            lambda: pdf_bytes(
                render_html(briefing_context(rec, asked, service, settings), settings), settings
            ),
        )
    )


def _printed(reasons: list[Any]) -> list[Any]:
    """The reasons a printed suggestion gives: the :data:`REASONS` largest, and always a
    shared history and every note (ℹ: two bodies under one governor …), as the page does
    (print dropped them as the fourth or later)."""
    kept = [x for x in reasons[REASONS:] if x.factor == "history" or x.direction == "note"]
    return [*reasons[:REASONS], *kept]


def asked_as(body: str, code: str, settings: Settings) -> str:
    """What a briefing on ``code`` asked for as ``body`` is made for: a name it says something
    of (an abolished or renamed council's, or one other bodies have too: its briefing says so),
    else the code (one briefing, whatever name)."""
    return body if body != code and reference.name_note(body, code, settings) else code


def write_briefing(
    rec: Recommender,
    body: str,
    out: Path,
    *,
    service: str | None = None,
    settings: Settings | None = None,
) -> Path:
    """Write the briefing to ``out`` (``.pdf`` or ``.html``), atomically; return the path."""
    settings = settings or rec.settings
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(
            f"{out}: the briefing is written as PDF or HTML; expected a file name ending in "
            ".pdf or .html",
            field="out",
        )
    data = briefing_document(rec, body, service=service, fmt=suffix, settings=settings)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # as every file the CLI writes (mkstemp makes it 0o600)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def pdf_bytes(html: str, settings: Settings) -> bytes:
    """Print the HTML to PDF with WeasyPrint (no network: every resource is inline)."""
    from weasyprint import HTML

    return bytes(HTML(string=html, base_url=str(settings.web)).write_pdf())
