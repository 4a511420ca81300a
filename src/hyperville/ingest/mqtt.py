"""The MQTT consumer: QoS 1 subscriptions, PUBACK only once the data is durable.

paho-mqtt 2 with ``manual_ack=True``: a received PUBLISH is decoded and offered to the
pipeline; its PUBACK is sent (``client.ack``) from the pipeline's completion, after COMMIT.
When the pipeline is full, ``offer(block=True)`` holds the network thread: nothing more is
read from the socket, the broker stops sending once its in-flight window is used, and the
messages wait on the broker. The session is persistent (MQTT 5 clean start off, session
expiry), so what was not acknowledged before a crash is delivered again after a restart.

Topics: ``hyperville/{tenant}/devices/{device_id}/up`` (``_`` is the default tenant),
ChirpStack v4 ``application/+/device/+/event/up``, The Things Stack ``v3/+/devices/+/up``.
Authentication of devices is the broker's job (its ACLs); the device must be provisioned.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hyperville.core.errors import TooManyRequests
from hyperville.ingest.service import Ingestion

log = logging.getLogger(__name__)
TOPICS = {
    "hyperville": "hyperville/+/devices/+/up",
    "chirpstack": "application/+/device/+/event/up",
    "ttn": "v3/+/devices/+/up",
}
SESSION_EXPIRY_S = 7 * 86400
RECEIVE_MAXIMUM = 2000  # QoS 1 messages the broker may have in flight to us, not yet acked


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
    ) -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        self.tls = parsed.scheme == "mqtts"
        self.username, self.password = parsed.username, parsed.password
        self.ingestion = ingestion
        self.pipeline = ingestion.pipeline
        self.topics = [TOPICS[s] for s in sources]
        self.client_id = client_id
        self.subscribed = threading.Event()
        self._accepting = False
        self.client: paho.Client | None = None

    def start(self) -> None:
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self._accepting = True
        self.client = client
        client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False, properties=props
        )
        client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Take no more messages, let what was taken be acknowledged, then disconnect."""
        if self.client is None:
            return
        self._accepting = False
        self.pipeline.wait_idle(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        self.client = None

    # -- callbacks (the paho network thread) ----------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connection refused: %s", reason_code)
            return
        log.info("MQTT connected to %s:%s (session present: %s)", self.host, self.port,
                 flags.session_present)  # fmt: skip
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("MQTT subscription refused: %s", failed)
        else:
            self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.subscribed.clear()
        if reason_code.is_failure:
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        if not self._accepting:
            return  # not acknowledged: the broker delivers it again to the next session
        metrics = self.ingestion.metrics
        message = self.ingestion.mqtt_message(msg.topic, msg.payload)
        metrics.count("received", message.source)
        try:
            future = self.pipeline.offer([message], block=True)
        except TooManyRequests:
            return  # stopping: left unacknowledged
        mid, qos = msg.mid, msg.qos
        if qos == 0:
            return
        future.add_done_callback(lambda f: self._acknowledge(f, mid, qos))

    def _acknowledge(self, future, mid: int, qos: int) -> None:
        client = self.client
        if client is None:
            return
        if future.exception() is None:
            client.ack(mid, qos)
            return
        # not durable: drop the connection without PUBACK; the broker sends it again
        log.error("MQTT message %s not written (%s); reconnecting", mid, future.exception())
        threading.Thread(target=client.reconnect, daemon=True).start()
