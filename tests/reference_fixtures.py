"""A tiny reference folder built in code, so unit tests never read the real ``data/``.

Five councils on a 10 km grid (two districts in a county, a city unitary, an island), one fire
area, one police area, one ICB, and an abolished council split between the two districts::

    +--------------------+
    |  Gamma (E06000001) |        Delta (E06000002), an island far away
    +---------+----------+
    |  Alpha  |   Beta   |        Alpha + Beta = Shire county (E10000001)
    +---------+----------+        all but Delta: fire, police, ICB

The fire area is governed by the police, fire and crime commissioner of the police area
(``fire_governance.csv``); tests may write another governance table over it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from recommender.core.config import Settings
from recommender.core.names import normalise
from recommender.geo import geography
from recommender.reference.build import BODY_COLUMNS, BODY_FORMATS
from recommender.reference.governance import GOVERNANCE_COLUMNS
from recommender.reference.write import fixed, write_csv, write_geojson

BOXES = {
    "E07000001": (0, 0, 10_000, 10_000),
    "E07000002": (10_000, 0, 20_000, 10_000),
    "E06000001": (0, 10_000, 20_000, 20_000),
    "E06000002": (50_000, 50_000, 52_000, 52_000),
}
BODIES = [
    # code, name, display, kind, tier, county, population
    ("E06000001", "Gamma, City of", "Gamma", "council", "unitary", "", 300),
    ("E06000002", "Delta", "Delta", "council", "unitary", "", 50),
    ("E07000001", "Alpha", "Alpha", "council", "district", "E10000001", 100),
    ("E07000002", "Beta", "Beta", "council", "district", "E10000001", 200),
    ("E10000001", "Shire", "Shire", "council", "county", "", 300),
    ("E23000001", "Shire", "Shire police force area", "police", "police", "", 600),
    ("E31000001", "Shire & Gamma", "Shire and Gamma Fire and Rescue Authority", "fire", "fire",
     "", 600),
    ("E54000001", "NHS Shire Integrated Care Board", "NHS Shire Integrated Care Board", "health",
     "health", "", 600),
]  # fmt: skip
MEMBERS = {
    "E10000001": ["E07000001", "E07000002"],
    "E31000001": ["E07000001", "E07000002", "E06000001"],
    "E23000001": ["E07000001", "E07000002", "E06000001"],
    "E54000001": ["E07000001", "E07000002", "E06000001"],
}
ALIASES = [
    # alias, code, alias_type, former_code, note
    ("Gamma City Council", "E06000001", "variant", "", ""),
    ("Shire Constabulary", "E23000001", "variant", "", ""),
    ("Shire Fire and Rescue Service", "E31000001", "variant", "", ""),
    ("Gamma", "E31000001", "variant", "", ""),
    ("Omega District Council", "E07000001", "former", "E07000099", "Omega was abolished"),
    ("Omega District Council", "E07000002", "former", "E07000099", "Omega was abolished"),
    ("Old Alpha", "E07000001", "former", "E07000098", "Old Alpha was renamed"),
    ("Shire Health Authority", "E54000001", "nhs_predecessor", "", "NHS body in the area"),
]
# fire_code, governance, governed_by_code, governed_by_name, police_code, since_year, source_url
GOVERNANCE = [
    ("E31000001", "pfcc", "E23000001", "Police, Fire and Crime Commissioner for Shire",
     "E23000001", "2019", "https://example.org/shire-pfcc"),
]  # fmt: skip
# The same fire area run by the county instead (as Gloucestershire's is), for the other case.
COUNTY_RUN = [
    ("E31000001", "county_council", "E10000001", "Shire County Council", "", "",
     "https://example.org/shire-fire"),
]  # fmt: skip


def write_tiny_reference(folder: Path, governance: list[tuple[str, ...]] | None = None) -> None:
    """Write bodies, boundaries, adjacency, aliases and fire governance for the tiny world.

    ``governance`` rows replace :data:`GOVERNANCE` (the columns of ``fire_governance.csv``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    geoms = {code: shapely.box(*box) for code, box in BOXES.items()}
    for body, members in MEMBERS.items():
        geoms[body] = shapely.union_all([geoms[m] for m in members], grid_size=1.0)
    rows = []
    for code, name, display, kind, tier, county, population in BODIES:
        geom = geoms[code]
        point = geom.centroid
        rows.append(
            {
                "code": code, "name": name, "display_name": display, "kind": kind, "tier": tier,
                "region_code": "E12000009", "region": "South West", "county_code": county,
                "fire_code": "E31000001" if code in MEMBERS["E31000001"] else "",
                "police_code": "E23000001" if code in MEMBERS["E23000001"] else "",
                "icb_code": "E54000001" if code in MEMBERS["E54000001"] else "",
                "cauth_code": "", "population": population, "area_km2": geom.area / 1e6,
                "density": population / (geom.area / 1e6), "imd_score": 20.0, "imd_decile": 5,
                "rural_urban": "Predominantly Rural", "x": point.x, "y": point.y,
                "lat": 50.0, "lon": -3.0,
            }
        )  # fmt: skip
    bodies = pd.DataFrame(rows)[BODY_COLUMNS]
    codes = bodies["code"]
    shapes = np.asarray([geoms[c] for c in codes], dtype=object)
    adjacency = geography.adjacency(codes, shapes, _relations())
    aliases = pd.DataFrame(
        [(a, normalise(a), c, t, f, n) for a, c, t, f, n in _official(bodies) + ALIASES],
        columns=["alias", "key", "code", "alias_type", "former_code", "note"],
    ).sort_values(["key", "code"])
    write_csv(folder / "bodies.csv", bodies, BODY_FORMATS)
    write_geojson(folder / "boundaries.geojson", bodies[["code", "name", "kind"]], shapes)
    write_csv(folder / "adjacency.csv", adjacency, {"border_km": fixed(3)})
    write_csv(folder / "aliases.csv", aliases, {})
    rows = GOVERNANCE if governance is None else governance
    write_csv(folder / "fire_governance.csv", pd.DataFrame(rows, columns=GOVERNANCE_COLUMNS), {})


def _official(bodies: pd.DataFrame) -> list[tuple[str, str, str, str, str]]:
    rows = [(n, c, "official", "", "") for c, n in zip(bodies["code"], bodies["name"], strict=True)]
    rows += [
        (n, c, "display", "", "")
        for c, n in zip(bodies["code"], bodies["display_name"], strict=True)
    ]
    return rows


def _relations() -> pd.DataFrame:
    rows = []
    for body, members in MEMBERS.items():
        for member in members:
            rows += [(member, body, "within"), (body, member, "contains")]
    for big in ("E31000001", "E23000001", "E54000001"):
        rows += [("E10000001", big, "within"), (big, "E10000001", "contains")]
    # Fire, police and ICB cover the same councils: the lower kind sits within the higher.
    rows += [
        ("E31000001", "E23000001", "within"), ("E23000001", "E31000001", "contains"),
        ("E31000001", "E54000001", "within"), ("E54000001", "E31000001", "contains"),
        ("E23000001", "E54000001", "within"), ("E54000001", "E23000001", "contains"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["code_a", "code_b", "relation"])


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``data/`` folder whose ``reference/`` holds the tiny world and whose default register
    holds one real and one simulated arrangement in it."""
    data = tmp_path_factory.mktemp("tiny") / "data"
    write_tiny_reference(data / "reference")
    write_tiny_register(data / "register")
    return data


# One real arrangement (Alpha and Beta) and one simulated (Gamma and Beta), as the default
# register stores them: a body's facts must list the first and never the second.
TINY_ARRANGEMENTS = (
    "id,name,service,start_year,end_year,status,savings_gbp,savings_basis,"
    "savings_period_years,annual_savings_gbp,savings_aim,source,note,simulated,fingerprint\n"
    "R-00000001,Alpha and Beta shared legal service,legal,2012,,active,50000,annual,,50000,"
    "true,https://alpha.example/legal,,false,r1\n"
    "S-00000002,Gamma and Beta simulated ICT,ict,2014,,active,,unknown,,,true,"
    "simulated (test),Simulated arrangement for model training; not a real partnership.,true,s1\n"
)
TINY_MEMBERS = (
    "arrangement_id,position,body_code,name_as_given,role,resolution,external_kind\n"
    "R-00000001,1,E07000001,Alpha,lead,exact,\n"
    "R-00000001,2,E07000002,Beta,partner,exact,\n"
    "S-00000002,1,E06000001,Gamma,lead,simulated,\n"
    "S-00000002,2,E07000002,Beta,partner,simulated,\n"
)


def write_tiny_register(folder: Path) -> None:
    """Write the tiny world's default register (see :data:`TINY_ARRANGEMENTS`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arrangements.csv").write_text(TINY_ARRANGEMENTS, encoding="utf-8")
    (folder / "members.csv").write_text(TINY_MEMBERS, encoding="utf-8")


@pytest.fixture
def tiny_settings(tiny_data: Path, tmp_path: Path) -> Settings:
    """Settings whose reference folder is the tiny world, with a database of its own."""
    return Settings(
        root=tmp_path, data_dir=tiny_data, database_url=f"sqlite:///{tmp_path / 'tiny.sqlite'}"
    )
