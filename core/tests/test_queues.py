"""Fast and slow work are separate queues: a worker on one never runs the other's tasks,
and a task is delivered once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache

from config.celery import app
from core.health import HEARTBEAT_KEY
from core.tasks import heartbeat

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_heartbeat(seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cache.get(HEARTBEAT_KEY) is not None:
            return True
        time.sleep(0.05)
    return False


def test_a_fast_worker_does_not_take_slow_work(transactional_db: Any) -> None:
    cache.delete(HEARTBEAT_KEY)
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["fast"], shutdown_timeout=10
    ):
        heartbeat.apply_async(queue="slow")
        assert not _wait_for_heartbeat(2.0)
    # The message is still waiting on the slow queue for a slow worker.
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["slow"], shutdown_timeout=10
    ):
        assert _wait_for_heartbeat(10.0)


def test_each_queue_has_its_own_binding() -> None:
    bindings = {q.name: (q.exchange.name, q.routing_key) for q in app.amqp.queues.values()}
    assert bindings == {"fast": ("fast", "fast"), "slow": ("slow", "slow")}
