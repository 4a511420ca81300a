"""The Things Stack v3 uplink messages (MQTT and webhooks) into normalized uplinks."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime

import orjson
import pytest

from hyperville.ingest.lorawan import UplinkError, get_codec, parse_ttn_up, ttn_topic_info

# Modelled on the "Uplink Messages" example of The Things Stack documentation
# (Integrations > Data Formats, https://www.thethingsindustries.com/docs/integrations/data-formats/):
# ApplicationUp with end_device_ids, correlation_ids, received_at and uplink_message.
TTS_UP = {
    "end_device_ids": {
        "device_id": "dev1",
        "application_ids": {"application_id": "app1"},
        "dev_eui": "0004A30B001C0530",
        "join_eui": "800000000000000C",
        "dev_addr": "00BCB929",
    },
    "correlation_ids": [
        "as:up:01E0WRF1ZQVY6C3FNBKMN1BVB8",
        "gs:conn:01E0WDEC6T5T4XXBGKKWS9DZRM",
        "gs:uplink:01E0WRF1ZNEWR2EHS7CBE2ATRC",
        "ns:uplink:01E0WRF1ZP9TFHM6KS99ZHE4KG",
        "rpc:/ttn.lorawan.v3.GsNs/HandleUplink:01E0WRF1ZPEE3Y8DDXHB7BFWFG",
    ],
    "received_at": "2020-02-12T15:15:50.128582613Z",
    "uplink_message": {
        "session_key_id": "AXBSH1Pk6Z0G166RlH16CQ==",
        "f_port": 1,
        "f_cnt": 42,
        "frm_payload": "AWcBEA==",
        "decoded_payload": {"temperature_1": 27.2},
        "rx_metadata": [
            {
                "gateway_ids": {"gateway_id": "gtw1", "eui": "9C5C8E00001A05C4"},
                "time": "2020-02-12T15:15:45.787Z",
                "timestamp": 2463457000,
                "rssi": -35,
                "channel_rssi": -35,
                "snr": 5.2,
                "location": {"latitude": 52.1, "longitude": 4.8, "altitude": 32},
                "uplink_token": "ChIKEAoEZ3R3MRIInFyOAAAaBcQQ6I7boQkaDAjRmo3yBRCAkd2eAyCAl5KzvAM=",
                "channel_index": 2,
            }
        ],
        "settings": {
            "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
            "coding_rate": "4/5",
            "frequency": "868500000",
            "timestamp": 2463457000,
            "time": "2020-02-12T15:15:45.787Z",
        },
        "received_at": "2020-02-12T15:15:50.120579345Z",
        "consumed_airtime": "0.056576s",
        "network_ids": {"net_id": "000013", "tenant_id": "ttn", "cluster_id": "eu1"},
    },
}

# A waste-bin fill-level sensor on a private TTS Cloud tenant, no payload formatter:
# no decoded_payload, first frame after join (f_cnt 0 is left out), two gateways.
WASTE_UP = {
    "end_device_ids": {
        "device_id": "bin-place-hotel-de-ville",
        "application_ids": {"application_id": "dechets"},
        "dev_eui": "70B3D57ED005B89A",
    },
    "correlation_ids": ["as:up:01HX6YGQ7E0V83YRZ7K4S5J4ZN"],
    "received_at": "2026-05-25T13:42:11.412Z",
    "uplink_message": {
        "f_port": 10,
        "frm_payload": "tGgB",  # B4 68 01
        "rx_metadata": [
            {"gateway_ids": {"gateway_id": "gw-mairie"}, "rssi": -112, "snr": -7.5},
            {"gateway_ids": {"gateway_id": "gw-port"}, "channel_rssi": -98, "snr": 1.25},
        ],
        "settings": {"data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 11}}},
        "received_at": "2026-05-25T13:42:11.398Z",
    },
}


def message(**up_changes: object) -> dict:
    """A copy of TTS_UP with uplink_message members changed (None removes one)."""
    msg = copy.deepcopy(TTS_UP)
    for key, value in up_changes.items():
        if value is None:
            msg["uplink_message"].pop(key, None)
        else:
            msg["uplink_message"][key] = value
    return msg


def test_documented_uplink_message() -> None:
    up = parse_ttn_up(TTS_UP)
    assert up.source == "ttn"
    assert (up.device_id, up.dev_eui) == ("dev1", "0004a30b001c0530")
    assert (up.application, up.tenant) == ("app1", "ttn")
    assert (up.fcnt, up.port, up.payload) == (42, 1, bytes.fromhex("01670110"))
    assert up.decoded == {"temperature_1": 27.2}
    assert up.dedup_id == "as:up:01E0WRF1ZQVY6C3FNBKMN1BVB8"
    # uplink_message.received_at: Network Server time, nanoseconds cut to microseconds
    assert up.received_at == datetime(2020, 2, 12, 15, 15, 50, 120579, tzinfo=UTC)
    assert up.rx == {"gateways": 1, "rssi": -35, "snr": 5.2, "sf": 7, "frequency_hz": 868500000}
    assert up.idempotency_key() == "as:up:01E0WRF1ZQVY6C3FNBKMN1BVB8"


def test_webhook_bytes_and_dict_agree() -> None:
    assert parse_ttn_up(orjson.dumps(TTS_UP)) == parse_ttn_up(TTS_UP)


def test_without_formatter_a_codec_decodes_the_payload() -> None:
    up = parse_ttn_up(orjson.dumps(WASTE_UP))
    assert (up.fcnt, up.decoded, up.tenant) == (0, None, None)
    assert up.rx == {"gateways": 2, "rssi": -98, "snr": 1.25, "sf": 11}
    codec = get_codec(
        "byte-layout",
        fields=[
            {"name": "fill_level", "offset": 0, "type": "uint8", "scale": 0.5},
            {"name": "battery", "offset": 1, "type": "uint16", "endian": "little", "scale": 0.01},
        ],
        ports=[10],
    )
    assert up.values(codec) == {"fill_level": 90.0, "battery": 3.6}


def test_mqtt_topic_gives_the_tenant_and_must_match() -> None:
    topic = "v3/dechets@mairie-fecamp/devices/bin-place-hotel-de-ville/up"
    up = parse_ttn_up(WASTE_UP, topic=topic)
    assert (up.application, up.tenant) == ("dechets", "mairie-fecamp")
    with pytest.raises(UplinkError) as err:
        parse_ttn_up(WASTE_UP, topic="v3/dechets@mairie-fecamp/devices/another-bin/up")
    assert err.value.field == "topic"
    with pytest.raises(UplinkError, match="topic: not a The Things Stack uplink topic"):
        parse_ttn_up(WASTE_UP, topic="v3/dechets/devices/bin-place-hotel-de-ville/join")


def test_tenant_sources_in_order() -> None:
    assert parse_ttn_up(TTS_UP, tenant="ville").tenant == "ville"
    msg = copy.deepcopy(TTS_UP)
    msg["end_device_ids"]["application_ids"]["application_id"] = "app1@agglo"
    up = parse_ttn_up(msg)
    assert (up.application, up.tenant) == ("app1", "agglo")


def test_without_correlation_ids_the_key_falls_back_to_the_frame_counter() -> None:
    msg = copy.deepcopy(TTS_UP)
    del msg["correlation_ids"]
    up = parse_ttn_up(msg)
    assert up.dedup_id is None
    assert up.idempotency_key() == "dev1:42:2020-02-12"
    assert parse_ttn_up(orjson.dumps(msg)).idempotency_key() == up.idempotency_key()


def test_application_server_time_when_the_uplink_has_none() -> None:
    up = parse_ttn_up(message(received_at=None))
    assert up.received_at == datetime(2020, 2, 12, 15, 15, 50, 128582, tzinfo=UTC)


def test_simulated_uplinks_are_flagged() -> None:
    msg = copy.deepcopy(TTS_UP)
    msg["simulated"] = True
    assert parse_ttn_up(msg).rx["simulated"] is True
    assert "simulated" not in parse_ttn_up(TTS_UP).rx


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("v3/app1@ttn/devices/dev1/up", ("app1", "ttn", "dev1")),
        ("v3/app1/devices/dev1/up", ("app1", None, "dev1")),
        ("v3/app1@ttn/devices/dev1/join", None),
        ("v3/app1@ttn/devices/dev1/up/simulated", None),
        ("v3/app1@ttn/devices/Dev1/up", None),
        ("v3/app1@/devices/dev1/up", None),
        ("v3/+/devices/dev1/up", None),
        ("v2/app1/devices/dev1/up", None),
        ("application/app/device/0101010101010101/event/up", None),
    ],
)
def test_topic_info(topic: str, expected: tuple | None) -> None:
    assert ttn_topic_info(topic) == expected


def ids(**changes: object) -> dict:
    msg = copy.deepcopy(TTS_UP)
    for key, value in changes.items():
        if value is None:
            msg["end_device_ids"].pop(key)
        else:
            msg["end_device_ids"][key] = value
    return msg


def without(key: str) -> dict:
    msg = copy.deepcopy(TTS_UP)
    del msg[key]
    return msg


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b'"uplink"', "body"),
        (without("end_device_ids"), "end_device_ids"),
        (without("uplink_message"), "uplink_message"),  # e.g. a join-accept on the webhook
        (ids(device_id=None), "end_device_ids.device_id"),
        (ids(device_id="Dev1"), "end_device_ids.device_id"),
        (ids(device_id="d" * 37), "end_device_ids.device_id"),
        (ids(device_id="dev/1/up"), "end_device_ids.device_id"),
        (ids(dev_eui="0004A30B"), "end_device_ids.dev_eui"),
        (ids(application_ids="app1"), "end_device_ids.application_ids"),
        (message(frm_payload="AWcB*A=="), "uplink_message.frm_payload"),
        (message(frm_payload=base64.b64encode(bytes(300)).decode()), "uplink_message.frm_payload"),
        (message(f_cnt=-5), "uplink_message.f_cnt"),
        (message(f_cnt=2**40), "uplink_message.f_cnt"),
        (message(f_port="one"), "uplink_message.f_port"),
        (message(decoded_payload="27.2"), "uplink_message.decoded_payload"),
        (
            message(decoded_payload={"a": {"b": {"c": {"d": 1}}}}),
            "uplink_message.decoded_payload.a.b.c",
        ),
        (message(decoded_payload={"v": list(range(100))}), "uplink_message.decoded_payload.v"),
        (message(rx_metadata="gtw1"), "uplink_message.rx_metadata"),
        (message(received_at="2020-02-12 15:15"), "uplink_message.received_at"),
    ],
)
def test_malformed_messages_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(UplinkError) as err:
        parse_ttn_up(raw)  # type: ignore[arg-type]
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_missing_times_are_refused() -> None:
    msg = message(received_at=None)
    del msg["received_at"]
    with pytest.raises(UplinkError, match="received_at: missing"):
        parse_ttn_up(msg)
