"""The app's configuration: defaults, then ``RECOMMENDER_*`` variables, then a test config.

========================  =======================================================================
key (env: RECOMMENDER_…)  meaning
========================  =======================================================================
HOME                      the checkout holding ``data/`` and ``models/`` (default: this one)
DATA_DIR, MODELS_DIR      override ``HOME/data`` and ``HOME/models``
DATABASE_URL              SQLAlchemy URL (default: SQLite file ``HOME/var/recommender.sqlite``)
ADMIN_TOKEN               bearer token for ``/api/v1/admin/*``; unset: the admin routes are off
MAX_K                     the most suggestions one request may ask for (``k``)
CACHE_SIZE                serialised responses kept per worker (LRU; 0 turns the cache off)
MODEL_CHECK_SECONDS       how often a worker looks for a model promoted elsewhere
REGISTER_SIZE_SECONDS     how long ``/health`` may reuse its count of arrangements
========================  =======================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recommender.config import Settings, project_root
from recommender.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "HOME": None,
    "DATA_DIR": None,
    "MODELS_DIR": None,
    "DATABASE_URL": None,
    "WEB_DIR": None,
    "ADMIN_TOKEN": None,
    "MAX_K": 50,  # ranking.MAX_K; the factory refuses a larger value
    "CACHE_SIZE": 4096,
    "MODEL_CHECK_SECONDS": 5.0,
    "REGISTER_SIZE_SECONDS": 10.0,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # register uploads
    "JSON_AS_ASCII": False,
}


def settings_from(config: Mapping[str, Any]) -> Settings:
    """Return the :class:`Settings` the app's config describes."""

    def path(key: str) -> Path | None:
        value = config.get(key)
        return Path(str(value)) if value else None

    url = config.get("DATABASE_URL")
    if url and "://" not in str(url):
        raise ConfigError(
            f"DATABASE_URL={url!r} is not a database URL; expected e.g. "
            "sqlite:////path/to/file.sqlite or postgresql+psycopg://user@host/db",
            field="DATABASE_URL",
        )
    home = path("HOME")
    return Settings(
        root=home.resolve() if home else project_root(),
        data_dir=path("DATA_DIR"),
        models_dir=path("MODELS_DIR"),
        database_url=str(url) if url else None,
        web_dir=path("WEB_DIR"),
    )


def admin_token(config: Mapping[str, Any]) -> str | None:
    """Return the admin token, or None when the admin routes are off."""
    token = config.get("ADMIN_TOKEN")
    # from_prefixed_env parses values as JSON, so a token of digits arrives as a number.
    return str(token) if token not in (None, "") else None


def positive(config: Mapping[str, Any], key: str, *, limit: float | None = None) -> float:
    """Return ``config[key]`` as a number, checking it is not negative (nor over ``limit``)."""
    value = config.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a number", field=key) from None
    if number < 0 or (limit is not None and number > limit):
        span = f"between 0 and {limit:g}" if limit is not None else "0 or more"
        raise ConfigError(f"{key}={value!r}: expected a number {span}", field=key)
    return number
