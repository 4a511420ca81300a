"""The codec registry, plugins, the Uplink type, and property-based robustness."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperville.ingest.lorawan import (
    ByteLayout,
    CayenneLPP,
    CodecConfigError,
    PayloadCodec,
    Uplink,
    UplinkError,
    available_codecs,
    get_codec,
    parse_chirpstack_up,
    parse_ttn_up,
    register_codec,
)
from hyperville.ingest.lorawan import codecs as codecs_module


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """An isolated copy of the registry, and no installed entry points."""
    copy = dict(codecs_module._REGISTRY)
    monkeypatch.setattr(codecs_module, "_REGISTRY", copy)
    monkeypatch.setattr(codecs_module, "entry_points", lambda group: [])
    return copy


class Counter(PayloadCodec):
    name = "test-counter"

    def decode_frame(self, payload: bytes, port: int | None) -> dict:
        return {"count": int.from_bytes(payload[:2], "big")}


class Broken(PayloadCodec):
    name = "test-broken"

    def decode_frame(self, payload: bytes, port: int | None) -> dict:
        return {"first": {0: "x"}[payload[0]]}  # KeyError on most frames


class Blob(PayloadCodec):
    name = "test-blob"

    def decode_frame(self, payload: bytes, port: int | None) -> dict:
        return {"image": payload}  # bytes are not a value


class FakeEntryPoint:
    group = "hyperville.codecs"

    def __init__(self, name: str, target: object) -> None:
        self.name = name
        self.target = target

    def load(self) -> object:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_builtin_codecs_are_registered() -> None:
    assert {"cayenne-lpp", "byte-layout"} <= set(available_codecs())
    assert isinstance(get_codec("cayenne-lpp"), CayenneLPP)
    assert isinstance(
        get_codec("byte-layout", fields=[{"name": "n", "offset": 0, "type": "uint8"}]), ByteLayout
    )


def test_register_a_codec_class(registry: dict) -> None:
    assert register_codec(Counter) is Counter
    assert register_codec(Counter) is Counter  # twice is harmless
    assert get_codec("test-counter").decode(b"\x01\x00", 7) == {"count": 256}
    assert "test-counter" in available_codecs()


def test_register_refuses_clashes_and_non_codecs(registry: dict) -> None:
    other = type("Other", (Counter,), {})
    register_codec(Counter)
    with pytest.raises(ValueError, match="already taken"):
        register_codec(other)
    with pytest.raises(TypeError):
        register_codec(dict)  # type: ignore[arg-type]
    nameless = type("Nameless", (Counter,), {"name": "Has Spaces"})
    with pytest.raises(ValueError, match="codec name"):
        register_codec(nameless)


def test_unknown_codec(registry: dict) -> None:
    with pytest.raises(CodecConfigError, match="unknown codec 'nope'") as err:
        get_codec("nope")
    assert err.value.status == 400


def test_codecs_from_entry_points(registry: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    points = [
        FakeEntryPoint("test-counter", Counter),
        FakeEntryPoint("test-missing", ImportError("no module named vendor_codec")),
        FakeEntryPoint("test-misnamed", Counter),
    ]
    monkeypatch.setattr(codecs_module, "entry_points", lambda group: points)
    assert {"test-counter", "test-missing"} <= set(available_codecs())
    assert get_codec("test-counter").decode(b"\x00\x05", 1) == {"count": 5}
    assert registry["test-counter"] is Counter
    with pytest.raises(CodecConfigError, match="codec plugin 'test-missing' cannot be loaded"):
        get_codec("test-missing")
    with pytest.raises(CodecConfigError, match="test-misnamed"):
        get_codec("test-misnamed")


def test_codec_errors_become_uplink_errors(registry: dict) -> None:
    with pytest.raises(UplinkError, match="cannot decode the frame \\(KeyError\\)"):
        Broken().decode(b"\x07", 1)
    with pytest.raises(UplinkError, match="must be a number, a string or a boolean"):
        Blob().decode(b"\x07", 1)
    with pytest.raises(UplinkError, match="payload: must be bytes"):
        Counter().decode("0102", 1)  # type: ignore[arg-type]


# --- the Uplink type ---------------------------------------------------------------------


def uplink(**changes: object) -> Uplink:
    fields: dict = {
        "source": "chirpstack",
        "device_id": "0101010101010101",
        "dev_eui": "0101010101010101",
        "application": "app",
        "tenant": None,
        "fcnt": 7,
        "dedup_id": None,
        "received_at": datetime(2026, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2))),
        "port": 2,
        "payload": b"\x00\x2a",
    }
    fields.update(changes)
    return Uplink(**fields)


def test_uplink_times_are_utc() -> None:
    up = uplink()
    assert up.received_at == datetime(2026, 2, 1, 1, 30, tzinfo=UTC)
    assert up.received_at.tzinfo is UTC
    assert up.idempotency_key() == "0101010101010101:7:2026-02-01"  # the UTC date
    assert uplink(dedup_id="abc").idempotency_key() == "abc"
    assert hash(up) == hash(uplink(rx={"rssi": -80}))  # hashable although rx is a dict
    with pytest.raises(AttributeError):
        up.fcnt = 8  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"received_at": datetime(2026, 1, 31)}, "received_at"),
        ({"received_at": "2026-01-31T00:00:00Z"}, "received_at"),
        ({"device_id": ""}, "device_id"),
        ({"fcnt": -1}, "fcnt"),
        ({"port": 256}, "port"),
        ({"payload": bytes(243)}, "payload"),
        ({"payload": "002a"}, "payload"),
        ({"decoded": {"x": float("nan")}}, "decoded.x"),
        ({"decoded": {1: "x"}}, "decoded"),
        ({"decoded": {"x": object()}}, "decoded.x"),
        ({"decoded": {"x": 2**70}}, "decoded.x"),
        ({"rx": []}, "rx"),
    ],
)
def test_uplink_checks_its_fields(changes: dict, field: str) -> None:
    with pytest.raises(UplinkError) as err:
        uplink(**changes)
    assert err.value.field == field


def test_values_prefer_the_network_server_decoding() -> None:
    codec = get_codec(
        "byte-layout", fields=[{"name": "free_places", "offset": 0, "type": "uint16"}]
    )
    decoded = uplink(decoded={"free_places": 41})
    assert decoded.values(codec) == {"free_places": 41}
    assert decoded.values(codec, prefer_decoded=False) == {"free_places": 42}
    assert uplink().values(codec) == {"free_places": 42}
    with pytest.raises(UplinkError, match="no codec"):
        uplink().values()
    with pytest.raises(UplinkError, match="empty frame"):
        uplink(payload=None).values(codec)


# --- property-based: random input never raises anything but UplinkError -----------------

LAYOUT = ByteLayout(
    fields=[
        {"name": "a", "offset": 0, "type": "int8"},
        {"name": "b", "offset": 1, "type": "uint16", "endian": "little", "scale": 0.1},
        {"name": "c", "offset": 3, "type": "int32", "scale": 0.001},
        {"name": "d", "offset": 7, "type": "float32", "scale": 2.5},
        {"name": "e", "offset": 11, "type": "uint32"},
        {"name": "f", "offset": 15, "type": "bool", "bit": 3},
    ]
)
CODECS = [CayenneLPP(), CayenneLPP(ports=[1, 2]), LAYOUT]
PORTS = st.one_of(st.none(), st.integers(min_value=-5, max_value=300))


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=300), port=PORTS, which=st.sampled_from(range(len(CODECS))))
def test_random_bytes_only_raise_uplink_errors(
    payload: bytes, port: int | None, which: int
) -> None:
    try:
        values = CODECS[which].decode(payload, port)
    except UplinkError:
        return
    assert isinstance(values, dict) and len(values) <= 64


@settings(max_examples=300, deadline=None)
@given(
    frame=st.lists(
        st.sampled_from([0, 1, 2, 3, 101, 102, 103, 104, 113, 115, 134, 136]).flatmap(
            lambda t: st.tuples(st.integers(0, 255), st.just(t))
        ),
        max_size=8,
    ),
    data=st.data(),
)
def test_well_formed_cayenne_frames_always_decode(frame: list, data: st.DataObject) -> None:
    from hyperville.ingest.lorawan.cayenne import TYPES

    payload = b""
    channels = set()
    for channel, type_id in frame:
        if (channel, type_id) in channels:
            continue
        channels.add((channel, type_id))
        payload += bytes([channel, type_id]) + data.draw(
            st.binary(min_size=TYPES[type_id].size, max_size=TYPES[type_id].size)
        )
    if not payload:
        return
    values = CayenneLPP().decode(payload, 1)
    assert len(values) == sum(len(TYPES[t].parts) for _, t in channels)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | JSON.map(lambda v: v))
def test_random_bodies_only_raise_uplink_errors(raw: object) -> None:
    for parse in (parse_chirpstack_up, parse_ttn_up):
        with contextlib.suppress(UplinkError):
            parse(raw)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    info=st.fixed_dictionaries(
        {"devEui": st.just("0101010101010101")}, optional={"applicationId": JSON}
    ),
    extra=st.dictionaries(
        st.sampled_from(
            ["time", "fCnt", "fPort", "data", "object", "rxInfo", "txInfo", "deduplicationId"]
        ),
        JSON,
    ),
)
def test_chirpstack_members_of_any_shape_only_raise_uplink_errors(info: dict, extra: dict) -> None:
    body = {"time": "2026-01-01T00:00:00Z", "deviceInfo": info, **extra}
    with contextlib.suppress(UplinkError):
        parse_chirpstack_up(body)


@settings(max_examples=300, deadline=None)
@given(
    up=st.dictionaries(
        st.sampled_from(
            [
                "received_at",
                "f_cnt",
                "f_port",
                "frm_payload",
                "decoded_payload",
                "rx_metadata",
                "settings",
                "network_ids",
            ]
        ),
        JSON,
    )
)
def test_ttn_members_of_any_shape_only_raise_uplink_errors(up: dict) -> None:
    body = {
        "end_device_ids": {"device_id": "dev1"},
        "received_at": "2026-01-01T00:00:00Z",
        "uplink_message": up,
    }
    with contextlib.suppress(UplinkError):
        parse_ttn_up(body)
