"""Notifications published to MQTT brokers (CIM 009 v1.8, MQTT binding of notifications).

The message is ``{"metadata": {the headers an HTTP notification carries: Content-Type,
Link, NGSILD-Tenant, receiverInfo}, "body": the notification}``, with MQTT 3.1.1 and 5.0
alike, at the endpoint's QoS (0, 1 or 2).

:class:`MqttPublisher` keeps one connection per broker (TLS or not, host, port, credentials,
protocol version), shared by every subscription that names it, with paho-mqtt's network
thread behind it; paho reconnects a dropped connection by itself. A publication waits at
most ``timeout_s`` seconds on the event loop (for the connection, then for the broker's
PUBACK / PUBCOMP, or for the socket at QoS 0), never in a thread. A connection that fails
(refused, no answer in time) is closed and forgotten: the next notification opens a new
one. Connections idle for ``IDLE_S`` seconds are closed, at most ``BROKERS_MAX`` are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid

import orjson
from paho.mqtt import client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hyperville.subscriptions.mqtt_target import MqttTarget, parse_target

log = logging.getLogger(__name__)
KEEPALIVE_S = 60
IDLE_S = 300.0
BROKERS_MAX = 64
_CLOSED = "the connection was closed"


def message_of(body: bytes, headers: dict[str, str]) -> bytes:
    """The MQTT payload of an HTTP-style notification (``body`` is its JSON)."""
    return b'{"metadata":' + orjson.dumps(headers) + b',"body":' + body + b"}"


class _Broker:
    """One connection to a broker; paho's callbacks run on its network thread and only hand
    results over to the event loop."""

    def __init__(self, target: MqttTarget, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.where = f"{target.host}:{target.port}"
        self.ready = asyncio.Event()  # set on CONNACK, on a refusal and when closed
        self.problem: str | None = None  # why the connection cannot be used (with ready set)
        self.last_used = time.monotonic()
        self._lock = threading.Lock()
        self._waiting: dict[int, asyncio.Future] = {}
        self._published: set[int] = set()  # acknowledged before anyone waited for them
        v5 = target.version == "mqtt5.0"
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"hyperville-{uuid.uuid4().hex[:12]}",
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        self.properties = None
        if v5:
            self.properties = Properties(PacketTypes.PUBLISH)
            self.properties.PayloadFormatIndicator = 1  # UTF-8
            self.properties.ContentType = "application/json"
        if target.username is not None:
            self.client.username_pw_set(target.username, target.password)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(1, 30)
        self.target = target
        self._life = threading.Lock()  # start and stop, in worker threads, one after the other
        self._stopped = False

    def start(self) -> None:
        """Blocking (loading the certificate authorities takes about 20 ms of CPU): connect in
        paho's network thread."""
        with self._life:
            if self._stopped:
                return
            try:
                if self.target.tls:
                    self.client.tls_set()  # the system's certificate authorities
                self.client.connect_async(self.target.host, self.target.port, KEEPALIVE_S)
                self.client.loop_start()
            except Exception as exc:  # noqa: BLE001 - reported as this connection's problem
                self._to_loop(self._connected, f"cannot connect: {exc}")

    # -- paho's network thread ------------------------------------------------------------------
    def _to_loop(self, callback, *args) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.loop.call_soon_threadsafe(callback, *args)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        refused = f"the broker refused the connection: {reason_code}"
        self._to_loop(self._connected, refused if reason_code.is_failure else None)

    def _on_connect_fail(self, client, userdata) -> None:
        self._to_loop(self._connected, "the connection failed")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._to_loop(self.ready.clear)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            future = self._waiting.pop(mid, None)
            if future is None:
                self._published.add(mid)
                return
        refused = reason_code.is_failure if reason_code is not None else False
        self._to_loop(_settle, future, f"the broker refused it: {reason_code}" if refused else None)

    # -- the event loop -------------------------------------------------------------------------
    def _connected(self, problem: str | None) -> None:
        if self.problem != _CLOSED:
            self.problem = problem
        self.ready.set()

    def acknowledged(self, mid: int) -> asyncio.Future:
        """A future settled (None or why it failed) when message ``mid`` has gone out."""
        future = self.loop.create_future()
        with self._lock:
            if mid in self._published:
                self._published.discard(mid)
                future.set_result(None)
            else:
                self._waiting[mid] = future
        return future

    def close(self) -> None:
        """Forget the waiters and stop the connection (paho's thread is joined elsewhere)."""
        self.problem = _CLOSED
        self.ready.set()
        with self._lock:
            waiting, self._waiting = list(self._waiting.values()), {}
        for future in waiting:
            _settle(future, _CLOSED)

    def stop(self) -> None:
        """Blocking: disconnect and join paho's network thread."""
        with self._life:
            self._stopped = True
            with contextlib.suppress(Exception):
                self.client.disconnect()
            self.client.loop_stop()


def _settle(future: asyncio.Future, problem: str | None) -> None:
    if not future.done():
        future.set_result(problem)


class MqttPublisher:
    """Publishes notifications over connections kept per broker."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._brokers: dict[tuple, _Broker] = {}
        self._background: set[asyncio.Task] = set()  # connections starting and stopping

    async def publish(self, target: MqttTarget, payload: bytes) -> str | None:
        """Publish one message; None once the broker has it, else why it failed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        broker = self._broker(target, loop)
        broker.last_used = time.monotonic()
        try:
            await asyncio.wait_for(broker.ready.wait(), self.timeout_s)
        except TimeoutError:
            self._drop(target.broker, broker)
            return f"MQTT broker {broker.where}: no connection within {self.timeout_s:g} s"
        if broker.problem is not None:
            self._drop(target.broker, broker)
            return f"MQTT broker {broker.where}: {broker.problem}"
        info = broker.client.publish(
            target.topic, payload, qos=target.qos, properties=broker.properties
        )
        if info.rc != paho.MQTT_ERR_SUCCESS:
            self._drop(target.broker, broker)
            return f"MQTT broker {broker.where}: {paho.error_string(info.rc)}"
        try:
            problem = await asyncio.wait_for(
                broker.acknowledged(info.mid), max(deadline - loop.time(), 0.01)
            )
        except TimeoutError:
            problem = f"not acknowledged within {self.timeout_s:g} s (QoS {target.qos})"
        if problem is not None:
            self._drop(target.broker, broker)
            return f"MQTT broker {broker.where}: {problem}"
        return None

    def _broker(self, target: MqttTarget, loop: asyncio.AbstractEventLoop) -> _Broker:
        broker = self._brokers.get(target.broker)
        if broker is None:
            if len(self._brokers) >= BROKERS_MAX:
                key, oldest = min(self._brokers.items(), key=lambda kv: kv[1].last_used)
                self._drop(key, oldest)
            broker = self._brokers[target.broker] = _Broker(target, loop)
            self._in_thread(broker.start)
        return broker

    def _in_thread(self, blocking) -> None:
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(blocking))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _drop(self, key: tuple, broker: _Broker) -> None:
        if self._brokers.get(key) is broker:
            del self._brokers[key]
        broker.close()
        self._in_thread(broker.stop)

    def reap(self) -> None:
        """Close the connections unused for ``IDLE_S`` seconds."""
        now = time.monotonic()
        for key, broker in list(self._brokers.items()):
            if now - broker.last_used > IDLE_S:
                self._drop(key, broker)

    @property
    def connections(self) -> int:
        return len(self._brokers)

    async def close(self) -> None:
        for key, broker in list(self._brokers.items()):
            self._drop(key, broker)
        if self._background:
            await asyncio.wait(list(self._background), timeout=self.timeout_s)


async def publish_notification(
    publisher: MqttPublisher, endpoint: dict, body: bytes, headers: dict, allowed
) -> str | None:
    """Publish a notification to an ``mqtt(s)://`` endpoint; None on success, else why not."""
    try:
        target = parse_target(endpoint["uri"], endpoint.get("notifierInfo"))
    except Exception as exc:  # noqa: BLE001 - a stored endpoint checked by an older version
        return f"invalid MQTT endpoint: {exc}"
    if not await allowed.allows(target.host):
        return f"host {target.host} is not in notification_allowed_hosts"
    return await publisher.publish(target, message_of(body, headers))
