"""The documentation says what the code does: the files it points to exist, the rules it states
are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recommender.register.files import FIRST_YEAR

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "data/README.md", "data/register/README.md", "models/README.md"]


@pytest.mark.parametrize("doc", DOCS)
def test_every_source_file_a_document_names_exists(doc: str) -> None:
    """data/register/README.md sent readers to src/recommender/simulate.py and four more
    modules that had moved."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    named = set(re.findall(r"src/recommender/[\w/]+(?:\.\w+)?", text))
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"{doc} names files that do not exist: {missing}"


def test_the_register_readme_states_the_years_imports_accept() -> None:
    text = (ROOT / "data/register/README.md").read_text(encoding="utf-8")
    assert f"a year before {FIRST_YEAR} or after the current year" in text
