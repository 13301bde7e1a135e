"""Recommendations on a scenario's map, by the promoted model, with no retraining.

A :class:`ScenarioRecommender` is the promoted :class:`~recommender.recommend.ranking.Recommender`
answering for every body *as the map would be after the scenario*: the model's fitted parts
(:class:`~recommender.model.fit.Components`: partner choice, the weight of shared history,
savings, the rate of entering arrangements) score a world built from the scenario's map
(:mod:`~recommender.scenario.world`):

* its body arrays, pair matrices and pair features (:class:`~recommender.model.fit.Context`):
  geography and facts, for the successors as for every other body;
* its network (:class:`~recommender.model.network.Snapshot`): the real arrangements the model knows,
  mapped to the successors (:mod:`~recommender.scenario.history`), internal ones left out. A
  successor's shared history is its councils' (and a split county's): it *inherits* it, and
  each reason resting on it says so ("North Oxfordshire inherits 4 documented arrangements
  that ended and 1 documented proposal never formed with South Northamptonshire Council (now
  West Northamptonshire) from Cherwell"); two successors linked only through a county split
  between them are no partnership ("both succeed Surrey County Council in …").

Nothing is stored: a world takes about a second to build, and :class:`ScenarioCache` keeps the
recommenders of the last few (scenario, model version) pairs asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from recommender.core.errors import ModelError, UnknownBody
from recommender.core.names import and_list
from recommender.core.services import load_services
from recommender.model.explain import ALSO_PROPOSED, MANAGEMENT, Reason
from recommender.model.fit import Context, TrainedModel
from recommender.model.network import SnapshotCache, members_gone
from recommender.model.scoring import LongScores, enter_probability
from recommender.recommend.query import Query
from recommender.recommend.ranking import Place, Recommendation, Recommender, overlapping
from recommender.reference import lookup as reference
from recommender.register.records import running_partnerships
from recommender.scenario import drawing, history, report
from recommender.scenario.define import Definition
from recommender.scenario.world import World, derive


class ScenarioRecommender(Recommender):
    """The promoted model answering on a scenario's map (see the module docstring)."""

    def __init__(self, base: Recommender, world: World) -> None:
        services = load_services(base.settings)
        trained = base.model.context.services
        if tuple(services.index) != tuple(trained):
            raise ModelError(
                f"model {base.version} was trained on another list of services than "
                "data/services.csv has now: train a model on it to use scenarios"
            )
        outcomes = history.from_compact(world, base.model.arrangements)
        arrangements, members, compact = history.register_frames(
            base.model.arrangements, outcomes, world
        )
        bodies = pd.DataFrame(world.bodies.drop(columns="geometry"))
        ctx = Context.build(
            bodies, world.adjacency, services, arrangements, members, world.governed
        )
        comp = base.model.components
        model = TrainedModel(
            context=ctx,
            components=comp,
            snapshot=SnapshotCache(ctx.reg, ctx.pairs.n).now(),
            p_enter=enter_probability(ctx, comp),
            arrangements=compact,
            importance=base.model.importance,
        )
        self._base_names = base._name_of  # (for the councils the scenario replaces)
        super().__init__(model, base.version, base.metadata, base.settings)
        # Which areas overlap its successors (and not contain them), on the scenario's map: a
        # unitary whose councils lie in two NHS boards is said to overlap each, not to lie
        # within either.
        self.scorer.overlaps = overlapping(world.adjacency, ctx.pairs.codes)
        self.base = base
        self._base_identity = base.identity  # the register as the base followed it then
        # What the register no longer holds, or says ended, is cited on the scenario's map as
        # by the base.
        self.withdraw(self._real_ids - base.withdrawn, base.ended_since)
        # And who already shares what that the model was trained without (imported since, or
        # a service a source says an arrangement was extended to), its members as they are on
        # the scenario's map.
        self.follow(
            (service, sorted({s for c in codes for s in world.replaced.get(c, (c,))}))
            for service, codes in running_partnerships(settings=base.settings)
        )
        self.world = world
        self.outcomes = outcomes
        self._carried = [o for o in outcomes if not o.internal]
        # Who is in an arrangement only through members since abolished (a primary care
        # trust): its board inherits no history from it (:func:`network.members_gone`).
        ids, codes = list(self.model.context.reg.ids), self._codes
        observed = self.model.arrangements
        given = (
            dict(zip(observed["id"].astype(str), observed["member_given"], strict=True))
            if "member_given" in observed
            else {}
        )  # (not those that left it with no year given: they were in it)
        self._gone = frozenset(
            (str(ids[k]), str(codes[f]))
            for k, f, _ in members_gone(ids, given, self.model.context.pairs.index)
        )

    def _names_today(self) -> dict[str, str]:
        """The names on the scenario's map, and today's of the councils it replaces: the
        evidence's real arrangements name them as they are today ("Chiltern (now
        Buckinghamshire)"), never as if still there ("Chiltern District Council (now
        Chiltern)", the name as given standing in for one not on the map)."""
        return {**self._base_names, **super()._names_today()}

    @property
    def definition(self) -> Definition:
        return self.world.definition

    # --- lookups and the scenario's map ---------------------------------------------------
    def code_of(self, body: str) -> str:
        """The code on the scenario's map of ``body`` (see :func:`report.code_of`)."""
        return report.code_of(self.world, body)

    def body_position(self, body: str) -> int:
        return self._position[self.code_of(body)]

    def place(self, code: str) -> Place:
        """Body ``code`` on the scenario's map (see :func:`report.place`)."""
        return report.place(self.world, code)

    def map_layers(self) -> Mapping[str, Any] | None:
        return drawing.layers(self.world)

    @property
    def identity(self) -> tuple[str, ...]:
        return (*self._base_identity, self.definition.name, self.definition.fingerprint())

    # --- reasons that rest on inherited history -----------------------------------------------
    def _suggestion(
        self,
        f: int,
        scored: LongScores,
        r: int,
        why: list[Reason],
        evidence: list[dict[str, Any]],
    ) -> Recommendation:
        focal, partner = str(self._codes[f]), str(self._codes[int(scored.candidate[r])])
        why = [
            self._inherited(focal, partner, x) if x.factor == "history" else x
            for x in why
            if x.factor != "management" or self._shared_management(focal, partner)
        ]
        return super()._suggestion(f, scored, r, why, evidence)

    def _shared_management(self, focal: str, partner: str) -> bool:
        """Whether the two share management in a running arrangement of their own: not only
        as successors of a council split between them (Oxfordshire County Council's joint
        management with Cherwell is not South Oxfordshire and Vale's with North Oxfordshire)."""
        linking = [
            o
            for o in self._carried
            if o.service == MANAGEMENT and o.running and focal in o.after and partner in o.after
        ]  # (none: the note rests on what the register holds since the model's training)
        return not linking or any(self._apart(o, focal, partner) for o in linking)

    def _inherited(self, focal: str, partner: str, reason: Reason) -> Reason:
        """The history reason, saying where the history comes from when it is inherited. An
        arrangement one of the pair is in only through members since abolished (a board
        through its primary care trusts) is said so: it shares nothing through it today."""
        both = [o for o in self._carried if focal in o.after and partner in o.after]
        # A council split between the two (Surrey County Council, between East and West
        # Surrey) links them in its arrangements with others only as its successors: no
        # partnership of the two, said so unless others link them.
        common = [o for o in both if not self._apart(o, focal, partner)]
        both = [o for o in both if o not in common]
        if not both:
            return self._common(focal, partner, common, reason, proposal=True) if common else reason
        gone = [o for o in both if (o.id, focal) in self._gone or (o.id, partner) in self._gone]
        shared = [o for o in both if o not in gone] or gone
        mine = _few(self._names((o, c) for o in shared for c in o.into(focal, self.world)))
        theirs = _few(self._names((o, c) for o in shared for c in o.into(partner, self.world)))
        if not shared or not (mine or theirs):
            return reason
        what = _history_said(shared)
        you, them = self.world.name(focal), self.world.name(partner)
        if not theirs and shared is not gone:  # a body of today: as the bodies gone it was in
            # them as, where it was in every one so ("… with South Northamptonshire Council
            # (now West Northamptonshire) from Cherwell")
            stood = [o.stood_for(partner) for o in shared]
            if all(stood):
                them = f"{and_list(list(dict.fromkeys(n for s in stood for n in s)))} (now {them})"
        if shared is gone:  # (one of the pair is the board; the other a successor)
            who = you if any((o.id, focal) in self._gone for o in gone) else them
            if mine:
                text = f"{you} inherits {what} from {mine}"
            else:
                text = f"inherits {what} from {theirs}"
            text += f" that {who} was in only through bodies since abolished"
        elif mine and theirs:
            text = f"inherits {what} with {you}: {them} from {theirs}, {you} from {mine}"
        elif mine:
            text = f"{you} inherits {what} with {them} from {mine}"
        else:
            text = f"inherits {what} with {you} from {theirs}"
        if common:  # and the split council's, said apart
            text += "; " + self._common(focal, partner, common, reason).text.replace(
                "both succeed", "both also succeed", 1
            )
        # A proposal the model names the pair in is among those inherited when any is: said
        # once ("1 documented proposal never formed … ; also its predecessor South
        # Northamptonshire Council was named with Cherwell in a documented proposal", the
        # same one, and "(now Northamptonshire)" of a unitary only proposed).
        if not any(o.proposed for o in [*shared, *common]):
            text += _proposal_said(reason.text)
        return Reason(reason.factor, text, reason.effect)

    def _apart(self, o: history.Outcome, focal: str, partner: str) -> bool:
        """Whether the pair are in ``o`` through different bodies of today (a partnership of
        theirs), not only through a council split between them: Kent County Council's one-stop
        shop with Maidstone links West Kent, Maidstone's successor, with no other successor of
        the county."""
        mine = o.into(focal, self.world) or [focal]  # (none: a member as itself)
        theirs = o.into(partner, self.world) or [partner]
        split = self._split_between(focal, partner)
        return any(a != b and a not in split and b not in split for a in mine for b in theirs)

    def _split_between(self, focal: str, partner: str) -> set[str]:
        """The councils of today whose areas go to both (a county split between them)."""
        replaced = self.world.replaced
        return {c for c, into in replaced.items() if focal in into and partner in into}

    def _common(
        self,
        focal: str,
        partner: str,
        common: list[history.Outcome],
        reason: Reason,
        *,
        proposal: bool = False,
    ) -> Reason:
        """ "both succeed Surrey County Council in 2 documented arrangements (with others: no
        partnership of the two)"; with ``proposal``, the proposal the reason ends with, unless
        one of those is a proposal (said once)."""
        between = self._split_between(focal, partner)
        mine = [(o, c) for o in common for c in o.into(focal, self.world)]
        split = _few(self._names([(o, c) for o, c in mine if c in between] or mine))
        what = _history_said(common)
        said = proposal and not any(o.proposed for o in common)
        return Reason(
            reason.factor,
            f"both succeed {split} in {what} (with others: no partnership of the two)"
            + (_proposal_said(reason.text) if said else ""),
            reason.effect,
        )

    def _names(self, members: Iterable[tuple[history.Outcome, str]]) -> list[str]:
        """Today's members of the outcomes as the members they were: a county as its council,
        one that stands for bodies since gone as them ("Forest Heath and St Edmundsbury (now
        West Suffolk)")."""
        out = []
        for o, code in members:
            gone = o.stood_for(code)
            tier = str(reference.load_bodies(self.settings).at[code, "tier"])
            name = self.world.name(code)
            name = f"{name} County Council" if tier == "county" else name
            out.append(f"{and_list(gone)} (now {name})" if gone else name)
        return list(dict.fromkeys(out))


def _proposal_said(text: str) -> str:
    """The proposal a history reason ends with ("; also named with … in a documented proposal
    to share legal services": :func:`recommender.model.explain.reasons`), kept where the
    reason is said again as inherited; else "".

    >>> _proposal_said("already works with A on ICT; also named with A in a documented proposal "
    ...                "to share legal services")
    '; also named with A in a documented proposal to share legal services'
    >>> _proposal_said("already works with A on ICT; both also succeed B in 2")
    ''
    """
    for said in ("named with", "its predecessor"):  # (:func:`explain.proposed_said`)
        if (at := text.find(ALSO_PROPOSED + said)) >= 0:
            return text[at:]
    return ""


def _history_said(shared: list[history.Outcome]) -> str:
    """How many documented arrangements a pair inherits, as running ones and the rest: "3
    documented arrangements (and 1 more that ended or was only proposed)", or, with none
    running, "2 documented arrangements that ended and 1 documented proposal never formed"."""
    running = sum(o.running for o in shared)
    proposed = sum(o.proposed for o in shared)
    ended = len(shared) - running - proposed
    if running:
        said = f"{running} documented arrangement{'s' * (running != 1)}"
        rest = len(shared) - running
        if rest:
            said += (
                f" (and {rest} more that ended or {'was' if rest == 1 else 'were'} only proposed)"
            )
        return said
    parts = []
    if ended:
        parts.append(f"{ended} documented arrangement{'s' * (ended != 1)} that ended")
    if proposed:
        parts.append(f"{proposed} documented proposal{'s' * (proposed != 1)} never formed")
    return and_list(parts)


def _few(items: list[str], most: int = 3) -> str:
    """Up to ``most`` names, then how many more."""
    if len(items) <= most:
        return and_list(items)
    return ", ".join(items[: most - 1]) + f" and {len(items) - most + 1} more"


class ScenarioCache:
    """The recommenders of the last ``size`` (scenario, model version and the register as it
    follows it) pairs asked for.

    Keys hold the scenario's fingerprint, so a scenario deleted and made again under its name
    gets a new world; building one holds a lock (two requests for a new scenario build it
    once).
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, ...], ScenarioRecommender] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base: Recommender, definition: Definition) -> ScenarioRecommender:
        key = (definition.name, definition.fingerprint(), *base.identity)
        with self._lock:
            found = self._items.get(key)
            if found is None:
                found = ScenarioRecommender(base, derive(definition, base.settings))
                self._items[key] = found
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return found

    def __len__(self) -> int:
        return len(self._items)


# Before and after -------------------------------------------------------------------------------


def compare(
    base: Recommender, scenario: ScenarioRecommender, body: str, k: int = 10
) -> dict[str, Any]:
    """A body's top ``k`` suggestions today and on the scenario's map, side by side.

    ``body`` is a body of today; on the scenario's map it is itself, or the successor its area
    goes to. Each row says what becomes of its partner (``now``: the successor it joins;
    ``scenario``: whether it is new, and its rank today, partners mapped, if it had one).
    """
    for successor in scenario.definition.successors:  # not a body of today: its councils are
        if body.strip().casefold() in (successor.code.casefold(), successor.name.casefold()):
            names = [scenario.world.name(c) for c in successor.councils]
            raise UnknownBody(
                f"{successor.name} ({successor.code}) is a new unitary of scenario "
                f"{scenario.definition.name!r}, not a body of today: compare one of its "
                f"councils ({and_list(names)})",
                field="body",
                suggestions=[f"{n} ({c})" for n, c in zip(names, successor.councils, strict=True)],
            )
    today = str(base.model.context.pairs.codes[base.body_position(body)])
    heirs = scenario.world.replaced.get(today, (today,))
    if len(heirs) > 1:
        raise UnknownBody(
            f"{scenario.world.name(today)} ({today}) is split between "
            f"{and_list([scenario.world.name(h) for h in heirs])} in scenario "
            f"{scenario.definition.name!r}: no one body of the new map to compare it with; "
            "each of their pages lists its suggestions on the new map",
            field="body",
            suggestions=[f"{scenario.world.name(h)} ({h})" for h in heirs],
        )
    there = heirs[0]
    now = base.recommend(Query(today, k=k), explain=False)
    then = scenario.recommend(Query(there, k=k), explain=False)
    mapped: dict[tuple[tuple[str, ...], str], int] = {}
    for rank, r in enumerate(now, 1):  # the best place a council joining it had, not the last
        mapped.setdefault((history.mapped(scenario.world, [r.partner_code]), r.service), rank)
    rows_now = []
    for rank, r in enumerate(now, 1):
        goes = scenario.world.replaced.get(r.partner_code, ())
        fate = f"part of {and_list([scenario.world.name(h) for h in goes])}" if goes else ""
        if goes == (there,):
            fate += " too: one council with it, no longer a partner"
        rows_now.append(_row(rank, r) | {"fate": fate})
    rows_then = []
    for rank, r in enumerate(then, 1):
        new = r.partner_code in scenario.world.successors
        before = mapped.get(((r.partner_code,), r.service))
        rows_then.append(_row(rank, r) | {"new": new, "rank_now": before})
    return {
        "body": {"code": today, "name": scenario.world.name(today)},
        "scenario_body": {"code": there, "name": scenario.world.name(there)},
        "now": rows_now,
        "scenario": rows_then,
        "same_partners": len(
            {r["partner_code"] for r in rows_then}
            & {c for r in now for c in history.mapped(scenario.world, [r.partner_code])}
        ),
    }


def _row(rank: int, r: Recommendation) -> dict[str, Any]:
    return {
        "rank": rank,
        "partner_code": r.partner_code,
        "partner_name": r.partner_name,
        "service": r.service,
        "service_label": r.service_label,
        "likelihood": r.likelihood,
        "expected_savings_gbp": r.expected_savings_gbp,
        "distance_km": round(r.distance_km, 1),
    }


__all__ = ["ScenarioCache", "ScenarioRecommender", "compare"]
