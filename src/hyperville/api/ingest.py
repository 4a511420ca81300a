"""Routes of ingestion and device management (``/api/v1/…``, ``/ingest/v1/…``, ``/metrics``).

The work is done in :mod:`hyperville.ingest.http`; these are thin endpoints.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hyperville.api.caller import caller
from hyperville.core.errors import BadRequestData, InvalidRequest
from hyperville.ingest import devices as dev
from hyperville.ingest import http
from hyperville.ingest.pipeline import Pipeline
from hyperville.ingest.service import Ingestion
from hyperville.settings import Settings
from hyperville.store import sqlite_devices as sql
from hyperville.twin import Twin

API = "/api/v1"
INGEST = "/ingest/v1"


def _int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= maximum:
        raise BadRequestData(f"{name} must be an integer between 0 and {maximum}")
    return int(raw)


async def devices_collection(request: Request) -> Response:
    tenant = caller(request).tenant
    service = http.ingestion(request)
    if request.method == "GET":
        limit = _int(request, "limit", 100, 1000)
        offset = _int(request, "offset", 0, 10**9)
        found = service.list_devices(tenant, limit=limit, offset=offset)
        return JSONResponse([d.to_json() for d in found])
    if not http.is_json(request):
        raise BadRequestData("provisioning takes JSON (or text/csv at /api/v1/devices/import)")
    try:
        body = orjson.loads(await http.read_body(request))
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    specs = body if isinstance(body, list) else [body]
    return await http.provision(request, tenant, specs)


async def devices_import(request: Request) -> Response:
    tenant = caller(request).tenant
    if http.media_type(request) not in ("text/csv", "text/plain"):
        raise BadRequestData("the import takes text/csv")
    raw = await http.read_body(request)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequestData("the CSV must be UTF-8") from None
    specs = dev.specs_from_csv(text)
    if not specs:
        raise BadRequestData("the CSV has no device line")
    return await http.provision(request, tenant, specs)


async def device_readings(request: Request) -> Response:
    device_id = request.path_params["device_id"]
    return await http.device_readings(request, caller(request).tenant, device_id)


async def chirpstack(request: Request) -> Response:
    return await http.lorawan_uplink(request, "chirpstack")


async def ttn(request: Request) -> Response:
    return await http.lorawan_uplink(request, "ttn")


async def dead_letters(request: Request) -> Response:
    service = http.ingestion(request)
    limit = _int(request, "limit", 100, 1000)
    after = _int(request, "after", 0, 2**62)
    letters = sql.list_dead_letters(service._conn(), limit=limit, after_id=after)
    return JSONResponse([letter.to_json() for letter in letters])


async def dead_letters_replay(request: Request) -> Response:
    """``{"ids": [1, 2]}`` or ``{"all": true}``: decode again and ingest; answers per id."""
    service = http.ingestion(request)
    try:
        body = orjson.loads(await http.read_body(request) or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequestData('a JSON object: {"ids": [...]} or {"all": true}')
    ids = body.get("ids")
    conn = service._conn()
    if body.get("all") is True:
        letters = sql.list_dead_letters(conn, limit=_int(request, "limit", 1000, 100_000))
    elif isinstance(ids, list) and all(isinstance(i, int) for i in ids):
        letters = sql.list_dead_letters(conn, ids=ids)
    else:
        raise BadRequestData('a JSON object: {"ids": [...]} or {"all": true}')
    messages = [service.replay_message(letter) for letter in letters]
    outcomes = await service.pipeline.ingest(messages) if messages else []
    return JSONResponse(
        [
            {"id": letter.id, "status": o.status, "points": o.points, "reason": o.reason}
            for letter, o in zip(letters, outcomes, strict=True)
        ]
    )


async def metrics(request: Request) -> Response:
    text = http.ingestion(request).metrics.prometheus()
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


def make_ingestion(settings: Settings, twin: Twin) -> Ingestion:
    """The pipeline and its front for this app (started by the lifespan)."""
    pipeline = Pipeline(
        twin,
        queue_max=settings.ingest_queue_max,
        batch_max=settings.ingest_batch_max,
        dedup_window_s=settings.dedup_window_s,
    )
    token = settings.ingest_webhook_token
    return Ingestion(pipeline, webhook_token=token.get_secret_value() if token else None)


def start_ingestion(app) -> None:
    settings: Settings = app.state.settings
    service: Ingestion = app.state.ingestion
    service.pipeline.start()
    app.state.mqtt = None
    if settings.mqtt_url:
        from hyperville.ingest.mqtt import MqttConsumer, client_id_for

        consumer = MqttConsumer(
            service,
            settings.mqtt_url,
            sources=settings.mqtt_sources.split(","),
            client_id=client_id_for(str(settings.db_path.resolve())),
        )
        consumer.start()
        app.state.mqtt = consumer


def stop_ingestion(app) -> None:
    consumer = getattr(app.state, "mqtt", None)
    if consumer is not None:
        consumer.stop()
    app.state.ingestion.pipeline.stop()


def ingest_routes() -> list[Route]:
    return [
        Route(f"{API}/devices", devices_collection, methods=["GET", "POST"]),
        Route(f"{API}/devices/import", devices_import, methods=["POST"]),
        Route(f"{API}/deadletters", dead_letters, methods=["GET"]),
        Route(f"{API}/deadletters/replay", dead_letters_replay, methods=["POST"]),
        Route(f"{INGEST}/devices/{{device_id}}/readings", device_readings, methods=["POST"]),
        Route(f"{INGEST}/chirpstack", chirpstack, methods=["POST"]),
        Route(f"{INGEST}/ttn", ttn, methods=["POST"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
