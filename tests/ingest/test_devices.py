"""Devices: provisioning checks, hashed credentials, the payload allow-list."""

from __future__ import annotations

import pytest

from hyperville.core.errors import BadRequestData
from hyperville.ingest import devices as dev

T0 = "2026-11-25T10:00:00.000Z"


def make(**mapping) -> dev.Device:
    spec = {"deviceId": "d1", "mapping": mapping or {"temp": {"attr": "temperature"}}}
    device, _ = dev.device_from_spec("city", spec)
    return device


def test_secret_is_stored_hashed_and_verified() -> None:
    device, token = dev.device_from_spec("city", {"deviceId": "d1", "mapping": {"t": "temp"}})
    assert token not in device.secret_hash and device.secret_hash.startswith("scrypt$")
    assert device.check_token(token)
    assert device.check_token(token)  # the cached digest path
    assert not device.check_token(token + "x")
    assert not dev.verify_secret(token, "md5$whatever")


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"deviceId": "bad id!", "mapping": {"t": "t"}}, "deviceId"),
        ({"deviceId": "d", "mapping": {}}, "mapping"),
        ({"deviceId": "d", "mapping": {"t": {"type": "image"}}}, "type must be"),
        ({"deviceId": "d", "mapping": {"t": {"type": "string", "scale": 2}}}, "scale"),
        ({"deviceId": "d", "mapping": {"t": {"unit": "°C"}}}, "unit"),
        ({"deviceId": "d", "mapping": {"t": {"attr": "x", "extra": 1}}}, "unknown member"),
        ({"deviceId": "d", "mapping": {"t": "t"}, "token": "short"}, "token"),
        ({"deviceId": "d", "mapping": {"t": "t"}, "entityId": "nocolon"}, "entityId"),
    ],
)
def test_provisioning_is_validated(spec: dict, fragment: str) -> None:
    with pytest.raises(BadRequestData, match=fragment):
        dev.device_from_spec("city", spec)


def test_mapping_round_trips_through_the_stored_row() -> None:
    device = make(temp={"attr": "temperature", "unit": "CEL", "scale": 0.1}, on="powerState")
    again = dev.Device.from_row(device.to_row())
    assert again.fields == device.fields and again.entity_type == device.entity_type


def test_allow_list_maps_converts_and_drops_the_rest() -> None:
    device = make(
        temp={"attr": "temperature", "unit": "CEL", "scale": 0.1},
        door={"attr": "doorOpen", "type": "boolean"},
        **{"env.co2": {"attr": "co2"}},
    )
    payload = {"temp": 215, "door": True, "env": {"co2": 410}, "mac": "aa:bb", "ts": T0}
    readings, message_id = dev.map_payload(device, payload, "2026-11-25T11:00:00.000Z")
    got = {attr.rsplit("/", 1)[1]: inst for _, attr, inst in readings}
    assert set(got) == {"temperature", "doorOpen", "co2"}  # "mac" dropped
    assert got["temperature"]["value"] == pytest.approx(21.5)
    assert got["temperature"]["unitCode"] == "CEL"
    assert all(i["observedAt"] == T0 for i in got.values())
    assert message_id and message_id.startswith("hash:")  # timed content: a stable key


def test_observed_at_defaults_to_the_receive_time_and_ids_win() -> None:
    device = make()
    readings, message_id = dev.map_payload(device, {"temp": 1, "msgId": "m-7"}, T0)
    assert readings[0][2]["observedAt"] == T0 and message_id == "id:m-7"
    assert dev.map_payload(device, {"temp": 1}, T0)[1] is None  # untimed, no id: no key
    assert dev.map_payload(device, {"temp": 1, "fcnt": 9}, T0)[1] == "fcnt:9"


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"temp": "21"}, "a number is expected"),
        ({"temp": True}, "a number is expected"),
        ({"temp": 1, "photo": "iVBORw0KGgo" + "A" * 80}, "binary"),
        ({"temp": 1, "note": "x" * 300}, "longer than"),
        ({"other": 1}, "no mapped field"),
        ({"temp": 1, "ts": "yesterday"}, "ISO 8601"),
        ({"temp": 1, "ts": "2026-11-25T10:00:00"}, "time zone"),
        ({"temp": 1, "ts": 4102444800}, "future"),
        ([1, 2], "JSON object"),
    ],
)
def test_refusals_say_why(payload, fragment: str) -> None:
    with pytest.raises(BadRequestData, match=fragment):
        dev.map_payload(make(), payload, T0)


def test_epoch_times_in_seconds_and_milliseconds() -> None:
    assert dev.parse_time(1764064800) == "2025-11-25T10:00:00.000Z"
    assert dev.parse_time(1764064800123) == "2025-11-25T10:00:00.123Z"
    assert dev.parse_time("2025-11-25T11:00:00+01:00") == "2025-11-25T10:00:00.000Z"


def test_csv_rows_become_specs() -> None:
    text = (
        "deviceId,entityId,entityType,fields\n"
        "c1,urn:ngsi-ld:Counter:1,Counter,count=peopleCount;temp=temperature:number:CEL:0.1\n"
    )
    [spec] = dev.specs_from_csv(text)
    device, _ = dev.device_from_spec("city", {k: v for k, v in spec.items() if k != "_line"})
    assert device.fields["temp"].scale == 0.1 and device.fields["temp"].unit == "CEL"
    assert device.fields["count"].attr.endswith("/peopleCount")
    with pytest.raises(BadRequestData, match="header"):
        dev.specs_from_csv("")
