"""SQL of the ingestion tables: devices, idempotency keys and dead letters (SQLite store).

They live in the twin's SQLite file. Writes run inside the store's single writer (functions
given to ``store.submit``, which receive a :class:`~hyperville.store.sqlite_tx.SQLiteTx`), so
an idempotency key, the readings it guards and the current state commit together. Reads use
a connection of the calling thread (the store's read connections, or a plain one for the CLI).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices(
    tenant TEXT NOT NULL,
    device_id TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    mapping BLOB NOT NULL,          -- JSON: the payload allow-list (see ingest/devices.py)
    secret_hash TEXT NOT NULL,      -- scrypt$n$r$p$salt$hash
    created_at TEXT NOT NULL,
    PRIMARY KEY(tenant, device_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS devices_id ON devices(device_id);
CREATE TABLE IF NOT EXISTS ingest_seen(
    key BLOB PRIMARY KEY,           -- 16 bytes of sha256(tenant, device, message id)
    at INTEGER NOT NULL             -- unix seconds, for the retention window
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ingest_seen_at ON ingest_seen(at);
CREATE TABLE IF NOT EXISTS dead_letters(
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    source TEXT NOT NULL,           -- http, mqtt, chirpstack, ttn
    tenant TEXT,
    device_id TEXT,
    reason TEXT NOT NULL,
    payload BLOB,
    topic TEXT
);
"""


@dataclass
class DeviceRow:
    tenant: str
    device_id: str
    entity_id: str
    mapping: dict
    secret_hash: str
    created_at: str


@dataclass
class DeadLetter:
    id: int
    at: str
    source: str
    tenant: str | None
    device_id: str | None
    reason: str
    payload: bytes
    topic: str | None

    def to_json(self, *, preview: int = 200) -> dict:
        text = self.payload[:preview].decode("utf-8", "replace") if self.payload else ""
        return {
            "id": self.id,
            "at": self.at,
            "source": self.source,
            "tenant": self.tenant,
            "deviceId": self.device_id,
            "reason": self.reason,
            "topic": self.topic,
            "payloadBytes": len(self.payload or b""),
            "payloadPreview": text,
        }


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables (idempotent); runs inside the writer's transaction."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def has_schema(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE name='dead_letters'").fetchone()
    return row is not None


# -- devices ----------------------------------------------------------------------------------
def _device(row: tuple) -> DeviceRow:
    return DeviceRow(row[0], row[1], row[2], orjson.loads(row[3]), row[4], row[5])


_DEVICE_COLS = "tenant, device_id, entity_id, mapping, secret_hash, created_at"


def put_device(conn: sqlite3.Connection, device: DeviceRow) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO devices({_DEVICE_COLS}) VALUES(?,?,?,?,?,?)",
        (
            device.tenant,
            device.device_id,
            device.entity_id,
            orjson.dumps(device.mapping),
            device.secret_hash,
            device.created_at,
        ),
    )


def get_device(conn: sqlite3.Connection, tenant: str, device_id: str) -> DeviceRow | None:
    row = conn.execute(
        f"SELECT {_DEVICE_COLS} FROM devices WHERE tenant=? AND device_id=?", (tenant, device_id)
    ).fetchone()
    return _device(row) if row else None


def find_devices(conn: sqlite3.Connection, device_id: str) -> list[DeviceRow]:
    """Devices of any tenant with this id (LoRaWAN network servers do not name our tenant)."""
    rows = conn.execute(
        f"SELECT {_DEVICE_COLS} FROM devices WHERE device_id=?", (device_id,)
    ).fetchall()
    return [_device(r) for r in rows]


def list_devices(
    conn: sqlite3.Connection, tenant: str, *, limit: int = 100, offset: int = 0
) -> list[DeviceRow]:
    rows = conn.execute(
        f"SELECT {_DEVICE_COLS} FROM devices WHERE tenant=? ORDER BY device_id LIMIT ? OFFSET ?",
        (tenant, limit, offset),
    ).fetchall()
    return [_device(r) for r in rows]


def count_devices(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM devices").fetchone()[0]


# -- idempotency keys -------------------------------------------------------------------------
def seen_key(tenant: str, device_id: str, message_id: str) -> bytes:
    return hashlib.sha256(f"{tenant}\x00{device_id}\x00{message_id}".encode()).digest()[:16]


def claim(conn: sqlite3.Connection, key: bytes, now: int) -> bool:
    """Record a message key; False when it was already recorded (a redelivery)."""
    return conn.execute(_CLAIM, (key, now)).rowcount == 1


_CLAIM = "INSERT OR IGNORE INTO ingest_seen(key, at) VALUES(?, ?)"


def claim_many(conn: sqlite3.Connection, keys: list[bytes], now: int) -> list[bool]:
    """:func:`claim` each key in turn (a key given twice is a redelivery the second time), in
    one statement when none was recorded before, which is the common case."""
    unique = sorted(set(keys))  # B-tree inserts in key order are cheaper
    conn.execute("SAVEPOINT claim")
    rows = [(key, now) for key in unique]
    if conn.executemany(_CLAIM, rows).rowcount == len(unique):
        conn.execute("RELEASE claim")
        seen: set[bytes] = set()
        fresh = []
        for key in keys:
            fresh.append(key not in seen)
            seen.add(key)
        return fresh
    conn.execute("ROLLBACK TO claim")
    conn.execute("RELEASE claim")
    return [claim(conn, key, now) for key in keys]


def prune_seen(conn: sqlite3.Connection, window_s: int, now: float | None = None) -> int:
    cutoff = int((now if now is not None else time.time()) - window_s)
    return conn.execute("DELETE FROM ingest_seen WHERE at < ?", (cutoff,)).rowcount


# -- dead letters -----------------------------------------------------------------------------
_DL_COLS = "id, at, source, tenant, device_id, reason, payload, topic"


def add_dead_letters(conn: sqlite3.Connection, letters: Iterable[tuple]) -> None:
    """Rows of (at, source, tenant, device_id, reason, payload, topic)."""
    conn.executemany(
        "INSERT INTO dead_letters(at, source, tenant, device_id, reason, payload, topic) "
        "VALUES(?,?,?,?,?,?,?)",
        letters,
    )


def list_dead_letters(
    conn: sqlite3.Connection,
    *,
    limit: int = 100,
    after_id: int = 0,
    ids: Iterable[int] | None = None,
) -> list[DeadLetter]:
    if ids is not None:
        wanted = list(ids)
        marks = ",".join("?" * len(wanted)) or "NULL"
        rows = conn.execute(
            f"SELECT {_DL_COLS} FROM dead_letters WHERE id IN ({marks}) ORDER BY id", wanted
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_DL_COLS} FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
    return [DeadLetter(*r) for r in rows]


def count_dead_letters(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]


def delete_dead_letter(conn: sqlite3.Connection, letter_id: int) -> None:
    conn.execute("DELETE FROM dead_letters WHERE id=?", (letter_id,))


def set_dead_letter_reason(conn: sqlite3.Connection, letter_id: int, reason: str) -> None:
    conn.execute("UPDATE dead_letters SET reason=? WHERE id=?", (reason, letter_id))
