"""Shared fixtures. Each area keeps its own in a ``tests/<area>_fixtures.py`` imported here."""

from register_fixtures import directory, register_settings  # noqa: F401
