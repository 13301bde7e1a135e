"""Engines benchmark: the batch work in this process (``local``) and on Dask, side by side.

Dask runs on a ``LocalCluster`` of :data:`recommender.model.engines.LOCAL_WORKERS` single-threaded
worker processes, as ``--engine dask`` starts it; the time to start and stop it is shown apart
and counted in the speed-up (local seconds over Dask's with the cluster's). On a two-core
machine Dask can at best halve the local time, and pays for the cluster and for sending the
shared state to every worker. Memory: the client's peak, and the largest worker's (its own
high-water mark). Each step runs in a fresh process against a private database, so the user's
database and models are never touched.

* **Evaluation**: the full leave-one-partnership-out (``recommender evaluate``) on the default
  register, every real partnership held out in turn: a few minutes on each engine. The two
  results are compared (a digest of every table): the engines must agree exactly.
* **Scoring growth**: every body × candidate × service (``recommender score``) as the number of
  bodies grows 1×, 2× and 4×. 1× is the real bodies; 2× and 4× are SYNTHETIC bodies, each real
  body's polygon cut in two, then in four, its population shared by area
  (:mod:`recommender.bench.synthetic`; made in memory, never written into ``data/``). Each
  size gets a simulated register of proportional size (626 arrangements per 1×, counted as
  real so that every part of the model learns from them) and one fit; then both engines score
  it and the two tables are compared.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from recommender.bench._util import measure, table
from recommender.core.config import Settings

_SETUP = """
import hashlib
import pandas as pd
from recommender.model import engines
from recommender.reference import lookup as reference
from recommender.register import records as register
from recommender.core.config import Settings
from recommender.core.services import load_services
settings = Settings.from_env()
services = load_services(settings)

def worker_peak_mb():
    # Read in the worker: its own high-water mark (a child's getrusage would count the
    # parent's memory at the fork).
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")

def on_dask(job):
    # The engine's own LocalCluster, started here so that the workers' peak memory can be read
    # before it stops; starting and stopping it is timed apart.
    started = time.perf_counter()
    with engines.cluster() as client:
        up = time.perf_counter() - started
        started = time.perf_counter()
        out = job(client.scheduler.address)
        seconds = time.perf_counter() - started
        peak = max(client.run(worker_peak_mb).values())
        started = time.perf_counter()
    return out, seconds, up + time.perf_counter() - started, peak
"""

_EVALUATE = (
    _SETUP
    + """
from recommender.model.fit import Context
bodies = pd.DataFrame(reference.load_bodies(settings).drop(columns="geometry"))
arrangements, members = register.load_register(settings)
ctx = Context.build(bodies, reference.load_adjacency(settings), services, arrangements, members,
                    reference.governed_pairs(settings))
if "{engine}" == "local":
    started = time.perf_counter()
    ev = engines.evaluate(ctx)
    seconds, cluster_s, peak = time.perf_counter() - started, 0.0, float("nan")
else:
    ev, seconds, cluster_s, peak = on_dask(
        lambda address: engines.evaluate(ctx, engine="dask", scheduler=address))
digest = hashlib.sha256(json.dumps(ev.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
result = {{"seconds": seconds, "cluster_s": cluster_s, "digest": digest,
           "folds": ev.notes["real_arrangements_evaluated"], "workers_peak_mb": peak}}
"""
)

_GROWTH = (
    _SETUP
    + """
from recommender.bench.synthetic import split
from recommender.model.network import SnapshotCache
from recommender.model.scoring import Scorer, enter_probability
from recommender.simulation.process import simulate
from recommender.model.fit import Context, TrainingData, fit_components
ROUNDS = {rounds}
started = time.perf_counter()
bodies = reference.load_bodies(settings)
adjacency = reference.load_adjacency(settings)
governed = reference.governed_pairs(settings)
if ROUNDS:
    bodies, adjacency, governed = split(bodies, adjacency, governed, ROUNDS)  # SYNTHETIC
bodies = pd.DataFrame(bodies.drop(columns="geometry"))
arrangements, members = simulate(bodies, seed=7, size=626 * 2 ** ROUNDS, adjacency=adjacency,
                              services=services)
arrangements = arrangements.assign(simulated=False)
ctx = Context.build(bodies, adjacency, services, arrangements, members, governed)
comp = fit_components(ctx, TrainingData.build(ctx))
scorer = Scorer(ctx, comp, SnapshotCache(ctx.reg, ctx.pairs.n).now(), enter_probability(ctx, comp))
prepare_s = time.perf_counter() - started

def digest(frame):
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + str(list(frame.dtypes)).encode()).hexdigest()

started = time.perf_counter()
scores = engines.score(scorer)
local_s = time.perf_counter() - started
rows, local_digest = len(scores), digest(scores)
del scores
scores, dask_s, cluster_s, peak = on_dask(
    lambda address: engines.score(scorer, engine="dask", scheduler=address))
same = digest(scores) == local_digest and len(scores) == rows
result = {{"bodies": int(ctx.pairs.n), "arrangements": len(arrangements), "rows": rows,
           "prepare_s": prepare_s, "local_s": local_s, "dask_s": dask_s,
           "cluster_s": cluster_s, "same": same, "workers_peak_mb": peak}}
"""
)

GROWTH = ((0, "1× (the real bodies)"), (1, "2× (SYNTHETIC: each cut in two)"),
          (2, "4× (SYNTHETIC: each cut in four)"))  # fmt: skip


def run(settings: Settings) -> None:
    """Run the engine benchmarks and print their tables."""
    from recommender.model.engines import LOCAL_WORKERS

    work = Path(tempfile.mkdtemp(prefix="recommender-bench-"))
    env = {
        "RECOMMENDER_MODELS_DIR": str(work / "models"),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{work / 'register.sqlite'}",
    }
    cluster = f"Dask: a LocalCluster of {LOCAL_WORKERS} single-threaded workers"
    try:
        print(
            "\nengines: the full leave-one-partnership-out evaluation takes a few minutes on "
            "each engine, the 4× scoring a few more",
            flush=True,
        )
        runs = {
            engine: measure(_EVALUATE.format(engine=engine), env) for engine in ("local", "dask")
        }
        local, on_dask = runs["local"], runs["dask"]
        table(
            f"Evaluation: leave one partnership out on the default register "
            f"({local['folds']} folds), local against {cluster}",
            [
                "engine",
                "seconds",
                "+ cluster start/stop s",
                "speed-up",
                "peak MB (client)",
                "peak MB (a worker)",
                "same result",
            ],
            [
                ["local", local["seconds"], "", 1.0, local["peak_mb"], "", ""],
                [
                    "dask",
                    on_dask["seconds"],
                    on_dask["cluster_s"],
                    _ratio(local["seconds"], on_dask["seconds"] + on_dask["cluster_s"]),
                    on_dask["peak_mb"],
                    on_dask["workers_peak_mb"],
                    _yes(on_dask["digest"] == local["digest"]),
                ],
            ],
        )
        rows: list[list[Any]] = []
        for rounds, label in GROWTH:
            g = measure(_GROWTH.format(rounds=rounds), env)
            rows.append(
                [
                    label,
                    g["bodies"],
                    g["arrangements"],
                    g["rows"],
                    g["local_s"],
                    g["dask_s"],
                    g["cluster_s"],
                    _ratio(g["local_s"], g["dask_s"] + g["cluster_s"]),
                    g["peak_mb"],
                    g["workers_peak_mb"],
                    _yes(g["same"]),
                ]
            )
        table(
            f"Scoring every body × candidate × service as the bodies grow (bodies beyond 1× are "
            f"SYNTHETIC, registers simulated), local against {cluster}",
            [
                "bodies",
                "n",
                "arrangements",
                "rows",
                "local s",
                "dask s",
                "+ cluster start/stop s",
                "speed-up",
                "peak MB (client)",
                "peak MB (a worker)",
                "same table",
            ],
            rows,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ratio(local: float, other: float) -> float:
    return local / other if other else 0.0


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"
