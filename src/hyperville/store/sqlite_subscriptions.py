"""NGSI-LD subscriptions in the twin's SQLite file: one JSON document per (tenant, id).

:class:`SQLiteSubscriptions` is mixed into :class:`~hyperville.store.sqlite.SQLiteStore`; its
table is created when the store opens (:func:`create_schema`). Writes go through the store's
single writer, so a subscription is durable when the call returns; reads use the calling
thread's read connection.
"""

from __future__ import annotations

import sqlite3

import orjson

from hyperville.store.base import DEFAULT_TENANT

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions(
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,           -- creation order, for stable listings
    doc BLOB NOT NULL,              -- JSON: the stored subscription (hyperville.subscriptions)
    PRIMARY KEY(tenant, id)
) WITHOUT ROWID
"""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the table (idempotent)."""
    conn.execute(SCHEMA)


class SQLiteSubscriptions:
    """The subscription methods of the store interface, for the SQLite store."""

    def _write(self, fn):
        # the function only touches the subscriptions table: any tenant's transaction will do
        return self.transact_sync(DEFAULT_TENANT, lambda tx: fn(tx.conn))  # type: ignore[attr-defined]

    def add_subscription(self, tenant: str, subscription: dict) -> bool:
        sub_id = subscription["id"]

        def run(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT 1 FROM subscriptions WHERE tenant=? AND id=?", (tenant, sub_id)
            ).fetchone()
            if found:
                return False
            seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM subscriptions").fetchone()
            conn.execute(
                "INSERT INTO subscriptions(tenant, id, seq, doc) VALUES(?,?,?,?)",
                (tenant, sub_id, seq[0], orjson.dumps(subscription)),
            )
            return True

        return self._write(run)

    def put_subscription(self, tenant: str, subscription: dict) -> bool:
        doc = orjson.dumps(subscription)

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE subscriptions SET doc=? WHERE tenant=? AND id=?",
                (doc, tenant, subscription["id"]),
            )
            return cur.rowcount == 1

        return self._write(run)

    def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM subscriptions WHERE tenant=? AND id=?", (tenant, subscription_id)
            )
            return cur.rowcount == 1

        return self._write(run)

    def get_subscription(self, tenant: str, subscription_id: str) -> dict | None:
        row = (
            self._reader()  # type: ignore[attr-defined]
            .execute(
                "SELECT doc FROM subscriptions WHERE tenant=? AND id=?", (tenant, subscription_id)
            )
            .fetchone()
        )
        return orjson.loads(row[0]) if row else None

    def subscriptions(self, tenant: str | None = None) -> list[tuple[str, dict]]:
        conn = self._reader()  # type: ignore[attr-defined]
        if tenant is None:
            rows = conn.execute("SELECT tenant, doc FROM subscriptions ORDER BY seq").fetchall()
        else:
            rows = conn.execute(
                "SELECT tenant, doc FROM subscriptions WHERE tenant=? ORDER BY seq", (tenant,)
            ).fetchall()
        return [(t, orjson.loads(doc)) for t, doc in rows]
