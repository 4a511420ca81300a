"""Context source notifications (CIM 009 5.3.2, 5.11.7): what registrations changed, to whom.

A :class:`CsourceNotifier` is told of every registration change by the registry service
(on the event loop: registrations change through the API only). For each live csource
subscription of the tenant it compares whether the registration matched before and after
the change, and sends ``{"type": "ContextSourceNotification", "triggerReason":
"newlyMatching" | "updated" | "noLongerMatching", "data": [registrations]}``. A new or
updated subscription is sent every registration it matches (``newlyMatching``); one with a
``timeInterval`` is sent them on creation and every interval, even when none matches (an
empty ``data``: the subscriber learns that nothing is registered). Each registration shows
only its ``information`` items that the subscription selects (5.11.7), except in a
``noLongerMatching`` notification, where none does: it is shown whole. The registrations are
shown in the subscription's ``jsonldContext`` (else its @context).

Delivery reuses :mod:`hyperville.subscriptions.delivery` and ``mqtt_publish`` (the HTTP POST
or the MQTT publication, and the
``notification_allowed_hosts`` check); notifications of one subscription go out one at a
time, in order, and each updates its ``notification`` counters (``timesSent``,
``lastSuccess``…), which are then written back to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import httpx

from hyperville.registrations import model
from hyperville.registrations.csource_model import CompiledCsourceSubscription
from hyperville.registrations.matching import CompiledRegistration
from hyperville.subscriptions.delivery import AllowedHosts, envelope, post, record_delivery
from hyperville.subscriptions.mqtt_publish import MqttPublisher, publish_notification
from hyperville.subscriptions.mqtt_target import is_mqtt

log = logging.getLogger(__name__)
TICK_S = 0.5
Subscriptions = Callable[[str], list[CompiledCsourceSubscription]]
Registrations = Callable[[str], list[CompiledRegistration]]


def notification_request(
    sub: CompiledCsourceSubscription, data: list[CompiledRegistration], reason: str | None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a ContextSourceNotification of ``data``."""
    ctx = sub.notify_context
    shown = [model.render(_relevant(sub, r, reason), r.context, ctx, sys_attrs=False) for r in data]
    reasons = {} if reason is None else {"triggerReason": reason}
    return envelope(
        "ContextSourceNotification",
        sub.id,
        sub.tenant,
        sub.doc,
        ctx,
        shown,
        item_contexts=False,
        **reasons,
    )


def _relevant(sub: CompiledCsourceSubscription, reg: CompiledRegistration, reason) -> dict:
    """The registration as the subscription is shown it: its matching ``information`` only."""
    if reason == "noLongerMatching":
        return reg.doc
    kept = sub.selects.relevant_information(reg)
    if len(kept) == len(reg.doc.get("information", ())):
        return reg.doc
    return {**reg.doc, "information": kept}


def trigger_reason(before: bool, after: bool) -> str | None:
    """Why a registration change concerns a subscription (None: it does not)."""
    if before and after:
        return "updated"
    if after:
        return "newlyMatching"
    return "noLongerMatching" if before else None


class CsourceNotifier:
    """Sends the notifications of csource subscriptions; counters go to ``on_counters``."""

    def __init__(
        self,
        *,
        allowed: AllowedHosts,
        timeout_s: float,
        subscriptions: Subscriptions,
        registrations: Registrations,
        on_counters: Callable[[CompiledCsourceSubscription], Awaitable[None]],
    ) -> None:
        self.allowed = allowed
        self.timeout_s = timeout_s
        self.subscriptions = subscriptions
        self.registrations = registrations
        self.on_counters = on_counters
        self._client: httpx.AsyncClient | None = None
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()
        self._due: dict[tuple[str, str], float] = {}
        self._ticker: asyncio.Task | None = None
        self.mqtt = MqttPublisher(timeout_s)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        self._ticker = asyncio.create_task(self._tick(), name="csource-notifier-periodic")

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self.mqtt.close()

    # -- what to send -------------------------------------------------------------------------
    def registration_changed(
        self, tenant: str, before: CompiledRegistration | None, after: CompiledRegistration | None
    ) -> None:
        """A registration was created (no ``before``), updated or deleted (no ``after``)."""
        now = time.time()
        for sub in self.subscriptions(tenant):
            if sub.time_interval_s is not None or not sub.live(now):
                continue
            matched = before is not None and sub.selects.matches(before)
            matches = after is not None and sub.selects.matches(after)
            reason = trigger_reason(matched, matches)
            if reason is not None:
                self._send(sub, [after or before], reason)  # type: ignore[list-item]

    def subscription_changed(self, sub: CompiledCsourceSubscription) -> None:
        """A subscription was created or updated: send what it matches now (a periodic one:
        even nothing, as every interval)."""
        self._due.pop((sub.tenant, sub.id), None)
        periodic = sub.time_interval_s is not None
        if periodic:
            self._due[(sub.tenant, sub.id)] = time.monotonic() + sub.time_interval_s
        if sub.live(time.time()):
            matching = [r for r in self.registrations(sub.tenant) if sub.selects.matches(r)]
            if matching:
                self._send(sub, matching, "newlyMatching")
            elif periodic:
                self._send(sub, [], None)

    def forget(self, tenant: str, sub_id: str) -> None:
        self._due.pop((tenant, sub_id), None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.mqtt.reap()  # broker connections idle too long
            now, wall = time.monotonic(), time.time()
            for (tenant, sub_id), due in list(self._due.items()):
                if due > now:
                    continue
                sub = next((s for s in self.subscriptions(tenant) if s.id == sub_id), None)
                if sub is None or sub.time_interval_s is None:
                    self._due.pop((tenant, sub_id), None)
                    continue
                self._due[(tenant, sub_id)] = now + sub.time_interval_s
                if sub.live(wall):
                    matching = [r for r in self.registrations(tenant) if sub.selects.matches(r)]
                    self._send(sub, matching, None)

    # -- delivery -----------------------------------------------------------------------------
    def _send(
        self, sub: CompiledCsourceSubscription, data: list[CompiledRegistration], reason: str | None
    ) -> None:
        body, headers = notification_request(sub, data, reason)
        task = asyncio.get_running_loop().create_task(self._deliver(sub, body, headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, sub: CompiledCsourceSubscription, body: bytes, headers: dict) -> None:
        lock = self._locks.setdefault((sub.tenant, sub.id), asyncio.Lock())
        async with lock:  # one subscription's notifications go out in order
            if self._client is None:
                return
            endpoint = sub.doc["notification"]["endpoint"]
            if is_mqtt(endpoint["uri"]):
                error = await publish_notification(self.mqtt, endpoint, body, headers, self.allowed)
            else:
                error = await post(self._client, endpoint["uri"], body, headers, self.allowed)
            self._count(sub, error)
            try:
                await self.on_counters(sub)
            except Exception:  # noqa: BLE001 - counters are rewritten at the next notification
                log.exception("writing the counters of csource subscription %s failed", sub.id)

    @staticmethod
    def _count(sub: CompiledCsourceSubscription, error: str | None) -> None:
        """Keep the delivery counters of ``notification`` (5.2.14) up to date."""
        record_delivery(sub.doc["notification"], error)
        if error is not None:
            log.info("csource notification of %s failed: %s", sub.id, error)
