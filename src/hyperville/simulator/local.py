"""The demo's first backfill, in-process: the ingestion service of the twin, without HTTP.

``hyperville demo`` runs this once, before it starts the server, on the twin it has just
imported. It provisions the devices of ``sensors.csv`` and sends their history through the
same decoding (``Ingestion.device_messages``: payload mapping, ``observedAt``, message ids)
and the same pipeline (batched writes of current state and history) as HTTP and MQTT.

Why not over HTTP: a device token is checked with scrypt (~75 ms of CPU) the first time a
device posts, and hashed again when it is provisioned. For the ~1,760 devices of the full
territory that is over three minutes of CPU before the first reading, more than the whole
budget of the first demo start (90 s). In-process, the shared simulator token is hashed
once. The live simulator that runs next to the server posts over HTTP; its devices come
one by one at their own periods, so their first token checks are spread out.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from hyperville.ingest import devices as dev
from hyperville.settings import Settings

from .devices import SimDevice
from .patterns import FIELDS
from .runner import BACKFILL_STEP_S, Stats, backfill_instants, backfill_times, readings

IN_FLIGHT = 8  # device batches offered to the pipeline before waiting for the oldest


def _device(d: SimDevice, secret_hash: str, created: str) -> dev.Device:
    fields = {}
    for name in d.attributes:
        kind, unit = FIELDS.get(name, ("number", None))
        fields[name] = dev.FieldRule(dev.expand_name(name), kind, unit)
    return dev.Device(
        "", d.device_id, d.entity_id, dev.expand_name(d.entity_type), fields, secret_hash, created
    )


def provision_and_backfill(
    settings: Settings,
    twin,
    devices: list[SimDevice],
    token: str,
    *,
    days: float,
    seed: int,
    end: float | None = None,
    last_seen: Callable[[SimDevice], float | None] | None = None,
    say: Callable[[str], None] = print,
) -> Stats:
    """Provision the devices the twin does not know, then write ``days`` of history.

    ``last_seen(device)``: the epoch seconds of the device's latest reading already in the
    twin, or None; only later instants are sent (the catch-up of a later demo start)."""
    from hyperville.api.ingest import make_ingestion

    service = make_ingestion(settings, twin)
    pipeline = service.pipeline
    pipeline.start()
    stats = Stats()
    started = time.perf_counter()
    try:
        secret_hash = dev.hash_secret(token)  # once, shared: see the module docstring
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        missing = [
            _device(d, secret_hash, created) for d in devices if not service.device("", d.device_id)
        ]
        if missing:
            asyncio.run(service.provision(missing))
        say(f"simulator: {len(devices):,} devices ({len(missing):,} provisioned)")
        end = time.time() if end is None else end
        times = backfill_times(days, BACKFILL_STEP_S, end)
        if not times:
            return stats
        waiting: deque = deque()
        for n, d in enumerate(devices, start=1):
            device = service.device("", d.device_id)
            instants = backfill_instants(d, times, end)
            seen = last_seen(d) if last_seen else None
            if seen is not None:
                instants = [t for t in instants if t > seen]
                if not instants:
                    continue
            body = orjson.dumps(readings(d, instants, seed))
            messages = service.device_messages("simulator", device, body)
            waiting.append((pipeline.offer(messages, block=True), len(messages)))
            while len(waiting) > IN_FLIGHT:
                _collect(waiting.popleft(), stats)
            if n % 250 == 0:
                say(f"  backfill: {n:,} of {len(devices):,} devices")
        while waiting:
            _collect(waiting.popleft(), stats)
    finally:
        pipeline.stop()
        stats.seconds = time.perf_counter() - started
    return stats


def _collect(item, stats: Stats) -> None:
    future, count = item
    outcomes = future.result(timeout=300)
    points = sum(o.points for o in outcomes)
    stats.add(count, points)
    for o in outcomes:
        if o.status == "dead_letter":
            stats.fail(o.reason or "refused")
