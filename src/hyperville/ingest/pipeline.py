"""The ingestion pipeline: a bounded queue of decoded messages, batched into store writes.

Each caller (an HTTP request, the MQTT thread) offers a group of :class:`Message` and gets a
future that resolves after the transaction holding them has COMMITted — only then may it
answer 2xx or PUBACK. A batch runs as ONE function in the store's writer: it records each
message's idempotency key (a redelivery is recognised and skipped), applies the readings
(current state + history, ``twin_history.ingest``) and writes the dead letters, so they all
commit together or not at all.

Back-pressure: at most ``queue_max`` data points wait. ``offer(block=False)`` (HTTP) raises
:class:`TooManyRequests` when full; ``offer(block=True)`` (MQTT) waits, which stops the MQTT
thread from reading, so the broker holds the messages.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from hyperville import twin_history
from hyperville import twin_ops as ops
from hyperville.core.errors import TooManyRequests
from hyperville.ingest.metrics import IngestMetrics
from hyperville.store import sqlite_devices as sql
from hyperville.twin import Twin

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 60.0
MAX_BATCHES_OUT = 2
Reading = tuple[str, str, dict]


@dataclass
class Message:
    """One decoded device message: the readings it gives, or why it is refused."""

    source: str  # http, mqtt, chirpstack, ttn
    tenant: str
    device_id: str | None
    readings: list[Reading] = field(default_factory=list)
    key: bytes | None = None  # idempotency key (sqlite_devices.seen_key)
    reason: str | None = None  # set: dead-letter it instead
    payload: bytes = b""
    topic: str | None = None
    replay_of: int | None = None  # a dead letter being replayed

    @property
    def weight(self) -> int:
        return max(1, len(self.readings))


@dataclass
class Outcome:
    status: str  # accepted, duplicate, dead_letter
    points: int = 0
    reason: str | None = None


@dataclass
class _Item:
    messages: list[Message]
    future: Future
    weight: int
    at: float = field(default_factory=time.monotonic)


class Pipeline:
    def __init__(
        self,
        twin: Twin,
        *,
        metrics: IngestMetrics | None = None,
        queue_max: int = 100_000,
        batch_max: int = 5_000,
        dedup_window_s: int = 7 * 86400,
    ) -> None:
        self.twin = twin
        self.store = twin.store
        self.metrics = metrics or IngestMetrics()
        self.queue_max = queue_max
        self.batch_max = batch_max
        self.dedup_window_s = dedup_window_s
        self._items: collections.deque[_Item] = collections.deque()
        self._pending = 0  # points offered and not yet committed (queued or being written)
        self._inflight: collections.OrderedDict[int, float] = collections.OrderedDict()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = False
        self._batches_out = 0  # batches given to the store writer, not yet committed
        self.metrics.queue_depth = lambda: self._pending
        self.metrics.queue_capacity = queue_max
        self.metrics.oldest_pending = self._oldest

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self.store.transact_sync("", lambda tx: sql.ensure_schema(tx.conn))
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="ingest-batcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages; write what is queued (the store must still be open)."""
        if self._thread is None:
            return
        with self._cond:
            self._running = False
            self._cond.notify_all()
        self._thread.join()
        self._thread = None
        self.wait_idle(timeout)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything offered is committed (or ``timeout``); True when idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and time.monotonic() < deadline:
                self._cond.wait(0.05)
            return not self._pending

    def _oldest(self) -> float | None:
        with self._cond:
            if self._items:
                return self._items[0].at
            return next(iter(self._inflight.values()), None)

    # -- producers ------------------------------------------------------------------------
    def offer(self, messages: list[Message], *, block: bool = False) -> Future:
        """Queue messages; the future resolves to one :class:`Outcome` each, after COMMIT."""
        weight = sum(m.weight for m in messages)
        item = _Item(messages, Future(), weight)
        with self._cond:
            while self._pending and self._pending + weight > self.queue_max:
                if not self._running:
                    raise TooManyRequests("ingestion is stopping", retry_after_s=5)
                if not block:
                    for m in messages:
                        self.metrics.count("rejected", m.source, reason="busy")
                    raise TooManyRequests(
                        f"ingestion queue full ({self._pending} data points waiting)",
                        retry_after_s=1,
                    )
                self._cond.wait(0.5)
            if not self._running:
                raise TooManyRequests("ingestion is not running", retry_after_s=5)
            self._pending += weight
            self._items.append(item)
            self._cond.notify_all()
        return item.future

    async def ingest(self, messages: list[Message]) -> list[Outcome]:
        import asyncio

        return await asyncio.wrap_future(self.offer(messages, block=False))

    def ingest_sync(self, messages: list[Message], timeout: float | None = 60) -> list[Outcome]:
        return self.offer(messages, block=True).result(timeout)

    # -- the batcher ----------------------------------------------------------------------
    def _loop(self) -> None:
        last_prune = time.monotonic()
        while True:
            with self._cond:
                # while the writer has MAX_BATCHES_OUT batches, messages pile up here and
                # the next batch is bigger: one entity read/write for many readings
                while (not self._items or self._batches_out >= MAX_BATCHES_OUT) and (
                    self._running or self._items
                ):
                    self._cond.wait(1.0)
                    if time.monotonic() - last_prune > PRUNE_EVERY_S:
                        break
                if not self._items and not self._running:
                    return
                if self._batches_out >= MAX_BATCHES_OUT:
                    continue
                batch, weight = [], 0
                while self._items and (
                    not batch or weight + self._items[0].weight <= self.batch_max
                ):
                    item = self._items.popleft()
                    batch.append(item)
                    weight += item.weight
                    self._inflight[id(item)] = item.at
            if batch:
                with self._cond:
                    self._batches_out += 1
                self._dispatch(batch)
            if time.monotonic() - last_prune > PRUNE_EVERY_S:
                last_prune = time.monotonic()
                self.store.submit("", self._prune)

    def _prune(self, tx) -> int:
        return sql.prune_seen(tx.conn, self.dedup_window_s)

    def _dispatch(self, batch: list[_Item]) -> None:
        by_tenant: dict[str, list[tuple[_Item, int, Message]]] = {}
        for item in batch:
            for index, message in enumerate(item.messages):
                by_tenant.setdefault(message.tenant, []).append((item, index, message))
        waiting = {id(item): len({m.tenant for m in item.messages}) for item in batch}
        waiting[0] = len(by_tenant)  # the batch itself
        results: dict[int, object] = {id(item): [None] * len(item.messages) for item in batch}
        for tenant, entries in by_tenant.items():
            messages = [m for _, _, m in entries]
            try:
                future = self.store.submit(tenant, self._writer_fn(messages))
            except Exception as exc:  # noqa: BLE001 - the store is closed: fail these
                future = Future()
                future.set_exception(exc)
            future.add_done_callback(
                lambda f, tenant=tenant, entries=entries: self._done(
                    f, tenant, entries, waiting, results
                )
            )

    def _writer_fn(self, messages: list[Message]):
        def run(tx):
            conn, now_s, now = tx.conn, int(time.time()), ops.now_iso()
            at = now
            outcomes: list[Outcome] = []
            readings: list[Reading] = []
            letters = []
            accepted: list[int] = []
            keys = [m.key for m in messages if m.reason is None and m.key is not None]
            fresh = iter(sql.claim_many(conn, keys, now_s) if keys else ())
            for index, m in enumerate(messages):
                if m.reason is not None:
                    outcomes.append(Outcome("dead_letter", reason=m.reason))
                    if m.replay_of is not None:
                        sql.set_dead_letter_reason(conn, m.replay_of, m.reason)
                    else:
                        letters.append(
                            (at, m.source, m.tenant, m.device_id, m.reason, m.payload, m.topic)
                        )
                    continue
                if m.key is not None and not next(fresh):
                    outcomes.append(Outcome("duplicate"))
                    if m.replay_of is not None:
                        sql.delete_dead_letter(conn, m.replay_of)
                    continue
                outcomes.append(Outcome("accepted", points=len(m.readings)))
                readings.extend(m.readings)
                accepted.append(index)
            counts, changes = twin_history.ingest(tx, readings, now) if readings else (None, [])
            if counts is not None and counts.unknown_entity:
                present = set(tx.get_many({r[0] for r in readings}))
                for index in accepted:
                    m = messages[index]
                    if m.readings[0][0] not in present:
                        reason = f"entity {m.readings[0][0]} of device {m.device_id} not found"
                        outcomes[index] = Outcome("dead_letter", reason=reason)
                        if m.key is not None:
                            conn.execute("DELETE FROM ingest_seen WHERE key=?", (m.key,))
                        if m.replay_of is None:
                            letters.append(
                                (at, m.source, m.tenant, m.device_id, reason, m.payload, m.topic)
                            )
                        else:
                            sql.set_dead_letter_reason(conn, m.replay_of, reason)
            for index in accepted:
                replay = messages[index].replay_of
                if replay is not None and outcomes[index].status == "accepted":
                    sql.delete_dead_letter(conn, replay)
            if letters:
                sql.add_dead_letters(conn, letters)
            return outcomes, changes

        return run

    def _done(self, future: Future, tenant: str, entries, waiting, results) -> None:
        error = future.exception()
        if error is None:
            outcomes, changes = future.result()
            if changes and self.twin._listeners:
                self.twin._emit(tenant, changes)
        now = time.monotonic()
        finished: list[_Item] = []
        for n, (item, index, message) in enumerate(entries):
            if error is None and not isinstance(results[id(item)], BaseException):
                outcome = outcomes[n]
                results[id(item)][index] = outcome  # type: ignore[index]
                name = {"accepted": "accepted", "duplicate": "duplicates"}.get(
                    outcome.status, "dead_lettered"
                )
                self.metrics.count(name, message.source)
                if outcome.points:
                    self.metrics.count("points", message.source, outcome.points)
        for key, item in {id(item): item for item, _, _ in entries}.items():
            if error is not None:
                results[key] = error
            waiting[key] -= 1
            if waiting[key] == 0:
                del waiting[key]
                finished.append(item)
        waiting[0] -= 1
        with self._cond:
            if waiting[0] == 0:
                self._batches_out -= 1
            for item in finished:
                self._pending -= item.weight
                self._inflight.pop(id(item), None)
            self._cond.notify_all()
        for item in finished:
            self.metrics.committed(now - item.at)
            outcome_list = results.pop(id(item))
            if isinstance(outcome_list, BaseException):
                item.future.set_exception(outcome_list)
            else:
                item.future.set_result(outcome_list)
