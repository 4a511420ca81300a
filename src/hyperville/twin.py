"""The twin: the one service through which everything reads and writes the territory's entities.

The API, ingestion, the CLI, rules and modules call it; none of them touches the store.
Inputs and outputs are *expanded* entities (docs/internals.md). Each write runs as one
function inside a store transaction, so an operation is applied entirely or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hyperville import twin_history as hist
from hyperville import twin_ops as ops
from hyperville.core.errors import (
    AlreadyExists,
    BadRequestData,
    HypervilleError,
    ResourceNotFound,
)
from hyperville.ngsild.order_by import MAX_ORDERED, sort_entities
from hyperville.store.base import (
    EntityQuery,
    EntityStore,
    HistoryQuery,
    HistoryResult,
    QueryResult,
    StoreTx,
)

log = logging.getLogger(__name__)

ChangeListener = Callable[..., None]
"""listener(tenant, change kind, entity id, entity after the change or None when deleted
[, entity before the change]): single-entity replace, update and delete also pass the entity
as it was; other writes (batches, ingestion) pass only the first four, so the fifth argument
must be optional."""


@dataclass
class BatchResult:
    """Per-entity outcome of a batch operation."""

    success: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    errors: list[tuple[str, HypervilleError]] = field(default_factory=list)


class Twin:
    """The territory's digital twin over one store."""

    def __init__(self, store: EntityStore) -> None:
        self.store = store
        self._listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def _emit(self, tenant: str, changes: list[tuple]) -> None:
        for listener in self._listeners:
            for kind, entity_id, entity, *rest in changes:
                try:
                    listener(tenant, kind, entity_id, entity, *rest)
                except Exception:  # noqa: BLE001 - a listener never breaks a write
                    log.exception("change listener failed")

    # -- reads --------------------------------------------------------------------------
    def tenant_exists(self, tenant: str) -> bool:
        return self.store.tenant_exists(tenant)

    def get(self, tenant: str, entity_id: str) -> dict:
        entity = self.store.get_entity(tenant, entity_id)
        if entity is None:
            raise ResourceNotFound(f"entity {entity_id} not found")
        return entity

    def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        if not query.order_by:
            return self.store.query_entities(tenant, query)
        # orderBy: the matching entities are sorted here, backend-neutral, up to MAX_ORDERED
        every = replace(query, limit=MAX_ORDERED, offset=0, count=True, order_by=())
        found = self.store.query_entities(tenant, every)
        if (found.total or 0) > MAX_ORDERED:
            raise BadRequestData(
                f"orderBy sorts at most {MAX_ORDERED:,} matching entities and "
                f"{found.total:,} match: narrow the query"
            )
        ordered = sort_entities(found.entities, query.order_by)
        page = ordered[query.offset : query.offset + query.limit]
        return QueryResult(page, found.total if query.count else None)

    # -- single-entity writes -------------------------------------------------------------
    async def _write(self, tenant: str, fn: Callable[[StoreTx], object]) -> object:
        return await self.store.transact(tenant, fn)

    async def create(self, tenant: str, entity: dict) -> None:
        def run(tx: StoreTx) -> None:
            if tx.get(entity["id"]) is not None:
                raise AlreadyExists(f"entity {entity['id']} already exists")
            now = ops.now_iso()
            hist.write(tx, ops.new_entity(entity, now), now)

        await self._write(tenant, run)
        self._emit(tenant, [("create", entity["id"], entity)])

    async def replace(self, tenant: str, entity: dict) -> None:
        def run(tx: StoreTx) -> dict:
            current = _existing(tx, entity["id"])
            now = ops.now_iso()
            replaced = ops.replaced_entity(current, entity, now)
            hist.write(tx, replaced, now, current)
            return replaced, current

        after, before = await self._write(tenant, run)
        self._emit(tenant, [("replace", entity["id"], after, before)])  # type: ignore[list-item]

    async def delete(self, tenant: str, entity_id: str) -> None:
        def run(tx: StoreTx) -> dict:
            before = tx.get(entity_id)
            if before is None or not tx.delete(entity_id):
                raise ResourceNotFound(f"entity {entity_id} not found")
            return before

        before = await self._write(tenant, run)
        self._emit(tenant, [("delete", entity_id, None, before)])

    async def modify(
        self, tenant: str, entity_id: str, change: Callable[[dict, str], object]
    ) -> object:
        """Apply ``change(entity, now)`` to a stored entity atomically; returns its result.

        ``change`` replaces the instances it changes (``twin_ops`` does), it never edits one
        in place: what changed is told from the instances before (``twin_ops.snapshot``)."""

        def run(tx: StoreTx) -> tuple[object, dict]:
            entity = _existing(tx, entity_id)
            now = ops.now_iso()
            before = ops.snapshot(entity)
            result = change(entity, now)
            hist.write(tx, entity, now, before, deletions=True)
            return result, entity, before

        result, after, before = await self._write(tenant, run)  # type: ignore[misc]
        self._emit(tenant, [("update", entity_id, after, before)])
        return result

    async def merge(self, tenant: str, entity_id: str, patch: dict) -> ops.UpdateReport:
        def change(entity: dict, now: str) -> ops.UpdateReport:
            ops.merge_types(entity, patch.get("type") or [])
            ops.merge_scope(entity, patch.get("scope"))
            return ops.merge_attrs(entity, patch.get("attrs", {}), now)

        return await self.modify(tenant, entity_id, change)  # type: ignore[return-value]

    # -- history and the temporal API ------------------------------------------------------
    def history(self, tenant: str, entity_id: str, query: HistoryQuery) -> HistoryResult:
        return self.store.history(tenant, entity_id, query)

    def aggregate(self, tenant: str, entity_id: str, query: HistoryQuery, period_ms: int | None):
        return self.store.aggregate(tenant, entity_id, query, period_ms)

    async def ingest(self, tenant: str, readings: list[hist.Reading]) -> hist.IngestCounts:
        """Apply sensor readings ``(entity id, attribute IRI, expanded instance)`` in ONE
        transaction: each goes to history; it replaces the current instance (same datasetId)
        only if its observedAt is not older than the current one's."""

        def run(tx: StoreTx):
            return hist.ingest(tx, readings, ops.now_iso())

        counts, changes = await self._write(tenant, run)  # type: ignore[misc]
        self._emit(tenant, changes)
        return counts

    async def temporal_upsert(self, tenant: str, temporal: dict) -> bool:
        """POST /temporal/entities: create the entity or add instances; True when created."""

        def run(tx: StoreTx):
            return hist.temporal_upsert(tx, temporal, ops.now_iso())

        created, after = await self._write(tenant, run)  # type: ignore[misc]
        self._emit(tenant, [("create" if created else "update", temporal["id"], after)])
        return created

    async def append_instances(self, tenant: str, entity_id: str, attrs: dict) -> None:
        """POST /temporal/entities/{id}/attrs: add instances to an existing entity."""

        def run(tx: StoreTx):
            _existing(tx, entity_id)
            return hist.temporal_upsert(tx, {"id": entity_id, "attrs": attrs}, ops.now_iso())

        _created, after = await self._write(tenant, run)  # type: ignore[misc]
        self._emit(tenant, [("update", entity_id, after)])

    async def delete_history(
        self,
        tenant: str,
        entity_id: str,
        attr_iri: str,
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
        instance_id: str | None = None,
    ) -> None:
        """Delete an attribute's history (one dataset, all, or one instance); 404 if none."""

        def run(tx: StoreTx) -> None:
            _existing(tx, entity_id)
            count = tx.delete_history(
                entity_id,
                attr_iri,
                dataset_id=dataset_id,
                all_datasets=delete_all,
                instance_id=instance_id,
            )
            if not count:
                what = f"instance {instance_id}" if instance_id else "history"
                raise ResourceNotFound(f"attribute {attr_iri} of {entity_id}: no such {what}")

        await self._write(tenant, run)

    async def replace_instance(
        self, tenant: str, entity_id: str, attr_iri: str, instance_id: str, instance: dict
    ) -> None:
        """PATCH /temporal/entities/{id}/attrs/{attr}/{instanceId}."""

        def run(tx: StoreTx) -> None:
            _existing(tx, entity_id)
            stamped = ops.stamp_new(dict(instance), ops.now_iso())
            if not tx.replace_history_instance(entity_id, attr_iri, instance_id, stamped):
                raise ResourceNotFound(f"attribute {attr_iri} has no instance {instance_id}")

        await self._write(tenant, run)

    async def apply_retention(self, raw_days: float) -> int:
        """Downsample raw history older than ``raw_days`` days (every tenant) into hourly
        aggregates and delete those raw rows; returns how many raw rows went."""
        import time

        before_ms = int((time.time() - raw_days * 86400) * 1000)
        return await self._write("", lambda tx: tx.downsample_history(before_ms))  # type: ignore[return-value]

    # -- batches --------------------------------------------------------------------------
    async def batch(
        self, tenant: str, mode: str, entities: list[dict], *, options: frozenset[str] = frozenset()
    ) -> BatchResult:
        """Batch create / upsert / update / merge over expanded entities.

        ``mode`` is one of create, upsert, update, merge. ``options`` may hold ``update``
        (upsert in update mode instead of replace) and ``noOverwrite`` (update).
        """

        def run(tx: StoreTx) -> tuple[BatchResult, list]:
            result, changes = BatchResult(), []
            current = tx.get_many(e["id"] for e in entities)
            now = ops.now_iso()
            for entity in entities:
                entity_id = entity["id"]
                try:
                    kind, after, before, report = _batch_one(mode, options, current, entity, now)
                except HypervilleError as error:
                    result.errors.append((entity_id, error))
                    continue
                hist.write(tx, after, now, before)
                if kind == "create":
                    result.created.append(entity_id)
                if report is not None and report.not_updated:
                    result.errors.append((entity_id, _not_updated_error(entity_id, report)))
                else:
                    result.success.append(entity_id)
                current[entity_id] = after
                changes.append((kind, entity_id, after))
            return result, changes

        result, changes = await self._write(tenant, run)  # type: ignore[misc]
        self._emit(tenant, changes)
        return result

    async def batch_delete(self, tenant: str, entity_ids: list[str]) -> BatchResult:
        def run(tx: StoreTx) -> BatchResult:
            result = BatchResult()
            for entity_id in entity_ids:
                if tx.delete(entity_id):
                    result.success.append(entity_id)
                else:
                    result.errors.append(
                        (entity_id, ResourceNotFound(f"entity {entity_id} not found"))
                    )
            return result

        result = await self._write(tenant, run)
        self._emit(tenant, [("delete", i, None) for i in result.success])  # type: ignore[attr-defined]
        return result  # type: ignore[return-value]

    async def purge(
        self,
        tenant: str,
        query: EntityQuery,
        *,
        keep: frozenset[str] | None = None,
        drop: frozenset[str] | None = None,
    ) -> list[str]:
        """Delete every entity matching ``query``; returns the ids purged.

        With ``keep`` (only these attribute IRIs stay) or ``drop`` (these go), the matching
        entities are kept and only lose attributes.
        """
        prune = keep is not None or drop is not None

        def run(tx: StoreTx) -> tuple[list[str], list]:
            ids = tx.select_ids(query)
            changes: list = []
            for entity_id in ids:
                if not prune:
                    tx.delete(entity_id)
                    changes.append(("delete", entity_id, None))
                    continue
                entity = tx.get(entity_id)
                if entity is None:
                    continue
                before = ops.snapshot(entity)
                ops.prune_attrs(entity, ops.now_iso(), keep=keep, drop=drop)
                tx.put(entity, is_new=False, previous=before)
                changes.append(("update", entity_id, entity))
            return ids, changes

        purged, changes = await self._write(tenant, run)  # type: ignore[misc]
        self._emit(tenant, changes)
        return purged


def _existing(tx: StoreTx, entity_id: str) -> dict:
    entity = tx.get(entity_id)
    if entity is None:
        raise ResourceNotFound(f"entity {entity_id} not found")
    return entity


def _not_updated_error(entity_id: str, report: ops.UpdateReport) -> HypervilleError:
    """A batch entity whose attributes were not all updated (noOverwrite)."""
    details = "; ".join(f"{iri}: {reason}" for iri, reason in report.not_updated)
    return BadRequestData(f"entity {entity_id}: some attributes were not updated: {details}")


def _batch_one(
    mode: str, options: frozenset[str], current: dict, entity: dict, now: str
) -> tuple[str, dict, dict | None, ops.UpdateReport | None]:
    """One entity of a batch: (change kind, entity after, entity before or None, report)."""
    entity_id = entity["id"]
    existing = current.get(entity_id)
    if mode == "create" or (mode == "upsert" and existing is None):
        if existing is not None:
            raise AlreadyExists(f"entity {entity_id} already exists")
        return "create", ops.new_entity(entity, now), None, None
    if existing is None:
        raise ResourceNotFound(f"entity {entity_id} not found")
    report = None
    if mode == "upsert" and "update" not in options:
        before = existing  # left as it is: the replacement is a new dict
        after = ops.replaced_entity(existing, entity, now)
    else:
        before = ops.snapshot(existing)
        after = existing
        ops.merge_types(after, entity.get("type") or [])
        if mode == "merge":
            ops.merge_scope(after, entity.get("scope"))
            ops.merge_attrs(after, entity.get("attrs", {}), now)
        else:
            if mode == "upsert":
                ops.merge_scope(after, entity.get("scope"))
            report = ops.append_attrs(
                after, entity.get("attrs", {}), now, overwrite="noOverwrite" not in options
            )
    return "update", after, before, report
