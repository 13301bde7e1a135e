"""The reference build fails clearly on broken sources and leaves the existing output alone.

These tests copy the real sources (``../shared/data``) with one file broken; they skip when
the sources are not there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.core.config import Settings
from recommender.core.errors import CheckFailed, SourceError
from recommender.reference.build import build_reference
from recommender.reference.inputs import (
    CAUTH_BOUNDARIES,
    FIRE_GOVERNANCE,
    LTLA_CAUTH,
    LTLA_FRA,
    LTLA_UTLA,
    MYSOC_IMD,
    POPULATION,
    SOURCE_FILES,
)

SOURCES = Settings().sources


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A writable copy of the source folder (links for the files no test breaks)."""
    if not all((SOURCES / name).is_file() for name in SOURCE_FILES):
        pytest.skip(f"reference sources not found under {SOURCES}")
    copy = tmp_path / "sources"
    for name in SOURCE_FILES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).symlink_to(SOURCES / name)
    return copy


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """An existing reference folder that a failed build must leave as it was."""
    folder = tmp_path / "data" / "reference"
    folder.mkdir(parents=True)
    (folder / "bodies.csv").write_text("previous build\n")
    return folder


def _rewrite(sources: Path, name: str, change: Callable[[str], str]) -> None:
    path = sources / name
    text = path.read_text(encoding="utf-8-sig")
    path.unlink()
    path.write_text(change(text), encoding="utf-8")


def _untouched(target: Path) -> None:
    assert (target / "bodies.csv").read_text() == "previous build\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["reference"]  # no temp left


def test_missing_file_is_named(sources: Path, target: Path) -> None:
    (sources / MYSOC_IMD).unlink()
    with pytest.raises(SourceError, match=r"mysoc_la_imd\.csv: source file is missing"):
        build_reference(sources, target)
    _untouched(target)


def test_missing_column_is_named(sources: Path, target: Path) -> None:
    _rewrite(sources, LTLA_FRA, lambda t: t.replace("fra24_code", "fra_code", 1))
    with pytest.raises(
        SourceError, match=r"lookup_ltla24_fra24\.csv: missing column\(s\) 'fra24_code'"
    ):
        build_reference(sources, target)
    _untouched(target)


def test_unparsable_value_is_named(sources: Path, target: Path) -> None:
    _rewrite(sources, POPULATION, lambda t: t.replace(",57106398", ",57106398x", 1))
    with pytest.raises(SourceError, match=r"ons_mye_mid2022_uk\.csv: row 5, column 'Population'"):
        build_reference(sources, target)
    _untouched(target)


def test_failed_check_is_named(sources: Path, target: Path) -> None:
    # Put the first district in a second county: "every district in exactly one county".
    def duplicate(text: str) -> str:
        lines = text.splitlines()
        first = next(line for line in lines if ",E10" in line)
        return "\n".join([*lines, first]) + "\n"

    _rewrite(sources, LTLA_UTLA, duplicate)
    with pytest.raises(CheckFailed, match="exactly one county"):
        build_reference(sources, target)
    _untouched(target)


def test_cli_reports_the_broken_file(sources: Path, target: Path) -> None:
    (sources / LTLA_FRA).unlink()
    result = CliRunner().invoke(
        cli,
        ["data", "build-reference", "--source", str(sources)],
        env={"RECOMMENDER_DATA_DIR": str(target.parent)},
    )
    assert result.exit_code == 1
    assert "lookup_ltla24_fra24.csv: source file is missing" in result.output
    _untouched(target)


def test_a_membership_change_nothing_explains_fails(sources: Path, target: Path) -> None:
    # Bolton in West Yorkshire in 2023: the 2024 boundaries put it in Greater Manchester, and
    # no replaced or new authority explains the move.
    moved = "E08000001,West Yorkshire,E47000003"
    _rewrite(
        sources, LTLA_CAUTH, lambda t: t.replace("E08000001,Greater Manchester,E47000001", moved)
    )
    with pytest.raises(CheckFailed, match="council E08000001 is in combined authority E47000001"):
        build_reference(sources, target)
    _untouched(target)


def test_a_missing_combined_authority_polygon_is_named(sources: Path, target: Path) -> None:
    (sources / CAUTH_BOUNDARIES).unlink()
    with pytest.raises(SourceError, match=r"cauth_2024_en_buc\.geojson: source file is missing"):
        build_reference(sources, target)
    _untouched(target)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # A mayor row must name the police force area the mayor also governs.
        (
            "North Yorkshire police force area E23000009",
            "North Yorkshire police force area",
            "a mayor row must name the mayor",
        ),
        # The council running a fire service must be the council of the fire area.
        (
            "E31000008,Cornwall,county_council,E06000052,Cornwall Council",
            "E31000008,Cornwall,county_council,E06000052,Devon County Council",
            "'Devon County Council' is not a name of E06000052",
        ),
        (
            "E31000015,Essex,pfcc,E23000028",
            "E31000015,Essex,pfcc,E23000099",
            "'E23000099' is not a police body",
        ),
        (
            "E31000001,Avon,combined_fire_authority",
            "E31000001,Avon,joint_board",
            "'joint_board'; expected one of",
        ),
    ],
)
def test_fire_governance_is_checked(
    sources: Path, target: Path, old: str, new: str, message: str
) -> None:
    _rewrite(sources, FIRE_GOVERNANCE, lambda t: t.replace(old, new, 1))
    with pytest.raises((CheckFailed, SourceError), match=message):
        build_reference(sources, target)
    _untouched(target)
