"""Live updates of the operations screen: server-sent events fed by ``Twin.on_change``.

``GET /api/v1/live?types=OffStreetParking,Streetlight`` answers ``text/event-stream``. Each
``changes`` event carries the entities changed since the previous one, coalesced per entity
and sent at most every 250 ms: ``{"t": server time (epoch s), "changes": [{"id", "type",
"layer", "kind", "feature"}]}`` (``feature`` is the layer's compact feature, ``null`` when the
entity was deleted or has no geometry). Without ``types`` every type is sent. A comment line
keeps the connection alive every 15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse

from hyperville.store.base import DEFAULT_TENANT
from hyperville.web.layers import LayerSpec, short

COALESCE_S = 0.25
KEEPALIVE_S = 15.0
MAX_PENDING = 50_000  # beyond, the subscriber is told to reload instead


class Subscriber:
    def __init__(self, types: frozenset[str] | None) -> None:
        self.types = types
        self.pending: dict[str, dict] = {}
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


class LiveHub:
    """Fans twin changes out to the connected screens (runs on the event loop)."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.published = 0

    def publish(
        self, kind: str, entity_id: str, entity: dict | None, touched: tuple | None
    ) -> None:
        if not self.subscribers:
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
        self.published += 1
        for subscriber in list(self.subscribers):
            subscriber.offer(change)


def _event(name: str, body: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"


async def _stream(hub: LiveHub, subscriber: Subscriber):
    hub.subscribers.add(subscriber)
    try:
        yield _event("hello", {"t": time.time()})
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscriber.wake.wait(), KEEPALIVE_S)
            if not subscriber.wake.is_set():
                yield b": keep-alive\n\n"
                continue
            await asyncio.sleep(COALESCE_S)  # let a burst of writes gather
            subscriber.wake.clear()
            changes, subscriber.pending = list(subscriber.pending.values()), {}
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
    if request.headers.get("ngsild-tenant", DEFAULT_TENANT) != DEFAULT_TENANT:
        types = frozenset()  # the screen shows the default tenant only, for now
    return StreamingResponse(
        _stream(hub, Subscriber(types)),
        media_type="text/event-stream",
        headers=headers,
    )
