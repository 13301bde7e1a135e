"""Two or three candidate partners of a body side by side: their facts, where they stand from
the body, the real arrangements they already share with it, and what each service would be
worth with each (likelihood, saving if formed and its range, expected saving), with the
reasons behind their best service.

Every figure comes from the reference data, the observed (real) register and the promoted
model's scores, as the body's page shows them: a candidate's estimate for a service is its row
in that service's scored query (:meth:`recommender.model.scoring.Scorer.query`), so the comparison
and the suggestions table never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.core.services import load_services
from recommender.model.explain import Reason, governance_note, in_text, reasons
from recommender.recommend.ranking import Recommender
from recommender.reference import lookup as reference
from recommender.register import records as reg

MOST, FEWEST = 3, 2


@dataclass(frozen=True)
class Estimate:
    """What one service would be worth with one candidate (None figures: not a candidate)."""

    service: str
    label: str
    likelihood: float | None
    expected: float | None
    savings: float | None
    low: float | None
    high: float | None
    existing: bool = False  # already shares it with the body: not a new opportunity
    through: str | None = None  # only through bodies now gone: Recommender.existing_through


@dataclass
class Candidate:
    """One candidate partner and how it stands against the body."""

    facts: dict[str, Any]
    distance_km: float
    border_km: float
    relation: str  # "touches", "within", "contains", "overlaps" or ""
    shared: list[dict[str, Any]]  # the real arrangements with the body
    note: Reason | None
    estimates: dict[str, Estimate] = field(default_factory=dict)
    best: Estimate | None = None
    why: list[Reason] = field(default_factory=list)

    @property
    def code(self) -> str:
        return str(self.facts["code"])


@dataclass
class Comparison:
    """The body, the services compared (best first) and the candidates."""

    body: dict[str, Any]
    services: list[tuple[str, str]]  # (id, label)
    candidates: list[Candidate]


def check_partners(body: str, partners: Sequence[str], settings: Settings) -> list[str]:
    """The partners' codes, once each, in the order given; between two and three of them,
    none of them the body itself (raises :class:`InvalidInput`, or ``UnknownBody``)."""
    try:
        codes = list(dict.fromkeys(reference.body(p, settings)["code"] for p in partners))
    except UnknownBody as err:
        err.field = "with"  # a partner, not the body the page is about
        raise
    if body in codes:
        raise InvalidInput(
            "a body is not compared with itself: choose other partners", field="with"
        )
    if not FEWEST <= len(codes) <= MOST:
        raise InvalidInput(
            f"choose {FEWEST} or {MOST} partners to compare, not {len(codes)}", field="with"
        )
    return codes


def _never_partners(ctx: Any, f: int, p: int) -> str:
    """Why a fire and rescue authority and the body that runs it are never partners: a county
    council is the fire authority (one body); a commissioner or a mayor governs both."""
    first = in_text(ctx.bodies, p)
    names = f"{first[:1].upper()}{first[1:]} and {in_text(ctx.bodies, f)}"
    note = ctx.pairs.governors.get((f, p)) or ctx.pairs.governors.get((p, f))
    governance = note.governance if note is not None else "county_council"
    if note is not None and governance == "pfcc":
        governor = note.name if note.name.startswith("the ") else f"the {note.name}"
        why = f"are both governed by {governor}, which is the fire and rescue authority"
    elif governance == "mayor":
        why = "are one body (a fire and rescue authority and the authority whose mayor runs it)"
    else:
        why = "are one body (a fire and rescue authority and the council that is it)"
    return f"{names} {why}, never partners: choose other partners"


def compare(rec: Recommender, body: str, partners: Sequence[str]) -> Comparison:
    """Compare ``partners`` (codes or names) as partners of ``body``."""
    settings = rec.settings
    ctx, model, scorer = rec.model.context, rec.model, rec.scorer
    f = rec.body_position(body)
    code = str(ctx.pairs.codes[f])
    codes = check_partners(code, partners, settings)
    positions = [rec.body_position(c) for c in codes]
    for p in positions:
        if ctx.table.runs[f, p]:
            raise InvalidInput(_never_partners(ctx, f, p), field="with")
    adjacency = reference.load_adjacency(settings)
    mine = adjacency[adjacency["code_a"] == code].set_index("code_b")
    # As the body's list shows them (one it left, ended for it), and for each candidate one
    # the candidate left, ended for the two (:func:`~recommender.register.records.as_member`).
    arrangements = [
        reg.as_member(a, code) for a in reg.query(reg.Filters(body=code), settings=settings)
    ]
    candidates = [
        Candidate(
            facts=reference.body(c, settings),
            distance_km=float(ctx.pairs.dist_km[f, p]),
            border_km=float(ctx.pairs.border_km[f, p]),
            relation=str(mine.at[c, "relation"]) if c in mine.index else "",
            shared=[
                reg.as_member(a, c)
                for a in arrangements
                if c in {m["body_code"] for m in a["members"]}
            ],
            note=governance_note(model, f, p),
        )
        for c, p in zip(codes, positions, strict=True)
    ]
    labels = {str(k): str(v) for k, v in load_services(settings)["label"].items()}
    services = [int(s) for s in np.flatnonzero(ctx.bodies.eligible[:, f])]
    for s in services:
        scored = scorer.query(f, s)
        where = {int(c): i for i, c in enumerate(scored.candidate)}
        label = labels.get(ctx.services[s], ctx.services[s])
        for candidate, p in zip(candidates, positions, strict=True):
            i = where.get(p)
            candidate.estimates[ctx.services[s]] = (
                Estimate(ctx.services[s], label, None, None, None, None, None)
                if i is None
                else Estimate(
                    service=ctx.services[s],
                    label=label,
                    likelihood=float(scored.likelihood[i]),
                    expected=float(scored.expected[i]),
                    savings=_figure(scored.savings[i]),
                    low=_figure(scored.low[i]),
                    high=_figure(scored.high[i]),
                    existing=bool(scored.existing[i]),
                    through=(
                        rec.existing_through(code, candidate.code, ctx.services[s])
                        if scored.existing[i]
                        else None
                    ),
                )
            )
            fresh = candidate.estimates[ctx.services[s]]
            if (
                fresh.expected is not None
                and not fresh.existing
                and (candidate.best is None or fresh.expected > (candidate.best.expected or 0.0))
            ):
                candidate.best = fresh
                candidate.why = reasons(model, scorer, scored, np.array([i], dtype=np.intp))[0]
    order = sorted(
        services,
        key=lambda s: -max((c.estimates[ctx.services[s]].expected or 0.0) for c in candidates),
    )
    return Comparison(
        body=reference.body(code, settings),
        services=[(ctx.services[s], labels.get(ctx.services[s], ctx.services[s])) for s in order],
        candidates=candidates,
    )


def _figure(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
