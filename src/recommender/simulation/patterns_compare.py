"""Partner patterns of two registers side by side: is the simulated one choosing like the real?

For each register (definitions in :mod:`recommender.model.patterns`):

* **pair kinds**: the share of pairs of each kind (council-council, fire-police …);
* **geography**: the share of pairs in the same tier group, adjacent (sharing a border), in the
  same county, in the same fire, police, NHS (ICB) or combined-authority area;
* **distance**: the quartiles of the km between the two bodies' centroids, over pairs;
* **sizes**: the share of arrangements with 2, 3 and 4 or more reference bodies, and the
  largest (arrangements with fewer than two reference bodies are skipped);
* **choice model**: the coefficients of one conditional logit (:mod:`recommender.model.choice`) of
  partner choice, fitted on each register alone: every member of an arrangement, as focal
  body, chooses each of its partners among them and :data:`SAMPLED` alternatives drawn
  uniformly from the bodies eligible for the service (a tier that delivers it,
  ``data/services.csv``), neither the focal body nor another member. Features, each divided by
  its standard deviation over every ordered pair of distinct reference bodies (a scale that
  does not depend on either register, so that the coefficients compare): same tier group,
  same kind, touches, log(1 + distance km), same county, same police area, |log population
  ratio|.

**Tolerance.** Both registers are samples: the real one of documented arrangements, the
simulated one a single draw of the generative process. Each value is re-estimated on
:data:`BOOTSTRAP` resamples of its register's arrangements (with replacement, seeded; the
coefficients by the one-step bootstrap: one Newton step from the full estimate per resample,
:func:`recommender.model.choice.one_step`), and the simulated value is within tolerance (✓) when it
lies within :data:`Z` standard errors of the difference (the two bootstrap standard errors
combined) of the real value, or within an absolute floor where the samples cannot tell a share
from zero (:data:`FLOORS`: one percentage point for shares). A simulator drawing from the real
process would pass each pattern about 19 times in 20. Everything is seeded: the same registers
give the same report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.model.choice import event_terms, fit_conditional_logit, one_step
from recommender.model.patterns import PAIR_KINDS, PairFacts, register_pairs

FloatArray = npt.NDArray[np.float64]

BOOTSTRAP = 200
SEED = 20240601
SAMPLED = 30
Z = 2.0
FLOORS = {"share": 0.01, "km": 1.0, "count": 1.0, "coef": 0.0}
AREA_LABELS = {
    "county": "same county",
    "fire": "same fire area",
    "police": "same police area",
    "icb": "same NHS (ICB) area",
    "cauth": "same combined-authority area",
}
CHOICE_FEATURES = {
    "same_tier_group": "same tier group",
    "same_kind": "same kind",
    "touches": "touches (share a border)",
    "log_distance": "log(1 + distance km)",
    "same_county": "same county",
    "same_police": "same police area",
    "log_pop_ratio": "|log population ratio|",
}
SECTIONS = ("pair kinds", "geography", "distance", "sizes", "choice model")
RULE = (
    f"✓: the simulated value lies within {Z:g} standard errors of the difference from the real "
    f"value (each register's standard error from {BOOTSTRAP} bootstrap resamples of its own "
    f"arrangements), or within an absolute floor where that is wider (shares "
    f"±{FLOORS['share']:g}, km ±{FLOORS['km']:g}, size ±{FLOORS['count']:g}); shares stay "
    "within 0 and 1"
)


@dataclass(frozen=True)
class Pattern:
    """One partner pattern in the real and the simulated register, with its tolerance."""

    id: str
    section: str
    label: str
    unit: str
    real: float | None
    simulated: float | None
    se: float | None  # bootstrap standard error of the real value
    se_simulated: float | None = None  # ... and of the simulated value

    @property
    def tolerance(self) -> float | None:
        """:data:`Z` standard errors of the difference, or the unit's floor if wider."""
        if self.se is None or math.isnan(self.se):
            return None
        other = 0.0 if self.se_simulated is None else self.se_simulated
        if math.isnan(other):
            return None
        return max(Z * math.hypot(self.se, other), FLOORS[self.unit])

    @property
    def bounds(self) -> tuple[float, float] | None:
        if self.real is None or self.tolerance is None:
            return None
        low, high = self.real - self.tolerance, self.real + self.tolerance
        if self.unit == "share":
            return max(0.0, low), min(1.0, high)
        return (max(0.0, low), high) if self.unit in ("km", "count") else (low, high)

    @property
    def status(self) -> str:
        """``ok`` within the tolerance, ``outside`` it, ``n/a`` without a value."""
        if self.simulated is None or self.bounds is None or math.isnan(self.simulated):
            return "n/a"
        low, high = self.bounds
        return "ok" if low - 1e-12 <= self.simulated <= high + 1e-12 else "outside"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "label": self.label,
            "unit": self.unit,
            "real": self.real,
            "simulated": self.simulated,
            "se": self.se,
            "se_simulated": self.se_simulated,
            "tolerance": self.tolerance,
            "bounds": list(self.bounds) if self.bounds else None,
            "status": self.status,
        }


@dataclass(frozen=True)
class PatternsReport:
    """The partner patterns of the real and the simulated register."""

    patterns: list[Pattern]
    counts: dict[str, dict[str, int]]  # register: arrangements, pairs, choice events
    rule: str = RULE

    def summary(self) -> str:
        ok = sum(p.status == "ok" for p in self.patterns)
        checked = sum(p.status != "n/a" for p in self.patterns)
        return f"partner patterns: {ok} of {checked} within tolerance of the real register"

    def to_dict(self) -> dict[str, Any]:
        return {
            "patterns": [p.to_dict() for p in self.patterns],
            "counts": self.counts,
            "rule": self.rule,
        }


class _Register:
    """One register's pairs and choice events, with per-arrangement sums for resampling."""

    def __init__(
        self,
        arrangements: pd.DataFrame,
        members: pd.DataFrame,
        facts: PairFacts,
        services: pd.DataFrame,
        scales: FloatArray,
    ) -> None:
        pairs = register_pairs(arrangements, members, facts.pairs)
        self.ids = np.asarray(sorted(set(pairs["arrangement"])), dtype=str)
        self.n = len(self.ids)
        arr = np.searchsorted(self.ids, pairs["arrangement"].to_numpy(dtype=str))
        a, b = pairs["a"].to_numpy(dtype=np.intp), pairs["b"].to_numpy(dtype=np.intp)
        self.pair_arr = arr
        self.n_pairs = len(a)
        self.distance = facts.pairs.dist_km[a, b]
        sizes = pairs.groupby("arrangement")["size"].first().reindex(self.ids)
        self.sizes = sizes.to_numpy(dtype=float)
        # Ratio statistics: per arrangement, a numerator and a denominator (pairs, or 1).
        kinds = facts.pair_kinds(a, b)
        pair_stats: dict[str, npt.NDArray[np.bool_]] = {f"kind:{k}": kinds == k for k in PAIR_KINDS}
        pair_stats["same_tier_group"] = facts.group[a] == facts.group[b]
        pair_stats["adjacent"] = facts.pairs.touches[a, b]
        for name in AREA_LABELS:
            pair_stats[f"same_{name}"] = facts.same[name][a, b]
        self.ratio_ids = [*pair_stats, "size:2", "size:3", "size:4+"]
        num = np.zeros((self.n, len(self.ratio_ids)))
        den = np.zeros((self.n, len(self.ratio_ids)))
        for j, flags in enumerate(pair_stats.values()):
            num[:, j] = np.bincount(arr, weights=flags.astype(float), minlength=self.n)
            den[:, j] = np.bincount(arr, minlength=self.n)
        for j, (low, high) in enumerate(((2, 2), (3, 3), (4, 10_000)), start=len(pair_stats)):
            num[:, j] = (self.sizes >= low) & (self.sizes <= high)
            den[:, j] = 1.0
        self.num, self.den = num, den
        self.choice = _choice_design(pairs, arr, facts, services, scales)

    def ratios(self, weights: FloatArray) -> FloatArray:
        """Return every ratio statistic for arrangement weights (rows: weightings)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((weights @ self.num) / (weights @ self.den), dtype=float)

    def quartiles(self, weights: FloatArray) -> FloatArray:
        w = weights[self.pair_arr]
        if not self.n_pairs or w.sum() <= 0:
            return np.full(3, np.nan)
        return np.asarray(
            np.quantile(self.distance, [0.25, 0.5, 0.75], weights=w, method="inverted_cdf"),
            dtype=float,
        )

    def largest(self, weights: FloatArray) -> float:
        kept = self.sizes[weights > 0]
        return float(kept.max()) if len(kept) else math.nan

    def coefficients(self) -> FloatArray:
        X, available, _ = self.choice
        if not len(X):
            return np.full(len(CHOICE_FEATURES), np.nan)
        return fit_conditional_logit(X, available).coef

    def resampled_coefficients(self, coef: FloatArray, weights: FloatArray) -> FloatArray:
        """Return the coefficients for each row of arrangement ``weights``, one Newton step
        from the full estimate ``coef`` (the one-step bootstrap)."""
        X, available, event_arr = self.choice
        score, info = event_terms(X, available, coef)
        return one_step(score, info, coef, weights[:, event_arr])

    def values(self, weights: FloatArray) -> FloatArray:
        """Return every statistic but the coefficients, in :func:`_pattern_rows` order."""
        return np.concatenate(
            [self.ratios(weights[None, :])[0], self.quartiles(weights), [self.largest(weights)]]
        )


def _choice_design(
    pairs: pd.DataFrame,
    arr: npt.NDArray[np.intp],
    facts: PairFacts,
    services: pd.DataFrame,
    scales: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Return the choice events' features (chosen first), availability and arrangements."""
    n = facts.pairs.n
    a, b = pairs["a"].to_numpy(dtype=np.intp), pairs["b"].to_numpy(dtype=np.intp)
    focal, chosen = np.concatenate([a, b]), np.concatenate([b, a])
    event_arr = np.concatenate([arr, arr])
    service = np.concatenate([pairs["service"].to_numpy(dtype=str)] * 2)
    order = np.lexsort((chosen, focal, event_arr))
    focal, chosen, event_arr, service = (
        focal[order],
        chosen[order],
        event_arr[order],
        service[order],
    )
    if not len(focal):
        return np.zeros((0, SAMPLED + 1, len(CHOICE_FEATURES))), np.zeros((0, 0), bool), event_arr
    delivers = {
        s: np.isin(facts.tier, str(services.loc[s, "delivered_by"]).split(";"))
        for s in set(service)
        if s in services.index
    }
    everyone = np.ones(n, dtype=bool)
    eligible = np.stack([delivers.get(s, everyone) for s in service])
    members = np.zeros((arr.max() + 1, n), dtype=bool)
    members[arr, a] = members[arr, b] = True
    eligible &= ~members[event_arr]
    keys = np.random.default_rng(SEED).random((len(focal), n))
    keys[~eligible] = np.inf
    alternatives = np.argsort(keys, axis=1, kind="stable")[:, :SAMPLED]
    available = np.concatenate(
        [np.ones((len(focal), 1), bool), np.take_along_axis(eligible, alternatives, axis=1)],
        axis=1,
    )
    options = np.concatenate([chosen[:, None], alternatives], axis=1)
    X = choice_features(facts, focal[:, None], options) / scales
    return X, available, event_arr


def choice_features(
    facts: PairFacts, focal: npt.NDArray[np.intp], candidate: npt.NDArray[np.intp]
) -> FloatArray:
    """Return the choice model's features (:data:`CHOICE_FEATURES`, last axis) for broadcast
    arrays of focal and candidate positions."""
    focal, candidate = np.broadcast_arrays(focal, candidate)
    pairs = facts.pairs
    return np.stack(
        [
            facts.group[focal] == facts.group[candidate],
            facts.kind[focal] == facts.kind[candidate],
            pairs.touches[focal, candidate],
            np.log1p(pairs.dist_km[focal, candidate]),
            facts.same["county"][focal, candidate],
            facts.same["police"][focal, candidate],
            np.abs(facts.log_pop[focal] - facts.log_pop[candidate]),
        ],
        axis=-1,
    ).astype(float)


def feature_scales(facts: PairFacts) -> FloatArray:
    """Return each choice feature's standard deviation over every ordered pair of distinct
    bodies: the scale, common to both registers, that standardises the coefficients."""
    n = facts.pairs.n
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    sd = choice_features(facts, i, j).std(axis=0)
    return np.where(sd > 0, sd, 1.0)


def _pattern_rows() -> list[tuple[str, str, str, str]]:
    """Return (id, section, label, unit) of every pattern, in :meth:`_Register.values` order."""
    rows = [(f"kind:{k}", "pair kinds", k, "share") for k in PAIR_KINDS]
    rows.append(("same_tier_group", "geography", "same tier group", "share"))
    rows.append(("adjacent", "geography", "adjacent (share a border)", "share"))
    rows += [(f"same_{k}", "geography", label, "share") for k, label in AREA_LABELS.items()]
    rows += [
        ("size:2", "sizes", "2 bodies", "share"),
        ("size:3", "sizes", "3 bodies", "share"),
        ("size:4+", "sizes", "4 or more bodies", "share"),
    ]
    rows += [
        (f"distance_q{q}", "distance", f"{q}% of pairs within (km)", "km") for q in (25, 50, 75)
    ]
    rows.append(("size:largest", "sizes", "largest (bodies)", "count"))
    rows += [(f"coef:{k}", "choice model", label, "coef") for k, label in CHOICE_FEATURES.items()]
    return rows


def compare(
    real: tuple[pd.DataFrame, pd.DataFrame],
    simulated: tuple[pd.DataFrame, pd.DataFrame],
    facts: PairFacts,
    services: pd.DataFrame,
    *,
    bootstrap: int = BOOTSTRAP,
) -> PatternsReport:
    """Compare the partner patterns of the ``real`` and ``simulated`` registers.

    Parameters
    ----------
    real, simulated : (DataFrame, DataFrame)
        Each register's arrangements (``id``, ``service``) and members (``arrangement_id``,
        ``body_code``), as :func:`recommender.register.records.load_register` returns them.
    facts : PairFacts
        The pairs' geography (:meth:`PairFacts.build`).
    services : DataFrame
        The service taxonomy (``delivered_by``), indexed by id.
    bootstrap : int
        Resamples of the real arrangements for the standard errors.

    Returns
    -------
    PatternsReport
    """
    scales = feature_scales(facts)
    registers = {
        "real": _Register(*real, facts, services, scales),
        "simulated": _Register(*simulated, facts, services, scales),
    }
    values = {
        k: np.concatenate([r.values(np.ones(r.n)), r.coefficients()]) for k, r in registers.items()
    }
    se = {k: _bootstrap_se(r, values[k], bootstrap) for k, r in registers.items()}
    rows = _pattern_rows()
    patterns = [
        Pattern(
            id=ident,
            section=section,
            label=label,
            unit=unit,
            real=_number(values["real"][i]),
            simulated=_number(values["simulated"][i]),
            se=_number(se["real"][i]),
            se_simulated=_number(se["simulated"][i]),
        )
        for i, (ident, section, label, unit) in enumerate(rows)
    ]
    patterns.sort(key=lambda p: SECTIONS.index(p.section))  # stable: rows keep their order
    counts = {
        k: {"arrangements": r.n, "pairs": r.n_pairs, "choice_events": len(r.choice[0])}
        for k, r in registers.items()
    }
    return PatternsReport(patterns, counts)


def _bootstrap_se(register: _Register, full: FloatArray, bootstrap: int) -> FloatArray:
    if register.n < 2 or bootstrap < 2:
        return np.full(len(full), np.nan)
    rng = np.random.default_rng(SEED)
    counts = rng.multinomial(register.n, np.full(register.n, 1 / register.n), size=bootstrap)
    weights = counts.astype(float)
    coef = full[-len(CHOICE_FEATURES) :]
    draws = np.concatenate(
        [
            np.stack([register.values(w) for w in weights]),
            register.resampled_coefficients(coef, weights),
        ],
        axis=1,
    )
    return np.asarray(np.nanstd(draws, axis=0, ddof=1), dtype=float)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
