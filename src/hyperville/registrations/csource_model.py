"""Context source registration subscriptions (CIM 009 5.2.12, 5.11): the document and what it
selects.

A csource subscription is a Subscription document (:mod:`hyperville.subscriptions.model`
validates, stores and shows it) without ``notificationTrigger``, ``throttling`` and
``datasetId``, plus ``temporalQ`` (matched against the registrations' observation or
management interval). ``expiresAt`` may be moved to the past by an update (the subscription
then reads ``expired``); a creation with a past ``expiresAt`` is refused.
:func:`compile_csource_subscription` turns it into a :class:`RegistrationFilter`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

from hyperville.api.params import parse_type_expression
from hyperville.core.errors import BadRequestData
from hyperville.ngsild import qlang
from hyperville.ngsild.context import Context
from hyperville.ngsild.geoquery import parse_geoq
from hyperville.registrations.matching import (
    RegistrationFilter,
    Selector,
    geoproperty_member,
    temporal_query,
)
from hyperville.subscriptions import model

ID_PREFIX = "urn:ngsi-ld:Subscription:"
NOT_FOR_CSOURCE = ("notificationTrigger", "throttling", "datasetId")
TEMPORAL_MEMBERS = ("timerel", "timeAt", "endTimeAt", "timeproperty")


def _check_temporal(value: object) -> None:
    if not isinstance(value, dict):
        raise BadRequestData("temporalQ must be a JSON object")
    unknown = set(value) - set(TEMPORAL_MEMBERS)
    if unknown:
        raise BadRequestData(f"unknown temporalQ member(s): {', '.join(sorted(unknown))}")
    if "timerel" not in value:
        raise BadRequestData("temporalQ needs a timerel")
    temporal_query(
        value.get("timerel"), value.get("timeAt"), value.get("endTimeAt"), value.get("timeproperty")
    )


def _check_members(body: dict) -> None:
    """The Subscription checks, for the members a csource subscription may have."""
    for name in NOT_FOR_CSOURCE:
        if name in body:
            raise BadRequestData(f"{name} is not a member of a context source subscription")
    if "temporalQ" in body and body["temporalQ"] is not None:
        _check_temporal(body["temporalQ"])
    model.check_members({k: v for k, v in body.items() if k not in ("temporalQ", "expiresAt")})
    if body.get("expiresAt") is not None:
        model.parse_time(body["expiresAt"], "expiresAt")


def new_document(body: dict, context_raw: object) -> dict:
    """A stored csource subscription from a creation body (without its @context member)."""
    if body.get("type") != "Subscription":
        raise BadRequestData("type must be 'Subscription'")
    _check_members(body)
    doc = {"id": body.get("id") or ID_PREFIX + uuid.uuid4().hex, **body}
    if context_raw is not None:
        doc["@context"] = context_raw
    doc["createdAt"] = doc["modifiedAt"] = model.now_iso()
    model.check_document(doc, now=datetime.now(UTC))
    return doc


def apply_fragment(doc: dict, fragment: dict, ctx: Context, stored_ctx: Context) -> dict:
    """PATCH (5.11.3): members replace the stored ones; null removes them."""
    own = {k: fragment[k] for k in ("temporalQ", "expiresAt") if k in fragment}
    _check_members({k: v for k, v in fragment.items() if v is not None})
    updated = model.apply_fragment(
        doc, {k: v for k, v in fragment.items() if k not in own}, ctx, stored_ctx
    )
    for name, value in own.items():
        if value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    return updated


@dataclass(eq=False)
class CompiledCsourceSubscription:
    """A csource subscription ready for matching; ``doc`` is the stored document."""

    tenant: str
    doc: dict
    context: Context  # the stored @context
    notify_context: Context  # jsonldContext when given, else the stored one
    selects: RegistrationFilter
    time_interval_s: float | None
    expires_at: float | None  # epoch seconds
    active: bool

    @property
    def id(self) -> str:
        return self.doc["id"]

    def live(self, now_s: float) -> bool:
        return self.active and (self.expires_at is None or now_s < self.expires_at)


def compile_csource_subscription(
    tenant: str, doc: dict, context: Context, notify_context: Context
) -> CompiledCsourceSubscription:
    """Compile a stored document; a bad ``q``, ``csf`` or ``geoQ`` raises BadRequestData."""
    expand = context.expand_term

    class _Names:  # parse_type_expression expands names through an object's expand_term
        expand_term = staticmethod(expand)

    selectors = tuple(
        Selector(
            parse_type_expression(s["type"], _Names),  # type: ignore[arg-type]
            s.get("id"),
            re.compile(s["idPattern"]) if "idPattern" in s else None,
        )
        for s in doc.get("entities", ())
    )
    watched = doc.get("watchedAttributes")
    queries = {
        key: qlang.resolve_names(qlang.parse_q(unquote(doc[key])), expand)
        for key in ("q", "csf")
        if key in doc
    }
    geo = None
    if "geoQ" in doc:
        geo = parse_geoq(doc["geoQ"])
        geoproperty_member(geo.geoproperty)
    temporal = doc.get("temporalQ") or {}
    expires = doc.get("expiresAt")
    return CompiledCsourceSubscription(
        tenant=tenant,
        doc=doc,
        context=context,
        notify_context=notify_context,
        selects=RegistrationFilter(
            selectors=selectors,
            attrs=frozenset(expand(w) for w in watched) if watched else None,
            q=queries.get("q"),
            csf=queries.get("csf"),
            geo=geo,
            temporal=temporal_query(
                temporal.get("timerel"),
                temporal.get("timeAt"),
                temporal.get("endTimeAt"),
                temporal.get("timeproperty"),
            ),
        ),
        time_interval_s=float(doc["timeInterval"]) if "timeInterval" in doc else None,
        expires_at=model.parse_time(expires, "expiresAt").timestamp() if expires else None,
        active=doc.get("isActive", True),
    )
