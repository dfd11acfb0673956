"""Root test configuration: isolate parallel workers on the shared Redis."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    # Each xdist worker gets its own cache prefix and broker database, so one worker's
    # Celery consumer never picks up tasks enqueued against another worker's test DB.
    settings.CACHES["default"]["KEY_PREFIX"] = f"test-{worker}"
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("redis://"):
        base = broker.rsplit("/", 1)[0] if broker.count("/") > 2 else broker
        settings.CELERY_BROKER_URL = f"{base}/{8 + index}"
        from config.celery import app

        app.conf.broker_url = settings.CELERY_BROKER_URL  # type: ignore[misc]
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API
