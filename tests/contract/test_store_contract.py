"""The store contract: what every backend must do, checked on each one (see conftest.BACKENDS)."""

from __future__ import annotations

import threading

import pytest

from hyperville.core.errors import AlreadyExists, BadRequestData
from hyperville.store.base import EntityQuery

V = "https://uri.etsi.org/ngsi-ld/default-context/"
LIGHT, BIN = V + "Streetlight", V + "WasteContainer"


def light(n: int, **attrs) -> dict:
    base = {
        V + "powerState": [{"type": "Property", "value": "on" if n % 2 else "off"}],
        V + "wattage": [{"type": "Property", "value": 10 * n, "unitCode": "WTT"}],
        V + "refCabinet": [{"type": "Relationship", "object": f"urn:ngsi-ld:Cabinet:{n % 3}"}],
        V + "location": [
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [0.5 + n / 1000, 49.5]},
            }
        ],
    }
    base.update(attrs)
    return {"id": f"urn:ngsi-ld:Streetlight:{n}", "type": [LIGHT], "attrs": base}


def put_all(store, entities, tenant=""):
    def run(tx):
        for entity in entities:
            tx.put(entity, is_new=True)

    store.transact_sync(tenant, run)


def ids(result) -> list[str]:
    return [e["id"] for e in result.entities]


def test_put_get_round_trip(store):
    entity = light(1)
    put_all(store, [entity])
    assert store.get_entity("", entity["id"]) == entity
    assert store.get_entity("", "urn:ngsi-ld:Streetlight:404") is None


def test_replace_reindexes(store):
    put_all(store, [light(1)])
    changed = light(1)
    changed["attrs"][V + "wattage"][0]["value"] = 999
    store.transact_sync("", lambda tx: tx.put(changed, is_new=False))
    q = EntityQuery(types=(LIGHT,), q=_q("wattage==999"))
    assert ids(store.query_entities("", q)) == [changed["id"]]
    assert ids(store.query_entities("", EntityQuery(types=(LIGHT,), q=_q("wattage==10")))) == []


def test_tenants_are_isolated(store):
    put_all(store, [light(1)], tenant="")
    put_all(store, [light(2)], tenant="port")
    assert store.tenant_exists("port") and not store.tenant_exists("other")
    assert store.get_entity("port", light(1)["id"]) is None
    assert ids(store.query_entities("port", EntityQuery(types=(LIGHT,)))) == [light(2)["id"]]
    assert ids(store.query_entities("", EntityQuery(types=(LIGHT,)))) == [light(1)["id"]]
    assert ids(store.query_entities("other", EntityQuery(types=(LIGHT,)))) == []


def test_failed_write_function_rolls_back_only_itself(store):
    def failing(tx):
        tx.put(light(1), is_new=True)
        raise AlreadyExists("boom")

    futures = [
        store.submit("", failing),
        store.submit("", lambda tx: tx.put(light(2), is_new=True)),
    ]
    with pytest.raises(AlreadyExists):
        futures[0].result()
    futures[1].result()
    assert store.get_entity("", light(1)["id"]) is None
    assert store.get_entity("", light(2)["id"]) is not None


def test_tenant_created_by_failed_write_is_rolled_back(store):
    def failing(tx):
        tx.put(light(1), is_new=True)
        raise BadRequestData("nope")

    with pytest.raises(BadRequestData):
        store.transact_sync("ghost", failing)
    assert not store.tenant_exists("ghost")


def test_delete_and_get_many(store):
    put_all(store, [light(n) for n in range(5)])
    assert store.transact_sync("", lambda tx: tx.delete(light(3)["id"])) is True
    assert store.transact_sync("", lambda tx: tx.delete(light(3)["id"])) is False
    found = store.transact_sync("", lambda tx: tx.get_many([light(1)["id"], light(3)["id"]]))
    assert list(found) == [light(1)["id"]]
    assert ids(store.query_entities("", EntityQuery(types=(LIGHT,), limit=100))) == [
        light(n)["id"] for n in (0, 1, 2, 4)
    ]


def test_paging_and_count(store):
    put_all(store, [light(n) for n in range(25)])
    page = store.query_entities("", EntityQuery(types=(LIGHT,), limit=10, offset=20, count=True))
    assert ids(page) == [light(n)["id"] for n in range(20, 25)]
    assert page.total == 25
    only_count = store.query_entities("", EntityQuery(types=(LIGHT,), limit=0, count=True))
    assert only_count.entities == [] and only_count.total == 25


def test_ids_and_id_pattern(store):
    put_all(store, [light(n) for n in range(12)])
    query = EntityQuery(ids=(light(3)["id"], light(11)["id"], "urn:x:none"), limit=50)
    assert ids(store.query_entities("", query)) == [light(3)["id"], light(11)["id"]]
    pattern = EntityQuery(id_pattern=r"Streetlight:1\d$", limit=50)
    assert ids(store.query_entities("", pattern)) == [light(10)["id"], light(11)["id"]]


def test_attrs_any_selects_entities_with_one_of_them(store):
    put_all(store, [light(1), light(2, **{V + "dimmingLevel": [{"type": "Property", "value": 5}]})])
    query = EntityQuery(attrs_any=(V + "dimmingLevel", V + "unknown"), limit=10)
    assert ids(store.query_entities("", query)) == [light(2)["id"]]
    assert ids(store.query_entities("", EntityQuery(attrs_any=(V + "unknown",)))) == []


def test_unknown_type_matches_nothing(store):
    put_all(store, [light(1)])
    assert ids(store.query_entities("", EntityQuery(types=(BIN,)))) == []


def test_persists_across_reopen(make_store):
    first = make_store()
    put_all(first, [light(n) for n in range(3)])
    first.close()
    second = make_store()
    assert second.get_entity("", light(2)["id"]) == light(2)
    assert ids(second.query_entities("", EntityQuery(types=(LIGHT,), q=_q("wattage>=10")))) == [
        light(1)["id"],
        light(2)["id"],
    ]


def test_discovery(store):
    bin_entity = {
        "id": "urn:ngsi-ld:WasteContainer:1",
        "type": [BIN],
        "attrs": {V + "fillingLevel": [{"type": "Property", "value": 0.4}]},
    }
    put_all(store, [light(1), light(2), bin_entity])
    types = {info.type: info for info in store.entity_types("")}
    assert types[LIGHT].entity_count == 2 and types[BIN].entity_count == 1
    assert types[LIGHT].attributes[V + "refCabinet"] == {"Relationship"}
    assert types[LIGHT].attributes[V + "location"] == {"GeoProperty"}
    attrs = {info.attribute: info for info in store.attributes("")}
    assert attrs[V + "wattage"].attribute_count == 2
    assert attrs[V + "fillingLevel"].type_names == {BIN}


def test_concurrent_writers_all_land(store):
    def writer(start):
        for n in range(start, start + 50):
            store.transact_sync("", lambda tx, n=n: tx.put(light(n), is_new=True))

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = store.query_entities("", EntityQuery(types=(LIGHT,), limit=0, count=True))
    assert result.total == 200


def _q(text: str):
    from hyperville.ngsild import qlang

    return qlang.resolve_names(qlang.parse_q(text), lambda name: V + name)


def test_update_rewrites_changed_types_attributes_and_geometry(store):
    put_all(store, [light(1), light(2)])
    moved = light(1)
    moved["type"] = [LIGHT, BIN]
    del moved["attrs"][V + "refCabinet"]
    moved["attrs"][V + "location"][0]["value"] = {"type": "Point", "coordinates": [5.0, 45.0]}
    store.transact_sync("", lambda tx: tx.put(moved, is_new=False))
    assert ids(store.query_entities("", EntityQuery(types=(BIN,)))) == [moved["id"]]
    no_cabinet = EntityQuery(types=(LIGHT,), attrs_any=(V + "refCabinet",))
    assert ids(store.query_entities("", no_cabinet)) == [light(2)["id"]]
    from dataclasses import replace

    from hyperville.ngsild.geoquery import parse_geoquery

    near_new = replace(
        parse_geoquery("near;maxDistance==1000", "Point", "[5.0,45.0]", None),
        geoproperty=V + "location",
    )
    near_old = replace(
        near_new,
        geometry=parse_geoquery("near;maxDistance==1000", "Point", "[0.501,49.5]", None).geometry,
    )
    assert ids(store.query_entities("", EntityQuery(geo=near_new))) == [moved["id"]]
    assert ids(store.query_entities("", EntityQuery(geo=near_old))) == [light(2)["id"]]
    types = {info.type: info.entity_count for info in store.entity_types("")}
    assert types == {LIGHT: 2, BIN: 1}
