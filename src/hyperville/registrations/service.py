"""The context source registry of every tenant: registrations and csource subscriptions,
kept by the store, compiled in memory, with their notifications.

hyperville stores and serves registrations so that other brokers and clients can discover
context sources; it does not forward requests to them (no distributed operations).

Every write goes to the store before the memory index changes, so what a client was told
was created survives a restart. A registry is small (tens to thousands of documents per
tenant): queries scan the compiled registrations of the tenant in memory.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio

from hyperville.core.errors import AlreadyExists, ResourceNotFound
from hyperville.ngsild.context import Context, ContextResolver
from hyperville.registrations import csource_model, model
from hyperville.registrations.csource_model import (
    CompiledCsourceSubscription,
    compile_csource_subscription,
)
from hyperville.registrations.matching import (
    CompiledRegistration,
    RegistrationFilter,
    compile_registration,
)
from hyperville.registrations.notifier import CsourceNotifier
from hyperville.store.base import EntityStore
from hyperville.subscriptions.delivery import AllowedHosts

log = logging.getLogger(__name__)
REGISTRATION = "csourceRegistration"
SUBSCRIPTION = "csourceSubscription"


class RegistryService:
    """Create, read, update, delete and query registrations and csource subscriptions."""

    def __init__(
        self, store: EntityStore, contexts: ContextResolver, *, allowed_hosts: str, timeout_s: float
    ) -> None:
        self.store = store
        self.contexts = contexts
        self.allowed = AllowedHosts(allowed_hosts)
        self.registrations: dict[str, dict[str, CompiledRegistration]] = {}
        self.subscriptions: dict[str, dict[str, CompiledCsourceSubscription]] = {}
        self.notifier = CsourceNotifier(
            allowed=self.allowed,
            timeout_s=timeout_s,
            subscriptions=lambda tenant: list(self.subscriptions.get(tenant, {}).values()),
            registrations=self.live_registrations,
            on_counters=self._write_counters,
        )

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the stored registry, then start notifying."""
        for kind, index in ((REGISTRATION, self.registrations), (SUBSCRIPTION, self.subscriptions)):
            stored = await anyio.to_thread.run_sync(self.store.registry_docs, kind)
            for tenant, doc in stored:
                try:
                    compiled = await self._compile(kind, tenant, doc)
                except Exception as exc:  # noqa: BLE001 - one broken document keeps its peers
                    log.error("%s %s of tenant %r not loaded: %s", kind, doc.get("id"), tenant, exc)
                    continue
                index.setdefault(tenant, {})[compiled.id] = compiled  # type: ignore[index]
        await self.notifier.start()
        for subs in self.subscriptions.values():
            for sub in subs.values():
                if sub.time_interval_s is not None:
                    self.notifier.subscription_changed(sub)

    async def stop(self) -> None:
        await self.notifier.stop()

    # -- registrations ------------------------------------------------------------------------
    def live_registrations(self, tenant: str) -> list[CompiledRegistration]:
        """The tenant's registrations that have not expired, in creation order."""
        now = datetime.now(UTC)
        found = self.registrations.get(tenant, {}).values()
        return [r for r in found if not model.expired(r.doc, now)]

    def get_registration(self, tenant: str, reg_id: str) -> CompiledRegistration:
        found = self.registrations.get(tenant, {}).get(reg_id)
        if found is None:
            raise ResourceNotFound(f"context source registration {reg_id} not found")
        return found

    def query_registrations(
        self, tenant: str, wanted: RegistrationFilter
    ) -> list[CompiledRegistration]:
        return [r for r in self.live_registrations(tenant) if wanted.matches(r)]

    async def create_registration(self, tenant: str, body: dict, ctx: Context) -> str:
        doc = model.new_document(body, self._raw(ctx))
        compiled = compile_registration(tenant, doc, ctx)
        if not await anyio.to_thread.run_sync(
            self.store.add_registry_doc, REGISTRATION, tenant, doc
        ):
            raise AlreadyExists(f"context source registration {doc['id']} already exists")
        self.registrations.setdefault(tenant, {})[compiled.id] = compiled
        self.notifier.registration_changed(tenant, None, compiled)
        return compiled.id

    async def update_registration(
        self, tenant: str, reg_id: str, fragment: dict, ctx: Context
    ) -> None:
        current = self.get_registration(tenant, reg_id)
        doc = model.apply_fragment(current.doc, fragment, ctx, current.context)
        compiled = compile_registration(tenant, doc, current.context)
        if not await anyio.to_thread.run_sync(
            self.store.put_registry_doc, REGISTRATION, tenant, doc
        ):
            raise ResourceNotFound(f"context source registration {reg_id} not found")
        self.registrations[tenant][reg_id] = compiled
        self.notifier.registration_changed(tenant, current, compiled)

    async def delete_registration(self, tenant: str, reg_id: str) -> None:
        current = self.get_registration(tenant, reg_id)
        await anyio.to_thread.run_sync(self.store.delete_registry_doc, REGISTRATION, tenant, reg_id)
        del self.registrations[tenant][reg_id]
        self.notifier.registration_changed(tenant, current, None)

    # -- csource subscriptions ----------------------------------------------------------------
    def get_subscription(self, tenant: str, sub_id: str) -> CompiledCsourceSubscription:
        found = self.subscriptions.get(tenant, {}).get(sub_id)
        if found is None:
            raise ResourceNotFound(f"context source subscription {sub_id} not found")
        return found

    def list_subscriptions(self, tenant: str) -> list[CompiledCsourceSubscription]:
        return list(self.subscriptions.get(tenant, {}).values())

    async def create_subscription(self, tenant: str, body: dict, ctx: Context) -> str:
        doc = csource_model.new_document(body, self._raw(ctx))
        compiled = await self._checked_subscription(tenant, doc, ctx)
        if not await anyio.to_thread.run_sync(
            self.store.add_registry_doc, SUBSCRIPTION, tenant, doc
        ):
            raise AlreadyExists(f"context source subscription {doc['id']} already exists")
        self.subscriptions.setdefault(tenant, {})[compiled.id] = compiled
        self.notifier.subscription_changed(compiled)
        return compiled.id

    async def update_subscription(
        self, tenant: str, sub_id: str, fragment: dict, ctx: Context
    ) -> None:
        current = self.get_subscription(tenant, sub_id)
        doc = csource_model.apply_fragment(current.doc, fragment, ctx, current.context)
        compiled = await self._checked_subscription(tenant, doc, current.context)
        if not await anyio.to_thread.run_sync(
            self.store.put_registry_doc, SUBSCRIPTION, tenant, doc
        ):
            raise ResourceNotFound(f"context source subscription {sub_id} not found")
        self.subscriptions[tenant][sub_id] = compiled
        self.notifier.subscription_changed(compiled)

    async def delete_subscription(self, tenant: str, sub_id: str) -> None:
        self.get_subscription(tenant, sub_id)
        await anyio.to_thread.run_sync(self.store.delete_registry_doc, SUBSCRIPTION, tenant, sub_id)
        del self.subscriptions[tenant][sub_id]
        self.notifier.forget(tenant, sub_id)

    # -- helpers ------------------------------------------------------------------------------
    def _raw(self, ctx: Context) -> object:
        return None if ctx is self.contexts.core() else ctx.raw

    async def _checked_subscription(
        self, tenant: str, doc: dict, ctx: Context
    ) -> CompiledCsourceSubscription:
        self.allowed.check(doc["notification"]["endpoint"]["uri"])
        return await self._compile(SUBSCRIPTION, tenant, doc, ctx)  # type: ignore[return-value]

    async def _compile(self, kind: str, tenant: str, doc: dict, ctx: Context | None = None):
        """Compile a document; its @context (and jsonldContext) may need fetching."""
        if ctx is None:
            ctx = await self._resolve(doc.get("@context"))
        if kind == REGISTRATION:
            return compile_registration(tenant, doc, ctx)
        notify_ctx = await self._resolve(doc["jsonldContext"]) if "jsonldContext" in doc else ctx
        return compile_csource_subscription(tenant, doc, ctx, notify_ctx)

    async def _resolve(self, value: object) -> Context:
        if self.contexts.is_resolved(value):
            return self.contexts.resolve(value)
        return await anyio.to_thread.run_sync(self.contexts.resolve, value)

    async def _write_counters(self, sub: CompiledCsourceSubscription) -> None:
        if self.subscriptions.get(sub.tenant, {}).get(sub.id) is sub:
            await anyio.to_thread.run_sync(
                self.store.put_registry_doc, SUBSCRIPTION, sub.tenant, sub.doc
            )
