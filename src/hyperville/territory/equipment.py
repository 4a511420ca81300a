"""Street lighting (lights and their control cabinets) and waste collection assets.

Gaps are drawn exactly (a fixed share of the rows, chosen at random): ~8 % of streetlights
without a power rating, ~12 % without an installation year, a few without geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .buildings import quotas
from .communes import Commune
from .roads import RoadNetwork, sample_on_lines

LIGHTS_PER_SCALE = 8_000
CABINETS_PER_SCALE = 150
CONTAINERS_PER_SCALE = 600
MISSING_POWER_SHARE = 0.08
MISSING_YEAR_SHARE = 0.12
MISSING_GEOMETRY_SHARE = 0.0025
DUPLICATE_SHARE = 0.0006  # streetlights surveyed twice: a new id within a metre of another
MIN_LIGHT_SPACING_M = 12.0
RECYCLING_TOWNS = ["76114", "76384", "76476", "76164", "76258"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi"]
CONTAINER_COLUMNS = (
    "container_id", "isle_id", "waste_type", "capacity_m3", "underground", "insee_code",
    "zone_id", "street", "x", "y",
)  # fmt: skip


@dataclass
class Table:
    """Rows of a layer: geometry (None where missing) and named columns of equal length."""

    geometry: np.ndarray
    columns: dict


def _town_streets(net: RoadNetwork):
    lines = net.array()
    insee = np.array([c or "" for c in net.insee_code])
    ok = np.array(
        [
            cat == "rue" and not rid.startswith("ZI")
            for cat, rid in zip(net.category, net.road_id, strict=True)
        ]
    )
    return lines, insee, ok


def _points_near_centres(rng, communes, net, counts, spread):
    """Points on each commune's streets (counts per commune), denser near the centre."""
    lines, insee, ok = _town_streets(net)
    names = np.array([n or "" for n in net.name], dtype=object)
    xs, ys, ts, codes, streets = [], [], [], [], []
    for c, k in zip(communes, counts, strict=True):
        if k == 0:
            continue
        sel = np.flatnonzero(ok & (insee == c.insee_code))
        dist = shapely.distance(shapely.points(c.x, c.y), lines[sel])
        w = shapely.length(lines[sel]) * np.exp(-dist / (spread * c.radius_m))
        x, y, t, idx = sample_on_lines(rng, lines[sel], w, int(k))
        xs.append(x), ys.append(y), ts.append(t)
        codes.append(np.full(k, c.insee_code)), streets.append(names[sel][idx])
    return (
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(ts),
        np.concatenate(codes),
        np.concatenate(streets),
    )


def spaced(x: np.ndarray, y: np.ndarray, min_d: float) -> np.ndarray:
    """Mask of points kept so that no two kept are closer than min_d (later ones dropped)."""
    pts = shapely.points(x, y)
    pairs = shapely.STRtree(pts).query(pts, "dwithin", distance=min_d)
    keep = np.ones(len(x), dtype=bool)
    first, second = pairs[0], pairs[1]
    later = first < second
    for i, j in zip(first[later], second[later], strict=True):  # in order: greedy
        if keep[i]:
            keep[j] = False
    return keep


def _inside(obstacles, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    hit = np.zeros(len(x), dtype=bool)
    hit[shapely.STRtree(obstacles).query(shapely.points(x, y), "intersects")[0]] = True
    return hit


def _exact_gap(rng, n: int, share: float, minimum: int = 0) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    k = min(n, max(minimum, round(share * n)))
    mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def generate_lighting(rng, communes: list[Commune], net: RoadNetwork, scale: float, obstacles):
    """(cabinets, streetlights) tables; no light stands in an obstacle (building footprints)."""
    n_lights = max(20, round(LIGHTS_PER_SCALE * scale))
    n_cab = max(2, round(CABINETS_PER_SCALE * scale))
    pops = np.array([c.population for c in communes], dtype=float)
    per_commune = quotas(pops**0.8, n_lights)
    x, y, t, codes, streets = _points_near_centres(rng, communes, net, per_commune * 2, 0.5)
    side = rng.choice([-1.0, 1.0], len(x))
    x = x - t[:, 1] * side * 3.5  # at the kerb, 3.5 m from the road axis
    y = y + t[:, 0] * side * 3.5
    # Lights stand at least MIN_LIGHT_SPACING_M apart; each commune keeps its quota.
    keep = spaced(x, y, MIN_LIGHT_SPACING_M) & ~_inside(obstacles, x, y)
    for code, k in zip([c.insee_code for c in communes], per_commune, strict=True):
        mine = np.flatnonzero(keep & (codes == code))
        keep[mine[k:]] = False
    x, y, t, codes, streets = x[keep], y[keep], t[keep], codes[keep], streets[keep]
    per_commune = np.array([(codes == c.insee_code).sum() for c in communes])
    n_lights = len(x)

    # Cabinets: at least one per lit commune when there are enough; lights to the nearest.
    lit = np.array([k > 0 for k in per_commune])
    cab_quota = quotas(per_commune.astype(float), n_cab)
    if n_cab >= lit.sum():
        cab_quota = np.where(lit, np.maximum(cab_quota, 1), 0)
    cab_xy, cab_codes = [], []
    for c, k in zip(communes, cab_quota, strict=True):
        if k == 0:
            continue
        mine = np.flatnonzero(codes == c.insee_code)
        seeds = np.column_stack([x[mine], y[mine]])[rng.choice(len(mine), k, replace=False)]
        for _ in range(6):  # a few k-means steps: cabinets in the middle of their lights
            d = np.hypot(x[mine, None] - seeds[None, :, 0], y[mine, None] - seeds[None, :, 1])
            near = np.argmin(d, axis=1)
            for j in range(k):
                if (near == j).any():
                    seeds[j] = [x[mine][near == j].mean(), y[mine][near == j].mean()]
        # On the pavement, 2 m along the street from the light nearest the cluster's middle.
        d = np.hypot(x[mine, None] - seeds[None, :, 0], y[mine, None] - seeds[None, :, 1])
        at = mine[np.argmin(d, axis=0)]
        seeds = np.column_stack([x[at] + 2.0 * t[at, 0], y[at] + 2.0 * t[at, 1]])
        cab_xy.append(seeds), cab_codes.extend([c.insee_code] * k)
    cab_xy = np.round(np.vstack(cab_xy), 1)
    cab_ids, counters = [], {}
    for code in cab_codes:
        counters[code] = counters.get(code, 0) + 1
        cab_ids.append(f"ARM-{code}-{counters[code]:02d}")
    cab_ids = np.array(cab_ids)
    cab_codes = np.array(cab_codes)
    # Nearest cabinet of the same commune (any commune if it has none).
    d = np.hypot(x[:, None] - cab_xy[None, :, 0], y[:, None] - cab_xy[None, :, 1])
    d = np.where(cab_codes[None, :] == codes[:, None], d, d + 1e7)
    owner = np.argmin(d, axis=1)

    year = rng.integers(1978, 2026, n_lights)
    led = (year >= 2012) | (rng.random(n_lights) < 0.1)
    lamp = np.where(led, "LED", rng.choice(["SHP", "IM", "SBP"], n_lights, p=[0.75, 0.2, 0.05]))
    power = np.where(
        led,
        rng.choice([30, 40, 50, 70], n_lights),
        rng.choice([70, 100, 150, 250], n_lights, p=[0.3, 0.4, 0.25, 0.05]),
    )
    height = rng.choice([4.0, 6.0, 8.0, 10.0], n_lights, p=[0.2, 0.45, 0.25, 0.1])
    no_power = _exact_gap(rng, n_lights, MISSING_POWER_SHARE)
    no_year = _exact_gap(rng, n_lights, MISSING_YEAR_SHARE)
    no_geom = _exact_gap(rng, n_lights, MISSING_GEOMETRY_SHARE, minimum=1)
    # A few lights surveyed twice: a copy under a new id, less than a metre away.
    n_dup = max(1, round(DUPLICATE_SHARE * n_lights))
    dup = rng.choice(np.flatnonzero(~no_geom), size=n_dup, replace=False)
    rows = np.concatenate([np.arange(n_lights), dup])
    x = np.concatenate([x, x[dup] + rng.uniform(-0.7, 0.7, n_dup)])
    y = np.concatenate([y, y[dup] + rng.uniform(-0.7, 0.7, n_dup)])
    codes, streets, owner, lamp, power, height, year, led, no_power, no_year, no_geom = (
        a[rows]
        for a in (codes, streets, owner, lamp, power, height, year, led, no_power, no_year, no_geom)
    )
    geoms = shapely.points(np.round(x, 1), np.round(y, 1))
    geoms[no_geom] = None
    light_ids = []
    counters = {}
    for code in codes:
        counters[code] = counters.get(code, 0) + 1
        light_ids.append(f"EP-{code}-{counters[code]:04d}")
    lights = Table(
        geoms,
        {
            "light_id": light_ids,
            "cabinet_id": list(cab_ids[owner]),
            "insee_code": list(codes),
            "street": [s or None for s in streets],
            "lamp_type": list(lamp),
            "power_w": [None if m else int(p) for p, m in zip(power, no_power, strict=True)],
            "install_year": [None if m else int(v) for v, m in zip(year, no_year, strict=True)],
            "lantern_height_m": [float(h) for h in height],
            "telemanaged": [int(v) for v in led & (year >= 2018)],
        },
    )
    counts = np.bincount(owner, minlength=len(cab_ids))
    cab_power = np.bincount(owner, weights=power, minlength=len(cab_ids)) / 1000.0
    cabinets = Table(
        shapely.points(cab_xy),
        {
            "cabinet_id": list(cab_ids),
            "insee_code": list(cab_codes),
            "name": [
                f"Armoire {cid[-2:]} – {_commune_name(communes, code)}"
                for cid, code in zip(cab_ids, cab_codes, strict=True)
            ],
            "lights": [int(v) for v in counts],
            "max_power_kw": [float(np.ceil(p * 1.3 + 1.0)) for p in cab_power],
            "working_mode": list(rng.choice(["automatic", "semiautomatic"], len(cab_ids))),
            "install_year": [int(v) for v in rng.integers(1990, 2025, len(cab_ids))],
        },
    )
    return cabinets, lights


def _commune_name(communes, code: str) -> str:
    return next(c.name for c in communes if c.insee_code == code)


def collection_zones(rng, communes: list[Commune], cells: np.ndarray, n_zones: int = 6):
    """Collection sectors: groups of neighbouring communes (k-means on the centres)."""
    xy = np.array([(c.x, c.y) for c in communes])
    pops = np.array([c.population for c in communes])
    seeds = xy[np.argsort(-pops, kind="stable")[:n_zones]].copy()
    for _ in range(10):
        group = np.argmin(np.hypot(*(xy[:, None] - seeds[None]).transpose(2, 0, 1)), axis=1)
        for k in range(n_zones):
            seeds[k] = xy[group == k].mean(axis=0)
    geoms, cols = [], {"zone_id": [], "name": [], "collection_day": [], "communes": []}
    for k in range(n_zones):
        members = np.flatnonzero(group == k)
        chief = communes[members[np.argmax(pops[members])]]
        union = shapely.union_all(cells[members])
        geoms.append(shapely.MultiPolygon(shapely.get_parts(union)))
        cols["zone_id"].append(f"SECT-{k + 1:02d}")
        cols["name"].append(f"Secteur {k + 1} – {chief.name}")
        cols["collection_day"].append(WEEKDAYS[k % len(WEEKDAYS)])
        cols["communes"].append(len(members))
    zone_of = {communes[i].insee_code: f"SECT-{group[i] + 1:02d}" for i in range(len(communes))}
    return Table(np.array(geoms, dtype=object), cols), zone_of


def generate_waste(rng, communes, net, zone_of: dict, scale: float, obstacles):
    """(recycling centres, drop-off isles, waste containers) tables."""
    n_containers = max(6, round(CONTAINERS_PER_SCALE * scale))
    kinds_per_isle = []
    while sum(len(k) for k in kinds_per_isle) < n_containers:
        kinds = ["glass"]
        kinds += ["packaging"] if rng.random() < 0.8 else []
        kinds += ["paper"] if rng.random() < 0.6 else []
        kinds_per_isle.append(kinds)
    n_isles = len(kinds_per_isle)
    pops = np.array([c.population for c in communes], dtype=float)
    per_commune = quotas(pops, n_isles)
    if n_isles >= 2 * len(communes):
        per_commune = np.maximum(per_commune, 1)
        while per_commune.sum() > n_isles:
            per_commune[np.argmax(per_commune)] -= 1
    x, y, t, codes, streets = _points_near_centres(rng, communes, net, per_commune * 3, 0.7)
    keep = spaced(x, y, 60.0) & ~_inside(obstacles, x - t[:, 1] * 4.0, y + t[:, 0] * 4.0)
    for code, k in zip([c.insee_code for c in communes], per_commune, strict=True):
        keep[np.flatnonzero(keep & (codes == code))[k:]] = False
    x, y, t, codes, streets = x[keep], y[keep], t[keep], codes[keep], streets[keep]
    x = x - t[:, 1] * 4.0
    y = y + t[:, 0] * 4.0
    rows: dict = {k: [] for k in CONTAINER_COLUMNS}
    isles: dict = {k: [] for k in ("isle_id", "name", "insee_code", "street", "containers")}
    seq: dict[str, int] = {}
    for i, kinds in enumerate(kinds_per_isle[: len(x)]):
        code = str(codes[i])
        seq[code] = seq.get(code, 0) + 1
        isle = f"PAV-{code}-{seq[code]:03d}"
        underground = int(rng.random() < 0.25)
        kinds = kinds[: n_containers - len(rows["container_id"])]
        isles["isle_id"].append(isle)
        isles["name"].append(f"Point d'apport volontaire {seq[code]} – {streets[i] or code}")
        isles["insee_code"].append(code), isles["street"].append(streets[i] or None)
        isles["containers"].append(len(kinds))
        for j, kind in enumerate(kinds):
            rows["container_id"].append(f"{isle}-{kind[:3].upper()}")
            rows["isle_id"].append(isle)
            rows["waste_type"].append(kind)
            rows["capacity_m3"].append(float(rng.choice([3.0, 4.0, 5.0])))
            rows["underground"].append(underground)
            rows["insee_code"].append(code)
            rows["zone_id"].append(zone_of[code])
            rows["street"].append(streets[i] or None)
            rows["x"].append(round(float(x[i] + t[i, 0] * 4.0 * j), 1))
            rows["y"].append(round(float(y[i] + t[i, 1] * 4.0 * j), 1))
    n_isles = len(isles["isle_id"])
    isle_table = Table(shapely.points(np.round(x[:n_isles], 1), np.round(y[:n_isles], 1)), isles)
    containers = Table(shapely.points(rows["x"], rows["y"]), rows)

    centres, cols = [], {"centre_id": [], "name": [], "insee_code": [], "opening_hours": []}
    by_code = {c.insee_code: c for c in communes}
    for k, code in enumerate(RECYCLING_TOWNS):
        c = by_code[code]
        angle = rng.uniform(0, 2 * np.pi)
        dist = c.radius_m * rng.uniform(0.7, 0.95)
        centres.append((round(c.x + dist * np.cos(angle), 1), round(c.y + dist * np.sin(angle), 1)))
        cols["centre_id"].append(f"DECH-{k + 1:02d}")
        cols["name"].append(f"Déchetterie de {c.name}")
        cols["insee_code"].append(code)
        cols["opening_hours"].append("Mo,We,Fr 14:00-18:00; Sa 09:00-12:00,14:00-18:00")
    return Table(shapely.points(centres), cols), isle_table, containers
