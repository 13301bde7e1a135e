"""``recommender bodies`` through click's CliRunner, on the tiny synthetic world."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli
from reference_fixtures import COUNTY_RUN, write_tiny_reference, write_tiny_register


@pytest.fixture
def run(tiny_data: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {
        "RECOMMENDER_DATA_DIR": str(tiny_data),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'tiny.sqlite'}",
    }

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env=env)

    return invoke


def test_search_best_first(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "Shire")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["code", "name"]
    assert lines[2].startswith("E10000001")


def test_search_says_a_name_is_abolished(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "Omega District Council")
    assert result.exit_code == 0, result.output
    assert "E07000001 + E07000002" in result.output
    assert "Omega was abolished" in result.output


def test_show_says_which_other_bodies_a_name_names(run) -> None:  # type: ignore[no-untyped-def]
    """ "Shire" is the county council's name and the police force area's: shown the council,
    and told of the other, where nothing was said (a police officer took the council's)."""
    result = run("bodies", "show", "Shire")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "“Shire” also names Shire police force area (E23000001): ask for it by its code.",
        "Shire (E10000001)",
    ]
    plain = run("bodies", "show", "E10000001")
    assert plain.output.splitlines()[0] == "Shire (E10000001)"


def test_search_json_and_kind(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "search", "Shire", "--kind", "police", "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["query"] == "Shire"
    rows = found["results"]
    assert [r["codes"] for r in rows] == [["E23000001"]]  # a list, as the API gives it
    assert rows[0]["display_name"] == "Shire police force area"


def test_show_facts_neighbours_and_containers(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "Alpha")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.splitlines()[:2] == ["Alpha (E07000001)", "  District council in the South West"]
    assert "Population 100 (mid-2022); 100 km², 1 people per km²" in out
    assert re.search(r"Gamma +unitary council +10 km\n", out)  # the border: 10 km, not 10.000
    assert "Shire and Gamma Fire and Rescue Authority" in out
    # A summary to read, not the reference row: no coordinates or codes of its areas.
    head = out.split("Neighbours")[0]
    for raw in ("lat", "lon", "x", "y", "region_code", "county_code", "E10000001"):
        assert not re.search(rf"\b{raw}\b", head), raw


def test_show_json(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "gamma city council", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["body"]["code"] == "E06000001"
    # The county borders Gamma along both districts' edges, so it comes first.
    assert [n["code"] for n in shown["neighbours"]] == ["E10000001", "E07000001", "E07000002"]
    assert {w["code"] for w in shown["containers"]} == {"E31000001", "E23000001", "E54000001"}
    assert shown["covers"] == []


def test_show_lists_the_bodies_within_a_body(run) -> None:  # type: ignore[no-untyped-def]
    out = run("bodies", "show", "E31000001").output
    covers = out[out.index("Covers (") :].split("\n\n")[0]
    assert re.search(r"Alpha +district council", covers)
    assert re.search(r"Gamma +unitary council", covers)
    assert "Documented arrangements" not in covers
    assert "Covers (" not in run("bodies", "show", "Alpha").output


def test_unknown_name_exits_non_zero_with_suggestions(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "Alfa")
    assert result.exit_code == 2
    assert "no public body matches 'Alfa'" in result.output
    assert "Closest matches: Alpha (E07000001)" in result.output


def test_search_with_no_match_fails(run) -> None:  # type: ignore[no-untyped-def]
    """It exited 1, where every other name that matches none exits 2; and with a kind, it said
    no body matched a name that bodies of other kinds have."""
    result = run("bodies", "search", "zzzzqqqq")
    assert result.exit_code == 2
    assert "no public body matches 'zzzzqqqq'" in result.output
    fire = run("bodies", "search", "fire", "--kind", "police")
    assert fire.exit_code == 2
    assert "no public body among the police forces matches 'fire'" in fire.output


def test_list_filters(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "list", "--county", "Shire", "--format", "json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.output)
    assert [r["code"] for r in page["bodies"]] == ["E07000001", "E07000002"]
    assert (page["total"], page["limit"], page["offset"]) == (2, 2, 0)
    fire = json.loads(run("bodies", "list", "--kind", "fire", "--json").output)  # the old flag
    assert [r["code"] for r in fire["bodies"]] == ["E31000001"]
    bad = run("bodies", "list", "--region", "Sout West")
    assert bad.exit_code == 2 and "Closest matches: South West" in bad.output


def test_list_pages_as_the_api_does(run) -> None:  # type: ignore[no-untyped-def]
    every = json.loads(run("bodies", "list", "--format", "json").output)
    page = json.loads(run("bodies", "list", "--limit", "2", "--offset", "1", "--json").output)
    assert (page["total"], page["limit"], page["offset"]) == (every["total"], 2, 1)
    assert page["bodies"] == every["bodies"][1:3]


def test_list_refuses_a_county_that_is_not_one(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "list", "--county", "Gamma", "--format", "json")
    assert result.exit_code == 2
    assert "Gamma is not a county; expected the one county" in result.output
    district = run("bodies", "list", "--county", "Alpha")  # a district: its county is named
    assert district.exit_code == 2 and "Closest matches: Shire" in district.output


def test_show_says_how_a_fire_authority_is_governed(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "Shire Fire and Rescue Service")
    assert result.exit_code == 0, result.output
    assert (
        "Fire and rescue governance\n  Governed by the Police, Fire and Crime Commissioner for "
        "Shire since 2019 "
        "(source: https://example.org/shire-pfcc)"
    ) in result.output
    police = json.loads(run("bodies", "show", "Shire Constabulary", "--json").output)
    assert [g["source_url"] for g in police["body"]["governance"]] == [
        "https://example.org/shire-pfcc"
    ]
    assert "governance" not in run("bodies", "show", "Alpha").output


def test_show_says_a_council_runs_its_fire_service(tmp_path: Path) -> None:
    write_tiny_reference(tmp_path / "reference", governance=COUNTY_RUN)
    write_tiny_register(tmp_path / "register")
    env = {
        "RECOMMENDER_DATA_DIR": str(tmp_path),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'tiny.sqlite'}",
    }
    result = CliRunner().invoke(cli, ["bodies", "show", "Shire"], env=env)
    assert result.exit_code == 0, result.output
    assert (
        "Runs the fire and rescue service (Shire and Gamma Fire and Rescue Authority) "
        "(source: https://example.org/shire-fire)"
    ) in result.output
    fire = CliRunner().invoke(cli, ["bodies", "show", "E31000001", "--json"], env=env)
    assert json.loads(fire.output)["body"]["governance"][0]["text"] == "Run by Shire County Council"


def test_show_lists_the_real_arrangements_only(run) -> None:  # type: ignore[no-untyped-def]
    shown = json.loads(run("bodies", "show", "Beta", "--json").output)
    assert [a["id"] for a in shown["arrangements"]] == ["R-00000001"]  # never S-00000002
    text = run("bodies", "show", "Beta").output
    assert "Documented arrangements (1, with its public source)" in text
    assert "Alpha and Beta shared legal service" in text and "simulated" not in text.lower()


def test_show_says_what_became_of_a_former_name(run) -> None:  # type: ignore[no-untyped-def]
    result = run("bodies", "show", "Old Alpha")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Old Alpha was renamed."
    assert "Alpha (E07000001)" in result.output


NOT_UTF8 = "R\udcf6ther"  # b"R\xf6ther" (Latin-1) as Python decodes it: a lone surrogate


@pytest.mark.parametrize(
    "args",
    [
        ["bodies", "show", NOT_UTF8],
        ["bodies", "search", NOT_UTF8],
        ["bodies", "list", "--county", NOT_UTF8],
        ["recommend", NOT_UTF8],
        ["join", NOT_UTF8],
        ["briefing", NOT_UTF8, "--out", "b.pdf"],
        ["register", "show", NOT_UTF8],
        ["register", "list", "--body", NOT_UTF8],
        ["register", "export", "--body", NOT_UTF8],
        ["register", "remove", "\udced\udca0\udc80", "--yes"],  # b"\xed\xa0\x80": U+D800
        ["scenario", "show", NOT_UTF8],
        ["models", "show", NOT_UTF8],
    ],
    ids=lambda args: " ".join(a for a in args if a.isascii()),
)
def test_an_argument_that_is_not_utf8_is_refused_by_every_command(run, args) -> None:  # type: ignore[no-untyped-def]
    """Bytes that are not UTF-8 reach Python as lone surrogates; most commands ended in a
    UnicodeEncodeError traceback (reference lookup, the database). One check refuses them all,
    showing the argument's bytes escaped."""
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not a traceback
    shown = "'\\xed\\xa0\\x80'" if "remove" in args else "'R\\xf6ther'"
    assert f"Error: the argument {shown} is not valid UTF-8" in result.output
    assert "expected text in UTF-8" in result.output


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("sqlite:///{tmp}/junk.sqlite", "file is not a database"),
        ("sqlite:///{tmp}/a-folder", "unable to open database file"),
        ("postgresql+psycopg://someone:s3cret@127.0.0.1:1/x", "127.0.0.1"),
    ],
)
def test_a_database_that_cannot_be_used_is_named_in_one_line(
    tiny_data: Path, tmp_path: Path, url: str, cause: str
) -> None:
    """A file that is not SQLite, a folder in its place, a server that refuses: every
    command that reads the database printed a traceback of 159 lines."""
    (tmp_path / "junk.sqlite").write_bytes(b"not a database, but text " * 100)
    (tmp_path / "a-folder").mkdir()  # (a folder where the file should be)
    url = url.replace("{tmp}", str(tmp_path))
    env = {"RECOMMENDER_DATA_DIR": str(tiny_data), "RECOMMENDER_DATABASE_URL": url}
    for args in (["bodies", "show", "E10000001"], ["db", "current"]):
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 1, done.output
        assert "Traceback" not in done.output and done.exception is not None
        said = done.output.strip()
        assert said.startswith("Error: cannot use the database ") and cause in said, said
        assert "s3cret" not in said and said.count("\n") == 0, said
