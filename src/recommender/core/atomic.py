"""Replace files and folders so that a crash or a kill never leaves a mix of old and new.

One file is written to ``<name>.tmp-<pid>`` beside it and renamed over it: a rename is atomic.
A set of files that belong together (the default register's ``arrangements.csv`` and
``members.csv``) or a folder (``data/reference``, moved aside and replaced) takes two renames or
more, and a kill between two would leave a new ``arrangements.csv`` beside the old
``members.csv``, or no ``data/reference`` at all. So a swap goes:

1. everything new is written completely into temporary siblings (``*.tmp-<pid>``) and synced;
2. a journal naming the renames is written (atomically): from here on the swap is decided;
3. the renames, holding an exclusive lock on the folder; then the journal is removed.

Whoever reads or writes next finds a journal left by a killed process and does its remaining
renames (:func:`recover_files`, :func:`recover_folder`): a swap is rolled forward, never left
half-done. Readers hold a shared lock while they read (:func:`reading`, :func:`reading_folder`),
so they see all the old files or all the new ones. Temporaries left by processes that died
before their journal are removed by the next write or build (:func:`clean_stale`). The locks
are ``flock`` on the folder itself, which the kernel releases when a process dies, so a kill
never leaves one held.

==================================  ====================================================
journal                             renames
==================================  ====================================================
``<folder>/.swap-journal``          each ``<name>.tmp-<pid>`` to ``<name>`` (files)
``<target>.swap-journal`` (beside)  ``<target>`` aside to ``<target>.tmp-<pid>.old``, then
                                    ``<target>.tmp-<pid>`` to ``<target>`` (a folder)
==================================  ====================================================
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from recommender.core.errors import DataError

FILES_JOURNAL = ".swap-journal"
FOLDER_JOURNAL_SUFFIX = ".swap-journal"
_TEMP = re.compile(r"^(?P<name>.+)\.tmp-(?P<pid>\d+)(?:\.old)?$")


def temporary(path: Path) -> Path:
    """Return this process's temporary sibling of ``path``."""
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def write_files(files: Mapping[Path, str | bytes]) -> list[Path]:
    """Write several files so that readers see all the old ones or all the new ones, even when
    the process is killed half-way (see the module docstring; the journal goes in the folder
    that holds them all)."""
    folder = Path(os.path.commonpath([path.parent for path in files]))
    if folder.is_dir():
        with _locked(folder, exclusive=True):
            _recover_files(folder)
            for parent in {path.parent for path in files}:
                names = {path.name for path in files if path.parent == parent}
                clean_stale(parent, names | {FILES_JOURNAL})
    temps = {path: temporary(path) for path in files}
    decided = False
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(temps[path], text)
        if len(files) == 1:
            ((path, tmp),) = temps.items()
            os.replace(tmp, path)
            return list(files)
        renames = [[str(temps[p].relative_to(folder)), str(p.relative_to(folder))] for p in files]
        with _locked(folder, exclusive=True):
            _write_journal(folder / FILES_JOURNAL, {"renames": renames})
            decided = True  # from here a failure is finished by the next reader, not undone
            _recover_files(folder)
    finally:
        if not decided:
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
    return list(files)


def start_folder(target: Path) -> Path:
    """Return a new empty temporary sibling to build a replacement of folder ``target`` in,
    after finishing a swap of it left half-done and removing dead processes' temporaries."""
    recover_folder(target)
    with _locked(target.parent, exclusive=True):
        clean_stale(target.parent, {target.name, _folder_journal(target).name})
    work = temporary(target)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return work


def swap_folder(built: Path, target: Path) -> None:
    """Replace folder ``target`` by the complete folder ``built`` (a sibling of it); a kill at
    any point leaves the old folder or, after the journal, one the next reader completes. A
    rename that fails (not a kill) leaves the old folder."""
    old = target.with_name(f"{built.name}.old")
    journal = _folder_journal(target)
    with _locked(target.parent, exclusive=True):
        _recover_folder(target)
        if old.exists():
            shutil.rmtree(old)
        for path in sorted(built.rglob("*")):
            if path.is_file():
                _sync(path)
        _write_journal(journal, {"target": target.name, "built": built.name, "old": old.name})
        try:
            _recover_folder(target)
        except OSError:
            if not target.exists() and old.exists():
                os.replace(old, target)
            journal.unlink(missing_ok=True)
            raise


def recover_files(folder: Path) -> None:
    """Finish a swap of files in ``folder`` that a killed process left half-done (one ``stat``
    when there is none)."""
    if (folder / FILES_JOURNAL).exists():
        with _completing(folder), _locked(folder, exclusive=True):
            _recover_files(folder)


def recover_folder(target: Path) -> None:
    """Finish a swap of folder ``target`` that a killed process left half-done (one ``stat``
    when there is none)."""
    if _folder_journal(target).exists():
        with _completing(target), _locked(target.parent, exclusive=True):
            _recover_folder(target)


@contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Hold a shared lock on ``folder`` while reading files swapped together in it, after
    finishing a swap of them left half-done."""
    while True:
        recover_files(folder)
        with _locked(folder, exclusive=False):
            if not (folder / FILES_JOURNAL).exists():
                yield
                return
        # A writer was killed between our check and our lock: finish its swap, then read.


@contextmanager
def reading_folder(target: Path) -> Iterator[None]:
    """Hold a shared lock on the parent of folder ``target`` while reading the folder, after
    finishing a swap of it left half-done."""
    while True:
        recover_folder(target)
        with _locked(target.parent, exclusive=False):
            if not _folder_journal(target).exists():
                yield
                return


def clean_stale(folder: Path, names: set[str]) -> list[Path]:
    """Remove the temporaries (``<name>.tmp-<pid>``, ``….old``) of ``names`` in ``folder`` left
    by processes that are no longer running; return what was removed."""
    removed = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        found = _TEMP.match(path.name)
        if not found or found["name"] not in names or alive(int(found["pid"])):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (this process included)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# Internals ---------------------------------------------------------------------------------------


@contextmanager
def _completing(what: Path) -> Iterator[None]:
    try:
        yield
    except OSError as err:
        raise DataError(
            f"{what}: an update interrupted by a crash left it half-replaced, and it cannot be "
            f"completed here ({err}); run the command again as a user who can write to "
            f"{what.parent}"
        ) from err


def _folder_journal(target: Path) -> Path:
    return target.with_name(target.name + FOLDER_JOURNAL_SUFFIX)


def _recover_files(folder: Path) -> None:
    # Caller holds the folder's exclusive lock. Each temporary still there is renamed in; the
    # ones already renamed are gone. Either way the result is every new file.
    journal = folder / FILES_JOURNAL
    plan = _read_journal(journal)
    if plan is None:
        return
    for tmp, final in plan["renames"]:
        if (folder / tmp).exists():
            os.replace(folder / tmp, folder / final)
    journal.unlink(missing_ok=True)


def _recover_folder(target: Path) -> None:
    # Caller holds the parent's exclusive lock. While the built folder exists its rename has not
    # happened: move the target aside (unless that was done) and move the built one in.
    journal = _folder_journal(target)
    plan = _read_journal(journal)
    if plan is None:
        return
    parent = target.parent
    built, old = parent / plan["built"], parent / plan["old"]
    if built.exists():
        if target.exists():
            os.replace(target, old)
        os.replace(built, target)
    journal.unlink(missing_ok=True)
    shutil.rmtree(old, ignore_errors=True)


def _read_journal(journal: Path) -> dict[str, Any] | None:
    try:
        plan: dict[str, Any] = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as err:  # never happens (written atomically), but say so if it does
        raise DataError(f"{journal}: unreadable swap journal: {err}") from err
    inside = [n for pair in plan.get("renames", []) for n in pair]  # relative paths
    names = [plan[k] for k in ("target", "built", "old") if k in plan]  # siblings
    if not all(_within(n) for n in inside) or not all(_within(n) and "/" not in n for n in names):
        raise DataError(f"{journal}: a swap journal names something outside its folder")
    return plan


def _within(name: object) -> bool:
    path = PurePosixPath(str(name))
    return (
        isinstance(name, str) and not path.is_absolute() and ".." not in path.parts and name != ""
    )


def _write_journal(journal: Path, plan: dict[str, Any]) -> None:
    tmp = temporary(journal)
    _write_synced(tmp, json.dumps(plan, sort_keys=True) + "\n")
    os.replace(tmp, journal)
    _sync(journal.parent)


def _write_synced(path: Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) and flush it to the disk."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(folder: Path, *, exclusive: bool) -> Iterator[None]:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder we cannot open (or not there yet): nothing to guard
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock
