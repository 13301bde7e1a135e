"""Building the default register (``recommender.simulation.default_register``) from small frames."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.errors import ImportRejected
from recommender.core.services import service_ids
from recommender.register.files import Directory, current_year, read_source, validate
from recommender.register.records import export, import_file, load_register
from recommender.simulation.default_register import build_default, default_size, simulated_rows
from recommender.simulation.process import DEFAULT_SIZE
from register_fixtures import simulated_frames


def test_build_writes_real_and_valid_simulated_sorted(
    register_settings: Settings, directory: Directory
) -> None:
    report = build_default(register_settings, directory=directory, simulated=simulated_frames())
    assert (report.real, report.simulated, report.seed, report.size) == (7, 1, None, None)
    assert report.dropped == [
        f"S-0003: end_year '{current_year() + 2}': impossible year; expected 1900 to "
        f"{current_year()}",
        "S-0005: partners 'E99999999': no public body has this name",
        "S-0004 repeats S-0002",
    ]
    folder = register_settings.register_dir
    arrangements = pd.read_csv(folder / "arrangements.csv")
    members = pd.read_csv(folder / "members.csv")
    assert list(arrangements["id"]) == sorted(arrangements["id"])
    assert arrangements["id"].str.match(r"^(R-[0-9a-f]{8}|S-0002)$").all()
    good = members[members["arrangement_id"] == "S-0002"]
    assert good[["position", "body_code", "role"]].values.tolist() == [
        [1, "E07000064", "lead"],
        [2, "E07000065", "partner"],
    ]


def test_build_is_byte_deterministic(register_settings: Settings, directory: Directory) -> None:
    folder = register_settings.register_dir
    build_default(register_settings, directory=directory, simulated=simulated_frames())
    first = [(folder / n).read_bytes() for n in ("arrangements.csv", "members.csv")]
    build_default(register_settings, directory=directory, simulated=simulated_frames())
    assert [(folder / n).read_bytes() for n in ("arrangements.csv", "members.csv")] == first


def test_the_built_default_loads_and_round_trips(
    register_settings: Settings, directory: Directory
) -> None:
    build_default(register_settings, directory=directory, simulated=simulated_frames())
    arrangements, members = load_register(register_settings)
    assert (len(arrangements), int(arrangements["simulated"].sum()), len(members)) == (8, 1, 24)
    out = register_settings.root / "all.csv"
    export("csv", out, settings=register_settings, directory=directory)
    assert import_file(out, settings=register_settings, directory=directory).added == 0


def test_a_bad_known_file_stops_the_build(
    register_settings: Settings, directory: Directory
) -> None:
    known = register_settings.sources / "register" / "known_arrangements.csv"
    known.write_text(known.read_text().replace(",procurement,", ",procurment,"))
    before = (register_settings.register_dir / "arrangements.csv").read_bytes()
    with pytest.raises(ImportRejected, match="procurment"):
        build_default(register_settings, directory=directory, simulated=simulated_frames())
    assert (register_settings.register_dir / "arrangements.csv").read_bytes() == before


def test_simulated_rows_are_the_project_layout() -> None:
    rows = simulated_rows(*simulated_frames())
    assert [r.row for r in rows] == [10_001, 10_002, 10_003, 10_004]
    assert rows[2].values["partners"] == "E07000065; E07000064"  # in position order
    assert rows[2].values["partner_roles"] == "lead; partner"
    assert (rows[0].values["end_year"], rows[0].values["simulated"]) == ("", "true")


def test_default_size_counts_the_real_arrangements_started_by_2019(
    register_settings: Settings, directory: Directory
) -> None:
    known = register_settings.sources / "register" / "known_arrangements.csv"
    candidates, _ = validate(read_source(known)[1], directory, service_ids(register_settings))
    # Started by 2019: 2004, 2007, 2008, 2011, 2013; two have no start year.
    assert default_size(candidates)[0] == DEFAULT_SIZE - 5
    later = [replace(c, start_year=2021) if c.start_year == 2013 else c for c in candidates]
    size, rule = default_size(later)
    assert size == DEFAULT_SIZE - 4
    assert rule == (
        "626, the LGA's June 2019 count, minus 4 real arrangement(s) started by 2019, those "
        "only proposed (which never ran) not counted"
    )
    # One only proposed never ran: it was no arrangement on the LGA's map.
    named = [replace(c, name=f"{c.name} (proposal)") if c.start_year == 2011 else c
             for c in candidates]  # fmt: skip
    recorded = [replace(c, status="proposed") if c.start_year == 2011 else c for c in candidates]
    assert default_size(named)[0] == default_size(recorded)[0] == DEFAULT_SIZE - 4
