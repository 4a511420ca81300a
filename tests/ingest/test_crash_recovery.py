"""SIGKILL the server during HTTP and MQTT load; after a restart every acknowledged data point
is in the store exactly once (the issue's reliability test)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
import orjson
import paho.mqtt.client as paho
import pytest

from hyperville.store.base import HistoryQuery
from hyperville.store.sqlite import SQLiteStore

pytestmark = [pytest.mark.usefixtures("need_broker"), pytest.mark.slow]
T0 = 1_764_000_000_000  # ms
COUNT = "https://uri.etsi.org/ngsi-ld/default-context/peopleCount"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "HYPERVILLE_ALLOW_DEFAULT_SECRET": "1",
        "HYPERVILLE_MQTT_URL": "mqtt://127.0.0.1:1883",
    }
    cmd = [sys.executable, "-m", "hyperville.cli", "serve", "--db", str(db), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                time.sleep(0.5)  # the MQTT subscription
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start: " + proc.stderr.read().decode()[-2000:])


def counts(db, tenant: str, entity_id: str) -> Counter:
    store = SQLiteStore(db)
    store.open()
    try:
        found = store.history(tenant, entity_id, HistoryQuery(attrs=(COUNT,), limit=10**6))
        return Counter(i["value"] for i in found.attrs.get(COUNT, []))
    finally:
        store.close()


def test_sigkill_under_load_loses_and_doubles_nothing(tmp_path, tenant) -> None:
    db, port = tmp_path / "crash.sqlite", free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(db, port)
    tokens = {}
    for device in ("web", "radio"):
        spec = {"deviceId": device, "mapping": {"n": "peopleCount"}}
        answer = httpx.post(f"{base}/api/v1/devices", json=spec, headers={"NGSILD-Tenant": tenant})
        tokens[device] = answer.json()[0]["token"]
    acked: list[int] = []
    unacked: list[list[dict]] = []
    stop = threading.Event()

    def http_load() -> None:
        n = 0
        headers = {"Authorization": f"Bearer {tokens['web']}", "NGSILD-Tenant": tenant}
        while not stop.is_set():
            # distinct times: history keeps one instance per (attribute, observedAt)
            batch = [{"n": n + i, "msgId": n + i, "ts": T0 + n + i} for i in range(50)]
            try:
                answer = httpx.post(
                    f"{base}/ingest/v1/devices/web/readings", json=batch, headers=headers
                )
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                acked.extend(r["n"] for r in batch)
            else:
                unacked.append(batch)
                return
            n += 50

    publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    publisher.connect("127.0.0.1", 1883)
    publisher.loop_start()
    published: list[int] = []

    def mqtt_load() -> None:
        for i in range(600):  # the broker queues at most 1000 for a disconnected session
            if stop.is_set():
                return
            info = publisher.publish(
                f"hyperville/{tenant}/devices/radio/up",
                orjson.dumps({"n": i, "msgId": i, "ts": T0 + i}),
                qos=1,
            )
            info.wait_for_publish(10)
            published.append(i)  # the broker has it: it must reach the twin once
            time.sleep(0.002)

    loaders = [threading.Thread(target=http_load), threading.Thread(target=mqtt_load)]
    for t in loaders:
        t.start()
    time.sleep(1.5)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    stop.set()
    for t in loaders:
        t.join(30)
    publisher.disconnect()
    publisher.loop_stop()
    assert acked and published, "no load reached the server before the kill"

    server = start(db, port)
    try:
        headers = {"Authorization": f"Bearer {tokens['web']}", "NGSILD-Tenant": tenant}
        for batch in unacked:  # an at-least-once client sends again what was not acked
            answer = httpx.post(
                f"{base}/ingest/v1/devices/web/readings", json=batch, headers=headers
            )
            assert answer.status_code == 200
            acked.extend(r["n"] for r in batch)
        settled, last, deadline = 0, -1, time.monotonic() + 30
        while settled < 10 and time.monotonic() < deadline:  # 2 s without new MQTT data
            now = accepted(base)
            settled = settled + 1 if now == last else 0
            last = now
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    web = counts(db, tenant, "urn:ngsi-ld:Device:web")
    radio = counts(db, tenant, "urn:ngsi-ld:Device:radio")
    assert set(acked) <= set(web), "an acknowledged HTTP reading is missing"
    assert set(published) <= set(radio), "an MQTT message the broker accepted is missing"
    assert max(web.values()) == 1 and max(radio.values()) == 1, "a reading was written twice"


def accepted(base: str) -> int:
    """Messages the server has made durable since it started, and its queue is empty."""
    text = httpx.get(f"{base}/metrics").text
    if "hyperville_ingest_queue_depth 0" not in text:
        return -1
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("hyperville_ingest_accepted_total")
    )
