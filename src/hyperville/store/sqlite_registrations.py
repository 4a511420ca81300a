"""The context source registry in the twin's SQLite file: one JSON document per (kind, tenant, id).

Two kinds of documents live here (:mod:`hyperville.registrations`): context source
registrations (``csourceRegistration``) and the subscriptions to them
(``csourceSubscription``). :class:`SQLiteRegistry` is mixed into
:class:`~hyperville.store.sqlite.SQLiteStore`; its table is created when the store opens
(:func:`create_schema`). Writes go through the store's single writer, so a document is
durable when the call returns; reads use the calling thread's read connection.
"""

from __future__ import annotations

import sqlite3

import orjson

from hyperville.store.base import DEFAULT_TENANT, REGISTRY_KINDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS csource_registry(
    kind TEXT NOT NULL,             -- csourceRegistration | csourceSubscription
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,           -- creation order, for stable listings
    doc BLOB NOT NULL,              -- JSON: the stored document (hyperville.registrations)
    PRIMARY KEY(kind, tenant, id)
) WITHOUT ROWID
"""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the table (idempotent)."""
    conn.execute(SCHEMA)


def _kind(kind: str) -> str:
    if kind not in REGISTRY_KINDS:
        raise ValueError(f"unknown registry kind {kind!r}")
    return kind


class SQLiteRegistry:
    """The context source registry methods of the store interface, for the SQLite store."""

    def _registry_write(self, fn):
        # the function only touches the registry table: any tenant's transaction will do
        return self.transact_sync(DEFAULT_TENANT, lambda tx: fn(tx.conn))  # type: ignore[attr-defined]

    def add_registry_doc(self, kind: str, tenant: str, doc: dict) -> bool:
        key = (_kind(kind), tenant, doc["id"])

        def run(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT 1 FROM csource_registry WHERE kind=? AND tenant=? AND id=?", key
            ).fetchone()
            if found:
                return False
            seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM csource_registry").fetchone()
            conn.execute(
                "INSERT INTO csource_registry(kind, tenant, id, seq, doc) VALUES(?,?,?,?,?)",
                (*key, seq[0], orjson.dumps(doc)),
            )
            return True

        return self._registry_write(run)

    def put_registry_doc(self, kind: str, tenant: str, doc: dict) -> bool:
        row = (orjson.dumps(doc), _kind(kind), tenant, doc["id"])

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE csource_registry SET doc=? WHERE kind=? AND tenant=? AND id=?", row
            )
            return cur.rowcount == 1

        return self._registry_write(run)

    def delete_registry_doc(self, kind: str, tenant: str, doc_id: str) -> bool:
        key = (_kind(kind), tenant, doc_id)

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM csource_registry WHERE kind=? AND tenant=? AND id=?", key
            )
            return cur.rowcount == 1

        return self._registry_write(run)

    def get_registry_doc(self, kind: str, tenant: str, doc_id: str) -> dict | None:
        row = (
            self._reader()  # type: ignore[attr-defined]
            .execute(
                "SELECT doc FROM csource_registry WHERE kind=? AND tenant=? AND id=?",
                (_kind(kind), tenant, doc_id),
            )
            .fetchone()
        )
        return orjson.loads(row[0]) if row else None

    def registry_docs(self, kind: str, tenant: str | None = None) -> list[tuple[str, dict]]:
        conn = self._reader()  # type: ignore[attr-defined]
        sql = "SELECT tenant, doc FROM csource_registry WHERE kind=?"
        args: tuple = (_kind(kind),)
        if tenant is not None:
            sql += " AND tenant=?"
            args += (tenant,)
        rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [(t, orjson.loads(doc)) for t, doc in rows]
