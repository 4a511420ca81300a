"""KPI tiles of the operations screen, computed from the twin's layers (no SQL).

``GET /api/v1/kpis`` answers::

    {"t": now, "parking": {"stations": [{id, name, free, total, seen}], "free", "total"},
     "lighting": {"lights", "on", "dim", "off", "fault", "unknown", "powerKw"},
     "waste": {"containers", "measured", "above80"},
     "recycling": [{id, name, state, vehicles, seen}],
     "freshness": {"lastSeen", "stale"}}

A streetlight without its own telemetry takes the state of its control cabinet. The power is
the sum of the cabinets' ``totalActivePower`` (kW) when cabinets report it, else the sum of the
telemanaged lights' ``powerConsumption`` (W). ``stale`` counts sensors silent for longer than
their layer's ``staleAfter`` (assets that never reported are not counted).
"""

from __future__ import annotations

import time

from hyperville.web.layers import BY_ID, LAYERS, LayerCache

LIVE_LAYERS = tuple(spec.id for spec in LAYERS if spec.live)


def _props(cache: LayerCache, layer: str) -> list[dict]:
    return [f["properties"] for f in cache.snapshot(layer)]


def _parking(cache: LayerCache) -> dict:
    stations, free, total = [], 0, 0
    for p in _props(cache, "parking"):
        total += int(p.get("c") or 0)
        free += int(p.get("v") or 0)
        if p.get("g"):
            stations.append(
                {
                    "id": p["i"],
                    "name": p.get("n"),
                    "free": p.get("v"),
                    "total": p.get("c"),
                    "state": p.get("s"),
                    "seen": p.get("o"),
                }
            )
    stations.sort(key=lambda s: s["name"] or s["id"])
    return {"stations": stations, "free": free, "total": total}


def _lighting(cache: LayerCache) -> dict:
    cabinets = {p["i"].rsplit(":", 1)[-1]: p for p in _props(cache, "cabinets")}
    counts = {"on": 0, "dim": 0, "off": 0, "fault": 0, "unknown": 0}
    watts = 0.0
    lights = _props(cache, "lights")
    for p in lights:
        state = p.get("s", "unknown")
        if state == "unknown" and p.get("k") in cabinets:
            state = cabinets[p["k"]].get("s", "unknown")
        counts[state] = counts.get(state, 0) + 1
        watts += float(p.get("v") or 0.0)
    cabinet_kw = [float(c["v"]) for c in cabinets.values() if c.get("v") is not None]
    power_kw = sum(cabinet_kw) if cabinet_kw else watts / 1000.0
    return {"lights": len(lights), **counts, "powerKw": round(power_kw, 1)}


def _waste(cache: LayerCache) -> dict:
    containers = _props(cache, "containers")
    levels = [p["v"] for p in containers if p.get("v") is not None]
    return {
        "containers": len(containers),
        "measured": len(levels),
        "above80": sum(1 for v in levels if v >= 80),
    }


def _recycling(cache: LayerCache) -> list[dict]:
    return sorted(
        (
            {
                "id": p["i"],
                "name": p.get("n"),
                "state": p.get("s"),
                "vehicles": p.get("v"),
                "seen": p.get("o"),
            }
            for p in _props(cache, "recycling")
        ),
        key=lambda r: r["name"] or r["id"],
    )


def _freshness(cache: LayerCache, now: float) -> dict:
    last, stale = None, 0
    for layer in LIVE_LAYERS:
        limit = BY_ID[layer].stale_s or 0
        for p in _props(cache, layer):
            seen = p.get("o")
            if seen is None:
                continue
            last = seen if last is None or seen > last else last
            if now - seen > limit:
                stale += 1
    return {"lastSeen": last, "stale": stale}


def compute(cache: LayerCache) -> dict:
    """Every KPI of the screen (blocking: may load layers; call from a thread)."""
    now = time.time()
    return {
        "t": now,
        "parking": _parking(cache),
        "lighting": _lighting(cache),
        "waste": _waste(cache),
        "recycling": _recycling(cache),
        "freshness": _freshness(cache, now),
    }
