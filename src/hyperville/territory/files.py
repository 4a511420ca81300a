"""Writing layers as standard files: GeoPackage layers (pyogrio) and CSV, deterministically.

GeoPackage files carry a "last change" timestamp; it is pinned (GDAL's ``OGR_CURRENT_DATE``)
while writing, so that the same territory gives byte-identical files.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio import raw

from .communes import CRS
from .equipment import Table

PINNED_DATE = "2026-11-01T00:00:00Z"


@contextmanager
def pinned_gdal_date() -> Iterator[None]:
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": PINNED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _column(values) -> tuple[np.ndarray, np.ndarray]:
    """A typed array and its null mask, for one column (ints, floats, then text)."""
    vals = list(values)
    mask = np.array(
        [v is None or (isinstance(v, float) and math.isnan(v)) for v in vals], dtype=bool
    )
    present = [v for v, m in zip(vals, mask, strict=True) if not m]
    if present and all(isinstance(v, (int, np.integer)) for v in present):
        arr = np.array([0 if m else int(v) for v, m in zip(vals, mask, strict=True)], np.int64)
    elif present and all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
        arr = np.array([np.nan if m else float(v) for v, m in zip(vals, mask, strict=True)])
    else:
        arr = np.array([None if m else str(v) for v, m in zip(vals, mask, strict=True)], object)
    return arr, mask


def write_layer(path: Path, layer: str, table: Table, geometry_type: str) -> int:
    """Append one layer to a GeoPackage (created if absent); returns the feature count."""
    names = list(table.columns)
    arrays, masks = zip(*(_column(table.columns[n]) for n in names), strict=True)
    geometry = np.array(
        [None if g is None else shapely.to_wkb(g) for g in table.geometry], dtype=object
    )
    with pinned_gdal_date():
        raw.write(
            str(path),
            geometry,
            list(arrays),
            names,
            field_mask=list(masks),
            layer=layer,
            driver="GPKG",
            geometry_type=geometry_type,
            crs=CRS,
            encoding="UTF-8",
            append=path.exists(),
            layer_options={"SPATIAL_INDEX": "YES"},
        )
    return len(geometry)


def write_csv(path: Path, columns: dict, delimiter: str = ",") -> int:
    """A CSV file with a header row; empty cells for missing values."""
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        out.writerow(names)
        for i in range(n):
            out.writerow(["" if (v := columns[c][i]) is None else v for c in names])
    return n
