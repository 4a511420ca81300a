"""One write function's view of the SQLite store, inside the writer's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import orjson

from hyperville.store.base import EntityQuery, StoreTx
from hyperville.store.indexing import index_rows
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


class SQLiteTx(StoreTx):
    def __init__(
        self, conn: sqlite3.Connection, names: NameTable, tenants: TenantTable, tenant: str
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

    def _ensure_tenant(self) -> int:
        if self.tid is None:
            self.tid = self.tenants.intern(self.conn, self.tenant)
        return self.tid

    def get(self, entity_id: str) -> dict | None:
        if self.tid is None:
            return None
        row = self.conn.execute(
            "SELECT doc FROM entities WHERE tid=? AND eid=?", (self.tid, entity_id)
        ).fetchone()
        return orjson.loads(row[0]) if row else None

    def get_many(self, entity_ids: Iterable[str]) -> dict[str, dict]:
        ids = list(dict.fromkeys(entity_ids))
        if self.tid is None or not ids:
            return {}
        found: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT eid, doc FROM entities WHERE tid=? AND eid IN ({marks})",
                (self.tid, *chunk),
            )
            for eid, doc in rows:
                found[eid] = orjson.loads(doc)
        return found

    def put(self, entity: dict, *, is_new: bool) -> None:
        tid = self._ensure_tenant()
        doc = orjson.dumps(entity)
        conn = self.conn
        if is_new:
            pk = conn.execute(
                "INSERT INTO entities(tid, eid, doc) VALUES(?,?,?)", (tid, entity["id"], doc)
            ).lastrowid
        else:
            row = conn.execute(
                "SELECT pk FROM entities WHERE tid=? AND eid=?", (tid, entity["id"])
            ).fetchone()
            pk = row[0]
            conn.execute("UPDATE entities SET doc=? WHERE pk=?", (doc, pk))
            self._drop_indexes(pk)
        self._write_indexes(tid, pk, entity)

    def delete(self, entity_id: str) -> bool:
        if self.tid is None:
            return False
        row = self.conn.execute(
            "SELECT pk FROM entities WHERE tid=? AND eid=?", (self.tid, entity_id)
        ).fetchone()
        if row is None:
            return False
        self.conn.execute("DELETE FROM entities WHERE pk=?", (row[0],))
        self._drop_indexes(row[0])
        return True

    def select_ids(self, query: EntityQuery) -> list[str]:
        from hyperville.store.sqlite_query import select_ids

        if self.tid is None:
            return []
        return select_ids(self.conn, self.names, self.tid, query)

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

    def _write_indexes(self, tid: int, pk: int, entity: dict) -> None:
        conn, intern = self.conn, self.names.intern
        rows = index_rows(entity)
        conn.executemany(
            "INSERT OR IGNORE INTO entity_types(tid, nid, pk) VALUES(?,?,?)",
            [(tid, intern(conn, t), pk) for t in rows.types],
        )
        conn.executemany(
            "INSERT INTO entity_attrs(nid, pk, tid, kinds) VALUES(?,?,?,?)",
            [(intern(conn, a), pk, tid, kinds) for a, kinds in rows.attrs],
        )
        if rows.values:
            conn.executemany(
                "INSERT INTO attr_values(pk, nid, v) VALUES(?,?,?)",
                [(pk, intern(conn, key), value) for key, value in rows.values],
            )
        for attr, geometry in rows.geometries:
            box = _geometry_bbox(geometry)
            if box is None:
                continue
            gid = conn.execute(
                "INSERT INTO geo_index(pk, nid) VALUES(?,?)", (pk, intern(conn, attr))
            ).lastrowid
            conn.execute(
                "INSERT INTO geo_rtree(gid, min_lon, max_lon, min_lat, max_lat) VALUES(?,?,?,?,?)",
                (gid, box[0], box[2], box[1], box[3]),
            )
