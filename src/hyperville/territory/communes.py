"""The 50 communes of the demo territory: public facts, estimated positions, outline, cells.

Everything is in Lambert-93 (EPSG:2154) metres. The communes' names, INSEE codes, postal
codes and populations are public facts (``data/caux-seine-agglo-communes.csv``); 16 of them
have a GeoNames position, the other 34 are placed here near the communes that share their
postal code (``position_source = "estimated"``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

DATA_DIR = Path(__file__).resolve().parent / "data"
COMMUNES_CSV = DATA_DIR / "caux-seine-agglo-communes.csv"
CRS = "EPSG:2154"

# A hand-drawn outline of the territory (lon, lat): invented, it only has to hold the real
# positions with a margin, between the Paris–Le Havre railway (north) and the Seine (south).
OUTLINE_LONLAT = [
    (0.385, 49.500),
    (0.430, 49.462),
    (0.520, 49.452),
    (0.600, 49.438),
    (0.680, 49.428),
    (0.800, 49.420),
    (0.850, 49.450),
    (0.835, 49.505),
    (0.770, 49.550),
    (0.725, 49.600),
    (0.700, 49.650),
    (0.660, 49.688),
    (0.580, 49.690),
    (0.500, 49.675),
    (0.370, 49.640),
    (0.350, 49.570),
]
# The Port-Jérôme industrial zone (lon/lat box) where no village is placed.
INDUSTRIAL_ZONE_LONLAT = (0.565, 49.462, 0.625, 49.482)
# Known positions used as anchors for estimated villages named after a railway station.
STATION_ANCHORS_LONLAT = {"Foucart": (0.607, 49.612), "Alvimare": (0.607, 49.612)}
MIN_SPACING_M = 2200.0


@cache
def _to_l93() -> Transformer:
    return Transformer.from_crs("EPSG:4326", CRS, always_xy=True)


def to_l93(lon, lat):
    """Project WGS84 lon/lat (scalars or arrays) to Lambert-93 x/y."""
    return _to_l93().transform(lon, lat)


def lonlat_polygon(coords) -> shapely.Polygon:
    xs, ys = to_l93([c[0] for c in coords], [c[1] for c in coords])
    return shapely.Polygon(list(zip(xs, ys, strict=True)))


def lonlat_box(box) -> shapely.Polygon:
    (x0, x1), (y0, y1) = to_l93([box[0], box[2]], [box[1], box[3]])
    return shapely.box(x0, y0, x1, y1)


@dataclass(frozen=True)
class Commune:
    insee_code: str
    name: str
    postal_codes: str
    population: int
    x: float
    y: float
    position_source: str  # "geonames" or "estimated"
    position_note: str  # the CSV's note ("GeoNames: Bolbec"), empty when estimated

    @property
    def radius_m(self) -> float:
        """Radius of the built-up area around the centre (streets, buildings)."""
        return 250.0 + 12.0 * self.population**0.5


def read_commune_rows(path: Path = COMMUNES_CSV) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def outline() -> shapely.Polygon:
    return lonlat_polygon(OUTLINE_LONLAT)


def place_communes(rng: np.random.Generator, rows=None) -> list[Commune]:
    """Communes in CSV order, the 34 without a position placed plausibly.

    An estimated village goes 2–8 km from the mean of the known communes that share its first
    postal code (or near its railway station), inside the outline less a margin, out of the
    industrial zone, and at least ``MIN_SPACING_M`` from every other commune centre.
    """
    rows = read_commune_rows() if rows is None else rows
    area = outline()
    inner = shapely.difference(
        shapely.buffer(area, -1500.0), shapely.buffer(lonlat_box(INDUSTRIAL_ZONE_LONLAT), 1000.0)
    )
    shapely.prepare(inner)
    known: dict[int, tuple[float, float]] = {}
    for i, row in enumerate(rows):
        if row["lat"] and row["lon"]:
            known[i] = to_l93(float(row["lon"]), float(row["lat"]))
    anchors: dict[str, list[tuple[float, float]]] = {}
    for i, xy in known.items():
        anchors.setdefault(rows[i]["postal_codes"].split()[0], []).append(xy)
    fallback = shapely.centroid(area)
    placed = np.array(list(known.values()), dtype=float)
    positions = dict(known)
    for i, row in enumerate(rows):
        if i in known:
            continue
        if row["name"] in STATION_ANCHORS_LONLAT:
            anchor, r0, r1 = to_l93(*STATION_ANCHORS_LONLAT[row["name"]]), 1200.0, 3500.0
        elif row["postal_codes"].split()[0] in anchors:
            anchor = np.mean(anchors[row["postal_codes"].split()[0]], axis=0)
            r0, r1 = 2000.0, 8000.0
        else:
            anchor, r0, r1 = (fallback.x, fallback.y), 2000.0, 12000.0
        xy = _draw_position(rng, inner, placed, anchor, r0, r1)
        positions[i] = xy
        placed = np.vstack([placed, xy])
    communes = []
    for i, row in enumerate(rows):
        x, y = positions[i]
        estimated = i not in known
        communes.append(
            Commune(
                insee_code=row["insee_code"],
                name=row["name"],
                postal_codes=row["postal_codes"],
                population=int(row["population"]),
                x=round(float(x), 1),
                y=round(float(y), 1),
                position_source="estimated" if estimated else "geonames",
                position_note="" if estimated else row["position_source"],
            )
        )
    return communes


def _draw_position(rng, inner, placed, anchor, r0, r1) -> tuple[float, float]:
    spacing = MIN_SPACING_M
    while True:
        for _ in range(400):
            angle = rng.uniform(0.0, 2.0 * np.pi)
            radius = rng.uniform(r0, r1)
            x = anchor[0] + radius * np.cos(angle)
            y = anchor[1] + radius * np.sin(angle)
            if not shapely.contains_xy(inner, x, y):
                continue
            if np.min(np.hypot(placed[:, 0] - x, placed[:, 1] - y)) >= spacing:
                return float(x), float(y)
        spacing *= 0.9  # crowded: relax the spacing a little, then widen the ring
        r1 *= 1.2


def commune_cells(communes: list[Commune], area: shapely.Polygon) -> np.ndarray:
    """Voronoi cells of the commune centres clipped to the outline, as MultiPolygons."""
    points = shapely.multipoints([(c.x, c.y) for c in communes])
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=area, ordered=True))
    clipped = shapely.intersection(cells, area)
    return np.array([shapely.MultiPolygon(shapely.get_parts(c)) for c in clipped], dtype=object)
