"""``recommender bodies``: find, show and list public bodies."""

from __future__ import annotations

from typing import Any

import click
import pandas as pd

from recommender.cli._common import (
    SettingsObj,
    echo_json,
    echo_table,
    pass_settings,
    service_labels,
)
from recommender.core.errors import InvalidInput
from recommender.core.names import closest
from recommender.reference import lookup as reference
from recommender.reference.lookup import TIER_NAMES
from recommender.register import records as reg

KIND = click.Choice(reference.KINDS)


@click.group("bodies")
def bodies() -> None:
    """Find, show and list councils, fire, police, NHS bodies and combined authorities."""


@bodies.command("search")
@click.argument("query")
@click.option("--kind", type=KIND, default=None, help="Only bodies of this kind.")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_settings
def search_command(
    obj: SettingsObj, query: str, kind: str | None, limit: int, as_json: bool
) -> None:
    """Find bodies by any name, alias or code, best match first."""
    found = reference.search(query, limit=limit, kind=kind, settings=obj.settings)
    table = reference.load_bodies(obj.settings)
    rows = [_hit(hit, table) for hit in found]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        raise click.ClickException(f"no public body matches {query!r}")
    echo_table(
        [[r["codes"], r["display_name"], r["kind"], r["matched"], r["note"]] for r in rows],
        ["code", "name", "kind", "matched", "note"],
    )


def _hit(hit: reference.Resolution, table: pd.DataFrame) -> dict[str, Any]:
    return {
        "codes": " + ".join(hit.codes),
        "display_name": " + ".join(str(table.at[c, "display_name"]) for c in hit.codes),
        "kind": str(table.at[hit.codes[0], "kind"]),
        "matched": hit.matched,
        "alias_type": hit.alias_type,
        "former_code": hit.former_code,
        "note": hit.note,
        "score": round(hit.score, 1),
    }


@bodies.command("show")
@click.argument("code_or_name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@pass_settings
def show_command(obj: SettingsObj, code_or_name: str, as_json: bool) -> None:
    """Show a body's facts, how its fire service is governed, its neighbours, the bodies it
    sits inside and its documented arrangements."""
    settings = obj.settings
    found = reference.resolve(code_or_name, settings=settings)
    facts = reference.body(code_or_name, settings=settings)
    near = reference.neighbours(facts["code"], settings=settings, kind=facts["kind"])
    inside = reference.containers(facts["code"], settings=settings)
    arrangements = reg.query(reg.Filters(body=facts["code"]), settings=settings)
    if as_json:
        echo_json(
            {
                "body": facts,
                "resolution": {"matched": found.matched, "alias_type": found.alias_type,
                               "note": found.note},
                "neighbours": near.to_dict("records"),
                "within": inside.to_dict("records"),
                "arrangements": arrangements,
            }
        )  # fmt: skip
        return
    note = reference.former_note(code_or_name, facts["code"], settings) or found.note
    if note:
        click.echo(note)
    click.echo(f"{facts['display_name']} ({facts['code']})")
    for line in _summary(facts):
        click.echo(f"  {line}")
    governance = facts["governance"]
    if governance:
        # Facts about the body, not partnerships: a fire service a council runs is part of it.
        click.echo("\nFire and rescue governance")
        for fact in governance:
            click.echo(f"  {fact['text']} (source: {fact['source_url']})")
    click.echo(f"\nNeighbours ({len(near)}, sharing a border, longest first)")
    echo_table(
        [
            [str(n["display_name"]), TIER_NAMES.get(str(n["tier"]), ""), round(n["border_km"], 1)]
            for n in near.to_dict("records")
        ],
        ["name", "type", "border km"],
    )
    click.echo(f"\nLies within or overlaps ({len(inside)})")
    echo_table(
        [
            [str(c["display_name"]), TIER_NAMES.get(str(c["tier"]), ""), str(c["relation"])]
            for c in inside.to_dict("records")
        ],
        ["name", "type", "relation"],
    )
    labels = service_labels(settings)
    click.echo(f"\nDocumented arrangements ({len(arrangements)}, each with its public source)")
    echo_table(
        [
            [a["id"], a["name"], labels.get(a["service"], a["service"]), str(a["start_year"] or "")]
            for a in arrangements
        ],
        ["id", "name", "service", "start"],
        widest={"name": 60},
    )


def _summary(facts: dict[str, Any]) -> list[str]:
    """The body in a few lines of words: what it is, its people, area and deprivation."""
    kind = TIER_NAMES.get(str(facts["tier"]), str(facts["tier"]))
    region = str(facts["region"])
    where = region if region == "London" else f"the {region}"
    lines = [f"{kind[:1].upper()}{kind[1:]} in {where}"]
    if facts.get("name") and facts["name"] != facts["display_name"]:
        lines.append(f"ONS name: {facts['name']}")
    if facts.get("population"):
        people = f"Population {facts['population']:,} (mid-2022)"
        if facts.get("area_km2"):
            people += f"; {facts['area_km2']:,.0f} km², {facts['density']:,.0f} people per km²"
        lines.append(people)
    if facts.get("rural_urban"):
        lines.append(f"Rural-urban class: {facts['rural_urban']}")
    if facts.get("imd_decile"):
        lines.append(f"Deprivation: decile {facts['imd_decile']} of 10 (1 is the most deprived)")
    return lines


@bodies.command("list")
@click.option("--kind", type=KIND, default=None, help="Only bodies of this kind.")
@click.option("--region", default=None, help="Region name or code (e.g. 'South West').")
@click.option("--county", default=None, help="County name or code: list its districts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_settings
def list_command(
    obj: SettingsObj, kind: str | None, region: str | None, county: str | None, as_json: bool
) -> None:
    """List bodies, optionally by kind, region or county."""
    settings = obj.settings
    table = reference.load_bodies(settings)
    if kind:
        table = table[table["kind"] == kind]
    if region:
        table = table[_region_mask(table, region, reference.load_bodies(settings))]
    if county:
        code = reference.resolve(county, kind="council", settings=settings).codes[0]
        table = table[table["county_code"] == code]
    columns = ["code", "display_name", "kind", "tier", "region", "population"]
    if as_json:
        echo_json(table[columns].to_dict("records"))
        return
    echo_table(table[columns].values.tolist(), ["code", "name", "kind", "tier", "region", "pop"])


def _region_mask(table: pd.DataFrame, region: str, every: pd.DataFrame) -> pd.Series:
    wanted = region.strip().lower()
    names = sorted(set(every["region"]))
    codes = {n.lower(): c for n, c in zip(every["region"], every["region_code"], strict=True)}
    code = codes.get(wanted, region.strip().upper())
    if code not in set(every["region_code"]):
        raise InvalidInput(
            f"unknown region {region!r}", field="region", suggestions=closest(region, names, 3)
        )
    return pd.Series(table["region_code"] == code)
