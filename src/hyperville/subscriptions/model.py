"""The subscription document (CIM 009 5.2.12): validation, update fragments, storage, display.

A subscription is stored as its requester wrote it (compact member names, ``q`` as text),
plus ``@context`` (the request's @context, absent for the core context), ``createdAt``,
``modifiedAt`` and, inside ``notification``, the delivery counters the notifier keeps.
Names are translated to another requester's @context when shown (:func:`render`), and
an update fragment's names to the stored @context before it is merged
(:func:`apply_fragment`), so the stored document always reads in one @context.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hyperville.core.errors import BadRequestData
from hyperville.ngsild.codec import check_name
from hyperville.ngsild.context import Context
from hyperville.subscriptions.mqtt_target import check_notifier_info, is_mqtt, parse_target, redact

ID_PREFIX = "urn:ngsi-ld:Subscription:"
TRIGGERS = (
    "entityCreated",
    "entityUpdated",
    "entityDeleted",
    "attributeCreated",
    "attributeUpdated",
    "attributeDeleted",
)
DEFAULT_TRIGGERS = ["attributeCreated", "attributeUpdated"]
FORMATS = ("normalized", "keyValues", "simplified", "concise")
ACCEPTS = ("application/json", "application/ld+json", "application/geo+json")
SCHEMES = ("http", "https")
COUNTERS = ("status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure")
SYSTEM = ("createdAt", "modifiedAt")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_TYPE_TOKENS = re.compile(r"([(),;|])")
_PROJECTION_TOKENS = re.compile(r"([{}|,])")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise BadRequestData(f"{what} must be a DateTime string, not {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequestData(f"{what} is not a DateTime: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _uri(value: object, what: str) -> str:
    if not isinstance(value, str) or not _URI.match(value):
        raise BadRequestData(f"{what} must be a URI, not {value!r}")
    return value


def _list(value: object, what: str) -> list:
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"{what} must be a non-empty array")
    return value


def _names(value: object, what: str) -> list[str]:
    return [check_name(n, what) for n in _list(value, what)]


def _bool(value: object, what: str) -> None:
    if not isinstance(value, bool):
        raise BadRequestData(f"{what} must be true or false, not {value!r}")


def _text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise BadRequestData(f"{what} must be a non-empty string")


def _positive(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadRequestData(f"{what} must be a positive number of seconds, not {value!r}")


def _key_values(value: object, what: str) -> None:
    for item in _list(value, what):
        if not (
            isinstance(item, dict)
            and set(item) == {"key", "value"}
            and all(isinstance(v, str) and v for v in item.values())
        ):
            raise BadRequestData(f"each {what} item must be {{'key': text, 'value': text}}")


def check_endpoint(endpoint: object) -> None:
    if not isinstance(endpoint, dict):
        raise BadRequestData("notification.endpoint must be a JSON object")
    unknown = set(endpoint) - {"uri", "accept", "receiverInfo", "notifierInfo"}
    if unknown:
        raise BadRequestData(f"unknown notification.endpoint member(s): {', '.join(unknown)}")
    uri = endpoint.get("uri")
    if not isinstance(uri, str) or not _URI.match(uri):
        shown = redact(uri) if isinstance(uri, str) else uri
        raise BadRequestData(f"notification.endpoint.uri must be a URI, not {shown!r}")
    for member in ("receiverInfo", "notifierInfo"):
        if member in endpoint:
            _key_values(endpoint[member], f"notification.endpoint.{member}")
    if "notifierInfo" in endpoint:
        check_notifier_info(endpoint["notifierInfo"])
    parts = urlsplit(uri)
    if is_mqtt(uri):
        parse_target(uri, endpoint.get("notifierInfo"))
    elif parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise BadRequestData(
            f"notification.endpoint.uri {uri!r}: only http://, https://, mqtt:// and mqtts:// "
            "endpoints with a host are supported"
        )
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        shown = redact(uri)
        raise BadRequestData(f"notification.endpoint.uri {shown!r} has an invalid port") from None
    if "accept" in endpoint and endpoint["accept"] not in ACCEPTS:
        raise BadRequestData(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")


def check_notification(notification: object) -> None:
    if not isinstance(notification, dict):
        raise BadRequestData("notification must be a JSON object")
    known = {"attributes", "format", "showChanges", "sysAttrs", "endpoint", "pick", "omit"}
    known |= {"join", "joinLevel"}
    kept = set(notification) & set(COUNTERS)
    if kept:
        raise BadRequestData(f"notification.{min(kept)} is kept by the broker, not written")
    unknown = set(notification) - known
    if unknown:
        raise BadRequestData(f"unknown notification member(s): {', '.join(sorted(unknown))}")
    if "endpoint" not in notification:
        raise BadRequestData("notification.endpoint is mandatory")
    check_endpoint(notification["endpoint"])
    if "format" in notification and notification["format"] not in FORMATS:
        raise BadRequestData(f"notification.format must be one of {', '.join(FORMATS)}")
    for member in ("attributes", "pick", "omit"):
        if member in notification:
            _names(notification[member], f"notification.{member}")
    for member in ("showChanges", "sysAttrs"):
        if member in notification:
            _bool(notification[member], f"notification.{member}")
    if "join" in notification and notification["join"] not in ("flat", "inline", "@none"):
        raise BadRequestData("notification.join must be flat, inline or @none")
    level = notification.get("joinLevel", 1)
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise BadRequestData("notification.joinLevel must be a positive integer")


def _check_selector(selector: object) -> None:
    if not isinstance(selector, dict):
        raise BadRequestData("each entities item must be a JSON object")
    unknown = set(selector) - {"id", "idPattern", "type"}
    if unknown:
        raise BadRequestData(f"unknown entity selector member(s): {', '.join(sorted(unknown))}")
    if "type" not in selector:
        raise BadRequestData("each entities item needs a type")
    type_text = selector["type"]
    _text(type_text, "entities[].type")
    for token in _TYPE_TOKENS.split(type_text):
        if token.strip() and token not in "(),;|":
            check_name(token.strip(), "entity type")
    if "id" in selector:
        _uri(selector["id"], "entities[].id")
    if "idPattern" in selector:
        _text(selector["idPattern"], "entities[].idPattern")
        try:
            re.compile(selector["idPattern"])
        except re.error as exc:
            raise BadRequestData(
                f"entities[].idPattern is not a regular expression: {exc}"
            ) from exc


def _check_triggers(value: object) -> None:
    for trigger in _list(value, "notificationTrigger"):
        if trigger not in TRIGGERS:
            raise BadRequestData(
                f"notificationTrigger {trigger!r} is not one of {', '.join(TRIGGERS)}"
            )


def _check_dataset_ids(value: object) -> None:
    for item in _list(value, "datasetId"):
        if item != "@none":
            _uri(item, "datasetId")


CHECKS: dict[str, Callable[[object], None]] = {
    "id": lambda v: _uri(v, "id"),
    "type": lambda v: None if v == "Subscription" else _fail("type must be 'Subscription'"),
    "subscriptionName": lambda v: _text(v, "subscriptionName"),
    "description": lambda v: _text(v, "description"),
    "entities": lambda v: [_check_selector(s) for s in _list(v, "entities")],
    "watchedAttributes": lambda v: _names(v, "watchedAttributes"),
    "notificationTrigger": _check_triggers,
    "timeInterval": lambda v: _positive(v, "timeInterval"),
    "q": lambda v: _text(v, "q"),
    "geoQ": lambda v: None if isinstance(v, dict) else _fail("geoQ must be a JSON object"),
    "scopeQ": lambda v: _text(v, "scopeQ"),
    "csf": lambda v: _text(v, "csf"),
    "lang": lambda v: _text(v, "lang"),
    "isActive": lambda v: _bool(v, "isActive"),
    "expiresAt": lambda v: parse_time(v, "expiresAt"),
    "throttling": lambda v: _positive(v, "throttling"),
    "datasetId": _check_dataset_ids,
    "jsonldContext": lambda v: _uri(v, "jsonldContext"),
    "notification": check_notification,
}
READ_ONLY = ("status", *SYSTEM)


def _fail(message: str) -> None:
    raise BadRequestData(message)


def check_members(body: dict) -> None:
    """Every member is known and well-formed (the whole-document rules come after)."""
    for name, value in body.items():
        if name in READ_ONLY:
            raise BadRequestData(f"{name} is set by the broker and cannot be written")
        check = CHECKS.get(name)
        if check is None:
            raise BadRequestData(f"unknown subscription member {name!r}")
        if value is None:
            raise BadRequestData(f"{name} must not be null")
        check(value)


def check_document(doc: dict, *, now: datetime, check_expiry: bool = True) -> None:
    """Rules across members (5.2.12), run on the whole document after a create or update."""
    if "notification" not in doc:
        raise BadRequestData("notification is mandatory")
    if "entities" not in doc and "watchedAttributes" not in doc:
        raise BadRequestData("a subscription needs entities or watchedAttributes")
    if "timeInterval" in doc:
        if "throttling" in doc:
            raise BadRequestData("throttling and timeInterval cannot be used together")
        if "watchedAttributes" in doc:
            raise BadRequestData("watchedAttributes and timeInterval cannot be used together")
    notification = doc["notification"]
    if "pick" in notification and "omit" in notification:
        both = set(notification["pick"]) & set(notification["omit"])
        raise BadRequestData(
            "notification.pick and notification.omit cannot be used together"
            + (f" (both name {', '.join(sorted(both))})" if both else "")
        )
    if "attributes" in notification and ("pick" in notification or "omit" in notification):
        raise BadRequestData("notification.attributes cannot be used with pick or omit")
    if check_expiry and "expiresAt" in doc and parse_time(doc["expiresAt"], "expiresAt") <= now:
        raise BadRequestData(f"expiresAt {doc['expiresAt']} is in the past")


def new_document(body: dict, context_raw: object) -> dict:
    """A stored subscription from a creation body (without its @context member)."""
    check_members(body)
    if body.get("type") != "Subscription":
        raise BadRequestData("type must be 'Subscription'")
    doc = {"id": body.get("id") or ID_PREFIX + uuid.uuid4().hex, **body}
    doc.setdefault("notificationTrigger", list(DEFAULT_TRIGGERS))
    if context_raw is not None:
        doc["@context"] = context_raw
    doc["createdAt"] = doc["modifiedAt"] = now_iso()
    check_document(doc, now=datetime.now(UTC))
    return doc


def apply_fragment(doc: dict, fragment: dict, ctx: Context, stored_ctx: Context) -> dict:
    """PATCH (5.8.2): each member of the fragment replaces the stored one; null removes it."""
    if "id" in fragment and fragment["id"] != doc["id"]:
        raise BadRequestData("the fragment's id differs from the subscription id")
    given = {k: v for k, v in fragment.items() if v is not None}
    check_members(given)
    given = translate(given, ctx, stored_ctx)
    updated = dict(doc)
    for name, value in fragment.items():
        if value is None:
            if name in ("notification", "id", "type"):
                raise BadRequestData(f"{name} is mandatory and cannot be removed")
            updated.pop(name, None)
        elif name == "notification":
            kept = {k: doc["notification"][k] for k in COUNTERS if k in doc["notification"]}
            updated["notification"] = _keep_password(
                {**given["notification"], **kept}, doc["notification"]
            )
        else:
            updated[name] = given[name]
    updated["modifiedAt"] = now_iso()
    check_document(updated, now=datetime.now(UTC), check_expiry="expiresAt" in fragment)
    return updated


def _keep_password(notification: dict, stored: dict) -> dict:
    """A fragment that sends back the endpoint as shown (password ``***``) keeps the stored
    password."""
    uri, before = notification["endpoint"]["uri"], stored["endpoint"]["uri"]
    if uri != before and uri == redact(before):
        notification["endpoint"] = {**notification["endpoint"], "uri": before}
    return notification


def _shown_endpoint(doc: dict) -> dict:
    notification = doc.get("notification")
    if not isinstance(notification, dict) or "endpoint" not in notification:
        return doc
    uri = notification["endpoint"].get("uri", "")
    if redact(uri) == uri:
        return doc
    endpoint = {**notification["endpoint"], "uri": redact(uri)}
    return {**doc, "notification": {**notification, "endpoint": endpoint}}


def status(doc: dict, now: datetime) -> str:
    """``active``, ``paused`` (isActive false) or ``expired`` (expiresAt passed)."""
    if doc.get("isActive") is False:
        return "paused"
    if "expiresAt" in doc and parse_time(doc["expiresAt"], "expiresAt") <= now:
        return "expired"
    return "active"


def render(doc: dict, stored_ctx: Context, ctx: Context, *, sys_attrs: bool) -> dict:
    """The subscription as a requester with ``ctx`` sees it (5.8.3): names in its @context,
    the password of an MQTT endpoint masked."""
    shown = {k: v for k, v in doc.items() if k != "@context" and (sys_attrs or k not in SYSTEM)}
    shown = translate(_shown_endpoint(shown), stored_ctx, ctx)
    shown["status"] = status(doc, datetime.now(UTC))
    return shown


def translate(doc: dict, source: Context, target: Context) -> dict:
    """The document with its member names (types, attributes) moved from one @context to
    another: expanded with ``source``, compacted with ``target``."""
    if source is target:
        return doc

    def name(term: str) -> str:
        return target.compact_iri(source.expand_term(term))

    def tokens(text: str, pattern: re.Pattern[str], keep: tuple[str, ...] = ()) -> str:
        parts = pattern.split(text)
        return "".join(
            p if not p.strip() or p in "(){},;|" or p in keep else name(p) for p in parts
        )

    out = dict(doc)
    if "entities" in out:
        out["entities"] = [
            {**s, "type": tokens(s["type"], _TYPE_TOKENS)} if "type" in s else s
            for s in out["entities"]
        ]
    if "watchedAttributes" in out:
        out["watchedAttributes"] = [name(n) for n in out["watchedAttributes"]]
    if isinstance(out.get("geoQ"), dict) and isinstance(out["geoQ"].get("geoproperty"), str):
        out["geoQ"] = {**out["geoQ"], "geoproperty": name(out["geoQ"]["geoproperty"])}
    notification = out.get("notification")
    if isinstance(notification, dict):
        notification = dict(notification)
        if "attributes" in notification:
            notification["attributes"] = [name(n) for n in notification["attributes"]]
        for member in ("pick", "omit"):
            if member in notification:
                core = ("id", "type", "scope")
                notification[member] = [
                    tokens(n, _PROJECTION_TOKENS, core) for n in notification[member]
                ]
        out["notification"] = notification
    return out
