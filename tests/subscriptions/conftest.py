"""A real HTTP receiver of notifications on 127.0.0.1, and a real server to subscribe to."""

from __future__ import annotations

import http.server
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from hyperville.testing import live_server


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class Receiver:
    """Collects the notifications POSTed to it; answers ``status`` after ``delay_s``."""

    port: int = 0
    status: int = 204
    delay_s: float = 0.0
    got: queue.Queue = field(default_factory=queue.Queue)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def next(self, timeout_s: float = 5.0) -> Received:
        return self.got.get(timeout=timeout_s)

    def none_within(self, seconds: float) -> bool:
        try:
            self.got.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


def _handler(receiver: Receiver):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            receiver.got.put(Received(self.path, dict(self.headers), body))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


def _serve(receiver: Receiver) -> Iterator[Receiver]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def slow_receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver(delay_s=3.0))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("subscriptions") / "twin.sqlite"
    with live_server(db, env={"HYPERVILLE_NOTIFICATION_TIMEOUT_S": "2"}) as running:
        yield running
