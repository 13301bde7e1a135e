"""``recommender feedback``: export what users said about recommendations."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli._common import SettingsObj, output_file, output_format, pass_settings
from recommender.database import db
from recommender.recommend import feedback as fb


@click.group("feedback")
def feedback() -> None:
    """Export the feedback recorded through the pages' form and POST /api/v1/feedback."""


@feedback.command("export")
@output_format(*fb.EXPORT_FORMATS, default="csv", help="csv (one row per verdict) or json.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=output_file,
    help="Write to FILE instead of standard output.",
)
@pass_settings
def export(obj: SettingsObj, fmt: str, out: Path | None) -> None:
    """Print or write every feedback row, oldest first."""  # fmt: skip
    with db.connect(obj.settings) as engine:
        text = fb.export(engine, fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    fb.write(text, out)
    count = text.count("\n") - 1 if fmt == "csv" else None
    click.echo(f"wrote {out}" + (f" ({count} row(s))" if count is not None else ""), err=True)
