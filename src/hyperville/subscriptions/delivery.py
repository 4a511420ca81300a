"""Notification bodies (CIM 009 5.3.1) and their HTTP delivery (6.3.x, 5.11); MQTT
delivery is in :mod:`.mqtt_publish`.

A notification is ``{"id", "type": "Notification", "subscriptionId", "notifiedAt",
"data": [entities]}``; the entities are compacted with the subscription's ``jsonldContext``
(else the @context it was created with) in its ``notification.format``. With
``endpoint.accept`` ``application/json`` (the default) the @context goes in a ``Link``
header; with ``application/ld+json`` it is an ``@context`` member of the body and of each
entity. ``receiverInfo`` items become request headers; a tenant other than the default one
is sent as ``NGSILD-Tenant``.

Notification endpoints are URLs the *clients* choose: a broker that posts to them can be
made to reach hosts of its own network (server-side request forgery). ``AllowedHosts``
holds the ``notification_allowed_hosts`` setting that limits them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from urllib.parse import urlsplit

import httpx
import orjson

from hyperville.api import linked
from hyperville.core.attributes import VALUE_KEYS
from hyperville.core.errors import BadRequestData
from hyperville.ngsild import codec
from hyperville.ngsild.context import CORE_CONTEXT_URL
from hyperville.store.base import DEFAULT_TENANT
from hyperville.subscriptions.matching import Change, Compiled
from hyperville.subscriptions.model import now_iso

NULL_URI = "urn:ngsi-ld:null"
ANSWER_READ_MAX = 64 * 1024  # bytes of a receiver's answer read to keep its connection
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
PREVIOUS = {key: "previous" + key[0].upper() + key[1:] for key in set(VALUE_KEYS.values())}
Event = tuple[str, str, dict | None, dict | None, Change]
"""kind, entity id, entity after (None: deleted), entity before (None: unknown), change."""


class AllowedHosts:
    """The hosts notifications may be sent to: ``*`` (any), or names (``scada.local``,
    ``*.city.fr``) and IP networks (``10.20.0.0/16``, ``127.0.0.1``), comma-separated."""

    def __init__(self, setting: str) -> None:
        entries = [e.strip().lower() for e in setting.split(",") if e.strip()]
        self.any = "*" in entries
        self.names: list[str] = []
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self.names.append(entry)

    def _name_allowed(self, host: str) -> bool:
        return any(host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in self.names)

    def _address_allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self.networks)

    def check(self, uri: str) -> None:
        """At creation: refuse an endpoint that can never be allowed (BadRequestData)."""
        if self.any:
            return
        host = (urlsplit(uri).hostname or "").lower()
        try:
            allowed = self._address_allowed(host)
        except ValueError:  # a name: allowed by name, or by the networks it resolves to
            allowed = self._name_allowed(host) or bool(self.networks)
        if not allowed:
            raise BadRequestData(f"notification host {host!r} is not in notification_allowed_hosts")

    async def allows(self, host: str) -> bool:
        """At delivery: a name entry, or every address the host resolves to in a network."""
        host = host.lower()
        if self.any or self._name_allowed(host):
            return True
        try:
            return self._address_allowed(host)
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            return False
        return bool(infos) and all(self._address_allowed(info[4][0]) for info in infos)


def _null_attribute(
    instance: dict, fmt: str, previous: object, show: bool, sys_attrs: bool, at: str
) -> object:
    """A deleted attribute as notified: its value member is ``urn:ngsi-ld:null``."""
    if fmt == "keyValues":
        return NULL_URI
    kind = instance.get("type", "Property")
    key = VALUE_KEYS.get(kind, "value")
    out: dict = {"type": kind}
    if show:
        out[PREVIOUS[key]] = previous
    out[key] = {"@none": NULL_URI} if key == "languageMap" else NULL_URI
    if sys_attrs:
        out.update({k: instance[k] for k in ("createdAt", "modifiedAt") if k in instance})
        out["deletedAt"] = at
    return out


def _previous_value(instance: dict, compact_iri) -> object:
    key = VALUE_KEYS.get(instance.get("type", "Property"), "value")
    value = instance.get(key)
    if key == "vocab":
        return [compact_iri(v) for v in value] if isinstance(value, list) else compact_iri(value)
    return value


def _deleted_entity(sub: Compiled, entity_id: str, previous: dict | None, at: str) -> dict:
    ctx = sub.notify_context
    out: dict = {"id": entity_id}
    types = [ctx.compact_iri(t) for t in (previous or {}).get("type", [])]
    if types:
        out["type"] = types[0] if len(types) == 1 else types
    if sub.options.sys_attrs and previous:
        out.update({k: previous[k] for k in ("createdAt", "modifiedAt") if k in previous})
    out["deletedAt"] = at
    return out


def _show_dropped(
    sub: Compiled, out: dict, iri: str, old: list[dict], dropped: set, show: bool, at: str
) -> None:
    """Add to the notified attribute ``iri`` its deleted instances (``dropped`` datasetIds,
    None for the default instance), each with the value ``urn:ngsi-ld:null`` (4.5.5)."""
    options, name = sub.options, sub.notify_context.compact_iri(iri)
    gone = [i for i in old if i.get("datasetId") in dropped]
    shown = out.get(name)
    if options.fmt in ("keyValues", "simplified"):
        if not (isinstance(shown, dict) and isinstance(shown.get("dataset"), dict)):
            kept = [i for i in old if i.get("datasetId") not in dropped]
            key = kept[0].get("datasetId", "@none") if len(kept) == 1 else "@none"
            shown = {"dataset": {} if shown is None else {key: shown}}
        for instance in gone:
            shown["dataset"][instance.get("datasetId", "@none")] = NULL_URI
        out[name] = shown
        return
    instances = shown if isinstance(shown, list) else [] if shown is None else [shown]
    for instance in gone:
        was = _previous_value(instance, sub.notify_context.compact_iri)
        null = _null_attribute(instance, options.fmt, was, show, options.sys_attrs, at)
        if "datasetId" in instance:
            null["datasetId"] = instance["datasetId"]  # type: ignore[index]
        instances.append(null)
    out[name] = instances[0] if len(instances) == 1 else instances


def render_event(sub: Compiled, event: Event, cache: dict | None) -> list[dict]:
    """The entities (compacted; with ``flat`` joins, the linked ones too) of one change.

    Deleted attributes are shown with the value ``urn:ngsi-ld:null`` when the
    ``attributeDeleted`` trigger fired or ``showChanges`` asks for previous values; a deleted
    entity is its ``id``, ``type`` and ``deletedAt``."""
    kind, entity_id, entity, previous, change = event
    ctx, options = sub.notify_context, sub.options
    show = bool(sub.doc["notification"].get("showChanges")) and options.fmt != "keyValues"
    at = now_iso()
    if kind == "delete":
        rendered = [_deleted_entity(sub, entity_id, previous, at)]
    else:
        assert entity is not None
        subject = linked.select_datasets(entity, options.dataset_ids)
        rendered = (
            linked.render([subject], ctx, options, cache)
            if cache is not None
            else [codec.compact_entity(subject, ctx, **options.codec_kwargs())]
        )
    out = rendered[0]
    before = (previous or {}).get("attrs", {})
    if show or "attributeDeleted" in sub.triggers:
        for iri in sorted(change.removed()):
            if iri not in (sub.watched or {iri}) or iri not in (options.attrs or {iri}):
                continue
            if iri in change.dropped:
                _show_dropped(sub, out, iri, before[iri], change.dropped[iri], show, at)
                continue
            old = (before.get(iri) or [{}])[0]
            was = _previous_value(old, ctx.compact_iri)
            shown = _null_attribute(old, options.fmt, was, show, options.sys_attrs, at)
            out[ctx.compact_iri(iri)] = shown
    if show and kind != "delete":
        for iri in change.updated:
            shown, old = out.get(ctx.compact_iri(iri)), before.get(iri)
            if isinstance(shown, dict) and old:
                key = VALUE_KEYS.get(old[0].get("type", "Property"), "value")
                shown[PREVIOUS[key]] = _previous_value(old[0], ctx.compact_iri)
    return rendered


def request_of(sub: Compiled, data: list[dict]) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a notification of ``data`` (compacted entities)."""
    return envelope("Notification", sub.id, sub.tenant, sub.doc, sub.notify_context, data)


def envelope(
    kind: str,
    sub_id: str,
    tenant: str,
    sub_doc: dict,
    ctx,
    data: list[dict],
    *,
    item_contexts: bool = True,
    **members: object,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a notification (``kind`` Notification or
    ContextSourceNotification) of the subscription ``sub_doc``, with ``members`` added to the
    body: the @context as ``Link`` header, or in the body (and in each item with
    ``item_contexts``) when the endpoint accepts ``application/ld+json``; the tenant; the
    endpoint's ``receiverInfo`` as headers."""
    endpoint = sub_doc["notification"]["endpoint"]
    body: dict = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4().hex}",
        "type": kind,
        "subscriptionId": sub_id,
        "notifiedAt": now_iso(),
        "data": data,
        **members,
    }
    headers = {"Content-Type": "application/json"}
    if endpoint.get("accept") == "application/ld+json":
        member = ctx.raw if ctx.raw is not None else CORE_CONTEXT_URL
        headers["Content-Type"] = "application/ld+json"
        body["@context"] = member
        if item_contexts:
            for item in data:
                item["@context"] = member
    else:
        url = ctx.link_url or CORE_CONTEXT_URL
        headers["Link"] = f'<{url}>; rel="{CONTEXT_REL}"; type="application/ld+json"'
    if tenant != DEFAULT_TENANT:
        headers["NGSILD-Tenant"] = tenant
    for item in endpoint.get("receiverInfo", ()):
        headers[item["key"]] = item["value"]
    return orjson.dumps(body), headers


async def post(
    client: httpx.AsyncClient, uri: str, body: bytes, headers: dict, allowed: AllowedHosts
) -> str | None:
    """POST a notification; None on a 2xx answer, else why it failed (an ``mqtt://``
    endpoint is published by the notifier: :mod:`.mqtt_publish`, not here)."""
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https"):
        return f"{parts.scheme}:// endpoints are not supported for these notifications"
    host = parts.hostname or ""
    if not await allowed.allows(host):
        return f"host {host} is not in notification_allowed_hosts"
    try:
        async with client.stream("POST", uri, content=body, headers=headers) as response:
            # the status decides: a small body with a length is read (the connection stays
            # reusable); an HTTP/1.0 answer without one is not waited for until the
            # receiver closes the connection
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) <= ANSWER_READ_MAX:
                await response.aread()
            status = response.status_code
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if 200 <= status < 300:
        return None
    return f"the endpoint answered {status}"


def record_delivery(notification: dict, error: str | None) -> None:
    """Update the delivery counters of a (csource) subscription's ``notification`` member
    (5.2.14): timesSent, lastNotification, then lastSuccess or lastFailure/timesFailed, and
    ``status`` ok or failed."""
    at = now_iso()
    notification["timesSent"] = notification.get("timesSent", 0) + 1
    notification["lastNotification"] = at
    if error is None:
        notification["status"] = "ok"
        notification["lastSuccess"] = at
    else:
        notification["status"] = "failed"
        notification["lastFailure"] = at
        notification["timesFailed"] = notification.get("timesFailed", 0) + 1
