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
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API
    # Tests create many users; PBKDF2's deliberate slowness only costs CI time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
