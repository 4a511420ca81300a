"""NGSI-LD subscription routes (CIM 009 5.8, HTTP binding 6.10–6.11): create, retrieve,
query, update, delete. The subscriptions themselves live in :mod:`hyperville.subscriptions`."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import negotiation as neg
from hyperville.api.caller import caller
from hyperville.api.dispatch import by_method
from hyperville.api.params import options_of, require_uri
from hyperville.core.errors import BadRequestData
from hyperville.subscriptions import model
from hyperville.subscriptions.service import SubscriptionService

BASE = "/ngsi-ld/v1"
OFFERS = (neg.JSON, neg.JSON_LD)


def _service(request: Request) -> SubscriptionService:
    return request.app.state.subscriptions


def _subscription_id(request: Request) -> str:
    return require_uri(request.path_params["subscription_id"], "subscription id")


async def _body(request: Request, **kwargs) -> tuple[dict, object]:
    """The JSON object of a request and its @context (415, 400, 503 as for entities)."""
    body, media_type = await neg.read_json_body(request, **kwargs)
    if not isinstance(body, dict):
        raise BadRequestData("a subscription must be a JSON object")
    ctx = await neg.body_context(request, body, media_type)
    return {k: v for k, v in body.items() if k != "@context"}, ctx


async def create_subscription(request: Request) -> Response:
    who = caller(request)
    body, ctx = await _body(request)
    sub_id = await _service(request).create(who.tenant, body, ctx)  # type: ignore[arg-type]
    return Response(status_code=201, headers={"Location": f"{BASE}/subscriptions/{sub_id}"})


def _render(docs: list, ctx, media: str, sys_attrs: bool) -> list[dict]:
    shown = [model.render(s.doc, s.context, ctx, sys_attrs=sys_attrs) for s in docs]
    if media == neg.JSON_LD:
        for item in shown:
            item["@context"] = neg.context_member(ctx)
    return shown


async def retrieve_subscription(request: Request) -> Response:
    media = neg.accepted(request, OFFERS)
    who = caller(request)
    sub_id = _subscription_id(request)
    ctx = await neg.query_context(request)
    sys_attrs = "sysAttrs" in options_of(request.query_params)
    found = _service(request).get(who.tenant, sub_id)
    shown = _render([found], ctx, media, sys_attrs)[0]
    return neg.json_response(shown, media_type=media, ctx=ctx)


def _count_param(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise BadRequestData(f"{key} must be a non-negative integer, not {raw!r}")
    return int(raw)


def _page_links(path: str, limit: int, offset: int, total: int) -> str | None:
    links = []
    if offset > 0:
        links.append((max(offset - limit, 0), "prev"))
    if offset + limit < total:
        links.append((offset + limit, "next"))
    return (
        ",".join(
            f'<{path}?limit={limit}&offset={at}>;rel="{rel}";type="application/ld+json"'
            for at, rel in links
        )
        or None
    )


async def query_subscriptions(request: Request) -> Response:
    media = neg.accepted(request, OFFERS)
    who = caller(request)
    ctx = await neg.query_context(request)
    params = request.query_params
    sys_attrs = "sysAttrs" in options_of(params)
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
    every = _service(request).list(who.tenant)
    headers = {}
    if count == "true":
        headers["NGSILD-Results-Count"] = str(len(every))
    links = _page_links(f"{BASE}/subscriptions", limit, offset, len(every)) if limit else None
    shown = _render(every[offset : offset + limit], ctx, media, sys_attrs)
    response = neg.json_response(shown, media_type=media, ctx=ctx, headers=headers)
    if links:
        context_link = response.headers.get("Link")
        response.headers["Link"] = f"{context_link},{links}" if context_link else links
    return response


async def update_subscription(request: Request) -> Response:
    who = caller(request)
    sub_id = _subscription_id(request)
    fragment, ctx = await _body(request, allowed=(neg.JSON, neg.JSON_LD, neg.MERGE_PATCH))
    await _service(request).update(who.tenant, sub_id, fragment, ctx)  # type: ignore[arg-type]
    return Response(status_code=204)


async def delete_subscription(request: Request) -> Response:
    who = caller(request)
    await _service(request).delete(who.tenant, _subscription_id(request))
    return Response(status_code=204)


subscriptions_collection = by_method(POST=create_subscription, GET=query_subscriptions)
subscription_resource = by_method(
    GET=retrieve_subscription, PATCH=update_subscription, DELETE=delete_subscription
)
