"""Cayenne Low Power Payload (LPP), the codec ``cayenne-lpp``.

A frame is a sequence of ``[channel (1 byte)][type (1 byte)][value (big-endian)]`` items;
several items, on several channels, fit in one frame. Types are IPSO object ids minus 3200:

====  ==================  =====  =========================================  ============
type  key                 bytes  resolution                                 values
====  ==================  =====  =========================================  ============
0     ``digital_input``   1      1, unsigned                                int
1     ``digital_output``  1      1, unsigned                                int
2     ``analog_input``    2      0.01, signed                               float
3     ``analog_output``   2      0.01, signed                               float
101   ``illuminance``     2      1 lux, unsigned                            int (lux)
102   ``presence``        1      1, unsigned                                int
103   ``temperature``     2      0.1 °C, signed                             float (°C)
104   ``humidity``        1      0.5 %, unsigned                            float (% RH)
113   ``accelerometer``   6      0.001 G, signed, x y z                     float (G)
115   ``barometer``       2      0.1 hPa, unsigned                          float (hPa)
134   ``gyrometer``       6      0.01 °/s, signed, x y z                    float (°/s)
136   ``gps``             9      lat, lon 0.0001° signed; alt 0.01 m signed  float (°, m)
====  ==================  =====  =========================================  ============

Keys are ``{key}_{channel}`` (``temperature_3``), with ``_x``/``_y``/``_z`` or
``_latitude``/``_longitude``/``_altitude`` for the multi-value types. Reference: the
Cayenne LPP documentation (myDevices, "Cayenne Low Power Payload", docs.mydevices.com) and
the reference implementation ElectronicCats/CayenneLPP.
"""

from __future__ import annotations

from typing import NamedTuple

from hyperville.ingest.lorawan.codecs import PayloadCodec, Value, register_codec
from hyperville.ingest.lorawan.uplink import UplinkError


class _Part(NamedTuple):
    suffix: str  # appended to the key ("" for single-value types)
    size: int  # bytes
    divisor: int  # raw / divisor = value in the unit of the table; 1 keeps an int
    signed: bool


class _Type(NamedTuple):
    key: str
    parts: tuple[_Part, ...]

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)


def _one(key: str, size: int, divisor: int, signed: bool) -> _Type:
    return _Type(key, (_Part("", size, divisor, signed),))


def _xyz(key: str, divisor: int) -> _Type:
    return _Type(key, tuple(_Part(f"_{axis}", 2, divisor, True) for axis in "xyz"))


TYPES: dict[int, _Type] = {
    0: _one("digital_input", 1, 1, False),
    1: _one("digital_output", 1, 1, False),
    2: _one("analog_input", 2, 100, True),
    3: _one("analog_output", 2, 100, True),
    101: _one("illuminance", 2, 1, False),
    102: _one("presence", 1, 1, False),
    103: _one("temperature", 2, 10, True),
    104: _one("humidity", 1, 2, False),
    113: _xyz("accelerometer", 1000),
    115: _one("barometer", 2, 10, False),
    134: _xyz("gyrometer", 100),
    136: _Type(
        "gps",
        (
            _Part("_latitude", 3, 10000, True),
            _Part("_longitude", 3, 10000, True),
            _Part("_altitude", 3, 100, True),
        ),
    ),
}


@register_codec
class CayenneLPP(PayloadCodec):
    """Cayenne LPP frames; options: ``ports`` (the FPorts to accept, default any but 0)."""

    name = "cayenne-lpp"

    def decode_frame(self, payload: bytes, port: int | None) -> dict[str, Value]:
        values: dict[str, Value] = {}
        i, n = 0, len(payload)
        while i < n:
            if n - i < 2:
                raise UplinkError(f"truncated item at byte {i}: no type byte", field="payload")
            channel, type_id = payload[i], payload[i + 1]
            lpp = TYPES.get(type_id)
            if lpp is None:
                raise UplinkError(
                    f"unknown CayenneLPP type {type_id} at byte {i + 1}", field="payload"
                )
            start = i + 2
            if start + lpp.size > n:
                raise UplinkError(
                    f"truncated {lpp.key} on channel {channel} at byte {i}: "
                    f"needs {lpp.size} bytes, {n - start} left",
                    field="payload",
                )
            for part in lpp.parts:
                key = f"{lpp.key}_{channel}{part.suffix}"
                if key in values:
                    raise UplinkError(f"{key} appears twice in the frame", field="payload")
                raw = int.from_bytes(payload[start : start + part.size], "big", signed=part.signed)
                values[key] = raw if part.divisor == 1 else raw / part.divisor
                start += part.size
            i = start
        return values
