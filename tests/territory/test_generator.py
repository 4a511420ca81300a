"""The demo territory generator: deterministic standard files, counts, CRS, gaps, topology."""

from __future__ import annotations

import csv
import hashlib
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
import yaml
from pyogrio import raw
from pyproj import Transformer

from hyperville.territory import generate_territory, territory_outline

SMALL = 0.05


def read_layer(path: Path, layer: str) -> tuple[np.ndarray, dict]:
    meta, _fids, wkb, values = raw.read(str(path), layer=layer)
    geoms = np.array([None if g is None else shapely.from_wkb(g) for g in wkb], dtype=object)
    return geoms, dict(zip(meta["fields"], values, strict=True))


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate_territory(tmp_path_factory.mktemp("small"), seed=76, scale=SMALL)


def digests(files) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.paths()}


def test_same_seed_gives_identical_files(small, tmp_path):
    again = generate_territory(tmp_path / "again", seed=76, scale=SMALL)
    assert digests(again) == digests(small)
    other = generate_territory(tmp_path / "other", seed=77, scale=SMALL)
    assert digests(other)["territory.gpkg"] != digests(small)["territory.gpkg"]


def test_regenerating_into_the_same_directory_replaces_the_files(tmp_path):
    first = digests(generate_territory(tmp_path, scale=0.02))
    assert digests(generate_territory(tmp_path, scale=0.02)) == first


def test_every_layer_is_in_lambert_93(small):
    layers = [name for name, _geom in pyogrio.list_layers(small.geopackage)]
    assert {"communes", "roads", "buildings", "streetlights", "seveso_sites"} <= set(layers)
    for layer in layers:
        assert pyogrio.read_info(small.geopackage, layer=layer)["crs"] == "EPSG:2154", layer


def test_fixed_counts_do_not_depend_on_scale(small):
    fixed = {"communes": 50, "stations": 3, "station_parkings": 3, "seveso_sites": 4,
             "weather_stations": 1, "air_quality_stations": 3, "recycling_centres": 5,
             "carpool_areas": 10, "traffic_counters": 20}  # fmt: skip
    for name, count in fixed.items():
        assert small.counts[name] == count, name


def test_scaled_counts_at_small_scale(small):
    c = small.counts
    assert 1400 <= c["buildings"] <= 1500
    assert 390 <= c["streetlights"] <= 405
    assert 6 <= c["streetlight_cabinets"] <= 10
    assert 28 <= c["waste_containers"] <= 30


def test_communes_are_the_public_facts_with_estimated_positions(small):
    geoms, f = read_layer(small.geopackage, "communes")
    assert len(set(f["insee_code"])) == 50
    assert sum(f["population"]) == 77_990
    assert Counter(f["position_source"]) == {"estimated": 34, "geonames": 16}
    xy = np.column_stack([f["centre_x"], f["centre_y"]])
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(d, np.inf)
    assert d.min() > 1500.0  # no two villages on top of each other
    lon, lat = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1]
    )
    assert lon.min() > 0.35 and lon.max() < 0.85 and lat.min() > 49.42 and lat.max() < 49.69
    # Each centre lies in its own cell; the cells tile the outline.
    assert all(shapely.contains_xy(g, x, y) for g, (x, y) in zip(geoms, xy, strict=True))
    assert abs(shapely.area(shapely.union_all(geoms)) - territory_outline().area) < 1.0


def test_geometries_are_valid_and_inside_the_outline(small):
    area = shapely.buffer(territory_outline(), 0.5)
    for layer, _g in pyogrio.list_layers(small.geopackage):
        geoms, _f = read_layer(small.geopackage, layer)
        present = geoms[[g is not None for g in geoms]]
        assert shapely.is_valid(present).all(), layer
        assert shapely.within(present, area).all(), layer
    for name, delimiter in (("waste_containers", ";"), ("traffic_counters", ",")):
        rows = read_csv(small.csv[name], delimiter)
        pts = shapely.points([(float(r["x"]), float(r["y"])) for r in rows])
        assert shapely.within(pts, area).all(), name


def test_buildings_neither_overlap_nor_cross_roads(small):
    geoms, f = read_layer(small.geopackage, "buildings")
    pairs = shapely.STRtree(geoms).query(geoms, "intersects")
    assert (pairs[0] != pairs[1]).sum() == 0
    roads, _r = read_layer(small.geopackage, "roads")
    assert len(shapely.STRtree(roads).query(geoms, "intersects")[0]) == 0
    uses = Counter(f["use"])
    assert set(uses) == {"residential", "commercial", "industrial", "public", "school"}
    assert uses["residential"] > 0.7 * len(geoms)  # public buildings do not scale down
    halls = [n for n in f["name"] if n and n.startswith(("Mairie", "Hôtel de ville"))]
    assert len(halls) == 50


def _components(lines: np.ndarray) -> int:
    """Connected components of a set of lines, noded at their crossings (union-find)."""
    parts = shapely.get_parts(shapely.union_all(lines))
    parent: dict = {}

    def find(a):
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for part in parts:
        coords = [tuple(np.round(c, 2)) for c in shapely.get_coordinates(part)]
        for a, b in zip(coords[:-1], coords[1:], strict=True):
            parent[find(a)] = find(b)
    return len({find(node) for node in list(parent)})


def test_roads_are_connected(small):
    geoms, f = read_layer(small.geopackage, "roads")
    assert _components(geoms) == 1
    assert set(f["category"]) == {"departementale", "communale", "rue"}
    assert 0.02 < sum(n is None for n in f["name"]) / len(geoms) < 0.08  # unnamed streets


def test_streetlights_reference_existing_cabinets_and_have_the_gaps(small):
    geoms, lights = read_layer(small.geopackage, "streetlights")
    _g, cabinets = read_layer(small.geopackage, "streetlight_cabinets")
    assert set(lights["cabinet_id"]) <= set(cabinets["cabinet_id"])
    assert len(set(lights["light_id"])) == len(geoms)
    n = len(geoms)
    assert abs(np.isnan(lights["power_w"]).sum() / n - 0.08) < 0.01
    assert abs(np.isnan(lights["install_year"]).sum() / n - 0.12) < 0.01
    assert 1 <= sum(g is None for g in geoms) <= max(2, 0.005 * n)


def test_sites_stations_and_sensors(small):
    to_wgs = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    seveso, _f = read_layer(small.geopackage, "seveso_sites")
    lon, lat = to_wgs.transform(*shapely.get_coordinates(shapely.centroid(seveso)).T)
    assert ((lon > 0.55) & (lon < 0.62) & (lat > 0.0 + 49.46) & (lat < 49.50)).all()
    weather, _w = read_layer(small.geopackage, "weather_stations")
    assert shapely.distance(weather[0], shapely.union_all(seveso)) < 2000.0
    _p, parkings = read_layer(small.geopackage, "station_parkings")
    _s, stations = read_layer(small.geopackage, "stations")
    assert set(parkings["station_id"]) == set(stations["station_id"])
    assert all(50 <= n <= 300 for n in parkings["total_spots"])
    sensors = read_csv(small.sensors)
    kinds = Counter(r["kind"] for r in sensors)
    assert kinds["station_parking"] == 3 and kinds["traffic_counter"] == 20
    assert kinds["weather"] == 1 and kinds["air_quality"] == 3
    assert len({r["device_id"] for r in sensors}) == len(sensors)


def _ids_by_type(files, mapping: dict) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    for layer in mapping["layers"]:
        if layer["file"].endswith(".csv"):
            rows = read_csv(files.directory / layer["file"], layer["csv"]["delimiter"])
            values = [r[layer["id_field"]] for r in rows]
        else:
            values = read_layer(files.geopackage, layer["layer"])[1][layer["id_field"]]
        urns = {layer["id_template"].format(id=v) for v in values}
        assert len(urns) == len(values), f"duplicate ids in {layer['name']}"
        ids.setdefault(layer["type"], set()).update(urns)
    return ids


def test_mapping_names_existing_fields_and_resolvable_relationships(small):
    mapping = yaml.safe_load(small.mapping.read_text(encoding="utf-8"))
    ids = _ids_by_type(small, mapping)
    for layer in mapping["layers"]:
        if layer["file"].endswith(".csv"):
            rows = read_csv(small.directory / layer["file"], layer["csv"]["delimiter"])
            fields = {k: [r[k] or None for r in rows] for k in rows[0]}
        else:
            fields = read_layer(small.geopackage, layer["layer"])[1]
        specs = [a if isinstance(a, dict) else {"field": a} for a in layer["attributes"].values()]
        for spec in [*specs, *layer.get("relationships", {}).values()]:
            assert spec["field"] in fields, (layer["name"], spec["field"])
        for rel in layer.get("relationships", {}).values():
            target = rel["template"].split(":")[2]
            objects = {rel["template"].format(value=v) for v in fields[rel["field"]] if v}
            assert objects <= ids[target], (layer["name"], rel["field"])
    for row in read_csv(small.sensors):
        assert row["entity_id"] in ids[row["entity_type"]], row["device_id"]


def test_mapping_is_valid_for_the_importers(small):
    gis_mapping = pytest.importorskip("hyperville.gis.mapping")
    spec = gis_mapping.load_mapping(small.mapping)
    assert {layer.type for layer in spec.layers} >= {
        "Streetlight", "StreetlightControlCabinet", "OffStreetParking", "WasteContainer",
        "TrafficFlowObserved", "AirQualityObserved", "WeatherObserved", "Building",
    }  # fmt: skip


@pytest.mark.slow
def test_full_scale_counts_and_time(tmp_path):
    started = time.perf_counter()
    files = generate_territory(tmp_path, seed=76, scale=1.0)
    elapsed = time.perf_counter() - started
    assert elapsed < 20.0, f"generation took {elapsed:.1f} s"
    c = files.counts
    assert 28_500 <= c["buildings"] <= 30_000
    assert 7_800 <= c["streetlights"] <= 8_020
    assert 140 <= c["streetlight_cabinets"] <= 160
    assert 580 <= c["waste_containers"] <= 600
    assert 200 <= c["waste_isles"] <= 300
    assert c["communes"] == 50 and c["stations"] == 3 and c["seveso_sites"] == 4
    _g, lights = read_layer(files.geopackage, "streetlights")
    _c, cabinets = read_layer(files.geopackage, "streetlight_cabinets")
    assert set(lights["cabinet_id"]) <= set(cabinets["cabinet_id"])
    assert abs(np.isnan(lights["power_w"]).mean() - 0.08) < 0.005
    assert abs(np.isnan(lights["install_year"]).mean() - 0.12) < 0.005
    roads, _r = read_layer(files.geopackage, "roads")
    assert _components(roads) == 1
