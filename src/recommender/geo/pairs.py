"""Dense body-by-body matrices: the geography every pair of bodies shares.

With ~450 bodies a full matrix is ~200k cells, so every pairwise quantity the simulator and
the feature builder need (distance, shared border, same county/area) is held densely and
indexed by position. Distances come from centroids in British National Grid metres
(EPSG:27700), reported in km.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.core import kinds

FloatMatrix = npt.NDArray[np.float64]
BoolMatrix = npt.NDArray[np.bool_]

SINGLE_TIER = kinds.SINGLE_TIER
UNGOVERNED, RUNS, SAME_GOVERNOR = 0, 1, 2


@dataclass(frozen=True)
class GovernorNote:
    """Who governs both bodies of a pair, for the reasons ("both under the Police, Fire and
    Crime Commissioner for Essex since 2017") and the page's source link."""

    governance: str  # county_council, pfcc or mayor
    name: str
    since_year: int | None
    source_url: str


AREA_COLUMNS = ("county_code", "fire_code", "police_code", "icb_code", "cauth_code", "region_code")


@dataclass(frozen=True)
class PairMatrices:
    """Pairwise geography of a fixed, ordered set of bodies.

    Attributes
    ----------
    codes : ndarray of str
        Body codes; row/column ``i`` of every matrix is ``codes[i]``.
    dist_km : ndarray of shape (n, n)
        Centroid distance in km (EPSG:27700).
    touches : ndarray of shape (n, n)
        The two areas share a border.
    border_km : ndarray of shape (n, n)
        Length of the shared border in km (0 where they do not touch).
    nested : ndarray of shape (n, n)
        One area lies within the other or they overlap (district and county, council and
        its fire, police or NHS area).
    same : dict of str to ndarray
        For each area column (county, fire, police, ICB, combined authority, region): both
        bodies belong to the same area. A body that *is* the area counts as belonging to it.
    """

    codes: npt.NDArray[np.str_]
    dist_km: FloatMatrix
    touches: BoolMatrix
    border_km: FloatMatrix
    nested: BoolMatrix
    same: dict[str, BoolMatrix]
    # Fire governance (reference.governed_pairs): RUNS between a fire authority and the body
    # that runs it (one body, never partners): the county council that is the fire authority,
    # the combined authority or the GLA of the mayor who governs it, or the police force area of
    # the police, fire and crime commissioner who does; SAME_GOVERNOR between other bodies one
    # mayor governs (the police force area with the fire authority or the combined authority).
    governed: npt.NDArray[np.int8] | None = None
    governors: dict[tuple[int, int], GovernorNote] = field(default_factory=dict)

    def governance(self) -> npt.NDArray[np.int8]:
        """The governance matrix (all :data:`UNGOVERNED` when none was given)."""
        if self.governed is None:
            return np.zeros((self.n, self.n), dtype=np.int8)
        return self.governed

    def one_body(self) -> tuple[tuple[int, int], ...]:
        """The pairs ``(i, j)``, ``i < j``, that are one body: a fire authority and the body
        that runs it (:data:`RUNS`)."""
        i, j = np.nonzero(np.triu(self.governance() == RUNS))
        return tuple(zip(i.tolist(), j.tolist(), strict=True))

    @cached_property
    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes.tolist())}

    def positions(self, codes: Iterable[str]) -> npt.NDArray[np.intp]:
        """Return matrix positions for an iterable of codes (KeyError on an unknown code)."""
        lookup = self.index
        return np.fromiter((lookup[c] for c in codes), dtype=np.intp)

    @property
    def n(self) -> int:
        return len(self.codes)


def build_pair_matrices(
    bodies: pd.DataFrame, adjacency: pd.DataFrame, governed: Mapping[tuple[str, str], Any] = {}
) -> PairMatrices:
    """Build :class:`PairMatrices` for ``bodies`` (indexed by code) from the adjacency table.

    ``governed`` is :func:`recommender.reference.lookup.governed_pairs` (pairs of codes to their
    ``Governor``); without it no pair is governed.
    """
    codes = bodies.index.to_numpy(dtype=str)
    n = len(codes)
    index = pd.Index(codes)
    x = bodies["x"].to_numpy(dtype=float)
    y = bodies["y"].to_numpy(dtype=float)
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) / 1000.0

    a = index.get_indexer(adjacency["code_a"])
    b = index.get_indexer(adjacency["code_b"])
    keep = (a >= 0) & (b >= 0)
    a, b = a[keep], b[keep]
    relation = adjacency["relation"].to_numpy()[keep]
    border = adjacency["border_km"].to_numpy(dtype=float)[keep]

    touches = np.zeros((n, n), dtype=bool)
    border_km = np.zeros((n, n))
    is_touch = relation == "touches"
    touches[a[is_touch], b[is_touch]] = True
    border_km[a[is_touch], b[is_touch]] = border[is_touch]
    nested = np.zeros((n, n), dtype=bool)
    nested[a[~is_touch], b[~is_touch]] = True
    # Both directions, whatever the table holds.
    touches |= touches.T
    border_km = np.maximum(border_km, border_km.T)
    nested |= nested.T

    same: dict[str, BoolMatrix] = {}
    for column in AREA_COLUMNS:
        if column not in bodies.columns:
            continue
        area = bodies[column].astype("string").fillna("").to_numpy(dtype=str)
        # A county is in its own county, a fire authority in its own fire area, and so on.
        area = np.where(area == "", np.where(_is_area_kind(bodies, column), codes, ""), area)
        matrix = (area[:, None] == area[None, :]) & (area[:, None] != "")
        same[column] = matrix
    matrix, notes = governance_matrix(codes, governed)
    return PairMatrices(
        codes=codes,
        dist_km=dist,
        touches=touches,
        border_km=border_km,
        nested=nested,
        same=same,
        governed=matrix,
        governors=notes,
    )


def governance_matrix(
    codes: npt.NDArray[np.str_], governed: Mapping[tuple[str, str], Any]
) -> tuple[npt.NDArray[np.int8], dict[tuple[int, int], GovernorNote]]:
    """The governance matrix over ``codes`` (:data:`RUNS`, :data:`SAME_GOVERNOR` or
    :data:`UNGOVERNED`) and who governs each governed pair, from ``governed``."""
    index = {c: i for i, c in enumerate(codes.tolist())}
    matrix = np.zeros((len(codes), len(codes)), dtype=np.int8)
    notes: dict[tuple[int, int], GovernorNote] = {}
    for (a, b), governor in governed.items():
        if a not in index or b not in index:
            continue
        i, j = index[a], index[b]
        # The fire authority and its runner (the code the table's run_by_code gives): a council,
        # a mayor's combined authority or the GLA, a commissioner's police force area.
        runs = {a, b} == {governor.fire_code, governor.governor_code}
        matrix[i, j] = RUNS if runs else SAME_GOVERNOR
        notes[(i, j)] = GovernorNote(
            governor.governance, governor.governor_name, governor.since_year, governor.source_url
        )
    return matrix, notes


def _is_area_kind(bodies: pd.DataFrame, column: str) -> npt.NDArray[np.bool_]:
    tier = bodies["tier"].to_numpy(dtype=str)
    own = {
        "county_code": "county",
        "fire_code": "fire",
        "police_code": "police",
        "icb_code": "health",
        "cauth_code": "combined_authority",
    }
    wanted = own.get(column)
    if wanted is None:
        return np.zeros(len(tier), dtype=bool)
    return np.asarray(tier == wanted, dtype=bool)
