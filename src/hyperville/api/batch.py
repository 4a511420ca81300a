"""NGSI-LD batch operations: create, upsert, update, delete, merge, and the POST query."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import negotiation as neg
from hyperville.api.caller import caller, reading_caller
from hyperville.api.entities import ENTITY_OFFERS, _settings, _twin, answer_query
from hyperville.api.params import entity_query, options_of, render_options, require_uri
from hyperville.core.errors import BadRequestData, HypervilleError
from hyperville.ngsild import codec
from hyperville.ngsild.codec_expand import NGSILD_NULL_ONLY
from hyperville.ngsild.context import Context
from hyperville.store.base import QueryResult
from hyperville.twin import BatchResult

MAX_BATCH = 10_000


async def _entities_body(request: Request) -> tuple[list, str]:
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, list):
        raise BadRequestData("a batch operation body must be a JSON array")
    if not body:
        raise BadRequestData("a batch operation body must not be empty")
    if len(body) > MAX_BATCH:
        raise BadRequestData(f"a batch holds at most {MAX_BATCH} items, not {len(body)}")
    return body, media_type


async def _expand_all(
    request: Request, body: list, media_type: str, *, partial: bool = False
) -> tuple[list[dict], list[tuple[str, HypervilleError]]]:
    """Expand each entity with its own @context; bad ones become per-entity errors."""
    link_ctx: Context | None = None
    if media_type == neg.JSON:
        link_ctx = await neg.resolve(request, neg.link_context_url(request))
    elif neg.link_context_url(request) is not None:
        raise BadRequestData("a Link @context header is not allowed with application/ld+json")
    entities, errors = [], []
    null_mode = NGSILD_NULL_ONLY if partial else False  # JSON null is not valid JSON-LD
    for item in body:
        raw_id = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise BadRequestData("each batch item must be a JSON object")
            if link_ctx is not None and "@context" in item:
                raise BadRequestData("an @context member is only allowed with application/ld+json")
            if link_ctx is None:
                if "@context" not in item:
                    raise BadRequestData("application/ld+json entities must carry an @context")
                ctx = await neg.resolve(request, item["@context"])
            else:
                ctx = link_ctx
            if partial and "id" not in item:
                raise BadRequestData("each entity of the batch needs an id")
            entities.append(codec.expand_entity(item, ctx, partial=partial, allow_null=null_mode))
        except HypervilleError as error:
            errors.append((raw_id if isinstance(raw_id, str) else "", error))
    return entities, errors


def _batch_response(result: BatchResult, errors: list, *, created_status: bool) -> Response:
    all_errors = errors + result.errors
    if all_errors:
        body = {
            "success": result.success,
            "errors": [
                {"entityId": entity_id, "error": error.to_problem()}
                for entity_id, error in all_errors
            ],
        }
        return neg.json_response(body, status=207)
    if created_status and result.created:
        return neg.json_response(result.created, status=201)
    return Response(status_code=204)


async def _run(
    request: Request, mode: str, *, partial: bool, options: frozenset[str]
) -> tuple[BatchResult, list]:
    who = caller(request)
    body, media_type = await _entities_body(request)
    entities, errors = await _expand_all(request, body, media_type, partial=partial)
    result = BatchResult()
    if entities:
        result = await _twin(request).batch(who.tenant, mode, entities, options=options)
    return result, errors


async def batch_create(request: Request) -> Response:
    result, errors = await _run(request, "create", partial=False, options=frozenset())
    if not errors and not result.errors:
        return neg.json_response(result.success, status=201)
    return _batch_response(result, errors, created_status=True)


async def batch_upsert(request: Request) -> Response:
    options = options_of(request.query_params)
    if {"update", "replace"} <= options:
        raise BadRequestData("options update and replace cannot be used together")
    result, errors = await _run(request, "upsert", partial=False, options=frozenset(options))
    return _batch_response(result, errors, created_status=True)


async def batch_update(request: Request) -> Response:
    options = options_of(request.query_params)
    result, errors = await _run(request, "update", partial=True, options=frozenset(options))
    return _batch_response(result, errors, created_status=False)


async def batch_merge(request: Request) -> Response:
    result, errors = await _run(request, "merge", partial=True, options=frozenset())
    return _batch_response(result, errors, created_status=False)


async def batch_delete(request: Request) -> Response:
    who = caller(request)
    body, _ = await _entities_body(request)
    ids, errors = [], []
    for item in body:
        try:
            ids.append(require_uri(item))
        except HypervilleError as error:
            errors.append((item if isinstance(item, str) else "", error))
    result = BatchResult()
    if ids:
        if who.tenant and not _twin(request).tenant_exists(who.tenant):
            reading_caller(request)
        result = await _twin(request).batch_delete(who.tenant, ids)
    return _batch_response(result, errors, created_status=False)


async def query_post(request: Request) -> Response:
    """POST /entityOperations/query: the query in the body, paging in the URL."""
    media = neg.accepted(request, ENTITY_OFFERS)
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict):
        raise BadRequestData("a query must be a JSON object")
    if body.get("type") != "Query":
        raise BadRequestData('a query body must have "type": "Query"')
    ctx = await neg.body_context(request, body, media_type)
    params = {k: v for k, v in request.query_params.items() if k in ("limit", "offset", "count")}
    selectors = body.get("entities") or [{}]
    if not isinstance(selectors, list):
        raise BadRequestData("entities must be an array of entity selectors")
    for key in ("attrs", "pick", "omit"):
        if key in body:
            value = body[key]
            params[key] = ",".join(value) if isinstance(value, list) else str(value)
    for key in ("q", "scopeQ", "lang"):
        if key in body:
            params[key] = str(body[key])
    geo_q = body.get("geoQ")
    if geo_q is not None:
        if not isinstance(geo_q, dict):
            raise BadRequestData("geoQ must be an object")
        for key in ("georel", "geometry", "geoproperty"):
            if key in geo_q:
                params[key] = geo_q[key]
        coordinates = geo_q.get("coordinates")
        if coordinates is not None:
            params["coordinates"] = coordinates  # a real array here: parse_geoquery accepts it
    settings = _settings(request)
    who = caller(request)
    twin = _twin(request)
    results: list[QueryResult] = []
    for selector in selectors:
        selector_params = dict(params)
        if not isinstance(selector, dict):
            raise BadRequestData("each entity selector must be an object")
        for key in ("type", "id", "idPattern"):
            if key in selector:
                selector_params[key] = selector[key]
        query = entity_query(
            selector_params, ctx, max_limit=settings.max_limit, default_limit=settings.default_limit
        )
        if twin.tenant_exists(who.tenant):
            results.append(await anyio.to_thread.run_sync(twin.query, who.tenant, query))
        elif who.tenant:
            reading_caller(request)
    total = sum(r.total or 0 for r in results)
    found: QueryResult | list[dict] = []
    if len(results) == 1:
        found = results[0]  # its stored documents go through the compacted-answer cache
    else:  # several selectors: an entity matched by two of them is answered once
        seen: set[str] = set()
        for result in results:
            for entity in result.entities:
                if entity["id"] not in seen:
                    seen.add(entity["id"])
                    found.append(entity)  # type: ignore[union-attr]
    headers = {"NGSILD-Results-Count": str(total)} if params.get("count") == "true" else None
    render_params = {k: params[k] for k in ("attrs", "pick", "omit", "lang") if k in params}
    for key in ("options", "format"):  # in the URL, or in the body
        if request.query_params.get(key):
            render_params[key] = request.query_params[key]
    options = body.get("options")
    if options:
        render_params["options"] = ",".join(options) if isinstance(options, list) else str(options)
    if "format" in body:
        render_params["format"] = str(body["format"])
    for key in ("join", "joinLevel", "containedBy"):
        value = body.get(key, request.query_params.get(key))
        if value is not None:
            render_params[key] = ",".join(value) if isinstance(value, list) else str(value)
    rendering = render_options(render_params, ctx)
    return await answer_query(request, who.tenant, found, ctx, media, rendering, headers)
