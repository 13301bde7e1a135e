"""Read the ONS, lookup and mySociety source files, checking each one on the way in.

Every problem names the file and what was wrong with it (missing, a column missing, a value
that does not parse), as a :class:`SourceError`. Codes are read as text and the 2025 recodes
of Barnsley and Sheffield are mapped back to the codes the May 2024 boundaries use.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from recommender.core.errors import SourceError

# 2025 codes -> the codes in the May 2024 boundaries (Barnsley and Sheffield were recoded).
RECODED_2025 = {"E08000038": "E08000016", "E08000039": "E08000019"}

LAD_BOUNDARIES = "ons/lad_may2024_uk_buc.geojson"
CAUTH_BOUNDARIES = "ons/cauth_2024_en_buc.geojson"
POPULATION = "ons/ons_mye_mid2022_uk.csv"
RURAL_URBAN = "ons/els_areas_geog_info.csv"
LTLA_UTLA = "lookups/lookup_ltla23_utla23.csv"
LTLA_REGION = "lookups/lookup_ltla24_region24.csv"
LTLA_CAUTH = "lookups/lookup_ltla23_cauth23.csv"
LTLA_FRA = "lookups/lookup_ltla24_fra24.csv"
LTLA_PFA = "lookups/lookup_ltla24_csp24_pfa24.csv"
LSOA_ICB = "lookups/lookup_lsoa21_icb24.csv"
LSOA_LTLA = "lookups/lookup_lsoa21_ward24_ltla24.csv"
LTLA_CHAIN = "lookups/lookup_ltla_ltla.csv"
MYSOC_AUTHORITIES = "lookups/mysoc_uk_local_authorities_current.csv"
MYSOC_IMD = "lookups/mysoc_la_imd.csv"
FIRE_GOVERNANCE = "lookups/fra_governance.csv"

# The columns each file must have (others are ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    LAD_BOUNDARIES: ("LAD24CD", "LAD24NM"),
    CAUTH_BOUNDARIES: ("CAUTH24CD", "CAUTH24NM"),
    POPULATION: ("Code", "Name", "Geography", "Population"),
    RURAL_URBAN: ("areacd", "urban"),
    LTLA_UTLA: ("ltla23_code", "utla23_code", "utla23_name"),
    LTLA_REGION: ("ltla24_code", "region24_code", "region24_name"),
    LTLA_CAUTH: ("ltla23_code", "cauth23_code", "cauth23_name"),
    LTLA_FRA: ("ltla24_code", "fra24_code", "fra24_name"),
    LTLA_PFA: ("ltla24_code", "pfa24_code", "pfa24_name"),
    LSOA_ICB: ("lsoa21_code", "icb24_code", "icb24_name"),
    LSOA_LTLA: ("lsoa21_code", "ltla24_code"),
    LTLA_CHAIN: ("ltla16_code", "ltla16_name", "ltla24_code", "ltla24_name"),
    MYSOC_AUTHORITIES: (
        "local-authority-code",
        "official-name",
        "nice-name",
        "gss-code",
        "end-date",
        "replaced-by",
        "nation",
        "local-authority-type",
        "alt-names",
        "pop-2020",
    ),
    MYSOC_IMD: ("local-authority-code", "la-deprivation-score", "la-imd-pop-decile"),
    FIRE_GOVERNANCE: (
        "fra_code",
        "governance",
        "run_by_code",
        "run_by_name",
        "since_year",
        "source_url",
    ),
}
SOURCE_FILES = tuple(COLUMNS)


def source_path(source: Path, name: str) -> Path:
    """Return the path of source file ``name``; raise :class:`SourceError` if it is missing."""
    path = source / name
    if not path.is_file():
        raise SourceError(f"{path}: source file is missing (expected {name} under {source})")
    return path


def read_csv(source: Path, name: str) -> pd.DataFrame:
    """Read a source CSV as text, with its required columns checked and codes recoded."""
    path = source_path(source, name)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise SourceError(f"{path}: cannot be read as CSV ({err})") from err
    _require_columns(path, frame, COLUMNS[name])
    frame = frame.apply(lambda col: col.str.strip())
    return _recode(frame)


def read_boundaries(source: Path, name: str = LAD_BOUNDARIES) -> gpd.GeoDataFrame:
    """Read ONS boundaries (LADs by default; any CRS, the build reprojects to EPSG:27700)."""
    path = source_path(source, name)
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise SourceError(f"{path}: cannot be read as GeoJSON ({err})") from err
    _require_columns(path, frame, COLUMNS[name])
    if frame.crs is None:
        raise SourceError(f"{path}: has no coordinate reference system")
    code = COLUMNS[name][0]
    frame[code] = frame[code].astype(str).replace(RECODED_2025)
    return frame


def to_int(frame: pd.DataFrame, column: str, path: str) -> pd.Series:
    """Parse a column of whole numbers (commas allowed); name the first bad row if any."""
    text = frame[column].str.replace(",", "", regex=False)
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() | (values % 1 != 0)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise SourceError(
            f"{path}: row {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is not a "
            "whole number"
        )
    return values.astype("int64")


def to_float(
    frame: pd.DataFrame, column: str, path: str, *, allow_empty: bool = False
) -> pd.Series:
    """Parse a column of numbers; name the first bad row if any."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & ~(allow_empty & (frame[column] == ""))
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise SourceError(
            f"{path}: row {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is not a number"
        )
    return values.astype(float)


def _require_columns(path: Path, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; found "
            f"{', '.join(repr(str(c)) for c in frame.columns)}"
        )


def _recode(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if column.endswith(("_code", "CD")) or column in ("Code", "areacd", "gss-code"):
            frame[column] = frame[column].replace(RECODED_2025)
    return frame
