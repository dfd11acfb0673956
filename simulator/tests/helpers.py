"""Helpers for the simulator's tests: signed calls and a tiny webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from django.conf import settings

from upstream.signing import get_signer


def call(
    base: str,
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    params: Any = None,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> requests.Response:
    raw = b"" if method == "GET" else json.dumps(body if body is not None else {}).encode()
    signed = get_signer().sign(
        api_key=settings.UPSTREAM_API_KEY,
        secret=settings.UPSTREAM_API_SECRET if secret is None else secret,
        body=raw,
    )
    signed["Content-Type"] = "application/json"
    signed.update(headers or {})
    return requests.request(
        method, base + path, data=raw or None, params=params, headers=signed, timeout=timeout
    )


def post_raw(
    base: str, path: str, raw: bytes, *, content_type: str | None = "application/json"
) -> requests.Response:
    """POST exact bytes, signed, with the seed's Content-Type (None: no Content-Type)."""
    headers = get_signer().sign(
        api_key=settings.UPSTREAM_API_KEY, secret=settings.UPSTREAM_API_SECRET, body=raw
    )
    if content_type is not None:
        headers["Content-Type"] = content_type
    return requests.post(base + path, data=raw, headers=headers, timeout=10)


def ok(base: str, path: str, body: Any = None, **kw: Any) -> Any:
    response = call(base, path, body, **kw)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 200, envelope
    return envelope["data"]


def control(base: str, name: str, body: Any = None, method: str = "POST") -> Any:
    response = requests.request(method, f"{base}/_sim/{name}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200

    def paths(self) -> list[str]:
        return [r.path for r in self.received]

    def of(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A stdlib HTTP server recording every POST; answers from `.statuses`, then 200."""
    lock = threading.Lock()
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            rec = box["r"]
            with lock:
                rec.received.append(Received(self.path, dict(self.headers.items()), body))
                status = rec.statuses.pop(0) if rec.statuses else 200
            payload = b'{"code":200,"message":"Success","data":""}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        server.shutdown()
        server.server_close()
