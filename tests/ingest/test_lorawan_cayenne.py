"""The CayenneLPP codec against the published examples and the type table.

Examples and table: myDevices, "Cayenne Low Power Payload", section Examples
(https://docs.mydevices.com/docs/lorawan/cayenne-lpp, also in the myDevicesIoT/cayenne-docs
repository): "Device with 2 temperature sensors" 03 67 01 10 05 67 00 FF, "Device with
temperature and acceleration sensors" 01 67 FF D7 then 06 71 04 D2 FB 2E 00 00, "Device with
GPS" 01 88 06 76 5F F2 96 0A 00 03 E8.
"""

from __future__ import annotations

import pytest

from hyperville.ingest.lorawan import CayenneLPP, UplinkError, get_codec


def decode(hex_payload: str, port: int | None = 1, **options: object) -> dict:
    return get_codec("cayenne-lpp", **options).decode(bytes.fromhex(hex_payload), port)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("03 67 01 10 05 67 00 FF", {"temperature_3": 27.2, "temperature_5": 25.5}),
        ("01 67 FF D7", {"temperature_1": -4.1}),
        (
            "06 71 04 D2 FB 2E 00 00",
            {"accelerometer_6_x": 1.234, "accelerometer_6_y": -1.234, "accelerometer_6_z": 0.0},
        ),
        (
            "01 88 06 76 5f f2 96 0a 00 03 e8",
            {"gps_1_latitude": 42.3519, "gps_1_longitude": -87.9094, "gps_1_altitude": 10.0},
        ),
    ],
)
def test_published_examples(payload: str, expected: dict) -> None:
    assert decode(payload) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("00 00 01", {"digital_input_0": 1}),
        ("01 01 FF", {"digital_output_1": 255}),
        ("02 02 FF 38", {"analog_input_2": -2.0}),  # 0.01, signed
        ("03 03 01 68", {"analog_output_3": 3.6}),
        ("04 65 FF FF", {"illuminance_4": 65535}),  # lux, unsigned
        ("05 66 01", {"presence_5": 1}),
        ("06 68 A1", {"humidity_6": 80.5}),  # 0.5 %, unsigned
        ("07 73 27 7B", {"barometer_7": 1010.7}),  # 0.1 hPa, unsigned
        (
            "08 86 00 64 FF 9C 27 10",
            {"gyrometer_8_x": 1.0, "gyrometer_8_y": -1.0, "gyrometer_8_z": 100.0},
        ),
        (
            "09 88 FF FF FF 00 00 01 FF FF 9C",
            {"gps_9_latitude": -0.0001, "gps_9_longitude": 0.0001, "gps_9_altitude": -1.0},
        ),
    ],
)
def test_every_type_with_its_resolution(payload: str, expected: dict) -> None:
    assert decode(payload) == expected


def test_many_values_of_many_types_in_one_frame() -> None:
    # A street sensor: people count (digital in), temperature, humidity, illuminance, battery.
    values = decode("01 00 0C 02 67 00 E1 03 68 64 04 65 01 F4 05 02 01 5E")
    assert values == {
        "digital_input_1": 12,
        "temperature_2": 22.5,
        "humidity_3": 50.0,
        "illuminance_4": 500,
        "analog_input_5": 3.5,
    }
    assert isinstance(values["digital_input_1"], int) and isinstance(values["humidity_3"], float)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("03 67 01", "truncated temperature on channel 3"),
        ("03 67 01 10 05", "truncated item at byte 4"),
        ("01 88 06 76 5f f2 96 0a 00 03", "needs 9 bytes, 8 left"),
        ("03 C8 01 10", "unknown CayenneLPP type 200 at byte 1"),
        ("03 67 01 10 03 67 00 FF", "temperature_3 appears twice"),
        ("", "empty frame"),
    ],
)
def test_malformed_frames(payload: str, message: str) -> None:
    with pytest.raises(UplinkError, match=message) as err:
        decode(payload)
    assert err.value.field == "payload"


def test_ports() -> None:
    assert decode("01 67 FF D7", port=None) == {"temperature_1": -4.1}
    assert decode("01 67 FF D7", port=5, ports=[5]) == {"temperature_1": -4.1}
    with pytest.raises(UplinkError, match="port: codec 'cayenne-lpp' handles ports 5, 6, not 2"):
        decode("01 67 FF D7", port=2, ports=[6, 5])
    with pytest.raises(UplinkError, match="port: port 0 carries MAC commands"):
        decode("01 67 FF D7", port=0)


def test_more_values_than_the_privacy_limit() -> None:
    frame = b"".join(bytes([ch, 0, 1]) for ch in range(65))  # 65 digital inputs, 195 bytes
    with pytest.raises(UplinkError, match="more than 64 values"):
        CayenneLPP().decode(frame, 1)


def test_payload_larger_than_lorawan_allows() -> None:
    with pytest.raises(UplinkError, match="243 bytes"):
        CayenneLPP().decode(bytes(243), 1)
