"""The simulated world: bodies, their geography and what they have shared so far.

:class:`World` draws each arrangement of :func:`recommender.simulation.process.simulate` (the
process is
described in that module's docstring, the parameters in
:mod:`recommender.simulation.coefficients`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.core.errors import InvalidInput
from recommender.geo.pairs import PairMatrices
from recommender.model.patterns import PairFacts
from recommender.reference.lookup import KINDS
from recommender.simulation.coefficients import EXTERNAL_FRIENDLY, MIXED_SERVICES, Coefficients

FloatArray = npt.NDArray[np.float64]
BLUE_LIGHT = ("fire", "police")
BASELINE_MERGED = 100_000  # residents merged in for which service_baseline is stated
LATE_FROM = 2012  # from this year upper-tier councils lead more (upper_lead_from_2012)
MAX_DRAWS = 100  # services tried before the world is declared full


@dataclass
class _State:
    """What the simulated world knows so far: who has shared with whom, and what."""

    prior: FloatArray  # simulated arrangements each pair has shared
    shares: npt.NDArray[np.bool_]  # (service, body, body): share this service now
    involved: npt.NDArray[np.bool_]  # in an arrangement, real or simulated, so far


class World:
    """The bodies, their geography and the state of sharing, with the process's draws."""

    def __init__(
        self,
        bodies: pd.DataFrame,
        pairs: PairMatrices,
        coef: Coefficients,
        rng: np.random.Generator,
        services: pd.DataFrame,
        fire_governance: pd.DataFrame | None = None,
    ) -> None:
        self.coef = coef
        self.rng = rng
        self.pairs = pairs
        self.facts = PairFacts.build(bodies, pairs)
        n = pairs.n
        self.tier = bodies["tier"].to_numpy(dtype=str)
        self.kind = bodies["kind"].to_numpy(dtype=str)
        self.display = bodies.get("display_name", bodies["name"]).to_numpy(dtype=str)
        self.is_council = self.kind == "council"
        self.population = bodies["population"].to_numpy(dtype=float)
        self.imd = bodies["imd_score"].to_numpy(dtype=float)
        self.density = bodies["density"].to_numpy(dtype=float)
        self.log_distance = np.log1p(pairs.dist_km / coef.distance_scale_km)
        self.same_region = pairs.same.get("region_code", np.zeros((n, n), dtype=bool))
        kind_index = {k: i for i, k in enumerate(KINDS)}
        self.kind_index = np.asarray([kind_index[k] for k in self.kind], dtype=np.intp)
        self.affinity = np.asarray([[coef.kind_affinity[a][b] for b in KINDS] for a in KINDS])
        self.same_group = self.facts.group[:, None] == self.facts.group[None, :]
        self._relations(bodies, fire_governance)
        self.services = services.index.to_list()
        self.front = {s: services.loc[s, "office"] == "front" for s in self.services}
        self.label = services["label"].to_dict()
        self.delivers = {
            s: np.isin(self.tier, str(services.loc[s, "delivered_by"]).split(";"))
            for s in self.services
        }
        self.lead_weight = np.array([coef.lead_tier_weight[t] for t in self.tier])
        upper = np.where(self.facts.group == "upper", coef.upper_lead_from_2012, 1.0)
        self.lead_weight_late = self.lead_weight * upper
        self.propensity = rng.lognormal(0.0, coef.propensity_sigma, size=n)
        self.state = _State(
            prior=np.zeros((n, n)),
            shares=np.zeros((len(self.services), n, n), dtype=bool),
            involved=np.zeros(n, dtype=bool),
        )
        sizes = np.array(sorted(coef.size_probs))
        probs = np.array([coef.size_probs[s] for s in sizes])
        self.sizes, self.size_p = sizes, probs / probs.sum()

    def _relations(self, bodies: pd.DataFrame, fire_governance: pd.DataFrame | None) -> None:
        """Set the relations between bodies the draws use (areas, blue light, apart)."""
        pairs, same = self.pairs, self.facts.same
        blue = np.isin(self.kind, BLUE_LIGHT)
        # Fire and police of one police area.
        self.blue_pair = blue[:, None] & blue[None, :] & (self.kind[:, None] != self.kind[None, :])
        self.blue_pair &= same["police"]
        # The county of each district (-1 for other bodies).
        county_codes = bodies["county_code"].astype("string").fillna("").to_numpy(dtype=str)
        self.county_of = np.asarray([pairs.index.get(c, -1) for c in county_codes], dtype=np.intp)
        # The lead's area for an area-wide arrangement: a district's or county's county (the
        # county and its districts), a metropolitan or unitary council's combined authority,
        # a fire or police body's region (regional collaborations of fire services and forces);
        # for a council, the public estate adds the fire, police and NHS bodies of its area.
        two_tier = np.isin(self.tier, ("district", "county"))
        city = np.isin(self.tier, ("metropolitan", "unitary"))
        same_kind = self.kind[:, None] == self.kind[None, :]
        self.area = (
            (two_tier[:, None] & same["county"])
            | (city[:, None] & same["cauth"] & self.is_council[None, :])
            | (blue[:, None] & same_kind & self.same_region)
        )
        np.fill_diagonal(self.area, False)
        public = np.isin(self.kind, ("fire", "police", "health"))
        self.public_area = same["police"] & public[None, :]
        # Never partners: a body and itself, a council and the fire service it runs.
        self.apart = np.eye(pairs.n, dtype=bool)
        if fire_governance is not None:
            run = fire_governance[fire_governance["governance"] == "county_council"]
            for fire, council in zip(run["fire_code"], run["governed_by_code"], strict=True):
                if fire in pairs.index and council in pairs.index:
                    i, j = pairs.index[fire], pairs.index[council]
                    self.apart[i, j] = self.apart[j, i] = True

    def involve(self, groups: Iterable[Iterable[str]]) -> None:
        """Mark the members of (real) arrangements as sharing."""
        for codes in groups:
            known = [self.pairs.index[c] for c in codes if c in self.pairs.index]
            self.state.involved[known] = True

    # --- drawing an arrangement -----------------------------------------------------------------
    def draw_arrangement(
        self, year: int, *, force_uncovered: bool, remaining: int
    ) -> tuple[list[int], str]:
        """Draw one arrangement: its service, its lead, its size and its partners."""
        for _ in range(MAX_DRAWS):
            service = self._draw_service(year)
            lead = self._draw_lead(
                service, year, force_uncovered=force_uncovered, remaining=remaining
            )
            if lead is not None:
                break
        else:  # every body already shares every service with every possible partner
            raise InvalidInput(
                f"no arrangement left to draw in {year}: ask for a smaller size", field="size"
            )
        coef = self.coef
        group = [lead]
        county = self.county_of[lead]
        if (
            county >= 0
            and self.rng.random() < coef.county_joins
            and self._eligible(group, service)[county]
        ):
            group.append(int(county))  # a two-tier arrangement: the district's county joins
        size = int(self.rng.choice(self.sizes, p=self.size_p))
        while size < self.sizes[-1] and self.rng.random() < coef.extra_partner.get(service, 0):
            size += 1
        within = None
        area = self.area[lead]
        if service in coef.public_estate and self.is_council[lead]:
            area = area | self.public_area[lead]
        area = area & self._eligible(group, service)
        if self.rng.random() < coef.area_wide.get(str(self.tier[lead]), 0.0) and area.sum() >= 2:
            # Area-wide: everyone in the lead's area who delivers the service (a county and
            # its districts, a city region, a region's forces), up to the largest size.
            within, size = area, min(int(self.sizes[-1]), len(group) + int(area.sum()))
        while len(group) < size:
            candidate = self._draw_partner(group, service, year, within)
            if candidate is None:
                break
            group.append(candidate)
        return group, service

    def _draw_service(self, year: int) -> str:
        coef = self.coef
        weights = np.array(
            [
                coef.service_weight[s]
                * ((1 + coef.front_growth) ** max(0, year - 2011) if self.front[s] else 1.0)
                for s in self.services
            ]
        )
        return str(self.rng.choice(self.services, p=weights / weights.sum()))

    def _draw_lead(
        self, service: str, year: int, *, force_uncovered: bool, remaining: int
    ) -> int | None:
        """Draw a lead among the bodies with a partner left for ``service`` (None: nobody)."""
        coef, st = self.coef, self.state
        s = self.services.index(service)
        partners = self.delivers[service][None, :] & ~st.shares[s] & ~self.apart
        if service not in MIXED_SERVICES:
            partners = partners & (self.is_council[:, None] == self.is_council[None, :])
        can_pair = partners.any(axis=1)
        eligible = self.delivers[service] & can_pair
        uncovered = eligible & self.is_council & ~st.involved
        total_uncovered = int((self.is_council & ~st.involved).sum())
        if force_uncovered and uncovered.any() and total_uncovered >= remaining * 0.5:
            # The last year's arrangements bring in every council still outside (LGA 2019:
            # "every council in England"): pick among them.
            weights = uncovered.astype(float)
        else:
            tier_w = self.lead_weight_late if year >= LATE_FROM else self.lead_weight
            push = 1.0 + coef.coverage_push * (year >= coef.coverage_from) * uncovered
            sharer = 1.0 + coef.sharer_lead * st.involved
            weights = eligible * tier_w * self.propensity * push * sharer
        if not weights.sum() > 0:
            return None
        return int(self.rng.choice(self.pairs.n, p=weights / weights.sum()))

    def _draw_partner(
        self,
        group: list[int],
        service: str,
        year: int,
        within: npt.NDArray[np.bool_] | None = None,
    ) -> int | None:
        coef, st = self.coef, self.state
        lead = group[0]
        eligible = self._eligible(group, service)
        if within is not None:
            eligible &= within
        if not eligible.any():
            return None
        g = np.asarray(group)
        utility = self._kind_utility(lead, service) + coef.propensity * np.log(self.propensity)
        utility = utility + coef.same_tier_group * self.same_group[g].mean(axis=0)
        utility = utility + coef.log_prior * np.log1p(st.prior[g].sum(axis=0))
        if self.rng.random() >= coef.far_pick:
            utility = utility + self._geography(g, lead)
            if year >= coef.coverage_from:
                utility = utility + coef.newcomer * (self.is_council & ~st.involved)
        utility = np.where(eligible, utility, -np.inf)
        p = np.exp(utility - utility[eligible].max())
        return int(self.rng.choice(self.pairs.n, p=p / p.sum()))

    def _eligible(self, group: list[int], service: str) -> npt.NDArray[np.bool_]:
        """Return who may join ``group`` for ``service``: bodies that deliver it, are not in
        the group, do not share it with a member already, are not a member's own fire and,
        outside :data:`MIXED_SERVICES`, are councils if the lead is one (and not if not)."""
        st = self.state
        eligible = self.delivers[service].copy()
        eligible[group] = False
        eligible &= ~st.shares[self.services.index(service)][group].any(axis=0)
        eligible &= ~self.apart[group].any(axis=0)
        if service not in MIXED_SERVICES:  # councils with councils, other bodies with others
            eligible &= self.is_council == self.is_council[group[0]]
        return eligible

    def _kind_utility(self, lead: int, service: str) -> FloatArray:
        """Utility of each candidate's kind for a group led by ``lead``."""
        coef = self.coef
        utility = self.affinity[self.kind_index[lead]][self.kind_index]
        if self.is_council[lead] and service in EXTERNAL_FRIENDLY:
            utility = utility + coef.other_body_friendly * ~self.is_council
        return utility + coef.blue_light_same_area * self.blue_pair[lead]  # type: ignore[no-any-return]

    def _geography(self, g: npt.NDArray[np.intp], lead: int) -> FloatArray:
        """Utility of each candidate's place relative to the group (each relation averaged
        over the members, so that a large group stays together) and its lead."""
        coef, st, same = self.coef, self.state, self.facts.same
        graph = st.prior > 0
        common = (graph[g] & graph[lead]).sum(axis=0)
        return (  # type: ignore[no-any-return]
            coef.touch * self.pairs.touches[g].mean(axis=0)
            + coef.log_distance * self.log_distance[g].mean(axis=0)
            + coef.same_area * same["police"][g].mean(axis=0)
            + coef.same_icb * same["icb"][g].mean(axis=0)
            + coef.same_cauth * same["cauth"][g].mean(axis=0)
            + coef.same_region * self.same_region[g].mean(axis=0)
            + coef.log_pop_ratio * np.abs(self.facts.log_pop - self.facts.log_pop[lead])
            + coef.log_common * np.log1p(common)
            - coef.deprivation_similarity * np.abs(self.imd - self.imd[lead]) / 10
        )

    # --- what it saves ------------------------------------------------------------------------
    def savings(
        self,
        group: list[int],
        service: str,
        max_per_resident: float | None,
        max_annual: float | None,
    ) -> dict[str, object]:
        coef, pairs, st = self.coef, self.pairs, self.state
        g = np.asarray(group)
        n = len(g)
        iu = np.triu_indices(n, 1)
        pair_touch = pairs.touches[np.ix_(g, g)][iu]
        pair_dist = pairs.dist_km[np.ix_(g, g)][iu]
        pair_prior = st.prior[np.ix_(g, g)][iu]
        merged = float(self.population[g].sum() - self.population[g].max())
        size_factor = coef.savings_size.get(n, coef.savings_size[max(coef.savings_size)])
        log_s = (
            math.log(coef.service_baseline[service])
            + coef.savings_elasticity * math.log(max(merged, 1.0) / BASELINE_MERGED)
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
            cap = math.inf
            if max_per_resident is not None:
                cap = min(cap, max_per_resident * merged)
            if max_annual is not None:
                cap = min(cap, max_annual)
            value = min(math.exp(log_s), cap)
            # Whole thousands, never rounded above the cap; a few hundred pounds stay as such.
            amount = float(math.floor(value / 1000) * 1000 if value >= 1000 else math.floor(value))
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
