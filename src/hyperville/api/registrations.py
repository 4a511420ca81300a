"""NGSI-LD context source registration routes (CIM 009 5.9, 5.10, HTTP binding 6.8–6.9):
register, retrieve, query, update, delete. The registry lives in
:mod:`hyperville.registrations`; hyperville does not forward requests to the sources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import negotiation as neg
from hyperville.api.caller import caller
from hyperville.api.dispatch import by_method
from hyperville.api.params import options_of, parse_type_expression, require_uri, split_list
from hyperville.api.query_params import query_params
from hyperville.core.errors import BadRequestData
from hyperville.ngsild import qlang
from hyperville.ngsild.context import Context
from hyperville.ngsild.geoquery import parse_geoquery
from hyperville.registrations import model
from hyperville.registrations.matching import (
    RegistrationFilter,
    Selector,
    geoproperty_member,
    temporal_query,
)
from hyperville.registrations.service import RegistryService

BASE = "/ngsi-ld/v1"
PATH = f"{BASE}/csourceRegistrations"
OFFERS = (neg.JSON, neg.JSON_LD)


def registry(request: Request) -> RegistryService:
    return request.app.state.registry


async def json_object(request: Request, what: str, **kwargs) -> tuple[dict, Context]:
    """The JSON object of a request and its @context (415, 400, 503 as for entities)."""
    body, media_type = await neg.read_json_body(request, **kwargs)
    if not isinstance(body, dict):
        raise BadRequestData(f"a {what} must be a JSON object")
    ctx = await neg.body_context(request, body, media_type)
    return {k: v for k, v in body.items() if k != "@context"}, ctx


def _count_param(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise BadRequestData(f"{key} must be a non-negative integer, not {raw!r}")
    return int(raw)


def paged(request: Request, items: list, path: str, media: str, ctx: Context, render) -> Response:
    """One page (``limit``, ``offset``) of ``items``, with ``NGSILD-Results-Count`` when
    ``count=true`` and prev/next ``Link`` headers that keep the other parameters."""
    params = query_params(request)
    settings = request.app.state.settings
    limit = _count_param(params, "limit", settings.default_limit)
    offset = _count_param(params, "offset", 0)
    count = params.get("count", "false")
    if count not in ("true", "false"):
        raise BadRequestData(f"count must be true or false, not {count!r}")
    if limit > settings.max_limit:
        raise BadRequestData(f"limit {limit} exceeds the maximum of {settings.max_limit}")
    if limit == 0 and count != "true":
        raise BadRequestData("limit=0 is only allowed together with count=true")
    headers = {"NGSILD-Results-Count": str(len(items))} if count == "true" else {}
    shown = [render(item) for item in items[offset : offset + limit]]
    if media == neg.JSON_LD:
        for item in shown:
            item["@context"] = neg.context_member(ctx)
    response = neg.json_response(shown, media_type=media, ctx=ctx, headers=headers)
    kept = {k: v for k, v in params.items() if k not in ("limit", "offset")}
    links = []
    if limit and offset > 0:
        links.append((max(offset - limit, 0), "prev"))
    if limit and offset + limit < len(items):
        links.append((offset + limit, "next"))
    pages = ",".join(
        f"<{path}?{urlencode({**kept, 'limit': limit, 'offset': at}, safe=',;:/')}>;"
        f'rel="{rel}";type="application/ld+json"'
        for at, rel in links
    )
    if pages:
        context_link = response.headers.get("Link")
        response.headers["Link"] = f"{context_link},{pages}" if context_link else pages
    return response


def _registration_id(request: Request) -> str:
    return require_uri(request.path_params["registration_id"], "registration id")


def registration_filter(params: Mapping[str, str], ctx: Context) -> RegistrationFilter:
    """The filter of GET /csourceRegistrations (6.8.3.2); at least one condition is needed."""
    types = None
    if "type" in params:
        if not params["type"].strip():
            raise BadRequestData("type must not be empty")
        types = parse_type_expression(params["type"], ctx)
    ids = [require_uri(i) for i in split_list(params.get("id") or None)]
    pattern = params.get("idPattern") or None
    compiled_pattern = None
    if pattern is not None:
        try:
            compiled_pattern = re.compile(pattern)
        except re.error as exc:
            raise BadRequestData(f"idPattern is not a valid regular expression: {exc}") from None
    if ids:
        selectors = tuple(Selector(types, i) for i in ids)
    elif compiled_pattern is not None or types is not None:
        selectors = (Selector(types, None, compiled_pattern),)
    else:
        selectors = ()
    attrs = [ctx.expand_term(a) for a in split_list(params.get("attrs") or None)]
    queries = {
        key: qlang.resolve_names(qlang.parse_q(params[key]), ctx.expand_term)
        for key in ("q", "csf")
        if params.get(key)
    }
    geo = parse_geoquery(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
    )
    if geo is not None:
        geoproperty_member(geo.geoproperty)
    temporal = temporal_query(
        params.get("timerel"),
        params.get("timeAt"),
        params.get("endTimeAt"),
        params.get("timeproperty"),
    )
    wanted = RegistrationFilter(
        selectors=selectors,
        attrs=frozenset(attrs) if attrs else None,
        q=queries.get("q"),
        csf=queries.get("csf"),
        geo=geo,
        temporal=temporal,
    )
    if wanted == RegistrationFilter():
        raise BadRequestData(
            "a registration query needs at least one of type, id, idPattern, attrs, q, csf, "
            "a geo-query or a temporal query"
        )
    return wanted


async def create_registration(request: Request) -> Response:
    who = caller(request)
    body, ctx = await json_object(request, "context source registration")
    reg_id = await registry(request).create_registration(who.tenant, body, ctx)
    return Response(status_code=201, headers={"Location": f"{PATH}/{reg_id}"})


async def retrieve_registration(request: Request) -> Response:
    media = neg.accepted(request, OFFERS)
    who = caller(request)
    reg_id = _registration_id(request)
    ctx = await neg.query_context(request)
    sys_attrs = "sysAttrs" in options_of(query_params(request))
    found = registry(request).get_registration(who.tenant, reg_id)
    shown = model.render(found.doc, found.context, ctx, sys_attrs=sys_attrs)
    if media == neg.JSON_LD:
        shown["@context"] = neg.context_member(ctx)
    return neg.json_response(shown, media_type=media, ctx=ctx)


async def query_registrations(request: Request) -> Response:
    media = neg.accepted(request, OFFERS)
    who = caller(request)
    ctx = await neg.query_context(request)
    params = query_params(request)
    sys_attrs = "sysAttrs" in options_of(params)
    found = registry(request).query_registrations(who.tenant, registration_filter(params, ctx))
    return paged(
        request,
        found,
        PATH,
        media,
        ctx,
        lambda r: model.render(r.doc, r.context, ctx, sys_attrs=sys_attrs),
    )


async def update_registration(request: Request) -> Response:
    who = caller(request)
    reg_id = _registration_id(request)
    fragment, ctx = await json_object(
        request, "registration fragment", allowed=(neg.JSON, neg.JSON_LD, neg.MERGE_PATCH)
    )
    await registry(request).update_registration(who.tenant, reg_id, fragment, ctx)
    return Response(status_code=204)


async def delete_registration(request: Request) -> Response:
    who = caller(request)
    await registry(request).delete_registration(who.tenant, _registration_id(request))
    return Response(status_code=204)


registrations_collection = by_method(POST=create_registration, GET=query_registrations)
registration_resource = by_method(
    GET=retrieve_registration, PATCH=update_registration, DELETE=delete_registration
)
