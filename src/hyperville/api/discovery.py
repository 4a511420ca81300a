"""NGSI-LD discovery: /types, /types/{type}, /attributes, /attributes/{attr} (CIM 009 6.25–6.28)."""

from __future__ import annotations

import uuid

import anyio
from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import negotiation as neg
from hyperville.api.caller import reading_caller
from hyperville.core.errors import BadRequestData, ResourceNotFound
from hyperville.ngsild.context import Context


def _answer(request: Request, body: object, ctx: Context, media: str) -> Response:
    if media == neg.JSON_LD:
        member = neg.context_member(ctx)
        for item in body if isinstance(body, list) else [body]:
            item["@context"] = member
    return neg.json_response(body, media_type=media, ctx=ctx)


def _details(request: Request) -> bool:
    raw = request.query_params.get("details", "false")
    if raw not in ("true", "false"):
        raise BadRequestData(f"details must be true or false, not {raw!r}")
    return raw == "true"


async def _discover(request: Request, what: str) -> tuple[str, Context, list]:
    """The media type to answer, the requester's context and the store's discovery facts."""
    media = neg.accepted(request)
    who = reading_caller(request)
    ctx = await neg.query_context(request)
    read = getattr(request.app.state.twin.store, what)  # entity_types or attributes
    return media, ctx, await anyio.to_thread.run_sync(read, who.tenant)


async def list_types(request: Request) -> Response:
    media, ctx, infos = await _discover(request, "entity_types")
    if _details(request):
        body: object = [
            {
                "id": info.type,
                "type": "EntityType",
                "typeName": ctx.compact_iri(info.type),
                "attributeNames": sorted(ctx.compact_iri(a) for a in info.attributes),
            }
            for info in infos
        ]
    else:
        body = {
            "id": f"urn:ngsi-ld:EntityTypeList:{uuid.uuid4()}",
            "type": "EntityTypeList",
            "typeList": [ctx.compact_iri(info.type) for info in infos],
        }
    return _answer(request, body, ctx, media)


async def get_type(request: Request) -> Response:
    media, ctx, infos = await _discover(request, "entity_types")
    wanted = ctx.expand_term(request.path_params["type"])
    for info in infos:
        if info.type == wanted:
            body = {
                "id": info.type,
                "type": "EntityTypeInfo",
                "typeName": ctx.compact_iri(info.type),
                "entityCount": info.entity_count,
                "attributeDetails": [
                    {
                        "id": attr,
                        "type": "Attribute",
                        "attributeName": ctx.compact_iri(attr),
                        "attributeTypes": sorted(kinds),
                    }
                    for attr, kinds in sorted(info.attributes.items())
                ],
            }
            return _answer(request, body, ctx, media)
    raise ResourceNotFound(f"entity type {request.path_params['type']} not found")


async def list_attributes(request: Request) -> Response:
    media, ctx, infos = await _discover(request, "attributes")
    if _details(request):
        body: object = [
            {
                "id": info.attribute,
                "type": "Attribute",
                "attributeName": ctx.compact_iri(info.attribute),
                "typeNames": sorted(ctx.compact_iri(t) for t in info.type_names),
            }
            for info in infos
        ]
    else:
        body = {
            "id": f"urn:ngsi-ld:AttributeList:{uuid.uuid4()}",
            "type": "AttributeList",
            "attributeList": [ctx.compact_iri(info.attribute) for info in infos],
        }
    return _answer(request, body, ctx, media)


def _attribute(info, ctx: Context) -> dict:
    return {
        "id": info.attribute,
        "type": "Attribute",
        "attributeName": ctx.compact_iri(info.attribute),
        "attributeCount": info.attribute_count,
        "attributeTypes": sorted(info.attribute_types),
        "typeNames": sorted(ctx.compact_iri(t) for t in info.type_names),
    }


async def get_attribute(request: Request) -> Response:
    media, ctx, infos = await _discover(request, "attributes")
    wanted = ctx.expand_term(request.path_params["attr"])
    for info in infos:
        if info.attribute == wanted:
            return _answer(request, _attribute(info, ctx), ctx, media)
    raise ResourceNotFound(f"attribute {request.path_params['attr']} not found")
