"""The calibrated simulated register of shared-service arrangements.

The LGA's shared-services map data cannot be downloaded; its published figures can
(``data/calibration.json``). This module generates a register over the real bodies and
geography that reproduces those figures, so that the model has enough arrangements to learn
from. Every arrangement it writes is flagged ``simulated`` and says so in its source and note.

The generative process, one arrangement at a time in start-year order (2008–2019):

1. **How many.** Arrangements per start year follow the LGA map series (143 by the end of
   2011, 281 by early 2013, 383 by 2014, 416 in 2015, 486 in 2017, 555 in 2018, 626 in
   2019), scaled to ``size``.
2. **Which service.** Drawn from weights led by the early map counts (revenues and benefits,
   legal, management teams, building control and regulatory, procurement); back office
   outnumbers front line more than 2 to 1, and front-line services grow after 2012.
3. **Who leads.** A body that delivers the service (``data/services.csv``, ``delivered_by``),
   weighted by tier (a district 3.5 times as likely as a unitary council, so that districts
   lead about seven arrangements in ten as in 2011; fire, police and NHS bodies rarely), by a
   persistent per-body propensity (some councils are serial sharers), and, from 2012, towards
   councils not yet in any arrangement (every council was in one by 2019).
4. **How many partners.** Pairs 55%, trios 25%, four or more 20%, a tail up to 14; legal and
   procurement hubs and highways alliances tend to be larger.
5. **Which partners.** One at a time, by a multinomial logit over the bodies that deliver
   the service and do not already share it with the group. The utility adds: sharing a border
   with the group and the border's length, distance to the lead (decays over ~35 km), same
   county and nesting (district and its county, council and its fire or police area), same
   tier, earlier arrangements with group members (trust), partners in common, propensity,
   and similarity of population and deprivation; other public bodies get a penalty (they are
   rarer partners) that is smaller for property, ICT, HR, finance and procurement, smaller
   still with the councils of their own area and smallest with the body covering the same
   area; fire and police are not penalised as each other's partners (blue-light
   collaboration). With probability 7% a pick ignores geography (the outsourced or
   long-distance deals such as Breckland with South Holland), so a real share of partners
   are not neighbours.
6. **What it saves.** Annual savings are log-normal: a service baseline (procurement and
   property largest, core back office smallest) times the partners' population to the power
   0.5, a size effect that makes four-partner arrangements save the most per partner,
   bonuses for sharing borders, matching tiers, earlier arrangements together, deprivation,
   low density and the presence of another public body ("better results"), and log-normal
   noise (sigma 1.25, truncated at two sigmas). About a quarter of arrangements are not set
   up to save money (saving £0), and 7% report no figure (basis ``unknown``).
7. **Ending.** About one in eight arrangements ends two to six years after it started.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``: the same seed,
size and reference data give the same register, row for row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.pairs import SINGLE_TIER, PairMatrices, build_pair_matrices
from recommender.services import load_services

FIRST_YEAR = 2008
LAST_YEAR = 2019
DEFAULT_SEED = 2
DEFAULT_SIZE = 626

# Start-year counts for 626 arrangements, read off the LGA series: cumulative 143 by the end of
# 2011, ~300 by early 2013, 383 by April 2014, 416 in 2015, 486 in 2017, 555 in June 2018 and
# 626 in June 2019 (see calibration.json for the published figures they are checked against).
YEAR_COUNTS: dict[int, int] = {
    2008: 22,
    2009: 30,
    2010: 40,
    2011: 51,
    2012: 157,
    2013: 83,
    2014: 33,
    2015: 35,
    2016: 35,
    2017: 69,
    2018: 35,
    2019: 36,
}

BLUE_LIGHT = ("fire", "police")
EXTERNAL_FRIENDLY = (
    "property_assets",
    "other",
    "procurement",
    "ict",
    "hr_payroll",
    "finance_audit",
)


@dataclass(frozen=True)
class Coefficients:
    """Parameters of the generative process (see the module docstring)."""

    # Service weights (relative frequency of new arrangements) and savings baselines (£/year
    # for two partners with 300,000 people between them).
    service_weight: dict[str, float] = field(
        default_factory=lambda: {
            "revenues_benefits": 32,
            "legal": 27,
            "management_chief_exec": 25,
            "building_control_planning": 12,
            "regulatory_trading_standards": 11,
            "procurement": 21,
            "ict": 26,
            "hr_payroll": 20,
            "finance_audit": 24,
            "waste_environment": 17,
            "customer_services": 8,
            "property_assets": 10,
            "adult_social_care": 3,
            "children_education": 3,
            "highways_transport": 5,
            "other": 8,
        }
    )
    service_baseline: dict[str, float] = field(
        default_factory=lambda: {
            "procurement": 183_000,
            "property_assets": 170_000,
            "management_chief_exec": 85_000,
            "revenues_benefits": 34_000,
            "legal": 24_000,
            "ict": 34_000,
            "hr_payroll": 27_000,
            "finance_audit": 24_000,
            "waste_environment": 68_000,
            "building_control_planning": 50_000,
            "regulatory_trading_standards": 54_000,
            "customer_services": 61_000,
            "adult_social_care": 78_000,
            "children_education": 68_000,
            "highways_transport": 90_000,
            "other": 57_000,
        }
    )
    # Share of arrangements not set up to save money, by service (default for the rest).
    no_aim: dict[str, float] = field(
        default_factory=lambda: {
            "procurement": 0.10,
            "property_assets": 0.15,
            "other": 0.45,
            "children_education": 0.40,
            "adult_social_care": 0.35,
            "customer_services": 0.35,
        }
    )
    no_aim_default: float = 0.24
    unreported: float = 0.07
    front_growth: float = 0.09  # yearly growth of front-line weights after 2012
    lead_tier_weight: dict[str, float] = field(
        default_factory=lambda: {
            "district": 3.5,
            "county": 1.2,
            "unitary": 1.0,
            "metropolitan": 0.9,
            "london_borough": 0.9,
            "fire": 0.25,
            "police": 0.2,
            "health": 0.2,
            "combined_authority": 0.1,
        }
    )
    propensity_sigma: float = 0.8
    coverage_push: float = 12.0
    newcomer: float = 1.0  # partner utility for councils not yet sharing, from 2012
    coverage_from: int = 2012
    size_probs: dict[int, float] = field(
        default_factory=lambda: {
            2: 0.6,
            3: 0.23,
            4: 0.08,
            5: 0.04,
            6: 0.02,
            7: 0.01,
            8: 0.007,
            9: 0.005,
            10: 0.004,
            11: 0.002,
            12: 0.0015,
            13: 0.0008,
            14: 0.0007,
        }
    )
    # Partner-choice utility.
    touch: float = 2.0
    log_border: float = 0.35
    distance_scale_km: float = 35.0
    same_county: float = 1.0
    nested: float = 3.5
    same_tier: float = 0.3
    both_single_tier: float = 0.3
    log_prior: float = 1.3
    log_common: float = 0.7
    propensity: float = 0.5
    size_similarity: float = 0.4
    deprivation_similarity: float = 0.3
    other_body_penalty: float = 2.6
    other_body_friendly: float = 1.0
    blue_light: float = 3.0
    own_area: float = 1.0
    coterminous: float = 1.5
    far_pick: float = 0.07
    # Chance, repeated, of one more partner: legal and procurement hubs and highways alliances
    # grow larger than other arrangements (by 2016 legal involved the most councils).
    extra_partner: dict[str, float] = field(
        default_factory=lambda: {"legal": 0.7, "procurement": 0.3, "highways_transport": 0.5}
    )
    # Savings model (log scale).
    savings_log_pop: float = 0.5
    savings_size: dict[int, float] = field(
        default_factory=lambda: {2: 1.0, 3: 1.2, 4: 3.8, 5: 2.4, 6: 2.4}
    )
    savings_touch: float = 0.35
    savings_distance_per_km: float = -0.006
    savings_same_tier: float = 0.3
    savings_log_prior: float = 0.35
    savings_deprivation: float = 0.12  # per 5 points of IMD score above 20
    savings_log_density: float = -0.12  # per log unit of density above 500/km²
    savings_other_body: float = 0.7
    savings_sigma: float = 1.25
    savings_noise_cap: float = 2.0  # noise truncated at this many sigmas
    ended_share: float = 0.12


def year_counts(size: int) -> dict[int, int]:
    """Scale :data:`YEAR_COUNTS` to ``size`` arrangements (largest remainders, so it sums)."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    total = sum(YEAR_COUNTS.values())
    raw = {y: c * size / total for y, c in YEAR_COUNTS.items()}
    counts = {y: math.floor(v) for y, v in raw.items()}
    short = size - sum(counts.values())
    for y in sorted(raw, key=lambda y: (-(raw[y] - counts[y]), y))[:short]:
        counts[y] += 1
    return counts


@dataclass
class _State:
    """What the simulated world knows so far: who has shared with whom, and what."""

    prior: npt.NDArray[np.float64]  # arrangements each pair has shared
    shares: npt.NDArray[np.bool_]  # (service, body, body): share this service now
    involved: npt.NDArray[np.bool_]


def simulate(
    bodies: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    size: int = DEFAULT_SIZE,
    adjacency: pd.DataFrame | None = None,
    coefficients: Coefficients | None = None,
    services: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a simulated register over ``bodies``.

    Parameters
    ----------
    bodies : DataFrame
        Reference bodies indexed by code (``recommender.reference.load_bodies()``).
    seed : int
        Seed of the random generator; the same seed gives the same register.
    size : int
        Number of arrangements (626 reproduces the LGA's 2019 count).
    adjacency : DataFrame, optional
        The reference adjacency table; loaded from ``data/reference`` when omitted.
    coefficients : Coefficients, optional
        Parameters of the process; the documented defaults when omitted.
    services : DataFrame, optional
        The service taxonomy (``recommender.services.load_services()``, which is read when
        omitted): which services there are, their labels, office and the tiers delivering them.

    Returns
    -------
    arrangements, members : DataFrame
        In the register's column layout, every arrangement flagged ``simulated``.
    """
    if adjacency is None:
        from recommender.reference import load_adjacency

        adjacency = load_adjacency()
    coef = coefficients or Coefficients()
    rng = np.random.default_rng(seed)
    bodies = bodies.sort_index()
    pairs = build_pair_matrices(bodies, adjacency)
    world = _World(bodies, pairs, coef, rng, load_services() if services is None else services)

    arrangement_rows: list[dict[str, object]] = []
    member_rows: list[dict[str, object]] = []
    counts = year_counts(size)
    number = 0
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        last_year = year == LAST_YEAR
        for k in range(counts[year]):
            remaining = counts[year] - k
            number += 1
            group, service = world.draw_arrangement(
                year, force_uncovered=last_year, remaining=remaining
            )
            record = world.savings(group, service)
            arrangement_id = f"S-{number:04d}"
            end_year = world.end_year(year)
            arrangement_rows.append(
                {
                    "id": arrangement_id,
                    "name": world.name(group, service),
                    "service": service,
                    "start_year": year,
                    "end_year": end_year,
                    "status": "ended" if end_year is not None else "active",
                    **record,
                    "source": f"simulated (recommender.simulate, seed={seed}, size={size})",
                    "note": "Simulated arrangement for model training; not a real partnership.",
                    "simulated": True,
                }
            )
            for position, i in enumerate(group):
                member_rows.append(
                    {
                        "arrangement_id": arrangement_id,
                        "position": position,
                        "body_code": pairs.codes[i],
                        "name_as_given": world.display[i],
                        "role": "lead" if position == 0 else "partner",
                        "resolution": "simulated",
                    }
                )
            world.record(group, service, ended=end_year is not None)
    arrangements = pd.DataFrame(arrangement_rows)
    members = pd.DataFrame(member_rows)
    arrangements["end_year"] = arrangements["end_year"].astype("Int64")
    arrangements["savings_period_years"] = arrangements["savings_period_years"].astype("Int64")
    return arrangements, members


class _World:
    """The simulated world: bodies, their geography and what they have shared so far."""

    def __init__(
        self,
        bodies: pd.DataFrame,
        pairs: PairMatrices,
        coef: Coefficients,
        rng: np.random.Generator,
        services: pd.DataFrame,
    ) -> None:
        self.coef = coef
        self.rng = rng
        self.pairs = pairs
        n = pairs.n
        self.tier = bodies["tier"].to_numpy(dtype=str)
        self.kind = bodies["kind"].to_numpy(dtype=str)
        self.display = bodies.get("display_name", bodies["name"]).to_numpy(dtype=str)
        self.county = bodies["county_code"].astype("string").fillna("").to_numpy(dtype=str)
        self.is_council = self.kind == "council"
        self.log_pop = np.log(bodies["population"].to_numpy(dtype=float))
        self.population = bodies["population"].to_numpy(dtype=float)
        self.imd = bodies["imd_score"].to_numpy(dtype=float)
        self.density = bodies["density"].to_numpy(dtype=float)
        self.log_area = np.log(bodies["area_km2"].to_numpy(dtype=float))
        self.single = np.isin(self.tier, SINGLE_TIER)
        self.services = services.index.to_list()
        self.front = {s: services.loc[s, "office"] == "front" for s in self.services}
        self.label = services["label"].to_dict()
        self.delivers = {
            s: np.isin(self.tier, str(services.loc[s, "delivered_by"]).split(";"))
            for s in self.services
        }
        self.propensity = rng.lognormal(0.0, coef.propensity_sigma, size=n)
        self.state = _State(
            prior=np.zeros((n, n)),
            shares=np.zeros((len(self.services), n, n), dtype=bool),
            involved=np.zeros(n, dtype=bool),
        )
        sizes = np.array(sorted(coef.size_probs))
        probs = np.array([coef.size_probs[s] for s in sizes])
        self.sizes, self.size_p = sizes, probs / probs.sum()

    # --- drawing an arrangement -----------------------------------------------------------------
    def draw_arrangement(
        self, year: int, *, force_uncovered: bool, remaining: int
    ) -> tuple[list[int], str]:
        service = self._draw_service(year)
        lead = self._draw_lead(service, year, force_uncovered=force_uncovered, remaining=remaining)
        size = int(self.rng.choice(self.sizes, p=self.size_p))
        while size < self.sizes[-1] and self.rng.random() < self.coef.extra_partner.get(service, 0):
            size += 1
        group = [lead]
        while len(group) < size:
            candidate = self._draw_partner(group, service, year)
            if candidate is None:
                break
            group.append(candidate)
        if len(group) < 2:  # nobody eligible for this service: fall back to any neighbour
            return self.draw_arrangement(year, force_uncovered=False, remaining=remaining)
        return group, service

    def _draw_service(self, year: int) -> str:
        coef = self.coef
        weights = np.array(
            [
                coef.service_weight[s]
                * ((1 + coef.front_growth) ** max(0, year - 2012) if self.front[s] else 1.0)
                for s in self.services
            ]
        )
        return str(self.rng.choice(self.services, p=weights / weights.sum()))

    def _draw_lead(self, service: str, year: int, *, force_uncovered: bool, remaining: int) -> int:
        coef = self.coef
        eligible = self.delivers[service]
        uncovered = eligible & self.is_council & ~self.state.involved
        total_uncovered = int((self.is_council & ~self.state.involved).sum())
        if force_uncovered and uncovered.any() and total_uncovered >= remaining * 0.5:
            # The last year's arrangements bring in every council still outside (LGA 2019:
            # "every council in England"): pick among them.
            weights = uncovered.astype(float)
        else:
            tier_w = np.array([coef.lead_tier_weight[t] for t in self.tier])
            push = 1.0 + coef.coverage_push * (year >= coef.coverage_from) * uncovered
            weights = eligible * tier_w * self.propensity * push
        return int(self.rng.choice(self.pairs.n, p=weights / weights.sum()))

    def _draw_partner(self, group: list[int], service: str, year: int) -> int | None:
        coef, pairs, st = self.coef, self.pairs, self.state
        lead = group[0]
        s = self.services.index(service)
        eligible = self.delivers[service].copy()
        eligible[group] = False
        eligible &= ~st.shares[s][group].any(axis=0)
        if not eligible.any():
            return None
        g = np.asarray(group)
        if self.rng.random() < coef.far_pick:
            utility = (
                coef.same_tier * (self.tier == self.tier[lead])
                + coef.propensity * np.log(self.propensity)
                + coef.log_prior * np.log1p(st.prior[g].sum(axis=0))
                - coef.other_body_penalty * ~self.is_council
            )
        else:
            utility = self._utility(g, lead, service)
            if year >= coef.coverage_from:
                utility = utility + coef.newcomer * (self.is_council & ~st.involved)
        utility = np.where(eligible, utility, -np.inf)
        p = np.exp(utility - utility[eligible].max())
        return int(self.rng.choice(pairs.n, p=p / p.sum()))

    def _utility(self, g: npt.NDArray[np.intp], lead: int, service: str) -> npt.NDArray[np.float64]:
        coef, pairs, st = self.coef, self.pairs, self.state
        touch = pairs.touches[g].any(axis=0)
        border = pairs.border_km[g].sum(axis=0)
        same_county = (self.county == self.county[lead]) & (self.county != "")
        graph = st.prior > 0
        common = (graph[g] & graph[lead]).sum(axis=0) if len(g) else 0
        external = ~self.is_council
        kind_term = -coef.other_body_penalty * external + coef.other_body_friendly * external * (
            service in EXTERNAL_FRIENDLY
        )
        # Fire and police work together (the 2017 duty to collaborate): no penalty between them.
        blue = np.isin(self.kind, BLUE_LIGHT)
        kind_term = kind_term + coef.blue_light * (blue & bool(blue[lead]))
        # Other public bodies share estates and back office with the councils of their own area
        # (SPACES in East Sussex, Hoople in Herefordshire, West Sussex fire and county).
        if service in EXTERNAL_FRIENDLY:
            kind_term = kind_term + coef.own_area * (external & pairs.nested[lead])
        # ... above all with the body that covers the same area (West Sussex fire and county,
        # Hampshire fire and police, Herefordshire and its primary care trust).
        same_area = pairs.nested[lead] & (np.abs(self.log_area - self.log_area[lead]) < 0.3)
        kind_term = kind_term + coef.coterminous * (same_area & (external | bool(external[lead])))
        return (  # type: ignore[no-any-return]
            coef.touch * touch
            + coef.log_border * np.log1p(border)
            - pairs.dist_km[lead] / coef.distance_scale_km
            + coef.same_county * same_county
            + coef.nested * pairs.nested[g].any(axis=0)
            + coef.same_tier * (self.tier == self.tier[lead])
            + coef.both_single_tier * (self.single & self.single[lead])
            + coef.log_prior * np.log1p(st.prior[g].sum(axis=0))
            + coef.log_common * np.log1p(common)
            + coef.propensity * np.log(self.propensity)
            - coef.size_similarity * np.abs(self.log_pop - self.log_pop[lead])
            - coef.deprivation_similarity * np.abs(self.imd - self.imd[lead]) / 10
            + kind_term
        )

    # --- what it saves ------------------------------------------------------------------------
    def savings(self, group: list[int], service: str) -> dict[str, object]:
        coef, pairs, st = self.coef, self.pairs, self.state
        g = np.asarray(group)
        n = len(g)
        iu = np.triu_indices(n, 1)
        pair_touch = pairs.touches[np.ix_(g, g)][iu]
        pair_dist = pairs.dist_km[np.ix_(g, g)][iu]
        pair_prior = st.prior[np.ix_(g, g)][iu]
        size_factor = coef.savings_size.get(n, coef.savings_size[6])
        log_s = (
            math.log(coef.service_baseline[service])
            + coef.savings_log_pop * math.log(self.population[g].sum() / 300_000)
            + math.log(size_factor)
            + coef.savings_touch * pair_touch.mean()
            + coef.savings_distance_per_km * pair_dist.mean()
            + coef.savings_same_tier * float(len(set(self.tier[g])) == 1)
            + coef.savings_log_prior * math.log1p(pair_prior.mean())
            + coef.savings_deprivation * (self.imd[g].mean() - 20) / 5
            + coef.savings_log_density * math.log(self.density[g].mean() / 500)
            + coef.savings_other_body * float((~self.is_council[g]).any())
            + coef.savings_sigma
            * float(np.clip(self.rng.normal(), -coef.savings_noise_cap, coef.savings_noise_cap))
        )
        aim = self.rng.random() >= coef.no_aim.get(service, coef.no_aim_default)
        if not aim:
            amount: float | None = 0.0
        elif self.rng.random() < coef.unreported:
            amount = None
        else:
            amount = float(round(math.exp(log_s), -3))
        return {
            "savings_gbp": amount,
            "savings_basis": "annual" if amount is not None else "unknown",
            "savings_period_years": None,
            "annual_savings_gbp": amount,
            "savings_aim": aim,
        }

    def end_year(self, start: int) -> int | None:
        if self.rng.random() >= self.coef.ended_share:
            return None
        # Two to six years: every simulated arrangement has ended by 2025, whatever today is.
        return start + int(self.rng.integers(2, 7))

    def record(self, group: list[int], service: str, *, ended: bool) -> None:
        g = np.asarray(group)
        st = self.state
        block = np.ix_(g, g)
        st.prior[block] += 1
        np.fill_diagonal(st.prior, 0)
        st.involved[g] = True
        if not ended:
            s = self.services.index(service)
            st.shares[s][block] = True

    def name(self, group: list[int], service: str) -> str:
        label = str(self.label[service]).removeprefix("Shared ")
        if not label[1:2].isupper():  # keep "ICT", "HR" as they are
            label = label[0].lower() + label[1:]
        names = [str(self.display[i]) for i in group]
        if len(names) <= 3:
            joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            return f"{joined}: shared {label}"
        return f"{names[0]} and {len(names) - 1} partners: shared {label}"
