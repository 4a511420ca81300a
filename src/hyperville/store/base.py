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

T = TypeVar("T")

DEFAULT_TENANT = ""
"""The tenant of requests without an ``NGSILD-Tenant`` header."""


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


@dataclass
class QueryResult:
    entities: list[dict]
    total: int | None = None


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
    def put(self, entity: dict, *, is_new: bool) -> None:
        """Insert (``is_new``) or replace a whole expanded entity and its indexes."""

    @abc.abstractmethod
    def delete(self, entity_id: str) -> bool:
        """Delete an entity; False when it did not exist."""

    @abc.abstractmethod
    def select_ids(self, query: EntityQuery) -> list[str]:
        """Every entity id matching ``query`` (limit/offset ignored), for purge."""


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
