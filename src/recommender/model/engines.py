"""Where the heavy batch work runs: in this process (``local``, the default) or on Dask.

Two jobs run on either engine and give the same result on both:

* :func:`evaluate`, leave one partnership out: one fold
  (:func:`recommender.model.evaluation.lopo_fold`, pure and deterministic) per held-out partnership.
  The local engine runs them one after another (:func:`recommender.model.evaluation.evaluate`); the
  Dask engine makes each a task and :func:`recommender.model.evaluation.assemble` puts the results
  together in fold order, so the tables are identical for the same seed.
* :func:`score`, every body × candidate × service (:func:`recommender.model.scoring.score_all`):
  the Dask engine maps :func:`score_table` over partitions of the body table
  (``dask.dataframe.map_partitions``); the parts, concatenated in order, are the local table.
  :func:`write_scores` writes it as Parquet, the same bytes from both engines.

What every task needs (the evaluation's :class:`~recommender.model.evaluation.Setup`, the
:class:`~recommender.model.scoring.Scorer`: tens of MB) is built once here and scattered once to
every worker; each task receives a reference to it, never a copy.

A Dask cluster is :func:`cluster`: by default a ``distributed.LocalCluster`` of
:data:`LOCAL_WORKERS` processes with one thread each (two cores: more would only contend),
started and stopped around the job; with ``scheduler`` (``tcp://host:8786``), an existing
cluster. Its workers must run this version of recommender with the same library versions
(the tasks and their results travel as pickles, and the same numbers need the same code): that
is checked before any work is sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recommender.core.errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from distributed import Client

    from recommender.model.evaluation import Evaluation, FoldResult, Setup
    from recommender.model.fit import Context
    from recommender.model.scoring import Scorer

ENGINES = ("local", "dask")
LOCAL_WORKERS = 2
CONNECT_SECONDS = 30
PARTITIONS_PER_THREAD = 4  # small parts even out bodies that deliver more services
Progress = Callable[[str], None]

# The table `recommender score` writes: one row per (body, candidate, service), in the order of
# score_all (body, then service, then candidate, by position in the model).
SCORE_COLUMNS = {
    "body_code": "focal",
    "partner_code": "candidate",
    "service": "service",
    "likelihood": "likelihood",
    "expected_savings_gbp": "expected",
    "savings_gbp": "savings",
    "savings_low_gbp": "low",
    "savings_high_gbp": "high",
    "existing": "existing",
}


def check_engine(engine: str, scheduler: str | None) -> None:
    """Refuse an unknown engine, or a scheduler address without the Dask engine."""
    if engine not in ENGINES:
        raise InvalidInput(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}",
                           field="engine")  # fmt: skip
    if scheduler is not None and engine != "dask":
        raise InvalidInput("a scheduler address needs the Dask engine (--engine dask)",
                           field="scheduler")  # fmt: skip


@contextmanager
def cluster(scheduler: str | None = None, *, workers: int = LOCAL_WORKERS) -> Iterator[Client]:
    """A Dask client: on the cluster at ``scheduler``, or on a LocalCluster of ``workers``
    single-threaded processes that is stopped on the way out."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        # Dashboard and scheduler on free ports: other users of the machine may run Dask too.
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                scheduler_port=0,
            ) as local,
            Client(local) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(err).__name__}: {err}); "
            "check the address (e.g. tcp://host:8786) or leave out --scheduler to use a local "
            "cluster",
            field="scheduler",
        ) from err
    with client:
        _check_workers(client, scheduler)
        yield client


def _environment() -> dict[str, str]:
    from recommender import __version__
    from recommender.model.artifacts import library_versions

    return {"recommender": __version__, **library_versions()}


def _check_workers(client: Client, scheduler: str) -> None:
    """Refuse a cluster whose workers run other versions of the code (or have none)."""
    wanted = _environment()
    found: dict[str, Any] = client.run(_environment)
    if not found:
        raise ConfigError(f"the Dask cluster at {scheduler} has no workers", field="scheduler")
    for worker, versions in sorted(found.items()):
        differ = [f"{k} {v} (here {wanted.get(k)})" for k, v in versions.items()
                  if wanted.get(k) != v]  # fmt: skip
        if differ:
            raise ConfigError(
                f"Dask worker {worker} runs " + ", ".join(differ) + "; install the same "
                "versions of recommender and the libraries (constraints.txt) on every worker",
                field="scheduler",
            )


# Evaluation -----------------------------------------------------------------------------------


def evaluate(
    ctx: Context,
    *,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = LOCAL_WORKERS,
    random_state: int = 0,
    progress: Progress | None = None,
    limit: int | None = None,
) -> Evaluation:
    """Evaluate as :func:`recommender.model.evaluation.evaluate` does, on ``engine``.

    ``limit`` evaluates only the first ``limit`` held-out partnerships (quick checks, tests).
    """
    from recommender.model import evaluation

    check_engine(engine, scheduler)
    if engine == "local":
        return evaluation.evaluate(ctx, random_state=random_state, progress=progress, limit=limit)
    say = progress or (lambda _: None)
    say("fitting on everything (the simulated check; each fold then fits afresh)")
    setup = evaluation.prepare(ctx, random_state=random_state)
    folds = evaluation.held_out(setup)[:limit]
    with cluster(scheduler, workers=workers) as client:
        results = _run_folds(client, setup, folds, say)
    say("simulated arrangements")
    return evaluation.assemble(setup, folds, results)


def _run_folds(client: Client, setup: Setup, folds: list[int], say: Progress) -> list[FoldResult]:
    from distributed import as_completed

    from recommender.model.evaluation import lopo_fold

    say(f"sending the shared fits to {len(client.scheduler_info()['workers'])} Dask workers")
    shared = client.scatter(setup, broadcast=True, hash=False)  # once, not once per task
    futures = [
        client.submit(lopo_fold, shared, k, key=f"lopo-fold-{k}-{os.getpid()}", pure=False)
        for k in folds
    ]
    for done, _ in enumerate(as_completed(futures), 1):
        say(f"held-out arrangement {done} of {len(folds)}, with its partnership, on Dask")
    results: list[FoldResult] = client.gather(futures)  # in fold order, whatever finished first
    return results


# Scoring --------------------------------------------------------------------------------------


def score_table(scorer: Scorer, focal: Any = None) -> pd.DataFrame:
    """:func:`~recommender.model.scoring.score_all` for the bodies at positions ``focal`` (all when
    None) with codes and service ids in place of positions (:data:`SCORE_COLUMNS`).

    The code columns are categoricals over every body (and service) of the model, so that parts
    scored separately concatenate to the same table.
    """
    from recommender.model.scoring import score_all

    ctx = scorer.ctx
    raw = score_all(scorer, None if focal is None else np.asarray(focal, dtype=np.intp))
    codes = pd.Index([str(c) for c in ctx.pairs.codes])
    services = pd.Index(list(ctx.services))
    out: dict[str, Any] = {}
    for name, column in SCORE_COLUMNS.items():
        values = raw[column]
        if column in ("focal", "candidate"):
            out[name] = pd.Categorical.from_codes(values.to_numpy(np.int64), categories=codes)
        elif column == "service":
            out[name] = pd.Categorical.from_codes(values.to_numpy(np.int64), categories=services)
        else:
            out[name] = values.to_numpy()
    return pd.DataFrame(out)


def _score_part(part: pd.DataFrame, scorer: Scorer) -> pd.DataFrame:
    return score_table(scorer, part["position"].to_numpy())


def score(
    scorer: Scorer,
    *,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = LOCAL_WORKERS,
    partitions: int | None = None,
) -> pd.DataFrame:
    """Score every body × candidate × service on ``engine`` (see :func:`score_table`)."""
    check_engine(engine, scheduler)
    if engine == "local":
        return score_table(scorer)
    import dask.dataframe as dd

    n = scorer.ctx.pairs.n
    with cluster(scheduler, workers=workers) as client:
        threads = sum(client.nthreads().values()) or 1
        parts = max(1, min(n, partitions or PARTITIONS_PER_THREAD * threads))
        bodies = pd.DataFrame({"position": np.arange(n)})
        shared = client.scatter(scorer, broadcast=True, hash=False)
        table = dd.from_pandas(bodies, npartitions=parts, sort=False).map_partitions(
            _score_part, shared, meta=score_table(scorer, np.array([0])).iloc[:0]
        )
        frame: pd.DataFrame = table.compute().reset_index(drop=True)
    return frame


def write_scores(frame: pd.DataFrame, path: Path) -> Path:
    """Write the scores as Parquet (atomically: a temporary sibling renamed into place).

    Parquet, not CSV: the table has millions of rows (more than a spreadsheet holds), its
    float32 figures are kept exactly and its codes once per column chunk (about a tenth of
    the CSV's size), and pandas, DuckDB, R and Spark read it with its types.
    """
    from recommender.core.atomic import temporary

    if path.suffix.lower() != ".parquet":
        raise InvalidInput(
            f"{path.name}: the scores are written as Parquet; name the file *.parquet",
            field="out",
        )
    tmp = temporary(path)
    try:
        frame.to_parquet(tmp, engine="pyarrow", index=False, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
