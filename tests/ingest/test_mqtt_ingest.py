"""MQTT ingestion against the real Mosquitto (127.0.0.1:1883): PUBACK after COMMIT."""

from __future__ import annotations

import threading
import time

import orjson
import paho.mqtt.client as paho
import pytest
from conftest import entity, make_client, provision

from hyperville.ingest import mqtt_wire
from hyperville.ingest.mqtt import RECEIVE_MAXIMUM

pytestmark = pytest.mark.usefixtures("need_broker")


@pytest.fixture
def app(tmp_path, monkeypatch):
    with make_client(tmp_path, monkeypatch, mqtt_url="mqtt://127.0.0.1:1883") as client:
        assert client.app.state.mqtt.subscribed.wait(10), "no SUBACK from the broker"
        yield client


@pytest.fixture
def publisher():
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def publish(publisher, topic: str, payload) -> None:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    publisher.publish(topic, data, qos=1).wait_for_publish(10)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_readings_reach_the_twin_and_are_acked_after_commit(
    app, publisher, tenant, monkeypatch
) -> None:
    provision(app, tenant)
    store = app.app.state.twin.store
    acks: list[tuple[list[int], bool]] = []
    real_pubacks = mqtt_wire.puback_packets

    def checking_pubacks(packet_ids: list[int]) -> bytes:  # what goes on the wire
        row = store.get_entity(tenant, "urn:ngsi-ld:Device:th-1")  # another connection
        acks.append((packet_ids, row is not None and "attrs" in row and bool(row["attrs"])))
        return real_pubacks(packet_ids)

    monkeypatch.setattr(mqtt_wire, "puback_packets", checking_pubacks)
    gate = threading.Event()
    store.submit("", lambda tx: gate.wait(10))  # hold the writer
    publish(publisher, f"hyperville/{tenant}/devices/th-1/up", {"temp": 19.0, "msgId": "1"})
    time.sleep(0.5)
    assert acks == []  # received, not durable: no PUBACK yet
    gate.set()
    wait_for(lambda: acks)
    assert acks[0][1] is True  # the data was committed when the PUBACK went out
    assert entity(app, tenant)["temperature"]["value"] == 19.0


def test_duplicates_and_malformed_payloads(app, publisher, tenant) -> None:
    provision(app, tenant)
    topic = f"hyperville/{tenant}/devices/th-1/up"
    metrics = app.app.state.ingestion.metrics
    publish(publisher, topic, {"count": 1, "msgId": "same"})
    publish(publisher, topic, {"count": 2, "msgId": "same"})  # a redelivery
    publish(publisher, topic, b"{broken json")
    publish(publisher, topic, {"count": "many"})
    publish(publisher, f"hyperville/{tenant}/devices/ghost/up", {"count": 3})
    wait_for(lambda: metrics.total("dead_lettered") >= 3 and metrics.total("duplicates") >= 1)
    assert entity(app, tenant)["peopleCount"]["value"] == 1
    letters = [d for d in app.get("/api/v1/deadletters").json() if d["tenant"] == tenant]
    reasons = " | ".join(d["reason"] for d in letters)
    assert "not valid JSON" in reasons and "a number is expected" in reasons
    assert "not provisioned" in reasons
    assert all(d["topic"].startswith(f"hyperville/{tenant}/") for d in letters)


def test_a_burst_is_all_written_once(app, publisher, tenant) -> None:
    provision(app, tenant)
    topic = f"hyperville/{tenant}/devices/th-1/up"
    metrics = app.app.state.ingestion.metrics
    infos = [
        publisher.publish(topic, orjson.dumps({"count": i, "msgId": i}), qos=1) for i in range(300)
    ]
    for info in infos:
        info.wait_for_publish(10)
    wait_for(lambda: metrics.total("accepted") >= 300)
    assert metrics.total("points") == 300 and metrics.total("duplicates") == 0
    history = app.app.state.twin.store._reader().execute("SELECT count(*) FROM ingest_seen")
    assert history.fetchone()[0] >= 300


def test_the_broker_keeps_what_is_beyond_the_receive_window(app, publisher, tenant) -> None:
    provision(app, tenant)
    metrics = app.app.state.ingestion.metrics
    gate = threading.Event()
    app.app.state.twin.store.submit("", lambda tx: gate.wait(30))  # the writer is behind
    topic = f"hyperville/{tenant}/devices/th-1/up"
    count = RECEIVE_MAXIMUM + 200
    infos = [
        publisher.publish(topic, orjson.dumps({"count": i, "msgId": i}), qos=1)
        for i in range(count)
    ]
    for info in infos:
        info.wait_for_publish(10)
    time.sleep(0.5)
    assert metrics.total("received") <= RECEIVE_MAXIMUM  # none acknowledged: none more sent
    gate.set()
    wait_for(lambda: metrics.total("accepted") >= count, timeout=30)
    assert metrics.total("duplicates") == 0
