"""Write the reference tables byte for byte the same from the same inputs.

CSV and GeoJSON are written here rather than by pandas or GDAL so that number formats, row
order, line endings and key order are fixed by this file and not by library versions.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from recommender.core import atomic

Formatter = Callable[[Any], str]


def fixed(decimals: int) -> Formatter:
    """Return a formatter for floats with ``decimals`` places (empty for missing)."""

    def fmt(value: Any) -> str:
        if value is None or pd.isna(value):
            return ""
        text = f"{float(value):.{decimals}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text

    return fmt


def whole(value: Any) -> str:
    """Format a whole number (empty for missing)."""
    if value is None or pd.isna(value):
        return ""
    return str(round(float(value)))


def text(value: Any) -> str:
    """Format a text cell (empty for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def write_csv(path: Path, frame: pd.DataFrame, formats: Mapping[str, Formatter]) -> None:
    """Write ``frame`` (in its row order) with one formatter per column, ``\\n`` line ends."""
    columns = list(frame.columns)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        cells = [frame[c].map(formats.get(c, text)).tolist() for c in columns]
        writer.writerows(zip(*cells, strict=True))


def write_geojson(
    path: Path, properties: pd.DataFrame, geoms: Sequence[Any], epsg: int = 27700
) -> None:
    """Write one feature per line, integer coordinates, rings counter-clockwise outside."""
    oriented = shapely.orient_polygons(list(geoms), exterior_cw=False)
    lines = []
    for props, geom in zip(properties.to_dict("records"), oriented, strict=True):
        shape = geom.__geo_interface__
        feature = {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": shape["type"], "coordinates": _integers(shape["coordinates"])},
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    crs = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    head = json.dumps(
        {"type": "FeatureCollection", "name": path.stem, "crs": crs}, separators=(",", ":")
    )
    body = ",\n".join(lines)
    path.write_text(head[:-1] + ',"features":[\n' + body + "\n]}\n", encoding="utf-8")


def _integers(coords: Any) -> Any:
    if isinstance(coords, tuple | list) and coords and isinstance(coords[0], int | float):
        return [round(c) for c in coords]
    return [_integers(c) for c in coords]


def swap_in(built: Path, target: Path) -> None:
    """Replace folder ``target`` by ``built``: a failure leaves ``target`` as it was, and a
    kill between the two renames is finished by the next reader (:mod:`recommender.core.atomic`)."""
    atomic.swap_folder(built, target)
