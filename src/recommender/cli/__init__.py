"""The ``recommender`` command line: one click group, one submodule per area.

Domain errors (:class:`recommender.core.errors.RecommenderError`) become ``click.ClickException``
here, at the boundary; real bugs keep their traceback.
"""

from __future__ import annotations

import click

from recommender import __version__
from recommender.cli._common import ErrorHandlingGroup, SettingsObj
from recommender.core.config import Settings


@click.group(cls=ErrorHandlingGroup)
@click.version_option(__version__, prog_name="recommender")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Find partners and services for English councils and other public bodies to share."""
    ctx.obj = SettingsObj(Settings.from_env())


def _add_commands() -> None:
    """Each area's commands, from its own module (imported here: the modules import this
    package's helpers, and nothing heavy loads before a command runs)."""
    from recommender.cli import (
        bodies,
        briefing,
        data,
        db,
        feedback,
        model,
        partners,
        register,
        scenario,
    )
    from recommender.cli import serve as serving

    for command in (
        data.data,
        bodies.bodies,
        register.register,
        serving.serve,
        feedback.feedback,
        model.train_cmd,
        model.evaluate_cmd,
        model.score_cmd,
        model.models,
        model.recommend_cmd,
        partners.groups_cmd,
        partners.join_cmd,
        briefing.briefing,
        db.db_group,
        scenario.scenario,
    ):
        cli.add_command(command)


_add_commands()

__all__ = ["cli"]
