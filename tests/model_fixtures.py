"""Trained models shared by a test session, saved into temporary ``models/`` folders and promoted.

``trained_settings``: a model trained on the small SYNTHETIC world of :mod:`world_fixtures`
(a cut of the real reference and register in a temporary ``data/``; a couple of seconds), which
most tests share. ``real_trained_settings``: a model trained on the committed default register
(over a minute a worker), only for the tests marked ``@pytest.mark.slow`` that check the real
register or the real model. Training skips the held-out evaluation (covered by
tests/test_evaluation.py); each register lives in a temporary SQLite database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from recommender.core.config import Settings
from recommender.model import artifacts
from recommender.model.fit import Context
from recommender.model.workflow import train_and_save
from world_fixtures import write_small_world

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender


@contextmanager
def trained_before(model: Recommender, code: str, service: str) -> Iterator[None]:
    """``model`` as if trained when the kind of body ``code`` is did not count as delivering
    ``service`` (an older taxonomy): it cannot answer for the two until the block ends."""
    ctx = model.model.context
    f, s = ctx.pairs.index[code], ctx.services.index(service)
    assert ctx.bodies.eligible[s, f]  # today's taxonomy counts it
    ctx.bodies.eligible[s, f] = False
    try:
        yield
    finally:
        ctx.bodies.eligible[s, f] = True


def real_context(
    arrangements: pd.DataFrame | None = None, members: pd.DataFrame | None = None
) -> Context:
    """The model's context over the real reference and the committed default register (or
    the ``arrangements`` and ``members`` given), with the fire governance."""
    from recommender.core.services import load_services
    from recommender.reference import lookup as reference
    from recommender.register import records as register

    real = Settings.from_env()
    if arrangements is None or members is None:
        arrangements, members = register.read_default_register(real)
    return Context.build(
        pd.DataFrame(reference.load_bodies(real).drop(columns="geometry")),
        reference.load_adjacency(real),
        load_services(real),
        arrangements,
        members,
        reference.governed_pairs(real),
    )


def train_into(settings: Settings) -> str:
    """Train on the settings' register (the default one, loaded on first use); save; promote."""
    version, _ = train_and_save(settings, evaluate=False)
    artifacts.promote(version, settings)
    return version


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over the small synthetic world whose models folder holds one promoted model."""
    root = tmp_path_factory.mktemp("trained")
    real = Settings.from_env()
    settings = real.with_(
        data_dir=write_small_world(real, root),
        models_dir=root / "models",
        database_url=f"sqlite:///{root / 'register.sqlite'}",
    )
    train_into(settings)
    return settings


@pytest.fixture(scope="session")
def real_trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose models folder holds one promoted model trained on the default register.

    For ``@pytest.mark.slow`` tests only: it takes over a minute to train.
    """
    root = tmp_path_factory.mktemp("real-trained")
    settings = Settings.from_env().with_(
        models_dir=root / "models", database_url=f"sqlite:///{root / 'register.sqlite'}"
    )
    train_into(settings)
    return settings


@pytest.fixture(scope="session")
def real_recommender_model(real_trained_settings: Settings):  # type: ignore[no-untyped-def]
    """The promoted model of :func:`real_trained_settings`, loaded (slow tests only)."""
    from recommender.recommend.ranking import Recommender

    return Recommender.load(real_trained_settings)


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
