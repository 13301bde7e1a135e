"""``recommender data``: build the derived data the project commits."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli._common import SettingsObj, pass_settings


@click.group("data")
def data() -> None:
    """Build the derived data under data/."""


@data.command("build-reference")
@click.option(
    "--source",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="RECOMMENDER_SOURCE_DIR",
    help="Folder holding ons/ and lookups/ (default: ../shared/data beside the checkout).",
)
@pass_settings
def build_reference_command(obj: SettingsObj, source: Path | None) -> None:
    """Build data/reference/ from the ONS, lookup and mySociety sources."""
    from recommender.reference.build import build_reference

    settings = obj.settings
    report = build_reference(source or settings.sources, settings.reference_dir)
    click.echo(f"source polygons:  {report.source_topology}")
    click.echo(f"rounded polygons: {report.rounded_topology}")
    for what, count in report.counts.items():
        click.echo(f"{what}: {count:,}")
    for name, size in report.sizes.items():
        click.echo(f"{name}: {size:,} bytes")
    click.echo(f"wrote {report.target} in {report.seconds:.1f} s")
