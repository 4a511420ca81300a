"""Notifications from the twin's changes, delivered beside the writes, never in their way.

:meth:`Notifier.on_change` is a ``Twin.on_change`` listener; it may run on the event loop or
on the store's writer thread. It only tests entity ids and types against the subscriptions
of the tenant (a snapshot tuple, swapped whole when one changes) and appends to a bounded
queue: when the queue is full the change is dropped and counted (``dropped_changes``), the
write never waits.

One worker task on the event loop drains that queue: full matching (triggers, watched
attributes, ``q``, ``geoQ``, ``scopeQ``), throttling, rendering. The changes of one drain
for one subscription go out as one notification (the latest state of each entity). Each
subscription has its own lane: a bounded deque (``LANE_MAX`` notifications, beyond which
they are dropped and counted) and at most one delivery at a time, so a slow or dead endpoint
delays only its own subscription; at most ``DELIVERIES_MAX`` are in flight in all, each
bounded by the ``notification_timeout_s`` setting. Endpoints are POSTed to (http, https) or
published to an MQTT broker (mqtt, mqtts: :mod:`.mqtt_publish`, one connection per broker).
A ticker sends the periodic (``timeInterval``) notifications and closes idle MQTT
connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import anyio
import httpx

from hyperville.api import linked
from hyperville.store.base import EntityQuery
from hyperville.subscriptions.delivery import (
    AllowedHosts,
    Event,
    post,
    record_delivery,
    render_event,
    request_of,
)
from hyperville.subscriptions.matching import Change, Compiled
from hyperville.subscriptions.mqtt_publish import MqttPublisher, publish_notification
from hyperville.subscriptions.mqtt_target import is_mqtt

log = logging.getLogger(__name__)
LANE_MAX = 100
DELIVERIES_MAX = 16
TICK_S = 0.5
PERIODIC_MAX_ENTITIES = 1000


class _Lane:
    def __init__(self) -> None:
        self.pending: deque[tuple[bytes, dict]] = deque()
        self.task: asyncio.Task | None = None


class Notifier:
    """Matches twin changes against subscriptions and delivers their notifications."""

    def __init__(
        self,
        twin,
        *,
        queue_max: int,
        timeout_s: float,
        allowed: AllowedHosts,
        find: Callable[[str, str], Compiled | None],
        on_counters: Callable[[Compiled], None],
    ) -> None:
        self.twin = twin
        self.queue_max = queue_max
        self.timeout_s = timeout_s
        self.allowed = allowed
        self.find = find  # the current version of a subscription (it may have been updated)
        self.on_counters = on_counters
        self.by_tenant: dict[str, tuple[Compiled, ...]] = {}
        self.dropped_changes = 0
        self.dropped_notifications = 0
        self.throttled = 0
        self._events: deque = deque()
        self._lock = threading.Lock()
        self._wake_pending = False
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._due: dict[tuple[str, str], float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self.mqtt = MqttPublisher(timeout_s)

    # -- the index the listener reads -------------------------------------------------------
    def index(self, tenant: str, subscriptions: tuple[Compiled, ...]) -> None:
        """Replace a tenant's subscriptions (one assignment: safe for the listener)."""
        self.by_tenant = {**self.by_tenant, tenant: subscriptions}
        for sub in subscriptions:
            if sub.time_interval_s is not None:
                self._due.setdefault((tenant, sub.id), time.monotonic() + sub.time_interval_s)

    def forget(self, tenant: str, sub_id: str) -> None:
        self._due.pop((tenant, sub_id), None)
        lane = self._lanes.pop((tenant, sub_id), None)
        if lane is not None and lane.task is not None:
            lane.task.cancel()

    # -- the listener: cheap, thread-safe, never blocks --------------------------------------
    def on_change(
        self,
        tenant: str,
        kind: str,
        entity_id: str,
        entity: dict | None,
        previous: dict | None = None,
    ) -> None:
        subs = self.by_tenant.get(tenant)
        if not subs or self._loop is None:
            return
        now = time.time()
        seen = entity if entity is not None else previous
        types = None if seen is None else frozenset(seen.get("type") or ())
        hits = [
            s
            for s in subs
            if s.time_interval_s is None and s.live(now) and s.selects(entity_id, types)
        ]
        if not hits:
            return
        with self._lock:
            if len(self._events) >= self.queue_max:
                self.dropped_changes += 1
                return
            self._events.append((hits, kind, entity_id, entity, previous))
            wake, self._wake_pending = not self._wake_pending, True
        if wake:
            self._loop.call_soon_threadsafe(self._wake.set)  # type: ignore[union-attr]

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(DELIVERIES_MAX)
        self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        self._tasks = [
            asyncio.create_task(self._drain_changes(), name="notifier-changes"),
            asyncio.create_task(self._tick(), name="notifier-periodic"),
        ]

    async def stop(self) -> None:
        self._loop = None
        lanes = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in [*self._tasks, *lanes]:
            task.cancel()
        for task in [*self._tasks, *lanes]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()
        await self.mqtt.close()

    # -- matching and rendering -----------------------------------------------------------------
    async def _drain_changes(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch, self._events = self._events, deque()
                self._wake_pending = False
            try:
                await self._match(batch)
            except Exception:  # noqa: BLE001 - one bad batch must not stop notifications
                log.exception("notification matching failed")

    async def _match(self, batch: deque) -> None:
        found: dict[int, tuple[Compiled, dict[str, Event]]] = {}
        for hits, kind, entity_id, entity, previous in batch:
            for sub in hits:
                change = sub.triggered(kind, entity_id, entity, previous)
                if change is not None:
                    events = found.setdefault(id(sub), (sub, {}))[1]
                    events[entity_id] = (kind, entity_id, entity, previous, change)
        for sub, events in found.values():
            now = time.monotonic()
            if sub.throttling_s and now - sub.last_sent < sub.throttling_s:
                self.throttled += 1
                continue
            sub.last_sent = now
            await self._send(sub, list(events.values()))

    async def _send(self, sub: Compiled, events: list[Event]) -> None:
        cache = None
        if sub.options.join is not None:
            roots = [e[2] for e in events if e[2] is not None]
            cache = await linked.resolve_async(self.twin, sub.tenant, roots, sub.options)
        data = [item for event in events for item in render_event(sub, event, cache)]
        self._enqueue(sub, *request_of(sub, data))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.mqtt.reap()
            now, wall = time.monotonic(), time.time()
            for subs in list(self.by_tenant.values()):
                for sub in subs:
                    key = (sub.tenant, sub.id)
                    if sub.time_interval_s is None or self._due.get(key, now + 1) > now:
                        continue
                    self._due[key] = now + sub.time_interval_s
                    if sub.live(wall):
                        try:
                            await self._periodic(sub)
                        except Exception:  # noqa: BLE001 - the next period tries again
                            log.exception("periodic notification of %s failed", sub.id)

    async def _periodic(self, sub: Compiled) -> None:
        """A timeInterval notification: every entity the subscription selects, as it is."""
        found: dict[str, dict] = {}
        for selector in sub.selectors or (None,):
            query = EntityQuery(
                type_expr=selector.types if selector else None,
                ids=(selector.entity_id,) if selector and selector.entity_id else (),
                id_pattern=selector.pattern.pattern if selector and selector.pattern else None,
                q=sub.q,
                geo=sub.geo,
                scope_q=sub.scope_q,
                limit=PERIODIC_MAX_ENTITIES,
            )
            result = await anyio.to_thread.run_sync(self.twin.query, sub.tenant, query)
            for entity in result.entities:
                found.setdefault(entity["id"], entity)
        if found:
            events = [("update", i, e, None, Change()) for i, e in found.items()]
            await self._send(sub, events)  # type: ignore[arg-type]

    # -- delivery -----------------------------------------------------------------------------
    def _enqueue(self, sub: Compiled, body: bytes, headers: dict) -> None:
        key = (sub.tenant, sub.id)
        lane = self._lanes.setdefault(key, _Lane())
        if len(lane.pending) >= LANE_MAX:
            self.dropped_notifications += 1
            return
        lane.pending.append((body, headers))
        if lane.task is None or lane.task.done():
            lane.task = asyncio.create_task(self._deliver(sub.tenant, sub.id, lane))

    async def _deliver(self, tenant: str, sub_id: str, lane: _Lane) -> None:
        assert self._slots is not None and self._client is not None
        while lane.pending:
            body, headers = lane.pending.popleft()
            sub = self.find(tenant, sub_id)
            if sub is None:
                return
            endpoint = sub.doc["notification"]["endpoint"]
            async with self._slots:
                if is_mqtt(endpoint["uri"]):
                    error = await publish_notification(
                        self.mqtt, endpoint, body, headers, self.allowed
                    )
                else:
                    error = await post(self._client, endpoint["uri"], body, headers, self.allowed)
            self._count(self.find(tenant, sub_id) or sub, error)

    def _count(self, sub: Compiled, error: str | None) -> None:
        """Keep the delivery counters of ``notification`` (5.2.14) up to date."""
        record_delivery(sub.doc["notification"], error)
        if error is not None:
            log.info("notification of %s failed: %s", sub.id, error)
        self.on_counters(sub)
