"""The front of ingestion: find the device, decode and map a payload, hand it to the pipeline.

Every path (device HTTP endpoint, MQTT topics, ChirpStack and The Things Stack uplinks, dead
letter replay) turns what it received into :class:`~hyperville.ingest.pipeline.Message`
objects here: readings when the payload is acceptable, a dead-letter reason otherwise.
"""

from __future__ import annotations

import threading

import orjson

from hyperville.core.errors import BadRequestData, HypervilleError
from hyperville.ingest import devices as dev
from hyperville.ingest.metrics import IngestMetrics
from hyperville.ingest.pipeline import Message, Pipeline
from hyperville.store import sqlite_devices as sql
from hyperville.twin_ops import now_iso

MAX_READINGS = 10_000
MAX_MQTT_PAYLOAD = 256 * 1024
BATCH_KEYS = ("readings",)


class UnknownDevice(Exception):
    pass


class Ingestion:
    """Devices (cached) and decoding for one twin; thread-safe."""

    def __init__(self, pipeline: Pipeline, *, webhook_token: str | None = None) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.metrics: IngestMetrics = pipeline.metrics
        self.webhook_token = webhook_token
        self._cache: dict[tuple[str, str], dev.Device] = {}
        self._lock = threading.Lock()

    # -- devices --------------------------------------------------------------------------
    def _conn(self):
        return self.store._reader()  # the SQLite store's read connection of this thread

    def device(self, tenant: str, device_id: str) -> dev.Device | None:
        key = (tenant, device_id)
        found = self._cache.get(key)
        if found is None:
            row = sql.get_device(self._conn(), tenant, device_id)
            if row is None:
                return None
            found = dev.Device.from_row(row)
            with self._lock:
                found = self._cache.setdefault(key, found)
        return found

    def lorawan_device(self, uplink) -> dev.Device:
        """The device of an uplink: by tenant when the network server names ours, else by
        id or DevEUI in any tenant (they are globally unique)."""
        ids = [i for i in (uplink.device_id, uplink.dev_eui) if i]
        for device_id in ids:
            if uplink.tenant:
                found = self.device(uplink.tenant, device_id)
                if found is not None:
                    return found
            rows = sql.find_devices(self._conn(), device_id)
            if len(rows) == 1:
                return self.device(rows[0].tenant, rows[0].device_id) or dev.Device.from_row(
                    rows[0]
                )
        raise UnknownDevice(f"device {' / '.join(ids)} is not provisioned")

    async def provision(self, devices: list[dev.Device]) -> None:
        def run(tx) -> None:
            sql.ensure_schema(tx.conn)
            for device in devices:
                sql.put_device(tx.conn, device.to_row())

        await self.store.transact("", run)
        with self._lock:
            for device in devices:
                self._cache.pop((device.tenant, device.device_id), None)

    def list_devices(self, tenant: str, *, limit: int, offset: int) -> list[dev.Device]:
        rows = sql.list_devices(self._conn(), tenant, limit=limit, offset=offset)
        return [dev.Device.from_row(r) for r in rows]

    # -- decoding -------------------------------------------------------------------------
    def rejected(self, source: str, tenant: str, device_id: str | None, reason: str, payload,
                 topic: str | None = None, kind: str = "invalid") -> Message:  # fmt: skip
        self.metrics.count("rejected", source, reason=kind)
        return Message(source, tenant, device_id, reason=reason, payload=payload, topic=topic)

    def device_messages(
        self, source: str, device: dev.Device, body: bytes, *, idempotency_key: str | None = None
    ) -> list[Message]:
        """A device's JSON document (one reading, an array, or ``{"readings": [...]}``)."""
        return self._document_messages(source, device, _json(body), idempotency_key)

    def _document_messages(
        self, source: str, device: dev.Device, doc, idempotency_key: str | None = None
    ) -> list[Message]:
        rows = doc
        if isinstance(doc, dict) and isinstance(doc.get("readings"), list):
            rows = doc["readings"]
        if not isinstance(rows, list):
            rows = [rows]
        if not rows:
            raise BadRequestData("no reading in the payload")
        if len(rows) > MAX_READINGS:
            raise BadRequestData(f"at most {MAX_READINGS} readings per request")
        received = now_iso()
        messages = []
        for index, row in enumerate(rows):
            try:
                readings, message_id = dev.map_payload(device, row, received)
            except BadRequestData as exc:
                where = f"reading {index}: " if len(rows) > 1 else ""
                raise BadRequestData(where + exc.detail) from None
            if idempotency_key:
                message_id = f"key:{idempotency_key}:{index}"
            key = None
            if message_id is not None:
                key = sql.seen_key(device.tenant, device.device_id, message_id)
            messages.append(Message(source, device.tenant, device.device_id, readings, key))
        return messages

    def uplink_message(self, source: str, uplink, payload: bytes, topic: str | None) -> Message:
        """A parsed LoRaWAN uplink → one message (its decoded values through the mapping)."""
        device = self.lorawan_device(uplink)
        values = uplink.values(_codec(device))
        observed = uplink.received_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        readings, _ = dev.map_payload(device, {**values, "observedAt": observed}, observed)
        key = sql.seen_key(device.tenant, device.device_id, "lora:" + uplink.idempotency_key())
        return Message(source, device.tenant, device.device_id, readings, key, topic=topic)

    def mqtt_message(self, topic: str, payload: bytes) -> Message:
        """Any subscribed topic → a message (readings or a dead-letter reason). Never raises."""
        parts = topic.split("/")
        source, tenant, device_id = "mqtt", "", None
        try:
            if len(payload) > MAX_MQTT_PAYLOAD:
                raise BadRequestData(f"payload larger than {MAX_MQTT_PAYLOAD} bytes")
            if len(parts) == 5 and parts[0] == "hyperville" and parts[2] == "devices":
                tenant, device_id = ("" if parts[1] == "_" else parts[1]), parts[3]
                device = self.device(tenant, device_id)
                if device is None:
                    raise UnknownDevice(f"device {device_id} is not provisioned")
                return self._device_message(device, payload, topic)
            from hyperville.ingest.lorawan.chirpstack import parse_chirpstack_up
            from hyperville.ingest.lorawan.ttn import parse_ttn_up

            source = "ttn" if parts[0] == "v3" else "chirpstack"
            parse = parse_ttn_up if source == "ttn" else parse_chirpstack_up
            uplink = parse(payload, topic=topic)
            device_id = uplink.device_id
            message = self.uplink_message(source, uplink, payload, topic)
            message.payload = payload
            return message
        except UnknownDevice as exc:
            return self.rejected(source, tenant, device_id, str(exc), payload, topic, "unknown")
        except HypervilleError as exc:
            return self.rejected(source, tenant, device_id, exc.detail, payload, topic)

    def _device_message(self, device: dev.Device, payload: bytes, topic: str) -> Message:
        """A device's MQTT document as ONE message; a single reading, what sensors send,
        without the detour through a list of messages."""
        doc = _json(payload)
        if not isinstance(doc, dict) or isinstance(doc.get("readings"), list):
            return _merged(self._document_messages("mqtt", device, doc), payload, topic)
        readings, message_id = dev.map_payload(device, doc, None)
        key = None
        if message_id is not None:
            key = sql.seen_key(device.tenant, device.device_id, message_id)
        return Message("mqtt", device.tenant, device.device_id, readings, key, None, payload, topic)

    def replay_message(self, letter: sql.DeadLetter) -> Message:
        """A dead letter decoded again with today's devices and mappings."""
        payload = bytes(letter.payload or b"")
        if letter.topic:
            message = self.mqtt_message(letter.topic, payload)
        else:
            message = self._http_replay(letter, payload)
        message.replay_of = letter.id
        return message

    def _http_replay(self, letter: sql.DeadLetter, payload: bytes) -> Message:
        tenant, device_id = letter.tenant or "", letter.device_id
        try:
            if letter.source in ("chirpstack", "ttn"):
                from hyperville.ingest.lorawan.chirpstack import parse_chirpstack_up
                from hyperville.ingest.lorawan.ttn import parse_ttn_up

                if letter.source == "ttn":
                    uplink = parse_ttn_up(payload, tenant=letter.tenant or None)
                else:
                    uplink = parse_chirpstack_up(payload)
                return self.uplink_message(letter.source, uplink, payload, None)
            device = self.device(tenant, device_id or "")
            if device is None:
                raise UnknownDevice(f"device {device_id} is not provisioned")
            return _merged(self.device_messages(letter.source, device, payload), payload, None)
        except (UnknownDevice, HypervilleError) as exc:
            reason = exc.detail if isinstance(exc, HypervilleError) else str(exc)
            return Message(letter.source, tenant, device_id, reason=reason, payload=payload)


def _json(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequestData(f"the payload is not valid JSON: {exc}") from None


def _merged(messages: list[Message], payload: bytes, topic: str | None) -> Message:
    """Several readings of one document as ONE message (one dead letter, one PUBACK)."""
    first = messages[0]
    merged = Message(first.source, first.tenant, first.device_id, payload=payload, topic=topic)
    merged.readings = [r for m in messages for r in m.readings]
    if len(messages) == 1 or all(m.key is not None for m in messages):
        merged.key = first.key if len(messages) == 1 else _combined(messages)
    return merged


def _combined(messages: list[Message]) -> bytes:
    import hashlib

    return hashlib.sha256(b"".join(m.key or b"" for m in messages)).digest()[:16]


def _codec(device: dev.Device):
    """The payload codec named by the device (``codec`` in its provisioning), if any."""
    if not device.codec:
        return None
    from hyperville.ingest.lorawan.codecs import get_codec

    return get_codec(device.codec, **(device.codec_options or {}))
