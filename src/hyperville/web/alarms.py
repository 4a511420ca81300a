"""Active alarms, derived from the twin's live state as the screen's layers hold it.

An alarm is a condition of one entity, raised while it holds and cleared when it stops:

========  ========  =================================================================
kind      severity  condition (``layers`` computes the states)
========  ========  =================================================================
silent    major     a sensor silent for longer than its layer's ``staleAfter``
fault     major     a streetlight whose ``status`` is not ok
fill      minor     a waste container filled to 80 % or more (major from 95 %)
full      minor     a car park with less than 10 % of its spaces free
crowded   minor     a recycling centre with 25 vehicles or more in the last hour
air       major     an air-quality information threshold exceeded (critical: alert
                    threshold; :mod:`hyperville.web.air_quality`)
========  ========  =================================================================

``since`` is when the condition started, epoch seconds: for a silent sensor, its last
reading plus the allowed silence; otherwise the observation that raised the alarm (for an
alarm already true when the server started: the latest observation, a lower bound).

``GET /api/v1/alarms`` answers ``{"t", "counts": {severity: n}, "alarms": [...]}``, most
severe first, then newest first. The live stream (:mod:`hyperville.web.live`) pushes the
same alarms as they are raised and cleared. Alarms are not acknowledged or stored: they are
the twin's current state, recomputed after a restart.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response

from hyperville.web import air_quality
from hyperville.web.communes import Communes, anchor
from hyperville.web.layers import BY_ID, LAYERS, LayerCache, LayerSpec
from hyperville.web.search import type_name

SEVERITIES = ("critical", "major", "minor")
RANK = {s: n for n, s in enumerate(SEVERITIES)}
SWEEP_S = 10.0  # how often silences are looked for, at most
POLLUTANTS = {"no2": "NO2", "o3": "O3", "so2": "SO2", "pm10": "PM10"}


@dataclass(frozen=True)
class Alarm:
    kind: str
    severity: str
    entity: str
    layer: str
    since: int  # epoch s
    value: float | None
    feature: dict  # the layer's compact feature when raised

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.entity}"


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def message(alarm: Alarm) -> dict[str, str]:
    """What the alarm says, in French and English."""
    p, v = alarm.feature["properties"], alarm.value
    if alarm.kind == "silent":
        limit = _duration(BY_ID[alarm.layer].stale_s or 0)
        return {
            "fr": f"Capteur silencieux depuis plus de {limit}",
            "en": f"Sensor silent for more than {limit}",
        }
    if alarm.kind == "fault":
        return {"fr": "Point lumineux en panne", "en": "Streetlight fault"}
    if alarm.kind == "fill":
        return {"fr": f"Conteneur rempli à {v:.0f} %", "en": f"Container {v:.0f} % full"}
    if alarm.kind == "full":
        free, total = f"{v:.0f}", f"{p.get('c') or 0:.0f}"
        return {
            "fr": f"Parking saturé : {free} places libres sur {total}",
            "en": f"Car park full: {free} free spaces of {total}",
        }
    if alarm.kind == "crowded":
        return {
            "fr": f"Déchetterie saturée : {v:.0f} véhicules dans l'heure",
            "en": f"Recycling centre crowded: {v:.0f} vehicles in the last hour",
        }
    name = p.get("p", "")
    alert = alarm.severity == "critical"
    limit = (air_quality.ALERT if alert else air_quality.INFORMATION).get(name, 0)
    reading = f"{POLLUTANTS.get(name, name)} {v:.0f} µg/m³"
    return {
        "fr": f"Seuil {'d’alerte' if alert else 'd’information'} dépassé : {reading} "
        f"(seuil {limit:.0f})",
        "en": f"{'Alert' if alert else 'Information'} threshold exceeded: {reading} "
        f"(threshold {limit:.0f})",
    }


def conditions(spec: LayerSpec, feature: dict, now: float) -> list[tuple[str, str, float | None]]:
    """The (kind, severity, value) that hold for one feature of a live layer at ``now``."""
    p = feature["properties"]
    state, value, out = p.get("s"), p.get("v"), []
    seen = p.get("o")
    if spec.stale_s and seen is not None and now - seen > spec.stale_s:
        out.append(("silent", "major", None))
    if spec.id == "lights" and state == "fault":
        out.append(("fault", "major", None))
    elif spec.id == "containers" and value is not None and value >= 80:
        out.append(("fill", "major" if value >= 95 else "minor", value))
    elif spec.id == "parking" and state == "full":
        out.append(("full", "minor", value))
    elif spec.id == "recycling" and state == "crowded":
        out.append(("crowded", "minor", value))
    elif spec.id == "environment" and state in ("info", "alert"):
        out.append(("air", "critical" if state == "alert" else "major", value))
    return out


class AlarmBook:
    """The active alarms of the screen's tenant, kept up to date change by change."""

    def __init__(self, cache: LayerCache, communes: Communes) -> None:
        self.cache = cache
        self.communes = communes
        self.active: dict[str, Alarm] = {}
        self._by_entity: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._swept = 0.0

    def _evaluate(self, spec: LayerSpec, entity_id: str, feature: dict | None, now: float):
        """Fold the conditions of one entity in; the alarms raised (or changed) and cleared."""
        found = conditions(spec, feature, now) if feature is not None else []
        raised, holding = [], set()
        for kind, severity, value in found:
            alarm_id = f"{kind}:{entity_id}"
            holding.add(alarm_id)
            before = self.active.get(alarm_id)
            if before is not None and (before.severity, before.value) == (severity, value):
                continue
            seen = feature["properties"].get("o")
            if before is not None:
                since = before.since
            elif kind == "silent":
                since = int(seen + (spec.stale_s or 0))
            else:
                since = int(seen if seen is not None else now)
            alarm = Alarm(kind, severity, entity_id, spec.id, since, value, feature)
            self.active[alarm_id] = alarm
            raised.append(alarm)
        cleared = sorted(self._by_entity.get(entity_id, set()) - holding)
        for alarm_id in cleared:
            del self.active[alarm_id]
        if holding:
            self._by_entity[entity_id] = holding
        else:
            self._by_entity.pop(entity_id, None)
        return raised, cleared

    def observe(self, spec: LayerSpec, entity_id: str, feature: dict | None):
        """One change of the twin: (raised alarms as public dicts, cleared alarm ids)."""
        if not spec.live:
            return [], []
        with self._lock:
            raised, cleared = self._evaluate(spec, entity_id, feature, time.time())
        return self.public(raised), cleared

    def due(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) - self._swept >= SWEEP_S

    def sweep(self, now: float | None = None, *, force: bool = False):
        """Every live feature again (silences start without any change); at most every
        ``SWEEP_S`` unless forced. Blocking (may load layers): the same answer as observe."""
        now = time.time() if now is None else now
        if not force and not self.due(now):
            return [], []
        raised, cleared, present = [], [], set()
        for spec in LAYERS:
            if not spec.live:
                continue
            features = self.cache.snapshot(spec.id)
            with self._lock:
                for feature in features:
                    entity_id = feature["properties"]["i"]
                    present.add(entity_id)
                    more, less = self._evaluate(spec, entity_id, feature, now)
                    raised += more
                    cleared += less
        with self._lock:
            for entity_id in set(self._by_entity) - present:  # deleted meanwhile
                ids = self._by_entity.pop(entity_id)
                cleared += sorted(ids)
                for alarm_id in ids:
                    del self.active[alarm_id]
            self._swept = now
        return self.public(raised), cleared

    def public(self, alarms: list[Alarm]) -> list[dict]:
        """The alarms as the API and the stream show them, most severe and newest first."""
        where = self.communes.of(a.feature for a in alarms)
        out = [
            {
                "id": a.id,
                "kind": a.kind,
                "severity": a.severity,
                "entity": a.entity,
                "type": type_name(a.entity),
                "layer": a.layer,
                "name": a.feature["properties"].get("n"),
                "commune": where.get(a.entity, ""),
                "since": a.since,
                "value": a.value,
                "center": anchor(a.feature["geometry"]),
                "message": message(a),
            }
            for a in alarms
        ]
        out.sort(key=lambda a: (RANK[a["severity"]], -a["since"], a["id"]))
        return out

    def snapshot(self) -> list[dict]:
        """Every active alarm (after a sweep if one is due). Blocking: call from a thread."""
        self.sweep()
        with self._lock:
            alarms = list(self.active.values())
        return self.public(alarms)


def counts(alarms: list[dict]) -> dict[str, int]:
    out = dict.fromkeys(SEVERITIES, 0)
    for alarm in alarms:
        out[alarm["severity"]] += 1
    return out


async def alarms(request: Request) -> Response:
    book: AlarmBook = request.app.state.alarms
    active = await anyio.to_thread.run_sync(book.snapshot)
    body = {"t": time.time(), "counts": counts(active), "alarms": active}
    return Response(orjson.dumps(body), media_type="application/json")
