"""The NGSI-LD temporal API under /ngsi-ld/v1/temporal/ (CIM 009 5.6.11–5.6.16, 5.7.3–5.7.4,
6.18–6.24).

A temporal entity is the history of a twin entity: creating one creates the entity (its
newest instances become the current state) or adds instances to it; deleting it deletes the
entity and its whole history (as DELETE /entities/{id} does: the history of a deleted
entity is never kept). Deleting a temporal attribute or instance only touches history.
Queries select entities on their current state (type, id, idPattern, attrs, q, geo, scopeQ)
and return the instances of their attributes in the time window.
"""

from __future__ import annotations

from dataclasses import replace

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import negotiation as neg
from hyperville.api.caller import caller, reading_caller
from hyperville.api.entities import _entity_id, _twin
from hyperville.api.params import check_query_filter, entity_query, require_uri
from hyperville.api.temporal_params import TemporalOptions, temporal_options
from hyperville.api.temporal_render import render, render_aggregated
from hyperville.core.errors import BadRequestData, ResourceNotFound
from hyperville.ngsild import codec
from hyperville.ngsild.codec_expand import expand_instance
from hyperville.ngsild.context import Context
from hyperville.store.sqlite_history import iso_to_ms, ms_to_iso

BASE = "/ngsi-ld/v1/temporal"
RESERVED = frozenset({"id", "type", "scope", "@context", "createdAt", "modifiedAt"})
INSTANCE_LIMIT = 1000  # instances per attribute and answer; more: 206 + Content-Range


def _limit(request: Request) -> int:
    return getattr(request.app.state.settings, "temporal_max_instances", INSTANCE_LIMIT)


def expand_temporal(body: dict, ctx: Context, *, partial: bool = False) -> dict:
    """A temporal entity: attributes are arrays of instances (any number per datasetId)."""
    if not isinstance(body, dict) or not body:
        raise BadRequestData("a temporal entity must be a non-empty JSON object")
    head = {k: v for k, v in body.items() if k in ("id", "type", "scope")}
    entity = codec.expand_entity(head, ctx, partial=partial)
    attrs: dict[str, list[dict]] = {}
    for name, value in body.items():
        if name in ("id", "type", "scope", "@context", "createdAt", "modifiedAt"):
            continue
        codec.check_name(name)
        iri = ctx.expand_term(name)
        items = value if isinstance(value, list) else [value]
        if not items:
            raise BadRequestData(f"attribute {name}: no instance given")
        attrs.setdefault(iri, []).extend(expand_instance(name, iri, i, ctx, False) for i in items)
    entity["attrs"] = attrs
    return entity


async def _body(request: Request) -> tuple[dict, Context]:
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict):
        raise BadRequestData("a temporal entity must be a JSON object")
    ctx = await neg.body_context(request, body, media_type)
    return body, ctx


# -- provision ----------------------------------------------------------------------------
async def create_or_update(request: Request) -> Response:
    """POST /temporal/entities: 201 when the entity is new, 204 when instances were added."""
    who = caller(request)
    body, ctx = await _body(request)
    temporal = expand_temporal(body, ctx)
    created = await _twin(request).temporal_upsert(who.tenant, temporal)
    if created:
        return Response(status_code=201, headers={"Location": f"{BASE}/entities/{temporal['id']}"})
    return Response(status_code=204)


async def append_attrs(request: Request) -> Response:
    """POST /temporal/entities/{id}/attrs: add attribute instances."""
    who = caller(request)
    entity_id = _entity_id(request)
    body, ctx = await _body(request)
    temporal = expand_temporal({k: v for k, v in body.items() if k != "id"}, ctx, partial=True)
    if not temporal["attrs"]:
        raise BadRequestData("no attribute instance to add")
    await _twin(request).append_instances(who.tenant, entity_id, temporal["attrs"])
    return Response(status_code=204)


async def delete_temporal_entity(request: Request) -> Response:
    who = reading_caller(request)
    await _twin(request).delete(who.tenant, _entity_id(request))
    return Response(status_code=204)


def _attr_iri(request: Request, ctx: Context) -> str:
    name = request.path_params["attr"]
    codec.check_name(name)
    return ctx.expand_term(name)


async def delete_attr(request: Request) -> Response:
    """DELETE /temporal/entities/{id}/attrs/{attr} (datasetId, deleteAll)."""
    who = reading_caller(request)
    entity_id = _entity_id(request)
    ctx = await neg.query_context(request)
    params = request.query_params
    delete_all = params.get("deleteAll") == "true"
    dataset_id = params.get("datasetId") or None
    if dataset_id is not None:
        require_uri(dataset_id, "datasetId")
    await _twin(request).delete_history(
        who.tenant,
        entity_id,
        _attr_iri(request, ctx),
        dataset_id=dataset_id,
        delete_all=delete_all,
    )
    return Response(status_code=204)


async def instance_resource(request: Request) -> Response:
    """PATCH / DELETE /temporal/entities/{id}/attrs/{attr}/{instanceId}."""
    who = caller(request) if request.method == "PATCH" else reading_caller(request)
    entity_id = _entity_id(request)
    instance_id = require_uri(request.path_params["instance_id"], "instanceId")
    twin = _twin(request)
    if request.method == "DELETE":
        ctx = await neg.query_context(request)
        iri = _attr_iri(request, ctx)
        await twin.delete_history(who.tenant, entity_id, iri, instance_id=instance_id)
        return Response(status_code=204)
    body, ctx = await _body(request)
    iri = _attr_iri(request, ctx)
    name = request.path_params["attr"]
    fragment = body.get(name, body) if isinstance(body.get(name), dict | list) else body
    if isinstance(fragment, list):
        if len(fragment) != 1:
            raise BadRequestData("an instance update holds exactly one instance")
        fragment = fragment[0]
    fragment = {k: v for k, v in fragment.items() if k not in ("@context", "instanceId")}
    instance = expand_instance(name, iri, fragment, ctx, False)
    await twin.replace_instance(who.tenant, entity_id, iri, instance_id, instance)
    return Response(status_code=204)


# -- consumption --------------------------------------------------------------------------
def _answer(request, twin, tenant, entities, opts: TemporalOptions, ctx, media, single):
    """Render the temporal entities. When an attribute has more instances than the server's
    limit, the answer is cut to one time range for every entity and attribute, answered
    206 with ``Content-Range: date-time <start>-<end>/<lastN or *>`` (CIM 009 6.3.10)."""
    if opts.fmt == "aggregatedValues":
        rendered = []
        for entity in entities:
            buckets = twin.aggregate(tenant, entity["id"], opts.history, opts.period_ms)
            buckets = {iri: b for iri, b in buckets.items() if opts.keeps(iri)}
            if not single and opts.history.timerel and not buckets and opts.reads_attributes:
                continue
            rendered.append(render_aggregated(entity, buckets, ctx, opts))
        return _respond(rendered, ctx, media, single, {}, 200)
    found_all: list[tuple[dict, dict[str, list[dict]]]] = []
    cut: list[list[dict]] = []
    for entity in entities:
        found: dict[str, list[dict]] = {}
        if opts.reads_attributes:
            result = twin.history(tenant, entity["id"], opts.history)
            found = {iri: insts for iri, insts in result.attrs.items() if opts.keeps(iri)}
            if opts.dataset_ids is not None:
                found = {
                    iri: kept
                    for iri, insts in found.items()
                    if (
                        kept := [
                            i for i in insts if i.get("datasetId", "@none") in opts.dataset_ids
                        ]
                    )
                }
            cut.extend(found[iri] for iri in result.cut if found.get(iri))
            if not single and not found and (opts.history.timerel or opts.dataset_ids):
                continue  # nothing of it in the time window: not part of the answer
        found_all.append((entity, found))
    headers, status = {}, 200
    if cut:
        status = 206
        start, end = _page(found_all, cut, opts)
        size = opts.history.last_n if opts.history.last_n else "*"
        headers["Content-Range"] = f"date-time {ms_to_iso(start)}-{ms_to_iso(end)}/{size}"
    rendered = []
    for entity, found in found_all:
        kinds = {iri: insts[0]["type"] for iri, insts in found.items() if insts}
        if cut:
            found = _in_page(found, opts, end)
        rendered.append(render(entity, found, ctx, opts, kinds))
    return _respond(rendered, ctx, media, single, headers, status)


def _respond(rendered, ctx, media, single, headers, status) -> Response:
    if media == neg.JSON_LD:
        for item in rendered:
            item["@context"] = neg.context_member(ctx)
    body = rendered[0] if single else rendered
    return neg.json_response(body, status=status, media_type=media, ctx=ctx, headers=headers)


def _ms(inst: dict, timeproperty: str) -> int:
    return iso_to_ms(inst.get(timeproperty) or inst["modifiedAt"])


def _page(found_all, cut: list[list[dict]], opts: TemporalOptions) -> tuple[int, int]:
    """The time range of a cut answer: ``(start, end)``, oldest first unless lastN asked for
    the newest instances, then newest first. ``end`` is where the first attribute was cut."""
    query, prop = opts.history, opts.history.timeproperty
    every = [_ms(i, prop) for _e, found in found_all for insts in found.values() for i in insts]
    if query.last_n is None:
        end = min(_ms(insts[-1], prop) for insts in cut)
        if query.timerel in ("after", "between"):
            return query.start_ms, end  # type: ignore[return-value]
        return min(every), end
    end = max(_ms(insts[0], prop) for insts in cut)
    if query.timerel == "between":
        return query.end_ms, end  # type: ignore[return-value]
    if query.timerel == "before":
        return query.start_ms, end  # type: ignore[return-value]
    return max(every), end


def _in_page(found: dict[str, list[dict]], opts: TemporalOptions, end: int) -> dict:
    prop = opts.history.timeproperty
    if opts.history.last_n is None:
        return {iri: [i for i in insts if _ms(i, prop) <= end] for iri, insts in found.items()}
    return {iri: [i for i in insts if _ms(i, prop) >= end] for iri, insts in found.items()}


async def retrieve(request: Request) -> Response:
    """GET /temporal/entities/{id}."""
    media = neg.accepted(request)
    who = reading_caller(request)
    ctx = await neg.query_context(request)
    entity_id = _entity_id(request)
    opts = temporal_options(request.query_params, ctx, limit=_limit(request))
    twin = _twin(request)
    entity = twin.get(who.tenant, entity_id)

    def run():
        response = _answer(request, twin, who.tenant, [entity], opts, ctx, media, True)
        shown = set(orjson.loads(response.body)) - {"@context"}
        asked = opts.history.attrs or opts.pick is not None or opts.omit is not None
        if asked and not (shown - RESERVED if opts.pick is None and opts.omit is None else shown):
            raise ResourceNotFound(f"entity {entity_id} has none of the requested attributes")
        return response

    return await anyio.to_thread.run_sync(run)


async def _query(request, params, ctx, body_attrs=None, selectors=None) -> Response:
    """A temporal query; ``selectors`` (POST): several EntitySelectors, any of which may
    match (each is ``params`` with its own id / idPattern / type)."""
    media = neg.accepted(request)
    settings = request.app.state.settings
    opts = temporal_options(params, ctx, limit=_limit(request), body_attrs=body_attrs)
    queries = []
    for selector_params in selectors or [params]:
        query = entity_query(
            selector_params,
            ctx,
            max_limit=settings.max_limit,
            default_limit=settings.default_limit,
            require_filter=False,
        )
        if body_attrs is not None:
            query = replace(query, attrs_any=opts.history.attrs)
        check_query_filter(selector_params, query)  # type, attrs, q, geo, scopeQ or local
        queries.append(query)
    who = caller(request)
    twin = _twin(request)
    if not twin.tenant_exists(who.tenant):
        if who.tenant:
            reading_caller(request)
        return neg.json_response([], media_type=media, ctx=ctx)

    def run():
        if len(queries) == 1:
            result = twin.query(who.tenant, queries[0])
            entities, total = result.entities, result.total
        else:  # the union, in selector order; one page of it
            seen: dict[str, dict] = {}
            first = queries[0]
            for query in queries:
                whole = replace(query, limit=first.offset + first.limit, offset=0, count=False)
                for entity in twin.query(who.tenant, whole).entities:
                    seen.setdefault(entity["id"], entity)
            union = list(seen.values())
            entities = union[first.offset : first.offset + first.limit]
            total = len(union) if first.count else None
        response = _answer(request, twin, who.tenant, entities, opts, ctx, media, False)
        if total is not None:
            response.headers["NGSILD-Results-Count"] = str(total)
        return response

    return await anyio.to_thread.run_sync(run)


async def query_get(request: Request) -> Response:
    ctx = await neg.query_context(request)
    return await _query(request, request.query_params, ctx)


async def query_post(request: Request) -> Response:
    """POST /temporal/entityOperations/query: the query (and temporalQ) in the body."""
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict) or body.get("type") not in ("Query", None):
        raise BadRequestData("the body must be an NGSI-LD Query object")
    ctx = await neg.body_context(request, body, media_type)
    params: dict[str, str] = {k: v for k, v in request.query_params.items()}
    entities = body.get("entities") or []
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise BadRequestData("entities must be an array of EntitySelector objects")
    if body.get("q"):
        params["q"] = body["q"]
    geo = body.get("geoQ")
    if isinstance(geo, dict):
        params["georel"] = geo.get("georel", "")
        params["geometry"] = geo.get("geometry", "")
        coords = geo.get("coordinates")
        params["coordinates"] = coords if isinstance(coords, str) else orjson.dumps(coords).decode()
        if geo.get("geoproperty"):
            params["geoproperty"] = geo["geoproperty"]
    temporal_q = body.get("temporalQ") or {}
    if not isinstance(temporal_q, dict):
        raise BadRequestData("temporalQ must be an object")
    for key in ("timerel", "timeAt", "endTimeAt", "timeproperty", "lastN"):
        if key in temporal_q:
            params[key] = str(temporal_q[key])
    attrs = body.get("attrs")
    if attrs is not None and not isinstance(attrs, list):
        raise BadRequestData("attrs must be an array of attribute names")
    selectors = [
        {**params, **{k: str(e[k]) for k in ("id", "idPattern", "type") if e.get(k)}}
        for e in entities
    ]
    return await _query(request, params, ctx, body_attrs=attrs, selectors=selectors or None)


async def missing_path_part(request: Request) -> Response:
    """``/temporal/entities//attrs…`` or ``…/attrs//{instanceId}``: a part is empty.

    PATCH of ``…/attrs//{instanceId}`` reads as ``…/attrs/{attr}``, where only DELETE is
    allowed: 405."""
    path = request.url.path
    if request.method == "PATCH" and "/entities//" not in path:
        return Response(status_code=405, headers={"Allow": "DELETE"})
    raise BadRequestData("the entity id or the attribute name is missing from the path")


async def entities_collection(request: Request) -> Response:
    if request.method == "POST":
        return await create_or_update(request)
    return await query_get(request)


async def entity_resource(request: Request) -> Response:
    if request.method == "DELETE":
        return await delete_temporal_entity(request)
    return await retrieve(request)
