"""Building footprints: town halls, schools and other public buildings, then ~30,000 others.

Footprints are rectangles set back from a street and aligned with it, more of them in the
bigger communes and near their centres; none overlaps another or crosses a road. Heights are
missing for a few percent of them (as in real building databases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .communes import Commune
from .roads import RoadNetwork, sample_on_lines

BUILDINGS_PER_SCALE = 30_000
INDUSTRIAL_ZONE_SHARE = 0.02
MISSING_HEIGHT_SHARE = 0.03
# use -> Smart Data Models Building.category
CATEGORY = {
    "residential": "residential",
    "commercial": "commercial",
    "industrial": "industrial",
    "public": "public",
    "school": "school",
}
# use -> (width along the street, depth) ranges in metres, height range in metres
SIZES = {
    "residential": ((8, 15), (7, 12), (4.5, 9.0)),
    "apartments": ((15, 32), (10, 14), (10.0, 18.0)),
    "commercial": ((12, 40), (10, 25), (4.0, 8.0)),
    "industrial": ((25, 80), (20, 50), (6.0, 14.0)),
    "public": ((15, 35), (12, 25), (6.0, 12.0)),
    "school": ((30, 70), (15, 25), (6.0, 10.0)),
}
COLLEGES = {"76114": 2, "76384": 1, "76476": 1, "76164": 1, "76258": 1, "76329": 1}
LYCEES = {"76114": 1, "76384": 1, "76476": 1}


@dataclass
class Buildings:
    geometry: np.ndarray
    building_id: list
    insee_code: list
    use: list
    name: list
    height_m: np.ndarray  # NaN: unknown
    floors: list  # None: unknown


def _special_list(communes: list[Commune]) -> list[tuple[Commune, str, str]]:
    specials = []
    for c in communes:
        hall = "Hôtel de ville" if c.population >= 5000 else "Mairie"
        specials.append((c, "public", f"{hall} de {c.name}"))
        if c.population >= 300:
            for k in range(1 + c.population // 2500):
                suffix = f" n°{k + 1}" if k else ""
                specials.append((c, "school", f"École primaire{suffix} de {c.name}"))
        for k in range(COLLEGES.get(c.insee_code, 0)):
            specials.append((c, "school", f"Collège{' n°2' if k else ''} de {c.name}"))
        if c.insee_code in LYCEES:
            specials.append((c, "school", f"Lycée de {c.name}"))
        if c.population >= 800:
            specials.append((c, "public", f"Salle polyvalente de {c.name}"))
        if c.population >= 2000:
            specials.append((c, "public", f"Gymnase de {c.name}"))
        if c.population >= 3000:
            specials.append((c, "public", f"Médiathèque de {c.name}"))
    return specials


def _footprints(x, y, tangent, side, uses, rng, setback_extra):
    """Rectangles beside the street points, aligned with the street; returns (polys, h)."""
    n = len(x)
    w, d, h = np.empty(n), np.empty(n), np.empty(n)
    for use, ((w0, w1), (d0, d1), (h0, h1)) in SIZES.items():
        m = uses == use
        k = int(m.sum())
        w[m], d[m], h[m] = rng.uniform(w0, w1, k), rng.uniform(d0, d1, k), rng.uniform(h0, h1, k)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) * side[:, None]
    setback = d / 2 + rng.uniform(5.0, 10.0, n) + setback_extra
    cx = x + normal[:, 0] * setback
    cy = y + normal[:, 1] * setback
    corners = np.empty((n, 5, 2))
    for k, (a, b) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))):
        corners[:, k, 0] = cx + a * w / 2 * tangent[:, 0] + b * d / 2 * normal[:, 0]
        corners[:, k, 1] = cy + a * w / 2 * tangent[:, 1] + b * d / 2 * normal[:, 1]
    return shapely.polygons(np.round(corners, 2)), np.round(h, 1)


def generate_buildings(rng, communes, net: RoadNetwork, area, zone, scale: float) -> Buildings:
    target = max(len(communes), round(BUILDINGS_PER_SCALE * scale))
    lines = net.array()
    insee = np.array([c or "" for c in net.insee_code])
    is_street = np.array([cat == "rue" for cat in net.category])
    is_zone = np.array([rid.startswith("ZI") for rid in net.road_id])
    roads_tree = shapely.STRtree(lines)
    shapely.prepare(area)

    # 1. Public buildings and schools, near the commune centres, placed one by one.
    specials = _special_list(communes)
    kept_polys, kept = [], []
    for c, use, name in specials:
        mask = is_street & ~is_zone & (insee == c.insee_code)
        cand = lines[mask]
        dist = shapely.distance(shapely.points(c.x, c.y), cand)
        weights = shapely.length(cand) * np.exp(-dist / (0.3 * c.radius_m))
        for _ in range(40):
            x, y, t, _idx = sample_on_lines(rng, cand, weights, 1)
            side = rng.choice([-1.0, 1.0], 1)
            poly, h = _footprints(x, y, t, side, np.array([use]), rng, 2.0)
            if not shapely.contains(area, poly[0]) or len(roads_tree.query(poly[0], "intersects")):
                continue
            if any(shapely.intersects(poly[0], p) for p in kept_polys):
                continue
            kept_polys.append(poly[0])
            kept.append((c.insee_code, use, name, float(h[0])))
            break
    n_general = max(0, target - len(kept))

    # 2. Everything else, vectorized, in rounds: candidates are drawn, those that leave the
    # territory, cross a road or overlap an accepted footprint are dropped, and again.
    ctx = (communes, lines, is_street & ~is_zone, insee, lines[is_zone])
    accepted = list(kept_polys)
    parts: list[tuple] = []
    n_done = 0
    for _round in range(10):
        missing = n_general - n_done
        if missing <= 0:
            break
        polys, heights, use, ins = _candidates(rng, ctx, int(missing * 1.4) + 20, 0.8 + _round)
        ok = shapely.contains(area, polys)
        ok &= ~(shapely.intersects(zone, polys) & (use != "industrial"))
        ok[roads_tree.query(polys, "intersects")[0]] = False
        ok[shapely.STRtree(np.array(accepted, dtype=object)).query(polys, "intersects")[0]] = False
        pairs = shapely.STRtree(polys).query(polys, "intersects")
        ok[pairs[1][pairs[0] < pairs[1]]] = False
        sel = np.flatnonzero(ok)[:missing]
        parts.append((polys[sel], heights[sel], use[sel], ins[sel]))
        accepted.extend(polys[sel])
        n_done += len(sel)
    polys = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=object)
    heights = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    use = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, dtype=str)
    ins = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, dtype=str)

    use_out = [u for _i, u, _n, _h in kept] + [
        "residential" if u == "apartments" else str(u) for u in use
    ]
    geoms = np.concatenate([np.array(kept_polys, dtype=object), polys])
    height = np.concatenate([[h for *_r, h in kept], heights]).astype(float)
    insee_out = [i for i, *_r in kept] + [str(i) for i in ins]
    general = np.arange(len(kept), len(geoms))
    unknown = rng.choice(general, size=round(MISSING_HEIGHT_SHARE * len(general)), replace=False)
    height[unknown] = np.nan
    floors = [None if np.isnan(h) else max(1, round((h - 1.5) / 3.0)) for h in height]
    counters: dict[str, int] = {}
    ids = []
    for code in insee_out:
        counters[code] = counters.get(code, 0) + 1
        ids.append(f"BAT-{code}-{counters[code]:05d}")
    names = [n for _i, _u, n, _h in kept] + [None] * len(polys)
    return Buildings(geoms, ids, insee_out, use_out, names, height, floors)


def _candidates(rng, ctx, n_cand: int, spread: float):
    """n_cand candidate footprints: (polygons, heights, uses, INSEE codes), shuffled.

    ``spread`` (in commune radii) says how fast the density falls away from the centre.
    """
    communes, lines, town_streets, insee, zone_lines = ctx
    pops = np.array([c.population for c in communes], dtype=float)
    n_zone = int(round(n_cand * INDUSTRIAL_ZONE_SHARE))
    per_commune = quotas(pops, n_cand - n_zone)
    xs, ys, ts, uses, insees, extra = [], [], [], [], [], []
    for c, k in zip(communes, per_commune, strict=True):
        if k == 0:
            continue
        cand = lines[town_streets & (insee == c.insee_code)]
        dist = shapely.distance(shapely.points(c.x, c.y), cand)
        weights = shapely.length(cand) * np.exp(-dist / (spread * c.radius_m))
        x, y, t, _idx = sample_on_lines(rng, cand, weights, int(k))
        r = np.hypot(x - c.x, y - c.y) / c.radius_m
        big = c.population >= 5000
        probs = [0.84, 0.09, 0.05, 0.02] if big else [0.90, 0.05, 0.03, 0.02]
        use = rng.choice(["residential", "commercial", "industrial", "public"], k, p=probs)
        use[(use == "residential") & (r < 0.35) & big & (rng.random(k) < 0.35)] = "apartments"
        xs.append(x), ys.append(y), ts.append(t), uses.append(use)
        insees.append(np.full(k, c.insee_code)), extra.append(rng.exponential(4.0, k) * r)
    x, y, t, _idx = sample_on_lines(rng, zone_lines, shapely.length(zone_lines), n_zone)
    xs.append(x), ys.append(y), ts.append(t), uses.append(np.full(n_zone, "industrial"))
    insees.append(np.full(n_zone, "76476")), extra.append(rng.uniform(0.0, 30.0, n_zone))
    x, y, t = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
    use, ins, extra = np.concatenate(uses), np.concatenate(insees), np.concatenate(extra)
    order = rng.permutation(len(x))  # mix communes, so that filtering is fair to all
    x, y, t, use, ins, extra = x[order], y[order], t[order], use[order], ins[order], extra[order]
    side = rng.choice([-1.0, 1.0], len(x))
    polys, heights = _footprints(x, y, t, side, use, rng, extra)
    return polys, heights, use, ins


def quotas(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer shares of total proportional to weights (largest remainder)."""
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(int)
    rest = total - base.sum()
    if rest > 0:
        base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base
