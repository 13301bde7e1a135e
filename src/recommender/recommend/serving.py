"""Open a saved model for serving: load it, build the recommender, ask it one question.

A model can pass every check :mod:`recommender.model.artifacts` makes (checksum, format, library
versions) and still fail when used: a class renamed or an attribute dropped without a format
bump shows up only when the unpickled objects are touched. :func:`open_version` and
:func:`open_promoted` therefore build the :class:`~recommender.recommend.ranking.Recommender` and
run
:func:`first_use` on it, and turn any failure into
:class:`~recommender.core.errors.ModelLoadFailed`,
so the service (start-up, reload, promote, the periodic check) and the CLI (``models promote``,
``models rollback``) refuse such a model in one place, with a reason, instead of a traceback.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from recommender.core.config import Settings
from recommender.core.errors import ModelLoadFailed
from recommender.model import artifacts

if TYPE_CHECKING:
    from recommender.recommend.ranking import Recommender


def first_use(loaded: artifacts.LoadedModel, settings: Settings) -> Recommender:
    """Build the recommender for ``loaded`` and answer one query with it (raises on failure)."""
    from recommender.recommend.ranking import Query, Recommender

    def build() -> Recommender:
        recommender = Recommender(loaded.model, loaded.version, loaded.metadata, settings)
        recommender.describe()
        codes = loaded.model.context.pairs.codes
        found = recommender.recommend(Query(body=str(codes[0]), k=1))
        if loaded.model.components.savings is None or any(
            not math.isfinite(r.savings_gbp) for r in found
        ):
            raise ModelLoadFailed(
                f"model {loaded.version} has no savings model (its register had too few "
                "savings figures to learn from), so it would answer without estimates; retrain "
                "on the whole register with `recommender train --promote`"
            )
        return recommender

    found: Recommender = artifacts.guarded(loaded.version, build)
    return found


def check(settings: Settings) -> artifacts.Check:
    """Return the check :func:`artifacts.promote` and :func:`artifacts.rollback` run first."""
    return lambda loaded: first_use(loaded, settings)


def ready(loaded: artifacts.LoadedModel, settings: Settings) -> Recommender:
    """The recommender of a loaded model, checked by :func:`first_use`, following the register
    as it is now (:meth:`~recommender.recommend.ranking.Recommender.follow`): what serves."""
    found = first_use(loaded, settings)
    found.follow_register()
    return found


def open_version(version: str, settings: Settings) -> Recommender:
    """Load ``version`` and return its recommender, :func:`ready` to serve."""
    return ready(artifacts.load(version, settings), settings)


def open_promoted(settings: Settings) -> Recommender:
    """Load the promoted model and return its recommender, :func:`ready` to serve."""
    return ready(artifacts.load_promoted(settings), settings)
