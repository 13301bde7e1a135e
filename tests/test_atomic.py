"""Swaps that a kill cannot leave half-done (``recommender.core.atomic``): the reference folder and
the default register's pair of files.

A kill is real: a child process does the swap with ``os.replace`` made to end the process
(``os._exit``, so no ``finally`` runs) at the N-th rename, counting the journal's own rename
as the first. The next reader must then find all the new data, or all the old.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.core import atomic
from recommender.core.config import Settings
from recommender.core.errors import DataError
from recommender.database import db
from recommender.reference import lookup as reference
from recommender.register import records as register
from reference_fixtures import write_tiny_reference

KILLED = 9
CHILD = """
import json, os, sys
from pathlib import Path
from recommender.core import atomic

args = json.loads(sys.argv[1])
real, calls = os.replace, []

def replace(src, dst):
    calls.append(dst)
    if len(calls) == args["die_at"]:
        os._exit(9)
    real(src, dst)

os.replace = replace
if args["what"] == "folder":
    atomic.swap_folder(Path(args["built"]), Path(args["target"]))
else:
    atomic.write_files({Path(p): text for p, text in args["files"].items()})
"""


def killed_at(die_at: int, **args: object) -> None:
    """Run a swap in a child process that dies at its ``die_at``-th rename."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args | {"die_at": die_at})],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == KILLED, done.stderr


def dead_pid() -> int:
    """A process id no process has (one that just ended)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or "journal" in p.name)


# The reference folder ------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with a tiny reference and a complete new build of it beside, renamed."""
    folder = tmp_path / "data"
    write_tiny_reference(folder / "reference")
    built = folder / f"reference.tmp-{dead_pid()}"
    write_tiny_reference(built)
    bodies = built / "bodies.csv"
    bodies.write_text(bodies.read_text().replace(",Delta,Delta,", ",Delta,Delta (rebuilt),"))
    return folder


def delta(data: Path) -> str:
    return str(reference.load_bodies(Settings(data_dir=data)).loc["E06000002", "display_name"])


@pytest.mark.parametrize("die_at", [2, 3], ids=["journal-only", "after-first-rename"])
def test_a_folder_swap_killed_half_way_is_finished_by_the_next_reader(
    data: Path, die_at: int
) -> None:
    built = next(data.glob("reference.tmp-*"))
    killed_at(die_at, what="folder", built=str(built), target=str(data / "reference"))
    if die_at == 3:
        assert not (data / "reference").exists()  # the window: moved aside, not yet replaced
    assert delta(data) == "Delta (rebuilt)"
    assert sorted(p.name for p in data.iterdir()) == ["reference"]


def test_a_folder_swap_killed_before_its_journal_keeps_the_old_folder(data: Path) -> None:
    built = next(data.glob("reference.tmp-*"))
    killed_at(1, what="folder", built=str(built), target=str(data / "reference"))
    assert delta(data) == "Delta"
    # The dead build's folder is cleared by the next build.
    work = atomic.start_folder(data / "reference")
    assert leftovers(data) == [work.name]


def test_a_swap_whose_rename_fails_leaves_the_old_folder(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = next(data.glob("reference.tmp-*"))
    real, calls = os.replace, []

    def failing(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="No space left"):
        atomic.swap_folder(built, data / "reference")
    monkeypatch.undo()
    assert delta(data) == "Delta"
    assert leftovers(data) == [built.name]  # the build's own, which the build then removes


def test_temporaries_of_dead_processes_are_cleared_and_live_ones_kept(tmp_path: Path) -> None:
    dead, alive = dead_pid(), os.getppid()
    for name in (f"reference.tmp-{dead}", f"reference.tmp-{dead}.old", f"reference.tmp-{alive}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "bodies.csv").write_text("x")
    for name in (f"members.csv.tmp-{dead}", f"other.csv.tmp-{dead}", "reference.csv"):
        (tmp_path / name).write_text("x")
    removed = atomic.clean_stale(tmp_path, {"reference", "members.csv"})
    assert sorted(p.name for p in removed) == sorted(
        [f"reference.tmp-{dead}", f"reference.tmp-{dead}.old", f"members.csv.tmp-{dead}"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"reference.tmp-{alive}", f"other.csv.tmp-{dead}", "reference.csv"]
    )


# Files replaced together ----------------------------------------------------------------------


def pair(folder: Path, version: str) -> dict[str, str]:
    return {str(folder / "a.csv"): f"a {version}\n", str(folder / "b.csv"): f"b {version}\n"}


def read_pair(folder: Path) -> tuple[str, str]:
    with atomic.reading(folder):
        return (folder / "a.csv").read_text(), (folder / "b.csv").read_text()


@pytest.mark.parametrize(
    ("die_at", "expected"),
    [(1, "old"), (2, "new"), (3, "new")],
    ids=["before-journal", "journal-only", "after-first-rename"],
)
def test_files_replaced_together_are_all_old_or_all_new_after_a_kill(
    tmp_path: Path, die_at: int, expected: str
) -> None:
    atomic.write_files({Path(p): text for p, text in pair(tmp_path, "old").items()})
    killed_at(die_at, what="files", files=pair(tmp_path, "new"))
    if die_at == 3:  # the window: one file new, the other old
        assert (tmp_path / "a.csv").read_text() == "a new\n"
        assert (tmp_path / "b.csv").read_text() == "b old\n"
    assert read_pair(tmp_path) == (f"a {expected}\n", f"b {expected}\n")
    atomic.write_files({Path(p): text for p, text in pair(tmp_path, "next").items()})
    assert leftovers(tmp_path) == []  # the next write cleared what the dead one left


def test_a_journal_naming_paths_outside_its_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / atomic.FILES_JOURNAL).write_text(json.dumps({"renames": [["x", "../y"]]}))
    with pytest.raises(DataError, match="outside its folder"):
        atomic.recover_files(tmp_path)


def test_files_of_two_folders_swap_through_their_common_folder(tmp_path: Path) -> None:
    files = {str(tmp_path / "a.csv"): "a new\n", str(tmp_path / "sub" / "b.csv"): "b new\n"}
    killed_at(3, what="files", files=files)
    atomic.recover_files(tmp_path)
    assert (tmp_path / "sub" / "b.csv").read_text() == "b new\n"
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "sub") == []


# The default register's pair -------------------------------------------------------------------


def grown_pair(folder: Path) -> dict[str, str]:
    """The default register with one more arrangement (S-0002) in both files."""
    arrangements = (folder / "arrangements.csv").read_text()
    members = (folder / "members.csv").read_text()
    row = arrangements.splitlines()[1].replace("S-0001", "S-0002").replace(",b572", ",c572")
    more = (
        "S-0002,1,E07000063,Lewes,lead,simulated\nS-0002,2,E07000061,Eastbourne,partner,simulated\n"
    )
    return {str(folder / "arrangements.csv"): arrangements + row + "\n",
            str(folder / "members.csv"): members + more}  # fmt: skip


def loaded(settings: Settings) -> tuple[int, int]:
    arrangements, members = register.load_register(settings)
    return len(arrangements), len(members)


@pytest.mark.parametrize("database_engine", ["sqlite"])  # the files, not the database, matter
def test_a_default_register_replaced_half_way_loads_whole(register_settings: Settings) -> None:
    folder = register_settings.register_dir
    killed_at(3, what="files", files=grown_pair(folder))
    assert (folder / "members.csv").read_text().count("S-0002") == 0  # the mixed pair
    assert register.ensure_database(register_settings) == 2
    assert loaded(register_settings) == (2, 4)
    assert leftovers(folder) == []


@pytest.mark.parametrize("database_engine", ["sqlite"])
def test_a_default_register_mixed_by_hand_is_refused(register_settings: Settings) -> None:
    folder = register_settings.register_dir
    new = grown_pair(folder)
    (folder / "arrangements.csv").write_text(new[str(folder / "arrangements.csv")])
    with pytest.raises(DataError) as caught:
        register.ensure_database(register_settings)
    assert caught.value.detail == (
        f"{folder / 'arrangements.csv'} and members.csv do not belong together (1 with no "
        "members in members.csv, e.g. S-0002): rebuild them with "
        "`recommender register build-default`"
    )
    with db.connect(register_settings) as engine, engine.connect() as conn:
        assert db.count(conn, db.arrangements) == 0  # nothing loaded
