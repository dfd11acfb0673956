"""Celery task outcomes as shared metrics (connected from config/celery.py)."""

from __future__ import annotations

from typing import Any

from celery.signals import (
    task_failure,
    task_retry,
    task_success,
    worker_init,
    worker_process_shutdown,
    worker_ready,
)

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


@worker_init.connect
def _serve_worker_metrics(**_: Any) -> None:
    """Each worker instance is scraped on its own (core/metrics.py): at CELERY_METRICS_PORT,
    its processes' values merged through PROMETHEUS_MULTIPROC_DIR when that is set."""
    from django.conf import settings
    from prometheus_client import start_http_server

    from core.metrics import clear_multiprocess_dir, instance_registry

    if not settings.CELERY_METRICS_PORT:
        return
    clear_multiprocess_dir()
    start_http_server(
        settings.CELERY_METRICS_PORT,
        addr=settings.CELERY_METRICS_ADDR,
        registry=instance_registry(),
    )


@worker_process_shutdown.connect
def _forget_worker_process(pid: int | None = None, **_: Any) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
