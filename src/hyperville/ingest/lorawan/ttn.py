"""The Things Stack v3 (The Things Network) uplinks, over MQTT or webhooks.

MQTT topic: ``v3/{application_id}@{tenant_id}/devices/{device_id}/up`` (``@{tenant_id}`` is
absent on single-tenant open-source deployments); webhooks POST the same JSON
(``ApplicationUp`` with an ``uplink_message``). Example::

    {"end_device_ids": {"device_id": "dev1", "application_ids": {"application_id": "app1"},
                        "dev_eui": "0004A30B001C0530", "dev_addr": "00BCB929"},
     "correlation_ids": ["as:up:01E0WRF1ZQVY6C3FNBKMN1BVB8", …],
     "received_at": "2020-02-12T15:15:50.128582613Z",
     "uplink_message": {"f_port": 1, "f_cnt": 42, "frm_payload": "AQIDBA==",
                        "decoded_payload": {…},
                        "rx_metadata": [{"gateway_ids": {…}, "rssi": -34, "snr": 9.25, …}],
                        "settings": {"data_rate": {"lora": {"bandwidth": 125000,
                                                            "spreading_factor": 7}},
                                     "frequency": "868100000"},
                        "received_at": "2020-02-12T15:15:49.862Z",
                        "network_ids": {"net_id": "000013", "tenant_id": "ttn"}}}

Empty fields are left out: an absent ``f_cnt`` is frame 0. ``received_at`` is taken from
``uplink_message`` (set by the Network Server), else from the top level (Application Server).
"""

from __future__ import annotations

import re
from typing import Any

from hyperville.ingest.lorawan.uplink import (
    MAX_FCNT,
    MAX_FREQUENCY_HZ,
    MAX_PORT,
    Uplink,
    UplinkError,
    check_decoded,
    check_text,
    check_uint,
    decode_base64,
    get_object,
    load_json_object,
    number,
    parse_time,
    whole,
)

SOURCE = "ttn"
# The Things Stack identifiers: lower-case letters, digits and single dashes, 3 to 36 chars.
_TTS_ID = re.compile(r"[a-z0-9](?:-?[a-z0-9]){2,35}")
_TTS_ID_MAX = 36
_EUI = re.compile(r"[0-9A-Fa-f]{16}")


def ttn_topic_info(topic: str) -> tuple[str, str | None, str] | None:
    """``(application_id, tenant_id or None, device_id)`` of an uplink topic, else ``None``."""
    if not isinstance(topic, str):
        return None
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "v3" or parts[2] != "devices" or parts[4] != "up":
        return None
    app, at, tenant = parts[1].partition("@")
    device = parts[3]
    if not _is_tts_id(app) or not _is_tts_id(device):
        return None
    if at and not _is_tts_id(tenant):
        return None
    return app, tenant or None, device


def parse_ttn_up(
    body: dict | bytes, *, topic: str | None = None, tenant: str | None = None
) -> Uplink:
    """The :class:`Uplink` of a The Things Stack v3 uplink message (a dict or its JSON bytes).

    The tenant is, in order: ``tenant``; the ``@tenant`` part of ``topic``; an ``app@tenant``
    application id; ``uplink_message.network_ids.tenant_id``. ``topic``, when given (MQTT),
    must be an uplink topic naming the same application and device as the body.
    Raises :class:`UplinkError` naming the faulty field.
    """
    obj = load_json_object(body)
    ids = get_object(obj, "end_device_ids", "end_device_ids", required=True)
    device_id = _tts_id(ids.get("device_id"), "end_device_ids.device_id", required=True)
    app_ids = get_object(ids, "application_ids", "end_device_ids.application_ids")
    application = check_text(
        app_ids.get("application_id") if app_ids else None,
        "end_device_ids.application_ids.application_id",
    )
    app_tenant = None
    if application and "@" in application:
        application, _, app_tenant = application.partition("@")
    if topic is not None:
        info = ttn_topic_info(topic)
        if info is None:
            raise UplinkError("not a The Things Stack uplink topic", field="topic")
        if info[2] != device_id or (application is not None and info[0] != application):
            raise UplinkError("names another application or device than the body", field="topic")
        tenant = tenant or info[1]
    dev_eui = ids.get("dev_eui") or None
    if dev_eui is not None and (not isinstance(dev_eui, str) or not _EUI.fullmatch(dev_eui)):
        raise UplinkError("must be 16 hexadecimal digits", field="end_device_ids.dev_eui")
    up = get_object(obj, "uplink_message", "uplink_message", required=True)
    network = get_object(up, "network_ids", "uplink_message.network_ids")
    tenant = tenant or app_tenant or (network or {}).get("tenant_id")
    rx_metadata = up.get("rx_metadata")
    if rx_metadata is not None and not isinstance(rx_metadata, list):
        raise UplinkError("must be a list", field="uplink_message.rx_metadata")
    stamp, where = (
        (up["received_at"], "uplink_message.received_at")
        if up.get("received_at") is not None
        else (obj.get("received_at"), "received_at")
    )
    rx = _radio(rx_metadata or [], up.get("settings"))
    if obj.get("simulated") is True or up.get("simulated") is True:
        rx["simulated"] = True
    return Uplink(
        source=SOURCE,
        device_id=device_id,
        dev_eui=dev_eui.lower() if dev_eui else None,
        application=application or None,
        tenant=check_text(tenant, "tenant"),
        fcnt=check_uint(up.get("f_cnt"), "uplink_message.f_cnt", MAX_FCNT, default=0),
        dedup_id=_dedup_id(obj.get("correlation_ids")),
        received_at=parse_time(stamp, where),
        port=check_uint(up.get("f_port"), "uplink_message.f_port", MAX_PORT),
        payload=decode_base64(up.get("frm_payload"), "uplink_message.frm_payload"),
        decoded=check_decoded(up.get("decoded_payload"), "uplink_message.decoded_payload"),
        rx=rx,
    )


def _tts_id(value: object, where: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise UplinkError("missing", field=where)
        return None
    if not isinstance(value, str) or not _is_tts_id(value):
        raise UplinkError("must be 3-36 lower-case letters, digits or single dashes", field=where)
    return value


def _is_tts_id(value: str) -> bool:
    return len(value) <= _TTS_ID_MAX and _TTS_ID.fullmatch(value) is not None


def _dedup_id(correlation_ids: object) -> str | None:
    """The Application Server's ``as:up:…`` correlation id (one per uplink), if any."""
    if not isinstance(correlation_ids, list):
        return None
    for cid in correlation_ids:
        if isinstance(cid, str) and cid.startswith("as:up:") and len(cid) <= 128:
            return cid
    return None


def _radio(rx_metadata: list[Any], settings: object) -> dict[str, Any]:
    """Gateway count, best RSSI (dBm) and SNR (dB), spreading factor, frequency (Hz)."""
    rx: dict[str, Any] = {"gateways": len(rx_metadata)}
    rssi = []
    snr = []
    for meta in rx_metadata:
        if isinstance(meta, dict):
            value = number(meta.get("rssi"))
            if value is None:
                value = number(meta.get("channel_rssi"))
            if value is not None:
                rssi.append(value)
            if (value := number(meta.get("snr"))) is not None:
                snr.append(value)
    if rssi:
        rx["rssi"] = max(rssi)
    if snr:
        rx["snr"] = max(snr)
    if isinstance(settings, dict):
        frequency = settings.get("frequency")  # uint64: a decimal string in the JSON mapping
        if isinstance(frequency, str) and frequency.isascii() and frequency.isdigit():
            frequency = int(frequency[:12])
        if (frequency := whole(frequency, 1, MAX_FREQUENCY_HZ)) is not None:
            rx["frequency_hz"] = frequency
        data_rate = settings.get("data_rate")
        lora = data_rate.get("lora") if isinstance(data_rate, dict) else None
        sf = whole(lora.get("spreading_factor"), 5, 12) if isinstance(lora, dict) else None
        if sf is not None:
            rx["sf"] = sf
    return rx
