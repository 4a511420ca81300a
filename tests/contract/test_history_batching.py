"""History rows are written once per write batch: the functions of one batch still see, keep
and lose exactly what they would if each wrote its rows at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hyperville.store.base import HistoryQuery
from hyperville.twin import Twin

T = "https://example.org/Sensor"
A = "https://example.org/temperature"


def _instance(value, minute: int) -> dict:
    at = f"2026-01-01T00:{minute:02d}:00Z"
    return {"type": "Property", "value": value, "observedAt": at, "modifiedAt": at}


def _append(entity_id: str, value, minute: int):
    def run(tx):
        tx.get(entity_id)
        tx.append_history(entity_id, A, [_instance(value, minute)])

    return run


def _one_batch(store, *fns) -> list:
    """Run ``fns`` in one write batch (queued while the writer is held); their futures."""
    release = threading.Event()
    held = store.submit("", lambda tx: release.wait(10))
    futures = [store.submit("", fn) for fn in fns]
    release.set()
    held.result(10)
    for future in futures:
        future.exception(10)
    return futures


def _values(store, entity_id: str) -> list:
    return [i["value"] for i in store.history("", entity_id, HistoryQuery()).attrs.get(A, [])]


@pytest.fixture
def twin(store) -> Twin:
    twin = Twin(store)
    for n in (1, 2):
        asyncio.run(twin.create("", {"id": f"urn:ngsi-ld:Sensor:{n}", "type": [T], "attrs": {}}))
    return twin


def test_a_failed_function_does_not_lose_the_rows_it_flushed(store, twin):
    def flush_then_fail(tx):
        tx.delete_history("urn:ngsi-ld:Sensor:2", A)  # writes the batch's queued rows first
        raise RuntimeError("boom")

    futures = _one_batch(
        store,
        _append("urn:ngsi-ld:Sensor:1", 1, 1),
        flush_then_fail,
        _append("urn:ngsi-ld:Sensor:1", 2, 2),
    )
    assert isinstance(futures[1].exception(), RuntimeError)
    assert _values(store, "urn:ngsi-ld:Sensor:1") == [1, 2]
    counts = twin.aggregate(
        "", "urn:ngsi-ld:Sensor:1", HistoryQuery(aggr_methods=frozenset({"sum"})), None
    )
    assert counts[A][None][0][2:4] == (2, 2)  # two instances, both numeric


def test_deleting_an_entity_drops_the_history_queued_in_the_batch(store, twin):
    def delete(tx):
        assert tx.delete("urn:ngsi-ld:Sensor:1")

    _one_batch(store, _append("urn:ngsi-ld:Sensor:1", 1, 1), delete)
    asyncio.run(twin.create("", {"id": "urn:ngsi-ld:Sensor:1", "type": [T], "attrs": {}}))
    assert _values(store, "urn:ngsi-ld:Sensor:1") == []


def test_the_last_write_of_a_key_in_a_batch_wins(store, twin):
    _one_batch(
        store,
        _append("urn:ngsi-ld:Sensor:2", 1, 3),
        _append("urn:ngsi-ld:Sensor:2", 5, 3),
        _append("urn:ngsi-ld:Sensor:2", 7, 4),
    )
    assert _values(store, "urn:ngsi-ld:Sensor:2") == [5, 7]
    _one_batch(store, _append("urn:ngsi-ld:Sensor:2", 9, 3), _append("urn:ngsi-ld:Sensor:2", 7, 4))
    assert _values(store, "urn:ngsi-ld:Sensor:2") == [9, 7]
    buckets = twin.aggregate(
        "",
        "urn:ngsi-ld:Sensor:2",
        HistoryQuery(aggr_methods=frozenset({"sum", "min", "max"})),
        None,
    )
    start, end, n, k, _distinct, total, lo, hi, _sq = buckets[A][None][0]
    assert (n, k, total, lo, hi) == (2, 2, 16, 7, 9)
