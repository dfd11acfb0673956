"""Root test configuration: isolate parallel workers on the shared Redis."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures", "simulator.testing"]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

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
