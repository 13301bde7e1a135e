"""``recommender briefing``: the advisor's printable briefing for one body."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli._common import SettingsObj, output_file, pass_settings


@click.command("briefing")
@click.argument("body")
@click.option("--service", help="Focus on one service (an id from data/services.csv).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    callback=output_file,
    help="Where to write it: FILE.pdf or FILE.html.",
)
@click.option("--scenario", help="On the map after this reorganisation scenario.")
@pass_settings
def briefing(
    obj: SettingsObj, body: str, service: str | None, out: Path, scenario: str | None
) -> None:
    """Write a briefing on BODY's sharing opportunities (PDF or HTML, by the file name)."""
    from recommender.cli._common import scenario_recommender
    from recommender.recommend.ranking import Recommender
    from recommender.render.briefing import write_briefing

    rec = Recommender.load(obj.settings)
    if scenario is not None:  # a council that joins one new unitary: that unitary's briefing
        from recommender.scenario import report

        rec = scenario_recommender(obj.settings, rec, scenario)
        body, joined = report.answering(rec.world, body)
        if joined:
            click.echo(joined, err=True)
    path = write_briefing(rec, body, out, service=service, settings=obj.settings)
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes, model {rec.version})")
