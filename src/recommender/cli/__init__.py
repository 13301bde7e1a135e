"""The ``recommender`` command line: one click group, one submodule per area.

Domain errors (:class:`recommender.errors.RecommenderError`) become ``click.ClickException``
here, at the boundary; real bugs keep their traceback.
"""

from __future__ import annotations

import click

from recommender import __version__
from recommender.cli._common import ErrorHandlingGroup, SettingsObj
from recommender.config import Settings


@click.group(cls=ErrorHandlingGroup)
@click.version_option(__version__, prog_name="recommender")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Find partners and services for English councils and other public bodies to share."""
    ctx.obj = SettingsObj(Settings.from_env())


def _register_commands() -> None:
    # Imported here so that each area keeps its commands in its own module.
    # Each area adds its module here.
    from importlib import import_module

    for module_name, command_name in _COMMANDS:
        module = import_module(f"recommender.cli.{module_name}")
        cli.add_command(getattr(module, command_name))


# (module in recommender.cli, click command or group defined there)
_COMMANDS: list[tuple[str, str]] = [
    ("data", "data"),
    ("bodies", "bodies"),
    ("register", "register"),
    ("serve", "serve"),
    ("feedback", "feedback"),
    ("model", "train_cmd"),
    ("model", "evaluate_cmd"),
    ("model", "score_cmd"),
    ("model", "models"),
    ("model", "recommend_cmd"),
    ("partners", "groups_cmd"),
    ("partners", "join_cmd"),
    ("briefing", "briefing"),
    ("db", "db_group"),
    ("scenario", "scenario"),
]


_register_commands()

__all__ = ["cli"]
