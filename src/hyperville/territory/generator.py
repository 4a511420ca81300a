"""Generate the demo territory as standard files: one GeoPackage, CSV files and a mapping.

``generate_territory(out_dir)`` writes, in Lambert-93 (EPSG:2154):

- ``territory.gpkg``: layers communes, roads, railway, buildings, stations, station_parkings,
  carpool_areas, streetlight_cabinets, streetlights, collection_zones, waste_isles,
  recycling_centres, seveso_sites, weather_stations, air_quality_stations;
- ``waste_containers.csv`` (semicolon, x/y columns) and ``traffic_counters.csv`` (comma, x/y);
- ``sensors.csv``: the devices the simulator drives;
- ``demo-mapping.yaml``: how the importers turn each layer into entities.

The same seed and scale give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from . import buildings as bld
from . import communes as com
from . import equipment as eq
from . import sites
from .demo_mapping import CONTAINERS_CSV, COUNTERS_CSV, GPKG, write_mapping
from .files import write_csv, write_layer
from .roads import build_network
from .sensors import sensor_table

MAPPING = "demo-mapping.yaml"
SENSORS_CSV = "sensors.csv"


@dataclass(frozen=True)
class TerritoryFiles:
    """What :func:`generate_territory` wrote."""

    directory: Path
    geopackage: Path
    csv: dict[str, Path]  # dataset name -> file (waste_containers, traffic_counters, sensors)
    mapping: Path
    counts: dict[str, int] = field(default_factory=dict)  # layer or CSV name -> rows

    @property
    def sensors(self) -> Path:
        return self.csv["sensors"]

    def paths(self) -> list[Path]:
        return [self.geopackage, *self.csv.values(), self.mapping]


def territory_outline() -> shapely.Polygon:
    """The (invented) outline of the demo territory, in Lambert-93."""
    return com.outline()


def _with_xy(table: eq.Table) -> dict:
    cols = dict(table.columns)
    if "x" not in cols:
        cols["x"] = [round(float(v), 1) for v in shapely.get_x(table.geometry)]
        cols["y"] = [round(float(v), 1) for v in shapely.get_y(table.geometry)]
    return cols


def build_tables(seed: int = 76, scale: float = 1.0) -> dict[str, tuple[eq.Table, str]]:
    """Every dataset of the territory in memory: name -> (table, geometry type)."""
    if not 0 < scale <= 2:
        raise ValueError(f"scale must be in (0, 2], not {scale}")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    area = com.outline()
    communes = com.place_communes(rngs[0])
    cells = com.commune_cells(communes, area)
    zone = sites.industrial_zone(area)
    centre = shapely.centroid(zone)
    net = build_network(rngs[1], communes, area, (centre.x, centre.y))
    out: dict[str, tuple[eq.Table, str]] = {}
    out["communes"] = (
        eq.Table(
            cells,
            {
                "insee_code": [c.insee_code for c in communes],
                "name": [c.name for c in communes],
                "postal_codes": [c.postal_codes for c in communes],
                "population": [c.population for c in communes],
                "position_source": [c.position_source for c in communes],
                "position_note": [c.position_note or None for c in communes],
                "centre_x": [c.x for c in communes],
                "centre_y": [c.y for c in communes],
            },
        ),
        "MultiPolygon",
    )
    out["roads"] = (
        eq.Table(
            net.array(),
            {
                "road_id": net.road_id,
                "name": net.name,
                "category": net.category,
                "road_class": net.road_class,
                "insee_code": net.insee_code,
                "max_speed": net.max_speed,
            },
        ),
        "LineString",
    )
    out["railway"] = (
        eq.Table(
            sites.railway(area),
            {
                "line_id": ["340000"],
                "name": ["Ligne de Paris-Saint-Lazare au Havre"],
            },
        ),
        "MultiLineString",
    )
    b = bld.generate_buildings(rngs[2], communes, net, area, zone, scale)
    out["buildings"] = (
        eq.Table(
            b.geometry,
            {
                "building_id": b.building_id,
                "insee_code": b.insee_code,
                "use": b.use,
                "name": b.name,
                "height_m": [None if np.isnan(h) else float(h) for h in b.height_m],
                "floors": b.floors,
            },
        ),
        "Polygon",
    )
    stations, parkings = sites.stations_and_parkings(rngs[3])
    out["stations"] = (stations, "Point")
    out["station_parkings"] = (parkings, "Point")
    out["carpool_areas"] = (sites.carpool_areas(rngs[3], communes, net), "Point")
    cabinets, lights = eq.generate_lighting(rngs[4], communes, net, scale, b.geometry)
    out["streetlight_cabinets"] = (cabinets, "Point")
    out["streetlights"] = (lights, "Point")
    zones, zone_of = eq.collection_zones(rngs[5], communes, cells)
    out["collection_zones"] = (zones, "MultiPolygon")
    centres, isles, containers = eq.generate_waste(
        rngs[5], communes, net, zone_of, scale, b.geometry
    )
    out["waste_isles"] = (isles, "Point")
    out["recycling_centres"] = (centres, "Point")
    out["seveso_sites"] = (sites.seveso_sites(rngs[6]), "Polygon")
    out["weather_stations"] = (sites.weather_station(), "Point")
    out["air_quality_stations"] = (sites.air_quality_stations(), "Point")
    out["waste_containers"] = (containers, "Point")
    out["traffic_counters"] = (sites.traffic_counters(rngs[7], communes, net), "Point")
    tables = {name: table for name, (table, _g) in out.items()}
    out["sensors"] = (eq.Table(np.zeros(0, dtype=object), sensor_table(rngs[8], tables)), "")
    return out


CSV_DATASETS = {
    "waste_containers": (CONTAINERS_CSV, ";"),
    "traffic_counters": (COUNTERS_CSV, ","),
    "sensors": (SENSORS_CSV, ","),
}


def generate_territory(out_dir: Path, *, seed: int = 76, scale: float = 1.0) -> TerritoryFiles:
    """Write the demo territory into out_dir (created if needed; our files are replaced)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gpkg = out_dir / GPKG
    for name in (GPKG, MAPPING, *(f for f, _d in CSV_DATASETS.values())):
        (out_dir / name).unlink(missing_ok=True)
    counts: dict[str, int] = {}
    csv_paths: dict[str, Path] = {}
    for name, (table, geometry_type) in build_tables(seed, scale).items():
        if name in CSV_DATASETS:
            file, delimiter = CSV_DATASETS[name]
            cols = table.columns if name == "sensors" else _with_xy(table)
            counts[name] = write_csv(out_dir / file, cols, delimiter)
            csv_paths[name] = out_dir / file
        else:
            counts[name] = write_layer(gpkg, name, table, geometry_type)
    mapping = write_mapping(out_dir / MAPPING)
    return TerritoryFiles(out_dir, gpkg, csv_paths, mapping, counts)
