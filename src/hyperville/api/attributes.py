"""NGSI-LD attribute routes: append, update, partial update, replace, delete (CIM 009 6.6–6.7)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hyperville import twin_ops as ops
from hyperville.api import negotiation as neg
from hyperville.api.caller import caller, reading_caller
from hyperville.api.dispatch import by_method
from hyperville.api.entities import _entity_id, _twin
from hyperville.api.params import options_of
from hyperville.core.errors import BadRequestData, ResourceNotFound
from hyperville.ngsild import codec
from hyperville.ngsild.context import Context

CORE_NS = "https://uri.etsi.org/ngsi-ld/"


def update_result(report: ops.UpdateReport, ctx: Context) -> Response:
    """204 when every attribute was changed, else 207 with the NGSI-LD UpdateResult."""
    if not report.not_updated:
        return Response(status_code=204)

    # attribute names stay expanded, as the ETSI suite expects; core members (scope) compacted
    def name(iri: str) -> str:
        return (
            ctx.compact_iri(iri)
            if iri.startswith(CORE_NS) and "/default-context/" not in iri
            else iri
        )

    body = {
        "updated": [name(i) for i in report.updated],
        "notUpdated": [
            {"attributeName": name(i), "reason": reason} for i, reason in report.not_updated
        ],
    }
    return neg.json_response(body, status=207)


async def _fragment(request: Request) -> tuple[dict, Context]:
    body, media_type = await neg.read_json_body(request)
    if not isinstance(body, dict):
        raise BadRequestData("an attribute fragment must be a JSON object")
    ctx = await neg.body_context(request, body, media_type)
    return body, ctx


def _expand_fragment(body: dict, ctx: Context, *, allow_null: bool) -> dict:
    """An entity fragment: attributes plus the ``type`` and ``scope`` members (id ignored)."""
    fragment = {k: v for k, v in body.items() if k != "id"}
    return codec.expand_entity(fragment, ctx, partial=True, allow_null=allow_null)


async def append_attrs(request: Request) -> Response:
    """POST /entities/{id}/attrs (options=noOverwrite keeps existing attributes)."""
    who = caller(request)
    entity_id = _entity_id(request)
    overwrite = "noOverwrite" not in options_of(request.query_params)
    body, ctx = await _fragment(request)
    fragment = _expand_fragment(body, ctx, allow_null=False)

    def change(entity: dict, now: str) -> ops.UpdateReport:
        report = ops.append_attrs(entity, fragment["attrs"], now, overwrite=overwrite)
        mode = "append" if overwrite else "noOverwrite"
        ops.fragment_members(entity, fragment, report, now, mode=mode)
        return report

    report = await _twin(request).modify(who.tenant, entity_id, change)
    return update_result(report, ctx)


async def update_attrs(request: Request) -> Response:
    """PATCH /entities/{id}/attrs: attributes (and datasetId instances) are updated, those the
    entity lacks are appended, as the ETSI suite expects (011_01_03); null deletes one, and
    deleting one that does not exist is reported (207). ``scope`` is only replaced."""
    who = caller(request)
    entity_id = _entity_id(request)
    body, ctx = await _fragment(request)
    fragment = _expand_fragment(body, ctx, allow_null=True)

    def change(entity: dict, now: str) -> ops.UpdateReport:
        report = ops.append_attrs(entity, fragment["attrs"], now)
        ops.fragment_members(entity, fragment, report, now, mode="update")
        return report

    report = await _twin(request).modify(who.tenant, entity_id, change)
    return update_result(report, ctx)


def _attr_iri(request: Request, ctx: Context) -> str:
    name = request.path_params["attr"]
    codec.check_name(name)
    iri = ctx.expand_term(name)
    if iri[:1] == "@":
        raise BadRequestData(f"{name!r} is not an attribute name")
    return iri


def _refuse_scope(iri: str) -> None:
    if iri == ops.SCOPE_IRI:
        raise BadRequestData("scope is not an attribute: change it with POST or PATCH …/attrs")


def _stored_type(entity: dict, iri: str, fragment: dict) -> str:
    """The type of the stored instance a partial update targets (its fragment may omit it)."""
    dataset_id = fragment.get("datasetId")
    for instance in entity.get("attrs", {}).get(iri, []):
        if instance.get("datasetId") == dataset_id:
            return instance["type"]
    raise ResourceNotFound(f"attribute {iri} (datasetId {dataset_id}) not found in {entity['id']}")


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
    _refuse_scope(iri)
    fragment = {k: v for k, v in body.items() if k != "@context"}
    if not fragment:
        raise BadRequestData("the partial attribute update body is empty")
    name = request.path_params["attr"]

    def expand(fragment: dict) -> list[dict]:
        return codec.expand_attribute(name, iri, fragment, ctx, True, need_value=False)

    typed = expand(fragment) if "type" in fragment else None

    def change(entity: dict, now: str) -> None:
        # without a type, the members are those of the stored attribute, whatever its type:
        # it is read here, in the write itself, rather than once more before it
        instances = typed
        if instances is None:
            instances = expand({**fragment, "type": _stored_type(entity, iri, fragment)})
        ops.partial_update_attr(entity, iri, instances, now)

    await _twin(request).modify(who.tenant, entity_id, change)
    return Response(status_code=204)


async def replace_attr(request: Request) -> Response:
    who = caller(request)
    entity_id = _entity_id(request)
    body, ctx = await _fragment(request)
    iri = _attr_iri(request, ctx)
    _refuse_scope(iri)
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
    if iri == ops.SCOPE_IRI:
        await _twin(request).modify(who.tenant, entity_id, ops.delete_scope)
        return Response(status_code=204)
    await _twin(request).modify(
        who.tenant,
        entity_id,
        lambda e, now: ops.delete_attr(e, iri, now, dataset_id=dataset_id, delete_all=delete_all),
    )
    return Response(status_code=204)


attrs_collection = by_method(POST=append_attrs, PATCH=update_attrs)


async def missing_entity_id(request: Request) -> Response:
    """``/entities//attrs…``: the entity id is empty."""
    raise BadRequestData("the entity id is missing from the path")


attr_resource = by_method(PATCH=partial_update_attr, PUT=replace_attr, DELETE=delete_attr)
