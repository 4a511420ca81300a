"""Payload codecs: pluggable classes that turn a LoRaWAN frame's bytes into named values.

A codec is used when the network server did not decode the frame itself (no ChirpStack
``object``, no TTS ``decoded_payload``). Write one by subclassing :class:`PayloadCodec`::

    @register_codec
    class Counter(PayloadCodec):
        name = "my-counter"

        def decode_frame(self, payload: bytes, port: int | None) -> dict[str, Value]:
            return {"count": int.from_bytes(payload[:2], "big")}

or ship it in a package that declares an entry point in the ``hyperville.codecs`` group
(``my-counter = "my_pkg.codecs:Counter"``); :func:`get_codec` loads it on first use.

:meth:`PayloadCodec.decode` does the checks every codec needs around ``decode_frame``:
payload size (1 to 242 bytes), port (never 0, which carries MAC commands; only ``ports`` when
the codec is configured with some), and the result (at most 64 scalar values, finite numbers,
strings of at most 256 characters). Anything a codec raises becomes an :class:`UplinkError`.
"""

from __future__ import annotations

import abc
import logging
import math
import re
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any, ClassVar

from hyperville.core.errors import BadRequestData
from hyperville.ingest.lorawan.uplink import (
    MAX_DECODED_ENTRIES,
    MAX_PAYLOAD_BYTES,
    MAX_STRING_CHARS,
    UplinkError,
)

Value = float | int | str | bool
ENTRY_POINT_GROUP = "hyperville.codecs"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_REGISTRY: dict[str, type[PayloadCodec]] = {}
log = logging.getLogger(__name__)


class CodecConfigError(BadRequestData):
    """A codec name or option that is wrong (a provisioning error, HTTP 400)."""


class PayloadCodec(abc.ABC):
    """Base class of payload codecs: subclasses set ``name`` and implement ``decode_frame``.

    ``ports``: the LoRaWAN FPorts (1-255) this codec accepts; ``None`` accepts any port but 0.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, ports: Iterable[int] | None = None) -> None:
        if ports is None:
            self.ports: frozenset[int] | None = None
            return
        if isinstance(ports, int | str | bytes) or not isinstance(ports, Iterable):
            raise CodecConfigError("ports: must be a list of integers between 1 and 255")
        chosen = list(ports)
        if not chosen or any(
            isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 255 for p in chosen
        ):
            raise CodecConfigError("ports: must be a list of integers between 1 and 255")
        self.ports = frozenset(chosen)

    def decode(self, payload: bytes, port: int | None) -> dict[str, Value]:
        """The values of one frame; raises :class:`UplinkError` (and nothing else) if it cannot."""
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise UplinkError("must be bytes", field="payload")
        payload = bytes(payload)
        if not payload:
            raise UplinkError("empty frame: nothing to decode", field="payload")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise UplinkError(
                f"payload of {len(payload)} bytes, larger than {MAX_PAYLOAD_BYTES}", field="payload"
            )
        self._check_port(port)
        try:
            values = self.decode_frame(payload, port)
        except UplinkError:
            raise
        except Exception as exc:  # a codec bug or a plugin's own error: reject the frame
            log.debug("codec %s failed on a %d-byte frame", self.name, len(payload), exc_info=True)
            raise UplinkError(
                f"codec {self.name!r} cannot decode the frame ({type(exc).__name__})",
                field="payload",
            ) from exc
        return check_values(values, self.name)

    @abc.abstractmethod
    def decode_frame(self, payload: bytes, port: int | None) -> dict[str, Value]:
        """Decode one frame of 1 to 242 bytes (the port is already checked)."""

    def _check_port(self, port: int | None) -> None:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise UplinkError("must be an integer", field="port")
        if port == 0:
            raise UplinkError("port 0 carries MAC commands, not application data", field="port")
        if self.ports is None:
            return
        if port is None or port not in self.ports:
            accepted = ", ".join(str(p) for p in sorted(self.ports))
            raise UplinkError(
                f"codec {self.name!r} handles ports {accepted}, not {port}", field="port"
            )


def check_values(values: object, codec: str = "codec") -> dict[str, Value]:
    """A codec result: a dict of at most 64 scalar values under short string keys."""
    where = f"{codec} result"
    if not isinstance(values, dict):
        raise UplinkError("must be a dict", field=where)
    if len(values) > MAX_DECODED_ENTRIES:
        raise UplinkError(f"more than {MAX_DECODED_ENTRIES} values", field=where)
    for key, value in values.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise UplinkError("keys must be strings of 1 to 64 characters", field=where)
        if isinstance(value, float) and not math.isfinite(value):
            raise UplinkError("not a finite number", field=f"{where}.{key}")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise UplinkError("string too long", field=f"{where}.{key}")
        if not isinstance(value, float | int | str | bool):
            raise UplinkError("must be a number, a string or a boolean", field=f"{where}.{key}")
    return values


def register_codec(codec_cls: type[PayloadCodec]) -> type[PayloadCodec]:
    """Register a codec class under its ``name`` (usable as a class decorator).

    Registering the same class twice is harmless; another class under a taken name is a
    ``ValueError``.
    """
    if not (isinstance(codec_cls, type) and issubclass(codec_cls, PayloadCodec)):
        raise TypeError("a codec must be a subclass of PayloadCodec")
    name = getattr(codec_cls, "name", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"codec name {name!r}: lower-case letters, digits, '.', '_' or '-'")
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not codec_cls:
        raise ValueError(f"codec name {name!r} is already taken by {existing.__qualname__}")
    _REGISTRY[name] = codec_cls
    return codec_cls


def get_codec(name: str, **options: Any) -> PayloadCodec:
    """A configured instance of the codec called ``name``.

    Looks in the registry, then in the ``hyperville.codecs`` entry points. Raises
    :class:`CodecConfigError` for an unknown name or bad options.
    """
    codec_cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if codec_cls is None and isinstance(name, str):
        codec_cls = _load_entry_point(name)
    if codec_cls is None:
        known = ", ".join(available_codecs())
        raise CodecConfigError(f"codec: unknown codec {name!r} (known: {known})")
    try:
        return codec_cls(**options)
    except CodecConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise CodecConfigError(f"codec {name!r}: bad options ({exc})") from None


def available_codecs() -> list[str]:
    """The names of the registered codecs and of those offered by entry points."""
    return sorted(set(_REGISTRY) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def _load_entry_point(name: str) -> type[PayloadCodec] | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name != name:
            continue
        try:
            codec_cls = ep.load()
            if getattr(codec_cls, "name", None) != name:
                raise ValueError(f"entry point {name!r} names a codec called {codec_cls.name!r}")
            return register_codec(codec_cls)
        except Exception as exc:
            log.warning("codec plugin %r cannot be loaded", name, exc_info=True)
            raise CodecConfigError(f"codec plugin {name!r} cannot be loaded: {exc}") from None
    return None
