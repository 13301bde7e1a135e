"""Recommendations from a trained model: partners, partner groups and arrangements to join.

A :class:`Recommender` wraps the promoted model. Every (body, candidate, service) was scored
at training time (:mod:`recommender.model.scoring`), so answering a query is a filter and a sort
over the body's rows, followed by reasons and evidence for the few suggestions returned
(:mod:`recommender.model.explain`; cached, since they depend only on the model and the pair).

Filters: ``service`` (a service id), ``kinds`` (council, fire, police, health, combined),
``max_km`` (distance between centroids), ``k`` (1 to :data:`MAX_K`), ``include_existing`` (by
default a partner already sharing that service with the body is left out; with the flag it is
shown, marked ``existing``) and ``per_partner`` (at most this many services per partner in the list,
:data:`PER_PARTNER` by default, so that one strong pair does not fill it).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.core.jsontext import dumps
from recommender.model import artifacts
from recommender.model.explain import (
    EvidenceIndex,
    Reason,
    body_names,
    evidence_record,
    in_text,
    reasons,
    service_words,
    whole_km,
)
from recommender.model.features import BodyArrays, group_frame
from recommender.model.fit import TrainedModel
from recommender.model.horizon import HORIZON_YEARS
from recommender.model.network import (
    Snapshot,
    as_the_register_says,
    members_gone,
    members_left,
)
from recommender.model.scoring import LongScores, Proposed, Scorer
from recommender.recommend.query import (
    CHOICE_FLOOR,
    MAX_K,
    PER_PARTNER,
    Query,
    check_k,
    check_query,
)
from recommender.recommend.readmodels import held_at
from recommender.reference import lookup as reference
from recommender.reference.lookup import resolve
from recommender.register.records import (
    ended_rows,
    excluded_from,
    gone_codes,
    is_proposed,
    named_split,
    one_body,
)

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine

MAX_GROUP_SIZE = 4
GROUP_POOL = 8  # groups are built from the body's best few candidates for the service
# Explained suggestions kept per model for the questions a shortlist does not answer (below the
# floor on the chance of being chosen, or with existing partners); about 1.5 KB each.
SUGGESTIONS = 8_192
IntArray = npt.NDArray[np.intp]
# The evidence parts of suggestions' JSON, each kept once (by value): at most this many.
SHARED_EVIDENCE = 50_000
_SHARED_EVIDENCE: dict[bytes, bytes] = {}
# A suggestion's JSON in two parts, all but its evidence then its evidence (a part may be a
# view of a larger buffer: :attr:`Shortlist.json`).
JSONParts = tuple[bytes | memoryview, bytes]


# A business rates pool (the 2013 retention scheme) is of the authorities that receive business
# rates, councils and fire authorities (and a combined authority in a pilot): a police force
# area or an NHS board can never join one ("excludes city, police and fire", says the
# Nottinghamshire pool's source).
RATES_POOL = re.compile(r"\bbusiness rates (retention )?pool", re.IGNORECASE)
POOL_KINDS = frozenset({"council", "fire", "combined"})


@dataclass(frozen=True)
class Recommendation:
    """One suggested partner and service (frozen: made once, it may be shared)."""

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
    # an existing partner only through bodies now gone: "only through Somerset County Council,
    # now gone" (:meth:`Recommender.existing_through`)
    existing_through: str | None = None

    @property
    def savings_held_at(self) -> str | None:
        """Whether ``savings_gbp`` is held at a bound of real savings per resident
        (:func:`held_at`)."""
        return held_at(self.savings_gbp, self.savings_low_gbp, self.savings_high_gbp)

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner_code": self.partner_code,
            "partner_name": self.partner_name,
            "partner_kind": self.partner_kind,
            "service": self.service,
            "service_label": self.service_label,
            "likelihood": chance(self.likelihood),
            "choice": chance(self.choice),
            "expected_savings_gbp": _round(self.expected_savings_gbp, 0),
            "savings_gbp": _round(self.savings_gbp, 0),
            "savings_low_gbp": _round(self.savings_low_gbp, 0),
            "savings_high_gbp": _round(self.savings_high_gbp, 0),
            "savings_held_at": self.savings_held_at,
            "distance_km": round(self.distance_km, 1),
            "existing": self.existing,
            "existing_through": self.existing_through,
            "reasons": [r.to_dict() for r in self.reasons],
            "evidence": self.evidence,
        }

    @cached_property
    def json(self) -> tuple[bytes, bytes]:
        """Its JSON (:meth:`encode`), made once and kept with it (a prepared suggestion's is
        kept with its shortlist instead: :attr:`Shortlist.json`)."""
        return self.encode()

    def encode(self) -> tuple[bytes, bytes]:
        """Its JSON (:mod:`recommender.core.jsontext`) in two parts to put one after the other:
        all but its evidence (``b'{"partner_code":…,"evidence":'``), then the evidence
        (``b'[…]}'``). The evidence part is shared: tens of thousands of suggestions cite a few
        thousand different sets of arrangements."""
        fields = self.to_dict()
        evidence = dumps(fields.pop("evidence")) + b"}"  # the last field
        if len(_SHARED_EVIDENCE) >= SHARED_EVIDENCE:
            _SHARED_EVIDENCE.clear()  # (sharing is only a saving: start again)
        return dumps(fields)[:-1] + b',"evidence":', _SHARED_EVIDENCE.setdefault(evidence, evidence)


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

    @property
    def savings_held_at(self) -> str | None:
        """Whether ``savings_gbp`` is held at a bound of real savings per resident
        (:func:`held_at`)."""
        return held_at(self.savings_gbp, self.savings_low_gbp, self.savings_high_gbp)

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "service": self.service,
            "savings_gbp": round(self.savings_gbp),
            "savings_per_partner_gbp": round(self.savings_per_partner_gbp),
            "savings_low_gbp": round(self.savings_low_gbp),
            "savings_high_gbp": round(self.savings_high_gbp),
            "savings_held_at": self.savings_held_at,
            "likelihood": chance(self.likelihood),
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
            "likelihood": chance(self.likelihood),
            "savings_per_partner_gbp": round(self.savings_per_partner_gbp),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Place:
    """What a body is on the map the answers are about: its facts (as
    :func:`recommender.reference.lookup.body`), neighbours, containers and the bodies within it
    (``contents``; rows as :func:`recommender.reference.lookup.neighbours` gives them), its
    documented arrangements, and a ``note`` saying which map it is when that is not today's."""

    facts: dict[str, Any]
    neighbours: list[dict[str, Any]]
    containers: list[dict[str, Any]]
    arrangements: list[dict[str, Any]]
    note: str = ""
    contents: list[dict[str, Any]] = field(default_factory=list)


def rows(frame: Any) -> list[dict[str, Any]]:
    """A frame's rows as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits) if digits else float(round(float(value)))


def chance(value: float | None) -> float | None:
    """A chance as the JSON gives it: four decimals, or two significant figures below 0.001,
    so a small chance never reads as none (a join option's 0.00004 was 0.0; the page says
    "<0.1%")."""
    if value is None or not math.isfinite(value):
        return None
    value = float(value)
    return round(value, 4) if value == 0 or abs(value) >= 0.001 else float(f"{value:.2g}")


@dataclass(frozen=True)
class Shortlist:
    """A body's suggestions at or above the floor on the chance of being chosen (the only ones
    shown by default), ranked by expected savings (then service and candidate position), with
    each candidate's kind (as a number) and distance, and the suggestions explained (empty
    until asked for)."""

    scored: LongScores
    kind: IntArray
    km: npt.NDArray[np.float64]
    made: list[Recommendation]

    @cached_property
    def json(self) -> list[JSONParts]:
        """Each explained row's JSON (:meth:`Recommendation.encode`), by row, made once, and
        kept so that the service's workers read it without copying it.

        The workers share the prepared shortlists with the master until they write to a page
        of them, and reading a Python object writes to it (its reference count). Kept as an
        object per suggestion (with the default model, 65,885 of them, 64 MB), the JSON was
        copied into every worker as questions touched it. Here every row's JSON but its
        evidence is a view of one buffer, so a question writes to a small view object per row
        (about 200 bytes, where the JSON is about 1 KB) and to the evidence parts (a few
        thousand shared ones, 5 MB).
        """
        encoded = [made.encode() for made in self.made]
        heads = memoryview(b"".join(head for head, _ in encoded))
        rows: list[JSONParts] = []
        start = 0
        for head, evidence in encoded:
            rows.append((heads[start : start + len(head)], evidence))
            start += len(head)
        return rows

    @cached_property
    def walk(self) -> ShortlistWalk:
        """The same rows for a walk in Python (made once per shortlist)."""
        return ShortlistWalk(
            kind=self.kind.tolist(),
            km=self.km.tolist(),
            seen=_occurrence(self.scored.candidate).tolist(),
            by_service={
                int(s): np.flatnonzero(self.scored.service == s).tolist()
                for s in np.unique(self.scored.service)
            },
        )


@dataclass(frozen=True)
class ShortlistWalk:
    """A shortlist's rows as Python lists, for answering the default order by walking them
    from the top and stopping at ``k``: a question touches a few dozen list items rather than
    every row of several arrays (with no warm processor cache, as in a service answering
    questions about hundreds of bodies in turn, each array operation costs microseconds).
    ``seen`` counts the rows of the same candidate before each row (the cap on services per
    partner is ``seen < per_partner``); ``by_service`` lists each service's rows in order."""

    kind: list[int]
    km: list[float]
    seen: list[int]
    by_service: dict[int, list[int]]


class Suggestions:
    """The explained suggestions made so far, by (body, partner, service) positions: at most
    ``size`` of them (the least recently used go first); thread-safe. A suggestion depends on
    the model alone, which never changes under a :class:`Recommender`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int, int], Recommendation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, int]) -> Recommendation | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[int, int, int], value: Recommendation) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Drop every suggestion (the evidence they cite changed)."""
        with self._lock:
            self._items.clear()

    def forget(self, bodies: Collection[int]) -> None:
        """Drop the suggestions made for ``bodies`` (their partnerships changed)."""
        with self._lock:
            for key in [k for k in self._items if k[0] in bodies]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)


# Each state of the register a recommender follows (:meth:`Recommender.follow`), numbered once.
_REGISTER_STATES = itertools.count(1)


def named_today(bodies: BodyArrays, settings: Settings) -> BodyArrays:
    """``bodies`` with each body named as the reference names it now.

    A model names the bodies as the reference did when it was trained; a body renamed since
    (the reference rebuilt, the model not retrained) is named in its answers as on its page. A
    code the reference no longer holds keeps the name the model knew it by.
    """
    today = reference.load_bodies(settings)["display_name"]
    pairs = zip(bodies.codes, bodies.names, strict=True)
    names = [str(today.get(str(code), name)) for code, name in pairs]
    if names == [str(n) for n in bodies.names]:
        return bodies
    return dataclasses.replace(bodies, names=np.array(names, dtype=str))


class Recommender:
    """Answers queries from one trained model (thread-safe: only the kept explanations change
    after init, under their lock)."""

    def __init__(
        self,
        model: TrainedModel,
        version: str,
        metadata: dict[str, Any],
        settings: Settings,
    ) -> None:
        self.model = model
        self.version = version
        self.metadata = metadata
        self.settings = settings
        ctx = model.context  # (this load's own: each load unpickles its model afresh)
        ctx.bodies = named_today(ctx.bodies, settings)
        self._codes = ctx.pairs.codes
        self._position = ctx.pairs.index
        self._service_pos = {s: i for i, s in enumerate(ctx.services)}
        self._labels = _service_labels(self.settings, ctx.services)
        self.scorer = Scorer(ctx, model.components, model.snapshot, model.p_enter)
        self.scorer.overlaps = overlapping(reference.load_adjacency(settings), ctx.pairs.codes)
        self.scorer.estimated = np.isin(
            ctx.pairs.codes, list(reference.estimated_populations(settings))
        )
        self._name_of = self._names_today()  # (code to name today)
        self._evidence = EvidenceIndex(model, names=self._name_of)
        self.suggestions = Suggestions(SUGGESTIONS)
        # Each body's kind as a small number, so that a filter on kinds is one look-up a row.
        self._kind_names, self._kind_of = np.unique(ctx.bodies.kind, return_inverse=True)
        self._shortlists: dict[int, Shortlist] = {}
        self._kind_masks: dict[frozenset[str], npt.NDArray[np.bool_]] = {}
        self._kind_sets: dict[frozenset[str], frozenset[int]] = {}
        # (kind, partner kinds shown, query, kinds asked, sort) -> its cautions: a few dozen
        self._cautions: dict[
            tuple[str, tuple[str, ...] | None, str, tuple[str, ...], str], list[dict[str, Any]]
        ] = {}
        self._follow_lock = threading.Lock()
        # The register as this recommender follows it: 0 as the model was trained on it, else
        # a number no other state of any recommender in the process had (:attr:`identity`).
        self._followed = 0
        observed = model.arrangements[~model.arrangements["simulated"].astype(bool)]
        self._real_ids = frozenset(str(i) for i in observed["id"])
        # Over in the network the model was trained on: an end year (one said ended without
        # a year ran there, so is withdrawn as ended like one said so since).
        over = observed["end_year"].notna()
        self._ended_in_model = frozenset(str(i) for i in observed["id"][over])
        # The real arrangements the model was trained with that the register no longer holds,
        # and those it has since said ended, with their end year (:meth:`withdraw`).
        self.withdrawn: frozenset[str] = frozenset()
        self.ended_since: dict[str, int | None] = {}
        # Members that left an arrangement running on without them, as the readings say
        # today (a model saved before it kept them, or before a reading, is told so here).
        named = dict(zip(observed["id"].astype(str), observed["name"].astype(str), strict=True))
        in_order = [named.get(str(i), "") for i in ctx.reg.ids]
        self._left = members_left(in_order, list(ctx.reg.simulated), ctx.pairs.index)
        # And those abolished since, no one body succeeding them (a primary care trust): no one
        # shares a service with a body gone (a model saved before it kept its members as given:
        # none).
        if "member_given" in observed:
            given = dict(zip(observed["id"].astype(str), observed["member_given"], strict=True))
            left = {(k, f): since for k, f, since in self._left}
            for k, f, since in members_gone(list(ctx.reg.ids), given, ctx.pairs.index):
                left.setdefault((k, f), since)
            self._left = tuple((k, f, since) for (k, f), since in left.items())
        # Those recorded or named as never formed (status proposed, "… (proposal)") or whose
        # names say they split ("… split 2012"): the model learnt from them as partner choices,
        # but no answer states them as a partnership ("already works with … on …", a partner
        # already sharing the service); one split is history that has ended.
        names = [(str(i), str(n)) for i, n in zip(observed["id"], observed["name"], strict=True)]
        self._proposed = frozenset(
            str(i)
            for i, n, status in zip(
                observed["id"], observed["name"], observed["status"], strict=True
            )
            if is_proposed(str(n), status)
        )
        self._split = {i: year for i, n in names if (year := named_split(n)) is not None}
        self.scorer.facts = self._facts(frozenset(), {})
        self.scorer.proposed = self._proposals(observed)

    @classmethod
    def load(cls, settings: Settings) -> Recommender:
        """Load the promoted model (raises NoPromotedModel, ChecksumMismatch, VersionMismatch)."""
        loaded = artifacts.load_promoted(settings)
        found = cls(loaded.model, loaded.version, loaded.metadata, settings)
        found.follow_register()
        return found

    # --- lookups ------------------------------------------------------------------------------
    def body_position(self, body: str) -> int:
        """Matrix position of a body given by code or any name (abolished councils resolve)."""
        found = self._position.get(body)
        if found is not None:  # a current body's code, as the API and the pages send it
            return found
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

    def existing_through(self, body: str, partner: str, service: str) -> str | None:
        """How ``body`` already shares ``service`` with ``partner`` only through bodies now gone
        that they succeed ("only through Somerset County Council, now gone":
        :func:`recommender.model.explain.through_said`), or None: said beside "already a
        partner", where the reasons say who did."""
        return self._through(
            self.body_position(body), self.body_position(partner), self.service_position(service)
        )

    def _through(self, f: int, c: int, s: int) -> str | None:
        from recommender.model.explain import inherited_only, through_said

        via = inherited_only(self.model).get((f, c, s))
        return None if via is None else through_said(via)

    def service_position(self, service: str) -> int:
        found = self._service_pos.get(service)
        if found is not None:  # a service id, as the API and the pages send it
            return found
        from recommender.core.services import check_service

        return self._service_pos[check_service(service, self.settings)]

    # --- the map the answers are on (a scenario's recommender answers on its own map) ---------
    def place(self, code: str) -> Place:
        """Body ``code`` today: facts, neighbours, containers, contents, documented
        arrangements."""
        from recommender.register.records import Filters, query

        facts = reference.body(code, self.settings)
        near = reference.neighbours(code, self.settings, kind=facts["kind"])
        inside = reference.containers(code, self.settings)
        within = rows(reference.contents(code, self.settings))
        found = query(Filters(body=code), settings=self.settings)
        return Place(facts, rows(near), rows(inside), found, contents=within)

    def map_layers(self) -> Mapping[str, Any] | None:
        """The map layers by level to draw on (None: today's, ``maps.web_layer``)."""
        return None

    @property
    def identity(self) -> tuple[str, ...]:
        """What tells this recommender's answers apart in a cache: the model version, the
        register when it changed since training (a number of the process's, never reused: a
        model swapped away and back starts again, and its answers from before an import must
        not be served after it) and, on a scenario's map, the scenario and its content."""
        return (self.version, f"register {self._followed}") if self._followed else (self.version,)

    def follow_register(self, engine: Engine | None = None) -> int:
        """:meth:`follow` the register in the settings' database (or ``engine``'s), and
        :meth:`withdraw` what it no longer holds."""
        from recommender.register.records import real_ids, running_partnerships

        self.withdraw(*real_ids(settings=self.settings, engine=engine))
        return self.follow(running_partnerships(settings=self.settings, engine=engine))

    def following_register(self, engine: Engine | None = None) -> Recommender | None:
        """:meth:`follow_register` for a service that goes on answering meanwhile. What the
        register adds is followed here, in place (:meth:`follow` makes only the bodies
        concerned again). When it has deleted, or said ended, arrangements since
        (:meth:`withdraw`: every body's suggestions made again, seconds of work), a copy that
        says so is returned, for the caller to prepare while this one answers as it did; else
        None."""
        from recommender.register.records import real_ids, running_partnerships

        present, ended = real_ids(settings=self.settings, engine=engine)
        running = running_partnerships(settings=self.settings, engine=engine)
        if self._withdrawal(present, ended) == (self.withdrawn, self.ended_since):
            self.follow(running)
            return None
        fresh = copy.copy(self)  # the model and what it computed, shared; these its own:
        fresh.scorer = copy.copy(self.scorer)  # (its facts and partnerships are replaced)
        fresh._shortlists, fresh.suggestions = {}, Suggestions(SUGGESTIONS)
        fresh._follow_lock = threading.Lock()
        fresh.withdraw(present, ended)
        fresh.follow(running)
        return fresh

    def withdraw(
        self, present: Iterable[str], ended: Mapping[str, int | None] | None = None
    ) -> int:
        """Say which real arrangements the register holds now (``present``: their ids) and
        which of them it says have ended (``ended``: id to end year, None when not given).

        One the model was trained with that the register no longer holds (an analyst deleted
        it: a wrong row, to be imported again corrected, or none at all) is withdrawn: no
        suggestion cites it as a comparable arrangement, it is not offered to join, no reason
        says it links its members ("already works with … on …"), and a pair it alone made
        partners for its service is no longer an existing partnership (it may be suggested).
        One the model knew as running that the register now says has ended (removed and
        imported again with its end year) is cited with its end year and not offered to join,
        and its members no longer share its service through it (their history stays). From
        the next answer on; answers already made are made again (:attr:`identity` changes).
        What the model learnt from them (its scores) stays until a retrain. Returns how many
        are withdrawn."""
        gone, since = self._withdrawal(present, ended)
        if gone != self.withdrawn or since != self.ended_since:
            evidence = EvidenceIndex(self.model, leave_out=gone, ended=since, names=self._name_of)
            facts = self._facts(gone, since)
            with self._follow_lock:
                self._evidence, self.withdrawn, self.ended_since = evidence, gone, since
                self.scorer.facts = facts
                self._followed = next(_REGISTER_STATES)
                self._shortlists.clear()
                self.suggestions.clear()
        return len(gone)

    def _names_today(self) -> dict[str, str]:
        """Each body's name today, by code: what the evidence names an arrangement's partners
        by (:func:`~recommender.model.explain.partner_labels`)."""
        bodies = self.model.context.bodies
        return body_names(bodies.codes, bodies.names)

    def _withdrawal(
        self, present: Iterable[str], ended: Mapping[str, int | None] | None
    ) -> tuple[frozenset[str], dict[str, int | None]]:
        """What :meth:`withdraw` withdraws (the ids the register no longer holds) and says
        ended since, of the real arrangements the model was trained with."""
        gone = self._real_ids - frozenset(str(i) for i in present)
        since = {
            i: year
            for i, year in (ended or {}).items()
            if i in self._real_ids and i not in self._ended_in_model
        }
        return gone, since

    def _proposals(self, observed: Any) -> dict[tuple[int, int], Proposed]:
        """Each pair of bodies named together in a documented proposal (both ways), with the
        proposals' services and the bodies now gone the source named for them
        (:attr:`Scorer.proposed`)."""
        out: dict[tuple[int, int], Proposed] = {}
        for row in rows(observed[observed["id"].astype(str).isin(list(self._proposed))]):
            s = self._service_pos[str(row["service"])]
            codes, vias = list(row["member_codes"]), list(row.get("member_via") or [])
            if len(vias) != len(codes):  # members mapped onto a scenario's map: as themselves
                vias = [""] * len(codes)
            at = [
                (int(self._position[c]), str(via or ""))
                for c, via in zip(codes, vias, strict=True)
                if c in self._position
            ]
            for f, via_f in at:
                for c, via_c in at:
                    if f == c:
                        continue
                    found = out.setdefault((f, c), Proposed((), via_f, via_c))
                    if s not in found.services:
                        out[(f, c)] = found._replace(services=(*found.services, s))
        return out

    def _facts(self, gone: frozenset[str], since: Mapping[str, int | None]) -> Snapshot | None:
        """The network what answers state is read from (:attr:`Scorer.facts`): the register's
        real arrangements but those ``gone`` from it, those said ended (``since``, and those
        named split) over, none named a proposal, and the members that left one as the
        readings say today (:func:`~recommender.model.network.members_left`); None when that is
        the model's own."""
        ctx = self.model.context
        if not (gone or since or self._proposed or self._split or self._left != ctx.reg.left):
            return None
        over = {**self._split, **since}
        return as_the_register_says(
            ctx.reg, ctx.pairs.n, deleted=gone | self._proposed, ended=over, left=self._left
        )

    def follow(self, running: Iterable[tuple[str, Sequence[str]]]) -> int:
        """Say what the register says now about who already shares what: each partnership in
        ``running`` (a real, running arrangement's service id and its members' codes) that the
        model was trained without is marked existing, so it is never suggested and shows as
        existing with ``include_existing``. The model's scores stay as trained (a retrain
        learns from the new arrangements). Answers about the bodies concerned are made again,
        and :attr:`identity` changes, so no cache serves one from before. Returns how many
        bodies have a partnership the model was trained without."""
        shares = self.scorer.network.shares  # as the register holds them (:meth:`withdraw`)
        since: dict[int, npt.NDArray[np.bool_]] = {}
        for service, codes in running:
            s = self._service_pos.get(service)
            members = {self._position[c] for c in codes if c in self._position}
            if s is None:
                continue
            for a in members:
                for b in members - {a}:
                    if not shares[s, a, b]:
                        if a not in since:
                            since[a] = np.zeros((shares.shape[0], shares.shape[2]), dtype=bool)
                        since[a][s, b] = True
        before = self.scorer.since
        changed = {
            f
            for f in since.keys() | before.keys()
            if f not in since or f not in before or not np.array_equal(since[f], before[f])
        }
        if changed:
            with self._follow_lock:
                self.scorer.since = since  # one assignment: a request sees either
                self._followed = next(_REGISTER_STATES)
                for f in changed:
                    self._shortlists.pop(f, None)
                self.suggestions.forget(changed)
        return len(since)

    def describe(self) -> dict[str, Any]:
        """Version, training time, register and evaluation of the model."""
        from recommender.recommend.readmodels import model_info

        return model_info(self.version, self.metadata)

    @property
    def coverage(self) -> float:
        """The share of new arrangements' savings its savings ranges are meant to hold (the
        savings model's interval, 0.8 by default)."""
        savings = self.model.components.savings
        return float(savings.coverage) if savings is not None else 0.8

    def cautions(
        self,
        kind: str,
        partner_kinds: Iterable[str] | None = None,
        service: str | None = None,
        *,
        asked: Iterable[str] | None = None,
        sort: str = "expected",
    ) -> list[dict[str, Any]]:
        """Where the model's own evaluation says it ranks real partners no better than a
        baseline, or ahead of one only within the noise, for the pairs a body of ``kind`` is
        in (with partners of ``partner_kinds`` only, when given: the kinds a list shows or
        asks for), judged as the list was asked: for one ``service``, or for every service
        (the default list) (:func:`recommender.model.verdicts.cautions`), and as it was
        filtered (``asked``: the kinds of partner asked for; one kind is judged among that
        kind's candidates alone), and as it was ordered (``sort``: its likelihood alone judged
        for a list by likelihood; one by savings if formed was never evaluated): what the
        page, the briefing and the CLI say beside a body's suggestions, and the API gives with
        them. Kept per question."""
        from recommender.model.verdicts import cautions

        query = "any" if service is None else "service"
        kinds = None if partner_kinds is None else tuple(sorted(set(partner_kinds)))
        filtered = tuple(sorted(set(asked or ())))
        key = (kind, kinds, query, filtered, sort)
        found = self._cautions.get(key)
        if found is None:
            ranking = (self.describe().get("evaluation") or {}).get("ranking") or []
            found = self._cautions[key] = cautions(
                ranking, kind, kinds, query, asked=filtered, sort=sort
            )
        return found

    # --- partners -----------------------------------------------------------------------------
    def recommend(self, query: Query, *, explain: bool = True) -> list[Recommendation]:
        """The top ``k`` (partner, service) suggestions for the body, by expected savings."""
        f, s = self._asked(query)
        if _shortlisted(query):
            return self._from_shortlist(self._shortlist(f, explain=explain), s, query, explain)
        eligible = self.model.context.bodies.eligible[:, f]
        services = [s] if s is not None else [int(i) for i in np.flatnonzero(eligible)]
        scored = self.scorer.score_long(f, services)
        return self._build(f, scored, self._pick(f, scored, query), explain=explain)

    def recommend_json(self, query: Query) -> list[JSONParts]:
        """:meth:`recommend`'s answer as each suggestion's JSON (:meth:`Recommendation.encode`),
        read from the body's shortlist when it holds the answer (:attr:`Shortlist.json`),
        without the suggestions themselves (the service's answers: no more memory read than the
        JSON itself)."""
        f, s = self._asked(query)
        if _shortlisted(query):
            short = self._shortlist(f, explain=True)
            made = short.json
            return [made[r] for r in self._shortlist_rows(short, s, query)]
        return [found.json for found in self.recommend(query)]

    def _asked(self, query: Query) -> tuple[int, int | None]:
        """The body's and the service's positions (checked: the body must deliver it)."""
        check_query(query)
        f = self.body_position(query.body)
        return f, None if query.service is None else self.delivered(f, query.service)

    def delivered(self, f: int, service: str) -> int:
        """The position of ``service``, which the body at ``f`` must deliver: a body is never
        offered partners for a service its tier does not run (a district asking about adult
        social care is told so, with the services it does run)."""
        s = self.service_position(service)
        ctx = self.model.context
        if not ctx.bodies.eligible[s, f]:
            runs = np.flatnonzero(ctx.bodies.eligible[:, f]).tolist()
            if self._delivered_now(f, s):
                raise InvalidInput(
                    f"{ctx.bodies.names[f]} ({self._codes[f]}) delivers"
                    f" {self._labels[ctx.services[s]].lower()}, but the serving model"
                    f" ({self.version}) was trained before its kind of body was counted among"
                    " those that do, so it cannot rank partners for it: retrain and promote a"
                    " model (recommender train --promote) to ask about it, or ask about one of"
                    f" the {len(runs)} services the model can answer for",
                    field="service",
                    suggestions=[str(ctx.services[i]) for i in runs],
                )
            raise InvalidInput(
                f"{ctx.bodies.names[f]} ({self._codes[f]}) does not deliver"
                f" {self._labels[ctx.services[s]].lower()}, so has none of it to share; "
                f"ask about one of the {len(runs)} services it delivers",
                field="service",
                suggestions=[str(ctx.services[i]) for i in runs],
            )
        return s

    def _delivered_now(self, f: int, s: int) -> bool:
        """Whether today's taxonomy (``data/services.csv``) counts the body's tier among those
        that deliver the service, where the model was trained under one that did not."""
        from recommender.core.services import load_services

        taxonomy = load_services(self.settings)
        service = str(self.model.context.services[s])
        if service not in taxonomy.index:
            return False
        tiers = str(taxonomy.at[service, "delivered_by"]).split(";")
        return str(self.model.context.bodies.tier[f]) in tiers

    def prepare(self) -> int:
        """Work out every suggestion that can be shown by default (at or above the likelihood
        floor) with its reasons, evidence and JSON, so that no question waits for them; return
        how many. Seconds; the service does this once, before serving (its workers share
        them)."""
        count = 0
        for f in range(self.model.context.pairs.n):
            short = self._shortlist(f, explain=True)
            short.walk  # noqa: B018 (made and kept)
            count += len(short.json)  # every row's JSON, made and kept with the shortlist
        return count

    def _shortlist(self, f: int, *, explain: bool) -> Shortlist:
        """The body's suggestions at or above :data:`CHOICE_FLOOR` for every service it
        delivers (a few dozen of its thousands of scored pairs), in the default order, explained
        when asked; made once per body and kept (bounded by the model's bodies)."""
        found = self._shortlists.get(f)
        if found is not None and (found.made or not explain or not len(found.scored.candidate)):
            return found
        services = np.flatnonzero(self.model.context.bodies.eligible[:, f])
        since, evidence = self.scorer.since, self._evidence
        every = self.scorer.score_long(f, [int(i) for i in services])
        likely = every.select(~every.existing & (every.p_choice >= CHOICE_FLOOR))
        order = np.lexsort((likely.candidate, likely.service, -likely.expected))
        scored = likely.take(order)
        made: list[Recommendation] = []
        if explain and len(order):
            rows = np.arange(len(order))
            explained = self._explained(f, scored, rows, every, keep=False)
            made = [explained[r] for r in rows.tolist()]
        found = Shortlist(
            scored=scored,
            kind=self._kind_of[scored.candidate],
            km=self.model.context.pairs.dist_km[f, scored.candidate],
            made=made,
        )
        with self._follow_lock:
            # not made from partnerships since replaced, nor citing arrangements since withdrawn
            if self.scorer.since is since and self._evidence is evidence:
                self._shortlists[f] = found
        return found

    def _from_shortlist(
        self, short: Shortlist, s: int | None, query: Query, explain: bool
    ) -> list[Recommendation]:
        """:meth:`recommend` from a shortlist."""
        chosen = self._shortlist_rows(short, s, query)
        if explain:
            made = short.made
            return [made[r] for r in chosen]
        return [self._suggestion(short.scored.focal, short.scored, r, [], []) for r in chosen]

    def _shortlist_rows(self, short: Shortlist, s: int | None, query: Query) -> list[int]:
        """The rows of the shortlist that answer ``query``: filters keep rows, whose order
        already is the ranking (walked from the top, :meth:`_walk`), or is sorted again by
        another ``sort``."""
        scored = short.scored
        capped = s is None and query.per_partner < len(scored.services)
        if query.sort == "expected" and query.min_choice <= CHOICE_FLOOR:
            return self._walk(short.walk, s, query, capped)
        keep = scored.p_choice >= query.min_choice
        if s is not None:
            keep &= scored.service == s
        if query.kinds:
            keep &= self._kinds_mask(query.kinds)[short.kind]
        if query.max_km is not None:
            keep &= short.km <= query.max_km
        rows = np.flatnonzero(keep)
        values = {"expected": scored.expected, "likelihood": scored.likelihood}
        key = values.get(query.sort, scored.savings)[rows]
        # Ties (e.g. the same savings if formed) go to the larger expected savings.
        tie = -scored.expected[rows]
        rows = rows[np.lexsort((scored.candidate[rows], scored.service[rows], tie, -key))]
        if capped:
            rows = rows[_occurrence(scored.candidate[rows]) < query.per_partner]
        return rows[: query.k].tolist()  # type: ignore[no-any-return]

    def _walk(self, walk: ShortlistWalk, s: int | None, query: Query, capped: bool) -> list[int]:
        """The rows :meth:`_shortlist_rows` keeps in the default order: a walk from the top
        (of the service's rows when one is asked for) that stops at ``k``. The kinds and
        distance filters keep or drop a candidate's rows together, so the cap on services per
        partner is the shortlist's own count of the candidate's rows before (``seen``)."""
        rows: Sequence[int] = range(len(walk.kind)) if s is None else walk.by_service.get(s, ())
        allowed = self._kind_numbers(query.kinds) if query.kinds else None
        max_km, cap, k = query.max_km, query.per_partner if capped else None, query.k
        if allowed is None and max_km is None and cap is None:
            return list(rows[:k])
        kind, km, seen = walk.kind, walk.km, walk.seen
        chosen: list[int] = []
        for r in rows:
            if (
                (allowed is None or kind[r] in allowed)
                and (max_km is None or km[r] <= max_km)
                and (cap is None or seen[r] < cap)
            ):
                chosen.append(r)
                if len(chosen) == k:
                    break
        return chosen

    def _kind_numbers(self, kinds: Sequence[str]) -> frozenset[int]:
        """The kind numbers ``kinds`` names (each set kept, as by :meth:`_kinds_mask`)."""
        key = frozenset(kinds)
        found = self._kind_sets.get(key)
        if found is None:
            numbers = np.flatnonzero(self._kinds_mask(kinds)).tolist()
            found = self._kind_sets[key] = frozenset(numbers)
        return found

    def _kinds_mask(self, kinds: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which kind numbers ``kinds`` names (a few dozen sets of five kinds: each kept)."""
        key = frozenset(kinds)
        found = self._kind_masks.get(key)
        if found is None:
            found = self._kind_masks[key] = np.isin(self._kind_names, list(key))
        return found

    def _pick(self, f: int, scored: LongScores, query: Query) -> IntArray:
        """The rows of ``scored`` to show, best first: the filters kept, sorted by the ranking
        score (then expected savings, service and candidate position), at most
        ``per_partner`` per partner, ``k`` of them; then, asked to include them, every
        existing partner (context, not suggestions: ranked last, they were cut by ``k`` and
        never shown)."""
        rows = np.flatnonzero(self._keep(f, scored, query))
        values = {"expected": scored.expected, "likelihood": scored.likelihood}
        key = values.get(query.sort, scored.savings)[rows]
        tie = -scored.expected[rows]  # ties go to the larger expected savings
        ranked = rows[np.lexsort((scored.candidate[rows], scored.service[rows], tie, -key))]
        existing = scored.existing[ranked]
        new, known = ranked[~existing], ranked[existing]
        if query.service is None and query.per_partner < len(scored.services):
            # (with one service, or a cap above the number of services, none can exceed it)
            new = new[_occurrence(scored.candidate[new]) < query.per_partner]
        return np.concatenate([new[: query.k], known])

    def _keep(self, f: int, scored: LongScores, query: Query) -> npt.NDArray[np.bool_]:
        ctx = self.model.context
        cand = scored.candidate
        keep = np.ones(len(cand), dtype=bool)
        if query.kinds:
            keep &= self._kinds_mask(query.kinds)[self._kind_of[cand]]
        if query.max_km is not None:
            keep &= ctx.pairs.dist_km[f, cand] <= query.max_km
        if query.include_existing:
            keep &= scored.existing | (scored.p_choice >= query.min_choice)
        else:
            keep &= ~scored.existing & (scored.p_choice >= query.min_choice)
        return keep

    def _build(
        self, f: int, scored: LongScores, chosen: IntArray, *, explain: bool
    ) -> list[Recommendation]:
        rows = chosen.tolist()
        if not explain:
            return [self._suggestion(f, scored, r, [], []) for r in rows]
        out: dict[int, Recommendation] = {}
        missing = []
        cands, services = scored.candidate[chosen].tolist(), scored.service[chosen].tolist()
        for r, c, s in zip(rows, cands, services, strict=True):
            # A suggestion with its reasons and evidence depends on the model and the (body,
            # partner, service) alone, whatever the filters: each is made once and kept.
            known = self.suggestions.get((f, c, s))
            if known is None:
                missing.append(r)
            else:
                out[r] = known
        if missing:
            out |= self._explained(f, scored, np.asarray(missing, dtype=np.intp))
        return [out[r] for r in rows]

    def _explained(
        self,
        f: int,
        scored: LongScores,
        rows: IntArray,
        every: LongScores | None = None,
        *,
        keep: bool = True,
    ) -> dict[int, Recommendation]:
        """The suggestions at ``rows`` with their reasons and evidence (and kept), worked out
        one service at a time: reasons compare a candidate with every other for the service
        (``every``: the body's candidates for every service it delivers, when at hand)."""
        out: dict[int, Recommendation] = {}
        bounds = np.cumsum(every.counts) if every is not None else None
        for s in np.unique(scored.service[rows]).tolist():
            mine = rows[scored.service[rows] == s]
            if every is not None and bounds is not None and s in every.services:
                j = int(np.flatnonzero(every.services == s)[0])
                one = every.part(j, int(bounds[j] - every.counts[j]), int(bounds[j]))
            else:
                one = self.scorer.query(f, s)
            cands = scored.candidate[mine]
            texts = reasons(self.model, self.scorer, one, np.searchsorted(one.candidate, cands))
            evidence = self._evidence.best_many(self.model, f, cands, s)
            for r, c, items, found in zip(
                mine.tolist(), cands.tolist(), texts, evidence, strict=True
            ):
                made = self._suggestion(f, scored, r, items, found)
                if keep:
                    self.suggestions.put((f, c, s), made)
                out[r] = made
        return out

    def _suggestion(
        self,
        f: int,
        scored: LongScores,
        r: int,
        why: list[Reason],
        evidence: list[dict[str, Any]],
    ) -> Recommendation:
        ctx = self.model.context
        c, s = int(scored.candidate[r]), int(scored.service[r])
        service, existing = ctx.services[s], bool(scored.existing[r])
        return Recommendation(
            partner_code=str(self._codes[c]),
            partner_name=str(ctx.bodies.names[c]),
            partner_kind=str(ctx.bodies.kind[c]),
            service=service,
            service_label=self._labels[service],
            likelihood=None if existing else float(scored.likelihood[r]),
            choice=None if existing else float(scored.p_choice[r]),
            expected_savings_gbp=None if existing else float(scored.expected[r]),
            savings_gbp=float(scored.savings[r]),
            savings_low_gbp=float(scored.low[r]),
            savings_high_gbp=float(scored.high[r]),
            distance_km=float(ctx.pairs.dist_km[f, c]),
            existing=existing,
            reasons=why,
            evidence=evidence,
            existing_through=self._through(f, c, s) if existing else None,
        )

    # --- groups -------------------------------------------------------------------------------
    def groups(
        self, body: str, service: str, *, max_size: int = MAX_GROUP_SIZE, k: int = 5
    ) -> list[Group]:
        """The best groups of 2 to ``max_size`` bodies around the body, by savings per partner
        weighted by how likely the group is (the least likely of the body's pairs in it: its
        members' pairs among themselves are not scored). A county council and the fire and
        rescue authority it is are one body, never two members of a group."""
        if not 2 <= max_size <= MAX_GROUP_SIZE:
            raise InvalidInput(
                f"max_size must be between 2 and {MAX_GROUP_SIZE}, got {max_size}", field="max_size"
            )
        check_k(k)
        f = self.body_position(body)
        s = self.delivered(f, service)
        ctx, comp = self.model.context, self.model.components
        scored = self.scorer.query(f, s)
        fresh = np.flatnonzero(~scored.existing)
        best = fresh[np.argsort(-scored.likelihood[fresh], kind="stable")][:GROUP_POOL]
        pool = [(int(scored.candidate[r]), float(scored.likelihood[r])) for r in best]
        runs = ctx.table.runs  # a county council and the fire authority it is: one body

        def one_body_twice(combo: tuple[tuple[int, float], ...]) -> bool:
            members = [c for c, _ in combo]
            return bool(runs[np.ix_(members, members)].any())

        combos = [
            combo
            for size in range(1, max_size)
            for combo in itertools.combinations(pool, size)
            if not one_body_twice(combo)
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
        """Real arrangements not known to have ended (no end year, status not "ended") that
        the body is not in, for services it delivers, ranked by the chance of joining (its
        likeliest partner among the members) times the model's estimate of savings per partner
        of the enlarged group. Arrangements with no member the body could partner for that
        service are left out. A member abolished since (a primary care trust:
        :func:`~recommender.register.records.gone_codes`) is not one to partner, and one left
        with fewer than two members without it (the Leeds joint director of public health) is
        not offered."""
        check_k(k)
        f = self.body_position(body)
        ctx, model = self.model.context, self.model
        reg = model.arrangements
        running = reg[~ended_rows(reg)]
        if service is not None:
            running = running[running["service"] == ctx.services[self.delivered(f, service)]]
        code = str(self._codes[f])
        likelihoods: dict[int, dict[int, float]] = {}
        options: list[tuple[dict[Any, Any], list[int], int, float, int]] = []
        for row in running.to_dict(orient="records"):
            s = self._service_pos[row["service"]]
            codes = row["member_codes"]
            positions = [self._position[c] for c in codes if c in self._position]
            if code in codes or not positions or not ctx.bodies.eligible[s, f]:
                continue
            over = str(row["id"]) in self._proposed or str(row["id"]) in self._split
            if over or one_body(codes) or row.get("merged_today") or ctx.one_body(positions):
                continue  # a proposal, one that split, or one between bodies now one
            if str(row["id"]) in self.withdrawn or str(row["id"]) in self.ended_since:
                continue  # deleted from the register since the model was trained, or ended
            if ctx.table.runs[f, positions].any():
                continue  # the body's own fire authority (or its runner) is in it: it is in it
            if RATES_POOL.search(str(row["name"])) and ctx.bodies.kind[f] not in POOL_KINDS:
                continue  # a business rates pool: of authorities that receive business rates
            left_out = excluded_from(str(row["name"]), bool(row.get("simulated")))
            if code in left_out or str(ctx.bodies.kind[f]) in left_out:
                continue  # its source says it leaves the body (or its kind) out
            given = row.get("member_given") or ()
            if gone := gone_codes(given):  # a member abolished since (a PCT): not in it now
                positions = [
                    self._position[c] for c in codes if c in self._position and c not in gone
                ]
                others = sum(1 for c, _, _ in given if not c)  # members outside the reference
                if not positions or len(set(positions)) + others < 2:
                    continue  # no partnership left to join (or no member to partner)
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
            km = whole_km(ctx.pairs.dist_km[f, best])
            result.append(
                JoinOption(
                    arrangement=evidence_record(row, self._name_of),
                    likelihood=likelihood,
                    savings_per_partner_gbp=float(saving),
                    reason=f"of its members, {in_text(ctx.bodies, best)} ({km} km between "
                    f"centres) is the likeliest to partner {in_text(ctx.bodies, f)} for "
                    f"{service_words(self._labels[str(row['service'])])}",
                )
            )
        result.sort(key=lambda o: (-o.score, o.arrangement["id"]))
        return result[:k]


def overlapping(adjacency: pd.DataFrame, codes: npt.NDArray[np.str_]) -> npt.NDArray[np.bool_]:
    """Which pairs of ``codes`` overlap without one containing the other, by ``adjacency``
    (``code_a``, ``code_b``, ``relation``: the reference's, or a scenario's map's, which has
    its successors; a code it does not have overlaps none)."""
    rows = adjacency[adjacency["relation"] == "overlaps"]
    position = {str(c): i for i, c in enumerate(codes)}
    a = rows["code_a"].map(position)
    b = rows["code_b"].map(position)
    known = a.notna() & b.notna()
    found = np.zeros((len(codes), len(codes)), dtype=bool)
    found[a[known].astype(int), b[known].astype(int)] = True
    return found | found.T


def _shortlisted(query: Query) -> bool:
    """Whether the body's shortlist holds the answer: only suggestions at or above the floor
    on the chance of being chosen can be shown, and no existing partner."""
    return query.min_choice >= CHOICE_FLOOR and not query.include_existing


def _occurrence(values: IntArray) -> IntArray:
    """How many times each value has occurred before, reading ``values`` from the start."""
    if not len(values):
        return np.zeros(0, dtype=np.intp)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    starts = np.flatnonzero(first)
    seen = np.empty(len(values), dtype=np.intp)
    seen[order] = np.arange(len(values)) - starts[np.cumsum(first) - 1]
    return seen


def _service_labels(settings: Settings, services: Sequence[str]) -> dict[str, str]:
    from recommender.core.services import load_services

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
