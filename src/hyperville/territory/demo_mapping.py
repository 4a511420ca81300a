"""The import mapping of the demo territory (``demo-mapping.yaml``), in the format of
:mod:`hyperville.gis.mapping`: which layer becomes which entity type, with which id, attributes,
relationships and provenance. Smart Data Models names where one exists.
"""

from __future__ import annotations

from pathlib import Path

import yaml

GPKG = "territory.gpkg"
CONTAINERS_CSV = "waste_containers.csv"
COUNTERS_CSV = "traffic_counters.csv"
DATE = "2026-11-01"
LO = "Licence Ouverte 2.0"


def _prov(source: str, licence: str = LO) -> dict:
    return {"source": f"{source} (démo)", "date": DATE, "licence": licence}


def _urn(kind: str) -> str:
    return f"urn:ngsi-ld:{kind}:{{id}}"


def _ref(kind: str, field: str) -> dict:
    return {"field": field, "template": f"urn:ngsi-ld:{kind}:{{value}}"}


def _layer(name, type_, id_field, source, attributes, relationships=None, **extra) -> dict:
    out = {"name": name, "file": extra.pop("file", GPKG)}
    if out["file"] == GPKG:
        out["layer"] = name
    out.update({"type": type_, "id_field": id_field, "id_template": _urn(type_)})
    out.update(extra)
    out["attributes"] = attributes
    if relationships:
        out["relationships"] = relationships
    out["provenance"] = _prov(source)
    return out


def mapping_document() -> dict:
    """The mapping as a plain dict (the one place to adapt if the format changes)."""
    text, num, integer = "string", "number", "integer"
    layers = [
        _layer("communes", "AdministrativeArea", "insee_code",
               "INSEE COG 2024 via @etalab/decoupage-administratif; GeoNames; cellules inventées", {
                   "name": "name",
                   "postalCode": {"field": "postal_codes", "type": text},
                   "population": {"field": "population", "type": integer},
                   "positionSource": {"field": "position_source", "type": text},
               }),
        _layer("roads", "RoadSegment", "road_id", "Référentiel voirie", {
            "name": {"field": "name", "type": text},
            "roadClass": {"field": "road_class", "type": text},
            "roadCategory": {"field": "category", "type": text},
            "maximumAllowedSpeed": {"field": "max_speed", "type": num, "unitCode": "KMH"},
        }),
        _layer("buildings", "Building", "building_id", "Cadastre et bâti", {
            "name": {"field": "name", "type": text},
            "category": {"field": "use", "type": text},
            "height": {"field": "height_m", "type": num, "unitCode": "MTR"},
            "floorsAboveGround": {"field": "floors", "type": integer},
        }),
        _layer("stations", "TransportStation", "station_id", "Gares SNCF", {
            "name": {"field": "name", "type": text},
            "stationType": {"field": "station_type", "type": text},
        }),
        _layer("station_parkings", "OffStreetParking", "parking_id", "Parkings de gare", {
            "name": {"field": "name", "type": text},
            "totalSpotNumber": {"field": "total_spots", "type": integer},
            "category": {"field": "category", "type": text},
            "extCategory": {"field": "ext_category", "type": text},
        }, {"refTransportStation": _ref("TransportStation", "station_id")}),
        _layer("carpool_areas", "OffStreetParking", "area_id", "Aires de covoiturage", {
            "name": {"field": "name", "type": text},
            "totalSpotNumber": {"field": "total_spots", "type": integer},
            "category": {"field": "category", "type": text},
            "extCategory": {"field": "ext_category", "type": text},
        }),
        _layer("streetlight_cabinets", "StreetlightControlCabinet", "cabinet_id",
               "Service éclairage public", {
                   "name": {"field": "name", "type": text},
                   "maximumPowerAvailable": {"field": "max_power_kw", "type": num,
                                             "unitCode": "KWT"},
                   "workingMode": {"field": "working_mode", "type": text},
                   "installationYear": {"field": "install_year", "type": integer},
               }),
        _layer("streetlights", "Streetlight", "light_id", "Service éclairage public", {
            "powerRating": {"field": "power_w", "type": num, "unitCode": "WTT"},
            "installationYear": {"field": "install_year", "type": integer},
            "lampTechnology": {"field": "lamp_type", "type": text},
            "lanternHeight": {"field": "lantern_height_m", "type": num, "unitCode": "MTR"},
            "streetName": {"field": "street", "type": text},
        }, {"refStreetlightControlCabinet": _ref("StreetlightControlCabinet", "cabinet_id")}),
        _layer("collection_zones", "WasteCollectionZone", "zone_id", "Service déchets", {
            "name": {"field": "name", "type": text},
            "collectionDay": {"field": "collection_day", "type": text},
        }),
        _layer("waste_isles", "WasteContainerIsle", "isle_id", "Service déchets", {
            "name": {"field": "name", "type": text},
        }),
        _layer("waste_containers", "WasteContainer", "container_id", "Service déchets", {
            "storedWasteKind": {"field": "waste_type", "type": text},
            "binCapacity": {"field": "capacity_m3", "type": num, "unitCode": "MTQ"},
        }, {
            "refWasteContainerIsle": _ref("WasteContainerIsle", "isle_id"),
            "refWasteCollectionZone": _ref("WasteCollectionZone", "zone_id"),
        }, file=CONTAINERS_CSV, source_crs="EPSG:2154",
            csv={"x": "x", "y": "y", "delimiter": ";", "encoding": "utf-8"}),
        _layer("recycling_centres", "RecyclingCentre", "centre_id", "Service déchets", {
            "name": {"field": "name", "type": text},
            "openingHours": {"field": "opening_hours", "type": text},
        }),
        _layer("seveso_sites", "IndustrialSite", "site_id", "Sites SEVESO (inventés)", {
            "name": {"field": "name", "type": text},
            "activity": {"field": "activity", "type": text},
            "sevesoLevel": {"field": "seveso_level", "type": text},
            "riskRadius": {"field": "risk_radius_m", "type": num, "unitCode": "MTR"},
        }),
        _layer("weather_stations", "WeatherObserved", "station_id", "Station météo", {
            "name": {"field": "name", "type": text},
        }),
        _layer("air_quality_stations", "AirQualityObserved", "station_id", "Qualité de l'air", {
            "name": {"field": "name", "type": text},
            "typeofLocation": {"field": "type_of_location", "type": text},
            "stationClass": {"field": "station_class", "type": text},
        }),
        _layer("traffic_counters", "TrafficFlowObserved", "counter_id", "Comptages routiers", {
            "annualAverageDailyTraffic": {"field": "aadt", "type": integer},
            "heavyVehicleShare": {"field": "heavy_share_pct", "type": num, "unitCode": "P1"},
        }, {"refRoadSegment": _ref("RoadSegment", "road_id")},
            file=COUNTERS_CSV, source_crs="EPSG:2154",
            csv={"x": "x", "y": "y", "delimiter": ",", "encoding": "utf-8"}),
    ]  # fmt: skip
    return {"layers": layers}


def write_mapping(path: Path) -> Path:
    header = (
        "# Import mapping of the hyperville demo territory (generated: do not edit by hand).\n"
        "# Format: hyperville.gis.mapping (docs/import.md). Files are relative to this one.\n"
    )
    body = yaml.safe_dump(mapping_document(), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + body, encoding="utf-8")
    return path
