"""Combined authorities (ONS 2024) and the Greater London Authority, as bodies made of councils.

Which councils make up each combined authority is read from the geometry, because the only
council-to-combined-authority lookup in the sources is the 2023 one and the 2024 set differs
from it: a council belongs to the combined authority whose ONS 2024 polygon covers most of the
council's (snapped) polygon. The ultra-generalised combined-authority shapes do not follow
council borders exactly, so a council is a member only when the polygon covers most of it,
and a share that is neither a sliver nor nearly all (:data:`SLIVER`) stops the build: the shapes
would then disagree with council borders by more than generalisation explains.

The result is checked against ``lookup_ltla23_cauth23.csv``: a council may differ from its 2023
combined authority only when the change is explained by the sources themselves, i.e. its 2023
authority is not in the 2024 set and all of that authority's councils now sit in one 2024
authority (North East and North of Tyne -> the 2024 North East), or it had none in 2023 and its
2024 authority is new (York and North Yorkshire, East Midlands). Anything else fails the build.
The replaced authorities become ``former`` aliases of their successor.

The Greater London Authority is not in the ONS set. It is added as a body of the same kind,
made of the London boroughs (the councils of the London region, all 33 of them), because it is
the strategic authority over its boroughs as a combined authority is over its councils, its
Mayor governs London's fire and police as the mayors of Greater Manchester and York and North
Yorkshire govern theirs, and it appears in real arrangements ("GLA", "Mayor of London").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from recommender.core import kinds
from recommender.core.errors import CheckFailed, SourceError
from recommender.geo import geography
from recommender.reference.aliases import split_alt_names
from recommender.reference.inputs import (
    CAUTH_BOUNDARIES,
    LTLA_CAUTH,
    MYSOC_AUTHORITIES,
    read_boundaries,
    read_csv,
)

GLA = kinds.GLA
LONDON = "E12000007"
SLIVER = 0.05  # a council's share in a polygon is under this, or over 1 - this
MAX_UNCOVERED = 0.01  # of a combined authority's polygon left uncovered by its councils
YEAR = "2024"  # the year of the ONS set, when the replaced authorities had gone


@dataclass(frozen=True)
class CombinedAuthorities:
    """The combined authorities and the GLA: who their councils are and what they are called.

    ``members`` maps every council code to its authority's code (empty outside any);
    ``names`` are ONS names (the GLA's is mySociety's), ``display`` the names people write;
    ``former`` lists the 2023 authorities the 2024 set replaced: ``former_code, former_name,
    code`` (the successor).
    """

    members: pd.Series
    names: dict[str, str]
    display: dict[str, str]
    former: pd.DataFrame


def combined_authorities(
    source: Path, councils: pd.DataFrame, council_geoms: Any, mysoc: pd.DataFrame
) -> CombinedAuthorities:
    """Derive, check and name the combined authorities of ``councils`` (index: code).

    ``council_geoms`` are the councils' snapped polygons in EPSG:27700, in the order of
    ``councils``; ``region_code`` must be filled in (the GLA is the London region's councils).
    """
    shapes = read_boundaries(source, CAUTH_BOUNDARIES)
    shapes = shapes[shapes["CAUTH24CD"].str.startswith("E47")].sort_values("CAUTH24CD")
    polygons = np.asarray(
        [geography.polygonal(shapely.make_valid(g)) for g in geography.to_bng(shapes).geometry],
        dtype=object,
    )
    codes = shapes["CAUTH24CD"].to_numpy(dtype=str)
    geoms = np.asarray(council_geoms, dtype=object)
    members = _members(councils.index, geoms, codes, polygons)
    lookup = read_csv(source, LTLA_CAUTH)
    former = _explain_changes(members, lookup, set(codes))
    members[_london(councils)] = GLA

    official = _official_names(mysoc)
    if GLA not in official:
        raise SourceError(f"{MYSOC_AUTHORITIES}: no row for the Greater London Authority ({GLA})")
    names = dict(zip(codes, shapes["CAUTH24NM"], strict=True)) | {GLA: official[GLA]}
    display = {code: _display(name, official.get(code, "")) for code, name in names.items()}
    display[GLA] = official[GLA]
    return CombinedAuthorities(members, names, display, former)


def _members(councils: pd.Index, geoms: Any, codes: Any, polygons: Any) -> pd.Series:
    """Return each council's combined authority: the polygon covering most of it, if any."""
    tree = shapely.STRtree(polygons)
    council, body = tree.query(geoms, predicate="intersects")
    share = shapely.area(shapely.intersection(geoms[council], polygons[body]))
    share = share / shapely.area(geoms[council])
    unclear = (share > SLIVER) & (share < 1 - SLIVER)
    if unclear.any():
        i = int(np.argmax(unclear))
        raise CheckFailed(
            f"{CAUTH_BOUNDARIES}: {codes[body[i]]} covers {share[i]:.0%} of council "
            f"{councils[council[i]]}; expected almost none or almost all of it (the shapes are "
            "generalised, but not by that much)"
        )
    out = pd.Series("", index=councils, dtype=object)
    most = share > 0.5
    out.iloc[council[most]] = codes[body[most]]
    for code, polygon in zip(codes, polygons, strict=True):
        inside = geoms[(out == code).to_numpy()]
        if not len(inside):
            raise CheckFailed(f"{CAUTH_BOUNDARIES}: combined authority {code} has no councils")
        missed = shapely.symmetric_difference(shapely.union_all(inside), polygon).area
        if missed > MAX_UNCOVERED * polygon.area:
            raise CheckFailed(
                f"{CAUTH_BOUNDARIES}: the councils mostly inside {code} differ from its polygon "
                f"by {missed / polygon.area:.1%} of its area (at most {MAX_UNCOVERED:.0%})"
            )
    return out


def _explain_changes(members: pd.Series, lookup: pd.DataFrame, current: set[str]) -> pd.DataFrame:
    """Check the 2024 membership against the 2023 lookup; return the replaced authorities."""
    lookup = lookup[lookup["cauth23_code"] != ""]
    unknown = sorted(set(lookup["ltla23_code"]) - set(members.index))
    if unknown:
        raise CheckFailed(f"{LTLA_CAUTH}: council(s) {unknown[:5]} are not current councils")
    before = lookup.drop_duplicates("ltla23_code").set_index("ltla23_code")["cauth23_code"]
    before = before.reindex(members.index).fillna("")
    names = dict(zip(lookup["cauth23_code"], lookup["cauth23_name"], strict=False))
    successor: dict[str, str] = {}
    for code in sorted(set(before) - {""} - current):
        after = set(members[before == code])
        if len(after) != 1 or "" in after:
            raise CheckFailed(
                f"{LTLA_CAUTH}: {code} ({names[code]}) is not in the 2024 set, and its councils "
                f"are not all in one 2024 combined authority (they are in {sorted(after)})"
            )
        successor[code] = after.pop()
    new = current - set(before)
    explained = (
        (before == members)
        | ((before == "") & members.isin(new))
        | (before.map(successor).fillna("") == members)
    )
    if not explained.all():
        council = str(explained.index[~explained.to_numpy()][0])
        raise CheckFailed(
            f"council {council} is in combined authority {members[council] or 'none'} by the "
            f"2024 boundaries ({CAUTH_BOUNDARIES}) but in {before[council] or 'none'} in "
            f"{LTLA_CAUTH}, and no replaced or new combined authority explains the change"
        )
    return pd.DataFrame(
        [(old, names[old], new_code) for old, new_code in sorted(successor.items())],
        columns=["former_code", "former_name", "code"],
    )


def _london(councils: pd.DataFrame) -> pd.Series:
    london = councils["region_code"] == LONDON
    boroughs = councils["tier"] == "london_borough"
    if not london.any() or (london != boroughs).any():
        odd = councils.index[(london != boroughs).to_numpy()].tolist()
        raise CheckFailed(
            f"the London region's councils should be exactly the London boroughs (the GLA's "
            f"area); they differ for {odd[:5]}"
        )
    return london


def _official_names(mysoc: pd.DataFrame) -> dict[str, str]:
    rows = mysoc[mysoc["gss-code"].str.match(r"E(47|61)")]
    return dict(zip(rows["gss-code"], rows["official-name"], strict=True))


def _display(name: str, official: str) -> str:
    # mySociety's official names say what the body is ("South Yorkshire Mayoral Combined
    # Authority", "East Midlands Combined County Authority"), except Liverpool City Region's.
    return official if official.endswith("Authority") else f"{name} Combined Authority"


def cauth_aliases(
    combined: CombinedAuthorities, mysoc: pd.DataFrame
) -> list[tuple[str, str, str, str, str]]:
    """Return ``alias, code, alias_type, former_code, note`` rows for the authorities.

    The current ones get the forms people write ("X Combined Authority", "X Mayoral Combined
    Authority", "X CA", "X MCA"; for a combined county authority also "X Combined County
    Authority" and "X CCA") and mySociety's short code (GMCA, WECA, GLA); mySociety's names of
    current bodies are added with every other body's. Each replaced authority is a ``former``
    alias of its successor, under its ONS name, mySociety's official name, nice name,
    alternative names and short code, "X Combined Authority" and "X CA".
    """
    rows: list[tuple[str, str, str, str, str]] = []
    by_code = mysoc.drop_duplicates("gss-code").set_index("gss-code")
    for code, name in combined.names.items():
        county = "Combined County Authority" in combined.display[code]
        forms = [] if code == GLA else _forms(name, county=county)
        if code in by_code.index:  # mySociety's short code: GMCA, WECA, GLA
            forms.append(str(by_code.at[code, "local-authority-code"]))
        rows += [(alias, code, "variant", "", "") for alias in forms]
    official = _official_names(mysoc)
    for old, old_name, code in combined.former.itertuples(index=False):
        names = [old_name, f"{old_name} Combined Authority", f"{old_name} CA"]
        if old in by_code.index:
            row = by_code.loc[old]
            names += [row["official-name"], row["nice-name"], *split_alt_names(row["alt-names"])]
            names.append(row["local-authority-code"])
        title = official.get(old) or f"{old_name} Combined Authority"
        note = f"{title} ({old}) was replaced in {YEAR} by {combined.display[code]} ({code})"
        rows += [(n, code, "former", old, note) for n in dict.fromkeys(names) if n]
    return rows


def _forms(name: str, *, county: bool) -> list[str]:
    forms = [f"{name} {s}" for s in ("Combined Authority", "Mayoral Combined Authority")]
    forms += [f"{name} CA", f"{name} MCA"]
    if county:
        forms += [f"{name} {s}" for s in ("Combined County Authority", "CCA", "MCCA")]
        forms.append(f"{name} Mayoral Combined County Authority")
    return forms
