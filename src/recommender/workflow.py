"""Train on the register and save the model, the one workflow the CLI, the bench and tests use.

:func:`train_and_save` reads the inputs (the reference, the services and the register: the
database's, or a file validated like an import), trains, saves through :func:`artifacts.save`
(which records the library versions and the git commit) and, when asked, promotes the new
version after a first query on it (:func:`serving.check`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recommender.config import Settings
from recommender.training import Stage, TrainedModel


def training_inputs(settings: Settings, register_file: Path | None = None) -> dict[str, Any]:
    """Return the keyword arguments of :func:`recommender.training.train` for ``settings``:
    the bodies, adjacency, services, governed pairs and the register (or ``register_file``)."""
    import pandas as pd

    from recommender import reference, register
    from recommender.services import load_services

    bodies = pd.DataFrame(reference.load_bodies(settings).drop(columns="geometry"))
    if register_file is not None:
        arrangements, members = register.read_register_file(register_file, settings)
    else:
        arrangements, members = register.load_register(settings)
    return {
        "bodies": bodies,
        "adjacency": reference.load_adjacency(settings),
        "services": load_services(settings),
        "arrangements": arrangements,
        "members": members,
        "governed": reference.governed_pairs(settings),
    }


def train_and_save(
    settings: Settings,
    *,
    register_file: Path | None = None,
    promote: bool = False,
    evaluate: bool = True,
    seed: int = 0,
    stage: Stage | None = None,
    progress: Stage | None = None,
) -> tuple[str, dict[str, Any]]:
    """Train a model on the settings' register, save it and optionally promote it.

    Parameters
    ----------
    settings : Settings
        Where the reference, the register (database) and the models folder are.
    register_file : Path, optional
        Train on this register file (CSV or JSON) instead of the database's register.
    promote : bool
        Promote the saved version, once a first query on it has worked.
    evaluate : bool
        Run the held-out evaluation first (minutes on the real register).
    seed : int
        The random state of the training.
    stage, progress : callable, optional
        Called with each stage's name as it starts (the last one is ``"save"``) and with finer
        detail inside the evaluation.

    Returns
    -------
    version, metadata : str, dict
        The saved version and its metadata (as written beside the artifact, less the checksum).
    """
    from recommender import artifacts, serving
    from recommender.training import train

    artifacts.check_writable(settings)  # a read-only or full models/ fails now, not after training
    inputs = training_inputs(settings, register_file)
    model: TrainedModel
    model, meta = train(
        **inputs, random_state=seed, evaluation=evaluate, stage=stage, progress=progress
    )
    if stage is not None:
        stage("save")
    meta["register"]["source"] = str(register_file) if register_file else settings.db_url
    version = artifacts.save(model, meta, settings)
    if promote:
        artifacts.promote(version, settings, check=serving.check(settings))
    return version, meta
