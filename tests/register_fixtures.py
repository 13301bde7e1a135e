"""Fixtures for the register tests: a tiny directory of bodies and a register in ``tmp_path``.

The directory stands in for ``recommender.reference.lookup`` (a dozen bodies, a few abolished
councils) so that the unit tests run without the built reference data; the database is a real
SQLite file or a real PostgreSQL database (``db_fixtures.database_url``: each test runs on
both).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.errors import UnknownBody
from recommender.core.names import closest, normalise
from recommender.reference.lookup import Resolution
from recommender.register.files import Directory, current_year

FIXTURES = Path(__file__).parent / "fixtures"

# code, display name, region code, region, lon, lat
BODIES = [
    ("E06000060", "Buckinghamshire", "E12000008", "South East", -0.81, 51.78),
    ("E06000061", "North Northamptonshire", "E12000004", "East Midlands", -0.65, 52.40),
    ("E06000062", "West Northamptonshire", "E12000004", "East Midlands", -1.05, 52.20),
    ("E06000066", "Somerset", "E12000009", "South West", -3.00, 51.10),
    ("E07000061", "Eastbourne", "E12000008", "South East", 0.26, 50.78),
    ("E07000062", "Hastings", "E12000008", "South East", 0.57, 50.87),
    ("E07000063", "Lewes", "E12000008", "South East", 0.01, 50.87),
    ("E07000064", "Rother", "E12000008", "South East", 0.57, 50.95),
    ("E07000065", "Wealden", "E12000008", "South East", 0.23, 50.95),
    ("E07000244", "East Suffolk", "E12000006", "East of England", 1.45, 52.25),
    ("E07000245", "West Suffolk", "E12000006", "East of England", 0.60, 52.30),
    ("E10000011", "East Sussex", "E12000008", "South East", 0.30, 50.92),
    ("E10000008", "Devon", "E12000009", "South West", -3.80, 50.75),
    ("E31000010", "Devon and Somerset Fire and Rescue", "E12000009", "South West", -3.4, 50.9),
]
# abolished council -> (former code, successor codes)
FORMER = {
    "Aylesbury Vale": ("E07000004", ("E06000060",)),
    "Chiltern": ("E07000005", ("E06000060",)),
    "South Bucks": ("E07000006", ("E06000060",)),
    "Wycombe": ("E07000007", ("E06000060",)),
    "Taunton Deane": ("E07000190", ("E06000066",)),
    "Waveney": ("E07000206", ("E07000244",)),
    "Suffolk Coastal": ("E07000205", ("E07000244",)),
    "Forest Heath": ("E07000201", ("E07000245",)),
    "St Edmundsbury": ("E07000204", ("E07000245",)),
    "Northamptonshire": ("E10000021", ("E06000061", "E06000062")),
}
KINDS = {"E31000010": "fire"}
# variants of a current body's name (alias_type "variant")
VARIANTS = {"Devon Fire": "E31000010", "Somerset Fire": "E31000010", "Rother DC": "E07000064"}


def fake_resolve(query: str, kind: str | None = None) -> Resolution:
    """Resolve like ``reference.resolve``: current names, then abolished councils."""
    key = normalise(query)
    for code, name, *_ in BODIES:
        if normalise(name) == key and kind in (None, KINDS.get(code, "council")):
            alias_type = "official" if name == query else "variant"
            return Resolution(query, (code,), name, alias_type, None, "", 100.0)
    for name, code in VARIANTS.items():
        if normalise(name) == key:
            return Resolution(query, (code,), name, "variant", None, "", 100.0)
    for name, (former, successors) in FORMER.items():
        if normalise(name) == key and kind in (None, "council"):
            return Resolution(
                query, successors, name, "former", former, f"{name} was abolished", 100.0
            )
    every = [b[1] for b in BODIES] + list(FORMER)
    raise UnknownBody(f"no body called {query!r}", suggestions=closest(query, every, limit=3))


@pytest.fixture
def directory() -> Directory:
    return Directory(
        resolve=fake_resolve,
        names={b[0]: b[1] for b in BODIES},
        lonlat={b[0]: (b[4], b[5]) for b in BODIES},
        regions={b[0]: (b[2], b[3]) for b in BODIES},
    )


@pytest.fixture
def register_settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings whose data and sources live in ``tmp_path``, over an empty database (SQLite in
    ``tmp_path``, or PostgreSQL)."""
    data = tmp_path / "data"
    (data / "register").mkdir(parents=True)
    shutil.copy(FIXTURES / "services.csv", data / "services.csv")
    for name in ("arrangements.csv", "members.csv"):
        shutil.copy(FIXTURES / "default_register" / name, data / "register" / name)
    sources = tmp_path / "sources"
    (sources / "register").mkdir(parents=True)
    shutil.copy(FIXTURES / "known_small.csv", sources / "register" / "known_arrangements.csv")
    return Settings(
        root=tmp_path,
        data_dir=data,
        source_dir=sources,
        database_url=database_url,
    )


def simulated_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four simulated arrangements as the simulator writes them: one good, three not."""
    common = {"service": "legal", "status": "active", "savings_basis": "annual"}
    common |= {"savings_period_years": None, "annual_savings_gbp": None, "savings_aim": True}
    common |= {"source": "simulated", "note": "", "simulated": True}
    arrangements = pd.DataFrame(
        [
            {"id": "S-0002", "name": "Good", "start_year": 2010, "end_year": None,
             "savings_gbp": 1000.0} | common,
            {"id": "S-0003", "name": "Ends later", "start_year": 2018,
             "end_year": current_year() + 2, "savings_gbp": 5.0} | common,
            {"id": "S-0004", "name": "Same as S-0002", "start_year": 2010, "end_year": None,
             "savings_gbp": 7.0} | common,
            {"id": "S-0005", "name": "Nowhere", "start_year": 2011, "end_year": None,
             "savings_gbp": 0.0} | common,
        ]
    ).astype({"end_year": "Int64"})  # fmt: skip
    members = pd.DataFrame(
        [
            ("S-0002", 0, "E07000064", "Rother", "lead"),
            ("S-0002", 1, "E07000065", "Wealden", "partner"),
            ("S-0003", 0, "E07000063", "Lewes", "lead"),
            ("S-0003", 1, "E07000065", "Wealden", "partner"),
            ("S-0004", 1, "E07000064", "Rother", "partner"),
            ("S-0004", 0, "E07000065", "Wealden", "lead"),
            ("S-0005", 0, "E07000064", "Rother", "lead"),
            ("S-0005", 1, "E99999999", "Atlantis", "partner"),
        ],
        columns=["arrangement_id", "position", "body_code", "name_as_given", "role"],
    ).assign(resolution="simulated")
    return arrangements, members
