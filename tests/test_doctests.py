"""The examples in the package's docstrings are run, so what they show is what the code does."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import recommender

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(recommender.__path__, "recommender.")
    if ".migrations" not in info.name  # alembic's scripts run only inside alembic
)


def _with_examples() -> list[str]:
    finder = doctest.DocTestFinder()
    return [
        name
        for name in MODULES
        if any(t.examples for t in finder.find(importlib.import_module(name)))
    ]


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_the_examples_are_found() -> None:
    """The finder reaches the modules whose docstrings hold examples (and_list's, years_said's)."""
    found = _with_examples()
    assert {"recommender.core.names", "recommender.register.records"} <= set(found)
