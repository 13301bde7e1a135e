"""The comparison page: two or three candidate partners of a body side by side
(:mod:`recommender.recommend.compare`). A GET page like the others: the suggestions table's
"Compare"
boxes submit to it without JavaScript, and it prints as it shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from recommender.core.errors import InvalidInput
from recommender.core.kinds import named
from recommender.model.explain import DIRECTION_WORDS, MARKERS, border_length
from recommender.model.horizon import HORIZON_YEARS
from recommender.recommend.compare import FEWEST, MOST, compare
from recommender.reference import lookup as reference
from recommender.webapp.state import state

bp = Blueprint("compare", __name__)
RELATIONS = {
    "touches": "shares {km} of border with {body}",
    "within": "its area contains {body}",
    "contains": "lies within {body}",
    "overlaps": "its area overlaps {body}'s",
    "same": "covers the same area as {body}",
}


def _where(candidate: Any, body: Mapping[str, Any]) -> str:
    """Where a candidate lies from the body, as its reasons say it: two nested areas with the
    same people cover the same area (a fire authority and its police force area), not one
    containing the other (:func:`recommender.model.explain.describe`)."""
    nested = candidate.relation in ("within", "contains")
    same = abs(float(candidate.facts["population"]) - float(body["population"])) < 1
    relation = "same" if nested and same else candidate.relation
    said = RELATIONS.get(relation, "no shared border with {body}")
    return said.format(km=border_length(candidate.border_km), body=named(body))


@bp.get("/bodies/<code_or_name>/compare")
def page(code_or_name: str) -> Any:
    """Compare two or three candidate partners of a body, service by service."""
    current = state()
    wanted = [w for w in request.args.getlist("with") if w.strip()][: MOST + 5]
    found = reference.resolve(code_or_name, settings=current.settings)
    if len(found.codes) == 1 and found.codes[0] != code_or_name:
        params: dict[str, Any] = {"with": wanted}
        return redirect(url_for(".page", code_or_name=found.codes[0], **params))
    model = current.models.require()
    try:
        result = compare(model, code_or_name, wanted)
    except InvalidInput as err:  # too few or too many ticked: back to the list, filters kept
        return _choose_again(code_or_name, err, twice=len(set(wanted)) < len(wanted)), 400
    body = result.body
    where = [_where(c, body) for c in result.candidates]
    return render_template(
        "compare.html",
        body=body,
        result=result,
        where=where,
        best={s: _best(result, s) for s, _ in result.services},
        horizon_years=HORIZON_YEARS,
        markers=MARKERS,
        direction_words=DIRECTION_WORDS,
        fewest=FEWEST,
        most=MOST,
    )


def _best(result: Any, service: str) -> str | None:
    """The candidate with the highest expected saving for ``service`` (None if none has one)."""
    ranked = [
        (c.estimates[service].expected or 0.0, c.code)
        for c in result.candidates
        if c.estimates[service].expected and not c.estimates[service].existing
    ]
    return max(ranked)[1] if ranked else None


def _choose_again(code: str, err: InvalidInput, *, twice: bool) -> str:
    """The error page for partners that cannot be compared, leading back to the body's
    suggestions as they were (the page the boxes were ticked on, with its filters)."""
    facts = reference.body(code, state().settings)
    back = url_for("pages.body", code_or_name=code)
    came = urlsplit(request.referrer or "")
    if came.path == back and came.netloc == request.host:
        back = f"{back}?{came.query}" if came.query else back
    return render_template(
        "error.html",
        status=400,
        title="Choose partners to compare",
        detail=err.detail + (" (a partner ticked twice, for two services, counts once)" * twice),
        back={"label": f"Back to the suggestions for {facts['display_name']}", "url": back},
        links=[],
        train_hint=None,
        query="",
    )
