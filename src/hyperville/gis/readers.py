"""Read a GIS layer into plain Python columns and WGS84 shapely geometries.

GeoPackage, Shapefile, GeoJSON (and anything else GDAL reads) go through pyogrio; CSV through
Python's csv module, with the delimiter (``,``, ``;`` or tab) taken from the header line and
the encoding detected (UTF-8, with or without BOM, else Windows-1252/Latin-1). Coordinates are
reprojected from the file's CRS (or the mapping's ``source_crs``) to WGS84 lon/lat with pyproj
(``always_xy=True``); the source CRS is kept for provenance.

Problems are collected, not raised one by one: a :class:`LayerError` carries every problem of
a layer, each naming the row (1-based feature index) and the field.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import pyproj
import shapely

from hyperville.gis.mapping import CsvOptions

WGS84 = "EPSG:4326"
COORD_DECIMALS = 7  # about 1 cm: stable output, so that re-imports compare equal
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_LON = ("lon", "lng", "long", "longitude", "x_wgs84", "lon_wgs84")
_LAT = ("lat", "latitude", "y_wgs84", "lat_wgs84")
_X = ("x", "coord_x", "coordx", "x_l93", "xl93", "x_lambert93", "easting")
_Y = ("y", "coord_y", "coordy", "y_l93", "yl93", "y_lambert93", "northing")
_WKT = ("wkt", "geom_wkt", "the_geom", "geometry", "geom")


@dataclass
class Problem:
    """One thing wrong with a layer; ``row`` is the 1-based feature index (None: the layer)."""

    message: str
    row: int | None = None
    field: str | None = None

    def render(self, file: str, layer: str) -> str:
        where = f"{file}, layer {layer}"
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


class LayerError(Exception):
    """A layer that cannot be imported; ``problems`` lists everything found."""

    def __init__(self, file: str, layer: str, problems: list[Problem]) -> None:
        self.file, self.layer, self.problems = file, layer, problems
        super().__init__("\n".join(p.render(file, layer) for p in problems))

    def messages(self, limit: int | None = None) -> list[str]:
        shown = self.problems if limit is None else self.problems[:limit]
        out = [p.render(self.file, self.layer) for p in shown]
        if limit is not None and len(self.problems) > limit:
            out.append(f"… and {len(self.problems) - limit} more problems")
        return out


@dataclass
class LayerData:
    """A layer read into memory: columns of Python values and WGS84 geometries."""

    file: str  # as named in the mapping, for messages
    layer: str
    fields: list[str]
    columns: dict[str, list]
    geometries: list[shapely.Geometry | None]  # WGS84, None when a feature has none
    source_crs: str | None  # "EPSG:2154", or the CRS's name; None when there is no geometry
    count: int
    problems: list[Problem] = field(default_factory=list)  # broken geometries
    encoding: str | None = None
    delimiter: str | None = None


def crs_name(crs: pyproj.CRS) -> str:
    """``EPSG:2154`` when the CRS has an authority code, else its name."""
    auth = crs.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


def _crs(value: str, file: str, layer: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError:
        raise LayerError(file, layer, [Problem(f"unknown CRS {value!r}")]) from None


def _python(values: np.ndarray) -> list:
    """A numpy column as Python values; NaN / NaT become None."""
    if values.dtype.kind == "f":
        return [None if math.isnan(v) else v for v in values.tolist()]
    if values.dtype.kind == "M":
        return [None if np.isnat(v) else str(v) for v in values]
    if values.dtype.kind == "O":
        return [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values
        ]
    return values.tolist()


def _project(
    geoms: np.ndarray, crs: pyproj.CRS, problems: list[Problem], geom_field: str
) -> list[shapely.Geometry | None]:
    """Check geometries in their CRS, reproject to WGS84, check the result's range."""
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid & ~shapely.is_missing(geoms)):
        reason = shapely.is_valid_reason(geoms[i])
        problems.append(Problem(f"broken geometry: {reason}", int(i) + 1, geom_field))
    target = pyproj.CRS.from_user_input(WGS84)
    if not crs.equals(target, ignore_axis_order=True):
        transformer = pyproj.Transformer.from_crs(crs, target, always_xy=True)

        def reproject(coords: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(coords[:, 0], coords[:, 1], errcheck=False)
            return np.column_stack((x, y))

        geoms = shapely.transform(geoms, reproject)
    geoms = shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        bad = ~shapely.is_missing(geoms) & (
            ~np.isfinite(bounds).all(axis=1)
            | (bounds[:, 0] < -180)
            | (bounds[:, 2] > 180)
            | (bounds[:, 1] < -90)
            | (bounds[:, 3] > 90)
        )
    for i in np.flatnonzero(bad & valid):
        problems.append(
            Problem(
                f"coordinates out of range after reprojection from {crs_name(crs)} to WGS84 "
                "(wrong CRS? set source_crs in the mapping)",
                int(i) + 1,
                geom_field,
            )
        )
    return [None if g is None else g for g in geoms.tolist()]


def _choose_layer(path: Path, file: str, wanted: str | None) -> str:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        raise LayerError(file, wanted or "?", [Problem(f"cannot open the file: {exc}")]) from None
    if wanted is not None:
        if wanted not in layers:
            raise LayerError(file, wanted, [Problem(f"no such layer; the file has: {layers}")])
        return wanted
    if len(layers) != 1:
        raise LayerError(
            file, "?", [Problem(f"the file has several layers {layers}: name one with 'layer'")]
        )
    return layers[0]


def read_ogr(
    path: Path, file: str, layer: str | None, fields: list[str], source_crs: str | None
) -> LayerData:
    """Read the given fields (those present) and the geometry of a layer through pyogrio."""
    layer = _choose_layer(path, file, layer)
    info = pyogrio.read_info(path, layer=layer)
    present = [str(f) for f in info["fields"]]
    wanted = [f for f in fields if f in present]
    try:
        meta, _, wkb, columns = pyogrio.raw.read(path, layer=layer, columns=wanted, force_2d=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise LayerError(file, layer, [Problem(f"cannot read the layer: {exc}")]) from None
    names = [str(n) for n in meta["fields"]]
    data = {name: _python(col) for name, col in zip(names, columns, strict=True)}
    count = len(wkb) if wkb is not None else (len(columns[0]) if columns else 0)
    problems: list[Problem] = []
    if wkb is None or info.get("geometry_type") is None:
        geoms: list = [None] * count
        crs_label = None
    else:
        crs_text = source_crs or meta.get("crs")
        if not crs_text:
            raise LayerError(
                file, layer, [Problem("the file has no CRS: give source_crs in the mapping")]
            )
        crs = _crs(crs_text, file, layer)
        parsed = shapely.from_wkb(wkb, on_invalid="ignore")
        for i in np.flatnonzero(shapely.is_missing(parsed) & (wkb != None)):  # noqa: E711
            problems.append(Problem("broken geometry: unreadable WKB", int(i) + 1, "geometry"))
        parsed[shapely.is_empty(parsed)] = None
        geoms = _project(parsed, crs, problems, "geometry")
        crs_label = crs_name(crs)
    return LayerData(file, layer, present, data, geoms, crs_label, count, problems)


# -- CSV -------------------------------------------------------------------------------------
def _decode(raw: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        return raw.decode(encoding), encoding
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "latin-1"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _find(header: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    return next((lower[c] for c in candidates if c in lower), None)


def _number(text: str) -> float:
    value = float(text.strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _csv_geometries(
    rows: list[list[str]], header: list[str], opts: CsvOptions, source_crs: str | None, file: str
) -> tuple[list, pyproj.CRS | None, list[Problem], set[str]]:
    """Point (x/y) or WKT geometries of CSV rows, in the source CRS, plus their problems."""
    wkt = opts.wkt or (None if opts.x else _find(header, _WKT))
    x, y, default_crs = opts.x, opts.y, None
    if x is None and wkt is None:
        x, y = _find(header, _LON), _find(header, _LAT)
        default_crs = WGS84 if x and y else None
        if not (x and y):
            x, y = _find(header, _X), _find(header, _Y)
    problems: list[Problem] = []
    used = {c for c in (x, y, wkt) if c}
    if wkt is None and not (x and y):
        return [None] * len(rows), None, problems, used
    for column in used:
        if column not in header:
            problems.append(Problem(f"coordinate column {column!r} is not in the file"))
    if problems:
        return [None] * len(rows), None, problems, used
    crs_text = source_crs or default_crs or (WGS84 if wkt else None)
    if crs_text is None:
        problems.append(
            Problem(f"unknown CRS of columns {x}/{y}: give source_crs in the mapping (EPSG:2154)")
        )
        return [None] * len(rows), None, problems, used
    index = {h: i for i, h in enumerate(header)}
    geoms: list = []
    for n, row in enumerate(rows, start=1):
        if wkt:
            text = row[index[wkt]].strip() if index[wkt] < len(row) else ""
            if not text:
                geoms.append(None)
                continue
            try:
                geoms.append(shapely.from_wkt(text))
            except shapely.errors.GEOSException as exc:
                geoms.append(None)
                problems.append(Problem(f"broken geometry: {exc}", n, wkt))
            continue
        tx = row[index[x]].strip() if index[x] < len(row) else ""
        ty = row[index[y]].strip() if index[y] < len(row) else ""
        if not tx and not ty:
            geoms.append(None)
            continue
        coords = []
        for column, text in ((x, tx), (y, ty)):
            try:
                coords.append(_number(text))
            except ValueError:
                problems.append(
                    Problem(f"broken geometry: {text!r} is not a coordinate", n, column)
                )
        geoms.append(shapely.Point(coords) if len(coords) == 2 else None)
    return geoms, pyproj.CRS.from_user_input(crs_text), problems, used


def read_csv(path: Path, file: str, opts: CsvOptions | None, source_crs: str | None) -> LayerData:
    """Read a CSV file: text columns (empty cells are None) and point or WKT geometries."""
    opts = opts or CsvOptions()
    layer = path.stem
    if source_crs:
        _crs(source_crs, file, layer)
    text, encoding = _decode(path.read_bytes(), opts.encoding)
    delimiter = opts.delimiter or _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise LayerError(file, layer, [Problem("the file is empty (no header line)")])
    header = [h.strip() for h in rows[0]]
    rows = rows[1:]
    geoms, crs, problems, _ = _csv_geometries(rows, header, opts, source_crs, file)
    if any(p.row is None for p in problems):
        raise LayerError(file, layer, problems)
    columns: dict[str, list] = {h: [] for h in header}
    for row in rows:
        for i, h in enumerate(header):
            cell = row[i].strip() if i < len(row) else ""
            columns[h].append(cell or None)
    crs_label = None
    if crs is not None:
        array = np.array(geoms, dtype=object)
        geoms = _project(array, crs, problems, opts.x or "geometry")
        crs_label = crs_name(crs)
    data = LayerData(file, layer, header, columns, geoms, crs_label, len(rows), problems)
    data.encoding, data.delimiter = encoding, delimiter
    return data


def read_layer(
    path: Path,
    file: str,
    layer: str | None = None,
    fields: list[str] | None = None,
    source_crs: str | None = None,
    csv_options: CsvOptions | None = None,
) -> LayerData:
    """Read one layer of any supported file (CSV by extension, everything else via GDAL)."""
    if not path.exists():
        raise LayerError(file, layer or path.stem, [Problem("no such file")])
    if path.suffix.lower() in CSV_SUFFIXES or csv_options is not None:
        return read_csv(path, file, csv_options, source_crs)
    return read_ogr(path, file, layer, fields or [], source_crs)
