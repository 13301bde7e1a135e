"""Why a suggestion ranks where it does, and the real arrangements behind it.

**Reasons** say what sets a suggestion apart from the body's other candidates for the service.
The partner-choice model is linear in the pair features, so each feature's part in a
candidate's log-odds, *relative to the average candidate*, is ``w · (x − mean x)``: a
candidate nearer than most gets a positive distance effect, one farther than most a negative
one, whatever the body, so the same fact always points the same way. Features are grouped into
factors (distance, border, area, type of body, size); the pair's **existing partnership**
(the weighted ``log(1 + tie)`` of their real shared history, again against the average
candidate) is a factor too, and so is the **saving** if formed, against the candidates'
typical saving (the list is ranked by expected savings). A factor's effect is in log units of
the ranking score; the largest (at least :data:`MIN_EFFECT`) become sentences with the pair's actual
values. A fact the typical candidate shares is never stated, even where the average is pulled
away from it by a few (most candidates touch no border, so "no border" is no reason): a factor
is said only when the candidate also stands :data:`MIN_EFFECT` apart from the *median*
candidate, on the same side as from the average. Sentences say where the candidate stands
among the others ("nearer than most candidates") and the marker whether that raises or
lowers it, so the same fact reads the same way wherever it appears. Where a fire authority
and a police force (or a mayor's combined authority) are already under one governor, a note
says so, whatever the effects; and where a suggested fire authority is run by another body
(its county council, a commissioner, a mayor), a note names who.

**Evidence** is the most comparable real arrangements (the model's observed register, never a
simulated one): same service, sharing a member with the pair, then nearby and of a similar
size.

**Importance** (for the model page) is the mean absolute effect of each factor over the top
suggestions of a sample of bodies.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.core.kinds import GLA, in_sentence, tier_name
from recommender.core.names import and_list, council_named
from recommender.geo.pairs import RUNS, SAME_GOVERNOR, UNGOVERNED, PairMatrices
from recommender.model.features import GEOGRAPHY, KIND_TERMS, PAIR_FEATURES, BodyArrays
from recommender.register.records import (
    also_shares,
    exits_of,
    has_ended,
    is_proposed,
    left_labels,
    listed_partners,
    one_body,
    term_passed,
)

if TYPE_CHECKING:
    from recommender.model.fit import TrainedModel
    from recommender.model.network import Snapshot
    from recommender.model.scoring import Proposed, QueryScores, Scorer

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

# factor: the pair features whose effects it sums
FACTORS: dict[str, tuple[str, ...]] = {
    "distance": ("log_dist",),
    "border": ("log_border",),
    "area": tuple(f for f in GEOGRAPHY if f not in ("log_dist", "log_border"))
    + tuple(t for t in KIND_TERMS if t.startswith("nested_")),
    "type": ("same_group", "same_kind", *(t for t in KIND_TERMS if t.startswith("kind_"))),
    "size": ("log_pop_ratio",),
}
FACTOR_LABELS = {
    "distance": "distance",
    "border": "shared border",
    "area": "same county or service area",
    "type": "type of body",
    "size": "population",
    "history": "existing partnership",
    "savings": "size of the saving",
    "governance": "already under one governor",
    "run_by": "who runs it",
    "fire_service": "its fire service's partnerships",
    "management": "shared management",
}
MANAGEMENT = "management_chief_exec"  # a shared chief executive, management team or workforce
MIN_EFFECT = 0.1  # smaller effects (in log units, about ±10%) are not worth a sentence
_COLUMNS = {
    name: np.array([PAIR_FEATURES.index(f) for f in cols]) for name, cols in FACTORS.items()
}
_AREA_WORDS = (
    ("county_code", "county"),
    ("fire_code", "fire area"),
    ("police_code", "police area"),
    ("icb_code", "NHS area"),
    ("cauth_code", "combined authority"),
)


# How each direction is shown, the same on the pages, in the briefing and in the CLI: a shape
# that survives greyscale print, and words for screen readers and the legend.
MARKERS = {"raises": "▲", "lowers": "▼", "note": "ℹ"}
DIRECTION_WORDS = {
    "raises": "raises the suggestion",
    "lowers": "lowers the suggestion",
    "note": "note",
}


@dataclass(frozen=True)
class Reason:
    """One factor behind a suggestion; ``effect`` > 0 raises it, < 0 lowers it, 0 is a note."""

    factor: str
    text: str
    effect: float

    @property
    def direction(self) -> str:
        if self.effect > 0:
            return "raises"
        return "lowers" if self.effect < 0 else "note"

    @property
    def marker(self) -> str:
        return MARKERS[self.direction]

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "label": FACTOR_LABELS[self.factor],
            "text": self.text,
            "effect": round(self.effect, 3),
            "direction": self.direction,
            "marker": self.marker,
        }


def factor_effects(scorer: Scorer, scored: QueryScores, rows: IntArray) -> FloatArray:
    """Effects ``(len(rows), n_factors + 2)`` of the factors, history and savings on the
    ranking score of the query's candidates ``rows`` (positions in ``scored.candidate``),
    relative to the average candidate that is not already a partner for the service."""
    return _effects(scorer, scored, rows)[0]


def _effects(
    scorer: Scorer, scored: QueryScores, rows: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The effects against the average candidate, the same against the median candidate, and
    each row's raw features minus the candidates' average (for "nearer than most")."""
    ctx, comp = scorer.ctx, scorer.comp
    fresh = ~scored.existing
    if not fresh.any():
        fresh = np.ones(len(scored.candidate), dtype=bool)
    X = ctx.table.rows(np.full(len(scored.candidate), scored.focal), scored.candidate)
    weighted = X * comp.choice_w
    parts = np.column_stack([weighted[:, cols].sum(axis=1) for cols in _COLUMNS.values()])
    parts = np.column_stack([parts, comp.history_weight * scored.history])
    savings = scored.savings
    if np.isfinite(savings).all() and (savings > 0).all():
        parts = np.column_stack([parts, np.log(savings)])
    else:
        parts = np.column_stack([parts, np.zeros(len(scored.candidate))])
    mean = parts[fresh].mean(axis=0)
    median = np.median(parts[fresh], axis=0)
    raw = X[rows] - X[fresh].mean(axis=0)
    return parts[rows] - mean, parts[rows] - median, raw


def reasons(
    model: TrainedModel, scorer: Scorer, scored: QueryScores, rows: IntArray, *, limit: int = 4
) -> list[list[Reason]]:
    """Plain-English reasons for the candidates at ``rows`` of a scored query, largest first
    (at most ``limit``, and a shared history always: that the two already work together is
    the first thing an officer needs to know, even where distance and area say more)."""
    effects, typical, raw = _effects(scorer, scored, rows)
    names = [*FACTORS, "history", "savings"]
    history = names.index("history")
    # The history stated is the register's today (the model's scores keep what it was trained
    # on until a retrain: an arrangement deleted since is never said to link the two).
    network, since = scorer.network, scorer.since.get(scored.focal)
    out = []
    for i, cand in enumerate(scored.candidate[rows].tolist()):
        items: list[Reason] = []
        shared = bool(network.prior[scored.focal, cand] > 0)
        joined = since is not None and bool(since[:, cand].any())  # imported since training
        proposed = scorer.proposed.get((scored.focal, cand))
        for j in np.argsort(-np.abs(effects[i]), kind="stable"):
            effect = float(effects[i, j])
            if j == history and (shared or joined):  # said whatever its size; too small to
                # move the ranking (or not in the model's scores at all): a note (ℹ)
                effect = effect if shared and abs(effect) >= MIN_EFFECT else 0.0
            elif j == history and proposed:  # the tie in the scores is a proposal's: said so
                effect = effect if abs(effect) >= MIN_EFFECT else 0.0
                items.append(Reason(names[j], proposed_said(model, scored.focal, proposed), effect))
                continue
            elif j == history:
                continue  # no history the register documents (or no longer: deleted since)
            elif abs(effect) < MIN_EFFECT or len(items) >= limit:
                continue
            elif not _distinct(effect, float(typical[i, j])):
                continue  # the typical candidate has it too: no reason
            above = {n: float(raw[i, PAIR_FEATURES.index(n)]) > 0 for n in _RELATIVE}
            text = describe(
                model, names[j], scored.focal, cand, scored.service, effect, above,
                overlaps=scorer.overlaps, network=network,
                also=None if since is None else since[:, cand], estimated=scorer.estimated,
            )  # fmt: skip
            if j == history and proposed:  # a proposal for a service they do not share yet
                text += _also_proposed(model, network, scored.focal, cand, proposed)
            if all(text != x.text for x in items):  # one fact, said once
                items.append(Reason(names[j], text, effect))
        if note := governance_note(model, scored.focal, cand) or run_by_note(
            model, scored.focal, cand
        ):
            items.append(note)
        also = None if since is None else since[:, cand]  # (imported since training)
        if note := management_note(model, network, scored.focal, cand, scored.service, also):
            items.append(note)
        if note := fire_service_note(model, network, scored.focal, cand):
            items.append(note)
        out.append(items)
    return out


# Facts said relative to the other candidates ("nearer than most"): the raw feature's side of
# the candidates' average, whatever the model's weight on it.
_RELATIVE = ("log_dist", "log_pop_ratio")


def proposed_said(model: TrainedModel, focal: int, proposed: Proposed) -> str:
    """ "its predecessor NHS Brent CCG was named with Brent in a documented proposal to share
    property and assets": what a pair named together only in proposals was, never that the two
    work together (:attr:`recommender.model.scoring.Scorer.proposed`)."""
    ctx = model.context
    you = in_text(ctx.bodies, focal)
    labels = and_list([service_words(str(ctx.labels[s])) for s in proposed.services])
    who = f"{proposed.via_focal} (now {you})" if proposed.via_focal else you
    what = f"named with {who} in a documented proposal to share {labels}"
    gone = proposed.via_candidate
    return f"its predecessor {gone} was {what}" if gone else what


ALSO_PROPOSED = "; also "  # before a proposal said beside a shared history


def _also_proposed(
    model: TrainedModel, network: Snapshot, focal: int, cand: int, proposed: Proposed
) -> str:
    """ "; also named with Westminster in a documented proposal to share legal services": a
    pair that works together named in a proposal for a service it does not share (Westminster
    and Kensington and Chelsea's legal service, proposed to move into LGSS Law), else ""."""
    services = tuple(s for s in proposed.services if not network.shares[s, focal, cand])
    if not services:
        return ""
    return f"{ALSO_PROPOSED}{proposed_said(model, focal, proposed._replace(services=services))}"


def _distinct(effect: float, typical: float) -> bool:
    """Whether a factor sets the candidate apart from the median candidate too, and the same
    way as from the average one."""
    return abs(typical) >= MIN_EFFECT and (typical > 0) == (effect > 0)


def describe(
    model: TrainedModel,
    factor: str,
    focal: int,
    cand: int,
    service: int,
    effect: float,
    above: Mapping[str, bool] | None = None,
    *,
    overlaps: npt.NDArray[np.bool_] | None = None,
    network: Snapshot | None = None,
    also: npt.NDArray[np.bool_] | None = None,
    estimated: npt.NDArray[np.bool_] | None = None,
) -> str:
    """The sentence for one factor, with the pair's actual values.

    ``above`` says, for distance and difference in size, whether the pair's value is above
    the candidates' average (by default: whether the effect lowers the suggestion).
    ``overlaps`` marks the pairs whose areas overlap without one containing the other: never
    said to cover the same area, contain or lie within one another. The shared history is
    read from ``network`` (the register as it is now; the model's own by default), with the
    services marked in ``also`` (by service position: shared in running arrangements imported
    since training). ``estimated`` marks the bodies whose population is an estimate (an NHS
    board sharing a council's people with another): said "an estimated" wherever it is said.
    """
    ctx = model.context
    snap = model.snapshot if network is None else network
    p, b = ctx.pairs, ctx.bodies
    you = in_text(b, focal)
    above = above or {}

    def people(i: int) -> str:
        return _people(b.population[i], estimated is not None and bool(estimated[i]))

    coterminous = ctx.table.stack[focal, cand, PAIR_FEATURES.index("coterminous")]
    overlapping = overlaps is not None and bool(overlaps[focal, cand])
    if overlapping and (factor == "area" or (factor == "distance" and coterminous)):
        return f"its area overlaps the area of {you}"
    if factor == "distance":
        if coterminous:
            return _nesting(model, focal, cand)
        farther = above.get("log_dist", effect < 0)
        where = "farther than most candidates" if farther else "nearer than most candidates"
        return f"{whole_km(p.dist_km[focal, cand])} km from {you}: {where}"
    if factor == "border":
        km = float(p.border_km[focal, cand])
        if km <= 0:
            return f"no border with {you}"
        return f"shares {border_length(km)} of border with {you}"
    if factor == "area":
        return _area_sentence(model, focal, cand)
    if factor == "type":
        tf = tier_name(str(b.tier[focal]), str(b.codes[focal]))
        tc = tier_name(str(b.tier[cand]), str(b.codes[cand]))
        if tf == tc:
            return f"also {_a(tc)}"
        if b.group[focal] == b.group[cand]:
            return f"also an upper-tier council ({_a(tc)}; {you} is {_a(tf)})"
        if names_its_kind(you, tf):  # not "where the Greater Manchester police force area
            # is a police force area"
            return f"{_a(tc)}, another kind of body than {you}"
        return f"{_a(tc)}, where {you} is {_a(tf)}"
    if factor == "size":
        pf, pc = b.population[focal], b.population[cand]
        sizes = f"{people(cand)} against {people(focal)}"
        if abs(float(pc) - float(pf)) < 1:  # the same area (an NHS board of one council)
            return f"serves the same people as {you} ({people(cand)})"
        if _people(pc) == _people(pf):  # the same, as rounded: not "577,000 against 577,000"
            guess = estimated is not None and bool(estimated[cand] or estimated[focal])
            one = ", one of the two an estimate" if guess else ""
            return f"about the same size as {you} ({_people(pc)} each{one})"
        if abs(np.log(pc / pf)) < 0.4:
            return f"similar in size to {you}: {sizes}"
        larger = "larger" if pc > pf else "smaller"
        apart = above.get("log_pop_ratio", effect < 0)
        than = "further apart in size than most candidates" if apart else "nearer in size than most"
        return f"{larger} than {you} ({sizes}): {than}"
    if factor == "history":
        now = snap.shares[:, focal, cand]
        every = np.flatnonzero(now if also is None else now | also)
        shared, more = every[:3], len(every) - 3
        more_said = f"{more} more service{'s' * (more != 1)}" if more > 0 else ""
        rest = f" (and {more_said})" if more_said else ""
        inherited = inherited_only(model)
        via = {int(s): inherited.get((focal, cand, int(s))) for s in shared}
        labels = [service_words(str(ctx.labels[s])) for s in shared if via[int(s)] is None]
        listed = and_list([*labels, more_said] if more_said and labels else labels)
        said = f"already works with {you} on {listed} (documented arrangements)"
        # Only through bodies that are gone: not a partnership of these two, said as it was.
        ways: dict[tuple[str, str], list[str]] = {}
        for s in shared:
            if (way := via[int(s)]) is not None:
                ways.setdefault(way, []).append(service_words(str(ctx.labels[s])))
        if ways:
            through = "; ".join(inherited_said(you, w, services) for w, services in ways.items())
            return f"{said}; {through}" if labels else through + rest
        if labels:
            return said
        n = int(snap.prior[focal, cand])
        count = f"{n} documented arrangement{'s' * (n != 1)}"
        only_through = inherited_pairs(model)
        if (focal, cand) not in only_through:
            return f"has been in {count} with {you}"
        return inherited_history(you, only_through[(focal, cand)], count)
    if factor == "savings":  # the savings grow with the people the smaller of the two brings
        smaller = cand if b.population[cand] <= b.population[focal] else focal
        brought = people(smaller)
        only = "" if effect > 0 else "only "
        said = f"a {'larger' if effect > 0 else 'smaller'} saving than most: "
        if abs(float(b.population[cand]) - float(b.population[focal])) < 1:  # the same area
            return f"{said}each of the two serves {only}{brought}"
        who = f"{in_text(b, smaller)}, the smaller of the two,"
        return f"{said}{who} brings {only}{brought} into one service"
    raise KeyError(factor)


def names_its_kind(name: str, kind: str) -> bool:
    """Whether a body's ``name`` says what kind of body it is (``kind``, as a type reason
    says it), so that a sentence need not tell it.

    >>> names_its_kind("the Greater Manchester police force area", "police force area")
    True
    >>> names_its_kind("NHS Kent and Medway Integrated Care Board", "NHS integrated care board")
    True
    >>> names_its_kind("Norfolk", "county council")
    False
    """
    return kind.lower().removeprefix("nhs ") in name.lower()


def in_text(bodies: BodyArrays, i: int) -> str:
    """Body ``i``'s name as a sentence says it, after a word (:func:`in_sentence`: "the Essex
    police force area")."""
    return in_sentence(str(bodies.names[i]), str(bodies.kind[i]))


def governance_note(model: TrainedModel, focal: int, cand: int) -> Reason | None:
    """A note when the two are already under one governor (a commissioner or a mayor)."""
    pairs = model.context.pairs
    if pairs.governance()[focal, cand] != SAME_GOVERNOR:
        return None
    note = pairs.governors[(focal, cand)]
    since = f" since {note.since_year}" if note.since_year else ""
    return Reason(
        "governance",
        f"already under one governor, the {note.name}{since}: sharing is a matter for them",
        0.0,
    )


def management_note(
    model: TrainedModel,
    network: Snapshot,
    focal: int,
    cand: int,
    service: int,
    also: npt.NDArray[np.bool_] | None = None,
) -> Reason | None:
    """A note when the two already share their management in a running arrangement (a chief
    executive, a management team or a whole workforce: Adur and Worthing's one officer
    structure) and the suggestion is another service: it may be run jointly under it already
    (the register files the arrangement under shared management alone)."""
    ctx = model.context
    services = [str(s) for s in ctx.services]
    if MANAGEMENT not in services:
        return None
    m = services.index(MANAGEMENT)
    shared = bool(network.shares[m, focal, cand]) or (also is not None and bool(also[m]))
    if service == m or not shared:  # (``also``: the services shared in those imported since)
        return None
    if inherited_only(model).get((focal, cand, m)) is not None:
        return None  # only through bodies now gone: not these two's management
    what = service_words(str(ctx.labels[service]))
    return Reason(
        "management",
        f"shares management with {in_text(ctx.bodies, focal)} (documented arrangements): "
        f"{what} may be run jointly under it already",
        0.0,
    )


def run_by_note(model: TrainedModel, focal: int, cand: int) -> Reason | None:
    """A note when the candidate is a fire and rescue authority that another body runs (its
    county council, a police, fire and crime commissioner, a mayor): whoever shares with it
    deals with them ("run by Lincolnshire County Council, which is its fire and rescue
    authority"). None when the focal body is that body, or under the same governor (then
    :func:`governance_note` says so)."""
    ctx = model.context
    pairs = ctx.pairs
    matrix = pairs.governance()
    if str(ctx.bodies.tier[cand]) != "fire" or matrix[focal, cand] != UNGOVERNED:
        return None
    runners = np.flatnonzero(matrix[:, cand] == RUNS)
    if len(runners) == 0:
        return None
    note = pairs.governors[(int(runners[0]), cand)]
    since = f" since {note.since_year}" if note.since_year else ""
    if note.governance == "county_council":
        text = f"run by {council_named(note.name)}{since}, which is its fire and rescue authority"
    else:
        text = f"governed by the {note.name}{since}"
    return Reason("run_by", text, 0.0)


def fire_service_note(
    model: TrainedModel, network: Snapshot, focal: int, cand: int
) -> Reason | None:
    """A note when one of the two is a county council that is its area's fire and rescue
    authority, and that authority already shares services with the other in running
    arrangements: they are the council's own, though the register names its fire service.
    On Norfolk's list, the Norfolk police force area: its headquarters is shared with the
    Norfolk Fire and Rescue Authority, which Norfolk is; on the police's list, Norfolk (it
    read as a council new to the police). None otherwise."""
    b = model.context.bodies
    if shared := _fire_service_shares(model, network, focal, cand):
        fire, what = shared
        text = (
            f"already works with {in_text(b, fire)} on {what} (documented arrangements): "
            f"{in_text(b, focal)} is that fire and rescue authority"
        )
    elif shared := _fire_service_shares(model, network, cand, focal):
        fire, what = shared
        text = (
            f"is also {in_text(b, fire)}, which already works with {in_text(b, focal)} on "
            f"{what} (documented arrangements)"
        )
    else:
        return None
    return Reason("fire_service", text, 0.0)


def _fire_service_shares(
    model: TrainedModel, network: Snapshot, council: int, other: int
) -> tuple[int, str] | None:
    """The fire and rescue authority ``council`` is (a county council that is its area's),
    and the services that authority shares with ``other`` in running arrangements ("other
    services", "ICT and digital and legal (and 2 more services)"); None when it is no such
    council, ``other`` is that authority, or they share none."""
    ctx = model.context
    pairs = ctx.pairs
    if str(ctx.bodies.tier[council]) == "fire":  # ("runs" is marked both ways)
        return None
    for fire in np.flatnonzero(pairs.governance()[council] == RUNS).tolist():
        governor = pairs.governors.get((council, fire))
        if fire == other or governor is None or governor.governance != "county_council":
            continue
        shared = np.flatnonzero(network.shares[:, fire, other])
        if not len(shared):
            continue
        what = and_list([service_words(str(ctx.labels[s])) for s in shared[:3]])
        more = len(shared) - 3
        what += f" (and {more} more service{'s' * (more != 1)})" if more > 0 else ""
        return fire, what
    return None


def service_words(label: str) -> str:
    """A service's label inside a sentence ("ICT and digital", "other services")."""
    if label.lower() == "other":
        return "other services"
    return label[:1].lower() + label[1:] if not label[:3].isupper() else label


def _a(noun: str) -> str:
    """The noun with its article: "a district council", "an NHS integrated care board"."""
    vowel = noun[:1].lower() in "aeio" or noun.startswith(("NHS", "upper"))
    return ("an " if vowel else "a ") + noun


def _people(n: float, estimated: bool = False) -> str:
    """ "776,000 people", or "an estimated 776,000 people" (see :func:`describe`)."""
    an = "an estimated " if estimated else ""
    if n >= 1e6:
        return f"{an}{n / 1e6:.1f} million people"
    return f"{an}{round(n, -3):,.0f} people" if n >= 10_000 else f"{an}{n:,.0f} people"


def whole_km(km: float) -> str:
    """A distance in whole km as every answer shows it: from the one decimal the API gives
    (9.46 is 9.5, so "10"), so a reason never reads otherwise than the figure beside it."""
    return f"{round(float(km), 1):.0f}"


def border_length(km: float) -> str:
    """A shared border's length as every page says it: whole km, or metres under 1 km (the
    City of London's 483 m with Westminster read "shares 0 km of border")."""
    km = float(km)
    if km >= 0.95:
        return f"{km:.0f} km"
    return f"{max(10, round(km * 1000, -1)):.0f} m"


def _nesting(model: TrainedModel, focal: int, cand: int) -> str:
    """How two nested areas stand: the same area only when the same people (the same
    councils: one nested in the other with the same population). East Sussex's fire authority
    also covers Brighton and Hove, within 5% of East Sussex's area: "its area contains"."""
    b = model.context.bodies
    you = in_text(b, focal)
    if abs(float(b.population[cand]) - float(b.population[focal])) < 1:
        return f"covers the same area as {you}"
    bigger = (b.population[cand], b.log_area[cand]) > (b.population[focal], b.log_area[focal])
    return f"its area contains {you}" if bigger else f"lies within the area of {you}"


def _london(p: PairMatrices, focal: int) -> str:
    """What the combined authority column names for a body in the GLA's area: the Greater
    London Authority is the strategic authority over London's boroughs as a combined authority
    is over its councils (it stands in that column), but it is not a combined authority."""
    gla = p.index.get(GLA)
    inside = gla is not None and bool(p.same["cauth_code"][focal, gla])
    return "Greater London Authority area" if inside else "combined authority"


def _area_sentence(model: TrainedModel, focal: int, cand: int) -> str:
    p, b = model.context.pairs, model.context.bodies
    you = in_text(b, focal)
    if p.nested[focal, cand]:
        return _nesting(model, focal, cand)
    parts = []
    for column, words in _AREA_WORDS:
        same = p.same.get(column)
        if same is not None and same[focal, cand]:
            parts.append(_london(p, focal) if column == "cauth_code" else words)
    if parts:
        return "in the same " + and_list(parts[:3]) + f" as {you}"
    same_region = p.same.get("region_code")
    if same_region is not None and same_region[focal, cand]:
        return f"in the same region as {you}"
    return f"in another region from {you}"


# By model identity (a model is no dictionary key), dropped with the model.
Via = tuple[str, str]  # the full name of the body gone on each side ("": a member itself)
SEP = "\x1f"  # between the names of a side's bodies gone, where there are several


def _names(side: str) -> list[str]:
    """The names of one side of a :data:`Via` (several where several bodies gone link it)."""
    return [name for name in side.split(SEP) if name]


_INHERITED: dict[int, tuple[dict[tuple[int, int, int], Via], dict[tuple[int, int], Via | None]]]
_INHERITED = {}


def inherited_only(model: TrainedModel) -> dict[tuple[int, int, int], Via]:
    """The pairs (both orders) and services whose shared arrangements all link them through a
    body that is gone, with the full name of the body gone on each side ("" for a body that
    was a member itself): Bedford "works with" Bedfordshire Police only because Bedfordshire County
    Council did, in 2004; West and North Northamptonshire are both in LGSS Law because
    Northamptonshire County Council was, which is no partnership between the two. Made once
    per model (a model trained before ``member_via`` was kept: a council split between the
    two only, told by the name they share)."""
    return _inherited(model)[0]


def inherited_pairs(model: TrainedModel) -> dict[tuple[int, int], Via | None]:
    """The pairs (both orders) whose documented arrangements, of any service, all link them
    through a body that is gone (:func:`inherited_only`): Cherwell's four with South
    Northamptonshire, now part of West Northamptonshire. The way, or None when they are linked
    through more than one."""
    return _inherited(model)[1]


def _inherited(
    model: TrainedModel,
) -> tuple[dict[tuple[int, int, int], Via], dict[tuple[int, int], Via | None]]:
    found = _INHERITED.get(id(model))
    if found is not None:
        return found
    index = model.context.pairs.index
    service_at = {str(s): i for i, s in enumerate(model.context.services)}
    register = model.arrangements
    told = "member_via" in register
    if told:
        vias = list(register["member_via"])
    else:  # the names as given, one each: the same name on two members is a split council
        vias = [
            [str(n) if list(names).count(n) > 1 else "" for n in names]
            for names in register["member_names"]
        ]
    genuine: set[tuple[int, int, int]] = set()
    through: dict[tuple[int, int, int], tuple[dict[str, None], dict[str, None]]] = {}
    split_from: dict[tuple[int, int, int], tuple[dict[str, None], dict[str, None]]] = {}
    genuine_pairs: set[tuple[int, int]] = set()
    ways: dict[tuple[int, int], set[Via]] = {}
    for service, codes, via in zip(
        register["service"], register["member_codes"], vias, strict=True
    ):
        s = service_at.get(str(service))
        members = [(index[c], str(v)) for c, v in zip(codes, via, strict=False) if c in index]
        for i, (a, via_a) in enumerate(members):
            for b, via_b in members[i + 1 :]:
                if a == b:
                    continue
                if (not via_a and not via_b) or (not told and via_a != via_b):
                    genuine_pairs.update(((a, b), (b, a)))
                    if s is not None:
                        genuine.update(((a, b, s), (b, a, s)))
                    continue
                ways.setdefault((a, b), set()).add((via_a, via_b))
                ways.setdefault((b, a), set()).add((via_b, via_a))
                if s is not None:  # every body gone, on each side, of every such arrangement
                    split = via_a == via_b  # one council split between the two: no partner
                    for key, mine, theirs in (((a, b, s), via_a, via_b), ((b, a, s), via_b, via_a)):
                        sides = (split_from if split else through).setdefault(key, ({}, {}))
                        sides[0].update(dict.fromkeys(filter(None, [mine])))
                        sides[1].update(dict.fromkeys(filter(None, [theirs])))
    by_service = {  # who worked with whom, where any did; else the council both succeed
        k: (SEP.join(mine), SEP.join(theirs))
        for k, (mine, theirs) in (split_from | through).items()
        if k not in genuine
    }
    by_pair = {
        pair: (next(iter(way)) if len(way) == 1 else None)
        for pair, way in ways.items()
        if pair not in genuine_pairs
    }
    _INHERITED[id(model)] = found = (by_service, by_pair)
    weakref.finalize(model, _INHERITED.pop, id(model), None)
    return found


def through_said(via: Via) -> str:
    """How a pair already shares a service only through bodies now gone (:func:`inherited_only`;
    ``via``: the focal body's, then the candidate's), said beside "already shares it".

    >>> through_said(("Somerset County Council", ""))
    'only through Somerset County Council, now gone'
    >>> through_said(("Northamptonshire County Council", "Northamptonshire County Council"))
    'only as successors of Northamptonshire County Council'
    """
    if via[0] and via[0] == via[1]:
        return f"only as successors of {and_list(_names(via[0]))}"
    names = list(dict.fromkeys(n for side in via for n in _names(side)))
    return f"only through {and_list(names)}, now gone"


def inherited_said(you: str, via: Via, services: list[str]) -> str:
    """How a pair shares services only through bodies that are gone (:func:`inherited_only`;
    ``via``: the focal body's, then the candidate's), from the candidate's side."""
    what = and_list(services)
    if via[0] and via[0] == via[1]:
        return f"both succeed {and_list(_names(via[0]))} in its arrangements for {what}"
    who, with_whom = _through(you, via)
    close = "," if via[0] else ""  # "with Y, a predecessor of you, on …"
    return f"{who}worked with {with_whom}{close} on {what}"


def inherited_history(you: str, via: Via | None, count: str) -> str:
    """How a pair has been in ``count`` arrangements only through bodies that are gone
    (:func:`inherited_pairs`; ``via``: the focal body's, then the candidate's, None for more
    than one way), from the candidate's side.

    >>> said = inherited_history("Kent", ("", "West Kent PCT" + SEP + "Eastern Kent PCT"),
    ...                          "1 documented arrangement")
    >>> said.removesuffix(" been in 1 documented arrangement with Kent")
    'its predecessors West Kent PCT and Eastern Kent PCT have'
    """
    if via is None:
        return f"has been in {count} with {you}, only through bodies since abolished"
    if via[0] and via[0] == via[1]:
        return f"both succeed {via[0]} in {count}"
    who, with_whom = _through(you, via)
    have = "have" if len(_names(via[1])) > 1 else "has"  # its predecessors A and B have
    return f"{who}{have} been in {count} with {with_whom}"


def _through(you: str, via: Via) -> tuple[str, str]:
    """Who did it on the candidate's side ("its predecessor X ", or "" for the candidate
    itself) and with whom on the focal body's ("Y, a predecessor of you", or you)."""
    mine, theirs = _names(via[0]), _names(via[1])
    plural = "s" * (len(theirs) > 1)
    who = f"its predecessor{plural} {and_list(theirs)} " if theirs else ""
    if not mine:
        return who, you
    return who, f"{and_list(mine)}, {'predecessors' if len(mine) > 1 else 'a predecessor'} of {you}"


# --- evidence ---------------------------------------------------------------------------------
# What an arrangement with members of both the pair's kinds, or of one of them, adds to its
# score as evidence (a shared member adds 3, a neighbour 1, the region 0.5).
KIND_WEIGHTS = (1.5, 0.5)


class EvidenceIndex:
    """The observed register arranged for fast evidence lookups, one block per service.

    For each service: the real arrangements' records, a member matrix (arrangements × bodies,
    also as 0/1 numbers for matrix products), the log of their total population, the kinds of
    body among their members and the rank of their ids (ties in the score go to the smaller
    id).
    """

    def __init__(
        self,
        model: TrainedModel,
        *,
        leave_out: Collection[str] = (),
        ended: Mapping[str, int | None] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Index ``model``'s real arrangements but those whose id is in ``leave_out`` (deleted
        from the register since: never cited); those in ``ended`` (said to have ended since)
        are cited as ended, with the end year it gives. ``names`` (code to name today) names
        their partners: by default the model's bodies' (a scenario's map lacks the councils
        it replaces, which the arrangements name as they are today)."""
        ctx = model.context
        index = ctx.pairs.index
        pop = ctx.bodies.population
        self._blocks: dict[str, _Block] = {}
        observed = model.arrangements[~model.arrangements["simulated"].astype(bool)]
        if leave_out:
            observed = observed[~observed["id"].astype(str).isin(list(leave_out))]
        # One between a fire authority and the body that runs it is internal: no evidence of
        # a partnership.
        internal = [
            ctx.one_body([index[c] for c in codes if c in index])
            for codes in observed["member_codes"]
        ]
        # Nor is a proposal (recorded or named so: "… talks (proposal)"): nothing formed,
        # nothing saved, so not a comparable real arrangement.
        proposed = [
            is_proposed(str(name), status)
            for name, status in zip(observed["name"], observed["status"], strict=True)
        ]
        observed = observed[~np.array(internal, dtype=bool) & ~np.array(proposed, dtype=bool)]
        self._kinds, self._kind_of = np.unique(ctx.bodies.kind, return_inverse=True)
        names = body_names(ctx.bodies.codes, ctx.bodies.names) if names is None else names
        kind_matrix = np.eye(len(self._kinds), dtype=bool)[self._kind_of]  # bodies × kinds
        # An arrangement is evidence for its service and for any its source says it was
        # extended to (:func:`also_shares`: the Evolve programme, filed under other services,
        # for legal services from 2019), cited as filed.
        by_service: dict[str, list[dict[str, Any]]] = {}
        for row in observed.to_dict(orient="records"):
            extended = also_shares(str(row["name"]), bool(row.get("simulated")))
            for service in dict.fromkeys([str(row["service"]), *(r.service for r in extended)]):
                by_service.setdefault(service, []).append(row)
        for service, rows in by_service.items():
            records = [evidence_record(r, names) for r in rows]
            for record in records:
                if ended and str(record["id"]) in ended:
                    record["ended"] = True
                    if ended[str(record["id"])] is not None:
                        record["end_year"] = ended[str(record["id"])]
            members = np.zeros((len(rows), ctx.pairs.n), dtype=bool)
            for i, row in enumerate(rows):
                members[i, [index[c] for c in row["member_codes"] if c in index]] = True
            total = np.log(np.maximum(members @ pop, 1.0))
            kinds = members @ kind_matrix  # (arrangements × kinds)
            ids = np.array([str(r["id"]) for r in records], dtype=object)
            rank = np.empty(len(ids), dtype=np.intp)
            rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
            self._blocks[service] = _Block(
                records,
                members,
                members.astype(np.float32),
                total,
                rank,
                np.asarray(members.any(axis=1), dtype=bool),
                kinds,
            )
        self._touches = ctx.pairs.touches.astype(np.float32)
        region = ctx.pairs.same.get("region_code")
        self._region = None if region is None else region.astype(np.float32)

    def best(
        self, model: TrainedModel, focal: int, cand: int, service: int, k: int = 3
    ) -> list[dict[str, Any]]:
        """The ``k`` most comparable real arrangements: sharing a member with the pair, then
        between bodies of the pair's kinds (a council and an NHS board for a council and its
        board), neighbouring it, in its region and of a similar size."""
        return self.best_many(model, focal, np.array([cand], dtype=np.intp), service, k)[0]

    def best_many(
        self, model: TrainedModel, focal: int, cands: IntArray, service: int, k: int = 3
    ) -> list[list[dict[str, Any]]]:
        """:meth:`best` for each of the candidates ``cands`` of ``focal``, worked out together."""
        ctx = model.context
        block = self._blocks.get(ctx.services[service])
        if block is None:
            return [[] for _ in cands]
        # (arrangements × candidates) scores, the same sum as for one pair
        touching = np.maximum(self._touches[focal][:, None], self._touches[:, cands])
        near = (block.numbers @ touching) > 0
        region = (
            (block.numbers @ self._region[focal]) > 0
            if self._region is not None
            else np.zeros(len(block.records), dtype=bool)
        )
        target = np.log(ctx.bodies.population[focal] + ctx.bodies.population[cands])
        shared = block.members[:, focal, None].astype(int) + block.members[:, cands]
        # Bodies of the pair's kinds among the members (:data:`KIND_WEIGHTS`).
        mine = block.kinds[:, self._kind_of[focal], None]
        theirs = block.kinds[:, self._kind_of[cands]]
        both, one = KIND_WEIGHTS
        alike = np.where(mine & theirs, both, np.where(mine | theirs, one, 0.0))
        score = (
            3 * shared
            + alike
            + near
            + 0.5 * region[:, None]
            - 0.3 * np.abs(block.total[:, None] - target[None, :])
        )
        score = np.where(block.any_member[:, None], score, -np.inf).T
        rank = np.broadcast_to(block.rank, score.shape)
        order = np.lexsort((rank, -score), axis=-1)[:, :k]
        finite = np.isfinite(np.take_along_axis(score, order, axis=-1))
        return [
            [block.records[i] for i, ok in zip(chosen, keep, strict=True) if ok]
            for chosen, keep in zip(order.tolist(), finite.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class _Block:
    """One service's real arrangements, for :class:`EvidenceIndex`."""

    records: list[dict[str, Any]]
    members: npt.NDArray[np.bool_]
    numbers: npt.NDArray[np.float32]
    total: FloatArray
    rank: IntArray
    any_member: npt.NDArray[np.bool_]
    kinds: npt.NDArray[np.bool_]  # arrangements × kinds: a member of that kind


def body_names(codes: Collection[Any], names: Collection[Any]) -> dict[str, str]:
    """Code to name, for :func:`evidence_record`."""
    return {str(c): str(n) for c, n in zip(codes, names, strict=True)}


def partner_labels(row: Mapping[Any, Any], names: Mapping[str, str] | None) -> list[str]:
    """A comparable arrangement's partners as the register's own lists name them
    (:func:`listed_partners`): each body once, by its name today (``names``: code to name),
    a former council by the name its source gave with what it is now ("Forest Heath (now West
    Suffolk)"), a council renamed since by its name now ("Folkestone and Hythe", which its
    source wrote "Shepway"), one that left while it ran on said so ("Hammersmith and Fulham
    (left 2022)"). A model saved before it kept its members as given (``member_given``), or no
    ``names``: the names its source gave, each once, who left said so."""
    given = row.get("member_given")
    if names is None or not isinstance(given, list) or not given:
        return left_labels(str(row["name"]), list(dict.fromkeys(row.get("member_names") or [])))
    left = exits_of(str(row["name"]), bool(row.get("simulated")))
    members = []
    for code, as_given, resolution in given:
        reading = left.get(code) if code else None
        members.append(
            {
                "body_code": code or None,
                "name_as_given": as_given,
                "resolution": resolution,
                "name": names.get(code, as_given) if code else as_given,
                "left": reading is not None,
                "left_year": None if reading is None else reading.year,
            }
        )
    return [p["label"] for p in listed_partners(members)]


def evidence_record(
    row: Mapping[Any, Any], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An arrangement as shown next to a suggestion (its partners named as ``names``, code to
    name, names the bodies today: :func:`partner_labels`)."""

    def num(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    start, period = row.get("start_year"), row.get("savings_period_years")
    end = row.get("end_year")
    codes = [str(c) for c in row.get("member_codes") or []]
    return {
        "id": row["id"],
        "name": row["name"],
        "service": row["service"],
        "partner_names": partner_labels(row, names),
        "start_year": None if start is None or pd.isna(start) else int(start),
        # Said beside it ("from 2008 to 2021"): a comparable arrangement may have ended,
        # its year known or not (the register's status "ended" with no year).
        "end_year": None if end is None or pd.isna(end) else int(end),
        "ended": has_ended(end, row.get("status")),
        # Between bodies that have all since become one (Suffolk Coastal and Waveney, now East
        # Suffolk): no longer running, said so beside it ("2008–merged").
        # (on a scenario's map, its compact register says so: merged_today)
        "merged": bool(row.get("merged_today")) or one_body(codes),
        # Read as ended only because a limited term its source gives has passed: said so
        # beside it ("2024–term passed"), not "ended".
        "term_passed": term_passed(
            {"name": row["name"], "end_year": end, "status": row.get("status")}
        ),
        "annual_savings_gbp": num(row.get("annual_savings_gbp")),
        "savings_gbp": num(row.get("savings_gbp")),
        "savings_basis": row.get("savings_basis"),
        # None also from a model trained before it was kept: the basis and figures still tell
        # whether the rule read a projected figure with no period as a year (charts.savings_said)
        "savings_period_years": None if period is None or pd.isna(period) else int(period),
        "source": row.get("source"),
        "simulated": bool(row.get("simulated")),
    }


# --- importance -------------------------------------------------------------------------------
def feature_importance(
    model: TrainedModel, *, bodies: int = 40, top: int = 5, random_state: int = 0
) -> list[dict[str, Any]]:
    """Mean absolute effect of each factor over the top suggestions of a sample of bodies."""
    from recommender.model.scoring import Scorer

    ctx = model.context
    scorer = Scorer(ctx, model.components, model.snapshot, model.p_enter)
    rng = np.random.default_rng(random_state)
    names = [*FACTORS, "history", "savings"]
    totals = np.zeros(len(names))
    count = 0
    for f in rng.choice(ctx.pairs.n, size=min(bodies, ctx.pairs.n), replace=False):
        services = np.flatnonzero(ctx.bodies.eligible[:, f])
        if not len(services):
            continue
        scored = scorer.query(int(f), int(rng.choice(services)))
        order = np.argsort(-np.where(scored.existing, -np.inf, scored.expected))[:top]
        if len(order):
            totals += np.abs(factor_effects(scorer, scored, order)).sum(axis=0)
            count += len(order)
    mean = totals / max(count, 1)
    return [
        {
            "factor": names[j],
            "label": FACTOR_LABELS[names[j]],
            "mean_abs_effect": round(float(mean[j]), 3),
        }
        for j in np.argsort(-mean)
    ]
