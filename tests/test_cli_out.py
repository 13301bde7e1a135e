"""Every ``--out``, checked before any work (:func:`recommender.cli._common.output_file`).

The writes are atomic (a temporary file renamed over the path), so a symbolic link was replaced
by a file and its target left as it was, and a FIFO given as ``--out`` was replaced too; a
folder that takes no new file, or an empty path, ended in a traceback. Devices are not used
here: a FIFO and links under ``tmp_path`` stand for them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from recommender.cli import _common, cli

COMMANDS = [
    ["register", "export"],
    ["register", "simulate"],
    ["feedback", "export"],
    ["briefing", "Rother"],
    ["score"],
]
IDS = [" ".join(c) for c in COMMANDS]


def _refused(args: list[str], out: str, tmp_path: Path) -> Result:
    # Refused while the options are read: no database, model or register is needed (or made).
    env = {"RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'never.sqlite'}"}
    result = CliRunner().invoke(cli, [*args, "--out", out], env=env)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.output  # no traceback
    assert not (tmp_path / "never.sqlite").exists()
    return result


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_fifo_is_refused_not_replaced(args: list[str], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    result = _refused(args, str(fifo), tmp_path)
    assert f"Invalid value for '--out': {fifo} is not a regular file: it is a FIFO" in (
        result.output
    )
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    # Through a link too: the link's target is what would be replaced.
    link = tmp_path / "link.csv"
    link.symlink_to(fifo)
    result = _refused(args, str(link), tmp_path)
    assert f"{link} (a link to {fifo}) is not a regular file" in result.output
    assert link.is_symlink() and stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_an_empty_path_is_refused(args: list[str], tmp_path: Path) -> None:
    result = _refused(args, "", tmp_path)
    assert "Invalid value for '--out': an empty path; expected a file name" in result.output


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_folder_that_takes_no_file_is_refused_naming_the_reason(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name the file system refuses (real, even as root) ...
    long = tmp_path / ("x" * 250 + ".csv")
    result = _refused(args, str(long), tmp_path)
    assert f"{long} cannot be written: File name too long (in {tmp_path})" in result.output

    # ... and a folder it refuses (as /sys or /proc did: PermissionError, FileNotFoundError).
    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_common.tempfile, "mkstemp", denied)
    out = tmp_path / "x.csv"
    result = _refused(args, str(out), tmp_path)
    assert f"{out} cannot be written: Permission denied (in {tmp_path})" in result.output
    assert not out.exists()


def test_a_disk_that_fills_during_the_write_is_said_and_the_old_file_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What no check before the work can foresee (the disk fills as the file is written) ended
    in an OSError traceback."""
    import errno

    from recommender.core import atomic

    out = tmp_path / "register.csv"
    out.write_text("the export from before\n")

    def full(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "_write_synced", full)
    env = {"RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite'}"}
    result = CliRunner().invoke(cli, ["register", "export", "--out", str(out)], env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.output  # no traceback
    assert "No space left on device. Nothing was left half-written" in result.stderr
    assert out.read_text() == "the export from before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.sqlite", "register.csv"]


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_that_prints_json_takes_the_one_format_option(path: tuple[str, ...]) -> None:
    """The README says every command that prints data takes ``--format json`` and ``--json``
    (the older spelling); `recommend` and `register export` had their own ``--format`` without
    it, and `register seeds` printed a table only."""
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    params = {p.name: p for p in command.params}
    fmt = params.get("fmt")
    if path == ("register", "seeds"):
        assert fmt is not None
    if fmt is None:
        return
    assert isinstance(fmt.type, click.Choice) and "json" in fmt.type.choices, path
    assert "legacy_json" in params, f"{' '.join(path)} has --format json but no --json"
