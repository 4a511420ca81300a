"""The compact GeoJSON features of the operations screen's map layers.

Each layer (:data:`LAYERS`) holds the entities of a few types as GeoJSON features with only
what the map needs: ``i`` (id), ``n`` (name), ``s`` (state, coloured by the map), ``v``
(the value behind the state), ``o`` (last observation, epoch seconds), ``c`` (capacity), ``k``
(streetlight: its cabinet), ``p`` (air quality: the pollutant behind the state), ``w`` (waste
container: its kind), ``g`` (car park: 1 at a station). Coordinates are rounded to 6 decimals
(~0.1 m). A feature is a pure function of its expanded entity (:func:`to_feature`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hyperville.web import air_quality

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
CORE = "https://uri.etsi.org/ngsi-ld/"
LOCATION = CORE + "location"


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
