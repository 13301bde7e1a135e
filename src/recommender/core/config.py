"""Settings: where the data, models and database live, read from the environment when asked.

Nothing here touches the file system at import time. ``Settings.from_env()`` reads the
``RECOMMENDER_*`` environment variables over the defaults; the CLI builds one per invocation
and the Flask app factory builds one per app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from recommender.core.errors import ConfigError

ENV_PREFIX = "RECOMMENDER_"


def project_root() -> Path:
    """Return the checkout this package runs from (the folder holding ``data/`` and ``models/``).

    ``RECOMMENDER_HOME`` wins; otherwise the repository that contains this source file, and
    failing that the current directory.
    """
    home = os.environ.get(ENV_PREFIX + "HOME")
    if home:
        return Path(home).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "recommender").is_dir():
            return parent
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Paths and defaults for one CLI invocation or one app."""

    root: Path = field(default_factory=project_root)
    data_dir: Path | None = None
    models_dir: Path | None = None
    source_dir: Path | None = None
    database_url: str | None = None
    web_dir: Path | None = None

    # Resolved views with the defaults filled in (the paths made once: a request asks for them
    # several times, and a path made afresh costs microseconds to build and to hash) ---------
    @cached_property
    def data(self) -> Path:
        return self.data_dir or self.root / "data"

    @cached_property
    def reference_dir(self) -> Path:
        return self.data / "reference"

    @cached_property
    def register_dir(self) -> Path:
        return self.data / "register"

    @cached_property
    def models(self) -> Path:
        return self.models_dir or self.root / "models"

    @cached_property
    def sources(self) -> Path:
        """The ONS and lookup sources that ``data build-reference`` reads."""
        return self.source_dir or (self.root.parent / "shared" / "data")

    @cached_property
    def instance_dir(self) -> Path:
        """Where run-time state lives (the SQLite database); not committed."""
        return self.root / "var"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_dir / 'recommender.sqlite'}"

    @property
    def web(self) -> Path:
        if self.web_dir:
            return self.web_dir
        checkout = self.root / "web"
        if checkout.is_dir():
            return checkout
        return Path(__file__).resolve().parents[1] / "web"  # installed wheel: recommender/web

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``RECOMMENDER_*`` variables (``DATA_DIR``, ``MODELS_DIR``,
        ``SOURCE_DIR``, ``DATABASE_URL``, ``WEB_DIR``)."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        for name in ("data_dir", "models_dir", "source_dir", "web_dir"):
            value = env.get(ENV_PREFIX + name.upper())
            if value:
                kwargs[name] = Path(value)
        url = env.get(ENV_PREFIX + "DATABASE_URL")
        if url:
            if "://" not in url:
                raise ConfigError(
                    f"RECOMMENDER_DATABASE_URL={url!r} is not a database URL; expected e.g. "
                    "sqlite:////path/to/file.sqlite or postgresql+psycopg://user@host/db",
                    field="RECOMMENDER_DATABASE_URL",
                )
            kwargs["database_url"] = url
        settings = cls(**kwargs)  # type: ignore[arg-type]
        return settings

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]
