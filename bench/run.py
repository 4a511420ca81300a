"""hyperville's benchmark harness: ``./run bench [options]`` (= ``python bench/run.py``).

One run: the raw SQLite baseline of this machine, a fresh server on a temp database loaded with
N entities through batch upserts (timed: the batch-upsert throughput of an initial load), then
wrk (a separate process, Lua scripts in bench/lua/) against single-entity GET, filtered query,
partial attribute update and batch upsert; the baseline again at the end (to see drift). Results
go to docs/benchmarks.json and to the generated section of docs/benchmarks.md, as absolute
figures, ratios to the same-run baseline, and verdicts against the project's targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline  # noqa: E402
import datagen  # noqa: E402
import floor  # noqa: E402
import ngsild_api  # noqa: E402
import profiles  # noqa: E402
import report  # noqa: E402
import wrk  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS_MD = ROOT / "docs" / "benchmarks.md"
DOCS_JSON = ROOT / "docs" / "benchmarks.json"

QUERY = {"type": "Streetlight", "q": 'wattage>100;powerState=="on"', "limit": "100"}
BATCH = 1000  # entities per upsert request, for the load and the upsert scenario
NEW_PER_BODY = 100  # entities of an upsert body that do not exist yet
UPSERT_BODIES = 8

# Run order matters: the read scenarios first, then the writes (upsert adds entities).
SCENARIOS: dict[str, dict] = {
    "get": {
        "title": "single-entity GET",
        "request": "GET /entities/{id} (random id)",
        "connections": 32,
        "per_request": 1,
        "unit": "GETs/s",
    },
    "query": {
        "title": "query type + q + limit=100",
        "request": 'GET /entities?type=Streetlight&q=wattage>100;powerState=="on"&limit=100',
        "connections": 16,
        "per_request": 1,
        "unit": "queries/s",
    },
    "patch": {
        "title": "partial attribute update",
        "request": "PATCH /entities/{id}/attrs/{attr} (random id)",
        "connections": 32,
        "per_request": 1,
        "unit": "updates/s",
    },
    "upsert": {
        "title": "batch upsert of 1,000",
        "request": "POST /entityOperations/upsert (900 existing + 100 new)",
        "connections": 2,
        "per_request": BATCH,
        "unit": "entities/s",
    },
}

# (key, scenario, metric, comparison, target, what)
TARGETS = [
    ("patch", "patch", "items_per_s", ">=", 2000, "partial updates/s"),
    ("get", "get", "req_per_s", ">=", 4000, "GETs/s"),
    ("upsert", "upsert", "items_per_s", ">=", 20000, "entities/s through batch upsert"),
    ("load", "load", "items_per_s", ">=", 20000, "entities/s through batch upsert (initial load)"),
    ("query", "query", "p95_ms", "<", 50, "ms p95, filtered query over the loaded entities"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="./run bench",
        description="Benchmark a hyperville server against the raw SQLite rate of this machine.",
    )
    p.add_argument("--quick", action="store_true", help="3 s per scenario, 1 s warm-up")
    p.add_argument("--duration", type=float, help="seconds per scenario (default 10, quick 3)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up per scenario (default 2)")
    p.add_argument("--entities", type=int, default=100_000, help="entities loaded (100000)")
    p.add_argument(
        "--only",
        action="append",
        metavar="SCENARIO",
        help=f"run only these scenarios ({', '.join(SCENARIOS)}; repeat or comma-separate); "
        "the load and the baseline always run; 'ingest' runs bench/ingest.py (sensor "
        "ingestion over HTTP and MQTT, see its --help)",
    )
    p.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    p.add_argument("--connections", type=int, help="wrk connections for get/query/patch")
    p.add_argument("--upsert-connections", type=int, default=2, help="wrk connections (2)")
    p.add_argument("--load-concurrency", type=int, default=2, help="parallel load requests (2)")
    p.add_argument("--baseline-rows", type=int, default=200_000, help="raw SQLite rows (200000)")
    p.add_argument("--seed", type=int, default=42, help="data generator seed (42)")
    p.add_argument("--keep-db", action="store_true", help="keep the temp database and logs")
    p.add_argument(
        "--db",
        type=Path,
        help="use this database file; when it already holds the entities the load is skipped",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record py-spy profiles of the server per scenario into DIR (distorts figures)",
    )
    p.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.*")
    args = p.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    chosen = [s.strip() for item in (args.only or []) for s in item.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in (*SCENARIOS, "load", "baseline", "ingest")]
    if unknown:
        p.error(
            f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}, ingest"
        )
    args.ingest = "ingest" in chosen  # bench/ingest.py: sensor ingestion, HTTP and MQTT
    args.scenarios = [s for s in SCENARIOS if not chosen or s in chosen]
    args.api = not chosen or bool(set(chosen) - {"ingest"})
    if args.entities < BATCH:
        p.error(f"--entities must be at least {BATCH}")
    return args


# -- facts ------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_facts() -> dict:
    try:
        from importlib.metadata import version

        hv_version = version("hyperville")
    except Exception:  # noqa: BLE001 - informative only
        hv_version = "unknown"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": _mem_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "hyperville": hv_version,
        "git_commit": _git("rev-parse", "--short=12", "HEAD") or "unknown",
        "git_dirty": dirty,
        "wrk": wrk.wrk_version(),
        "uvicorn_loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "uvicorn_http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# -- measurements -----------------------------------------------------------------------------
def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def _say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_load(server: ngsild_api.Server, args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    bodies = list(datagen.batches(args.entities, BATCH, seed=args.seed))
    gen_s = time.perf_counter() - t0
    _say(f"generated {args.entities} entities in {gen_s:.1f} s; loading them …")
    cpu0, machine0, self0 = server.cpu_seconds(), ngsild_api.cpu_snapshot(), _self_cpu()
    res = ngsild_api.load(server.port, bodies, concurrency=args.load_concurrency)
    server_cpu = server.cpu_seconds() - cpu0
    machine1 = ngsild_api.cpu_snapshot()
    client_cpu = _self_cpu() - self0
    lat = sorted(res["latencies_s"])
    requests = len(lat)
    ok = requests - len(res["failures"])
    wall = res["wall_s"]
    out = {
        "title": f"initial load ({args.entities:,} creates)",
        "request": "POST /entityOperations/upsert, 1,000 new entities each",
        "tool": f"python http.client, {args.load_concurrency} connections",
        "connections": args.load_concurrency,
        "requests": requests,
        "duration_s": round(wall, 3),
        "req_per_s": round(requests / wall, 1),
        "items_per_s": round(ok * BATCH / wall, 1),
        "unit": "entities/s",
        "p50_ms": round(_percentile(lat, 50) * 1000, 2),
        "p95_ms": round(_percentile(lat, 95) * 1000, 2),
        "p99_ms": round(_percentile(lat, 99) * 1000, 2),
        "max_ms": round(lat[-1] * 1000, 2) if lat else 0.0,
        "errors": len(res["failures"]),
        "statuses": res["statuses"],
        "error_sample": res["failures"][0][1] if res["failures"] else "",
        **ngsild_api.cpu_split(machine0, machine1, server_cpu, client_cpu, wall),
    }
    _say(
        f"load: {out['items_per_s']:,.0f} entities/s ({wall:.1f} s), p95 {out['p95_ms']} ms, "
        f"errors {out['errors']}"
    )
    return out


def check_counts(server: ngsild_api.Server, n: int) -> dict:
    client = ngsild_api.Client(server.port)
    counts = {t: client.count(t) for t in sorted(set(datagen.TYPE_BY_DIGIT))}
    return {"by_type": counts, "total": sum(counts.values()), "expected": n}


def query_string() -> str:
    return urllib.parse.urlencode(QUERY, quote_via=urllib.parse.quote)


def scenario_args(name: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    if name in ("get", "patch"):
        return [str(args.entities), str(args.seed)]
    if name == "query":
        return [query_string()]
    if name == "upsert":
        files = []
        for k in range(UPSERT_BODIES):
            body, _ = datagen.upsert_body(
                k, args.entities, size=BATCH, new=NEW_PER_BODY, seed=args.seed
            )
            path = workdir / f"upsert-{k}.json"
            path.write_bytes(body)
            files.append(str(path))
        return files
    raise ValueError(name)


def run_scenario(
    name: str, server: ngsild_api.Server, args: argparse.Namespace, workdir: Path
) -> dict:
    spec = SCENARIOS[name]
    lua = wrk.script(name, workdir)
    wrk_args = scenario_args(name, args, workdir)
    connections = spec["connections"]
    if name == "upsert":
        connections = args.upsert_connections
    elif args.connections:
        connections = args.connections
    common = {"threads": args.threads, "connections": connections, "server": server}
    if args.warmup > 0:
        wrk.run_wrk(server.base, lua, wrk_args, duration_s=args.warmup, **common)
    profile_to = None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile_to = args.profile / f"{name}.txt"
    r = wrk.run_wrk(
        server.base, lua, wrk_args, duration_s=args.duration, profile_to=profile_to, **common
    )
    seconds = r["duration_us"] / 1e6
    errors = r["bad"] + sum(r["socket_errors"].values())
    ok = r["requests"] - r["bad"]
    lat = r["latency_us"]
    out = {
        "title": spec["title"],
        "request": spec["request"],
        "tool": f"wrk -t{args.threads} -c{connections}",
        "connections": connections,
        "requests": r["requests"],
        "duration_s": round(seconds, 3),
        "req_per_s": round(r["requests"] / seconds, 1),
        "items_per_s": round(ok * spec["per_request"] / seconds, 1),
        "unit": spec["unit"],
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p95_ms": round(lat["p95"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "errors": errors,
        "statuses": r["statuses"],
        "socket_errors": r["socket_errors"],
        "error_sample": r["sample"],
        **r["cpu"],
        "wrk": r["command"],
    }
    if profile_to is not None and profile_to.exists():
        out["profile"] = {"file": str(profile_to), **profiles.summarize(profile_to)}
    _say(
        f"{name}: {out['req_per_s']:,.0f} req/s, {out['items_per_s']:,.0f} {out['unit']}, "
        f"p50/p95/p99 {out['p50_ms']}/{out['p95_ms']}/{out['p99_ms']} ms, errors {errors}, "
        f"CPU (cores) server {out['server_cpu']:.2f}, wrk {out['client_cpu']:.2f}, "
        f"kernel {out['kernel_cpu']:.2f}, other {out['other_cpu']:.2f}"
    )
    return out


def verdicts(scenarios: dict) -> list[dict]:
    rows = []
    for key, scenario, metric, op, target, what in TARGETS:
        s = scenarios.get(scenario)
        if s is None:
            continue
        value = s[metric]
        if op == ">=":
            met = value >= target
            ratio = value / target  # > 1: better than the target
        else:
            met = value < target
            ratio = target / value if value else float("inf")  # > 1: better than the target
        valid = s["errors"] == 0
        rows.append(
            {
                "key": key,
                "scenario": scenario,
                "what": what,
                "target": f"{op} {target:,}",
                "measured": value,
                "ratio": round(ratio, 2),
                "met": bool(met and valid),
                "valid": valid,
            }
        )
    return rows


def baseline_ratios(scenarios: dict, base: dict, floor_result: dict | None = None) -> list[dict]:
    rows = []
    if floor_result and "upsert" in scenarios:
        upsert = scenarios["upsert"]["items_per_s"]
        for step, rate in floor_result["entities_per_s"].items():
            rows.append(
                {
                    "scenario": "upsert",
                    "label": f"batch upsert entities/s ÷ store floor ({step}) entities/s",
                    "value": round(upsert / rate, 4) if rate else 0.0,
                }
            )
    insert = base["insert_rows_per_s"]
    reads = base["point_reads_per_s"]
    pairs = [
        ("load", "items_per_s", insert, "initial load entities/s ÷ raw insert rows/s"),
        ("upsert", "items_per_s", insert, "batch upsert entities/s ÷ raw insert rows/s"),
        ("patch", "items_per_s", insert, "partial updates/s ÷ raw insert rows/s"),
        ("get", "items_per_s", reads, "GETs/s ÷ raw point reads/s"),
    ]
    for scenario, metric, denom, label in pairs:
        if scenario in scenarios and denom:
            rows.append(
                {
                    "scenario": scenario,
                    "label": label,
                    "value": round(scenarios[scenario][metric] / denom, 4),
                }
            )
    if "query" in scenarios and reads:
        per_s = scenarios["query"]["items_per_s"] * int(QUERY["limit"])
        rows.append(
            {
                "scenario": "query",
                "label": "entities returned/s by the query ÷ raw point reads/s",
                "value": round(per_s / reads, 4),
            }
        )
    return rows


def wait_until_idle(
    server: ngsild_api.Server, *, timeout_s: float = 120.0, window_s: float = 0.5
) -> float:
    """Wait until the server's background work after start ends (the operations screen
    loads its layers: seconds over a reused database of 100,000 entities); the seconds
    waited. Idle: less than 5 % of a core over ``window_s``, at least 1 s after the load."""
    started = time.perf_counter()
    time.sleep(1)
    while time.perf_counter() - started < timeout_s:
        cpu = server.cpu_seconds()
        time.sleep(window_s)
        if server.cpu_seconds() - cpu < 0.05 * window_s:
            break
    return time.perf_counter() - started


def run_ingest(args: argparse.Namespace) -> int:
    """The ingestion benchmarks (bench/ingest.py), with this run's duration and options."""
    import ingest

    argv = ["--duration", str(args.duration), "--warmup", str(args.warmup)]
    if args.no_write:
        argv.append("--no-write")
    if args.profile:
        argv += ["--profile", str(args.profile)]
    return ingest.main(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ingest:
        code = run_ingest(args)
        if code or not args.api:
            return code
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk (./run test installs it)", file=sys.stderr)
        return 2
    if args.profile and shutil.which("py-spy") is None:
        print("--profile needs py-spy: pip install py-spy", file=sys.stderr)
        return 2
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    facts = machine_facts()
    _say(
        f"{facts['cpu_model']}, {facts['cores']} cores, Python {facts['python']}, "
        f"SQLite {facts['sqlite']}, commit {facts['git_commit']}"
        + (" (dirty)" if facts["git_dirty"] else "")
    )
    workdir = Path(tempfile.mkdtemp(prefix="hv-bench-"))
    db = args.db or workdir / "bench.sqlite"
    warnings: list[str] = []

    _say(f"raw SQLite baseline: {args.baseline_rows:,} rows …")
    base_before = baseline.sqlite_baseline(args.baseline_rows, directory=str(db.parent))
    _say(
        f"baseline: {base_before['insert_rows_per_s']:,} rows/s inserted, "
        f"{base_before['point_reads_per_s']:,} point reads/s"
    )

    server = ngsild_api.Server(db, log_path=workdir / "server.log")
    scenarios: dict[str, dict] = {}
    counts = None
    try:
        server.start()
        _say(f"server pid {server.pid} on {server.base}, database {db}")
        existing = check_counts(server, args.entities)["total"] if args.db else 0
        if existing >= args.entities:
            _say(f"{existing:,} entities already in {db}: load skipped")
            warnings.append(f"the load was skipped: {db} already held {existing:,} entities")
        else:
            if existing:
                warnings.append(f"{db} held {existing:,} entities before the load")
            scenarios["load"] = run_load(server, args)
        counts = check_counts(server, args.entities)
        if counts["total"] < args.entities:
            warnings.append(f"only {counts['total']:,} of {args.entities:,} entities are stored")
        probe = ngsild_api.Client(server.port)
        status, headers, _ = probe.request(
            "GET", f"{ngsild_api.NGSI}/entities?{query_string()}&count=true"
        )
        matching = int(headers.get("ngsild-results-count", "0")) if status == 200 else None
        _say(f"the query matches {matching} entities (HTTP {status})")
        waited = wait_until_idle(server)
        if waited > 2:
            _say(f"waited {waited:.0f} s for the server's background work to end")
        for name in args.scenarios:
            scenarios[name] = run_scenario(name, server, args, workdir)
            time.sleep(1)  # let the writer drain before the next scenario
        memory = server.memory_mb()
    finally:
        server.stop()

    floor_result = None
    if "upsert" in scenarios:
        _say("the store's floor for the upsert workload (raw SQLite on a copy of the file) …")
        floor_result = floor.upsert_floor(db, directory=str(db.parent))
        _say(
            "floor: " + ", ".join(f"{k} {v:,}/s" for k, v in floor_result["entities_per_s"].items())
        )
    os.sync()  # the server's dirty pages must not be written back during the baseline
    time.sleep(1)
    _say("raw SQLite baseline again …")
    base_after = baseline.sqlite_baseline(args.baseline_rows, directory=str(db.parent))
    base = {
        "before": base_before,
        "after": base_after,
        "insert_rows_per_s": round(
            (base_before["insert_rows_per_s"] + base_after["insert_rows_per_s"]) / 2
        ),
        "point_reads_per_s": round(
            (base_before["point_reads_per_s"] + base_after["point_reads_per_s"]) / 2
        ),
        "drift": round(base_after["insert_rows_per_s"] / base_before["insert_rows_per_s"], 3),
    }
    if abs(base["drift"] - 1) > 0.15:
        warnings.append(
            "the machine drifted: the raw insert rate changed by "
            f"{100 * (base['drift'] - 1):+.0f} % between the start and the end of the run"
        )
    for name, s in scenarios.items():
        if s["other_cpu"] + s["steal_cpu"] > 0.25:
            warnings.append(
                f"{name}: other processes used {s['other_cpu']:.2f} cores (steal "
                f"{s['steal_cpu']:.2f}) during the measurement: a noisy machine, compare "
                "ratios or run again"
            )
        if s["errors"]:
            warnings.append(
                f"{name}: {s['errors']} failed requests (statuses {s['statuses']}): "
                f"{s['error_sample'][:200]}"
            )
    if args.profile:
        warnings.append("py-spy was sampling the server: figures are lower than usual")
    if args.quick or args.duration < 10:
        warnings.append(f"short run ({args.duration:g} s per scenario): figures are indicative")
    if args.entities != 100_000:
        warnings.append(f"{args.entities:,} entities instead of 100,000")

    elapsed = time.perf_counter() - started
    results = {
        "meta": {
            "date": started_at.isoformat().replace("+00:00", "Z"),
            "run_seconds": round(elapsed, 1),
            "command": "./run bench " + " ".join(argv if argv is not None else sys.argv[1:]),
            "entities": args.entities,
            "entity_counts": counts,
            "query": QUERY,
            "query_matches": matching,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "server_memory": memory,
            "machine": facts,
        },
        "baseline": base,
        "scenarios": scenarios,
        "targets": verdicts(scenarios),
        "ratios": baseline_ratios(scenarios, base, floor_result),
        "floor": floor_result,
        "warnings": warnings,
    }
    _say(f"done in {elapsed:.0f} s")
    print(report.console(results))
    if not args.no_write:
        DOCS_JSON.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        report.write_markdown(DOCS_MD, report.markdown(results))
        _say(f"wrote {DOCS_MD.relative_to(ROOT)} and {DOCS_JSON.relative_to(ROOT)}")
    if args.keep_db or args.db:
        _say(f"kept {db} (logs and wrk scripts in {workdir})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
