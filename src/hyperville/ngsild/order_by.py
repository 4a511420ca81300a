"""``orderBy`` of entity queries (GS CIM 009 v1.9.1, 4.23): sort keys and their comparison.

``orderBy=type;asc,name.subProperty;desc,name`` is a comma-separated list of paths, each with
``;asc`` (the default) or ``;desc``. A path starts with an entity member (``id``, ``type``,
``createdAt``, ``modifiedAt``) or an attribute name; further dot-separated steps name an
instance member (``createdAt``, ``modifiedAt``, ``observedAt``, ``unitCode``, ``datasetId``)
or a sub-attribute, whose value is used. Attributes are compared by the value of their
default instance (else the first). Entities lacking a key come after the others in either
direction; values of different JSON types are ordered numbers < strings < booleans < others.
The sort is stable: ties keep the store's order (creation order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hyperville.core.attributes import VALUE_KEYS
from hyperville.core.errors import BadRequestData

ENTITY_MEMBERS = ("id", "type", "createdAt", "modifiedAt")
INSTANCE_MEMBERS = ("createdAt", "modifiedAt", "observedAt", "unitCode", "datasetId")
MAX_ORDERED = 10_000  # matching entities a query with orderBy may sort, at most


@dataclass(frozen=True)
class SortKey:
    path: tuple[str, ...]  # expanded IRIs for attributes and sub-attributes
    descending: bool = False


def parse_order_by(raw: str, expand: Callable[[str], str]) -> tuple[SortKey, ...]:
    """The sort keys of an ``orderBy`` parameter; ``expand`` maps a term to its IRI."""
    keys = []
    for item in raw.split(","):
        path_text, _, direction = item.strip().partition(";")
        direction = direction.strip() or "asc"
        if direction not in ("asc", "desc"):
            raise BadRequestData(f"orderBy: direction {direction!r} is not asc or desc")
        steps = path_text.strip().split(".")
        if not all(s.strip() for s in steps):
            raise BadRequestData(f"orderBy: {item.strip()!r} is not a path")
        first, rest = steps[0].strip(), [s.strip() for s in steps[1:]]
        if first in ENTITY_MEMBERS and rest:
            raise BadRequestData(f"orderBy: {first} has no members ({path_text.strip()!r})")
        path = [first if first in ENTITY_MEMBERS else expand(first)]
        path += [s if s in INSTANCE_MEMBERS else expand(s) for s in rest]
        keys.append(SortKey(tuple(path), direction == "desc"))
    return tuple(keys)


def sort_entities(entities: list[dict], keys: tuple[SortKey, ...]) -> list[dict]:
    """The expanded entities in ``orderBy`` order (stable; missing keys last)."""
    ordered = list(entities)
    for key in reversed(keys):  # least significant first: a stable sort composes
        present = [e for e in ordered if _value(e, key.path) is not None]
        missing = [e for e in ordered if _value(e, key.path) is None]
        present.sort(key=lambda e, k=key: _rank(_value(e, k.path)), reverse=key.descending)
        ordered = present + missing
    return ordered


def _value(entity: dict, path: tuple[str, ...]) -> object:
    first = path[0]
    if first in ENTITY_MEMBERS:
        value = entity.get(first)
        return value[0] if isinstance(value, list) and value else value
    node: dict | None = _instance(entity.get("attrs", {}).get(first))
    for step in path[1:]:
        if node is None:
            return None
        if step in INSTANCE_MEMBERS:
            return node.get(step)
        node = _instance(node.get(step))
    if node is None:
        return None
    return node.get(VALUE_KEYS.get(node.get("type", "Property"), "value"))


def _instance(instances: object) -> dict | None:
    """The default instance of an attribute (no datasetId), else its first one."""
    if isinstance(instances, dict):
        return instances
    if not isinstance(instances, list) or not instances:
        return None
    for instance in instances:
        if isinstance(instance, dict) and "datasetId" not in instance:
            return instance
    return instances[0] if isinstance(instances[0], dict) else None


def _rank(value: object) -> tuple:
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (3, repr(value))
