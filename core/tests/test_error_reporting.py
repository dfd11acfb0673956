"""With SENTRY_DSN set, errors reach a Sentry-protocol server, scrubbed like the logs."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_REPORT = """
import django, sentry_sdk
django.setup()
from django.conf import settings
try:
    raise RuntimeError("vendor refused secret " + settings.UPSTREAM_API_SECRET)
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(5)
"""


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]

        return bytes(brotli.decompress(body))
    return body


def test_an_error_reaches_the_dsn_without_its_secrets(tmp_path: Path) -> None:
    received: list[bytes] = []

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(_decode(raw, self.headers.get("Content-Encoding", "")))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_address[1]}/1",
            "UPSTREAM_API_SECRET": "sup3r-secret-vendor-value",
        }
        subprocess.run([sys.executable, "-c", _REPORT], env=env, cwd=ROOT, check=True, timeout=60)
    finally:
        server.shutdown()
    text = b"".join(received).decode("utf-8", "replace")
    assert "RuntimeError" in text and "vendor refused secret" in text
    assert "sup3r-secret-vendor-value" not in text and "[redacted]" in text
