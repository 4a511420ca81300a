"""NGSI-LD entity routes: create, retrieve, query, replace, merge, delete, purge."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import linked
from hyperville.api import negotiation as neg
from hyperville.api.caller import caller, reading_caller
from hyperville.api.dispatch import by_method
from hyperville.api.params import (
    RenderOptions,
    check_query_filter,
    entity_query,
    render_options,
    require_uri,
)
from hyperville.api.query_params import query_params
from hyperville.core.errors import BadRequestData, InvalidRequest, ResourceNotFound
from hyperville.ngsild import codec
from hyperville.ngsild.compacted import CompactedCache
from hyperville.ngsild.context import Context
from hyperville.store.base import QueryResult
from hyperville.twin_ops import require_same_id

BASE = "/ngsi-ld/v1"
ENTITY_OFFERS = (neg.JSON, neg.JSON_LD, neg.GEO_JSON)


def _twin(request: Request):
    return request.app.state.twin


def _settings(request: Request):
    return request.app.state.settings


def _entity_id(request: Request) -> str:
    return require_uri(request.path_params["entity_id"])


def render_entities(
    request: Request,
    entities: list[dict],
    ctx: Context,
    media: str,
    *,
    single: bool,
    headers: dict[str, str] | None = None,
    options: RenderOptions | None = None,
    linked_cache: dict[str, dict] | None = None,
) -> Response:
    """Compact entities for the requester and wrap them in the negotiated representation.

    ``linked_cache`` (from :func:`linked.resolve_async`) holds the linked entities of a
    ``join``; a flat join answers an array, even for a single entity, when it found any.
    """
    params = query_params(request)
    if options is None:
        options = render_options(params, ctx)
    kwargs = options.codec_kwargs()
    if options.dataset_ids is not None:
        entities = [linked.select_datasets(e, options.dataset_ids) for e in entities]
    if media == neg.GEO_JSON:
        geoproperty = ctx.expand_term(params.get("geometryProperty", "location"))
        features = [
            codec.entity_to_feature(e, ctx, geoproperty_iri=geoproperty, **kwargs) for e in entities
        ]
        body: dict = features[0] if single else {"type": "FeatureCollection", "features": features}
        body["@context"] = neg.context_member(ctx)
        return neg.json_response(body, media_type=neg.GEO_JSON, ctx=ctx, headers=headers)
    if linked_cache is not None:
        compacted = linked.render(entities, ctx, options, linked_cache)
        if single and options.join == "flat" and len(compacted) > 1:
            single = False
    else:
        compacted = [codec.compact_entity(e, ctx, **kwargs) for e in entities]
    if media == neg.JSON_LD:
        member = neg.context_member(ctx)
        for item in compacted:
            item["@context"] = member
    return neg.json_response(
        compacted[0] if single else compacted, media_type=media, ctx=ctx, headers=headers
    )


async def create_entity(request: Request) -> Response:
    who = caller(request)
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("an entity must be a JSON object")
    ctx = await neg.body_context(request, body, media_type)
    entity = codec.expand_entity(body, ctx)
    await _twin(request).create(who.tenant, entity)
    return Response(status_code=201, headers={"Location": f"{BASE}/entities/{entity['id']}"})


async def retrieve_entity(request: Request) -> Response:
    media = neg.accepted(request, ENTITY_OFFERS)
    who = reading_caller(request)
    ctx = await neg.query_context(request)
    entity_id = _entity_id(request)
    options = render_options(query_params(request), ctx)  # a bad request is 400, even if absent
    twin = _twin(request)
    entity = twin.get(who.tenant, entity_id)
    if linked.projects_nothing(entity, options):
        raise ResourceNotFound(f"entity {entity_id} has none of the requested attributes")
    cache = await linked.resolve_async(twin, who.tenant, [entity], options)
    return render_entities(
        request, [entity], ctx, media, single=True, options=options, linked_cache=cache
    )


async def query_entities(request: Request) -> Response:
    media = neg.accepted(request, ENTITY_OFFERS)
    ctx = await neg.query_context(request)
    settings = _settings(request)
    params = query_params(request)
    query = entity_query(
        params,
        ctx,
        max_limit=settings.max_limit,
        default_limit=settings.default_limit,
        require_filter=False,
    )
    check_query_filter(params, query)
    options = render_options(params, ctx)  # validate before touching the store
    who = caller(request)
    twin = _twin(request)
    if not twin.tenant_exists(who.tenant):
        if who.tenant:
            reading_caller(request)
        return render_entities(
            request,
            [],
            ctx,
            media,
            single=False,
            headers={"NGSILD-Results-Count": "0"} if query.count else None,
            options=options,
        )
    result = await anyio.to_thread.run_sync(twin.query, who.tenant, query)
    headers = {}
    if result.total is not None:
        headers["NGSILD-Results-Count"] = str(result.total)
    return await answer_query(request, who.tenant, result, ctx, media, options, headers)


async def answer_query(
    request: Request,
    tenant: str,
    found: QueryResult | list[dict],
    ctx: Context,
    media: str,
    options: RenderOptions,
    headers: dict[str, str] | None,
) -> Response:
    """The answer to a query (GET /entities or POST /entityOperations/query): entities that
    pick/omit leave empty are dropped, linked entities of a join fetched, the rest rendered.

    Plain answers (JSON or JSON-LD, no pick/omit/join/datasetId) of stored documents are
    rendered through the compacted-answer cache, without parsing the documents it holds."""
    result = found if isinstance(found, QueryResult) else QueryResult(found)
    if result.docs is not None and media != neg.GEO_JSON and _plain(options):
        body = _page_body(request.app.state.compacted, result.docs, ctx, media, options)
        return neg.json_bytes_response(body, media_type=media, ctx=ctx, headers=headers)
    entities = result.entities
    if options.pick is not None or options.omit is not None:  # nothing left: not an answer
        entities = [e for e in entities if not linked.projects_nothing(e, options)]
    cache = await linked.resolve_async(_twin(request), tenant, entities, options)
    return render_entities(
        request,
        entities,
        ctx,
        media,
        single=False,
        headers=headers,
        options=options,
        linked_cache=cache,
    )


def _plain(options: RenderOptions) -> bool:
    """Options under which an entity's answer depends only on its stored document, the
    context and the rendering options (the key of the compacted-answer cache)."""
    return (
        options.pick is None
        and options.omit is None
        and options.join is None
        and options.dataset_ids is None
    )


def _page_body(
    cache: CompactedCache, docs: list[bytes], ctx: Context, media: str, options: RenderOptions
) -> bytes:
    """The JSON array of the compacted entities of stored documents (see :func:`answer_query`)."""
    member = neg.context_member(ctx) if media == neg.JSON_LD else None
    kwargs = options.codec_kwargs()

    def compact(entity: dict) -> dict:
        out = codec.compact_entity(entity, ctx, **kwargs)
        if member is not None:
            out["@context"] = member
        return out

    variant = (ctx.serial, options.fmt, options.sys_attrs, options.attrs, options.lang, media)
    return b"[" + b",".join(cache.render(docs, variant, compact)) + b"]"


async def replace_entity(request: Request) -> Response:
    who = caller(request)
    entity_id = _entity_id(request)
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict):
        raise BadRequestData("an entity must be a JSON object")
    require_same_id(entity_id, body)
    ctx = await neg.body_context(request, body, media_type)
    entity = codec.expand_entity({**body, "id": entity_id}, ctx)
    await _twin(request).replace(who.tenant, entity)
    return Response(status_code=204)


async def merge_entity(request: Request) -> Response:
    who = caller(request)
    entity_id = _entity_id(request)
    body, media_type = await neg.read_json_body(
        request, allowed=(neg.JSON, neg.JSON_LD, neg.MERGE_PATCH)
    )
    if not isinstance(body, dict):
        raise BadRequestData("a merge-patch body must be a JSON object")
    require_same_id(entity_id, body)
    ctx = await neg.body_context(
        request, body, neg.JSON if media_type == neg.MERGE_PATCH else media_type
    )
    patch = codec.expand_entity({**body, "id": entity_id}, ctx, partial=True)
    await _twin(request).merge(who.tenant, entity_id, patch)
    return Response(status_code=204)


async def delete_entity(request: Request) -> Response:
    who = reading_caller(request)
    await _twin(request).delete(who.tenant, _entity_id(request))
    return Response(status_code=204)


async def purge_entities(request: Request) -> Response:
    """DELETE /entities?type=…: delete every matching entity (v1.8 purge)."""
    who = reading_caller(request)
    ctx = await neg.query_context(request)
    params = query_params(request)
    local = params.get("local") == "true"
    if not local and not any(
        k in params for k in ("type", "id", "idPattern", "q", "georel", "scopeQ")
    ):
        raise BadRequestData(
            "purging needs local=true or one of type, id, idPattern, q, georel, scopeQ"
        )
    if "keep" in params and "drop" in params:
        raise BadRequestData("keep and drop cannot be used together")
    keep = _attr_set(params.get("keep"), ctx)
    drop = _attr_set(params.get("drop"), ctx)
    query = entity_query(
        params, ctx, max_limit=10**9, default_limit=10**9, require_filter=not local
    )
    await _twin(request).purge(who.tenant, query, keep=keep, drop=drop)
    return Response(status_code=204)


def _attr_set(value: str | None, ctx: Context) -> frozenset[str] | None:
    """The attribute IRIs of a purge ``keep`` / ``drop`` parameter."""
    if value is None:
        return None
    names = [n for n in value.split(",") if n]
    if not names:
        raise BadRequestData("keep / drop needs attribute names")
    return frozenset(ctx.expand_term(codec.check_name(n)) for n in names)


async def entities_collection(request: Request) -> Response:
    if request.method in ("PUT", "PATCH"):
        raise BadRequestData("the entity id is missing from the path")
    if request.method == "POST":
        return await create_entity(request)
    if request.method == "DELETE":
        return await purge_entities(request)
    return await query_entities(request)


entity_resource = by_method(
    GET=retrieve_entity, PUT=replace_entity, PATCH=merge_entity, DELETE=delete_entity
)
