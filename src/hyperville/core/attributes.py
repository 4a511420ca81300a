"""NGSI-LD attribute types and the member that holds each one's value (CIM 009 clause 4.5)."""

from __future__ import annotations

import orjson

VALUE_KEYS: dict[str, str] = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
}
"""Attribute type -> the member of an instance that holds its value."""

SYSTEM_MEMBERS = ("createdAt", "modifiedAt")
"""Members the twin stamps on every instance it writes: they say when, not what."""


def same_content(old: dict, new: dict) -> bool:
    """Do two attribute instances hold the same data, their system members aside?

    JSON-strict: ``true`` is not ``1`` and ``1`` is not ``1.0`` here, although Python's
    ``==`` says they are. Members in another order count as a change (a needless rewrite at
    worst): a client that sends the same data sends it in the same order.
    """
    probe = new.copy()
    probe["createdAt"] = old.get("createdAt")
    probe["modifiedAt"] = old.get("modifiedAt")
    return probe == old and orjson.dumps(probe) == orjson.dumps(old)


def changed_attributes(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    """The attribute IRIs whose instances differ between two states of an entity's
    ``attrs``: added, removed, or with an instance added, removed or changed (system members
    aside), in no particular order.

    An instance object found in both states is unchanged: twin operations replace an
    instance to change it, they never edit one in place (``twin_ops.snapshot``).
    """
    changed = [iri for iri in before if iri not in after]
    for iri, instances in after.items():
        old = before.get(iri)
        if old is None or len(old) != len(instances):
            changed.append(iri)
            continue
        for new_instance, old_instance in zip(instances, old, strict=True):
            if new_instance is not old_instance and not same_content(old_instance, new_instance):
                changed.append(iri)
                break
    return changed
