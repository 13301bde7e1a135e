"""The model registry in ``models/``: save, list, promote, roll back and load trained models.

Layout::

    models/
      registry.json               {"promoted": "<version>", "history": ["<older>", ...]}
      <version>/
        model.joblib              the fitted model (TrainedModel), compressed
        metadata.json             versions, register hash, git commit, parameters, features,
                                  evaluation table, created at, artifact checksum

Every write is atomic: a model folder is built under a temporary name and renamed into place;
``registry.json`` is written to a temporary file and swapped in. Loading verifies the
artifact's SHA-256 against its metadata, its format, and the library versions against the
running ones *before* unpickling, and turns scikit-learn's ``InconsistentVersionWarning``
into an error.
Only files inside ``models/`` are ever loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib

from recommender.config import Settings
from recommender.errors import (
    ChecksumMismatch,
    ModelError,
    NoPromotedModel,
    UnknownModel,
    VersionMismatch,
)

if TYPE_CHECKING:
    from recommender.training import TrainedModel

ARTIFACT = "model.joblib"
METADATA = "metadata.json"
REGISTRY = "registry.json"
# Libraries whose exact versions a model is tied to (pickles are not portable across them).
PINNED = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
# The layout of the pickled model (recommender.training.TrainedModel and what it holds). Bump it
# whenever that layout changes: a model saved in another format is refused, not half-loaded.
MODEL_FORMAT = 2
_VERSION_RE = re.compile(r"^[0-9]{8}-[0-9]{6}(-[0-9a-f]{6})?(-[0-9]+)?$")


@dataclass(frozen=True)
class ModelInfo:
    """One model in the registry, as ``models list`` shows it."""

    version: str
    created_at: str
    promoted: bool
    register_hash: str
    arrangements: int
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "promoted": self.promoted,
            "register_hash": self.register_hash,
            "arrangements": self.arrangements,
            "summary": self.summary,
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


def git_commit(root: Path) -> str:
    """The checkout's commit (with ``+dirty`` when it has changes), or ``unknown``."""
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
    return head + ("+dirty" if dirty else "")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- saving -----------------------------------------------------------------------------------
def save(model: TrainedModel, metadata: dict[str, Any], settings: Settings | None = None) -> str:
    """Write ``model`` and its metadata as a new version; return the version."""
    settings = settings or Settings.from_env()
    root = settings.models
    root.mkdir(parents=True, exist_ok=True)
    version = _new_version(root, str(metadata.get("register", {}).get("hash", "")))
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=root))
    try:
        joblib.dump(model, staging / ARTIFACT, compress=3)
        meta = dict(metadata)
        meta.update(
            format=MODEL_FORMAT,
            version=version,
            artifact=ARTIFACT,
            artifact_sha256=sha256(staging / ARTIFACT),
            artifact_bytes=(staging / ARTIFACT).stat().st_size,
        )
        (staging / METADATA).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        os.replace(staging, root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return version


def _new_version(root: Path, register_hash: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{register_hash[:6]}" if register_hash else stamp
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


# --- the registry -----------------------------------------------------------------------------
def _registry(settings: Settings) -> dict[str, Any]:
    path = settings.models / REGISTRY
    if not path.is_file():
        return {"promoted": None, "history": []}
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{path}: not valid JSON ({err}); fix or delete it") from err
    data.setdefault("promoted", None)
    data.setdefault("history", [])
    return data


def _write_registry(settings: Settings, data: dict[str, Any]) -> None:
    path = settings.models / REGISTRY
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".registry.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def versions(settings: Settings | None = None) -> list[str]:
    """Every saved version, oldest first."""
    settings = settings or Settings.from_env()
    if not settings.models.is_dir():
        return []
    found = [
        p.name
        for p in settings.models.iterdir()
        if p.is_dir() and _VERSION_RE.match(p.name) and (p / METADATA).is_file()
    ]
    return sorted(found)


def metadata(version: str, settings: Settings | None = None) -> dict[str, Any]:
    """The metadata of one version (raises :class:`UnknownModel`)."""
    settings = settings or Settings.from_env()
    path = _folder(version, settings) / METADATA
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{path}: not valid JSON ({err})") from err
    return data


def _folder(version: str, settings: Settings) -> Path:
    if not _VERSION_RE.match(version) or not (settings.models / version / METADATA).is_file():
        from recommender.names import closest

        raise UnknownModel(
            f"no model {version!r} in {settings.models}",
            field="version",
            suggestions=closest(version, versions(settings), limit=3),
        )
    return settings.models / version


def promoted_version(settings: Settings | None = None) -> str | None:
    settings = settings or Settings.from_env()
    version = _registry(settings)["promoted"]
    return str(version) if version else None


def list_models(settings: Settings | None = None) -> list[ModelInfo]:
    """Every saved model, newest first."""
    settings = settings or Settings.from_env()
    current = promoted_version(settings)
    out = []
    for version in reversed(versions(settings)):
        meta = metadata(version, settings)
        register = meta.get("register", {})
        out.append(
            ModelInfo(
                version=version,
                created_at=str(meta.get("created_at", "")),
                promoted=version == current,
                register_hash=str(register.get("hash", ""))[:12],
                arrangements=int(register.get("arrangements", 0)),
                summary=dict(meta.get("summary", {})),
            )
        )
    return out


def promote(version: str, settings: Settings | None = None) -> str | None:
    """Make ``version`` the model that serves (after verifying it); return the previous one."""
    settings = settings or Settings.from_env()
    verify(version, settings)
    data = _registry(settings)
    previous = data["promoted"]
    if previous == version:
        return previous  # type: ignore[no-any-return]
    if previous:
        data["history"].append(previous)
    data["promoted"] = version
    _write_registry(settings, data)
    return previous  # type: ignore[no-any-return]


def rollback(settings: Settings | None = None) -> str:
    """Promote the model that served before the current one; return it."""
    settings = settings or Settings.from_env()
    data = _registry(settings)
    history = [v for v in data["history"] if (settings.models / v / METADATA).is_file()]
    if not history:
        raise ModelError(
            "nothing to roll back to: no earlier promoted model in the registry", field="version"
        )
    target = str(history.pop())
    verify(target, settings)
    data["history"] = history
    data["promoted"] = target
    _write_registry(settings, data)
    return target


# --- loading ----------------------------------------------------------------------------------
def verify(version: str, settings: Settings | None = None) -> dict[str, Any]:
    """Check a version's checksum and library versions; return its metadata."""
    settings = settings or Settings.from_env()
    folder = _folder(version, settings)
    meta = metadata(version, settings)
    artifact = folder / str(meta.get("artifact", ARTIFACT))
    if artifact.parent != folder or not artifact.is_file():
        raise ModelError(f"model {version}: artifact {artifact.name} is missing")
    actual = sha256(artifact)
    if actual != meta.get("artifact_sha256"):
        raise ChecksumMismatch(
            f"model {version}: {artifact} has checksum {actual[:12]}…, its metadata says "
            f"{str(meta.get('artifact_sha256'))[:12]}…; the file was changed or damaged. "
            "Retrain (recommender train) or roll back (recommender models rollback)."
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
    return meta


def load(version: str, settings: Settings | None = None) -> LoadedModel:
    """Verify and load one version."""
    settings = settings or Settings.from_env()
    meta = verify(version, settings)
    from sklearn.exceptions import InconsistentVersionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            model = joblib.load(_folder(version, settings) / ARTIFACT)
        except InconsistentVersionWarning as err:
            raise VersionMismatch(f"model {version}: {err}") from err
    return LoadedModel(version=version, metadata=meta, model=model)


def load_promoted(settings: Settings | None = None) -> LoadedModel:
    """Load the promoted model (raises :class:`NoPromotedModel` when there is none)."""
    settings = settings or Settings.from_env()
    version = promoted_version(settings)
    if version is None:
        raise NoPromotedModel(
            f"no promoted model in {settings.models}: run `recommender train --promote` "
            "(or `make model`)"
        )
    return load(version, settings)
