"""The app's configuration: defaults, then ``RECOMMENDER_*`` variables, then a test config.

========================  =======================================================================
key (env: RECOMMENDER_…)  meaning
========================  =======================================================================
HOME                      the checkout holding ``data/`` and ``models/`` (default: this one)
DATA_DIR, MODELS_DIR      override ``HOME/data`` and ``HOME/models``
DATABASE_URL              SQLAlchemy URL (default: SQLite file ``HOME/var/recommender.sqlite``)
ADMIN_TOKEN               bearer token for ``/api/v1/admin/*`` (at least 24 printable characters,
                          read as given, never parsed); unset or empty: the admin routes are off
MAX_K                     the most suggestions one request may ask for (``k``)
CACHE_BYTES               memory for the serialised answers kept per worker (LRU, bytes or
                          e.g. ``64MB``); 0: none kept
BRIEFING_CACHE_BYTES      memory for the briefing PDFs kept per worker (likewise)
MODEL_CHECK_SECONDS       how often a worker looks for a model promoted elsewhere
PREPARE_SUGGESTIONS       work out every suggestion shown by default, with its reasons,
                          evidence and JSON, when a model is loaded (seconds: before serving at
                          start-up; just after the swap when a model is promoted elsewhere),
                          so that no request waits for them (false: each when first asked)
REGISTER_SIZE_SECONDS     how long ``/health`` may reuse its count of arrangements
MAX_CONTENT_LENGTH        the largest request body (bytes; register uploads), else 413
FEEDBACK_MAX_BYTES        the largest feedback body, JSON or form (bytes), else 413
FEEDBACK_PER_MINUTE       feedback posts per client per minute (0: no limit), else 429
FEEDBACK_BURST            feedback posts a client may send at once before that rate applies
AUDIT_REFUSAL_SECONDS     at most one audit row per client this often for refused admin calls
PROXY_HOPS                reverse proxies in front (0: none); their X-Forwarded-* are trusted
========================  =======================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recommender.core.config import Settings, project_root
from recommender.core.errors import ConfigError

KB, MB, GB = 1024, 1024**2, 1024**3
DEFAULTS: dict[str, Any] = {
    "HOME": None,
    "DATA_DIR": None,
    "MODELS_DIR": None,
    "DATABASE_URL": None,
    "WEB_DIR": None,
    "ADMIN_TOKEN": None,
    "MAX_K": 50,  # ranking.MAX_K; the factory refuses a larger value
    "CACHE_BYTES": 64 * MB,  # about 1,300 of the largest answers (k=50, ~50 KB) or 10,000 typical
    "BRIEFING_CACHE_BYTES": 32 * MB,  # a briefing PDF is ~100-300 KB
    "MODEL_CHECK_SECONDS": 5.0,
    "PREPARE_SUGGESTIONS": True,
    "REGISTER_SIZE_SECONDS": 10.0,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # register uploads
    "FEEDBACK_MAX_BYTES": 16 * 1024,  # a verdict with a 2,000-character comment is ~9 KB
    "FEEDBACK_PER_MINUTE": 10,
    "FEEDBACK_BURST": 20,
    "AUDIT_REFUSAL_SECONDS": 60.0,
    "PROXY_HOPS": 0,
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


MIN_TOKEN_LENGTH = 24
TOKEN_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def raw_admin_token(environ: Mapping[str, str]) -> str | None:
    """Return ``RECOMMENDER_ADMIN_TOKEN`` exactly as set.

    ``Config.from_prefixed_env`` parses every value as JSON, so ``123`` would become a number
    and ``"abc"`` lose its quotes: the factory puts this plain string back in its place.
    """
    return environ.get("RECOMMENDER_ADMIN_TOKEN")


def admin_token(config: Mapping[str, Any]) -> str | None:
    """Return the admin token, or None when the admin routes are off.

    Raises :class:`ConfigError` (at start-up: the factory calls this) for a token that is not
    a string, has surrounding whitespace, unprintable characters, or is too short to resist
    guessing.
    """
    token = config.get("ADMIN_TOKEN")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise ConfigError(
            f"ADMIN_TOKEN must be a string, not {type(token).__name__}", field="ADMIN_TOKEN"
        )
    if token != token.strip():
        raise ConfigError(
            "ADMIN_TOKEN has spaces or a newline around it (a copy-paste slip?); remove them",
            field="ADMIN_TOKEN",
        )
    if not all(" " <= c <= "~" for c in token):
        raise ConfigError(
            "ADMIN_TOKEN must be printable ASCII (it travels in an HTTP header); " + TOKEN_HINT,
            field="ADMIN_TOKEN",
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"ADMIN_TOKEN is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} "
            f"({TOKEN_HINT})",
            field="ADMIN_TOKEN",
        )
    return token


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


_UNITS = {"": 1, "B": 1, "KB": KB, "K": KB, "MB": MB, "M": MB, "GB": GB, "G": GB}
# Settings that were renamed: the old name set would otherwise be ignored in silence.
RENAMED = {
    "CACHE_SIZE": "CACHE_BYTES (a size in bytes, e.g. 64MB, where CACHE_SIZE counted answers)"
}


def size_in_bytes(config: Mapping[str, Any], key: str) -> int:
    """Return ``config[key]``, a size: a number of bytes or a number with KB, MB or GB
    (binary multiples, ``64MB`` is 64 × 1024² bytes)."""
    value = config.get(key)
    text = str(value).strip().upper().replace(" ", "")
    number = text.rstrip("KMGB")
    unit = text[len(number) :]
    try:
        size = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise ConfigError(
            f"{key}={value!r} is not a size; expected bytes or e.g. 64MB", field=key
        ) from None
    if not 0 <= size < 2**62 or isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected a size of 0 or more", field=key)
    return int(size)


def refuse_renamed(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for a setting under a name this version no longer reads."""
    for old, new in RENAMED.items():
        if config.get(old) is not None:
            raise ConfigError(f"{old} is no longer read: set {new}", field=old)
