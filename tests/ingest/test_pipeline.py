"""The pipeline over a real SQLite store: one transaction per batch, dedup, dead letters."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hyperville.core.errors import TooManyRequests
from hyperville.ingest.pipeline import Message, Pipeline
from hyperville.store import sqlite_devices as sql
from hyperville.store.sqlite import SQLiteStore
from hyperville.twin import Twin

ATTR = "https://uri.etsi.org/ngsi-ld/default-context/count"


@pytest.fixture
def pipeline(tmp_path):
    store = SQLiteStore(tmp_path / "p.sqlite")
    store.open()
    twin = Twin(store)
    asyncio.run(twin.create("city", {"id": "urn:e:1", "type": ["urn:T"], "attrs": {}}))
    pipe = Pipeline(twin, queue_max=50, batch_max=20)
    pipe.start()
    yield pipe
    pipe.stop()
    store.close()


def reading(value: int, when: str = "2026-01-01T00:00:00.000Z", entity: str = "urn:e:1"):
    return (entity, ATTR, {"type": "Property", "value": value, "observedAt": when})


def message(value: int, key: str | None = None, **kw) -> Message:
    seen = sql.seen_key("city", "d", key) if key else None
    return Message("test", "city", "d", [reading(value, **kw)], seen)


def current(pipe: Pipeline) -> int:
    return pipe.store.get_entity("city", "urn:e:1")["attrs"][ATTR][0]["value"]


def test_batches_are_committed_before_the_future_resolves(pipeline) -> None:
    commits = pipeline.store.commits
    outcomes = pipeline.ingest_sync([message(i, f"k{i}") for i in range(40)])
    assert [o.status for o in outcomes] == ["accepted"] * 40
    assert current(pipeline) == 39  # same observedAt: the last one wins
    assert pipeline.store.commits > commits
    assert pipeline.metrics.snapshot()["points"] == 40


def test_keys_make_redelivery_harmless_even_in_one_batch(pipeline) -> None:
    outcomes = pipeline.ingest_sync([message(1, "a"), message(2, "a"), message(3, "b")])
    assert [o.status for o in outcomes] == ["accepted", "duplicate", "accepted"]
    assert pipeline.ingest_sync([message(9, "a")])[0].status == "duplicate"


def test_unknown_entity_and_invalid_messages_become_dead_letters(pipeline) -> None:
    missing = Message("test", "city", "d", [reading(1, entity="urn:e:gone")], b"k" * 16)
    bad = Message("test", "city", "d", reason="field 'x': a number is expected", payload=b"{}")
    outcomes = pipeline.ingest_sync([missing, bad, message(5, "ok")])
    assert [o.status for o in outcomes] == ["dead_letter", "dead_letter", "accepted"]
    letters = sql.list_dead_letters(pipeline.store._reader())
    reasons = sorted(letter.reason for letter in letters)
    assert "urn:e:gone" in reasons[0] and reasons[1] == "field 'x': a number is expected"
    # the key of the dead-lettered message was released: a later replay is not a duplicate
    assert (
        not pipeline.store._reader()
        .execute("SELECT 1 FROM ingest_seen WHERE key=?", (b"k" * 16,))
        .fetchone()
    )


def test_back_pressure_refuses_or_waits(pipeline) -> None:
    gate = threading.Event()
    pipeline.store.submit("", lambda tx: gate.wait(10))
    first = pipeline.offer([message(i) for i in range(50)])
    with pytest.raises(TooManyRequests):
        pipeline.offer([message(99)])
    waited: list = []
    blocked = threading.Thread(target=lambda: waited.append(pipeline.ingest_sync([message(7)])))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive() and not first.done()  # held, nothing acknowledged
    gate.set()
    blocked.join(10)
    assert first.result(10) and waited[0][0].status == "accepted"
    assert pipeline.metrics.snapshot()["queue_depth"] == 0


def test_late_reading_keeps_the_current_state(pipeline) -> None:
    pipeline.ingest_sync([message(10, when="2026-01-02T00:00:00.000Z")])
    pipeline.ingest_sync([message(3, when="2026-01-01T00:00:00.000Z")])
    assert current(pipeline) == 10


def test_prometheus_text(pipeline) -> None:
    pipeline.ingest_sync([message(1, "x"), message(1, "x")])
    text = pipeline.metrics.prometheus()
    assert 'hyperville_ingest_accepted_total{source="test"} 1' in text
    assert 'hyperville_ingest_duplicates_total{source="test"} 1' in text
    assert "hyperville_ingest_queue_depth 0" in text
