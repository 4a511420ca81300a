"""The normalized LoRaWAN uplink, its error, and the checks every parser shares.

A network server (ChirpStack v4, The Things Stack v3) sends one JSON document per uplink.
``chirpstack.py`` and ``ttn.py`` turn it into an :class:`Uplink`; the ingestion pipeline maps
its ``decoded`` object (or what a codec makes of ``payload``) onto twin attributes.

Limits (the privacy model is low-resolution counts, not blobs):

- ``payload``: at most 242 bytes (the largest LoRaWAN application payload, EU868 DR7);
- ``decoded``: at most 64 entries (dict keys and list items, all levels together), nested at
  most 3 levels deep (the top object is level 1), strings at most 256 characters;
- a JSON body: at most 256 KiB (a large uplink with a dozen gateways is a few KiB).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from hyperville.core.errors import BadRequestData

MAX_PAYLOAD_BYTES = 242
MAX_DECODED_ENTRIES = 64
MAX_DECODED_DEPTH = 3
MAX_STRING_CHARS = 256
MAX_BODY_BYTES = 256 * 1024
MAX_FCNT = 2**32 - 1
MAX_PORT = 255
MAX_FREQUENCY_HZ = 10**10  # radio metadata sanity bound (LoRa bands are below 3 GHz)
_MAX_ID_CHARS = 128
_MAX_INT = 2**63 - 1


class UplinkError(BadRequestData):
    """A network-server message that cannot become an :class:`Uplink` (HTTP 400).

    ``reason`` says what is wrong; ``field`` names the offending member (a dotted path in the
    network server's own spelling, e.g. ``uplink_message.f_cnt``). The message names both.
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class Uplink:
    """One LoRaWAN uplink, whatever network server delivered it.

    ``received_at`` is timezone-aware UTC (network server time). ``rx`` holds a few radio
    figures only: ``gateways`` (count), ``rssi`` (dBm, best gateway), ``snr`` (dB, best
    gateway), ``sf`` (LoRa spreading factor), ``frequency_hz``, and ``simulated`` when the
    network server says the uplink was simulated. Gateway identities and positions are never
    kept. Construction checks every field and raises :class:`UplinkError`.
    """

    source: str
    device_id: str
    dev_eui: str | None
    application: str | None
    tenant: str | None
    fcnt: int | None
    dedup_id: str | None
    received_at: datetime
    port: int | None
    payload: bytes | None
    decoded: dict[str, Any] | None = field(default=None, hash=False)
    rx: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("source", "device_id"):
            check_text(getattr(self, name), name, required=True)
        for name in ("dev_eui", "application", "tenant", "dedup_id"):
            check_text(getattr(self, name), name)
        check_uint(self.fcnt, "fcnt", MAX_FCNT)
        check_uint(self.port, "port", MAX_PORT)
        if not isinstance(self.received_at, datetime) or self.received_at.utcoffset() is None:
            raise UplinkError("must be a timezone-aware datetime", field="received_at")
        object.__setattr__(self, "received_at", self.received_at.astimezone(UTC))
        if self.payload is not None:
            if not isinstance(self.payload, bytes):
                raise UplinkError("must be bytes", field="payload")
            check_payload_size(len(self.payload), "payload")
        check_decoded(self.decoded, "decoded")
        if not isinstance(self.rx, dict):
            raise UplinkError("must be a dict", field="rx")

    def idempotency_key(self) -> str:
        """A key that is the same for every redelivery of this uplink, and only for it.

        The network server's deduplication id when there is one: ChirpStack's
        ``deduplicationId`` (a UUID given once per uplink, after gateway deduplication) or The
        Things Stack's ``as:up:…`` correlation id. Both are repeated verbatim in MQTT
        redeliveries and HTTP retries, and stay distinct when a device's frame counter restarts.
        Otherwise ``"{device_id}:{fcnt}:{UTC date of received_at}"``: the frame counter
        identifies the frame and the date keeps a counter reset (rejoin, reboot) from
        colliding with the same counter of an earlier day; a reset that repeats a counter on
        the same day is then taken for a redelivery, which is why the id is preferred.
        """
        if self.dedup_id:
            return self.dedup_id
        return f"{self.device_id}:{self.fcnt}:{self.received_at.date().isoformat()}"

    def values(self, codec: Any = None, *, prefer_decoded: bool = True) -> dict[str, Any]:
        """The measurements of this uplink.

        The network server's decoded object when there is one (and ``prefer_decoded``),
        otherwise ``codec.decode(payload, port)`` (a :class:`~.codecs.PayloadCodec`).
        """
        if self.decoded is not None and (prefer_decoded or codec is None):
            return self.decoded
        if codec is None:
            raise UplinkError(
                "no decoded object from the network server and no codec", field="payload"
            )
        if not self.payload:
            raise UplinkError("empty frame: nothing to decode", field="payload")
        return codec.decode(self.payload, self.port)


# --- shared checks (field names are the network server's, for the error messages) ---------


def load_json_object(body: object) -> dict[str, Any]:
    """``body`` as a JSON object: a dict as is, bytes or str parsed (at most 256 KiB)."""
    if isinstance(body, dict):
        return body
    if not isinstance(body, bytes | bytearray | memoryview | str):
        raise UplinkError("must be a JSON object or its bytes", field="body")
    if len(body) > MAX_BODY_BYTES:
        raise UplinkError(f"larger than {MAX_BODY_BYTES} bytes", field="body")
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UplinkError(
            "not valid JSON (is the integration set to JSON?)", field="body"
        ) from None
    if not isinstance(obj, dict):
        raise UplinkError("must be a JSON object", field="body")
    return obj


def get_object(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict | None:
    """The JSON object ``obj[key]``; ``None`` when absent or null (unless ``required``)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise UplinkError("missing", field=where)
        return None
    if not isinstance(value, dict):
        raise UplinkError("must be a JSON object", field=where)
    return value


def check_text(value: object, where: str, *, required: bool = False) -> str | None:
    """A non-empty identifier-like string of at most 128 characters, or ``None``."""
    if value is None or value == "":
        if required:
            raise UplinkError("missing", field=where)
        return None
    if not isinstance(value, str):
        raise UplinkError("must be a string", field=where)
    if len(value) > _MAX_ID_CHARS or not value.isprintable():
        raise UplinkError(f"must be printable and at most {_MAX_ID_CHARS} characters", field=where)
    return value


def check_uint(value: object, where: str, maximum: int, default: int | None = None) -> int | None:
    """An integer in 0..maximum; a decimal string is accepted (the protobuf JSON mapping)."""
    if value is None:
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise UplinkError(f"must be an integer between 0 and {maximum}", field=where)
    return value


def number(value: object) -> float | int | None:
    """A finite JSON number, else ``None`` (radio metadata is informative, never fatal)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def whole(value: object, low: int, high: int) -> int | None:
    """An integral JSON number in ``low..high``, else ``None`` (for radio metadata)."""
    value = number(value)
    return (
        int(value) if value is not None and value == int(value) and low <= value <= high else None
    )


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_time(value: object, where: str) -> datetime:
    """An RFC 3339 timestamp with a zone (nanoseconds allowed, cut to microseconds), in UTC."""
    if not isinstance(value, str):
        raise UplinkError("missing" if value is None else "must be a string", field=where)
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise UplinkError("must be an RFC 3339 timestamp with a time zone", field=where)
    year, month, day, hour, minute, second, frac, zone = match.groups()
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
        return stamp.astimezone(UTC)
    except (ValueError, OverflowError):
        raise UplinkError("not a valid date and time", field=where) from None


_B64_STD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def decode_base64(value: object, where: str) -> bytes | None:
    """A base64 payload (standard or URL-safe, padding optional); ``None`` when empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UplinkError("must be a base64 string", field=where)
    if len(value) > 4 * math.ceil(MAX_PAYLOAD_BYTES / 3):
        raise UplinkError(f"payload larger than {MAX_PAYLOAD_BYTES} bytes", field=where)
    if _B64_URL.fullmatch(value):
        value = value.replace("-", "+").replace("_", "/")
    elif not _B64_STD.fullmatch(value):
        raise UplinkError("not valid base64", field=where)
    value = value.rstrip("=")
    if len(value) % 4 == 1:
        raise UplinkError("not valid base64 (bad length)", field=where)
    try:
        data = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise UplinkError("not valid base64", field=where) from None
    check_payload_size(len(data), where)
    return data or None


def check_payload_size(size: int, where: str) -> None:
    if size > MAX_PAYLOAD_BYTES:
        raise UplinkError(
            f"payload of {size} bytes, larger than the LoRaWAN maximum {MAX_PAYLOAD_BYTES}",
            field=where,
        )


def check_decoded(value: object, where: str) -> dict[str, Any] | None:
    """A decoded object within the limits (64 entries, 3 levels, short strings), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UplinkError("must be a JSON object", field=where)
    _walk(value, 1, [0], where)
    return value


def _walk(value: object, depth: int, count: list[int], where: str) -> None:
    if isinstance(value, dict | list):
        if depth > MAX_DECODED_DEPTH:
            raise UplinkError(f"nested deeper than {MAX_DECODED_DEPTH} levels", field=where)
        count[0] += len(value)
        if count[0] > MAX_DECODED_ENTRIES:
            raise UplinkError(f"more than {MAX_DECODED_ENTRIES} entries", field=where)
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or len(key) > MAX_STRING_CHARS:
                    raise UplinkError("keys must be strings of at most 256 characters", field=where)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _walk(item, depth + 1, count, f"{where}.{key}")
    elif isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise UplinkError(f"string longer than {MAX_STRING_CHARS} characters", field=where)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise UplinkError("not a finite number", field=where)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > _MAX_INT:
            raise UplinkError("integer out of the 64-bit range", field=where)
    elif value is not None and not isinstance(value, bool):
        raise UplinkError(f"unsupported value type {type(value).__name__}", field=where)
