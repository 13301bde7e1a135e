"""The model registry in ``models/``: save, list, promote, roll back and load trained models.

Layout::

    models/
      registry.json               {"promoted": "<version>", "history": ["<older>", ...]}
      <version>/
        model.joblib              the fitted model (TrainedModel), compressed
        metadata.json             versions, register hash, git commit, parameters, features,
                                  evaluation table, created at, artifact checksum

Every write is atomic: a model folder is built under a temporary name and renamed into place;
``registry.json`` is written to a temporary file, synced and swapped in, so a reader (a service
replica looking for a promotion every few seconds) sees the old registry or the new one, never
a mix. A save or a registry write killed midway leaves only its temporary, which the next
save, promotion or rollback removes (:func:`clean_stale`). Folders are left 0o755 and files
0o644 (readable by the service's user, whoever trained). Training checks that it can write
here before it starts (:func:`check_writable`).

Several writers may share one models folder (service replicas on several machines, over a
network file system, and the CLI): every change of the registry (promote, roll back) reads,
changes and writes it holding an exclusive lock (:func:`_registry_lock`, a POSIX lock on
``.registry.lock``, which NFS passes to the server, plus a thread lock, since POSIX locks are
held per process), so two changes take turns and neither is lost: a promotion racing a
rollback ends as if one ran after the other. Two models saved at the same second get
different versions (the second rename finds the first folder and takes the next name).

Loading reads the artifact named in the metadata (a plain file name in the version's folder:
no path separators, no symlink) into memory once, checks the SHA-256 of exactly those bytes,
the format and the library versions *before* unpickling them, and turns scikit-learn's
``InconsistentVersionWarning`` into an error. Nothing else is ever unpickled. A model that
passes those checks but still does not load (a class renamed without a format bump) raises
:class:`~recommender.core.errors.ModelLoadFailed`; :func:`promote` and :func:`rollback` load the
model (and run the caller's check on it) before the registry changes, so a model that does not
load is never promoted. A metadata file is read with its shape checked
(:func:`recommender.model.shape.check`): a field of the wrong type is a :class:`ModelError`
naming the file and the field, and ``models list`` lists that model as damaged, not stops.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib

from recommender.core import atomic
from recommender.core.config import Settings
from recommender.core.errors import (
    ChecksumMismatch,
    ModelError,
    ModelLoadFailed,
    NoPromotedModel,
    RecommenderError,
    UnknownModel,
    VersionMismatch,
)
from recommender.model import shape

if TYPE_CHECKING:
    from recommender.model.fit import TrainedModel

ARTIFACT = "model.joblib"
METADATA = "metadata.json"
REGISTRY = "registry.json"
REGISTRY_LOCK = ".registry.lock"
# Libraries whose exact versions a model is tied to (pickles are not portable across them).
PINNED = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
# The layout of the pickled model (recommender.model.fit.TrainedModel and what it holds). Bump it
# whenever that layout changes: a model saved in another format is refused, not half-loaded.
MODEL_FORMAT = 2
_VERSION_RE = re.compile(r"^[0-9]{8}-[0-9]{6}(-[0-9a-f]{6})?(-[0-9]+)?$")
# The artifact a metadata file may name: a plain file name (no separator, no leading dot).
_ARTIFACT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FOLDER_MODE = 0o755  # tempfile creates 0o700 folders and 0o600 files: readable by all instead
FILE_MODE = 0o644


@dataclass(frozen=True)
class ModelInfo:
    """One model in the registry, as ``models list`` shows it."""

    version: str
    created_at: str
    promoted: bool
    register_hash: str
    arrangements: int
    summary: dict[str, Any]
    problem: str | None = None  # why its checks fail (it cannot be promoted), if they do
    real: int = 0
    simulated: int = 0
    readable: bool = True  # False: its metadata is damaged (``problem`` says how); all else blank
    ranking: tuple[dict[str, Any], ...] = ()  # its held-out evaluation's, as saved (not listed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "promoted": self.promoted,
            "register_hash": self.register_hash,
            "arrangements": self.arrangements,
            "real": self.real,
            "simulated": self.simulated,
            "readable": self.readable,
            "summary": self.summary,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class LoadedModel:
    """A verified, loaded model and its metadata."""

    version: str
    metadata: dict[str, Any]
    model: TrainedModel


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in (*PINNED, "geopandas"):
        versions[name] = importlib_metadata.version(name)
    return versions


DIRTY = "+dirty"  # after a commit: the checkout had changes not committed


def commit_said(recorded: str) -> tuple[str, bool]:
    """A recorded :func:`git_commit` as a page shows it: its first 12 characters, and whether
    the checkout had changes not committed (``"e2781ac9924b…+dirty"``: ``("e2781ac9924b",
    True)``)."""
    return recorded.removesuffix(DIRTY)[:12], recorded.endswith(DIRTY)


def git_commit(root: Path) -> str:
    """The checkout's commit (with :data:`DIRTY` when it has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (DIRTY if dirty else "")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- saving -----------------------------------------------------------------------------------
def check_writable(settings: Settings) -> Path:
    """Check that a model can be saved in the models folder (before any training starts).

    Raises :class:`ModelError` saying why not (read-only, not a folder, no space left).
    """
    root = settings.models
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(prefix=".write-check-", dir=root) as probe:
            probe.write(b"0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
        free = shutil.disk_usage(root).free
    except OSError as err:
        raise ModelError(
            f"cannot write a model to {root}: {err.strerror or err}; make the folder writable "
            "(or set RECOMMENDER_MODELS_DIR to one that is) and try again",
            field="models",
        ) from err
    needed = max((_artifact_bytes(v, settings) for v in versions(settings)), default=0)
    if free < needed:
        raise ModelError(
            f"not enough free space in {root} for a model: {free / 1e6:,.0f} MB free, the last "
            f"model took {needed / 1e6:,.0f} MB; free some space (e.g. delete old versions) "
            "and try again",
            field="models",
        )
    return root


def _artifact_bytes(version: str, settings: Settings) -> int:
    try:
        return int(metadata(version, settings).get("artifact_bytes", 0))
    except (RecommenderError, OSError, TypeError, ValueError):
        return 0


def save(model: TrainedModel, metadata: dict[str, Any], settings: Settings) -> str:
    """Write ``model`` and its metadata as a new version; return the version.

    Beside ``metadata`` the saved metadata records what :func:`verify` checks and what a model
    page quotes: the library versions (:func:`library_versions`), the checkout's commit
    (:func:`git_commit`), the format and the artifact's checksum and size.
    Raises :class:`ModelError` when the folder cannot be written (nothing is left behind).
    """
    root = settings.models
    register_hash = str(metadata.get("register", {}).get("hash", ""))
    try:
        root.mkdir(parents=True, exist_ok=True)
        clean_stale(settings)
        version = _new_version(root, register_hash)
        writer = f"{os.getpid()}@{_host()}"  # whose it is, for clean_stale
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-{writer}-", dir=root))
    except OSError as err:
        raise ModelError(f"cannot save the model in {root}: {err.strerror or err}") from err
    try:
        joblib.dump(model, staging / ARTIFACT, compress=3)
        meta = dict(metadata)
        meta.update(
            versions=library_versions(),
            git_commit=git_commit(settings.root),
            format=MODEL_FORMAT,
            version=version,
            artifact=ARTIFACT,
            artifact_sha256=sha256(staging / ARTIFACT),
            artifact_bytes=(staging / ARTIFACT).stat().st_size,
        )
        _write_metadata(staging, meta)
        os.chmod(staging / ARTIFACT, FILE_MODE)
        os.chmod(staging, FOLDER_MODE)
        version = _rename_new(staging, root, meta, register_hash)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(
            f"could not save the model in {root}: {err.strerror or err}; nothing was saved "
            "(the models already there are unchanged)"
        ) from err
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return version


# A model folder is built as ``.<version>.tmp-<pid>@<host>-<random>`` (before 2026-12:
# ``.<version>.tmp-<random>``) and ``registry.json`` written as ``.registry.<random>.tmp``.
_STAGING = re.compile(r"^\.[^/]+\.tmp-(?:(?P<pid>\d+)@(?P<host>[^/]+)-)?[a-z0-9_]{8}$")
_REGISTRY_TEMP = re.compile(r"^\.registry\.[a-z0-9_]{8}\.tmp$")
STALE_AFTER_S = 24 * 3600  # a folder being built by another machine is finished well before


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


def clean_stale(settings: Settings) -> list[Path]:
    """Remove what killed saves left in the models folder; return what was removed.

    A model folder being built is named for its process and machine: it is removed once
    that process no longer runs on this machine, or (another machine's, or named before
    the process was recorded) after :data:`STALE_AFTER_S`. A registry's temporary file is
    removed only when the caller holds the registry's lock (no write is then under way on
    any machine): :func:`promote` and :func:`rollback` do. Called before each save.
    """
    root, removed = settings.models, []
    here, now = _host(), time.time()
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        found = _STAGING.match(path.name)
        if found is None or not path.is_dir() or path.is_symlink():
            continue
        try:
            old = now - path.lstat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        dead = found["host"] == here and not atomic.alive(int(found["pid"]))
        if dead or old:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _clean_registry_temps(settings: Settings) -> None:
    """Remove registry writes a kill left behind (the caller holds the registry's lock)."""
    for path in settings.models.glob(".registry.*.tmp"):
        if _REGISTRY_TEMP.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)


def _new_version(root: Path, register_hash: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{register_hash[:6]}" if register_hash else stamp
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def _write_metadata(folder: Path, meta: Mapping[str, Any]) -> None:
    (folder / METADATA).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    os.chmod(folder / METADATA, FILE_MODE)


def _rename_new(staging: Path, root: Path, meta: dict[str, Any], register_hash: str) -> str:
    """Rename the built folder to its metadata's version, or to the next free name when another
    writer (a training on another machine) took that one since it was chosen (its metadata then
    names the new one: a model's metadata names its own folder); return the name."""
    for _ in range(100):
        try:
            # os.rename onto a folder that exists and is not empty fails (never merges).
            os.rename(staging, root / meta["version"])
            return str(meta["version"])
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        meta["version"] = _new_version(root, register_hash)  # the taken name now exists
        _write_metadata(staging, meta)
    raise OSError(errno.EEXIST, f"no free version name near {meta['version']}")


# --- the registry -----------------------------------------------------------------------------
def _registry(
    settings: Settings, fields: tuple[str, ...] = ("promoted", "history")
) -> dict[str, Any]:
    """The registry's contents, ``fields`` checked: ``promoted`` a version (or null) and
    ``history`` a list of versions. A reader checks only the fields it uses, so a service
    reading ``promoted`` still finds its model when ``history`` is damaged; a promotion or a
    rollback, which write both, refuse a registry with either wrong (:class:`ModelError`)."""
    path = settings.models / REGISTRY
    if not path.is_file():
        return {"promoted": None, "history": []}
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except OSError as err:
        raise ModelError(f"cannot read {path}: {err.strerror or err}") from err
    except ValueError as err:  # also not UTF-8
        raise ModelError(f"{path}: not valid JSON ({err}); fix or delete it") from err
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object; fix or delete it")
    data.setdefault("promoted", None)
    data.setdefault("history", [])
    promoted, history = data["promoted"], data["history"]
    if "promoted" in fields and not (promoted is None or isinstance(promoted, str)):
        raise ModelError(
            f"{path}: field 'promoted' is {shape.shown(promoted)}; expected a model version "
            "(a string) or null; fix or delete it",
            field="promoted",
        )
    if "history" in fields and not (
        isinstance(history, list) and all(isinstance(v, str) for v in history)
    ):
        raise ModelError(
            f"{path}: field 'history' is {shape.shown(history)}; expected a list of model versions "
            "(strings); fix or delete it",
            field="history",
        )
    return data


def _write_registry(settings: Settings, data: dict[str, Any]) -> None:
    """Write the registry (the caller holds its lock)."""
    path = settings.models / REGISTRY
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _clean_registry_temps(settings)
        fd, tmp = tempfile.mkstemp(prefix=".registry.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise ModelError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # the new registry is on disk before it replaces the old
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as err:
        raise ModelError(f"cannot write {path}: {err.strerror or err}; it is unchanged") from err
    finally:
        Path(tmp).unlink(missing_ok=True)


_THREADS = threading.Lock()  # POSIX locks are per process: threads of one take turns here


@contextmanager
def _registry_lock(settings: Settings) -> Iterator[None]:
    """Hold the registry's write lock (every writer, every machine sharing the folder).

    A POSIX lock (``lockf``) on ``.registry.lock``: released by the kernel when the holder
    dies, and on NFS taken on the server, so writers on other machines wait too.
    """
    path = settings.models / REGISTRY_LOCK
    with _THREADS:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as err:
            why = err.strerror or str(err)
            if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                why += f": the models folder {settings.models} is read-only for this user"
                why += "; the registry cannot change (make it writable, or run as its owner)"
            raise ModelError(f"cannot lock {path}: {why}") from err
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def versions(settings: Settings) -> list[str]:
    """Every saved version, oldest first."""
    if not settings.models.is_dir():
        return []
    found = [
        p.name
        for p in settings.models.iterdir()
        if p.is_dir() and _VERSION_RE.match(p.name) and (p / METADATA).is_file()
    ]
    return sorted(found)


def metadata(version: str, settings: Settings) -> dict[str, Any]:
    """The metadata of one version (raises :class:`UnknownModel`), its shape checked: a file
    that is not JSON, not an object or has a field of the wrong shape (:func:`shape.check`)
    raises :class:`ModelError` naming the file and the field."""
    path = _folder(version, settings) / METADATA
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except OSError as err:
        raise ModelError(f"cannot read {path}: {err.strerror or err}") from err
    except ValueError as err:  # also not UTF-8
        raise ModelError(f"model {version}: {path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ModelError(f"model {version}: {path}: expected a JSON object")
    shape.check(version, path, data)
    return data


def _folder(version: str, settings: Settings) -> Path:
    if not _VERSION_RE.match(version) or not (settings.models / version / METADATA).is_file():
        from recommender.core.names import closest

        raise UnknownModel(
            f"no model {version!r} in {settings.models}",
            field="version",
            suggestions=closest(version, versions(settings), limit=3),
        )
    return settings.models / version


def promoted_version(settings: Settings) -> str | None:
    """The promoted version, or None (reads only the registry's ``promoted`` field)."""
    version = _registry(settings, fields=("promoted",))["promoted"]
    return str(version) if version else None


def list_models(settings: Settings) -> list[ModelInfo]:
    """Every saved model, newest first, each checked as a promotion checks it (its artifact's
    checksum, its metadata, the library versions; not loaded). A model whose metadata cannot
    be read (not JSON, a field of the wrong shape) is listed too, unreadable, ``problem``
    saying what is wrong and where: one damaged folder does not hide the others."""
    current = promoted_version(settings)
    out = []
    for version in reversed(versions(settings)):
        try:
            meta = metadata(version, settings)
        except ModelError as err:
            out.append(
                ModelInfo(
                    version=version,
                    created_at="",
                    promoted=version == current,
                    register_hash="",
                    arrangements=0,
                    summary={},
                    problem=err.detail,
                    readable=False,
                )
            )
            continue
        register = meta.get("register", {})
        try:
            _checked(version, settings)
            problem = None
        except ModelError as err:
            problem = err.detail
        out.append(
            ModelInfo(
                version=version,
                created_at=str(meta.get("created_at", "")),
                promoted=version == current,
                register_hash=str(register.get("hash", ""))[:12],
                arrangements=int(register.get("arrangements", 0)),
                summary=dict(meta.get("summary", {})),
                problem=problem,
                real=int(register.get("real", 0)),
                simulated=int(register.get("simulated", 0)),
                ranking=tuple((meta.get("evaluation") or {}).get("ranking") or ()),
            )
        )
    return out


Check = Callable[["LoadedModel"], object]


def promote(version: str, settings: Settings, *, check: Check | None = None) -> str | None:
    """Make ``version`` the model that serves; return the previous one.

    The model is loaded first (and ``check`` run on it, e.g. a first query): a model that does
    not load leaves the registry unchanged and raises :class:`ModelError`.
    """
    _try(version, settings, check)  # slow (a model load): before the lock
    with _registry_lock(settings):  # read, change and write in one turn: nothing is lost
        data = _registry(settings)
        previous = data["promoted"]
        if previous == version:
            return previous  # type: ignore[no-any-return]
        if previous:
            data["history"].append(previous)
        data["promoted"] = version
        _write_registry(settings, data)
    return previous  # type: ignore[no-any-return]


def rollback(
    settings: Settings,
    *,
    check: Check | None = None,
    skipped: list[str] | None = None,
    replaced: list[str] | None = None,
) -> str:
    """Promote the model that served before the current one (after loading it); return it,
    and put the one it replaced in ``replaced``, when a list is given.

    The latest earlier version whose folder is still there is the one: any promoted after it
    whose folder is gone are passed over, and named in ``skipped`` when a list is given (they
    leave the history as a rollback past them would take them). The history before it is kept
    as it is, folders or not: what the registry recorded is not the rollback's to forget.

    The lock is held from reading the registry to writing it (the target depends on what it
    says), so a promotion or another rollback waits for this one, then applies to its result.
    """
    with _registry_lock(settings):
        data = _registry(settings)
        history = [str(v) for v in data["history"]]
        gone: list[str] = []
        while history and not (settings.models / history[-1] / METADATA).is_file():
            gone.append(history.pop())
        if not history:
            raise ModelError(
                "nothing to roll back to: "
                + (
                    f"the {len(gone)} earlier version(s) the registry lists (the latest "
                    f"{gone[0]}) have no folder in the models folder"
                    if gone
                    else "no earlier promoted model in the registry"
                ),
                field="version",
            )
        target = history.pop()
        _try(target, settings, check)
        was = data["promoted"]
        data["history"] = history
        data["promoted"] = target
        _write_registry(settings, data)
    if skipped is not None:
        skipped.extend(gone)
    if replaced is not None and was:
        replaced.append(str(was))
    return target


def _try(version: str, settings: Settings, check: Check | None) -> None:
    loaded = load(version, settings)
    if check is not None:
        guarded(version, lambda: check(loaded))


# --- loading ----------------------------------------------------------------------------------
def verify(version: str, settings: Settings) -> dict[str, Any]:
    """Check a version's artifact (name, checksum) and library versions; return its metadata."""
    return _checked(version, settings)[0]


OTHER_MODEL_HINT = (
    "Retrain (recommender train --promote) or promote another version (recommender models list)."
)


def _checked(version: str, settings: Settings) -> tuple[dict[str, Any], bytes]:
    """Return a version's metadata and its artifact's bytes, read once and checked."""
    folder = _folder(version, settings)
    meta = metadata(version, settings)
    data = _read_artifact(version, folder, meta.get("artifact", ARTIFACT), settings)
    actual = hashlib.sha256(data).hexdigest()
    expected = meta.get("artifact_sha256")
    if actual != expected:
        says = f"says {str(expected)[:12]}…" if expected else "has no checksum"
        raise ChecksumMismatch(
            f"model {version}: {meta.get('artifact')} has checksum {actual[:12]}…, its metadata "
            f"{says}; the file was changed or damaged. {OTHER_MODEL_HINT}"
        )
    if meta.get("version") != version or meta.get("artifact_bytes") != len(data):
        field, value, wanted = (
            ("version", meta.get("version"), version)
            if meta.get("version") != version
            else ("artifact_bytes", meta.get("artifact_bytes"), len(data))
        )
        raise ChecksumMismatch(
            f"model {version}: its metadata says {field} {value!r}, not {wanted!r}; the metadata "
            f"was edited or belongs to another model. {OTHER_MODEL_HINT}"
        )
    if meta.get("format") != MODEL_FORMAT:
        raise VersionMismatch(
            f"model {version} was saved in format {meta.get('format')} by another version of "
            f"recommender (this one reads format {MODEL_FORMAT}); retrain with "
            "`recommender train --promote`."
        )
    wanted = meta.get("versions", {})
    running = library_versions()
    mismatched = [
        f"{name} {wanted.get(name)} (running {running[name]})"
        for name in PINNED
        if wanted.get(name) != running[name]
    ]
    if mismatched:
        raise VersionMismatch(
            f"model {version} was trained with " + ", ".join(mismatched) + "; install the "
            "versions in constraints.txt or retrain with `recommender train --promote`."
        )
    return meta, data


def _read_artifact(version: str, folder: Path, name: Any, settings: Settings) -> bytes:
    """Read artifact ``name`` of ``folder``, refusing anything that is not a plain file in it."""
    if not isinstance(name, str) or not _ARTIFACT_RE.match(name):
        raise ModelError(
            f"model {version}: its metadata names the artifact {name!r}; expected a plain file "
            "name in the model's folder (no path, no '..')"
        )
    path = folder / name
    home = folder.resolve()
    escapes = path.resolve().parent != home or home.parent != settings.models.resolve()
    if path.is_symlink() or escapes:
        what = "a link" if path.is_symlink() else "outside its folder"
        raise ModelError(
            f"model {version}: artifact {name} is {what}; a model's artifact must be a plain file "
            "in its own folder: refused"
        )
    try:
        # O_NOFOLLOW: a symlink swapped in after the check above is refused, not followed.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ModelError(f"model {version}: artifact {name} is missing") from None
    except OSError as err:
        raise ModelError(f"model {version}: cannot read {name} ({err.strerror or err})") from err
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def guarded(version: str, step: Callable[[], Any]) -> Any:
    """Run ``step`` (loading or first use of a model); turn any failure into a ModelError."""
    try:
        return step()
    except RecommenderError:
        raise
    except Exception as err:
        raise ModelLoadFailed(
            f"model {version} passed its checks but does not load ({type(err).__name__}: "
            f"{err}); it was probably saved by a different version of recommender. Retrain "
            "with `recommender train --promote`, or promote another version."
        ) from err


def load(version: str, settings: Settings) -> LoadedModel:
    """Verify and load one version: exactly the bytes that were checked are unpickled."""
    meta, data = _checked(version, settings)
    from sklearn.exceptions import InconsistentVersionWarning

    from recommender.model.fit import TrainedModel

    def unpickle() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            try:
                return joblib.load(io.BytesIO(data))
            except InconsistentVersionWarning as err:
                raise VersionMismatch(f"model {version}: {err}") from err

    model = guarded(version, unpickle)
    if not isinstance(model, TrainedModel):
        raise ModelLoadFailed(
            f"model {version}: the artifact holds a {type(model).__name__}, not a trained model; "
            "retrain with `recommender train --promote`"
        )
    from recommender.reference import lookup as reference  # deferred: costly to load

    # Which bodies are one (a fire authority and the body that runs it) is the reference's
    # today, whatever rule or table the model was saved with.
    model.follow_governance(reference.governed_pairs(settings))
    return LoadedModel(version=version, metadata=meta, model=model)


def load_promoted(settings: Settings) -> LoadedModel:
    """Load the promoted model (raises :class:`NoPromotedModel` when there is none)."""
    version = promoted_version(settings)
    if version is None:
        raise NoPromotedModel(
            f"no promoted model in {settings.models}: run `recommender train --promote` "
            "(or `make model`)"
        )
    return load(version, settings)
