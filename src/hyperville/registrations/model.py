"""The context source registration document (CIM 009 5.2.9, 5.2.10): validation, update
fragments, storage, display.

Like a subscription (:mod:`hyperville.subscriptions.model`), a registration is stored as its
requester wrote it (compact names), plus ``@context`` (the request's @context, absent for
the core context), ``createdAt`` and ``modifiedAt``. Names (entity types, property and
relationship names, the names of extra context source properties) are translated to
another requester's @context when shown (:func:`render`), and an update fragment's names to
the stored @context before it is merged (:func:`apply_fragment`).

Members other than the ones of 5.2.9 are *context source properties* (``csourceProperty1``,
``brand``…): any JSON value, queried with ``q`` / ``csf``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from hyperville.core.errors import BadRequestData
from hyperville.core.geo import check_geometry
from hyperville.ngsild.codec import check_name
from hyperville.ngsild.context import Context
from hyperville.subscriptions.model import now_iso, parse_time

ID_PREFIX = "urn:ngsi-ld:ContextSourceRegistration:"
TYPE = "ContextSourceRegistration"
MODES = ("inclusive", "exclusive", "redirect", "auxiliary")
GEO_MEMBERS = ("location", "observationSpace", "operationSpace")
INTERVALS = ("observationInterval", "managementInterval")
SYSTEM = ("createdAt", "modifiedAt")
READ_ONLY = (*SYSTEM, "status", "timesSent", "timesFailed", "lastSuccess", "lastFailure")
MANDATORY = ("id", "type", "information", "endpoint")
MANAGEMENT = ("localOnly", "cacheDuration", "timeout", "cooldown")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")


def _fail(message: str) -> None:
    raise BadRequestData(message)


def _uri(value: object, what: str) -> str:
    if not isinstance(value, str) or not _URI.match(value):
        raise BadRequestData(f"{what} must be a URI, not {value!r}")
    return value


def _list(value: object, what: str) -> list:
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"{what} must be a non-empty array")
    return value


def _text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise BadRequestData(f"{what} must be a non-empty string")


def _check_entity_info(item: object, where: str) -> None:
    if not isinstance(item, dict):
        raise BadRequestData(f"{where} must be a JSON object")
    unknown = set(item) - {"id", "idPattern", "type"}
    if unknown:
        raise BadRequestData(f"unknown {where} member(s): {', '.join(sorted(unknown))}")
    if "type" not in item:
        raise BadRequestData(f"{where} needs a type")
    types = item["type"] if isinstance(item["type"], list) else [item["type"]]
    for name in _list(types, f"{where}.type"):
        check_name(name, "entity type")
    if "id" in item and "idPattern" in item:
        raise BadRequestData(f"{where} cannot have both id and idPattern")
    if "id" in item:
        _uri(item["id"], f"{where}.id")
    if "idPattern" in item:
        _text(item["idPattern"], f"{where}.idPattern")
        try:
            re.compile(item["idPattern"])
        except re.error as exc:
            raise BadRequestData(f"{where}.idPattern is not a regular expression: {exc}") from None


def check_information(value: object) -> None:
    """``information``: a non-empty array of RegistrationInfo (5.2.10)."""
    for n, info in enumerate(_list(value, "information")):
        where = f"information[{n}]"
        if not isinstance(info, dict):
            raise BadRequestData(f"{where} must be a JSON object")
        unknown = set(info) - {"entities", "propertyNames", "relationshipNames"}
        if unknown:
            raise BadRequestData(f"unknown {where} member(s): {', '.join(sorted(unknown))}")
        if not info:
            raise BadRequestData(
                f"{where} needs at least one of entities, propertyNames, relationshipNames"
            )
        for i, entity in enumerate(_list(info.get("entities", [{}]), f"{where}.entities")):
            if "entities" in info:
                _check_entity_info(entity, f"{where}.entities[{i}]")
        for member in ("propertyNames", "relationshipNames"):
            if member in info:
                for name in _list(info[member], f"{where}.{member}"):
                    check_name(name, "attribute")


def _check_interval(value: object, what: str) -> None:
    if not isinstance(value, dict) or "startAt" not in value or set(value) - {"startAt", "endAt"}:
        raise BadRequestData(f"{what} must be a JSON object with startAt and an optional endAt")
    start = parse_time(value["startAt"], f"{what}.startAt")
    if "endAt" in value and parse_time(value["endAt"], f"{what}.endAt") < start:
        raise BadRequestData(f"{what}.endAt is before its startAt")


def _check_geometry(value: object, what: str) -> None:
    try:
        check_geometry(value)
    except BadRequestData as exc:
        raise BadRequestData(f"{what} is not a GeoJSON geometry: {exc.detail}") from None


def _check_scope(value: object) -> None:
    for scope in value if isinstance(value, list) else [value]:
        if not isinstance(scope, str) or not scope.startswith("/"):
            raise BadRequestData(f"scope {scope!r} must be a text starting with '/'")


def _check_key_values(value: object) -> None:
    for item in _list(value, "contextSourceInfo"):
        if not (
            isinstance(item, dict)
            and set(item) == {"key", "value"}
            and all(isinstance(v, str) for v in item.values())
        ):
            raise BadRequestData("each contextSourceInfo item must be {'key': text, 'value': text}")


def _check_management(value: object) -> None:
    if not isinstance(value, dict) or set(value) - set(MANAGEMENT):
        raise BadRequestData(f"management must be a JSON object of {', '.join(MANAGEMENT)}")


CHECKS: dict[str, Callable[[object], None]] = {
    "id": lambda v: _uri(v, "id"),
    "type": lambda v: None if v == TYPE else _fail(f"type must be '{TYPE}', not {v!r}"),
    "registrationName": lambda v: _text(v, "registrationName"),
    "description": lambda v: _text(v, "description"),
    "information": check_information,
    "tenant": lambda v: _text(v, "tenant"),
    "observationInterval": lambda v: _check_interval(v, "observationInterval"),
    "managementInterval": lambda v: _check_interval(v, "managementInterval"),
    "location": lambda v: _check_geometry(v, "location"),
    "observationSpace": lambda v: _check_geometry(v, "observationSpace"),
    "operationSpace": lambda v: _check_geometry(v, "operationSpace"),
    "expiresAt": lambda v: parse_time(v, "expiresAt"),
    "endpoint": lambda v: _uri(v, "endpoint"),
    "contextSourceInfo": _check_key_values,
    "scope": _check_scope,
    "mode": lambda v: None if v in MODES else _fail(f"mode must be one of {', '.join(MODES)}"),
    "operations": lambda v: [_text(o, "each operations item") for o in _list(v, "operations")],
    "refreshRate": lambda v: _text(v, "refreshRate"),
    "management": _check_management,
}


def check_members(body: dict) -> None:
    """Every known member is well-formed; other members are context source properties."""
    for name, value in body.items():
        if name in READ_ONLY:
            raise BadRequestData(f"{name} is set by the broker and cannot be written")
        if value is None:
            raise BadRequestData(f"{name} must not be null")
        check = CHECKS.get(name)
        if check is not None:
            check(value)
        else:
            check_name(name, "context source property")


def check_document(doc: dict, *, check_expiry: bool) -> None:
    for name in MANDATORY:
        if name not in doc:
            raise BadRequestData(f"{name} is mandatory in a context source registration")
    if check_expiry and expired(doc, datetime.now(UTC)):
        raise BadRequestData(f"expiresAt {doc['expiresAt']} is in the past")


def new_document(body: dict, context_raw: object) -> dict:
    """A stored registration from a creation body (without its @context member)."""
    if body.get("type") != TYPE:
        raise BadRequestData(f"type must be '{TYPE}'")
    check_members(body)
    doc = {"id": body.get("id") or ID_PREFIX + uuid.uuid4().hex, **body}
    if context_raw is not None:
        doc["@context"] = context_raw
    doc["createdAt"] = doc["modifiedAt"] = now_iso()
    check_document(doc, check_expiry=True)
    return doc


def apply_fragment(doc: dict, fragment: dict, ctx: Context, stored_ctx: Context) -> dict:
    """PATCH (5.9.3): each member of the fragment replaces the stored one; null removes it."""
    if "id" in fragment and fragment["id"] != doc["id"]:
        raise BadRequestData("the fragment's id differs from the registration id")
    given = {k: v for k, v in fragment.items() if v is not None}
    check_members(given)
    given = translate(given, ctx, stored_ctx)
    updated = dict(doc)
    for name, value in fragment.items():
        if value is None:
            if name in MANDATORY:
                raise BadRequestData(f"{name} is mandatory and cannot be removed")
            known = name in CHECKS
            updated.pop(name if known else stored_ctx.compact_iri(ctx.expand_term(name)), None)
    updated.update(given)
    updated["modifiedAt"] = now_iso()
    check_document(updated, check_expiry="expiresAt" in given)
    return updated


def expired(doc: dict, now: datetime) -> bool:
    return "expiresAt" in doc and parse_time(doc["expiresAt"], "expiresAt") <= now


def render(doc: dict, stored_ctx: Context, ctx: Context, *, sys_attrs: bool) -> dict:
    """The registration as a requester with ``ctx`` sees it (5.10.1): names in its @context."""
    shown = {k: v for k, v in doc.items() if k != "@context" and (sys_attrs or k not in SYSTEM)}
    return translate(shown, stored_ctx, ctx)


def translate(doc: dict, source: Context, target: Context) -> dict:
    """The document with its names moved from one @context to another: entity types,
    property and relationship names, and the names of context source properties."""
    if source is target:
        return doc

    def name(term: str) -> str:
        return target.compact_iri(source.expand_term(term))

    out: dict = {}
    for key, value in doc.items():
        out[key if key in CHECKS or key in READ_ONLY or key == "@context" else name(key)] = value
    if isinstance(out.get("information"), list):
        out["information"] = [_translate_info(i, name) for i in out["information"]]
    return out


def _translate_info(info: object, name: Callable[[str], str]) -> object:
    if not isinstance(info, dict):
        return info
    shown = dict(info)
    if isinstance(shown.get("entities"), list):
        shown["entities"] = [
            {
                **e,
                "type": [name(t) for t in e["type"]]
                if isinstance(e["type"], list)
                else name(e["type"]),
            }
            if isinstance(e, dict) and "type" in e
            else e
            for e in shown["entities"]
        ]
    for member in ("propertyNames", "relationshipNames"):
        if isinstance(shown.get(member), list):
            shown[member] = [name(n) for n in shown[member]]
    return shown
