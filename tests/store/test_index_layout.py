"""Which instance members the value index holds, and files indexed by an earlier layout."""

from __future__ import annotations

from hyperville.ngsild import qlang
from hyperville.store.base import EntityQuery
from hyperville.store.indexing import SUB
from hyperville.store.sqlite import SQLiteStore

V = "https://uri.etsi.org/ngsi-ld/default-context/"
T = V + "temperature"


def sensor(n: int, observed: str) -> dict:
    instance = {"type": "Property", "value": n, "unitCode": "CEL", "observedAt": observed}
    return {"id": f"urn:ngsi-ld:Sensor:{n}", "type": [V + "Sensor"], "attrs": {T: [instance]}}


def _keys(store: SQLiteStore) -> set[str]:
    rows = store._reader().execute(
        "SELECT DISTINCT n.iri FROM attr_values a JOIN names n ON n.nid = a.nid"
    )
    return {iri for (iri,) in rows}


def _query(store: SQLiteStore, q: str) -> list[str]:
    parsed = qlang.resolve_names(qlang.parse_q(q), lambda name: V + name)
    result = store.query_entities("", EntityQuery(q=parsed, limit=100))
    return sorted(e["id"] for e in result.entities)


def test_observed_at_is_not_indexed_and_still_filters(tmp_path):
    store = SQLiteStore(tmp_path / "t.sqlite")
    store.open()
    try:
        store.transact_sync(
            "",
            lambda tx: [
                tx.put(sensor(n, f"2026-11-0{n}T10:00:00Z"), is_new=True) for n in (1, 2, 3)
            ],
        )
        assert _keys(store) == {T, T + SUB + "unitCode"}
        assert _query(store, "temperature.observedAt>=2026-11-02T00:00:00Z") == [
            "urn:ngsi-ld:Sensor:2",
            "urn:ngsi-ld:Sensor:3",
        ]
        assert _query(store, 'temperature.observedAt=="not a date"') == []
        assert _query(store, 'temperature.unitCode=="CEL";temperature<2') == [
            "urn:ngsi-ld:Sensor:1"
        ]
    finally:
        store.close()


def test_a_file_indexed_with_observed_at_loses_those_rows_once(tmp_path):
    path = tmp_path / "old.sqlite"
    store = SQLiteStore(path)
    store.open()
    store.transact_sync("", lambda tx: tx.put(sensor(1, "2026-11-01T10:00:00Z"), is_new=True))
    key = T + SUB + "observedAt"

    def as_before(tx) -> None:  # what an earlier version wrote
        nid = store.names.intern(tx.conn, key)
        pk = tx.conn.execute("SELECT pk FROM entities").fetchone()[0]
        tx.conn.execute(
            "INSERT INTO attr_values(pk, nid, v) VALUES(?,?,?)", (pk, nid, "2026-11-01T10:00:00Z")
        )
        tx.conn.execute("DELETE FROM meta WHERE key='index_layout'")

    store.transact_sync("", as_before)
    assert key in _keys(store)
    store.close()
    store = SQLiteStore(path)
    store.open()
    try:
        assert _keys(store) == {T, T + SUB + "unitCode"}
        assert _query(store, "temperature.observedAt==2026-11-01T10:00:00Z") == [
            "urn:ngsi-ld:Sensor:1"
        ]
    finally:
        store.close()
