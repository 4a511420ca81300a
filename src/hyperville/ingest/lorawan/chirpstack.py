"""ChirpStack v4 uplinks: the ``up`` event, over MQTT or the HTTP integration.

MQTT topic (default template): ``application/{application_id}/device/{dev_eui}/event/up``;
HTTP integration: ``POST …?event=up``. Both carry the same JSON (the protobuf JSON mapping
of ``integration.UplinkEvent``; the integration's marshaler must be ``json``). Example::

    {"deduplicationId": "3ac7e3c4-…", "time": "2022-07-18T09:34:15.775023242+00:00",
     "deviceInfo": {"tenantId": "…", "applicationId": "…", "deviceName": "…",
                    "devEui": "0101010101010101"},
     "devAddr": "00189440", "dr": 1, "fCnt": 10, "fPort": 1, "data": "qg==", "object": {…},
     "rxInfo": [{"gatewayId": "…", "rssi": -36, "snr": 10.5, …}],
     "txInfo": {"frequency": 867100000,
                "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7}}}}

Fields equal to zero are left out by the JSON mapping: an absent ``fCnt`` is frame 0.
``data`` is base64; ``object`` is only there when the device profile has a codec.
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

SOURCE = "chirpstack"
_EUI = re.compile(r"[0-9A-Fa-f]{16}")
_TOPIC_WORDS = ("application", None, "device", None, "event", "up")


def chirpstack_topic_info(topic: str) -> tuple[str, str] | None:
    """``(application_id, dev_eui)`` of an uplink topic, else ``None``.

    The topic is ``application/{application_id}/device/{dev_eui}/event/up``, possibly after a
    prefix (ChirpStack's event topic template is configurable, e.g. ``eu868/application/…``).
    The DevEUI is returned in lower-case hex.
    """
    if not isinstance(topic, str):
        return None
    parts = topic.split("/")
    if len(parts) < 6:
        return None
    tail = parts[-6:]
    if any(
        word is not None and part != word for part, word in zip(tail, _TOPIC_WORDS, strict=True)
    ):
        return None
    app, dev_eui = tail[1], tail[3]
    if not app or "+" in app or "#" in app or not _EUI.fullmatch(dev_eui):
        return None
    return app, dev_eui.lower()


def parse_chirpstack_up(body: dict | bytes, *, topic: str | None = None) -> Uplink:
    """The :class:`Uplink` of a ChirpStack v4 ``up`` event (a dict, or its JSON bytes).

    ``topic``, when given (MQTT), must be an uplink topic naming the same application and
    device as the body: a message published on another device's topic is refused.
    Raises :class:`UplinkError` naming the faulty field.
    """
    obj = load_json_object(body)
    info = get_object(obj, "deviceInfo", "deviceInfo", required=False)
    if info is None:
        hint = " (ChirpStack v3 JSON is not supported)" if "devEUI" in obj else ""
        raise UplinkError("missing" + hint, field="deviceInfo")
    dev_eui = info.get("devEui")
    if dev_eui is None or dev_eui == "":
        raise UplinkError("missing", field="deviceInfo.devEui")
    if not isinstance(dev_eui, str) or not _EUI.fullmatch(dev_eui):
        raise UplinkError("must be 16 hexadecimal digits", field="deviceInfo.devEui")
    dev_eui = dev_eui.lower()
    application = check_text(info.get("applicationId"), "deviceInfo.applicationId")
    if topic is not None:
        _check_topic(topic, application, dev_eui)
    rx_info = obj.get("rxInfo")
    if rx_info is not None and not isinstance(rx_info, list):
        raise UplinkError("must be a list", field="rxInfo")
    return Uplink(
        source=SOURCE,
        device_id=dev_eui,
        dev_eui=dev_eui,
        application=application,
        tenant=check_text(info.get("tenantId"), "deviceInfo.tenantId"),
        fcnt=check_uint(obj.get("fCnt"), "fCnt", MAX_FCNT, default=0),
        dedup_id=check_text(obj.get("deduplicationId"), "deduplicationId"),
        received_at=parse_time(_time(obj, rx_info or []), "time"),
        port=check_uint(obj.get("fPort"), "fPort", MAX_PORT),
        payload=decode_base64(obj.get("data"), "data"),
        decoded=check_decoded(obj.get("object"), "object"),
        rx=_radio(rx_info or [], obj.get("txInfo")),
    )


def _check_topic(topic: str, application: str | None, dev_eui: str) -> None:
    info = chirpstack_topic_info(topic)
    if info is None:
        raise UplinkError("not a ChirpStack uplink topic", field="topic")
    if info[1] != dev_eui or (application is not None and info[0] != application):
        raise UplinkError("names another application or device than the body", field="topic")


def _time(obj: dict[str, Any], rx_info: list[Any]) -> object:
    """``time``; else the first gateway's ``nsTime`` (network server reception time)."""
    if obj.get("time") is not None:
        return obj["time"]
    for rx in rx_info:
        if isinstance(rx, dict) and rx.get("nsTime") is not None:
            return rx["nsTime"]
    return None


def _radio(rx_info: list[Any], tx_info: object) -> dict[str, Any]:
    """Gateway count, best RSSI (dBm) and SNR (dB), spreading factor, frequency (Hz)."""
    rx: dict[str, Any] = {"gateways": len(rx_info)}
    rssi = [v for r in rx_info if isinstance(r, dict) and (v := number(r.get("rssi"))) is not None]
    snr = [v for r in rx_info if isinstance(r, dict) and (v := number(r.get("snr"))) is not None]
    if rssi:
        rx["rssi"] = max(rssi)
    if snr:
        rx["snr"] = max(snr)
    if isinstance(tx_info, dict):
        if (frequency := whole(tx_info.get("frequency"), 1, MAX_FREQUENCY_HZ)) is not None:
            rx["frequency_hz"] = frequency
        modulation = tx_info.get("modulation")
        lora = modulation.get("lora") if isinstance(modulation, dict) else None
        sf = whole(lora.get("spreadingFactor"), 5, 12) if isinstance(lora, dict) else None
        if sf is not None:
            rx["sf"] = sf
    return rx
