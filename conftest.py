"""Root test configuration: isolate parallel workers on the shared Redis."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.fixtures", "simulator.testing"]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    if not os.environ.get("DATABASE_URL"):
        # No server named: the test runner starts the embedded one under var/ (the settings
        # only read where it listens), as `make demo` does.
        from core import embedded_db

        settings.DATABASES["default"].update(embedded_db.ensure_running(embedded_db.var_dir()))
    if "PYTEST_XDIST_WORKER" not in os.environ:
        # Once, before the workers start: pages name static files by their hashed names.
        from core.static_collect import ensure_collected

        ensure_collected()

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    namespace = f"{os.environ.get('SB_TEST_NAMESPACE', 't')}-{worker}"
    # Each test process (xdist worker, or a parallel run with its own SB_TEST_NAMESPACE)
    # gets its own cache prefix and broker key prefix, so one process's Celery consumer
    # never picks up tasks enqueued against another process's test database.
    settings.CACHES["default"]["KEY_PREFIX"] = namespace
    from config.celery import app

    options = dict(app.conf.broker_transport_options or {})
    options["global_keyprefix"] = f"{namespace}:"
    app.conf.broker_transport_options = options
    _forget_stale_bindings(settings.CELERY_BROKER_URL, namespace)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API
    # Tests create many users; PBKDF2's deliberate slowness only costs CI time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The suite signs admins and supervisors in by password alone; the second factor's own
    # tests (identity/tests, tests/browser/test_signin*.py) turn MFA_REQUIRED_ROLES back on.
    settings.MFA_REQUIRED_ROLES = []
    # Test-friendly timings for bulk jobs' retries of transient vendor failures.
    settings.UPSTREAM_TRANSIENT_RETRY_SECONDS = 1.0
    settings.UPSTREAM_TRANSIENT_BACKOFF_SECONDS = 0.05


def _forget_stale_bindings(broker_url: str, namespace: str) -> None:
    """Queue bindings persist in Redis across runs; start each run from the declared ones."""
    if not broker_url.startswith("redis://"):
        return
    import redis

    try:
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=2)
        for key in client.scan_iter(match=f"{namespace}:_kombu.binding.*"):
            client.delete(key)
    except redis.RedisError:
        pass  # make test's pre-flight reports an unreachable Redis


@pytest.fixture(autouse=True)
def _fresh_cached_figures() -> None:
    """Each test starts with no cached figure from an earlier test's database (the cache
    outlives the test's transaction): the tiles, the alert count (core/generations.py)."""
    from core import generations

    generations.bump_all()


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port: stopped for real (never
    the shared one on 6379)."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.dir = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def private_redis(settings: Any, tmp_path: Path) -> Iterator[PrivateRedis]:
    """The cache on a private Redis (started); the test stops it with `.stop()`."""
    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "sb-private",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts and ends in the default language. A request a test makes in Chinese
    leaves Chinese active on its thread (LocaleMiddleware activates a language per request
    and nothing deactivates it), so a service message the next test on that worker reads
    without a request came out in Chinese."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_port_id_kind() -> None:
    """No test inherits the port id kind an earlier test's vendor accepted (the cache
    outlives the test's transaction; ports.services)."""
    from django.core.cache import cache

    from ports.services import ACCEPTED_KIND_KEY

    cache.delete(ACCEPTED_KIND_KEY)


@pytest.fixture(autouse=True)
def _no_processing_task_marked_queued() -> None:
    """No test's deliveries wait on a processing task an earlier test queued (the mark
    outlives the test's transaction and the task its broker queue; webhooks.services.receive)."""
    from webhooks.services.receive import drain_started

    drain_started()
