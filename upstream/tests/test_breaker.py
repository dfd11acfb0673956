"""The circuit breaker: opens after 5 consecutive transient failures, rejects without
sending, one probe after the cooldown, closes on success, reopens on a failed probe, and
its state is shared across processes through the cache (Redis in tests)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from upstream import breaker, operations
from upstream.errors import CircuitOpen, UpstreamError, UpstreamUnavailable
from upstream.tests.vendor_server import VendorServer

PORT = "/group-dispatch-api/qrCode/selectCloudPort"
OK_BODY = {"code": 200, "message": "Success", "data": {"currentPort": 1, "maxPort": 2}}
ROOT = Path(__file__).resolve().parents[2]


def _fail(vendor: VendorServer, times: int) -> None:
    vendor.reply(PORT, b"boom", status=500)
    for _ in range(times):
        with pytest.raises(UpstreamUnavailable) as exc:
            operations.select_cloud_port()
        assert not isinstance(exc.value, CircuitOpen)


def test_opens_after_threshold_and_rejects_without_sending(vendor: VendorServer) -> None:
    _fail(vendor, 4)
    assert breaker.breaker_state() == "closed"
    _fail(vendor, 1)
    assert breaker.breaker_state() == "open"
    assert len(vendor.calls) == 5
    vendor.reply(PORT, OK_BODY)
    for _ in range(3):
        with pytest.raises(CircuitOpen):
            operations.select_cloud_port()
    assert len(vendor.calls) == 5  # nothing sent while open


def test_success_resets_the_streak(vendor: VendorServer) -> None:
    _fail(vendor, 4)
    vendor.reply(PORT, OK_BODY)
    operations.select_cloud_port()
    _fail(vendor, 4)
    assert breaker.breaker_state() == "closed"


def test_business_errors_count_as_success(vendor: VendorServer) -> None:
    _fail(vendor, 4)
    vendor.envelope(PORT, None, code=1001, message="quota")
    with pytest.raises(UpstreamError):
        operations.select_cloud_port()
    _fail(vendor, 4)
    assert breaker.breaker_state() == "closed"


def test_probe_after_cooldown_closes_on_success(vendor: VendorServer, settings: Any) -> None:
    settings.UPSTREAM_BREAKER_COOLDOWN = 0.5
    _fail(vendor, 5)
    assert breaker.breaker_state() == "open"
    time.sleep(0.6)
    assert breaker.breaker_state() == "half_open"
    vendor.reply(PORT, OK_BODY)
    assert operations.select_cloud_port().max_port == 2
    assert breaker.breaker_state() == "closed"
    assert len(vendor.calls) == 6
    _fail(vendor, 4)  # a fresh streak is needed to open again
    assert breaker.breaker_state() == "closed"


def test_failed_probe_reopens_for_another_cooldown(vendor: VendorServer, settings: Any) -> None:
    settings.UPSTREAM_BREAKER_COOLDOWN = 0.5
    _fail(vendor, 5)
    time.sleep(0.6)
    _fail(vendor, 1)  # the probe
    assert breaker.breaker_state() == "open"
    with pytest.raises(CircuitOpen):
        operations.select_cloud_port()
    assert len(vendor.calls) == 6
    time.sleep(0.6)
    vendor.reply(PORT, OK_BODY)
    operations.select_cloud_port()
    assert breaker.breaker_state() == "closed"


def test_only_one_probe_goes_out(vendor: VendorServer, settings: Any) -> None:
    settings.UPSTREAM_BREAKER_COOLDOWN = 0.5
    _fail(vendor, 5)
    time.sleep(0.6)
    vendor.reply(PORT, OK_BODY, delay=0.5)  # a slow probe
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            operations.select_cloud_port()
            result = "ok"
        except CircuitOpen:
            result = "open"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["open"] * 7
    assert len(vendor.calls) == 6
    assert breaker.breaker_state() == "closed"


def test_concurrent_failures_from_threads_open_it(vendor: VendorServer) -> None:
    vendor.reply(PORT, b"boom", status=503)

    def attempt() -> None:
        with contextlib.suppress(UpstreamUnavailable):
            operations.select_cloud_port()

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.breaker_state() == "open"


def test_state_is_shared_across_processes(vendor: VendorServer, settings: Any) -> None:
    """Another process (same cache, same prefix) fails 5 times; this one is then refused."""
    from django.conf import settings as dj

    script = textwrap.dedent(
        """
        import django
        django.setup()
        from upstream import operations
        from upstream.errors import UpstreamUnavailable
        for _ in range(5):
            try:
                operations.select_cloud_port()
            except UpstreamUnavailable:
                pass
        from upstream.breaker import breaker_state
        print(breaker_state())
        """
    )
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "UPSTREAM_BASE_URL": vendor.url,
            "UPSTREAM_API_KEY": dj.UPSTREAM_API_KEY,
            "UPSTREAM_API_SECRET": dj.UPSTREAM_API_SECRET,
            "CACHE_KEY_PREFIX": dj.CACHES["default"]["KEY_PREFIX"],
            "LOG_LEVEL": "ERROR",
        }
    )
    assert os.environ.get("CACHE_URL"), "run through `make pytest` (shared Redis cache)"
    vendor.reply(PORT, b"boom", status=500)
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "open"
    assert len(vendor.calls) == 5
    assert breaker.breaker_state() == "open"
    vendor.reply(PORT, OK_BODY)
    with pytest.raises(CircuitOpen):
        operations.select_cloud_port()
    assert len(vendor.calls) == 5


def test_cache_outage_lets_calls_through(vendor: VendorServer, settings: Any) -> None:
    # Django rebuilds its cache handlers when CACHES changes (setting_changed).
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",  # what CACHE_URL=rediscache:// gives
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    vendor.reply(PORT, OK_BODY)
    assert operations.select_cloud_port().current_port == 1
    vendor.reply(PORT, b"boom", status=500)
    for _ in range(6):
        with pytest.raises(UpstreamUnavailable) as exc:
            operations.select_cloud_port()
        assert not isinstance(exc.value, CircuitOpen)
    assert breaker.breaker_state() == "closed"
    assert len(vendor.calls) == 7


def test_a_sweep_counts_outcomes_and_stops_when_the_breaker_opens(
    vendor: VendorServer, settings: Any
) -> None:
    polled: list[int] = []

    def poll(n: int) -> str:
        polled.append(n)
        if n == 2:  # the breaker opens under this item's call
            _fail(vendor, settings.UPSTREAM_BREAKER_THRESHOLD)
            operations.select_cloud_port()  # rejected: CircuitOpen
        return "odd" if n % 2 else "even"

    assert breaker.sweep(lambda: [1, 3, 4], poll) == {"odd": 2, "even": 1}
    assert breaker.sweep(lambda: [1, 2, 3], poll) == {"odd": 1, "breaker_open": 1}
    assert polled == [1, 3, 4, 1, 2]  # 3 never asked

    def due() -> list[int]:
        raise AssertionError("the due list is read while the breaker is open")

    assert breaker.sweep(due, poll) == {"breaker_open": 1}
    assert polled == [1, 3, 4, 1, 2]
