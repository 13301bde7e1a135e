"""The published facts' metrics: each computes one fact on a register (:class:`RegisterView`).

Used by :mod:`recommender.simulation.calibration`, whose docstring gives the definitions (annual
savings,
in place by a date, cumulative savings, councils). Each metric takes the register's view and
the fact's ``params`` from ``data/calibration.json`` and returns its value (None when the
register cannot say) and a line of detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from recommender.geo.pairs import PairMatrices
from recommender.reference.lookup import OTHER_KINDS

CORE_BACK_OFFICE = ("legal", "finance_audit", "hr_payroll", "ict", "revenues_benefits")
PROCUREMENT_PROPERTY = ("procurement", "property_assets")


class RegisterView:
    """A register with what the facts need precomputed (sizes, leads, tiers, kinds)."""

    def __init__(
        self,
        arrangements: pd.DataFrame,
        members: pd.DataFrame,
        bodies: pd.DataFrame,
        pairs: PairMatrices,
        services: pd.DataFrame,
    ) -> None:
        self.a = arrangements.set_index("id", drop=False)
        known = members[members["body_code"].notna() & members["body_code"].isin(bodies.index)]
        self.m = known.copy()
        self.m["tier"] = bodies["tier"].reindex(self.m["body_code"]).to_numpy()
        self.m["kind"] = bodies["kind"].reindex(self.m["body_code"]).to_numpy()
        self.bodies = bodies
        self.pairs = pairs
        self.office = services["office"]
        self.a["n_partners"] = members.groupby("arrangement_id").size().reindex(self.a.index)
        self.a["annual"] = pd.to_numeric(self.a["annual_savings_gbp"], errors="coerce").astype(
            float
        )
        self.a["start"] = pd.to_numeric(self.a["start_year"], errors="coerce").astype(float)
        end = self.a["end_year"] if "end_year" in self.a else pd.Series(np.nan, index=self.a.index)
        self.a["end"] = pd.to_numeric(end, errors="coerce").astype(float)
        self.councils = set(bodies.index[bodies["kind"] == "council"])

    def started_by(self, date: float) -> pd.DataFrame:
        return self.a[self.a["start"] + 0.5 <= date]

    def cumulative_savings(self, date: float) -> float:
        start = self.a["start"] + 0.5
        stop = self.a["end"].fillna(np.inf).clip(upper=date)
        years = (stop - start).clip(lower=0).fillna(0)
        return float((self.a["annual"].fillna(0) * years).sum())

    def councils_share(self, date: float) -> float:
        ids = self.started_by(date).index
        involved = set(self.m.loc[self.m["arrangement_id"].isin(ids), "body_code"])
        return len(involved & self.councils) / len(self.councils)

    def has_other_body(self) -> pd.Series:
        other = self.m["kind"].isin(OTHER_KINDS)
        flags = other.groupby(self.m["arrangement_id"]).any()
        return flags.reindex(self.a.index, fill_value=False).astype(bool)

    def active_in(self, year: int) -> pd.Series:
        return (self.a["start"] <= year) & ~(self.a["end"] < year)


Metric = Callable[[RegisterView, dict[str, Any]], tuple[float | None, str]]


def _share_under(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    s = v.a["annual"].dropna()
    if s.empty:
        return None, "no annual figures"
    return float((s < p["threshold"]).mean()), f"{len(s)} arrangements with a figure"


def _largest_saving(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    s = v.a["annual"].dropna()
    if s.empty:
        return None, "no annual figures"
    return float(s.max()), str(v.a["name"].get(s.idxmax(), ""))


def _share_no_aim(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    aim = v.a["savings_aim"].dropna().astype(bool)
    if aim.empty:
        return None, "no aims recorded"
    return float((~aim).mean()), f"{int((~aim).sum())} of {len(aim)}"


def _size_share(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    n = v.a["n_partners"].dropna()
    if n.empty:
        return None, ""
    hit = n.between(p["min"], p["max"])
    return float(hit.mean()), f"{int(hit.sum())} of {len(n)}"


def _largest_size(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    n = v.a["n_partners"].dropna()
    return (float(n.max()), str(v.a["name"].get(n.idxmax(), ""))) if len(n) else (None, "")


def _best_size_per_partner(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    a = v.a.dropna(subset=["annual", "n_partners"])
    if a.empty:
        return None, ""
    size = a["n_partners"].clip(upper=5)
    per = (a["annual"] / a["n_partners"]).groupby(size).mean()
    sizes = [int(str(k)) for k in per.index]
    text = ", ".join(
        f"{k}{'+' if k == 5 else ''}: £{val:,.0f}" for k, val in zip(sizes, per, strict=True)
    )
    return float(sizes[int(np.argmax(per.to_numpy()))]), "mean per partner by size: " + text


def _district_led(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    ids = v.a.index[v.a["start"] <= p["until"]]
    m = v.m[v.m["arrangement_id"].isin(ids)].sort_values(["arrangement_id", "position"])
    leads = m.drop_duplicates("arrangement_id")  # the first-listed member leads
    if leads.empty:
        return None, "no arrangements"
    share = float((leads["tier"] == "district").mean())
    return share, f"{int((leads['tier'] == 'district').sum())} of {len(leads)}"


def _district_only_vs_mixed(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    ids = v.a.index[v.a["start"] <= p["until"]]
    tiers = v.m[v.m["arrangement_id"].isin(ids)].groupby("arrangement_id")["tier"].agg(set)
    only = sum(t == {"district"} for t in tiers)
    mixed = sum("district" in t and bool(t & {"county", "unitary"}) for t in tiers)
    if not mixed:
        return None, f"{only} district-only, 0 mixed"
    return only / mixed, f"{only} district-only against {mixed} with a county or unitary"


def _member_pairs(v: RegisterView) -> pd.DataFrame:
    m = v.m[["arrangement_id", "body_code", "tier", "kind"]]
    pairs = m.merge(m, on="arrangement_id", suffixes=("_a", "_b"))
    return pairs[pairs["body_code_a"] < pairs["body_code_b"]]


def _same_tier_share(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    pairs = _member_pairs(v)
    pairs = pairs[(pairs["kind_a"] == "council") & (pairs["kind_b"] == "council")]
    if pairs.empty:
        return None, ""
    same = pairs["tier_a"] == pairs["tier_b"]
    return float(same.mean()), f"{int(same.sum())} of {len(pairs)} council pairs"


def _neighbour_share(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    touching = 0
    total = 0
    for _, group in v.m.groupby("arrangement_id"):
        if len(group) < 2:
            continue
        idx = v.pairs.positions(group["body_code"])
        t = v.pairs.touches[np.ix_(idx, idx)] | v.pairs.nested[np.ix_(idx, idx)]
        touching += int(t.any(axis=1).sum())
        total += len(idx)
    if not total:
        return None, ""
    return touching / total, f"{touching} of {total} partners border or lie within another partner"


def _back_front_ratio(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    office = v.a["service"].map(v.office)
    back, front = int((office == "back").sum()), int((office == "front").sum())
    return (back / front if front else None), f"{back} back office, {front} front line"


def _group_of(service: pd.Series) -> pd.Series:
    return pd.Series(
        np.select(
            [
                service.isin(PROCUREMENT_PROPERTY),
                service.isin(CORE_BACK_OFFICE),
                service.eq("management_chief_exec"),
            ],
            ["procurement and property", "core back office", "shared management"],
            "front line and other",
        ),
        index=service.index,
    )


def _procurement_property_top(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    a = v.a.dropna(subset=["annual"])
    if a.empty:
        return None, ""
    means = a["annual"].groupby(_group_of(a["service"])).mean().sort_values(ascending=False)
    text = "; ".join(f"{k} £{val:,.0f}" for k, val in means.items())
    return float(means.index[0] == "procurement and property"), "mean per arrangement: " + text


def _core_back_office_smaller(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    a = v.a.dropna(subset=["annual"])
    core = a["service"].isin(CORE_BACK_OFFICE)
    if not core.any() or core.all():
        return None, ""
    mine, rest = a.loc[core, "annual"].median(), a.loc[~core, "annual"].median()
    return float(mine < rest), f"median £{mine:,.0f} against £{rest:,.0f} for the rest"


def _early_service_share(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    early = v.a[v.a["start"] <= p["until"]]
    if early.empty:
        return None, ""
    hit = early["service"].isin(p["services"])
    return float(hit.mean()), f"{int(hit.sum())} of {len(early)}"


def _service_most_councils(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    ids = v.a.index[v.a["start"] <= p["until"]]
    m = v.m[v.m["arrangement_id"].isin(ids) & v.m["body_code"].isin(v.councils)]
    if m.empty:
        return None, ""
    service = v.a["service"].reindex(m["arrangement_id"]).to_numpy()
    counts = pd.Series(m["body_code"].to_numpy()).groupby(service).nunique()
    counts = counts.sort_values(ascending=False)
    text = ", ".join(f"{k} {n}" for k, n in counts.head(3).items())
    return float(counts.index[0] == p["service"]), "councils involved: " + text


def _front_share_growth(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    front = v.a["service"].map(v.office) == "front"
    before, after = front[v.a["start"] < p["from"]], front[v.a["start"] >= p["from"]]
    if before.empty or after.empty:
        return None, ""
    return float(after.mean() > before.mean()), (
        f"front-line share {before.mean():.2f} before {p['from']}, {after.mean():.2f} after"
    )


def _other_bodies_share(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    flags = v.has_other_body()
    return float(flags.mean()), f"{int(flags.sum())} of {len(flags)}"


def _other_bodies_better(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    flags = v.has_other_body()
    annual = v.a["annual"]
    with_, without = annual[flags].dropna(), annual[~flags].dropna()
    if with_.empty or without.empty:
        return None, "too few figures"
    return float(with_.median() > without.median()), (
        f"median £{with_.median():,.0f} with another public body, £{without.median():,.0f} without"
    )


def _annual_in_year(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    active = v.active_in(p["year"])
    return float(v.a.loc[active, "annual"].fillna(0).sum()), f"{int(active.sum())} active"


def _other_bodies_in_year(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    active = v.active_in(p["year"]) & v.has_other_body()
    return float(v.a.loc[active, "annual"].fillna(0).sum()), f"{int(active.sum())} active"


def _savings_group_shares(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    a = v.started_by(p["date"]).dropna(subset=["annual"])
    office = a["service"].map(v.office)
    group = np.where(
        a["service"].isin(PROCUREMENT_PROPERTY),
        "procurement and assets",
        np.where(office == "back", "back office", "customer-facing"),
    )
    totals = a["annual"].groupby(group).sum()
    if totals.sum() <= 0:
        return None, ""
    shares = totals / totals.sum()
    return None, "; ".join(f"{k} {val:.0%}" for k, val in shares.items())


def _not_modelled(v: RegisterView, p: dict[str, Any]) -> tuple[float | None, str]:
    return None, f"not reproduced: {p['why']}"


METRICS: dict[str, Metric] = {
    "share_under": _share_under,
    "largest_saving": _largest_saving,
    "share_no_aim": _share_no_aim,
    "size_share": _size_share,
    "largest_size": _largest_size,
    "best_size_per_partner": _best_size_per_partner,
    "district_led_share": _district_led,
    "district_only_vs_mixed": _district_only_vs_mixed,
    "same_tier_share": _same_tier_share,
    "neighbour_share": _neighbour_share,
    "back_front_ratio": _back_front_ratio,
    "procurement_property_top": _procurement_property_top,
    "core_back_office_smaller": _core_back_office_smaller,
    "early_service_share": _early_service_share,
    "service_most_councils": _service_most_councils,
    "front_share_growth": _front_share_growth,
    "other_bodies_share": _other_bodies_share,
    "other_bodies_better": _other_bodies_better,
    "annual_savings_in_year": _annual_in_year,
    "other_bodies_savings_in_year": _other_bodies_in_year,
    "savings_group_shares": _savings_group_shares,
    "not_modelled": _not_modelled,
}
