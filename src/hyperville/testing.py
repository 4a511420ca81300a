"""Helpers for tests that need a real hyperville server (reusable by plugins and modules).

:func:`live_server` starts ``hyperville serve`` in a child process on a free port of
127.0.0.1 and stops it afterwards — the same program a user runs, not an in-process app.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium: Playwright cannot download its own browser on these machines."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # the machine's network is closed: no background calls, no update checks
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_component(available: bool, what: str) -> None:
    """A real component a test needs: missing fails the test in CI (CI=true), skips elsewhere."""
    import pytest

    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (needed in CI)")
    pytest.skip(what)


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str  # e.g. http://127.0.0.1:43121
    process: subprocess.Popen
    log_path: Path

    @property
    def ngsi_ld(self) -> str:
        return self.url + "/ngsi-ld/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_until_up(url: str, process: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"hyperville serve exited with {process.returncode}:\n"
                + log.read_text(errors="replace")
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"hyperville serve did not answer within {timeout_s} s")


@contextlib.contextmanager
def live_server(
    db_path: Path,
    *,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> Iterator[LiveServer]:
    """Run ``hyperville serve --db db_path`` until the block ends (then SIGTERM, then kill)."""
    port = port or free_port()
    log_path = Path(db_path).with_suffix(".server.log")
    child_env = {**os.environ, "HYPERVILLE_DEMO_MODE": "true", **(env or {})}
    command = [
        sys.executable,
        "-m",
        "hyperville.cli",
        "serve",
        "--db",
        str(db_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra_args,
    ]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=child_env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, timeout_s, log_path)
        yield LiveServer(url, process, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
