"""NGSI-LD update semantics on expanded entities: pure functions, no I/O.

The twin service runs these inside a store transaction. Each takes the current entity (or
None) and the expanded input, and returns what to write plus a per-attribute report.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hyperville.core.errors import BadRequestData, ResourceNotFound

SYSTEM_MEMBERS = ("createdAt", "modifiedAt")
DELETE_MARK = "_delete"
SCOPE_IRI = "https://uri.etsi.org/ngsi-ld/scope"


def now_iso() -> str:
    """Current UTC time as NGSI-LD DateTime with milliseconds, e.g. 2026-11-25T10:00:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # drops +00:00


@dataclass
class UpdateReport:
    """Which attributes an operation changed and which it left alone (and why)."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)  # (attr IRI, reason)


def snapshot(entity: dict) -> dict:
    """The entity as it is now, kept apart from the changes an operation makes next.

    The operations here never edit a stored instance in place, they replace it (a stamped
    copy, or a merged one), so the snapshot shares the instance dicts and copies only what an
    operation may change in place: the type list, the scope list and the attribute lists.
    """
    kept = dict(entity)
    kept["type"] = list(entity.get("type", ()))
    if "scope" in entity:
        kept["scope"] = list(entity["scope"])
    kept["attrs"] = {iri: list(instances) for iri, instances in entity.get("attrs", {}).items()}
    return kept


def stamp_new(instance: dict, now: str, created_at: str | None = None) -> dict:
    instance["createdAt"] = created_at or now
    instance["modifiedAt"] = now
    return instance


def new_entity(entity: dict, now: str) -> dict:
    """Give a new entity and its attribute instances their system attributes."""
    entity["createdAt"] = now
    entity["modifiedAt"] = now
    for instances in entity.get("attrs", {}).values():
        for instance in instances:
            stamp_new(instance, now)
    return entity


def replaced_entity(current: dict, replacement: dict, now: str) -> dict:
    """PUT /entities/{id}: everything replaced, createdAt kept."""
    new_entity(replacement, now)
    replacement["createdAt"] = current.get("createdAt", now)
    return replacement


def _find(instances: list[dict], dataset_id: str | None) -> int | None:
    for index, instance in enumerate(instances):
        if instance.get("datasetId") == dataset_id:
            return index
    return None


def append_attrs(
    entity: dict,
    attrs: dict[str, list[dict]],
    now: str,
    *,
    overwrite: bool = True,
) -> UpdateReport:
    """Append (POST …/attrs) or update (PATCH …/attrs) attribute instances in place.

    ``overwrite=False`` is the ``noOverwrite`` option. A missing attribute or instance is
    added either way; an NGSI-LD Null (only in an update) deletes one.
    """
    report = UpdateReport()
    current = entity.setdefault("attrs", {})
    for iri, instances in attrs.items():
        existing = current.get(iri)
        changed = False
        for instance in instances:
            index = None if existing is None else _find(existing, instance.get("datasetId"))
            if instance.get(DELETE_MARK):  # NGSI-LD Null in an update: delete the instance
                if index is None:
                    report.not_updated.append((iri, "attribute or instance does not exist"))
                    continue
                del existing[index]
                if not existing:
                    del current[iri]
                    existing = None
                changed = True
                continue
            if index is None:
                current.setdefault(iri, []).append(stamp_new(copy.copy(instance), now))
                existing = current[iri]
                changed = True
            elif not overwrite:
                report.not_updated.append((iri, "attribute exists and noOverwrite was asked"))
            else:
                created = existing[index].get("createdAt")
                existing[index] = stamp_new(copy.copy(instance), now, created)
                changed = True
        if changed and iri not in report.updated:
            report.updated.append(iri)
    if report.updated:
        entity["modifiedAt"] = now
    return report


def fragment_members(
    entity: dict, fragment: dict, report: UpdateReport, now: str, *, mode: str
) -> None:
    """The ``type`` and ``scope`` members of an attribute fragment (CIM 009 5.6.2, 5.6.3).

    Types are always added. ``mode`` says what a scope does: ``append`` replaces it,
    ``noOverwrite`` adds its values, ``update`` replaces it only when the entity has one.
    """
    types = fragment.get("type")
    if types:
        merge_types(entity, types)
        entity["modifiedAt"] = now
    scope = fragment.get("scope")
    if scope is None:
        return
    if mode == "noOverwrite":
        merge_scope(entity, scope)
    elif mode == "update" and not entity.get("scope"):
        report.not_updated.append((SCOPE_IRI, "the entity has no scope to update"))
        return
    else:
        entity["scope"] = list(scope)
    report.updated.append(SCOPE_IRI)
    entity["modifiedAt"] = now


def delete_scope(entity: dict, now: str) -> None:
    """DELETE /entities/{id}/attrs/scope."""
    if not entity.get("scope"):
        raise ResourceNotFound(f"entity {entity['id']} has no scope")
    del entity["scope"]
    entity["modifiedAt"] = now


def prune_attrs(entity: dict, now: str, *, keep=None, drop=None) -> None:
    """Purge with keep (only these attributes stay) or drop (these attributes go)."""
    attrs = entity.get("attrs", {})
    for iri in list(attrs):
        if (keep is not None and iri not in keep) or (drop is not None and iri in drop):
            del attrs[iri]
    entity["modifiedAt"] = now


def _merge_instance(target: dict, patch: dict, now: str) -> dict:
    """Merge-patch one instance: members replaced, sub-attributes merged, null deletes."""
    merged = dict(target)
    for key, value in patch.items():
        if key in SYSTEM_MEMBERS:
            continue
        if isinstance(value, dict) and value.get(DELETE_MARK):
            merged.pop(key, None)
        elif ":" in key and isinstance(value, dict) and isinstance(target.get(key), dict):
            merged[key] = _merge_instance(target[key], value, now)
        else:
            merged[key] = value
    if patch.get("type") and patch["type"] != target.get("type"):
        # a new attribute type replaces the value member of the old one
        from hyperville.store.indexing import TARGET_KEYS

        for other in set(TARGET_KEYS.values()) - {TARGET_KEYS.get(patch["type"], "value")}:
            if other not in patch:
                merged.pop(other, None)
    merged["modifiedAt"] = now
    return merged


def merge_attrs(entity: dict, attrs: dict[str, list[dict]], now: str) -> UpdateReport:
    """Merge-patch (PATCH /entities/{id}): add, merge or (with null) delete attributes."""
    report = UpdateReport()
    current = entity.setdefault("attrs", {})
    for iri, instances in attrs.items():
        for instance in instances:
            dataset_id = instance.get("datasetId")
            existing = current.get(iri, [])
            index = _find(existing, dataset_id)
            if instance.get(DELETE_MARK):
                if index is not None:
                    del existing[index]
                    if not existing:
                        del current[iri]
                    report.updated.append(iri)
                continue
            if index is None:
                current.setdefault(iri, []).append(stamp_new(copy.copy(instance), now))
            else:
                existing[index] = _merge_instance(existing[index], instance, now)
            if iri not in report.updated:
                report.updated.append(iri)
    entity["modifiedAt"] = now
    return report


def _stored(entity: dict, iri: str) -> list[dict]:
    """The stored instances of an attribute (404 when the entity has none)."""
    existing = entity.get("attrs", {}).get(iri)
    if not existing:
        raise ResourceNotFound(f"attribute {iri} not found in entity {entity['id']}")
    return existing


def _instance_index(existing: list[dict], iri: str, dataset_id: str | None) -> int:
    """Where the instance with this datasetId is (404 when there is none)."""
    index = _find(existing, dataset_id)
    if index is None:
        what = f"datasetId {dataset_id}" if dataset_id else "a default instance"
        raise ResourceNotFound(f"attribute {iri} has no instance with {what}")
    return index


def partial_update_attr(entity: dict, iri: str, patch_instances: list[dict], now: str) -> None:
    """PATCH /entities/{id}/attrs/{attr}: merge members into existing instances."""
    existing = _stored(entity, iri)
    for patch in patch_instances:
        index = _instance_index(existing, iri, patch.get("datasetId"))
        if patch.get(DELETE_MARK):  # NGSI-LD Null: the instance is deleted
            del existing[index]
            continue
        if patch.get("type") and patch["type"] != existing[index].get("type"):
            raise BadRequestData(
                f"attribute {iri} is a {existing[index].get('type')}, not a {patch['type']}"
            )
        existing[index] = _merge_instance(existing[index], patch, now)
    if not existing:
        del entity["attrs"][iri]
    entity["modifiedAt"] = now


def replace_attr(entity: dict, iri: str, instances: list[dict], now: str) -> None:
    """PUT /entities/{id}/attrs/{attr}: replace the instance(s) with the same datasetId."""
    existing = _stored(entity, iri)
    for instance in instances:
        index = _instance_index(existing, iri, instance.get("datasetId"))
        created = existing[index].get("createdAt")
        existing[index] = stamp_new(copy.copy(instance), now, created)
    entity["modifiedAt"] = now


def delete_attr(
    entity: dict, iri: str, now: str, *, dataset_id: str | None = None, delete_all: bool = False
) -> None:
    """DELETE /entities/{id}/attrs/{attr} (one instance, or all with deleteAll)."""
    attrs = entity.get("attrs", {})
    existing = _stored(entity, iri)
    if delete_all:
        del attrs[iri]
    else:
        del existing[_instance_index(existing, iri, dataset_id)]
        if not existing:
            del attrs[iri]
    entity["modifiedAt"] = now


def merge_types(entity: dict, types: list[str]) -> None:
    for entity_type in types:
        if entity_type not in entity["type"]:
            entity["type"].append(entity_type)


def merge_scope(entity: dict, scope: list[str] | None) -> None:
    if scope is None:
        return
    merged = list(entity.get("scope") or [])
    merged.extend(s for s in scope if s not in merged)
    entity["scope"] = merged


def require_same_id(path_id: str, body: dict) -> None:
    body_id = body.get("id")
    if body_id is not None and body_id != path_id:
        raise BadRequestData(
            f"the entity id in the body ({body_id}) differs from the URL ({path_id})"
        )
