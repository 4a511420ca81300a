"""How the SQLite store chooses the index that leads a query, and counts from indexes."""

from __future__ import annotations

import pytest

from hyperville.ngsild import qlang
from hyperville.store import sqlite_plan
from hyperville.store.base import EntityQuery
from hyperville.store.sqlite import SQLiteStore
from hyperville.store.sqlite_query import compile_query

V = "https://uri.etsi.org/ngsi-ld/default-context/"
LIGHT = V + "Streetlight"
Q = qlang.resolve_names(qlang.parse_q('wattage>100;powerState=="on"'), lambda name: V + name)


def light(n: int) -> dict:
    return {
        "id": f"urn:ngsi-ld:Streetlight:{n}",
        "type": [LIGHT],
        "attrs": {
            V + "powerState": [{"type": "Property", "value": "on" if n % 3 == 0 else "off"}],
            V + "wattage": [{"type": "Property", "value": 150 if n % 2 else 70}],
        },
    }


@pytest.fixture
def store(tmp_path, monkeypatch):
    """90 lights: 30 "on", 45 over 100 W, 15 both; counts are capped at 5 rows."""
    monkeypatch.setattr(sqlite_plan, "ESTIMATE_CAP", 5)
    sqlite_plan.CHOICES.clear()
    store = SQLiteStore(tmp_path / "plan.sqlite")
    store.open()
    store.transact_sync("", lambda tx: [tx.put(light(n), is_new=True) for n in range(90)])
    yield store
    store.close()
    sqlite_plan.CHOICES.clear()


def _drivers(store: SQLiteStore, query: EntityQuery) -> list[sqlite_plan.Driver]:
    conn = store._reader()
    return compile_query(conn, store.names, store.tenants_table.get(""), query).drivers


def _lead(store: SQLiteStore, query: EntityQuery, wanted: int | None) -> str:
    drivers = _drivers(store, query)
    driver = drivers[sqlite_plan.choose(store._reader(), drivers, wanted).lead]
    return driver.source + " " + str(driver.params[-1])


def test_a_query_seen_again_counts_its_big_lookups_and_keeps_the_choice(store):
    query = EntityQuery(types=(LIGHT,), q=Q, limit=10)
    # first run: every lookup passes the cap; the type (first, in pk order) leads
    assert _lead(store, query, 10) == "entity_types 1"
    # second run: counted in full (type 90, on 30, over 100 W 45 but not in pk order)
    assert _lead(store, query, 10) == "attr_values on"
    drivers = _drivers(store, query)
    choice = sqlite_plan.choose(store._reader(), drivers, 10)
    assert drivers[choice.lead].params[-1] == "on"
    assert all(d.estimate is None for d in drivers), "a remembered choice counts nothing"
    # the other conditions: the most selective first (on 30 rows, over 100 W 45, lights 90)
    assert choice.selective_first == (2, 1, 0)
    conn, tid = store._reader(), store.tenants_table.get("")
    compiled = compile_query(conn, store.names, tid, query)
    sql = sqlite_plan.plan(conn, compiled.conditions, compiled.drivers, 10).from_where
    assert sql.index("attr_values WHERE pk=e.pk") < sql.index("entity_types t WHERE")


def test_a_count_reads_every_match_so_the_smallest_lookup_leads(store):
    query = EntityQuery(types=(LIGHT,), q=Q, limit=0, count=True)
    _lead(store, query, None)
    assert _lead(store, query, None) == "attr_values on"
    assert store.query_entities("", query).total == 15


def test_choices_expire(store, monkeypatch):
    monkeypatch.setattr(sqlite_plan, "PLAN_TTL_S", -1.0)
    query = EntityQuery(types=(LIGHT,), q=Q, limit=10)
    assert _lead(store, query, 10) == "entity_types 1"
    assert _lead(store, query, 10) == "entity_types 1"  # forgotten: never refined


def test_counts_come_from_the_indexes_when_no_condition_needs_the_rows(store):
    conn = store._reader()
    tid = store.tenants_table.get("")
    typed = compile_query(conn, store.names, tid, EntityQuery(types=(LIGHT,), count=True))
    chosen = sqlite_plan.plan(conn, typed.conditions, typed.drivers, None)
    assert chosen.count_from_where is not None and "entities" not in chosen.count_from_where
    by_id = EntityQuery(types=(LIGHT,), id_pattern="1$", count=True, limit=0)
    compiled = compile_query(conn, store.names, tid, by_id)
    chosen = sqlite_plan.plan(conn, compiled.conditions, compiled.drivers, None)
    assert chosen.count_from_where is None
    assert store.query_entities("", by_id).total == 9
