"""What the command line, the API and the pages say about a scenario and its bodies.

:func:`report` is the scenario in one dictionary: its successors' facts, what leaves the map,
what happens to the real arrangements. :func:`code_of` finds a body on the scenario's map by
code or name (:func:`answering`: also the successor answering for a council that joins one);
:func:`place` is a body there: its facts, neighbours, containers and the real arrangements it
is in (a successor's are its councils', carried over).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recommender.core.errors import UnknownBody
from recommender.core.names import and_list, normalise
from recommender.recommend.ranking import Place, rows
from recommender.recommend.readmodels import formed_names
from recommender.reference import lookup as reference
from recommender.register.records import (
    Filters,
    not_running_said,
    one_body,
    partnerships_of,
    query,
)
from recommender.scenario import history
from recommender.scenario.define import is_successor_code
from recommender.scenario.world import World


def report(world: World, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The scenario's facts; ``records`` are the real register's arrangements
    (:func:`recommender.register.records.query`), whose outcomes it lists."""
    before = reference.load_bodies(world.settings)
    outcomes = history.from_records(world, records)
    # An arrangement already between one body and no one else (councils merged before, such
    # as Forest Heath and St Edmundsbury, now West Suffolk) is one body's still: listed with
    # those that become internal where that body joins a new unitary, else unchanged.
    merged = [
        o
        for o in outcomes
        if o.changed
        and not o.internal
        and not o.externals
        and len(o.after) == 1
        and o.after[0] in world.successors
    ]
    changed = [o for o in outcomes if o.changed and (o.internal or len(o.after) + o.externals > 1)]
    return {
        "name": world.definition.name,
        "description": world.definition.description,
        "fingerprint": world.definition.fingerprint(),
        "successors": [
            world.facts(code) | {"sits_in": rows(world.containers(code))}
            for code in world.successors
        ],
        "leaves_map": [
            {
                "code": code,
                "name": str(before.at[code, "display_name"]),
                "tier": str(before.at[code, "tier"]),
                "goes_to": [{"code": h, "name": world.name(h)} for h in heirs],
            }
            for code, heirs in sorted(world.replaced.items())
        ],
        "notes": list(world.notes),
        "arrangements": {
            "internal": [o.to_dict(world) for o in changed if o.internal]
            + [o.to_dict(world) | {"internal": True, "merged_before": True} for o in merged],
            "carried_over": [o.to_dict(world) for o in changed if not o.internal],
            "unchanged": len(outcomes) - len(changed) - len(merged),
        },
    }


def code_of(world: World, body: str) -> str:
    """The code on the scenario's map of a body given by code or any name (a successor by its
    name too). A body that leaves the map is an :class:`UnknownBody` naming where its area
    goes (``suggestions``: ``"Name (CODE)"`` of each successor)."""
    text = " ".join(str(body).split())
    if text.upper() in world.bodies.index:
        return text.upper()
    key = normalise(text)
    for successor in world.definition.successors:
        if key and normalise(successor.name) == key:
            return successor.code
    if is_successor_code(text.upper()):  # a new council's code, not this scenario's
        made = [f"{s.name} ({s.code})" for s in world.definition.successors]
        raise UnknownBody(
            f"scenario {world.definition.name!r} has no new council {text.upper()}: its new "
            f"councils are {and_list(made)}",
            field="body",
            suggestions=made,
        )
    found = reference.resolve(text, settings=world.settings)
    gone = [c for c in found.codes if c in world.replaced]
    if gone:
        heirs = sorted({h for c in gone for h in world.replaced[c]})
        raise UnknownBody(
            f"{world.name(gone[0])} ({gone[0]}) is not on the map of scenario "
            f"{world.definition.name!r}: its area goes to "
            f"{' and '.join(world.name(h) for h in heirs)}",
            field="body",
            suggestions=[f"{world.name(h)} ({h})" for h in heirs],
        )
    if len(found.codes) > 1:
        raise UnknownBody(
            f"{body!r}: {found.note or 'several bodies match'}; ask for one of them",
            field="body",
            suggestions=[f"{world.name(c)} ({c})" for c in found.codes],
        )
    return found.codes[0]


def answering(world: World, body: str) -> tuple[str, str | None]:
    """The code on the scenario's map answering for ``body`` (:func:`code_of`), and a note when
    ``body`` names a council that joins exactly one successor there: the successor answers for
    it, as an abolished council's successor does today. A county split between successors is
    :func:`code_of`'s :class:`UnknownBody`, naming each."""
    try:
        return code_of(world, body), None
    except UnknownBody:
        if is_successor_code(" ".join(str(body).split()).upper()):
            raise  # (a new council's code this scenario has not: said so)
        codes = reference.resolve(" ".join(str(body).split()), settings=world.settings).codes
        gone = [c for c in codes if c in world.replaced]
        if len(gone) != 1 or len(world.replaced[gone[0]]) != 1:
            raise
    heir = world.replaced[gone[0]][0]
    return heir, (
        f"{world.name(gone[0])} ({gone[0]}) is not on the map of scenario "
        f"{world.definition.name!r}: it is part of {world.name(heir)} ({heir}), answered for here."
    )


def place(world: World, body: str) -> Place:
    """Body ``body`` on the scenario's map: its facts, neighbours and containers there, and the
    documented arrangements it is in there. A successor's are its councils' (and a split
    county's), carried over: each member's ``body_code`` is on the scenario's map (a county
    split between successors: one its co-members are not, :func:`_mapped`), ``today_code``
    today's; those that become internal are left out, and ``note`` says so."""
    code = code_of(world, body)
    facts = world.facts(code)
    near = world.neighbours(code, kind=str(facts["kind"]))
    inside = world.containers(code)
    records: dict[str, dict[str, Any]] = {}
    for source in world.sources(code) or [code]:
        for record in query(Filters(body=source), settings=world.settings):
            records.setdefault(record["id"], record)
    internal = {o.id for o in history.from_records(world, records.values()) if o.internal}
    kept = [
        _today(world, _mapped(world, r, code))
        for i, r in sorted(records.items())
        if i not in internal
    ]
    note = f"On the map of scenario {world.definition.name!r}"
    if facts["successor"]:
        formed = and_list(formed_names(facts["formed_from"]))
        note += f": a new unitary council formed from {formed}"
        # Counted as its page lists them: partnerships, not those between councils that were
        # one body already (Kettering and Wellingborough's, both North Northamptonshire).
        partnerships = partnerships_of(kept, code)[0]
        if partnerships:
            n = len(partnerships)
            note += f"; it inherits {n} documented arrangement"
            note += f"{'s' * (n != 1)} from them{not_running_said(partnerships)}"
        if internal:
            n = len(internal)
            note += f"; {n} between them {'becomes' if n == 1 else 'become'} internal (not "
            note += f"{'a partnership' if n == 1 else 'partnerships'})"  # (proposals never were)
    within = rows(world.contents(code))
    return Place(facts, rows(near), rows(inside), kept, note + ".", contents=within)


def _today(world: World, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with ``one_today``, the name of the one body its members all are today
    (Kettering and Wellingborough's, North Northamptonshire), where they are: what is said
    of it is the world's as it is, never the scenario's ("bodies that are all now
    Northamptonshire", of a unitary only proposed)."""
    today = [m.get("today_code") or m.get("body_code") for m in record["members"]]
    return record | {"one_today": world.name(str(today[0]))} if one_body(today) else record


def _mapped(world: World, record: dict[str, Any], focal: str) -> dict[str, Any]:
    """``record`` with its members on the scenario's map. A council replaced by one successor
    is it; a county split between successors is each of them in part, so it stands as one
    that is not the others already named (this body first when it is an heir, as it is in the
    arrangement through it): never all of them one body, unless the arrangement is internal
    (:attr:`history.Outcome.internal`, left out before). Kent's share of the Maidstone
    Gateway, seen from North Kent, is North Kent's, and Maidstone's West Kent's: two
    successors, not "all now North Kent"."""
    members = []
    for member in record["members"]:
        heirs = world.replaced.get(member["body_code"] or "", ())
        if heirs:
            member = member | {"body_code": heirs[0], "today_code": member["body_code"]}
        members.append(member)
    for i, member in enumerate(members):  # a split county: as one its co-members are not
        heirs = world.replaced.get(member.get("today_code") or "", ())
        if len(heirs) > 1:
            named = {str(m["body_code"]) for j, m in enumerate(members) if j != i}
            free = [h for h in heirs if h not in named]
            pick = focal if focal in free else (free or list(heirs))[0]
            members[i] = member | {"body_code": pick}
    return record | {"members": members}
