"""The ASGI application: one factory, thin route tables, one error renderer."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hyperville.api import attributes, batch, csource_subscriptions, discovery, entities, temporal
from hyperville.api import ingest as ingest_api
from hyperville.api import registrations as registrations_api
from hyperville.api import subscriptions as subscriptions_api
from hyperville.api import twin_report as twin_report_api
from hyperville.api.problems import EXCEPTION_HANDLERS
from hyperville.api.query_params import RejectUnknownParameters
from hyperville.api.security_headers import SecurityHeaders, content_security_policy
from hyperville.ngsild.compacted import CompactedCache
from hyperville.ngsild.context import ContextResolver
from hyperville.registrations.service import RegistryService
from hyperville.settings import Settings
from hyperville.store.base import EntityStore
from hyperville.subscriptions.service import SubscriptionService
from hyperville.twin import Twin
from hyperville.web import ui
from hyperville.web.basemap import basemap
from hyperville.web.landing import home

log = logging.getLogger(__name__)
NGSI_LD = "/ngsi-ld/v1"


def reader_threads(settings: Settings) -> int:
    """Threads that run queries: one per CPU core by default, at least 2.

    More threads than cores do not run more queries: they fight for the GIL between their
    SQLite calls. Measured on 2 cores, 100,000 entities, 16 connections: 8 threads 480
    queries/s (p95 47.5 ms), 4 threads 608 (32.5 ms), 2 threads 790-802 (28-29.5 ms)."""
    if settings.reader_threads:
        return settings.reader_threads
    return max(2, os.cpu_count() or 2)


def open_store(settings: Settings) -> EntityStore:
    """The configured store backend (SQLite file by default)."""
    if settings.store_url:
        raise ValueError("the PostgreSQL store is not available yet; remove store_url")
    from hyperville.store.sqlite import SQLiteStore

    return SQLiteStore(
        settings.db_path,
        synchronous=settings.sqlite_synchronous,
        batch_max=settings.write_batch_max,
    )


def _routes(path: str, endpoint, methods: list[str]) -> list[Route]:
    """The same route with and without a trailing slash: no redirects (the ETSI suite uses both)."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


def ngsi_ld_routes() -> list[Route]:
    return [
        *_routes(f"{NGSI_LD}/entities", entities.entities_collection, ["GET", "POST", "DELETE"]),
        *_routes(
            f"{NGSI_LD}/entities/{{entity_id}}",
            entities.entity_resource,
            ["GET", "PUT", "PATCH", "DELETE"],
        ),
        *_routes(
            f"{NGSI_LD}/entities/{{entity_id}}/attrs",
            attributes.attrs_collection,
            ["POST", "PATCH"],
        ),
        *_routes(
            f"{NGSI_LD}/entities/{{entity_id}}/attrs/{{attr}}",
            attributes.attr_resource,
            ["PATCH", "PUT", "DELETE"],
        ),
        # an empty entity id: 400 (not 404), and PUT / PATCH without an id: 400 (not 405)
        *_routes(f"{NGSI_LD}/entities", entities.entities_collection, ["PUT", "PATCH"]),
        *_routes(f"{NGSI_LD}/entities//attrs", attributes.missing_entity_id, ["POST", "PATCH"]),
        *_routes(
            f"{NGSI_LD}/entities//attrs/{{attr}}",
            attributes.missing_entity_id,
            ["PATCH", "PUT", "DELETE"],
        ),
        *_routes(f"{NGSI_LD}/entityOperations/create", batch.batch_create, ["POST"]),
        *_routes(f"{NGSI_LD}/entityOperations/upsert", batch.batch_upsert, ["POST"]),
        *_routes(f"{NGSI_LD}/entityOperations/update", batch.batch_update, ["POST"]),
        *_routes(f"{NGSI_LD}/entityOperations/delete", batch.batch_delete, ["POST"]),
        *_routes(f"{NGSI_LD}/entityOperations/merge", batch.batch_merge, ["POST"]),
        *_routes(f"{NGSI_LD}/entityOperations/query", batch.query_post, ["POST"]),
        *_routes(f"{NGSI_LD}/types", discovery.list_types, ["GET"]),
        *_routes(f"{NGSI_LD}/types/{{type:path}}", discovery.get_type, ["GET"]),
        *_routes(f"{NGSI_LD}/attributes", discovery.list_attributes, ["GET"]),
        *_routes(f"{NGSI_LD}/attributes/{{attr:path}}", discovery.get_attribute, ["GET"]),
        *temporal_routes(),
        *_routes(
            f"{NGSI_LD}/subscriptions", subscriptions_api.subscriptions_collection, ["GET", "POST"]
        ),
        *_routes(
            f"{NGSI_LD}/subscriptions/{{subscription_id}}",
            subscriptions_api.subscription_resource,
            ["GET", "PATCH", "DELETE"],
        ),
        *registry_routes(),
    ]


def registry_routes() -> list[Route]:
    """Context source registrations and their subscriptions (a registry: no forwarding)."""
    registrations = f"{NGSI_LD}/csourceRegistrations"
    subscriptions = f"{NGSI_LD}/csourceSubscriptions"
    one = ["GET", "PATCH", "DELETE"]
    return [
        *_routes(registrations, registrations_api.registrations_collection, ["GET", "POST"]),
        *_routes(
            f"{registrations}/{{registration_id}}", registrations_api.registration_resource, one
        ),
        *_routes(subscriptions, csource_subscriptions.subscriptions_collection, ["GET", "POST"]),
        *_routes(
            f"{subscriptions}/{{subscription_id}}", csource_subscriptions.subscription_resource, one
        ),
    ]


def temporal_routes() -> list[Route]:
    both = ["PATCH", "DELETE"]
    base = f"{NGSI_LD}/temporal"
    entity = f"{base}/entities/{{entity_id}}"
    return [
        *_routes(f"{base}/entities", temporal.entities_collection, ["GET", "POST"]),
        *_routes(entity, temporal.entity_resource, ["GET", "DELETE"]),
        *_routes(f"{entity}/attrs", temporal.append_attrs, ["POST"]),
        *_routes(f"{entity}/attrs/{{attr}}", temporal.delete_attr, ["DELETE"]),
        *_routes(
            f"{entity}/attrs/{{attr}}/{{instance_id}}",
            temporal.instance_resource,
            ["PATCH", "DELETE"],
        ),
        *_routes(f"{base}/entityOperations/query", temporal.query_post, ["POST"]),
        # an empty entity id or attribute name: 400, not 404
        *_routes(f"{base}/entities//attrs", temporal.missing_path_part, ["POST"]),
        *_routes(f"{base}/entities//attrs/{{rest:path}}", temporal.missing_path_part, both),
        *_routes(f"{entity}/attrs//{{rest:path}}", temporal.missing_path_part, both),
    ]


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, store: EntityStore | None = None) -> Starlette:
    """The hyperville web application over the configured (or given) store."""
    the_store = store if store is not None else open_store(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # queries run in worker threads, each with its own SQLite reader: a few are plenty
        anyio.to_thread.current_default_thread_limiter().total_tokens = reader_threads(settings)
        the_store.open()
        try:
            ingest_api.start_ingestion(app)
            await app.state.subscriptions.start()
            await app.state.registry.start()
            ui.warm_up(app)  # the operations screen's layers, loaded before the first visit
            try:
                yield
            finally:
                await app.state.registry.stop()
                await app.state.subscriptions.stop()
                ingest_api.stop_ingestion(app)
        finally:
            the_store.close()

    app = Starlette(
        routes=[
            Route("/about", home, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            *ngsi_ld_routes(),
            *ingest_api.ingest_routes(),
            *twin_report_api.twin_report_routes(),
            *ui.routes(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.add_middleware(RejectUnknownParameters)
    app.add_middleware(SecurityHeaders, csp=content_security_policy(basemap(settings)))
    app.state.settings = settings
    app.state.twin = Twin(the_store)
    app.state.compacted = CompactedCache(settings.answer_cache_mb * 1024 * 1024)
    ui.install(app)
    app.state.ingestion = ingest_api.make_ingestion(settings, app.state.twin)
    app.state.contexts = ContextResolver(
        settings.context_cache_dir,
        fetch_timeout_s=settings.context_fetch_timeout_s,
        allow_remote=settings.allow_remote_contexts,
    )
    app.state.subscriptions = SubscriptionService(
        the_store,
        app.state.contexts,
        app.state.twin,
        allowed_hosts=settings.notification_allowed_hosts,
        queue_max=settings.notification_queue_max,
        timeout_s=settings.notification_timeout_s,
    )
    app.state.registry = RegistryService(
        the_store,
        app.state.contexts,
        allowed_hosts=settings.notification_allowed_hosts,
        timeout_s=settings.notification_timeout_s,
    )
    return app
