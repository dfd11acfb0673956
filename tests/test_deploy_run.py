"""A deploy-like run: the Procfile's `web` process (gunicorn, uvicorn workers, DEBUG off) after
collectstatic serves static files under hashed names with far-future caching, serves no
test-only or npm file, writes one access line per request, and its /metrics merges the
workers' request latency histograms; the Procfile's `hooks` process (the vendor's callbacks,
threaded workers) stores a signed delivery and refuses an unsigned one; nginx sends every
callback path to it."""

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


def _procfile_line(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}: "):
            return line.removeprefix(f"{name}: ")
    raise AssertionError(f"no {name} process in the Procfile")


def _server_env(settings: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "DEBUG": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        **extra,
    }


def _wait_until_it_answers(server: subprocess.Popen[bytes], url: str) -> requests.Response:
    deadline = time.monotonic() + 120
    while True:
        try:
            return requests.get(url, timeout=30)
        except (requests.ConnectionError, requests.Timeout):
            assert time.monotonic() < deadline, "the process did not start"
            assert server.poll() is None, "the process exited"
            time.sleep(0.3)


def test_the_web_process_serves_hashed_static_files_and_merged_metrics(
    settings: Any, tmp_path: Path
) -> None:
    from core.static_collect import ensure_collected

    ensure_collected()
    port = _free_port()
    env = _server_env(settings, tmp_path, PORT=str(port), WEB_CONCURRENCY="2")
    log = tmp_path / "web.log"
    server = subprocess.Popen(
        ["sh", "-c", _procfile_line("web")],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        login = _wait_until_it_answers(server, f"{base}/login/")
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
        # One access line per request: the application's (with its request id), not a
        # second one from the server.
        requests.get(f"{base}/livez?probe=1", headers={"X-Request-Id": "probe-0001"}, timeout=30)
        time.sleep(0.5)
        lines = [line for line in log.read_text().splitlines() if "/livez" in line]
        assert len(lines) == 1 and "probe-0001" in lines[0], lines
        body = requests.get(f"{base}/metrics", timeout=30).text
        latency = "django_http_requests_latency_seconds_by_view_method_count"
        counts = re.findall(latency + r'\{[^}]*view="login"[^}]*\} (\S+)', body)
        assert counts and float(counts[0]) >= 7, counts
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_callbacks_process_stores_a_signed_delivery_and_refuses_an_unsigned_one(
    settings: Any, tmp_path: Path
) -> None:
    from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind
    from webhooks.tests.helpers import sign, url

    port = _free_port()
    secret = "deploy-run-secret"
    env = _server_env(
        settings,
        tmp_path,
        HOOKS_PORT=str(port),
        HOOKS_CONCURRENCY="2",
        HOOKS_PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "hooks-metrics"),
        WEBHOOK_SECRETS=secret,
        WEBHOOK_AUTH="hmac",
    )
    server = subprocess.Popen(
        ["sh", "-c", _procfile_line("hooks")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait_until_it_answers(server, f"{base}/livez").status_code == 200
        assert len(_listening_sockets(port)) == 2  # a socket per worker, as the web's
        body = b'{"whatsApp":"8613900000077","status":1,"onlineStatus":2,"reason":""}'
        path = url(WebhookKind.ACCOUNT_STATUS)
        headers = {**sign(body, secret=secret), "Content-Type": "application/json"}
        stored = requests.post(base + path, data=body, headers=headers, timeout=30)
        assert stored.status_code == 200 and stored.json()["code"] == 200, stored.text
        assert "set-cookie" not in stored.headers  # the callbacks' handler: no page machinery
        refused = requests.post(
            base + path, data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert refused.status_code == 401 and refused.json()["code"] == 401, refused.text
        event = WebhookEvent.objects.get(kind=WebhookKind.ACCOUNT_STATUS)
        assert (bytes(event.body), event.state) == (body, WebhookEvent.State.PENDING)
        quarantined = RefusedDelivery.objects.get()  # the unsigned one, kept for review
        assert (bytes(quarantined.body), quarantined.auth_check) == (body, "hmac")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_nginx_sends_every_callback_path_to_the_callbacks_process() -> None:
    from webhooks.authconfig import PATH_TOKEN_PREFIX
    from webhooks.receivers import PATHS

    conf = (ROOT / "deploy" / "nginx" / "switchboard.conf").read_text()
    routes = dict(re.findall(r"location\s+(?:=\s+)?(\S+)\s*\{[^}]*?proxy_pass http://(\w+);", conf))
    for path in PATHS.values():
        assert routes.get(f"/{path}") == "switchboard_hooks", path
    assert routes.get(f"/{PATH_TOKEN_PREFIX}/") == "switchboard_hooks"
    assert routes.get("/") == "switchboard_web" and routes.get("/webhooks/") is None
    assert "server 127.0.0.1:8002;" in conf
