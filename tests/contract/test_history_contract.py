"""Attribute history: every store backend keeps, queries, aggregates and deletes it alike."""

from __future__ import annotations

import asyncio

from hyperville.store.base import HistoryQuery
from hyperville.store.sqlite_history import iso_to_ms
from hyperville.twin import Twin

E = "urn:ngsi-ld:Sensor:1"
T = "https://example.org/Sensor"
A = "https://example.org/temperature"
T0 = "2026-01-01T00:00:00.000Z"


def _at(minutes: int) -> str:
    from hyperville.store.sqlite_history import ms_to_iso

    return ms_to_iso(iso_to_ms(T0) + minutes * 60_000)


def _reading(value, minutes: int, **extra) -> tuple:
    return (E, A, {"type": "Property", "value": value, "observedAt": _at(minutes), **extra})


def _twin(store) -> Twin:
    twin = Twin(store)
    asyncio.run(twin.create("", {"id": E, "type": [T], "attrs": {}}))
    return twin


def _values(twin, **query) -> list:
    found = twin.history("", E, HistoryQuery(attrs=(A,), **query)).attrs.get(A, [])
    return [i["value"] for i in found]


def test_writes_are_historized_in_the_same_transaction(store):
    twin = _twin(store)
    asyncio.run(twin.merge("", E, {"attrs": {A: [{"type": "Property", "value": 1.5}]}}))
    patch = {"attrs": {A: [{"type": "Property", "value": 2.5, "observedAt": _at(5)}]}}
    asyncio.run(twin.merge("", E, patch))
    assert set(_values(twin)) == {1.5, 2.5}  # 2.5 observed in the past, 1.5 written now


def test_ingest_keeps_late_readings_out_of_the_current_state(store):
    twin = _twin(store)
    counts = asyncio.run(twin.ingest("", [_reading(20, 10), _reading(10, 5), _reading(30, 15)]))
    assert (counts.applied, counts.history_only, counts.unknown_entity) == (2, 1, 0)
    assert twin.get("", E)["attrs"][A][0]["value"] == 30
    unknown = asyncio.run(twin.ingest("", [("urn:ngsi-ld:Sensor:none", A, _reading(1, 1)[2])]))
    assert unknown.unknown_entity == 1
    late = asyncio.run(twin.ingest("", [_reading(5, 1)]))
    assert late.history_only == 1 and twin.get("", E)["attrs"][A][0]["value"] == 30


def test_redelivery_does_not_duplicate(store):
    twin = _twin(store)
    asyncio.run(twin.ingest("", [_reading(20, 10)]))
    asyncio.run(twin.ingest("", [_reading(20, 10)]))
    assert _values(twin, timerel="after", start_ms=iso_to_ms(_at(1))) == [20]
    bucket = twin.aggregate("", E, HistoryQuery(attrs=(A,), aggr_methods=frozenset({"sum"})), None)
    assert bucket[A][None][0][2] == 1


def test_time_filters_last_n_and_limit(store):
    twin = _twin(store)
    asyncio.run(twin.ingest("", [_reading(v, v) for v in range(1, 11)]))
    after = iso_to_ms(_at(5))
    assert _values(twin, timerel="after", start_ms=after) == [6, 7, 8, 9, 10]
    assert _values(twin, timerel="before", start_ms=iso_to_ms(_at(3))) == [1, 2]
    between = dict(timerel="between", start_ms=iso_to_ms(_at(3)), end_ms=iso_to_ms(_at(5)))
    assert _values(twin, **between) == [3, 4]
    assert _values(twin, timerel="after", start_ms=0, last_n=3) == [8, 9, 10]
    result = twin.history("", E, HistoryQuery(attrs=(A,), timerel="after", start_ms=0, limit=4))
    assert [i["value"] for i in result.attrs[A]] == [1, 2, 3, 4] and A in result.cut


def test_non_numeric_values_and_members_survive(store):
    twin = _twin(store)
    ds = "urn:ngsi-ld:Dataset:x"
    asyncio.run(twin.ingest("", [_reading("on", 1, unitCode="C", datasetId=ds), _reading(2.25, 2)]))
    found = twin.history("", E, HistoryQuery(attrs=(A,), timerel="after", start_ms=0)).attrs[A]
    on = next(i for i in found if i["value"] == "on")
    assert on["unitCode"] == "C" and on["datasetId"] == ds and on["instanceId"]
    assert iso_to_ms(on["observedAt"]) == iso_to_ms(_at(1))


def test_numbers_keep_every_member(store):
    twin = _twin(store)
    sub = "https://example.org/accuracy"
    shapes = [
        {},
        {"unitCode": "CEL"},
        {"unitCode": "CEL", "datasetId": "urn:ngsi-ld:Dataset:b"},
        {"unitCode": "CEL", sub: {"type": "Property", "value": 0.5}},
        {sub: {"type": "Property", "value": 0.5}},
    ]
    asyncio.run(twin.ingest("", [_reading(n + 0.5, n, **extra) for n, extra in enumerate(shapes)]))
    late = (E, A, {"type": "Property", "value": 7, "observedAt": "2026-01-01T02:00:00+01:00"})
    asyncio.run(twin.ingest("", [late]))
    found = twin.history("", E, HistoryQuery(attrs=(A,))).attrs[A]
    system = ("instanceId", "createdAt", "modifiedAt", "observedAt")
    kept = [{k: v for k, v in i.items() if k not in system} for i in found]
    assert kept == [
        {"type": "Property", "value": n + 0.5, **extra} for n, extra in enumerate(shapes)
    ] + [{"type": "Property", "value": 7}]
    assert found[-1]["observedAt"] == "2026-01-01T02:00:00+01:00"  # kept as it was spelled


def test_aggregate_buckets(store):
    twin = _twin(store)
    asyncio.run(twin.ingest("", [_reading(v, v * 20) for v in range(1, 7)]))  # 2 hours
    query = HistoryQuery(
        attrs=(A,),
        timerel="between",
        start_ms=iso_to_ms(_at(0)),
        end_ms=iso_to_ms(_at(180)),
    )
    rows = twin.aggregate("", E, query, 3_600_000)[A][None]  # all methods: from raw rows
    assert [r[2] for r in rows] == [2, 3, 1]  # 20,40 | 60,80,100 | 120
    hourly = HistoryQuery(
        attrs=(A,),
        timerel="between",
        start_ms=iso_to_ms(_at(60)),
        end_ms=iso_to_ms(_at(180)),
        aggr_methods=frozenset({"sum", "min", "max", "totalCount"}),
    )
    rows = twin.aggregate("", E, hourly, 3_600_000)[A][None]
    assert [(r[2], r[5], r[6], r[7]) for r in rows] == [(3, 12, 3, 5), (1, 6, 6, 6)]


def test_retention_downsamples_to_hourly_and_keeps_aggregates(store):
    twin = _twin(store)
    asyncio.run(twin.ingest("", [_reading(v, v * 20) for v in range(1, 7)]))
    query = HistoryQuery(attrs=(A,), aggr_methods=frozenset({"sum", "totalCount"}))
    before = twin.aggregate("", E, query, None)[A][None]
    removed = asyncio.run(twin.apply_retention(0))
    assert removed == 6
    assert _values(twin) == []
    after = twin.aggregate("", E, query, None)[A][None]
    assert [r[2] for r in after] == [r[2] for r in before]
    assert after[0][5] == before[0][5]


def test_deleting_the_entity_deletes_its_history(store):
    twin = _twin(store)
    asyncio.run(twin.ingest("", [_reading(3, 3)]))
    asyncio.run(twin.delete("", E))
    asyncio.run(twin.create("", {"id": E, "type": [T], "attrs": {}}))
    assert _values(twin) == []


def test_history_survives_a_reopen(make_store):
    store = make_store()
    twin = _twin(store)
    asyncio.run(twin.ingest("", [_reading(3, 3)]))
    store.close()
    again = make_store()
    assert 3 in _values(Twin(again))
