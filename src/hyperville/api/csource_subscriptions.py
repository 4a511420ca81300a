"""NGSI-LD context source registration subscription routes (CIM 009 5.11, HTTP binding
6.12–6.13): create, retrieve, query, update, delete. Their notifications are sent by
:mod:`hyperville.registrations.notifier`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hyperville.api import negotiation as neg
from hyperville.api.caller import caller
from hyperville.api.dispatch import by_method
from hyperville.api.params import options_of, require_uri
from hyperville.api.query_params import query_params
from hyperville.api.registrations import BASE, OFFERS, json_object, paged, registry
from hyperville.registrations.csource_model import CompiledCsourceSubscription
from hyperville.subscriptions.model import render

PATH = f"{BASE}/csourceSubscriptions"


def _subscription_id(request: Request) -> str:
    return require_uri(request.path_params["subscription_id"], "subscription id")


def _shown(sub: CompiledCsourceSubscription, ctx, sys_attrs: bool) -> dict:
    return render(sub.doc, sub.context, ctx, sys_attrs=sys_attrs)


async def create_subscription(request: Request) -> Response:
    who = caller(request)
    body, ctx = await json_object(request, "subscription")
    sub_id = await registry(request).create_subscription(who.tenant, body, ctx)
    return Response(status_code=201, headers={"Location": f"{PATH}/{sub_id}"})


async def retrieve_subscription(request: Request) -> Response:
    media = neg.accepted(request, OFFERS)
    who = caller(request)
    sub_id = _subscription_id(request)
    ctx = await neg.query_context(request)
    sys_attrs = "sysAttrs" in options_of(query_params(request))
    shown = _shown(registry(request).get_subscription(who.tenant, sub_id), ctx, sys_attrs)
    if media == neg.JSON_LD:
        shown["@context"] = neg.context_member(ctx)
    return neg.json_response(shown, media_type=media, ctx=ctx)


async def query_subscriptions(request: Request) -> Response:
    media = neg.accepted(request, OFFERS)
    who = caller(request)
    ctx = await neg.query_context(request)
    sys_attrs = "sysAttrs" in options_of(query_params(request))
    every = registry(request).list_subscriptions(who.tenant)
    return paged(request, every, PATH, media, ctx, lambda s: _shown(s, ctx, sys_attrs))


async def update_subscription(request: Request) -> Response:
    who = caller(request)
    sub_id = _subscription_id(request)
    fragment, ctx = await json_object(
        request, "subscription fragment", allowed=(neg.JSON, neg.JSON_LD, neg.MERGE_PATCH)
    )
    await registry(request).update_subscription(who.tenant, sub_id, fragment, ctx)
    return Response(status_code=204)


async def delete_subscription(request: Request) -> Response:
    who = caller(request)
    await registry(request).delete_subscription(who.tenant, _subscription_id(request))
    return Response(status_code=204)


subscriptions_collection = by_method(POST=create_subscription, GET=query_subscriptions)
subscription_resource = by_method(
    GET=retrieve_subscription, PATCH=update_subscription, DELETE=delete_subscription
)
