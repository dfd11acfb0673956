"""Celery task outcomes as shared metrics (connected from config/celery.py)."""

from __future__ import annotations

from typing import Any

from celery.signals import task_failure, task_retry, task_success, worker_ready

from core.metrics import inc

NAME = "switchboard_celery_tasks_total"


def _name(sender: Any) -> str:
    return str(getattr(sender, "name", sender))


@task_success.connect
def _on_success(sender: Any = None, **_: Any) -> None:
    inc(NAME, {"task": _name(sender), "state": "success"})


@task_failure.connect
def _on_failure(sender: Any = None, **_: Any) -> None:
    inc(NAME, {"task": _name(sender), "state": "failure"})


@task_retry.connect
def _on_retry(sender: Any = None, **_: Any) -> None:
    inc(NAME, {"task": _name(sender), "state": "retry"})


@worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    # /healthz shows a live worker at once, not only after beat's first tick.
    from core.health import record_heartbeat

    record_heartbeat()
