"""What happens to the real arrangements in a scenario: internal ones, and the rest carried over.

Only real (documented) arrangements are ever read here: the scenario's network, the history
its successors inherit and what its pages list all describe arrangements with a public source.

Each member that leaves the map is **mapped** to where its area goes: a council to its
successor, a county split between successors to each of them (its share follows its
districts). A successor appears once in an arrangement, however many of its councils were
members (the duplicates merge); members outside the reference (an NHS trust, a company) stay.

* An arrangement whose members were all reference bodies and are now one successor is
  **internal**: the councils that shared the service become one council, so it is no longer a
  partnership. It is listed (:attr:`Outcome.internal`) and leaves the network.
* Every other arrangement **carries over** with its members mapped: the successors inherit
  their councils' arrangements, and each documented arrangement stays one arrangement (two
  councils' separate arrangements with the same partner are two inherited arrangements).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recommender.core.names import and_list, former_name
from recommender.model.explain import SEP
from recommender.recommend.ranking import rows
from recommender.register.records import one_body, record_ended, record_proposed
from recommender.scenario.world import World


@dataclass(frozen=True)
class Outcome:
    """One real arrangement on the scenario's map."""

    id: str
    name: str
    service: str
    start_year: int | None
    ended: bool  # the register says it has ended (:func:`record_ended`): history, not running
    end_year: int | None
    before: tuple[str, ...]  # member body codes today, in order (externals left out)
    after: tuple[str, ...]  # the same, mapped: distinct, in order
    externals: int  # members outside the reference
    internal: bool
    proposed: bool = False  # only proposed (:func:`record_proposed`): it never ran
    # With ``before``: the full names of the bodies gone each member stands for ("South
    # Northamptonshire Council" for West Northamptonshire; several joined by SEP), "" for a
    # member that was in itself; and the names of the members outside the reference (BT).
    via: tuple[str, ...] = ()
    others: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        """Neither ended nor only proposed: a partnership its members are in now."""
        return not (self.ended or self.proposed)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def into(self, code: str, world: World) -> list[str]:
        """Today's members whose area goes (wholly or in part) to ``code``."""
        return [c for c in self.before if code in world.replaced.get(c, ())]

    def stood_for(self, code: str) -> list[str]:
        """The bodies gone that today's member ``code`` was in it as (none: it was itself)."""
        at = self.before.index(code) if code in self.before else -1
        return [n for n in self.via[at].split(SEP) if n] if 0 <= at < len(self.via) else []

    def label(self, code: str, world: World) -> str:
        """Today's member ``code`` as the member it was: "South Northamptonshire Council (now
        West Northamptonshire)" for a body gone, else its name."""
        gone = self.stood_for(code)
        return f"{and_list(gone)} (now {world.name(code)})" if gone else world.name(code)

    def to_dict(self, world: World) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "service": self.service,
            "start_year": self.start_year,
            "end_year": self.end_year,
            "ended": self.ended,
            "proposed": self.proposed,
            # (as the register says it: what years_said reads, a proposal "proposed in 2015")
            "status": "proposed" if self.proposed else "ended" if self.ended else None,
            # (each as the member it was: "South Northamptonshire Council (now West
            # Northamptonshire)", as the briefing and the arrangement's page list it)
            "members_before": [
                {"code": c, "name": world.name(c), "label": self.label(c, world)}
                for c in self.before
            ],
            "members_after": [{"code": c, "name": world.name(c)} for c in self.after],
            "external_members": self.externals,
            "external_names": list(self.others),
            "internal": self.internal,
            "merged_before": False,  # (a report's: between councils one body before it)
        }


def mapped(world: World, codes: Iterable[str]) -> tuple[str, ...]:
    """``codes`` on the scenario's map: each replaced body by its successor(s), once each."""
    out: list[str] = []
    for code in codes:
        out += world.replaced.get(code, (code,))
    return tuple(dict.fromkeys(out))


def outcome(
    world: World,
    record: Mapping[str, Any],
    codes: Sequence[str],
    n_members: int,
    vias: Sequence[str] = (),
    others: Sequence[str] = (),
) -> Outcome:
    """The outcome of one arrangement (``codes``: its reference members, ``n_members``: all;
    ``vias``: with ``codes``, the body gone each stands for or ""; ``others``: the names of the
    members outside the reference)."""
    before = tuple(dict.fromkeys(str(c) for c in codes))
    stood: dict[str, list[str]] = {}
    for code, gone in zip(codes, vias, strict=False):
        stood.setdefault(str(code), []).append(str(gone or ""))
    # A member that was in as itself and as a body gone (two members merged since) was in.
    via = tuple(
        SEP.join(dict.fromkeys(stood[c])) if c in stood and all(stood[c]) else "" for c in before
    )
    after = mapped(world, before)
    externals = n_members - len(codes)
    internal = bool(
        len(before) >= 2 and externals == 0 and len(after) == 1 and after[0] in world.successors
    )
    start, end = record.get("start_year"), record.get("end_year")
    return Outcome(
        id=str(record["id"]),
        name=str(record["name"]),
        service=str(record["service"]),
        start_year=None if start is None or pd.isna(start) else int(start),
        ended=record_ended(record),
        end_year=None if end is None or pd.isna(end) else int(end),
        before=before,
        after=after,
        externals=externals,
        internal=internal,
        proposed=record_proposed(record),
        via=via,
        others=tuple(str(n) for n in others),
    )


def from_records(world: World, records: Iterable[Mapping[str, Any]]) -> list[Outcome]:
    """Outcomes of register records (:func:`recommender.register.records.query`: members listed)."""
    out = []
    for r in records:
        if r.get("simulated"):
            continue
        ours = [m for m in r["members"] if m["body_code"]]
        out.append(
            outcome(
                world,
                r,
                [m["body_code"] for m in ours],
                len(r["members"]),
                [former_name(str(m.get("resolution") or "")) or "" for m in ours],
                [str(m.get("name") or "") for m in r["members"] if not m["body_code"]],
            )
        )
    return out


def from_compact(world: World, compact: pd.DataFrame) -> list[Outcome]:
    """Outcomes of a model's observed register (:func:`training.compact_register`): an
    external member has no code (NaN), and is counted among the externals, not as a body."""
    real = compact[~compact["simulated"].astype(bool)]
    out = []
    for r in rows(real):
        codes = list(r["member_codes"])
        vias = list(r.get("member_via") or [""] * len(codes))
        ours = [(c, v) for c, v in zip(codes, vias, strict=False) if isinstance(c, str) and c]
        given = r.get("member_given") or []
        others = [str(n) for c, n, *_ in given if not c]
        out.append(
            outcome(world, r, [c for c, _ in ours], len(r["member_names"]),
                    [str(v or "") for _, v in ours], others)
        )  # fmt: skip
    return out


def _mapped_via(
    world: World, codes: Sequence[str], vias: Sequence[str], after: Sequence[str]
) -> list[str]:
    """``vias`` (the body gone each of ``codes`` stands for, "" for none: ``member_via``) for
    the mapped codes ``after``: each the bodies gone of the members it stands for, when every
    one of them stands for one (the Kent Total Place pilot's board, for West Kent PCT and
    Eastern and Coastal Kent PCT), else "" (a council that was a member itself). Read in line
    with the codes, where the codes made distinct put the names against other members."""
    by_code: dict[str, list[str]] = {}
    for code, via in zip(codes, vias, strict=True):
        for mapped in world.replaced.get(str(code), (str(code),)):
            by_code.setdefault(mapped, []).append(str(via))
    out = []
    for code in after:
        found = by_code.get(code, [""])
        out.append(SEP.join(dict.fromkeys(found)) if all(found) else "")
    return out


def register_frames(
    compact: pd.DataFrame, outcomes: Sequence[Outcome], world: World
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The register on the scenario's map, internal arrangements left out: ``arrangements``
    and ``members`` frames as :func:`recommender.model.network.register_arrays` reads them, and the
    compact register (member codes mapped; names as given) for evidence and joins, with
    ``merged_today``: between councils merged before the scenario (Chiltern and South Bucks,
    both Buckinghamshire), whose mapped codes, made distinct, read as one member and not as
    one body (cited as merged, never offered to join). ``member_via`` goes with the mapped
    codes (:func:`_mapped_via`)."""
    kept = {o.id: o for o in outcomes if not o.internal}
    real = compact[~compact["simulated"].astype(bool)]
    out = real[real["id"].astype(str).isin(list(kept))].copy()
    out["merged_today"] = [one_body([str(c) for c in codes]) for codes in out["member_codes"]]
    after = [list(kept[str(i)].after) for i in out["id"]]
    if "member_via" in out:
        out["member_via"] = [
            _mapped_via(world, codes, vias, mapped)
            for codes, vias, mapped in zip(
                out["member_codes"], out["member_via"], after, strict=True
            )
        ]
    out["member_codes"] = after
    members = pd.DataFrame(
        [
            {"arrangement_id": o.id, "position": p, "body_code": c}
            for o in kept.values()
            for p, c in enumerate(o.after, 1)
        ],
        columns=["arrangement_id", "position", "body_code"],
    )
    arrangements = out.drop(columns=["member_codes", "member_names"]).reset_index(drop=True)
    return arrangements, members, out.reset_index(drop=True)
