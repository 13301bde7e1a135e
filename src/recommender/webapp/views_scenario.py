"""What the API and the pages need of scenarios: the stored ones, their maps, the promoted model
answering on them (cached per scenario and model version), and the page's creation form.

The form works without JavaScript: up to :data:`SLOTS` successors, each with a name; every
lower-tier council has a select choosing its successor (none by default), grouped by county
(with a select giving a whole county's districts to one successor at once; a district's own
choice wins) and, for unitary, metropolitan and London borough councils, by region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from werkzeug.datastructures import MultiDict

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, ScenarioProblem
from recommender.reference import lookup as reference
from recommender.render import maps
from recommender.render.charts import PALETTE
from recommender.scenario import define, store
from recommender.scenario.define import Definition, Draft, DraftSuccessor
from recommender.scenario.recommend import ScenarioCache, ScenarioRecommender
from recommender.scenario.world import World, derive
from recommender.webapp.state import state

SLOTS = 5  # successors the form offers (more: the command line or a file)
COLOURS = PALETTE[:SLOTS]  # each successor's colour on the form's map (as on the scenario's)
CACHE_SIZE = 4


def definition(name: str) -> Definition:
    """The stored scenario ``name`` (:class:`UnknownScenario`, 404, when there is none)."""
    return store.load(state().engine, name)


def world(name: str) -> World:
    """The map after stored scenario ``name``."""
    return derive(definition(name), state().settings)


def model(name: str) -> ScenarioRecommender:
    """The promoted model answering on scenario ``name``'s map (503 without a model)."""
    current = state()
    base = current.models.require()
    found = definition(name)
    cache = current.extras.setdefault("scenarios", ScenarioCache(CACHE_SIZE))
    recommender: ScenarioRecommender = cache.get(base, found)
    return recommender


# The creation form ------------------------------------------------------------------------------


@dataclass
class Form:
    """The creation form's values and what is wrong with them (field -> message)."""

    values: MultiDict[str, str] = field(default_factory=MultiDict)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[ScenarioProblem] = field(default_factory=list)

    def choice(self, code: str) -> str:
        return self.values.get(f"c-{code}", "")


def groups(settings: Settings) -> list[dict[str, Any]]:
    """The lower-tier councils grouped for the form: each county with its districts, then
    the other councils by region; names sorted."""
    bodies = reference.load_bodies(settings)
    lower = bodies[bodies["tier"].isin(define.LOWER_TIERS)].sort_values("display_name")
    out: list[dict[str, Any]] = []
    counties = bodies[bodies["tier"] == "county"].sort_values("display_name")
    for code, row in counties.iterrows():
        districts = lower[lower["county_code"] == code]
        out.append(
            {
                "code": str(code),
                "title": f"{row['display_name']} (county council) and its districts",
                "county": str(code),
                "county_name": str(row["display_name"]),
                "councils": _councils(districts),
            }
        )
    others = lower[lower["county_code"] == ""]
    for region, part in others.groupby("region", sort=True):
        out.append(
            {
                "code": f"region-{part['region_code'].iloc[0]}",
                "title": f"Unitary, metropolitan and London borough councils: {region}",
                "county": None,
                "county_name": None,
                "councils": _councils(part),
            }
        )
    return out


def open_groups(groups: list[dict[str, Any]], form: Form) -> set[str]:
    """The groups of the form shown open: those with a choice made (or a problem)."""
    out = set()
    for g in groups:
        county = f"county-{g['county']}"
        chosen = any(form.choice(c["code"]) for c in g["councils"])
        if chosen or (g["county"] and (form.values.get(county) or county in form.errors)):
            out.add(str(g["code"]))
    return out


def councils_map(settings: Settings) -> str:
    """England's lower-tier councils, for choosing them with a click (the form's map)."""
    folder = settings.reference_dir.resolve()
    stamp = tuple((folder / n).stat().st_mtime_ns for n in reference.FILES if (folder / n).exists())
    return _councils_map(settings, stamp)


@lru_cache(maxsize=2)
def _councils_map(settings: Settings, stamp: tuple[int, ...]) -> str:
    del stamp  # part of the cache key only
    return maps.render_map(
        layer="councils",
        title="Map of England's councils: click one to put it in the chosen new unitary",
        legend=False,
        width=640,
        settings=settings,
    )


def _councils(frame: Any) -> list[dict[str, str]]:
    return [
        {"code": str(c), "name": str(r["display_name"]), "tier": str(r["tier"])}
        for c, r in frame.iterrows()
    ]


def draft_from_form(form: Mapping[str, str], settings: Settings) -> tuple[Draft, list[int]]:
    """The draft the form asks for, and which form slot each of its successors came from."""
    bodies = reference.load_bodies(settings)
    chosen: dict[int, list[str]] = {}
    own = {
        key[2:]: _slot(key, value)
        for key, value in form.items()
        if key.startswith("c-") and value.strip()
    }
    for key, value in form.items():
        if key.startswith("county-") and value.strip():
            county, slot = key[len("county-") :], _slot(key, value)
            districts = bodies.index[bodies["county_code"] == county]
            for code in districts:
                own.setdefault(str(code), slot)
    for code, slot in own.items():
        chosen.setdefault(slot, []).append(code)
    slots = [
        i for i in range(1, SLOTS + 1) if chosen.get(i) or form.get(f"successor-{i}", "").strip()
    ]
    successors = tuple(
        DraftSuccessor(form.get(f"successor-{i}", "").strip() or None, tuple(chosen.get(i, [])))
        for i in slots
    )
    name = form.get("name", "").strip()
    return Draft(name, successors, form.get("description", "").strip()), slots


def _slot(key: str, value: str) -> int:
    """The new unitary a council's (or county's) select chose: its number, which the form's
    own options give; anything else is refused naming the field (never silently dropped)."""
    text = value.strip()
    if not (text.isdigit() and 1 <= int(text) <= SLOTS):
        raise InvalidInput(
            f"the choice {key}={value[:20]!r} is not the number of a new unitary (1 to {SLOTS})",
            field=key,
        )
    return int(text)


def form_errors(problems: list[ScenarioProblem], slots: list[int]) -> dict[str, str]:
    """Each problem under the form field it is about (the first problem per field)."""
    out: dict[str, str] = {}
    for p in problems:
        where = p.field
        if where.startswith("successors[") and "]" in where:
            index = int(where[len("successors[") : where.index("]")])
            slot = slots[index - 1] if index <= len(slots) else index
            where = f"successor-{slot}" if where.endswith(".name") else f"councils-{slot}"
        elif where == "successors" and p.value.startswith("E10"):
            where = f"county-{p.value}"
        elif where not in ("name", "description"):
            where = "councils"
        out.setdefault(where, p.plain())
    return out
