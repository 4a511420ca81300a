"""The MQTT consumer (ingest/mqtt.py) against a scripted broker: what a real broker seldom does
on demand — bytes cut anywhere, malformed packets, silence, lost connections, refusals, TLS."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import Future

import orjson
import pytest

from hyperville.ingest import devices as dev
from hyperville.ingest import mqtt
from hyperville.ingest import mqtt_wire as wire
from hyperville.ingest.mqtt import MqttConsumer
from hyperville.ingest.pipeline import Pipeline
from hyperville.ingest.service import Ingestion
from hyperville.store.sqlite import SQLiteStore
from hyperville.twin import Twin

TOPIC = "hyperville/city/devices/d1/up"
COUNT = "https://uri.etsi.org/ngsi-ld/default-context/peopleCount"


class BrokerSide:
    """One accepted connection, read and written by the test: packets as (type, flags, body)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(5)
        self.buffer = b""

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the consumer closed the connection")
            self.buffer += data
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def packet(self, timeout: float = 5) -> tuple[int, int, bytes]:
        self.sock.settimeout(timeout)
        first = self._take(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._take(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        return first >> 4, first & 0x0F, self._take(length)

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.packet(timeout=seconds)
        except TimeoutError:
            return True
        return False

    def handshake(self, session_present: bool = False) -> bytes:
        """CONNECT → CONNACK, SUBSCRIBE → SUBACK; returns the CONNECT body."""
        kind, _, connect = self.packet()
        assert kind == wire.CONNECT
        self.sock.sendall(b"\x20\x03" + bytes((session_present, 0)) + b"\x00")
        kind, flags, subscribe = self.packet()
        assert (kind, flags) == (wire.SUBSCRIBE, 2)
        self.sock.sendall(b"\x90\x04" + subscribe[:2] + b"\x00\x01")
        return connect

    def publish(self, packet_id: int, doc: dict, *, dup: bool = False) -> bytes:
        topic = TOPIC.encode()
        body = len(topic).to_bytes(2, "big") + topic + packet_id.to_bytes(2, "big") + b"\x00"
        body += orjson.dumps(doc)
        return bytes((0x3A if dup else 0x32,)) + wire.encode_varint(len(body)) + body

    def pubacks(self, count: int) -> list[int]:
        out = []
        for _ in range(count):
            kind, _, body = self.packet()
            assert kind == wire.PUBACK and len(body) == 2
            out.append(int.from_bytes(body, "big"))
        return out


class Broker:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.tls = tls

    def accept(self) -> BrokerSide:
        sock, _ = self.listener.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return BrokerSide(sock)


@pytest.fixture
def ingestion(tmp_path):
    store = SQLiteStore(tmp_path / "mqtt.sqlite")
    store.open()
    twin = Twin(store)
    asyncio.run(twin.create("city", {"id": "urn:ngsi-ld:Device:d1", "type": ["urn:T"]}))
    pipeline = Pipeline(twin)
    pipeline.start()
    service = Ingestion(pipeline)
    rules = {"n": dev.FieldRule(COUNT)}
    asyncio.run(
        service.provision([dev.Device("city", "d1", "urn:ngsi-ld:Device:d1", "urn:T", rules)])
    )
    yield service
    pipeline.stop()
    store.close()


@pytest.fixture
def broker():
    server = Broker()
    yield server
    server.listener.close()


@pytest.fixture
def consumer(ingestion, broker):
    made: list[MqttConsumer] = []

    def make(url: str | None = None, **options) -> MqttConsumer:
        client = MqttConsumer(ingestion, url or f"mqtt://127.0.0.1:{broker.port}", **options)
        client.start()
        made.append(client)
        return client

    yield make
    for client in made:
        client.stop(timeout=2)


def counts(ingestion: Ingestion) -> list[int]:
    found = ingestion.store.get_entity("city", "urn:ngsi-ld:Device:d1")["attrs"].get(COUNT, [])
    return [i["value"] for i in found]


def test_bytes_cut_anywhere_and_pubacks_only_after_commit(ingestion, broker, consumer) -> None:
    consumer(client_id="c-1")
    side = broker.accept()
    connect = side.handshake()
    assert connect[:7] == b"\x00\x04MQTT\x05" and connect[7] & 0x02 == 0  # MQTT 5, no clean start
    gate = threading.Event()
    ingestion.store.submit("", lambda tx: gate.wait(10))  # hold the writer
    data = b"".join(side.publish(i, {"n": i, "msgId": i}) for i in (1, 2, 3))
    for n in range(len(data)):  # one byte at a time
        side.sock.sendall(data[n : n + 1])
        time.sleep(0.001)
    assert side.nothing_for(0.3)  # received, not durable: no PUBACK
    gate.set()
    assert side.pubacks(3) == [1, 2, 3]
    assert counts(ingestion) == [3]


def test_a_malformed_packet_ends_the_connection_not_the_consumer(ingestion, broker, consumer):
    client = consumer()
    side = broker.accept()
    side.handshake()
    side.sock.sendall(b"\x36\x05\x00\x01t\x00\x01")  # QoS 3
    assert side.packet() == (wire.DISCONNECT, 0, bytes((wire.MALFORMED,)))
    with pytest.raises(EOFError):
        side.packet()
    side = broker.accept()  # connects again after its back-off
    side.handshake(session_present=True)
    side.sock.sendall(side.publish(9, {"n": 9, "msgId": 9}))
    assert side.pubacks(1) == [9]
    assert client.connections == 2 and counts(ingestion) == [9]


def test_pubacks_of_a_lost_connection_are_not_sent_on_the_next(ingestion, broker, consumer):
    consumer()
    side = broker.accept()
    side.handshake()
    gate = threading.Event()
    ingestion.store.submit("", lambda tx: gate.wait(10))
    side.sock.sendall(side.publish(5, {"n": 5, "msgId": "m5"}))
    time.sleep(0.2)
    side.sock.close()  # the connection is lost before the commit
    side = broker.accept()
    side.handshake(session_present=True)
    gate.set()
    assert side.nothing_for(0.5)  # packet id 5 of the old connection: no PUBACK here
    side.sock.sendall(side.publish(5, {"n": 5, "msgId": "m5"}, dup=True))  # the redelivery
    assert side.pubacks(1) == [5]
    assert counts(ingestion) == [5]
    assert ingestion.metrics.total("duplicates") == 1


def test_data_not_written_means_no_puback_and_a_new_connection(ingestion, broker, consumer):
    consumer()
    side = broker.accept()
    side.handshake()
    store, real_submit = ingestion.store, ingestion.store.submit

    def failing_submit(tenant: str, fn) -> Future:  # the transaction fails (disk full…)
        if tenant != "city":
            return real_submit(tenant, fn)
        del store.submit  # once
        failed: Future = Future()
        failed.set_exception(OSError("disk full"))
        return failed

    store.submit = failing_submit
    side.sock.sendall(side.publish(3, {"n": 3, "msgId": 3}))
    with pytest.raises(EOFError):  # no PUBACK: the connection is dropped
        side.pubacks(1)
    side = broker.accept()
    side.handshake(session_present=True)
    side.sock.sendall(side.publish(3, {"n": 3, "msgId": 3}, dup=True))
    assert side.pubacks(1) == [3]
    assert counts(ingestion) == [3]


def test_keepalive_pings_and_a_silent_broker_is_left(broker, consumer, monkeypatch) -> None:
    monkeypatch.setattr(mqtt, "CONNECT_TIMEOUT_S", 1.0)
    consumer(keepalive_s=1)
    side = broker.accept()
    connect = side.handshake()
    assert connect[8:10] == b"\x00\x01"  # keep alive 1 s
    began = time.monotonic()
    assert side.packet() == (wire.PINGREQ, 0, b"")
    assert 0.5 < time.monotonic() - began < 2
    side.sock.sendall(b"\xd0\x00")
    assert side.packet() == (wire.PINGREQ, 0, b"")  # no PINGRESP this time
    with pytest.raises(EOFError):
        side.packet()
    broker.accept().handshake()  # and it connects again


def test_refused_connection_is_tried_again_with_credentials(broker, consumer) -> None:
    client = consumer("mqtt://ingest:s%40cret@127.0.0.1:" + str(broker.port))
    side = broker.accept()
    kind, _, connect = side.packet()
    assert connect[7] & 0xC0 == 0xC0 and connect.endswith(b"\x00\x06ingest\x00\x06s@cret")
    side.sock.sendall(b"\x20\x03\x00\x86\x00")  # bad user name or password
    with pytest.raises(EOFError):
        side.packet()
    broker.accept().handshake()
    assert client.subscribed.wait(5)


def test_a_refused_topic_leaves_the_others_working(ingestion, broker, consumer) -> None:
    client = consumer(sources=("hyperville", "chirpstack"))
    side = broker.accept()
    assert side.packet()[0] == wire.CONNECT
    side.sock.sendall(b"\x20\x03\x00\x00\x00")
    kind, _, subscribe = side.packet()
    assert (
        b"hyperville/+/devices/+/up" in subscribe
        and b"application/+/device/+/event/up" in subscribe
    )
    side.sock.sendall(b"\x90\x05" + subscribe[:2] + b"\x00\x01\x87")  # ChirpStack: not authorized
    side.sock.sendall(side.publish(4, {"n": 4, "msgId": 4}))
    assert side.pubacks(1) == [4]
    assert not client.subscribed.is_set() and client.connections == 1


def test_stop_acknowledges_what_it_took_then_disconnects(ingestion, broker, consumer) -> None:
    client = consumer()
    side = broker.accept()
    side.handshake()
    gate = threading.Event()
    ingestion.store.submit("", lambda tx: gate.wait(10))
    side.sock.sendall(side.publish(1, {"n": 1, "msgId": 1}))
    time.sleep(0.2)
    stopping = threading.Thread(target=client.stop)
    stopping.start()
    time.sleep(0.2)
    side.sock.sendall(side.publish(2, {"n": 2, "msgId": 2}))  # not read any more
    gate.set()
    assert side.pubacks(1) == [1]
    assert side.packet() == (wire.DISCONNECT, 0, b"")  # normal: the session is kept
    stopping.join(5)
    assert not client.subscribed.is_set() and counts(ingestion) == [1]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is missing")
def test_mqtts(ingestion, consumer, tmp_path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    broker = Broker(tls=server)
    trusted = ssl.create_default_context(cafile=str(cert))
    consumer(f"mqtts://127.0.0.1:{broker.port}", tls_context=trusted)
    side = broker.accept()
    side.handshake()
    side.sock.sendall(b"".join(side.publish(i, {"n": i, "msgId": i}) for i in range(1, 201)))
    assert side.pubacks(200) == list(range(1, 201))
    assert counts(ingestion) == [200]
    broker.listener.close()
