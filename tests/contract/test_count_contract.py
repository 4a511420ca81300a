"""Pages and counts agree with a plain Python filter, whichever index leads (every backend).

A backend may choose how to run a query from the data and from earlier runs of the same
query (the SQLite store counts index rows and remembers its choice): each query runs three
times, so that every way it can be planned is checked against the same expectation.
"""

from __future__ import annotations

import orjson
import pytest

from hyperville.ngsild import qlang
from hyperville.store.base import EntityQuery

V = "https://uri.etsi.org/ngsi-ld/default-context/"
LIGHT, CABINET = V + "Streetlight", V + "Cabinet"
STATES = ("on", "off", "dimmed")


def thing(n: int, tenant_mark: str) -> dict:
    """Entity n: mostly Streetlights, every 7th also a Cabinet, every 5th only a Cabinet."""
    types = [CABINET] if n % 5 == 0 else [LIGHT, CABINET] if n % 7 == 0 else [LIGHT]
    return {
        "id": f"urn:ngsi-ld:Thing:{tenant_mark}{n}",
        "type": types,
        "attrs": {
            V + "powerState": [{"type": "Property", "value": STATES[n % 3]}],
            V + "wattage": [{"type": "Property", "value": (35, 70, 150, 250)[n % 4]}],
        },
    }


POPULATION = {"": [thing(n, "a") for n in range(90)], "port": [thing(n, "p") for n in range(40)]}


@pytest.fixture
def loaded(store):
    for tenant, entities in POPULATION.items():

        def run(tx, entities=entities):
            for entity in entities:
                tx.put(entity, is_new=True)

        store.transact_sync(tenant, run)
    return store


QUERIES = [
    ((LIGHT,), None),
    ((CABINET,), None),
    ((LIGHT, CABINET), None),
    ((LIGHT,), 'powerState=="on"'),
    ((LIGHT,), 'wattage>100;powerState=="on"'),
    ((LIGHT, CABINET), 'wattage>=70;powerState=="off"'),
    ((), 'powerState=="dimmed"'),
    ((), 'wattage>100;powerState=="on"'),
    ((), "wattage==35,250"),
    ((CABINET,), "wattage==70..150"),
]


def expected_ids(tenant: str, types: tuple[str, ...], q: object) -> list[str]:
    return [
        e["id"]
        for e in POPULATION[tenant]
        if (not types or set(types) & set(e["type"])) and (q is None or qlang.evaluate(q, e))
    ]


@pytest.mark.parametrize("tenant", ["", "port"])
@pytest.mark.parametrize(("types", "q_text"), QUERIES)
def test_pages_and_counts_agree_with_a_python_filter(loaded, tenant, types, q_text):
    q = qlang.resolve_names(qlang.parse_q(q_text), lambda name: V + name) if q_text else None
    expected = expected_ids(tenant, types, q)
    assert expected  # a query that matches nothing would check little
    for _ in range(3):
        counted = loaded.query_entities(tenant, EntityQuery(types=types, q=q, limit=0, count=True))
        assert counted.entities == [] and counted.total == len(expected)
        page = loaded.query_entities(tenant, EntityQuery(types=types, q=q, limit=7, offset=3))
        assert [e["id"] for e in page.entities] == expected[3:10]
        both = loaded.query_entities(tenant, EntityQuery(types=types, q=q, limit=5, count=True))
        assert [e["id"] for e in both.entities] == expected[:5]
        assert both.total == len(expected)


def test_stored_documents_are_the_entities(loaded):
    result = loaded.query_entities("", EntityQuery(types=(LIGHT,), limit=20))
    if result.docs is not None:  # optional: a backend that keeps JSON documents
        assert [orjson.loads(doc) for doc in result.docs] == result.entities
    assert [e["id"] for e in result.entities] == expected_ids("", (LIGHT,), None)[:20]
