"""The Dask engine gives what the local engine gives: the same evaluation, the same score bytes.

Clusters are small and short-lived (two single-threaded workers): the machine has two cores.
One cluster is started for the module and reached by its address (as an existing scheduler
would be); the scoring test lets the engine start and stop its own LocalCluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from model_fixtures import real_context
from recommender.cli import cli
from recommender.core.config import Settings
from recommender.core.errors import ConfigError, InvalidInput
from recommender.model import engines
from recommender.model.evaluation import Evaluation
from recommender.model.fit import Context
from recommender.register import records as register

# The real data/, named: these tests check the committed reference and register.
REAL = Settings.from_env()

LIMIT = 3


@pytest.fixture(scope="module")
def small_context() -> Context:
    """The reference bodies and a third of the default register (seeded): quick to fit. The
    real arrangements with a savings figure come first, so the first folds test savings too."""
    arrangements, members = register.read_default_register(REAL)
    arrangements = arrangements.sample(frac=0.3, random_state=0)
    saved = arrangements["annual_savings_gbp"].fillna(0).gt(0)
    arrangements = pd.concat([arrangements[saved], arrangements[~saved]])
    members = members[members["arrangement_id"].isin(arrangements["id"])]
    return real_context(arrangements, members)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a running Dask scheduler with two single-threaded workers."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=":0", scheduler_port=0
    ) as cluster:
        yield str(cluster.scheduler_address)


def _same(a: Evaluation, b: Evaluation) -> None:
    pd.testing.assert_frame_equal(a.ranking, b.ranking, check_exact=True)
    pd.testing.assert_frame_equal(a.savings, b.savings, check_exact=True)
    assert a.notes == b.notes
    assert a.to_dict() == b.to_dict()


def test_the_dask_evaluation_equals_the_local_one(small_context: Context, scheduler: str) -> None:
    said: list[str] = []
    local = engines.evaluate(small_context, limit=LIMIT, random_state=3)
    on_dask = engines.evaluate(small_context, engine="dask", scheduler=scheduler, limit=LIMIT,
                               random_state=3, progress=said.append)  # fmt: skip
    _same(local, on_dask)
    assert local.notes["real_arrangements_evaluated"] == LIMIT
    assert not local.ranking.empty and not local.savings.empty
    assert f"held-out arrangement {LIMIT} of {LIMIT}, with its partnership, on Dask" in said
    # Another seed gives other figures: the comparison above can tell them apart.
    other = engines.evaluate(small_context, limit=LIMIT, random_state=4)
    assert not other.ranking.equals(local.ranking)


def test_training_evaluates_on_the_dask_engine_alike(scheduler: str) -> None:
    """``train --engine dask`` runs the evaluation's folds as Dask tasks: the model's
    evaluation is the local one's (a tenth of the default register: quick to fit)."""
    from recommender.model.workflow import train, training_inputs

    inputs = training_inputs(REAL)
    arrangements = inputs["arrangements"]
    saved = arrangements["annual_savings_gbp"].fillna(0).gt(0)  # savings figures to learn from
    part = pd.concat(
        [arrangements[saved].head(12), arrangements[~saved].sample(frac=0.1, random_state=0)]
    )
    inputs |= {
        "arrangements": part,
        "members": inputs["members"][inputs["members"]["arrangement_id"].isin(part["id"])],
    }
    _, local = train(**inputs, random_state=2)
    _, on_dask = train(**inputs, random_state=2, engine="dask", scheduler=scheduler)
    assert local["evaluation"]["notes"]["real_arrangements_held_out"] > 5
    assert on_dask["evaluation"] == local["evaluation"]
    assert on_dask["parameters"] == local["parameters"]


def test_the_setup_is_sent_to_the_workers_once(
    small_context: Context, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    scattered: list[Any] = []
    real_scatter = Client.scatter

    def counting(self: Client, data: Any, *args: Any, **kwargs: Any) -> Any:
        scattered.append((type(data).__name__, kwargs.get("broadcast")))
        return real_scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(Client, "scatter", counting)
    engines.evaluate(small_context, engine="dask", scheduler=scheduler, limit=2)
    assert scattered == [("Setup", True)]


def test_the_cli_evaluates_on_an_existing_scheduler(scheduler: str, tmp_path: Path) -> None:
    runner = CliRunner()  # over a new database: the default register is loaded into it
    env = {"RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'register.sqlite'}"}
    base = ["evaluate", "--limit", "1", "--json"]
    local = runner.invoke(cli, base, env=env)
    assert local.exit_code == 0, local.output
    on_dask = runner.invoke(cli, [*base, "--engine", "dask", "--scheduler", scheduler], env=env)
    assert on_dask.exit_code == 0, on_dask.output
    assert _json_tail(on_dask.stdout) == _json_tail(local.stdout)


def _json_tail(output: str) -> Any:
    import json

    return json.loads(output[output.index("{") :])


def test_the_dask_scores_are_the_local_bytes(trained_settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(trained_settings.models),
    }
    local, on_dask = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    from recommender.model import artifacts

    version = artifacts.promoted_version(trained_settings)
    done = runner.invoke(cli, ["score", "--out", str(local), "--model", str(version)], env=env)
    assert done.exit_code == 0, done.output
    assert f"of model {version}" in done.stderr
    # The engine's own LocalCluster (two workers), the body table cut in five parts.
    done = runner.invoke(cli, ["score", "--engine", "dask", "--partitions", "5",
                               "--out", str(on_dask)], env=env)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "dask engine" in done.stderr

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(local) == digest(on_dask)
    table = pd.read_parquet(local)
    assert list(table.columns) == list(engines.SCORE_COLUMNS)

    model = artifacts.load_promoted(trained_settings).model
    codes = [str(c) for c in model.context.pairs.codes]
    assert table["body_code"].unique().tolist() == codes  # every body, in order
    assert set(table["service"].unique()) == set(model.context.services)
    assert (table["body_code"] != table["partner_code"]).all()
    assert table["likelihood"].between(0, 1).all()
    assert (table.loc[table["existing"], "likelihood"] == 0).all()
    rother = table[(table["body_code"] == "E07000064") & (table["service"] == "legal")]
    assert rother["expected_savings_gbp"].to_numpy() == pytest.approx(
        (rother["likelihood"] * rother["savings_gbp"]).to_numpy(), rel=1e-5
    )


def test_score_table_parts_concatenate_to_the_whole(trained_settings: Settings) -> None:
    from recommender.model import artifacts
    from recommender.model.scoring import Scorer

    model = artifacts.load_promoted(trained_settings).model
    scorer = Scorer(model.context, model.components, model.snapshot, model.p_enter)
    few = np.array([0, 1, 2, 3, 4, 5])
    whole = engines.score_table(scorer, few)
    parts = pd.concat(
        [engines.score_table(scorer, few[:2]), engines.score_table(scorer, few[2:])],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, parts, check_exact=True)
    assert whole["body_code"].cat.categories.size == model.context.pairs.n


def test_bad_engine_choices_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput, match="--engine dask"):
        engines.check_engine("local", "tcp://127.0.0.1:8786")
    with pytest.raises(InvalidInput, match="unknown engine"):
        engines.check_engine("spark", None)
    with pytest.raises(InvalidInput, match=r"\*\.parquet"):
        engines.write_scores(pd.DataFrame({"a": [1]}), tmp_path / "scores.csv")
    runner = CliRunner()
    for command in ("evaluate", "train"):
        done = runner.invoke(cli, [command, "--scheduler", "tcp://127.0.0.1:9"])
        assert done.exit_code == 2 and "--scheduler needs --engine dask" in done.output
    done = runner.invoke(cli, ["score", "--out", str(tmp_path / "scores.csv")])
    assert done.exit_code == 2 and "*.parquet" in done.output
    monkeypatch.setattr(engines, "CONNECT_SECONDS", 1)
    unreachable = r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    with pytest.raises(ConfigError, match=unreachable), engines.cluster("tcp://127.0.0.1:9"):
        pass


def test_workers_running_other_versions_are_refused() -> None:
    class Workers:
        def __init__(self, found: dict[str, Any]) -> None:
            self.found = found

        def run(self, function: Any) -> dict[str, Any]:
            return self.found

    here = engines._environment()
    engines._check_workers(Workers({"tcp://a:1": here}), "tcp://a")  # type: ignore[arg-type]
    other = here | {"scikit-learn": "0.1"}
    with pytest.raises(ConfigError, match=r"tcp://b:2 runs scikit-learn 0\.1 \(here "):
        engines._check_workers(Workers({"tcp://a:1": here, "tcp://b:2": other}), "tcp://a")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no workers"):
        engines._check_workers(Workers({}), "tcp://a")  # type: ignore[arg-type]
