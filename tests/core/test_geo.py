"""Tests of hyperville.core.geo and hyperville.ngsild.geoquery (NGSI-LD geo-queries)."""

# The catalogues below keep one case per line, whatever its length.
# ruff: noqa: E501

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperville.core.errors import BadRequestData
from hyperville.core.geo import GeoQuery, distance_m, geometry_bbox, parse_geometry
from hyperville.ngsild.geoquery import parse_geoq, parse_geoquery

GEOD = pyproj.Geod(ellps="WGS84")

# --------------------------------------------------------------------------- catalogue

NOTRE_DAME = [2.3499, 48.8530]
EIFFEL = [2.2945, 48.8584]
SQUARE = [[[2.0, 48.0], [3.0, 48.0], [3.0, 49.0], [2.0, 49.0], [2.0, 48.0]]]  # ~74 km x 111 km
SQUARE_CW = [[[2.0, 48.0], [2.0, 49.0], [3.0, 49.0], [3.0, 48.0], [2.0, 48.0]]]
INNER = [[[2.2, 48.2], [2.4, 48.2], [2.4, 48.4], [2.2, 48.4], [2.2, 48.2]]]
HOLE = [[2.4, 48.4], [2.6, 48.4], [2.6, 48.6], [2.4, 48.6], [2.4, 48.4]]
EAST = [[[2.5, 48.5], [3.5, 48.5], [3.5, 49.5], [2.5, 49.5], [2.5, 48.5]]]  # overlaps SQUARE


def g(gtype: str, coordinates: object) -> dict:
    return {"type": gtype, "coordinates": coordinates}


VALID = {
    "point": (g("Point", NOTRE_DAME), "Point"),
    "point-3d": (g("Point", [2.35, 48.85, 35.0]), "Point"),
    "point-int": (g("Point", [2, 48]), "Point"),
    "point-extremes": (g("Point", [-180, 90]), "Point"),
    "point-bbox-member": ({**g("Point", [1, 2]), "bbox": [1, 2, 1, 2]}, "Point"),
    "multipoint": (g("MultiPoint", [NOTRE_DAME, EIFFEL]), "MultiPoint"),
    "linestring": (g("LineString", [NOTRE_DAME, EIFFEL]), "LineString"),
    "multilinestring": (g("MultiLineString", [[NOTRE_DAME, EIFFEL], [[0, 0], [1, 1]]]), "MultiLineString"),
    "polygon": (g("Polygon", SQUARE), "Polygon"),
    "polygon-clockwise": (g("Polygon", SQUARE_CW), "Polygon"),
    "polygon-hole": (g("Polygon", [SQUARE[0], HOLE]), "Polygon"),
    "multipolygon": (g("MultiPolygon", [INNER, [[[10, 10], [11, 10], [11, 11], [10, 10]]]]), "MultiPolygon"),
    "collection": (
        {"type": "GeometryCollection", "geometries": [g("Point", [1, 2]), g("Polygon", SQUARE)]},
        "GeometryCollection",
    ),
    "collection-nested": (
        {"type": "GeometryCollection", "geometries": [
            {"type": "GeometryCollection", "geometries": [g("LineString", [[0, 0], [1, 1]])]}
        ]},
        "GeometryCollection",
    ),
}  # fmt: skip

BOWTIE = [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]
INVALID = {
    "not-object": ([1, 2], "must be a JSON object, got an array"),
    "no-type": ({"coordinates": [1, 2]}, "Unknown GeoJSON geometry type None"),
    "unknown-type": (g("Circle", [1, 2]), "Unknown GeoJSON geometry type 'Circle'"),
    "lowercase-type": (g("point", [1, 2]), "Unknown GeoJSON geometry type 'point'"),
    "feature": ({"type": "Feature", "geometry": g("Point", [1, 2])}, "type 'Feature'"),
    "no-coordinates": ({"type": "Point"}, "Point has no 'coordinates' member"),
    "null-coordinates": (g("Point", None), "Point coordinates must be a position"),
    "point-one-number": (g("Point", [1]), "must hold 2 or 3 numbers"),
    "point-four-numbers": (g("Point", [1, 2, 3, 4]), "got 4"),
    "point-string": (g("Point", "[1, 2]"), "must be a position [longitude, latitude], got a string"),
    "point-string-number": (g("Point", ["1", 2]), "Point coordinates[0] must be a number, got a string"),
    "point-bool": (g("Point", [True, 2]), "must be a number, got a boolean"),
    "point-nan": (g("Point", [math.nan, 2]), "must be a finite number, got nan"),
    "point-inf": (g("Point", [2, math.inf]), "Point coordinates[1] must be a finite number"),
    "lon-out": (g("Point", [181, 2]), "longitude 181 is outside [-180, 180]"),
    "lat-out": (g("Point", [2, 91]), "latitude 91 is outside [-90, 90]"),
    "lat-out-swapped": (g("Point", [48.85, 95.0]), "(GeoJSON positions are [longitude, latitude])"),
    "lat-out-south": (g("Point", [2, -90.5]), "latitude -90.5"),
    "point-nested": (g("Point", [[1, 2]]), "Point coordinates must be a position [longitude, latitude], got an array of arrays"),
    "multipoint-empty": (g("MultiPoint", []), "at least 1 positions, got 0"),
    "multipoint-flat": (g("MultiPoint", [1, 2]), "MultiPoint coordinates must be an array of positions, got numbers"),
    "linestring-short": (g("LineString", [[1, 2]]), "at least 2 positions, got 1"),
    "linestring-lat-out": (g("LineString", [[1, 2], [3, 100]]), "LineString coordinates[1]: latitude"),
    "multilinestring-flat": (g("MultiLineString", [[1, 2], [3, 4]]), "coordinates[0] must be an array of positions, got numbers"),
    "polygon-unclosed": (g("Polygon", [[[0, 0], [1, 0], [1, 1], [0, 1]]]), "not a closed linear ring"),
    "polygon-three": (g("Polygon", [[[0, 0], [1, 0], [0, 0]]]), "at least 4 positions, got 3"),
    "polygon-no-ring": (g("Polygon", []), "at least 1 linear rings"),
    "polygon-flat": (g("Polygon", [[0, 0], [1, 0], [1, 1], [0, 0]]), "Polygon coordinates[0] must be an array of positions, got numbers"),
    "polygon-hole-unclosed": (g("Polygon", [SQUARE[0], HOLE[:-1]]), "Polygon coordinates[1] is not a closed"),
    "polygon-bowtie": (g("Polygon", BOWTIE), "Polygon is not a valid geometry: Self-intersection"),
    "polygon-hole-outside": (g("Polygon", [INNER[0], HOLE]), "Polygon is not a valid geometry"),
    "multipolygon-bad-ring": (g("MultiPolygon", [SQUARE, [[[0, 0], [1, 0], [0, 0]]]]), "MultiPolygon coordinates[1][0]"),
    "multipolygon-overlap": (g("MultiPolygon", [SQUARE, EAST]), "MultiPolygon is not a valid geometry"),
    "collection-empty": ({"type": "GeometryCollection", "geometries": []}, "at least 1 geometries"),
    "collection-missing": ({"type": "GeometryCollection"}, "GeometryCollection geometries must be an array"),
    "collection-bad-member": (
        {"type": "GeometryCollection", "geometries": [g("Point", [1, 2]), g("Point", [1, 200])]},
        "GeometryCollection geometries[1]: Point coordinates: latitude 200",
    ),
    "collection-too-deep": (
        {"type": "GeometryCollection", "geometries": [{"type": "GeometryCollection", "geometries": [
            {"type": "GeometryCollection", "geometries": [{"type": "GeometryCollection", "geometries": [
                {"type": "GeometryCollection", "geometries": [g("Point", [1, 2])]}]}]}]}]},
        "nested too deeply",
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- parse_geometry


@pytest.mark.parametrize("case", VALID.keys())
def test_parse_valid_geometry(case: str) -> None:
    obj, geom_type = VALID[case]
    geom = parse_geometry(obj)
    assert geom.geom_type == geom_type
    assert geom.is_valid and not geom.is_empty and not geom.has_z


@pytest.mark.parametrize("case", INVALID.keys())
def test_parse_invalid_geometry(case: str) -> None:
    obj, message = INVALID[case]
    with pytest.raises(BadRequestData) as err:
        parse_geometry(obj)
    assert message in err.value.detail
    assert err.value.status == 400


def test_parse_polygon_keeps_holes_and_drops_altitude() -> None:
    poly = parse_geometry(g("Polygon", [SQUARE[0], HOLE]))
    assert len(poly.interiors) == 1
    assert not poly.contains(shapely.Point(2.5, 48.5))
    assert parse_geometry(g("Point", [2.35, 48.85, 35.0])).equals(shapely.Point(2.35, 48.85))


# --------------------------------------------------------------------------- geometry_bbox


@pytest.mark.parametrize("case", VALID.keys())
def test_geometry_bbox_matches_shapely(case: str) -> None:
    obj, _ = VALID[case]
    assert geometry_bbox(obj) == pytest.approx(parse_geometry(obj).bounds)


def test_geometry_bbox_point_fast_path() -> None:
    assert geometry_bbox(g("Point", NOTRE_DAME)) == (2.3499, 48.8530, 2.3499, 48.8530)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ("POINT (1 2)", "must be a JSON object"),
        (g("Point", [1, 95]), "latitude 95"),
        (g("LineString", [[1, 2], "x"]), "nested arrays of numbers, got a string"),
        (g("MultiPoint", []), "has no position"),
        ({"type": "GeometryCollection", "geometries": "x"}, "must be an array of geometries"),
    ],
)
def test_geometry_bbox_errors(obj: object, message: str) -> None:
    with pytest.raises(BadRequestData, match=message):
        geometry_bbox(obj)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- georels

IN_SQUARE = g("Point", [2.5, 48.2])
ON_EDGE = g("Point", [2.0, 48.5])
FAR = g("Point", [10.0, 40.0])
CROSSING = g("LineString", [[1.5, 48.5], [2.5, 48.5]])

GEOREL_CASES = [
    # georel, query geometry, entity geometry, expected
    ("within", g("Polygon", SQUARE), IN_SQUARE, True),
    ("within", g("Polygon", SQUARE), ON_EDGE, False),  # boundary is not interior
    ("within", g("Polygon", SQUARE), FAR, False),
    ("within", g("Polygon", [SQUARE[0], HOLE]), g("Point", [2.5, 48.5]), False),  # in the hole
    ("within", g("Polygon", SQUARE), g("Polygon", INNER), True),
    ("within", g("Polygon", SQUARE), g("Polygon", EAST), False),
    ("within", g("MultiPolygon", [INNER, EAST]), g("Point", [3.0, 49.0]), True),
    ("contains", g("Point", [2.3, 48.3]), g("Polygon", SQUARE), True),
    ("contains", g("Point", [2.3, 48.3]), g("Polygon", EAST), False),
    ("contains", g("Polygon", INNER), g("Polygon", SQUARE), True),
    ("contains", g("Polygon", SQUARE), g("Point", [2.3, 48.3]), False),
    ("contains", g("LineString", [[2.1, 48.1], [2.9, 48.9]]), g("Polygon", SQUARE), True),
    ("intersects", g("Polygon", SQUARE), CROSSING, True),
    ("intersects", g("Polygon", SQUARE), ON_EDGE, True),
    ("intersects", g("Polygon", SQUARE), IN_SQUARE, True),
    ("intersects", g("Polygon", SQUARE), FAR, False),
    ("intersects", g("LineString", [[2, 48], [3, 49]]), g("LineString", [[2, 49], [3, 48]]), True),
    ("disjoint", g("Polygon", SQUARE), FAR, True),
    ("disjoint", g("Polygon", SQUARE), IN_SQUARE, False),
    ("disjoint", g("Polygon", SQUARE), ON_EDGE, False),
    ("disjoint", g("Polygon", SQUARE), g("Polygon", EAST), False),
    ("disjoint", g("Point", [0, 0]), g("Polygon", EAST), True),
    ("overlaps", g("Polygon", SQUARE), g("Polygon", EAST), True),
    ("overlaps", g("Polygon", SQUARE), g("Polygon", INNER), False),  # contained, not overlapping
    ("overlaps", g("Polygon", SQUARE), IN_SQUARE, False),  # different dimensions
    ("overlaps", g("MultiPoint", [[0, 0], [1, 1]]), g("MultiPoint", [[1, 1], [2, 2]]), True),
    ("equals", g("Polygon", SQUARE), g("Polygon", SQUARE_CW), True),  # same set of points
    ("equals", g("Point", NOTRE_DAME), g("Point", NOTRE_DAME), True),
    ("equals", g("Point", NOTRE_DAME), g("Point", EIFFEL), False),
    ("equals", g("Polygon", SQUARE), g("Polygon", INNER), False),
    ("within", g("Polygon", SQUARE), VALID["collection"][0], False),
    ("intersects", g("Polygon", SQUARE), VALID["collection"][0], True),
]


@pytest.mark.parametrize(("georel", "query", "entity", "expected"), GEOREL_CASES)
def test_georel(georel: str, query: dict, entity: dict, expected: bool) -> None:
    q = GeoQuery(georel, parse_geometry(query))
    assert q.matches(entity) is expected  # GeoJSON dict (fast path for points)
    assert q.matches(parse_geometry(entity)) is expected  # shapely
    box = q.candidate_bbox()
    if expected and box is not None:  # the entity bbox overlaps the candidate box
        xmin, ymin, xmax, ymax = geometry_bbox(entity)
        assert xmin <= box[2] and box[0] <= xmax and ymin <= box[3] and box[1] <= ymax


def test_matches_never_fails_on_a_malformed_stored_geometry() -> None:
    q = GeoQuery("within", parse_geometry(g("Polygon", SQUARE)))
    assert q.matches(g("Point", [2.5, 91])) is False  # a query must not fail on old bad data
    with pytest.raises(TypeError):
        q.matches("POINT (2.5 48.5)")  # type: ignore[arg-type]


def test_candidate_bbox_by_georel() -> None:
    square = parse_geometry(g("Polygon", SQUARE))
    for georel in ("within", "contains", "intersects", "equals", "overlaps"):
        assert GeoQuery(georel, square).candidate_bbox() == (2.0, 48.0, 3.0, 49.0)
    assert GeoQuery("disjoint", square).candidate_bbox() is None
    assert GeoQuery("near", square, min_distance_m=10).candidate_bbox() is None
    box = GeoQuery("near", square, max_distance_m=1000, min_distance_m=10).candidate_bbox()
    assert box is not None and box[0] < 2.0 and box[3] > 49.0


# --------------------------------------------------------------------------- near and distances


def oracle_m(a: list[float], b: list[float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def brute_force_m(point: list[float], line: list[list[float]], steps: int = 10_000) -> float:
    """Min geodesic distance from a point to a polyline with lon/lat-straight edges.

    Samples each edge, then re-samples around the best sample three times (~1e-12 of an edge).
    """
    best = math.inf
    for (x1, y1), (x2, y2) in zip(line, line[1:], strict=False):
        lo, hi = 0.0, 1.0
        for _ in range(4):
            t = np.linspace(lo, hi, steps + 1)
            lon, lat = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
            d = GEOD.inv(np.full_like(t, point[0]), np.full_like(t, point[1]), lon, lat)[2]
            i = int(d.argmin())
            lo, hi = t[max(i - 1, 0)], t[min(i + 1, steps)]
        best = min(best, float(d[i]))
    return best


def test_notre_dame_to_eiffel_tower() -> None:
    oracle = oracle_m(NOTRE_DAME, EIFFEL)
    assert 4_000 < oracle < 4_300
    got = distance_m(shapely.Point(NOTRE_DAME), shapely.Point(EIFFEL))
    assert got == pytest.approx(oracle, rel=0.005)
    near = GeoQuery("near", shapely.Point(NOTRE_DAME), max_distance_m=oracle * 1.005)
    assert near.matches(g("Point", EIFFEL))
    assert not GeoQuery("near", shapely.Point(NOTRE_DAME), max_distance_m=oracle * 0.995).matches(
        g("Point", EIFFEL)
    )
    assert GeoQuery("near", shapely.Point(NOTRE_DAME), min_distance_m=oracle * 0.995).matches(
        g("Point", EIFFEL)
    )
    assert not GeoQuery("near", shapely.Point(NOTRE_DAME), min_distance_m=oracle * 1.005).matches(
        g("Point", EIFFEL)
    )
    ring = GeoQuery("near", shapely.Point(NOTRE_DAME), max_distance_m=5000, min_distance_m=4000)
    assert ring.matches(g("Point", EIFFEL)) and not ring.matches(g("Point", NOTRE_DAME))


@pytest.mark.parametrize("lat", [0.0, 30.0, 48.85, 70.0, -60.0, 84.0])
@pytest.mark.parametrize("offset_km", [0.05, 2.0, 20.0, 50.0])
def test_point_to_line_distance_against_brute_force(lat: float, offset_km: float) -> None:
    # an oblique 3-edge line, and a point off its middle edge at roughly offset_km
    dlat = offset_km * 1000 / 111_000
    line = [[2.0, lat - 0.2], [2.3, lat + 0.05], [2.9, lat + 0.1], [3.1, lat + 0.3]]
    point = [2.55 + dlat / 3, lat + 0.075 - dlat]
    got = distance_m(shapely.Point(point), shapely.LineString(line))
    oracle = brute_force_m(point, line)
    assert got == pytest.approx(oracle, rel=0.005)
    assert got >= oracle * (1 - 1e-9)  # an upper bound of the true distance
    assert got == pytest.approx(oracle, rel=1e-4)  # second-order in practice


def test_point_to_polygon_distance_and_near() -> None:
    square = parse_geometry(g("Polygon", SQUARE))
    outside = [3.1, 48.5]  # east of the square, ~7.4 km from its east edge
    oracle = brute_force_m(outside, SQUARE[0])
    assert distance_m(shapely.Point(outside), square) == pytest.approx(oracle, rel=1e-4)
    assert distance_m(square, shapely.Point(outside)) == pytest.approx(oracle, rel=1e-4)
    assert distance_m(shapely.Point(2.5, 48.5), square) == 0.0
    near = GeoQuery("near", square, max_distance_m=oracle * 1.005)
    assert near.matches(g("Point", outside)) and near.matches(g("Point", [2.5, 48.5]))
    assert not GeoQuery("near", square, max_distance_m=oracle * 0.995).matches(g("Point", outside))
    assert GeoQuery("near", square, min_distance_m=oracle * 0.995).matches(g("Point", outside))
    assert not GeoQuery("near", square, min_distance_m=1).matches(g("Point", [2.5, 48.5]))
    # polygon entity, point query: same distance, entity on the left
    entity_near = GeoQuery("near", shapely.Point(outside), max_distance_m=oracle * 1.005)
    assert entity_near.matches(g("Polygon", SQUARE))
    entity_far = GeoQuery("near", shapely.Point(outside), max_distance_m=oracle * 0.995)
    assert not entity_far.matches(g("Polygon", SQUARE))


@pytest.mark.parametrize("lat", [0.0, 48.85, 70.0])
@pytest.mark.parametrize("d_km", [1.0, 10.0, 50.0])
def test_near_tie_between_two_edges(lat: float, d_km: float) -> None:
    # a U-shaped line around the point: its west and east arms are almost equally far
    west, east = GEOD.fwd(2.0, lat, -90, d_km * 1000)[:2], GEOD.fwd(2.0, lat, 90, d_km * 1005)[:2]
    dy = d_km / 111.0
    line = [[west[0], lat + dy], [west[0], lat - dy], [east[0], lat - dy], [east[0], lat + dy]]
    oracle = brute_force_m([2.0, lat], line)
    got = distance_m(shapely.Point(2.0, lat), shapely.LineString(line))
    assert oracle * (1 - 1e-9) <= got <= oracle * 1.0001


def test_polygon_to_polygon_distance() -> None:
    a, b = parse_geometry(g("Polygon", INNER)), parse_geometry(g("Polygon", EAST))
    corner = [2.4, 48.4]  # INNER's north-east corner, nearest to EAST's south-west corner
    assert distance_m(a, b) == pytest.approx(oracle_m(corner, [2.5, 48.5]), rel=1e-6)
    assert distance_m(b, a) == pytest.approx(distance_m(a, b), rel=1e-9)
    assert distance_m(a, parse_geometry(g("Polygon", SQUARE))) == 0.0


def test_line_to_line_distance() -> None:
    a = [[2.0, 48.0], [2.5, 48.0]]
    b = [[2.2, 48.1], [2.8, 48.3]]
    oracle = oracle_m([2.2, 48.1], [2.2, 48.0])  # closest: b's first vertex to a's edge
    assert distance_m(shapely.LineString(a), shapely.LineString(b)) == pytest.approx(oracle, 1e-4)


def test_distance_to_empty_geometry_is_an_error() -> None:
    with pytest.raises(ValueError):
        distance_m(shapely.Point(), shapely.Point(1, 2))


# --------------------------------------------------------------------------- candidate_bbox


def inside(box: tuple[float, float, float, float], lon: float, lat: float) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(-179.9, 179.9),
    lat=st.one_of(st.floats(-89.99, 89.99), st.floats(60, 89.99), st.floats(-89.99, -60)),
    max_d=st.floats(1.0, 300_000.0),
    azimuths=st.lists(st.floats(-180, 180), min_size=8, max_size=8),
    fractions=st.lists(st.floats(0.0, 1.2), min_size=8, max_size=8),
)
def test_near_point_matches_lie_in_candidate_bbox(
    lon: float, lat: float, max_d: float, azimuths: list[float], fractions: list[float]
) -> None:
    q = GeoQuery("near", shapely.Point(lon, lat), max_distance_m=max_d)
    box = q.candidate_bbox()
    assert box is not None
    for az, f in zip(azimuths, fractions, strict=True):
        x, y, _ = GEOD.fwd(lon, lat, az, f * max_d)
        if q.matches(g("Point", [x, y])):
            assert inside(box, x, y), (x, y, box)
        if f <= 0.999:  # and every point closer than max_d matches
            assert q.matches(g("Point", [x, y]))


@settings(max_examples=100, deadline=None)
@given(
    lon=st.floats(-170, 170),
    lat=st.one_of(st.floats(-80, 80), st.floats(70, 85)),
    max_d=st.floats(10.0, 50_000.0),
    points=st.lists(st.tuples(st.floats(-180, 180), st.floats(0, 1.5)), min_size=5, max_size=5),
)
def test_near_polygon_matches_lie_in_candidate_bbox(
    lon: float, lat: float, max_d: float, points: list[tuple[float, float]]
) -> None:
    tri = shapely.Polygon([(lon, lat), (lon + 0.05, lat), (lon, lat + 0.03), (lon, lat)])
    q = GeoQuery("near", tri, max_distance_m=max_d)
    box = q.candidate_bbox()
    assert box is not None
    for az, f in points:
        x, y, _ = GEOD.fwd(lon + 0.025, lat, az, f * max_d)
        if q.matches(g("Point", [x, y])):
            assert inside(box, x, y), (x, y, box)


def test_candidate_bbox_near_pole_and_antimeridian() -> None:
    polar = GeoQuery("near", shapely.Point(10, 89.99), max_distance_m=5000).candidate_bbox()
    assert polar == (-180.0, pytest.approx(89.99 - 5006 / 110_574, abs=1e-4), 180.0, 90.0)
    wrap = GeoQuery("near", shapely.Point(179.99, 0), max_distance_m=5000)
    assert wrap.candidate_bbox()[0] == -180.0 and wrap.candidate_bbox()[2] == 180.0
    assert wrap.matches(g("Point", [-179.99, 0]))  # 2.2 km across the antimeridian


# --------------------------------------------------------------------------- parameter parsing


def test_parse_geoquery_absent() -> None:
    assert parse_geoquery(None, None, None) is None


def test_parse_geoquery_near() -> None:
    q = parse_geoquery("near;maxDistance==2000", "Point", "[2.3499, 48.8530]")
    assert q is not None
    assert (q.georel, q.geoproperty, q.max_distance_m, q.min_distance_m) == (
        "near", "location", 2000.0, None,
    )  # fmt: skip
    assert q.geometry.equals(shapely.Point(NOTRE_DAME))
    q2 = parse_geoquery("near;minDistance==1.5e3", "Point", "[2.3499,48.8530]", "myLocation")
    assert q2 is not None and q2.min_distance_m == 1500.0 and q2.geoproperty == "myLocation"
    both = parse_geoquery("near;maxDistance==2000;minDistance==10", "Point", "[2, 48]")
    assert both is not None and (both.max_distance_m, both.min_distance_m) == (2000.0, 10.0)


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "geom_type"),
    [
        ("within", "Polygon", " [[ [2,48], [3,48], [3,49], [2,48] ]] ", "Polygon"),
        ("intersects", "LineString", "[[2,48],[3,49]]", "LineString"),
        ("contains", "MultiPoint", [[2, 48], [3, 49]], "MultiPoint"),
        ("overlaps", "MultiPolygon", [SQUARE, [[[10, 10], [11, 10], [11, 11], [10, 10]]]], "MultiPolygon"),
        ("equals", "MultiLineString", "[[[2,48],[3,49]],[[4,48],[5,49]]]", "MultiLineString"),
        ("disjoint", "point", "[2,48]", "Point"),  # geometry name matched case-insensitively
    ],
)  # fmt: skip
def test_parse_geoquery_geometries(
    georel: str, geometry: str, coordinates: object, geom_type: str
) -> None:
    q = parse_geoquery(georel, geometry, coordinates)  # type: ignore[arg-type]
    assert q is not None and q.georel == georel and q.geometry.geom_type == geom_type


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, None, None, "location"), "geoproperty needs georel, geometry and coordinates"),
        (("near;maxDistance==10", None, None), "missing: geometry, coordinates"),
        ((None, "Point", "[1,2]"), "missing: georel"),
        (("close;maxDistance==10", "Point", "[1,2]"), "Unknown georel 'close'"),
        (("near", "Point", "[1,2]"), "near needs maxDistance==<metres> or minDistance"),
        (("near;maxDistance=10", "Point", "[1,2]"), "Invalid near modifier 'maxDistance=10'"),
        (("near;maxDistance:10", "Point", "[1,2]"), "Invalid near modifier"),
        (("near;maxDistance==abc", "Point", "[1,2]"), "Invalid near modifier"),
        (("near;maxDistance==nan", "Point", "[1,2]"), "Invalid near modifier"),
        (("near;maxDistance==-5", "Point", "[1,2]"), "maxDistance must not be negative, got -5"),
        (("near;minDistance==1;minDistance==2", "Point", "[1,2]"), "gives minDistance twice"),
        (("within;maxDistance==10", "Polygon", "[1,2]"), "georel within takes no modifier"),
        (("within", "Circle", "[1,2]"), "Unsupported geometry 'Circle'"),
        (("within", "GeometryCollection", "[1,2]"), "Unsupported geometry"),
        (("near;maxDistance==1", "Point", "1,2"), "coordinates must be a JSON array such as"),
        (("near;maxDistance==1", "Point", "[1,2"), "coordinates must be a JSON array such as"),
        (("near;maxDistance==1", "Point", "%5B1%2C2%5D"), "coordinates must be a JSON array"),
        (("near;maxDistance==1", "Point", '{"a": 1}'), "coordinates must be a JSON array, got an object"),
        (("near;maxDistance==1", "Point", "[[1,2]]"), "nested one level too deep"),
        (("near;maxDistance==1", "Point", "[200,2]"), "longitude 200"),
        (("near;maxDistance==1", "Point", "[1,NaN]"), "must be a finite number"),
        (("within", "Polygon", "[[1,2],[3,4],[5,6],[1,2]]"), "Polygon coordinates[0] must be an array of positions, got numbers"),
        (("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]"), "not a closed linear ring"),
        (("within", "LineString", "[1,2]"), "LineString coordinates must be an array of positions, got numbers"),
        (("within", "MultiPolygon", "[[[0,0],[1,0],[1,1],[0,0]]]"), "MultiPolygon coordinates[0][0] must be an array of positions, got numbers"),
        ((42, "Point", "[1,2]"), "georel must be a string"),
        (("within", "Point", "[1,2]", ""), "geoproperty must be a non-empty attribute name"),
    ],
)  # fmt: skip
def test_parse_geoquery_errors(args: tuple, message: str) -> None:
    with pytest.raises(BadRequestData) as err:
        parse_geoquery(*args)
    assert message in err.value.detail


def test_parse_geoq_body_form() -> None:
    q = parse_geoq(
        {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": NOTRE_DAME}
    )
    assert q.max_distance_m == 2000.0 and q.geoproperty == "location"
    assert q.matches(g("Point", [2.35, 48.86]))
    q2 = parse_geoq({"georel": "within", "geometry": "Polygon", "coordinates": str(SQUARE),
                     "geoproperty": "observationSpace"})  # fmt: skip
    assert q2.geoproperty == "observationSpace" and q2.matches(IN_SQUARE)
    with pytest.raises(BadRequestData, match="geoQ must be a JSON object"):
        parse_geoq("near")
    with pytest.raises(BadRequestData, match="geoQ has no 'coordinates' member"):
        parse_geoq({"georel": "within", "geometry": "Point"})


def test_parse_geoquery_reexported_from_core() -> None:
    from hyperville.core import geo

    assert geo.parse_geoquery is parse_geoquery
    with pytest.raises(AttributeError):
        geo.no_such_name  # noqa: B018


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"georel": "nearby"}, "Unknown georel"),
        ({"georel": "near"}, "near needs maxDistance"),
        ({"georel": "within", "max_distance_m": 5.0}, "only apply to near"),
        ({"georel": "near", "max_distance_m": -1.0}, "finite number of metres"),
        ({"georel": "near", "min_distance_m": math.inf}, "finite number of metres"),
        ({"georel": "within", "geometry": shapely.Polygon()}, "non-empty geometry"),
    ],
)
def test_geoquery_constructor_checks(kwargs: dict, message: str) -> None:
    kwargs.setdefault("geometry", shapely.Point(1, 2))
    with pytest.raises(BadRequestData, match=message):
        GeoQuery(**kwargs)


def test_geoquery_is_hashable_and_comparable() -> None:
    a = parse_geoquery("within", "Polygon", str(SQUARE))
    b = parse_geoquery("within", "Polygon", str(SQUARE))
    assert a == b and hash(a) == hash(b)
