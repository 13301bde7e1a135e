"""Reasons: what sets a suggestion apart, in words, pointing the same way for the same fact."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pytest

from recommender.model.explain import MIN_EFFECT, _distinct, _london, evidence_record
from recommender.recommend.ranking import Query, Recommender

# A district, a county, a unitary, a London borough, fire, police, an ICB, a combined authority.
BODIES = ["Rother", "Kent", "Cornwall", "Sutton", "E31000022", "E23000032", "E54000032",
          "E47000001"]  # fmt: skip
# The same kinds in the small world of the shared model (no London, no combined authority).
WORLD_BODIES = ["Rother", "Kent", "Brighton and Hove", "E31000022", "E23000032", "E54000032"]


def _fact(text: str, focal: str) -> str:
    """A reason's fact without its figures and names: the same fact reads the same."""
    text = text.replace(focal, "X")
    text = re.sub(r"[\d,.]+( million)?", "N", text)
    return re.sub(r"(already works with|contains|within the area of) .*", r"\1 …", text)


@pytest.mark.slow
@pytest.mark.parametrize("body", BODIES)
def test_reasons_distinguish_and_agree(real_recommender_model: Recommender, body: str) -> None:
    """On the real model: facts most candidates share (in England) are never reasons."""
    _check_reasons(real_recommender_model, body, shared=("in another region",))


@pytest.mark.parametrize("body", WORLD_BODIES)
def test_reasons_agree_on_the_small_world(recommender_model: Recommender, body: str) -> None:
    """On the shared model (its world is two regions: another region is a real difference)."""
    _check_reasons(recommender_model, body, shared=())


def _check_reasons(model: Recommender, body: str, shared: tuple[str, ...]) -> None:
    found = model.recommend(Query(body, k=30, min_choice=0))
    focal = str(model.model.context.bodies.names[model.body_position(body)])
    assert len(found) == 30
    assert any(r.reasons for r in found)
    directions: dict[str, set[str]] = defaultdict(set)
    for r in found:
        for x in r.reasons:
            if x.direction == "note":  # under one governor; who runs it; a shared history too small
                assert x.factor in ("governance", "run_by", "history")
                continue
            assert abs(x.effect) >= MIN_EFFECT
            # Facts most candidates share are never reasons.
            assert not x.text.startswith(("no border", "has been in 0", *shared))
            assert "'s area" not in x.text
            directions[(x.factor, _fact(x.text, focal))].add(x.direction)
    mixed = {fact: d for fact, d in directions.items() if len(d) > 1}
    assert not mixed, f"the same fact raises and lowers on one page: {mixed}"


def test_a_factor_must_stand_apart_from_the_median_candidate_too() -> None:
    assert _distinct(0.8, 0.5)
    assert not _distinct(0.3, 0.0)  # the typical candidate has it too: no border, say
    assert not _distinct(0.3, -0.4)  # above the average but below the typical one: unclear
    assert _distinct(-0.3, -0.2)


def test_evidence_names_a_county_split_in_two_once() -> None:
    """Northamptonshire, abolished and split into North and West Northamptonshire, is two
    members of one arrangement under the one name the source wrote: it was listed twice."""
    row = {"id": "R-1", "name": "LGSS Law Ltd", "service": "legal", "start_year": 2013,
           "member_names": ["Cambridgeshire", "Northamptonshire", "Northamptonshire",
                            "Central Bedfordshire"]}  # fmt: skip
    shown = evidence_record(row)
    assert shown["partner_names"] == ["Cambridgeshire", "Northamptonshire", "Central Bedfordshire"]


@pytest.mark.parametrize(
    ("end_year", "status", "ended"),
    [(2021, "ended", True), (None, "ended", True), (None, "active", False),
     (None, "unknown", False), (None, None, False)],
)  # fmt: skip
def test_evidence_says_whether_the_arrangement_has_ended(
    end_year: int | None, status: str | None, ended: bool
) -> None:
    """One the register says has ended without its year was cited with no end year and no
    other sign of it: the pages, the briefing and the API read it as running."""
    row = {"id": "R-1", "name": "Shared legal", "service": "legal", "start_year": 2012,
           "end_year": end_year, "status": status,
           "member_names": ["Adur", "Worthing"]}  # fmt: skip
    shown = evidence_record(row)
    assert shown["ended"] is ended and shown["end_year"] == end_year


def test_a_shared_history_is_always_said(recommender_model: Recommender) -> None:
    """Adur's first suggestion, Worthing, with whom it already shares its management, gave four
    reasons (distance, area, type, border) and not that one: a shared history is always said."""
    model = recommender_model.model
    history = recommender_model.scorer.network  # as stated: no proposal is a shared history
    found = []
    for code in model.context.pairs.codes[:80]:
        for r in recommender_model.recommend(Query(str(code), k=20)):
            f, c = (recommender_model.body_position(x) for x in (str(code), r.partner_code))
            if history.prior[f, c] > 0:
                found.append(r)
    assert found
    for r in found:
        said = [x for x in r.reasons if x.factor == "history"]
        opening = (
            "already works with",
            "has been in",
            "both succeed",
            "worked with",
            "its predecessor",
        )  # fmt: skip  (the last three: through bodies now gone)
        assert said and said[0].text.startswith(opening), r.reasons


def test_an_area_is_said_to_be_the_same_only_as_the_model_sees_it(
    recommender_model: Recommender,
) -> None:
    """Kent's NHS board and police area (Kent and Medway) "covered the same area as Kent" (areas
    within 35% were called the same; the model's own test is 5%), and two areas that only
    overlap (a fire authority and a police area) were said to cover the same one."""
    from recommender.model.explain import describe

    model = recommender_model.model
    overlaps = recommender_model.scorer.overlaps
    assert overlaps is not None and overlaps.any()  # the small world has some
    b = model.context.bodies
    seen = set()
    for f, c in zip(*np.nonzero(model.context.pairs.nested), strict=True):
        text = describe(model, "area", int(f), int(c), 0, 1.0, overlaps=overlaps)
        same_people = abs(float(b.population[c] - b.population[f])) < 1
        if overlaps[f, c]:
            assert text.startswith("its area overlaps"), text
        elif same_people:
            assert text.startswith("covers the same area"), text
        else:
            assert text.startswith(("its area contains", "lies within")), text
        seen.add(text.split(" the area")[0].split(" as ")[0])
    assert len(seen) >= 3


def test_a_distance_reads_the_same_in_the_reasons_as_beside_them(
    recommender_model: Recommender,
) -> None:
    """Hastings, 9.46 km from Rother, read "10 km away" in the table (9.5 shown whole) and
    "9 km from Rother" in its reason."""
    checked = 0
    for body in WORLD_BODIES:
        for r in recommender_model.recommend(Query(body, k=30, min_choice=0)):
            shown = f"{r.to_dict()['distance_km']:.0f} km from "
            for x in r.reasons:
                if " km from " in x.text:
                    assert x.text.startswith(shown), (x.text, r.distance_km)
                    checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("km", "said"), [(44.2, "44 km"), (0.95, "1 km"), (0.483, "480 m"), (0.004, "10 m")]
)
def test_a_short_border_is_said_in_metres(km: float, said: str) -> None:
    """The City of London's 483 m of border read "shares 0 km of border"."""
    from recommender.model.explain import border_length

    assert border_length(km) == said


def test_a_council_split_between_two_bodies_is_no_partnership_of_theirs() -> None:
    """West and North Northamptonshire "already work together on legal services": both are
    members of LGSS Law only because Northamptonshire County Council, split between them, was."""
    from types import SimpleNamespace

    import pandas as pd

    from recommender.model.explain import inherited_only

    class Model:  # what inherited_only reads of a model (and weakly refers to)
        pass

    model = Model()
    pairs = SimpleNamespace(index={"WN": 0, "NN": 1, "CAM": 2})
    model.context = SimpleNamespace(pairs=pairs, services=("legal", "finance_audit"))  # type: ignore[attr-defined]
    model.arrangements = (  # type: ignore[attr-defined]
        pd.DataFrame(
            {
                "service": ["legal", "finance_audit"],
                "member_codes": [["CAM", "WN", "NN"], ["WN", "NN", "NN"]],
                "member_names": [
                    ["Cambridgeshire", "Northamptonshire", "Northamptonshire"],
                    ["Northamptonshire", "Northamptonshire", "Corby"],  # Corby: NN's own
                ],
            }
        )
    )
    found = inherited_only(model)  # type: ignore[arg-type]
    both = ("Northamptonshire", "Northamptonshire")
    assert found == {(0, 1, 0): both, (1, 0, 0): both}  # a model kept without member_via


def test_history_through_a_body_that_is_gone_says_so() -> None:
    """Bedfordshire Police "already works with Bedford on customer services": the 2004
    arrangement was Bedfordshire County Council's (abolished 2009, its area now Bedford and
    Central Bedfordshire) with the police authority; and a successor's two predecessors."""
    from types import SimpleNamespace

    import pandas as pd

    from recommender.model.explain import (
        inherited_history,
        inherited_only,
        inherited_pairs,
        inherited_said,
    )

    class Model:  # what inherited_only reads of a model (and weakly refers to)
        pass

    model = Model()
    pairs = SimpleNamespace(index={"BED": 0, "CBED": 1, "POL": 2, "CHR": 3, "WN": 4})
    services = ("customer_services", "legal", "hr_payroll")
    model.context = SimpleNamespace(pairs=pairs, services=services)  # type: ignore[attr-defined]
    county = "Bedfordshire County Council"
    model.arrangements = pd.DataFrame(  # type: ignore[attr-defined]
        {
            "service": ["customer_services", "legal", "hr_payroll", "hr_payroll"],
            "member_codes": [["BED", "CBED", "POL"], ["CHR", "WN"], ["CHR", "WN"], ["WN", "CHR"]],
            "member_names": [[county, county, "Bedfordshire Police Authority"],
                             ["Cherwell", "South Northamptonshire"],
                             ["Cherwell", "South Northamptonshire"], ["West Northamptonshire",
                                                                       "Cherwell"]],
            "member_via": [[county, county, ""], ["", "South Northamptonshire"],
                           ["", "South Northamptonshire"], ["", ""]],
        }
    )  # fmt: skip
    found = inherited_only(model)  # type: ignore[arg-type]
    assert found[(0, 2, 0)] == (county, "") and found[(2, 0, 0)] == ("", county)
    assert found[(0, 1, 0)] == (county, county)
    assert found[(4, 3, 1)] == ("South Northamptonshire", "")
    assert (4, 3, 2) not in found  # West Northamptonshire with Cherwell itself, later: theirs
    said = inherited_said("Bedford", found[(0, 2, 0)], ["customer services"])
    assert said == f"worked with {county}, a predecessor of Bedford, on customer services"
    said = inherited_said("Bedfordshire Police", found[(2, 0, 0)], ["customer services"])
    assert said == f"its predecessor {county} worked with Bedfordshire Police on customer services"
    said = inherited_said("Bedford", found[(0, 1, 0)], ["customer services"])
    assert said == f"both succeed {county} in its arrangements for customer services"
    # A pair's history, of any service, only through bodies that are gone: said so too ("has
    # been in 4 documented arrangements with Cherwell" of West Northamptonshire, whose
    # predecessor South Northamptonshire was in them).
    pairs_found = inherited_pairs(model)  # type: ignore[arg-type]
    assert pairs_found[(0, 2)] == (county, "") and pairs_found[(2, 0)] == ("", county)
    assert (4, 3) not in pairs_found and (3, 4) not in pairs_found  # once with Cherwell itself
    two = "2 documented arrangements"
    said = inherited_history("Cherwell", ("", "South Northamptonshire"), two)
    assert said == f"its predecessor South Northamptonshire has been in {two} with Cherwell"
    said = inherited_history("Bedford", pairs_found[(0, 2)], two)
    assert said == f"has been in {two} with {county}, a predecessor of Bedford"
    said = inherited_history("Bedford", pairs_found[(0, 1)], two)
    assert said == f"both succeed {county} in {two}"
    said = inherited_history("Bedford", None, two)
    # (not "each through a council": one may be an NHS body's predecessor, a CCG)
    assert said == f"has been in {two} with Bedford, only through bodies since abolished"


def test_evidence_prefers_arrangements_between_bodies_of_the_pairs_kinds(
    recommender_model: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A council and its NHS board were shown a police authority's internal audit as
    "comparable"; the evidence ignored what kinds of body the arrangements were between."""
    from recommender.model import explain

    model = recommender_model.model
    kind = dict(zip(model.context.pairs.codes, model.context.bodies.kind, strict=True))
    members = {r["id"]: {kind[c] for c in r["member_codes"] if c in kind}
               for r in model.arrangements.to_dict("records")}  # fmt: skip

    def alike() -> float:
        index = explain.EvidenceIndex(model)
        shown = matched = 0
        for f in range(0, model.context.pairs.n, 7):
            for s in range(len(model.context.services)):
                cands = np.arange(model.context.pairs.n, dtype=np.intp)[:40]
                for c, found in zip(cands, index.best_many(model, f, cands, s), strict=True):
                    pair = {model.context.bodies.kind[f], model.context.bodies.kind[c]}
                    shown += len(found)
                    matched += sum(pair <= members[e["id"]] for e in found)
        return matched / shown

    with_kinds = alike()
    monkeypatch.setattr(explain, "KIND_WEIGHTS", (0.0, 0.0))
    assert with_kinds > alike()


def test_a_proposal_is_never_cited_as_a_comparable_arrangement(
    recommender_model: Recommender,
) -> None:
    """A proposal ("Eastern counties ICT network sharing talks (proposal)") was shown as a
    comparable real arrangement: nothing was formed, nothing saved."""
    from dataclasses import replace

    from recommender.model import explain

    model = recommender_model.model
    cands = np.arange(model.context.pairs.n, dtype=np.intp)[:40]
    index = explain.EvidenceIndex(model)
    f, s = next(
        (f, s)
        for f in range(model.context.pairs.n)
        for s in range(len(model.context.services))
        if any(index.best_many(model, f, cands, s))
    )
    cited = {e["id"] for found in index.best_many(model, f, cands, s) for e in found}
    frame = model.arrangements.copy()
    named = frame["id"].isin(cited)
    frame.loc[named, "name"] = frame.loc[named, "name"] + " (proposal)"
    proposed = replace(model, arrangements=frame)
    again = explain.EvidenceIndex(proposed).best_many(proposed, f, cands, s)
    assert not cited & {e["id"] for found in again for e in found}


def test_a_savings_reason_names_the_smaller_body_and_its_people(
    recommender_model: Recommender,
) -> None:
    """The savings grow with the people the smaller of the two brings: "only 156,000 people
    merged into one service" under Blackburn with Darwen on Lancashire's list read as the two
    together (about 1.4 million)."""
    bodies = recommender_model.model.context.bodies
    said = []
    for body in WORLD_BODIES:
        focal = recommender_model.body_position(body)
        for r in recommender_model.recommend(Query(body, k=50, min_choice=0)):
            for x in r.reasons:
                if x.factor != "savings":
                    continue
                cand = recommender_model.body_position(r.partner_code)
                smaller = min((focal, cand), key=lambda i: float(bodies.population[i]))
                people = float(bodies.population[smaller])
                figure = f"{people / 1e6:.1f} million" if people >= 1e6 else f"{people:,.0f}"
                if 10_000 <= people < 1e6:
                    figure = f"{round(people, -3):,.0f}"
                if bodies.population[focal] == bodies.population[cand]:  # one area: Kent's fire
                    assert x.text.endswith(f"each of the two serves {figure} people"), x.text
                    continue  # and police (no smaller one)
                who = f"{bodies.names[smaller]}, the smaller of the two, brings "
                assert who in x.text and f"{figure} people into one service" in x.text, x.text
                said.append(x.text)
    assert said  # the small world's lists give some


@pytest.mark.slow
def test_london_pairs_share_the_greater_london_authority_not_a_combined_authority(
    real_recommender_model: Recommender,
) -> None:
    """Barnet "in the same fire area, police area and combined authority as Brent": the GLA
    stands in the combined authority column (the mayor's strategic authority over London's
    boroughs), but it is not one; Manchester's partners do share one."""
    london = [x.text for r in real_recommender_model.recommend(Query("Brent", k=50, min_choice=0))
              for x in r.reasons if x.factor == "area"]  # fmt: skip
    assert any("Greater London Authority area as Brent" in text for text in london), london
    assert not any("combined authority" in text for text in london)
    manchester = [x.text for r in real_recommender_model.recommend(
                      Query("Manchester", k=50, min_choice=0)
                  ) for x in r.reasons if x.factor == "area"]  # fmt: skip
    assert manchester and not any("Greater London" in text for text in manchester)
    pairs = real_recommender_model.model.context.pairs  # what its pairs' shared column is called
    assert _london(pairs, real_recommender_model.body_position("Manchester")) == (
        "combined authority"
    )


@pytest.mark.slow
def test_the_gla_and_a_combined_authority_are_not_both_combined_authorities(
    real_recommender_model: Recommender,
) -> None:
    found = real_recommender_model.recommend(Query("E61000001", k=50, min_choice=0))
    types = [x.text for r in found for x in r.reasons if x.factor == "type"]
    assert not any("also a combined authority" in text for text in types), types
    assert all("Greater London Authority is a combined authority" not in t for t in types)


@pytest.mark.slow
def test_savings_are_learnt_only_from_arrangements_that_ran(
    real_recommender_model: Recommender,
) -> None:
    """The savings model learnt from two proposals that never ran (Boston's audit proposal,
    £3k; Cherwell's confederation proposal): "Learnt from the savings figures of 53 documented
    arrangements" counted them, where the explorer leaves them out because they never ran."""
    from recommender.model.fit import savings_figures

    ctx = real_recommender_model.model.context
    proposed = [k for k in ctx.reg.proposed if ctx.reg.annual[k] > 0 and ctx.usable()[k]]
    assert proposed  # the real register has such proposals, with a figure
    learnt = set(savings_figures(ctx, ctx.usable() & ~ctx.reg.simulated).tolist())
    assert learnt and not learnt & set(proposed)
    meta = real_recommender_model.describe()
    assert len(meta["parameters"]["savings"]["figures_gbp"]) == len(learnt)
    assert sum(meta["parameters"]["savings"]["figures_by_basis"].values()) == len(learnt)


@pytest.mark.parametrize("kind", ["fire", "police"])
def test_reasons_name_a_fire_authority_or_police_force_area_with_the(
    recommender_model: Recommender, kind: str
) -> None:
    """Reasons said "12 km from Essex police force area", "its area contains Kent Fire and
    Rescue Authority"."""
    bodies = recommender_model.model.context.bodies
    said = []
    for i in np.flatnonzero(bodies.kind == kind)[:3]:
        name = str(bodies.names[i])
        for r in recommender_model.recommend(Query(str(bodies.codes[i]), k=10)):
            said += [(name, x.text) for x in r.reasons if name in x.text]
    assert said
    for name, text in said:
        assert re.search(rf"(?<!the ){re.escape(name)}", text) is None, text


def test_a_pair_sharing_management_is_told_a_service_may_be_shared_under_it(
    recommender_model: Recommender,
) -> None:
    """Adur and Worthing run one officer structure (Adur and Worthing joint working, filed under
    shared management): Worthing was offered legal services, ICT and finance "with Adur" at
    hundreds of thousands a year if formed, with nothing to say they may be shared already."""
    for service in ("legal", "ict"):
        found = recommender_model.recommend(Query("Worthing", service=service, k=50))
        adur = next(r for r in found if r.partner_name == "Adur")
        notes = [x for x in adur.reasons if x.factor == "management"]
        assert [x.direction for x in notes] == ["note"]
        assert notes[0].text.startswith("shares management with Worthing (documented")
        assert notes[0].text.endswith("may be run jointly under it already")
        others = [r for r in found if r.partner_name != "Adur"]
        assert not [x for r in others for x in r.reasons if x.factor == "management"]
    management = recommender_model.recommend(
        Query("Worthing", service="management_chief_exec", k=50, include_existing=True)
    )
    assert not [x for r in management for x in r.reasons if x.factor == "management"]


def test_more_services_shared_are_counted_inside_the_one_bracket(
    recommender_model: Recommender,
) -> None:
    """ "… on procurement, finance and audit, and building control and planning (documented
    arrangements) (and 2 more services)": two brackets in a row."""
    said = [
        x.text
        for code in recommender_model.model.context.pairs.codes
        for r in recommender_model.recommend(Query(str(code), k=10, include_existing=True))
        for x in r.reasons
        if x.factor == "history" and " more service" in x.text
    ]
    assert said
    for text in said:
        assert ") (" not in text, text
        assert re.search(r", and \d+ more services? \(documented arrangements\)", text), text


def test_a_size_reason_never_sets_one_figure_against_itself(
    recommender_model: Recommender,
) -> None:
    """Somerset's NHS board was "similar in size to Somerset: 577,000 people against 577,000
    people": the same people, or the same as rounded, said as such."""
    from recommender.model.explain import describe

    model = recommender_model.model
    b = model.context.bodies
    estimated = recommender_model.scorer.estimated  # "an estimated 776,000 people against …"
    assert estimated is not None and estimated.any()
    said = {"same": 0, "rounded": 0}
    n = len(b.codes)
    for f in range(n):
        for c in range(n):
            if f == c:
                continue
            text = describe(model, "size", f, c, 0, 1.0, estimated=estimated)
            figures = re.findall(
                r"([\d,.]+(?: million)?) people against (?:an estimated )?([\d,.]+(?: million)?)",
                text,
            )
            assert not any(a == z for a, z in figures), text
            if abs(float(b.population[c] - b.population[f])) < 1:
                assert text.startswith("serves the same people as"), text
                said["same"] += 1
            elif text.startswith("about the same size as"):
                said["rounded"] += 1
    assert said["same"] or said["rounded"]
