"""The simulated devices: ``sensors.csv`` of the demo territory, with what their models need.

``sensors.csv`` names each device, the entity it feeds, its kind, attributes, reporting
period and capacity. A few facts the models also need are read from the other files of the
territory when they are there: the collection day of each container (its collection zone),
the connected load of each lighting cabinet, whether an air-quality station is the
industrial one of Port-Jérôme. Without them, plausible defaults are drawn from the seed.
"""

from __future__ import annotations

import csv
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from . import patterns as pt

SENSORS_CSV = "sensors.csv"
TOKEN_FILE = "simulator.token"
KINDS = (
    "station_parking", "carpool_parking", "traffic_counter", "lighting_cabinet",
    "telemanaged_light", "fill_glass", "fill_packaging", "fill_paper", "recycling_gate",
    "weather", "air_quality",
)  # fmt: skip


@dataclass(frozen=True)
class SimDevice:
    device_id: str
    entity_id: str
    entity_type: str
    kind: str
    attributes: tuple[str, ...]
    interval_s: int
    capacity: float | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def spec(self, token: str) -> dict:
        """The provisioning request (``POST /api/v1/devices``) of this device."""
        mapping = {}
        for name in self.attributes:
            kind, unit = pt.FIELDS.get(name, ("number", None))
            mapping[name] = {"attr": name, "type": kind} | ({"unit": unit} if unit else {})
        return {
            "deviceId": self.device_id,
            "entityId": self.entity_id,
            "entityType": self.entity_type,
            "mapping": mapping,
            "token": token,
        }

    def phase(self, seed: int) -> float:
        """Offset in seconds of this device's reports within its period (spreads them)."""
        return pt.uniform(seed, self.device_id, "phase") * self.interval_s


def values(device: SimDevice, t: float, seed: int) -> dict:
    """The payload of ``device`` at epoch ``t``: attribute name -> value."""
    key, kind, x = device.device_id, device.kind, device.extra
    if kind in ("station_parking", "carpool_parking"):
        out = pt.parking_values(t, key, seed, device.capacity or 50, kind == "carpool_parking")
    elif kind == "traffic_counter":
        out = pt.traffic_values(t, key, seed, device.capacity or 5000)
    elif kind == "telemanaged_light":
        out = pt.light_values(t, device.capacity)
    elif kind == "lighting_cabinet":
        out = pt.cabinet_values(t, x.get("load_kw", 3.0))
    elif kind.startswith("fill_"):
        out = pt.container_values(t, key, seed, kind[5:], x.get("weekday", 0))
    elif kind == "recycling_gate":
        out = {"vehicleEntranceCount": pt.recycling_visitors_per_hour(t, key, seed)}
    elif kind == "weather":
        out = pt.weather_values(t, seed)
    elif kind == "air_quality":
        out = pt.air_quality_values(t, key, seed, x.get("industrial", False), device.attributes)
    else:
        return {}
    return {name: out[name] for name in device.attributes if name in out}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def load_devices(
    territory_dir: Path, *, seed: int = 76, only: str | None = None
) -> list[SimDevice]:
    """The devices of ``territory_dir/sensors.csv`` (``only``: a kind, or a kind prefix such
    as ``fill``), with their context from the other files of the territory."""
    territory_dir = Path(territory_dir)
    path = territory_dir / SENSORS_CSV
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: run `hyperville demo` once, or generate the territory there"
        )
    context = _context(territory_dir)
    devices = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kind = row["kind"]
            if only and not (kind == only or kind.startswith(only + "_")):
                continue
            ident = row["entity_id"].rsplit(":", 1)[-1]
            extra: dict = {}
            if kind.startswith("fill_"):
                day = context["zone_day"].get(context["container_zone"].get(ident, ""))
                extra["weekday"] = (
                    day if day is not None else int(pt.uniform(seed, ident, "day") * 5)
                )
            elif kind == "lighting_cabinet":
                extra["load_kw"] = context["cabinet_kw"].get(ident) or round(
                    1.5 + 5 * pt.uniform(seed, ident, "load"), 2
                )
            elif kind == "air_quality":
                industrial = context["aq_class"].get(ident)
                extra["industrial"] = (
                    industrial == "industrial" if industrial else "so2" in row["attributes"]
                )
            devices.append(
                SimDevice(
                    row["device_id"],
                    row["entity_id"],
                    row["entity_type"],
                    kind,
                    tuple(a for a in row["attributes"].split("|") if a),
                    int(float(row["interval_s"] or 900)),
                    _number(row.get("capacity") or ""),
                    extra,
                )
            )
    return devices


def _context(territory_dir: Path) -> dict:
    """Collection days, cabinet loads and station classes from the territory's files."""
    out: dict = {"zone_day": {}, "container_zone": {}, "cabinet_kw": {}, "aq_class": {}}
    containers = territory_dir / "waste_containers.csv"
    if containers.exists():
        with open(containers, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                out["container_zone"][row["container_id"]] = row.get("zone_id", "")
    gpkg = territory_dir / "territory.gpkg"
    if not gpkg.exists():
        return out
    from pyogrio.raw import read

    def layer(name: str, columns: list[str]) -> dict[str, list]:
        try:
            meta, _i, _g, fields = read(gpkg, layer=name, read_geometry=False, columns=columns)
        except Exception:  # noqa: BLE001 - a missing layer only loses realism
            return {}
        return {str(c): list(f) for c, f in zip(meta["fields"], fields, strict=True)}

    zones = layer("collection_zones", ["zone_id", "collection_day"])
    for zone, day in zip(zones.get("zone_id", []), zones.get("collection_day", []), strict=True):
        if day in pt.WEEKDAY_NAMES:
            out["zone_day"][zone] = pt.WEEKDAY_NAMES.index(day)
    cabinets = layer("streetlight_cabinets", ["cabinet_id", "lights", "max_power_kw"])
    for cab, lights, kw in zip(
        cabinets.get("cabinet_id", []),
        cabinets.get("lights", []),
        cabinets.get("max_power_kw", []),
        strict=True,
    ):
        estimate = 0.075 * float(lights or 0)  # ~75 W a light point
        limit = 0.9 * float(kw) if kw == kw and kw else estimate
        out["cabinet_kw"][cab] = round(min(estimate, limit) if estimate else limit, 2)
    stations = layer("air_quality_stations", ["station_id", "station_class"])
    for sid, cls in zip(
        stations.get("station_id", []), stations.get("station_class", []), strict=True
    ):
        out["aq_class"][sid] = cls
    return out


# -- the devices' token -----------------------------------------------------------------------
def simulator_token(territory_dir: Path) -> str:
    """The bearer token shared by the simulated devices: random, made once, kept next to
    ``sensors.csv`` (mode 0600) so that later runs post with the same one. One token for
    all of them keeps the demo's in-process provisioning to a single scrypt hash."""
    path = Path(territory_dir) / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if len(token) >= 16:
            return token
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(token + "\n")
    return token
