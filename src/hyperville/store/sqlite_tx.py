"""One write function's view of the SQLite store, inside the writer's transaction."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter

import orjson

from hyperville.core.attributes import changed_attributes
from hyperville.store import sqlite_history as history
from hyperville.store.base import EntityQuery, StoreTx
from hyperville.store.indexing import AttributeRows, attribute_rows
from hyperville.store.sqlite_names import NameTable, TenantTable

_GEO_BBOX = None  # resolved lazily: hyperville.core.geo.geometry_bbox


def _geometry_bbox(geometry: dict) -> tuple[float, float, float, float] | None:
    global _GEO_BBOX
    if _GEO_BBOX is None:
        from hyperville.core.geo import geometry_bbox

        _GEO_BBOX = geometry_bbox
    try:
        return _GEO_BBOX(geometry)
    except Exception:  # noqa: BLE001 - validated on the way in; an odd one is just not indexed
        return None


@dataclass
class _PendingRows:
    """Rows queued by :meth:`SQLiteTx.put`, written in bulk by :meth:`SQLiteTx.flush`: one
    statement per table and change, in key order (B-tree writes in order are cheaper)."""

    entities: list[tuple] = field(default_factory=list)  # (pk, tid, eid, doc), new ones
    docs: list[tuple] = field(default_factory=list)  # (doc, pk), changed ones
    types: list[tuple] = field(default_factory=list)  # (tid, nid, pk)
    types_gone: list[tuple] = field(default_factory=list)
    attrs: list[tuple] = field(default_factory=list)  # (nid, pk, tid, kinds)
    attrs_gone: list[tuple] = field(default_factory=list)  # (nid, pk)
    values: list[tuple] = field(default_factory=list)  # (pk, nid, v)
    values_gone: list[tuple] = field(default_factory=list)
    geometries: list[tuple] = field(default_factory=list)  # (pk, nid, ghash, geometry)
    geometries_gone: list[tuple] = field(default_factory=list)  # (pk, nid, ghash)
    pks: set[int] = field(default_factory=set)  # entities with rows queued


_BY_ENTITY_KEY = itemgetter(0, 1)
GET_MANY_SQL = (  # ids as a JSON array, then the tenant id
    "SELECT e.pk, e.eid, e.doc FROM json_each(?) AS j CROSS JOIN entities AS e"
    " ON e.tid=? AND e.eid=j.value"
)
_NO_ROWS = AttributeRows(0, [], [])


class SQLiteTx(StoreTx):
    def __init__(
        self,
        conn: sqlite3.Connection,
        names: NameTable,
        tenants: TenantTable,
        tenant: str,
        history_rows: list[tuple] | None = None,
    ) -> None:
        self.conn = conn
        self.names = names
        self.tenants = tenants
        self.tenant = tenant
        found = tenants.pending_or_committed(tenant)
        if found is None:
            row = conn.execute("SELECT tid FROM tenants WHERE name=?", (tenant,)).fetchone()
            found = row[0] if row else None
        self.tid: int | None = found
        self.writes = 0  # entities inserted or deleted, for the statistics refresh
        self._pks: dict[str, int] = {}  # entity id -> pk, of the entities this function read
        self._pending = _PendingRows()
        self._next_pk: int | None = None  # of the next new entity (see _new_pk)
        self._nids: dict[str, int] = {}  # interned names this function used (see _nid)
        # History rows: this function's, then (when it succeeds) the batch's, written by
        # sqlite_history.write once per batch; see flush_history.
        self.history_rows: list[tuple] = []
        self._batch_history = history_rows if history_rows is not None else []
        self.rewrite_on_rollback: list[tuple] = []

    def _ensure_tenant(self) -> int:
        if self.tid is None:
            self.tid = self.tenants.intern(self.conn, self.tenant)
        return self.tid

    def get(self, entity_id: str) -> dict | None:
        if self.tid is None:
            return None
        if self._pending.pks:
            self.flush()
        row = self.conn.execute(
            "SELECT pk, doc FROM entities WHERE tid=? AND eid=?", (self.tid, entity_id)
        ).fetchone()
        if row is None:
            return None
        self._pks[entity_id] = row[0]
        return orjson.loads(row[1])

    def get_many(self, entity_ids: Iterable[str]) -> dict[str, dict]:
        ids = list(dict.fromkeys(entity_ids))
        if self.tid is None or not ids:
            return {}
        if self._pending.pks:
            self.flush()
        found: dict[str, dict] = {}
        # The ids drive the join (CROSS JOIN fixes the order): one index seek each, whatever
        # the planner's statistics say (stale ones made it scan the table for an IN list).
        rows = self.conn.execute(GET_MANY_SQL, (orjson.dumps(ids), self.tid))
        pks = self._pks
        for pk, eid, doc in rows:
            pks[eid] = pk
            found[eid] = orjson.loads(doc)
        return found

    def put(
        self,
        entity: dict,
        *,
        is_new: bool,
        previous: dict | None = None,
        changed: list[str] | None = None,
    ) -> None:
        tid = self._ensure_tenant()
        entity_id = entity["id"]
        doc = orjson.dumps(entity)
        pending = self._pending
        if is_new:
            pk = self._new_pk()
            self._pks[entity_id] = pk
            self.writes += 1  # updates barely move the statistics; inserts and deletes do
            pending.pks.add(pk)
            pending.entities.append((pk, tid, entity_id, doc))
            self._queue_new_indexes(tid, pk, entity)
            return
        pk = self._pks.get(entity_id)
        if pk is None:
            pk = self._pk(entity_id)
            if pk is None:
                raise KeyError(f"entity {entity_id} is not stored")
        if pk in pending.pks:
            self.flush()  # its queued rows first: the diff below starts from them
        if previous is None:
            stored = self.conn.execute("SELECT doc FROM entities WHERE pk=?", (pk,)).fetchone()
            previous = orjson.loads(stored[0])
            changed = None
        if changed is None:
            changed = changed_attributes(previous.get("attrs", {}), entity.get("attrs", {}))
        pending = self._pending  # a new one after a flush
        pending.pks.add(pk)
        pending.docs.append((doc, pk))
        self._queue_index_changes(tid, pk, previous, entity, changed)

    def _new_pk(self) -> int:
        """Primary keys of new entities are given here, so their rows can wait for flush."""
        if self._next_pk is None:
            last = self.conn.execute("SELECT max(pk) FROM entities").fetchone()[0]
            self._next_pk = (last or 0) + 1
        pk = self._next_pk
        self._next_pk += 1
        return pk

    def delete(self, entity_id: str) -> bool:
        if self.tid is None:
            return False
        self.flush()
        row = self.conn.execute(
            "SELECT pk FROM entities WHERE tid=? AND eid=?", (self.tid, entity_id)
        ).fetchone()
        if row is None:
            return False
        self.flush_history()
        self.conn.execute("DELETE FROM entities WHERE pk=?", (row[0],))
        self._drop_indexes(row[0])
        history.delete(self.conn, row[0])  # its pk may be reused: the history goes too
        self._pks.pop(entity_id, None)
        self.writes += 1
        return True

    def select_ids(self, query: EntityQuery) -> list[str]:
        from hyperville.store.sqlite_query import select_ids

        if self.tid is None:
            return []
        self.flush()
        return select_ids(self.conn, self.names, self.tid, query)

    # -- history (sqlite_history) ---------------------------------------------------------
    def _pk(self, entity_id: str) -> int | None:
        pk = self._pks.get(entity_id)
        if pk is None and self.tid is not None:
            row = self.conn.execute(
                "SELECT pk FROM entities WHERE tid=? AND eid=?", (self.tid, entity_id)
            ).fetchone()
            pk = self._pks[entity_id] = row[0] if row else None
        return pk

    def append_history(self, entity_id: str, attr_iri: str, instances: list[dict]) -> None:
        """Queue the rows; they are written with the rest of the batch's (flush_history)."""
        pk = self._pk(entity_id)
        if pk is not None and instances:
            self.history_rows += history.rows_of(self.conn, self.names, pk, attr_iri, instances)

    def flush_history(self) -> None:
        """Write the queued history rows now: before anything reads or deletes history.

        The batch's rows (of functions already released) are written inside this function's
        savepoint: if it then fails, the store writes them again (``rewrite_on_rollback``)."""
        batch = self._batch_history
        if batch:
            self.rewrite_on_rollback += batch
            history.write(self.conn, batch[:])
            batch.clear()
        if self.history_rows:
            history.write(self.conn, self.history_rows)
            self.history_rows = []

    def delete_history(
        self, entity_id, attr_iri=None, *, dataset_id=None, all_datasets=True, instance_id=None
    ) -> int:
        self.flush_history()
        pk = self._pk(entity_id)
        if pk is None:
            return 0
        nid = None if attr_iri is None else self.names.get(attr_iri, self.conn)
        if attr_iri is not None and nid is None:
            return 0
        if instance_id is not None:
            key = history.parse_instance_id(instance_id)
            if key is None or key[:2] != (pk, nid):
                return 0
            return history.delete(self.conn, pk, nid, key[3], key[2])
        ds = None if all_datasets else history.dataset_nid(self.conn, self.names, dataset_id)
        return history.delete(self.conn, pk, nid, ds)

    def replace_history_instance(self, entity_id, attr_iri, instance_id, instance) -> bool:
        self.flush_history()
        pk = self._pk(entity_id)
        key = history.parse_instance_id(instance_id)
        nid = self.names.get(attr_iri, self.conn)
        if pk is None or key is None or key[:2] != (pk, nid):
            return False
        return history.replace_instance(self.conn, self.names, key, instance)

    def downsample_history(self, before_ms: int) -> int:
        self.flush_history()
        return history.downsample(self.conn, before_ms)

    # -- indexes ------------------------------------------------------------------------
    def _drop_indexes(self, pk: int) -> None:
        conn = self.conn
        conn.execute("DELETE FROM entity_types WHERE pk=?", (pk,))
        conn.execute("DELETE FROM entity_attrs WHERE pk=?", (pk,))
        conn.execute("DELETE FROM attr_values WHERE pk=?", (pk,))
        gids = conn.execute("SELECT gid FROM geo_index WHERE pk=?", (pk,)).fetchall()
        if gids:
            conn.executemany("DELETE FROM geo_rtree WHERE gid=?", gids)
            conn.execute("DELETE FROM geo_index WHERE pk=?", (pk,))

    def _queue_index_changes(
        self, tid: int, pk: int, previous: dict, entity: dict, changed: list[str]
    ) -> None:
        """Queue the index rows that differ between two states of an entity: only those of
        the ``changed`` attributes (most updates change one or two values)."""
        nid, pending = self._nid, self._pending
        old_types, new_types = previous.get("type", ()), entity.get("type", ())
        if old_types != new_types:
            old = {nid(t) for t in old_types}
            new = {nid(t) for t in new_types}
            pending.types_gone += [(tid, n, pk) for n in old - new]
            pending.types += [(tid, n, pk) for n in new - old]
        before, after = previous.get("attrs", {}), entity.get("attrs", {})
        for iri in changed:
            attr = nid(iri)
            old_rows = attribute_rows(iri, before[iri]) if iri in before else _NO_ROWS
            new_rows = attribute_rows(iri, after[iri]) if iri in after else None
            if new_rows is None:
                pending.attrs_gone.append((attr, pk))
                new_rows = _NO_ROWS
            elif old_rows is _NO_ROWS or old_rows.kinds != new_rows.kinds:
                pending.attrs.append((attr, pk, tid, new_rows.kinds))
            old_values = self._value_rows(pk, old_rows.values)
            new_values = self._value_rows(pk, new_rows.values)
            if old_values != new_values:
                pending.values_gone += old_values - new_values
                pending.values += new_values - old_values
            if old_rows.geometries or new_rows.geometries:
                old_geo = {_geometry_hash(g) for g in old_rows.geometries}
                new_geo = {_geometry_hash(g): g for g in new_rows.geometries}
                pending.geometries_gone += [(pk, attr, h) for h in old_geo - new_geo.keys()]
                pending.geometries += [
                    (pk, attr, h, g) for h, g in new_geo.items() if h not in old_geo
                ]

    def _nid(self, name: str) -> int:
        """The id of an IRI or index key (remembered for this function: keys repeat)."""
        found = self._nids.get(name)
        if found is None:
            found = self._nids[name] = self.names.intern(self.conn, name)
        return found

    def _value_rows(self, pk: int, values: list[tuple[str, object]]) -> set[tuple]:
        """``attr_values`` rows ``(pk, nid, v)`` of index values, without duplicates."""
        nids = self._nids
        try:
            return {(pk, nids[key], value) for key, value in values}
        except KeyError:  # keys this function has not used yet
            for key, _ in values:
                self._nid(key)
            return {(pk, nids[key], value) for key, value in values}

    def _queue_new_indexes(self, tid: int, pk: int, entity: dict) -> None:
        """Queue every index row of a new entity."""
        nid, pending = self._nid, self._pending
        pending.types += [(tid, n, pk) for n in {nid(t) for t in entity.get("type", ())}]
        values: list[tuple[str, object]] = []
        for iri, instances in entity.get("attrs", {}).items():
            rows = attribute_rows(iri, instances)
            attr = nid(iri)
            pending.attrs.append((attr, pk, tid, rows.kinds))
            values += rows.values
            if rows.geometries:
                unique = {_geometry_hash(g): g for g in rows.geometries}
                pending.geometries += [(pk, attr, h, g) for h, g in unique.items()]
        pending.values += self._value_rows(pk, values)

    def flush(self) -> None:
        """Write the queued rows, one statement per table and change, in key order."""
        pending = self._pending
        if not pending.pks:
            return
        self._pending = _PendingRows()
        conn = self.conn
        many = conn.executemany
        if pending.entities:
            many("INSERT INTO entities(pk, tid, eid, doc) VALUES(?,?,?,?)", pending.entities)
        if pending.docs:
            pending.docs.sort(key=itemgetter(1))
            many("UPDATE entities SET doc=? WHERE pk=?", pending.docs)
        if pending.types_gone:
            many("DELETE FROM entity_types WHERE tid=? AND nid=? AND pk=?", pending.types_gone)
        if pending.types:
            many("INSERT INTO entity_types(tid, nid, pk) VALUES(?,?,?)", pending.types)
        if pending.attrs_gone:
            many("DELETE FROM entity_attrs WHERE nid=? AND pk=?", pending.attrs_gone)
        if pending.attrs:
            pending.attrs.sort(key=_BY_ENTITY_KEY)
            many(
                "INSERT OR REPLACE INTO entity_attrs(nid, pk, tid, kinds) VALUES(?,?,?,?)",
                pending.attrs,
            )
        if pending.values_gone:
            pending.values_gone.sort(key=_BY_ENTITY_KEY)  # v: text and numbers do not sort
            many("DELETE FROM attr_values WHERE pk=? AND nid=? AND v=?", pending.values_gone)
        if pending.values:
            pending.values.sort(key=_BY_ENTITY_KEY)
            many("INSERT INTO attr_values(pk, nid, v) VALUES(?,?,?)", pending.values)
        if pending.geometries_gone or pending.geometries:
            self._write_geometries(pending.geometries_gone, pending.geometries)

    def _write_geometries(self, gone: list[tuple], added: list[tuple]) -> None:
        """R*Tree rows: a moved geometry keeps its row (one UPDATE), others come and go."""
        conn = self.conn
        free: dict[tuple[int, int], list[int]] = {}  # (pk, nid) -> gids to reuse
        for pk, nid, ghash in gone:
            row = conn.execute(
                "SELECT gid FROM geo_index WHERE pk=? AND nid=? AND ghash=?", (pk, nid, ghash)
            ).fetchone()
            if row is not None:
                free.setdefault((pk, nid), []).append(row[0])
        for pk, nid, ghash, geometry in added:
            box = _geometry_bbox(geometry)
            if box is None:
                continue  # not indexable (validated on the way in, so only very old data)
            reusable = free.get((pk, nid))
            coords = (box[0], box[2], box[1], box[3])
            if reusable:
                gid = reusable.pop()
                conn.execute("UPDATE geo_index SET ghash=? WHERE gid=?", (ghash, gid))
                conn.execute(
                    "UPDATE geo_rtree SET min_lon=?, max_lon=?, min_lat=?, max_lat=? WHERE gid=?",
                    (*coords, gid),
                )
                continue
            gid = conn.execute(
                "INSERT INTO geo_index(pk, nid, ghash) VALUES(?,?,?)", (pk, nid, ghash)
            ).lastrowid
            conn.execute(
                "INSERT INTO geo_rtree(gid, min_lon, max_lon, min_lat, max_lat) VALUES(?,?,?,?,?)",
                (gid, *coords),
            )
        for gids in free.values():
            for gid in gids:
                conn.execute("DELETE FROM geo_rtree WHERE gid=?", (gid,))
                conn.execute("DELETE FROM geo_index WHERE gid=?", (gid,))


def _geometry_hash(geometry: dict) -> int:
    """A stable 63-bit fingerprint of a GeoJSON geometry, to skip unchanged ones on update."""
    digest = hashlib.blake2b(orjson.dumps(geometry), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
