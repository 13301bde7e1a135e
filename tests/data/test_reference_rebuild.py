"""Rebuilding ``data/reference/`` from ``../shared/data`` reproduces the committed bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.core.config import Settings
from recommender.reference.build import build_reference
from recommender.reference.inputs import SOURCE_FILES

SETTINGS = Settings()


@pytest.mark.xdist_group("reference_rebuild")
def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    missing = [n for n in SOURCE_FILES if not (SETTINGS.sources / n).is_file()]
    if missing:
        pytest.skip(f"sources not found under {SETTINGS.sources}: {', '.join(missing)}")
    committed = SETTINGS.reference_dir
    rebuilt = tmp_path / "reference"
    build_reference(SETTINGS.sources, rebuilt)
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in rebuilt.iterdir())
    for name in names:
        assert (rebuilt / name).read_bytes() == (committed / name).read_bytes(), name
