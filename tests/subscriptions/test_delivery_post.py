"""The HTTP POST of a notification: its outcome is known from the status line."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest

from hyperville.subscriptions.delivery import AllowedHosts, post


def _receiver(answer: bytes, hold_s: float) -> tuple[int, threading.Thread]:
    """A one-shot TCP receiver: reads the request, sends ``answer``, closes after hold_s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            conn.sendall(answer)
            time.sleep(hold_s)
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], thread


@pytest.mark.parametrize(
    "answer, expected",
    [
        # HTTP/1.0 without a length: the body ends when the receiver closes, 2 s later
        (b"HTTP/1.0 200 OK\r\nServer: robot\r\n\r\n", None),
        (b"HTTP/1.0 500 Internal Server Error\r\n\r\n", "the endpoint answered 500"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", None),
    ],
)
def test_the_outcome_does_not_wait_for_the_receiver_to_close(answer, expected):
    port, thread = _receiver(answer, hold_s=2.0)

    async def send() -> tuple[str | None, float]:
        async with httpx.AsyncClient(timeout=5) as client:
            start = time.perf_counter()
            outcome = await post(
                client, f"http://127.0.0.1:{port}/notify", b"{}", {}, AllowedHosts("*")
            )
            return outcome, time.perf_counter() - start

    outcome, elapsed = asyncio.run(send())
    assert outcome == expected
    assert elapsed < 1.0, elapsed
    thread.join(3)
