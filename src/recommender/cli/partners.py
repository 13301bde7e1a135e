"""``recommender groups`` and ``recommender join``: partner groups and arrangements to join,
the API's ``/bodies/<body>/groups`` and ``/bodies/<body>/arrangements-to-join`` (the same JSON
with ``--format json``)."""

from __future__ import annotations

from typing import Any

import click

from recommender.cli._common import (
    SettingsObj,
    echo_json,
    echo_table,
    model_words,
    output_format,
    pass_settings,
)
from recommender.core import services
from recommender.core.config import Settings
from recommender.recommend import readmodels
from recommender.recommend.query import MAX_K
from recommender.recommend.readmodels import HELD_MARK, held_note
from recommender.reference import lookup as reference
from recommender.render.charts import percent

SCENARIO_HELP = (
    "Answer as the map would be after this reorganisation scenario (see `recommender scenario "
    "list`): successors by code or name, every other body on the new map."
)


def load_model(settings: Settings, scenario: str | None) -> Any:
    """The promoted model, answering on a scenario's map if one is named."""
    from recommender.cli._common import scenario_recommender
    from recommender.recommend.ranking import Recommender

    rec = Recommender.load(settings)
    return rec if scenario is None else scenario_recommender(settings, rec, scenario)


def focal(rec: Any, body: str, scenario: str | None, settings: Settings) -> dict[str, Any]:
    """The body an answer is about, as the API heads its answers (with a note when ``body``
    names an abolished council, or on a scenario's map a council that joins a successor)."""
    note: str | None = None
    if scenario is None:
        code = str(rec.model.context.pairs.codes[rec.body_position(body)])
        found = readmodels.body_summary(reference.body(code, settings))
    else:
        from recommender.scenario import report

        code, note = report.answering(rec.world, body)
        found = readmodels.body_summary(rec.place(code).facts)
    if note := note or reference.name_note(body, code, settings):
        found["note"] = note  # say whose answer this is
    return found


@click.command("groups")
@click.argument("body")
@click.option("--service", required=True, help="A service id (from data/services.csv).")
@click.option(
    "--max-size",
    type=click.IntRange(2, 4),
    default=4,
    show_default=True,
    help="Largest group, the body included.",
)
@click.option("--k", type=click.IntRange(1, MAX_K), default=5, show_default=True, help="Groups.")
@click.option("--scenario", help=SCENARIO_HELP)
@output_format("table", "json")
@pass_settings
def groups_cmd(
    obj: SettingsObj, body: str, service: str, max_size: int, k: int, scenario: str | None, fmt: str
) -> None:
    """Suggest the best groups of 2–4 bodies around BODY to share a service."""
    from recommender.render.charts import money

    settings = obj.settings
    checked = services.check_service(service, settings)
    rec = load_model(settings, scenario)
    head = focal(rec, body, scenario, settings)
    found = rec.groups(head["code"], checked, max_size=max_size, k=k)
    if fmt == "json":
        query = {"service": service, "max_size": max_size, "k": k}
        query |= {"scenario": scenario} if scenario is not None else {}
        echo_json(readmodels.answer("groups", head, rec.version, query, found, scenario))
        return
    if head.get("note"):  # whose answer this is (an abolished council, a council joined)
        click.echo(head["note"])
    click.echo(f"{head['name']} ({head['code']}) — {model_words(rec.version, scenario)}")
    echo_table(
        [
            [
                ", ".join(m["name"] for m in g.members),
                money(g.savings_gbp) + HELD_MARK.get(g.savings_held_at or "", ""),
                f"{money(g.savings_low_gbp)}–{money(g.savings_high_gbp)}",
                money(g.savings_per_partner_gbp),
                percent(g.likelihood),
            ]
            for g in found
        ],
        [
            "group",
            "estimated savings",
            f"{rec.coverage:.0%} range",
            "even share each",
            "likelihood",
        ],
    )
    for held in dict.fromkeys(g.savings_held_at for g in found if g.savings_held_at):
        click.echo(f"{HELD_MARK[held]} {held_note(held)}")
    if found:  # (not what each would save: a small member brings little of it)
        click.echo(
            "estimated savings: the model's estimate of the whole group's if formed; the even "
            "share divides them by its members; likelihood: that of the least likely of the "
            "body's pairs in the group (all of them forming it is no likelier); groups are "
            "listed by their likelihood times the even share"
        )


@click.command("join")
@click.argument("body")
@click.option("--service", help="Only this service (an id from data/services.csv).")
@click.option("--k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="Options.")
@click.option("--scenario", help=SCENARIO_HELP)
@output_format("table", "json")
@pass_settings
def join_cmd(
    obj: SettingsObj, body: str, service: str | None, k: int, scenario: str | None, fmt: str
) -> None:
    """Suggest existing arrangements BODY could join, best first."""
    from recommender.render.charts import money

    settings = obj.settings
    checked = service and services.check_service(service, settings)
    rec = load_model(settings, scenario)
    head = focal(rec, body, scenario, settings)
    found = rec.arrangements_to_join(head["code"], checked, k=k)
    if fmt == "json":
        query = {"service": service, "k": k}
        query |= {"scenario": scenario} if scenario is not None else {}
        echo_json(readmodels.answer("options", head, rec.version, query, found, scenario))
        return
    if head.get("note"):  # whose answer this is (an abolished council, a council joined)
        click.echo(head["note"])
    click.echo(f"{head['name']} ({head['code']}) — {model_words(rec.version, scenario)}")
    echo_table(
        [
            [
                o.arrangement["id"],
                o.arrangement["name"],
                percent(o.likelihood),
                money(o.savings_per_partner_gbp),
                o.reason,
            ]
            for o in found
        ],
        ["id", "arrangement", "likelihood", "a member (estimated)", "why"],
        widest={"arrangement": 40},
    )
