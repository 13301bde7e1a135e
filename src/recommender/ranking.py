"""Recommendations from a trained model: partners, partner groups and arrangements to join.

A :class:`Recommender` wraps the promoted model. Every (body, candidate, service) was scored
at training time (:mod:`recommender.scoring`), so answering a query is a filter and a sort
over the body's rows, followed by reasons and evidence for the few suggestions returned
(:mod:`recommender.explain`; cached, since they depend only on the model and the pair).

Filters: ``service`` (a service id), ``kinds`` (council, fire, police, health, combined),
``max_km`` (distance between centroids), ``k`` (1 to :data:`MAX_K`), ``include_existing`` (by
default a partner already sharing that service with the body is left out; with the flag it is
shown, marked ``existing``) and ``per_partner`` (at most this many services per partner in the list,
:data:`PER_PARTNER` by default, so that one strong pair does not fill it).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender import artifacts, reference
from recommender.config import Settings
from recommender.errors import InvalidInput, UnknownBody
from recommender.explain import EvidenceIndex, Reason, evidence_record, reasons
from recommender.features import group_frame
from recommender.query import MAX_K, PER_PARTNER, Query, check_k, check_query
from recommender.reference import resolve
from recommender.scoring import HORIZON_YEARS, QueryScores, Scorer
from recommender.training import TrainedModel

MAX_GROUP_SIZE = 4
GROUP_POOL = 8  # groups are built from the body's best few candidates for the service
IntArray = npt.NDArray[np.intp]


@dataclass
class Recommendation:
    """One suggested partner and service."""

    partner_code: str
    partner_name: str
    partner_kind: str
    service: str
    service_label: str
    likelihood: float | None
    choice: float | None  # the chance it is the partner chosen, should the body share it
    expected_savings_gbp: float | None
    savings_gbp: float
    savings_low_gbp: float
    savings_high_gbp: float
    distance_km: float
    existing: bool
    reasons: list[Reason] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner_code": self.partner_code,
            "partner_name": self.partner_name,
            "partner_kind": self.partner_kind,
            "service": self.service,
            "service_label": self.service_label,
            "likelihood": _round(self.likelihood, 4),
            "choice": _round(self.choice, 4),
            "expected_savings_gbp": _round(self.expected_savings_gbp, 0),
            "savings_gbp": _round(self.savings_gbp, 0),
            "savings_low_gbp": _round(self.savings_low_gbp, 0),
            "savings_high_gbp": _round(self.savings_high_gbp, 0),
            "distance_km": round(self.distance_km, 1),
            "existing": self.existing,
            "reasons": [r.to_dict() for r in self.reasons],
            "evidence": self.evidence,
        }


@dataclass
class Group:
    """A group of bodies (the focal body first) that could share a service."""

    members: list[dict[str, str]]
    service: str
    savings_gbp: float
    savings_low_gbp: float
    savings_high_gbp: float
    likelihood: float

    @property
    def savings_per_partner_gbp(self) -> float:
        return self.savings_gbp / len(self.members)

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "service": self.service,
            "savings_gbp": round(self.savings_gbp),
            "savings_per_partner_gbp": round(self.savings_per_partner_gbp),
            "savings_low_gbp": round(self.savings_low_gbp),
            "savings_high_gbp": round(self.savings_high_gbp),
            "likelihood": round(self.likelihood, 4),
        }


@dataclass
class JoinOption:
    """An existing arrangement the body could join."""

    arrangement: dict[str, Any]
    likelihood: float
    savings_per_partner_gbp: float
    reason: str

    @property
    def score(self) -> float:
        return self.likelihood * self.savings_per_partner_gbp

    def to_dict(self) -> dict[str, Any]:
        return {
            "arrangement": self.arrangement,
            "score": round(self.score, 2),
            "likelihood": round(self.likelihood, 4),
            "savings_per_partner_gbp": round(self.savings_per_partner_gbp),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Place:
    """What a body is on the map the answers are about: its facts (as
    :func:`recommender.reference.body`), neighbours and containers (rows as
    :func:`recommender.reference.neighbours` gives them), its documented arrangements, and a
    ``note`` saying which map it is when that is not today's."""

    facts: dict[str, Any]
    neighbours: list[dict[str, Any]]
    containers: list[dict[str, Any]]
    arrangements: list[dict[str, Any]]
    note: str = ""


def rows(frame: Any) -> list[dict[str, Any]]:
    """A frame's rows as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits) if digits else float(round(float(value)))


class Recommender:
    """Answers queries from one trained model (thread-safe: nothing is mutated after init)."""

    def __init__(
        self,
        model: TrainedModel,
        version: str,
        metadata: dict[str, Any],
        settings: Settings | None = None,
    ) -> None:
        self.model = model
        self.version = version
        self.metadata = metadata
        self.settings = settings or Settings.from_env()
        ctx = model.context
        self._codes = ctx.pairs.codes
        self._position = ctx.pairs.index
        self._service_pos = {s: i for i, s in enumerate(ctx.services)}
        self._labels = _service_labels(self.settings, ctx.services)
        self.scorer = Scorer(ctx, model.components, model.snapshot, model.p_enter)
        self._evidence = EvidenceIndex(model)

    @classmethod
    def load(cls, settings: Settings | None = None) -> Recommender:
        """Load the promoted model (raises NoPromotedModel, ChecksumMismatch, VersionMismatch)."""
        settings = settings or Settings.from_env()
        loaded = artifacts.load_promoted(settings)
        return cls(loaded.model, loaded.version, loaded.metadata, settings)

    # --- lookups ------------------------------------------------------------------------------
    def body_position(self, body: str) -> int:
        """Matrix position of a body given by code or any name (abolished councils resolve)."""
        resolution = resolve(body, settings=self.settings)
        if len(resolution.codes) > 1:
            raise UnknownBody(
                f"{body!r}: {resolution.note or 'several bodies match'}; ask for one of them",
                field="body",
                suggestions=list(resolution.codes),
            )
        code = resolution.codes[0]
        if code not in self._position:
            raise UnknownBody(
                f"{code} is not among the bodies this model was trained on", field="body"
            )
        return self._position[code]

    def service_position(self, service: str) -> int:
        from recommender.services import check_service

        return self._service_pos[check_service(service, self.settings)]

    # --- the map the answers are on (a scenario's recommender answers on its own map) ---------
    def place(self, code: str) -> Place:
        """Body ``code`` today: facts, neighbours, containers, documented arrangements."""
        from recommender.register import Filters, query

        facts = reference.body(code, self.settings)
        near = reference.neighbours(code, self.settings, kind=facts["kind"])
        inside = reference.containers(code, self.settings)
        found = query(Filters(body=code), settings=self.settings)
        return Place(facts, rows(near), rows(inside), found)

    def map_layers(self) -> Mapping[str, Any] | None:
        """The map layers by level to draw on (None: today's, ``maps.web_layer``)."""
        return None

    @property
    def identity(self) -> tuple[str, ...]:
        """What tells this recommender's answers apart in a cache: the model version (and,
        on a scenario's map, the scenario and its content)."""
        return (self.version,)

    def describe(self) -> dict[str, Any]:
        """Version, training time, register and evaluation of the model."""
        meta = self.metadata
        return {
            "version": self.version,
            "trained_at": meta.get("created_at"),
            "register": meta.get("register", {}),
            "evaluation": meta.get("evaluation", {}),
            "summary": meta.get("summary", {}),
            "importance": meta.get("importance", []),
            "features": meta.get("features", {}),
            "parameters": meta.get("parameters", {}),
            "versions": meta.get("versions", {}),
            "git_commit": meta.get("git_commit"),
        }

    # --- partners -----------------------------------------------------------------------------
    def recommend(self, query: Query, *, explain: bool = True) -> list[Recommendation]:
        """The top ``k`` (partner, service) suggestions for the body, by expected savings."""
        check_query(query)
        f = self.body_position(query.body)
        ctx = self.model.context
        if query.service is not None:
            services = [self.service_position(query.service)]
        else:
            services = [int(s) for s in np.flatnonzero(ctx.bodies.eligible[:, f])]
        picked: list[tuple[float, int, QueryScores, int]] = []
        for s in services:
            scored = self.scorer.query(f, s)
            for r in np.flatnonzero(self._keep(f, scored, query)):
                picked.append((self._rank_key(scored, int(r), query.sort), s, scored, int(r)))
        picked.sort(key=lambda item: (-item[0], item[1], int(item[2].candidate[item[3]])))
        chosen = self._per_partner(picked, query)
        return self._build(f, chosen, explain=explain)

    def _keep(self, f: int, scored: QueryScores, query: Query) -> npt.NDArray[np.bool_]:
        ctx = self.model.context
        cand = scored.candidate
        keep = np.ones(len(cand), dtype=bool)
        if query.kinds:
            keep &= np.isin(ctx.bodies.kind[cand], list(query.kinds))
        if query.max_km is not None:
            keep &= ctx.pairs.dist_km[f, cand] <= query.max_km
        if query.include_existing:
            keep &= scored.existing | (scored.p_choice >= query.min_choice)
        else:
            keep &= ~scored.existing & (scored.p_choice >= query.min_choice)
        return keep

    @staticmethod
    def _rank_key(scored: QueryScores, r: int, sort: str) -> float:
        # Existing partners (no likelihood) sort after every new opportunity.
        if scored.existing[r]:
            return -1.0
        values = {"expected": scored.expected, "likelihood": scored.likelihood}
        return float(values.get(sort, scored.savings)[r])

    @staticmethod
    def _per_partner(
        picked: list[tuple[float, int, QueryScores, int]], query: Query
    ) -> list[tuple[QueryScores, int]]:
        seen: dict[int, int] = {}
        chosen: list[tuple[QueryScores, int]] = []
        for _, _, scored, r in picked:
            c = int(scored.candidate[r])
            if seen.get(c, 0) < query.per_partner:
                seen[c] = seen.get(c, 0) + 1
                chosen.append((scored, r))
                if len(chosen) == query.k:
                    break
        return chosen

    def _build(
        self, f: int, chosen: list[tuple[QueryScores, int]], *, explain: bool
    ) -> list[Recommendation]:
        ctx, model = self.model.context, self.model
        why: dict[tuple[int, int], list[Reason]] = {}
        if explain:
            by_query: dict[int, tuple[QueryScores, list[int]]] = {}
            for scored, r in chosen:
                by_query.setdefault(id(scored), (scored, []))[1].append(r)
            for scored, rows in by_query.values():
                texts = reasons(model, self.scorer, scored, np.asarray(rows, dtype=np.intp))
                for r, items in zip(rows, texts, strict=True):
                    why[(scored.service, int(scored.candidate[r]))] = items
        out = []
        for scored, r in chosen:
            c, s = int(scored.candidate[r]), scored.service
            existing = bool(scored.existing[r])
            out.append(
                Recommendation(
                    partner_code=str(self._codes[c]),
                    partner_name=str(ctx.bodies.names[c]),
                    partner_kind=str(ctx.bodies.kind[c]),
                    service=ctx.services[s],
                    service_label=self._labels[ctx.services[s]],
                    likelihood=None if existing else float(scored.likelihood[r]),
                    choice=None if existing else float(scored.p_choice[r]),
                    expected_savings_gbp=None if existing else float(scored.expected[r]),
                    savings_gbp=float(scored.savings[r]),
                    savings_low_gbp=float(scored.low[r]),
                    savings_high_gbp=float(scored.high[r]),
                    distance_km=float(ctx.pairs.dist_km[f, c]),
                    existing=existing,
                    reasons=why.get((s, c), []),
                    evidence=self._evidence.best(model, f, c, s) if explain else [],
                )
            )
        return out

    # --- groups -------------------------------------------------------------------------------
    def groups(
        self, body: str, service: str, *, max_size: int = MAX_GROUP_SIZE, k: int = 5
    ) -> list[Group]:
        """The best groups of 2 to ``max_size`` bodies around the body, by savings per partner
        weighted by how likely the group is (its least likely pair)."""
        if not 2 <= max_size <= MAX_GROUP_SIZE:
            raise InvalidInput(
                f"max_size must be between 2 and {MAX_GROUP_SIZE}, got {max_size}", field="max_size"
            )
        check_k(k)
        f = self.body_position(body)
        s = self.service_position(service)
        ctx, comp = self.model.context, self.model.components
        scored = self.scorer.query(f, s)
        fresh = np.flatnonzero(~scored.existing)
        best = fresh[np.argsort(-scored.likelihood[fresh], kind="stable")][:GROUP_POOL]
        pool = [(int(scored.candidate[r]), float(scored.likelihood[r])) for r in best]
        combos = [
            combo for size in range(1, max_size) for combo in itertools.combinations(pool, size)
        ]
        if not combos or comp.savings is None:
            return []
        members = [np.array([f] + [c for c, _ in combo], dtype=np.intp) for combo in combos]
        frame = group_frame(members, np.full(len(members), s), ctx.bodies, ctx.services)
        mean = comp.savings.predict(frame)
        low, high = comp.savings.predict_interval(frame)
        likelihood = np.array([min(p for _, p in combo) for combo in combos])
        per_partner = mean / np.array([len(m) for m in members])
        order = np.argsort(-(likelihood * per_partner), kind="stable")[:k]
        return [
            Group(
                members=[
                    {"code": str(self._codes[i]), "name": str(ctx.bodies.names[i])}
                    for i in members[j]
                ],
                service=service,
                savings_gbp=float(mean[j]),
                savings_low_gbp=float(low[j]),
                savings_high_gbp=float(high[j]),
                likelihood=float(likelihood[j]),
            )
            for j in order
        ]

    # --- arrangements to join -----------------------------------------------------------------
    def arrangements_to_join(
        self, body: str, service: str | None = None, *, k: int = 10
    ) -> list[JoinOption]:
        """Running real arrangements the body is not in, for services it delivers, ranked by
        the chance of joining (its likeliest partner among the members) times savings per
        partner of the enlarged group. Arrangements with no member the body could partner for
        that service are left out."""
        check_k(k)
        f = self.body_position(body)
        ctx, model = self.model.context, self.model
        reg = model.arrangements
        running = reg[(reg["status"] != "ended") & reg["end_year"].isna()]
        if service is not None:
            running = running[running["service"] == ctx.services[self.service_position(service)]]
        code = str(self._codes[f])
        likelihoods: dict[int, dict[int, float]] = {}
        options: list[tuple[dict[Any, Any], list[int], int, float, int]] = []
        for row in running.to_dict(orient="records"):
            s = self._service_pos[row["service"]]
            positions = [self._position[c] for c in row["member_codes"] if c in self._position]
            if code in row["member_codes"] or not positions or not ctx.bodies.eligible[s, f]:
                continue
            if s not in likelihoods:
                scored = self.scorer.query(f, s)
                likelihoods[s] = dict(
                    zip(scored.candidate.tolist(), scored.likelihood.tolist(), strict=True)
                )
            best = max(positions, key=lambda c: likelihoods[s].get(c, 0.0))
            likelihood = likelihoods[s].get(best, 0.0)
            if likelihood > 0:  # else no member could partner the body for this service
                options.append((row, positions, s, likelihood, best))
        if not options or model.components.savings is None:
            return []
        groups = [np.array([f, *positions], dtype=np.intp) for _, positions, _, _, _ in options]
        services = np.array([s for _, _, s, _, _ in options])
        frame = group_frame(groups, services, ctx.bodies, ctx.services)
        per_partner = model.components.savings.predict(frame) / np.array([len(g) for g in groups])
        result = []
        for (row, _, _, likelihood, best), saving in zip(options, per_partner, strict=True):
            km = ctx.pairs.dist_km[f, best]
            result.append(
                JoinOption(
                    arrangement=evidence_record(row),
                    likelihood=likelihood,
                    savings_per_partner_gbp=float(saving),
                    reason=f"its member {ctx.bodies.names[best]} is {km:.0f} km away and the "
                    f"likeliest partner for this service",
                )
            )
        result.sort(key=lambda o: (-o.score, o.arrangement["id"]))
        return result[:k]


def _service_labels(settings: Settings, services: Sequence[str]) -> dict[str, str]:
    from recommender.services import load_services

    labels = load_services(settings)["label"].to_dict()
    return {s: str(labels.get(s, s)) for s in services}


def likelihood_words(p: float) -> str:
    """The likelihood in words for people ("about 1 in 8 over five years")."""
    if p <= 0:
        return "very unlikely"
    n = max(1, round(1 / p))
    return f"about 1 in {n} over {HORIZON_YEARS} years"


__all__ = [
    "MAX_K",
    "PER_PARTNER",
    "Group",
    "JoinOption",
    "Place",
    "Query",
    "Recommendation",
    "Recommender",
    "likelihood_words",
]
