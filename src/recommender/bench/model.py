"""Model benchmarks: training, scoring every body, ``recommend --all``, growth.

Targets (issues 4 and 10, on the 2-core machine): training (features, every fit, serving
tables, importance; the held-out evaluation runs in ``recommender evaluate``) under 60 s on the
default register; scoring all bodies under 10 s with peak memory under 2 GB; ``recommender
recommend --all`` under 15 s in one process. The leave-one-partnership-out evaluation is timed
by the engines benchmark (:mod:`recommender.bench.engines`), locally and on Dask. Every step
runs in a fresh process against a private database and models folder, so the user's own models
are never touched.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from recommender.bench._util import measure, run_command, table
from recommender.core.config import Settings

_SETUP = """
import pandas as pd
from recommender.reference import lookup as reference
from recommender.register import records as register
from recommender.core.config import Settings
from recommender.core.services import load_services
settings = Settings.from_env()
bodies = pd.DataFrame(reference.load_bodies(settings).drop(columns="geometry"))
adjacency = reference.load_adjacency(settings)
services = load_services(settings)
"""

_TRAIN = (
    _SETUP
    + """
from recommender.model import artifacts
from recommender.model.workflow import train
from recommender.model import artifacts
from recommender.model.workflow import train_and_save
arrangements, members = register.load_register(settings)
stages = {}
last = [None, time.perf_counter()]
def stage(name):
    now = time.perf_counter()
    if last[0]:
        stages[last[0]] = now - last[1]
    last[0], last[1] = name, now
started = time.perf_counter()
# Reading the inputs and saving are timed too (the stages before "features" and "save").
version, meta = train_and_save(settings, evaluate=False, stage=stage)
stage(None)
total = time.perf_counter() - started
artifacts.promote(version, settings)
result = {"train_s": total, "stages": stages, "arrangements": len(arrangements)}
"""
)

_SCORE = """
import numpy as np
from recommender.model import artifacts
from recommender.core.config import Settings
from recommender.model.scoring import Scorer, score_all
loaded = artifacts.load_promoted(Settings.from_env())
model = loaded.model
started = time.perf_counter()
table = score_all(Scorer(model.context, model.components, model.snapshot, model.p_enter))
result = {"score_s": time.perf_counter() - started, "rows": len(table),
          "bodies": int(model.context.pairs.n)}
"""

_GROWTH = (
    _SETUP
    + """
import numpy as np
from recommender.simulation.process import simulate
from recommender.model.fit import Context, TrainingData, fit_components
from recommender.model.network import SnapshotCache
from recommender.model.scoring import Scorer, enter_probability, score_all
FRACTION, MULTIPLE = {fraction}, {multiple}
every = len(bodies)  # the default register's arrangements are spread over all the bodies
if FRACTION < 1:
    regions = sorted(bodies["region_code"].dropna().unique())
    rng = np.random.default_rng(0)
    keep, share = [], 0.0
    for r in rng.permutation(regions):
        keep.append(r)
        share = bodies["region_code"].isin(keep).mean()
        if share >= FRACTION:
            break
    bodies = bodies[bodies["region_code"].isin(keep)]
    codes = set(bodies.index)
    adjacency = adjacency[adjacency["code_a"].isin(codes) & adjacency["code_b"].isin(codes)]
size = int(round(626 * MULTIPLE * len(bodies) / every))
arrangements, members = simulate(bodies, seed=7, size=size, adjacency=adjacency, services=services)
# Flagged real so that every part of the model learns from them: what grows is measured.
arrangements = arrangements.assign(simulated=False)
started = time.perf_counter()
ctx = Context.build(bodies, adjacency, services, arrangements, members)
comp = fit_components(ctx, TrainingData.build(ctx))
fit = time.perf_counter() - started
started = time.perf_counter()
scorer = Scorer(ctx, comp, SnapshotCache(ctx.reg, ctx.pairs.n).now(), enter_probability(ctx, comp))
scores = score_all(scorer)
result = {{"bodies": len(bodies), "arrangements": len(arrangements), "fit_s": fit,
          "score_s": time.perf_counter() - started, "rows": len(scores)}}
"""
)


def run(settings: Settings) -> None:
    """Run the model benchmarks and print their tables."""
    work = Path(tempfile.mkdtemp(prefix="recommender-bench-"))
    env = {
        "RECOMMENDER_MODELS_DIR": str(work / "models"),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{work / 'register.sqlite'}",
    }
    try:
        trained = measure(_TRAIN, env)
        scored = measure(_SCORE, env)
        cli = [str(Path(sys.executable).parent / "recommender")]
        plain = run_command([*cli, "recommend", "--all", "--format", "json"], env)
        explained = run_command([*cli, "recommend", "--all", "--format", "json", "--explain"], env)
        table(
            "Model: speed and memory on the default register (targets from issues 4 and 10)",
            ["step", "seconds", "peak MB", "target", "met"],
            [
                [
                    "training end to end",
                    trained["train_s"],
                    trained["peak_mb"],
                    "< 60 s",
                    _yes(trained["train_s"] < 60),
                ],
                [
                    "scoring all bodies",
                    scored["score_s"],
                    scored["peak_mb"],
                    "< 10 s, < 2 GB",
                    _yes(scored["score_s"] < 10 and scored["peak_mb"] < 2048),
                ],
                ["recommend --all (one process)", plain, "", "< 15 s", _yes(plain < 15)],
                ["recommend --all --explain", explained, "", "", ""],
            ],
        )
        table(
            "Training stages",
            ["stage", "seconds"],
            [[name, seconds] for name, seconds in trained["stages"].items()],
        )
        print(
            f"\n{trained['arrangements']:,} arrangements; {scored['bodies']} bodies; "
            f"{scored['rows']:,} (body, candidate, service) rows scored"
        )
        rows = []
        for fraction, multiple in ((1.0, 1), (1.0, 2), (1.0, 4), (0.25, 1), (0.5, 1)):
            g = measure(_GROWTH.format(fraction=fraction, multiple=multiple), env)
            rows.append(
                [
                    f"{fraction:g}× bodies, {multiple}× register",
                    g["bodies"],
                    g["arrangements"],
                    g["rows"],
                    g["fit_s"],
                    g["score_s"],
                    g["peak_mb"],
                ]
            )
        table(
            "Growth: fit and scoring as the register and the number of bodies grow",
            ["case", "bodies", "arrangements", "rows scored", "fit s", "score s", "peak MB"],
            rows,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"
