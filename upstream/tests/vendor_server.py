"""A tiny scripted vendor for the client's own tests: a real stdlib HTTP server in a thread
that answers each path with the exact bytes it is told to (seed fixtures, garbage, slow
answers, HTTP errors), checks the signature like the vendor would, and records every call.
It is not a mock of our code: the client talks real HTTP to it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from upstream.signing import HmacSigner, SignatureError


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"code":200,"message":"Success","data":""}'
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class Call:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class VendorServer:
    api_key: str
    secret: str
    replies: dict[str, Reply] = field(default_factory=dict)
    default: Reply = field(default_factory=Reply)
    calls: list[Call] = field(default_factory=list)
    check_signature: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def reply(self, path: str, body: Any = None, *, status: int = 200, delay: float = 0.0) -> None:
        """Answer `path` with `body` (bytes verbatim, anything else as JSON)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.replies[path] = Reply(status=status, body=raw, delay=delay)

    def envelope(self, path: str, data: Any, *, code: Any = 200, message: str = "Success") -> None:
        self.reply(path, {"code": code, "message": message, "data": data})

    def reset(self) -> None:
        with self.lock:
            self.replies.clear()
            self.calls.clear()
            self.default = Reply()

    def start(self) -> VendorServer:
        owner = self
        signer = HmacSigner()
        seen: set[str] = set()

        def seen_nonce(nonce: str) -> bool:
            if nonce in seen:
                return True
            seen.add(nonce)
            return False

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                headers = dict(self.headers.items())
                ok = True
                try:
                    signer.verify(
                        headers=headers,
                        body=body,
                        secrets_=[owner.secret],
                        seen_nonce=seen_nonce,
                    )
                    ok = headers.get("X-Api-Key") == owner.api_key
                except SignatureError:
                    ok = False
                with owner.lock:
                    owner.calls.append(
                        Call(self.command, parts.path, parts.query, headers, body, ok)
                    )
                    reply = owner.replies.get(parts.path, owner.default)
                if owner.check_signature and not ok:
                    reply = Reply(401, b'{"code":401,"message":"bad signature","data":""}')
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _handle
            do_POST = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def paths(self) -> list[str]:
        with self.lock:
            return [c.path for c in self.calls]
