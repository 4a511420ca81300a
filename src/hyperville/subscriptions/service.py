"""The subscriptions of every tenant: kept by the store, compiled in memory, fed to the notifier.

Every write goes to the store before the memory index changes, so what a client was told
was created survives a restart. The notifier's delivery counters (``timesSent``,
``lastSuccess``…) change often: they are written back every ``FLUSH_S`` seconds and when
the server stops, not on each notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import anyio

from hyperville.core.errors import AlreadyExists, ResourceNotFound
from hyperville.ngsild.context import Context, ContextResolver
from hyperville.store.base import EntityStore
from hyperville.subscriptions import model
from hyperville.subscriptions.delivery import AllowedHosts
from hyperville.subscriptions.matching import Compiled, compile_subscription
from hyperville.subscriptions.notifier import Notifier

log = logging.getLogger(__name__)
FLUSH_S = 2.0


class SubscriptionService:
    """Create, read, update and delete subscriptions; the notifier sees each change."""

    def __init__(
        self,
        store: EntityStore,
        contexts: ContextResolver,
        twin,
        *,
        allowed_hosts: str,
        queue_max: int,
        timeout_s: float,
    ) -> None:
        self.store = store
        self.contexts = contexts
        self.allowed = AllowedHosts(allowed_hosts)
        self.subs: dict[str, dict[str, Compiled]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._flusher: asyncio.Task | None = None
        self.notifier = Notifier(
            twin,
            queue_max=queue_max,
            timeout_s=timeout_s,
            allowed=self.allowed,
            find=self.find,
            on_counters=lambda sub: self._dirty.add((sub.tenant, sub.id)),
        )
        twin.on_change(self.notifier.on_change)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the stored subscriptions, then start notifying."""
        stored = await anyio.to_thread.run_sync(self.store.subscriptions)
        for tenant, doc in stored:
            try:
                compiled = await self._compile(tenant, doc)
            except Exception as exc:  # noqa: BLE001 - one broken subscription keeps its peers
                log.error("subscription %s of tenant %r not loaded: %s", doc.get("id"), tenant, exc)
                continue
            self.subs.setdefault(tenant, {})[compiled.id] = compiled
        for tenant in self.subs:
            self._publish(tenant)
        await self.notifier.start()
        self._flusher = asyncio.create_task(self._flush_loop(), name="subscription-counters")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.notifier.stop()
        await self.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - counters are retried at the next flush
                log.exception("writing subscription counters failed")

    async def flush(self) -> None:
        """Write the delivery counters that changed since the last flush."""
        dirty, self._dirty = self._dirty, set()
        for tenant, sub_id in dirty:
            sub = self.find(tenant, sub_id)
            if sub is not None:
                await anyio.to_thread.run_sync(self.store.put_subscription, tenant, sub.doc)

    # -- reads --------------------------------------------------------------------------------
    def find(self, tenant: str, sub_id: str) -> Compiled | None:
        return self.subs.get(tenant, {}).get(sub_id)

    def get(self, tenant: str, sub_id: str) -> Compiled:
        found = self.find(tenant, sub_id)
        if found is None:
            raise ResourceNotFound(f"subscription {sub_id} not found")
        return found

    def list(self, tenant: str) -> list[Compiled]:
        """The tenant's subscriptions in creation order."""
        return list(self.subs.get(tenant, {}).values())

    # -- writes -------------------------------------------------------------------------------
    async def create(self, tenant: str, body: dict, ctx: Context) -> str:
        raw = None if ctx is self.contexts.core() else ctx.raw
        doc = model.new_document(body, raw)
        compiled = await self._checked(tenant, doc, ctx)
        if not await anyio.to_thread.run_sync(self.store.add_subscription, tenant, doc):
            raise AlreadyExists(f"subscription {doc['id']} already exists")
        self.subs.setdefault(tenant, {})[compiled.id] = compiled
        self._publish(tenant)
        return compiled.id

    async def update(self, tenant: str, sub_id: str, fragment: dict, ctx: Context) -> None:
        current = self.get(tenant, sub_id)
        doc = model.apply_fragment(current.doc, fragment, ctx, current.context)
        compiled = await self._checked(tenant, doc, current.context)
        if not await anyio.to_thread.run_sync(self.store.put_subscription, tenant, doc):
            raise ResourceNotFound(f"subscription {sub_id} not found")
        self.subs[tenant][sub_id] = compiled
        self.notifier.forget(tenant, sub_id)  # a new timeInterval starts now
        self._publish(tenant)

    async def delete(self, tenant: str, sub_id: str) -> None:
        self.get(tenant, sub_id)
        await anyio.to_thread.run_sync(self.store.delete_subscription, tenant, sub_id)
        del self.subs[tenant][sub_id]
        self.notifier.forget(tenant, sub_id)
        self._publish(tenant)

    # -- helpers ------------------------------------------------------------------------------
    async def _checked(self, tenant: str, doc: dict, ctx: Context) -> Compiled:
        self.allowed.check(doc["notification"]["endpoint"]["uri"])
        return await self._compile(tenant, doc, ctx)

    async def _compile(self, tenant: str, doc: dict, ctx: Context | None = None) -> Compiled:
        """Compile a document; its @context (and jsonldContext) may need fetching."""
        if ctx is None:
            ctx = await self._resolve(doc.get("@context"))
        notify_ctx = ctx
        if "jsonldContext" in doc:
            notify_ctx = await self._resolve(doc["jsonldContext"])
        return compile_subscription(tenant, doc, ctx, notify_ctx)

    async def _resolve(self, value: object) -> Context:
        if self.contexts.is_resolved(value):
            return self.contexts.resolve(value)
        return await anyio.to_thread.run_sync(self.contexts.resolve, value)

    def _publish(self, tenant: str) -> None:
        self.notifier.index(tenant, tuple(self.subs.get(tenant, {}).values()))
