"""Operator commands behind ``hyperville status`` and ``hyperville deadletter list/replay``.

Reads open the SQLite file read-only (safe beside a running server). Replay goes through the
running server (``POST /api/v1/deadletters/replay``) so that its single writer stays the only
one; when no server answers, it opens the store itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from hyperville.ingest.metrics import parse_prometheus
from hyperville.settings import Settings
from hyperville.store import sqlite_devices as sql


def read_only(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    return sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)


def list_letters(settings: Settings, *, limit: int, after: int) -> list[dict]:
    conn = read_only(settings.db_path)
    if conn is None or not sql.has_schema(conn):
        return []
    with conn:
        return [x.to_json() for x in sql.list_dead_letters(conn, limit=limit, after_id=after)]


def status_lines(settings: Settings, base_url: str) -> list[str]:
    lines = [f"database: {settings.db_path}"]
    conn = read_only(settings.db_path)
    if conn is not None and sql.has_schema(conn):
        with conn:
            lines.append(f"devices: {sql.count_devices(conn)}")
            lines.append(f"dead letters: {sql.count_dead_letters(conn)}")
    try:
        text = httpx.get(base_url + "metrics", timeout=3).text
    except httpx.HTTPError as exc:
        lines.append(f"server: not reachable at {base_url} ({type(exc).__name__})")
        return lines
    values = parse_prometheus(text)
    lines.append(f"server: {base_url} (counters since its start)")
    for name in ("received", "accepted", "points", "rejected", "dead_lettered", "duplicates"):
        lines.append(f"  {name}: {int(values.get(f'hyperville_ingest_{name}_total', 0))}")
    depth = int(values.get("hyperville_ingest_queue_depth", 0))
    capacity = int(values.get("hyperville_ingest_queue_capacity", 0))
    lines.append(f"  queue: {depth} / {capacity} data points")
    lines.append(f"  lag: {values.get('hyperville_ingest_lag_seconds', 0):.3f} s")
    return lines


def replay(settings: Settings, base_url: str, body: dict) -> tuple[str, list[dict]]:
    """Replay through the server, or locally when none answers; (where, results)."""
    try:
        answer = httpx.post(base_url + "api/v1/deadletters/replay", json=body, timeout=60)
    except httpx.ConnectError:
        return "locally", _replay_locally(settings, body)
    answer.raise_for_status()
    return base_url, answer.json()


def _replay_locally(settings: Settings, body: dict) -> list[dict]:
    from hyperville.api.app import open_store
    from hyperville.api.ingest import make_ingestion
    from hyperville.twin import Twin

    store = open_store(settings)
    store.open()
    try:
        service = make_ingestion(settings, Twin(store))
        service.pipeline.start()
        try:
            conn = service._conn()
            if body.get("all"):
                letters = sql.list_dead_letters(conn, limit=100_000)
            else:
                letters = sql.list_dead_letters(conn, ids=body.get("ids", []))
            messages = [service.replay_message(letter) for letter in letters]
            outcomes = service.pipeline.ingest_sync(messages) if messages else []
        finally:
            service.pipeline.stop()
    finally:
        store.close()
    return [
        {"id": letter.id, "status": o.status, "points": o.points, "reason": o.reason}
        for letter, o in zip(letters, outcomes, strict=True)
    ]
