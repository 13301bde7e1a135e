"""Assemble the bodies: the 296 lower-tier councils from the sources, then the bodies made of
them (counties, fire, police, integrated care boards, combined authorities) through a
membership table.

Membership is ``body, council, weight``: the share of the council that lies in the body (1 for
whole councils; for ICBs the share of the council's LSOAs in the board). Every aggregate fact
(population, deprivation, region, rural-urban class) is derived from it, so one rule serves
every kind of body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.core.errors import CheckFailed, SourceError
from recommender.reference.inputs import (
    LSOA_ICB,
    LSOA_LTLA,
    LTLA_CHAIN,
    LTLA_FRA,
    LTLA_PFA,
    LTLA_REGION,
    LTLA_UTLA,
    MYSOC_AUTHORITIES,
    MYSOC_IMD,
    POPULATION,
    RURAL_URBAN,
    read_csv,
    to_float,
    to_int,
)

TIER_BY_PREFIX = {
    "E06": "unitary",
    "E07": "district",
    "E08": "metropolitan",
    "E09": "london_borough",
}
KIND_BY_PREFIX = {
    "E10": "council",
    "E31": "fire",
    "E23": "police",
    "E54": "health",
    "E47": "combined",
    "E61": "combined",  # the Greater London Authority (see reference_cauth)
}
TIER_BY_KIND = {
    "fire": "fire",
    "police": "police",
    "health": "health",
    "combined": "combined_authority",
}


@dataclass
class Sources:
    """The tables the build reads, already checked and keyed by current council code."""

    councils: pd.DataFrame  # index code: name, tier, region_code, region, county_code, …
    lsoa: pd.DataFrame  # lsoa21_code, council, icb
    names: dict[str, str]  # ONS names of counties, fire, police, ICB and combined authorities
    england_population: int
    mysoc: pd.DataFrame
    chain: pd.DataFrame
    imd_cuts: pd.Series  # decile -> lowest score in it (1 = most deprived)
    displays: dict[str, str] = field(default_factory=dict)  # display names not derived by rule


def read_sources(source: Path, lad_names: pd.Series) -> Sources:
    """Read and cross-check every tabular source for the councils in ``lad_names``."""
    councils = pd.DataFrame({"name": lad_names})
    councils["tier"] = [TIER_BY_PREFIX[c[:3]] for c in councils.index]
    names: dict[str, str] = {}

    utla = read_csv(source, LTLA_UTLA)
    utla = utla[utla["utla23_code"].str.startswith("E10")]
    _check_districts(utla, councils)
    councils["county_code"] = _lookup(councils, utla, "ltla23_code", "utla23_code", LTLA_UTLA)
    names.update(zip(utla["utla23_code"], utla["utla23_name"], strict=True))
    region = read_csv(source, LTLA_REGION)
    for column, key in (("region_code", "region24_code"), ("region", "region24_name")):
        councils[column] = _lookup(councils, region, "ltla24_code", key, LTLA_REGION, True)
    fire = read_csv(source, LTLA_FRA)
    councils["fire_code"] = _lookup(councils, fire, "ltla24_code", "fra24_code", LTLA_FRA, True)
    names.update(zip(fire["fra24_code"], fire["fra24_name"], strict=True))
    police = read_csv(source, LTLA_PFA).drop_duplicates("ltla24_code")
    councils["police_code"] = _lookup(councils, police, "ltla24_code", "pfa24_code", LTLA_PFA, True)
    names.update(zip(police["pfa24_code"], police["pfa24_name"], strict=True))
    # Filled in from the 2024 boundaries by reference_cauth, once the polygons are snapped.
    councils["cauth_code"] = ""

    lsoa = _lsoas(source, councils)
    names.update(_icb_names(source))
    councils["icb_code"] = majority(lsoa, "council", "icb")

    population, england = _population(source, councils)
    councils["population"] = population
    mysoc = read_csv(source, MYSOC_AUTHORITIES)
    chain = read_csv(source, LTLA_CHAIN)
    imd, cuts = _deprivation(source, councils, mysoc)
    councils["imd_score"] = imd
    councils["rural_urban"] = _rural_urban(source, councils, chain, mysoc)
    return Sources(councils, lsoa, names, england, mysoc, chain, cuts)


def _check_districts(utla: pd.DataFrame, councils: pd.DataFrame) -> None:
    per_district = utla.groupby("ltla23_code").size()
    wrong = [
        code
        for code in councils.index
        if code.startswith("E07") != (per_district.get(code, 0) == 1)
    ]
    if wrong:
        raise CheckFailed(
            f"{LTLA_UTLA}: every district must sit in exactly one county and no other council "
            f"in any; wrong for {', '.join(wrong[:5])}"
        )


def _lookup(
    councils: pd.DataFrame,
    table: pd.DataFrame,
    key: str,
    value: str,
    name: str,
    required: bool = False,
) -> pd.Series:
    mapping = table.drop_duplicates(key).set_index(key)[value]
    out = councils.index.to_series().map(mapping).fillna("")
    if required and (out == "").any():
        missing = out.index[out == ""].tolist()
        raise SourceError(f"{name}: no {value} for council(s) {', '.join(missing[:5])}")
    return out


def _lsoas(source: Path, councils: pd.DataFrame) -> pd.DataFrame:
    wards = read_csv(source, LSOA_LTLA).drop_duplicates("lsoa21_code")
    icbs = read_csv(source, LSOA_ICB)
    lsoa = wards[wards["ltla24_code"].str.startswith("E")].merge(icbs, on="lsoa21_code", how="left")
    lsoa = lsoa.rename(columns={"ltla24_code": "council", "icb24_code": "icb"})
    if lsoa["icb"].isna().any():
        first = lsoa.loc[lsoa["icb"].isna(), "lsoa21_code"].iloc[0]
        raise SourceError(f"{LSOA_ICB}: English LSOA {first} (from {LSOA_LTLA}) has no ICB")
    unknown = sorted(set(lsoa["council"]) - set(councils.index))
    empty = sorted(set(councils.index) - set(lsoa["council"]))
    if unknown or empty:
        raise SourceError(
            f"{LSOA_LTLA}: councils do not match the boundaries: unknown {unknown[:5]}, "
            f"without LSOAs {empty[:5]}"
        )
    return lsoa[["lsoa21_code", "council", "icb"]].sort_values("lsoa21_code")


def _icb_names(source: Path) -> dict[str, str]:
    icbs = read_csv(source, LSOA_ICB).drop_duplicates("icb24_code")
    return dict(zip(icbs["icb24_code"], icbs["icb24_name"], strict=True))


def _population(source: Path, councils: pd.DataFrame) -> tuple[pd.Series, int]:
    table = read_csv(source, POPULATION)
    table["Population"] = to_int(table, "Population", POPULATION)
    by_code = table.drop_duplicates("Code").set_index("Code")["Population"]
    if "E92000001" not in by_code.index:
        raise SourceError(f"{POPULATION}: no row for England (E92000001) to check totals against")
    population = councils.index.to_series().map(by_code)
    if population.isna().any():
        missing = population.index[population.isna()].tolist()
        raise SourceError(f"{POPULATION}: no population for council(s) {', '.join(missing[:5])}")
    return population.astype("int64"), int(by_code["E92000001"])


def _deprivation(
    source: Path, councils: pd.DataFrame, mysoc: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    imd = read_csv(source, MYSOC_IMD)
    imd["score"] = to_float(imd, "la-deprivation-score", MYSOC_IMD)
    imd["decile"] = to_int(imd, "la-imd-pop-decile", MYSOC_IMD)
    gss = mysoc.drop_duplicates("local-authority-code").set_index("local-authority-code")
    imd["gss"] = imd["local-authority-code"].map(gss["gss-code"])
    score = councils.index.to_series().map(imd.drop_duplicates("gss").set_index("gss")["score"])
    if score.isna().any():
        missing = score.index[score.isna()].tolist()
        raise SourceError(f"{MYSOC_IMD}: no deprivation score for council(s) {missing[:5]}")
    cuts = imd.groupby("decile")["score"].min().sort_index()
    return score, cuts


def imd_decile(score: float, cuts: pd.Series) -> int:
    """Place ``score`` among the council decile cut points (decile 1 is the most deprived)."""
    for decile, lowest in cuts.items():
        if score >= lowest:
            return int(str(decile))
    return int(str(cuts.index[-1]))


def _rural_urban(
    source: Path, councils: pd.DataFrame, chain: pd.DataFrame, mysoc: pd.DataFrame
) -> pd.Series:
    table = read_csv(source, RURAL_URBAN)
    classes = table[table["urban"] != ""].drop_duplicates("areacd").set_index("areacd")["urban"]
    out = councils.index.to_series().map(classes)
    people = mysoc.drop_duplicates("gss-code").set_index("gss-code")["pop-2020"]
    people = pd.to_numeric(people, errors="coerce").fillna(0.0)
    links = predecessors(chain)
    for code in out.index[out.isna()]:
        before = links.loc[links["code"] == code, "former_code"]
        weights = pd.DataFrame({"urban": before.map(classes), "people": before.map(people)})
        weights = weights.dropna(subset=["urban"])
        if weights.empty:
            raise SourceError(
                f"{RURAL_URBAN}: no rural-urban class for {code} nor for its predecessors "
                f"in {LTLA_CHAIN}"
            )
        out[code] = largest_class(weights["urban"], weights["people"])
    return out


def predecessors(chain: pd.DataFrame) -> pd.DataFrame:
    """Return ``former_code, former_name, code`` from the 2016–2024 code chain.

    Every code that appears in an earlier year and differs from the 2024 code is a
    predecessor of that 2024 council (incl. intermediates such as Somerset West and Taunton).
    """
    years = [c[: -len("_code")] for c in chain.columns if c.endswith("_code")]
    frames = [
        pd.DataFrame(
            {
                "former_code": chain[f"{y}_code"],
                "former_name": chain[f"{y}_name"],
                "code": chain["ltla24_code"],
            }
        )
        for y in years
    ]
    out = pd.concat(frames).drop_duplicates()
    out = out[(out["former_code"] != out["code"]) & out["code"].str.startswith("E")]
    return out.sort_values(["former_code", "code"]).reset_index(drop=True)


def largest_class(classes: pd.Series, people: pd.Series) -> str:
    """Return the class holding most people (ties: alphabetical, for determinism)."""
    totals = people.groupby(classes.to_numpy()).sum()
    totals = totals.sort_index().sort_values(ascending=False, kind="stable")
    return str(totals.index[0])


def membership(sources: Sources) -> pd.DataFrame:
    """Return ``body, council, weight, majority`` for every aggregate body."""
    councils = sources.councils
    frames = []
    for column in ("county_code", "fire_code", "police_code", "cauth_code"):
        has = councils[councils[column] != ""]
        frames.append(
            pd.DataFrame(
                {"body": has[column], "council": has.index, "weight": 1.0, "majority": True}
            )
        )
    lsoa = sources.lsoa
    counts = lsoa.groupby(["icb", "council"]).size().rename("n").reset_index()
    totals = lsoa.groupby("council").size()
    counts["weight"] = counts["n"] / counts["council"].map(totals)
    counts["majority"] = counts["council"].map(councils["icb_code"]) == counts["icb"]
    frames.append(counts.rename(columns={"icb": "body"})[["body", "council", "weight", "majority"]])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["body", "council"]).reset_index(drop=True)


def aggregate_facts(sources: Sources, members: pd.DataFrame) -> pd.DataFrame:
    """Return one row per aggregate body with population, deprivation, region, class."""
    councils = sources.councils
    m = members.join(councils, on="council")
    m["people"] = m["population"] * m["weight"]
    m["imd_people"] = m["imd_score"] * m["people"]
    grouped = m.groupby("body")
    facts = pd.DataFrame(
        {
            "population": grouped["people"].sum().round().astype("int64"),
            "imd_score": grouped["imd_people"].sum() / grouped["people"].sum(),
        }
    )
    facts["imd_decile"] = [imd_decile(s, sources.imd_cuts) for s in facts["imd_score"]]
    facts["rural_urban"] = majority(m, "body", "rural_urban", weight="people")
    facts["region_code"] = majority(m, "body", "region_code", weight="people")
    regions = councils.drop_duplicates("region_code").set_index("region_code")["region"]
    facts["region"] = facts["region_code"].map(regions)
    facts["name"] = [sources.names[code] for code in facts.index]
    facts["kind"] = [KIND_BY_PREFIX[code[:3]] for code in facts.index]
    facts["tier"] = [TIER_BY_KIND.get(k, "county") for k in facts["kind"]]
    # A county sits in a fire, police or combined authority area when all its districts do,
    # and in the ICB holding most of its LSOAs, as a council does.
    counties = m[m["body"].str.startswith("E10")]
    for column in ("fire_code", "police_code", "cauth_code"):
        only = counties.groupby("body")[column].agg(lambda v: v.iloc[0] if v.nunique() == 1 else "")
        facts[column] = only.reindex(facts.index).fillna("")
    lsoa = sources.lsoa.assign(county=sources.lsoa["council"].map(councils["county_code"]))
    facts["icb_code"] = majority(lsoa[lsoa["county"] != ""], "county", "icb")
    facts["icb_code"] = facts["icb_code"].fillna("")
    facts["county_code"] = ""
    return facts


def majority(table: pd.DataFrame, group: str, value: str, weight: str | None = None) -> pd.Series:
    """Return, per ``group``, the ``value`` on most rows, or holding most ``weight``.

    Ties go to the lowest value, so the result does not depend on row order.
    """
    totals = (
        table.groupby([group, value])[weight].sum()
        if weight
        else table.groupby([group, value]).size()
    )
    counts = totals.rename("n").reset_index()
    counts = counts.sort_values([group, "n", value], ascending=[True, False, True])
    return counts.drop_duplicates(group).set_index(group)[value]


def display_name(code: str, name: str) -> str:
    """Return the everyday name of a body from its ONS name."""
    prefix = code[:3]
    plain = re.sub(r"^(.+), (?:City|County) of$", r"\1", name)
    if prefix == "E31":
        plain = plain.replace(" & ", " and ")
        return plain if "Authority" in plain else f"{plain} Fire and Rescue Authority"
    if prefix == "E23":
        plain = "City of London" if name == "London, City of" else plain.replace(" & ", " and ")
        return f"{plain} force area" if plain.endswith("Police") else f"{plain} police force area"
    return plain


def check_counts(councils: pd.DataFrame, expected: dict[str, int]) -> None:
    """Raise :class:`CheckFailed` unless the numbers of each kind of area are as expected."""
    found = {
        "lower-tier councils": len(councils),
        "counties": councils["county_code"].replace("", np.nan).nunique(),
        "regions": councils["region_code"].nunique(),
        "fire and rescue authorities": councils["fire_code"].nunique(),
        "police force areas": councils["police_code"].nunique(),
        "combined authorities": councils["cauth_code"].replace("", np.nan).nunique(),
    }
    for what, count in found.items():
        if what in expected and count != expected[what]:
            raise CheckFailed(f"found {count} {what}; expected {expected[what]}")
