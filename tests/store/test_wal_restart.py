"""The WAL starts over under continuous writes instead of growing until a blocking TRUNCATE."""

from __future__ import annotations

import time

from hyperville.store import sqlite as sqlite_store
from hyperville.store.sqlite import SQLiteStore

V = "https://uri.etsi.org/ngsi-ld/default-context/"


def thing(n: int, value: int) -> dict:
    return {
        "id": f"urn:ngsi-ld:Thing:{n}",
        "type": [V + "Thing"],
        "attrs": {V + "n": [{"type": "Property", "value": value, "unitCode": "C62"}]},
    }


def test_the_wal_starts_over_while_writes_never_stop(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_INTERVAL_S", 0.1)
    store = SQLiteStore(tmp_path / "wal.sqlite")
    store.open()
    try:
        store.transact_sync("", lambda tx: [tx.put(thing(n, 0), is_new=True) for n in range(500)])
        pending = []
        value = 0
        deadline = time.monotonic() + 3.0
        # the writer is never idle: there is always a write queued behind the running one
        while time.monotonic() < deadline and len(store.wal_frames) < 12:
            value += 1

            def run(tx, value=value):
                for n in range(0, 500, 7):
                    entity = thing(n, value)
                    tx.put(entity, is_new=False)

            pending.append(store.submit("", run))
            if len(pending) > 4:
                pending.pop(0).result(timeout=10)
        for future in pending:
            future.result(timeout=10)
        frames = store.wal_frames
        assert len(frames) >= 6, frames
        # frames only grow when the WAL never starts over; here they fall back at least once
        assert any(later < earlier for earlier, later in zip(frames, frames[1:], strict=False)), (
            frames
        )
    finally:
        store.close()
