"""LoRaWAN ingestion: network-server uplinks (ChirpStack v4, The Things Stack v3) and codecs.

Pure functions, no I/O: a transport (MQTT consumer, HTTP endpoint) hands a message body to
:func:`parse_chirpstack_up` or :func:`parse_ttn_up`, gets a normalized :class:`Uplink`, and
the pipeline takes its values from ``uplink.decoded`` (decoded by the network server) or from
a codec (:func:`get_codec`, e.g. ``cayenne-lpp`` or ``byte-layout``) via ``uplink.values``.
Every malformed input raises :class:`UplinkError` (a ``BadRequestData``: HTTP 400).
"""

from hyperville.ingest.lorawan.bytelayout import ByteLayout
from hyperville.ingest.lorawan.cayenne import CayenneLPP
from hyperville.ingest.lorawan.chirpstack import chirpstack_topic_info, parse_chirpstack_up
from hyperville.ingest.lorawan.codecs import (
    ENTRY_POINT_GROUP,
    CodecConfigError,
    PayloadCodec,
    available_codecs,
    get_codec,
    register_codec,
)
from hyperville.ingest.lorawan.ttn import parse_ttn_up, ttn_topic_info
from hyperville.ingest.lorawan.uplink import MAX_PAYLOAD_BYTES, Uplink, UplinkError

__all__ = [
    "ENTRY_POINT_GROUP",
    "MAX_PAYLOAD_BYTES",
    "ByteLayout",
    "CayenneLPP",
    "CodecConfigError",
    "PayloadCodec",
    "Uplink",
    "UplinkError",
    "available_codecs",
    "chirpstack_topic_info",
    "get_codec",
    "parse_chirpstack_up",
    "parse_ttn_up",
    "register_codec",
    "ttn_topic_info",
]
