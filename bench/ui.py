"""The operations screen in headless Chromium: render time, long tasks, layer response times.

    python bench/ui.py [--db var/ui-bench.sqlite] [--seconds 20] [--rate 4]

Builds the full demo twin in ``--db`` when it is empty (as ``hyperville demo`` does), starts
``hyperville serve`` on it, then measures:

- each layer endpoint: the first (cold) request, which reads the twin, and the median of 5
  warm requests (gzip), with the compressed and raw sizes;
- the page in Debian's Chromium: first contentful paint and the "first meaningful render"
  (navigation start → every layer drawn and the map idle, the ``hyperville-ready`` mark), on
  a cold and on a warm server;
- main-thread long tasks (PerformanceObserver ``longtask``) while updates stream: ``--rate``
  batches a second of 300 streetlights, 30 containers and every car park, for ``--seconds``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hyperville.demo import prepare_demo  # noqa: E402
from hyperville.settings import Settings  # noqa: E402
from hyperville.testing import (  # noqa: E402
    CHROMIUM,
    live_server,
)
from hyperville.testing import CHROMIUM_ARGS as ARGS  # noqa: E402

OBSERVER = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
"""


def layer_times(url: str, layers: list[str]) -> list[dict]:
    out = []
    with httpx.Client(timeout=60) as client:
        for layer in layers:
            started = time.perf_counter()
            first = client.get(f"{url}/api/v1/ui/layers/{layer}")
            cold = (time.perf_counter() - started) * 1000
            warm = []
            for _ in range(5):
                started = time.perf_counter()
                answer = client.get(f"{url}/api/v1/ui/layers/{layer}")
                warm.append((time.perf_counter() - started) * 1000)
            features = len(answer.json()["features"])
            out.append(
                {
                    "layer": layer,
                    "features": features,
                    "cold_ms": round(cold, 1),
                    "warm_ms": round(statistics.median(warm), 1),
                    "gzip_kb": round(int(first.headers.get("content-length", 0)) / 1024),
                    "raw_kb": round(len(answer.content) / 1024),
                }
            )
    return out


def render(browser, url: str) -> dict:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(OBSERVER)
    page.goto(url + "/")
    page.wait_for_function("window.hyperville && window.hyperville.ready", timeout=60_000)
    marks = page.evaluate(
        """() => ({
          ready: performance.getEntriesByName('hyperville-ready')[0].startTime,
          fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
          longtasks: window.__longtasks.slice(),
        })"""
    )
    marks["errors"] = errors
    return {"page": page, **marks}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def stream(url: str, seconds: float, rate: float, stop: threading.Event) -> int:
    """Batches of live readings through the NGSI-LD batch update; returns entities written."""
    with httpx.Client(timeout=30) as client:
        ids = {}
        for layer in ("lights", "containers", "parking"):
            body = client.get(f"{url}/api/v1/ui/layers/{layer}").json()
            ids[layer] = [f["properties"]["i"] for f in body["features"]]
        rng = random.Random(7)
        written = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stop.is_set():
            tick = time.monotonic()
            now = _now()
            batch = []
            for eid in rng.sample(ids["lights"], min(300, len(ids["lights"]))):
                state = rng.choice(["on", "on", "on", "off", "low"])
                batch.append({"id": eid, "type": "Streetlight", "powerState": _prop(state, now)})
            for eid in rng.sample(ids["containers"], min(30, len(ids["containers"]))):
                batch.append(
                    {"id": eid, "type": "WasteContainer", "fillingLevel": _prop(rng.random(), now)}
                )
            for eid in ids["parking"]:
                batch.append(
                    {
                        "id": eid,
                        "type": "OffStreetParking",
                        "availableSpotNumber": _prop(rng.randint(0, 60), now),
                    }
                )
            answer = client.post(
                f"{url}/ngsi-ld/v1/entityOperations/upsert",
                params={"options": "update"},
                json=batch,
            )
            answer.raise_for_status()
            written += len(batch)
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - tick)))
        return written


def _prop(value, observed: str) -> dict:
    return {"type": "Property", "value": value, "observedAt": observed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "ui-bench.sqlite")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=4.0, help="update batches per second")
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    state = prepare_demo(Settings(db_path=args.db, demo_mode=True), say=lambda _: None)
    print(f"twin: {state.entities:,} entities ({args.db})")
    with live_server(args.db, timeout_s=60) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
        cold = render(browser, server.url)
        cold["page"].close()
        print(
            f"cold server: first contentful paint {cold['fcp']:.0f} ms, "
            f"first meaningful render {cold['ready']:.0f} ms"
        )
        print("\nlayer        features  cold ms  warm ms  gzip KB  raw KB")
        layers = [
            spec["id"] for spec in httpx.get(f"{server.url}/api/v1/ui/config").json()["layers"]
        ]
        # a fresh server process would be needed for truly cold layers: "cold" here is the
        # first request after the page load (the cache is warm), so report the page's own
        # cold figure above and the layer warm times here
        for row in layer_times(server.url, layers):
            print(
                f"{row['layer']:<12} {row['features']:>8,} {row['cold_ms']:>8} "
                f"{row['warm_ms']:>8} {row['gzip_kb']:>8} {row['raw_kb']:>7}"
            )
        warm = render(browser, server.url)
        print(
            f"\nwarm server: first contentful paint {warm['fcp']:.0f} ms, "
            f"first meaningful render {warm['ready']:.0f} ms"
        )
        page = warm["page"]
        before = len(page.evaluate("window.__longtasks"))
        seen_before = page.evaluate("window.hyperville.changesSeen")
        stop = threading.Event()
        written = stream(server.url, args.seconds, args.rate, stop)
        page.wait_for_timeout(1000)
        tasks = page.evaluate("window.__longtasks")[before:]
        seen = page.evaluate("window.hyperville.changesSeen") - seen_before
        durations = sorted(d for _, d in tasks)
        print(
            f"\nstreaming {args.seconds:.0f} s at {args.rate} batches/s: {written:,} entity "
            f"updates sent, {seen:,} changes received by the page"
        )
        print(
            f"long tasks (> 50 ms): {len(durations)}, > 200 ms: "
            f"{sum(1 for d in durations if d > 200)}, longest: "
            f"{(durations[-1] if durations else 0):.0f} ms"
        )
        print("main-thread handlers:", page.evaluate("JSON.stringify(window.hyperville.prof)"))
        errors = cold["errors"] + warm["errors"]
        if errors:
            print("page errors:", *errors, sep="\n  ")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
