"""The comparison page: two or three candidate partners of a body side by side
(:mod:`recommender.recommend.compare`). A GET page like the others: the suggestions table's
"Compare"
boxes submit to it without JavaScript, and it prints as it shows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from recommender.model.explain import DIRECTION_WORDS, MARKERS, border_length
from recommender.model.scoring import HORIZON_YEARS
from recommender.recommend.compare import FEWEST, MOST, compare
from recommender.reference import lookup as reference
from recommender.webapp.state import state

bp = Blueprint("compare", __name__)
RELATIONS = {
    "touches": "shares {km} of border with {body}",
    "within": "its area contains {body}",
    "contains": "lies within {body}",
    "overlaps": "its area overlaps {body}'s",
}


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
    result = compare(model, code_or_name, wanted)
    body = result.body
    where = [
        RELATIONS.get(c.relation, "no shared border with {body}").format(
            km=border_length(c.border_km), body=body["display_name"]
        )
        for c in result.candidates
    ]
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
