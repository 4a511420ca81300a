"""A subscription compiled for matching the twin's changes (CIM 009 5.8.6, 5.11).

:func:`compile_subscription` turns a stored document (:mod:`.model`) and its @context into a
:class:`Compiled` one; :meth:`Compiled.selects` is the cheap test run inside the change
listener (entity id and type only), :meth:`Compiled.triggered` the full one run by the
notifier (triggers, watched attributes, ``q``, ``geoQ``, ``scopeQ``).

What changed is read from the entity before and after the change when the twin gives both.
Without the entity before, it is read from the system timestamps the twin writes: an
instance whose ``createdAt`` is the entity's ``modifiedAt`` was created by this change, one
whose ``modifiedAt`` is, was updated; deleted attributes are then unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from hyperville.api.params import RenderOptions, parse_type_expression, render_options
from hyperville.ngsild import qlang
from hyperville.ngsild.context import Context
from hyperville.ngsild.geoquery import parse_geoq
from hyperville.ngsild.qlang_eval import evaluate, scope_matches
from hyperville.subscriptions.model import DEFAULT_TRIGGERS, parse_time


@dataclass(frozen=True)
class Selector:
    """One ``entities`` item: an id or idPattern (optional) and a type expression."""

    entity_id: str | None
    pattern: re.Pattern[str] | None
    types: object  # qlang And / Or / Exists over type IRIs

    def matches(self, entity_id: str, types: frozenset[str]) -> bool:
        if self.entity_id is not None and entity_id != self.entity_id:
            return False
        if self.pattern is not None and not self.pattern.fullmatch(entity_id):
            return False
        return _type_holds(self.types, types)


def _type_holds(node: object, types: frozenset[str]) -> bool:
    if isinstance(node, qlang.And):
        return all(_type_holds(t, types) for t in node.terms)
    if isinstance(node, qlang.Or):
        return any(_type_holds(t, types) for t in node.terms)
    return node.path.attr in types  # type: ignore[attr-defined]


@dataclass
class Change:
    """Attributes (IRIs) an entity change created, updated and deleted; ``dropped``: the
    instances (datasetIds, None for the default one) deleted from an attribute that keeps
    others, which fire ``attributeDeleted`` too (4.5.5)."""

    created: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    dropped: dict[str, set[str | None]] = field(default_factory=dict)

    def touched(self) -> set[str]:
        return self.created | self.updated | self.deleted | set(self.dropped)

    def removed(self) -> set[str]:
        """Attributes deleted whole or in part (some of their instances)."""
        return self.deleted | set(self.dropped)


def _by_dataset(instances: list[dict]) -> dict[str | None, dict]:
    return {i.get("datasetId"): i for i in instances}


def entity_change(kind: str, entity: dict | None, previous: dict | None) -> Change:
    if kind == "delete":
        return Change(deleted=set((previous or {}).get("attrs", {})))
    after = entity.get("attrs", {}) if entity else {}
    if kind == "create":
        return Change(created=set(after))
    if previous is not None:
        before = previous.get("attrs", {})
        change = Change(created=set(after) - set(before), deleted=set(before) - set(after))
        for iri in set(after) & set(before):
            if after[iri] == before[iri]:
                continue
            now, then = _by_dataset(after[iri]), _by_dataset(before[iri])
            gone = set(then) - set(now)
            if gone:
                change.dropped[iri] = gone
            if any(then.get(key) != instance for key, instance in now.items()):
                change.updated.add(iri)  # an instance added or changed, not only dropped
        return change
    stamp = (entity or {}).get("modifiedAt")
    change = Change()
    for iri, instances in after.items():
        if any(i.get("createdAt") == stamp for i in instances):
            change.created.add(iri)
        elif any(i.get("modifiedAt") == stamp for i in instances):
            change.updated.add(iri)
    return change


@dataclass(eq=False)
class Compiled:
    """A subscription ready for matching; ``doc`` is the stored document it came from."""

    tenant: str
    doc: dict
    context: Context  # the stored @context: names in q, geoQ, selectors
    notify_context: Context  # jsonldContext when given, else the stored one
    selectors: tuple[Selector, ...]
    watched: frozenset[str] | None
    triggers: frozenset[str]
    q: object
    geo: object
    scope_q: object
    options: RenderOptions
    throttling_s: float
    time_interval_s: float | None
    expires_at: float | None  # epoch seconds
    active: bool
    last_sent: float = 0.0  # time.monotonic() of the last notification (throttling)
    plain_types: frozenset[str] | None = None  # when every selector is one type, no id

    def __post_init__(self) -> None:
        if self.selectors and all(
            s.entity_id is None and s.pattern is None and isinstance(s.types, qlang.Exists)
            for s in self.selectors
        ):
            self.plain_types = frozenset(s.types.path.attr for s in self.selectors)  # type: ignore[attr-defined]

    @property
    def id(self) -> str:
        return self.doc["id"]

    def live(self, now_s: float) -> bool:
        """Active (not paused) and not expired."""
        return self.active and (self.expires_at is None or now_s < self.expires_at)

    def selects(self, entity_id: str, types: frozenset[str] | None) -> bool:
        """The listener's quick test: may the entity with these type IRIs (None: unknown, a
        deletion) concern the subscription?"""
        if not self.selectors:
            return True
        if types is not None and self.plain_types is not None:
            return not self.plain_types.isdisjoint(types)
        if types is None:  # only id selectors can tell without the types
            return any(s.entity_id == entity_id for s in self.selectors)
        return any(s.matches(entity_id, types) for s in self.selectors)

    def triggered(
        self, kind: str, entity_id: str, entity: dict | None, previous: dict | None
    ) -> Change | None:
        """The change, when it fires one of the triggers and the entity matches the filters.

        An entity deleted without its former state known matches only id selectors and no
        ``q`` / ``geoQ`` / ``scopeQ``."""
        subject = entity if entity is not None else previous
        if subject is None:
            if self.q is not None or self.geo is not None or self.scope_q is not None:
                return None
            if self.selectors and not self.selects(entity_id, None):
                return None
        elif self.selectors:
            types = frozenset(subject.get("type") or ())
            if not any(s.matches(entity_id, types) for s in self.selectors):
                return None
        change = entity_change(kind, entity, previous)
        relevant = change.touched() if self.watched is None else change.touched() & self.watched
        fired = {
            "entityCreated": kind == "create",
            "entityDeleted": kind == "delete",
            "entityUpdated": kind in ("update", "replace") and bool(relevant),
            "attributeCreated": bool(relevant & change.created) and kind != "delete",
            "attributeUpdated": bool(relevant & change.updated),
            "attributeDeleted": bool(relevant & change.removed()),
        }
        if not any(fired[t] for t in self.triggers):
            return None
        return change if subject is None or self.filters_hold(subject) else None

    def filters_hold(self, entity: dict) -> bool:
        if self.q is not None and not evaluate(self.q, entity):  # type: ignore[arg-type]
            return False
        if self.scope_q is not None and not scope_matches(self.scope_q, entity.get("scope")):  # type: ignore[arg-type]
            return False
        if self.geo is not None:
            instances = entity.get("attrs", {}).get(self.geo.geoproperty, [])  # type: ignore[attr-defined]
            if not any(self.geo.matches(i.get("value")) for i in instances if i.get("value")):  # type: ignore[attr-defined]
                return False
        return True


def notification_params(notification: dict, doc: dict) -> dict[str, str]:
    """The notification members as the query parameters of an entity retrieval."""
    options = []
    fmt = notification.get("format", "normalized")
    if fmt != "normalized":
        options.append(fmt)
    if notification.get("sysAttrs"):
        options.append("sysAttrs")
    params = {"options": ",".join(options)} if options else {}
    for member, param in (("attributes", "attrs"), ("pick", "pick"), ("omit", "omit")):
        if member in notification:
            params[param] = ",".join(notification[member])
    if "join" in notification:
        params["join"] = notification["join"]
        params["joinLevel"] = str(notification.get("joinLevel", 1))
    if "lang" in doc:
        params["lang"] = doc["lang"]
    if "datasetId" in doc:
        params["datasetId"] = ",".join(doc["datasetId"])
    return params


def compile_subscription(
    tenant: str, doc: dict, context: Context, notify_context: Context
) -> Compiled:
    """Compile a stored document; a bad ``q``, ``geoQ``, ``scopeQ`` or notification
    projection raises BadRequestData (this is also how they are validated)."""

    class _Names:  # parse_type_expression expands names through an object's expand_term
        expand_term = staticmethod(context.expand_term)

    selectors = tuple(
        Selector(
            s.get("id"),
            re.compile(s["idPattern"]) if "idPattern" in s else None,
            parse_type_expression(s["type"], _Names),  # type: ignore[arg-type]
        )
        for s in doc.get("entities", ())
    )
    q = None
    if "q" in doc:
        q = qlang.resolve_names(qlang.parse_q(unquote(doc["q"])), context.expand_term)
    geo = None
    if "geoQ" in doc:
        geo = parse_geoq(doc["geoQ"])
        geo = replace(geo, geoproperty=context.expand_term(geo.geoproperty))
    scope_q = qlang.parse_scope_q(doc["scopeQ"]) if "scopeQ" in doc else None
    watched = doc.get("watchedAttributes")
    options = render_options(notification_params(doc["notification"], doc), notify_context)
    expires = doc.get("expiresAt")
    return Compiled(
        tenant=tenant,
        doc=doc,
        context=context,
        notify_context=notify_context,
        selectors=selectors,
        watched=None if watched is None else frozenset(context.expand_term(w) for w in watched),
        triggers=frozenset(doc.get("notificationTrigger", DEFAULT_TRIGGERS)),
        q=q,
        geo=geo,
        scope_q=scope_q,
        options=options,
        throttling_s=float(doc.get("throttling", 0)),
        time_interval_s=float(doc["timeInterval"]) if "timeInterval" in doc else None,
        expires_at=parse_time(expires, "expiresAt").timestamp() if expires else None,
        active=doc.get("isActive", True),
    )
