"""Who governs each fire and rescue authority: ``fire_governance.csv``, derived and checked.

The source, ``lookups/fra_governance.csv``, was compiled from public pages (council,
commissioner and authority sites, Wikipedia): one row per English fire and rescue authority
with how it is governed, by whom, since when where a page says so, and the page. The build
checks every row against the reference and writes a reshaped table, one row per fire code:

``fire_code, governance, governed_by_code, governed_by_name, police_code, since_year,
source_url``

- ``county_council``: the council is the fire authority; ``governed_by_code`` is that council,
  whose area must be the fire area (same population, the council within the fire area).
- ``pfcc``: a police, fire and crime commissioner; ``governed_by_code`` and ``police_code`` are
  the police force area, which must be the fire area or lie within it or contain it.
- ``mayor``: a mayor who also holds the police and crime commissioner's functions;
  ``governed_by_code`` is the combined authority or the GLA, ``police_code`` the police force
  area the source names (an ``E23`` code in ``run_by_name``; a row naming none fails), which must
  match the fire area as above and lie within the mayor's area, as must the fire area.
- ``combined_fire_authority``, ``metropolitan_fire_authority``: the fire authority governs
  itself (members appointed by its councils); ``governed_by_name`` is its name as the source
  gives it, and nothing else is filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from recommender.core.errors import CheckFailed, SourceError
from recommender.core.names import council_named, normalise
from recommender.reference.inputs import FIRE_GOVERNANCE, read_csv

GOVERNANCE = (
    "county_council",
    "combined_fire_authority",
    "metropolitan_fire_authority",
    "pfcc",
    "mayor",
)
GOVERNANCE_COLUMNS = [
    "fire_code", "governance", "governed_by_code", "governed_by_name", "police_code",
    "since_year", "source_url",
]  # fmt: skip
# The kind of body each governance names in run_by_code (none for self-governing authorities).
GOVERNOR_KIND = {"county_council": "council", "pfcc": "police", "mayor": "combined"}
POLICE_CODE = re.compile(r"\bE23\d{6}\b")
MAYOR = re.compile(r"\b(Mayor of [^(/;,]+?)\s*(?:[(/;,]|$)")
NESTED = ("within", "contains")
# How a fire authority's page says it is governed.
FIRE_SENTENCES = {
    "county_council": "Run by {who}",
    "pfcc": "Governed by the {who}{since}",
    "mayor": "Governed by the {mayor}{since}",
    "combined_fire_authority": "A combined fire authority ({who}){since}",
    "metropolitan_fire_authority": "A metropolitan fire and rescue authority ({who}){since}",
}


def governance_table(
    source: Path, bodies: pd.DataFrame, adjacency: pd.DataFrame, aliases: pd.DataFrame
) -> pd.DataFrame:
    """Return the checked ``fire_governance.csv`` rows for the fire bodies in ``bodies``."""
    table = read_csv(source, FIRE_GOVERNANCE)
    facts = bodies.set_index("code")
    relation = {
        (a, b): r for a, b, r in adjacency[["code_a", "code_b", "relation"]].itertuples(index=False)
    }
    names = set(zip(aliases["key"], aliases["code"], strict=True))
    rows = [
        _row(row, number + 2, facts, relation, names) for number, row in enumerate(records(table))
    ]
    out = pd.DataFrame(rows, columns=GOVERNANCE_COLUMNS)
    fire = set(facts.index[facts["kind"] == "fire"])
    doubled = sorted(set(out.loc[out["fire_code"].duplicated(), "fire_code"]))
    missing = sorted(fire - set(out["fire_code"]))
    if doubled or missing:
        raise CheckFailed(
            f"{FIRE_GOVERNANCE}: one row per fire and rescue authority expected; "
            f"repeated {doubled[:5]}, missing {missing[:5]}"
        )
    return out.sort_values("fire_code").reset_index(drop=True)


def _row(
    row: dict[str, str],
    number: int,
    facts: pd.DataFrame,
    relation: dict[tuple[str, str], str],
    names: set[tuple[str, str]],
) -> dict[str, str]:
    where = f"{FIRE_GOVERNANCE}: row {number}"
    fire, governance = row["fra_code"], row["governance"]
    if governance not in GOVERNANCE:
        raise SourceError(
            f"{where}, column 'governance': {governance!r}; expected one of {', '.join(GOVERNANCE)}"
        )
    if fire not in facts.index or facts.at[fire, "kind"] != "fire":
        raise CheckFailed(f"{where}, column 'fra_code': {fire!r} is not a fire body")
    if row["since_year"] and not re.fullmatch(r"(19|20)\d\d", row["since_year"]):
        raise SourceError(f"{where}, column 'since_year': {row['since_year']!r} is not a year")
    if not row["source_url"].startswith(("https://", "http://")):
        raise SourceError(f"{where}, column 'source_url': {row['source_url']!r} is not a URL")
    governor, name, police = row["run_by_code"], row["run_by_name"], ""
    wanted = GOVERNOR_KIND.get(governance)
    if wanted is None:
        if governor:
            raise CheckFailed(f"{where}: a {governance} governs itself; run_by_code must be empty")
    elif governor not in facts.index or facts.at[governor, "kind"] != wanted:
        raise CheckFailed(
            f"{where}, column 'run_by_code': {governor!r} is not a {wanted} body, which a "
            f"{governance} row names"
        )
    if governance == "county_council":
        if (normalise(name), governor) not in names:
            raise CheckFailed(f"{where}: {name!r} is not a name of {governor}")
        population = facts["population"]
        same = bool(population[governor] == population[fire])
        if relation.get((governor, fire)) != "within" or not same:
            raise CheckFailed(f"{where}: the area of {governor} is not the fire area {fire}")
    elif governance == "pfcc":
        police, name = governor, re.sub(r"\s*\(.*\)$", "", name)
    elif governance == "mayor":
        police, name = _mayor(where, name)
        if police not in facts.index or facts.at[police, "kind"] != "police":
            raise CheckFailed(f"{where}: {police} in run_by_name is not a police force area")
        for inside in (fire, police):
            if relation.get((inside, governor)) != "within":
                raise CheckFailed(f"{where}: {inside} does not lie within the mayor's {governor}")
    if police and relation.get((fire, police)) not in NESTED:
        raise CheckFailed(
            f"{where}: police force area {police} and fire area {fire} are not one area, nor "
            "one within the other"
        )
    return {
        "fire_code": fire,
        "governance": governance,
        "governed_by_code": governor,
        "governed_by_name": name,
        "police_code": police,
        "since_year": row["since_year"],
        "source_url": row["source_url"],
    }


def _mayor(where: str, text: str) -> tuple[str, str]:
    """Return the police force area and the mayor named in a ``mayor`` row's ``run_by_name``."""
    police = sorted(set(POLICE_CODE.findall(text)))
    mayor = MAYOR.search(text)
    if len(police) != 1 or mayor is None:
        raise CheckFailed(
            f"{where}, column 'run_by_name': a mayor row must name the mayor ('Mayor of …') "
            f"and one police force area by its E23 code; found {police or 'no code'} in {text!r}"
        )
    return police[0], mayor.group(1).strip()


# Reading the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Governor:
    """Why two bodies are under one governor, as ``fire_governance.csv`` records it.

    ``governance`` is ``county_council`` (the council is the fire authority: ``fire_code`` is
    part of the council, never its partner), ``pfcc`` (a police, fire and crime commissioner
    over ``fire_code`` and ``police_code``) or ``mayor`` (a mayor over both, and over them the
    combined authority or the GLA ``governor_code``). ``governor_name`` is who governs
    ("Cornwall Council", "Police, Fire and Crime Commissioner for Essex", "Mayor of London");
    ``source_url`` the public page that says so.
    """

    governance: str
    governor_code: str
    governor_name: str
    fire_code: str
    police_code: str
    since_year: int | None
    source_url: str


def governed_pairs_of(governance: pd.DataFrame) -> dict[tuple[str, str], Governor]:
    """Return every ordered pair of codes under one governor in a ``fire_governance.csv`` table."""
    pairs: dict[tuple[str, str], Governor] = {}
    for row in records(governance):
        if row["governance"] not in ("county_council", "pfcc", "mayor"):
            continue  # a combined or metropolitan fire authority governs only itself
        governor = Governor(
            governance=row["governance"],
            governor_code=row["governed_by_code"],
            governor_name=row["governed_by_name"],
            fire_code=row["fire_code"],
            police_code=row["police_code"],
            since_year=int(row["since_year"]) if row["since_year"] else None,
            source_url=row["source_url"],
        )
        # A council and the fire authority it is; fire and police under one commissioner or
        # mayor; a mayor's authority and the fire and police it governs. The year is the fire
        # authority's (when it came under the governor): a pair without it is given none (the
        # Mayor of London's 2018 is the London Fire Commissioner's; the Mayor governed the
        # Metropolitan Police before, and the source gives no year for that).
        codes = {governor.fire_code, governor.police_code, governor.governor_code} - {""}
        yearless = replace(governor, since_year=None)
        for a in codes:
            for b in codes - {a}:
                pairs[(a, b)] = governor if governor.fire_code in (a, b) else yearless
    return pairs


def governance_sentence(code: str, row: dict[str, str], names: pd.Series) -> str:
    """Return what ``row`` of the table says about body ``code`` (``names``: display names)."""
    how, who, fire = row["governance"], row["governed_by_name"], row["fire_code"]
    since = f" since {row['since_year']}" if row["since_year"] else ""
    mayor = f"{who} ({names[row['governed_by_code']]})" if how == "mayor" else who
    if code == fire:
        if how == "county_council":
            who = council_named(who)
        return FIRE_SENTENCES[how].format(who=who, mayor=mayor, since=since)
    if how == "county_council":
        return f"Runs the fire and rescue service ({names[fire]})"
    if code == row["police_code"]:
        return f"Governed by the {mayor}, who also governs the {names[fire]}"
    since = f" (since {row['since_year']})" if row["since_year"] else ""
    # (a fire authority and a police force area are named with "the", as people say them)
    return f"The {who} governs the {names[fire]}{since} and the {names[row['police_code']]}"


def records(table: pd.DataFrame) -> list[dict[str, str]]:
    """Return the rows of a text table as dicts of column to text."""
    return [{str(k): str(v) for k, v in row.items()} for row in table.to_dict("records")]
