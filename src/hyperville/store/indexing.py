"""What a backend indexes of an expanded entity: types, attributes, scalar values, geometries.

Backend-neutral: the SQLite and PostgreSQL stores both call :func:`attribute_rows` (for the
attributes that ``core.attributes.changed_attributes`` names) and store the rows in their own
tables, so a ``q`` filter compiles to the same index keys everywhere.

Index keys name a path to a value:
``attr`` (the attribute's target value), ``attr SUB sub`` (a sub-attribute or a reserved
member such as observedAt), and ``... CMP key`` steps into a compound JSON value. The
separators are control characters that no IRI contains.
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperville.core.attributes import VALUE_KEYS as ATTRIBUTE_VALUE_KEYS

SUB = "\x1f"
CMP = "\x1e"

TARGET_KEYS = ATTRIBUTE_VALUE_KEYS
INDEXED_MEMBERS = ("unitCode", "datasetId")
"""Instance members a ``q`` path may name that are indexed. createdAt, modifiedAt and observedAt
are not: they change on (nearly) every write, a ``q`` compares them as instants (which indexed
text cannot do), so such filters are checked in Python; not indexing observedAt spares every
reading of a sensor two index rows out of four (the old value's and the new one's)."""
UNINDEXED_MEMBERS = frozenset({"createdAt", "modifiedAt", "observedAt"})
INDEX_LAYOUT = "members:unitCode,datasetId"
"""Stored in the database's meta table: a file indexed with other members is re-indexed."""
ATTRIBUTE_KINDS = tuple(TARGET_KEYS)
MAX_COMPOUND_DEPTH = 4
MAX_LIST_ITEMS = 1000

TRUE_BLOB = b"\x01"
FALSE_BLOB = b"\x00"


@dataclass(slots=True)
class AttributeRows:
    """The index rows of one attribute (all its instances)."""

    kinds: int  # bit mask of ATTRIBUTE_KINDS
    values: list[tuple[str, object]]  # (index key, scalar)
    geometries: list[dict]  # GeoJSON geometries of its GeoProperty instances


def index_key(attr: str, sub_attrs: tuple[str, ...] = (), compound: tuple[str, ...] = ()) -> str:
    """The index key of an attribute path (IRIs already resolved)."""
    key = attr
    for sub in sub_attrs:
        key += SUB + sub
    for step in compound:
        key += CMP + step
    return key


def encode_scalar(value: object) -> object:
    """How a JSON scalar is stored: booleans as one-byte blobs, so they never equal numbers."""
    if value is True:
        return TRUE_BLOB
    if value is False:
        return FALSE_BLOB
    return value


def kind_bit(kind: str) -> int:
    return _KIND_BITS.get(kind, 0)


_KIND_BITS = {kind: 1 << i for i, kind in enumerate(ATTRIBUTE_KINDS)}


def kinds_of(mask: int) -> set[str]:
    return {kind for i, kind in enumerate(ATTRIBUTE_KINDS) if mask & (1 << i)}


def attribute_rows(iri: str, instances: list[dict]) -> AttributeRows:
    """The index rows of one attribute of an expanded entity."""
    mask = 0
    values: list[tuple[str, object]] = []
    geometries: list[dict] = []
    for instance in instances:
        kind = instance.get("type", "Property")
        mask |= _KIND_BITS.get(kind, 0)
        if kind == "GeoProperty":
            geometry = instance.get("value")
            if isinstance(geometry, dict):
                geometries.append(geometry)
        _instance_values(iri, instance, values)
    return AttributeRows(mask, values, geometries)


_PLAIN = frozenset((str, int, float))  # scalars stored as they are (by class: not booleans)


def _instance_values(key: str, instance: dict, out: list[tuple[str, object]]) -> None:
    kind = instance.get("type", "Property")
    target = instance.get(TARGET_KEYS.get(kind, "value"))
    if target.__class__ in _PLAIN:
        out.append((key, target))
    elif kind == "LanguageProperty" and isinstance(target, dict):
        for lang, text in target.items():  # q may name a language: name[fr]=="…"
            _scalar_values(key, text, out, MAX_COMPOUND_DEPTH)
            _scalar_values(key + CMP + lang, text, out, MAX_COMPOUND_DEPTH)
    elif kind == "ListRelationship" and isinstance(target, list):
        for item in target[:MAX_LIST_ITEMS]:
            if isinstance(item, dict):
                _scalar_values(key, item.get("object"), out, 0)
    else:
        _scalar_values(key, target, out, 0)
    for member in INDEXED_MEMBERS:
        member_value = instance.get(member)
        if member_value is not None:
            out.append((key + SUB + member, member_value))
    for name, sub in instance.items():  # sub-attributes: their names are expanded IRIs
        if ":" in name and isinstance(sub, dict):
            _instance_values(key + SUB + name, sub, out)


def _scalar_values(key: str, value: object, out: list[tuple[str, object]], depth: int) -> None:
    if value is None:
        return
    if isinstance(value, list):
        # only scalar items: q compares list elements, it does not walk into them
        out.extend((key, encode_scalar(i)) for i in value if not isinstance(i, list | dict))
        return
    if isinstance(value, dict):
        if depth >= MAX_COMPOUND_DEPTH:
            return
        for name, item in value.items():
            _scalar_values(key + CMP + name, item, out, depth + 1)
        return
    out.append((key, encode_scalar(value)))
