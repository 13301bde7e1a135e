"""``recommender register …``: import, export and inspect the register of arrangements."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from recommender.cli._common import (
    SettingsObj,
    echo_json,
    echo_table,
    output_file,
    output_format,
    pass_settings,
    service_labels,
    shorten,
)
from recommender.core.config import Settings
from recommender.core.errors import DataError, ImportRejected, InvalidInput, UnknownBody
from recommender.core.numbers import MAX_OFFSET
from recommender.recommend import readmodels
from recommender.reference import lookup as reference
from recommender.register import records as reg
from recommender.register.files import atomic_write, parse_columns, parse_fill
from recommender.render.charts import money
from recommender.simulation import calibration
from recommender.simulation.default_register import (
    SIMULATED_FORMATS,
    simulate_register,
    simulated_text,
)
from recommender.simulation.default_register import build_default as build
from recommender.simulation.patterns_compare import PatternsReport
from recommender.simulation.process import DEFAULT_SEED, DEFAULT_SIZE

MAX_SIMULATED = 20_000
MARKS = {"ok": "✓", "outside": "✗"}
PUBLISHED_WIDTH = 40
NAME_WIDTH, PARTNERS_WIDTH = 34, 46  # register list fits a terminal of 140 columns


@click.group("register")
def register() -> None:
    """Import, export and inspect the register of shared-service arrangements."""


def _filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--service", help="Keep one service (an id from data/services.csv)."),
        click.option("--body", help="Keep arrangements with this body (code or any name)."),
        click.option("--region", help="Keep arrangements with a member in this region."),
        click.option(
            "--origin",
            type=click.Choice(reg.ORIGINS),
            default="real",
            show_default=True,
            help="real: the documented arrangements; simulated: the simulated training "
            "register (never real partnerships); all: both.",
        ),
        click.option(
            "--status",
            type=click.Choice(reg.STATUS_FILTERS),
            help="Keep arrangements by status as the answers read it: running (not said to "
            "have ended, nor only proposed, nor merged), ended (or past a limited term its "
            "source gives: said 'term passed'), proposed, or merged (between bodies that have "
            "all since become one).",
        ),
        click.option(
            "--order",
            type=click.Choice(list(reg.ORDERS)),
            default="id",
            show_default=True,
            help="List by id, name, newest (the latest start year first) or savings (the "
            "largest annual saving first); none given, last.",
        ),
        click.option(
            "--limit",
            type=click.IntRange(1, MAX_OFFSET),
            help="Keep at most N (the first in --order).",
        ),
        click.option(
            "--offset",
            type=click.IntRange(0, MAX_OFFSET),
            default=0,
            help="Skip the first N (in --order): with --limit, a page, as the API pages.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filters(
    service: str | None,
    body: str | None,
    region: str | None,
    origin: str,
    status: str | None,
    order: str,
    limit: int | None,
    offset: int = 0,
) -> reg.Filters:
    return reg.Filters(service, body, region, origin, limit, offset, status, order)


@register.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option(
    "--columns",
    metavar="'COLUMN=field; …'",
    help="Which field each of the file's columns holds, for a file in another tool's layout "
    "(the LGA's own export, say), e.g. 'Councils involved=partners; Service area=service'.",
)
@click.option(
    "--fill",
    metavar="'field=value; …'",
    help="A field's value for every row that leaves it empty, or whose file has no column for "
    "it, e.g. 'savings_basis=annual' for a file of annual savings (a figure's basis and years "
    "go only to the rows that give a figure).",
)
@click.option("--sheet", metavar="NAME", help="The workbook's sheet to read (an .xlsx file; the "
              "first sheet by default).")  # fmt: skip
@output_format("table", "json")
@pass_settings
def import_(
    obj: SettingsObj,
    file: Path,
    dry_run: bool,
    columns: str | None,
    fill: str | None,
    sheet: str | None,
    fmt: str,
) -> None:
    """Validate a register file (CSV, JSON or an .xlsx workbook) and add its new
    arrangements."""
    try:
        report = reg.import_file(
            file,
            dry_run=dry_run,
            settings=obj.settings,
            columns=parse_columns(columns) if columns else None,
            sheet=sheet,
            fill=parse_fill(fill) if fill else None,
        )
    except ImportRejected as err:
        if fmt != "json":
            raise
        echo_json(err.to_dict())
        raise SystemExit(2) from err
    if fmt == "json":
        echo_json(report.to_dict())
    else:
        click.echo(report.summary())


EXTENSIONS = {"json": ("geojson",), "geojson": ("json",)}  # also fitting a format


@register.command("export")
@output_format(
    *reg.EXPORT_FORMATS,
    default="csv",
    help="csv (the import layout), xlsx (the same, as an Excel workbook: needs --out), json, "
    "or geojson (members' centroids, WGS84).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.",
              callback=output_file)  # fmt: skip
@_filter_options
@pass_settings
def export(
    obj: SettingsObj,
    fmt: str,
    out: Path | None,
    service: str | None,
    body: str | None,
    region: str | None,
    origin: str,
    status: str | None,
    order: str,
    limit: int | None,
    offset: int,
) -> None:
    """Export the register (or part of it) as CSV, an Excel workbook, JSON or GeoJSON."""
    if fmt == "xlsx" and out is None:
        raise click.UsageError("an Excel workbook is not text to print: give --out FILE.xlsx")
    filters = _filters(service, body, region, origin, status, order, limit, offset)
    if out is not None and out.suffix.lower().lstrip(".") not in {fmt, *EXTENSIONS.get(fmt, ())}:
        click.echo(  # written as asked, but a .csv holding GeoJSON would mislead whoever opens it
            f"note: {out.name} will hold {fmt.upper()} (--format {fmt}), whatever its extension "
            f"says; name it *.{fmt} or give --format to match",
            err=True,
        )
    text = reg.export(fmt, out, filters=filters, settings=obj.settings)
    if out is None:
        click.echo(str(text), nl=False)
    else:
        click.echo(f"wrote {out}", err=True)


@register.command("list")
@_filter_options
@output_format("table", "json")
@pass_settings
def list_(
    obj: SettingsObj,
    service: str | None,
    body: str | None,
    region: str | None,
    origin: str,
    status: str | None,
    order: str,
    limit: int | None,
    offset: int,
    fmt: str,
) -> None:
    """List arrangements, optionally filtered by service, body, region, origin or status, in
    the order asked (a page of them with --limit and --offset, as the API pages)."""
    filters = _filters(service, body, region, origin, status, order, limit, offset)
    records = reg.query(filters, settings=obj.settings)
    # Named by a body gone, or a name other bodies have too: whose arrangements these are,
    # as the explorer and the API say ("Cumbria" listed none, and said nothing).
    note = body and _listed_note(body, obj.settings)
    if fmt == "json":
        total = reg.count(filters, settings=obj.settings)
        page = readmodels.arrangement_page(
            records, total=total, limit=limit, offset=offset, body_note=note or None
        )
        echo_json(page)
        return
    if note:
        click.echo(note)
    labels = service_labels(obj.settings)
    assumed = {r["id"]: _assumed(r) for r in records}
    rows = [
        [
            r["id"],
            r["name"],
            labels.get(r["service"], r["service"]),
            reg.years_said(r, short=True),  # ended ones say so, the year known or not
            _partners(r["members"]),
            "" if r["annual_savings_gbp"] is None else money(r["annual_savings_gbp"]),
            "simulated" if r["simulated"] else "real",
        ]
        for r in records
    ]
    for row in rows:  # a period the source does not give, marked and said under the table
        row[5] += " *" if assumed[row[0]] else ""
    headers = ["id", "name", "service", "years", "partners", "a year", "origin"]
    if origin == "real":  # every row is: no column needed to say so
        rows, headers = [row[:-1] for row in rows], headers[:-1]
    echo_table(rows, headers, widest={"name": NAME_WIDTH}, right=["a year"])
    said = sorted({note for note in assumed.values() if note})
    if said:
        click.echo(f"* {'; '.join(said)}")
    shown = len(records)
    # A page (--limit, --offset) says what it is a page of, as the JSON's total does.
    total = shown if limit is None and not offset else reg.count(filters, settings=obj.settings)
    if total == shown:
        counted = f"{shown} arrangement{'s' * (shown != 1)}"
    elif shown == 1:
        counted = f"arrangement {offset + 1:,} of {total:,}"
    elif shown:
        counted = f"arrangements {offset + 1:,} to {offset + shown:,} of {total:,}"
    else:
        click.echo(f"no arrangements: --offset {offset:,} is past the last of {total:,}", err=True)
        return
    click.echo(
        f"{counted}; names and partners cut to fit (register show "
        "ID, or --format json, for all of one)",
        err=True,
    )


def _listed_note(body: str, settings: Settings) -> str | None:
    """:func:`reference.listed_note` of the body the list was asked for (None for a name the
    reference does not know, or with no reference built: the register's own directory found
    it, and the list stands without the note)."""
    try:
        found = reference.resolve(body, settings=settings)
    except (UnknownBody, InvalidInput, DataError):
        return None
    return reference.listed_note(body, found, settings)


def _assumed(r: dict[str, Any]) -> str | None:
    """How the annual figure was read where the rule assumed a period the source does not
    give (None otherwise: none assumed, or read from the source's own words)."""
    if r["annual_savings_gbp"] is None or r["savings_gbp"] is None:
        return None
    if reg.savings_reading(str(r["name"]), r["savings_gbp"], bool(r["simulated"])) is not None:
        return None
    period, start = r["savings_period_years"], r["start_year"]
    if reg.annual_assumption(r["savings_basis"], period, start) is None:
        return None
    return reg.annualisation_note(r["savings_basis"], period, start)


def _partners(members: list[dict[str, Any]], width: int = PARTNERS_WIDTH) -> str:
    """As many partners as fit in ``width`` characters, and how many more: "Colchester,
    Braintree and 5 more" (``register show`` lists them all). With what became of former
    councils ("Waveney (now East Suffolk)") where that fits, else as the source names them."""
    best = ""
    labels = [p["label"] for p in reg.listed_partners(members)]
    given = [label.split(" (now ")[0] for label in labels]  # as the source names them
    for names in (labels, given):
        for shown in range(len(names), 0, -1):
            rest = len(names) - shown
            text = ", ".join(names[:shown]) + (f" and {rest} more" if rest else "")
            if len(text) <= width:
                if not rest:
                    return text
                best = best or text
                break
    return best or shorten(str(members[0]["name"]), width - 12) + f" and {len(members) - 1} more"


@register.command("show")
@click.argument("ident", metavar="ID")
@output_format("table", "json")
@pass_settings
def show(obj: SettingsObj, ident: str, fmt: str) -> None:
    """Show one arrangement: members, resolution notes, savings and source."""
    r = reg.get_arrangement(ident, settings=obj.settings)
    if fmt == "json":
        echo_json(readmodels.arrangement(r))
        return
    years = reg.years_said(r) or "no year recorded"  # "proposed in 2017", not "2017–"
    click.echo(f"{r['id']}  {r['name']}")
    label = service_labels(obj.settings).get(r["service"])  # as the list names it
    click.echo(f"service   {label} ({r['service']})" if label else f"service   {r['service']}")
    click.echo(f"years     {years}")
    click.echo(f"status    {reg.status_shown(r)}")
    unsaid = reg.status_unsaid(r)
    if unsaid is not None:  # running, as far as the register knows
        click.echo(f"          {unsaid}")
    ended = reg.end_read(r)
    if ended is not None:  # the register's source did not say it: how it was read
        click.echo(f"          {ended.said()}")
    if r["internal"]:  # its members are one body now: no partnership (as its page says)
        click.echo(f"          internal, not a partnership: {r['internal']}")
    click.echo(f"savings   {_savings(r)}")
    click.echo(
        f"aim       {'set up to save money' if r['savings_aim'] else 'not set up to save money'}"
    )
    click.echo(f"origin    {'simulated' if r['simulated'] else 'real'}")
    click.echo(f"source    {r['source'] or '-'}")
    if r["note"]:
        click.echo(f"note      {r['note']}")
    click.echo("members")
    rows = [
        [
            m["position"],
            m["body_code"] or "",
            m["name"],
            reg.member_role(m),
            m["resolution"],
            m["name_as_given"],
        ]
        for m in r["members"]
    ]
    echo_table(rows, ["#", "code", "name", "role", "resolution", "given as"])
    for line in reg.exits_said(r):  # a member that left: how that was read
        click.echo(line)


def _savings(r: dict[str, Any]) -> str:
    if r["savings_gbp"] is None:
        return "no figure reported"
    period = r["savings_period_years"]
    text = f"£{r['savings_gbp']:,.0f} ({r['savings_basis']}"
    text += f" over {period} years)" if period else ")"
    reading = reg.savings_reading(str(r["name"]), r["savings_gbp"], bool(r["simulated"]))
    note = reg.annualisation_note(
        r["savings_basis"], period, r["start_year"], reading, simulated=bool(r["simulated"])
    )
    said = f"{r['savings_basis']} over {period} years, "  # (in the brackets already)
    note = note.replace(said, "", 1) if period else note  # (after "simulated (…): " too)
    annual = r["annual_savings_gbp"]
    return text + (f"; about £{annual:,.0f} a year: {note}" if annual is not None else f"; {note}")


@register.command("build-default")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help=f"Seed of the simulated register [{DEFAULT_SEED}].",
)
@click.option(
    "--size",
    type=click.IntRange(min=1),
    help="Simulated arrangements to generate [626 minus the real ones started by 2019].",
)
@pass_settings
def build_default(obj: SettingsObj, seed: int | None, size: int | None) -> None:
    """Rebuild data/register/ from the known arrangements and the simulator."""
    report = build(obj.settings, seed=seed, size=size)
    click.echo(f"{report.real} real and {report.simulated} simulated arrangement(s)")
    if report.size is not None:
        click.echo(f"simulated: seed {report.seed}, size {report.size} ({report.size_rule})")
    for reason in report.dropped:
        click.echo(f"left out: {reason}", err=True)
    for path in report.paths:
        click.echo(f"wrote {path}")


@register.command("simulate")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEFAULT_SEED,
    show_default=True,
    help="Seed of the random generator: the same seed gives the same register.",
)
@click.option(
    "--size",
    type=click.IntRange(min=1, max=MAX_SIMULATED),
    default=DEFAULT_SIZE,
    show_default=True,
    help="Arrangements to generate (626: the LGA's count in June 2019).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.",
              callback=output_file)  # fmt: skip
@output_format(
    *SIMULATED_FORMATS,
    default="csv",
    help="csv or json, the layouts `register export` writes and `register import` reads.",
)
@pass_settings
def simulate(obj: SettingsObj, seed: int, size: int, out: Path | None, fmt: str) -> None:
    """Generate a simulated register (every row flagged simulated), complementing the real
    register in the database, for inspection or import."""
    arrangements, members = simulate_register(obj.settings, seed=seed, size=size)
    text = simulated_text(arrangements, members, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write(out, text)
        click.echo(f"wrote {len(arrangements)} simulated arrangement(s) to {out}", err=True)


@register.command("report")
@click.option(
    "--register",
    "which",
    type=click.Choice([*calibration.REGISTERS, "all"]),
    default="all",
    show_default=True,
    help="Which part of the register to report the published facts on (all: each of the "
    "three). The partner patterns always compare the simulated part with the real one.",
)
@output_format("table", "json")
@pass_settings
def report(obj: SettingsObj, which: str, fmt: str) -> None:
    """Show every published fact of data/calibration.json next to the register's value for
    it, and its bound; then the partner patterns of the simulated register against the real
    one."""
    names = calibration.REGISTERS if which == "all" else (which,)
    parts = calibration.RegisterParts.load(obj.settings)
    results = calibration.register_reports(obj.settings, names, parts)
    patterns = calibration.partner_patterns(parts)
    lines = [calibration.summary(name, facts) for name, facts in results.items()]
    lines.append(patterns.summary())
    if fmt == "json":
        echo_json(
            {
                "registers": {k: [f.to_dict() for f in v] for k, v in results.items()},
                "patterns": patterns.to_dict(),
            }
        )
        for line in lines:
            click.echo(line, err=True)
        return
    first = results[names[0]]
    rows = [
        [
            fact.id,
            _shorten(fact.published),
            calibration.format_value(fact.published_value, fact.unit),
            *(_marked(results[name][i]) for name in names),
            calibration.format_bound(fact.bound, fact.unit),
            ", ".join(fact.checked_on) if fact.bound is not None else "",
        ]
        for i, fact in enumerate(first)
    ]
    echo_table(rows, ["fact", "published", "as published", *names, "bound", "checked on"])
    click.echo(
        f"\n{MARKS['ok']} within the published bound; {MARKS['outside']} outside it; marked only "
        "on the register(s) a fact is checked on;\nno mark: not checked on that register, or "
        "shown for information; n/a: no value (too few arrangements, or not in the register).\n"
        "Checked on: counts (arrangements in place, councils sharing, savings in £) on the "
        "combined register,\nthe world the LGA counted; shapes (shares, sizes, services, who "
        "leads) on the simulated register alone;\nthe real register, a documented sample, on "
        "neither (its partner patterns are compared below).\n"
    )
    _echo_patterns(patterns)
    click.echo()
    for line in lines:
        click.echo(line)


@register.command("seeds")
@click.option(
    "--first", type=click.IntRange(min=0), default=1, show_default=True, help="First seed."
)
@click.option(
    "--last", type=click.IntRange(min=0), default=20, show_default=True, help="Last seed."
)
@output_format("table", "json")
@pass_settings
def seeds(obj: SettingsObj, first: int, last: int, fmt: str) -> None:
    """Check the simulated register of each seed as the shipped one is checked (every published
    fact on its register, every partner pattern against the real register)."""
    if last < first:
        raise click.BadParameter(f"{last} is before --first {first}", param_hint="--last")
    results = calibration.seed_scan(range(first, last + 1), obj.settings)
    if fmt == "json":
        echo_json(
            {
                "default_seed": DEFAULT_SEED,
                "seeds": [
                    {
                        "seed": r.seed,
                        "all_met": r.ok,
                        "facts_outside": list(r.facts_outside),
                        "patterns_outside": list(r.patterns_outside),
                    }
                    for r in results
                ],
            }
        )
        return
    rows = [
        [
            r.seed,
            "yes" if r.ok else "no",
            ", ".join(r.facts_outside) or "-",
            ", ".join(r.patterns_outside) or "-",
        ]
        for r in results
    ]
    echo_table(rows, ["seed", "all met", "facts outside", "patterns outside"])
    met = sum(r.ok for r in results)
    click.echo(
        f"\n{met} of {len(results)} seeds meet every bound and pattern; "
        f"the default seed is {DEFAULT_SEED}."
    )


def _echo_patterns(patterns: PatternsReport) -> None:
    click.echo("Partner patterns: the simulated register against the real one")
    rows = [
        [
            p.section,
            p.label,
            _pattern_value(p.real, p.unit),
            _pattern_value(p.simulated, p.unit)
            + (f" {MARKS[p.status]}" if p.status in MARKS else ""),
            "" if p.bounds is None else " to ".join(_pattern_value(b, p.unit) for b in p.bounds),
        ]
        for p in patterns.patterns
    ]
    echo_table(rows, ["section", "pattern", "real", "simulated", "tolerance"])
    counts = "; ".join(
        f"{name}: {c['arrangements']} arrangements, {c['pairs']} pairs, "
        f"{c['choice_events']} choice events"
        for name, c in patterns.counts.items()
    )
    click.echo(f"\n{counts}\n{patterns.rule}.")


def _pattern_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "km":
        return f"{value:.1f}"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.3f}"


def _marked(fact: calibration.FactResult) -> str:
    if fact.status == "n/a":
        return "n/a"
    value = calibration.format_value(fact.value, fact.unit)
    return f"{value} {MARKS[fact.status]}" if fact.status in MARKS else value


def _shorten(text: str, width: int = PUBLISHED_WIDTH) -> str:
    """Cut ``text`` at a word boundary to fit ``width`` characters, marking the cut with '…'."""
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0].rstrip(",;:(–-")
    return cut + "…"


@register.command("remove")
@click.argument("ids", metavar="ID...", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Confirm: delete these arrangements.")
@pass_settings
def remove(obj: SettingsObj, ids: tuple[str, ...], yes: bool) -> None:
    """Delete arrangements by id (to correct one: remove it, then import the corrected row).
    All or nothing: an unknown id deletes none. The promoted model stops citing a deleted real
    arrangement as evidence, offering it to join, or telling it as its members' shared history
    as soon as it reads the register, and its members may be suggested for its service again;
    what the model learnt from it (its scores) stays until the next `recommender train`.
    `register reset` brings back deleted default-register ones."""
    if not yes:
        found = [reg.get_arrangement(i, settings=obj.settings) for i in ids]
        listed = "; ".join(f"{r['id']} {r['name']}" for r in found)
        raise click.UsageError(f"this deletes {listed}; pass --yes to go ahead")
    removed = reg.remove(ids, settings=obj.settings)
    for r in removed:
        origin = "simulated" if r["simulated"] else "real"
        click.echo(f"removed {r['id']}  {r['name']} ({origin})")
    click.echo(
        f"{len(removed)} arrangement(s) removed. Suggestions no longer cite them, offer them to "
        "join or tell them as shared history; retrain for the model's scores to leave them out "
        "too"
    )


@register.command("reset")
@click.option("--yes", is_flag=True, help="Confirm: delete every imported arrangement.")
@pass_settings
def reset(obj: SettingsObj, yes: bool) -> None:
    """Empty the register database and reload the default register from data/register/."""
    if not yes:
        raise click.UsageError("this deletes every imported arrangement; pass --yes to go ahead")
    click.echo(f"loaded {reg.reset(obj.settings)} arrangement(s) from {obj.settings.register_dir}")
