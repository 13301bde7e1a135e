"""The service taxonomy: the ids every part of the project uses for a kind of shared service.

Read from ``data/services.csv`` (``id, label, office, delivered_by, description``; ``office`` is
``back`` or ``front``; ``delivered_by`` lists the tiers that deliver the service,
``;``-separated). Loaded on first use and cached per data folder, never at import time.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, SourceError
from recommender.core.names import closest

OFFICES = ("back", "front")
_COLUMNS = ("id", "label", "office", "delivered_by", "description")


def load_services(settings: Settings) -> pd.DataFrame:
    """Return the taxonomy as a frame indexed by ``id`` (label, office, delivered_by, …)."""
    return _load(settings.data / "services.csv").copy()


def service_ids(settings: Settings) -> tuple[str, ...]:
    """Return the service ids in the order of ``data/services.csv``."""
    return _ids(settings.data)


def service_labels(settings: Settings) -> dict[str, str]:
    """Each service's label, case-folded, to its id (``"legal services": "legal"``): what a
    register from another tool may name a service by."""
    return dict(_labels(settings.data))


def check_service(value: str, settings: Settings) -> str:
    """Return ``value`` as a service id, or raise :class:`InvalidInput` naming the closest ids.
    A service's label is read as its id (``"Legal services"``: ``legal``), as a page's own
    select shows it and a person types it.

    >>> check_service("Legal services", Settings.from_env())
    'legal'
    """
    ids = service_ids(settings)
    cleaned = value.strip().lower()
    if cleaned in ids:
        return cleaned
    labelled = _labels(settings.data).get(value.strip().casefold())
    if labelled is not None:
        return labelled
    raise InvalidInput(
        f"unknown service {value!r}; expected one of: {', '.join(ids)}",
        field="service",
        suggestions=closest(value, ids, limit=3),
    )


@lru_cache(maxsize=8)
def _ids(data: Path) -> tuple[str, ...]:
    # Made once per data folder (the settings' own path, hashed once): a question naming a
    # service checks it against these, and iterating the frame's index for each question cost
    # more than the rest of the check.
    return tuple(str(i) for i in _load(data / "services.csv").index)


@lru_cache(maxsize=8)
def _labels(data: Path) -> dict[str, str]:  # made once per data folder, as _ids (not changed)
    frame = _load(data / "services.csv")
    return {str(label).casefold(): str(i) for i, label in frame["label"].items()}


@lru_cache(maxsize=8)
def _load(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SourceError(f"{path}: the service taxonomy is missing", field="services")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if row["office"] not in OFFICES:
            raise SourceError(
                f"{path}: row {number}, column 'office', value {row['office']!r}: "
                f"expected one of {', '.join(OFFICES)}"
            )
    frame = pd.DataFrame(rows, columns=list(_COLUMNS)).set_index("id")
    if frame.index.duplicated().any():
        dupes = sorted(set(frame.index[frame.index.duplicated()]))
        raise SourceError(f"{path}: duplicate service id(s) {', '.join(dupes)}")
    return frame
