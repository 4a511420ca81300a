"""Interned names (IRIs → small integers) and tenants, cached in memory.

The writer adds names inside savepoints that may roll back, so new names stay *pending*
(per operation, then per batch) and reach the shared cache only after COMMIT: a reader never
sees an id that a rollback could hand to another name.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime


class _Interned:
    table = ""
    key_col = ""
    id_col = ""

    def __init__(self) -> None:
        self._committed: dict[str, int] = {}
        self._reverse: dict[int, str] = {}
        self._batch: dict[str, int] = {}
        self._op: dict[str, int] = {}
        self._lock = threading.Lock()

    def load(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(f"SELECT {self.key_col}, {self.id_col} FROM {self.table}").fetchall()
        with self._lock:
            self._committed = dict(rows)
            self._reverse = {v: k for k, v in rows}

    # reader side -----------------------------------------------------------------------
    def get(self, key: str, conn: sqlite3.Connection | None = None) -> int | None:
        """The id of a committed name, or None when it was never stored."""
        found = self._committed.get(key)
        if found is None and conn is not None:
            row = conn.execute(
                f"SELECT {self.id_col} FROM {self.table} WHERE {self.key_col}=?", (key,)
            ).fetchone()
            if row:
                found = row[0]
                with self._lock:
                    self._committed[key] = found
                    self._reverse[found] = key
        return found

    def get_name(self, ident: int, conn: sqlite3.Connection) -> str:
        """The name of a committed id (looked up in the database when not cached)."""
        found = self._reverse.get(ident)
        if found is None:
            row = conn.execute(
                f"SELECT {self.key_col} FROM {self.table} WHERE {self.id_col}=?", (ident,)
            ).fetchone()
            found = row[0]
            with self._lock:
                self._reverse[ident] = found
                self._committed[found] = ident
        return found

    def all(self) -> list[str]:
        return list(self._committed)

    # writer side -----------------------------------------------------------------------
    def pending_or_committed(self, key: str) -> int | None:
        return self._op.get(key) or self._batch.get(key) or self._committed.get(key)

    def _insert(self, conn: sqlite3.Connection, key: str) -> int:
        raise NotImplementedError

    def intern(self, conn: sqlite3.Connection, key: str) -> int:
        found = self._committed.get(key)  # the common case: a name seen before
        if found is not None:
            return found
        found = self._op.get(key) or self._batch.get(key)
        if found is None:
            row = conn.execute(
                f"SELECT {self.id_col} FROM {self.table} WHERE {self.key_col}=?", (key,)
            ).fetchone()
            found = row[0] if row else self._insert(conn, key)
            self._op[key] = found
        return found

    def begin_op(self) -> None:
        self._op = {}

    def end_op(self) -> None:
        self._batch.update(self._op)
        self._op = {}

    def rollback_op(self) -> None:
        self._op = {}

    def commit_batch(self) -> None:
        if self._batch:
            with self._lock:
                self._committed.update(self._batch)
                self._reverse.update({v: k for k, v in self._batch.items()})
            self._batch = {}

    def rollback_batch(self) -> None:
        self._batch = {}
        self._op = {}


class NameTable(_Interned):
    table, key_col, id_col = "names", "iri", "nid"

    def _insert(self, conn: sqlite3.Connection, key: str) -> int:
        return conn.execute("INSERT INTO names(iri) VALUES(?)", (key,)).lastrowid  # type: ignore[return-value]


class TenantTable(_Interned):
    table, key_col, id_col = "tenants", "name", "tid"

    def _insert(self, conn: sqlite3.Connection, key: str) -> int:
        now = datetime.now(UTC).isoformat()
        return conn.execute(  # type: ignore[return-value]
            "INSERT INTO tenants(name, created_at) VALUES(?, ?)", (key, now)
        ).lastrowid
