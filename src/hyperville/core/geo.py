"""GeoJSON geometries and NGSI-LD geo-queries (ETSI GS CIM 009 v1.8 clause 4.10, RFC 7946).

Pure functions: no web, no SQL. All coordinates are WGS84 ``[longitude, latitude]`` in degrees,
all distances are in metres.

Geometry model
    Edges are straight lines in longitude/latitude, as RFC 7946 section 3.1.1 says, so the
    topological predicates (within, contains, intersects, …) are evaluated by shapely (GEOS) on
    lon/lat coordinates. Altitudes are accepted and dropped. Geometries crossing the
    antimeridian are not split (RFC 7946 section 3.1.9 asks producers to cut them).

Distances (:func:`distance_m`)
    Point to point: the exact WGS84 geodesic (``pyproj.Geod.inv``, Karney, ~15 nm).
    Point to line/polygon: for every edge, the foot of the perpendicular is found in a local
    tangent plane centred on the point (lon/lat scaled by the radii of curvature N·cos φ and M
    there, an affine map, so lon/lat-straight edges stay straight), then the exact geodesic to
    each foot is measured and the least kept. The result is a true distance to a point of the
    geometry, hence never below the exact value, and above it only by the second-order error
    of the foot: < 0.001 % against a brute-force oracle from 50 m to 100 km and 0° to 70°,
    < 0.03 % at 85° and 25 km. Only near-best feet (by the plane) get a geodesic.
    Line/polygon to line/polygon: the same from every vertex of each to the edges of the other
    (O(n·m) in the plane). Intersecting geometries are 0 m apart. Antimeridian-crossing pairs are
    measured without wrapping, except point to point. No pyproj Transformer is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyproj
import shapely

from hyperville.core.errors import BadRequestData

GEOREL_NAMES = ("near", "within", "contains", "intersects", "equals", "disjoint", "overlaps")
QUERY_GEOMETRY_TYPES = (
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
)  # fmt: skip
DEFAULT_GEOPROPERTY = "location"

_GEOD = pyproj.Geod(ellps="WGS84")
_A_M = 6378137.0  # WGS84 semi-major axis, metres
_E2 = 0.0066943799901413165  # WGS84 first eccentricity squared
_M_PER_DEG_LAT_MIN = 110_574.0  # meridian degree at the equator (its minimum), floor, metres
_M_PER_DEG_LON_EQ = 111_319.0  # a·π/180, floor, metres (N·cos φ ≥ a·cos φ)
_MAX_COLLECTION_DEPTH = 4


# --------------------------------------------------------------------------- GeoJSON parsing


def json_kind(value: object) -> str:
    """How a JSON value is named in error messages ("an array", "the number 3"…)."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    kinds = {str: "a string", list: "an array", tuple: "an array", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


_NUMBER_CLASSES = frozenset((int, float))  # by class: a boolean is no coordinate


def _position(p: object, where: str) -> tuple[float, float]:
    """One RFC 7946 position -> (lon, lat) in degrees; the altitude, if any, is dropped."""
    if p.__class__ is list and len(p) == 2:  # the common case, checked at once
        lon, lat = p
        if (
            lon.__class__ in _NUMBER_CLASSES
            and lat.__class__ in _NUMBER_CLASSES
            and -180.0 <= lon <= 180.0
            and -90.0 <= lat <= 90.0
        ):
            return float(lon), float(lat)
    if not isinstance(p, list | tuple):
        raise BadRequestData(
            f"{where} must be a position [longitude, latitude], got {json_kind(p)}"
        )
    if any(isinstance(v, list | tuple) for v in p):
        raise BadRequestData(
            f"{where} must be a position [longitude, latitude], got an array of arrays "
            "(nested one level too deep?)"
        )
    if not 2 <= len(p) <= 3:
        raise BadRequestData(
            f"{where} must hold 2 or 3 numbers (longitude, latitude[, altitude]), got {len(p)}"
        )
    for i, v in enumerate(p):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise BadRequestData(f"{where}[{i}] must be a number, got {json_kind(v)}")
        if not math.isfinite(v):
            raise BadRequestData(f"{where}[{i}] must be a finite number, got {v}")
    lon, lat = float(p[0]), float(p[1])
    if not -180.0 <= lon <= 180.0:
        raise BadRequestData(f"{where}: longitude {p[0]} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        hint = " (GeoJSON positions are [longitude, latitude])" if abs(lon) <= 90 else ""
        raise BadRequestData(f"{where}: latitude {p[1]} is outside [-90, 90]{hint}")
    return lon, lat


def _array(value: object, where: str, what: str, min_len: int = 1) -> list | tuple:
    if not isinstance(value, list | tuple):
        raise BadRequestData(f"{where} must be an array of {what}, got {json_kind(value)}")
    if what != "geometries" and any(isinstance(v, int | float) for v in value):
        raise BadRequestData(
            f"{where} must be an array of {what}, got numbers (nested one level too shallow?)"
        )
    if len(value) < min_len:
        raise BadRequestData(f"{where} must hold at least {min_len} {what}, got {len(value)}")
    return value


def _positions(value: object, where: str, min_len: int) -> list[tuple[float, float]]:
    arr = _array(value, where, "positions", min_len)
    return [_position(p, f"{where}[{i}]") for i, p in enumerate(arr)]


def _ring(value: object, where: str) -> list[tuple[float, float]]:
    ring = _positions(value, where, 4)
    if ring[0] != ring[-1]:
        raise BadRequestData(
            f"{where} is not a closed linear ring: its first position {list(ring[0])} "
            f"differs from its last {list(ring[-1])}"
        )
    return ring


def _polygon(value: object, where: str) -> shapely.Polygon:
    rings = _array(value, where, "linear rings")
    shell, *holes = (_ring(r, f"{where}[{i}]") for i, r in enumerate(rings))
    return shapely.Polygon(shell, holes)


def _valid(geom: shapely.Geometry, gtype: str, repair: bool = False) -> shapely.Geometry:
    if not shapely.is_valid(geom):
        if repair:  # a slightly self-intersecting query polygon still means an area
            return shapely.make_valid(geom)
        reason = shapely.is_valid_reason(geom)
        raise BadRequestData(f"{gtype} is not a valid geometry: {reason}")
    return geom


def build_geometry(gtype: str, c: object, *, repair: bool = False) -> shapely.Geometry:
    """The shapely geometry of GeoJSON ``coordinates`` for one of QUERY_GEOMETRY_TYPES.

    ``repair``: an invalid (self-intersecting) polygon is repaired with ``make_valid`` instead
    of refused: RFC 7946 does not require validity, and query areas are drawn by hand.
    """
    w = f"{gtype} coordinates"
    if gtype == "Point":
        return shapely.Point(_position(c, w))
    if gtype == "MultiPoint":
        return shapely.MultiPoint(_positions(c, w, 1))
    if gtype == "LineString":
        return shapely.LineString(_positions(c, w, 2))
    if gtype == "MultiLineString":
        lines = _array(c, w, "line strings")
        return shapely.MultiLineString(
            [_positions(ln, f"{w}[{i}]", 2) for i, ln in enumerate(lines)]
        )
    if gtype == "Polygon":
        return _valid(_polygon(c, w), gtype, repair)
    polygons = _array(c, w, "polygons")  # MultiPolygon
    return _valid(
        shapely.MultiPolygon([_polygon(p, f"{w}[{i}]") for i, p in enumerate(polygons)]),
        gtype,
        repair,
    )


def parse_geometry(obj: object, _depth: int = 0, *, repair: bool = False) -> shapely.Geometry:
    """A GeoJSON geometry object (RFC 7946 section 3.1) -> a 2-D shapely geometry, lon/lat deg.

    Raises BadRequestData, naming the faulty member, on an unknown type, missing or ill-nested
    coordinates, non-numeric / NaN / infinite numbers, a longitude outside [-180, 180] or a
    latitude outside [-90, 90], a ring of fewer than 4 positions or not closed, an invalid
    (self-intersecting…) polygon, or an empty geometry. Members such as ``bbox`` are ignored.
    """
    if not isinstance(obj, dict):
        raise BadRequestData(f"A GeoJSON geometry must be a JSON object, got {json_kind(obj)}")
    gtype = obj.get("type")
    if gtype == "GeometryCollection":
        if _depth >= _MAX_COLLECTION_DEPTH:
            raise BadRequestData("GeometryCollection nested too deeply")
        parts = _array(obj.get("geometries"), "GeometryCollection geometries", "geometries")
        geoms = []
        for i, part in enumerate(parts):
            try:
                geoms.append(parse_geometry(part, _depth + 1, repair=repair))
            except BadRequestData as exc:
                raise BadRequestData(f"GeometryCollection geometries[{i}]: {exc.detail}") from None
        return shapely.GeometryCollection(geoms)
    if gtype not in QUERY_GEOMETRY_TYPES:
        known = ", ".join((*QUERY_GEOMETRY_TYPES, "GeometryCollection"))
        raise BadRequestData(f"Unknown GeoJSON geometry type {gtype!r}; expected one of {known}")
    if "coordinates" not in obj:
        raise BadRequestData(f"{gtype} has no 'coordinates' member")
    return build_geometry(gtype, obj["coordinates"], repair=repair)


def check_geometry(obj: object) -> None:
    """Validate a stored GeoJSON geometry like :func:`parse_geometry` (with repair), fast for
    Points: no shapely object is built for the common case of a sensor or asset position."""
    if isinstance(obj, dict) and obj.get("type") == "Point" and "coordinates" in obj:
        _position(obj["coordinates"], "Point coordinates")
        return
    parse_geometry(obj, repair=True)


def _walk_bbox(c: object, box: list[float]) -> None:
    if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
        lon, lat = _position(c, "coordinates")
        box[0], box[1] = min(box[0], lon), min(box[1], lat)
        box[2], box[3] = max(box[2], lon), max(box[3], lat)
    elif isinstance(c, list | tuple):
        for item in c:
            _walk_bbox(item, box)
    else:
        raise BadRequestData(
            f"GeoJSON coordinates must be nested arrays of numbers, got {json_kind(c)}"
        )


def geometry_bbox(obj: dict) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) in degrees of a GeoJSON geometry, without shapely."""
    if not isinstance(obj, dict):
        raise BadRequestData(f"A GeoJSON geometry must be a JSON object, got {json_kind(obj)}")
    if obj.get("type") == "Point":
        lon, lat = _position(obj.get("coordinates"), "Point coordinates")
        return lon, lat, lon, lat
    box = [math.inf, math.inf, -math.inf, -math.inf]
    if obj.get("type") == "GeometryCollection":
        for part in _array(obj.get("geometries"), "GeometryCollection geometries", "geometries"):
            b = geometry_bbox(part)
            box = [min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3])]
    else:
        _walk_bbox(obj.get("coordinates"), box)
    if box[0] == math.inf:
        raise BadRequestData("GeoJSON geometry has no position")
    return box[0], box[1], box[2], box[3]


# --------------------------------------------------------------------------- distances


def _geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _m_per_deg(lat_deg: np.ndarray) -> np.ndarray:
    """(east, north) metres per degree at these latitudes: N·cos φ·π/180 and M·π/180."""
    s = np.sin(np.radians(lat_deg))
    w = 1.0 - _E2 * s * s
    east = np.radians(_A_M / np.sqrt(w) * np.cos(np.radians(lat_deg)))
    north = np.radians(_A_M * (1.0 - _E2) / (w * np.sqrt(w)))
    return np.stack([np.maximum(east, 1e-3), north], axis=-1)


def _segments(geom: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (lon, lat) of every edge of a (multi)line or of (multi)polygon rings."""
    parts = shapely.get_parts(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        parts = shapely.get_rings(parts)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[1:] == index[:-1]
    return coords[:-1][same], coords[1:][same]


def _points_to_segments_m(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> float:
    """Least geodesic distance in metres from any point (n×2) to any lon/lat-straight edge."""
    best = math.inf
    step = max(1, 100_000 // len(starts))  # bound the n×m work arrays
    for c in range(0, len(points), step):
        pts = points[c : c + step]
        p, k = pts[:, None, :], _m_per_deg(pts[:, 1])[:, None, :]  # each point's own plane
        a, ab = (starts - p) * k, (ends - starts) * k  # (n, m, 2) metres
        den = (ab * ab).sum(-1)
        t = np.clip(-(a * ab).sum(-1) / np.where(den > 0, den, 1.0), 0.0, 1.0)
        planar = np.hypot(*np.moveaxis(a + t[..., None] * ab, -1, 0))  # (n, m) metres
        # the plane errs by ~tan|φ|·d/2R (first order): geodesics only for the near-best feet
        low = float(planar.min())
        tan = math.tan(math.radians(min(float(np.abs(pts[:, 1]).max()), 89.0)))
        i, j = np.nonzero(planar <= low * (1.02 + 4.0 * tan * low / 6.3e6) + 1.0)
        foot = starts[j] + t[i, j, None] * (ends[j] - starts[j])
        if len(i) <= 4:  # scalar calls are ~10x cheaper than a tiny vectorised one
            d = min(_geodesic_m(*pts[n], *f) for n, f in zip(i, foot, strict=True))
        else:
            d = float(np.min(_GEOD.inv(pts[i, 0], pts[i, 1], foot[:, 0], foot[:, 1])[2]))
        best = min(best, d)
    return best


def distance_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Shortest WGS84 distance in metres between two lon/lat geometries (see the module doc)."""
    if a.is_empty or b.is_empty:
        raise ValueError("the distance to an empty geometry is undefined")
    if a.geom_type == "Point" and b.geom_type == "Point":
        return _geodesic_m(a.x, a.y, b.x, b.y)
    if "GeometryCollection" in (a.geom_type, b.geom_type):
        return min(distance_m(x, y) for x in shapely.get_parts(a) for y in shapely.get_parts(b))
    if shapely.intersects(a, b):
        return 0.0
    pts_a, pts_b = shapely.get_coordinates(a), shapely.get_coordinates(b)
    a_points, b_points = a.geom_type in _POINTS, b.geom_type in _POINTS
    if a_points and b_points:
        n, m = len(pts_a), len(pts_b)
        pa, pb = np.repeat(pts_a, m, axis=0), np.tile(pts_b, (n, 1))
        return float(np.min(_GEOD.inv(pa[:, 0], pa[:, 1], pb[:, 0], pb[:, 1])[2]))
    if a_points or b_points:
        points, other = (pts_a, b) if a_points else (pts_b, a)
        return _points_to_segments_m(points, *_segments(other))
    # two disjoint lines/polygons: the closest pair has a vertex of one of them
    return min(
        _points_to_segments_m(pts_a, *_segments(b)), _points_to_segments_m(pts_b, *_segments(a))
    )


_POINTS = ("Point", "MultiPoint")


# --------------------------------------------------------------------------- geo-queries


@dataclass(frozen=True)
class GeoQuery:
    """One NGSI-LD geo-query; the entity geometry is the left operand of the predicate.

    ``within``: entity within the query geometry; ``contains``: entity contains it;
    ``intersects``/``disjoint``/``overlaps``/``equals``: the OGC Simple Features predicates;
    ``near``: geodesic distance between the two geometries ≤ ``max_distance_m`` and/or
    ≥ ``min_distance_m`` (both inclusive, metres).
    """

    georel: str
    geometry: shapely.Geometry
    geoproperty: str = DEFAULT_GEOPROPERTY
    max_distance_m: float | None = None
    min_distance_m: float | None = None

    def __post_init__(self) -> None:
        if self.georel not in GEOREL_NAMES:
            raise BadRequestData(f"Unknown georel {self.georel!r}; expected one of {GEOREL_NAMES}")
        if not isinstance(self.geometry, shapely.Geometry) or self.geometry.is_empty:
            raise BadRequestData("A geo-query needs a non-empty geometry")
        distances = (self.max_distance_m, self.min_distance_m)
        if self.georel == "near" and distances == (None, None):
            raise BadRequestData("georel near needs maxDistance==<metres> or minDistance==<metres>")
        if self.georel != "near" and distances != (None, None):
            raise BadRequestData(f"maxDistance/minDistance only apply to near, not {self.georel}")
        for d in distances:
            if d is not None and not (math.isfinite(d) and d >= 0):
                raise BadRequestData(f"A distance must be a finite number of metres ≥ 0, got {d}")
        shapely.prepare(self.geometry)  # in place: GEOS prepared predicates for every entity

    @cached_property
    def _bounds(self) -> tuple[float, float, float, float]:
        return tuple(float(v) for v in self.geometry.bounds)  # type: ignore[return-value]

    @cached_property
    def _box(self) -> tuple[float, float, float, float] | None:
        if self.georel == "disjoint" or (self.georel == "near" and self.max_distance_m is None):
            return None
        xmin, ymin, xmax, ymax = self._bounds
        if self.georel != "near":
            return xmin, ymin, xmax, ymax
        d = self.max_distance_m * 1.001 + 1.0  # type: ignore[operator]  # float-noise margin, m
        dlat = d / _M_PER_DEG_LAT_MIN  # a path of length d changes latitude by at most this
        lat_lo, lat_hi = ymin - dlat, ymax + dlat
        if lat_lo <= -90.0 or lat_hi >= 90.0:  # the circle may go round a pole
            return -180.0, max(lat_lo, -90.0), 180.0, min(lat_hi, 90.0)
        far = math.radians(max(abs(lat_lo), abs(lat_hi)))  # cos φ is smallest there
        dlon = d / (_M_PER_DEG_LON_EQ * math.cos(far))
        if xmin - dlon < -180.0 or xmax + dlon > 180.0:  # wraps the antimeridian: take all
            return -180.0, lat_lo, 180.0, lat_hi
        return xmin - dlon, lat_lo, xmax + dlon, lat_hi

    @cached_property
    def _segs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Edges of a (multi)line/polygon query geometry, for near (else None)."""
        lines = ("LineString", "MultiLineString", "Polygon", "MultiPolygon")
        return _segments(self.geometry) if self.geometry.geom_type in lines else None

    def candidate_bbox(self) -> tuple[float, float, float, float] | None:
        """A (min_lon, min_lat, max_lon, max_lat) box in degrees for an R*Tree pre-filter.

        Every geometry that :meth:`matches` has a point inside this box, so its own bbox
        *overlaps* the box (a matching point lies inside it; for ``within``, the whole matching
        geometry does). Pre-filter with an overlap test, not containment. None when no box
        can pre-filter: ``disjoint`` and ``near`` with only ``minDistance``. For ``near`` the
        query bbox is widened by maxDistance (+0.1 % + 1 m) using the smallest WGS84 degree
        lengths in the widened latitude range, so it is never too small; it spans all
        longitudes when it would reach a pole or cross the antimeridian.
        """
        return self._box

    def matches(self, geometry: dict | shapely.Geometry) -> bool:
        """Whether an entity's geometry (GeoJSON dict or shapely, lon/lat) satisfies the query."""
        if isinstance(geometry, dict):
            xy = _fast_point(geometry)
            if xy is not None:
                return self._match_xy(*xy)
            try:  # stored geometries were checked on the way in; repair, never fail a query
                geometry = parse_geometry(geometry, repair=True)
            except BadRequestData:
                return False
        elif not isinstance(geometry, shapely.Geometry):
            raise TypeError(
                f"expected a GeoJSON dict or a shapely geometry, got {json_kind(geometry)}"
            )
        if geometry.is_empty:
            return self.georel == "disjoint"
        if geometry.geom_type == "Point":
            return self._match_xy(geometry.x, geometry.y)
        return self._match_geometry(geometry)

    def _in_bounds(self, x: float, y: float) -> bool:
        xmin, ymin, xmax, ymax = self._bounds
        return xmin <= x <= xmax and ymin <= y <= ymax

    def _match_xy(self, x: float, y: float) -> bool:
        q, rel = self.geometry, self.georel
        if rel == "within":
            return self._in_bounds(x, y) and bool(shapely.contains_xy(q, x, y))
        if rel == "intersects":
            return self._in_bounds(x, y) and bool(shapely.intersects_xy(q, x, y))
        if rel == "disjoint":
            return not (self._in_bounds(x, y) and shapely.intersects_xy(q, x, y))
        if rel != "near":
            return self._match_geometry(shapely.Point(x, y))
        box = self._box
        if box is not None and not (box[0] <= x <= box[2] and box[1] <= y <= box[3]):
            return False
        if q.geom_type == "Point":
            d = _geodesic_m(x, y, q.x, q.y)
        elif self._in_bounds(x, y) and shapely.intersects_xy(q, x, y):
            d = 0.0
        elif self._segs is not None:
            d = _points_to_segments_m(np.array([[x, y]]), *self._segs)
        else:
            d = distance_m(shapely.Point(x, y), q)
        return self._near_ok(d)

    def _match_geometry(self, g: shapely.Geometry) -> bool:
        q, rel = self.geometry, self.georel
        if rel == "within":
            return bool(shapely.contains(q, g))
        if rel == "contains":
            return bool(shapely.within(q, g))
        if rel == "intersects":
            return bool(shapely.intersects(q, g))
        if rel == "disjoint":
            return bool(shapely.disjoint(q, g))
        if rel == "overlaps":
            return bool(shapely.overlaps(q, g))
        if rel == "equals":
            return bool(shapely.equals(g, q))
        box = self._box  # near
        if box is not None and not shapely.intersects(shapely.box(*box), g):
            return False
        return self._near_ok(distance_m(g, q))

    def _near_ok(self, d: float) -> bool:
        if self.max_distance_m is not None and d > self.max_distance_m:
            return False
        return self.min_distance_m is None or d >= self.min_distance_m


def _fast_point(obj: dict) -> tuple[float, float] | None:
    """(lon, lat) of a well-formed GeoJSON Point dict, else None (then parsed in full)."""
    if obj.get("type") != "Point":
        return None
    c = obj.get("coordinates")
    if type(c) not in (list, tuple) or not 2 <= len(c) <= 3:
        return None
    x, y = c[0], c[1]
    numbers = type(x) in (int, float) and type(y) in (int, float)
    if numbers and -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0:  # False for NaN
        return float(x), float(y)
    return None


def __getattr__(name: str) -> object:
    """``parse_geoquery`` and ``parse_geoq`` live in :mod:`hyperville.ngsild.geoquery`."""
    if name in ("parse_geoquery", "parse_geoq"):
        from hyperville.ngsild import geoquery

        return getattr(geoquery, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
