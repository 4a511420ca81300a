"""q and geo filters in the store agree with the reference evaluator, on every backend.

``qlang.evaluate`` (pure Python, written from the spec) is the oracle: for random entities
and random queries, the indexed SQL path must return exactly the entities it accepts.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperville.ngsild import qlang
from hyperville.ngsild.geoquery import parse_geoquery
from hyperville.store.base import EntityQuery

V = "https://uri.etsi.org/ngsi-ld/default-context/"
T = V + "Thing"
NAMES = ("a", "b", "c")
SCALAR_POOL = [
    -3,
    -1,
    0,
    1,
    2,
    3,
    0.5,
    1.0,
    2.5,
    "x",
    "y",
    "1",
    "urn:ngsi-ld:X:1",
    "2024-01-01T00:00:00Z",
    True,
    False,
]
SCALARS = st.sampled_from(SCALAR_POOL)


def _value(rng):
    shape = rng.randrange(5)
    if shape == 3:
        return [rng.choice(SCALAR_POOL) for _ in range(rng.randint(1, 3))]
    if shape == 4:
        value = {"k": rng.choice(SCALAR_POOL)}
        if rng.random() < 0.5:
            value["m"] = rng.choice(SCALAR_POOL)
        return value
    return rng.choice(SCALAR_POOL)


def _instance(rng):
    kind = rng.choice(["Property", "Property", "Relationship", "LanguageProperty"])
    if kind == "Relationship":
        instance = {"type": kind, "object": rng.choice(["urn:ngsi-ld:X:1", "urn:ngsi-ld:X:2"])}
    elif kind == "LanguageProperty":
        instance = {"type": kind, "languageMap": {"fr": rng.choice(["x", "y"]), "en": "z"}}
    else:
        instance = {"type": kind, "value": _value(rng)}
    if rng.random() < 0.5:
        instance[V + "s"] = {"type": "Property", "value": rng.choice(SCALAR_POOL)}
    if rng.random() < 0.5:
        instance["observedAt"] = rng.choice(
            ["2024-01-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"]
        )
    return instance


def make_population(seed: int = 7, size: int = 60) -> list[dict]:
    """Deterministic random entities over a small domain, so that queries often match."""
    rng = random.Random(seed)
    population = []
    for n in range(size):
        attrs = {}
        for name in NAMES:
            if rng.random() < 0.6:
                attrs[V + name] = [_instance(rng)]
                if rng.random() < 0.2:
                    second = dict(_instance(rng), datasetId="urn:ngsi-ld:Dataset:2")
                    attrs[V + name].append(second)
        population.append({"id": f"urn:ngsi-ld:Thing:{n}", "type": [T], "attrs": attrs})
    return population


PATHS = st.builds(
    qlang.AttrPath,
    st.sampled_from([V + n for n in NAMES]),
    st.sampled_from([(), (V + "s",), ("observedAt",)]),
    st.sampled_from([(), ("k",), ("m",)]),
)


@st.composite
def comparisons(draw):
    path = draw(PATHS)
    op = draw(st.sampled_from(["==", "!=", ">", ">=", "<", "<=", "~=", "!~="]))
    if op in ("~=", "!~="):
        value = draw(st.sampled_from(["^x", "y$", "1", "X:"]))
    elif op == "==" and draw(st.integers(0, 3)) == 0:
        value = tuple(draw(st.lists(SCALARS, min_size=2, max_size=3)))
    elif op == "==" and draw(st.integers(0, 3)) == 0:
        low = draw(st.integers(-3, 1))
        value = qlang.Range(low, low + draw(st.integers(0, 3)))
    else:
        value = draw(SCALARS)
    return qlang.Comparison(path, op, value)


LEAVES = st.one_of(comparisons(), st.builds(qlang.Exists, PATHS))
QUERIES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda t: qlang.And(tuple(t)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda t: qlang.Or(tuple(t)), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=4,
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from hyperville.store.sqlite import SQLiteStore

    population = make_population()
    store = SQLiteStore(tmp_path_factory.mktemp("q") / "q.sqlite")
    store.open()

    def run(tx):
        for entity in population:
            tx.put(entity, is_new=True)

    store.transact_sync("", run)
    yield store, population
    store.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=QUERIES)
def test_sql_filter_agrees_with_the_reference_evaluator(loaded, query):
    store, population = loaded
    expected = [e["id"] for e in population if qlang.evaluate(query, e)]
    result = store.query_entities("", EntityQuery(types=(T,), q=query, limit=1000, count=True))
    assert [e["id"] for e in result.entities] == expected, qlang.to_text(query)
    assert result.total == len(expected)


GEO_POINTS = [(0.5 + dx / 100, 49.5 + dy / 100) for dx in range(-5, 6) for dy in range(-5, 6)]


@pytest.fixture(scope="module")
def geo_store(tmp_path_factory):
    from hyperville.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path_factory.mktemp("geo") / "geo.sqlite")
    store.open()
    population = []
    for i, (lon, lat) in enumerate(GEO_POINTS):
        population.append(
            {
                "id": f"urn:ngsi-ld:Thing:{i}",
                "type": [T],
                "attrs": {
                    V + "location": [
                        {
                            "type": "GeoProperty",
                            "value": {"type": "Point", "coordinates": [lon, lat]},
                        }
                    ]
                },
            }
        )

    def run(tx):
        for entity in population:
            tx.put(entity, is_new=True)

    store.transact_sync("", run)
    yield store, population
    store.close()


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates"),
    [
        ("near;maxDistance==2000", "Point", "[0.5,49.5]"),
        ("near;minDistance==3000", "Point", "[0.5,49.5]"),
        (
            "within",
            "Polygon",
            "[[[0.47,49.47],[0.53,49.47],[0.53,49.53],[0.47,49.53],[0.47,49.47]]]",
        ),
        ("intersects", "Polygon", "[[[0.5,49.5],[0.6,49.5],[0.6,49.6],[0.5,49.5]]]"),
        (
            "disjoint",
            "Polygon",
            "[[[0.47,49.47],[0.53,49.47],[0.53,49.53],[0.47,49.53],[0.47,49.47]]]",
        ),
        ("equals", "Point", "[0.52,49.49]"),
    ],
)
def test_geo_filter_matches_exact_predicate(geo_store, georel, geometry, coordinates):
    store, population = geo_store
    geo = parse_geoquery(georel, geometry, coordinates, None)
    from dataclasses import replace

    geo = replace(geo, geoproperty=V + "location")
    expected = [e["id"] for e in population if geo.matches(e["attrs"][V + "location"][0]["value"])]
    assert expected, "the case must select something to be meaningful"
    result = store.query_entities("", EntityQuery(geo=geo, limit=1000, count=True))
    assert [e["id"] for e in result.entities] == expected
    assert result.total == len(expected)


def test_self_intersecting_polygons_are_queryable(tmp_path):
    """Real data (and the ETSI suite) has slightly invalid polygons: store and query them."""
    from hyperville.store.sqlite import SQLiteStore

    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    store = SQLiteStore(tmp_path / "bowtie.sqlite")
    store.open()
    try:
        entity = {
            "id": "urn:ngsi-ld:Thing:bowtie",
            "type": [T],
            "attrs": {V + "location": [{"type": "GeoProperty", "value": bowtie}]},
        }
        store.transact_sync("", lambda tx: tx.put(entity, is_new=True))
        from dataclasses import replace

        geo = replace(
            parse_geoquery("intersects", "Polygon", str(bowtie["coordinates"]), None),
            geoproperty=V + "location",
        )
        assert [e["id"] for e in store.query_entities("", EntityQuery(geo=geo)).entities] == [
            entity["id"]
        ]
    finally:
        store.close()
