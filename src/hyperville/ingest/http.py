"""HTTP ingestion: device readings, ChirpStack and The Things Stack integrations, provisioning.

A reading request is answered 2xx only after the transaction that holds its readings has
committed. Refusals are ProblemDetails (400 invalid payload, 401 wrong token, 404 unknown
device, 503 + Retry-After when the queue is full); invalid ones are dead-lettered first.
"""

from __future__ import annotations

import contextlib
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hyperville.api.negotiation import read_limited_body
from hyperville.core.errors import (
    AlreadyExists,
    BadRequestData,
    HypervilleError,
    ResourceNotFound,
    TooManyRequests,
    Unauthorized,
)
from hyperville.ingest import devices as dev
from hyperville.ingest.pipeline import Message, Outcome
from hyperville.ingest.service import Ingestion, UnknownDevice

JSON_TYPES = ("application/json", "application/ld+json")


def ingestion(request: Request) -> Ingestion:
    return request.app.state.ingestion


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def is_json(request: Request) -> bool:
    kind = media_type(request)
    return kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json"))


read_body = read_limited_body


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def dead_letter(
    request: Request, message: Message, error: HypervilleError
) -> HypervilleError:
    """Write a refused request to the dead letters (best effort), then give back the error."""
    with contextlib.suppress(TooManyRequests):  # queue full: still counted and answered
        await ingestion(request).pipeline.ingest([message])
    return error


def answer(outcomes: list[Outcome]) -> Response:
    failed = [o for o in outcomes if o.status == "dead_letter"]
    if failed:
        raise ResourceNotFound(failed[0].reason or "not written")
    return JSONResponse(
        {
            "accepted": sum(1 for o in outcomes if o.status == "accepted"),
            "points": sum(o.points for o in outcomes),
            "duplicates": sum(1 for o in outcomes if o.status == "duplicate"),
        }
    )


async def device_readings(request: Request, tenant: str, device_id: str) -> Response:
    """``POST /ingest/v1/devices/{device_id}/readings`` (Bearer device token)."""
    service = ingestion(request)
    body = await read_body(request)
    service.metrics.count("received", "http")

    def refused(reason: str, kind: str) -> Message:
        return service.rejected("http", tenant, device_id, reason, body, kind=kind)

    device = service.device(tenant, device_id)
    if device is None:
        error = ResourceNotFound(f"device {device_id} is not provisioned")
        raise await dead_letter(request, refused(error.detail, "unknown"), error)
    token = bearer(request)
    if token is None or not device.check_token(token):
        error = Unauthorized("a valid device token is required: Authorization: Bearer <token>")
        raise await dead_letter(request, refused(error.detail, "unauthorized"), error)
    try:
        if not is_json(request):
            raise BadRequestData(
                f"Content-Type {media_type(request) or '(none)'} refused: readings are JSON "
                "(binary and image payloads are not accepted)"
            )
        messages = service.device_messages(
            "http", device, body, idempotency_key=request.headers.get("idempotency-key")
        )
    except BadRequestData as error:
        raise await dead_letter(request, refused(error.detail, "invalid"), error) from None
    return answer(await service.pipeline.ingest(messages))


async def lorawan_uplink(request: Request, source: str) -> Response:
    """ChirpStack HTTP integration (``?event=up``) and The Things Stack webhooks."""
    service = ingestion(request)
    expected = service.webhook_token
    token = bearer(request) or ""
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        service.metrics.count("rejected", source, reason="unauthorized")
        raise Unauthorized("the integration must send Authorization: Bearer <ingest_webhook_token>")
    if source == "chirpstack" and request.query_params.get("event", "up") != "up":
        return Response(status_code=204)  # join, status, ack, log…: not readings
    body = await read_body(request)
    service.metrics.count("received", source)
    tenant = request.headers.get("ngsild-tenant") or None
    device_id = None
    try:
        if not is_json(request):
            raise BadRequestData("the integration must send JSON (not Protobuf)")
        from hyperville.ingest.lorawan.chirpstack import parse_chirpstack_up
        from hyperville.ingest.lorawan.ttn import parse_ttn_up

        parse = parse_ttn_up if source == "ttn" else parse_chirpstack_up
        uplink = parse(body, tenant=tenant) if source == "ttn" else parse(body)
        device_id = uplink.device_id
        message = service.uplink_message(source, uplink, body, None)
    except UnknownDevice as exc:
        error = ResourceNotFound(str(exc))
        message = service.rejected(source, tenant or "", device_id, str(exc), body, kind="unknown")
        raise await dead_letter(request, message, error) from None
    except BadRequestData as error:
        message = service.rejected(source, tenant or "", device_id, error.detail, body)
        raise await dead_letter(request, message, error) from None
    message.payload = body
    return answer(await service.pipeline.ingest([message]))


async def provision(request: Request, tenant: str, specs: list) -> Response:
    """Create devices (and their entities when missing); 201 with each device's token, once."""
    service = ingestion(request)
    made: list[tuple[dev.Device, str]] = []
    for n, spec in enumerate(specs):
        try:
            if isinstance(spec, dict):
                spec = {k: v for k, v in spec.items() if k != "_line"}
            made.append(dev.device_from_spec(tenant, spec))
        except BadRequestData as exc:
            where = (specs[n].get("_line") if isinstance(specs[n], dict) else None) or n
            prefix = f"line {where}: " if isinstance(specs[n], dict) and "_line" in specs[n] else ""
            raise BadRequestData(
                prefix + (f"device {n}: " if not prefix else "") + exc.detail
            ) from None
    ids = [d.device_id for d, _ in made]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    existing = [i for i in ids if service.device(tenant, i) is not None]
    if duplicates or existing:
        raise AlreadyExists(f"device(s) already provisioned: {', '.join(duplicates + existing)}")
    twin = request.app.state.twin
    for device, _ in made:
        if twin.store.get_entity(tenant, device.entity_id) is None:
            entity = {"id": device.entity_id, "type": [device.entity_type], "attrs": {}}
            with contextlib.suppress(AlreadyExists):
                await twin.create(tenant, entity)
    await service.provision([d for d, _ in made])
    return JSONResponse([{**d.to_json(), "token": token} for d, token in made], status_code=201)
