"""The store's floor for the batch-upsert workload: what SQLite alone costs on the same file.

After the scenarios, on a copy of the server's own database (100,000+ entities, its real
documents, history and indexes), 1,000 random existing entities per transaction get, in raw
SQLite from Python, with the server's pragmas and no parsing, no JSON-LD, no diffing:

1. ``documents``: their stored document rewritten (with one trailing space more or less);
2. ``+ history``: and one new history row for each attribute that has history (a full-change
   upsert records every attribute);
3. ``+ indexes``: and their indexed values replaced by other ones (each ``attr_values`` row
   deleted and one with another value inserted, both B-trees) and their R*Tree boxes moved.

Each transaction is followed by a passive WAL checkpoint, as the server's checkpointer does
about once a second at this rate. The figures are entities/s; the upsert scenario divided by
them says how far the server is from its storage's own limit on this machine.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

STEPS = ("documents", "+ history", "+ indexes")


def _changed(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + 0.5
    if isinstance(value, str):
        return value + "·"
    return value  # booleans (blobs): rewritten as they are


def _other(doc: bytes) -> bytes:
    """The same JSON document with other bytes: one trailing space more or less."""
    return doc[:-1] if doc.endswith(b" ") else doc + b" "


def upsert_floor(
    db: Path, *, batches: int = 6, batch: int = 1000, seed: int = 11, directory: str | None = None
) -> dict:
    """Entities/s of each step of :data:`STEPS` over ``batches`` transactions of ``batch``."""
    with tempfile.TemporaryDirectory(prefix="hv-bench-floor-", dir=directory) as tmp:
        path = Path(tmp) / "floor.sqlite"
        src = sqlite3.connect(db)
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        src.close()
        shutil.copyfile(db, path)
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "cache_size=-65536",
            "mmap_size=268435456",
            "wal_autocheckpoint=0",
        ):
            conn.execute(f"PRAGMA {pragma}")
        last_pk = conn.execute("SELECT max(pk) FROM entities").fetchone()[0]
        rng = random.Random(seed)
        t_ms = int(time.time() * 1000) + 86_400_000  # after every stored row: all inserts
        results: dict[str, float] = {}
        for level, step in enumerate(STEPS):
            spent = 0.0
            for number in range(batches + 1):  # the first transaction warms the cache
                pks = sorted(rng.sample(range(1, last_pk + 1), batch))
                t_ms += 1000
                start = time.perf_counter()
                _transaction(conn, pks, level, t_ms)
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                if number:
                    spent += time.perf_counter() - start
            results[step] = round(batches * batch / spent)
        conn.close()
    return {"batch": batch, "batches": batches, "entities_per_s": results}


def _transaction(conn: sqlite3.Connection, pks: list[int], level: int, t_ms: int) -> None:
    marks = ",".join("?" * len(pks))
    conn.execute("BEGIN IMMEDIATE")
    docs = conn.execute(f"SELECT pk, doc FROM entities WHERE pk IN ({marks})", pks).fetchall()
    # other bytes (SQLite does not rewrite a row whose new bytes equal the stored ones)
    conn.executemany("UPDATE entities SET doc=? WHERE pk=?", [(_other(d), pk) for pk, d in docs])
    if level >= 1:
        attrs = conn.execute(
            f"SELECT DISTINCT pk, nid FROM attr_history WHERE pk IN ({marks})", pks
        ).fetchall()
        conn.executemany(
            "INSERT OR IGNORE INTO attr_history(pk, nid, t, ds, num, doc, m) "
            "VALUES(?,?,?,0,?,NULL,NULL)",
            [(pk, nid, t_ms, 1.5) for pk, nid in attrs],
        )
    if level >= 2:
        old = conn.execute(
            f"SELECT pk, nid, v FROM attr_values WHERE pk IN ({marks})", pks
        ).fetchall()
        conn.executemany("DELETE FROM attr_values WHERE pk=? AND nid=? AND v=?", old)
        conn.executemany(
            "INSERT OR IGNORE INTO attr_values(pk, nid, v) VALUES(?,?,?)",
            [(pk, nid, _changed(v)) for pk, nid, v in old],
        )
        gids = conn.execute(f"SELECT gid FROM geo_index WHERE pk IN ({marks})", pks).fetchall()
        conn.executemany(
            "UPDATE geo_rtree SET min_lon=min_lon+1e-4, max_lon=max_lon+1e-4 WHERE gid=?", gids
        )
    conn.execute("COMMIT")


if __name__ == "__main__":  # python bench/floor.py DB
    import sys

    print(upsert_floor(Path(sys.argv[1])))
