"""One write function's view of the SQLite store, inside the writer's transaction."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from hyperville.store import sqlite_history as history
from hyperville.store.base import EntityQuery, StoreTx
from hyperville.store.indexing import IndexRows, index_rows
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
    """Index rows of new entities, written in bulk by :meth:`SQLiteTx.flush`."""

    types: list[tuple] = field(default_factory=list)
    attrs: list[tuple] = field(default_factory=list)
    values: list[tuple] = field(default_factory=list)
    geometries: list[tuple] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.types or self.attrs or self.values or self.geometries)


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
        self._pks: dict[str, int] = {}
        self._pending = _PendingRows()  # entity id -> pk of the rows this function read
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
        found: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT pk, eid, doc FROM entities WHERE tid=? AND eid IN ({marks})",
                (self.tid, *chunk),
            )
            for pk, eid, doc in rows:
                self._pks[eid] = pk
                found[eid] = orjson.loads(doc)
        return found

    def put(self, entity: dict, *, is_new: bool) -> None:
        tid = self._ensure_tenant()
        doc = orjson.dumps(entity)
        conn = self.conn
        rows = index_rows(entity)
        self.writes += is_new  # updates barely move the statistics; inserts and deletes do
        if is_new:
            pk = conn.execute(
                "INSERT INTO entities(tid, eid, doc) VALUES(?,?,?)", (tid, entity["id"], doc)
            ).lastrowid
            self._pks[entity["id"]] = pk
            self._insert_indexes(tid, pk, rows)
            return
        pk = self._pks.get(entity["id"])
        if pk is None:
            pk = conn.execute(
                "SELECT pk FROM entities WHERE tid=? AND eid=?", (tid, entity["id"])
            ).fetchone()[0]
        conn.execute("UPDATE entities SET doc=? WHERE pk=?", (doc, pk))
        self._update_indexes(tid, pk, rows)

    def delete(self, entity_id: str) -> bool:
        if self.tid is None:
            return False
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
        self.flush()
        conn = self.conn
        conn.execute("DELETE FROM entity_types WHERE pk=?", (pk,))
        conn.execute("DELETE FROM entity_attrs WHERE pk=?", (pk,))
        conn.execute("DELETE FROM attr_values WHERE pk=?", (pk,))
        gids = conn.execute("SELECT gid FROM geo_index WHERE pk=?", (pk,)).fetchall()
        if gids:
            conn.executemany("DELETE FROM geo_rtree WHERE gid=?", gids)
            conn.execute("DELETE FROM geo_index WHERE pk=?", (pk,))

    def _interned(self, rows: IndexRows) -> tuple[set[int], dict[int, int], set[tuple], dict]:
        conn, intern = self.conn, self.names.intern
        types = {intern(conn, t) for t in rows.types}
        attrs = {intern(conn, a): kinds for a, kinds in rows.attrs}
        values = {(intern(conn, key), value) for key, value in rows.values}
        # the box is computed only for geometries that are new or changed (on insert)
        geometries = {
            (intern(conn, attr), _geometry_hash(geometry)): geometry
            for attr, geometry in rows.geometries
        }
        return types, attrs, values, geometries

    def _insert_indexes(self, tid: int, pk: int, rows: IndexRows) -> None:
        """Queue the index rows of a new entity; :meth:`flush` writes them all at once."""
        types, attrs, values, geometries = self._interned(rows)
        pending = self._pending
        pending.types.extend((tid, n, pk) for n in types)
        pending.attrs.extend((n, pk, tid, kinds) for n, kinds in attrs.items())
        pending.values.extend((pk, n, v) for n, v in values)
        pending.geometries.extend((pk, nid, ghash, g) for (nid, ghash), g in geometries.items())

    def flush(self) -> None:
        """Write queued index rows, sorted by index key: B-tree inserts in order are cheaper."""
        pending = self._pending
        if pending.empty():
            return
        conn = self.conn
        conn.executemany("INSERT INTO entity_types(tid, nid, pk) VALUES(?,?,?)", pending.types)
        pending.attrs.sort()
        conn.executemany(
            "INSERT INTO entity_attrs(nid, pk, tid, kinds) VALUES(?,?,?,?)", pending.attrs
        )
        conn.executemany("INSERT INTO attr_values(pk, nid, v) VALUES(?,?,?)", pending.values)
        for pk, nid, ghash, geometry in pending.geometries:
            self._insert_geometry(pk, nid, ghash, geometry)
        self._pending = _PendingRows()

    def _insert_geometry(self, pk: int, nid: int, ghash: int, geometry: dict) -> None:
        box = _geometry_bbox(geometry)
        if box is None:
            return  # not indexable (validated on the way in, so only very old data)
        gid = self.conn.execute(
            "INSERT INTO geo_index(pk, nid, ghash) VALUES(?,?,?)", (pk, nid, ghash)
        ).lastrowid
        self.conn.execute(
            "INSERT INTO geo_rtree(gid, min_lon, max_lon, min_lat, max_lat) VALUES(?,?,?,?,?)",
            (gid, box[0], box[2], box[1], box[3]),
        )

    def _update_indexes(self, tid: int, pk: int, rows: IndexRows) -> None:
        """Write only the index rows that changed: most updates touch one or two values."""
        self.flush()
        types, attrs, values, geometries = self._interned(rows)
        conn = self.conn
        old_types = {n for (n,) in conn.execute("SELECT nid FROM entity_types WHERE pk=?", (pk,))}
        if old_types != types:
            conn.executemany(
                "DELETE FROM entity_types WHERE tid=? AND nid=? AND pk=?",
                [(tid, n, pk) for n in old_types - types],
            )
            conn.executemany(
                "INSERT INTO entity_types(tid, nid, pk) VALUES(?,?,?)",
                [(tid, n, pk) for n in types - old_types],
            )
        old_attrs = dict(conn.execute("SELECT nid, kinds FROM entity_attrs WHERE pk=?", (pk,)))
        if old_attrs != attrs:
            conn.executemany(
                "DELETE FROM entity_attrs WHERE nid=? AND pk=?",
                [(n, pk) for n in old_attrs.keys() - attrs.keys()],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO entity_attrs(nid, pk, tid, kinds) VALUES(?,?,?,?)",
                [(n, pk, tid, k) for n, k in attrs.items() if old_attrs.get(n) != k],
            )
        old_values = set(conn.execute("SELECT nid, v FROM attr_values WHERE pk=?", (pk,)))
        if old_values != values:
            conn.executemany(
                "DELETE FROM attr_values WHERE pk=? AND nid=? AND v=?",
                [(pk, n, v) for n, v in old_values - values],
            )
            conn.executemany(
                "INSERT INTO attr_values(pk, nid, v) VALUES(?,?,?)",
                [(pk, n, v) for n, v in values - old_values],
            )
        old_geo = {
            (nid, ghash): gid
            for gid, nid, ghash in conn.execute(
                "SELECT gid, nid, ghash FROM geo_index WHERE pk=?", (pk,)
            )
        }
        if old_geo.keys() != geometries.keys():
            for key in old_geo.keys() - geometries.keys():
                conn.execute("DELETE FROM geo_rtree WHERE gid=?", (old_geo[key],))
                conn.execute("DELETE FROM geo_index WHERE gid=?", (old_geo[key],))
            for key in geometries.keys() - old_geo.keys():
                self._insert_geometry(pk, key[0], key[1], geometries[key])


def _geometry_hash(geometry: dict) -> int:
    """A stable 63-bit fingerprint of a GeoJSON geometry, to skip unchanged ones on update."""
    digest = hashlib.blake2b(orjson.dumps(geometry), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
