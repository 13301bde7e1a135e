"""Benchmarks, run by ``make bench`` (``python -m recommender.bench``); each prints a table.

Speed and memory targets live here, measured on the machine at hand, never as timed
assertions in the tests. Each module in :data:`BENCHMARKS` has a ``run(settings) -> None``
that prints its own table(s).
"""

from __future__ import annotations

BENCHMARKS: tuple[str, ...] = (
    "model",
    "service",
    "register",
    "engines",
    "scenario",
    "briefing",
)
