"""A deploy-like run: the Procfile's `web` process (gunicorn, uvicorn workers, DEBUG off) after
collectstatic serves static files under hashed names with far-future caching, serves no
test-only or npm file, and its /metrics merges the workers' request latency histograms."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the TCP sockets listening on `port` (from /proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes


def _web_line() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web: "):
            return line.removeprefix("web: ")
    raise AssertionError("no web process in the Procfile")


def test_the_web_process_serves_hashed_static_files_and_merged_metrics(
    settings: Any, tmp_path: Path
) -> None:
    from core.static_collect import ensure_collected

    ensure_collected()
    db = settings.DATABASES["default"]
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "DEBUG": "false",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    server = subprocess.Popen(
        ["sh", "-c", _web_line()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                login = requests.get(f"{base}/login/", timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "the web process did not start"
                assert server.poll() is None, "the web process exited"
                time.sleep(0.3)
        assert login.status_code == 200
        # Each worker has a listening socket of its own (config/gunicorn.py, reuse_port).
        assert len(_listening_sockets(port)) == 2
        css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', login.text)
        assert css, "the page does not name the stylesheet by its hashed name"
        static = requests.get(base + css.group(1), timeout=30)
        assert static.status_code == 200
        assert "immutable" in static.headers["Cache-Control"]
        for path in ("/static/vendor/axe.min.js", "/static/vendor/package.json"):
            assert requests.get(base + path, timeout=30).status_code == 404, path
        for _ in range(6):  # spread over both workers
            requests.get(f"{base}/login/", timeout=30)
        body = requests.get(f"{base}/metrics", timeout=30).text
        latency = "django_http_requests_latency_seconds_by_view_method_count"
        counts = re.findall(latency + r'\{[^}]*view="login"[^}]*\} (\S+)', body)
        assert counts and float(counts[0]) >= 7, counts
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
