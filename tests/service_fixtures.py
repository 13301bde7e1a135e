"""Fixtures for the web service tests: apps over a trained model and a real SQLite file.

``service_models`` copies the session's trained model (``model_fixtures.trained_settings``) and
adds a second version of it, so that promotion and reload tests can swap between two real
models. Each ``app`` gets its own database in ``tmp_path`` (the default register is loaded
into it on start) and its own copy of the models folder, so tests may promote or damage it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.core.config import Settings
from recommender.model import artifacts
from recommender.webapp import create_app

TOKEN = "correct horse battery staple"
AppFactory = Callable[..., Flask]


def second_version(models: Path, version: str) -> str:
    """Copy ``version`` to a new version folder (same artifact, so the checksum holds)."""
    other = f"{version}-2"
    shutil.copytree(models / version, models / other)
    meta_path = models / other / artifacts.METADATA
    meta = json.loads(meta_path.read_text())
    meta["version"] = other
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return other


@pytest.fixture(scope="session")
def service_models(trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with two versions of the trained model, the first promoted."""
    folder = tmp_path_factory.mktemp("service-models") / "models"
    shutil.copytree(trained_settings.models, folder)
    promoted = artifacts.promoted_version(trained_settings)
    assert promoted is not None
    second_version(folder, promoted)
    return folder


def build_app(root: Path, trained: Settings, models: Path | None, **config: Any) -> Flask:
    """Create an app over a copy of ``models`` (None: no model) with its database in ``root``.

    The feedback rate limit is off (apps are shared by a module's tests, all from one
    address); the tests of the limit turn it on.
    """
    folder = root / f"models-{len(list(root.glob('models-*')))}"
    if models is not None:
        shutil.copytree(models, folder)
    else:
        folder.mkdir(parents=True)
    settings = {
        "TESTING": True,
        "HOME": str(trained.root),
        "DATA_DIR": str(trained.data),
        "MODELS_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{root / 'service.sqlite'}",
        "MODEL_CHECK_SECONDS": 3600,
        "FEEDBACK_PER_MINUTE": 0,
        "PREPARE_SUGGESTIONS": False,  # a second or two an app; tests that need it turn it on
    }
    return create_app(settings | config)


@pytest.fixture
def make_app(
    trained_settings: Settings, service_models: Path, tmp_path: Path
) -> Iterator[AppFactory]:
    """Return a function creating a fresh app (``models=False``: with no model)."""
    made: list[Flask] = []

    def make(*, models: bool = True, **config: Any) -> Flask:
        made.append(
            build_app(tmp_path, trained_settings, service_models if models else None, **config)
        )
        return made[-1]

    yield make
    for app in made:  # close the database connections the app keeps in its pool
        app.extensions["recommender"].engine.dispose()


@pytest.fixture(scope="module")
def app(
    trained_settings: Settings, service_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    """An app serving the trained model, admin routes on (token :data:`TOKEN`), shared by the
    tests of one module: tests that change it (promote, import) use :func:`make_app`."""
    root = tmp_path_factory.mktemp("service-app")
    return build_app(root, trained_settings, service_models, ADMIN_TOKEN=TOKEN)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def bare_app(trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app with no promoted model and admin routes off."""
    return build_app(tmp_path_factory.mktemp("service-bare"), trained_settings, None)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def large_app(
    trained_settings: Settings, service_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    """An app whose register holds 3,000 synthetic arrangements (flagged real) besides the
    default ones: the register grown, for the tests of paging."""
    from recommender.bench.register import add_synthetic

    app = build_app(tmp_path_factory.mktemp("large-register"), trained_settings, service_models)
    current = app.extensions["recommender"]
    add_synthetic(current.engine, 3000, current.settings)
    return app


@pytest.fixture(scope="module")
def real_app(real_trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app over the real ``data/`` and a model trained on the default register, for the
    ``@pytest.mark.slow`` tests of real bodies (abolished councils, combined authorities …)."""
    root = tmp_path_factory.mktemp("real-app")
    return build_app(root, real_trained_settings, real_trained_settings.models, ADMIN_TOKEN=TOKEN)


@pytest.fixture
def real_client(real_app: Flask) -> FlaskClient:
    return real_app.test_client()
