"""Devices: the entity each one feeds, its payload allow-list, and its hashed credential.

A device's *mapping* names the payload fields it may send; each becomes one attribute of its
entity (with a unit code, a scale and a type). Fields the mapping does not name are dropped.
Binary or image-like content (long strings, base64-looking values) is refused: the twin only
takes low-resolution, counts-only measurements.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import hmac
import io
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from hyperville.core.errors import BadRequestData
from hyperville.store.sqlite_devices import DeviceRow
from hyperville.twin_ops import now_iso

DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
TYPES = ("number", "string", "boolean")
MAX_STRING = 256
MAX_FIELDS = 64
_B64ISH = re.compile(r"^[A-Za-z0-9+/_=-]{64,}$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_UNIT = re.compile(r"^[A-Za-z0-9]{1,8}$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
TIME_KEYS = ("observedAt", "timestamp", "ts", "time")
ID_KEYS = ("msgId", "messageId", "dedupId")
FCNT_KEYS = ("fcnt", "fCnt", "frameCounter")
MAX_FUTURE_S = 86400
_PLAIN = frozenset((int, float, bool, type(None)))  # values refuse_binary has nothing to say of
_NUMBER = (int, float)  # a tuple: ``int | float`` would build a union object at every call


def expand_name(name: str) -> str:
    """A short attribute or type name in the default @context, or an IRI as it is."""
    return name if ":" in name else DEFAULT_VOCAB + name


@dataclass(frozen=True)
class FieldRule:
    """One allowed payload field: where it goes and how it is converted."""

    attr: str  # expanded IRI
    type: str = "number"
    unit: str | None = None
    scale: float | None = None

    def to_json(self) -> dict:
        out: dict = {"attr": self.attr, "type": self.type}
        if self.unit:
            out["unit"] = self.unit
        if self.scale is not None:
            out["scale"] = self.scale
        return out


@dataclass
class Device:
    tenant: str
    device_id: str
    entity_id: str
    entity_type: str
    fields: dict[str, FieldRule]
    secret_hash: str = ""
    created_at: str = ""
    codec: str | None = None  # a LoRaWAN payload codec (ingest/lorawan/codecs.py)
    codec_options: dict | None = None
    _token_digest: bytes | None = field(default=None, repr=False, compare=False)

    def to_row(self) -> DeviceRow:
        mapping = {
            "entityType": self.entity_type,
            "fields": {name: rule.to_json() for name, rule in self.fields.items()},
        }
        if self.codec:
            mapping["codec"] = {"name": self.codec, "options": self.codec_options or {}}
        return DeviceRow(
            self.tenant, self.device_id, self.entity_id, mapping, self.secret_hash, self.created_at
        )

    @classmethod
    def from_row(cls, row: DeviceRow) -> Device:
        fields = {
            name: FieldRule(r["attr"], r.get("type", "number"), r.get("unit"), r.get("scale"))
            for name, r in row.mapping.get("fields", {}).items()
        }
        entity_type = row.mapping.get("entityType", DEFAULT_VOCAB + "Device")
        codec = row.mapping.get("codec") or {}
        return cls(
            row.tenant, row.device_id, row.entity_id, entity_type, fields, row.secret_hash,
            row.created_at, codec.get("name"), codec.get("options"),
        )  # fmt: skip

    def to_json(self) -> dict:
        return {
            "deviceId": self.device_id,
            "entityId": self.entity_id,
            "entityType": self.entity_type,
            "mapping": {name: rule.to_json() for name, rule in self.fields.items()},
            "createdAt": self.created_at,
        } | ({"codec": self.codec} if self.codec else {})

    def check_token(self, token: str) -> bool:
        """Verify a bearer token; the scrypt check is done once, then a digest is compared."""
        digest = hashlib.sha256(token.encode()).digest()
        if self._token_digest is not None:
            return hmac.compare_digest(digest, self._token_digest)
        if verify_secret(token, self.secret_hash):
            self._token_digest = digest
            return True
        return False


# -- credentials ------------------------------------------------------------------------------
def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 << 20, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=64 << 20,
            dklen=32,
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, _unb64(digest))


def new_token() -> str:
    return secrets.token_urlsafe(32)


# -- provisioning -----------------------------------------------------------------------------
def _rule(name: str, spec: object) -> FieldRule:
    if isinstance(spec, str):
        spec = {"attr": spec}
    if not isinstance(spec, dict):
        raise BadRequestData(f"mapping of field {name!r}: an object or an attribute name")
    unknown = set(spec) - {"attr", "type", "unit", "scale"}
    if unknown:
        raise BadRequestData(f"mapping of field {name!r}: unknown member(s) {sorted(unknown)}")
    attr = spec.get("attr", name)
    kind = spec.get("type", "number")
    unit, scale = spec.get("unit"), spec.get("scale")
    if not isinstance(attr, str) or not attr or attr.startswith("@"):
        raise BadRequestData(f"mapping of field {name!r}: attr must be an attribute name")
    if kind not in TYPES:
        raise BadRequestData(f"mapping of field {name!r}: type must be one of {', '.join(TYPES)}")
    if unit is not None and (not isinstance(unit, str) or not _UNIT.match(unit)):
        raise BadRequestData(f"mapping of field {name!r}: unit must be a UN/CEFACT code")
    if scale is not None:
        if kind != "number" or isinstance(scale, bool) or not isinstance(scale, int | float):
            raise BadRequestData(f"mapping of field {name!r}: scale is a number, numbers only")
        scale = float(scale)
    return FieldRule(expand_name(attr), kind, unit, scale)


def device_from_spec(tenant: str, spec: object) -> tuple[Device, str]:
    """Validate a provisioning request; returns the device and its (new or given) token."""
    if not isinstance(spec, dict):
        raise BadRequestData("a device is a JSON object")
    device_id = spec.get("deviceId")
    if not isinstance(device_id, str) or not _DEVICE_ID.match(device_id):
        raise BadRequestData("deviceId: 1-128 characters among letters, digits and . _ : -")
    entity_id = spec.get("entityId") or f"urn:ngsi-ld:Device:{device_id}"
    if not isinstance(entity_id, str) or ":" not in entity_id:
        raise BadRequestData("entityId must be a URI")
    entity_type = spec.get("entityType", "Device")
    if not isinstance(entity_type, str) or not entity_type:
        raise BadRequestData("entityType must be a type name")
    mapping = spec.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise BadRequestData("mapping: an object of payload field -> attribute, at least one")
    if len(mapping) > MAX_FIELDS:
        raise BadRequestData(f"mapping: at most {MAX_FIELDS} fields")
    token = spec.get("token") or new_token()
    if not isinstance(token, str) or len(token) < 16:
        raise BadRequestData("token: at least 16 characters (leave it out to get one)")
    fields = {str(name): _rule(str(name), rule) for name, rule in mapping.items()}
    codec, codec_options = spec.get("codec"), spec.get("codecOptions")
    if codec is not None and (not isinstance(codec, str) or not codec):
        raise BadRequestData("codec: the name of a payload codec")
    if codec_options is not None and not isinstance(codec_options, dict):
        raise BadRequestData("codecOptions: an object")
    if codec:
        from hyperville.ingest.lorawan.codecs import get_codec

        get_codec(codec, **(codec_options or {}))  # unknown codec or bad options: 400 now
    device = Device(
        tenant, device_id, entity_id, expand_name(entity_type), fields, hash_secret(token),
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), codec, codec_options,
    )  # fmt: skip
    return device, token


def specs_from_csv(text: str) -> list[dict]:
    """CSV import: columns deviceId, entityId, entityType, token (optional) and either
    ``mapping`` (JSON) or ``fields`` (``field=attr:type:unit:scale;…``, empty parts allowed)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "deviceId" not in reader.fieldnames:
        raise BadRequestData("CSV: a header line with at least deviceId and mapping or fields")
    specs = []
    for line, row in enumerate(reader, start=2):
        spec: dict = {k: v for k, v in row.items() if k and v not in (None, "")}
        try:
            if "mapping" in spec:
                spec["mapping"] = orjson.loads(spec["mapping"])
            elif "fields" in spec:
                spec["mapping"] = _compact_fields(spec.pop("fields"))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise BadRequestData(f"CSV line {line}: bad mapping ({exc})") from None
        spec["_line"] = line
        specs.append(spec)
    return specs


def _compact_fields(text: str) -> dict:
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, target = part.partition("=")
        attr, kind, unit, scale = ([*target.split(":"), "", "", "", ""])[:4]
        rule: dict = {"attr": attr or name, "type": kind or "number"}
        if unit:
            rule["unit"] = unit
        if scale:
            rule["scale"] = float(scale)
        mapping[name.strip()] = rule
    return mapping


# -- payload mapping --------------------------------------------------------------------------
def refuse_binary(value: object, path: str = "payload") -> None:
    """Refuse image-like or binary content anywhere in a decoded payload."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise BadRequestData(f"{path}: string longer than {MAX_STRING} characters refused")
        if _B64ISH.match(value):
            raise BadRequestData(f"{path}: binary (base64-like) content refused")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_binary(item, f"{path}.{key}")
    elif isinstance(value, list):
        if len(value) > MAX_FIELDS:
            raise BadRequestData(f"{path}: array of more than {MAX_FIELDS} items refused")
        for n, item in enumerate(value):
            refuse_binary(item, f"{path}[{n}]")


def parse_time(value: object, path: str = "observedAt") -> str:
    """ISO 8601 (with an offset) or epoch seconds / milliseconds → NGSI-LD DateTime (ms, Z)."""
    if type(value) is int and 1e11 <= value <= (time.time() + MAX_FUTURE_S) * 1000:
        # epoch milliseconds, what most sensors send: the text of its second is cached
        seconds, ms = divmod(value, 1000)
        return f"{_second_text(seconds)}.{ms:03d}Z"
    if isinstance(value, bool):
        raise BadRequestData(f"{path}: a date-time or an epoch number")
    if isinstance(value, _NUMBER):
        if not math.isfinite(value) or value < 0:
            raise BadRequestData(f"{path}: not a valid epoch time")
        seconds = value / 1000 if value >= 1e11 else value
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise BadRequestData(f"{path}: not a valid epoch time") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise BadRequestData(f"{path}: not an ISO 8601 date-time: {value[:40]!r}") from None
        if moment.tzinfo is None:
            raise BadRequestData(f"{path}: the date-time needs a time zone (Z or ±hh:mm)")
        moment = moment.astimezone(UTC)
    else:
        raise BadRequestData(f"{path}: a date-time or an epoch number")
    if moment.timestamp() > time.time() + MAX_FUTURE_S:
        raise BadRequestData(f"{path}: more than a day in the future")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@functools.lru_cache(maxsize=4096)
def _second_text(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _convert(name: str, rule: FieldRule, value: object) -> object:
    if rule.type == "number":
        if isinstance(value, bool) or not isinstance(value, _NUMBER):
            raise BadRequestData(f"field {name!r}: a number is expected, got {_kind(value)}")
        if not math.isfinite(value):
            raise BadRequestData(f"field {name!r}: not a finite number")
        if rule.scale is not None:
            value = round(value * rule.scale, 9)
        return value
    if rule.type == "boolean":
        if not isinstance(value, bool):
            raise BadRequestData(f"field {name!r}: a boolean is expected, got {_kind(value)}")
        return value
    if not isinstance(value, str) or not value:
        raise BadRequestData(f"field {name!r}: a non-empty string is expected, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _lookup(payload: dict, name: str) -> object:
    if name in payload:
        return payload[name]
    value: object = payload
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def map_payload(
    device: Device, payload: object, received_at: str | None
) -> tuple[list[tuple[str, str, dict]], str | None]:
    """One decoded reading (a JSON object) → readings for the twin, and its message id.

    ``received_at`` [NGSI-LD DateTime] is the time of a reading that gives none (None: now).

    Raises BadRequestData with the reason when the payload is not acceptable.
    """
    if not isinstance(payload, dict):
        raise BadRequestData(f"a reading is a JSON object, got {_kind(payload)}")
    for key, value in payload.items():  # refuse_binary(payload), without a call per number
        if type(value) not in _PLAIN:
            refuse_binary(value, f"payload.{key}")
    observed = None
    for key in TIME_KEYS:
        if key in payload:
            observed = parse_time(payload[key], key)
            break
    timed = observed is not None and observed != received_at  # gives a time of its own
    if observed is None:
        observed = received_at or now_iso()
    readings = []
    for name, rule in device.fields.items():
        value = _lookup(payload, name)
        if value is None:
            continue
        instance = {"type": "Property", "value": _convert(name, rule, value)}
        instance["observedAt"] = observed
        if rule.unit:
            instance["unitCode"] = rule.unit
        readings.append((device.entity_id, rule.attr, instance))
    if not readings:
        raise BadRequestData(
            "no mapped field in the reading (expected one of: " + ", ".join(device.fields) + ")"
        )
    return readings, _message_id(payload, observed, timed)


def _message_id(payload: dict, observed: str, timed: bool) -> str | None:
    """The redelivery key: an explicit id, else the frame counter (+ time), else the content
    when it carries its own time; None (no dedup) for an untimed reading without an id."""
    for key in ID_KEYS:
        value = payload.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return f"id:{value}"
    for key in FCNT_KEYS:
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"fcnt:{value}" + (f":{observed}" if timed else "")
    if timed:
        canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        return "hash:" + hashlib.sha256(canonical).hexdigest()
    return None
