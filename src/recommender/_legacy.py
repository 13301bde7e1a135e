"""The module names from before the packages by layer, still importable: old scripts and the
models saved before the move (a pickle names each class by its module) keep working.

``import recommender.training`` gives :mod:`recommender.model.fit`, ``recommender.feedback``
:mod:`recommender.recommend.feedback`, and so on (:data:`MOVED`). The finder sits last on
``sys.meta_path`` first, so that a submodule of an old package name (``recommender.service.state``)
is the module it moved to too, not a second copy; none of the old names is a module now
(``recommender.register`` and ``recommender.reference`` are packages: not aliased). An old name
gives the very module object it moved to.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

PACKAGE = "recommender"
# old top-level module -> where it lives now
MOVED = {
    "errors": "core.errors", "config": "core.config", "atomic": "core.atomic",
    "names": "core.names", "services": "core.services", "sources": "core.sources",
    "db": "database.db", "migrate": "database.migrate", "migrations": "database.migrations",
    "audit": "database.audit",
    "geography": "geo.geography", "pairs": "geo.pairs",
    "reference_aliases": "reference.aliases", "reference_bodies": "reference.bodies",
    "reference_build": "reference.build", "reference_cauth": "reference.cauth",
    "reference_governance": "reference.governance", "reference_rules": "reference.rules",
    "reference_sources": "reference.inputs", "reference_write": "reference.write",
    "curated": "reference.curated",
    "register_io": "register.files", "register_store": "register.writes",
    "patterns": "model.patterns", "choice": "model.choice", "network": "model.network",
    "features": "model.features", "estimators": "model.estimators",
    "baselines": "model.baselines", "training": "model.fit", "scoring": "model.scoring",
    "evaluation": "model.evaluation", "explain": "model.explain",
    "artifacts": "model.artifacts", "engines": "model.engines",
    "simulate": "simulation.process", "simulate_coefficients": "simulation.coefficients",
    "simulate_world": "simulation.world", "patterns_compare": "simulation.patterns_compare",
    "calibration": "simulation.calibration", "calibration_metrics": "simulation.metrics",
    "register_build": "simulation.default_register",
    "query": "recommend.query", "ranking": "recommend.ranking", "compare": "recommend.compare",
    "serving": "recommend.serving", "feedback": "recommend.feedback",
    "charts": "render.charts", "maps": "render.maps", "partner_map": "render.partner_map",
    "briefing": "render.briefing", "downloads": "render.downloads",
    "service": "webapp",
}  # fmt: skip


def new_name(name: str) -> str | None:
    """``recommender.OLD[.rest]`` -> ``recommender.NEW[.rest]``; None for any other name."""
    prefix = PACKAGE + "."
    if not name.startswith(prefix):
        return None
    head, dot, rest = name[len(prefix) :].partition(".")
    if head not in MOVED:
        return None
    return prefix + MOVED[head] + dot + rest


class _OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name and loads it as the module it moved to (the same object)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if new_name(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(str(new_name(spec.name)))
        self._spec = module.__spec__  # the import system sets __spec__: put it back below
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _OldNames) for f in sys.meta_path):
        sys.meta_path.insert(0, _OldNames())
