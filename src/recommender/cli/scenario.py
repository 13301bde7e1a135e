"""``recommender scenario``: make, list, show and delete reorganisation scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender.cli._common import SettingsObj, echo_json, echo_table, output_format, pass_settings
from recommender.recommend import readmodels


@click.group("scenario")
def scenario() -> None:
    """Local government reorganisation: successor unitaries made of today's councils."""


@scenario.command("create")
@click.argument("name")
@click.option(
    "--from",
    "froms",
    multiple=True,
    metavar="CODE,CODE,…",
    help="The councils (codes or names, comma-separated) one successor is made of; repeat for "
    "each successor. A county stands for all its districts.",
)
@click.option(
    "--name",
    "names",
    multiple=True,
    help="The successor's name, one per --from in the same order (default: its councils').",
)
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the successors from a JSON or CSV file instead (see the README).",
)
@click.option("--description", default="", help="What the scenario is (a proposal, its date).")
@output_format("table", "json")
@pass_settings
def create_cmd(
    obj: SettingsObj,
    name: str,
    froms: tuple[str, ...],
    names: tuple[str, ...],
    path: Path | None,
    description: str,
    fmt: str,
) -> None:
    """Check scenario NAME and store it (all or nothing: every problem is listed)."""
    from recommender.database import db
    from recommender.scenario import define, store

    if bool(froms) == bool(path):
        raise click.UsageError("give the successors with --from (and --name), or with --file")
    if path is not None and names:
        raise click.UsageError("--name goes with --from; a file names its successors itself")
    draft = (
        define.read_file(path, name, description)
        if path is not None
        else define.from_options(name, froms, names, description)
    )
    with db.connect(obj.settings) as engine:
        definition = store.create(engine, draft, obj.settings)
    shown = _report(obj, definition)
    if fmt == "json":
        echo_json(shown)
        return
    gone = [b for b in shown["leaves_map"] if b["tier"] == "county"]
    click.echo(
        f"created scenario {definition.name}: {len(definition.successors)} successor(s) from "
        f"{sum(len(s.councils) for s in definition.successors)} council(s)"
        + (f"; abolished: {', '.join(b['name'] for b in gone)}" if gone else "")
    )
    _print(shown)


@scenario.command("list")
@output_format("table", "json")
@pass_settings
def list_cmd(obj: SettingsObj, fmt: str) -> None:
    """List the stored scenarios."""
    from recommender.database import db
    from recommender.scenario import store

    with db.connect(obj.settings) as engine:
        found = store.summaries(engine)
    if fmt == "json":
        echo_json(readmodels.scenario_list(found))  # as the API's /scenarios
        return
    if not found:
        click.echo("no scenarios yet; make one with `recommender scenario create`")
        return
    echo_table(
        [
            [s.name, s.successors, s.councils, s.created_at.date().isoformat(), s.description]
            for s in found
        ],
        ["name", "successors", "councils", "created", "description"],
    )


@scenario.command("show")
@click.argument("name")
@output_format("table", "json")
@pass_settings
def show_cmd(obj: SettingsObj, name: str, fmt: str) -> None:
    """Show a scenario: its successors' facts, what leaves the map, what happens to the real
    arrangements."""
    from recommender.database import db
    from recommender.scenario import store

    with db.connect(obj.settings) as engine:
        definition = store.load(engine, name)
    shown = _report(obj, definition)
    if fmt == "json":
        echo_json(shown)
        return
    _print(shown)


@scenario.command("delete")
@click.argument("name")
@pass_settings
def delete_cmd(obj: SettingsObj, name: str) -> None:
    """Delete a scenario (the reference data and the models are never changed by one)."""
    from recommender.database import db
    from recommender.scenario import store

    with db.connect(obj.settings) as engine:
        store.delete(engine, name)
    click.echo(f"deleted scenario {name}")


def _report(obj: SettingsObj, definition: Any) -> dict[str, Any]:
    from recommender.register import records as reg
    from recommender.scenario.report import report
    from recommender.scenario.world import derive

    records = reg.query(reg.Filters(origin="real"), settings=obj.settings)
    return report(derive(definition, obj.settings), records)


def _print(shown: dict[str, Any]) -> None:
    from recommender.register.records import not_running_said

    click.echo(
        f"\nScenario {shown['name']}"
        + (f": {shown['description']}" if shown["description"] else "")
    )
    rows = [
        [
            s["code"],
            s["display_name"],
            s["population"],
            s["area_km2"],
            s["density"],
            s["imd_decile"],
            s["rural_urban"],
            ", ".join(readmodels.formed_names(s["formed_from"])),
        ]
        for s in shown["successors"]
    ]
    echo_table(
        rows,
        [
            "code",
            "successor",
            "population",
            "km²",
            "per km²",
            "IMD decile",
            "rural-urban",
            "formed from",
        ],
    )
    click.echo("\nWhere each sits (fire, police, NHS and combined-authority areas)")
    echo_table(
        [
            [s["display_name"], c["display_name"], c["relation"]]
            for s in shown["successors"]
            for c in s["sits_in"]
        ],
        ["successor", "area", "relation"],
    )
    for note in shown["notes"]:
        click.echo(f"note: {note}")
    arrangements = shown["arrangements"]
    internal, carried = arrangements["internal"], arrangements["carried_over"]
    history = not_running_said(internal).replace(" (", "; ").rstrip(")")
    click.echo(
        f"\nDocumented arrangements that become internal ({len(internal)}: not "
        f"partnerships{history})"
    )
    echo_table(_outcome_rows(internal, "members_before"), [*_OUTCOME, "members today"])
    click.echo(
        f"\nDocumented arrangements carried over to successors ({len(carried)}"
        f"{not_running_said(carried).replace(' (', ', ').rstrip(')')}; "
        f"{arrangements['unchanged']} others unchanged)"
    )
    echo_table(_outcome_rows(carried, "members_after"), [*_OUTCOME, "members in the scenario"])


_OUTCOME = ["id", "name", "service", "years"]


def _outcome_rows(outcomes: list[dict[str, Any]], members: str) -> list[list[Any]]:
    """What happens to each arrangement, a row each: when it ran and its ``members`` (today's,
    or those on the scenario's map)."""
    from recommender.register.records import years_said

    return [
        [a["id"], a["name"], a["service"], years_said(a, short=True) or "—", _members(a, members)]
        for a in outcomes
    ]


def _members(outcome: dict[str, Any], key: str) -> str:
    """Its members (today's each as the member it was), then those outside the reference."""
    field = "label" if key == "members_before" else "name"
    others = outcome["external_names"] or (  # (named where the register gives their names)
        [f"{outcome['external_members']} other organisation(s)"]
        if outcome["external_members"]
        else []
    )
    return ", ".join([*(m[field] for m in outcome[key]), *others])
