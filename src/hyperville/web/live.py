"""Live updates of the operations screen: server-sent events fed by ``Twin.on_change``.

``GET /api/v1/live?types=OffStreetParking,Streetlight`` answers ``text/event-stream``:

- ``hello`` ``{"t": server time (epoch s), "versions": {layer: ETag}}``, first: a screen
  that read a point layer in another version than the one now served reads it again;
- ``alarms`` ``{"t", "all": [...]}`` next, every active alarm (:mod:`hyperville.web.alarms`),
  then ``{"t", "raised": [...], "cleared": [alarm ids]}`` as they change (``raised`` also
  carries alarms whose severity or value changed);
- ``changes`` ``{"t", "changes": [{"id", "type", "layer", "kind", "feature"}]}``: the
  entities of the subscribed types changed since the previous event, coalesced per entity
  and sent at most every 250 ms (``feature`` is the layer's compact feature, ``null`` when
  the entity was deleted or has no geometry). Without ``types`` every type is sent;
- ``reload`` when more changes piled up than a screen should replay.

A comment line keeps the connection alive every 15 s. Changes may come from any thread (the
ingestion writer's included): they are handed to the event loop in batches.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse

from hyperville.store.base import DEFAULT_TENANT
from hyperville.web.alarms import SWEEP_S, AlarmBook
from hyperville.web.layers import LAYERS, LayerSpec, short

COALESCE_S = 0.25
KEEPALIVE_S = 15.0
MAX_PENDING = 50_000  # beyond, the subscriber is told to reload instead


class Subscriber:
    def __init__(self, types: frozenset[str] | None, alarms: bool = True) -> None:
        self.types = types
        self.alarms = alarms
        self.pending: dict[str, dict] = {}
        self.raised: dict[str, dict] = {}
        self.cleared: set[str] = set()
        self.overflow = False
        self.wake = asyncio.Event()

    def offer(self, change: dict) -> None:
        if self.types is not None and change["type"] not in self.types:
            return
        if len(self.pending) >= MAX_PENDING:
            self.overflow = True
        else:
            self.pending[change["id"]] = change
        self.wake.set()

    def offer_alarms(self, raised: list[dict], cleared: list[str]) -> None:
        if not self.alarms:
            return
        for alarm in raised:
            self.raised[alarm["id"]] = alarm
            self.cleared.discard(alarm["id"])
        for alarm_id in cleared:
            self.raised.pop(alarm_id, None)
            self.cleared.add(alarm_id)
        if raised or cleared:
            self.wake.set()


class LiveHub:
    """Fans twin changes and alarms out to the connected screens."""

    def __init__(self, book: AlarmBook) -> None:
        self.book = book
        self.subscribers: set[Subscriber] = set()
        self.published = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._inbox: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._draining = False

    def publish(
        self,
        kind: str,
        entity_id: str,
        entity: dict | None,
        touched: tuple | None,
        alarms: tuple[list[dict], list[str]] = ([], []),
    ) -> None:
        """One change, from any thread; delivered on the event loop."""
        if not self.subscribers or self.loop is None:
            return
        spec: LayerSpec | None = touched[0] if touched else None
        if entity is not None:
            type_name = short(entity.get("type", ["?"])[0])
        else:
            type_name = spec.types[0] if spec else "?"
        change = {
            "id": entity_id,
            "type": type_name,
            "layer": spec.id if spec else None,
            "kind": kind,
            "feature": touched[1] if touched else None,
        }
        with self._lock:
            self._inbox.append((change, alarms))
            if self._draining:
                return
            self._draining = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server stops
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._inbox = self._inbox, collections.deque()
            self._draining = False
        for change, (raised, cleared) in items:
            self.published += 1
            for subscriber in list(self.subscribers):
                subscriber.offer(change)
                subscriber.offer_alarms(raised, cleared)

    async def tick(self) -> None:
        """Look for sensors that fell silent (at most every ``SWEEP_S``); tell everyone."""
        if not self.book.due():
            return
        raised, cleared = await anyio.to_thread.run_sync(self.book.sweep)
        for subscriber in list(self.subscribers):
            subscriber.offer_alarms(raised, cleared)


def _event(name: str, body: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"


async def _stream(hub: LiveHub, subscriber: Subscriber):
    hub.loop = asyncio.get_running_loop()
    hub.subscribers.add(subscriber)
    try:
        cache = hub.book.cache
        versions = {spec.id: cache.etag(spec.id) for spec in LAYERS if spec.geometry == "point"}
        yield _event("hello", {"t": time.time(), "versions": versions})
        if subscriber.alarms:  # changes gathered meanwhile follow; applying them twice is fine
            active = await anyio.to_thread.run_sync(hub.book.snapshot)
            yield _event("alarms", {"t": time.time(), "all": active})
        quiet_since = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscriber.wake.wait(), SWEEP_S)
            await hub.tick()
            if not subscriber.wake.is_set():
                if time.monotonic() - quiet_since >= KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield b": keep-alive\n\n"
                continue
            await asyncio.sleep(COALESCE_S)  # let a burst of writes gather
            subscriber.wake.clear()
            quiet_since = time.monotonic()
            changes, subscriber.pending = list(subscriber.pending.values()), {}
            raised, subscriber.raised = list(subscriber.raised.values()), {}
            cleared, subscriber.cleared = sorted(subscriber.cleared), set()
            if raised or cleared:
                body = {"t": time.time(), "raised": raised, "cleared": cleared}
                yield _event("alarms", body)
            if subscriber.overflow:
                subscriber.overflow = False
                yield _event("reload", {"t": time.time()})
            elif changes:
                yield _event("changes", {"t": time.time(), "changes": changes})
    finally:
        hub.subscribers.discard(subscriber)


async def live(request: Request) -> StreamingResponse:
    raw = request.query_params.get("types")
    types = frozenset(t for t in raw.split(",") if t) if raw else None
    hub: LiveHub = request.app.state.live
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    default = request.headers.get("ngsild-tenant", DEFAULT_TENANT) == DEFAULT_TENANT
    if not default:
        types = frozenset()  # the screen shows the default tenant only, for now
    return StreamingResponse(
        _stream(hub, Subscriber(types, alarms=default)),
        media_type="text/event-stream",
        headers=headers,
    )
