"""Every name a person may type for a body, and every abolished council's successors.

Rows are ``alias, key, code, alias_type, former_code, note``; ``key`` is
:func:`recommender.core.names.normalise` of the alias and is what resolution matches on, so
variants that normalise alike ("Bristol City Council", "City of Bristol") need one row only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import pandas as pd

from recommender.core.errors import CheckFailed
from recommender.core.names import council_types, normalise
from recommender.reference.bodies import Sources, predecessors
from recommender.reference.inputs import MYSOC_AUTHORITIES, RECODED_2025

ALIAS_COLUMNS = ["alias", "key", "code", "alias_type", "former_code", "note"]
ALIAS_TYPES = ("official", "display", "variant", "former", "nhs_predecessor")
CURATED = "recommender.reference.curated"


def build_aliases(
    bodies: pd.DataFrame,
    sources: Sources,
    extra: Iterable[tuple[str, str, str, str, str]] = (),
) -> pd.DataFrame:
    """Return the sorted alias table for ``bodies``.

    ``extra`` rows (``alias, code, alias_type, former_code, note``) come from the modules that
    know a kind of body best, e.g. the combined authorities' forms and former names.
    """
    rows: list[dict[str, Any]] = []
    # A body whose ONS name is gone (curated/renamed.csv): that name says so when asked for.
    gone = {r["code"]: r["note"] for r in _curated("renamed")}
    for code, name, display in zip(
        bodies["code"], bodies["name"], bodies["display_name"], strict=True
    ):
        said = gone.get(code, "") if name != display else ""
        rows.append(_row(name, code, "official", note=said))
        rows.append(_row(display, code, "display"))
        rows.extend(_row(v, code, "variant") for v in _variants(code, name))
    rows.extend(_renamed(sources.chain))
    rows.extend(_mysoc_current(sources.mysoc, set(bodies["code"])))
    rows.extend(
        _row(r["alias"], r["code"], "variant", note=r["note"]) for r in _curated("extra_aliases")
    )
    rows.extend(_recoded(bodies))
    rows.extend(_former(sources, bodies))
    rows.extend(_row(alias, code, kind, former, note) for alias, code, kind, former, note in extra)
    return _tidy(pd.DataFrame(rows, columns=ALIAS_COLUMNS), bodies)


def _row(alias: str, code: str, kind: str, former: str = "", note: str = "") -> dict[str, Any]:
    alias = " ".join(str(alias).split())
    return {
        "alias": alias,
        "key": normalise(alias),
        "code": code,
        "alias_type": kind,
        "former_code": former,
        "note": note,
    }


def _variants(code: str, name: str) -> list[str]:
    """Return the forms people write for fire, police and NHS bodies."""
    base = re.sub(r"^(.+), City of$", r"City of \1", name).replace(" & ", " and ")
    parts = _components(base)
    if code.startswith("E31"):
        if "Authority" in base:
            return []
        names = [base, *parts]
        out = [
            f"{n} {suffix}"
            for n in names
            for suffix in ("Fire and Rescue Service", "Fire and Rescue", "Fire Service", "FRS")
        ]
        out += [f"{base} {s}" for s in ("Fire and Rescue Authority", "Fire Authority", "FRA")]
        return out + parts
    if code.startswith("E23"):
        if base.endswith("Police"):
            return [base, f"{base} Service"]
        suffixes = ("Police", "Constabulary", "Police Force", "Police and Crime Commissioner")
        return [f"{base} {s}" for s in (*suffixes, "PCC")] + parts
    if code.startswith("E54"):
        core = re.sub(r"^NHS (.+) Integrated Care Board$", r"\1", name)
        return [
            f"NHS {core} ICB",
            f"{core} ICB",
            f"{core} Integrated Care Board",
            f"NHS {core}",
            core,
        ]
    return []


def former_fire_services(
    aliases: pd.DataFrame, governance: pd.DataFrame, bodies: pd.DataFrame
) -> pd.DataFrame:
    """The fire services a combined fire authority formed since 2000 replaced ("Hampshire Fire
    and Rescue Service", "Isle of Wight FRS" for Hampshire and Isle of Wight, 2021), as
    ``former`` aliases of it, part of it since the year its governance gives: an arrangement of
    2014 between Hampshire's service and its police was no partnership of the authority
    formed in 2021 (generated as variants from its name's parts, they read as the authority
    itself)."""
    by_code = bodies.set_index("code")
    out = aliases.copy()
    for row in governance.to_dict("records"):
        year = str(row.get("since_year") or "")
        if row["governance"] != "combined_fire_authority" or not year or int(year) < 2000:
            continue
        code = str(row["fire_code"])
        base = str(by_code.at[code, "name"]).replace(" & ", " and ")
        now = str(by_code.at[code, "display_name"])
        for part in _components(base):
            key = normalise(part)
            mine = (
                (out["code"] == code)
                & (out["alias_type"] == "variant")
                & ((out["key"] == key) | out["key"].str.startswith(key + " "))
                & ~out["key"].str.startswith(normalise(base))
            )
            out.loc[mine, "alias_type"] = "former"
            out.loc[mine, "note"] = (
                f"{part}'s fire and rescue service became part of {now} in {year}"
            )
    return out


def _components(base: str) -> list[str]:
    # "Devon and Somerset" -> Devon, Somerset: the services people name by their old area.
    if "Fire" in base or " and " not in base:
        return []
    return [p.strip() for p in re.split(r",| and ", base) if p.strip()]


def _mysoc_current(mysoc: pd.DataFrame, codes: set[str]) -> list[dict[str, Any]]:
    current = mysoc[(mysoc["end-date"] == "") & mysoc["gss-code"].isin(codes)]
    rows = []
    for r in current.itertuples(index=False):
        row: dict[str, str] = dict(zip(mysoc.columns, r, strict=True))
        code = row["gss-code"]
        rows.append(_row(row["official-name"], code, "official"))
        rows.append(_row(row["nice-name"], code, "variant"))
        rows.extend(_row(a, code, "variant") for a in split_alt_names(row["alt-names"]))
    return rows


def split_alt_names(text: str) -> list[str]:
    """Split mySociety ``alt-names``: commas separate names, ", " sits inside one."""
    return [p.strip() for p in re.split(r",(?! )", text) if p.strip()]


def _renamed(chain: pd.DataFrame) -> list[dict[str, Any]]:
    # Councils renamed under the same code, e.g. Shepway -> Folkestone and Hythe (2018).
    rows = []
    names = [c for c in chain.columns if c.endswith("_name")]
    for _, r in chain[chain["ltla24_code"].str.startswith("E")].iterrows():
        for column in names:
            year_code = r[column.replace("_name", "_code")]
            if year_code == r["ltla24_code"] and r[column] != r["ltla24_name"]:
                note = f"{r[column]} was renamed {r['ltla24_name']}"
                rows.append(_row(r[column], r["ltla24_code"], "variant", note=note))
    return rows


def _recoded(bodies: pd.DataFrame) -> list[dict[str, Any]]:
    display = bodies.set_index("code")["display_name"]
    return [
        _row(new, old, "variant", note=f"2025 code for {display[old]} ({old} in 2024)")
        for new, old in RECODED_2025.items()
    ]


def _former(sources: Sources, bodies: pd.DataFrame) -> list[dict[str, Any]]:
    """Abolished councils (mySociety, the code chain, the 2009 orders) and their successors."""
    mysoc = sources.mysoc[sources.mysoc["nation"] == "England"]
    by_la = mysoc.set_index("local-authority-code")
    gone = mysoc[mysoc["end-date"] != ""]
    chain = predecessors(sources.chain)
    display = bodies.set_index("code")["display_name"]
    rows = []
    for r in gone.itertuples(index=False):
        row: dict[str, str] = dict(zip(mysoc.columns, r, strict=True))
        successors = sorted(set(_successors(row["local-authority-code"], by_la)))
        names = [row["official-name"], row["nice-name"], *split_alt_names(row["alt-names"])]
        names += chain.loc[chain["former_code"] == row["gss-code"], "former_name"].tolist()
        note = _note(row["official-name"], row["end-date"][:4], successors, display,
                     _between(row["local-authority-code"], by_la))  # fmt: skip
        rows += [
            _row(n, s, "former", row["gss-code"], note)
            for n in dict.fromkeys(names)
            for s in successors
        ]
    known = set(gone["gss-code"])
    for former_code, group in chain[~chain["former_code"].isin(known)].groupby("former_code"):
        successors = sorted(set(group["code"]))
        name = group["former_name"].iloc[0]
        note = _note(name, "", successors, display)
        rows += [_row(name, s, "former", str(former_code), note) for s in successors]
    for name, group in pd.DataFrame(_curated("abolished_2009")).groupby("name"):
        successors = sorted(group["successor_code"])
        note = _note(str(name), "2009", successors, display)
        rows += [_row(str(name), s, "former", "", note) for s in successors]
    return rows


def _successors(la_code: str, by_la: pd.DataFrame, depth: int = 0) -> list[str]:
    row = by_la.loc[la_code]
    if row["end-date"] == "":
        return [str(row["gss-code"])]
    if depth > 5 or not row["replaced-by"]:
        raise CheckFailed(f"{MYSOC_AUTHORITIES}: cannot follow replaced-by from {la_code}")
    return [
        code
        for nxt in row["replaced-by"].split(",")
        for code in _successors(nxt.strip(), by_la, depth + 1)
    ]


def _between(la_code: str, by_la: pd.DataFrame) -> str:
    """The council an abolished one went into that is itself gone since, one way only:
    " (into Somerset West and Taunton Council, itself abolished in 2023)" of Taunton Deane,
    whose area is Somerset's only since 2023; "" where it went into a council there today, or
    into several."""
    into = [c.strip() for c in str(by_la.loc[la_code, "replaced-by"]).split(",") if c.strip()]
    if len(into) != 1 or into[0] not in by_la.index:
        return ""
    then = by_la.loc[into[0]]
    if then["end-date"] == "":
        return ""
    return f" (into {then['official-name']}, itself abolished in {then['end-date'][:4]})"


def _note(
    name: str, year: str, successors: list[str], display: pd.Series, between: str = ""
) -> str:
    unknown = [s for s in successors if s not in display.index]
    if unknown:
        raise CheckFailed(f"successor(s) {unknown} of {name} are not current bodies")
    names = [str(display[s]) for s in successors]
    when = (f" in {year}" if year else "") + between
    if len(names) == 1:
        return f"{name} was abolished{when}; now part of {names[0]}"
    return f"{name} was abolished{when}; its area is now {' and '.join(names)}"


def renamed(codes: Iterable[str]) -> dict[str, str]:
    """The names bodies go by where the ONS name their code carries is one they no longer have
    (``curated/renamed.csv``: the London Fire Commissioner, the fire and rescue authority for
    Greater London since the London Fire and Emergency Planning Authority was abolished in
    2018), for their display name; each code must be one of ``codes``."""
    rows = _curated("renamed")
    unknown = sorted({r["code"] for r in rows} - set(codes))
    if unknown:
        raise CheckFailed(f"curated/renamed.csv names codes that are not bodies: {unknown}")
    return {r["code"]: r["name"] for r in rows}


def _curated(name: str) -> list[dict[str, str]]:
    path = resources.files(CURATED).joinpath(f"{name}.csv")
    with path.open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return list(frame.to_dict("records"))  # type: ignore[arg-type]


def _tidy(aliases: pd.DataFrame, bodies: pd.DataFrame) -> pd.DataFrame:
    unknown = sorted(set(aliases["code"]) - set(bodies["code"]))
    if unknown:
        raise CheckFailed(f"aliases point at codes that are not bodies: {unknown[:5]}")
    aliases = aliases[aliases["key"] != ""].copy()
    # One row per key and body (and former council): the most official wording wins.
    # Rows come most official first within each type (ONS name, then mySociety's), so a
    # stable sort keeps that order among equals.
    aliases["rank"] = aliases["alias_type"].map({t: i for i, t in enumerate(ALIAS_TYPES)})
    # Among equals, a name written with its capitals before one a source wrote all lower case
    # ("newcastle upon tyne, north tyneside and …", one of mySociety's alt-names).
    aliases["lower"] = aliases["alias"].str.islower()
    # The type of council a name gives ("Lichfield District Council": district) is kept, one
    # row for each a body's names give under a key, and a council gone whose key is its
    # successor's own keeps its row (the City of Durham Council of 2009 and Durham County
    # Council, both "durham"): :func:`recommender.reference.lookup.resolve` reads a name's type.
    aliases["gone"] = aliases["alias_type"] == "former"
    aliases["types"] = [" ".join(sorted(council_types(a))) for a in aliases["alias"]]
    aliases = aliases.sort_values(["key", "code", "former_code", "rank", "lower"], kind="stable")
    aliases["extra"] = aliases.duplicated(["key", "code", "former_code", "gone"])
    aliases = aliases.drop_duplicates(["key", "code", "former_code", "gone", "types"])
    aliases = _drop_joined(aliases)
    aliases = _drop_ambiguous(aliases, bodies)
    return (  # each key and body's most official wording first: the name a match is said by
        aliases.sort_values(["key", "code", "former_code", "gone", "extra", "alias"])[
            ALIAS_COLUMNS
        ].reset_index(drop=True)
    )


def _drop_joined(aliases: pd.DataFrame) -> pd.DataFrame:
    """Drop a council's variants that join two councils' names: mySociety gives Worthing the
    alternative name "Adur and Worthing Borough Council", which read a partner "Adur and
    Worthing" as Worthing alone, Adur dropped. (An NHS board's area may be so named: "Kent and
    Medway".)"""
    named = aliases[aliases["alias_type"].isin(["official", "display"])]
    owner = named.groupby("key")["code"].agg(set)
    joined = []
    council = aliases["code"].str.match(r"E0[6-9]")
    for i, row in aliases[(aliases["alias_type"] == "variant") & council].iterrows():
        parts = str(row["key"]).split(" and ")
        if len(parts) < 2:
            continue
        owners = [owner.get(part, set()) for part in parts]
        codes = {c for found in owners for c in found}
        if all(len(found) == 1 for found in owners) and len(codes) == len(parts):
            joined.append(i)
    return aliases.drop(index=joined)


def _drop_ambiguous(aliases: pd.DataFrame, bodies: pd.DataFrame) -> pd.DataFrame:
    """Drop generated variants naming two bodies of one kind ("Newcastle"); keep the rest."""
    kind = aliases["code"].map(bodies.set_index("code")["kind"])
    current = aliases["alias_type"].isin(["official", "display", "variant"])
    groups = (
        aliases[current].assign(kind=kind).groupby(["key", "kind"])["code"].transform("nunique")
    )
    ambiguous = groups[groups > 1].index
    official = aliases.loc[ambiguous, "alias_type"].isin(["official", "display"])
    clash = aliases.loc[ambiguous[official.to_numpy()]]
    if len(clash) and clash.duplicated(["key"]).any():
        first = clash[clash.duplicated(["key"], keep=False)].iloc[0]
        raise CheckFailed(f"{first['alias']!r} is the official name of two bodies of one kind")
    kept: pd.DataFrame = aliases.drop(index=ambiguous[~official.to_numpy()])
    return kept
