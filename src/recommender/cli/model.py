"""``recommender train``, ``evaluate``, ``models …`` and ``recommend``."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import click

from recommender.cli._common import (
    SettingsObj,
    echo_json,
    echo_table,
    model_words,
    output_file,
    output_format,
    pass_settings,
    scenario_recommender,
)
from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, RecommenderError
from recommender.model.shape import QUERY_TITLES
from recommender.recommend.query import CHOICE_FLOOR, MAX_K, PER_PARTNER, SORTS
from recommender.recommend.readmodels import HELD_MARK, held_note
from recommender.render.charts import percent

STAGES = ("features", "evaluation", "fit", "scoring", "importance", "save")


def _inputs(settings: Settings, register_file: Path | None, refused: str) -> dict[str, Any]:
    from recommender.model.workflow import training_inputs

    return training_inputs(settings, register_file, refused=refused)


def train_and_save(
    settings: Settings,
    register_file: Path | None,
    *,
    promote: bool,
    evaluate: bool,
    seed: int,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """Train with a progress bar over the stages, save, optionally promote."""
    from tqdm import tqdm

    from recommender.model import workflow
    from recommender.model.engines import LOCAL_WORKERS
    from recommender.recommend import serving

    with tqdm(total=len(STAGES), desc="training", unit="stage", file=sys.stderr) as bar:

        def stage(name: str) -> None:
            if bar.n or name != STAGES[0]:
                bar.update(1)
            bar.set_postfix_str(name)

        def detail(text: str) -> None:
            bar.set_postfix_str(text)

        version, meta = workflow.train_and_save(
            settings,
            register_file=register_file,
            promote=serving.check(settings) if promote else None,
            evaluate=evaluate,
            seed=seed,
            stage=stage,
            progress=detail,
            engine=engine,  # where the evaluation's folds run
            scheduler=scheduler,
            workers=LOCAL_WORKERS if workers is None else workers,
        )
        bar.update(1)
    return version, meta


def engine_options(command: Any) -> Any:
    """``--engine``, ``--scheduler`` and ``--workers``: where the batch work runs."""
    from recommender.model.engines import ENGINES, LOCAL_WORKERS

    options = [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="local",
            show_default=True,
            help="Run in this process, or as Dask tasks (a local cluster unless --scheduler).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            envvar="RECOMMENDER_DASK_SCHEDULER",
            help="An existing Dask scheduler (e.g. tcp://host:8786) for --engine dask; its "
            "workers need this version of recommender and its libraries.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, 64),
            default=LOCAL_WORKERS,
            show_default=True,
            help="Worker processes (one thread each) of the local Dask cluster.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_engine(engine: str, scheduler: str | None) -> None:
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")


@click.command("train")
@click.option(
    "--register",
    "register_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Train on this register file (CSV or JSON, validated like an import) instead of "
    "the database.",
)
@click.option("--promote", is_flag=True, help="Promote the new model so that it serves.")
@click.option(
    "--evaluate/--no-evaluate",
    default=True,
    show_default=True,
    help="Evaluate on held-out real partnerships first (most of the training time; the model "
    "page and the briefing quote it).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed."
)
@engine_options
@output_format("table", "json")
@pass_settings
def train_cmd(
    obj: SettingsObj,
    register_file: Path | None,
    promote: bool,
    evaluate: bool,
    seed: int,
    engine: str,
    scheduler: str | None,
    workers: int,
    fmt: str,
) -> None:
    """Train a model from the register (evaluate, fit, prepare serving) and save it."""
    from recommender.model.evaluation import Evaluation

    _check_engine(engine, scheduler)
    version, meta = train_and_save(
        obj.settings, register_file, promote=promote, evaluate=evaluate, seed=seed,
        engine=engine, scheduler=scheduler, workers=workers,
    )  # fmt: skip
    evaluation = Evaluation.from_dict(meta["evaluation"])
    if fmt == "json":
        echo_json({"version": version, "promoted": promote, "evaluation": evaluation.to_dict()})
        return
    print_evaluation(evaluation)
    click.echo(
        f"\nsaved model {version} ({meta['training_seconds']} s){'; promoted' if promote else ''}"
    )


@click.command("evaluate")
@click.option(
    "--register",
    "register_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Evaluate on this register file instead of the database.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed."
)
@engine_options
@click.option(
    "--limit",
    type=click.IntRange(1),
    help="Hold out only the first N real arrangements (a quick check, not the headline).",
)
@output_format("table", "json")
@pass_settings
def evaluate_cmd(
    obj: SettingsObj,
    register_file: Path | None,
    seed: int,
    engine: str,
    scheduler: str | None,
    workers: int,
    limit: int | None,
    fmt: str,
) -> None:
    """Evaluate the model against the baselines, leaving one real partnership out at a time."""
    from tqdm import tqdm

    from recommender.model import engines
    from recommender.model.fit import Context, check_learnable

    _check_engine(engine, scheduler)
    inputs = _inputs(obj.settings, register_file, "nothing was evaluated")
    ctx = Context.build(**inputs)
    try:
        check_learnable(ctx)  # as train does: a register too small is said, not a traceback
    except InvalidInput as err:
        raise InvalidInput(
            f"{register_file or 'the register database'} is {err.detail}", field=err.field
        ) from None
    with tqdm(desc="evaluating", file=sys.stderr, bar_format="{desc}: {postfix}") as bar:
        evaluation = engines.evaluate(
            ctx,
            engine=engine,
            scheduler=scheduler,
            workers=workers,
            random_state=seed,
            progress=bar.set_postfix_str,
            limit=limit,
        )
    about = _evaluated_on(obj.settings, inputs, register_file, limit, evaluation)
    if fmt == "json":
        from recommender.model.verdicts import verdicts

        echo_json({**evaluation.to_dict(), "verdicts": verdicts(evaluation), "about": about})
        return
    click.echo(about["said"])
    print_evaluation(evaluation, partial=limit is not None)


def _evaluated_on(
    settings: Settings,
    inputs: dict[str, Any],
    register_file: Path | None,
    limit: int | None,
    evaluation: Any,
) -> dict[str, Any]:
    """What an evaluation ran on: the register now (its size and hash, beside the serving
    model's), and whether it was a partial run (``--limit``), so its figures are not read as
    the serving model's."""
    from recommender.model import artifacts
    from recommender.model.fit import register_hash

    arrangements, members = inputs["arrangements"], inputs["members"]
    real = int((~arrangements["simulated"].astype(bool)).sum())
    digest = register_hash(arrangements, members)
    served = artifacts.promoted_version(settings)
    served_hash = None
    if served is not None:
        try:
            served_hash = str(artifacts.metadata(served, settings)["register"]["hash"])
        except (RecommenderError, KeyError, TypeError):  # a damaged model: `models list` says why
            served_hash = None
    table = evaluation.ranking
    held = table[(table["protocol"] == "lopo") & (table["pair_kind"] == "all")]
    held_out = int(held["arrangements"].max()) if len(held) else 0
    source = register_file or "the register database"
    said = (
        f"Refitted and evaluated on {source} as it is now: {len(arrangements):,} arrangements "
        f"({real:,} real), register {digest[:12]}"
    )
    if served is not None and served_hash is not None:
        said += (
            f"; the serving model {served} was trained on the same register"
            if served_hash == digest
            else f"; the serving model {served} was trained on another ({served_hash[:12]}), "
            "so these figures are not its own (see `models show`)"
        )
    said += "."
    if limit is not None:
        said += (
            f" A partial run: {held_out:,} held-out arrangement(s) (--limit {limit}), not the "
            "headline's figures; a run without --limit holds out every one."
        )
    return {
        "register": source if isinstance(source, str) else str(source),
        "arrangements": len(arrangements),
        "real": real,
        "register_hash": digest,
        "serving_model": served,
        "serving_register_hash": served_hash,
        "limit": limit,
        "said": said,
    }


@click.command("score")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    callback=output_file,
    required=True,
    help="The Parquet file to write (*.parquet; replaced atomically).",
)
@click.option(
    "--model", "version", metavar="VERSION", help="Score with this model (default: the promoted)."
)
@engine_options
@click.option(
    "--partitions",
    type=click.IntRange(1),
    help="Parts of the body table for --engine dask (default: four per worker thread).",
)
@pass_settings
def score_cmd(
    obj: SettingsObj,
    out: Path,
    version: str | None,
    engine: str,
    scheduler: str | None,
    workers: int,
    partitions: int | None,
) -> None:
    """Score every body × candidate × service with the model and write the table as Parquet.

    One row per pair and service: body_code, partner_code, service, likelihood,
    expected_savings_gbp, savings_gbp, savings_low_gbp, savings_high_gbp, existing (as
    `recommend` reads it: a running arrangement the register holds now, not one that ended,
    a proposal, or one a member left). Both engines write the same bytes.
    """
    import time

    from recommender.model import engines
    from recommender.recommend import serving

    _check_engine(engine, scheduler)
    if out.suffix.lower() != ".parquet":
        raise click.BadParameter("the scores are written as Parquet: name the file *.parquet",
                                 param_hint="--out")  # fmt: skip
    started = time.perf_counter()
    # The model as it answers `recommend` and the service: the register as it is now (what
    # has ended, what was only proposed, who left, what was imported since), not the network
    # it was trained on, so the two never disagree about who already shares what.
    found = (
        serving.open_version(version, obj.settings)
        if version
        else serving.open_promoted(obj.settings)
    )
    model, scorer = found.model, found.scorer
    table = engines.score(
        scorer, engine=engine, scheduler=scheduler, workers=workers, partitions=partitions
    )
    engines.write_scores(table, out)
    click.echo(
        f"wrote {len(table):,} scores ({model.context.pairs.n} bodies × their candidates × "
        f"services) of model {found.version} to {out} in {time.perf_counter() - started:.1f} s "
        f"({engine} engine)",
        err=True,
    )


PROTOCOL_TITLES = {
    "lopo": "Leave one partnership out (the headline): the partnership's other arrangements "
    "hidden too",
    "lopo_warm": "Leave one partnership out, as served: what was known when it started in "
    "view (the partnership's earlier arrangements), never trained on",
    "cold_start": "Cold start: each body's whole documented history hidden (a body with no "
    "history, such as a new unitary council)",
    "simulated": "Simulated arrangements (a check of the simulator, not evidence of quality)",
}


def print_evaluation(evaluation: Any, *, partial: bool = False) -> None:
    """Print the ranking and savings tables and the plain verdicts; those of a ``partial`` run
    (``evaluate --limit``) are said to be its own, and the pair kinds it held none of out are
    not said to be untestable."""
    from recommender.model.baselines import BASELINE_LABELS, PRODUCT_LABELS
    from recommender.model.shape import RANK_METRICS
    from recommender.model.verdicts import (
        at_a_glance,
        history_said,
        judge,
        readable,
        untested_pairs,
        untested_said,
        verdicts,
    )

    labels = PRODUCT_LABELS | BASELINE_LABELS
    table = evaluation.ranking
    if table.empty:
        click.echo("No held-out evaluation in this model (trained with --no-evaluate).")
        return
    for protocol, title in PROTOCOL_TITLES.items():
        part = table[table["protocol"] == protocol]
        if part.empty:
            continue
        click.echo(f"\n{title} (higher is better)")
        rows = [
            [QUERY_TITLES.get(r["query"], r["query"]), r["pair_kind"]]
            + [labels.get(r["method"], r["method"])]
            + [round(float(r[m]), 3) for m in RANK_METRICS]
            + [int(r["arrangements"])]
            for r in part.to_dict(orient="records")
            if r["pair_kind"] == "all" or protocol == "lopo"
        ]
        echo_table(rows, ["query", "pair kind", "method", *RANK_METRICS, "arrangements"])
    if not evaluation.savings.empty:
        click.echo("\nAnnual savings of held-out real arrangements (MAE of log £: lower is better)")
        rows = [
            [r["protocol"], labels.get(r["method"], r["method"])]
            + [round(float(r[m]), 3) for m in ("mae_log", "coverage80")]
            + [int(r["n"])]
            for r in evaluation.savings.to_dict(orient="records")
        ]
        echo_table(rows, ["protocol", "method", "MAE log", "80% coverage", "n"])
    click.echo("\nVerdicts at a glance (MRR; each in full below)")
    glance = [
        [
            v.protocol,
            QUERY_TITLES.get(v.query, v.query),
            v.pair_kind,
            v.arrangements,
            v.judged + (" (too few)" if v.few else ""),
            "" if v.mrr is None else f"{v.mrr:.3f}",
            labels.get(v.rival, v.rival),
            "" if v.rival_mrr is None else f"{v.rival_mrr:.3f}",
        ]
        for v in at_a_glance(judge(evaluation))
    ]
    echo_table(glance, ["protocol", "query", "pair kind", "n", "verdict", "product",
                        "best of the others", "its MRR"])  # fmt: skip
    click.echo("\nVerdict (of this partial run, --limit)" if partial else "\nVerdict")
    for line in verdicts(evaluation):
        said = readable(line)
        click.echo(
            f"- {said.replace(' in the headline', ' in this partial run') if partial else said}"
        )
    pairs = untested_pairs(table.to_dict(orient="records"))
    if partial and pairs:
        click.echo(
            f"- NOT HELD OUT in this partial run: {', '.join(pairs)} (a run without --limit "
            "holds out every real arrangement)"
        )
    elif untested := untested_said(pairs):
        click.echo(f"- UNTESTED: {untested}")
    if history := history_said(table.to_dict(orient="records")):
        click.echo(f"\nShared history: {history}")


@click.group("models")
def models() -> None:
    """List, inspect, promote and roll back trained models."""


@models.command("list")
@output_format("table", "json")
@pass_settings
def models_list(obj: SettingsObj, fmt: str) -> None:
    """List trained models, newest first (* marks the promoted one)."""
    from recommender.model import artifacts
    from recommender.model.verdicts import headline, verdict_dict

    infos = artifacts.list_models(obj.settings)
    verdicts = {}  # the headline verdict of each, beside the best baseline's MRR
    for i in infos:
        judged = headline(i.ranking) if i.readable else None
        verdicts[i.version] = None if judged is None else verdict_dict(judged)
    if fmt == "json":
        echo_json([i.to_dict() | {"headline": verdicts[i.version]} for i in infos])
        return
    if not infos:
        click.echo(f"no models in {obj.settings.models}; run `recommender train --promote`")
        return
    rows = []
    for i in infos:
        cold = i.summary.get("lopo/service", {})
        warm = i.summary.get("lopo_warm/service", {})
        start = i.summary.get("cold_start/service", {})
        trained_on = f"{i.real:,} real"
        if i.simulated:
            trained_on += f" + {i.simulated:,} simulated"
        figures = [cold.get("mrr"), cold.get("hit@10"), warm.get("mrr"), start.get("mrr")]
        said = verdicts[i.version]
        verdict = "" if said is None else f"{said['verdict']}: {said['baseline']}"
        if said is not None and said["baseline_mrr"] is not None:
            verdict += f" {said['baseline_mrr']:.3f}"
        rows.append(
            [
                ("* " if i.promoted else "! " if i.problem else "  ") + i.version,
                i.created_at[:16].replace("T", " "),
                trained_on if i.readable else "damaged metadata",
                i.register_hash,
                *(
                    ["", "", "", "", ""]
                    if not i.readable
                    else ["not evaluated", "", "", "", ""]
                    if all(f is None for f in figures)
                    else [
                        *("" if f is None else f"{f:.3f}" for f in figures[:2]),  # 0.580
                        verdict,
                        *("" if f is None else f"{f:.3f}" for f in figures[2:]),
                    ]
                ),
            ]
        )
    echo_table(
        rows,
        [
            "version",
            "created (UTC)",
            "arrangements",
            "register",
            "MRR ¹",
            "hit@10 ¹",
            "verdict ¹",
            "MRR ²",
            "MRR ³",
        ],
        right=["MRR ¹", "hit@10 ¹", "MRR ²", "MRR ³"],
    )
    for i in infos:
        if i.problem:
            click.echo(f"! {i.version} fails its checks: {i.problem}", err=True)
    click.echo(
        "* serves now. Figures from the held-out evaluation on the real arrangements, the "
        "service given (`recommender models show VERSION` for every table):\n"
        "¹ leave one partnership out: each real partnership in turn removed from training and "
        "from the network, the model refitted, its partners ranked among every body delivering "
        "the service;\n"
        "² as served: the same fits, but the network as known when the arrangement started "
        "in view (the partnership's earlier arrangements included, never its later ones), as "
        "when the service answers a body today;\n"
        "³ cold start: the same fits, with every arrangement of the body asking hidden, as for a "
        "body with no history (a new unitary council).\n"
        "MRR: mean reciprocal rank of the first true partner (1 is always first); hit@10: share "
        "of held-out arrangements with a true partner in the top ten. Each arrangement counts "
        "once: its members' queries share its weight. verdict: whether the model beats every "
        "baseline on every measure beyond the noise (NOT BETTER, no clear difference or better), "
        "beside the best baseline's MRR (`models show` says on which measures).",
    )  # on stdout with the table it explains: saved to a file, the table keeps its key


@models.command("show")
@click.argument("version", required=False)
@output_format("table", "json")
@pass_settings
def models_show(obj: SettingsObj, version: str | None, fmt: str) -> None:
    """Show a model's metadata (the promoted model by default)."""
    from recommender.core.errors import NoPromotedModel
    from recommender.model import artifacts
    from recommender.model.evaluation import Evaluation
    from recommender.recommend.readmodels import model_judged
    from recommender.render.charts import documented_sizes

    version = version or artifacts.promoted_version(obj.settings)
    if version is None:
        raise NoPromotedModel("no promoted model; name a version (see `recommender models list`)")
    meta = artifacts.metadata(version, obj.settings)
    if fmt == "json":
        echo_json(model_judged(version, meta))  # as the API's /model describes the serving one
        return
    for key in ("version", "created_at", "git_commit", "training_seconds", "artifact_sha256"):
        click.echo(f"{key:18} {meta.get(key)}")
    for key in ("register", "versions"):  # fields, one a line, not a Python dict
        found = meta.get(key)
        if isinstance(found, dict) and found:
            for i, (name, value) in enumerate(found.items()):
                click.echo(f"{key if not i else '':18} {name}: {value}")
        else:
            click.echo(f"{key:18} {found}")
    click.echo(f"{'promoted':18} {version == artifacts.promoted_version(obj.settings)}\n")
    sizes = documented_sizes(meta, obj.settings)  # against the LGA's published sizes
    if sizes:
        click.echo(f"{sizes}\n")
    print_evaluation(Evaluation.from_dict(meta.get("evaluation") or {}))  # null: not evaluated


@models.command("compare")
@click.argument("version")
@click.argument("other", required=False)
@output_format("table", "json")
@pass_settings
def models_compare(obj: SettingsObj, version: str, other: str | None, fmt: str) -> None:
    """Compare VERSION with OTHER (the promoted model by default): the register each was
    trained on and their held-out evaluations side by side, each beside its best baseline."""
    from recommender.core.errors import NoPromotedModel
    from recommender.model import artifacts
    from recommender.model.comparison import compare

    named = other
    other = other or artifacts.promoted_version(obj.settings)
    if other is None:
        raise NoPromotedModel(
            "no promoted model; name two versions (see `recommender models list`)"
        )
    if other == version:  # every change would read +0.000, as if measured
        said = "named twice" if named else "the promoted model, the one it is compared with"
        raise click.UsageError(
            f"`models compare {version}{' ' + named if named else ''}` compares a model with "
            f"itself ({version} is {said}): name another version (see `recommender models list`)"
        )
    found = compare(
        (other, artifacts.metadata(other, obj.settings)),
        (version, artifacts.metadata(version, obj.settings)),
    )
    if fmt == "json":
        echo_json(found)
        return
    first, second = found["first"], found["second"]
    promoted = artifacts.promoted_version(obj.settings)
    names = [m["version"] + (" *" if m["version"] == promoted else "") for m in (first, second)]
    asked = ["promoted", "VERSION"] if named is None else ["OTHER", "VERSION"]
    echo_table(
        [
            [
                f"{side} ({what})",
                name,
                str(m["created_at"] or "")[:16].replace("T", " "),
                f"{m['arrangements'] or 0:,} ({m['real'] or 0:,} real)",
                str(m["register_hash"] or "")[:12],
                "not evaluated" if not m["evaluated"] else f"{m['held_out'] or 0:,}",
            ]
            for side, what, name, m in zip(
                ("first", "second"), asked, names, (first, second), strict=True
            )
        ],
        ["", "model", "created (UTC)", "trained on", "register", "held out"],
    )
    # What the tables' columns are, said before them (it came last, on stderr, so that
    # "first" named the promoted model only after every table).
    click.echo(
        ("* serves now. " if promoted in (first["version"], second["version"]) else "")
        + "Below, each model's figure beside the best baseline's in its own evaluation, on "
        "that metric (↓ the model does not beat it; no ↓ is no clear lead: a lead within the "
        "noise is said in `models show`'s verdicts); change: second minus first."
    )
    if not found["same_register"]:
        click.echo(
            "\nTrained on different registers, so also evaluated on different held-out "
            "arrangements: a change below mixes the data's with the model's."
        )
    for protocol, title in PROTOCOL_TITLES.items():
        for query, query_title in QUERY_TITLES.items():
            rows = [r for r in found["ranking"] if (r["protocol"], r["query"]) == (protocol, query)]
            if not rows:
                continue
            click.echo(f"\n{title}, {query_title} (higher is better)")
            echo_table(
                [
                    [r["metric"], *_against(r["first"]), *_against(r["second"]), _change(r)]
                    for r in rows
                ],
                ["metric", "first", "its best baseline", "second", "its best baseline", "change"],
                right=["first", "its best baseline", "second", "change"],
            )
    saved = [r for r in found["savings"] if r["first"] is not None or r["second"] is not None]
    if saved:
        click.echo("\nAnnual savings of held-out real arrangements (MAE of log £: lower is better)")
        echo_table(
            [[r["metric"], _figure(r["first"]), _figure(r["second"]), _change(r)] for r in saved],
            ["metric", "first", "second", "change"],
            right=["first", "second", "change"],
        )
    # Pair kinds with too few held-out arrangements are judged together, not compared here.
    from recommender.model.verdicts import MIN_KIND_CASES

    few = f"pair kinds with fewer than {MIN_KIND_CASES} held-out arrangements left out"
    if found["judgements"]:
        click.echo(f"\nVerdicts that differ ({few}; see `models show` for each in full):")
        for j in found["judgements"]:
            click.echo(
                f"- {j['where']}: {j['first'] or 'not judged'} → {j['second'] or 'not judged'}"
            )
    elif first["evaluated"] and second["evaluated"]:
        click.echo(
            f"\nThe verdicts judge both alike on every protocol, query and pair kind ({few})."
        )
    headline = found["headline"]
    if headline["first"] or headline["second"]:  # what a promotion rests on, said plainly
        click.echo(
            f"In the headline ({headline['where'].removeprefix('lopo, ')}): first "
            f"{headline['first'] or 'not judged'}, second {headline['second'] or 'not judged'} "
            "(`models show VERSION` says against what)."
        )


def _against(side: dict[str, Any]) -> list[str]:
    """A model's figure and its best baseline's, marked ↓ where the model does not beat it."""
    if side["model"] is None:
        return ["not evaluated", ""]
    rule = (
        "" if side["baseline_value"] is None else f"{side['baseline_value']:.3f} {side['baseline']}"
    )
    losing = side["baseline_value"] is not None and side["baseline_value"] >= side["model"]
    return [f"{side['model']:.3f}" + (" ↓" if losing else ""), rule]


def _figure(value: float | None) -> str:
    return "not evaluated" if value is None else f"{value:.3f}"


def _change(row: dict[str, Any]) -> str:
    """Second minus first, signed; a change that rounds to nothing is 0.000 (never -0.000,
    which reads as a loss, nor +0.000, which reads as a gain), as a lead's interval says it."""
    change = row["change"]
    if change is None:
        return ""
    return f"{change:+.3f}" if round(change, 3) else f"{0:.3f}"


@models.command("promote")
@click.argument("version")
@pass_settings
def models_promote(obj: SettingsObj, version: str) -> None:
    """Promote VERSION (after checking it, loading it and asking it one question)."""
    from recommender.model import artifacts
    from recommender.recommend import serving

    current = artifacts.promoted_version(obj.settings)
    if current == version:
        click.echo(f"{version} is already the promoted model; nothing changed")
        return
    previous = artifacts.promote(version, obj.settings, check=serving.check(obj.settings))
    click.echo(f"promoted {version}" + (f" (was {previous})" if previous else ""))
    _trained_on(obj.settings, version)
    if not (artifacts.metadata(version, obj.settings).get("evaluation") or {}).get("ranking"):
        click.echo(
            f"note: {version} has no held-out evaluation (trained with --no-evaluate): its "
            "answers say their order is untested; `recommender train --promote` evaluates one",
            err=True,
        )


@models.command("rollback")
@pass_settings
def models_rollback(obj: SettingsObj) -> None:
    """Promote the model that served before the current one (after loading and checking it)."""
    from recommender.model import artifacts
    from recommender.recommend import serving

    skipped: list[str] = []
    replaced: list[str] = []
    target = artifacts.rollback(
        obj.settings, check=serving.check(obj.settings), skipped=skipped, replaced=replaced
    )
    click.echo(f"rolled back to {target}" + "".join(f" (was {v})" for v in replaced))
    _trained_on(obj.settings, target)
    if skipped:  # promoted after it, their folders gone since: passed over, said so
        click.echo(
            f"passed over {len(skipped)} later version(s) the registry listed whose folders "
            f"are gone: {', '.join(skipped)}",
            err=True,
        )


def _trained_on(settings: Settings, version: str) -> None:
    """Say, when it is so, that the model now serving was trained on another register than
    the register as it is now (a model promoted from before an import, say): its scores were
    learnt without what changed since."""
    from recommender.model import artifacts
    from recommender.model.fit import register_hash
    from recommender.register import records as register

    trained = artifacts.metadata(version, settings).get("register") or {}
    arrangements, members = register.load_register(settings)
    now = register_hash(arrangements, members)
    if not trained.get("hash") or trained["hash"] == now:
        return
    size = trained.get("arrangements")
    was = f"{trained['hash'][:12]}" + (f", {int(size):,} arrangements" if size else "")
    click.echo(
        f"note: {version} was trained on another register ({was}) than the register now "
        f"({now[:12]}, {len(arrangements):,} arrangements): its scores were learnt without what "
        "changed since; `recommender train --promote` trains one on the register now",
        err=True,
    )


@models.command("ensure")
@pass_settings
def models_ensure(obj: SettingsObj) -> None:
    """Train and promote a model if none is promoted, or if the promoted one was trained
    under another service taxonomy than data/services.csv (used by `make model` and `make
    run`)."""
    from recommender.core.services import load_services
    from recommender.model import artifacts

    current = artifacts.promoted_version(obj.settings)
    if current is None:
        why = "no promoted model"
    else:
        context = artifacts.load(current, obj.settings).model.context
        drift = context.bodies.taxonomy_drift(context.services, load_services(obj.settings))
        if not drift:
            click.echo(f"promoted model {current} is in place")
            return
        why = (
            f"promoted model {current} was trained under another service taxonomy than "
            f"{obj.settings.data / 'services.csv'} ({'; '.join(drift)}), so it cannot answer "
            "for every service the pages offer"
        )
    click.echo(
        f"{why}: training one on the register (minutes: most of it the held-out evaluation)",
        err=True,
    )
    version, _ = train_and_save(obj.settings, None, promote=True, evaluate=True, seed=0)
    click.echo(f"trained and promoted {version}")


@click.command("recommend")
@click.argument("bodies", nargs=-1)
@click.option("--all", "all_bodies", is_flag=True, help="Recommend for every body.")
@click.option("--service", help="Only this service (an id from data/services.csv).")
@click.option(
    "--kinds", help="Partner kinds, comma-separated: council,fire,police,health,combined."
)
@click.option("--max-km", type=float, help="Only partners within this distance (km).")
@click.option(
    "--k", type=int, default=10, show_default=True, help=f"Suggestions per body (1 to {MAX_K})."
)
@click.option("--include-existing", is_flag=True, help="Also show partners already sharing it.")
@click.option(
    "--per-partner",
    type=int,
    default=PER_PARTNER,
    show_default=True,
    help="At most this many services per partner in each list.",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="expected",
    show_default=True,
    help="Rank by expected annual savings, by likelihood, or by savings if formed.",
)
@click.option(
    "--min-choice",
    type=click.FloatRange(0, 1),
    default=CHOICE_FLOOR,
    show_default=True,
    help="Leave out partners whose chance of being the one chosen, should the body share the "
    "service, is under this (0 shows every candidate).",
)
@output_format("table", "json", "csv")
@click.option(
    "--explain/--no-explain", default=None, help="Reasons and evidence (default: table/json)."
)
@click.option(
    "--scenario",
    help="Recommend as the map would be after this reorganisation scenario (see `recommender "
    "scenario list`): successors by code or name, every other body on the new map.",
)
@pass_settings
def recommend_cmd(
    obj: SettingsObj,
    bodies: tuple[str, ...],
    all_bodies: bool,
    service: str | None,
    kinds: str | None,
    max_km: float | None,
    k: int,
    include_existing: bool,
    per_partner: int,
    sort: str,
    min_choice: float,
    fmt: str,
    explain: bool | None,
    scenario: str | None,
) -> None:
    """Suggest partners and services for BODIES (codes or names), by expected annual savings
    (--format json: a list of the API's answers, one a body)."""
    from recommender.cli.partners import focal
    from recommender.recommend import readmodels
    from recommender.recommend.ranking import Query, Recommender

    if not bodies and not all_bodies:
        raise click.UsageError("name at least one body (code or name), or pass --all")
    if bodies and all_bodies:  # (which was meant is not for us to pick)
        raise click.UsageError(
            f"--all asks for every body, and {len(bodies)} body(ies) are named too "
            f"({', '.join(map(repr, bodies[:3]))}{', …' if len(bodies) > 3 else ''}): "
            "name the bodies, or pass --all"
        )
    rec = Recommender.load(obj.settings)
    if scenario is not None:
        rec = scenario_recommender(obj.settings, rec, scenario)
    if all_bodies:
        bodies = tuple(str(c) for c in rec.model.context.pairs.codes)
    # Read as the API reads them: kinds in any case, once each; a service's id in any case.
    kind_list = (
        tuple(dict.fromkeys(x.strip().lower() for x in kinds.split(",") if x.strip()))
        if kinds is not None
        else None
    )
    if service is not None:
        from recommender.core.services import check_service

        service = check_service(service, obj.settings)
    # Reasons cost a few milliseconds per suggestion; --all skips them unless asked.
    want = explain if explain is not None else (fmt != "csv" and not all_bodies)
    results = []
    for body in bodies:
        head = focal(rec, body, scenario, obj.settings)
        query = Query(
            head["code"], service, kind_list, max_km, k, include_existing, per_partner,
            min_choice, sort,
        )  # fmt: skip
        found = rec.recommend(query, explain=want)
        results.append((head, found))
    from recommender.render.charts import documented_sizes

    sizes = documented_sizes(rec.describe(), obj.settings)  # what the figures were learnt from
    if fmt == "json":
        asked = readmodels.recommend_query(
            service=service, kinds=kind_list, max_km=max_km, k=k,
            include_existing=include_existing, per_partner=per_partner, sort=sort,
            min_choice=min_choice, scenario=scenario,
        )  # fmt: skip
        echo_json(
            [
                readmodels.answer(
                    "recommendations",
                    b,
                    rec.version,
                    asked,
                    found,
                    scenario,
                    rec.cautions(str(b["kind"]), kind_list, service, asked=kind_list, sort=sort)
                    if found
                    else [],  # no suggestion: no order to trust
                    sizes,
                )
                for b, found in results
            ]
        )
    elif fmt == "csv":
        for b, _ in results:
            if b.get("note"):
                click.echo(b["note"], err=True)
        # How far to trust the order, as the API says it for the list asked: on its rows.
        _write_csv(
            [
                (
                    b,
                    found,
                    rec.cautions(str(b["kind"]), kind_list, service, asked=kind_list, sort=sort),
                )
                for b, found in results
            ],
            sizes,
        )
    else:
        for b, found in results:
            shown = {r.partner_kind for r in found}  # how far to trust the order: for these
            _print_table(
                b,
                found,
                model_words(rec.version, scenario),
                rec.cautions(b["kind"], shown, service, asked=kind_list, sort=sort),
                rec.coverage,
            )
        if any(not r.existing for _, found in results for r in found):  # once, not a table each
            from recommender.model.horizon import (
                HORIZON_YEARS,
                LIKELIHOOD_SIDE,
                LIKELIHOOD_UNCHECKED,
            )

            click.echo(
                f"\nThe likelihood: the chance that the two share the service within "
                f"{HORIZON_YEARS} years, {LIKELIHOOD_SIDE}. {LIKELIHOOD_UNCHECKED}"
            )
        if sizes and any(found for _, found in results):
            click.echo(f"\nThe figures if formed. {sizes}")
        if any(found for _, found in results):
            from recommender.model.verdicts import measured_coverage

            held = measured_coverage(rec.describe().get("evaluation") or {})
            if held is not None:  # what the range held on real figures it was not fitted to
                click.echo(
                    f"The {rec.coverage:.0%} range: on real arrangements held out from "
                    f"training, {held:.0%} of the recorded savings fell inside it."
                )


def _write_csv(
    results: list[tuple[dict[str, str], list[Any], list[dict[str, Any]]]], sizes: str | None
) -> None:
    """Each body's suggestions, one row each; ``caution``: how far to trust the order for the
    row's pair kind (the sentence the page says; empty when its pair kind has none);
    ``savings_note``: what the figures if formed were learnt from (``sizes``, on every row)."""
    from recommender.model.patterns import pair_kind
    from recommender.model.verdicts import trust_said
    from recommender.register.files import spreadsheet_cell

    columns = [
        "body_code",
        "body_name",
        "rank",
        "partner_code",
        "partner_name",
        "partner_kind",
        "service",
        "likelihood",
        "expected_savings_gbp",
        "savings_gbp",
        "savings_low_gbp",
        "savings_high_gbp",
        "savings_held_at",
        "distance_km",
        "existing",
        "caution",
        "savings_note",
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for body, found, cautions in results:
        said = {str(c["pair_kind"]): trust_said([c]) for c in cautions}
        for rank, r in enumerate(found, 1):
            row = {
                "body_code": body["code"],
                "body_name": body["name"],
                "rank": rank,
                **r.to_dict(),
                "caution": said.get(
                    pair_kind(str(body["kind"]), r.partner_kind), said.get("all", "")
                ),
                "savings_note": sizes or "",
            }
            # Meant for a spreadsheet: text that would run as a formula is quoted.
            writer.writerow(
                {k: spreadsheet_cell(v) if isinstance(v, str) else v for k, v in row.items()}
            )
    click.echo(buffer.getvalue(), nl=False)


EVIDENCE_SHOWN = 3  # comparable arrangements a table names under each suggestion


def _print_table(
    body: dict[str, str],
    found: list[Any],
    version: str,
    cautions: list[dict[str, Any]],
    coverage: float,
) -> None:
    from recommender.model.explain import DIRECTION_WORDS, MARKERS, whole_km
    from recommender.render.charts import money

    click.echo(f"\n{body['name']} ({body['code']}) — {version}")
    if body.get("note"):
        click.echo(body["note"])
    if not found:
        click.echo("  no suggestions match these filters")
        return
    rows = []
    for rank, r in enumerate(found, 1):
        likelihood = "already sharing" if r.existing else percent(r.likelihood)
        if r.existing_through:  # "already sharing, only through Somerset County Council, now gone"
            likelihood += f", {r.existing_through}"
        expected = "" if r.existing else money(r.expected_savings_gbp)
        rows.append(
            [
                rank,
                r.partner_name,
                r.service_label,
                likelihood,
                expected,
                f"{money(r.savings_gbp)}{HELD_MARK.get(r.savings_held_at or '', '')}"
                f" ({money(r.savings_low_gbp)}–{money(r.savings_high_gbp)})",
                whole_km(r.distance_km),
            ]
        )
    echo_table(
        rows,
        [
            "#",
            "partner",
            "service",
            "likelihood",
            "expected",
            f"if formed ({coverage:.0%} range)",
            "km",
        ],
    )
    for held in dict.fromkeys(r.savings_held_at for r in found if r.savings_held_at):
        click.echo(f"  {HELD_MARK[held]} {held_note(held)}")
    legend = False
    for rank, r in enumerate(found, 1):
        if r.reasons:
            why = "; ".join(f"{x.marker} {x.text}" for x in r.reasons)
            click.echo(f"  {rank}. {why}")
            legend = True
        if r.evidence:  # the comparable real arrangements behind it, by name and id
            shown = [f"{e['name']} ({e['id']})" for e in r.evidence[:EVIDENCE_SHOWN]]
            more = len(r.evidence) - len(shown)
            tail = f"; and {more} more" if more > 0 else ""
            where = " " * len(str(rank)) + " " if r.reasons else f"{rank}."  # its rank, once
            click.echo(f"  {where} comparable: {'; '.join(shown)}{tail}")
    if legend:
        words = ", ".join(f"{MARKERS[d]} {w}" for d, w in DIRECTION_WORDS.items())
        click.echo(f"  ({words}; against the body's other candidates)")
    if any(r.evidence for r in found):
        click.echo(
            "  (comparable: documented arrangements like it; `register show ID` for each, with "
            "its source)"
        )
    if cautions:
        from recommender.model.verdicts import trust_said

        click.echo(f"  How far to trust the order. {trust_said(cautions)}")
