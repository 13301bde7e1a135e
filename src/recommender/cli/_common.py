"""Helpers shared by the CLI submodules: settings in ``ctx.obj``, error mapping, output."""

from __future__ import annotations

import functools
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, NotFound, RecommenderError


@dataclass
class SettingsObj:
    """What every command receives through :data:`pass_settings`."""

    settings: Settings


pass_settings = click.make_pass_decorator(SettingsObj)
F = TypeVar("F", bound=Callable[..., Any])


def output_format(
    *choices: str, default: str = "table", help: str | None = None
) -> Callable[[F], F]:
    """Give a command the one output option every command has: ``--format`` (passed to it as
    ``fmt``), ``json`` being the shape the API answers with
    (:mod:`recommender.recommend.readmodels`).

    ``--json``, the older spelling, still works as ``--format json`` (hidden: deprecated).
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, fmt: str, legacy_json: bool, **kwargs: Any) -> Any:
            return command(*args, fmt="json" if legacy_json else fmt, **kwargs)

        run = click.option(
            "--json", "legacy_json", is_flag=True, hidden=True, help="Deprecated: --format json."
        )(run)
        run = click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help=help
            or "json: machine-readable; where the API answers the same question, the same data.",
        )(run)
        return run  # type: ignore[return-value]

    return decorate


def output_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A ``--out`` callback: check, before any work, that the file can be written, and return
    the path to write to.

    Every ``--out`` is written atomically, a temporary file renamed over the path. So a symbolic
    link is followed (the rename would replace the link and leave its file as it was), and a
    path that exists but is not a regular file (a FIFO, a device, a socket) is refused: the
    rename would replace it with a file. The folder must exist (a mistyped path was created)
    and take a new file (a read-only folder failed with a traceback after the work).
    """
    if value is None:
        return None

    def refuse(reason: str) -> NoReturn:
        raise click.BadParameter(reason, ctx=ctx, param=param)

    if not value.name:  # '' (click makes it Path('.'); '.' and '/' it refuses as folders)
        refuse("an empty path; expected a file name, e.g. out.csv")
    target = value
    if value.is_symlink():
        try:
            target = value.resolve()
        except (OSError, RuntimeError) as err:  # RuntimeError: a loop of links
            refuse(f"{value} is a symbolic link that cannot be followed: {err}")
    shown = str(value) if target == value else f"{value} (a link to {target})"
    try:
        mode: int | None = target.stat().st_mode
    except FileNotFoundError:
        mode = None  # a new file
    except OSError as err:
        refuse(f"{shown} cannot be checked: {err.strerror}")
    if mode is not None and not stat.S_ISREG(mode):
        refuse(
            f"{shown} is not a regular file: it is {_kind(mode)}; expected a file to replace "
            "or a new file name"
        )
    folder = target.parent
    if not folder.is_dir():
        refuse(
            f"{shown}: the folder {folder} does not exist; make it first, or write somewhere "
            "that does"
        )
    try:  # as the write will: a temporary file beside the target
        handle, probe = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as err:
        refuse(f"{shown} cannot be written: {err.strerror} (in {folder})")
    os.close(handle)
    os.unlink(probe)
    return target


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


class DomainError(click.ClickException):
    """A :class:`RecommenderError` shown to the user without a traceback, naming the option
    at fault as the user typed it (``--max-km``, not the API's ``max_km``) when ``flags``
    maps its field to it."""

    def __init__(self, err: RecommenderError, flags: dict[str, str] | None = None) -> None:
        message = err.detail
        flag = (flags or {}).get(err.field or "")
        if flag and message.startswith((f"{err.field} ", f"{err.field}=")):
            message = flag + message[len(err.field or "") :]
        if err.suggestions:
            message += "\nClosest matches: " + "; ".join(err.suggestions)
        super().__init__(message)
        self.err = err

        # 2 for bad input (like click's usage errors), 1 for everything else.
        self.exit_code = 2 if isinstance(err, InvalidInput | NotFound) else 1  # type: ignore[misc]


class ErrorHandlingGroup(click.Group):
    """A group whose commands turn domain errors into clean messages and exit codes, and
    that refuses an argument that is not valid UTF-8 before any command sees it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Python decodes such bytes as lone surrogates, which every lookup, database and file
        # name then failed to encode (a traceback); one check here covers every command.
        for arg in args:
            if _SURROGATE.search(arg):
                raise click.UsageError(
                    f"the argument {shell_bytes(arg)} is not valid UTF-8 (its bytes are shown "
                    "escaped, as the shell gave them); expected text in UTF-8: check the "
                    "terminal's or the script's encoding",
                    ctx=ctx,
                )
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RecommenderError as err:
            raise DomainError(err, _flags(self, ctx)) from err
        except BrokenPipeError:
            raise  # the reader went away (``| head``): nothing to tell it
        except OSError as err:  # the system's refusal met during the work: a full disk, …
            raise click.ClickException(system_said(err)) from err
        except Exception as err:  # the database that could not be used: one line, not a trace
            said = database_said(err)
            if said is None:
                raise
            raise click.ClickException(said) from err


def database_said(err: BaseException) -> str | None:
    """What stopped a command from using the database (a server that refuses, a file that is
    not SQLite or cannot be opened, one locked past the wait), naming it (its password never
    shown); None for any other error. The database answers with these before any change is
    made, and a change is one transaction: nothing was written."""
    exc = sys.modules.get("sqlalchemy.exc")
    if exc is None or not (
        isinstance(err, exc.OperationalError | exc.InterfaceError)
        or type(err) is exc.DatabaseError  # ("file is not a database"; not an IntegrityError)
    ):
        return None
    from sqlalchemy.engine import make_url

    url = Settings.from_env().db_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # (a URL it cannot read is refused before this, at start)
        shown = "the database"
    cause = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    return (
        f"cannot use the database {shown}: {cause}. Check RECOMMENDER_DATABASE_URL (by "
        "default var/recommender.sqlite in the checkout); nothing was written"
    )


def system_said(err: OSError) -> str:
    """An error of the system met while a command worked (what ``--out`` and the other checks
    made before the work cannot foresee: a disk that fills, a folder removed meanwhile), as a
    message rather than a traceback."""
    where = f"{err.filename}: " if err.filename else ""
    reason = err.strerror or str(err)
    return (
        f"{where}{reason}. Nothing was left half-written: every file is written whole or not "
        "at all and the database changes in one transaction, so what was there before is kept"
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def shell_bytes(arg: str) -> str:
    """``arg`` as the shell gave it, its bytes that are not UTF-8 escaped: ``'R\\xf6ther'``."""
    try:
        raw = arg.encode("utf-8", "surrogateescape")  # the bytes Python decoded
    except UnicodeEncodeError:  # a surrogate no byte decodes to (passed from Python)
        raw = arg.encode("utf-8", "backslashreplace")
    return "'" + raw.decode("utf-8", "backslashreplace") + "'"


def _flags(group: click.Group, ctx: click.Context) -> dict[str, str]:
    """The options of the command that ran, by parameter name: ``{"max_km": "--max-km"}``."""
    found: dict[str, str] = {}
    name = ctx.invoked_subcommand
    command = group.get_command(ctx, name) if name else None
    if command is not None:
        for param in command.params:
            longest = max((o for o in param.opts if o.startswith("--")), key=len, default=None)
            if param.name and longest:
                found[param.name] = longest
    return found


def model_words(version: str, scenario: str | None) -> str:
    """The model an answer comes from, and the scenario's map it answers on, as every
    command heads its answers: "model 2026…, scenario surrey-east-west"."""
    return f"model {version}" + (f", scenario {scenario}" if scenario else "")


def echo_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON (keys in the order given)."""
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    # numpy scalars and paths reach here; keep the JSON plain.
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def echo_table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    widest: Mapping[str, int] | None = None,
    right: Sequence[str] = (),
) -> None:
    """Print rows as an aligned plain-text table (numbers, and the ``right`` columns,
    right-aligned); a column named in ``widest`` is cut to that many characters, ending
    in "…"."""
    cells = [[_cell(v) for v in row] for row in rows]
    for i, header in enumerate(headers):
        most = (widest or {}).get(header)
        if most:
            for row in cells:
                row[i] = shorten(row[i], most)
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    numeric = [
        (all(_is_number(r[i]) for r in rows) if rows else False) or headers[i] in right
        for i in range(len(headers))
    ]

    def fmt(values: Iterable[str]) -> str:
        parts = []
        for i, value in enumerate(values):
            parts.append(value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    out = sys.stdout
    click.echo(fmt(headers), file=out)
    click.echo("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        click.echo(fmt(row), file=out)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shorten(text: str, most: int) -> str:
    """``text`` cut at a word to at most ``most`` characters, ending in "…" if cut."""
    if len(text) <= most:
        return text
    cut = text[: most - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > most // 2 else cut).rstrip(" ,;") + "…"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() or abs(value) >= 100:
            return f"{value:,.0f}"  # 0, not 0.000
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def service_labels(settings: Settings) -> dict[str, str]:
    """Service id -> label, for tables people read (ids themselves where the taxonomy file is
    missing: a label is a nicety, not a reason to fail)."""
    from recommender.core.errors import DataError
    from recommender.core.services import load_services

    try:
        return {str(k): str(v) for k, v in load_services(settings)["label"].items()}
    except DataError:
        return {}


def scenario_world(settings: Settings, name: str) -> Any:
    """The map after stored scenario ``name`` (needs no model)."""
    from recommender.database import db
    from recommender.scenario import store
    from recommender.scenario.world import derive

    with db.connect(settings) as engine:
        definition = store.load(engine, name)
    return derive(definition, settings)


def scenario_recommender(settings: Settings, rec: Any, name: str) -> Any:
    """The promoted model answering on the map of stored scenario ``name``."""
    from recommender.scenario.recommend import ScenarioRecommender

    return ScenarioRecommender(rec, scenario_world(settings, name))
