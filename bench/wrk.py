"""Run wrk with a scenario's Lua script and parse the JSON line its done() prints."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from pathlib import Path

from ngsild_api import cpu_snapshot, cpu_split

LUA_DIR = Path(__file__).resolve().parent / "lua"
MARK = "BENCH_JSON "


def wrk_version() -> str:
    exe = shutil.which("wrk")
    if exe is None:
        return "missing"
    out = subprocess.run([exe, "-v"], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def script(scenario: str, workdir: Path) -> Path:
    """common.lua followed by <scenario>.lua, as one file (wrk takes a single script)."""
    path = workdir / f"{scenario}.lua"
    common = (LUA_DIR / "common.lua").read_text()
    path.write_text(common + "\n" + (LUA_DIR / f"{scenario}.lua").read_text())
    return path


def run_wrk(
    base_url: str,
    lua: Path,
    args: list[str],
    *,
    duration_s: float,
    threads: int,
    connections: int,
    timeout_s: float = 30.0,
    server=None,
    profile_to: Path | None = None,
) -> dict:
    """One wrk run; returns its parsed report plus CPU time of wrk and of the server."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(lua),
        base_url,
        "--",
        *args,
    ]
    spy = None
    if profile_to is not None and server is not None:
        spy = subprocess.Popen(
            [
                "py-spy", "record", "--pid", str(server.pid), "--format", "raw",
                "--rate", "100", "--nonblocking", "--threads",
                "--duration", str(max(1, round(duration_s))), "-o", str(profile_to),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server.cpu_seconds() if server is not None else 0.0
    machine_before = cpu_snapshot()
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    server_cpu = (server.cpu_seconds() - server_before) if server is not None else 0.0
    machine_after = cpu_snapshot()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if spy is not None:
        spy.wait()
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:500]}")
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no {MARK.strip()} line:\n{out.stdout}\n{out.stderr}")
    report = json.loads(line[len(MARK) :])
    report["wall_s"] = round(wall, 3)
    report["server_cpu_s"] = round(server_cpu, 3)
    report["wrk_cpu_s"] = round(
        (children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        3,
    )
    report["cpu"] = cpu_split(machine_before, machine_after, server_cpu, report["wrk_cpu_s"], wall)
    report["command"] = " ".join(cmd[:8] + [lua.name, base_url, "--", *_short(args)])
    return report


def _short(args: list[str]) -> list[str]:
    return [Path(a).name if "/" in a else a for a in args]
