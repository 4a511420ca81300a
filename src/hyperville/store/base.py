"""The storage interface every backend implements (SQLite embedded, PostgreSQL later).

A store persists *expanded* entities (see docs/internals.md) per tenant. Reads are plain
methods, callable from any thread. Writes go through :meth:`EntityStore.transact`: the
caller passes a function that receives a :class:`StoreTx` and runs inside one write
transaction (a savepoint of a batched transaction for the SQLite backend). If the function
raises, everything it wrote is rolled back and the error reaches the caller; other
functions of the same batch are unaffected.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

T = TypeVar("T")

DEFAULT_TENANT = ""
"""The tenant of requests without an ``NGSILD-Tenant`` header."""

REGISTRY_KINDS = ("csourceRegistration", "csourceSubscription")
"""The kinds of context source registry documents (see ``EntityStore.add_registry_doc``)."""


@dataclass(frozen=True)
class EntityQuery:
    """What to select: every member is optional; all given ones must match (AND).

    ``types`` and attribute names are expanded IRIs. ``q`` is a resolved qlang AST,
    ``geo`` a :class:`hyperville.core.geo.GeoQuery` whose geoproperty is an IRI,
    ``scope_q`` a parsed scopeQ. ``type_expr`` is a type expression AST (IRIs) when the
    client used ``,;|()`` in ``type``; ``types`` is the simple any-of list otherwise.
    """

    types: tuple[str, ...] = ()
    type_expr: Any = None
    ids: tuple[str, ...] = ()
    id_pattern: str | None = None
    attrs_any: tuple[str, ...] = ()
    q: Any = None
    geo: Any = None
    scope_q: Any = None
    limit: int = 20
    offset: int = 0
    count: bool = False
    order_by: tuple = ()  # ngsild.order_by.SortKey; applied by the twin, not the backend


@dataclass(frozen=True)
class HistoryQuery:
    """Which attribute instances of an entity's history to read (times in ms since epoch).

    ``timerel`` is None (everything), ``before``/``after`` (``start_ms``) or ``between``
    (``start_ms`` inclusive, ``end_ms`` exclusive). ``timeproperty`` is ``observedAt`` (the
    instance's observedAt, else its modifiedAt), ``modifiedAt``/``createdAt`` (when written) or
    ``deletedAt`` (only the records of deleted attributes, kept by the twin, are read).
    ``last_n`` keeps the newest N per attribute; ``limit`` caps the instances per attribute.
    """

    attrs: tuple[str, ...] = ()
    timerel: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    timeproperty: str = "observedAt"
    last_n: int | None = None
    limit: int = 1000
    aggr_methods: frozenset[str] = frozenset()  # aggregate(): what to compute (empty = all)


@dataclass
class HistoryResult:
    """Instances per attribute IRI, oldest first; ``cut`` maps the attributes that had more
    than ``limit`` instances to the (first, last) times returned, in ms."""

    attrs: dict[str, list[dict]]
    cut: dict[str, tuple[int, int]] = field(default_factory=dict)


class QueryResult:
    """One page of matching entities (expanded), and how many match in all when asked.

    A backend that keeps entities as JSON may give them as ``docs`` (one UTF-8 JSON document
    per entity, in answer order): ``entities`` parses them on first use, so an answer
    rendered from cached compacted forms never parses them. ``docs`` is None otherwise.
    """

    __slots__ = ("_entities", "docs", "total")

    def __init__(
        self,
        entities: list[dict] | None = None,
        total: int | None = None,
        *,
        docs: list[bytes] | None = None,
    ) -> None:
        self._entities = entities
        self.docs = docs
        self.total = total

    @property
    def entities(self) -> list[dict]:
        if self._entities is None:
            self._entities = [orjson.loads(doc) for doc in self.docs or ()]
        return self._entities


@dataclass
class TypeInfo:
    """Discovery facts about one entity type (IRIs)."""

    type: str
    entity_count: int
    attributes: dict[str, set[str]] = field(default_factory=dict)  # attr IRI -> attribute types


@dataclass
class AttributeInfo:
    """Discovery facts about one attribute (IRIs)."""

    attribute: str
    attribute_count: int
    attribute_types: set[str]
    type_names: set[str]


class StoreTx(abc.ABC):
    """What a write function may do inside its transaction (one tenant)."""

    tenant: str

    @abc.abstractmethod
    def get(self, entity_id: str) -> dict | None: ...

    @abc.abstractmethod
    def get_many(self, entity_ids: Iterable[str]) -> dict[str, dict]: ...

    @abc.abstractmethod
    def put(
        self,
        entity: dict,
        *,
        is_new: bool,
        previous: dict | None = None,
        changed: list[str] | None = None,
    ) -> None:
        """Insert (``is_new``) or replace a whole expanded entity and its indexes.

        ``previous``: the entity as stored before this change (``twin_ops.snapshot``), and
        ``changed``: the IRIs of the attributes that differ from it
        (``core.attributes.changed_attributes``), when the caller has them. The store then
        rewrites only the index rows of those attributes; without them it works them out.
        """

    @abc.abstractmethod
    def delete(self, entity_id: str) -> bool:
        """Delete an entity; False when it did not exist."""

    @abc.abstractmethod
    def select_ids(self, query: EntityQuery) -> list[str]:
        """Every entity id matching ``query`` (limit/offset ignored), for purge."""

    # -- attribute history (the temporal API); deleting an entity deletes its history ----
    def append_history(self, entity_id: str, attr_iri: str, instances: list[dict]) -> None:
        """Append expanded instances (with modifiedAt) to the history of an entity written
        in this transaction; an instance with the same key (time, datasetId) is ignored."""
        raise NotImplementedError

    def delete_history(
        self,
        entity_id: str,
        attr_iri: str | None = None,
        *,
        dataset_id: str | None = None,
        all_datasets: bool = True,
        instance_id: str | None = None,
    ) -> int:
        """Delete history rows (all, one attribute, one dataset or one instance); the count."""
        raise NotImplementedError

    def replace_history_instance(
        self, entity_id: str, attr_iri: str, instance_id: str, instance: dict
    ) -> bool:
        """Overwrite one stored instance's value and members; False when it does not exist."""
        raise NotImplementedError

    def downsample_history(self, before_ms: int) -> int:
        """Roll raw history older than ``before_ms`` into hourly aggregates; rows removed."""
        raise NotImplementedError


class EntityStore(abc.ABC):
    """A persistent home for the twin's entities, isolated per tenant."""

    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def tenant_exists(self, tenant: str) -> bool: ...

    @abc.abstractmethod
    def tenants(self) -> list[str]: ...

    @abc.abstractmethod
    def get_entity(self, tenant: str, entity_id: str) -> dict | None: ...

    @abc.abstractmethod
    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult: ...

    @abc.abstractmethod
    def entity_types(self, tenant: str) -> list[TypeInfo]: ...

    @abc.abstractmethod
    def attributes(self, tenant: str) -> list[AttributeInfo]: ...

    def history(self, tenant: str, entity_id: str, query: HistoryQuery) -> HistoryResult:
        """The stored instances of an entity's attributes (empty when it has none)."""
        raise NotImplementedError

    def aggregate(
        self, tenant: str, entity_id: str, query: HistoryQuery, period_ms: int | None
    ) -> dict[str, dict[str | None, list[tuple]]]:
        """Per attribute IRI and datasetId (None = default), the buckets
        ``(start_ms, end_ms, count, numeric count, distinct, sum, min, max, sumsq)`` of
        ``period_ms``
        (one bucket over the whole range when None), oldest first."""
        raise NotImplementedError

    def delete_history(self, tenant: str, entity_id: str, attr_iri: str | None = None) -> int:
        """Delete an entity's history (or one attribute's) in its own transaction."""
        return self.transact_sync(tenant, lambda tx: tx.delete_history(entity_id, attr_iri))

    # -- NGSI-LD subscriptions: JSON documents per tenant (hyperville.subscriptions) --------
    # Blocking calls (run them in a worker thread); each write is one durable transaction.
    def add_subscription(self, tenant: str, subscription: dict) -> bool:
        """Store a new subscription under its ``id`` member; False when that id exists."""
        raise NotImplementedError

    def put_subscription(self, tenant: str, subscription: dict) -> bool:
        """Replace a stored subscription (same ``id``); False when it does not exist."""
        raise NotImplementedError

    def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        """Delete a stored subscription; False when it does not exist."""
        raise NotImplementedError

    def get_subscription(self, tenant: str, subscription_id: str) -> dict | None:
        raise NotImplementedError

    def subscriptions(self, tenant: str | None = None) -> list[tuple[str, dict]]:
        """``(tenant, subscription)`` of one tenant (every tenant when None), oldest first."""
        raise NotImplementedError

    # -- NGSI-LD context source registry: JSON documents per kind and tenant ---------------
    # ``kind`` is one of REGISTRY_KINDS (hyperville.registrations). Blocking calls, like the
    # subscription ones; each write is one durable transaction.
    def add_registry_doc(self, kind: str, tenant: str, doc: dict) -> bool:
        """Store a new document under its ``id`` member; False when that id exists."""
        raise NotImplementedError

    def put_registry_doc(self, kind: str, tenant: str, doc: dict) -> bool:
        """Replace a stored document (same ``id``); False when it does not exist."""
        raise NotImplementedError

    def delete_registry_doc(self, kind: str, tenant: str, doc_id: str) -> bool:
        """Delete a stored document; False when it does not exist."""
        raise NotImplementedError

    def get_registry_doc(self, kind: str, tenant: str, doc_id: str) -> dict | None:
        raise NotImplementedError

    def registry_docs(self, kind: str, tenant: str | None = None) -> list[tuple[str, dict]]:
        """``(tenant, document)`` of one kind and tenant (every tenant when None), oldest first."""
        raise NotImplementedError

    @abc.abstractmethod
    def submit(self, tenant: str, fn: Callable[[StoreTx], T]):  # -> concurrent.futures.Future[T]
        """Queue ``fn`` to run in a write transaction; returns a concurrent Future."""

    async def transact(self, tenant: str, fn: Callable[[StoreTx], T]) -> T:
        """Run ``fn`` in a write transaction and wait until it is durable."""
        import asyncio

        return await asyncio.wrap_future(self.submit(tenant, fn))

    def transact_sync(self, tenant: str, fn: Callable[[StoreTx], T]) -> T:
        """Blocking variant of :meth:`transact`, for the CLI, importers and tests."""
        return self.submit(tenant, fn).result()
