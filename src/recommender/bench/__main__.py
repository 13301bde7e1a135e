"""Run every benchmark (or those named on the command line) and print their tables."""

from __future__ import annotations

import sys
from importlib import import_module

from recommender.bench import BENCHMARKS
from recommender.core.config import Settings


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    settings = Settings.from_env()
    for name in names:
        module = import_module(f"recommender.bench.{name}")
        module.run(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
