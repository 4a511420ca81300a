"""Index rows follow updates: after entities change (values, sub-attributes, instances,
attributes, types, geometries), the store's filters still agree with the reference evaluator.

A store may rewrite only the rows of the attributes that changed (``put(previous=,
changed=)``); these tests update a population in every way a put can be called and query it.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from test_query_contract import QUERIES, T, V, make_population

from hyperville.core.attributes import changed_attributes
from hyperville.ngsild import qlang
from hyperville.ngsild.geoquery import parse_geoquery
from hyperville.store.base import EntityQuery

OTHER = V + "Other"


def _moved(entity: dict, n: int) -> dict:
    """The entity with a location, which moves on update, and sometimes a second type."""
    moved = copy.deepcopy(entity)
    point = {"type": "Point", "coordinates": [0.5 + n / 100, 49.5]}
    moved["attrs"][V + "location"] = [{"type": "GeoProperty", "value": point}]
    if n % 4 == 1:
        moved["type"] = [T, OTHER]
    return moved


def _updates(first: list[dict], second: list[dict]) -> list[dict]:
    """What each entity becomes: new values, or (one in five) exactly what it was."""
    return [
        copy.deepcopy(old) if n % 5 == 0 else _moved(new, n + 50)
        for n, (old, new) in enumerate(zip(first, second, strict=True))
    ]


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    from hyperville.store.sqlite import SQLiteStore

    first = [_moved(e, n) for n, e in enumerate(make_population(seed=7))]
    final = _updates(first, make_population(seed=8))
    store = SQLiteStore(tmp_path_factory.mktemp("u") / "u.sqlite")
    store.open()
    store.transact_sync("", lambda tx: [tx.put(copy.deepcopy(e), is_new=True) for e in first])

    def update(tx):
        for n, new in enumerate(final):
            entity = copy.deepcopy(new)
            if n % 3 == 0:  # the store works out what changed
                tx.put(entity, is_new=False)
                continue
            stored = tx.get(entity["id"])
            if n % 3 == 1:  # twice in one function: the second put starts from the first
                tx.put(copy.deepcopy(first[(n + 1) % len(first)]) | {"id": entity["id"]},
                       is_new=False, previous=stored)  # fmt: skip
                stored = tx.get(entity["id"])
            changed = changed_attributes(stored["attrs"], entity["attrs"])
            tx.put(entity, is_new=False, previous=stored, changed=changed)

    store.transact_sync("", update)
    yield store, final
    store.close()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=QUERIES)
def test_filters_agree_with_the_reference_evaluator_after_updates(updated, query):
    store, population = updated
    expected = [e["id"] for e in population if qlang.evaluate(query, e)]
    result = store.query_entities("", EntityQuery(types=(T,), q=query, limit=1000, count=True))
    assert [e["id"] for e in result.entities] == expected, qlang.to_text(query)
    assert result.total == len(expected)


def test_types_and_attributes_follow_updates(updated):
    store, population = updated
    for entity in population:
        assert store.get_entity("", entity["id"]) == entity
    found = store.query_entities("", EntityQuery(types=(OTHER,), limit=1000))
    assert [e["id"] for e in found.entities] == [e["id"] for e in population if OTHER in e["type"]]
    for name in ("a", "b", "c"):
        having = store.query_entities("", EntityQuery(attrs_any=(V + name,), limit=1000))
        expected = [e["id"] for e in population if V + name in e["attrs"]]
        assert [e["id"] for e in having.entities] == expected


def test_moved_geometries_are_found_where_they_are_now(updated):
    store, population = updated
    for entity in population[:12]:
        lon, lat = entity["attrs"][V + "location"][0]["value"]["coordinates"]
        geo = replace(
            parse_geoquery("near;maxDistance==10", "Point", f"[{lon},{lat}]", None),
            geoproperty=V + "location",
        )
        near = store.query_entities("", EntityQuery(geo=geo, limit=1000)).entities
        assert [e["id"] for e in near] == [entity["id"]]
