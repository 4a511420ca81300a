"""NGSI-LD attribute routes: append, update, partial update, replace, delete (CIM 009 6.6–6.7)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hyperville import twin_ops as ops
from hyperville.api import negotiation as neg
from hyperville.api.caller import caller, reading_caller
from hyperville.api.entities import _entity_id, _twin
from hyperville.api.params import options_of
from hyperville.core.errors import BadRequestData
from hyperville.ngsild import codec
from hyperville.ngsild.context import Context


def update_result(report: ops.UpdateReport, ctx: Context) -> Response:
    """204 when every attribute was changed, else 207 with the NGSI-LD UpdateResult."""
    if not report.not_updated:
        return Response(status_code=204)
    body = {
        "updated": [ctx.compact_iri(i) for i in report.updated],
        "notUpdated": [
            {"attributeName": ctx.compact_iri(i), "reason": reason}
            for i, reason in report.not_updated
        ],
    }
    return neg.json_response(body, status=207)


async def _fragment(request: Request) -> tuple[dict, Context]:
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict):
        raise BadRequestData("an attribute fragment must be a JSON object")
    ctx = await neg.body_context(request, body, media_type)
    return body, ctx


async def append_attrs(request: Request) -> Response:
    """POST /entities/{id}/attrs (options=noOverwrite keeps existing attributes)."""
    who = caller(request)
    entity_id = _entity_id(request)
    overwrite = "noOverwrite" not in options_of(request.query_params)
    body, ctx = await _fragment(request)
    attrs = codec.expand_attributes(body, ctx)
    report = await _twin(request).modify(
        who.tenant, entity_id, lambda e, now: ops.append_attrs(e, attrs, now, overwrite=overwrite)
    )
    return update_result(report, ctx)


async def update_attrs(request: Request) -> Response:
    """PATCH /entities/{id}/attrs: only attributes that exist are updated."""
    who = caller(request)
    entity_id = _entity_id(request)
    body, ctx = await _fragment(request)
    attrs = codec.expand_attributes(body, ctx)
    report = await _twin(request).modify(
        who.tenant, entity_id, lambda e, now: ops.append_attrs(e, attrs, now, only_existing=True)
    )
    return update_result(report, ctx)


def _attr_iri(request: Request, ctx: Context) -> str:
    name = request.path_params["attr"]
    codec.check_name(name)
    return ctx.expand_term(name)


def _single_attribute(body: dict, name: str, ctx: Context, iri: str, *, allow_null: bool) -> list:
    """The instances of a body that describes one attribute (PATCH/PUT …/attrs/{attr})."""
    fragment = {k: v for k, v in body.items() if k != "@context"}
    return codec.expand_attribute(name, iri, fragment, ctx, allow_null)


async def partial_update_attr(request: Request) -> Response:
    """PATCH /entities/{id}/attrs/{attr}: merge the given members into the attribute."""
    who = caller(request)
    entity_id = _entity_id(request)
    body, ctx = await _fragment(request)
    iri = _attr_iri(request, ctx)
    fragment = {k: v for k, v in body.items() if k != "@context"}
    if not fragment:
        raise BadRequestData("the partial attribute update body is empty")
    instances = codec.expand_attribute(request.path_params["attr"], iri, fragment, ctx, True)
    if "type" not in fragment:
        for instance in instances:  # an inferred type must not overwrite the stored one
            instance.pop("type", None)
    await _twin(request).modify(
        who.tenant, entity_id, lambda e, now: ops.partial_update_attr(e, iri, instances, now)
    )
    return Response(status_code=204)


async def replace_attr(request: Request) -> Response:
    who = caller(request)
    entity_id = _entity_id(request)
    body, ctx = await _fragment(request)
    iri = _attr_iri(request, ctx)
    instances = _single_attribute(body, request.path_params["attr"], ctx, iri, allow_null=False)
    await _twin(request).modify(
        who.tenant, entity_id, lambda e, now: ops.replace_attr(e, iri, instances, now)
    )
    return Response(status_code=204)


async def delete_attr(request: Request) -> Response:
    who = reading_caller(request)
    entity_id = _entity_id(request)
    ctx = await neg.query_context(request)
    iri = _attr_iri(request, ctx)
    params = request.query_params
    dataset_id = params.get("datasetId")
    delete_all = params.get("deleteAll") == "true"
    await _twin(request).modify(
        who.tenant,
        entity_id,
        lambda e, now: ops.delete_attr(e, iri, now, dataset_id=dataset_id, delete_all=delete_all),
    )
    return Response(status_code=204)


async def attrs_collection(request: Request) -> Response:
    return await (append_attrs if request.method == "POST" else update_attrs)(request)


async def attr_resource(request: Request) -> Response:
    handlers = {"PATCH": partial_update_attr, "PUT": replace_attr, "DELETE": delete_attr}
    return await handlers[request.method](request)
