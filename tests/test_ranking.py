"""Recommendations from a real trained model: filters, bounds, groups, joins, behaviour."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model_fixtures import trained_before
from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.model.explain import service_words
from recommender.model.features import PAIR_FEATURES
from recommender.recommend.query import CHOICE_FLOOR
from recommender.recommend.ranking import MAX_K, Query, Recommender
from recommender.register import records as register
from recommender.register.records import years_said


def test_top_k_sorted_by_expected_savings_with_reasons_and_evidence(
    recommender_model: Recommender,
) -> None:
    found = recommender_model.recommend(Query("Rother", k=10))
    assert len(found) == 10
    expected = [r.expected_savings_gbp for r in found]
    assert expected == sorted(expected, reverse=True)
    for r in found:
        assert 0 < r.likelihood <= 1
        assert 0 <= r.savings_low_gbp <= r.savings_high_gbp
        assert not r.existing
        assert r.reasons and all(x.text for x in r.reasons)
        assert r.evidence and all(e["service"] == r.service for e in r.evidence)


def test_filters(recommender_model: Recommender) -> None:
    found = recommender_model.recommend(
        Query("Rother", service="ict", kinds=("council",), max_km=40, k=20)
    )
    assert found
    assert {r.service for r in found} == {"ict"}
    assert {r.partner_kind for r in found} == {"council"}
    assert max(r.distance_km for r in found) <= 40


def test_existing_partners_are_left_out_unless_asked(recommender_model: Recommender) -> None:
    model = recommender_model.model
    s, f, c = (int(v[0]) for v in np.nonzero(model.snapshot.shares))
    code = str(model.context.pairs.codes[f])
    service = model.context.services[s]
    plain = recommender_model.recommend(Query(code, service=service, k=MAX_K), explain=False)
    partner = str(model.context.pairs.codes[c])
    assert partner not in {r.partner_code for r in plain}
    near = float(model.context.pairs.dist_km[f, c]) + 0.1  # few candidates: none cut off
    kind = (str(model.context.bodies.kind[c]),)
    flagged = recommender_model.recommend(
        Query(code, service, kind, near, MAX_K, include_existing=True, min_choice=0),
        explain=False,
    )
    (shown,) = [r for r in flagged if r.partner_code == partner]
    assert shown.existing and shown.likelihood is None and flagged[-1].existing


def test_partnerships_the_register_holds_since_training_are_existing(
    recommender_model: Recommender,
) -> None:
    """An arrangement imported after training: the model still suggested the pair as new, so an
    officer read "already a partner: no" beside the register listing it. Following the register
    marks it existing for both bodies, in every answer, until the register says otherwise."""
    base = recommender_model
    rec = Recommender(base.model, base.version, base.metadata, base.settings)
    rec.prepare()  # shortlists made before the register changed must not be served after
    top = rec.recommend(Query("Rother", k=5))[0]
    rother = str(rec.model.context.pairs.codes[rec.body_position("Rother")])
    pair = (top.service, top.partner_code)
    assert rec.follow([(top.service, [rother, top.partner_code])]) == 2
    followed = rec.identity
    assert followed[0] == base.version and followed != base.identity  # no cache serves one before

    def pairs(code: str, **query: object) -> set[tuple[str, str]]:
        found = rec.recommend(Query(code, k=MAX_K, **query))  # type: ignore[arg-type]
        assert [r.json for r in found] == rec.recommend_json(Query(code, k=MAX_K, **query))  # type: ignore[arg-type]
        return {(r.service, r.partner_code) for r in found}

    assert pair not in pairs("Rother")
    assert (top.service, rother) not in pairs(top.partner_code)
    near = top.distance_km + 0.1  # few candidates: none cut off
    kind = (top.partner_kind,)
    shown = rec.recommend(Query("Rother", top.service, kind, near, MAX_K, include_existing=True,
                                min_choice=0))  # fmt: skip
    (mine,) = [r for r in shown if r.partner_code == top.partner_code]
    assert mine.existing and mine.likelihood is None and mine.expected_savings_gbp is None
    assert rec.follow([(top.service, [rother, top.partner_code])]) == 2
    assert rec.identity == followed  # the same partnerships: no change
    assert rec.follow([]) == 0  # the register as the model was trained on it
    assert pair in pairs("Rother") and rec.recommend(Query("Rother", k=5))[0] == top


def test_a_model_loaded_again_never_takes_the_identity_of_another_register_state(
    recommender_model: Recommender,
) -> None:
    """A model swapped away and back counted the register's changes from 0 again: loaded after
    two imports it followed both at once and took the identity its first load had between them,
    so the cache served an answer from before the second import (a pair that already shares
    the service, suggested)."""
    base = recommender_model
    top = base.recommend(Query("Rother", k=5))
    rother = str(base.model.context.pairs.codes[base.body_position("Rother")])
    one = [(top[0].service, [rother, top[0].partner_code])]
    two = [*one, (top[1].service, [rother, top[1].partner_code])]
    first = Recommender(base.model, base.version, base.metadata, base.settings)
    first.follow(one)
    between = first.identity
    first.follow(two)
    again = Recommender(base.model, base.version, base.metadata, base.settings)
    again.follow(two)  # loaded after both imports: follows them at once
    assert again.identity not in {between, first.identity, (base.version,)}
    unchanged = Recommender(base.model, base.version, base.metadata, base.settings)
    assert unchanged.follow([]) == 0 and unchanged.identity == (base.version,)  # as trained


def test_an_arrangement_deleted_from_the_register_is_no_longer_cited_or_offered(
    recommender_model: Recommender,
) -> None:
    """An analyst deleted a wrong arrangement: the served suggestions still cited it as a
    comparable real arrangement, and offered it to join, until the next training. Withdrawn,
    it is in no answer from the next one on (those made before are made again)."""
    base = recommender_model
    rec = Recommender(base.model, base.version, base.metadata, base.settings)
    rec.prepare()  # shortlists made before the register changed must not be served after
    cited = rec.recommend(Query("Rother", k=10))[0].evidence[0]["id"]
    offered = rec.arrangements_to_join("Rother", k=MAX_K)[0].arrangement["id"]
    real = base.model.arrangements[~base.model.arrangements["simulated"].astype(bool)]
    present = {str(i) for i in real["id"]}
    assert rec.withdraw(present) == 0 and rec.identity == (base.version,)  # nothing deleted

    assert rec.withdraw(present - {cited, offered}) == len({cited, offered})
    assert rec.withdrawn == {cited, offered}
    assert rec.identity not in {base.identity, (base.version,)}  # no cache serves one before
    for body in ("Rother", *{r.partner_code for r in rec.recommend(Query("Rother", k=10))}):
        found = rec.recommend(Query(body, k=MAX_K))
        assert [r.json for r in found] == rec.recommend_json(Query(body, k=MAX_K))
        assert {cited, offered}.isdisjoint(e["id"] for r in found for e in r.evidence)
        joins = {o.arrangement["id"] for o in rec.arrangements_to_join(body, k=MAX_K)}
        assert {cited, offered}.isdisjoint(joins)
    assert rec.recommend(Query("Rother", k=10))[0].evidence  # others are cited in its place

    assert rec.withdraw(present) == 0  # imported again: cited again
    assert rec.recommend(Query("Rother", k=10))[0].evidence[0]["id"] == cited


def test_an_arrangement_the_register_says_has_ended_since_is_cited_so_and_not_offered(
    recommender_model: Recommender,
) -> None:
    """An analyst records that an arrangement ended (removed, then imported again with its end
    year): until a retrain it was still offered to join and cited as running."""
    base = recommender_model
    rec = Recommender(base.model, base.version, base.metadata, base.settings)
    rec.prepare()
    offered = rec.arrangements_to_join("Rother", k=MAX_K)[0].arrangement["id"]
    real = base.model.arrangements[~base.model.arrangements["simulated"].astype(bool)]
    present = {str(i) for i in real["id"]}
    cited = [e for b in ("Rother", "Hastings", "Wealden") for r in rec.recommend(Query(b, k=20))
             for e in r.evidence if e["end_year"] is None]  # fmt: skip
    running = cited[0]["id"]
    assert rec.withdraw(present, {offered: 2024, running: 2023}) == 0  # none deleted
    assert rec.ended_since == {offered: 2024, running: 2023} and rec.identity != base.identity
    for body in ("Rother", "Hastings", "Wealden"):
        joins = {o.arrangement["id"] for o in rec.arrangements_to_join(body, k=MAX_K)}
        assert offered not in joins and running not in joins
        for found in rec.recommend(Query(body, k=20)):
            for e in found.evidence:
                assert e["end_year"] == {offered: 2024, running: 2023}.get(e["id"], e["end_year"])
    shown = [e for r in rec.recommend(Query("Rother", k=20)) + rec.recommend(
        Query("Hastings", k=20)) + rec.recommend(Query("Wealden", k=20)) for e in r.evidence
        if e["id"] == running]  # fmt: skip
    assert shown and all(e["end_year"] == 2023 for e in shown)
    assert rec.withdraw(present, {}) == 0 and rec.ended_since == {}  # imported running again
    assert offered in {o.arrangement["id"] for o in rec.arrangements_to_join("Rother", k=MAX_K)}


def test_an_arrangement_said_ended_without_its_year_is_cited_as_ended(
    recommender_model: Recommender,
) -> None:
    """The register may say an arrangement has ended without giving the year (status ended):
    cited with no end year and nothing else, it read as running beside every suggestion."""
    base = recommender_model
    rec = Recommender(base.model, base.version, base.metadata, base.settings)
    rec.prepare()
    bodies = ("Rother", "Hastings", "Wealden")

    def cited() -> list[dict[str, Any]]:
        return [e for b in bodies for r in rec.recommend(Query(b, k=20)) for e in r.evidence]

    before = cited()
    assert before and all(e["ended"] for e in before if e["end_year"] is not None)
    running = next(e["id"] for e in before if not e["ended"])
    real = base.model.arrangements[~base.model.arrangements["simulated"].astype(bool)]
    rec.withdraw({str(i) for i in real["id"]}, {running: None})
    shown = [e for e in cited() if e["id"] == running]
    assert shown and all(e["ended"] and e["end_year"] is None for e in shown)
    assert years_said(shown[0]) in ("ended", f"from {shown[0]['start_year']}, since ended")
    answer = [json.loads(b"".join(parts)) for parts in rec.recommend_json(Query("Rother", k=20))]
    assert all(e["ended"] for r in answer for e in r["evidence"] if e["id"] == running)
    assert [e["ended"] for r in answer for e in r["evidence"]] == [
        e["ended"] for r in rec.recommend(Query("Rother", k=20)) for e in r.evidence
    ]


def test_a_history_the_register_no_longer_documents_is_not_stated(
    recommender_model: Recommender,
) -> None:
    """An analyst deleted the wrong arrangements linking two bodies: the suggestions still said
    the partner "already works with" the body on their services (documented arrangements), and
    the pair was still an existing partnership for them (never suggested), until a retrain."""
    base = recommender_model
    rec = Recommender(base.model, base.version, base.metadata, base.settings)
    rec.prepare()
    ctx, reg = base.model.context, base.model.context.reg
    rother = str(ctx.pairs.codes[rec.body_position("Rother")])

    def history(partner: str) -> list[str]:
        found = rec.recommend(Query("Rother", k=MAX_K, include_existing=True))
        assert [r.json for r in found] == rec.recommend_json(
            Query("Rother", k=MAX_K, include_existing=True)
        )
        return [x.text for r in found if r.partner_code == partner for x in r.reasons
                if x.factor == "history"]  # fmt: skip

    def existing(partner: str, service: str) -> bool:
        c = ctx.pairs.index[partner]
        near = float(ctx.pairs.dist_km[ctx.pairs.index[rother], c]) + 0.1
        kind = (str(ctx.bodies.kind[c]),)
        found = rec.recommend(
            Query("Rother", service, kind, near, MAX_K, include_existing=True, min_choice=0),
            explain=False,
        )
        (shown,) = [r for r in found if r.partner_code == partner]
        return shown.existing

    top = next(r for r in rec.recommend(Query("Rother", k=MAX_K))
               if any(x.text.startswith("already works with") for x in r.reasons))  # fmt: skip
    partner = top.partner_code
    f, c = ctx.pairs.index[rother], ctx.pairs.index[partner]
    shared = [ctx.services[s] for s in np.flatnonzero(base.model.snapshot.shares[:, f, c])]
    linking = {str(reg.ids[k]) for k, m in enumerate(reg.members)
               if not reg.simulated[k] and f in m and c in m}  # fmt: skip
    real = base.model.arrangements[~base.model.arrangements["simulated"].astype(bool)]
    present = {str(i) for i in real["id"]}
    assert shared and linking and all(existing(partner, s) for s in shared)
    assert any(t.startswith("already works with") for t in history(partner))

    rec.withdraw(present - linking)  # deleted: no history, and free to partner for them again
    assert history(partner) == []
    assert not any(existing(partner, s) for s in shared)
    near = float(ctx.pairs.dist_km[f, c]) + 0.1
    asked = Query("Rother", shared[0], (str(ctx.bodies.kind[c]),), near, MAX_K, min_choice=0)
    assert partner in {r.partner_code for r in rec.recommend(asked, explain=False)}

    rec.withdraw(present, dict.fromkeys(linking, 2024))  # ended: history, no sharing
    said = history(partner)
    assert said and not any(t.startswith("already works with") for t in said)
    assert all(t.startswith("has been in") for t in said)
    assert not any(existing(partner, s) for s in shared)

    rec.withdraw(present - linking)  # deleted, then imported again under another id
    rec.follow([(shared[0], [rother, partner])])
    assert existing(partner, shared[0])
    words = rec._labels[shared[0]].lower()
    assert [t for t in history(partner) if words in t]  # said from the register now

    rec.withdraw(present)
    rec.follow([])
    assert all(existing(partner, s) for s in shared)  # as trained
    assert rec.recommend(Query("Rother", k=MAX_K))[0] == base.recommend(Query("Rother", k=MAX_K))[0]


def test_existing_partners_asked_for_follow_the_k_suggestions(
    recommender_model: Recommender,
) -> None:
    """Ranked last and cut by ``k``, existing partners were never shown: "include partners it
    already shares the service with" did nothing unless k reached past every candidate."""
    model = recommender_model.model
    s, f = (int(v[0]) for v in np.nonzero(model.snapshot.shares)[:2])
    code, service = str(model.context.pairs.codes[f]), model.context.services[s]
    sharing = np.flatnonzero(model.snapshot.shares[s, f])
    partners = {str(model.context.pairs.codes[c]) for c in sharing}
    found = recommender_model.recommend(Query(code, service=service, k=3, include_existing=True))
    assert [r.existing for r in found[:3]] == [False] * 3
    assert {r.partner_code for r in found[3:]} == partners and all(r.existing for r in found[3:])
    plain = recommender_model.recommend(Query(code, service=service, k=3))
    assert [r.partner_code for r in plain] == [r.partner_code for r in found[:3]]


def test_suggestions_under_the_floor_are_shown_only_when_asked(
    recommender_model: Recommender,
) -> None:
    default = recommender_model.recommend(Query("Rother", service="ict", k=MAX_K), explain=False)
    assert all(r.choice is not None and r.choice >= CHOICE_FLOOR for r in default)
    everyone = recommender_model.recommend(
        Query("Rother", service="ict", k=MAX_K, min_choice=0), explain=False
    )
    assert len(everyone) == MAX_K > len(default)
    assert min(r.choice or 0 for r in everyone) < CHOICE_FLOOR


def test_abolished_councils_resolve_to_their_successor(recommender_model: Recommender) -> None:
    a = recommender_model.recommend(Query("Forest Heath", k=3), explain=False)
    b = recommender_model.recommend(Query("West Suffolk", k=3), explain=False)
    assert a
    assert [r.partner_code for r in a] == [r.partner_code for r in b]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (Query("Rother", k=0), "k"),
        (Query("Rother", k=MAX_K + 1), "k"),
        (Query("Rother", max_km=-5), "max_km"),
        (Query("Rother", kinds=("ambulance",)), "kinds"),
        (Query("Rother", service="bin_collection"), "service"),
    ],
)
def test_bad_queries_name_the_field(
    recommender_model: Recommender, query: Query, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        recommender_model.recommend(query)
    assert err.value.field == field


def test_unknown_body_suggests_close_names(recommender_model: Recommender) -> None:
    with pytest.raises(UnknownBody) as err:
        recommender_model.recommend(Query("Rothr"))
    assert any("Rother" in s for s in err.value.suggestions)


def test_nearer_and_a_longer_border_never_rank_lower(recommender_model: Recommender) -> None:
    """Directional: all else equal, a nearer candidate or a longer shared border never lowers
    the choice score; and real shared history never lowers it either."""
    comp = recommender_model.model.components
    w = dict(zip(PAIR_FEATURES, comp.choice_w, strict=True))
    assert w["log_dist"] < 0 and w["log_border"] >= 0
    assert comp.history_weight >= 0


def test_a_council_never_partners_the_fire_service_it_runs(recommender_model: Recommender) -> None:
    from recommender.reference import lookup as reference

    table = reference.fire_governance(recommender_model.settings)
    runs = table[table["governance"] == "county_council"]
    # The world's three (Suffolk, Surrey, West Sussex); the real twelve: tests/data/.
    assert set(runs.index) == {"E31000034", "E31000035", "E31000037"}
    for fire, council in zip(runs.index, runs["governed_by_code"], strict=True):
        for body, other in ((council, fire), (fire, council)):
            found = recommender_model.recommend(
                Query(body, k=MAX_K, per_partner=16, min_choice=0), explain=False
            )
            assert other not in {r.partner_code for r in found}, (body, other)


@pytest.mark.slow
def test_no_council_of_the_twelve_partners_the_fire_service_it_runs(
    real_recommender_model: Recommender,
) -> None:
    """The real model, all twelve councils that run their fire and rescue service."""
    from recommender.reference import lookup as reference

    model = real_recommender_model
    table = reference.fire_governance(model.settings)
    runs = table[table["governance"] == "county_council"]
    assert len(runs) == 12
    for fire, council in zip(runs.index, runs["governed_by_code"], strict=True):
        for body, other in ((council, fire), (fire, council)):
            asked = Query(body, k=MAX_K, per_partner=16, min_choice=0)
            found = model.recommend(asked, explain=False)
            assert other not in {r.partner_code for r in found}, (body, other)


def test_groups_are_two_to_four_bodies_with_the_focal_body_first(
    recommender_model: Recommender,
) -> None:
    groups = recommender_model.groups("Rother", "procurement", k=5)
    assert groups
    for g in groups:
        assert 2 <= len(g.members) <= 4
        assert g.members[0]["code"] == "E07000064"
        assert g.savings_per_partner_gbp == pytest.approx(g.savings_gbp / len(g.members))
    scores = [g.likelihood * g.savings_per_partner_gbp for g in groups]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(InvalidInput):
        recommender_model.groups("Rother", "procurement", max_size=7)


def test_arrangements_to_join_exclude_those_the_body_is_in(recommender_model: Recommender) -> None:
    options = recommender_model.arrangements_to_join("Rother", k=10)
    assert options
    for option in options:
        assert "Rother" not in option.arrangement["partner_names"]
    scores = [o.score for o in options]
    assert scores == sorted(scores, reverse=True)
    # The member named is the likeliest of its own members, not "the likeliest partner for
    # this service" (which read as the body's best partner of all); the service is named, as
    # none was asked ("for this service" said nothing).
    for option in options:
        label = service_words(recommender_model._labels[option.arrangement["service"]])
        assert re.fullmatch(
            rf"of its members, .+ \(\d+ km between centres\) is the likeliest to partner Rother "
            rf"for {re.escape(label)}",
            option.reason,
        ), option.reason


def test_describe_reports_the_model(recommender_model: Recommender) -> None:
    info = recommender_model.describe()
    assert info["version"] == recommender_model.version
    arrangements, _ = register.load_register(recommender_model.settings)
    real = int((~arrangements["simulated"].astype(bool)).sum())
    assert info["register"]["real"] == real > 0
    assert [i["factor"] for i in info["importance"]]


def test_each_partner_appears_for_at_most_per_partner_services(
    recommender_model: Recommender,
) -> None:
    from collections import Counter

    capped = recommender_model.recommend(Query("Rother", k=20, per_partner=2), explain=False)
    assert max(Counter(r.partner_code for r in capped).values()) <= 2
    expected = [r.expected_savings_gbp for r in capped]
    assert expected == sorted(expected, reverse=True)
    every = recommender_model.recommend(Query("Rother", k=20, per_partner=16), explain=False)
    assert every[0].expected_savings_gbp == capped[0].expected_savings_gbp
    with pytest.raises(InvalidInput) as err:
        recommender_model.recommend(Query("Rother", per_partner=0))
    assert err.value.field == "per_partner"


def test_savings_grow_with_the_smaller_partner_and_stay_within_real_figures(
    recommender_model: Recommender,
) -> None:
    """Economies of scale: for one focal body and service, a partner of 2,000 people never
    saves more than one of 200,000 at a similar distance; and every scored pair's saving lies
    within the range the real figures support per resident of the smaller partner."""
    from recommender.model.scoring import score_all

    model = recommender_model.model
    savings = model.components.savings
    assert savings is not None and savings.slope() >= 0
    table = score_all(recommender_model.scorer, np.arange(0, model.context.pairs.n, 7))
    pop = model.context.bodies.population
    merged = np.minimum(pop[table["focal"].to_numpy()], pop[table["candidate"].to_numpy()])
    low, high = savings.per_resident_
    for column in ("savings", "low", "high"):
        values = table[column].to_numpy(dtype=float)
        assert (values <= high * merged * (1 + 1e-5)).all(), column
        assert (values >= low * merged * (1 - 1e-5)).all(), column
    mid, _, _ = savings.pair_savings(np.zeros(2, dtype=np.intp), np.array([2_000.0, 200_000.0]))
    assert mid[0] <= mid[1]


# Speed without changing answers: vectorised scoring, shortlists, kept explanations --------------


def _plain_recommend(model: Recommender, query: Query) -> list[tuple[str, str, float | None]]:
    """The ranking worked out the plain way: each service scored apart, every candidate checked
    and sorted in Python (what :meth:`Recommender.recommend` must equal)."""
    ctx = model.model.context
    f = model.body_position(query.body)
    if query.service is not None:
        services = [model.service_position(query.service)]
    else:
        services = [int(s) for s in np.flatnonzero(ctx.bodies.eligible[:, f])]
    picked, known = [], []
    for s in services:
        scored = model.scorer.query(f, s)
        values = {"expected": scored.expected, "likelihood": scored.likelihood}
        ranking = values.get(query.sort, scored.savings)
        for r, c in enumerate(scored.candidate.tolist()):
            if query.kinds and ctx.bodies.kind[c] not in query.kinds:
                continue
            if query.max_km is not None and ctx.pairs.dist_km[f, c] > query.max_km:
                continue
            if scored.existing[r]:  # every one asked for, after the k suggestions
                if query.include_existing:
                    known.append((-float(ranking[r]), -float(scored.expected[r]), s, c, None))
                continue
            if scored.p_choice[r] < query.min_choice:
                continue
            # Ties go to the larger expected savings, then service and candidate position.
            tie = -float(scored.expected[r])
            picked.append((-float(ranking[r]), tie, s, c, float(scored.likelihood[r])))
    picked.sort(key=lambda p: p[:4])
    seen: dict[int, int] = {}
    out = []
    for _, _, s, c, likelihood in picked:
        if seen.get(c, 0) < query.per_partner and len(out) < query.k:
            seen[c] = seen.get(c, 0) + 1
            out.append((str(ctx.pairs.codes[c]), ctx.services[s], likelihood))
    known.sort(key=lambda p: p[:4])
    return out + [(str(ctx.pairs.codes[c]), ctx.services[s], None) for _, _, s, c, _ in known]


def _random_queries(model: Recommender, count: int, seed: int = 0) -> list[Query]:
    rng = np.random.default_rng(seed)
    ctx = model.model.context
    kinds = ["council", "fire", "police", "health", "combined"]
    out = []
    for _ in range(count):
        chosen = tuple(rng.choice(kinds, size=rng.integers(1, 3), replace=False).tolist())
        f = int(rng.integers(ctx.pairs.n))
        delivered = [ctx.services[s] for s in np.flatnonzero(ctx.bodies.eligible[:, f])]
        out.append(
            Query(
                body=str(ctx.pairs.codes[f]),
                service=str(rng.choice(delivered)) if rng.random() < 0.6 else None,
                kinds=chosen if rng.random() < 0.3 else None,
                max_km=float(rng.choice([10, 25, 50, 100, 200])) if rng.random() < 0.3 else None,
                k=int(rng.integers(1, MAX_K + 1)),
                include_existing=bool(rng.random() < 0.15),
                per_partner=int(rng.choice([1, 2, 3, 16])),
                sort=str(rng.choice(["expected", "likelihood", "savings"])),
                min_choice=float(rng.choice([0.0, 0.005, 0.005, 0.01, 0.05])),
            )
        )
    return out


def test_answers_equal_the_plain_ranking_for_any_filters(recommender_model: Recommender) -> None:
    """Shortlists (the suggestions above the floor, kept per body) and the vectorised scoring
    of every service at once give exactly the plain answer, whatever the filters."""
    for query in _random_queries(recommender_model, 300):
        found = recommender_model.recommend(query, explain=False)
        plain = _plain_recommend(recommender_model, query)
        assert [(r.partner_code, r.service) for r in found] == [p[:2] for p in plain], query
        for r, (_, _, likelihood) in zip(found, plain, strict=True):
            if likelihood is None:  # an existing partner
                assert r.existing and r.likelihood is None, query
            else:
                assert r.likelihood == pytest.approx(likelihood, rel=1e-12), query


def test_the_walk_down_a_shortlist_equals_the_plain_ranking(
    recommender_model: Recommender,
) -> None:
    """Questions in the default order (what the page and most API calls ask) are answered by
    walking the shortlist's rows from the top and stopping at ``k``: the same answer as the
    plain ranking, for every filter and cap."""
    for query in _random_queries(recommender_model, 300, seed=1):
        default = dataclasses.replace(
            query, sort="expected", min_choice=CHOICE_FLOOR, include_existing=False
        )
        for explain in (False, True):
            found = recommender_model.recommend(default, explain=explain)
            plain = _plain_recommend(recommender_model, default)
            assert [(r.partner_code, r.service) for r in found] == [p[:2] for p in plain], query


def test_the_json_answer_is_the_suggestions_json(recommender_model: Recommender) -> None:
    """The service's answer, read from the shortlists' JSON without the suggestions, is each
    suggestion's own JSON in the same order, for any question (in the default order or not,
    with existing partners or not)."""
    for query in _random_queries(recommender_model, 150, seed=2):
        expected = [r.json for r in recommender_model.recommend(query)]
        assert recommender_model.recommend_json(query) == expected, query


def test_the_json_of_a_bodys_shortlist_is_read_from_one_buffer(
    recommender_model: Recommender,
) -> None:
    """The service's workers share the prepared JSON with the process that made it until they
    write to it, and reading a Python object writes to it (its reference count): every answer
    about a body from its shortlist is views of one buffer, not an object per suggestion, so
    a question writes to small views, not to (and a worker does not copy) the JSON itself."""
    model = recommender_model
    codes = [str(c) for c in model.model.context.pairs.codes]
    asked = [c for c in codes[:: len(codes) // 6] if model.recommend_json(Query(c, k=MAX_K))]
    assert len(asked) >= 4
    for code in asked:
        seen: set[int | None] = set()
        for query in (
            Query(code, k=MAX_K),
            Query(code, k=MAX_K, sort="savings", per_partner=1),
            Query(code, max_km=400, k=7),
        ):
            answer = model.recommend_json(query)
            assert answer and all(len(parts) == 2 for parts in answer), query
            seen |= {id(head.obj) if isinstance(head, memoryview) else None for head, _ in answer}
        assert len(seen) == 1 and None not in seen, (code, seen)


def test_a_service_the_body_does_not_deliver_is_refused_with_those_it_does(
    recommender_model: Recommender,
) -> None:
    """A district asked about adult social care (a county's service) has none to share: every
    question about it is refused, naming the body and the service, with the services it runs,
    rather than answered with partners and £0."""
    model = recommender_model
    ctx = model.model.context
    f, s = next(
        (f, s)
        for f in range(ctx.pairs.n)
        for s in range(len(ctx.services))
        if not ctx.bodies.eligible[s, f] and ctx.bodies.kind[f] == "council"
    )
    code, service = str(ctx.pairs.codes[f]), ctx.services[s]
    delivered = [ctx.services[i] for i in np.flatnonzero(ctx.bodies.eligible[:, f])]
    asks = [
        lambda: model.recommend(Query(code, service=service)),
        lambda: model.recommend(Query(code, service=service, include_existing=True)),
        lambda: model.groups(code, service),
        lambda: model.arrangements_to_join(code, service),
    ]
    for ask in asks:
        with pytest.raises(InvalidInput) as refused:
            ask()
        assert refused.value.field == "service"
        assert code in refused.value.detail and "does not deliver" in refused.value.detail
        assert refused.value.suggestions == delivered
    model.recommend(Query(code, service=delivered[0]), explain=False)  # one it runs: answered


def test_a_model_trained_under_an_older_taxonomy_says_so_rather_than_that_it_does_not_deliver(
    recommender_model: Recommender,
) -> None:
    """NHS bodies came to count as delivering shared management (their documented joint chief
    executives): a model trained before told an ICB it "does not deliver shared management",
    which the page, reading today's taxonomy, offered it. It now says the model is older than
    the taxonomy, and how to get one that answers."""
    model = recommender_model
    code = "E07000064"  # Rother, a district: delivers legal services in every taxonomy
    with trained_before(model, code, "legal"), pytest.raises(InvalidInput) as refused:
        model.recommend(Query(code, service="legal"))
    said = refused.value.detail
    assert refused.value.field == "service" and "does not deliver" not in said
    assert (
        f"Rother ({code}) delivers legal services, but the serving model ({model.version})" in said
    )
    assert "recommender train --promote" in said and "legal" not in refused.value.suggestions


def test_scoring_every_service_at_once_is_scoring_each(recommender_model: Recommender) -> None:
    ctx = recommender_model.model.context
    scorer = recommender_model.scorer
    for f in range(0, ctx.pairs.n, 37):
        services = [int(s) for s in np.flatnonzero(ctx.bodies.eligible[:, f])]
        for s, many in zip(services, scorer.query_many(f, services), strict=True):
            one = scorer.query(f, s)
            for name in ("candidate", "likelihood", "expected", "savings", "low", "high"):
                assert np.array_equal(getattr(one, name), getattr(many, name)), (f, s, name)


def test_a_suggestion_is_explained_the_same_whatever_found_it(
    recommender_model: Recommender,
) -> None:
    """Reasons and evidence depend on the (body, partner, service) alone: the same from any
    query, from a prepared model, and as worked out for that one candidate."""
    from recommender.model.explain import reasons

    model = recommender_model
    broad = model.recommend(Query("Rother", k=30))
    narrow = model.recommend(Query("Rother", service=broad[-1].service, k=MAX_K))
    shared = [r for r in broad if r.service == broad[-1].service]
    assert shared
    for r in shared:
        (same,) = [n for n in narrow if n.partner_code == r.partner_code]
        assert same.to_dict() == r.to_dict()
        f, c = model.body_position("Rother"), model.body_position(r.partner_code)
        s = model.service_position(r.service)
        scored = model.scorer.query(f, s)
        (row,) = np.flatnonzero(scored.candidate == c)
        alone = reasons(model.model, model.scorer, scored, np.array([row]))[0]
        # (effects equal to the last bits the batch changes; shown to three decimals)
        assert [x.to_dict() for x in r.reasons] == [x.to_dict() for x in alone]
        assert r.evidence == model._evidence.best(model.model, f, c, s)
    fresh = Recommender(model.model, model.version, model.metadata, model.settings)
    assert fresh.prepare() >= len(broad)
    assert [r.to_dict() for r in fresh.recommend(Query("Rother", k=30))] == [
        r.to_dict() for r in broad
    ]


def test_a_small_chance_is_never_given_as_none() -> None:
    """Join options with a chance under 0.00005 read "likelihood": 0.0 in the JSON (rounded to
    four decimals), beside a score that is that chance times the savings; the page said <0.1%."""
    from recommender.recommend.ranking import Group, JoinOption

    option = JoinOption({"id": "R-1"}, likelihood=4.123e-5, savings_per_partner_gbp=1e5, reason="")
    assert option.to_dict()["likelihood"] == 4.1e-5 and option.to_dict()["score"] == 4.12
    group = Group(("A", "B"), "legal", 1e5, 5e4, 2e5, likelihood=2.5e-6)
    assert group.to_dict()["likelihood"] == 2.5e-6
    assert JoinOption({}, 0.13346, 1.0, "").to_dict()["likelihood"] == 0.1335  # as before


def test_a_body_renamed_since_training_is_named_as_the_reference_names_it_now(
    trained_settings: Settings, tmp_path: Path
) -> None:
    # The reference rebuilt after the model was trained, with one body's display name changed
    # (as the London Fire Commissioner's was): its answers name it as its page does.
    data = tmp_path / "data"
    shutil.copytree(trained_settings.data, data)
    bodies = pd.read_csv(data / "reference" / "bodies.csv", dtype=str, keep_default_na=False)
    before = Recommender.load(trained_settings)
    top = before.recommend(Query("Rother", k=1))[0]
    old = top.partner_name
    bodies.loc[bodies["code"] == top.partner_code, "display_name"] = "Renamed Since Training"
    bodies.to_csv(data / "reference" / "bodies.csv", index=False, lineterminator="\n")

    after = Recommender.load(trained_settings.with_(data_dir=data))
    found = after.recommend(Query("Rother", service=top.service, k=20))
    renamed = next(r for r in found if r.partner_code == top.partner_code)
    assert renamed.partner_name == "Renamed Since Training"
    answer = after.recommend_json(Query("Rother", service=top.service, k=20))
    said = [json.loads(b"".join(parts)) for parts in answer]
    assert {"Renamed Since Training"} == {
        r["partner_name"] for r in said if r["partner_code"] == top.partner_code
    }
    # Bodies not renamed keep their names, and the model as saved is unchanged.
    assert {r.partner_name for r in found if r.partner_code != top.partner_code} <= set(
        bodies["display_name"]
    )
    assert before.recommend(Query("Rother", k=1))[0].partner_name == old


def test_a_member_abolished_since_is_not_offered_as_a_partner_to_join(
    recommender_model: Recommender,
) -> None:
    """Others were offered the Kent Total Place pilot to join "with NHS Kent and Medway ICB the
    likeliest of its members to partner" them, though its members were Kent's two primary care
    trusts, abolished in 2013, not the board."""
    trained = recommender_model.model.arrangements
    pilot = next(
        r for r in trained.to_dict("records") if r["name"].startswith("Kent Total Place pilot")
    )
    assert register.gone_codes(pilot["member_given"]) == {"E54000032"}  # its two PCTs
    bodies = recommender_model.model.context.bodies
    icb = str(bodies.names[list(bodies.codes).index("E54000032")])
    offered = []
    for code in bodies.codes[bodies.kind != "council"]:
        offered += [
            o
            for o in recommender_model.arrangements_to_join(code, "customer_services", k=50)
            if o.arrangement["id"] == pilot["id"]
        ]
    assert offered  # (its other members are still in it: it may be joined)
    assert not [o for o in offered if icb in o.reason], [o.reason for o in offered]


def test_a_member_abolished_since_no_longer_shares_the_service(
    recommender_model: Recommender,
) -> None:
    """Kent and its ICB were said already to share customer services (the Kent Total Place
    pilot's two primary care trusts, abolished in 2013), so the board was left out of Kent's
    suggestions as an existing partner. The police force area stays in the pilot: Kent Police
    is a member, its police authority (succeeded by its police and crime commissioner) another
    of its names there; and West Suffolk and its ICB share property still (the Mildenhall hub's
    West Suffolk CCG, which the board succeeded)."""

    def existing(code: str, kind: str, service: str) -> set[str]:
        query = Query(code, service, (kind,), None, 50, include_existing=True, min_choice=0)
        return {r.partner_code for r in recommender_model.recommend(query) if r.existing}

    assert "E54000032" not in existing("E10000016", "health", "customer_services")
    assert "E23000032" in existing("E10000016", "police", "customer_services")
    assert "E54000023" in existing("E07000245", "health", "property_assets")
    # What they did together stays: its history is stated as through bodies since abolished.
    found = recommender_model.recommend(
        Query("E10000016", "customer_services", ("health",), None, 50, include_existing=True)
    )
    icb = next(r for r in found if r.partner_code == "E54000032")
    assert any("Kent PCT" in x.text or "since abolished" in x.text for x in icb.reasons)
