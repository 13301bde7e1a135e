"""Scenarios in the database: create (checked first, all or nothing), read, list, delete.

Two tables (:data:`recommender.database.db.scenarios`,
:data:`recommender.database.db.scenario_councils`; revision
0003): a scenario's name, description and time, and one row per council it reorganises with
the successor it goes to. Only the definition is stored: facts, geometry, adjacency and what
happens to arrangements are derived from the reference data when read
(:mod:`recommender.scenario.world`), so nothing here can drift from it. The reference data and
the models are never written.

The name is unique in the table: two people creating the same name at once do not both succeed
(:func:`recommender.database.db.insert_new` lets the database decide), and the one who loses is
told the
name is taken, as a person choosing a taken name is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from recommender.core.config import Settings
from recommender.core.errors import ScenarioProblem, ScenarioRejected, UnknownScenario
from recommender.core.names import closest
from recommender.database import db
from recommender.scenario.define import Definition, Draft, Successor, check, check_name

# Scenarios are small, but the pages let anyone make them: a bound keeps the table small.
MAX_SCENARIOS = 500


@dataclass(frozen=True)
class Summary:
    """A stored scenario in a list."""

    name: str
    description: str
    created_at: datetime
    successors: int
    councils: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "successors": self.successors,
            "councils": self.councils,
        }


def taken(engine: Engine, name: str) -> bool:
    """Whether a scenario is called ``name``."""
    table = db.scenarios
    with engine.connect() as conn:
        return conn.scalar(sa.select(table.c.id).where(table.c.name == name)) is not None


def create(engine: Engine, draft: Draft, settings: Settings) -> Definition:
    """Check ``draft`` and store it; return its :class:`Definition`.

    Raises :class:`ScenarioRejected` listing every problem (the name taken among them) and
    stores nothing then.
    """
    problems: list[ScenarioProblem] = []
    try:
        definition = check(draft, settings)
    except ScenarioRejected as err:
        problems = err.problems
    if taken(engine, draft.name):
        problems.insert(0, _name_taken(draft.name))
    if problems:
        raise ScenarioRejected(draft.name, problems)
    with engine.connect() as conn:
        count = db.count(conn, db.scenarios)
    if count >= MAX_SCENARIOS:
        raise ScenarioRejected(
            draft.name,
            [
                ScenarioProblem(
                    "name",
                    draft.name,
                    f"there are {count} scenarios already, the "
                    f"most this database keeps ({MAX_SCENARIOS}): delete some first",
                )
            ],
        )
    db.write_retrying(engine, lambda conn: _insert(conn, definition), "the scenario")
    return definition


def _name_taken(name: str) -> ScenarioProblem:
    return ScenarioProblem(
        "name", name, "a scenario has this name already: choose another (or delete that one)"
    )


def _insert(conn: sa.Connection, definition: Definition) -> None:
    row = {
        "name": definition.name,
        "description": definition.description,
        "created_at": datetime.now(UTC),
    }
    if not db.insert_new(conn, db.scenarios, [row], key="name"):
        raise ScenarioRejected(definition.name, [_name_taken(definition.name)])
    ident = conn.scalar(sa.select(db.scenarios.c.id).where(db.scenarios.c.name == definition.name))
    rows = [
        {
            "scenario_id": ident,
            "council_code": council,
            "successor_code": successor.code,
            "successor_name": successor.name,
            "position": position,
        }
        for successor in definition.successors
        for position, council in enumerate(successor.councils, 1)
    ]
    conn.execute(sa.insert(db.scenario_councils), rows)


def load(engine: Engine, name: str) -> Definition:
    """Return the stored scenario ``name``, or raise :class:`UnknownScenario` with the closest
    names."""
    table, councils = db.scenarios, db.scenario_councils
    with engine.connect() as conn:
        # Not a name a scenario can have (a NUL, a lone surrogate …): none is called so, and
        # the database is not asked.
        wanted = sa.select(table).where(table.c.name == name)
        row = conn.execute(wanted).mappings().first() if not check_name(name) else None
        if row is None:
            names = list(conn.scalars(sa.select(table.c.name).order_by(table.c.name)))
            raise UnknownScenario(
                f"no scenario is called {name[:80]!r}" + ("" if names else "; none is stored yet"),
                field="scenario",
                suggestions=closest(name, names, limit=3),
            )
        stmt = (
            sa.select(councils)
            .where(councils.c.scenario_id == row["id"])
            .order_by(councils.c.successor_code, councils.c.position)
        )
        members = conn.execute(stmt).mappings().all()
    grouped: dict[str, tuple[str, list[str]]] = {}
    for m in members:
        grouped.setdefault(m["successor_code"], (m["successor_name"], []))[1].append(
            m["council_code"]
        )
    successors = tuple(
        Successor(code, label, tuple(codes)) for code, (label, codes) in grouped.items()
    )
    return Definition(str(row["name"]), successors, str(row["description"]))


def summaries(engine: Engine) -> list[Summary]:
    """Every stored scenario, by name."""
    table, councils = db.scenarios, db.scenario_councils
    stmt = (
        sa.select(
            table.c.name,
            table.c.description,
            table.c.created_at,
            sa.func.count(sa.distinct(councils.c.successor_code)).label("successors"),
            sa.func.count(councils.c.council_code).label("councils"),
        )
        .select_from(table.outerjoin(councils, councils.c.scenario_id == table.c.id))
        .group_by(table.c.id, table.c.name, table.c.description, table.c.created_at)
        .order_by(table.c.name)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        Summary(
            r["name"], r["description"], _aware(r["created_at"]), r["successors"], r["councils"]
        )
        for r in rows
    ]


def delete(engine: Engine, name: str) -> None:
    """Delete scenario ``name`` (its councils go with it), or raise :class:`UnknownScenario`."""
    load(engine, name)  # the error names the closest scenarios

    def work(conn: sa.Connection) -> int:
        ident = sa.select(db.scenarios.c.id).where(db.scenarios.c.name == name)
        # Explicitly, not only by the foreign key's cascade (SQLite needs it switched on).
        conn.execute(
            sa.delete(db.scenario_councils).where(db.scenario_councils.c.scenario_id.in_(ident))
        )
        return conn.execute(sa.delete(db.scenarios).where(db.scenarios.c.name == name)).rowcount

    if not db.write_retrying(engine, work, "the deletion"):
        raise UnknownScenario(f"no scenario is called {name!r}", field="scenario")


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes: they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
