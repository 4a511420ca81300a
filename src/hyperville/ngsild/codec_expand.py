"""Expansion: a compact NGSI-LD entity or fragment -> the twin's expanded shape.

Accepts the normalized and the concise representation (ETSI GS CIM 009, 4.5.1 and 4.5.18).
See ``docs/internals.md`` for the output shape. Every error is a :class:`BadRequestData`
naming the attribute. Merge-patch deletions (``allow_null``) come out as instances
``{"type": <type>, "_delete": True}`` (plus ``datasetId`` when given); for a sub-attribute the
marker sits under the sub-attribute's IRI.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from hyperville.core.attributes import VALUE_KEYS as ATTRIBUTE_VALUE_KEYS
from hyperville.core.errors import BadRequestData
from hyperville.core.geo import check_geometry
from hyperville.ngsild.context import Context

NGSILD = "https://uri.etsi.org/ngsi-ld/"
NULL_URI = "urn:ngsi-ld:null"
VALUE_KEYS = ATTRIBUTE_VALUE_KEYS
ALL_VALUE_KEYS = frozenset(VALUE_KEYS.values())
INFERRED_TYPES = {  # concise: the member that reveals the type (4.5.18)
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "json": "JsonProperty",
    "vocab": "VocabProperty",
}
_TYPE_BY_IRI = {NGSILD + t: t for t in VALUE_KEYS}
GEOMETRY_TYPES = frozenset(
    (
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    )
)
LOCATION_IRIS = frozenset(NGSILD + n for n in ("location", "observationSpace", "operationSpace"))
SYSTEM_KEYS = frozenset(("createdAt", "modifiedAt", "deletedAt", "instanceId"))
ENTITY_SKIP = frozenset(("@context", "createdAt", "modifiedAt", "deletedAt"))
MAX_NESTING = 16
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+\Z")
_FORBIDDEN_NAME = re.compile(r"[\s<>\"'=;()\[\]&?\\{}|^`]|[\x00-\x1f\x7f]")
NGSILD_NULL_ONLY = "ngsild"
"""``allow_null`` mode where only NGSI-LD Null deletes: a JSON null is invalid JSON-LD (batches)."""


def is_uri(value: object) -> bool:
    """True for an absolute URI (``scheme:rest``, no spaces)."""
    return isinstance(value, str) and _URI_RE.match(value) is not None


def is_geometry(value: object) -> bool:
    """True for a dict shaped like a GeoJSON geometry (deep checks live in core/geo.py)."""
    return (
        isinstance(value, dict)
        and value.get("type") in GEOMETRY_TYPES
        and ("coordinates" in value or "geometries" in value)
    )


_valid_names: set[str] = set()


def check_name(name: object, what: str = "attribute") -> str:
    """Validate an attribute or type name: a term or an IRI without forbidden characters."""
    if type(name) is str and name in _valid_names:
        return name
    if not isinstance(name, str) or not name:
        raise BadRequestData(f"invalid {what} name {name!r}")
    if name[0] == "@" or _FORBIDDEN_NAME.search(name):
        raise BadRequestData(f"invalid {what} name {name!r}: forbidden character")
    if len(_valid_names) < 65536:
        _valid_names.add(name)
    return name


def _check_datetime(value: object, where: str) -> str:
    if isinstance(value, str) and len(value) > 10 and value[10] == "T":
        try:
            datetime.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise BadRequestData(f"{where}: observedAt must be an ISO 8601 date-time, got {value!r}")


def _type_of(name: str, iri: str, d: dict, ctx: Context) -> tuple[str, dict | None]:
    """The attribute type of an instance object; a replacement dict for bare values."""
    t = d.get("type")
    if t is None:
        for key in d:
            inferred = INFERRED_TYPES.get(key)
            if inferred is not None:
                if inferred == "Property" and iri in LOCATION_IRIS and is_geometry(d["value"]):
                    return "GeoProperty", None
                return inferred, None
        return "Property", {"value": d}  # a bare compound value
    if t in VALUE_KEYS:
        return t, None
    if isinstance(t, str):
        if t in GEOMETRY_TYPES and is_geometry(d):
            return "GeoProperty", {"value": d}
        known = _TYPE_BY_IRI.get(ctx.expand_term(t))
        if known is not None:
            return known, None
    raise BadRequestData(f"attribute {name}: unknown attribute type {t!r}")


def _delete(t: str, d: dict | None) -> dict:
    inst = {"type": t, "_delete": True}
    if d is not None and d.get("datasetId") is not None:
        inst["datasetId"] = d["datasetId"]
    return inst


def _json_null(name: str, allow_null: object) -> None:
    if allow_null == NGSILD_NULL_ONLY:
        raise BadRequestData(
            f"attribute {name}: a JSON null is not valid JSON-LD; use {NULL_URI} to delete"
        )


def _is_null(t: str, v: object) -> bool:
    if v is None or v == NULL_URI:
        return True
    if t == "LanguageProperty" and isinstance(v, dict):
        return v.get("@none") == NULL_URI
    return isinstance(v, list) and len(v) == 1 and v[0] == NULL_URI


def _value(name: str, t: str, v: object, ctx: Context) -> object:
    """Validate (and for VocabProperty/ListRelationship normalize) the value member."""
    if t == "Property":
        return v
    if t == "GeoProperty":
        if not isinstance(v, dict) or not isinstance(v.get("type"), str):
            raise BadRequestData(f"attribute {name}: GeoProperty value must be a GeoJSON geometry")
        if "coordinates" not in v and "geometries" not in v:
            raise BadRequestData(f"attribute {name}: GeoJSON geometry without coordinates")
        try:  # structure, ranges, rings; an invalid (self-touching) polygon is still stored
            check_geometry(v)
        except BadRequestData as exc:
            raise BadRequestData(f"attribute {name}: {exc.detail}") from None
        return v
    if t == "Relationship":
        if isinstance(v, list) and v and all(is_uri(x) for x in v):
            return v
        if not is_uri(v):
            raise BadRequestData(f"attribute {name}: Relationship object must be a URI: {v!r}")
        return v
    if t == "LanguageProperty":
        if not isinstance(v, dict) or not v:
            raise BadRequestData(f"attribute {name}: languageMap must be a non-empty object")
        for lang, text in v.items():
            if not lang or not (
                isinstance(text, str)
                or (isinstance(text, list) and all(isinstance(x, str) for x in text))
            ):
                raise BadRequestData(
                    f"attribute {name}: languageMap entry {lang!r} must be a string or strings"
                )
        return v
    if t == "ListProperty":
        if not isinstance(v, list):
            raise BadRequestData(f"attribute {name}: valueList must be an array")
        return v
    if t == "ListRelationship":
        if not isinstance(v, list):
            raise BadRequestData(f"attribute {name}: objectList must be an array")
        out = []
        for item in v:
            obj = item.get("object") if isinstance(item, dict) else item
            if not is_uri(obj):
                raise BadRequestData(f"attribute {name}: objectList items must be URIs: {item!r}")
            out.append({"object": obj})
        return out
    if t == "JsonProperty":
        return v
    # VocabProperty
    if isinstance(v, str) and v:
        return ctx.expand_term(v)
    if isinstance(v, list) and v and all(isinstance(x, str) and x for x in v):
        return [ctx.expand_term(x) for x in v]
    raise BadRequestData(f"attribute {name}: vocab must be a string or an array of strings")


def expand_instance(
    name: str,
    iri: str,
    d: object,
    ctx: Context,
    allow_null: bool | str,
    depth: int = 0,
    *,
    need_value: bool = True,
) -> dict:
    """Expand one attribute instance (normalized or concise) of attribute ``name``.

    ``need_value=False`` (partial attribute update) accepts an instance without its value
    member; its ``type`` must then be given.
    """
    if depth > MAX_NESTING:
        raise BadRequestData(f"attribute {name}: sub-attributes nested too deeply")
    if d.__class__ is dict and d.get("type") == "Property" and d.keys() <= _PLAIN_PROPERTY:
        value = d.get("value")
        if value is not None and not (allow_null and _is_null("Property", value)):
            return _plain_property(name, d)
    if not isinstance(d, dict):
        if d is None or (allow_null and d == NULL_URI):
            if allow_null:
                if d is None:
                    _json_null(name, allow_null)
                return _delete("Property", None)
            raise BadRequestData(f"attribute {name}: null is not a valid value")
        return {"type": "Property", "value": d}
    t, replaced = _type_of(name, iri, d, ctx)
    if replaced is not None:
        return {"type": t, "value": replaced["value"]}
    value_key = VALUE_KEYS[t]
    inst: dict = {"type": t}
    for k, v in d.items():
        if k == "type":
            continue
        if k == value_key:
            if v is None or (allow_null and _is_null(t, v)):
                if allow_null:
                    if v is None:
                        _json_null(name, allow_null)
                    return _delete(t, d)
                raise BadRequestData(f"attribute {name}: {t} {value_key} must not be null")
            inst[k] = _value(name, t, v, ctx)
        elif k == "observedAt":
            inst[k] = _check_datetime(v, f"attribute {name}")
        elif k == "datasetId":
            if not is_uri(v):
                raise BadRequestData(f"attribute {name}: datasetId must be a URI, got {v!r}")
            inst[k] = v
        elif k == "unitCode":
            if not isinstance(v, str) or not v:
                raise BadRequestData(f"attribute {name}: unitCode must be a string")
            inst[k] = v
        elif k in SYSTEM_KEYS:
            continue
        elif k == "objectType" and t in ("Relationship", "ListRelationship"):
            inst[k] = _value(name, "VocabProperty", v, ctx)
        elif k == "lang" and t == "Property":
            if not isinstance(v, str):
                raise BadRequestData(f"attribute {name}: lang must be a string")
            inst[k] = v
        elif k in ALL_VALUE_KEYS or k in ("objectType", "lang"):
            raise BadRequestData(f"attribute {name}: member {k!r} not allowed in a {t}")
        else:
            check_name(k, "sub-attribute")
            sub_iri = ctx.expand_term(k)
            if sub_iri[0] == "@":
                raise BadRequestData(f"attribute {name}: {k!r} is not a valid sub-attribute name")
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                raise BadRequestData(f"attribute {name}: sub-attribute {k} must be one instance")
            inst[sub_iri] = expand_instance(f"{name}.{k}", sub_iri, v, ctx, allow_null, depth + 1)
    if value_key not in inst and need_value:
        raise BadRequestData(f"attribute {name}: a {t} needs a {value_key!r} member")
    return inst


_PLAIN_PROPERTY = frozenset(("type", "value", "observedAt", "unitCode"))


def _plain_property(name: str, d: dict) -> dict:
    """The fast path of :func:`expand_instance` for the commonest shape: a Property with a
    value and only ``observedAt`` and ``unitCode`` besides (checked as there)."""
    inst: dict = {"type": "Property"}
    for k, v in d.items():
        if k == "observedAt":
            inst[k] = _check_datetime(v, f"attribute {name}")
        elif k == "unitCode":
            if not isinstance(v, str) or not v:
                raise BadRequestData(f"attribute {name}: unitCode must be a string")
            inst[k] = v
        elif k != "type":
            inst[k] = v
    return inst


def expand_attribute(
    name: str, iri: str, val: object, ctx: Context, allow_null: bool | str, *, need_value=True
) -> list:
    """Expand an attribute's value: one instance, or an array of instances (datasetIds)."""
    if isinstance(val, list) and val and all(isinstance(x, dict) for x in val):
        instances = [
            expand_instance(name, iri, x, ctx, allow_null, need_value=need_value) for x in val
        ]
        seen: set = set()
        for inst in instances:
            ds = inst.get("datasetId")
            if ds in seen:
                which = f"datasetId {ds}" if ds else "the default instance (no datasetId)"
                raise BadRequestData(f"attribute {name}: {which} given twice")
            seen.add(ds)
        return instances
    return [expand_instance(name, iri, val, ctx, allow_null, need_value=need_value)]


@lru_cache(maxsize=4096)
def _attr_iri(name: str, ctx: Context) -> str:
    """The IRI of an attribute name (a context's term maps never change: cached)."""
    check_name(name)
    iri = ctx.expand_term(name)
    if iri[0] == "@":
        raise BadRequestData(f"{name!r} is not a valid attribute name")
    return iri


def _merge(attrs: dict, iri: str, name: str, instances: list) -> None:
    existing = attrs.get(iri)
    if existing is None:
        attrs[iri] = instances
        return
    have = {i.get("datasetId") for i in existing}
    for inst in instances:
        if inst.get("datasetId") in have:
            raise BadRequestData(f"attribute {name}: given twice (same datasetId)")
    existing.extend(instances)


def expand_attributes(
    fragment: dict, ctx: Context, *, allow_null: bool = False
) -> dict[str, list[dict]]:
    """Expand an attribute fragment ``{"attr": {...}, ...}`` to ``{IRI: [instances]}``.

    ``@context`` and ``id`` members are ignored; ``type`` and ``scope`` are rejected (they are
    not attributes). With ``allow_null`` (merge-patch), null / ``urn:ngsi-ld:null`` values give
    deletion markers ``{"type": ..., "_delete": True}``.
    """
    if not isinstance(fragment, dict):
        raise BadRequestData("the attribute fragment must be a JSON object")
    attrs: dict[str, list[dict]] = {}
    for name, val in fragment.items():
        if name in ENTITY_SKIP or name == "id":
            continue
        if name in ("type", "scope"):
            raise BadRequestData(f"{name!r} cannot be changed by an attribute operation")
        iri = _attr_iri(name, ctx)
        _merge(attrs, iri, name, expand_attribute(name, iri, val, ctx, allow_null))
    return attrs


def expand_types(value: object, ctx: Context) -> list[str]:
    """Expand an entity type (a string or a list of strings) to a list of IRIs."""
    names = value if isinstance(value, list) else [value]
    if not names:
        raise BadRequestData("entity type must not be empty")
    out: list[str] = []
    for n in names:
        iri = ctx.expand_term(check_name(n, "entity type"))
        if iri[:1] == "@":
            raise BadRequestData(f"entity type {n!r} is a JSON-LD keyword, not a type name")
        if iri not in out:
            out.append(iri)
    return out


def expand_entity(
    doc: dict, ctx: Context, *, partial: bool = False, allow_null: bool | str | None = None
) -> dict:
    """Expand a compact entity (normalized or concise) to the internal shape.

    System attributes and ``@context`` are ignored. ``partial=True`` (PATCH / merge bodies):
    id and type are optional and null values are deletion markers, as with
    ``expand_attributes(..., allow_null=True)``. ``allow_null`` overrides that last part
    (``NGSILD_NULL_ONLY``: only ``urn:ngsi-ld:null`` deletes).
    """
    if allow_null is None:
        allow_null = partial
    if not isinstance(doc, dict):
        raise BadRequestData("an entity must be a JSON object")
    entity: dict = {}
    attrs: dict[str, list[dict]] = {}
    for name, val in doc.items():
        if name == "id":
            if not is_uri(val):
                raise BadRequestData(f"entity id must be an absolute URI, got {val!r}")
            entity["id"] = val
        elif name == "type":
            entity["type"] = expand_types(val, ctx)
        elif name == "scope":
            scopes = val if isinstance(val, list) else [val]
            if not scopes or not all(isinstance(s, str) and s[:1] == "/" for s in scopes):
                raise BadRequestData(
                    f"scope must be a string or strings starting with '/': {val!r}"
                )
            entity["scope"] = scopes
        elif name in ENTITY_SKIP:
            continue
        else:
            iri = _attr_iri(name, ctx)
            _merge(attrs, iri, name, expand_attribute(name, iri, val, ctx, allow_null))
    if not partial:
        if "id" not in entity:
            raise BadRequestData("entity id is missing")
        if "type" not in entity:
            raise BadRequestData("entity type is missing")
    out = {k: entity[k] for k in ("id", "type", "scope") if k in entity}
    out["attrs"] = attrs
    return out
