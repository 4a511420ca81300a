"""What the twin records in history when entities are written through the NGSI-LD operations:
what changed, once; an instance written again with the same data is no new observation."""

from __future__ import annotations

import asyncio
import time

import pytest

from hyperville import twin_ops as ops
from hyperville.store.base import HistoryQuery
from hyperville.twin import Twin

T = "https://example.org/Sensor"
A, B = "https://example.org/temperature", "https://example.org/status"
E = "urn:ngsi-ld:Sensor:1"


def _sensor(temperature, status="ok", observed="2026-01-01T00:00:00Z") -> dict:
    return {
        "id": E,
        "type": [T],
        "attrs": {
            A: [{"type": "Property", "value": temperature, "observedAt": observed}],
            B: [{"type": "Property", "value": status}],
        },
    }


def _history(twin: Twin, attr: str, **query) -> list:
    return [i["value"] for i in twin.history("", E, HistoryQuery(**query)).attrs.get(attr, [])]


@pytest.fixture
def twin(store) -> Twin:
    twin = Twin(store)
    asyncio.run(twin.create("", _sensor(20)))
    return twin


def _upsert(twin: Twin, entity: dict, **options) -> None:
    time.sleep(0.002)  # an instance without observedAt is kept under its write time, in ms
    result = asyncio.run(twin.batch("", "upsert", [entity], **options))
    assert not result.errors


def test_an_identical_upsert_records_nothing_new(twin):
    _upsert(twin, _sensor(20))
    _upsert(twin, _sensor(20), options=frozenset({"update"}))
    asyncio.run(twin.replace("", _sensor(20)))
    assert _history(twin, A) == [20]
    assert _history(twin, B) == ["ok"]
    assert twin.get("", E)["attrs"][A][0]["value"] == 20


def test_a_changed_value_or_observation_time_is_recorded(twin):
    _upsert(twin, _sensor(21, observed="2026-01-01T00:05:00Z"))
    _upsert(twin, _sensor(21, observed="2026-01-01T00:10:00Z"))  # same value, observed again
    _upsert(twin, _sensor(21, status="lidOpen", observed="2026-01-01T00:10:00Z"))
    assert _history(twin, A) == [20, 21, 21]
    assert _history(twin, B) == ["ok", "lidOpen"]


def test_a_json_type_change_is_a_change(twin):
    _upsert(twin, _sensor(20, status=1))
    _upsert(twin, _sensor(20, status=True))  # 1 == True in Python, not in JSON
    assert _history(twin, B) == ["ok", 1, True]
    assert type(_history(twin, B)[-1]) is bool


def test_a_partial_update_with_the_same_value_records_nothing(twin):
    def same(entity: dict, now: str) -> None:
        ops.partial_update_attr(entity, B, [{"type": "Property", "value": "ok"}], now)

    def other(entity: dict, now: str) -> None:
        ops.partial_update_attr(entity, B, [{"type": "Property", "value": "full"}], now)

    asyncio.run(twin.modify("", E, same))
    time.sleep(0.002)
    asyncio.run(twin.modify("", E, other))
    assert _history(twin, B) == ["ok", "full"]
    assert twin.get("", E)["attrs"][B][0]["modifiedAt"] > twin.get("", E)["createdAt"]


def test_deleted_attributes_are_still_recorded(twin):
    asyncio.run(twin.modify("", E, lambda entity, now: ops.delete_attr(entity, B, now)))
    deleted = twin.history("", E, HistoryQuery(timeproperty="deletedAt")).attrs
    assert [i["type"] for i in deleted[B]] == ["Property"]
    assert _history(twin, A) == [20]


def test_every_reading_is_recorded_even_with_the_same_value(twin):
    reading = {"type": "Property", "value": 20, "observedAt": "2026-01-01T00:05:00Z"}
    later = dict(reading, observedAt="2026-01-01T00:06:00Z")
    asyncio.run(twin.ingest("", [(E, A, reading), (E, A, later)]))
    assert _history(twin, A) == [20, 20, 20]
