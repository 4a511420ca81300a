"""Writers of small GIS files for the tests (pyogrio's raw writer: no geopandas needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio.raw
import pyproj
import shapely

# Le Havre city hall (0.1072 E, 49.4939 N), roughly, in Lambert-93; the oracle of every
# reprojection test is computed with pyproj. (x 491 000, y 6 929 000 is 7.5 km south of it.)
LE_HAVRE_L93 = (490_390.0, 6_936_570.0)
DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON"}


def to_wgs84(x: float, y: float, crs: str = "EPSG:2154") -> tuple[float, float]:
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(x, y)
    return round(lon, 7), round(lat, 7)


def write_layer(
    path: Path,
    geometries: list,
    columns: dict[str, list],
    *,
    crs: str | None = "EPSG:2154",
    layer: str | None = None,
    geometry_type: str | None = None,
) -> Path:
    """Write shapely geometries (None allowed) and columns with pyogrio's raw writer."""
    fields, data = [], []
    for name, values in columns.items():
        fields.append(name)
        if all(v is None or isinstance(v, int | float) for v in values) and any(
            isinstance(v, float) for v in values
        ):
            data.append(np.array([np.nan if v is None else v for v in values], dtype=float))
        elif all(isinstance(v, int) for v in values):
            data.append(np.array(values, dtype=np.int64))
        else:
            data.append(np.array(values, dtype=object))
    wkb = np.array([None if g is None else shapely.to_wkb(g) for g in geometries], dtype=object)
    kinds = {g.geom_type for g in geometries if g is not None}
    pyogrio.raw.write(
        path,
        wkb,
        field_data=data,
        fields=fields,
        crs=crs,
        geometry_type=geometry_type or (kinds.pop() if len(kinds) == 1 else "Unknown"),
        driver=DRIVERS[path.suffix],
        layer=layer,
    )
    return path


def write_csv(path: Path, header: list[str], rows: list[list], *, sep=",", encoding="utf-8"):
    lines = [sep.join(header)] + [sep.join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
