"""The module names from before the packages by layer still import, as the same modules, and
a model saved under them (a pickle names each class by its old module) still unpickles."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys

import pytest

from recommender import _legacy
from recommender.model.fit import TrainedModel
from recommender.recommend import feedback
from recommender.webapp import state


@pytest.mark.parametrize("old", sorted(_legacy.MOVED))
def test_each_old_name_is_the_module_it_moved_to(old: str) -> None:
    new = f"recommender.{_legacy.MOVED[old]}"
    assert importlib.import_module(f"recommender.{old}") is importlib.import_module(new)
    assert importlib.import_module(new).__spec__.name == new  # type: ignore[union-attr]


def test_a_module_inside_an_old_package_name_is_not_a_second_copy() -> None:
    assert importlib.import_module("recommender.service.state") is state
    assert importlib.import_module("recommender.feedback").missing_arrangements is (
        feedback.missing_arrangements
    )


def test_a_class_pickled_under_its_old_module_unpickles() -> None:
    assert pickle.loads(b"crecommender.training\nTrainedModel\n.") is TrainedModel


def test_old_names_work_in_a_fresh_interpreter() -> None:
    code = "import recommender.training as t, recommender.model.fit as f; print(t is f)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_names_that_are_packages_now_are_not_aliased() -> None:
    assert "register" not in _legacy.MOVED and "reference" not in _legacy.MOVED
    assert _legacy.new_name("recommender.register") is None
    assert _legacy.new_name("recommender.service.api") == "recommender.webapp.api"
