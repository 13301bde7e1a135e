"""A small synthetic world for the shared trained model: a cut of the real reference and register.

SYNTHETIC TEST DATA, built in a temporary folder and never written into ``data/``. The world is
the South East corner of England and Suffolk: the counties in :data:`COUNTIES` with their
districts, the unitaries sharing their fire or police areas (Brighton and Hove, Medway …) and
the fire, police and NHS bodies over them (about 80 bodies instead of the 600 of the real
reference). Its register holds the real arrangements of the shipped register whose members all
lie in the world, and a SIMULATED register of :data:`SIMULATED_SIZE` arrangements drawn over
the world with the seed ``simulate.DEFAULT_SEED`` (so that the savings model has enough to
fit). A model trains on it in a few seconds, against over a minute on the whole register;
tests that check the real register or the real model carry ``@pytest.mark.slow`` and use
``model_fixtures.real_trained_settings`` (or ``service_fixtures.real_client``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from recommender.core.config import Settings

SIMULATED_SIZE = 160

# East Sussex (Rother, Hastings, Wealden …), West Sussex, Kent, Surrey and Hampshire (the
# scenario tests), Suffolk (the most real savings figures: with them the world holds the ten the
# savings model needs).
COUNTIES = ("E10000011", "E10000032", "E10000016", "E10000030", "E10000014", "E10000029")


def world_codes(bodies: pd.DataFrame, counties: tuple[str, ...] = COUNTIES) -> set[str]:
    """The codes of the world: the counties, their councils, the unitaries in their fire or
    police areas, and every fire, police and health body over those councils."""
    councils = bodies[bodies["county_code"].isin(counties) | bodies["code"].isin(counties)]
    areas = set(councils["fire_code"].dropna()) | set(councils["police_code"].dropna())
    unitaries = bodies[
        (bodies["tier"] == "unitary")
        & (bodies["fire_code"].isin(areas) | bodies["police_code"].isin(areas))
    ]
    councils = pd.concat([councils, unitaries])
    over = set()
    for column in ("fire_code", "police_code", "icb_code"):
        over |= set(councils[column].dropna().astype(str))
    return (set(councils["code"]) | over) - {""}


def write_small_world(source: Settings, target: Path) -> Path:
    """Write the small world's ``data/`` folder (reference, services, register) under ``target``."""
    data = target / "data"
    (data / "reference").mkdir(parents=True)
    (data / "register").mkdir()
    real = source.data
    keep = {"dtype": str, "keep_default_na": False}
    bodies = pd.read_csv(real / "reference" / "bodies.csv", **keep)  # type: ignore[call-overload]
    codes = world_codes(bodies.replace("", None))

    def cut(name: str, *columns: str) -> None:
        table = pd.read_csv(real / "reference" / name, **keep)  # type: ignore[call-overload]
        inside = pd.Series(True, index=table.index)
        for column in columns:
            inside &= table[column].isin(codes)
        table[inside].to_csv(data / "reference" / name, index=False, lineterminator="\n")

    cut("bodies.csv", "code")
    cut("adjacency.csv", "code_a", "code_b")
    cut("aliases.csv", "code")
    cut("fire_governance.csv", "fire_code")
    shapes = json.loads((real / "reference" / "boundaries.geojson").read_text())
    shapes["features"] = [f for f in shapes["features"] if f["properties"]["code"] in codes]
    (data / "reference" / "boundaries.geojson").write_text(json.dumps(shapes))
    for name in ("services.csv", "calibration.json"):
        shutil.copy(real / name, data / name)

    arrangements = pd.read_csv(real / "register" / "arrangements.csv", **keep)  # type: ignore[call-overload]
    members = pd.read_csv(real / "register" / "members.csv", **keep)  # type: ignore[call-overload]
    arrangements = arrangements[arrangements["simulated"] == "false"]
    outside = members[(members["body_code"] != "") & ~members["body_code"].isin(codes)]
    arrangements = arrangements[~arrangements["id"].isin(outside["arrangement_id"])]
    members = members[members["arrangement_id"].isin(arrangements["id"])]
    _write_register(source, target, data, arrangements, members)
    return data


def _write_register(
    source: Settings, target: Path, data: Path, real: pd.DataFrame, real_members: pd.DataFrame
) -> None:
    """Simulate over the world (seeded, complementing its real arrangements), write the
    simulated register as ``register build-default`` would, then add the real rows to it."""
    from recommender.simulation import default_register as register_build
    from recommender.simulation import process as simulate

    sources = target / "sources" / "register"
    sources.mkdir(parents=True)
    (sources / "known_arrangements.csv").write_text(
        (source.sources / "register" / "known_arrangements.csv").read_text().splitlines()[0] + "\n"
    )
    world = source.with_(data_dir=data, source_dir=target / "sources")
    frames = (real, real_members.assign(body_code=real_members["body_code"].replace("", None)))
    simulated = register_build._simulate(world, simulate.DEFAULT_SEED, SIMULATED_SIZE, frames)
    register_build.build_default(world, simulated=simulated)
    keep = {"dtype": str, "keep_default_na": False}
    for name, rows, order in (
        ("arrangements.csv", real, ["id"]),
        ("members.csv", real_members, ["arrangement_id", "position"]),
    ):
        path = data / "register" / name
        table = pd.concat([pd.read_csv(path, **keep), rows])  # type: ignore[call-overload]
        table = table.sort_values(order, key=lambda c: c.astype(int) if c.name == "position" else c)
        table.to_csv(path, index=False, lineterminator="\n")
