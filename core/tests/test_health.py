from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.health import HEARTBEAT_KEY, record_heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_check() -> None:
    from django.core.cache import cache

    cache.delete(HEARTBEAT_KEY)
    body = Client().get(reverse("healthz")).json()
    assert set(body["checks"]) == {"database", "broker", "upstream", "worker"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True  # Redis in make test
    assert body["checks"]["worker"]["ok"] is False
    assert "no heartbeat" in body["checks"]["worker"]["error"]


def test_heartbeat_age_is_reported() -> None:
    record_heartbeat()
    body = Client().get(reverse("healthz")).json()
    assert body["checks"]["worker"]["ok"] is True
    assert 0 <= body["checks"]["worker"]["age_s"] < 5


def test_heartbeat_runs_through_a_real_worker(celery_worker_live: object) -> None:
    """A task goes through Redis to a real worker and back to the cache."""
    from django.core.cache import cache

    from core.tasks import heartbeat

    cache.delete(HEARTBEAT_KEY)
    heartbeat.delay()
    import time

    deadline = time.time() + 20
    while time.time() < deadline and cache.get(HEARTBEAT_KEY) is None:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_KEY) is not None
