"""The model registry: save, list, promote, roll back, and refuse damaged or foreign models."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import joblib
import pytest
from click.testing import CliRunner

from model_fixtures import MISSING_MODULE_PICKLE, RENAMED_CLASS_PICKLE, copy_models, with_artifact
from recommender.cli import cli
from recommender.core.config import Settings
from recommender.core.errors import (
    ChecksumMismatch,
    ModelError,
    ModelLoadFailed,
    NoPromotedModel,
    UnknownModel,
    VersionMismatch,
)
from recommender.model import artifacts
from recommender.recommend import serving
from recommender.register import records as register
from register_fixtures import FIXTURES


@pytest.fixture
def models(trained_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the trained models folder (so tests may damage it)."""
    return copy_models(trained_settings, tmp_path)


def copy_version(settings: Settings, version: str, other: str) -> str:
    """A copy of ``version`` saved as version ``other`` (its metadata naming it); ``other``."""
    (settings.models / other).mkdir()
    artifact = (settings.models / version / artifacts.ARTIFACT).read_bytes()
    (settings.models / other / artifacts.ARTIFACT).write_bytes(artifact)
    meta = json.loads((settings.models / version / artifacts.METADATA).read_text())
    (settings.models / other / artifacts.METADATA).write_text(json.dumps(meta | {"version": other}))
    return other


def only_version(settings: Settings) -> str:
    (version,) = artifacts.versions(settings)
    return version


def test_a_saved_model_has_its_metadata_and_checksum(models: Settings) -> None:
    version = only_version(models)
    meta = artifacts.metadata(version, models)
    for key in ("created_at", "register", "parameters", "features", "evaluation"):
        assert key in meta
    # Written by artifacts.save itself: what verify demands, and the checkout's commit.
    assert meta["versions"] == artifacts.library_versions()
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", meta["git_commit"])
    assert meta["artifact_sha256"] == artifacts.sha256(models.models / version / "model.joblib")
    assert meta["register"]["arrangements"] == len(register.load_register(models)[0]) > 0
    loaded = artifacts.load_promoted(models)
    assert loaded.version == version


def test_list_marks_the_promoted_model(models: Settings) -> None:
    (info,) = artifacts.list_models(models)
    assert info.promoted and info.version == only_version(models)


def test_a_changed_artifact_is_refused_before_loading(models: Settings) -> None:
    version = only_version(models)
    with (models.models / version / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ChecksumMismatch, match="checksum"):
        artifacts.load(version, models)
    with pytest.raises(ChecksumMismatch):
        artifacts.promote(version, models)


def test_a_model_from_other_library_versions_is_refused(models: Settings) -> None:
    version = only_version(models)
    path = models.models / version / "metadata.json"
    meta = json.loads(path.read_text())
    meta["versions"]["scikit-learn"] = "0.0.1"
    path.write_text(json.dumps(meta))
    with pytest.raises(VersionMismatch, match=r"scikit-learn 0\.0\.1"):
        artifacts.load(version, models)


def test_a_model_in_another_format_is_refused(models: Settings) -> None:
    version = only_version(models)
    path = models.models / version / "metadata.json"
    meta = json.loads(path.read_text())
    meta["format"] = artifacts.MODEL_FORMAT - 1
    path.write_text(json.dumps(meta))
    with pytest.raises(VersionMismatch, match="format"):
        artifacts.load(version, models)


def test_unknown_versions_and_paths_outside_the_registry_are_refused(models: Settings) -> None:
    with pytest.raises(UnknownModel):
        artifacts.load("20990101-000000", models)
    with pytest.raises(UnknownModel):
        artifacts.load("../../etc/passwd", models)


def test_promote_and_roll_back(models: Settings, tmp_path: Path) -> None:
    first = only_version(models)
    second = copy_version(models, first, "29991231-235959")  # a later version
    assert artifacts.promote(second, models) == first
    assert artifacts.promoted_version(models) == second
    assert [i.version for i in artifacts.list_models(models)] == [second, first]
    assert artifacts.rollback(models) == first
    assert artifacts.promoted_version(models) == first
    with pytest.raises(ModelError, match="nothing to roll back"):
        artifacts.rollback(models)


def test_a_rollback_keeps_the_history_it_does_not_use(models: Settings) -> None:
    """A rollback wrote back only the versions whose folders it found: with older folders
    pruned, `models rollback` emptied the registry's history without a word."""
    first = only_version(models)
    second = copy_version(models, first, "29991231-235959")
    third = copy_version(models, first, "29991231-235960")
    artifacts.promote(second, models)
    artifacts.promote(third, models)
    registry = models.models / artifacts.REGISTRY
    data = json.loads(registry.read_text())
    data["history"] = ["20000101-000000-aaaaaa", *data["history"], "20000102-000000-bbbbbb"]
    registry.write_text(json.dumps(data))  # one older, one later, both with no folder
    skipped: list[str] = []
    assert artifacts.rollback(models, skipped=skipped) == second
    assert skipped == ["20000102-000000-bbbbbb"]  # passed over, and said
    kept = json.loads(registry.read_text())
    assert kept["history"] == ["20000101-000000-aaaaaa", first]  # the older one kept
    assert artifacts.rollback(models) == first
    with pytest.raises(ModelError, match=r"the 1 earlier version\(s\) the registry lists"):
        artifacts.rollback(models)  # only the older one left, with no folder: said so
    assert json.loads(registry.read_text())["history"] == ["20000101-000000-aaaaaa"]


def test_no_promoted_model_says_how_to_get_one(tmp_path: Path) -> None:
    settings = Settings.from_env().with_(models_dir=tmp_path / "models")
    with pytest.raises(NoPromotedModel, match="recommender train --promote"):
        artifacts.load_promoted(settings)


# Only the checked bytes are unpickled ---------------------------------------------------------


class _Trap:
    """Unpickling this creates ``marker``: code run from a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


def _name_artifact(models: Settings, version: str, name: str, source: Path) -> None:
    """Make the metadata name ``name`` as the artifact, with ``source``'s checksum."""
    path = models.models / version / artifacts.METADATA
    meta = json.loads(path.read_text())
    meta["artifact"] = name
    meta["artifact_sha256"] = hashlib.sha256(source.read_bytes()).hexdigest()
    meta["artifact_bytes"] = len(source.read_bytes())
    path.write_text(json.dumps(meta))


def test_metadata_naming_another_file_never_unpickles_model_joblib(
    models: Settings, tmp_path: Path
) -> None:
    version = only_version(models)
    folder = models.models / version
    marker = tmp_path / "code-ran"
    (folder / "notes.txt").write_text("not a model\n")
    _name_artifact(models, version, "notes.txt", folder / "notes.txt")
    (folder / artifacts.ARTIFACT).write_bytes(pickle.dumps(_Trap(marker)))
    with pytest.raises(ModelLoadFailed, match="does not load"):
        artifacts.load(version, models)
    with pytest.raises(ModelLoadFailed):
        artifacts.promote(version, models)
    assert not marker.exists()


def test_the_named_artifact_is_what_loads(models: Settings, tmp_path: Path) -> None:
    version = only_version(models)
    folder = models.models / version
    marker = tmp_path / "code-ran"
    (folder / "copy.joblib").write_bytes((folder / artifacts.ARTIFACT).read_bytes())
    _name_artifact(models, version, "copy.joblib", folder / "copy.joblib")
    (folder / artifacts.ARTIFACT).write_bytes(pickle.dumps(_Trap(marker)))
    assert artifacts.load(version, models).version == version
    assert not marker.exists()


@pytest.mark.parametrize(
    "name", ["../model.joblib", "/etc/passwd", "sub/model.joblib", ".model.joblib", "..", 7]
)
def test_artifact_names_outside_the_folder_are_refused(
    models: Settings, name: object, tmp_path: Path
) -> None:
    version = only_version(models)
    path = models.models / version / artifacts.METADATA
    meta = json.loads(path.read_text()) | {"artifact": name}
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="plain file name"):
        artifacts.load(version, models)


def test_a_symlinked_artifact_is_refused(models: Settings, tmp_path: Path) -> None:
    version = only_version(models)
    folder = models.models / version
    marker = tmp_path / "code-ran"
    outside = tmp_path / "elsewhere.joblib"
    outside.write_bytes(pickle.dumps(_Trap(marker)))
    (folder / "linked.joblib").symlink_to(outside)
    _name_artifact(models, version, "linked.joblib", outside)
    with pytest.raises(ModelError, match="link"):
        artifacts.load(version, models)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"version": "other"}, "its metadata says version 'other', not "),
        ({"artifact_bytes": 5}, "its metadata says artifact_bytes 5, not "),
        ({"artifact_sha256": None}, "its metadata has no checksum"),
    ],
)
def test_metadata_that_is_not_the_models_is_refused(
    models: Settings, change: dict[str, object], says: str
) -> None:
    """Metadata edited or copied from another model was accepted as long as the artifact's
    checksum held: its version and size must be the model's own too."""
    version = only_version(models)
    path = models.models / version / artifacts.METADATA
    path.write_text(json.dumps(json.loads(path.read_text()) | change))
    with pytest.raises(ChecksumMismatch, match=re.escape(says)) as caught:
        artifacts.load(version, models)
    assert "promote another version (recommender models list)" in caught.value.detail
    assert "rollback" not in caught.value.detail  # the advice when a rollback is what failed


def test_models_list_flags_a_model_that_fails_its_checks(models: Settings) -> None:
    """A damaged model was listed like any other, found out only when promoted."""
    first = only_version(models)
    damaged = copy_version(models, first, "29991231-235959")
    (models.models / damaged / artifacts.ARTIFACT).write_bytes(b"damaged")
    result = CliRunner().invoke(cli, ["models", "list"], env=_env(models))
    assert result.exit_code == 0, result.output
    assert f"! {damaged}" in result.stdout and f"* {first}" in result.stdout
    assert f"! {damaged} fails its checks: model {damaged}: model.joblib has checksum" in (
        result.stderr
    )
    listed = json.loads(CliRunner().invoke(cli, ["models", "list", "--format", "json"],
                                           env=_env(models)).stdout)  # fmt: skip
    assert [m["problem"] is None for m in listed] == [False, True]


def test_a_link_to_the_artifact_in_its_own_folder_is_called_a_link(models: Settings) -> None:
    version = only_version(models)
    folder = models.models / version
    (folder / "alias.joblib").symlink_to(folder / artifacts.ARTIFACT)
    _name_artifact(models, version, "alias.joblib", folder / artifacts.ARTIFACT)
    with pytest.raises(ModelError, match=re.escape("alias.joblib is a link; a model")):
        artifacts.load(version, models)


# A model that passes its checks but does not load -----------------------------------------------


@pytest.mark.parametrize(
    ("payload", "cause"),
    [
        (RENAMED_CLASS_PICKLE, "AttributeError"),
        (MISSING_MODULE_PICKLE, "ModuleNotFoundError"),
        (b"not a pickle at all", "Error"),
        (pickle.dumps({"not": "a model"}), "holds a dict"),
    ],
)
def test_a_model_that_does_not_unpickle_is_a_model_error(
    models: Settings, payload: bytes, cause: str
) -> None:
    first = only_version(models)
    broken = with_artifact(models.models, first, payload)
    with pytest.raises(ModelLoadFailed, match=cause) as caught:
        artifacts.load(broken, models)
    assert "recommender train --promote" in caught.value.detail
    with pytest.raises(ModelLoadFailed):
        artifacts.promote(broken, models)
    assert artifacts.promoted_version(models) == first
    assert json.loads((models.models / "registry.json").read_text())["history"] == []


def test_a_model_that_fails_its_first_query_is_not_promoted(models: Settings) -> None:
    first = only_version(models)
    model = artifacts.load(first, models).model
    model.p_enter = None  # unpickles, but a query fails (e.g. a field renamed in the format)
    path = models.models / "gutted.joblib"
    joblib.dump(model, path, compress=3)
    broken = with_artifact(models.models, first, path.read_bytes())
    assert artifacts.load(broken, models).version == broken  # the checks alone pass
    with pytest.raises(ModelLoadFailed, match="does not load"):
        artifacts.promote(broken, models, check=serving.check(models))
    assert artifacts.promoted_version(models) == first


def test_a_model_without_a_savings_model_is_not_promoted(models: Settings) -> None:
    """A model trained on too few savings figures answered with no estimates (n/a, and a
    briefing that failed on NaN): its first use refuses it, so it is never promoted."""
    first = only_version(models)
    model = artifacts.load(first, models).model
    model.components.savings = None
    path = models.models / "no-savings.joblib"
    joblib.dump(model, path, compress=3)
    broken = with_artifact(models.models, first, path.read_bytes())
    with pytest.raises(ModelLoadFailed, match="has no savings model") as caught:
        artifacts.promote(broken, models, check=serving.check(models))
    assert "recommender train --promote" in caught.value.detail
    assert artifacts.promoted_version(models) == first


def test_training_refuses_a_register_too_small_to_learn_from(
    models: Settings, tmp_path: Path
) -> None:
    """Two arrangements trained a model whose every estimate was missing; no arrangement at all
    ended in a traceback. Both are refused before anything is fitted, naming the file."""
    header = (FIXTURES / "known_small.csv").read_text().splitlines()[:3]
    before = artifacts.versions(models)
    runner = CliRunner()
    for rows in (header[:1], header):  # no arrangement; two, with two savings figures
        path = tmp_path / f"{len(rows)}.csv"
        path.write_text("\n".join(rows) + "\n")
        result = runner.invoke(
            cli, ["train", "--register", str(path), "--no-evaluate"], env=_env(models)
        )
        assert result.exit_code == 2, result.output
        assert f"{path} is too small to learn from: " in result.output
        assert "Traceback" not in result.output
        # Only what falls short is named (two arrangements with two known members are enough).
        assert ("two or more known members" in result.output) == (len(rows) == 1)
        # evaluate refuses it the same way (it ended in a scikit-learn traceback).
        result = runner.invoke(cli, ["evaluate", "--register", str(path)], env=_env(models))
        assert result.exit_code == 2, result.output
        assert f"{path} is too small to learn from: " in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([header[0], header[1].replace("procurement", "procuremnt")]) + "\n")
    args = ["train", "--register", str(bad), "--no-evaluate"]
    result = runner.invoke(cli, args, env=_env(models))
    assert result.exit_code == 2 and "no model was trained" in result.output  # not "imported"
    assert artifacts.versions(models) == before
    # evaluate trains nothing: it says what it did not do (it said "no model was trained").
    result = runner.invoke(cli, ["evaluate", "--register", str(bad)], env=_env(models))
    assert result.exit_code == 2, result.output
    assert "; nothing was evaluated:" in result.output and "trained" not in result.output


def test_rollback_to_a_model_that_does_not_load_changes_nothing(models: Settings) -> None:
    first = only_version(models)
    broken = with_artifact(models.models, first, RENAMED_CLASS_PICKLE)
    registry = models.models / "registry.json"
    registry.write_text(json.dumps({"promoted": first, "history": [broken]}))
    before = registry.read_bytes()
    with pytest.raises(ModelLoadFailed):
        artifacts.rollback(models)
    assert registry.read_bytes() == before


def _env(models: Settings) -> dict[str, str]:
    return {"RECOMMENDER_MODELS_DIR": str(models.models), "RECOMMENDER_DATA_DIR": str(models.data),
            "RECOMMENDER_DATABASE_URL": models.db_url}  # fmt: skip


def test_cli_promote_and_rollback_refuse_a_model_that_does_not_load(models: Settings) -> None:
    first = only_version(models)
    broken = with_artifact(models.models, first, RENAMED_CLASS_PICKLE)
    registry = models.models / "registry.json"
    before = registry.read_bytes()
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "promote", broken], env=_env(models))
    assert result.exit_code == 1, result.output
    assert f"model {broken} passed its checks but does not load" in result.output
    assert "AttributeError" in result.output and "Traceback" not in result.output
    assert registry.read_bytes() == before

    registry.write_text(json.dumps({"promoted": first, "history": [broken]}))
    before = registry.read_bytes()
    result = runner.invoke(cli, ["models", "rollback"], env=_env(models))
    assert result.exit_code == 1 and "does not load" in result.output
    assert registry.read_bytes() == before


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"history": "abc"}, "history", "expected a list of model versions"),
        ({"history": [None]}, "history", "expected a list of model versions"),
        ({"promoted": 5}, "promoted", "expected a model version (a string) or null"),
    ],
)
@pytest.mark.parametrize("command", [["promote", "29991231-235959"], ["rollback"]])
def test_cli_promote_and_rollback_refuse_a_registry_with_wrong_typed_fields(
    models: Settings, fields: dict[str, object], field: str, expected: str, command: list[str]
) -> None:
    """Ended in a traceback ('str' object has no attribute 'append'; a TypeError joining a
    path with None or 5): now the error invalid JSON gets, naming the field."""
    first = only_version(models)
    copy_version(models, first, "29991231-235959")
    registry = models.models / artifacts.REGISTRY
    registry.write_text(json.dumps({"promoted": first, "history": [first]} | fields))
    before = registry.read_bytes()
    result = CliRunner().invoke(cli, ["models", *command], env=_env(models))
    assert result.exit_code == 1, result.output
    assert f"{registry}: field '{field}' is" in result.output
    assert expected in result.output and "fix or delete it" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert registry.read_bytes() == before
    if field == "history":  # a service reads only 'promoted': it still finds its model
        assert artifacts.promoted_version(models) == first


# Writing: permissions, a models folder that cannot be written ----------------------------------


def test_model_folders_and_registry_are_readable_by_others(models: Settings) -> None:
    version = only_version(models)
    other = copy_version(models, version, "29991231-235959")
    artifacts.promote(other, models)
    mode = stat.S_IMODE((models.models / "registry.json").stat().st_mode)
    assert mode == 0o644
    model = artifacts.load(version, models).model
    saved = artifacts.save(model, {"register": {"hash": "abc"}}, models)
    assert stat.S_IMODE((models.models / saved).stat().st_mode) == 0o755
    for name in (artifacts.ARTIFACT, artifacts.METADATA):
        assert stat.S_IMODE((models.models / saved / name).stat().st_mode) == 0o644


def test_check_writable_says_why_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the models folder should be")
    settings = Settings.from_env().with_(models_dir=blocker / "models")
    with pytest.raises(ModelError, match=r"cannot write a model to .*file/models"):
        artifacts.check_writable(settings)
    assert artifacts.check_writable(settings.with_(models_dir=tmp_path / "m")).is_dir()


def test_train_refuses_an_unwritable_models_folder_before_training(
    models: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recommender.model.workflow

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(recommender.model.workflow, "train", no_training)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the models folder should be")
    env = _env(models) | {"RECOMMENDER_MODELS_DIR": str(blocker / "models")}
    result = CliRunner().invoke(cli, ["train"], env=env)
    assert result.exit_code == 1, result.output
    assert "cannot write a model to" in result.output and "Traceback" not in result.output


def test_a_read_only_models_folder_is_called_that(
    models: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promote in a folder the user cannot write said only "Permission denied" on a lock file
    (tests run as root, whom permissions do not stop: the refusal is the kernel's, simulated)."""
    import errno

    opening = os.open

    def refuse_the_lock(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith(artifacts.REGISTRY_LOCK):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return opening(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(artifacts.os, "open", refuse_the_lock)
    before = (models.models / artifacts.REGISTRY).read_bytes()
    with pytest.raises(ModelError, match=r"the models folder .* is read-only for this user"):
        artifacts.promote(only_version(models), models)
    assert (models.models / artifacts.REGISTRY).read_bytes() == before


def test_check_writable_refuses_a_full_disk(
    models: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artifacts.shutil, "disk_usage", lambda _: type("U", (), {"free": 10})())
    with pytest.raises(ModelError, match="not enough free space"):
        artifacts.check_writable(models)


def test_a_failed_save_leaves_no_half_written_folder(
    models: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = artifacts.load(only_version(models), models).model
    before = sorted(p.name for p in models.models.iterdir())

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifacts.joblib, "dump", full)
    with pytest.raises(ModelError, match="No space left on device; nothing was saved"):
        artifacts.save(model, {"register": {"hash": "abc"}}, models)
    assert sorted(p.name for p in models.models.iterdir()) == before


KILLED = """
import os, signal, sys
from pathlib import Path
from recommender.core.config import Settings
from recommender.model import artifacts
settings = Settings(models_dir=Path(sys.argv[1]))
def killed(*args, **kwargs):
    if sys.argv[2] == "save":
        Path(args[1]).write_bytes(b"half a model")  # joblib.dump(model, path)
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9, mid-write
if sys.argv[2] == "save":
    model = artifacts.load(sys.argv[3], settings).model
    artifacts.joblib.dump = killed
    artifacts.save(model, {"register": {"hash": "abc"}}, settings)
else:
    artifacts.os.replace = killed  # the registry written to its temporary file, not swapped in
    artifacts.promote(sys.argv[3], settings)
"""


def test_what_a_killed_save_or_promotion_left_is_removed_by_the_next(
    models: Settings, tmp_path: Path
) -> None:
    """A train or a promotion killed mid-write left its temporary model folder (a partial
    model.joblib) or registry file in models/ for good: named at random, nothing removed them."""
    version = only_version(models)
    other = copy_version(models, version, "29991231-235959")
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    for what, target in (("save", version), ("promote", other)):
        done = subprocess.run([sys.executable, str(script), str(models.models), what, target],
                              capture_output=True, check=False)  # fmt: skip
        assert done.returncode == -9, done.stderr.decode()
    left = sorted(p.name for p in models.models.iterdir() if p.name.startswith("."))
    staging = [n for n in left if ".tmp-" in n]
    assert len(staging) == 1 and re.search(r"\.tmp-\d+@", staging[0])
    assert [n for n in left if n.startswith(".registry.") and n.endswith(".tmp")]
    assert artifacts.versions(models) == sorted([version, other])  # never listed
    assert json.loads((models.models / "registry.json").read_text())["promoted"] == version

    # Another machine's folder being built, and one of this process: kept; a day old: removed.
    busy = models.models / f".20991231-000000.tmp-1@another-host-{'a' * 8}"
    mine = models.models / f".20991231-000001.tmp-{os.getpid()}@{artifacts._host()}-{'b' * 8}"
    old = models.models / f".20991231-000002.tmp-{'c' * 8}"  # as named before the writer
    for folder in (busy, mine, old):
        folder.mkdir()
    stamp = time.time() - artifacts.STALE_AFTER_S - 60
    os.utime(old, (stamp, stamp))

    artifacts.promote(other, models)  # the registry's lock held: no write is under way
    assert not list(models.models.glob(".registry.*.tmp"))
    model = artifacts.load(version, models).model
    artifacts.save(model, {"register": {"hash": "abc"}}, models)
    assert not (models.models / staging[0]).exists() and not old.exists()
    assert busy.exists() and mine.exists()


# Several writers: replicas and the CLI sharing one models folder -------------------------------

WRITER = """
import sys, time
from pathlib import Path
from recommender.model import artifacts
from recommender.core.config import Settings
artifacts.load = lambda version, settings=None: None  # promote writes at once: races are likely
settings = Settings(models_dir=Path(sys.argv[1]))
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
for version in sys.argv[3:]:
    artifacts.promote(version, settings)
"""


def test_promotions_from_several_processes_at_once_are_never_lost(tmp_path: Path) -> None:
    # Four writers (replicas on other machines, the CLI) promote 25 versions each, all at once:
    # every promotion reads, changes and writes the registry, and none may overwrite another's.
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / artifacts.REGISTRY).write_text(json.dumps({"promoted": "start", "history": []}))
    go = tmp_path / "go"
    writers = [[f"w{w}-{i:02d}" for i in range(25)] for w in range(4)]
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(go), *versions])
        for versions in writers
    ]
    go.touch()
    assert [p.wait(timeout=300) for p in processes] == [0, 0, 0, 0]
    registry = json.loads((folder / artifacts.REGISTRY).read_text())
    seen = [*registry["history"], registry["promoted"]]
    assert sorted(seen) == sorted(["start", *(v for versions in writers for v in versions)])
    for versions in writers:  # each writer's promotions in the order it made them
        assert [v for v in seen if v in versions] == versions
    assert not list(folder.glob(".registry.*.tmp"))


def test_a_promotion_racing_a_rollback_ends_as_one_after_the_other(models: Settings) -> None:
    import threading

    first = only_version(models)
    second, third = (copy_version(models, first, f"{first}-{n}") for n in (2, 3))
    artifacts.promote(second, models)  # promoted: second; history: [first]
    checking, release = threading.Event(), threading.Event()

    def slow_check(loaded: artifacts.LoadedModel) -> None:
        checking.set()  # the rollback has read the registry and is checking its target
        assert release.wait(60)

    rollback = threading.Thread(target=lambda: artifacts.rollback(models, check=slow_check))
    rollback.start()
    assert checking.wait(60)
    promote = threading.Thread(target=lambda: artifacts.promote(third, models))
    promote.start()
    promote.join(2)  # with the lock it waits for the rollback; without, it would write now
    release.set()
    rollback.join(60)
    promote.join(60)
    registry = json.loads((models.models / artifacts.REGISTRY).read_text())
    # The rollback (to first) and then the promotion of third: not a mix of the two.
    assert registry == {"promoted": third, "history": [first]}


def test_two_saves_in_the_same_second_get_two_versions(
    models: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another machine's training took the chosen name between choosing it and the rename.
    model = artifacts.load(only_version(models), models).model
    taken: list[str] = []
    real_new_version = artifacts._new_version

    def name_then_take(root: Path, register_hash: str) -> str:
        version = real_new_version(root, register_hash)
        if not taken:
            taken.append(version)
            (root / version).mkdir()
            (root / version / artifacts.METADATA).write_text("{}")  # the other's folder
        return version

    monkeypatch.setattr(artifacts, "_new_version", name_then_take)
    meta = {"register": {"hash": "abcdef"}}  # save adds the versions load checks
    saved = artifacts.save(model, meta, models)
    assert saved != taken[0] and saved in artifacts.versions(models)
    assert (models.models / taken[0] / artifacts.METADATA).read_text() == "{}"
    assert artifacts.load(saved, models).version == saved


def test_metadata_emptied_is_said_damaged_not_read_as_a_model(models: Settings) -> None:
    """A model folder whose metadata.json is {} showed as "version None … No held-out
    evaluation in this model (trained with --no-evaluate)"."""
    version = only_version(models)
    (models.models / version / artifacts.METADATA).write_text("{}")
    with pytest.raises(ModelError, match="field 'version' is missing"):
        artifacts.metadata(version, models)
    shown = CliRunner().invoke(cli, ["models", "show", version], env=_env(models))
    assert shown.exit_code != 0 and "version None" not in shown.output
    assert "The metadata was edited or damaged" in shown.output
