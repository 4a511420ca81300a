"""Notifications published by a real ``hyperville serve`` to the real Mosquitto on
127.0.0.1:1883, received by a paho subscriber."""

from __future__ import annotations

import asyncio
import itertools
import json
import queue
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from paho.mqtt import client as paho

from hyperville.subscriptions.mqtt_publish import MqttPublisher
from hyperville.subscriptions.mqtt_target import parse_target
from hyperville.testing import free_port, live_server, port_open, require_component

BROKER = ("127.0.0.1", 1883)
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_numbers = itertools.count()


@dataclass
class Message:
    topic: str
    qos: int
    payload: dict


@dataclass
class Listener:
    """A paho subscriber of one fresh topic on the test broker."""

    topic: str
    client: paho.Client
    got: queue.Queue = field(default_factory=queue.Queue)

    def uri(self, **parts: str) -> str:
        credentials = parts.get("credentials", "")
        return f"mqtt://{credentials}{BROKER[0]}:{BROKER[1]}/{self.topic}"

    def next(self, timeout_s: float = 5.0) -> Message:
        return self.got.get(timeout=timeout_s)


@pytest.fixture
def listener() -> Iterator[Listener]:
    require_component(port_open(*BROKER), f"Mosquitto is not running on {BROKER[0]}:{BROKER[1]}")
    topic = f"hyperville-tests/{uuid.uuid4().hex}/notify"
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    found = Listener(topic, client)
    subscribed = queue.Queue()
    client.on_message = lambda c, u, m: found.got.put(
        Message(m.topic, m.qos, json.loads(m.payload))
    )
    client.on_subscribe = lambda c, u, mid, codes, props: subscribed.put(codes)
    client.connect(*BROKER)
    client.loop_start()
    client.subscribe(topic, qos=2)
    subscribed.get(timeout=5)
    yield found
    client.disconnect()
    client.loop_stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("mqtt-notifications") / "twin.sqlite"
    with live_server(db, env={"HYPERVILLE_NOTIFICATION_TIMEOUT_S": "2"}) as running:
        yield running


def _entity(free: int = 10) -> dict:
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:m{next(_numbers)}",
        "type": "OffStreetParking",
        "free": {"type": "Property", "value": free},
    }


def _subscribe(server, uri: str, headers: dict | None = None, **endpoint) -> httpx.Response:
    body = {
        "type": "Subscription",
        "entities": [{"type": "OffStreetParking"}],
        "notification": {"endpoint": {"uri": uri, **endpoint}},
    }
    return httpx.post(f"{server.ngsi_ld}/subscriptions", json=body, headers=headers)


def _subscribed(server, uri: str, headers: dict | None = None, **endpoint) -> str:
    created = _subscribe(server, uri, headers, **endpoint)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def _create(server, entity: dict, headers: dict | None = None) -> None:
    response = httpx.post(f"{server.ngsi_ld}/entities", json=entity, headers=headers)
    assert response.status_code == 201, response.text


def _shown(server, sub_id: str, headers: dict | None = None) -> dict:
    return httpx.get(f"{server.ngsi_ld}/subscriptions/{sub_id}", headers=headers).json()


def _counters(server, sub_id: str, until, timeout_s: float = 8.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = _shown(server, sub_id)["notification"]
        if until(shown) or time.monotonic() > deadline:
            return shown
        time.sleep(0.1)


def _unsubscribe(server, *sub_ids: str, headers: dict | None = None) -> None:
    for sub_id in sub_ids:
        httpx.delete(f"{server.ngsi_ld}/subscriptions/{sub_id}", headers=headers)


def test_a_change_is_published_with_its_metadata_and_body(server, listener):
    info = [{"key": "MQTT-QoS", "value": "1"}, {"key": "MQTT-Version", "value": "mqtt3.1.1"}]
    receiver = [{"key": "X-Origin", "value": "hyperville-tests"}]
    sub_id = _subscribed(server, listener.uri(), notifierInfo=info, receiverInfo=receiver)
    entity = _entity()
    _create(server, entity)
    message = listener.next()
    assert message.topic == listener.topic and message.qos == 1
    metadata, body = message.payload["metadata"], message.payload["body"]
    assert metadata["Content-Type"] == "application/json"
    assert metadata["Link"].startswith(f"<{CORE}>")
    assert metadata["X-Origin"] == "hyperville-tests"
    assert "NGSILD-Tenant" not in metadata
    assert body["type"] == "Notification" and body["subscriptionId"] == sub_id
    assert body["data"][0]["id"] == entity["id"]
    assert body["data"][0]["free"] == {"type": "Property", "value": 10}
    shown = _counters(server, sub_id, lambda n: n.get("timesSent") == 1)
    assert shown["status"] == "ok" and shown["timesSent"] == 1
    assert shown["lastSuccess"] == shown["lastNotification"]
    _unsubscribe(server, sub_id)


def test_mqtt5_qos2_and_ld_json_are_published(server, listener):
    info = [{"key": "MQTT-QoS", "value": "2"}, {"key": "MQTT-Version", "value": "mqtt5.0"}]
    sub_id = _subscribed(server, listener.uri(), notifierInfo=info, accept="application/ld+json")
    entity = _entity(free=3)
    _create(server, entity)
    message = listener.next()
    assert message.qos == 2
    assert message.payload["metadata"] == {"Content-Type": "application/ld+json"}
    body = message.payload["body"]
    assert body["@context"] == CORE and body["data"][0]["free"]["value"] == 3
    _unsubscribe(server, sub_id)


def test_one_connection_serves_many_notifications(server, listener):
    sub_id = _subscribed(server, listener.uri(), notifierInfo=[{"key": "MQTT-QoS", "value": "1"}])
    entities = [_entity(free=n) for n in range(5)]
    for entity in entities:
        _create(server, entity)
    seen = set()
    while len(seen) < len(entities):
        seen |= {item["id"] for item in listener.next().payload["body"]["data"]}
    assert seen == {e["id"] for e in entities}
    shown = _counters(server, sub_id, lambda n: n.get("timesSent", 0) >= 1)
    assert shown["status"] == "ok" and "timesFailed" not in shown
    _unsubscribe(server, sub_id)


def test_a_tenant_is_in_the_metadata(server, listener):
    tenant = {"NGSILD-Tenant": "mqtt" + uuid.uuid4().hex[:8]}
    sub_id = _subscribed(server, listener.uri(), headers=tenant)
    _create(server, _entity(), headers=tenant)
    message = listener.next()
    assert message.payload["metadata"]["NGSILD-Tenant"] == tenant["NGSILD-Tenant"]
    _unsubscribe(server, sub_id, headers=tenant)


def test_credentials_are_used_and_never_shown(server, listener):
    uri = listener.uri(credentials="notifier:s3cret-pw@")
    sub_id = _subscribed(server, uri)  # the test broker takes any credentials
    _create(server, _entity())
    assert listener.next().payload["body"]["subscriptionId"] == sub_id
    endpoint = _shown(server, sub_id)["notification"]["endpoint"]
    assert endpoint["uri"] == listener.uri(credentials="notifier:***@")
    listed = httpx.get(f"{server.ngsi_ld}/subscriptions").text
    assert "s3cret-pw" not in listed
    # a PATCH that sends the endpoint back as shown keeps the password
    patch = {"notification": {"endpoint": {"uri": endpoint["uri"]}, "format": "keyValues"}}
    answer = httpx.patch(f"{server.ngsi_ld}/subscriptions/{sub_id}", json=patch)
    assert answer.status_code == 204, answer.text
    _create(server, _entity(free=4))
    assert listener.next().payload["body"]["data"][0]["free"] == 4
    _unsubscribe(server, sub_id)
    assert "s3cret-pw" not in server.log()


@pytest.mark.parametrize(
    ("uri", "info", "message"),
    [
        ("mqtt://127.0.0.1:1883", None, "names no topic"),
        ("mqtt://127.0.0.1/", None, "names no topic"),
        ("mqtt://127.0.0.1/city/#", None, "cannot hold '?' or '#'"),
        ("mqtt://127.0.0.1/city/+/free", None, "wildcard '+'"),
        ("mqtt://127.0.0.1:70000/t", None, "invalid port"),
        ("mqtt:///t", None, "names no MQTT broker host"),
        ("mqtt://127.0.0.1/t", [{"key": "MQTT-QoS", "value": "3"}], "MQTT-QoS must be 0, 1 or 2"),
        ("mqtt://127.0.0.1/t", [{"key": "MQTT-QoS", "value": 1}], "notifierInfo item"),
        (
            "mqtt://127.0.0.1/t",
            [{"key": "MQTT-Version", "value": "mqtt3.1"}],
            "MQTT-Version must be mqtt3.1.1 or mqtt5.0",
        ),
    ],
)
def test_bad_mqtt_endpoints_are_refused(server, uri, info, message):
    endpoint = {"notifierInfo": info} if info is not None else {}
    answer = _subscribe(server, uri, **endpoint)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert message in answer.json()["detail"]


def test_a_bad_uri_never_echoes_the_password(server):
    answer = _subscribe(server, "mqtt://user:hunter2@127.0.0.1:1883")
    assert answer.status_code == 400
    assert "hunter2" not in answer.text and "user:***@" in answer.json()["detail"]


def test_an_unreachable_broker_is_a_recorded_failure(server, listener):
    dead = f"mqtt://127.0.0.1:{free_port()}/{listener.topic}"
    sub_id = _subscribed(server, dead, notifierInfo=[{"key": "MQTT-QoS", "value": "1"}])
    started = time.monotonic()
    _create(server, _entity())  # the write is answered whatever the delivery does
    assert time.monotonic() - started < 1.0
    shown = _counters(server, sub_id, lambda n: n.get("status") == "failed")
    assert shown["status"] == "failed" and shown["timesFailed"] >= 1
    assert shown["lastFailure"] == shown["lastNotification"]
    assert httpx.get(f"{server.url}/health").status_code == 200
    _unsubscribe(server, sub_id)


def test_allowed_hosts_apply_to_mqtt_brokers(tmp_path):
    env = {"HYPERVILLE_NOTIFICATION_ALLOWED_HOSTS": "10.20.0.0/16"}
    with live_server(tmp_path / "twin.sqlite", env=env) as running:
        answer = _subscribe(running, "mqtt://127.0.0.1:1883/city")
        assert answer.status_code == 400
        assert "not in notification_allowed_hosts" in answer.json()["detail"]
        assert _subscribe(running, "mqtt://10.20.1.2/city").status_code == 201


# -- the publisher itself, against real brokers -------------------------------------------------


def _private_broker(port: int) -> subprocess.Popen:
    """A Mosquitto of the test's own on ``port`` (loopback only without a config file)."""
    process = subprocess.Popen(
        [shutil.which("mosquitto") or "mosquitto", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not port_open("127.0.0.1", port):
        assert time.monotonic() < deadline and process.poll() is None, "mosquitto did not start"
        time.sleep(0.05)
    return process


def test_the_publisher_keeps_one_connection_per_broker(listener):
    async def scenario() -> tuple[list, int, int]:
        publisher = MqttPublisher(timeout_s=2.0)
        target = parse_target(listener.uri(), [{"key": "MQTT-QoS", "value": "1"}])
        v311 = [{"key": "MQTT-Version", "value": "mqtt3.1.1"}]
        other_version = parse_target(listener.uri(), v311)
        results = [await publisher.publish(target, b'{"n": %d}' % n) for n in range(20)]
        one = publisher.connections
        results.append(await publisher.publish(other_version, b'{"n": 20}'))
        two = publisher.connections
        await publisher.close()
        return results, one, two

    results, one, two = asyncio.run(scenario())
    assert results == [None] * 21
    assert (one, two) == (1, 2)
    assert sorted(listener.next().payload["n"] for _ in range(21)) == list(range(21))


def test_the_publisher_reconnects_after_the_broker_restarts(listener):
    require_component(shutil.which("mosquitto") is not None, "no mosquitto binary")
    port = free_port()

    async def scenario() -> list:
        publisher = MqttPublisher(timeout_s=1.5)
        target = parse_target(f"mqtt://127.0.0.1:{port}/t", [{"key": "MQTT-QoS", "value": "1"}])
        outcomes = []
        broker = _private_broker(port)
        outcomes.append(await publisher.publish(target, b"{}"))
        broker.terminate()
        broker.wait(5)
        started = time.monotonic()
        outcomes.append(await publisher.publish(target, b"{}"))
        outcomes.append(time.monotonic() - started)
        broker = _private_broker(port)
        try:
            outcomes.append(await publisher.publish(target, b"{}"))
        finally:
            broker.terminate()
            broker.wait(5)
        await publisher.close()
        return outcomes

    ok, failed, waited_s, again = asyncio.run(scenario())
    assert ok is None and again is None
    assert failed is not None and f"127.0.0.1:{port}" in failed
    assert waited_s < 2.5  # bounded by timeout_s (1.5 s), not by paho's reconnect delays


def test_csource_subscriptions_notify_over_mqtt_too(server, listener):
    """A context source subscription's notifications take the same MQTT path."""
    body = {
        "type": "Subscription",
        "entities": [{"type": "Streetlight"}],
        "notification": {
            "endpoint": {"uri": listener.uri(), "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]}
        },
    }
    created = httpx.post(f"{server.ngsi_ld}/csourceSubscriptions", json=body)
    assert created.status_code == 201, created.text
    sub_url = f"{server.url}{created.headers['Location']}"
    registration = {
        "id": f"urn:ngsi-ld:ContextSourceRegistration:mqtt{next(_numbers)}",
        "type": "ContextSourceRegistration",
        "information": [{"entities": [{"type": "Streetlight"}]}],
        "endpoint": "http://lighting.example:1026",
    }
    assert httpx.post(f"{server.ngsi_ld}/csourceRegistrations", json=registration).is_success
    message = listener.next()
    assert message.qos == 1
    notification = message.payload["body"]
    assert notification["type"] == "ContextSourceNotification"
    assert notification["triggerReason"] == "newlyMatching"
    assert [r["id"] for r in notification["data"]] == [registration["id"]]
    assert message.payload["metadata"]["Content-Type"].startswith("application/json")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the counters are written after the delivery
        status = httpx.get(sub_url).json()["notification"]
        if status.get("timesSent"):
            break
        time.sleep(0.05)
    assert status["timesSent"] == 1 and status["status"] == "ok", status
    httpx.delete(f"{server.ngsi_ld}/csourceRegistrations/{registration['id']}")
    httpx.delete(sub_url)
