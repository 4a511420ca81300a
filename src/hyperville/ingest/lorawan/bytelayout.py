"""A fixed byte layout, the codec ``byte-layout``: named fields at fixed offsets.

Enough for the simple sensors of a territory, e.g. a car-park counter sending the free places
as a big-endian ``uint16``, or a waste-bin sensor sending its fill level in half-percents::

    get_codec("byte-layout", fields=[
        {"name": "free_places", "offset": 0, "type": "uint16"},
        {"name": "fill_level", "offset": 2, "type": "uint8", "scale": 0.5},      # %
        {"name": "battery", "offset": 3, "type": "uint16", "endian": "little",
         "scale": 0.001},                                                       # mV -> V
        {"name": "lid_open", "offset": 5, "type": "bool", "bit": 0},
    ])

Field keys: ``name`` (letters, digits, ``_``; at most 64 characters), ``offset`` (byte,
0-241), ``type`` (``int8``, ``uint8``, ``int16``, ``uint16``, ``int32``, ``uint32``,
``float32``, ``bool``), ``endian`` (``big``, the default, or ``little``), ``scale`` (the value
is ``raw * scale``, default 1; integers stay integers when it is 1, otherwise the result is
rounded to the decimals of ``scale``), ``bit`` (``bool`` only: bit 0-7 of the byte, 0 the
least significant; without it any non-zero byte is true). Bytes after the last field are
ignored; a shorter frame is refused. Units are the mapping's business, not the codec's.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal
from typing import Any, NamedTuple

from hyperville.ingest.lorawan.codecs import CodecConfigError, PayloadCodec, Value, register_codec
from hyperville.ingest.lorawan.uplink import MAX_DECODED_ENTRIES, MAX_PAYLOAD_BYTES, UplinkError

TYPES: dict[str, tuple[str, int]] = {  # struct format letter, size in bytes
    "int8": ("b", 1),
    "uint8": ("B", 1),
    "int16": ("h", 2),
    "uint16": ("H", 2),
    "int32": ("i", 4),
    "uint32": ("I", 4),
    "float32": ("f", 4),
    "bool": ("B", 1),
}
_KEYS = {"name", "offset", "type", "endian", "scale", "bit"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class Field(NamedTuple):
    name: str
    offset: int
    type: str
    fmt: struct.Struct
    scale: float | int
    decimals: int  # decimals kept after scaling an integer
    bit: int | None


@register_codec
class ByteLayout(PayloadCodec):
    """Fields at fixed offsets; options: ``fields`` (see the module), ``ports``."""

    name = "byte-layout"

    def __init__(self, *, fields: list[dict[str, Any]], ports: Any = None) -> None:
        super().__init__(ports=ports)
        if not isinstance(fields, list | tuple) or not 1 <= len(fields) <= MAX_DECODED_ENTRIES:
            raise CodecConfigError(f"fields: must be a list of 1 to {MAX_DECODED_ENTRIES} fields")
        self.fields = tuple(_field(spec, f"fields[{i}]") for i, spec in enumerate(fields))
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise CodecConfigError("fields: names must be unique")
        self.min_length = max(f.offset + f.fmt.size for f in self.fields)

    def decode_frame(self, payload: bytes, port: int | None) -> dict[str, Value]:
        if len(payload) < self.min_length:
            raise UplinkError(
                f"payload too short for the byte layout: {len(payload)} bytes, "
                f"needs {self.min_length}",
                field="payload",
            )
        values: dict[str, Value] = {}
        for f in self.fields:
            (raw,) = f.fmt.unpack_from(payload, f.offset)
            if f.type == "bool":
                values[f.name] = bool(raw >> f.bit & 1) if f.bit is not None else raw != 0
            elif f.type == "float32":
                if not math.isfinite(raw):
                    raise UplinkError(f"{f.name} is not a finite number", field="payload")
                values[f.name] = float(f"{raw * f.scale:.7g}")  # float32: ~7 significant digits
            elif f.scale == 1:
                values[f.name] = raw
            else:
                values[f.name] = round(raw * f.scale, f.decimals)
        return values


def _field(spec: object, where: str) -> Field:
    if not isinstance(spec, dict):
        raise CodecConfigError(f"{where}: must be an object")
    unknown = set(spec) - _KEYS
    if unknown:
        raise CodecConfigError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CodecConfigError(f"{where}.name: letters, digits and '_', at most 64 characters")
    type_ = spec.get("type")
    if type_ not in TYPES:
        raise CodecConfigError(f"{where}.type: one of {', '.join(TYPES)}")
    letter, size = TYPES[type_]
    offset = spec.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise CodecConfigError(f"{where}.offset: must be an integer ≥ 0")
    if offset + size > MAX_PAYLOAD_BYTES:
        raise CodecConfigError(f"{where}.offset: the field ends after byte {MAX_PAYLOAD_BYTES}")
    endian = spec.get("endian", "big")
    if endian not in ("big", "little"):
        raise CodecConfigError(f"{where}.endian: 'big' or 'little'")
    scale = spec.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise CodecConfigError(f"{where}.scale: must be a finite number")
    if scale == 0 or abs(scale) > 1e9 or abs(scale) < 1e-9:
        raise CodecConfigError(f"{where}.scale: must be non-zero, between 1e-9 and 1e9")
    bit = spec.get("bit")
    if type_ == "bool":
        if scale != 1:
            raise CodecConfigError(f"{where}.scale: does not apply to a bool")
        if bit is not None and (type(bit) is not int or not 0 <= bit <= 7):
            raise CodecConfigError(f"{where}.bit: an integer from 0 to 7")
    elif bit is not None:
        raise CodecConfigError(f"{where}.bit: only for a bool")
    decimals = max(0, -int(Decimal(repr(float(scale))).normalize().as_tuple().exponent))
    fmt = struct.Struct((">" if endian == "big" else "<") + letter)
    return Field(name, offset, type_, fmt, scale, min(decimals, 12), bit)
