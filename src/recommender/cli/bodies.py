"""``recommender bodies``: find, show and list public bodies."""

from __future__ import annotations

from typing import Any

import click

from recommender.cli._common import (
    SettingsObj,
    echo_json,
    echo_table,
    output_format,
    pass_settings,
    service_labels,
)
from recommender.core.errors import UnknownBody
from recommender.core.kinds import KIND_PLURALS, in_sentence, tier_name
from recommender.core.names import and_list
from recommender.model.explain import border_length
from recommender.recommend import readmodels
from recommender.reference import lookup as reference
from recommender.register import records as reg

KIND = click.Choice(reference.KINDS)


@click.group("bodies")
def bodies() -> None:
    """Find, show and list councils, fire, police, NHS bodies and combined authorities."""


@bodies.command("search")
@click.argument("query")
@click.option("--kind", type=KIND, default=None, help="Only bodies of this kind.")
@click.option(
    "--limit", type=click.IntRange(1, 50), default=10, show_default=True, help="At most N matches."
)
@output_format("table", "json")
@pass_settings
def search_command(obj: SettingsObj, query: str, kind: str | None, limit: int, fmt: str) -> None:
    """Find bodies by any name, alias or code, best match first."""
    found = readmodels.search(query, obj.settings, limit=limit, kind=kind)
    if fmt == "json":
        echo_json(found)
        return
    rows = found["results"]
    if not rows:  # (exit 2, as every other name that matches none)
        among = f" among the {KIND_PLURALS[kind]}" if kind else ""
        said = reference.unknown_code_said(query) if not kind else None
        raise UnknownBody(said or f"no public body{among} matches {query!r}", field="query")
    echo_table(
        [
            [" + ".join(r["codes"]), r["display_name"], r["kind"], r["matched"], r["note"]]
            for r in rows
        ],
        ["code", "name", "kind", "matched", "note"],
    )


@bodies.command("show")
@click.argument("code_or_name")
@click.option(
    "--scenario",
    help="Show the body as it would be on the map after this reorganisation scenario (see "
    "`recommender scenario list`): a new unitary by code or name, or any other body.",
)
@output_format("table", "json")
@pass_settings
def show_command(obj: SettingsObj, code_or_name: str, scenario: str | None, fmt: str) -> None:
    """Show a body's facts, how its fire service is governed, its neighbours, the bodies it
    sits inside and those inside it, and its documented arrangements."""
    settings = obj.settings
    if scenario is None:
        found = reference.resolve(code_or_name, settings=settings)
        facts = reference.body(code_or_name, settings=settings)
        near = reference.neighbours(facts["code"], settings=settings, kind=facts["kind"])
        inside = reference.containers(facts["code"], settings=settings)
        neighbours, containers = near.to_dict("records"), inside.to_dict("records")
        covers = reference.contents(facts["code"], settings=settings).to_dict("records")
        in_register = reg.query(reg.Filters(body=facts["code"]), settings=settings)
        note = reference.name_note(code_or_name, facts["code"], settings) or found.note
        resolution = readmodels.resolution(found, note)
    else:  # as the API answers with ?scenario= (a council that joins a new unitary: its page)
        place, note = _on_scenario_map(settings, scenario, code_or_name)
        facts, neighbours, containers = place.facts, place.neighbours, place.containers
        covers = place.contents
        resolution = {"matched": facts["code"], "alias_type": "scenario", "note": note}
        in_register = place.arrangements
    arrangements, merged = reg.partnerships_of(in_register, str(facts["code"]))
    fire = None if scenario is not None else readmodels.fire_authority(str(facts["code"]), settings)
    if fmt == "json":
        echo_json(
            readmodels.body_detail(
                facts, resolution, neighbours, containers, arrangements, scenario=scenario,
                merged=merged, contents=covers,
                fire_authority=readmodels.fire_authority_json(fire),
            )
        )  # fmt: skip
        return
    if note:
        click.echo(note)
    click.echo(f"{facts['display_name']} ({facts['code']})")
    for line in _summary(facts):
        click.echo(f"  {line}")
    governance = facts["governance"]
    if governance:
        # Facts about the body, not partnerships: a fire service a council runs is part of it.
        police = facts["kind"] in ("police", "combined")  # its governor, not its fire service's
        click.echo("\nGovernance" if police else "\nFire and rescue governance")
        for fact in governance:
            click.echo(f"  {fact['text']} (source: {fact['source_url']})")
    if neighbours:
        click.echo(f"\nNeighbours ({len(neighbours)}, sharing a border, longest first)")
        echo_table(
            [
                [
                    str(n["display_name"]),
                    tier_name(str(n["tier"]), str(n["code"])),
                    border_length(float(n["border_km"])),
                ]
                for n in neighbours
            ],
            ["name", "type", "border"],
        )
    else:  # (an island: no table of none)
        click.echo("\nNeighbours: none shares a border with it")
    if containers:  # a combined authority's area lies within no other body's
        click.echo(f"\nLies within or overlaps ({len(containers)})")
        echo_table(
            [
                [
                    str(c["display_name"]),
                    tier_name(str(c["tier"]), str(c["code"])),
                    str(c["relation"]),
                ]
                for c in containers
            ],
            ["name", "type", "relation"],
        )
    if covers:  # a county's districts, the councils in a fire, police or NHS board's area
        click.echo(f"\nCovers ({len(covers)}, each wholly within it)")
        echo_table(
            [[str(c["display_name"]), tier_name(str(c["tier"]), str(c["code"]))] for c in covers],
            ["name", "type"],
        )
    labels = service_labels(settings)
    if arrangements:
        said = reg.sources_said(arrangements)
        click.echo(f"\nDocumented arrangements ({len(arrangements)}, {said})")
        _arrangements_table(arrangements, labels, str(facts["code"]))
    else:
        click.echo("\nDocumented arrangements: none")
    if fire is not None and fire["arrangements"]:  # the fire authority it is: as its page says
        n = len(fire["arrangements"])
        click.echo(
            f"\n{facts['display_name']} is also the fire and rescue authority for its area, its "
            f"fire service part of it: {n} documented arrangement{'s name' if n != 1 else ' names'}"
            f" that service, listed under the {fire['name']} ({fire['code']}):"
        )
        _arrangements_table(fire["arrangements"], labels, str(fire["code"]))
    if merged:
        named = in_sentence(str(facts["display_name"]), str(facts["kind"]))
        click.echo(f"\n{reg.merged_said(named, merged)}:")
        _arrangements_table(merged, labels, str(facts["code"]))


def _on_scenario_map(settings: Any, scenario: str, code_or_name: str) -> tuple[Any, str]:
    """The body on the scenario's map and what to say of it (a council that joins one new
    unitary is shown as that unitary, saying so)."""
    from recommender.cli._common import scenario_world
    from recommender.scenario import report

    world = scenario_world(settings, scenario)
    code, joined = report.answering(world, code_or_name)
    place = report.place(world, code)
    return place, place.note if joined is None else f"{joined} {place.note}"


def _arrangements_table(arrangements: list[Any], labels: dict[str, str], code: str) -> None:
    """The arrangements, each with the bodies now gone through which ``code`` is in it, when
    it is in it only through them ("East Northamptonshire Council" for North
    Northamptonshire)."""
    rows = [
        [
            a["id"],
            a["name"],
            labels.get(a["service"], a["service"]),
            reg.years_said(a, short=True),
            and_list(reg.through_former(a, code)),
        ]
        for a in arrangements
    ]
    through = any(r[-1] for r in rows)
    echo_table(
        [r if through else r[:-1] for r in rows],
        ["id", "name", "service", "years", *(["only through (predecessors)"] if through else [])],
        widest={"name": 60},
    )


def _summary(facts: dict[str, Any]) -> list[str]:
    """The body in a few lines of words: what it is, its people, area and deprivation."""
    kind = tier_name(str(facts["tier"]), str(facts["code"]))
    region = str(facts["region"])
    where = region if region in ("London", "Yorkshire and The Humber") else f"the {region}"
    lines = [f"{kind[:1].upper()}{kind[1:]} in {where}"]
    if facts.get("name") and facts["name"] != facts["display_name"]:
        lines.append(f"ONS name: {facts['name']}")
    if facts.get("population"):
        people = f"Population {facts['population']:,} (mid-2022)"
        if facts.get("population_note"):
            people += f" ({facts['population_note']})"
        if facts.get("area_km2"):
            people += f"; {facts['area_km2']:,.0f} km²" + (
                f" ({facts['area_note']})"
                if facts.get("area_note")
                else f", {facts['density']:,.0f} people per km²"
            )
        lines.append(people)
    if facts.get("rural_urban"):
        lines.append(f"Rural-urban class: {facts['rural_urban']}")
    if facts.get("imd_decile"):
        said = f" ({facts['deprivation_note']})" if facts.get("deprivation_note") else ""
        lines.append(
            f"Deprivation: decile {facts['imd_decile']} of 10 (1 is the most deprived){said}"
        )
    return lines


@bodies.command("list")
@click.option("--kind", type=KIND, default=None, help="Only bodies of this kind.")
@click.option("--region", default=None, help="Region name or code (e.g. 'South West').")
@click.option("--county", default=None, help="County name or code: list its districts.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N bodies [default: all].")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip N bodies first.")
@output_format("table", "json")
@pass_settings
def list_command(
    obj: SettingsObj,
    kind: str | None,
    region: str | None,
    county: str | None,
    limit: int | None,
    offset: int,
    fmt: str,
) -> None:
    """List bodies, optionally by kind, region or county (a page of them with --limit and
    --offset, as the API pages)."""
    page = readmodels.body_page(
        obj.settings, kind=kind, region=region, county=county, limit=limit, offset=offset
    )
    if fmt == "json":
        echo_json(page)
        return
    columns = ["code", "name", "kind", "tier", "region", "population"]
    echo_table(
        [[b[c] for c in columns] for b in page["bodies"]],
        ["code", "name", "kind", "tier", "region", "pop"],
    )
