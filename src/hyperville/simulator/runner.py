"""Drive the simulated devices through the real ingestion paths of a running server.

- **Provisioning** (idempotent): ``GET /api/v1/devices`` lists what exists, the missing
  devices are created by ``POST /api/v1/devices`` with the simulator's token.
- **Backfill**: the past N days, one reading per device and ``step_s`` (hourly by default,
  whatever the device's live period; streetlights only when they switch), sent as JSON arrays to
  ``POST /ingest/v1/devices/{id}/readings`` by a few concurrent requests; each reading has
  its ``observedAt``, so the history is dated right. Content-based message ids make a rerun
  harmless (the readings are recognised as duplicates).
- **Live**: each device reports at its own period (``interval_s`` of ``sensors.csv``, 5 to
  60 min), at a fixed phase that spreads the devices over the period; by MQTT QoS 1 on
  ``hyperville/_/devices/{id}/up`` when an MQTT broker is configured and answers, by HTTP
  otherwise. ``speed`` simulated seconds pass per real second; the simulated clock starts
  now, and since the twin refuses readings more than a day ahead, a fast run stops when it
  gets 23 hours ahead.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import orjson

from .devices import SimDevice, values
from .patterns import lighting_changes

log = logging.getLogger(__name__)
BACKFILL_STEP_S = 3600
MAX_AHEAD_S = 23 * 3600
PROVISION_CHUNK = 100


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def readings(device: SimDevice, times: Iterable[float], seed: int) -> list[dict]:
    return [{"observedAt": iso(t), **values(device, t, seed)} for t in times]


def backfill_times(days: float, step_s: int, end: float) -> list[float]:
    """Instants on the ``step_s`` grid in (end - days, end]."""
    start = end - days * 86400
    first = (start // step_s + 1) * step_s
    return [float(t) for t in range(int(first), int(end) + 1, step_s)]


def backfill_instants(device: SimDevice, times: list[float], end: float) -> list[float]:
    """When a device reports in a backfill: every grid instant and ``end``, except
    telemanaged streetlights, which report their switches (to the second) and their state at
    ``end``. Without a report at ``end`` the twin would start out with every light silent
    since dusk, and every sensor whose live period is shorter than the grid silent since the
    last full hour."""
    if device.kind != "telemanaged_light":
        return times if times and times[-1] >= end else [*times, end]
    return [times[0], *lighting_changes(times[0], times[-1]), end]


@dataclass
class Stats:
    readings: int = 0
    points: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, n_readings: int, n_points: int) -> None:
        with self.lock:
            self.readings += n_readings
            self.points += n_points
            self.requests += 1

    def fail(self, problem: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.problems) < 10:
                self.problems.append(problem)

    @property
    def points_per_s(self) -> float:
        return self.points / self.seconds if self.seconds else 0.0


class HttpSender:
    """Readings and provisioning over the server's HTTP API."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 120.0) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.client = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=16))
        self.name = "http"

    def close(self) -> None:
        self.client.close()

    def existing(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            page = self.client.get(
                f"{self.base}/api/v1/devices", params={"limit": 1000, "offset": offset}
            )
            page.raise_for_status()
            rows = page.json()
            found.update(row["deviceId"] for row in rows)
            if len(rows) < 1000:
                return found
            offset += len(rows)

    def provision(self, devices: list[SimDevice], say: Callable[[str], None]) -> int:
        """Create the devices the server does not know yet; returns how many were made."""
        known = self.existing()
        missing = [d for d in devices if d.device_id not in known]
        for n in range(0, len(missing), PROVISION_CHUNK):
            chunk = missing[n : n + PROVISION_CHUNK]
            answer = self.client.post(
                f"{self.base}/api/v1/devices", json=[d.spec(self.token) for d in chunk]
            )
            if answer.status_code != 201:
                raise RuntimeError(f"provisioning refused ({answer.status_code}): {answer.text}")
            say(f"  provisioned {n + len(chunk):,} of {len(missing):,} devices")
        return len(missing)

    def send(self, device: SimDevice, batch: list[dict], stats: Stats) -> None:
        body = orjson.dumps(batch)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        url = f"{self.base}/ingest/v1/devices/{device.device_id}/readings"
        for _attempt in range(20):
            try:
                answer = self.client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                stats.fail(f"{device.device_id}: {exc}")
                return
            if answer.status_code == 503:  # the ingestion queue is full: wait as told
                time.sleep(float(answer.headers.get("retry-after", "1")))
                continue
            if answer.status_code >= 300:
                stats.fail(f"{device.device_id}: {answer.status_code} {answer.text[:200]}")
            else:
                stats.add(len(batch), answer.json().get("points", 0))
            return
        stats.fail(f"{device.device_id}: the server stayed busy")


class MqttSender:
    """Readings published with QoS 1 on ``hyperville/_/devices/{id}/up``."""

    def __init__(self, url: str, *, timeout: float = 3.0) -> None:
        from urllib.parse import urlparse

        import paho.mqtt.client as paho

        parsed = urlparse(url)
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="")
        if parsed.username:
            self.client.username_pw_set(parsed.username, parsed.password)
        if parsed.scheme == "mqtts":
            self.client.tls_set()
        port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        self.client.connect(parsed.hostname or "127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while not self.client.is_connected():
            if time.monotonic() > deadline:
                self.close()
                raise ConnectionError(f"the MQTT broker {parsed.hostname}:{port} did not answer")
            time.sleep(0.02)
        self.name = "mqtt"

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def send(self, device: SimDevice, batch: list[dict], stats: Stats) -> None:
        topic = f"hyperville/_/devices/{device.device_id}/up"
        info = self.client.publish(topic, orjson.dumps(batch), qos=1)
        try:
            info.wait_for_publish(10)
        except (RuntimeError, ValueError) as exc:
            stats.fail(f"{device.device_id}: {exc}")
            return
        stats.add(len(batch), sum(len(r) - 1 for r in batch))


def live_sender(mqtt_url: str | None, http: HttpSender, say: Callable[[str], None]):
    """MQTT when a broker is configured and answers, else the HTTP sender."""
    if mqtt_url:
        try:
            sender = MqttSender(mqtt_url)
        except (OSError, ConnectionError) as exc:
            say(f"MQTT broker not reachable ({exc}); sending over HTTP")
        else:
            say(f"live readings by MQTT ({mqtt_url.split('@')[-1]})")
            return sender
    return http


def backfill(
    sender: HttpSender,
    devices: list[SimDevice],
    *,
    days: float,
    seed: int,
    step_s: int = BACKFILL_STEP_S,
    end: float | None = None,
    workers: int = 4,
    say: Callable[[str], None] = print,
) -> Stats:
    """Send ``days`` of hourly history for every device, in one array per device.

    Telemanaged streetlights report by exception: their history holds the instants they
    switch on, dim, brighten and switch off (to the second), not hourly samples."""
    end = time.time() if end is None else end
    times = backfill_times(days, step_s, end)
    stats = Stats()
    started = time.perf_counter()
    if not times:
        return stats

    def one(device: SimDevice) -> None:
        sender.send(device, readings(device, backfill_instants(device, times, end), seed), stats)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill") as pool:
        for n, _ in enumerate(pool.map(one, devices), start=1):
            if n % 250 == 0:
                say(f"  backfill: {n:,} of {len(devices):,} devices, {stats.points:,} points")
    stats.seconds = time.perf_counter() - started
    return stats


def live(
    sender,
    devices: list[SimDevice],
    *,
    seed: int,
    speed: float = 1.0,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    say: Callable[[str], None] = print,
    start: float | None = None,
) -> Stats:
    """Report every device at its period on a simulated clock until ``duration_s`` real
    seconds have passed, ``stop`` is set, or the clock is 23 h ahead of now."""
    stop = stop or threading.Event()
    real0, sim0 = time.monotonic(), time.time() if start is None else start
    stats = Stats()
    queue = []
    for index, device in enumerate(devices):
        period, phase = device.interval_s, device.phase(seed)
        due = (sim0 - phase) // period * period + phase + period
        queue.append((due, index))
    heapq.heapify(queue)
    while queue and not stop.is_set():
        elapsed = time.monotonic() - real0
        if duration_s is not None and elapsed >= duration_s:
            break
        sim_now = sim0 + elapsed * speed
        if sim_now > time.time() + MAX_AHEAD_S:
            say("live: the simulated clock is 23 h ahead, stopping (readings must not be later)")
            break
        due, index = queue[0]
        if due > sim_now:
            wait = (due - sim_now) / speed
            if duration_s is not None:
                wait = min(wait, duration_s - elapsed)
            stop.wait(min(max(wait, 0.0), 0.5))
            continue
        heapq.heapreplace(queue, (due + devices[index].interval_s, index))
        device = devices[index]
        sender.send(device, readings(device, [due], seed), stats)
    stats.seconds = time.monotonic() - real0
    return stats


def simulate(
    *,
    url: str,
    territory_dir,
    seed: int = 76,
    mqtt_url: str | None = None,
    speed: float = 1.0,
    backfill_days: float = 0.0,
    only: str | None = None,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Stats]:
    """``hyperville simulate``: provision, backfill (when asked), then run live."""
    from .devices import load_devices, simulator_token

    devices = load_devices(territory_dir, seed=seed, only=only)
    if not devices:
        raise ValueError(f"no device of kind {only!r} in {territory_dir}/sensors.csv")
    http = HttpSender(url, simulator_token(territory_dir))
    out: dict[str, Stats] = {}
    try:
        made = http.provision(devices, say)
        say(f"{len(devices):,} devices ({made:,} provisioned now) on {url}")
        if backfill_days > 0:
            say(f"backfill: {backfill_days:g} days, one reading per device and hour…")
            stats = backfill(http, devices, days=backfill_days, seed=seed, say=say)
            out["backfill"] = stats
            say(
                f"backfill: {stats.readings:,} readings, {stats.points:,} points in "
                f"{stats.seconds:.1f} s ({stats.points_per_s:,.0f} points/s), "
                f"{stats.errors} errors"
            )
            for problem in stats.problems:
                say(f"  {problem}")
        if duration_s == 0:
            return out
        sender = live_sender(mqtt_url, http, say)
        say(f"live: {len(devices):,} devices at speed {speed:g} (Ctrl+C to stop)")
        try:
            out["live"] = live(
                sender, devices, seed=seed, speed=speed, duration_s=duration_s, stop=stop, say=say
            )
        finally:
            if sender is not http:
                sender.close()
        stats = out["live"]
        say(f"live: {stats.readings:,} readings, {stats.points:,} points, {stats.errors} errors")
        return out
    finally:
        http.close()
