"""NGSI-LD geo-query parameters (ETSI GS CIM 009 v1.8 clause 4.10) -> :class:`GeoQuery`.

Query-string form: ``georel=near;maxDistance==2000&geometry=Point&coordinates=[2.35,48.85]``
(``coordinates`` URL-decoded by the caller, JSON, spaces allowed; ``geoproperty`` defaults to
``location`` and is returned as given, the caller expands it). Body form (POST
/entityOperations/query, subscriptions): ``geoQ`` object with the same members, where
``coordinates`` may be the array itself. ``near`` takes ``maxDistance==<metres>`` and/or
``minDistance==<metres>`` (the spec allows one; both together are accepted, as in NGSIv2).
Geometry names are matched case-insensitively (``point`` is accepted for ``Point``).
"""

from __future__ import annotations

import json
import re

from hyperville.core.errors import BadRequestData
from hyperville.core.geo import (
    DEFAULT_GEOPROPERTY,
    GEOREL_NAMES,
    QUERY_GEOMETRY_TYPES,
    GeoQuery,
    build_geometry,
    json_kind,
)

_DISTANCE_RE = re.compile(r"(maxDistance|minDistance)==(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")


def _parse_georel(georel: str) -> tuple[str, float | None, float | None]:
    op, *modifiers = (part.strip() for part in georel.split(";"))
    if op not in GEOREL_NAMES:
        raise BadRequestData(f"Unknown georel {op!r}; expected one of {', '.join(GEOREL_NAMES)}")
    found: dict[str, float] = {}
    for mod in modifiers:
        m = _DISTANCE_RE.fullmatch(mod)
        if op != "near":
            raise BadRequestData(f"georel {op} takes no modifier, got {mod!r}")
        if m is None:
            raise BadRequestData(
                f"Invalid near modifier {mod!r}; expected maxDistance==<metres> or "
                "minDistance==<metres>"
            )
        name, value = m.group(1), float(m.group(2))
        if name in found:
            raise BadRequestData(f"georel near gives {name} twice")
        if value < 0:
            raise BadRequestData(f"{name} must not be negative, got {m.group(2)}")
        found[name] = value
    if op == "near" and not found:
        raise BadRequestData("georel near needs maxDistance==<metres> or minDistance==<metres>")
    return op, found.get("maxDistance"), found.get("minDistance")


def parse_geoquery(
    georel: str | None,
    geometry: str | None,
    coordinates: str | list | None,
    geoproperty: str | None = None,
) -> GeoQuery | None:
    """The ``georel``/``geometry``/``coordinates``/``geoproperty`` parameters -> a GeoQuery.

    ``coordinates`` is the JSON array text (already URL-decoded, spaces allowed) or, from a
    request body, the array itself. Returns None when none of the four is given; raises
    BadRequestData when only some are, or on any malformed part.
    """
    given = {"georel": georel, "geometry": geometry, "coordinates": coordinates}
    if all(v is None for v in given.values()):
        if geoproperty is not None:
            raise BadRequestData("geoproperty needs georel, geometry and coordinates")
        return None
    missing = [k for k, v in given.items() if v is None]
    if missing:
        raise BadRequestData(
            f"A geo-query needs georel, geometry and coordinates; missing: {', '.join(missing)}"
        )
    if not isinstance(georel, str):
        raise BadRequestData(f"georel must be a string, got {json_kind(georel)}")
    op, max_d, min_d = _parse_georel(georel)
    if not isinstance(geometry, str):
        raise BadRequestData(f"geometry must be a string, got {json_kind(geometry)}")
    gtype = next((t for t in QUERY_GEOMETRY_TYPES if t.lower() == geometry.strip().lower()), None)
    if gtype is None:
        raise BadRequestData(
            f"Unsupported geometry {geometry!r}; expected one of {', '.join(QUERY_GEOMETRY_TYPES)}"
        )
    if isinstance(coordinates, str):
        try:
            coordinates = json.loads(coordinates)
        except ValueError:
            raise BadRequestData(
                f"coordinates must be a JSON array such as [2.35,48.85], got {coordinates!r}"
            ) from None
    if not isinstance(coordinates, list | tuple):
        raise BadRequestData(f"coordinates must be a JSON array, got {json_kind(coordinates)}")
    if geoproperty is None:
        geoproperty = DEFAULT_GEOPROPERTY
    if not isinstance(geoproperty, str) or not geoproperty.strip():
        raise BadRequestData("geoproperty must be a non-empty attribute name")
    shape = build_geometry(gtype, coordinates, repair=True)
    return GeoQuery(op, shape, geoproperty, max_distance_m=max_d, min_distance_m=min_d)


def parse_geoq(obj: object) -> GeoQuery:
    """The ``geoQ`` member of a POST /entityOperations/query body or of a subscription."""
    if not isinstance(obj, dict):
        raise BadRequestData(f"geoQ must be a JSON object, got {json_kind(obj)}")
    for key in ("georel", "geometry", "coordinates"):
        if obj.get(key) is None:
            raise BadRequestData(f"geoQ has no '{key}' member")
    query = parse_geoquery(
        obj["georel"], obj["geometry"], obj["coordinates"], obj.get("geoproperty")
    )
    if query is None:  # unreachable: the three members were checked above
        raise BadRequestData("geoQ is empty")
    return query
