"""Exceptions raised by the recommender.

Every error the package raises on purpose is a :class:`RecommenderError`. The CLI turns them
into ``click.ClickException`` (exit status 1, or 2 for bad usage) and the web service turns
them into one JSON error shape using :attr:`RecommenderError.status`. Anything else is a bug
and keeps its traceback (in the CLI) or becomes an opaque 500 (in the service).

Hierarchy::

    RecommenderError
    ├── ConfigError              bad setting (e.g. an unsupported database URL)
    │   └── SchemaBehind         the database schema is older than this version: `db upgrade`
    ├── DatabaseBusy             the database stayed locked past the retries (503; try again)
    ├── DataError                reference data or sources are missing, malformed or fail a check
    │   ├── SourceError          a source file is missing or malformed (names the file)
    │   └── CheckFailed          a built table fails a consistency check
    ├── NotFound                 something asked for does not exist (404)
    │   ├── UnknownBody          a code or name that matches no public body (carries suggestions)
    │   ├── UnknownArrangement
    │   ├── UnknownModel
    │   └── UnknownScenario      no saved reorganisation scenario has that name
    ├── InvalidInput             a single bad value (400/422; names field, value, what was expected)
    │   ├── ImportRejected       a register file with one or more bad rows (lists every row error)
    │   └── ScenarioRejected     a scenario definition with one or more problems (lists them all)
    ├── ModelError               a model cannot be trained, saved or loaded
    │   ├── NoPromotedModel
    │   ├── ChecksumMismatch
    │   ├── VersionMismatch
    │   └── ModelLoadFailed      passes its checks but does not unpickle or fails its first use
    └── AuthError                admin route without a valid bearer token (401/403)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class RecommenderError(Exception):
    """Base class for every error the recommender raises on purpose."""

    status: int = 500
    error: str = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.suggestions = list(suggestions)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error shape shared by the CLI ``--json`` output and the API."""
        out: dict[str, Any] = {
            "status": self.status,
            "error": self.error,
            "detail": self.detail,
            "field": self.field,
        }
        if self.suggestions:
            out["suggestions"] = self.suggestions
        return out


class ConfigError(RecommenderError):
    status = 500
    error = "config_error"


class SchemaBehind(ConfigError):
    """The database's schema revision is behind this version's; ``recommender db upgrade``."""

    error = "schema_behind"


class DatabaseBusy(RecommenderError):
    """A write waited for a busy database longer than its bound; nothing was stored."""

    status = 503
    error = "database_busy"


class DataError(RecommenderError):
    status = 500
    error = "data_error"


class SourceError(DataError):
    error = "source_error"


class CheckFailed(DataError):
    error = "check_failed"


class NotFound(RecommenderError):
    status = 404
    error = "not_found"


class UnknownBody(NotFound):
    error = "unknown_body"


class UnknownArrangement(NotFound):
    error = "unknown_arrangement"


class UnknownModel(NotFound):
    error = "unknown_model"


class UnknownScenario(NotFound):
    error = "unknown_scenario"


class InvalidInput(RecommenderError):
    status = 400
    error = "invalid_input"


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an imported file."""

    row: int
    column: str
    value: str
    message: str
    suggestions: tuple[str, ...] = field(default=())

    SHOWN = 80  # characters of a value echoed back (a 130,000-character name is not read back)

    @property
    def shown(self) -> str:
        """The value as echoed back: whole, or its start and how long it is."""
        value = str(self.value)
        if len(value) <= self.SHOWN:
            return value
        return f"{value[: self.SHOWN - 20]}… ({len(value):,} characters)"

    def __str__(self) -> str:
        text = f"row {self.row}, column {self.column!r}, value {self.shown!r}: {self.message}"
        if self.suggestions:
            text += " (closest: " + ", ".join(self.suggestions) + ")"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.shown,
            "message": self.message,
            "suggestions": list(self.suggestions),
        }


class ImportRejected(InvalidInput):
    """A register file was rejected; nothing was written."""

    status = 422
    error = "import_rejected"

    def __init__(
        self, path: str, errors: Sequence[RowError], outcome: str = "nothing was imported"
    ) -> None:
        lines = "\n".join(f"  {path}: {e}" for e in errors)
        super().__init__(f"{len(errors)} problem(s) in {path}; {outcome}:\n{lines}")
        self.path = path
        self.errors = list(errors)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["errors"] = [e.to_dict() for e in self.errors]
        return out


@dataclass(frozen=True)
class ScenarioProblem:
    """One problem in a scenario definition: where (``field``), the value and what is wrong."""

    field: str  # "name", "successors[2].name", "successors[1].councils" …
    value: str
    message: str
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.field} {self.value!r}: {self.message}" if self.value else self.message
        if self.suggestions:
            text += " (closest: " + ", ".join(self.suggestions) + ")"
        return text

    def plain(self) -> str:
        """The problem for a person at a form: the message, with the value when it does not
        name it already."""
        if not self.value or self.value in self.message or self.field == "name":
            return self.message[:1].upper() + self.message[1:]
        return f"{self.value}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "message": self.message,
            "suggestions": list(self.suggestions),
        }


class ScenarioRejected(InvalidInput):
    """A scenario definition was refused; nothing was stored."""

    status = 422
    error = "scenario_rejected"

    def __init__(self, name: str, problems: Sequence[ScenarioProblem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) in scenario {name!r}; nothing was stored:\n{lines}",
            field=problems[0].field if problems else None,
            suggestions=problems[0].suggestions if len(problems) == 1 else (),
        )
        self.problems = list(problems)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [p.to_dict() for p in self.problems]
        return out


class ModelError(RecommenderError):
    status = 503
    error = "model_error"


class NoPromotedModel(ModelError):
    error = "no_promoted_model"


class ChecksumMismatch(ModelError):
    error = "checksum_mismatch"


class VersionMismatch(ModelError):
    error = "version_mismatch"


class ModelLoadFailed(ModelError):
    error = "model_load_failed"


class AuthError(RecommenderError):
    status = 401
    error = "unauthorized"
