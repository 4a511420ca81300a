"""``sensors.csv``: the devices the sensor simulator drives, one row per device.

Columns: ``device_id``, ``entity_id`` (the twin entity it updates, as the mapping names it),
``entity_type``, ``kind`` (what the simulator has to model), ``attributes`` (``|``-separated
NGSI-LD attribute names it writes), ``interval_s`` (its reporting period), ``capacity`` (spots
of a car park, litres... when the model needs one, else empty).
"""

from __future__ import annotations

from .equipment import Table

COLUMNS = ("device_id", "entity_id", "entity_type", "kind", "attributes", "interval_s", "capacity")
FILL_SENSOR_SHARE = 0.4


def _urn(entity_type: str, ident: str) -> str:
    return f"urn:ngsi-ld:{entity_type}:{ident}"


def sensor_table(rng, t: dict[str, Table]) -> dict[str, list]:
    rows: dict[str, list] = {c: [] for c in COLUMNS}

    def add(device, etype, ident, kind, attrs, interval, capacity=None):
        rows["device_id"].append(device)
        rows["entity_id"].append(_urn(etype, ident))
        rows["entity_type"].append(etype)
        rows["kind"].append(kind)
        rows["attributes"].append("|".join(attrs))
        rows["interval_s"].append(interval)
        rows["capacity"].append(capacity)

    occupancy = ("availableSpotNumber", "occupiedSpotNumber", "occupancy")
    parkings = t["station_parkings"].columns
    for pid, spots in zip(parkings["parking_id"], parkings["total_spots"], strict=True):
        add(f"park-{pid}", "OffStreetParking", pid, "station_parking", occupancy, 300, spots)
    carpool = t["carpool_areas"].columns
    for aid, spots in zip(carpool["area_id"], carpool["total_spots"], strict=True):
        add(f"park-{aid}", "OffStreetParking", aid, "carpool_parking", occupancy, 600, spots)
    counters = t["traffic_counters"].columns
    for cid, aadt in zip(counters["counter_id"], counters["aadt"], strict=True):
        attrs = ("intensity", "averageVehicleSpeed", "occupancy")
        add(f"count-{cid}", "TrafficFlowObserved", cid, "traffic_counter", attrs, 300, aadt)
    for cab in t["streetlight_cabinets"].columns["cabinet_id"]:
        attrs = ("powerState", "totalActivePower", "energyConsumed")
        add(f"cab-{cab}", "StreetlightControlCabinet", cab, "lighting_cabinet", attrs, 900)
    lights = t["streetlights"].columns
    for lid, tele, power in zip(
        lights["light_id"], lights["telemanaged"], lights["power_w"], strict=True
    ):
        if tele:
            attrs = ("powerState", "powerConsumption", "illuminanceLevel")
            add(f"light-{lid}", "Streetlight", lid, "telemanaged_light", attrs, 900, power)
    containers = t["waste_containers"].columns
    for wid, kind, cap in zip(
        containers["container_id"], containers["waste_type"], containers["capacity_m3"], strict=True
    ):
        if rng.random() < FILL_SENSOR_SHARE:
            attrs = ("fillingLevel", "temperature")
            add(f"fill-{wid}", "WasteContainer", wid, f"fill_{kind}", attrs, 3600, cap)
    for centre in t["recycling_centres"].columns["centre_id"]:
        attrs = ("vehicleEntranceCount",)
        add(f"gate-{centre}", "RecyclingCentre", centre, "recycling_gate", attrs, 900)
    for sid in t["weather_stations"].columns["station_id"]:
        attrs = (
            "temperature",
            "relativeHumidity",
            "windSpeed",
            "windDirection",
            "atmosphericPressure",
            "precipitation",
            "solarRadiation",
        )
        add(f"meteo-{sid}", "WeatherObserved", sid, "weather", attrs, 600)
    aq = t["air_quality_stations"].columns
    for sid, pollutants in zip(aq["station_id"], aq["pollutants"], strict=True):
        names = {"NO2": "no2", "PM10": "pm10", "PM2.5": "pm25", "O3": "o3", "SO2": "so2"}
        attrs = tuple(names[p] for p in pollutants.split(","))
        add(f"aq-{sid}", "AirQualityObserved", sid, "air_quality", attrs, 900)
    return rows
