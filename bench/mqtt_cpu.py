"""CPU time per MQTT message, split by thread: ``python bench/mqtt_cpu.py``.

A small machine's MQTT throughput is bounded by the CPU the server spends per message, and
the wall-clock rate of a shared machine says little about it. This runs the consumer, the
pipeline and a SQLite twin in THIS process against a Mosquitto of its own, with
``bench/ingest.py``'s raw publishers in other processes (messages of 3 data points), and
reads the CPU clock of each thread: the MQTT consumer (wire + decode + map), the pipeline's
batcher, the store's writer (the transaction), and the rest. Plus two loops without the
network: the wire alone (parse + PUBACKs) and the decoding and mapping alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # noqa: E402
from hyperville.ingest import devices as dev  # noqa: E402
from hyperville.ingest import mqtt_wire as wire  # noqa: E402
from hyperville.ingest.mqtt import MqttConsumer  # noqa: E402
from hyperville.ingest.pipeline import Pipeline  # noqa: E402
from hyperville.ingest.service import Ingestion  # noqa: E402
from hyperville.store.sqlite import SQLiteStore  # noqa: E402
from hyperville.twin import Twin  # noqa: E402


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by thread name."""
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            out[thread.name] = out.get(thread.name, 0.0) + time.clock_gettime(clock)
        except (OSError, TypeError):
            continue
    return out


def twin_with_devices(directory: str, count: int) -> tuple[SQLiteStore, Ingestion]:
    store = SQLiteStore(Path(directory) / "mqtt-cpu.sqlite")
    store.open()
    twin = Twin(store)
    pipeline = Pipeline(twin)
    pipeline.start()
    ingestion = Ingestion(pipeline)
    devices = []
    for n in range(count):
        fields = {name: dev._rule(name, rule) for name, rule in ingest.MAPPING.items()}
        device = dev.Device(
            "",
            f"bench-{n}",
            f"urn:ngsi-ld:Device:bench-{n}",
            dev.expand_name("AirQualityObserved"),
            fields,
        )
        asyncio.run(
            twin.create("", {"id": device.entity_id, "type": [device.entity_type], "attrs": {}})
        )
        devices.append(device)
    asyncio.run(ingestion.provision(devices))
    return store, ingestion


def stream(count: int, devices: int, base_ms: int) -> list[tuple[str, bytes]]:
    """(topic, payload) as the benchmark's publishers send them."""
    out = []
    for i in range(count):
        seq = i // devices + 1
        payload = (
            f'{{"ts":{base_ms + seq},"temp":{20 + seq % 100 / 10},"hum":{seq % 90},'
            f'"count":{seq % 7}}}'
        )
        out.append((f"hyperville/_/devices/bench-{i % devices}/up", payload.encode()))
    return out


def wire_loop(messages: list[tuple[str, bytes]], read_bytes: int = 65536) -> float:
    """µs per message to cut reads into PUBLISH packets and write their PUBACKs."""
    packets = []
    for n, (topic, payload) in enumerate(messages):
        raw = topic.encode()
        body = len(raw).to_bytes(2, "big") + raw + (n % 65535 + 1).to_bytes(2, "big") + b"\0"
        packets.append(b"\x32" + wire.encode_varint(len(body) + len(payload)) + body + payload)
    data = b"".join(packets)
    reader = wire.PacketReader(1 << 20)
    began = time.thread_time()
    for start in range(0, len(data), read_bytes):
        publishes, _ = reader.feed(data[start : start + read_bytes])
        wire.puback_packets([p.packet_id for p in publishes])
    return (time.thread_time() - began) / len(messages) * 1e6


def decode_loop(ingestion: Ingestion, messages: list[tuple[str, bytes]]) -> float:
    """µs per message to decode and map."""
    began = time.thread_time()
    for topic, payload in messages:
        ingestion.mqtt_message(topic, payload)
    return (time.thread_time() - began) / len(messages) * 1e6


def main() -> int:
    p = argparse.ArgumentParser(prog="python bench/mqtt_cpu.py", description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=200, help="devices (200)")
    p.add_argument("--rate", type=int, default=10_000, help="messages/s offered in all (10000)")
    p.add_argument("--duration", type=float, default=8.0, help="measured seconds (8)")
    p.add_argument("--publishers", type=int, default=2, help="publisher processes (2)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hv-mqtt-cpu-") as directory:
        store, ingestion = twin_with_devices(directory, args.devices)
        base_ms = int(time.time() * 1000) - 3_600_000
        sample = stream(50_000, args.devices, base_ms - 1_000_000)
        result = {
            "wire_us": round(wire_loop(sample), 2),
            "decode_map_us": round(decode_loop(ingestion, sample), 2),
        }
        broker = ingest.Mosquitto(Path(directory))
        broker.start()
        consumer = MqttConsumer(ingestion, f"mqtt://127.0.0.1:{broker.port}")
        try:
            consumer.start()
            if not consumer.subscribed.wait(10):
                raise RuntimeError("no SUBACK from the broker")
            result.update(measure(args, broker.port, ingestion, base_ms))
        finally:
            consumer.stop()
            ingestion.pipeline.stop()
            store.close()
            broker.stop()
    print(json.dumps(result, indent=2))
    return 0


def measure(args, broker_port: int, ingestion: Ingestion, base_ms: int) -> dict:
    start_at = time.time() + 1.0
    stop_at = start_at + args.duration
    devices = [f"bench-{n}" for n in range(args.devices)]
    spec = {
        "broker_port": broker_port,
        "inflight": 1000,
        "start_at": start_at,
        "stop_at": stop_at,
        "base_ms": base_ms,
        "rate": args.rate / args.publishers,
    }
    procs = [
        ingest._spawn("mqtt", {**spec, "devices": chunk})
        for chunk in ingest._split(devices, args.publishers)
    ]
    metrics = ingestion.metrics
    while time.time() < start_at + 1.0:  # one second of warm-up
        time.sleep(0.01)
    cpu0, points0, t0 = thread_cpu_s(), metrics.total("points"), time.time()
    while time.time() < stop_at:
        time.sleep(0.05)
    cpu1, points1, t1 = thread_cpu_s(), metrics.total("points"), time.time()
    ingest._collect(procs)
    messages = (points1 - points0) / ingest.POINTS_PER_READING
    per_thread = {
        name: round((cpu1[name] - cpu0.get(name, 0.0)) / messages * 1e6, 1)
        for name in cpu1
        if cpu1[name] - cpu0.get(name, 0.0) > 0.001
    }
    return {
        "messages_per_s": round(messages / (t1 - t0)),
        "cpu_us_per_message": round(sum(per_thread.values()), 1),
        "cpu_us_per_message_by_thread": per_thread,
    }


if __name__ == "__main__":
    sys.exit(main())
