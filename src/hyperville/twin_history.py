"""What the twin keeps in attribute history, and how late readings are applied.

Every write through the twin appends the attribute instances it wrote to the history, in
the same store transaction as the current state: the instances stamped with the
operation's ``now`` (``modifiedAt``) are the ones it wrote. Readings (ingestion, temporal
provision) always go to history, and replace the current instance only when they are not
older than it (observedAt), so a late reading never rolls the current state back.

An entity's ``scope`` has a history too (CIM 009 4.5.6, the Temporal Representation of the
Scope): each write that changes it records a Property whose value is the new scope list,
under the core ``scope`` IRI, with observedAt a copy of modifiedAt; deleting the scope
records a deletion (value ``[]``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperville import twin_ops as ops
from hyperville.core.attributes import changed_attributes, same_content
from hyperville.store.base import StoreTx
from hyperville.store.sqlite_history import iso_to_ms

Reading = tuple[str, str, dict]
"""(entity id, attribute IRI, expanded instance) — an observation of one attribute."""


@dataclass
class IngestCounts:
    applied: int = 0  # went to history and replaced the current instance
    history_only: int = 0  # older than the current instance: history only
    unknown_entity: int = 0  # no such entity: dropped

    def __add__(self, other: IngestCounts) -> IngestCounts:
        return IngestCounts(
            self.applied + other.applied,
            self.history_only + other.history_only,
            self.unknown_entity + other.unknown_entity,
        )


NULL_URI = "urn:ngsi-ld:null"
_NULL_MEMBER = {  # what a deleted instance holds, by attribute type (NGSI-LD Null, 4.5.x)
    "Relationship": ("object", NULL_URI),
    "LanguageProperty": ("languageMap", {"@none": NULL_URI}),
    "ListProperty": ("valueList", [NULL_URI]),
    "ListRelationship": ("objectList", [{"object": NULL_URI}]),
    "JsonProperty": ("json", NULL_URI),
    "VocabProperty": ("vocab", NULL_URI),
}


def attribute_keys(entity: dict) -> dict[tuple[str, str | None], str]:
    """``(attribute IRI, datasetId) -> attribute type`` of every instance of an entity."""
    return {
        (iri, i.get("datasetId")): i.get("type", "Property")
        for iri, instances in entity.get("attrs", {}).items()
        for i in instances
    }


def deletion_instance(kind: str, now: str, dataset_id: str | None) -> dict:
    """The history instance that records a deletion: ``deletedAt`` (first: the store
    recognises deletions by it) and an NGSI-LD Null value of the attribute's type."""
    key, value = _NULL_MEMBER.get(kind, ("value", NULL_URI))
    instance = {"deletedAt": now, "type": kind, key: value, "createdAt": now, "modifiedAt": now}
    if dataset_id is not None:
        instance["datasetId"] = dataset_id
    return instance


def scope_instance(scope: list[str], now: str) -> dict:
    """The history instance of an entity's scope as it is from ``now`` on (4.5.6)."""
    return {
        "type": "Property",
        "value": list(scope),
        "observedAt": now,
        "createdAt": now,
        "modifiedAt": now,
    }


def historize_scope(
    tx: StoreTx, entity_id: str, before: list | None, after: list | None, now: str, *, deletions
) -> None:
    """Record a scope that the current operation set or changed; with ``deletions``, a
    scope it removed (a deletion record whose value is the empty scope, ``[]``)."""
    if after and after != before:
        tx.append_history(entity_id, ops.SCOPE_IRI, [scope_instance(after, now)])
    elif before and not after and deletions:
        gone = deletion_instance("Property", now, None)
        gone["value"] = []
        tx.append_history(entity_id, ops.SCOPE_IRI, [gone])


def write(
    tx: StoreTx, entity: dict, now: str, previous: dict | None = None, *, deletions: bool = False
) -> None:
    """Store an entity that the current operation made (``previous`` None) or changed
    (``previous``: it before, ``twin_ops.snapshot``) and record in history what changed."""
    if previous is None:
        tx.put(entity, is_new=True)
        historize(tx, entity, now)
        return
    changed = changed_attributes(previous.get("attrs", {}), entity.get("attrs", {}))
    tx.put(entity, is_new=False, previous=previous, changed=changed)
    historize(tx, entity, now, previous, changed, deletions=deletions)


def historize(
    tx: StoreTx,
    entity: dict,
    now: str,
    previous: dict | None = None,
    changed: list[str] | None = None,
    *,
    deletions: bool = False,
) -> None:
    """Append to the history what the current operation changed in ``entity``.

    An instance it wrote (stamped ``now``) is recorded when it is new or holds other data
    than in ``previous`` (the entity before the operation): another value, observedAt,
    unitCode, sub-attribute… (``same_content``). Written again with the same data it is no
    new observation, and it is not recorded twice; with a new observedAt it is. ``changed``
    names the attributes that differ from ``previous`` (``changed_attributes``) when the
    caller knows them. With ``deletions``, each instance the operation removed gets a
    deletion record (shown with ``timeproperty=deletedAt``).
    """
    entity_id = entity["id"]
    attrs = entity.get("attrs", {})
    if previous is None:
        for iri, instances in attrs.items():
            written = [i for i in instances if i.get("modifiedAt") == now]
            if written:
                tx.append_history(entity_id, iri, written)
        historize_scope(tx, entity_id, None, entity.get("scope"), now, deletions=False)
        return
    historize_scope(
        tx, entity_id, previous.get("scope"), entity.get("scope"), now, deletions=deletions
    )
    before = previous.get("attrs", {})
    if changed is None:
        changed = changed_attributes(before, attrs)
    for iri in changed:
        old = before.get(iri)
        written = [
            i for i in attrs.get(iri, ()) if i.get("modifiedAt") == now and not _rewritten(i, old)
        ]
        if written:
            tx.append_history(entity_id, iri, written)
    if deletions:
        kinds = attribute_keys(previous)
        gone = kinds.keys() - attribute_keys(entity).keys()
        for iri, dataset_id in sorted(gone, key=lambda k: (k[0], k[1] or "")):
            instance = deletion_instance(kinds[(iri, dataset_id)], now, dataset_id)
            tx.append_history(entity_id, iri, [instance])


def _rewritten(instance: dict, old: list[dict] | None) -> bool:
    """Is ``instance`` a stored one written again with the same data?"""
    if not old:
        return False
    dataset_id = instance.get("datasetId")
    for stored in old:
        if stored.get("datasetId") == dataset_id:
            return stored is not instance and same_content(stored, instance)
    return False


def _observed_ms(instance: dict) -> int | None:
    observed = instance.get("observedAt")
    return None if observed is None else iso_to_ms(observed)


def apply_readings(tx: StoreTx, entity: dict, readings: list[tuple[str, dict]], now: str):
    """Apply ``(attr IRI, instance)`` readings to a stored entity (in place); every one goes
    to history. Returns (applied, history_only)."""
    applied = history_only = 0
    attrs = entity.setdefault("attrs", {})
    by_attr: dict[str, list[dict]] = {}
    # (attribute, datasetId) -> where its current instance is and its observedAt in ms
    slots: dict[tuple[str, str | None], tuple[int | None, int | None]] = {}
    for iri, raw in readings:
        instance = {**raw, "createdAt": now, "modifiedAt": now}
        by_attr.setdefault(iri, []).append(instance)
        current = attrs.setdefault(iri, [])
        key = (iri, instance.get("datasetId"))
        slot = slots.get(key)
        if slot is None:
            index = next((n for n, i in enumerate(current) if i.get("datasetId") == key[1]), None)
            slot = (index, None if index is None else _observed_ms(current[index]))
        index, old_ms = slot
        new_ms = _observed_ms(instance)
        if index is None:
            current.append(instance)
            slots[key] = (len(current) - 1, new_ms)
            applied += 1
            continue
        if old_ms is not None and (new_ms is None or new_ms < old_ms):
            slots[key] = slot
            history_only += 1
            continue
        instance["createdAt"] = current[index].get("createdAt", now)
        current[index] = instance
        slots[key] = (index, new_ms)
        applied += 1
    if applied:
        entity["modifiedAt"] = now
    for iri, instances in by_attr.items():
        tx.append_history(entity["id"], iri, instances)
    return applied, history_only


def ingest(tx: StoreTx, readings: list[Reading], now: str) -> tuple[IngestCounts, list]:
    """The body of :meth:`Twin.ingest`: one transaction, one write per entity touched."""
    counts = IngestCounts()
    grouped: dict[str, list[tuple[str, dict]]] = {}
    for entity_id, iri, instance in readings:
        grouped.setdefault(entity_id, []).append((iri, instance))
    current = tx.get_many(grouped)
    changes = []
    for entity_id, entity_readings in grouped.items():
        entity = current.get(entity_id)
        if entity is None:
            counts.unknown_entity += len(entity_readings)
            continue
        previous = ops.snapshot(entity)
        applied, history_only = apply_readings(tx, entity, entity_readings, now)
        counts.applied += applied
        counts.history_only += history_only
        if applied:
            tx.put(entity, is_new=False, previous=previous)
            changes.append(("update", entity_id, entity))
    return counts, changes


def temporal_upsert(tx: StoreTx, temporal: dict, now: str) -> tuple[bool, dict]:
    """POST /temporal/entities: create the entity (its newest instances become the current
    state) or add instances to it. Every instance goes to history. Returns (created, entity)."""
    entity_id = temporal["id"]
    readings = [(iri, inst) for iri, insts in temporal.get("attrs", {}).items() for inst in insts]
    existing = tx.get(entity_id)
    if existing is None:
        fresh = {k: temporal[k] for k in ("id", "type", "scope") if k in temporal}
        fresh["attrs"] = {}
        fresh["createdAt"] = fresh["modifiedAt"] = now
        tx.put(fresh, is_new=True)  # first: its history rows need it stored
        previous = ops.snapshot(fresh)
        apply_readings(tx, fresh, readings, now)
        historize_scope(tx, entity_id, None, fresh.get("scope"), now, deletions=False)
        tx.put(fresh, is_new=False, previous=previous)
        return True, fresh
    previous = ops.snapshot(existing)
    ops.merge_types(existing, temporal.get("type") or [])
    ops.merge_scope(existing, temporal.get("scope"))
    apply_readings(tx, existing, readings, now)
    historize_scope(
        tx, entity_id, previous.get("scope"), existing.get("scope"), now, deletions=False
    )
    existing["modifiedAt"] = now
    tx.put(existing, is_new=False, previous=previous)
    return False, existing
