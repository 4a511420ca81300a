"""Compile an :class:`EntityQuery` into indexed SQLite SQL, with an exact Python check where needed.

Each condition compiles to SQL that selects a *superset* of the matches, and says whether it
is exact. When every condition is exact, paging and counting happen in SQL. Otherwise the
candidates stream in primary-key order and the inexact parts (geometry predicates, scopeQ,
deep compound paths) are checked in Python before paging.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson

from hyperville.ngsild import qlang
from hyperville.store.base import EntityQuery, QueryResult
from hyperville.store.indexing import (
    MAX_COMPOUND_DEPTH,
    UNINDEXED_MEMBERS,
    encode_scalar,
    index_key,
)
from hyperville.store.sqlite_names import NameTable
from hyperville.store.sqlite_plan import TENANT_CONDITION, Condition, Driver, plan

NEVER = "0"
ENTITY_MEMBERS = frozenset({"createdAt", "modifiedAt"})


@dataclass
class Compiled:
    conditions: list[Condition] = field(default_factory=list)
    checks: list[Callable[[dict], bool]] = field(default_factory=list)
    empty: bool = False  # a condition can never match: skip the database
    drivers: list[Driver] = field(default_factory=list)  # index lookups that may lead the scan

    def add(self, sql: str, *params: object, row: bool = False) -> int:
        """Add a condition; returns its index (for the driver that answers it)."""
        self.conditions.append(Condition(sql, params, row))
        return len(self.conditions) - 1


def _value_condition(op: str, value: object, v: str = "v") -> tuple[str, list[object]]:
    """SQL on column ``v`` for one comparison; numbers sort before text, text before blobs."""
    if isinstance(value, qlang.Range):
        low, high = encode_scalar(value.low), encode_scalar(value.high)
        return f"{v} >= ? AND {v} <= ?", [low, high]
    if isinstance(value, tuple):
        items = [encode_scalar(item) for item in value]
        return f"{v} IN ({','.join('?' * len(items))})", items
    if op in ("~=", "!~="):
        return f"{v} REGEXP ?", [value]
    encoded = encode_scalar(value)
    if op in ("==", "!="):
        return f"{v} = ?", [encoded]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if op in (">", ">="):
        upper = "''" if numeric else "x''"
        return f"{v} {op} ? AND {v} < {upper}", [encoded]
    lower = "" if numeric else f" AND {v} >= ''"
    return f"{v} {op} ?{lower}", [encoded]


class _QCompiler:
    def __init__(self, conn: sqlite3.Connection, names: NameTable) -> None:
        self.conn = conn
        self.names = names
        self.exact = True

    def nid(self, key: str) -> int | None:
        return self.names.get(key, self.conn)

    def driver(self, node: object) -> Driver | None:
        return _driver_of(self, node)

    def compile(self, node: object) -> tuple[str, list[object]]:
        if isinstance(node, qlang.And):
            parts = [self.compile(t) for t in node.terms]
            return "(" + " AND ".join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
        if isinstance(node, qlang.Or):
            parts = [self.compile(t) for t in node.terms]
            return "(" + " OR ".join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
        if isinstance(node, qlang.Exists):
            return self._exists(node.path)
        if isinstance(node, qlang.Comparison):
            return self._comparison(node)
        raise TypeError(f"not a q node: {node!r}")

    def _attr_present(self, attr: str) -> tuple[str, list[object]]:
        nid = self.nid(attr)
        if nid is None:
            return NEVER, []
        return "EXISTS(SELECT 1 FROM entity_attrs WHERE nid=? AND pk=e.pk)", [nid]

    def _inexact(self, path: qlang.AttrPath) -> tuple[str, list[object]]:
        """A superset (the attribute is present); the reference evaluator decides exactly."""
        self.exact = False
        if path.attr in ENTITY_MEMBERS:
            return "1", []
        return self._attr_present(path.attr)

    def _exists(self, path: qlang.AttrPath) -> tuple[str, list[object]]:
        if path.sub_attrs or path.compound or path.attr in ENTITY_MEMBERS:
            return self._inexact(path)  # a compound member has rows only for its scalar leaves
        return self._attr_present(path.attr)

    def _comparison(self, node: qlang.Comparison) -> tuple[str, list[object]]:
        path, op, value = node.path, node.op, node.value
        if (
            path.attr in ENTITY_MEMBERS
            or any(sub in UNINDEXED_MEMBERS for sub in path.sub_attrs)
            or op in ("!=", "!~=")  # per-instance negations: no index form
            or len(path.compound) > MAX_COMPOUND_DEPTH
            or any(step == "*" or step.isdigit() for step in path.compound)
            or _mentions_datetime(value)  # compared as instants, stored as text
        ):
            return self._inexact(path)
        nid = self.nid(index_key(path.attr, path.sub_attrs, path.compound))
        if nid is None:
            return NEVER, []  # no entity has a scalar at this path
        if isinstance(value, bool) and op not in ("==",):
            return NEVER, []  # booleans are only equal or not, never ordered
        condition, params = _value_condition(op, value)
        if op == "~=" or (op in (">", ">=", "<", "<=") and isinstance(value, str)):
            # relationship objects are indexed text but never ordered or pattern-matched
            self.exact = False
        return f"EXISTS(SELECT 1 FROM attr_values WHERE pk=e.pk AND nid=? AND {condition})", [
            nid,
            *params,
        ]


def _driver_of(compiler: _QCompiler, node: object) -> Driver | None:
    """An index lookup that yields every entity a top-level q comparison can match."""
    if not isinstance(node, qlang.Comparison) or node.op not in ("==", ">", ">=", "<", "<="):
        return None
    probe = _QCompiler(compiler.conn, compiler.names)
    sql, _ = probe._comparison(node)
    if not probe.exact or sql == NEVER:
        return None
    path = node.path
    nid = compiler.nid(index_key(path.attr, path.sub_attrs, path.compound))
    condition, params = _value_condition(node.op, node.value, "$v")
    ordered = node.op == "==" and not isinstance(node.value, tuple | qlang.Range)
    return Driver("attr_values", f"$nid=? AND {condition}", [nid, *params], ordered=ordered)


def _mentions_datetime(value: object) -> bool:
    if isinstance(value, str):
        return bool(qlang.DATETIME_RE.match(value))
    if isinstance(value, tuple):
        return any(_mentions_datetime(v) for v in value)
    if isinstance(value, qlang.Range):
        return _mentions_datetime(value.low) or _mentions_datetime(value.high)
    return False


def _type_expr(node: object, names: NameTable, conn: sqlite3.Connection) -> tuple[str, list]:
    """Type expressions reuse the q AST shape: And/Or of Exists(AttrPath(type IRI))."""
    if isinstance(node, qlang.And | qlang.Or):
        glue = " AND " if isinstance(node, qlang.And) else " OR "
        parts = [_type_expr(t, names, conn) for t in node.terms]
        return "(" + glue.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
    nid = names.get(node.path.attr, conn)  # type: ignore[attr-defined]
    if nid is None:
        return NEVER, []
    return "EXISTS(SELECT 1 FROM entity_types t WHERE t.pk=e.pk AND t.nid=?)", [nid]


def compile_query(
    conn: sqlite3.Connection, names: NameTable, tid: int, query: EntityQuery
) -> Compiled:
    out = Compiled()
    if query.types:
        nids = [n for n in (names.get(t, conn) for t in query.types) if n is not None]
        if not nids:
            out.empty = True
            return out
        marks = ",".join("?" * len(nids))
        condition = out.add(  # the tenant is checked here: no need to read e.tid
            f"EXISTS(SELECT 1 FROM entity_types t WHERE t.tid=? AND t.nid IN ({marks}) "
            "AND t.pk=e.pk)",
            tid,
            *nids,
        )
        out.drivers.append(
            Driver(
                "entity_types",
                f"$tid=? AND $nid IN ({marks})",
                [tid, *nids],
                ordered=len(nids) == 1,
                condition=condition,
                tenant=True,
            )
        )
    else:
        out.add(TENANT_CONDITION, tid, row=True)
    if query.type_expr is not None:
        sql, params = _type_expr(query.type_expr, names, conn)
        out.add(sql, *params)
    if query.ids:
        marks = ",".join("?" * len(query.ids))
        condition = out.add(f"e.eid IN ({marks})", *query.ids, row=True)
        out.drivers.append(
            Driver(
                "entities",
                f"$tid=? AND $eid IN ({marks})",
                [tid, *query.ids],
                ordered=False,
                estimate=len(query.ids),
                condition=condition,
                tenant=True,
            )
        )
    if query.id_pattern:
        out.add("e.eid REGEXP ?", query.id_pattern, row=True)
    if query.attrs_any:
        nids = [n for n in (names.get(a, conn) for a in query.attrs_any) if n is not None]
        if not nids:
            out.empty = True
            return out
        marks = ",".join("?" * len(nids))
        out.add(f"EXISTS(SELECT 1 FROM entity_attrs WHERE nid IN ({marks}) AND pk=e.pk)", *nids)
    if query.q is not None:
        _compile_q(out, conn, names, query.q)
    if query.geo is not None:
        _compile_geo(out, conn, names, query.geo)
    if query.scope_q is not None:
        scope_q = query.scope_q
        out.checks.append(lambda entity: qlang.scope_matches(scope_q, entity.get("scope") or []))
    return out


def _compile_q(out: Compiled, conn: sqlite3.Connection, names: NameTable, q: object) -> None:
    """One condition per top-level conjunct, so that a conjunct leading the scan is not
    checked again; the reference evaluator checks what SQL cannot decide exactly."""
    compiler = _QCompiler(conn, names)
    for conjunct in q.terms if isinstance(q, qlang.And) else (q,):
        sql, params = compiler.compile(conjunct)
        condition = out.add(sql, *params)
        driver = compiler.driver(conjunct)
        if driver is not None:
            driver.condition = condition
            out.drivers.append(driver)
    if not compiler.exact:
        out.checks.append(lambda entity: qlang.evaluate(q, entity))


def _compile_geo(out: Compiled, conn: sqlite3.Connection, names: NameTable, geo) -> None:
    nid = names.get(geo.geoproperty, conn)
    if nid is None:
        out.empty = True
        return
    box = geo.candidate_bbox()
    if box is None:
        out.add("EXISTS(SELECT 1 FROM geo_index WHERE pk=e.pk AND nid=?)", nid)
    else:
        within = "r.max_lon >= ? AND r.min_lon <= ? AND r.max_lat >= ? AND r.min_lat <= ?"
        corners = [box[0], box[2], box[1], box[3]]
        condition = out.add(
            "EXISTS(SELECT 1 FROM geo_index g JOIN geo_rtree r ON r.gid=g.gid "
            f"WHERE g.pk=e.pk AND g.nid=? AND {within})",
            nid,
            *corners,
        )
        out.drivers.append(
            Driver(
                "geo_rtree r JOIN geo_index g ON g.gid=r.gid",
                f"g.nid=? AND {within}",
                [nid, *corners],
                ordered=False,
                pk_column="g.pk",
                condition=condition,
            )
        )
    prop = geo.geoproperty

    def geo_check(entity: dict) -> bool:
        for instance in entity.get("attrs", {}).get(prop, ()):
            value = instance.get("value")
            if (
                instance.get("type") == "GeoProperty"
                and isinstance(value, dict)
                and geo.matches(value)
            ):
                return True
        return False

    out.checks.append(geo_check)


def _stream(conn: sqlite3.Connection, sql: str, params: list) -> Iterator[tuple[bytes, dict]]:
    cursor = conn.execute(sql, params)
    while rows := cursor.fetchmany(256):
        for (doc,) in rows:
            yield doc, orjson.loads(doc)


def _wanted(query: EntityQuery) -> int | None:
    """Rows a query needs from the matches in primary-key order (None: all of them)."""
    return None if query.count else query.offset + query.limit


def select_entities(
    conn: sqlite3.Connection, names: NameTable, tid: int, query: EntityQuery
) -> QueryResult:
    """One page of matches as stored documents (parsed when read), and the count if asked."""
    compiled = compile_query(conn, names, tid, query)
    if compiled.empty:
        return QueryResult([], 0 if query.count else None)
    chosen = plan(conn, compiled.conditions, compiled.drivers, _wanted(query))
    if not compiled.checks:
        docs: list[bytes] = []
        if query.limit > 0:
            rows = conn.execute(
                f"SELECT e.doc FROM {chosen.from_where} ORDER BY {chosen.order_by} "
                "LIMIT ? OFFSET ?",
                (*chosen.params, query.limit, query.offset),
            ).fetchall()
            docs = [doc for (doc,) in rows]
        total = None
        if query.count:
            counted = chosen.count_from_where or chosen.from_where
            total = conn.execute(f"SELECT count(*) FROM {counted}", chosen.params).fetchone()[0]
        return QueryResult(docs=docs, total=total)
    matched = 0
    page: list[dict] = []
    page_docs: list[bytes] = []
    sql = f"SELECT e.doc FROM {chosen.from_where} ORDER BY {chosen.order_by}"
    for doc, entity in _stream(conn, sql, chosen.params):
        if all(check(entity) for check in compiled.checks):
            if query.offset <= matched < query.offset + query.limit:
                page.append(entity)
                page_docs.append(doc)
            matched += 1
            if not query.count and matched >= query.offset + query.limit:
                break
    return QueryResult(page, matched if query.count else None, docs=page_docs)


def select_ids(
    conn: sqlite3.Connection, names: NameTable, tid: int, query: EntityQuery
) -> list[str]:
    """Every matching entity id, in primary-key order (no paging)."""
    compiled = compile_query(conn, names, tid, query)
    if compiled.empty:
        return []
    chosen = plan(conn, compiled.conditions, compiled.drivers, None)
    if not compiled.checks:
        rows = conn.execute(
            f"SELECT e.eid FROM {chosen.from_where} ORDER BY {chosen.order_by}", chosen.params
        )
        return [eid for (eid,) in rows]
    sql = f"SELECT e.doc FROM {chosen.from_where} ORDER BY {chosen.order_by}"
    return [
        entity["id"]
        for _doc, entity in _stream(conn, sql, chosen.params)
        if all(check(entity) for check in compiled.checks)
    ]
