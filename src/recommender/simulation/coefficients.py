"""The parameters of the simulated register's generative process
(:mod:`recommender.simulation.process`).

Every number the simulator draws with is here, named and commented; the module docstring of
:mod:`recommender.simulation.process` tells the process they drive, and ``data/register/README.md``
which
published facts and real patterns they reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Services that councils share with other public bodies at all (in the real register: estates,
# back office, management, customer contact, adult social care with the NHS, emergency services
# and other); in the rest (legal, revenues, waste, planning, regulatory, children's services,
# highways) councils share with councils and other public bodies with each other.
MIXED_SERVICES = (
    "property_assets",
    "other",
    "procurement",
    "ict",
    "hr_payroll",
    "finance_audit",
    "management_chief_exec",
    "customer_services",
    "adult_social_care",
)
# Services in which other public bodies share with councils more often (estates, back office).
EXTERNAL_FRIENDLY = (
    "property_assets",
    "other",
    "procurement",
    "ict",
    "hr_payroll",
    "finance_audit",
)


def _kind_affinity() -> dict[str, dict[str, float]]:
    # Utility of a candidate's kind (columns) for a group led by a body of a kind (rows).
    # Councils share with councils; fire and police with their own kind (regional control
    # rooms, force collaborations) and with each other; NHS bodies with the councils of their
    # area, never with another ICB; combined authorities almost never share a service.
    return {
        "council": {"council": 0.0, "fire": -4.8, "police": -5.0, "health": -3.0, "combined": -9.0},
        "fire": {"council": -3.5, "fire": 3.5, "police": -0.5, "health": -4.0, "combined": -9.0},
        "police": {"council": -4.0, "fire": -0.5, "police": 5.0, "health": -2.5, "combined": -4.0},
        "health": {"council": 0.0, "fire": -3.0, "police": -2.0, "health": -9.0, "combined": -9.0},
        "combined": {"council": -9.0, "fire": -9.0, "police": 0.0, "health": -9.0, "combined": -9},
    }


@dataclass(frozen=True)
class Coefficients:
    """Parameters of the generative process (see :mod:`recommender.simulation.process`).

    Weights are relative; utilities are on the logit scale (a difference of 1 multiplies the
    odds of a candidate by e); savings terms are on the log scale.
    """

    # --- 2. which service ----------------------------------------------------------------------
    # Relative frequency of new arrangements, led by the early LGA map counts.
    service_weight: dict[str, float] = field(
        default_factory=lambda: {
            "revenues_benefits": 30,
            "legal": 30,
            "management_chief_exec": 25,
            "building_control_planning": 7,
            "regulatory_trading_standards": 8,
            "procurement": 21,
            "ict": 26,
            "hr_payroll": 20,
            "finance_audit": 24,
            "waste_environment": 11,
            "customer_services": 5,
            "property_assets": 10,
            "adult_social_care": 3,
            "children_education": 3,
            "highways_transport": 5,
            "other": 5,
        }
    )
    front_growth: float = 0.18  # yearly growth of the front-line weights from 2012

    # --- 3. who leads --------------------------------------------------------------------------
    lead_tier_weight: dict[str, float] = field(
        default_factory=lambda: {
            "district": 4.5,
            "county": 2.5,
            "unitary": 1.0,
            "metropolitan": 2.0,
            "london_borough": 0.8,
            "fire": 1.0,
            "police": 1.8,
            "health": 0.5,
            "combined_authority": 0.02,
        }
    )
    # From 2012, upper-tier councils lead more (children's and adult services, highways
    # alliances, tri-borough: the real register's upper-tier arrangements are mostly later).
    upper_lead_from_2012: float = 4.0
    propensity_sigma: float = 0.8  # log-sd of each body's persistent propensity to share
    sharer_lead: float = 4.0  # lead weight times 1 + this for a body already sharing
    coverage_from: int = 2012  # from this year, councils not yet sharing are pushed forward
    coverage_push: float = 20.0  # ... as leads: weight times 1 + this
    newcomer: float = 1.0  # ... as partners: utility

    # --- 4. how many partners ------------------------------------------------------------------
    size_probs: dict[int, float] = field(
        default_factory=lambda: {
            2: 0.66,
            3: 0.21,
            4: 0.035,
            5: 0.02,
            6: 0.01,
            7: 0.01,
            8: 0.006,
            9: 0.004,
            10: 0.003,
            11: 0.002,
            12: 0.002,
            13: 0.002,
            14: 0.002,
            15: 0.001,
            16: 0.001,
        }
    )
    # Chance, repeated, of one more partner: legal and procurement hubs and highways alliances
    # grow larger than other arrangements (by 2016 legal involved the most councils).
    extra_partner: dict[str, float] = field(
        default_factory=lambda: {"legal": 0.8, "procurement": 0.3, "highways_transport": 0.5}
    )
    # Chance, by the lead's tier, that an arrangement is area-wide: every body of the lead's
    # area that delivers the service joins (a county and its districts; a city region), up to
    # the largest size.
    area_wide: dict[str, float] = field(
        default_factory=lambda: {
            "district": 0.05,
            "county": 0.1,
            "metropolitan": 0.2,
            "unitary": 0.1,
            "police": 0.4,
            "fire": 0.2,
        }
    )
    # Services whose area-wide arrangements take in the area's fire, police and NHS bodies too
    # (One Public Estate: the council estate with the blue-light and health estate).
    public_estate: tuple[str, ...] = ("property_assets",)

    # --- 5. which partners (utility of a candidate for the group) -------------------------------
    county_joins: float = 0.35  # chance that a district-led group takes in its county first
    kind_affinity: dict[str, dict[str, float]] = field(default_factory=_kind_affinity)
    other_body_friendly: float = 1.0  # council-led, EXTERNAL_FRIENDLY service, other kind
    # The next terms are each averaged over the group's members (the share of members a
    # candidate borders, its mean log distance to them …), so that a large group stays together.
    same_tier_group: float = 7.5  # in the tier group of the members (district / upper / …)
    touch: float = 3.0  # borders the members
    log_distance: float = -12.0  # per unit of log(1 + km / distance_scale_km) to the members
    distance_scale_km: float = 6.0  # nearer than this, distance hardly matters
    same_area: float = 3.0  # in the police area of the members
    same_icb: float = 3.5  # in the NHS (ICB) area of the members
    same_cauth: float = 2.2  # in the combined-authority area of the members (London: the GLA)
    same_region: float = 0.4  # in the region of the members
    blue_light_same_area: float = 4.0  # fire and police of one police area (to the lead)
    log_pop_ratio: float = 0.3  # per unit of |log population ratio| to the lead
    log_prior: float = 0.8  # log(1 + simulated arrangements shared with the group before)
    log_common: float = 0.4  # log(1 + simulated partners in common with the lead)
    propensity: float = 0.3  # times the log propensity
    deprivation_similarity: float = 0.2  # per 10 points of IMD score apart (a penalty)
    far_pick: float = 0.06  # chance that a pick ignores geography (outsourced, long-distance)

    # --- 6. what it saves ----------------------------------------------------------------------
    # Annual £ of a pair merging 100,000 residents (the population merged in: the members'
    # total less the largest member's), by service.
    service_baseline: dict[str, float] = field(
        default_factory=lambda: {
            "procurement": 86_000,
            "property_assets": 81_000,
            "management_chief_exec": 32_000,
            "revenues_benefits": 13_000,
            "legal": 9_000,
            "ict": 13_000,
            "hr_payroll": 10_000,
            "finance_audit": 9_000,
            "waste_environment": 26_000,
            "building_control_planning": 21_000,
            "regulatory_trading_standards": 21_000,
            "customer_services": 23_000,
            "adult_social_care": 30_000,
            "children_education": 26_000,
            "highways_transport": 36_000,
            "other": 10_000,
        }
    )
    savings_elasticity: float = 0.85  # per log unit of population merged in (economies of scale)
    # Multiplier by number of members (6: six or more), so four save the most per partner.
    savings_size: dict[int, float] = field(
        default_factory=lambda: {2: 1.0, 3: 0.9, 4: 3.6, 5: 0.8, 6: 0.5}
    )
    savings_touch: float = 0.35  # mean over pairs of sharing a border
    savings_distance_per_km: float = -0.006  # mean distance between members
    savings_same_tier: float = 0.3  # all members of one tier
    savings_log_prior: float = 0.35  # log(1 + mean simulated arrangements shared before)
    savings_deprivation: float = 0.12  # per 5 points of mean IMD score above 20
    savings_log_density: float = -0.12  # per log unit of mean density above 500/km²
    savings_other_body: float = 1.0  # another public body is a member ("better results")
    savings_sigma: float = 0.95  # log-sd of the noise
    savings_noise_cap: float = 2.0  # noise truncated at this many sigmas
    # Share of arrangements not set up to save money (£0), by service; the rest the default.
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
    no_aim_default: float = 0.28
    unreported: float = 0.07  # share of the rest that report no figure (basis unknown)

    # --- 7. ending -----------------------------------------------------------------------------
    ended_share: float = 0.12  # share that end, two to six years after they started
