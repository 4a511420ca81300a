"""The server under test (a subprocess) and a small keep-alive HTTP client for the NGSI-LD API."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

NGSI = "/ngsi-ld/v1"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PF_KTHREAD = 0x00200000


def cpu_snapshot() -> dict:
    """CPU seconds so far of the whole machine (busy, without steal), of interrupts, of steal,
    and of kernel threads (I/O writeback, journaling…), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = f
    kthreads = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[6]) & PF_KTHREAD:
            kthreads += int(fields[11]) + int(fields[12])
    return {
        "busy": (user + nice + system + irq + softirq) / tick,
        "irq": (irq + softirq) / tick,
        "steal": steal / tick,
        "kthreads": kthreads / tick,
    }


def cpu_split(before: dict, after: dict, server_s: float, client_s: float, wall_s: float) -> dict:
    """Cores used on average during a measurement: server, client, kernel, everything else."""
    d = {k: after[k] - before[k] for k in before}
    kernel = d["irq"] + d["kthreads"]
    other = max(0.0, d["busy"] - server_s - client_s - kernel)
    return {
        "server_cpu": round(server_s / wall_s, 2),
        "client_cpu": round(client_s / wall_s, 2),
        "kernel_cpu": round(kernel / wall_s, 2),
        "other_cpu": round(other / wall_s, 2),
        "steal_cpu": round(d["steal"] / wall_s, 2),
    }


class Server:
    """``hyperville serve`` on 127.0.0.1 and a free port, over the given SQLite file."""

    def __init__(self, db: Path, *, log_path: Path, port: int | None = None) -> None:
        self.db = db
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout_s: float = 60.0) -> None:
        env = dict(os.environ, HYPERVILLE_ALLOW_DEFAULT_SECRET="1")
        cmd = [sys.executable, "-m", "hyperville.cli", "serve", "--db", str(self.db)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with code {self.proc.returncode}; see {self.log_path}"
                )
            try:
                status, _, _ = Client(self.port, timeout=2).request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer /health within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (every thread)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> dict:
        """Resident memory: anonymous (heap, SQLite page caches) and file-backed (mmap)."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                value = int(rest.split()[0])
                out[key] = value if key == "Threads" else round(value / 1024, 1)
        return out


class Client:
    """One keep-alive connection (http.client): cheap enough to drive the initial load."""

    def __init__(self, port: int, *, timeout: float = 120.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        self.conn.request(method, path, body=body, headers=headers or JSON)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def count(self, entity_type: str) -> int:
        path = f"{NGSI}/entities?type={entity_type}&count=true&limit=0"
        status, headers, data = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"count of {entity_type}: HTTP {status} {data[:200]!r}")
        return int(headers["ngsild-results-count"])


def load(port: int, bodies: Iterable[bytes], *, concurrency: int = 2) -> dict:
    """POST every body to /entityOperations/upsert from ``concurrency`` connections.

    Returns the wall time, per-request latencies (s) and the failures (status, excerpt).
    """
    todo = iter(bodies)
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[tuple[int, str]] = []
    statuses: dict[str, int] = {}

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                body = next(todo, None)
            if body is None:
                return
            start = time.perf_counter()
            status, _, data = client.request("POST", f"{NGSI}/entityOperations/upsert", body)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status not in (200, 201, 204):
                    failures.append((status, data[:300].decode(errors="replace")))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "wall_s": time.perf_counter() - start,
        "latencies_s": latencies,
        "statuses": statuses,
        "failures": failures,
    }
