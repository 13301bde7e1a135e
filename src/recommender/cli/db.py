"""``recommender db …``: the database schema, created and upgraded by versioned migrations.

Every command creates the schema in an empty database by itself; upgrading one that holds a
schema is this explicit step (see :mod:`recommender.database.migrate` for why).
"""

from __future__ import annotations

import click

from recommender.cli._common import SettingsObj, pass_settings
from recommender.database import db, migrate


@click.group("db")
def db_group() -> None:
    """Show or upgrade the database schema (the database of RECOMMENDER_DATABASE_URL)."""


@db_group.command("upgrade")
@pass_settings
def upgrade(obj: SettingsObj) -> None:
    """Create or upgrade the database schema to the revision this version needs."""
    engine = db.engine_for(obj.settings)
    try:
        before = migrate.prepare(engine, upgrade=True)
        where = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    head = before.head
    if before.state == "current":
        click.echo(f"{where}: schema at revision {head}, this version's: nothing to do")
    elif before.state == "empty":
        click.echo(f"{where}: schema created at revision {head}")
    elif before.state == "legacy":
        legacy = migrate.LEGACY_REVISION
        then = f", upgraded to {head}" if head != legacy else ""
        click.echo(f"{where}: schema made before migrations recorded as revision {legacy}{then}")
    else:
        click.echo(f"{where}: schema upgraded from revision {before.current} to {head}")


@db_group.command("current")
@pass_settings
def current(obj: SettingsObj) -> None:
    """Show the database's schema revision and the one this version needs (changes nothing)."""
    engine = db.engine_for(obj.settings)
    try:
        found = migrate.status(engine)
        where = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    click.echo(f"{where}: {found.summary()}")
