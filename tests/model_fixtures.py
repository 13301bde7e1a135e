"""A real model, trained once per test session on the committed default register.

Training skips the held-out evaluation (covered by tests/test_evaluation.py) so that the
fixture takes seconds; the model is saved into a temporary ``models/`` folder and promoted,
with the register in a temporary SQLite database.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.core.services import load_services
from recommender.model import artifacts
from recommender.model.workflow import train
from recommender.reference import lookup as reference
from recommender.register import records as register


def train_into(settings: Settings) -> str:
    """Train on the settings' register (the default one, loaded on first use); save; promote."""
    arrangements, members = register.load_register(settings)
    model, meta = train(
        pd.DataFrame(reference.load_bodies(settings).drop(columns="geometry")),
        reference.load_adjacency(settings),
        load_services(settings),
        arrangements,
        members,
        governed=reference.governed_pairs(settings),
        evaluation=False,
    )
    meta["versions"] = artifacts.library_versions()
    version = artifacts.save(model, meta, settings)
    artifacts.promote(version, settings)
    return version


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose models folder holds one promoted model trained on the default register."""
    root = tmp_path_factory.mktemp("trained")
    settings = Settings.from_env().with_(
        models_dir=root / "models", database_url=f"sqlite:///{root / 'register.sqlite'}"
    )
    train_into(settings)
    return settings


@pytest.fixture(scope="session")
def recommender_model(trained_settings: Settings):  # type: ignore[no-untyped-def]
    """The promoted model of :func:`trained_settings`, loaded."""
    from recommender.recommend.ranking import Recommender

    return Recommender.load(trained_settings)


def copy_models(source: Settings, target: Path) -> Settings:
    """A copy of ``source``'s models folder under ``target`` (to damage it safely)."""
    import shutil

    shutil.copytree(source.models, target / "models")
    return source.with_(models_dir=target / "models")


# A class renamed (here: one that never existed) without a format bump: the pickle passes the
# checksum, then fails to unpickle with AttributeError (protocol 0: GLOBAL, empty tuple, REDUCE).
RENAMED_CLASS_PICKLE = b"crecommender.training\nRenamedModel\n(tR."
MISSING_MODULE_PICKLE = b"crecommender.renamed_module\nTrainedModel\n(tR."


def with_artifact(models: Path, version: str, payload: bytes, number: int = 7) -> str:
    """Copy ``version`` (one without a ``-N`` suffix) to ``<version>-<number>`` with ``payload``
    as its artifact and a checksum that matches, so every check made before unpickling passes;
    return the new version."""
    import hashlib
    import json
    import shutil

    other = f"{version}-{number}"
    shutil.copytree(models / version, models / other)
    (models / other / artifacts.ARTIFACT).write_bytes(payload)
    meta_path = models / other / artifacts.METADATA
    meta = json.loads(meta_path.read_text())
    meta |= {
        "version": other,
        "artifact_sha256": hashlib.sha256(payload).hexdigest(),
        "artifact_bytes": len(payload),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return other
