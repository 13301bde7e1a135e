"""The calibration report: every published fact next to the register's own value.

The facts, their sources and the bounds a register must fall in live in
``data/calibration.json``; this module computes each one on a register (arrangements and
members frames, as :func:`recommender.register.records.load_register` returns them) and says whether
it is within its bound. The report is run on the simulated, the real and the combined
register, so anyone can see how close the calibration is and where the real register is too
small to say.

Definitions used throughout:

* *annual savings*: the register's annualised estimate (``annual_savings_gbp``); arrangements
  with no figure (basis ``unknown``) are left out of savings facts, never counted as £0;
* *in place by a date*: arrangements are taken to start in the middle of their start year,
  so a release dated 2014.3 (April 2014) counts those that started by 2013 and one dated
  2019.5 (June 2019) those that started by 2019;
* *cumulative savings at a date*: each arrangement's annual savings times the years it has run
  by then, counting from the middle of its start year (and to its end year, if it ended);
* *councils*: the 317 councils of 2024 (296 lower tier and 21 counties);
* *the real register*: the documented arrangements that ran; one only proposed ("… (proposal)",
  or imported as proposed) never did, so it is no arrangement in place, its councils did not
  share through it and its projection was never saved: it is left out of every register here.

**Which register a fact is checked on** (``checked_on`` in ``calibration.json``): the simulated
register complements the real one, so the LGA's *counts* (arrangements in place at each
release, councils sharing, cumulative and annual savings in £, other bodies' savings in 2014)
are properties of the combined register, the world the LGA counted, and are checked on it;
*shapes* (shares, sizes, the service mix, who leads, which services save most) are checked on
the simulated register on its own. Every value is shown for every register; a fact is marked
within (✓) or outside (✗) its bound only on the register(s) it is checked on. The real register
is a documented sample, not the LGA's count: it is checked against nothing here, and its
partner patterns are what the simulated register is compared with
(:mod:`recommender.simulation.patterns_compare`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from recommender.core.config import Settings
from recommender.core.errors import SourceError
from recommender.core.services import load_services
from recommender.geo.pairs import PairMatrices, build_pair_matrices
from recommender.model.patterns import PairFacts
from recommender.simulation.metrics import METRICS, RegisterView
from recommender.simulation.patterns_compare import PatternsReport, compare

__all__ = [
    "METRICS",
    "REGISTERS",
    "FactResult",
    "RegisterParts",
    "RegisterView",
    "SeedResult",
    "partner_patterns",
    "register_reports",
    "report",
    "seed_scan",
]

REGISTERS = ("simulated", "real", "combined")


@dataclass(frozen=True)
class FactResult:
    """One published fact and a register's value for it."""

    id: str
    published: str
    published_value: float | None
    value: float | None
    bound: tuple[float | None, float | None] | None
    unit: str | None
    detail: str = ""
    checked_on: tuple[str, ...] = ()  # the registers this fact is checked on
    register: str = ""  # the register this value is of

    @property
    def checked(self) -> bool:
        """Whether the fact has a bound and is checked on this register."""
        return self.bound is not None and self.register in self.checked_on

    @property
    def status(self) -> str:
        """``ok``, ``outside``, ``n/a`` (no value) or ``info`` (no bound, or not checked on
        this register)."""
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "n/a"
        if self.bound is None or not self.checked:
            return "info"
        low, high = self.bound
        if (low is not None and self.value < low) or (high is not None and self.value > high):
            return "outside"
        return "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "published": self.published,
            "published_value": self.published_value,
            "value": None if self.status == "n/a" else self.value,  # NaN is not JSON
            "bound": list(self.bound) if self.bound else None,
            "unit": self.unit,
            "status": self.status,
            "detail": self.detail,
            "checked_on": list(self.checked_on),
            "checked": self.checked,
        }


@lru_cache(maxsize=4)
def load_published(path: Path) -> dict[str, Any]:
    """Read ``data/calibration.json``."""
    try:
        payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SourceError(f"{path}: the published calibration facts are missing") from err
    except json.JSONDecodeError as err:
        raise SourceError(f"{path}: not valid JSON ({err})") from err
    return payload


def published_fact(settings: Settings, fact_id: str) -> dict[str, Any] | None:
    """The published fact ``fact_id`` of ``data/calibration.json`` (None if it has none)."""
    facts = load_published(settings.data / "calibration.json").get("facts", [])
    return next((dict(f) for f in facts if f.get("id") == fact_id), None)


def _bound(raw: list[float | None] | None) -> tuple[float | None, float | None] | None:
    return None if raw is None else (raw[0], raw[1])


def release_facts(
    view: RegisterView, releases: list[dict[str, Any]], register: str = "combined"
) -> list[FactResult]:
    """Facts from the LGA release series: arrangements, councils sharing, cumulative savings
    (of ``register``, checked on the registers each release names in ``checked_on``)."""
    out: list[FactResult] = []
    for r in releases:
        date, name = float(r["date"]), r["release"]
        checked_on = tuple(str(c) for c in r.get("checked_on", ()))
        n = len(view.started_by(date))
        out.append(
            FactResult(
                id=f"arrangements_{name.lower().replace(' ', '_')}",
                published=f"{name}: {r['arrangements']} arrangements",
                published_value=r["arrangements"],
                value=float(n),
                bound=(r["arrangements"] * 0.85, r["arrangements"] * 1.15),
                unit="count",
                detail=f"started by {math.floor(date - 0.5)}",
                checked_on=checked_on,
                register=register,
            )
        )
        if r.get("councils_share") is not None:
            share = float(r["councils_share"])
            # "at least 95%" and "every council" are floors; 62% (2011) is a point value.
            bound = (share - 0.1, share + 0.1) if share < 0.9 else (share - 0.02, 1.0)
            out.append(
                FactResult(
                    id=f"councils_sharing_{name.lower().replace(' ', '_')}",
                    published=f"{name}: {r['councils_text']} sharing",
                    published_value=share,
                    value=view.councils_share(date),
                    bound=bound,
                    unit="share",
                    detail="share of today's 317 councils in at least one arrangement",
                    checked_on=checked_on,
                    register=register,
                )
            )
        final = r is releases[-1]
        out.append(
            FactResult(
                id=f"cumulative_savings_{name.lower().replace(' ', '_')}",
                published=f"{name}: {r['savings_text']}",
                published_value=r["savings_gbp"],
                value=view.cumulative_savings(date),
                # Only the last, most complete release is checked; the earlier ones are shown.
                bound=(r["savings_gbp"] * 0.75, r["savings_gbp"] * 1.25) if final else None,
                unit="gbp",
                detail="annual savings times years running, from mid start year",
                checked_on=checked_on,
                register=register,
            )
        )
    return out


def report(
    arrangements: pd.DataFrame,
    members: pd.DataFrame,
    bodies: pd.DataFrame,
    pairs: PairMatrices,
    services: pd.DataFrame,
    settings: Settings,
    register: str = "simulated",
) -> list[FactResult]:
    """Compute every published fact for one register (``register`` names it: the facts are
    checked on it where ``calibration.json`` says so)."""
    published = load_published(settings.data / "calibration.json")
    view = RegisterView(arrangements, members, bodies, pairs, services)
    results = release_facts(view, published["releases"], register)
    for fact in published["facts"]:
        metric = METRICS[fact["metric"]]
        value, detail = metric(view, fact.get("params", {}))
        results.append(
            FactResult(
                id=fact["id"],
                published=fact["published"],
                published_value=fact.get("value"),
                value=value,
                bound=_bound(fact.get("bound")),
                unit=fact.get("unit"),
                detail=detail,
                checked_on=tuple(fact.get("checked_on", ())),
                register=register,
            )
        )
    return results


@dataclass(frozen=True)
class RegisterParts:
    """The database's register split into its simulated, real and combined parts, with the
    reference the facts and patterns are computed over."""

    parts: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    bodies: pd.DataFrame
    pairs: PairMatrices
    services: pd.DataFrame

    @classmethod
    def load(cls, settings: Settings) -> RegisterParts:
        """Read the register from the database and the reference from ``data/``."""
        from recommender.reference.lookup import load_adjacency, load_bodies  # deferred: costly
        from recommender.register.records import load_register, proposed_rows

        arrangements, members = load_register(settings)
        shapes = load_bodies(settings)
        bodies = pd.DataFrame(shapes.drop(columns=shapes.geometry.name)).sort_index()
        pairs = build_pair_matrices(bodies, load_adjacency(settings))
        simulated = arrangements["simulated"].astype(bool)
        real = ~simulated & ~proposed_rows(arrangements)  # one only proposed never ran
        keep = {"simulated": simulated, "real": real, "combined": simulated | real}
        parts = {}
        for name in REGISTERS:
            part = arrangements[keep[name]]
            parts[name] = (part, members[members["arrangement_id"].isin(part["id"])])
        return cls(parts, bodies, pairs, load_services(settings))


def register_reports(
    settings: Settings,
    registers: tuple[str, ...] = REGISTERS,
    parts: RegisterParts | None = None,
) -> dict[str, list[FactResult]]:
    """Compute every published fact for the database's register: its simulated arrangements,
    its real ones and both together (``registers`` picks among :data:`REGISTERS`)."""
    parts = parts or RegisterParts.load(settings)
    return {
        name: report(*parts.parts[name], parts.bodies, parts.pairs, parts.services, settings, name)
        for name in registers
    }


def partner_patterns(parts: RegisterParts) -> PatternsReport:
    """Compare the partner patterns of the register's simulated and real parts
    (:mod:`recommender.simulation.patterns_compare`)."""
    facts = PairFacts.build(parts.bodies, parts.pairs)
    return compare(parts.parts["real"], parts.parts["simulated"], facts, parts.services)


@dataclass(frozen=True)
class SeedResult:
    """What one seed's simulated register misses: facts outside their bounds, patterns
    outside their tolerance."""

    seed: int
    facts_outside: tuple[str, ...]
    patterns_outside: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.facts_outside and not self.patterns_outside


def seed_scan(seeds: Iterable[int], settings: Settings) -> list[SeedResult]:
    """Simulate the default register's simulated part with each seed (complementing the
    database's real register, at the default size) and check it as the shipped one is checked:
    every published fact on the register(s) it is checked on, every partner pattern."""
    from recommender.simulation.default_register import _simulate, size_for

    parts = RegisterParts.load(settings)
    real = parts.parts["real"]
    facts = PairFacts.build(parts.bodies, parts.pairs)
    size = size_for(real[0])
    out = []
    for seed in seeds:
        arrangements, members = _simulate(settings, seed, size, real)
        simulated = (arrangements.assign(simulated=True), members)
        combined = (
            pd.concat([real[0], simulated[0]], ignore_index=True),
            pd.concat([real[1], simulated[1]], ignore_index=True),
        )
        outside = [
            r.id
            for name, (a, m) in (("simulated", simulated), ("combined", combined))
            for r in report(a, m, parts.bodies, parts.pairs, parts.services, settings, name)
            if r.checked and r.status != "ok"
        ]
        patterns = compare(real, simulated, facts, parts.services).patterns
        missed = tuple(p.id for p in patterns if p.status != "ok")
        out.append(SeedResult(seed, tuple(outside), missed))
    return out


def summary(name: str, results: list[FactResult]) -> str:
    """Return one line: how many of the facts checked on a register it is within."""
    checked = [r.status for r in results if r.checked]
    elsewhere = sum(r.bound is not None and not r.checked for r in results)
    if not checked:
        return (
            f"{name}: no published fact is checked on it ({elsewhere} checked on another "
            f"register, {len(results) - elsewhere} shown for information only)"
        )
    return (
        f"{name}: {checked.count('ok')} of {len(checked)} facts checked on it within their "
        f"published bounds ({checked.count('outside')} outside, {checked.count('n/a')} not "
        f"applicable; {elsewhere} checked on another register, "
        f"{len(results) - len(checked) - elsewhere} shown for information only)"
    )


def format_bound(bound: tuple[float | None, float | None] | None, unit: str | None) -> str:
    """Format a fact's bound for a table cell: ``a–b``, ``≥ a``, ``≤ b`` or one value."""
    if bound is None:
        return ""
    low, high = bound
    if low is not None and high is not None:
        if low == high:
            return format_value(low, unit)
        return f"{format_value(low, unit)}–{format_value(high, unit)}"
    if low is not None:
        return f"≥ {format_value(low, unit)}"
    return f"≤ {format_value(high, unit)}" if high is not None else ""


def format_value(value: float | None, unit: str | None) -> str:
    """Format a fact's value for a table cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "gbp":
        return f"£{value / 1e6:,.1f}m" if abs(value) >= 1e6 else f"£{value:,.0f}"
    if unit == "share":
        return f"{value:.2f}"
    if unit == "flag":
        return "yes" if value >= 1 else "no"
    if unit == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"
