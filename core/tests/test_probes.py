"""The probes: /livez (the process answers, no I/O), /readyz and its alias /healthz
(database and cache only, never a vendor call) and the vendor's reachability as the beat
measured it, in /readyz's details, the metrics and the home page."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from conftest import PrivateRedis
from core.tasks import collect_beat_schedule
from tests.fixtures import People, client_for
from upstream.health import VENDOR, vendor_reachability_measure
from upstream.tasks import vendor_reachability

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdefghijkl"


@pytest.fixture
def scraper(settings: Any) -> Client:
    settings.METRICS_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def _forget_measurement() -> None:
    cache.delete(f"switchboard:health:recorded:{VENDOR}")


def test_livez_answers_without_any_io(
    private_redis: PrivateRedis, django_assert_num_queries: Any
) -> None:
    private_redis.stop()  # the cache is really gone: /livez does not notice
    with django_assert_num_queries(0):
        response = Client().get("/livez")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
def test_ready_while_database_and_cache_answer_then_503_with_the_cache_stopped(
    path: str, private_redis: PrivateRedis
) -> None:
    assert Client().get(path).json() == {"ok": True}
    private_redis.stop()
    response = Client().get(path)
    assert response.status_code == 503
    assert response.json() == {"ok": False}


class _CountingVendor(BaseHTTPRequestHandler):
    """Stands for the vendor: counts every request, whatever its path."""

    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def counting_vendor(settings: Any) -> Iterator[type[_CountingVendor]]:
    _CountingVendor.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingVendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.UPSTREAM_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield _CountingVendor
    server.shutdown()
    server.server_close()


def test_probes_never_call_the_vendor_the_beat_measures_it(
    counting_vendor: type[_CountingVendor], scraper: Client, people: People
) -> None:
    _forget_measurement()
    for path in ["/livez", "/readyz", "/healthz"] * 5:
        assert Client().get(path).status_code == 200
    details = scraper.get("/readyz").json()
    assert counting_vendor.hits == 0  # no probe reached the vendor, with or without token
    assert details["ok"] is True
    assert details["checks"]["upstream"]["ok"] is False  # not measured yet
    assert details["checks"]["upstream"]["age_s"] is None

    vendor_reachability.apply()  # the beat's task, run here
    assert counting_vendor.hits == 1
    upstream = scraper.get("/readyz").json()["checks"]["upstream"]
    assert upstream["ok"] is True and upstream["age_s"] < 5 and "ms" in upstream
    assert counting_vendor.hits == 1

    metrics = scraper.get("/metrics").content.decode()
    assert "switchboard_vendor_reachable 1.0" in metrics
    assert "switchboard_vendor_measured_age_seconds" in metrics
    home = client_for(people.admin).get("/").content.decode()
    assert 'id="vendor-reachability"' in home and "Reachable" in home


def test_an_unreachable_vendor_is_reported_and_the_web_tier_stays_ready(
    settings: Any, scraper: Client, people: People
) -> None:
    settings.UPSTREAM_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    result = vendor_reachability_measure()
    assert result["ok"] is False
    body = scraper.get("/readyz").json()
    assert body["ok"] is True and body["status"] == "degraded"
    assert body["checks"]["upstream"]["ok"] is False
    assert "unreachable" in body["checks"]["upstream"]["error"]
    assert "switchboard_vendor_reachable 0.0" in scraper.get("/metrics").content.decode()
    assert "Unreachable" in client_for(people.admin).get("/").content.decode()


def test_a_stale_measurement_is_not_ok(scraper: Client) -> None:
    from core.health import record_measurement, recorded_measurement

    record_measurement("example", {"ok": True, "ms": 3.0})
    key = "switchboard:health:recorded:example"
    cache.set(key, {**cache.get(key), "at": 0.0})
    found = recorded_measurement("example")
    assert found["ok"] is False and found["stale"] is True


def test_the_beat_measures_the_vendor() -> None:
    schedule = collect_beat_schedule()
    assert any(entry["task"] == "upstream.vendor_reachability" for entry in schedule.values())


def test_deploy_files_probe_livez_and_readyz() -> None:
    """nginx, systemd and the container probes name the paths the project serves."""
    from pathlib import Path

    from django.urls import resolve

    root = Path(__file__).resolve().parents[2] / "deploy"
    nginx = (root / "nginx" / "switchboard.conf").read_text()
    assert "livez|readyz|healthz" in nginx
    for unit in ("switchboard-web.service", "switchboard-hooks.service"):
        assert "/livez" in (root / "systemd" / unit).read_text()
    probes = (root / "probes" / "kubernetes.yaml").read_text()
    assert "path: /livez" in probes and "path: /readyz" in probes
    for path in ["/livez", "/readyz", "/healthz"]:
        assert resolve(path).func.__name__ in ("livez", "readyz")


# --- a dead dependency answers in bounded time, named -----------------------------------

PROBE_SCRIPT = r"""
import json, sys, time
import django
django.setup()
from django.test import Client
Client().get("/livez")  # the first request imports the URLconf and views: not the probe's
out = []
for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer %s"}, {}):
    t0 = time.monotonic()
    response = Client().get("/readyz", **headers)
    out.append([response.status_code, round(time.monotonic() - t0, 3), response.json()])
print(json.dumps(out))
"""


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A host that takes the connection and never answers (a hung server): a real socket
    listening, nobody reading."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port() -> int:
    """A port nobody listens on (the connection is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _probe_with(database_url: str, cache_url: str) -> list[Any]:
    """/readyz three times (anonymous, with the token, anonymous again while the first
    check may still be waiting) in a process of its own whose settings point at these."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": "readyz-bound",
        "METRICS_TOKEN": TOKEN,
        "LOG_LEVEL": "CRITICAL",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT % TOKEN],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=90,  # the unbounded probe hung here for good
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def _working_database() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _working_cache() -> str:
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION", "")
    if not str(location).startswith("redis://"):
        pytest.skip("needs the cache on Redis (CACHE_URL=rediscache://...)")
    return str(location).replace("redis://", "rediscache://", 1)


@pytest.mark.parametrize(
    ("dead", "kind"), [("database", "silent"), ("cache", "silent"), ("cache", "closed")]
)
def test_readyz_answers_in_bounded_time_naming_the_dead_dependency(
    dead: str, kind: str, silent_port: int, closed_port: int
) -> None:
    from core.health import CHECK_DEADLINE_SECONDS

    port = silent_port if kind == "silent" else closed_port
    if dead == "database":
        answers = _probe_with(f"postgres://postgres@127.0.0.1:{port}/nowhere", _working_cache())
    else:
        answers = _probe_with(_working_database(), f"rediscache://127.0.0.1:{port}/0")
    alive = "cache" if dead == "database" else "database"
    bound = CHECK_DEADLINE_SECONDS + 1.0  # the deadline, and a loaded machine's scheduling
    for status, seconds, body in answers:
        assert status == 503, body
        assert seconds < bound, answers
    assert answers[0][2] == {"ok": False}  # anonymous: nothing more
    details = answers[1][2]
    assert details["status"] == "down"
    assert details["checks"][dead]["ok"] is False
    assert details["checks"][dead].get("error"), details["checks"][dead]
    assert details["checks"][alive]["ok"] is True, details["checks"][alive]
