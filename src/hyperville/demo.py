"""The demo territory: generated as GIS files, then loaded through the real importers.

``hyperville demo`` calls :func:`prepare_demo` before serving: the first run writes the
Caux Seine–like territory (GeoPackage and CSV in Lambert-93, see docs/demo-territory.md)
next to the database and imports it layer by layer, exactly as a GIS team would import its
own files, then provisions the simulated sensors of ``sensors.csv`` and backfills their
history (see docs/simulator.md); later runs find the twin populated and start at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hyperville.settings import Settings

DEMO_SEED = 76
DEMO_BACKFILL_DAYS = 14  # keeps the first run of the full territory well under 90 s
BACKFILL_MARK = "simulator.backfilled"  # in the territory directory, once the history is in


@dataclass
class DemoState:
    """What :func:`prepare_demo` found or did."""

    entities: int
    built: bool
    seconds: float
    failed_layers: list[str]
    backfill_points: int = 0
    backfill_seconds: float = 0.0


def _entity_count(store) -> int:
    return sum(info.entity_count for info in store.entity_types(""))


def prepare_demo(
    settings: Settings,
    *,
    scale: float = 1.0,
    backfill_days: float = 0,
    provision: bool = False,
    say: Callable[[str], None] = print,
    clock: Callable[[], float] = time.time,
) -> DemoState:
    """Make the demo twin ready in ``settings.db_path``: build it once, reuse it afterwards.

    ``backfill_days`` > 0: also provision the simulated sensors and write that many days of
    their history, once (a mark file records it; later runs skip it). ``provision``: the
    sensors are provisioned even without history (in-process: see simulator/local.py).
    A later start with ``provision`` catches up the readings missed while it was stopped
    (``clock``: epoch seconds now)."""
    from hyperville.api.app import open_store
    from hyperville.gis.importer import Importer
    from hyperville.gis.mapping import load_mapping
    from hyperville.ngsild.context import ContextResolver
    from hyperville.territory import generate_territory
    from hyperville.twin import Twin

    started = time.perf_counter()
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.open()
    try:
        count = _entity_count(store)
        if count:
            state = DemoState(count, False, time.perf_counter() - started, [])
            wanted = backfill_days > 0 or provision
            if wanted and not (demo_files_dir(settings) / BACKFILL_MARK).exists():
                _backfill(settings, Twin(store), state, backfill_days, say)  # interrupted before
            elif provision and backfill_days > 0:
                _catch_up(settings, store, state, backfill_days, say, clock())
            state.seconds = time.perf_counter() - started
            return state
        say("first run: generating the demo territory (GeoPackage and CSV, Lambert-93)…")
        files = generate_territory(
            settings.db_path.parent / "demo-territory", seed=DEMO_SEED, scale=scale
        )
        say(f"importing {files.mapping} through the GIS importers…")
        importer = Importer(
            Twin(store), base_dir=files.mapping.parent, contexts=ContextResolver(allow_remote=False)
        )
        report = asyncio.run(importer.run(load_mapping(files.mapping)))
        failed = [layer.dataset for layer in report.layers if not layer.ok]
        for layer in report.layers:
            state = "ok" if layer.ok else "FAILED: " + "; ".join(layer.errors[:3])
            say(f"  {layer.dataset:<24} {layer.added:>7,} entities  {state}")
        store.analyze()
        state = DemoState(_entity_count(store), True, time.perf_counter() - started, failed)
        if backfill_days > 0 or provision:
            _backfill(settings, Twin(store), state, backfill_days, say)
            state.seconds = time.perf_counter() - started
        return state
    finally:
        store.close()


def _backfill(settings: Settings, twin, state: DemoState, days: float, say) -> None:
    """Provision the simulated sensors and write their history through the ingestion
    pipeline, in-process (simulator/local.py says why not over HTTP)."""
    from hyperville.simulator.devices import load_devices, simulator_token
    from hyperville.simulator.local import provision_and_backfill

    files_dir = demo_files_dir(settings)
    devices = load_devices(files_dir, seed=DEMO_SEED)
    if days > 0:
        say(f"backfilling {days:g} days of sensor history ({len(devices):,} devices)…")
    stats = provision_and_backfill(
        settings, twin, devices, simulator_token(files_dir), days=days, seed=DEMO_SEED, say=say
    )
    if days <= 0:
        return
    say(
        f"  {stats.points:,} points in {stats.seconds:.1f} s "
        f"({stats.points_per_s:,.0f} points/s), {stats.errors} refused"
    )
    state.backfill_points, state.backfill_seconds = stats.points, stats.seconds
    if not stats.errors:
        (files_dir / BACKFILL_MARK).write_text(f"{days:g} days, {stats.points} points\n")


def _catch_up(
    settings: Settings, store, state: DemoState, max_days: float, say, now: float
) -> None:
    """A later start: send each simulated device the readings it would have sent while the
    demo was stopped (from its latest reading in the twin, at most ``max_days`` back), so that
    history charts have no hole and no sensor starts out silent."""
    from hyperville.ingest.devices import expand_name
    from hyperville.simulator.devices import load_devices, simulator_token
    from hyperville.simulator.local import provision_and_backfill
    from hyperville.simulator.runner import BACKFILL_STEP_S
    from hyperville.twin import Twin

    files_dir = demo_files_dir(settings)
    devices = load_devices(files_dir, seed=DEMO_SEED)
    seen = {d.device_id: _last_reading(store, d.entity_id, map(expand_name, d.attributes))
            for d in devices}  # fmt: skip
    known = [t for t in seen.values() if t is not None]
    if not known or now - max(known) < BACKFILL_STEP_S:
        return  # stopped for less than one step of the backfill grid: live data fills it
    days = min(max_days, (now - min(known)) / 86400)
    say(f"catching up {days:.1f} days of sensor history since the last run…")
    stats = provision_and_backfill(
        settings, Twin(store), devices, simulator_token(files_dir), days=days, seed=DEMO_SEED,
        end=now, last_seen=lambda d: seen[d.device_id], say=say,
    )  # fmt: skip
    say(f"  {stats.points:,} points in {stats.seconds:.1f} s, {stats.errors} refused")
    state.backfill_points, state.backfill_seconds = stats.points, stats.seconds


def _last_reading(store, entity_id: str, attr_iris) -> float | None:
    """Epoch seconds of the latest ``observedAt`` among these attributes of the entity."""
    entity = store.get_entity("", entity_id)
    if entity is None:
        return None
    times = [
        datetime.fromisoformat(instance["observedAt"].replace("Z", "+00:00")).timestamp()
        for iri in attr_iris
        for instance in entity.get("attrs", {}).get(iri, ())
        if isinstance(instance.get("observedAt"), str)
    ]
    return max(times, default=None)


def demo_files_dir(settings: Settings) -> Path:
    return settings.db_path.parent / "demo-territory"


def start_live_simulator(
    settings: Settings, base_url: str, *, say: Callable[[str], None] = print
) -> threading.Event:
    """Start the live simulator in a background thread once the server at ``base_url``
    answers; it posts over HTTP (MQTT when ``mqtt_url`` is set). Set the event to stop it."""
    stop = threading.Event()

    def run() -> None:
        import httpx

        from hyperville.simulator.runner import simulate

        deadline = time.monotonic() + 120
        while not stop.is_set():
            try:
                if httpx.get(base_url.rstrip("/") + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                say("sensor simulator: the server did not come up; not started")
                return
            stop.wait(0.2)
        try:
            simulate(
                url=base_url, territory_dir=demo_files_dir(settings), seed=DEMO_SEED,
                mqtt_url=settings.mqtt_url, stop=stop, say=say,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the server goes on without live data
            if not stop.is_set():
                say(f"sensor simulator stopped: {exc}")

    threading.Thread(target=run, name="demo-simulator", daemon=True).start()
    return stop
