"""Micro-benchmark of attribute history: bytes per data point and a one-year hourly aggregate.

Runnable alone: ``python bench/temporal.py [--points N] [--runs R]``. It loads one year of
5-minute readings of one sensor (105,120 points) through ``Twin.ingest`` into a fresh SQLite
file, measures the history table with ``dbstat``, then times the 8,760-bucket hourly
aggregate (``aggrMethods=avg,min,max,sum,totalCount`` with ``aggrPeriodDuration=PT1H``) and
the downsampling of the whole year into hourly rows. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hyperville.store.base import HistoryQuery  # noqa: E402
from hyperville.store.sqlite import SQLiteStore  # noqa: E402
from hyperville.store.sqlite_history import iso_to_ms, ms_to_iso  # noqa: E402
from hyperville.twin import Twin  # noqa: E402

ENTITY = "urn:ngsi-ld:AirQualityObserved:bench-1"
ATTR = "https://smartdatamodels.org/dataModel.Environment/temperature"
TYPE = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
START = "2025-01-01T00:00:00.000Z"
STEP_MS = 300_000


def table_bytes(path: Path, *tables: str) -> int:
    conn = sqlite3.connect(path)
    try:
        marks = ",".join("?" * len(tables))
        row = conn.execute(
            f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", tables
        ).fetchone()
        return row[0] or 0
    finally:
        conn.close()


async def load(twin: Twin, points: int) -> float:
    await twin.create("", {"id": ENTITY, "type": [TYPE], "attrs": {}})
    t0 = iso_to_ms(START)
    began = time.perf_counter()
    chunk = 5000
    for first in range(0, points, chunk):
        readings = [
            (
                ENTITY,
                ATTR,
                {
                    "type": "Property",
                    "value": round(12 + 8 * ((i % 288) / 288) + (i % 7) * 0.1, 1),
                    "observedAt": ms_to_iso(t0 + i * STEP_MS),
                },
            )
            for i in range(first, min(points, first + chunk))
        ]
        await twin.ingest("", readings)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=105_120)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        store = SQLiteStore(path)
        store.open()
        twin = Twin(store)
        load_s = asyncio.run(load(twin, args.points))
        store.close()
        raw_bytes = table_bytes(path, "attr_history")
        store.open()
        start = iso_to_ms(START)
        query = HistoryQuery(
            attrs=(ATTR,),
            timerel="between",
            start_ms=start,
            end_ms=start + 365 * 86_400_000,
            aggr_methods=frozenset({"avg", "min", "max", "totalCount"}),
        )
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            buckets = twin.aggregate("", ENTITY, query, 3_600_000)
            times.append((time.perf_counter() - began) * 1000)
        count = len(buckets[ATTR][None])
        began = time.perf_counter()
        removed = asyncio.run(twin.apply_retention(0))
        downsample_s = time.perf_counter() - began
        times_down = []
        for _ in range(args.runs):
            began = time.perf_counter()
            twin.aggregate("", ENTITY, query, 3_600_000)
            times_down.append((time.perf_counter() - began) * 1000)
        store.close()
        hourly_bytes = table_bytes(path, "attr_hourly")
    figures = {
        "points": args.points,
        "ingest_points_per_s": round(args.points / load_s),
        "history_bytes_per_point": round(raw_bytes / args.points, 1),
        "hourly_buckets": count,
        "aggregate_hourly_ms_median": round(statistics.median(times), 1),
        "aggregate_hourly_ms_max": round(max(times), 1),
        "downsampled_rows": removed,
        "downsample_s": round(downsample_s, 2),
        "hourly_bytes_per_hour": round(hourly_bytes / max(count, 1), 1),
        "aggregate_downsampled_ms_median": round(statistics.median(times_down), 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
