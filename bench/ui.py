"""The operations screen in headless Chromium: render time, long tasks, layer response times.

    python bench/ui.py [--db var/ui-bench.sqlite] [--runs 3] [--seconds 30] [--rate 4]

Builds the full demo twin in ``--db`` when it is empty (as ``hyperville demo`` does), then:

- the built assets: raw, gzip and Brotli sizes (what a browser downloads);
- each layer endpoint on a fresh server: the first request (the server loads its layers in
  the background when it starts, restoring at once those persisted in the twin's file whose
  entities did not change since; a request may wait for them), and the median of 5 more;
- the page in Debian's Chromium (1600×900, the test suite's flags): first contentful paint and
  the "first meaningful render" (navigation start → every layer but the buildings drawn and
  the map idle: the page's ``hyperville-ready`` mark), ``--runs`` times on a server started
  just before (first visit) and ``--runs`` times on the same server afterwards (warm);
- main-thread long tasks (PerformanceObserver ``longtask``) while updates stream for
  ``--seconds``: ``--rate`` NGSI-LD batch upserts a second of 300 streetlights, 30 containers
  and every car park.

Wall-clock figures depend on what else runs on the machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
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
from hyperville.testing import CHROMIUM, live_server  # noqa: E402
from hyperville.testing import CHROMIUM_ARGS as ARGS  # noqa: E402

STATIC = ROOT / "src" / "hyperville" / "web" / "static"
OBSERVER = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
"""


def bundle_sizes() -> list[dict]:
    build = json.loads((STATIC / "build.json").read_text())
    names = [*build["assets"].values(), *build["preload"]]
    names += sorted(p.name for p in STATIC.glob("*.js") if p.name not in names)
    out = []
    for name in names:
        raw = (STATIC / name).stat().st_size
        gz = (STATIC / f"{name}.gz").stat().st_size if (STATIC / f"{name}.gz").exists() else raw
        br = (STATIC / f"{name}.br").stat().st_size if (STATIC / f"{name}.br").exists() else raw
        out.append({"file": name, "raw_kb": raw / 1024, "gzip_kb": gz / 1024, "br_kb": br / 1024})
    return out


def layer_times(db: Path) -> list[dict]:
    """Every layer on a server started just before: the first request, then 5 warm ones."""
    out = []
    with live_server(db, timeout_s=60) as server, httpx.Client(timeout=60) as client:
        layers = [s["id"] for s in client.get(f"{server.url}/api/v1/ui/config").json()["layers"]]
        for layer in layers:
            started = time.perf_counter()
            first = client.get(f"{server.url}/api/v1/ui/layers/{layer}")
            cold = (time.perf_counter() - started) * 1000
            warm = []
            for _ in range(5):
                started = time.perf_counter()
                client.get(f"{server.url}/api/v1/ui/layers/{layer}")
                warm.append((time.perf_counter() - started) * 1000)
            out.append(
                {
                    "layer": layer,
                    "features": len(first.json()["features"]),
                    "first_ms": cold,
                    "warm_ms": statistics.median(warm),
                    "gzip_kb": int(first.headers.get("content-length", 0)) / 1024,
                    "raw_kb": len(first.content) / 1024,
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
        })"""
    )
    return {"page": page, "errors": errors, **marks}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _prop(value, observed: str) -> dict:
    return {"type": "Property", "value": value, "observedAt": observed}


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
                level = _prop(round(rng.random(), 2), now)
                batch.append({"id": eid, "type": "WasteContainer", "fillingLevel": level})
            for eid in ids["parking"]:
                free = _prop(rng.randint(0, 60), now)
                batch.append({"id": eid, "type": "OffStreetParking", "availableSpotNumber": free})
            answer = client.post(
                f"{url}/ngsi-ld/v1/entityOperations/upsert",
                params={"options": "update"},
                json=batch,
            )
            answer.raise_for_status()
            written += len(batch)
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - tick)))
        return written


def _figures(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms ({', '.join(f'{v:.0f}' for v in values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "ui-bench.sqlite")
    parser.add_argument("--runs", type=int, default=3, help="page loads of each kind")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=4.0, help="update batches per second")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    state = prepare_demo(Settings(db_path=args.db, demo_mode=True), say=lambda _: None)
    print(f"twin: {state.entities:,} entities ({args.db}); load average {os.getloadavg()[0]:.1f}")
    report: dict = {"load_before": os.getloadavg()[0], "bundle": bundle_sizes()}
    print("\nasset                               raw KB  gzip KB  br KB")
    for row in report["bundle"]:
        sizes = f"{row['raw_kb']:>7.0f} {row['gzip_kb']:>8.0f} {row['br_kb']:>6.0f}"
        print(f"{row['file']:<34} {sizes}")

    report["layers"] = layer_times(args.db)
    print("\nlayer (fresh server)  features  first ms  warm ms  gzip KB  raw KB")
    for row in report["layers"]:
        print(
            f"{row['layer']:<20} {row['features']:>9,} {row['first_ms']:>9.1f} "
            f"{row['warm_ms']:>8.1f} {row['gzip_kb']:>8.0f} {row['raw_kb']:>7.0f}"
        )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
        first, errors = [], []
        for _ in range(args.runs):
            with live_server(args.db, timeout_s=60) as server:
                visit = render(browser, server.url)
                visit["page"].close()
                first.append(visit)
                errors += visit["errors"]
        with live_server(args.db, timeout_s=60) as server:
            render(browser, server.url)["page"].close()
            warm = []
            for _ in range(args.runs):
                visit = render(browser, server.url)
                visit["page"].close()
                warm.append(visit)
                errors += visit["errors"]
            report["fmr_first_visit_ms"] = [v["ready"] for v in first]
            report["fmr_warm_ms"] = [v["ready"] for v in warm]
            print(f"\nfirst meaningful render, first visit after a server start: "
                  f"{_figures(report['fmr_first_visit_ms'])}")  # fmt: skip
            print(f"first meaningful render, warm server: {_figures(report['fmr_warm_ms'])}")
            print(f"first contentful paint, warm: {_figures([v['fcp'] for v in warm])}")

            page = render(browser, server.url)["page"]
            page.wait_for_timeout(2000)
            before = len(page.evaluate("window.__longtasks"))
            seen_before = page.evaluate("window.hyperville.changesSeen")
            written = stream(server.url, args.seconds, args.rate, threading.Event())
            page.wait_for_timeout(1500)
            durations = sorted(d for _, d in page.evaluate("window.__longtasks")[before:])
            seen = page.evaluate("window.hyperville.changesSeen") - seen_before
            report["streaming"] = {
                "seconds": args.seconds,
                "updates_sent": written,
                "changes_received": seen,
                "long_tasks": len(durations),
                "over_200ms": sum(1 for d in durations if d > 200),
                "longest_ms": durations[-1] if durations else 0,
                "handlers": page.evaluate("window.hyperville.prof"),
            }
            s = report["streaming"]
            print(
                f"\nstreaming {args.seconds:.0f} s at {args.rate} batches/s: {written:,} entity "
                f"updates sent, {seen:,} changes received by the page"
            )
            print(
                f"long tasks (> 50 ms): {s['long_tasks']}, > 200 ms: {s['over_200ms']}, "
                f"longest: {s['longest_ms']:.0f} ms"
            )
            print("main-thread handlers (ms):", json.dumps(s["handlers"]))
        browser.close()
    report["load_after"] = os.getloadavg()[0]
    print(f"\nload average at the end: {report['load_after']:.1f}")
    if errors:
        print("page errors:", *errors, sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
