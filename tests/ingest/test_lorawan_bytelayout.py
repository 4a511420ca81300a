"""The byte-layout codec: fixed fields for counters and fill-level sensors."""

from __future__ import annotations

import struct

import pytest

from hyperville.ingest.lorawan import ByteLayout, CodecConfigError, UplinkError, get_codec

PARKING = [{"name": "free_places", "offset": 0, "type": "uint16"}]
WASTE = [
    {"name": "fill_level", "offset": 0, "type": "uint8", "scale": 0.5},  # %
    {"name": "temperature", "offset": 1, "type": "int16", "scale": 0.1},  # °C
    {"name": "battery", "offset": 3, "type": "uint16", "endian": "little", "scale": 0.001},  # V
    {"name": "lid_open", "offset": 5, "type": "bool", "bit": 0},
    {"name": "tilted", "offset": 5, "type": "bool", "bit": 7},
]


def test_parking_counter() -> None:
    codec = get_codec("byte-layout", fields=PARKING)
    assert codec.decode(bytes.fromhex("002A"), 2) == {"free_places": 42}
    assert codec.decode(bytes.fromhex("FFFF00"), 2) == {"free_places": 65535}  # extra bytes ignored


def test_waste_fill_level_sensor() -> None:
    codec = get_codec("byte-layout", fields=WASTE)
    frame = bytes([151]) + struct.pack(">h", -35) + struct.pack("<H", 3605) + bytes([0b1000_0000])
    assert codec.decode(frame, 10) == {
        "fill_level": 75.5,
        "temperature": -3.5,
        "battery": 3.605,
        "lid_open": False,
        "tilted": True,
    }


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ({"type": "int8"}, b"\xff", -1),
        ({"type": "uint8"}, b"\xff", 255),
        ({"type": "int16", "endian": "little"}, b"\xfe\xff", -2),
        ({"type": "uint16", "endian": "little"}, b"\x01\x02", 0x0201),
        ({"type": "int32"}, b"\xff\xff\xff\xfe", -2),
        ({"type": "uint32"}, b"\xff\xff\xff\xff", 4294967295),
        ({"type": "uint32", "scale": 0.01}, b"\x00\x00\x04\xd2", 12.34),
        ({"type": "uint8", "scale": 10}, b"\x07", 70),
        ({"type": "float32"}, struct.pack(">f", 21.7), 21.7),
        ({"type": "float32", "endian": "little"}, struct.pack("<f", -0.1), -0.1),
        ({"type": "bool"}, b"\x02", True),
        ({"type": "bool"}, b"\x00", False),
        ({"type": "bool", "bit": 1}, b"\x02", True),
    ],
)
def test_types(field: dict, raw: bytes, expected: object) -> None:
    codec = ByteLayout(fields=[{"name": "v", "offset": 0, **field}])
    value = codec.decode(raw, 1)["v"]
    assert value == expected and type(value) is type(expected)


def test_payload_too_short_for_the_layout() -> None:
    codec = get_codec("byte-layout", fields=WASTE)
    with pytest.raises(
        UplinkError, match="payload too short for the byte layout: 5 bytes, needs 6"
    ):
        codec.decode(bytes(5), 1)


def test_float32_nan_and_infinity_are_refused() -> None:
    codec = ByteLayout(fields=[{"name": "level", "offset": 0, "type": "float32"}])
    for raw in (b"\x7f\xc0\x00\x00", b"\x7f\x80\x00\x00"):
        with pytest.raises(UplinkError, match="level is not a finite number"):
            codec.decode(raw, 1)


def test_ports_restrict_the_layout() -> None:
    codec = get_codec("byte-layout", fields=PARKING, ports=[2])
    with pytest.raises(UplinkError, match="port: codec 'byte-layout' handles ports 2, not 3"):
        codec.decode(b"\x00\x01", 3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "bad options"),
        ({"fields": []}, "fields: must be a list of 1 to 64 fields"),
        ({"fields": "free_places"}, "fields: must be a list"),
        (
            {"fields": [{"name": f"f{i}", "offset": 0, "type": "uint8"} for i in range(65)]},
            "1 to 64",
        ),
        ({"fields": [1]}, r"fields\[0\]: must be an object"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint128"}]}, r"fields\[0\].type"),
        ({"fields": [{"name": "a b", "offset": 0, "type": "uint8"}]}, r"fields\[0\].name"),
        ({"fields": [{"name": "a", "offset": -1, "type": "uint8"}]}, r"fields\[0\].offset"),
        ({"fields": [{"name": "a", "offset": 1.0, "type": "uint8"}]}, r"fields\[0\].offset"),
        ({"fields": [{"name": "a", "offset": 240, "type": "uint32"}]}, "ends after byte 242"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint8", "endian": "middle"}]}, "endian"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint8", "scale": 0}]}, "scale"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint8", "scale": "2"}]}, "scale"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint8", "scale": float("nan")}]}, "scale"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint8", "bit": 1}]}, "only for a bool"),
        ({"fields": [{"name": "a", "offset": 0, "type": "bool", "bit": 8}]}, "0 to 7"),
        ({"fields": [{"name": "a", "offset": 0, "type": "bool", "bit": 1.0}]}, "0 to 7"),
        ({"fields": [{"name": "a", "offset": 0, "type": "bool", "scale": 2}]}, "does not apply"),
        ({"fields": [{"name": "a", "offset": 0, "type": "uint8", "unit": "%"}]}, "unknown keys"),
        ({"fields": PARKING + PARKING}, "names must be unique"),
        ({"fields": PARKING, "ports": [0]}, "ports"),
        ({"fields": PARKING, "ports": 2}, "ports"),
        ({"fields": PARKING, "colour": "red"}, "bad options"),
    ],
)
def test_configuration_errors(options: dict, message: str) -> None:
    with pytest.raises(CodecConfigError, match=message) as err:
        get_codec("byte-layout", **options)
    assert err.value.status == 400
