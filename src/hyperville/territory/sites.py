"""Point sites: railway and stations with their car parks, the SEVESO sites of Port-Jérôme and
their weather station, carpool areas, traffic counters and air-quality stations.

Station names are real (Paris–Le Havre line); their positions are approximate. Everything
else here (site names, capacities, traffic volumes) is invented.
"""

from __future__ import annotations

import numpy as np
import shapely

from .communes import INDUSTRIAL_ZONE_LONLAT, Commune, lonlat_box, to_l93
from .equipment import Table
from .roads import RoadNetwork

# (name, lon, lat, commune INSEE code): approximate positions of real stations.
STATIONS = [
    ("Bréauté-Beuzeville", 0.4115, 49.6160, "76090"),
    ("Bolbec-Nointot", 0.4885, 49.6010, "76468"),
    ("Foucart-Alvimare", 0.6070, 49.6120, "76279"),
]
RAILWAY_LONLAT = [
    (0.30, 49.640),
    (0.4115, 49.6160),
    (0.4885, 49.6010),
    (0.550, 49.6040),
    (0.6070, 49.6120),
    (0.700, 49.6180),
    (0.800, 49.620),
]
# Invented SEVESO upper-tier sites (centre lon/lat, width, height in metres, activity).
SEVESO = [
    ("Site A – raffinage", 0.5880, 49.4712, 650, 420, "raffinage de pétrole"),
    ("Site B – pétrochimie", 0.6070, 49.4715, 520, 380, "pétrochimie"),
    ("Site C – stockage d'hydrocarbures", 0.5890, 49.4772, 420, 260, "stockage"),
    ("Site D – chimie de spécialité", 0.6080, 49.4775, 360, 240, "chimie"),
]
WEATHER_LONLAT = (0.5790, 49.4790)
AIR_QUALITY = [
    ("Port-Jérôme – zone industrielle", 0.6010, 49.4820, "industrial", "76476"),
    ("Lillebonne – centre", 0.5340, 49.5215, "urban", "76384"),
    ("Bolbec – fond urbain", 0.4760, 49.5700, "suburban", "76114"),
]


def railway(area) -> np.ndarray:
    xs, ys = to_l93([p[0] for p in RAILWAY_LONLAT], [p[1] for p in RAILWAY_LONLAT])
    line = shapely.intersection(shapely.LineString(list(zip(xs, ys, strict=True))), area)
    return np.array([shapely.MultiLineString(shapely.get_parts(line))], dtype=object)


def stations_and_parkings(rng):
    st = {"station_id": [], "name": [], "insee_code": [], "station_type": [], "parking_id": []}
    pk = {
        "parking_id": [],
        "name": [],
        "station_id": [],
        "total_spots": [],
        "category": [],
        "ext_category": [],
        "insee_code": [],
    }
    st_geom, pk_geom = [], []
    for k, (name, lon, lat, code) in enumerate(STATIONS):
        x, y = to_l93(lon, lat)
        sid, pid = f"GARE-{k + 1:02d}", f"PK-GARE-{k + 1:02d}"
        st_geom.append((round(x, 1), round(y, 1)))
        st["station_id"].append(sid), st["name"].append(f"Gare de {name}")
        st["insee_code"].append(code), st["station_type"].append("rail")
        st["parking_id"].append(pid)
        angle = rng.uniform(0, 2 * np.pi)
        pk_geom.append((round(x + 90 * np.cos(angle), 1), round(y + 90 * np.sin(angle), 1)))
        pk["parking_id"].append(pid), pk["name"].append(f"Parking de la gare de {name}")
        pk["station_id"].append(sid), pk["total_spots"].append(int(rng.integers(50, 301)))
        pk["category"].append("parkingLot,public,free"), pk["ext_category"].append("parkAndRide")
        pk["insee_code"].append(code)
    return Table(shapely.points(st_geom), st), Table(shapely.points(pk_geom), pk)


def seveso_sites(rng):
    geoms = []
    cols = {
        "site_id": [],
        "name": [],
        "activity": [],
        "seveso_level": [],
        "operator": [],
        "risk_radius_m": [],
    }
    for k, (name, lon, lat, w, h, activity) in enumerate(SEVESO):
        x, y = to_l93(lon, lat)
        x0, y0, x1, y1 = (round(v, 1) for v in (x - w / 2, y - h / 2, x + w / 2, y + h / 2))
        geoms.append(shapely.box(x0, y0, x1, y1))
        cols["site_id"].append(f"SEVESO-{k + 1:02d}"), cols["name"].append(name)
        cols["activity"].append(activity), cols["seveso_level"].append("seuil haut")
        cols["operator"].append(f"Exploitant {chr(65 + k)} (fictif)")
        cols["risk_radius_m"].append(int(rng.choice([800, 1200, 1500, 2000])))
    return Table(np.array(geoms, dtype=object), cols)


def weather_station():
    x, y = to_l93(*WEATHER_LONLAT)
    cols = {
        "station_id": ["METEO-PJS-01"],
        "name": ["Station météo de Port-Jérôme"],
        "altitude_m": [8.0],
        "insee_code": ["76476"],
    }
    return Table(shapely.points([(round(x, 1), round(y, 1))]), cols)


def air_quality_stations():
    cols = {
        "station_id": [],
        "name": [],
        "station_class": [],
        "type_of_location": [],
        "insee_code": [],
        "pollutants": [],
    }
    pts = []
    for k, (name, lon, lat, cls, code) in enumerate(AIR_QUALITY):
        x, y = to_l93(lon, lat)
        pts.append((round(x, 1), round(y, 1)))
        cols["station_id"].append(f"AQ-{k + 1:02d}"), cols["name"].append(name)
        cols["station_class"].append(cls), cols["insee_code"].append(code)
        cols["type_of_location"].append("outdoor")
        cols["pollutants"].append("NO2,PM10,PM2.5,SO2" if cls == "industrial" else "NO2,PM10,O3")
    return Table(shapely.points(pts), cols)


def _edge_point(net: RoadNetwork, communes, i, j, idx, dist_from_i: float):
    line = net.geometry[idx]
    start = shapely.get_point(line, 0)
    near_i = shapely.distance(start, shapely.points(communes[i].x, communes[i].y)) < 1.0
    d = dist_from_i if near_i else shapely.length(line) - dist_from_i
    p = shapely.line_interpolate_point(line, d)
    return round(shapely.get_x(p), 1), round(shapely.get_y(p), 1)


def carpool_areas(rng, communes: list[Commune], net: RoadNetwork, n: int = 10):
    """Carpool areas on departmental roads, just out of the bigger communes."""
    cand = []
    for i, j, idx in net.edges:
        if net.category[idx] != "departementale":
            continue
        big = i if communes[i].population >= communes[j].population else j
        other = j if big == i else i
        dist = communes[big].radius_m + 250.0
        if shapely.length(net.geometry[idx]) > dist + 500.0:
            cand.append((communes[big].population, big, other, idx, dist))
    w = np.array([c[0] for c in cand], dtype=float) ** 0.5
    order = rng.choice(len(cand), size=len(cand), replace=False, p=w / w.sum())
    pts = []
    cols = {
        "area_id": [],
        "name": [],
        "total_spots": [],
        "category": [],
        "ext_category": [],
        "insee_code": [],
        "road": [],
    }
    for k in order:
        _pop, big, other, idx, dist = cand[k]
        xy = _edge_point(net, communes, big, other, idx, dist)
        if any(np.hypot(xy[0] - p[0], xy[1] - p[1]) < 1500 for p in pts):
            continue
        pts.append(xy)
        cols["area_id"].append(f"COV-{len(pts):02d}")
        cols["name"].append(f"Aire de covoiturage de {communes[big].name}")
        cols["total_spots"].append(int(rng.integers(10, 61)))
        cols["category"].append("parkingLot,public,free")
        cols["ext_category"].append("carpool")
        cols["insee_code"].append(communes[big].insee_code)
        cols["road"].append(net.name[idx])
        if len(pts) == n:
            break
    return Table(shapely.points(pts), cols)


def traffic_counters(rng, communes: list[Commune], net: RoadNetwork, n: int = 20):
    """Permanent counters in the middle of the busiest inter-commune roads."""
    pops = np.array([c.population for c in communes], dtype=float)
    edges = sorted(net.edges, key=lambda e: -(pops[e[0]] * pops[e[1]]))[:n]
    pts = []
    cols = {
        "counter_id": [],
        "road_id": [],
        "road": [],
        "aadt": [],
        "heavy_share_pct": [],
        "lanes": [],
    }
    for k, (i, j, idx) in enumerate(edges):
        line = net.geometry[idx]
        p = shapely.line_interpolate_point(line, 0.5, normalized=True)
        pts.append((round(shapely.get_x(p), 1), round(shapely.get_y(p), 1)))
        base = (1500.0 + 120.0 * (pops[i] * pops[j]) ** 0.25) * rng.uniform(0.8, 1.2)
        cols["counter_id"].append(f"CPT-{k + 1:02d}"), cols["road_id"].append(net.road_id[idx])
        cols["road"].append(net.name[idx]), cols["aadt"].append(int(round(base, -1)))
        cols["heavy_share_pct"].append(round(float(rng.uniform(4.0, 18.0)), 1))
        cols["lanes"].append(2)
    return Table(shapely.points(pts), cols)


def industrial_zone(area):
    return shapely.intersection(lonlat_box(INDUSTRIAL_ZONE_LONLAT), area)
