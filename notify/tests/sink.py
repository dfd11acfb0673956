"""A real HTTP sink on 127.0.0.1 that records every request (tests and bench/events.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Sink:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


def _handler(sink_ref: list[Sink]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            sink = sink_ref[0]
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with sink.lock:
                status = sink.statuses.pop(0) if sink.statuses else 200
                if 200 <= status < 300:
                    sink.received.append(
                        Received(self.path, dict(self.headers.items()), body, time.time())
                    )
            payload = b'{"ok":true}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_sink(port: int = 0) -> Iterator[Sink]:
    ref: list[Sink] = []
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(ref))
    server.daemon_threads = True
    sink = Sink(server=server)
    ref.append(sink)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
