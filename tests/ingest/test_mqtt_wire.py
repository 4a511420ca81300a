"""MQTT 5 packets (ingest/mqtt_wire.py) against the OASIS MQTT 5.0 specification's rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperville.ingest import mqtt_wire as wire
from hyperville.ingest.mqtt_wire import ProtocolError, Publish

MAX = 1 << 20


def publish_packet(topic: str, payload: bytes, packet_id: int = 7, *, qos: int = 1,
                   properties: bytes = b"", dup: bool = False) -> bytes:  # fmt: skip
    """A PUBLISH as a broker writes it (§3.3), built by hand."""
    raw = topic.encode()
    body = len(raw).to_bytes(2, "big") + raw
    if qos:
        body += packet_id.to_bytes(2, "big")
    body += wire.encode_varint(len(properties)) + properties + payload
    first = 0x30 | (qos << 1) | (0x08 if dup else 0)
    return bytes((first,)) + wire.encode_varint(len(body)) + body


def read_all(data: bytes, cuts: list[int] = ()) -> tuple[list, list]:
    """Feed ``data`` cut at ``cuts``; every packet, in order."""
    reader = wire.PacketReader(MAX)
    publishes, others, last = [], [], 0
    for cut in [*sorted(cuts), len(data)]:
        got = reader.feed(data[last:cut])
        publishes += got[0]
        others += got[1]
        last = cut
    return publishes, others


# -- Variable Byte Integer (§1.5.5: the table of its sizes) -----------------------------------
@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2_097_151, b"\xff\xff\x7f"),
        (2_097_152, b"\x80\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_varint_sizes_of_the_specification(value: int, encoded: bytes) -> None:
    assert wire.encode_varint(value) == encoded
    assert wire.decode_varint(b"\x99" + encoded + b"\x42", 1) == (value, 1 + len(encoded))


def test_varint_limits() -> None:
    with pytest.raises(ValueError):
        wire.encode_varint(268_435_456)
    with pytest.raises(ProtocolError):
        wire.decode_varint(b"\xff\xff\xff\xff\x01", 0)  # a fifth byte
    assert wire.decode_varint(b"\xff\xff", 0) is None  # the rest has not arrived


@given(st.integers(0, wire.MAX_REMAINING_LENGTH))
def test_varint_round_trip(value: int) -> None:
    encoded = wire.encode_varint(value)
    assert wire.decode_varint(encoded, 0) == (value, len(encoded))


# -- what the client sends ----------------------------------------------------------------------
def test_connect_packet_bytes() -> None:
    packet = wire.connect_packet(
        "c1", keepalive_s=30, clean_start=False, session_expiry_s=604_800,
        receive_maximum=2000, maximum_packet_size=1 << 20, username="u", password="pw",
    )  # fmt: skip
    body = (
        b"\x00\x04MQTT\x05"  # protocol name and level 5 (§3.1.2.1-2)
        b"\xc0"  # user name and password, clean start off (§3.1.2.3)
        b"\x00\x1e"  # keep alive 30 s
        b"\x0d\x11\x00\x09\x3a\x80\x21\x07\xd0\x27\x00\x10\x00\x00"  # properties
        b"\x00\x02c1\x00\x01u\x00\x02pw"  # payload: client id, user name, password
    )
    assert packet == b"\x10" + bytes((len(body),)) + body


def test_subscribe_puback_disconnect_bytes() -> None:
    assert wire.subscribe_packet(1, ["a/+", "b"]) == (
        b"\x82\x0d\x00\x01\x00" + b"\x00\x03a/+\x01" + b"\x00\x01b\x01"
    )  # SUBSCRIBE has flags 0010 (§3.8.1)
    assert wire.puback_packets([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"
    assert wire.disconnect_packet() == b"\xe0\x00"
    assert wire.disconnect_packet(0x81) == b"\xe0\x01\x81"


# -- what the broker sends ----------------------------------------------------------------------
def test_publish_qos1_qos0_dup_and_properties() -> None:
    user_property = b"\x26\x00\x01k\x00\x01v"
    data = (
        publish_packet("hyperville/_/devices/d/up", b'{"t":1}', 42)
        + publish_packet("x/y", b"", qos=0)
        + publish_packet(
            "é/ü", b"\x00\xff", 65535, dup=True, properties=b"\x01\x01" + user_property
        )
    )
    publishes, others = read_all(data)
    assert others == []
    assert publishes == [
        Publish("hyperville/_/devices/d/up", b'{"t":1}', 1, 42, False),
        Publish("x/y", b"", 0, 0, False),
        Publish("é/ü", b"\x00\xff", 1, 65535, True),
    ]


def test_a_packet_over_many_reads_and_many_packets_in_one_read() -> None:
    big = publish_packet("t/big", bytes(range(256)) * 800, 3)  # remaining length of 3 bytes
    data = publish_packet("t/a", b"a", 1) + big + b"\xd0\x00" + publish_packet("t/b", b"b", 2)
    expected = read_all(data)
    assert [p.packet_id for p in expected[0]] == [1, 3, 2]
    assert expected[1] == [wire.PingResp()]
    assert read_all(data, list(range(1, len(data)))) == expected  # one byte a read
    assert read_all(data, [1, 2, 3, 50, 5000, len(data) - 1]) == expected


@given(st.lists(st.integers(0, 400), max_size=12))
def test_any_cutting_gives_the_same_packets(cuts: list[int]) -> None:
    data = b"".join(publish_packet(f"t/{n}", b"p" * (n * 37), n + 1) for n in range(6))
    assert read_all(data, [c for c in cuts if c < len(data)]) == read_all(data)


def test_connack_suback_disconnect() -> None:
    connack = b"\x20\x0b\x01\x00\x08\x13\x00\x3c\x21\x00\x0a\x24\x01"
    suback = b"\x90\x05\x00\x01\x00\x01\x80"
    disconnect = b"\xe0\x0a\x8e\x08\x1f\x00\x05gone!"
    _, others = read_all(connack + suback + disconnect + b"\xe0\x00")
    assert others == [
        wire.ConnAck(True, 0, {wire.SERVER_KEEP_ALIVE: 60, wire.RECEIVE_MAXIMUM: 10, 0x24: 1}),
        wire.SubAck(1, b"\x01\x80"),
        wire.Disconnect(0x8E, {wire.REASON_STRING: "gone!"}),
        wire.Disconnect(0, {}),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x36\x05\x00\x01t\x00\x01", wire.MALFORMED),  # QoS 3 (§3.3.1.2)
        (b"\x34\x06\x00\x01t\x00\x01\x00", wire.PROTOCOL_ERROR),  # QoS 2: QoS 1 was asked
        (b"\x32\x05\x00\x09t\x00\x01", wire.MALFORMED),  # topic longer than the packet
        (b"\x32\x06\x00\x01t\x00\x00\x00", wire.MALFORMED),  # packet identifier 0
        (b"\x32\x06\x00\x01\xff\x00\x01\x00", wire.MALFORMED),  # topic not UTF-8
        (b"\x32\x06\x00\x01#\x00\x01\x00", wire.PROTOCOL_ERROR),  # a wildcard in a topic name
        (b"\x32\x05\x00\x00\x00\x01\x00", wire.PROTOCOL_ERROR),  # empty topic, no alias allowed
        (b"\x32\x07\x00\x01t\x00\x01\x09\x01", wire.MALFORMED),  # properties past the end
        (b"\x32\xff\xff\xff\xff\x01", wire.MALFORMED),  # remaining length of 5 bytes
        (b"\x40\x02\x00\x01", wire.PROTOCOL_ERROR),  # a PUBACK: we never publish
        (b"\x00\x00", wire.PROTOCOL_ERROR),  # reserved packet type 0
        (b"\x21\x02\x00\x00", wire.MALFORMED),  # CONNACK with flags in its fixed header
        (b"\x20\x03\x00\x00\x09", wire.MALFORMED),  # properties longer than the packet
        (b"\x20\x05\x00\x00\x02\x7f\x00", wire.MALFORMED),  # unknown property 0x7f
        (b"\x20\x07\x00\x00\x04\x24\x01\x24\x01", wire.PROTOCOL_ERROR),  # a property twice
        (b"\x90\x02\x00\x01", wire.MALFORMED),  # SUBACK without reason codes
        (b"\xd0\x01\x00", wire.MALFORMED),  # PINGRESP with a body
    ],
)
def test_malformed_packets_raise(data: bytes, reason: int) -> None:
    with pytest.raises(ProtocolError) as raised:
        read_all(data)
    assert raised.value.reason_code == reason


def test_a_packet_larger_than_announced_is_refused_from_its_header() -> None:
    reader = wire.PacketReader(1000)
    header = b"\x32" + wire.encode_varint(5000)  # refused before 5,000 bytes are read
    with pytest.raises(ProtocolError) as raised:
        reader.feed(header)
    assert raised.value.reason_code == wire.PACKET_TOO_LARGE


def test_properties_of_every_kind() -> None:
    data = (
        b"\x01\x01"  # byte
        b"\x23\x00\x05"  # two-byte integer
        b"\x02\x00\x00\x01\x00"  # four-byte integer
        b"\x0b\x80\x01"  # variable byte integer
        b"\x03\x00\x04text"  # UTF-8 string
        b"\x09\x00\x02\x00\xff"  # binary data
        b"\x26\x00\x01a\x00\x01b\x26\x00\x01a\x00\x01c"  # user properties (may repeat)
    )
    assert wire.decode_properties(data) == {
        0x01: 1, 0x23: 5, 0x02: 256, 0x0B: 128, 0x03: "text", 0x09: b"\x00\xff",
        wire.USER_PROPERTY: [("a", "b"), ("a", "c")],
    }  # fmt: skip
    with pytest.raises(ProtocolError):
        wire.decode_properties(b"\x02\x00\x00")  # a four-byte integer cut short
