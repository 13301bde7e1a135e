"""The advisor's briefing: a printable document about one body's sharing opportunities.

``recommender briefing BODY [--service S] --out FILE.pdf|FILE.html`` and the download button
on a body's page both call :func:`write_briefing`. The document holds the body's facts, its
existing arrangements, the top opportunities with ranges and reasons, the best partner group,
the comparable arrangements and what they saved, a map and a chart, the model version and
how to read the figures, and the data sources with their attribution. Every figure in it is
computed from the reference data, the register and the promoted model when it is made.

HTML comes from the ``briefing.html`` Jinja template in ``web/templates`` (maps and charts
inline as SVG, styles inline: one self-contained file); PDF is that HTML printed by
WeasyPrint.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from recommender import charts, maps
from recommender.config import Settings
from recommender.errors import InvalidInput
from recommender.ranking import Query, Recommender, likelihood_words
from recommender.scoring import HORIZON_YEARS
from recommender.sources import MYSOCIETY_ATTRIBUTION, ONS_ATTRIBUTION, SIMULATED_NOTE, SOURCES

TOP = 8
FORMATS = (".pdf", ".html")


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
    existing = place.arrangements
    found = rec.recommend(Query(code, service=service, k=TOP))
    top_service = service or (found[0].service if found else None)
    groups = rec.groups(code, top_service, k=3) if top_service else []
    evidence = _unique_evidence(found)
    names = {r.partner_code: r.partner_name for r in found}
    values: dict[str, float] = {}
    for r in found:
        values[r.partner_code] = max(values.get(r.partner_code, 0.0), r.expected_savings_gbp or 0.0)
    existing_partners = {
        m["body_code"]
        for a in existing
        for m in a["members"]
        if m["body_code"] and m["body_code"] != code
    }
    map_svg = maps.render_map(
        focal=code,
        values=values,
        value_label="expected annual savings",
        existing=existing_partners,
        zoom_to=[code, *values],
        names=names,
        title=f"{facts['display_name']}: suggested and existing partners",
        width=640,
        settings=settings,
        layers=rec.map_layers(),
    )
    chart_svg = charts.range_chart(
        [
            (
                f"{r.partner_name}: {r.service_label}",
                r.savings_low_gbp,
                r.savings_gbp,
                r.savings_high_gbp,
            )
            for r in found
        ],
        title=f"Annual savings if each partnership forms ({_coverage(rec):.0%} interval)",
        log=True,
    )
    meta = rec.describe()
    return {
        "generated_at": datetime.now(UTC).strftime("%d %B %Y"),
        "body": facts,
        "place_note": place.note,
        "neighbours": neighbours,
        "containers": containers,
        "existing": existing,
        "service": service,
        "recommendations": [
            r.to_dict() | {"likelihood_words": _words(r.likelihood)} for r in found
        ],
        "groups": [g.to_dict() for g in groups],
        "group_service": top_service,
        "evidence": evidence,
        "map_svg": map_svg,
        "chart_svg": chart_svg,
        "model": meta,
        "headline": _headline(meta),
        "sources": SOURCES,
        "attribution": [ONS_ATTRIBUTION, MYSOCIETY_ATTRIBUTION],
        "simulated_note": SIMULATED_NOTE,
        "horizon_years": HORIZON_YEARS,
        "coverage": _coverage(rec),
        "no_aim_share": _no_aim_share(settings),
        "measured_coverage": _measured_coverage(meta),
        "money": charts.money,
    }


def _coverage(rec: Recommender) -> float:
    savings = rec.model.components.savings
    return float(savings.coverage) if savings is not None else 0.8


def _measured_coverage(meta: dict[str, Any]) -> float | None:
    """Share of held-out real savings figures inside the interval (leave one partnership
    out), if the model was evaluated: the real coverage, never a simulated one."""
    for row in meta.get("evaluation", {}).get("savings", []):
        if (row["protocol"], row["subset"], row["method"]) == ("lopo", "real", "model"):
            return float(row["coverage80"])
    return None


def _no_aim_share(settings: Settings) -> float | None:
    """The LGA's published share of arrangements not set up to save money (2018), as
    ``data/calibration.json`` records it."""
    from recommender.calibration import load_published

    facts = load_published(settings.data / "calibration.json").get("facts", [])
    for fact in facts:
        if fact.get("id") == "no_savings_aim" and fact.get("value") is not None:
            return float(fact["value"])
    return None


def _words(likelihood: float | None) -> str:
    return "" if likelihood is None else likelihood_words(likelihood)


def _unique_evidence(found: list[Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in found:
        for e in r.evidence:
            seen.setdefault(e["id"], e)
    return sorted(seen.values(), key=lambda e: (e["simulated"], e["service"], e["name"]))[:12]


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
    return {"model": model, "best": best}


def render_html(context: dict[str, Any], settings: Settings) -> str:
    """The briefing as one self-contained HTML document."""
    env = Environment(
        loader=FileSystemLoader(str(settings.web / "templates")),
        autoescape=select_autoescape(["html"]),
    )
    template = env.get_template("briefing.html")
    return template.render(**context)


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
    html = render_html(briefing_context(rec, body, service, settings), settings)
    data = html.encode() if suffix == ".html" else pdf_bytes(html, settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def pdf_bytes(html: str, settings: Settings) -> bytes:
    """Print the HTML to PDF with WeasyPrint (no network: every resource is inline)."""
    from weasyprint import HTML

    return bytes(HTML(string=html, base_url=str(settings.web)).write_pdf())
