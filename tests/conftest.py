"""Shared fixtures. Each area keeps its own in a ``tests/<area>_fixtures.py`` imported here."""

import os
import shutil
import tempfile
from pathlib import Path

# The suite never reads or writes the developer's own register (var/recommender.sqlite, or a
# database RECOMMENDER_DATABASE_URL names): each test process has a SQLite file of its own,
# filled with the default register on first use as a fresh checkout's would be. Set before any
# test module reads Settings.from_env(); the servers and commands tests start inherit it, and
# the folder goes when the process ends (pytest_unconfigure, below).
os.environ["RECOMMENDER_DATABASE_URL"] = (
    f"sqlite:///{tempfile.mkdtemp(prefix='recommender-tests-')}/register.sqlite"
)

# Tests run two at a time (pytest -n 2) on two cores: one OpenMP thread each, so gradient
# boosting does not spin against itself. Set before scikit-learn is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from browser_fixtures import (  # noqa: F401
    browser,
    evaluated_models,
    live_server,
    page,
    real_evaluated_models,
)
from db_fixtures import database_engine, database_url, new_database, postgres_server  # noqa: F401
from model_fixtures import (  # noqa: F401
    real_recommender_model,
    real_trained_settings,
    recommender_model,
    trained_settings,
)
from reference_fixtures import tiny_data, tiny_settings  # noqa: F401
from register_fixtures import directory, register_settings  # noqa: F401
from service_fixtures import (  # noqa: F401
    app,
    bare_app,
    client,
    large_app,
    make_app,
    real_app,
    real_client,
    service_models,
)


def pytest_unconfigure() -> None:
    folder = Path(os.environ["RECOMMENDER_DATABASE_URL"].removeprefix("sqlite:///")).parent
    if folder.name.startswith("recommender-tests-"):  # this process's own, made above
        shutil.rmtree(folder, ignore_errors=True)
