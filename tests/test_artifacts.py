"""The model registry: save, list, promote, roll back, and refuse damaged or foreign models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_fixtures import copy_models
from recommender import artifacts
from recommender.config import Settings
from recommender.errors import (
    ChecksumMismatch,
    ModelError,
    NoPromotedModel,
    UnknownModel,
    VersionMismatch,
)


@pytest.fixture
def models(trained_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the trained models folder (so tests may damage it)."""
    return copy_models(trained_settings, tmp_path)


def only_version(settings: Settings) -> str:
    (version,) = artifacts.versions(settings)
    return version


def test_a_saved_model_has_its_metadata_and_checksum(models: Settings) -> None:
    version = only_version(models)
    meta = artifacts.metadata(version, models)
    for key in ("created_at", "register", "parameters", "features", "evaluation", "versions"):
        assert key in meta
    assert meta["artifact_sha256"] == artifacts.sha256(models.models / version / "model.joblib")
    assert meta["register"]["arrangements"] > 600
    loaded = artifacts.load_promoted(models)
    assert loaded.version == version


def test_list_marks_the_promoted_model(models: Settings) -> None:
    (info,) = artifacts.list_models(models)
    assert info.promoted and info.version == only_version(models)


def test_a_changed_artifact_is_refused_before_loading(models: Settings) -> None:
    version = only_version(models)
    with (models.models / version / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ChecksumMismatch, match="checksum"):
        artifacts.load(version, models)
    with pytest.raises(ChecksumMismatch):
        artifacts.promote(version, models)


def test_a_model_from_other_library_versions_is_refused(models: Settings) -> None:
    version = only_version(models)
    path = models.models / version / "metadata.json"
    meta = json.loads(path.read_text())
    meta["versions"]["scikit-learn"] = "0.0.1"
    path.write_text(json.dumps(meta))
    with pytest.raises(VersionMismatch, match=r"scikit-learn 0\.0\.1"):
        artifacts.load(version, models)


def test_a_model_in_another_format_is_refused(models: Settings) -> None:
    version = only_version(models)
    path = models.models / version / "metadata.json"
    meta = json.loads(path.read_text())
    meta["format"] = artifacts.MODEL_FORMAT - 1
    path.write_text(json.dumps(meta))
    with pytest.raises(VersionMismatch, match="format"):
        artifacts.load(version, models)


def test_unknown_versions_and_paths_outside_the_registry_are_refused(models: Settings) -> None:
    with pytest.raises(UnknownModel):
        artifacts.load("20990101-000000", models)
    with pytest.raises(UnknownModel):
        artifacts.load("../../etc/passwd", models)


def test_promote_and_roll_back(models: Settings, tmp_path: Path) -> None:
    first = only_version(models)
    # A second version: a copy of the first under a later name.
    second = "29991231-235959"
    (models.models / second).mkdir()
    for name in ("model.joblib", "metadata.json"):
        (models.models / second / name).write_bytes((models.models / first / name).read_bytes())
    assert artifacts.promote(second, models) == first
    assert artifacts.promoted_version(models) == second
    assert [i.version for i in artifacts.list_models(models)] == [second, first]
    assert artifacts.rollback(models) == first
    assert artifacts.promoted_version(models) == first
    with pytest.raises(ModelError, match="nothing to roll back"):
        artifacts.rollback(models)


def test_no_promoted_model_says_how_to_get_one(tmp_path: Path) -> None:
    settings = Settings.from_env().with_(models_dir=tmp_path / "models")
    with pytest.raises(NoPromotedModel, match="recommender train --promote"):
        artifacts.load_promoted(settings)
