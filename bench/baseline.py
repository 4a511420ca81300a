"""The same-run baseline: what this machine's SQLite does from Python, with no server at all.

Rows of ``(id TEXT PRIMARY KEY, doc BLOB)`` with ~500-byte documents, written in WAL mode with
``synchronous=NORMAL`` (the server's settings), in transactions of ``batch`` rows; then random
point reads by id. Hyperville's figures are divided by these to get ratios that survive noisy
machines.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path


def _doc(i: int, rng: random.Random) -> bytes:
    # JSON-like text of ~500 bytes, different on every row
    body = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(457))
    return f'{{"id":"urn:ngsi-ld:Bench:{i}","n":{i},"pad":"{body}"}}'.encode()


def sqlite_baseline(
    rows: int = 200_000, *, batch: int = 1000, reads: int = 100_000, directory: str | None = None
) -> dict:
    """Insert ``rows`` rows in batches, then ``reads`` random point SELECTs; rates per second."""
    rng = random.Random(7)
    docs = [_doc(i, rng) for i in range(batch)]  # reused: generation stays out of the timing
    with tempfile.TemporaryDirectory(prefix="hv-bench-sqlite-", dir=directory) as tmp:
        path = Path(tmp) / "baseline.sqlite"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t(id TEXT PRIMARY KEY, doc BLOB NOT NULL)")
        start = time.perf_counter()
        for first in range(0, rows, batch):
            count = min(batch, rows - first)
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO t(id, doc) VALUES(?, ?)",
                ((f"urn:ngsi-ld:Bench:{first + k}", docs[k]) for k in range(count)),
            )
            conn.execute("COMMIT")
        insert_s = time.perf_counter() - start
        ids = [f"urn:ngsi-ld:Bench:{rng.randrange(rows)}" for _ in range(reads)]
        start = time.perf_counter()
        for key in ids:
            conn.execute("SELECT doc FROM t WHERE id=?", (key,)).fetchone()
        read_s = time.perf_counter() - start
        size = path.stat().st_size + Path(f"{path}-wal").stat().st_size
        conn.close()
    return {
        "rows": rows,
        "batch": batch,
        "doc_bytes": len(docs[0]),
        "insert_s": round(insert_s, 3),
        "insert_rows_per_s": round(rows / insert_s),
        "reads": reads,
        "read_s": round(read_s, 3),
        "point_reads_per_s": round(reads / read_s),
        "db_bytes": size,
    }


if __name__ == "__main__":  # python bench/baseline.py
    print(sqlite_baseline())
