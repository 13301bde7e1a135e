"""Why a suggestion ranks where it does, and the real arrangements behind it.

**Reasons** come from the model, not from fixed text. For a suggestion (focal body, partner,
service) each factor — shared border, distance, same area, tiers, size, deprivation and
density, shared history, the partner's experience, who already shares the service — is set
in turn to its value for a typical candidate of the focal body (the median over its
candidates for that service), and the change in the suggestion's score (log of choice score
times savings if formed) is that factor's effect. The factors with the largest effects become
plain-English sentences with their actual values; the sign says whether the factor raises or
lowers the suggestion.

**Evidence** is the most comparable real arrangements (the model's observed register, never
a simulated one): same service, sharing a member with the pair, then nearby and of a similar
size.

**Importance** (for the model page) is the mean absolute effect of each factor over the top
suggestions of a sample of bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.features import GROUP_NUMERIC, PAIR_NUMERIC

if TYPE_CHECKING:
    from recommender.training import TrainedModel

IntArray = npt.NDArray[np.intp]

# factor: (pair feature columns, group feature columns)
FACTORS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "border": (("touches", "border_km"), ("share_pairs_touching", "total_border_km")),
    "distance": (("dist_km",), ("mean_dist_km", "max_dist_km")),
    "area": (
        (
            "log_area_gap",
            "same_county",
            "same_region",
            "same_cauth",
            "same_fire",
            "same_police",
            "same_icb",
            "nested",
        ),
        ("all_same_county", "all_same_region", "share_pairs_nested"),
    ),
    "tier": (
        ("same_tier", "both_single_tier"),
        ("all_same_tier", "share_district", "share_county", "share_other_body"),
    ),
    "size": (
        ("candidate_log_pop", "log_pop_ratio"),
        ("log_total_pop", "mean_log_pop", "log_pop_ratio"),
    ),
    "deprivation": (
        (
            "candidate_imd",
            "imd_gap",
            "candidate_log_density",
            "log_density_gap",
            "similarity_gap",
            "same_rural_urban",
        ),
        ("mean_imd", "mean_log_density"),
    ),
    "history": (
        ("prior_arrangements", "common_partners", "adamic_adar"),
        ("mean_prior", "max_prior"),
    ),
    "experience": (("candidate_arrangements", "candidate_partners"), ()),
    "service": (("candidate_shares_service", "candidate_shares_with_focal_partners"), ()),
}
FACTOR_LABELS = {
    "border": "shared border",
    "distance": "distance",
    "area": "same county or service area",
    "tier": "type of body",
    "size": "population",
    "deprivation": "deprivation and density",
    "history": "earlier partnerships",
    "experience": "partner's experience of sharing",
    "service": "who already shares the service",
}
MIN_EFFECT = 0.05  # smaller effects (in log units, about ±5%) are not worth a sentence


@dataclass(frozen=True)
class Reason:
    """One factor behind a suggestion."""

    factor: str
    text: str
    effect: float  # change in log(score): > 0 raises the suggestion

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "label": FACTOR_LABELS[self.factor],
            "text": self.text,
            "effect": round(self.effect, 3),
            "direction": "raises" if self.effect > 0 else "lowers",
        }


def factor_effects(
    model: TrainedModel, focal: int, cands: IntArray, services: IntArray
) -> npt.NDArray[np.float64]:
    """Effects (n_rows, n_factors) of each factor on the score of each (candidate, service).

    All rows of one focal body are scored in one batch: row block 0 holds the actual values,
    block j + 1 the same rows with factor j set to its typical value for that service.
    """
    from recommender.scoring import choice_scores, group_savings

    ctx, comp, snap = model.context, model.components, model.snapshot
    builder = ctx.builder
    n_factors = len(FACTORS)
    m = len(cands)
    pair_ref, group_ref = _typical(model, focal, services)

    f = np.full(m, focal, dtype=np.intp)
    pair = builder.pair_frame(f, cands, services, snap)
    group = builder.pair_group_frame(f, cands, services, snap)
    pair_values = np.tile(pair[list(PAIR_NUMERIC)].to_numpy(), (n_factors + 1, 1))
    group_values = np.tile(group[list(GROUP_NUMERIC)].to_numpy(), (n_factors + 1, 1))
    for j, (pair_cols, group_cols) in enumerate(FACTORS.values(), start=1):
        rows = slice(j * m, (j + 1) * m)
        for col in pair_cols:
            k = PAIR_NUMERIC.index(col)
            pair_values[rows, k] = pair_ref[:, k]
        for col in group_cols:
            k = GROUP_NUMERIC.index(col)
            group_values[rows, k] = group_ref[:, k]
    pairs = _frame(pair_values, PAIR_NUMERIC, pair, n_factors + 1)
    groups = _frame(group_values, GROUP_NUMERIC, group, n_factors + 1)
    ff = np.tile(f, n_factors + 1)
    cc = np.tile(cands, n_factors + 1)
    ss = np.tile(services, n_factors + 1)
    score = choice_scores(ctx, comp, ff, cc, ss, pairs)
    if comp.savings is not None:
        mean, _, _ = group_savings(comp, groups)
        score = score + np.log(np.maximum(mean, 1.0))
    score = score.reshape(n_factors + 1, m)
    return np.asarray((score[0] - score[1:]).T)


def _typical(
    model: TrainedModel, focal: int, services: IntArray
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per row, the median pair and group features over the focal body's candidates for the
    row's service (the "typical candidate" each factor is compared with)."""
    builder, snap = model.context.builder, model.snapshot
    unique = np.unique(services)
    pools = [builder.candidates(focal, int(s), snap, include_existing=True) for s in unique]
    sizes = np.array([len(p) for p in pools])
    pool = np.concatenate(pools).astype(np.intp)
    pool_service = np.repeat(unique, sizes).astype(np.intp)
    f = np.full(len(pool), focal, dtype=np.intp)
    pair = builder.pair_frame(f, pool, pool_service, snap)[list(PAIR_NUMERIC)]
    group = builder.pair_group_frame(f, pool, pool_service, snap)[list(GROUP_NUMERIC)]
    pair_median = pair.groupby(pool_service).median()
    group_median = group.groupby(pool_service).median()
    return (
        pair_median.loc[services].to_numpy(dtype=np.float64),
        group_median.loc[services].to_numpy(dtype=np.float64),
    )


def _frame(
    values: npt.NDArray[np.float64], columns: Sequence[str], like: pd.DataFrame, repeats: int
) -> pd.DataFrame:
    """A feature frame of ``values`` with ``like``'s categorical columns repeated."""
    frame = pd.DataFrame(values.astype(np.float32), columns=list(columns))
    for col in like.columns:
        if col not in frame:
            dtype = cast(pd.CategoricalDtype, like[col].dtype)
            codes = np.tile(like[col].cat.codes.to_numpy(), repeats)
            frame[col] = pd.Categorical.from_codes(codes, dtype=dtype)
    return frame[list(like.columns)]


def reasons(
    model: TrainedModel, focal: int, cands: IntArray, services: IntArray, *, limit: int = 4
) -> list[list[Reason]]:
    """Plain-English reasons for each (candidate, service) row, largest effects first."""
    effects = factor_effects(model, focal, cands, services)
    names = list(FACTORS)
    out = []
    for i, (c, s) in enumerate(zip(cands, services, strict=True)):
        order = np.argsort(-np.abs(effects[i]))
        items = []
        for j in order[:limit]:
            if abs(effects[i, j]) < MIN_EFFECT:
                break
            text = describe(model, names[j], focal, int(c), int(s), float(effects[i, j]))
            items.append(Reason(names[j], text, float(effects[i, j])))
        out.append(items)
    return out


def describe(
    model: TrainedModel, factor: str, focal: int, cand: int, service: int, effect: float
) -> str:
    """The sentence for one factor, with the pair's actual values."""
    ctx, snap = model.context, model.snapshot
    p, b = ctx.pairs, ctx.bodies
    you, them = str(b.names[focal]), str(b.names[cand])
    label = ctx.services[service].replace("_", " ")
    if factor == "border":
        km = float(p.border_km[focal, cand])
        return (
            f"shares a {km:.0f} km border with {you}" if km > 0 else f"no shared border with {you}"
        )
    if factor == "distance":
        return f"{p.dist_km[focal, cand]:.0f} km from {you}"
    if factor == "area":
        return _area_sentence(model, focal, cand)
    if factor == "tier":
        tf, tc = _tier_word(str(b.tier[focal])), _tier_word(str(b.tier[cand]))
        return f"both {tf}s" if tf == tc else f"a {tc}, where {you} is a {tf}"
    if factor == "size":
        pf, pc = np.exp(b.log_pop[focal]), np.exp(b.log_pop[cand])
        return f"{pc:,.0f} people against {pf:,.0f} in {you}"
    if factor == "deprivation":
        return (
            f"deprivation score {b.imd[cand]:.0f} (yours {b.imd[focal]:.0f}); "
            f"{np.exp(b.log_density[cand]):,.0f} people per km² "
            f"(yours {np.exp(b.log_density[focal]):,.0f})"
        )
    if factor == "history":
        shared = int(snap.prior[focal, cand])
        common = int(snap.common[focal, cand])
        if shared:
            return f"has shared {shared} arrangement{'s' if shared > 1 else ''} with {you} before"
        if common:
            plural = "s" if common > 1 else ""
            return f"{common} partner{plural} in common with {you}, no arrangement together yet"
        return f"no arrangement or partner in common with {you} yet"
    if factor == "experience":
        n = int(snap.degree[cand])
        return (
            f"{them} is in {n} arrangement{'s' if n != 1 else ''}"
            if n
            else f"{them} has not shared a service yet"
        )
    if factor == "service":
        linked = np.flatnonzero((snap.prior[focal] > 0) & snap.shares[service][cand])
        if len(linked):
            names = ", ".join(str(b.names[z]) for z in linked[:2])
            which = "one of your partners" if len(linked) == 1 else "among your partners"
            return f"already shares {label} with {names}, {which}"
        if snap.body_shares[service, cand]:
            return f"already shares {label} with another body"
        return f"does not share {label} yet"
    raise KeyError(factor)


def _tier_word(tier: str) -> str:
    from recommender.reference import TIER_NAMES

    return TIER_NAMES.get(tier, tier)


def _area_sentence(model: TrainedModel, focal: int, cand: int) -> str:
    p, b = model.context.pairs, model.context.bodies
    you = str(b.names[focal])
    if p.nested[focal, cand]:
        gap = float(b.log_area[cand] - b.log_area[focal])
        if abs(gap) < 0.3:
            return f"covers the same area as {you}"
        return f"its area contains {you}" if gap > 0 else f"lies within {you}"
    parts = []
    for column, words in (
        ("county_code", "county"),
        ("fire_code", "fire area"),
        ("police_code", "police area"),
        ("icb_code", "NHS area"),
        ("cauth_code", "combined authority"),
    ):
        same = p.same.get(column)
        if same is not None and same[focal, cand]:
            parts.append(words)
    if parts:
        return "same " + ", ".join(parts[:3]) + f" as {you}"
    same_region = p.same.get("region_code")
    if same_region is not None and same_region[focal, cand]:
        return f"same region as {you}, different county and service areas"
    return f"a different region from {you}"


# --- evidence ---------------------------------------------------------------------------------
class EvidenceIndex:
    """The training register arranged for fast evidence lookups, one block per service.

    For each service: the real arrangements' records, a member matrix (arrangements × bodies)
    and the log of their total population.
    """

    def __init__(self, model: TrainedModel) -> None:
        ctx = model.context
        index = ctx.pairs.index
        pop = np.exp(ctx.bodies.log_pop)
        self._blocks: dict[str, tuple[list[dict[str, Any]], npt.NDArray[np.bool_], Any]] = {}
        observed = model.arrangements[~model.arrangements["simulated"].astype(bool)]
        for service, group in observed.groupby("service", sort=False):
            records = [evidence_record(r) for r in group.to_dict(orient="records")]
            members = np.zeros((len(group), ctx.pairs.n), dtype=bool)
            for i, codes in enumerate(group["member_codes"]):
                members[i, [index[c] for c in codes if c in index]] = True
            total = np.log(np.maximum(members @ pop, 1.0))
            self._blocks[str(service)] = (records, members, total)

    def best(
        self, model: TrainedModel, focal: int, cand: int, service: int, k: int = 3
    ) -> list[dict[str, Any]]:
        """The ``k`` most comparable real arrangements: sharing a member with the pair, then
        neighbouring it, in its region and of a similar size."""
        ctx = model.context
        block = self._blocks.get(ctx.services[service])
        if block is None:
            return []
        records, members, total = block
        near = ctx.pairs.touches[focal] | ctx.pairs.touches[cand]
        same_region = ctx.pairs.same.get("region_code")
        region = (
            (members & same_region[focal]).any(axis=1)
            if same_region is not None
            else np.zeros(len(records), dtype=bool)
        )
        target = np.log(np.exp(ctx.bodies.log_pop[focal]) + np.exp(ctx.bodies.log_pop[cand]))
        shared = members[:, focal].astype(int) + members[:, cand]
        score = (
            3 * shared + (members & near).any(axis=1) + 0.5 * region - 0.3 * np.abs(total - target)
        )
        score = np.where(members.any(axis=1), score, -np.inf)
        ids = [r["id"] for r in records]
        order = sorted(range(len(records)), key=lambda i: (-score[i], ids[i]))
        return [records[i] for i in order[:k] if np.isfinite(score[i])]


def evidence_record(row: Mapping[Any, Any]) -> dict[str, Any]:
    """An arrangement as shown next to a suggestion."""

    def num(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    start = row.get("start_year")
    return {
        "id": row["id"],
        "name": row["name"],
        "service": row["service"],
        "partners": list(row.get("member_names") or []),
        "start_year": None if start is None or pd.isna(start) else int(start),
        "annual_savings_gbp": num(row.get("annual_savings_gbp")),
        "savings_gbp": num(row.get("savings_gbp")),
        "savings_basis": row.get("savings_basis"),
        "source": row.get("source"),
        "simulated": bool(row.get("simulated")),
    }


# --- importance -------------------------------------------------------------------------------
def feature_importance(
    model: TrainedModel, *, bodies: int = 40, top: int = 5, random_state: int = 0
) -> list[dict[str, Any]]:
    """Mean absolute effect of each factor over the top suggestions of a sample of bodies."""
    scores = model.scores
    n = model.context.pairs.n
    rng = np.random.default_rng(random_state)
    sample = rng.choice(n, size=min(bodies, n), replace=False)
    totals = np.zeros(len(FACTORS))
    count = 0
    for f in sample:
        rows = slice(scores.offsets[f], scores.offsets[f + 1])
        keep = ~scores.existing[rows]
        cands = scores.candidate[rows][keep][:top].astype(np.intp)
        services = scores.service[rows][keep][:top].astype(np.intp)
        if len(cands):
            effects = factor_effects(model, int(f), cands, services)
            totals += np.abs(effects).sum(axis=0)
            count += len(cands)
    mean = totals / max(count, 1)
    order = np.argsort(-mean)
    names = list(FACTORS)
    return [
        {
            "factor": names[j],
            "label": FACTOR_LABELS[names[j]],
            "mean_abs_effect": round(float(mean[j]), 3),
        }
        for j in order
    ]
