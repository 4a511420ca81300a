"""ChirpStack v4 ``up`` events (MQTT and HTTP integration) into normalized uplinks."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime

import orjson
import pytest

from hyperville.core.errors import BadRequestData
from hyperville.ingest.lorawan import (
    UplinkError,
    chirpstack_topic_info,
    get_codec,
    parse_chirpstack_up,
)

# Modelled on the "up" example of the ChirpStack v4 documentation (Integrations > Event types,
# https://www.chirpstack.io/docs/chirpstack/integrations/events.html) and on the protobuf
# JSON mapping of integration.UplinkEvent (chirpstack_api 4.x: deduplicationId, time,
# deviceInfo, devAddr, adr, dr, fCnt, fPort, confirmed, data, object, rxInfo, txInfo).
CHIRPSTACK_UP = {
    "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
    "time": "2022-07-18T09:34:15.775023242+00:00",
    "deviceInfo": {
        "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
        "tenantName": "ChirpStack",
        "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
        "applicationName": "Test application",
        "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
        "deviceProfileName": "Test device-profile",
        "deviceName": "Test device",
        "devEui": "0101010101010101",
        "tags": {"key": "value"},
    },
    "devAddr": "00189440",
    "adr": True,
    "dr": 5,
    "fCnt": 10,
    "fPort": 1,
    "data": "qg==",
    "rxInfo": [
        {
            "gatewayId": "0016c001f153a14c",
            "uplinkId": 4217106255,
            "rssi": -36,
            "snr": 10.5,
            "location": {"latitude": 49.49, "longitude": 0.107, "altitude": 12.0},
            "context": "E3OWOQ==",
            "metadata": {"region_name": "eu868", "region_common_name": "EU868"},
        }
    ],
    "txInfo": {
        "frequency": 867100000,
        "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}},
    },
}

# A car-park counter whose device profile has a codec: ChirpStack sends "object" too.
# Payload 00 2A = 42 free places, FPort 2, two gateways.
PARKING_UP = {
    "deduplicationId": "b6d0a3c2-3c1e-4d52-9a3f-0c7f1d0b8e11",
    "time": "2026-03-02T07:15:00.123456Z",
    "deviceInfo": {
        "tenantId": "2d0b6f0e-9b0a-4d0e-8f3c-6b5a4c3d2e1f",
        "applicationId": "7e3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a",
        "deviceName": "parking-gare-entree",
        "devEui": "A84041FFFF1F4B70",
    },
    "fCnt": 5321,
    "fPort": 2,
    "data": "ACo=",
    "object": {"free_places": 42, "status": {"battery": 3.61}},
    "rxInfo": [
        {"gatewayId": "a84041ffff1f4b70", "rssi": -101, "snr": -3.25},
        {"gatewayId": "a84041ffff1f4b71", "rssi": -87, "snr": 4.5},
    ],
    "txInfo": {"frequency": 868100000, "modulation": {"lora": {"spreadingFactor": 10}}},
}


def body(**changes: object) -> dict:
    """A copy of CHIRPSTACK_UP with top-level members changed (None removes one)."""
    event = copy.deepcopy(CHIRPSTACK_UP)
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def test_documented_up_event() -> None:
    up = parse_chirpstack_up(CHIRPSTACK_UP)
    assert up.source == "chirpstack"
    assert up.device_id == up.dev_eui == "0101010101010101"
    assert up.application == "17c82e96-be03-4f38-aef3-f83d48582d97"
    assert up.tenant == "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"
    assert (up.fcnt, up.port, up.payload, up.decoded) == (10, 1, b"\xaa", None)
    assert up.dedup_id == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
    assert up.received_at == datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC)
    assert up.rx == {"gateways": 1, "rssi": -36, "snr": 10.5, "sf": 7, "frequency_hz": 867100000}
    assert up.idempotency_key() == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"


def test_bytes_body_as_mqtt_delivers_it() -> None:
    assert parse_chirpstack_up(orjson.dumps(CHIRPSTACK_UP)) == parse_chirpstack_up(CHIRPSTACK_UP)


def test_decoded_object_and_several_gateways() -> None:
    up = parse_chirpstack_up(orjson.dumps(PARKING_UP))
    assert up.device_id == "a84041ffff1f4b70"  # lower-case hex, whatever the server sent
    assert up.decoded == {"free_places": 42, "status": {"battery": 3.61}}
    assert up.values() == up.decoded
    assert up.payload == b"\x00\x2a"
    assert up.rx == {"gateways": 2, "rssi": -87, "snr": 4.5, "sf": 10, "frequency_hz": 868100000}
    assert "location" not in str(up.rx)


def test_payload_through_a_codec_when_there_is_no_object() -> None:
    lpp = bytes.fromhex("03670110056700FF")
    up = parse_chirpstack_up(body(data=base64.b64encode(lpp).decode()))
    assert up.values(get_codec("cayenne-lpp")) == {"temperature_3": 27.2, "temperature_5": 25.5}


def test_zero_values_left_out_by_the_json_mapping() -> None:
    up = parse_chirpstack_up(body(fCnt=None, fPort=None, data=None, rxInfo=None, txInfo=None))
    assert (up.fcnt, up.port, up.payload) == (0, None, None)  # frame 0, no application data
    assert up.rx == {"gateways": 0}


def test_time_falls_back_to_the_network_server_reception_time() -> None:
    event = body(time=None)
    event["rxInfo"][0]["nsTime"] = "2022-07-18T09:34:15.800Z"
    up = parse_chirpstack_up(event)
    assert up.received_at == datetime(2022, 7, 18, 9, 34, 15, 800000, tzinfo=UTC)


def test_frame_counter_as_a_protobuf_json_string() -> None:
    assert parse_chirpstack_up(body(fCnt="4294967295")).fcnt == 4294967295


def test_largest_lorawan_payload_is_accepted() -> None:
    up = parse_chirpstack_up(body(data=base64.b64encode(bytes(242)).decode()))
    assert len(up.payload) == 242


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (
            "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up",
            ("17c82e96-be03-4f38-aef3-f83d48582d97", "0101010101010101"),
        ),
        ("application/app/device/A84041FFFF1F4B70/event/up", ("app", "a84041ffff1f4b70")),
        ("eu868/application/app/device/0101010101010101/event/up", ("app", "0101010101010101")),
        ("application/app/device/0101010101010101/event/join", None),
        ("application/app/device/0101010101010101/event/up/extra", None),
        ("application/app/device/01010101/event/up", None),
        ("application/+/device/0101010101010101/event/up", None),
        ("application//device/0101010101010101/event/up", None),
        ("v3/app@ttn/devices/dev1/up", None),
        ("", None),
    ],
)
def test_topic_info(topic: str, expected: tuple[str, str] | None) -> None:
    assert chirpstack_topic_info(topic) == expected


def test_topic_must_match_the_body() -> None:
    app = CHIRPSTACK_UP["deviceInfo"]["applicationId"]
    ok = f"application/{app}/device/0101010101010101/event/up"
    assert parse_chirpstack_up(CHIRPSTACK_UP, topic=ok).device_id == "0101010101010101"
    with pytest.raises(UplinkError, match="topic") as err:
        parse_chirpstack_up(CHIRPSTACK_UP, topic=f"application/{app}/device/{'02' * 8}/event/up")
    assert err.value.field == "topic"
    with pytest.raises(UplinkError, match="topic: not a ChirpStack uplink topic"):
        parse_chirpstack_up(CHIRPSTACK_UP, topic="application/x/device/y/event/join")


def deep(levels: int) -> dict:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"\x0a\x24\x33\x61", "body"),  # the protobuf marshaler, not JSON
        (b"x" * (256 * 1024 + 1), "body"),
        (body(deviceInfo=None), "deviceInfo"),
        (body(deviceInfo="0101010101010101"), "deviceInfo"),
        (body(deviceInfo={"applicationId": "a"}), "deviceInfo.devEui"),
        (body(deviceInfo={"devEui": "01010101"}), "deviceInfo.devEui"),
        (body(deviceInfo={"devEui": "zz01010101010101"}), "deviceInfo.devEui"),
        (body(deviceInfo={"devEui": 101010101}), "deviceInfo.devEui"),
        (
            body(deviceInfo={"devEui": "0101010101010101", "applicationId": 7}),
            "deviceInfo.applicationId",
        ),
        (body(data="qg=!"), "data"),
        (body(data="q"), "data"),
        (body(data=42), "data"),
        (body(data=base64.b64encode(bytes(243)).decode()), "data"),
        (body(data="A" * 2000), "data"),
        (body(fCnt=-1), "fCnt"),
        (body(fCnt=2**32), "fCnt"),
        (body(fCnt=10**30), "fCnt"),
        (body(fCnt=1.5), "fCnt"),
        (body(fCnt=True), "fCnt"),
        (body(fCnt="ten"), "fCnt"),
        (body(fPort=256), "fPort"),
        (body(fPort=-2), "fPort"),
        (body(time=None), "time"),
        (body(time="2022-07-18T09:34:15"), "time"),  # no time zone
        (body(time="2022-13-18T09:34:15Z"), "time"),
        (body(time="yesterday"), "time"),
        (body(time=1658136855), "time"),
        (body(object=[1, 2]), "object"),
        (body(object=deep(4)), "object.a.a.a"),
        (body(object={f"k{i}": i for i in range(65)}), "object"),
        (body(object={"image": "A" * 10_000}), "object.image"),
        (body(rxInfo={"rssi": -30}), "rxInfo"),
        (body(deduplicationId=["x"]), "deduplicationId"),
        (body(deduplicationId="x" * 500), "deduplicationId"),
    ],
)
def test_malformed_events_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(UplinkError) as err:
        parse_chirpstack_up(raw)  # type: ignore[arg-type]
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_chirpstack_v3_json_gets_a_hint() -> None:
    with pytest.raises(UplinkError, match="v3 JSON is not supported"):
        parse_chirpstack_up({"devEUI": "AgICAgICAgI=", "applicationID": "123"})


def test_uplink_error_is_a_400() -> None:
    with pytest.raises(BadRequestData) as err:
        parse_chirpstack_up(b"nope")
    assert err.value.status == 400
    assert err.value.to_problem()["detail"].startswith("body: not valid JSON")


def test_limits_at_the_edge_are_accepted() -> None:
    nested = deep(3)
    many = {f"k{i}": i for i in range(64)}
    assert parse_chirpstack_up(body(object=nested)).decoded == nested
    assert parse_chirpstack_up(body(object=many)).decoded == many
