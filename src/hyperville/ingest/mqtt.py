"""The MQTT consumer: QoS 1 subscriptions, PUBACK only once the data is durable.

An MQTT 5 client of our own (packets in :mod:`hyperville.ingest.mqtt_wire`) on one thread:
every socket read is cut into whole PUBLISH packets, decoded and offered to the pipeline as
ONE group; when that group has COMMITted, the pipeline's callback hands its packet ids back
and the thread writes all their PUBACKs in one send. A general-purpose client costs a Python
call chain, a future and a lock per message, and that is most of a small machine's CPU at
10,000 messages/s.

Flow control: the broker has at most ``RECEIVE_MAXIMUM`` messages unacknowledged with us.
When the pipeline is full, ``offer(block=True)`` holds the thread: nothing more is read from
the socket and the messages wait on the broker. The session is persistent (clean start off,
session expiry ``SESSION_EXPIRY_S``), so what was not acknowledged before a crash or a lost
connection is delivered again; PUBACKs due on a connection that has since closed are not
sent (the redelivery is recognised by its idempotency key).

Topics: ``hyperville/{tenant}/devices/{device_id}/up`` (``_`` is the default tenant),
ChirpStack v4 ``application/+/device/+/event/up``, The Things Stack ``v3/+/devices/+/up``.
Authentication of devices is the broker's job (its ACLs); the device must be provisioned.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import random
import selectors
import socket
import ssl
import threading
import time
from urllib.parse import unquote, urlparse

from hyperville.core.errors import TooManyRequests
from hyperville.ingest import mqtt_wire as wire
from hyperville.ingest.service import Ingestion

log = logging.getLogger(__name__)
TOPICS = {
    "hyperville": "hyperville/+/devices/+/up",
    "chirpstack": "application/+/device/+/event/up",
    "ttn": "v3/+/devices/+/up",
}
SESSION_EXPIRY_S = 7 * 86400
RECEIVE_MAXIMUM = 2000  # QoS 1 messages the broker may have in flight to us, not yet acked
MAX_PACKET_BYTES = 1 << 20  # announced: the broker drops larger messages instead of sending
KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 10.0
READ_BYTES = 256 * 1024
BACKOFF_S = (1.0, 10.0)  # first and longest wait before connecting again
SUBSCRIBE_PACKET_ID = 1


class BrokerRefused(Exception):
    """CONNACK with a failure reason code (bad credentials, not authorized…)."""


def client_id_for(db_path: str) -> str:
    """A stable client id per twin database: a restart resumes the same broker session."""
    return "hyperville-ingest-" + hashlib.sha256(db_path.encode()).hexdigest()[:12]


class MqttConsumer:
    def __init__(
        self,
        ingestion: Ingestion,
        url: str,
        *,
        sources: list[str] | tuple[str, ...] = ("hyperville",),
        client_id: str = "hyperville-ingest",
        keepalive_s: int = KEEPALIVE_S,
        receive_maximum: int = RECEIVE_MAXIMUM,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        self.tls = parsed.scheme == "mqtts"
        self.tls_context = tls_context  # None: the system's trusted authorities
        self.username = unquote(parsed.username) if parsed.username is not None else None
        self.password = unquote(parsed.password) if parsed.password is not None else None
        self.ingestion = ingestion
        self.pipeline = ingestion.pipeline
        self.topics = [TOPICS[s] for s in sources]
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.receive_maximum = receive_maximum
        self.subscribed = threading.Event()  # set from SUBACK until the connection closes
        self.connections = 0  # connections made: PUBACKs of an older one are not sent
        self._accepting = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._acks: list[tuple[int, list[int]]] = []  # (connection, packet ids) committed
        self._failed_connection = 0  # a connection whose data could not be written
        self._signalled = False
        self._groups_out = 0  # groups offered to the pipeline, not yet committed
        self._wake_r: socket.socket | None = None  # a socket pair: other threads wake ours
        self._wake_w: socket.socket | None = None

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._accepting = True
        self._stopping.clear()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="mqtt-consumer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Take no more messages, let what was taken be acknowledged, then disconnect."""
        if self._thread is None:
            return
        self._accepting = False
        self._wake()
        deadline = time.monotonic() + timeout
        while self._groups_out and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stopping.set()
        self._wake()
        self._thread.join(timeout)
        self._thread = None
        self._wake_r.close()
        self._wake_w.close()

    def _run(self) -> None:
        delay = BACKOFF_S[0]
        while not self._stopping.is_set():
            sock = None
            try:
                sock = self._open()
                self._session(sock)
            except wire.ProtocolError as exc:
                log.warning("MQTT broker %s:%s sent a bad packet (%s)", self.host, self.port, exc)
                _send_quietly(sock, wire.disconnect_packet(exc.reason_code))
            except (OSError, BrokerRefused, ssl.SSLError) as exc:
                log.warning("MQTT connection to %s:%s: %s", self.host, self.port, exc)
            except Exception:  # noqa: BLE001 - a bug must not end ingestion: log, reconnect
                log.exception("MQTT consumer failed")
            finally:
                if self.subscribed.is_set():  # it had worked: the next failure starts afresh
                    delay = BACKOFF_S[0]
                self.subscribed.clear()
                with self._lock:
                    self._acks.clear()
                if sock is not None:
                    sock.close()
            if not self._stopping.is_set():
                wait = delay * random.uniform(0.5, 1.0)
                log.info("MQTT: connecting again in %.1f s", wait)
                self._stopping.wait(wait)
                delay = min(delay * 2, BACKOFF_S[1])

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            context = self.tls_context or ssl.create_default_context()
            try:
                return context.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        return sock

    # -- one connection -------------------------------------------------------------------
    def _session(self, sock: socket.socket) -> None:
        """CONNECT, then read, ingest and acknowledge until stopped; raises when the
        connection fails (the caller connects again)."""
        with self._lock:
            self.connections += 1
            connection = self.connections
        reader = wire.PacketReader(MAX_PACKET_BYTES)
        keepalive = self.keepalive_s
        sock.sendall(
            wire.connect_packet(
                self.client_id, keepalive_s=keepalive, clean_start=False,
                session_expiry_s=SESSION_EXPIRY_S, receive_maximum=self.receive_maximum,
                maximum_packet_size=MAX_PACKET_BYTES, username=self.username,
                password=self.password,
            )
        )  # fmt: skip
        last_sent = time.monotonic()
        waiting_since: float | None = last_sent  # for the CONNACK, then for each PINGRESP
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        selector.register(sock, selectors.EVENT_READ)
        reading = True
        try:
            while True:
                limit = max(keepalive, CONNECT_TIMEOUT_S)
                if waiting_since is not None:
                    timeout = max(0.0, waiting_since + limit - time.monotonic())
                else:
                    timeout = (
                        max(0.0, last_sent + keepalive - time.monotonic()) if keepalive else None
                    )
                ready = {key.fileobj for key, _ in selector.select(timeout)}
                now = time.monotonic()
                # a missing answer counts only once everything received has been read
                if (
                    not ready
                    and reading
                    and waiting_since is not None
                    and now - waiting_since >= limit
                ):
                    raise TimeoutError(f"no answer from the broker in {limit:g} s")
                if self._wake_r in ready:
                    _drain(self._wake_r)
                if self._send_acks(sock, connection):
                    last_sent = now
                if self._stopping.is_set():
                    sock.sendall(wire.disconnect_packet())
                    return
                if reading and not self._accepting:
                    selector.unregister(sock)  # stopping: the broker keeps the rest
                    reading = False
                if reading and sock in ready:
                    data = sock.recv(READ_BYTES)
                    if not data:
                        raise ConnectionError("the broker closed the connection")
                    while self.tls and sock.pending():
                        data += sock.recv(sock.pending())
                    publishes, others = reader.feed(data)
                    for packet in others:
                        waiting_since = None
                        if isinstance(packet, wire.ConnAck):
                            self._connected(sock, packet)
                            keepalive = packet.properties.get(wire.SERVER_KEEP_ALIVE, keepalive)
                            last_sent = now
                        else:
                            self._control(packet)
                    if publishes:
                        self._ingest(publishes, connection)
                if keepalive and waiting_since is None and now - last_sent >= keepalive:
                    sock.sendall(wire.PINGREQ_PACKET)
                    last_sent = waiting_since = now
        finally:
            selector.close()

    def _connected(self, sock: socket.socket, connack: wire.ConnAck) -> None:
        if connack.reason_code:
            why = connack.properties.get(wire.REASON_STRING, "")
            if connack.reason_code == 1:  # MQTT 3's "unacceptable protocol version"
                why = "the broker does not speak MQTT 5"
            raise BrokerRefused(f"connection refused, reason 0x{connack.reason_code:02x} {why}")
        log.info("MQTT connected to %s:%s (session present: %s)", self.host, self.port,
                 connack.session_present)  # fmt: skip
        sock.sendall(wire.subscribe_packet(SUBSCRIBE_PACKET_ID, self.topics))

    def _control(self, packet: tuple) -> None:
        """SUBACK, PINGRESP or DISCONNECT (the reader refuses anything else)."""
        if isinstance(packet, wire.SubAck):
            refused = [
                f"{topic} (0x{code:02x})"
                for topic, code in zip(self.topics, packet.reason_codes, strict=False)
                if code >= 0x80
            ]
            if refused:  # the broker's ACL, most likely: the other topics still come
                log.error("MQTT subscription refused: %s", ", ".join(refused))
            else:
                self.subscribed.set()
        elif isinstance(packet, wire.Disconnect):
            why = packet.properties.get(wire.REASON_STRING, "")
            raise ConnectionError(
                f"the broker disconnected, reason 0x{packet.reason_code:02x} {why}"
            )

    # -- ingest and acknowledge -----------------------------------------------------------
    def _ingest(self, publishes: list[wire.Publish], connection: int) -> None:
        """One socket read's PUBLISH packets → one group offered to the pipeline."""
        decode = self.ingestion.mqtt_message
        try:
            messages = [decode(p.topic, p.payload) for p in publishes]
        except Exception:  # noqa: BLE001 - a decoder bug: that message is dead-lettered
            messages = [self._decode_or_refuse(p) for p in publishes]
        by_source: dict[str, int] = {}
        for message in messages:
            by_source[message.source] = by_source.get(message.source, 0) + 1
        for source, n in by_source.items():
            self.ingestion.metrics.count("received", source, n)
        try:
            future = self.pipeline.offer(messages, block=True)
        except TooManyRequests:
            return  # stopping: left unacknowledged, the broker delivers it again
        packet_ids = [p.packet_id for p in publishes if p.qos]
        if packet_ids:
            with self._lock:
                self._groups_out += 1
            future.add_done_callback(functools.partial(self._committed, connection, packet_ids))

    def _decode_or_refuse(self, publish: wire.Publish):
        try:
            return self.ingestion.mqtt_message(publish.topic, publish.payload)
        except Exception as exc:  # noqa: BLE001
            log.exception("MQTT message on %s could not be decoded", publish.topic)
            reason = f"the payload could not be decoded ({type(exc).__name__})"
            return self.ingestion.rejected("mqtt", "", None, reason, publish.payload, publish.topic)

    def _committed(self, connection: int, packet_ids: list[int], future) -> None:
        """The pipeline's callback (another thread): queue the PUBACKs, wake the thread."""
        error = future.exception()
        with self._lock:
            self._groups_out -= 1
            if error is None:
                self._acks.append((connection, packet_ids))
            else:  # not durable: no PUBACK; a new connection has the broker send it again
                log.error("MQTT messages not written (%s); connecting again", error)
                self._failed_connection = connection
        self._wake()

    def _send_acks(self, sock: socket.socket, connection: int) -> bool:
        """Write the PUBACKs due on this connection in one send; True when some were."""
        with self._lock:
            acks, self._acks = self._acks, []
            self._signalled = False
            failed = self._failed_connection == connection
        if failed:
            raise ConnectionError("ingested data could not be written")
        packet_ids = [pid for conn, ids in acks if conn == connection for pid in ids]
        if packet_ids:
            sock.sendall(wire.puback_packets(packet_ids))
        return bool(packet_ids)

    def _wake(self) -> None:
        with self._lock:
            if self._signalled:
                return
            self._signalled = True
        with contextlib.suppress(OSError):  # full of wake-ups already: the thread will look
            self._wake_w.send(b"\x00")


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except BlockingIOError:
        pass


def _send_quietly(sock: socket.socket | None, data: bytes) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.sendall(data)
