"""Which registrations match a query or a csource subscription (CIM 009 5.10.2, 5.11.7).

A stored registration is compiled once (:func:`compile_registration`): its entity types and
attribute names expanded with its own @context. A :class:`RegistrationFilter` (from the
query parameters of GET /csourceRegistrations, or from a csource subscription) holds IRIs
and parsed ``q`` / ``csf`` / geo / temporal queries; :meth:`RegistrationFilter.matches` tests
one compiled registration.

RegistrationInfo matching: an ``information`` item matches when its ``entities`` (absent:
any entity) hold one whose type and id fit the filter, and its ``propertyNames`` /
``relationshipNames`` (both absent: every attribute) share a name with ``attrs``; a
registration matches when one of its items does (:meth:`RegistrationFilter.relevant_information`
lists them). ``q`` and
``csf`` are evaluated on the context source properties (and ``endpoint``, ``mode``…) as if
they were the Properties of an entity; the geo-query on ``location`` (or the
``observationSpace`` / ``operationSpace`` it names); the temporal query on
``observationInterval`` (``timeproperty`` observedAt) or ``managementInterval`` (createdAt,
modifiedAt) — a registration without that interval is not restricted in time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hyperville.core.errors import BadRequestData
from hyperville.ngsild import qlang
from hyperville.ngsild.context import Context
from hyperville.ngsild.qlang_eval import evaluate
from hyperville.registrations.model import GEO_MEMBERS, parse_time


@dataclass(frozen=True)
class EntityInfo:
    types: frozenset[str]  # IRIs
    entity_id: str | None
    pattern: str | None


@dataclass(frozen=True)
class InfoItem:
    entities: tuple[EntityInfo, ...] | None  # None: any entity
    attrs: frozenset[str] | None  # None: every attribute


@dataclass(eq=False)
class CompiledRegistration:
    """A stored registration with its names expanded (IRIs), ready for matching."""

    tenant: str
    doc: dict
    context: Context
    information: tuple[InfoItem, ...]
    as_entity: dict  # the context source properties as an expanded entity, for q / csf

    @property
    def id(self) -> str:
        return self.doc["id"]


def compile_registration(tenant: str, doc: dict, context: Context) -> CompiledRegistration:
    expand = context.expand_term
    items = []
    for info in doc.get("information", ()):
        entities = None
        if "entities" in info:
            entities = tuple(
                EntityInfo(
                    frozenset(
                        expand(t)
                        for t in (e["type"] if isinstance(e["type"], list) else [e["type"]])
                    ),
                    e.get("id"),
                    e.get("idPattern"),
                )
                for e in info["entities"]
            )
        names = [*info.get("propertyNames", ()), *info.get("relationshipNames", ())]
        items.append(InfoItem(entities, frozenset(expand(n) for n in names) if names else None))
    attrs = {
        expand(key): [{"type": "Property", "value": value}]
        for key, value in doc.items()
        if key not in ("id", "type", "information", "@context") and value is not None
    }
    entity = {"id": doc["id"], "type": ["ContextSourceRegistration"], "attrs": attrs}
    return CompiledRegistration(tenant, doc, context, tuple(items), entity)


@dataclass(frozen=True)
class Selector:
    """One wanted entity: type expression (qlang And/Or/Exists over IRIs, None: any type),
    an id or an id pattern (both None: any id)."""

    types: object
    entity_id: str | None = None
    pattern: re.Pattern[str] | None = None

    def fits(self, info: EntityInfo) -> bool:
        if self.types is not None and not _type_holds(self.types, info.types):
            return False
        if self.entity_id is not None:
            if info.entity_id is not None:
                return info.entity_id == self.entity_id
            if info.pattern is not None:
                return re.search(info.pattern, self.entity_id) is not None
        if self.pattern is not None and info.entity_id is not None:
            return self.pattern.search(info.entity_id) is not None
        return True


def _type_holds(node: object, types: frozenset[str]) -> bool:
    if isinstance(node, qlang.And):
        return all(_type_holds(t, types) for t in node.terms)
    if isinstance(node, qlang.Or):
        return any(_type_holds(t, types) for t in node.terms)
    return node.path.attr in types  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TemporalQuery:
    """``timerel`` before / after / between ``time_at`` (and ``end_time_at``), on an interval."""

    timerel: str
    time_at: datetime
    end_time_at: datetime | None
    interval: str  # observationInterval | managementInterval

    def holds(self, doc: dict) -> bool:
        window = doc.get(self.interval)
        if not isinstance(window, dict):
            return True
        start = parse_time(window["startAt"], "startAt")
        end = parse_time(window["endAt"], "endAt") if "endAt" in window else None
        if self.timerel == "before":
            return start < self.time_at
        if self.timerel == "after":
            return end is None or end > self.time_at
        assert self.end_time_at is not None
        return start < self.end_time_at and (end is None or end > self.time_at)


def temporal_query(
    timerel: str | None, time_at: str | None, end_time_at: str | None, timeproperty: str | None
) -> TemporalQuery | None:
    """The temporal query of a registration query or a csource subscription's temporalQ."""
    if timerel is None:
        if time_at is not None or end_time_at is not None:
            raise BadRequestData("timeAt and endTimeAt need a timerel")
        return None
    if timerel not in ("before", "after", "between"):
        raise BadRequestData(f"timerel must be before, after or between, not {timerel!r}")
    if not time_at:
        raise BadRequestData(f"timeAt is required with timerel={timerel}")
    start = parse_time(time_at, "timeAt")
    end = None
    if timerel == "between":
        if not end_time_at:
            raise BadRequestData("endTimeAt is required with timerel=between")
        end = parse_time(end_time_at, "endTimeAt")
        if end <= start:
            raise BadRequestData("endTimeAt must be later than timeAt")
    elif end_time_at:
        raise BadRequestData("endTimeAt is only allowed with timerel=between")
    prop = timeproperty or "observedAt"
    if prop not in ("observedAt", "createdAt", "modifiedAt"):
        raise BadRequestData(
            f"timeproperty must be observedAt, createdAt or modifiedAt, not {prop!r}"
        )
    interval = "observationInterval" if prop == "observedAt" else "managementInterval"
    return TemporalQuery(timerel, start, end, interval)


@dataclass(frozen=True)
class RegistrationFilter:
    """What a registration must match; every member is optional (None / empty: no condition)."""

    selectors: tuple[Selector, ...] = ()
    attrs: frozenset[str] | None = None
    q: object = None
    csf: object = None
    geo: object = None  # GeoQuery; its geoproperty is location, observationSpace or operationSpace
    temporal: TemporalQuery | None = None

    def matches(self, reg: CompiledRegistration) -> bool:
        if (self.selectors or self.attrs) and not any(self._info_fits(i) for i in reg.information):
            return False
        for query in (self.q, self.csf):
            if query is not None and not evaluate(query, reg.as_entity):  # type: ignore[arg-type]
                return False
        if self.geo is not None:
            shape = reg.doc.get(self.geo.geoproperty)  # type: ignore[attr-defined]
            if not isinstance(shape, dict) or not self.geo.matches(shape):  # type: ignore[attr-defined]
                return False
        return self.temporal is None or self.temporal.holds(reg.doc)

    def relevant_information(self, reg: CompiledRegistration) -> list[dict]:
        """The ``information`` items of ``reg`` that fit the entities and attributes asked
        for (all of them when the filter names neither): a csource notification shows only
        those (5.11.7)."""
        items = reg.doc.get("information", [])
        if not (self.selectors or self.attrs):
            return list(items)
        return [
            item for item, info in zip(items, reg.information, strict=True) if self._info_fits(info)
        ]

    def _info_fits(self, info: InfoItem) -> bool:
        if self.selectors and info.entities is not None:
            fits = any(s.fits(e) for s in self.selectors for e in info.entities)
            if not fits:
                return False
        return self.attrs is None or info.attrs is None or bool(self.attrs & info.attrs)


def geoproperty_member(name: str) -> str:
    """The registration member a geo-query's ``geoproperty`` names (default ``location``)."""
    if name not in GEO_MEMBERS:
        raise BadRequestData(f"geoproperty must be one of {', '.join(GEO_MEMBERS)}, not {name!r}")
    return name
