"""MQTT 5.0 packets of a subscribing client: what it sends, and a reader of what it receives.

Pure functions and one incremental :class:`PacketReader`; no I/O. Only what the ingestion
consumer needs: CONNECT, SUBSCRIBE, PUBACK, PINGREQ, DISCONNECT out; CONNACK, PUBLISH
(QoS 0 and 1), SUBACK, PINGRESP, DISCONNECT in. Anything else from the broker, or a packet
that breaks the format, raises :class:`ProtocolError`: the caller drops the connection.

Reference: OASIS, *MQTT Version 5.0*, 7 March 2019 — §1.5 (data representation), §2.1 (fixed
header, Remaining Length), §2.2.2 (properties), §3 (the packets).
"""

from __future__ import annotations

from typing import NamedTuple

PROTOCOL_LEVEL = 5
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
MAX_REMAINING_LENGTH = 268_435_455  # 4 bytes of Variable Byte Integer (§1.5.5)
MALFORMED, PROTOCOL_ERROR, PACKET_TOO_LARGE = 0x81, 0x82, 0x95  # reason codes (§2.4)
PINGREQ_PACKET = b"\xc0\x00"

# property identifier -> how its value is encoded (§2.2.2.2)
_BYTE, _TWO, _FOUR, _VARINT, _UTF8, _BINARY, _PAIR = range(7)
_PROPERTY_KINDS = {
    0x01: _BYTE, 0x02: _FOUR, 0x03: _UTF8, 0x08: _UTF8, 0x09: _BINARY, 0x0B: _VARINT,
    0x11: _FOUR, 0x12: _UTF8, 0x13: _TWO, 0x15: _UTF8, 0x16: _BINARY, 0x17: _BYTE,
    0x18: _FOUR, 0x19: _BYTE, 0x1A: _UTF8, 0x1C: _UTF8, 0x1F: _UTF8, 0x21: _TWO, 0x22: _TWO,
    0x23: _TWO, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _FOUR, 0x28: _BYTE, 0x29: _BYTE,
    0x2A: _BYTE,
}  # fmt: skip
SESSION_EXPIRY, ASSIGNED_CLIENT_ID, SERVER_KEEP_ALIVE = 0x11, 0x12, 0x13
REASON_STRING, RECEIVE_MAXIMUM, USER_PROPERTY, MAXIMUM_PACKET_SIZE = 0x1F, 0x21, 0x26, 0x27


class ProtocolError(Exception):
    """The broker sent what MQTT 5 does not allow here; ``reason_code`` goes in our
    DISCONNECT."""

    def __init__(self, message: str, reason_code: int = MALFORMED) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class Publish(NamedTuple):
    topic: str
    payload: bytes
    qos: int  # 0 or 1
    packet_id: int  # 0 at QoS 0
    dup: bool


class ConnAck(NamedTuple):
    session_present: bool
    reason_code: int  # 0: accepted; >= 0x80: refused (§3.2.2.2)
    properties: dict


class SubAck(NamedTuple):
    packet_id: int
    reason_codes: bytes  # one per topic filter: the granted QoS, or >= 0x80 refused


class PingResp(NamedTuple):
    pass


class Disconnect(NamedTuple):
    reason_code: int
    properties: dict


# -- encoding ---------------------------------------------------------------------------------
def encode_varint(value: int) -> bytes:
    """Variable Byte Integer (§1.5.5): 7 bits a byte, least significant first."""
    if not 0 <= value <= MAX_REMAINING_LENGTH:
        raise ValueError(f"{value} does not fit a Variable Byte Integer")
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 0xFFFF:
        raise ValueError("an MQTT string has at most 65,535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    keepalive_s: int,
    clean_start: bool,
    session_expiry_s: int,
    receive_maximum: int,
    maximum_packet_size: int,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """CONNECT (§3.1): the session lasts ``session_expiry_s`` after a disconnection, the
    broker may have ``receive_maximum`` QoS 1 messages unacknowledged with us."""
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    flags |= 0x02 if clean_start else 0
    props = (
        bytes((SESSION_EXPIRY,)) + session_expiry_s.to_bytes(4, "big")
        + bytes((RECEIVE_MAXIMUM,)) + receive_maximum.to_bytes(2, "big")
        + bytes((MAXIMUM_PACKET_SIZE,)) + maximum_packet_size.to_bytes(4, "big")
    )  # fmt: skip
    body = _utf8("MQTT") + bytes((PROTOCOL_LEVEL, flags)) + keepalive_s.to_bytes(2, "big")
    body += encode_varint(len(props)) + props + _utf8(client_id)
    if username is not None:
        body += _utf8(username)
    if password is not None:
        raw = password.encode()
        body += len(raw).to_bytes(2, "big") + raw
    return _packet(CONNECT << 4, body)


def subscribe_packet(packet_id: int, topic_filters: list[str], qos: int = 1) -> bytes:
    """SUBSCRIBE (§3.8): every filter at ``qos``, retained messages sent, no options."""
    body = packet_id.to_bytes(2, "big") + b"\x00"
    body += b"".join(_utf8(topic) + bytes((qos,)) for topic in topic_filters)
    return _packet(SUBSCRIBE << 4 | 0x02, body)


def puback_packets(packet_ids: list[int]) -> bytes:
    """PUBACKs (§3.4) with reason Success, which a Remaining Length of 2 implies."""
    return b"".join(b"\x40\x02" + pid.to_bytes(2, "big") for pid in packet_ids)


def disconnect_packet(reason_code: int = 0) -> bytes:
    """DISCONNECT (§3.14); reason 0 keeps the session for its expiry interval."""
    return b"\xe0\x00" if reason_code == 0 else b"\xe0\x01" + bytes((reason_code,))


# -- decoding ---------------------------------------------------------------------------------
def decode_varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """``(value, position after it)``, None when ``data`` ends first; more than 4 bytes is
    malformed."""
    value, shift = 0, 0
    for index in range(pos, min(pos + 4, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    if len(data) - pos >= 4:
        raise ProtocolError("a Variable Byte Integer longer than 4 bytes")
    return None


def decode_properties(data: bytes) -> dict:
    """Properties (§2.2.2) → ``{identifier: value}``; User Properties as a list of pairs."""
    out: dict = {}
    pos, end = 0, len(data)
    try:
        while pos < end:
            ident = data[pos]
            kind = _PROPERTY_KINDS.get(ident)
            pos += 1
            if kind is None:
                raise ProtocolError(f"unknown property 0x{ident:02x}")
            if kind == _BYTE:
                value, pos = data[pos], pos + 1
            elif kind in (_TWO, _FOUR):
                size = 2 if kind == _TWO else 4
                if pos + size > end:
                    raise IndexError
                value, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
            elif kind == _VARINT:
                decoded = decode_varint(data, pos)
                if decoded is None:
                    raise IndexError
                value, pos = decoded
            else:
                value, pos = _string(data, pos, kind != _BINARY)
                if kind == _PAIR:
                    second, pos = _string(data, pos, True)
                    out.setdefault(ident, []).append((value, second))
                    continue
            if ident in out:
                raise ProtocolError(f"property 0x{ident:02x} given twice", PROTOCOL_ERROR)
            out[ident] = value
    except IndexError:
        raise ProtocolError("properties end in the middle of a value") from None
    return out


def _string(data: bytes, pos: int, text: bool) -> tuple[str | bytes, int]:
    size = int.from_bytes(data[pos : pos + 2], "big")
    end = pos + 2 + size
    if pos + 2 > len(data) or end > len(data):
        raise IndexError
    raw = data[pos + 2 : end]
    if not text:
        return raw, end
    try:
        return raw.decode(), end
    except UnicodeDecodeError:
        raise ProtocolError("a string is not valid UTF-8") from None


class PacketReader:
    """Bytes of a connection in, whole packets out; a packet may span any number of reads."""

    def __init__(self, max_packet_size: int) -> None:
        self.max_packet_size = max_packet_size
        self._chunks: list[bytes] = []
        self._have = 0  # bytes in _chunks
        self._need = 0  # bytes the first unfinished packet needs in all, when known

    def feed(self, data: bytes) -> tuple[list[Publish], list[tuple]]:
        """The packets ``data`` completes: PUBLISH packets, and the others, each in order."""
        self._chunks.append(data)
        self._have += len(data)
        if self._have < self._need:
            return [], []
        buf = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        publishes: list[Publish] = []
        others: list[tuple] = []
        pos, size = 0, len(buf)
        self._need = 0
        while pos + 2 <= size:
            first, length = buf[pos], buf[pos + 1]
            start = pos + 2
            if length > 127:
                decoded = decode_varint(buf, pos + 1)
                if decoded is None:
                    break
                length, start = decoded
            end = start + length
            if end - pos > self.max_packet_size:
                raise ProtocolError(f"a packet of {end - pos} bytes", PACKET_TOO_LARGE)
            if end > size:
                self._need = end - pos
                break
            if first >> 4 == PUBLISH:
                publishes.append(_publish(first, buf, start, end))
            else:
                others.append(_control(first, buf[start:end]))
            pos = end
        rest = buf[pos:] if pos < size else b""
        self._chunks = [rest] if rest else []
        self._have = len(rest)
        return publishes, others


def _publish(first: int, buf: bytes, start: int, end: int) -> Publish:
    """PUBLISH (§3.3); its properties are skipped (no topic alias: we allow none)."""
    qos = (first >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with both QoS bits set")
    if qos == 2:
        raise ProtocolError("PUBLISH at QoS 2; QoS 1 was subscribed", PROTOCOL_ERROR)
    pos = start + 2
    topic_end = pos + ((buf[start] << 8) | buf[start + 1]) if pos <= end else end + 1
    if topic_end > end:
        raise ProtocolError("PUBLISH ends in its topic name")
    try:
        topic = buf[pos:topic_end].decode()
    except UnicodeDecodeError:
        raise ProtocolError("PUBLISH topic name is not valid UTF-8") from None
    if not topic or "\x00" in topic or "+" in topic or "#" in topic:
        raise ProtocolError(f"PUBLISH topic name {topic[:80]!r} is not a topic", PROTOCOL_ERROR)
    pos, packet_id = topic_end, 0
    if qos:
        packet_id = (buf[pos] << 8) | buf[pos + 1] if pos + 2 <= end else 0
        if not packet_id:
            raise ProtocolError("PUBLISH at QoS 1 without a packet identifier")
        pos += 2
    if pos < end and buf[pos] == 0:  # no properties: the usual case
        pos += 1
    else:
        decoded = decode_varint(buf, pos) if pos < end else None
        if decoded is None or decoded[1] + decoded[0] > end:
            raise ProtocolError("PUBLISH properties run past the packet")
        pos = decoded[1] + decoded[0]
    return Publish(topic, buf[pos:end], qos, packet_id, bool(first & 0x08))


def _control(first: int, body: bytes) -> tuple:
    kind, flags = first >> 4, first & 0x0F
    if flags:
        raise ProtocolError(f"packet type {kind} with flags {flags:#x}")
    if kind == CONNACK:
        if len(body) < 2 or body[0] > 1:
            raise ProtocolError("CONNACK too short or with reserved flags")
        return ConnAck(bool(body[0]), body[1], _properties_at(body, 2))
    if kind == SUBACK:
        if len(body) < 3:
            raise ProtocolError("SUBACK too short")
        decoded = decode_varint(body, 2)
        if decoded is None or decoded[1] + decoded[0] > len(body):
            raise ProtocolError("SUBACK properties run past the packet")
        codes = body[decoded[1] + decoded[0] :]
        if not codes:
            raise ProtocolError("SUBACK without reason codes")
        return SubAck(int.from_bytes(body[:2], "big"), codes)
    if kind == PINGRESP:
        if body:
            raise ProtocolError("PINGRESP with a body")
        return PingResp()
    if kind == DISCONNECT:
        return Disconnect(body[0] if body else 0, _properties_at(body, 1))
    raise ProtocolError(f"unexpected packet type {kind} for a subscriber", PROTOCOL_ERROR)


def _properties_at(body: bytes, pos: int) -> dict:
    """The properties that end a packet (absent when the packet ends before them)."""
    if pos >= len(body):
        return {}
    decoded = decode_varint(body, pos)
    if decoded is None or decoded[1] + decoded[0] != len(body):
        raise ProtocolError("properties do not end the packet")
    return decode_properties(body[decoded[1] :])
