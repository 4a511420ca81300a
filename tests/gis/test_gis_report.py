"""The completeness and quality report on a territory with known gaps."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pyproj
import pytest
import shapely

from hyperville.gis.report import build_report, find_duplicates
from hyperville.ngsild.codec import expand_entity
from hyperville.ngsild.context import ContextResolver

CTX = ContextResolver(allow_remote=False).core()
GEOD = pyproj.Geod(ellps="WGS84")
AREA = [[[0.3, 49.4], [0.7, 49.4], [0.7, 49.7], [0.3, 49.7], [0.3, 49.4]]]


def _east(lon: float, lat: float, metres: float) -> list[float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, metres)
    return [round(lon2, 9), round(lat2, 9)]


def _light(n: int, point=None, power=None, cabinet=None) -> dict:
    doc: dict = {"id": f"urn:ngsi-ld:Streetlight:SL{n}", "type": "Streetlight"}
    if point is not None:
        doc["location"] = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": point}}
    if power is not None:
        doc["powerRating"] = {"type": "Property", "value": power, "unitCode": "WTT"}
    if cabinet is not None:
        ref = f"urn:ngsi-ld:StreetlightControlCabinet:{cabinet}"
        doc["refCabinet"] = {"type": "Relationship", "object": ref}
    return doc


def _cabinet(name: str, point: list[float]) -> dict:
    return {
        "id": f"urn:ngsi-ld:StreetlightControlCabinet:{name}",
        "type": "StreetlightControlCabinet",
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": point}},
    }


AREA_ENTITY = {
    "id": "urn:ngsi-ld:AdministrativeArea:caux-seine",
    "type": "AdministrativeArea",
    "location": {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": AREA}},
}
LIGHTS = [
    _light(1, [0.5, 49.5], 70, "C1"),
    _light(2, [0.51, 49.5], 100, "C2"),
    _light(3, [0.52, 49.5], None, "C9"),  # no power; cabinet C9 does not exist
    _light(4, None, 70, "C1"),  # no geometry
    _light(5, [1.0, 49.5], 150, None),  # outside the territory
    _light(6, _east(0.5, 49.5, 1.0), None, "C1"),  # 1 m from SL1: a likely duplicate
]
CABINETS = [_cabinet("C1", [0.5, 49.51]), _cabinet("C2", [0.6, 49.51])]


def _load(twin, docs, tenant=""):
    entities = [expand_entity(d, CTX) for d in docs]
    result = asyncio.run(twin.batch(tenant, "upsert", entities))
    assert not result.errors


def _type(report, name):
    return next(t for t in report.types if t.type == name)


def _shares(info):
    return {a.attribute: (a.filled, a.share) for a in info.attributes}


def test_a_territory_with_known_gaps(twin):
    _load(twin, [AREA_ENTITY, *LIGHTS, *CABINETS])
    report = build_report(twin)
    assert report.entities == 9
    assert report.territory == {
        "source": "entities",
        "ids": ["urn:ngsi-ld:AdministrativeArea:caux-seine"],
        "bbox": [0.3, 49.4, 0.7, 49.7],
    }
    lights = _type(report, "Streetlight")
    assert lights.count == 6
    assert _shares(lights) == {
        "location": (5, 5 / 6),
        "powerRating": (4, 4 / 6),
        "refCabinet": (5, 5 / 6),
    }
    assert (lights.without_geometry, lights.outside_territory) == (1, 1)
    assert (lights.duplicates, lights.dangling) == (1, 1)
    cabinets = _type(report, "StreetlightControlCabinet")
    assert _shares(cabinets) == {"location": (2, 1.0)}
    assert (cabinets.without_geometry, cabinets.outside_territory, cabinets.duplicates) == (0, 0, 0)
    area = _type(report, "AdministrativeArea")
    assert area.outside_territory == 0
    assert report.without_geometry == ["urn:ngsi-ld:Streetlight:SL4"]
    assert report.without_geometry_count == 1
    assert report.outside_territory == ["urn:ngsi-ld:Streetlight:SL5"]
    assert report.outside_territory_count == 1
    assert report.duplicates_count == 1
    dup = report.duplicates[0]
    assert (dup.type, dup.a, dup.b) == (
        "Streetlight",
        "urn:ngsi-ld:Streetlight:SL1",
        "urn:ngsi-ld:Streetlight:SL6",
    )
    assert dup.distance_m == pytest.approx(1.0, abs=0.001)
    assert report.dangling_count == 1
    assert [(d.entity, d.attribute, d.object) for d in report.dangling] == [
        ("urn:ngsi-ld:Streetlight:SL3", "refCabinet", "urn:ngsi-ld:StreetlightControlCabinet:C9")
    ]
    json.dumps(report.to_dict())  # serializable as it is


def test_bbox_when_the_twin_has_no_territory(twin):
    _load(twin, [*LIGHTS, *CABINETS])
    assert build_report(twin).outside_territory_count is None
    report = build_report(twin, bbox=(0.45, 49.45, 0.55, 49.55))
    assert report.territory == {"source": "bbox", "bbox": [0.45, 49.45, 0.55, 49.55]}
    assert report.outside_territory == [
        "urn:ngsi-ld:Streetlight:SL5",
        "urn:ngsi-ld:StreetlightControlCabinet:C2",
    ]


def test_duplicate_distance_and_tenants(twin):
    _load(twin, [*LIGHTS, *CABINETS], tenant="caux")
    assert build_report(twin, "caux", duplicate_m=0.5).duplicates_count == 0
    assert build_report(twin, "caux", duplicate_m=1500).duplicates_count == 6  # SL1,2,3,6
    assert build_report(twin, "elsewhere").entities == 0


def test_duplicates_scale_with_an_rtree():
    # 90,000 points about 10 m apart, plus near-duplicates at 0.5, 2.0, 2.9 and 3.2 m
    lon, lat = np.meshgrid(0.5 + 1.4e-4 * np.arange(300), 49.5 + 9e-5 * np.arange(300))
    lon, lat = lon.ravel(), lat.ravel()
    ids = [f"p{i}" for i in range(lon.size)]
    points = list(shapely.points(lon, lat))
    for k, metres in enumerate((0.5, 2.0, 2.9, 3.2)):
        ids.append(f"dup{k}")
        points.append(shapely.Point(_east(lon[k * 1000], lat[k * 1000], metres)))
    started = time.perf_counter()
    pairs = find_duplicates(ids, points, 3.0)
    assert time.perf_counter() - started < 10
    assert [(a, b) for a, b, _ in pairs] == [("p0", "dup0"), ("p1000", "dup1"), ("p2000", "dup2")]
    assert [d for _, _, d in pairs] == pytest.approx([0.5, 2.0, 2.9], abs=0.01)
