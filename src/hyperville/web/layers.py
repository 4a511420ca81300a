"""Map layers of the operations screen: compact GeoJSON per service, kept in memory.

Each layer (:data:`LAYERS`) holds the entities of a few types as GeoJSON features with only
what the map needs: ``i`` (id), ``n`` (name), ``s`` (state, coloured by the map), ``v``
(the value behind the state), ``o`` (last observation, epoch seconds), ``c`` (capacity), ``k``
(streetlight: its cabinet), ``p`` (air quality: the pollutant behind the state), ``w`` (waste
container: its kind), ``g`` (car park: 1 at a station). Coordinates are rounded to 6 decimals
(~0.1 m).

A layer is read from the twin once (``twin.query``), then kept up to date by
``Twin.on_change``: serving it is serialising a dict (cached with its gzip form and an ETag
until the next change), not querying 30,000 buildings again.
"""

from __future__ import annotations

import gzip
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson

from hyperville.store.base import DEFAULT_TENANT, EntityQuery
from hyperville.web import air_quality

log = logging.getLogger(__name__)
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
CORE = "https://uri.etsi.org/ngsi-ld/"
LOCATION = CORE + "location"
PAGE = 10_000
LATER_S = 3.0  # [s] after the first screen's layers, the buildings are read


def short(iri: str) -> str:
    """``https://…/default-context/name`` → ``name`` (what the compacted API shows)."""
    for prefix in (VOCAB, CORE):
        if iri.startswith(prefix):
            return iri[len(prefix) :]
    return iri


def epoch_s(stamp: str | None) -> int | None:
    if not stamp:
        return None
    try:
        return int(datetime.fromisoformat(stamp).timestamp())
    except ValueError:
        return None


class Attrs:
    """The default instances of an expanded entity, by short attribute name."""

    def __init__(self, entity: dict) -> None:
        self._attrs = entity.get("attrs", {})

    def instance(self, name: str) -> dict | None:
        """The default instance of ``name`` (a term of the default or the core context)."""
        found = self._attrs.get(VOCAB + name) or self._attrs.get(CORE + name)
        return found[0] if found else None

    def value(self, name: str):
        instance = self.instance(name)
        if instance is None:
            return None
        return instance.get("value", instance.get("object"))

    def unit(self, name: str) -> str | None:
        instance = self.instance(name)
        return None if instance is None else instance.get("unitCode")

    def number(self, name: str) -> float | None:
        value = self.value(name)
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    def last_seen(self, names: tuple[str, ...]) -> int | None:
        """The newest observedAt (else modifiedAt) of these attributes, epoch seconds."""
        best = None
        for name in names:
            instance = self.instance(name)
            if instance is None:
                continue
            stamp = epoch_s(instance.get("observedAt") or instance.get("modifiedAt"))
            if stamp is not None and (best is None or stamp > best):
                best = stamp
        return best


def _ratio(value: float | None) -> float | None:
    """A share as 0–1 whether the source sends a ratio (SDM) or a percentage."""
    if value is None:
        return None
    return value / 100.0 if value > 1.0 else value


def _parking(a: Attrs) -> dict:
    free, total = a.number("availableSpotNumber"), a.number("totalSpotNumber")
    out: dict = {"c": total, "g": 1 if a.value("refTransportStation") else None}
    if free is None and total and a.number("occupiedSpotNumber") is not None:
        free = total - a.number("occupiedSpotNumber")  # type: ignore[operator]
    if free is None or not total:
        return {**out, "s": "unknown"}
    share = free / total
    state = "free" if share >= 0.3 else "busy" if share >= 0.1 else "full"
    return {**out, "s": state, "v": int(free)}


def _light(a: Attrs) -> dict:
    cabinet = a.value("refStreetlightControlCabinet")
    out: dict = {"k": cabinet.rsplit(":", 1)[-1]} if isinstance(cabinet, str) else {}
    status = str(a.value("status") or "").lower()
    power = str(a.value("powerState") or "").lower()
    level = _ratio(a.number("illuminanceLevel"))
    if status and status not in ("ok", "working"):
        state = "fault"
    elif power in ("on", "bootingup"):
        state = "dim" if level is not None and level < 0.95 else "on"
    elif power in ("low", "dimmed"):
        state = "dim"
    elif power == "off":
        state = "off"
    else:
        state = "unknown"
    watts = a.number("powerConsumption")
    return {**out, "s": state, **({"v": watts} if watts is not None else {})}


def _cabinet(a: Attrs) -> dict:
    power = str(a.value("powerState") or "").lower()
    state = {"on": "on", "off": "off"}.get(power, "unknown")
    kw = a.number("totalActivePower")
    return {"s": state, **({"v": kw} if kw is not None else {})}


def _container(a: Attrs) -> dict:
    level = _ratio(a.number("fillingLevel"))
    out: dict = {"w": a.value("storedWasteKind")}
    if level is None:
        return {**out, "s": "unknown"}
    state = "low" if level < 0.5 else "mid" if level < 0.8 else "high"
    return {**out, "s": state, "v": round(level * 100)}


def _recycling(a: Attrs) -> dict:
    count = a.number("vehicleEntranceCount")
    if count is None:
        return {"s": "unknown"}
    state = "calm" if count < 10 else "busy" if count < 25 else "crowded"
    return {"s": state, "v": int(count)}


def _traffic(a: Attrs) -> dict:
    occupancy = _ratio(a.number("occupancy"))
    intensity = a.number("intensity")
    if occupancy is None:
        return {"s": "unknown"} if intensity is None else {"s": "fluid", "v": intensity}
    state = "fluid" if occupancy < 0.15 else "dense" if occupancy < 0.35 else "jam"
    return {"s": state, **({"v": intensity} if intensity is not None else {})}


def _environment(a: Attrs) -> dict:
    """Air-quality stations: their worst level (``air_quality``); weather: reporting or not."""
    readings = {n: (a.number(n), a.unit(n)) for n in AIR if a.number(n) is not None}
    if readings:
        state, pollutant, value = air_quality.level(readings)
        return {"s": state, "p": pollutant, "v": value}
    return {"s": "ok" if any(a.number(n) is not None for n in WEATHER) else "unknown"}


def _category(a: Attrs) -> dict:
    return {"s": a.value("category") or "other"}


def _road(a: Attrs) -> dict:
    return {"s": a.value("roadCategory") or "other"}


AIR = ("no2", "pm10", "pm25", "o3", "so2")
WEATHER = ("temperature", "relativeHumidity", "windSpeed", "atmosphericPressure", "precipitation")


@dataclass(frozen=True)
class LayerSpec:
    id: str
    service: str
    types: tuple[str, ...]
    geometry: str  # point | line | polygon
    state: Callable[[Attrs], dict] | None = None
    live: tuple[str, ...] = ()  # attributes whose observation time tells the freshness
    stale_s: int | None = None  # silent for longer than this: stale
    cluster: bool = False

    def public(self) -> dict:
        return {
            "id": self.id,
            "service": self.service,
            "types": list(self.types),
            "geometry": self.geometry,
            "staleAfter": self.stale_s,
            "live": list(self.live),
            "cluster": self.cluster,
            "url": f"/api/v1/ui/layers/{self.id}",
        }


PARKING = ("availableSpotNumber", "occupiedSpotNumber", "occupancy")
LIGHT = ("powerState", "powerConsumption", "illuminanceLevel", "status")
CABINET = ("powerState", "totalActivePower", "energyConsumed")
TRAFFIC = ("intensity", "averageVehicleSpeed", "occupancy")
HOUR = 3600
# fmt: off
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("communes", "base", ("AdministrativeArea",), "polygon"),
    LayerSpec("roads", "base", ("RoadSegment",), "line", _road),
    LayerSpec("buildings", "buildings", ("Building",), "polygon", _category),
    LayerSpec("industry", "industry", ("IndustrialSite",), "polygon"),
    LayerSpec("zones", "waste", ("WasteCollectionZone",), "polygon"),
    LayerSpec("parking", "parking", ("OffStreetParking",), "point", _parking, PARKING, HOUR // 2),
    LayerSpec("stations", "parking", ("TransportStation",), "point"),
    LayerSpec("lights", "lighting", ("Streetlight",), "point", _light, LIGHT, HOUR, cluster=True),
    LayerSpec("cabinets", "lighting", ("StreetlightControlCabinet",), "point", _cabinet, CABINET,
              HOUR),
    LayerSpec("containers", "waste", ("WasteContainer",), "point", _container,
              ("fillingLevel", "temperature"), 6 * HOUR, cluster=True),
    LayerSpec("recycling", "waste", ("RecyclingCentre",), "point", _recycling,
              ("vehicleEntranceCount",), HOUR),
    LayerSpec("traffic", "traffic", ("TrafficFlowObserved",), "point", _traffic, TRAFFIC,
              HOUR // 2),
    LayerSpec("environment", "environment", ("AirQualityObserved", "WeatherObserved"), "point",
              _environment, AIR + WEATHER, 2 * HOUR),
)
# fmt: on
BY_ID = {spec.id: spec for spec in LAYERS}
BY_TYPE = {VOCAB + t: spec for spec in LAYERS for t in spec.types}


def _round(coords, depth: int):
    """Coordinates to 6 decimals; ``depth``: 0 a position, 1 a line or ring, 2 a polygon…"""
    if depth == 0:
        return [round(coords[0], 6), round(coords[1], 6)]
    if depth == 1:
        return [[round(c[0], 6), round(c[1], 6)] for c in coords]
    return [_round(c, depth - 1) for c in coords]


DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
         "MultiPolygon": 3}  # fmt: skip


def _geometry(entity: dict) -> dict | None:
    for instance in entity.get("attrs", {}).get(LOCATION, ()):
        value = instance.get("value")
        if isinstance(value, dict) and value.get("coordinates") and value["type"] in DEPTH:
            return {
                "type": value["type"],
                "coordinates": _round(value["coordinates"], DEPTH[value["type"]]),
            }
    return None


def to_feature(spec: LayerSpec, entity: dict) -> dict | None:
    """The compact feature of an expanded entity, or None when it has no geometry."""
    geometry = _geometry(entity)
    if geometry is None:
        return None
    a = Attrs(entity)
    props: dict = {"i": entity["id"]}
    name = a.value("name")
    if isinstance(name, str):
        props["n"] = name
    if spec.state is not None:
        props.update({k: v for k, v in spec.state(a).items() if v is not None})
    if spec.live:
        seen = a.last_seen(spec.live)
        if seen is not None:
            props["o"] = seen
    return {"type": "Feature", "geometry": geometry, "properties": props}


@dataclass
class Blob:
    etag: str
    raw: bytes
    gz: bytes


class LayerCache:
    """Every layer of one tenant, loaded on first use and updated on each twin change."""

    def __init__(self, twin, tenant: str = DEFAULT_TENANT) -> None:
        self.twin = twin
        self.tenant = tenant
        self.nonce = uuid.uuid4().hex[:8]
        self.features: dict[str, dict[str, dict]] = {spec.id: {} for spec in LAYERS}
        self.version = {spec.id: 0 for spec in LAYERS}
        self.loaded: set[str] = set()
        self._loading: dict[str, list] = {}
        self._blobs: dict[str, Blob] = {}
        self._where: dict[str, str] = {}  # entity id -> layer id
        self.stopping = threading.Event()  # the server stops: read nothing more
        self._lock = threading.RLock()
        self._layer_locks = {spec.id: threading.Lock() for spec in LAYERS}

    # -- loading (worker threads) ----------------------------------------------------
    def ensure(self, layer: str) -> None:
        """Load a layer from the twin unless it is loaded (blocking; call from a thread)."""
        if layer in self.loaded:
            return
        with self._layer_locks[layer]:
            if layer in self.loaded:
                return
            spec = BY_ID[layer]
            with self._lock:
                self._loading[layer] = []
            features: dict[str, dict] = {}
            for entities in self._pages(spec):
                for entity in entities:
                    feature = to_feature(spec, entity)
                    if feature is not None:
                        features[entity["id"]] = feature
            with self._lock:
                self.features[layer] = features
                self._where.update(dict.fromkeys(features, layer))
                for entity_id, entity in self._loading.pop(layer):
                    self._put(spec, entity_id, entity)
                self.loaded.add(layer)
                self.version[layer] += 1
                log.debug("layer %s: %d features", layer, len(features))

    def ensure_all(self, later_s: float = LATER_S) -> None:
        """Every layer: the first screen's at once, the buildings ``later_s`` after (they are
        drawn from zoom 12 only, and take a second or more of CPU to read: a first visitor's
        screen comes first). A request for the buildings meanwhile loads them itself."""
        for spec in sorted(LAYERS, key=lambda s: s.id == "buildings"):
            if spec.id == "buildings" and self.stopping.wait(later_s):
                return
            try:
                self.ensure(spec.id)
            except Exception:  # noqa: BLE001 - a layer that fails stays unloaded
                log.exception("loading layer %s failed", spec.id)

    def _pages(self, spec: LayerSpec) -> Iterator[list[dict]]:
        types = tuple(VOCAB + t for t in spec.types)
        offset = 0
        while True:
            query = EntityQuery(types=types, limit=PAGE, offset=offset)
            found = self.twin.query(self.tenant, query)
            yield found.entities
            if len(found.entities) < PAGE:
                return
            offset += PAGE

    def _put(self, spec: LayerSpec, entity_id: str, entity: dict | None) -> dict | None:
        layer = self.features[spec.id]
        feature = to_feature(spec, entity) if entity is not None else None
        if feature is None:
            layer.pop(entity_id, None)
            self._where.pop(entity_id, None)
        else:
            layer[entity_id] = feature
            self._where[entity_id] = spec.id
        return feature

    # -- changes (event loop) ------------------------------------------------------------
    def apply(self, tenant: str, entity_id: str, entity: dict | None):
        """Fold one change in; the (layer spec, feature or None) it touched, else None."""
        if tenant != self.tenant:
            return None
        spec = None
        if entity is not None:
            spec = next((BY_TYPE[t] for t in entity.get("type", ()) if t in BY_TYPE), None)
        if spec is None:
            layer = self._where.get(entity_id)
            if layer is None:
                return None
            spec = BY_ID[layer]
        with self._lock:
            if spec.id in self._loading:
                self._loading[spec.id].append((entity_id, entity))
            if spec.id not in self.loaded:
                return spec, to_feature(spec, entity) if entity is not None else None
            feature = self._put(spec, entity_id, entity)
            self.version[spec.id] += 1
        return spec, feature

    # -- serving -----------------------------------------------------------------------
    def blob(self, layer: str) -> Blob:
        """The layer as GeoJSON bytes, gzipped and with its ETag (blocking)."""
        self.ensure(layer)
        with self._layer_locks[layer]:
            with self._lock:
                version = self.version[layer]
                cached = self._blobs.get(layer)
                if cached is not None and cached.etag.endswith(f'-{version}"'):
                    return cached
                features = list(self.features[layer].values())
            raw = orjson.dumps({"type": "FeatureCollection", "features": features})
            blob = Blob(self.etag(layer, version), raw, gzip.compress(raw, 5))
            self._blobs[layer] = blob
            return blob

    def etag(self, layer: str, version: int | None = None) -> str:
        """The ETag of the layer's ``version`` (now by default): a screen compares it with
        the one it read, once its live stream is connected."""
        return f'"{self.nonce}-{layer}-{self.version[layer] if version is None else version}"'

    def snapshot(self, layer: str) -> list[dict]:
        self.ensure(layer)
        with self._lock:
            return list(self.features[layer].values())
