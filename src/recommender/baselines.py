"""The simple rules a council officer would otherwise use, as rankers and a savings guess.

Each partner baseline scores the candidates of one query from the same pair feature frame the
model sees, so all are ranked over exactly the same candidates (bodies that deliver the
service and do not already share it with the focal body). Ties are broken by distance,
nearest first, which only makes the baselines stronger.

* ``nearest``: nearest by distance between centroids.
* ``same_tier``: same tier first (district with district, county with county), then nearest.
* ``similar``: the CIPFA-style nearest neighbours councils use for benchmarking: the
  closest in standardised (log population, log density, deprivation), same kind first.
* ``adamic_adar``: Adamic-Adar on the partnership graph (partners of partners, weighted).
* ``most_partnered``: the bodies in the most arrangements so far.

For savings, ``service_median`` predicts the median annual saving of the arrangements in the
same service (the overall median when a service has none), with the 10th and 90th
percentiles as its 80% interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

# A distance tie-break small enough never to overturn a difference in the primary score.
_TIE = 1e-6


def _nearest(x: pd.DataFrame) -> FloatArray:
    return np.asarray(-x["dist_km"].to_numpy(dtype=float))


def _same_tier(x: pd.DataFrame) -> FloatArray:
    return np.asarray(
        x["same_tier"].to_numpy(dtype=float) * 1e4 - x["dist_km"].to_numpy(dtype=float)
    )


def _similar(x: pd.DataFrame) -> FloatArray:
    same_kind = (x["focal_tier"].astype(str) == x["candidate_tier"].astype(str)).to_numpy()
    gap = x["similarity_gap"].to_numpy(dtype=float)
    return np.asarray(same_kind * 1e3 - gap - _TIE * x["dist_km"].to_numpy(dtype=float))


def _adamic_adar(x: pd.DataFrame) -> FloatArray:
    return np.asarray(
        x["adamic_adar"].to_numpy(dtype=float) - _TIE * x["dist_km"].to_numpy(dtype=float)
    )


def _most_partnered(x: pd.DataFrame) -> FloatArray:
    return np.asarray(
        x["candidate_arrangements"].to_numpy(dtype=float)
        - _TIE * x["dist_km"].to_numpy(dtype=float)
    )


PARTNER_BASELINES: dict[str, Callable[[pd.DataFrame], FloatArray]] = {
    "nearest": _nearest,
    "same_tier": _same_tier,
    "similar": _similar,
    "adamic_adar": _adamic_adar,
    "most_partnered": _most_partnered,
}

BASELINE_LABELS = {
    "nearest": "nearest by distance",
    "same_tier": "same tier, then distance",
    "similar": "similar councils (CIPFA-style)",
    "adamic_adar": "Adamic-Adar on the partnership graph",
    "most_partnered": "most-partnered bodies",
    "service_median": "median savings by service",
}


class ServiceMedian:
    """Median annual savings by service, with the 10th-90th percentile range as interval."""

    def fit(self, service: npt.ArrayLike, savings: npt.ArrayLike) -> ServiceMedian:
        frame = pd.DataFrame({"service": np.asarray(service), "y": np.asarray(savings, float)})
        grouped = frame.groupby("service")["y"]
        self.median_ = grouped.median().to_dict()
        self.low_ = grouped.quantile(0.1).to_dict()
        self.high_ = grouped.quantile(0.9).to_dict()
        self.overall_ = (
            float(frame["y"].median()),
            float(frame["y"].quantile(0.1)),
            float(frame["y"].quantile(0.9)),
        )
        return self

    def predict(self, service: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return (median, low, high) for each row's service."""
        keys = list(np.asarray(service))
        med, low, high = self.overall_
        return (
            np.array([self.median_.get(k, med) for k in keys], dtype=float),
            np.array([self.low_.get(k, low) for k in keys], dtype=float),
            np.array([self.high_.get(k, high) for k in keys], dtype=float),
        )
