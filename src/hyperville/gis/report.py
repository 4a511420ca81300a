"""Completeness and quality of the twin's data, per entity type and attribute.

The report says, for one tenant:

- per entity type, how many entities there are and, per attribute seen on that type, how
  many have it and the share filled (``filled / count``);
- the entities without geometry (no ``location``, nor any other GeoProperty);
- the entities outside the territory: the territory is the union of the polygons of the
  entities of type ``AdministrativeArea`` or ``Territory`` when the twin has some, else the
  bounding box given by the caller (lon/lat), else there is no such check;
- likely duplicates: two entities of the same type whose locations (points, or the
  representative point of lines and polygons) are within ``duplicate_m`` metres. Candidates
  come from an R-tree (shapely's STRtree) in a local metric projection, and are confirmed with
  the geodesic distance: no pair-by-pair comparison of every entity;
- dangling relationships: a Relationship (or ListRelationship) whose object is not an entity
  of the twin.

:func:`build_report` returns a :class:`TwinReport`; ``to_dict()`` is its JSON form. Lists of
ids are capped at ``limit`` items; the counts are always complete.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import orjson
import pyproj
import shapely

from hyperville.ngsild.context import Context, ContextResolver
from hyperville.store.base import DEFAULT_TENANT, EntityQuery
from hyperville.twin import Twin

PAGE = 5000
TERRITORY_TYPES = ("AdministrativeArea", "Territory")
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
DUPLICATE_M = 3.0
LIMIT = 100
_GEOD = pyproj.Geod(ellps="WGS84")
_M_PER_DEG_LAT = 111_132.0


@dataclass
class AttributeFill:
    attribute: str
    filled: int
    share: float


@dataclass
class TypeReport:
    type: str
    count: int
    attributes: list[AttributeFill] = field(default_factory=list)
    without_geometry: int = 0
    outside_territory: int = 0
    duplicates: int = 0
    dangling: int = 0


@dataclass
class Duplicate:
    type: str
    a: str
    b: str
    distance_m: float


@dataclass
class Dangling:
    entity: str
    attribute: str
    object: str


@dataclass
class TwinReport:
    tenant: str
    entities: int = 0
    types: list[TypeReport] = field(default_factory=list)
    territory: dict = field(default_factory=lambda: {"source": None})
    duplicate_m: float = DUPLICATE_M
    without_geometry: list[str] = field(default_factory=list)
    without_geometry_count: int = 0
    outside_territory: list[str] = field(default_factory=list)
    outside_territory_count: int | None = None
    duplicates: list[Duplicate] = field(default_factory=list)
    duplicates_count: int = 0
    dangling: list[Dangling] = field(default_factory=list)
    dangling_count: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _all_entities(twin: Twin, tenant: str) -> list[dict]:
    if tenant != DEFAULT_TENANT and not twin.tenant_exists(tenant):
        return []
    out: list[dict] = []
    offset = 0
    while True:
        page = twin.query(tenant, EntityQuery(limit=PAGE, offset=offset))
        out.extend(page.entities)
        if len(page.entities) < PAGE:
            return out
        offset += PAGE


def _geometry(entity: dict) -> dict | None:
    """The GeoJSON of the entity's location (default instance), else of any GeoProperty."""
    attrs = entity.get("attrs", {})
    candidates = [attrs.get(LOCATION, [])] + [v for k, v in attrs.items() if k != LOCATION]
    for instances in candidates:
        for instance in instances:
            if instance.get("type") == "GeoProperty" and isinstance(instance.get("value"), dict):
                return instance["value"]
    return None


def _shape(geojson: dict | None) -> shapely.Geometry | None:
    if geojson is None:
        return None
    try:
        geom = shapely.from_geojson(_dumps(geojson))
    except shapely.errors.GEOSException:
        return None
    return None if geom.is_empty else geom


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _territory(
    entities: list[dict],
    shapes: list,
    ctx: Context,
    bbox: tuple[float, float, float, float] | None,
) -> tuple[shapely.Geometry | None, dict, set[int]]:
    iris = {ctx.expand_term(t) for t in TERRITORY_TYPES}
    members = [
        i
        for i, e in enumerate(entities)
        if iris.intersection(e.get("type", ()))
        and shapes[i] is not None
        and shapes[i].geom_type in ("Polygon", "MultiPolygon")
    ]
    if members:
        area = shapely.union_all([shapes[i] for i in members])
        info = {"source": "entities", "ids": [entities[i]["id"] for i in members]}
    elif bbox is not None:
        area = shapely.box(*bbox)
        info = {"source": "bbox"}
    else:
        return None, {"source": None}, set()
    info["bbox"] = [round(v, 7) for v in area.bounds]
    shapely.prepare(area)
    return area, info, set(members)


def find_duplicates(
    ids: list[str], geoms: list[shapely.Geometry], distance_m: float
) -> list[tuple[str, str, float]]:
    """Pairs of ids whose representative points are within ``distance_m`` (geodesic)."""
    if len(geoms) < 2:
        return []
    points = shapely.point_on_surface(np.array(geoms, dtype=object))
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    lat0 = math.radians(float(np.mean(lat)))
    # a local equirectangular projection in metres: enough to find candidates, with margin
    x = lon * _M_PER_DEG_LAT * math.cos(lat0)
    y = lat * _M_PER_DEG_LAT
    local = shapely.points(x, y)
    tree = shapely.STRtree(local)
    left, right = tree.query(local, predicate="dwithin", distance=distance_m * 1.01 + 0.01)
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    _, _, dist = _GEOD.inv(lon[left], lat[left], lon[right], lat[right])
    out = []
    for a, b, d in zip(left.tolist(), right.tolist(), np.atleast_1d(dist).tolist(), strict=True):
        if d <= distance_m:
            out.append((ids[a], ids[b], round(d, 3)))
    out.sort()
    return out


def _relationship_objects(instance: dict) -> list[str]:
    if instance.get("type") == "Relationship":
        obj = instance.get("object")
        return [obj] if isinstance(obj, str) else [o for o in obj or () if isinstance(o, str)]
    if instance.get("type") == "ListRelationship":
        return [o.get("object") for o in instance.get("objectList") or () if isinstance(o, dict)]
    return []


def build_report(
    twin: Twin,
    tenant: str = DEFAULT_TENANT,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    duplicate_m: float = DUPLICATE_M,
    limit: int = LIMIT,
    ctx: Context | None = None,
) -> TwinReport:
    """The completeness and quality report of a tenant (reads the whole twin)."""
    ctx = ctx or ContextResolver(allow_remote=False).core()
    entities = _all_entities(twin, tenant)
    report = TwinReport(tenant=tenant, entities=len(entities), duplicate_m=duplicate_m)
    shapes = [_shape(_geometry(e)) for e in entities]
    area, report.territory, members = _territory(entities, shapes, ctx, bbox)
    ids = {e["id"] for e in entities}
    by_type: dict[str, list[int]] = {}
    for i, entity in enumerate(entities):
        for type_iri in entity.get("type", ()):
            by_type.setdefault(type_iri, []).append(i)
    if area is not None:
        report.outside_territory_count = 0
    outside_flags = [False] * len(entities)
    if area is not None:
        located = [i for i, s in enumerate(shapes) if s is not None and i not in members]
        if located:
            hits = shapely.intersects(area, np.array([shapes[i] for i in located], dtype=object))
            for i, hit in zip(located, hits.tolist(), strict=True):
                outside_flags[i] = not hit
    dangling_by_entity: dict[int, int] = {}
    for i, entity in enumerate(entities):
        for iri, instances in entity.get("attrs", {}).items():
            for instance in instances:
                for obj in _relationship_objects(instance):
                    if obj not in ids:
                        dangling_by_entity[i] = dangling_by_entity.get(i, 0) + 1
                        report.dangling_count += 1
                        if len(report.dangling) < limit:
                            report.dangling.append(
                                Dangling(entity["id"], ctx.compact_iri(iri), obj)
                            )
    for type_iri in sorted(by_type, key=ctx.compact_iri):
        rows = by_type[type_iri]
        info = TypeReport(type=ctx.compact_iri(type_iri), count=len(rows))
        filled: dict[str, int] = {}
        for i in rows:
            for iri in entities[i].get("attrs", {}):
                filled[iri] = filled.get(iri, 0) + 1
        info.attributes = sorted(
            (AttributeFill(ctx.compact_iri(a), n, n / len(rows)) for a, n in filled.items()),
            key=lambda f: (f.attribute != "location", f.share, f.attribute),
        )
        for i in rows:
            if shapes[i] is None:
                info.without_geometry += 1
            if outside_flags[i]:
                info.outside_territory += 1
            info.dangling += dangling_by_entity.get(i, 0)
        located = [i for i in rows if shapes[i] is not None]
        pairs = find_duplicates(
            [entities[i]["id"] for i in located], [shapes[i] for i in located], duplicate_m
        )
        info.duplicates = len(pairs)
        report.duplicates_count += len(pairs)
        for a, b, d in pairs[: max(0, limit - len(report.duplicates))]:
            report.duplicates.append(Duplicate(info.type, a, b, d))
        report.types.append(info)
    for i, entity in enumerate(entities):
        if shapes[i] is None:
            report.without_geometry_count += 1
            if len(report.without_geometry) < limit:
                report.without_geometry.append(entity["id"])
        if outside_flags[i]:
            report.outside_territory_count = (report.outside_territory_count or 0) + 1
            if len(report.outside_territory) < limit:
                report.outside_territory.append(entity["id"])
    return report
