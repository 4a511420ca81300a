"""``hyperville demo`` with sensors: the first run backfills and starts the live simulator,
later runs reuse the data and are ready in a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress

import httpx

from hyperville.demo import BACKFILL_MARK, prepare_demo
from hyperville.settings import Settings
from hyperville.testing import free_port


def test_prepare_demo_backfills_once(tmp_path):
    settings = Settings(db_path=tmp_path / "demo.sqlite", demo_mode=True)
    lines: list[str] = []
    first = prepare_demo(settings, scale=0.05, backfill_days=1, say=lines.append)
    assert first.built and not first.failed_layers, lines
    assert first.backfill_points > 5000, lines
    assert (tmp_path / "demo-territory" / BACKFILL_MARK).exists()
    again = prepare_demo(settings, scale=0.05, backfill_days=1, say=lines.append)
    assert not again.built and again.backfill_points == 0
    assert again.seconds < 5


@contextmanager
def demo_process(db, port: int, *args: str):
    log = open(db.with_suffix(".log"), "ab")  # noqa: SIM115
    command = [sys.executable, "-m", "hyperville.cli", "demo", "--db", str(db),
               "--port", str(port), "--scale", "0.05", *args]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    started = time.monotonic()
    try:
        while True:
            assert process.poll() is None, db.with_suffix(".log").read_text()
            with suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() - started < 120, "the demo did not start"
            time.sleep(0.05)
        yield time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_demo_command_first_run_then_fast_restart(tmp_path):
    db = tmp_path / "demo.sqlite"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with demo_process(db, port, "--backfill-days", "1"):
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * 86400))
        entity = "urn:ngsi-ld:OffStreetParking:PK-GARE-01"
        answer = httpx.get(f"{base}/ngsi-ld/v1/temporal/entities/{entity}",
                           params={"timerel": "after", "timeAt": since,
                                   "attrs": "occupancy", "lastN": 100}, timeout=30)  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["occupancy"]) >= 23  # a day of hourly history
        deadline = time.monotonic() + 20
        while "live:" not in db.with_suffix(".log").read_text():
            assert time.monotonic() < deadline, db.with_suffix(".log").read_text()
            time.sleep(0.2)
    log = db.with_suffix(".log").read_text()
    assert "backfilling 1 days" in log and "live: 142 devices" in log, log
    with demo_process(db, port) as seconds:
        assert seconds < 5
    log = db.with_suffix(".log").read_text()
    assert log.count("backfilling") == 1 and log.count("first run") == 1


def test_prepare_demo_can_provision_without_history(tmp_path):
    from hyperville.api.app import open_store
    from hyperville.store import sqlite_devices as sql

    settings = Settings(db_path=tmp_path / "demo.sqlite", demo_mode=True)
    lines: list[str] = []
    state = prepare_demo(settings, scale=0.05, provision=True, say=lines.append)
    assert state.backfill_points == 0 and "simulator: 142 devices (142 provisioned)" in lines
    store = open_store(settings)
    store.open()
    try:
        assert len(sql.list_devices(store._reader(), "", limit=1000, offset=0)) == 142
    finally:
        store.close()


def test_later_start_catches_up_the_readings_missed_while_stopped(tmp_path):
    """Stopped for 5 hours: each device gets the hourly readings it missed, from its own
    latest reading on, and none it already had."""
    settings = Settings(db_path=tmp_path / "demo.sqlite", demo_mode=True)
    lines: list[str] = []
    prepare_demo(settings, scale=0.05, backfill_days=1, provision=True, say=lines.append)
    entity = "urn:ngsi-ld:OffStreetParking:PK-GARE-01"

    def occupancy_history() -> list[str]:
        from hyperville.api.app import open_store
        from hyperville.store.base import HistoryQuery

        store = open_store(settings)
        store.open()
        try:
            attr = "https://uri.etsi.org/ngsi-ld/default-context/occupancy"
            result = store.history("", entity, HistoryQuery(attrs=(attr,), limit=10_000))
            return sorted(i["observedAt"] for i in result.attrs[attr])
        finally:
            store.close()

    before = occupancy_history()
    same_time = prepare_demo(settings, scale=0.05, backfill_days=1, provision=True,
                             say=lines.append)  # fmt: skip
    assert same_time.backfill_points == 0 and not any("catching up" in x for x in lines)
    later = prepare_demo(settings, scale=0.05, backfill_days=1, provision=True,
                         say=lines.append, clock=lambda: time.time() + 5 * 3600)  # fmt: skip
    assert any("catching up" in x for x in lines), lines
    assert later.backfill_points > 0
    after = occupancy_history()
    added = after[len(before) :]
    assert after[: len(before)] == before and len(after) == len(set(after))
    assert 4 <= len(added) <= 6 and added[0] > before[-1], (before[-3:], added)
