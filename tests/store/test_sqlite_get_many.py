"""Reading the current state of a batch's entities: one index seek per id, whatever the
planner's statistics say (stale ones once made every batch upsert scan the whole table)."""

from __future__ import annotations

import orjson
import pytest

from hyperville.store.sqlite import SQLiteStore
from hyperville.store.sqlite_tx import GET_MANY_SQL

V = "https://uri.etsi.org/ngsi-ld/default-context/"


def entity(n: int) -> dict:
    return {
        "id": f"urn:ngsi-ld:Thing:{n}",
        "type": [V + "Thing"],
        "attrs": {V + "n": [{"type": "Property", "value": n}]},
    }


@pytest.fixture
def store(tmp_path):
    store = SQLiteStore(tmp_path / "many.sqlite")
    store.open()
    store.transact_sync("", lambda tx: [tx.put(entity(n), is_new=True) for n in range(2000)])
    yield store
    store.close()


def _stale_statistics(store: SQLiteStore) -> None:
    """What ANALYZE wrote when the table held 1,000 entities (and was not run again)."""

    def run(tx) -> None:
        tx.conn.execute("ANALYZE")
        tx.conn.execute(
            "UPDATE sqlite_stat1 SET stat='1000 1000 1' WHERE idx='sqlite_autoindex_entities_1'"
        )

    store.transact_sync("", run)
    store.close()  # statistics are read when a connection opens
    store.open()


def _plan(store: SQLiteStore, sql: str, params: tuple) -> str:
    rows = store._reader().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(row[3] for row in rows)


def test_get_many_seeks_each_id_even_with_stale_statistics(store):
    _stale_statistics(store)
    ids = [f"urn:ngsi-ld:Thing:{n}" for n in range(0, 2000, 4)]
    # the hazard: with these statistics an IN list of 500 ids scans the table
    marks = ",".join("?" * len(ids))
    in_list = f"SELECT pk, eid, doc FROM entities WHERE tid=? AND eid IN ({marks})"
    assert "SCAN entities" in _plan(store, in_list, (1, *ids))
    plan = _plan(store, GET_MANY_SQL, (orjson.dumps(ids), 1))
    assert "SEARCH e USING INDEX" in plan and "SCAN e" not in plan
    found = store.transact_sync("", lambda tx: tx.get_many(ids + ["urn:ngsi-ld:Thing:none"]))
    assert sorted(found) == sorted(ids)
    assert found["urn:ngsi-ld:Thing:8"]["attrs"][V + "n"][0]["value"] == 8


def test_get_many_keeps_ids_with_quotes_and_unicode(store):
    odd = {**entity(0), "id": 'urn:ngsi-ld:Thing:a"b\\c:été'}
    store.transact_sync("", lambda tx: tx.put(odd, is_new=True))
    found = store.transact_sync("", lambda tx: tx.get_many([odd["id"], odd["id"]]))
    assert list(found) == [odd["id"]]
