"""The one task decorator, and the beat schedule gathered from every app.

Every task: acks late and is rejected back to the queue if its worker dies (so work
survives a killed worker), retries only transient errors with backoff, has time
limits, runs on a named queue, and logs with its task id and the request id of the
web request that enqueued it.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from celery import Task, shared_task
from django.apps import apps
from django.db import InterfaceError, OperationalError, transaction

from core.logging import (
    current_request_id,
    reset_request_id,
    reset_task_id,
    set_request_id,
    set_task_id,
)

P = ParamSpec("P")
R = TypeVar("R")

FAST = "fast"  # webhooks, UI jobs, login results: latency matters
SLOW = "slow"  # reconcile, imports, contact look-ups: throughput matters


class TransientError(Exception):
    """Retried by the task decorator with backoff: a domain app's error that may pass by
    itself (the vendor unreachable or busy) inherits this; core needs to know no app."""


def transient_errors() -> tuple[type[BaseException], ...]:
    return (TransientError, OperationalError, InterfaceError)


class SwitchboardTask(Task):  # type: ignore[misc]
    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:  # type: ignore[override]
        headers = options.setdefault("headers", {})
        headers.setdefault("request_id", current_request_id())
        return super().apply_async(args, kwargs, **options)


def task(
    *,
    queue: str = FAST,
    max_retries: int = 5,
    soft_time_limit: int = 120,
    time_limit: int = 150,
    retry_transient: bool = True,
    name: str | None = None,
) -> Callable[[Callable[P, R]], Any]:
    """Declare a Celery task. Keep the body thin: load by id, call a service."""

    def decorator(fn: Callable[P, R]) -> Any:
        @functools.wraps(fn)
        def run(self: Task, *args: Any, **kwargs: Any) -> Any:
            req_token = set_request_id(getattr(self.request, "request_id", None))
            task_token = set_task_id(self.request.id)
            try:
                return fn(*args, **kwargs)
            except transient_errors() as exc:
                if not retry_transient or self.request.called_directly:
                    raise
                countdown = min(60, 2 ** (self.request.retries + 1))
                # A vendor 429: wait at least as long as it asked.
                countdown = max(countdown, math.ceil(getattr(exc, "retry_after", 0) or 0))
                raise self.retry(exc=exc, countdown=countdown) from exc  # type: ignore[arg-type]
            finally:
                reset_task_id(task_token)
                reset_request_id(req_token)

        # The project's Celery app (config/celery.py) is the current one: core imports no
        # layer above it (docs/design.md, "Layers").
        return shared_task(
            bind=True,
            base=SwitchboardTask,
            name=name or f"{fn.__module__}.{fn.__name__}",
            queue=queue,
            acks_late=True,
            reject_on_worker_lost=True,
            max_retries=max_retries,
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
        )(run)

    return decorator


def task_at(path: str) -> Any:
    """The task at a dotted path ("webhooks.tasks.process_webhook_event"), imported on first
    use. Services name the tasks they send rather than import them: tasks modules import
    services at their top (HackSoft), so the other direction would be a cycle."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def enqueue(path: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send the task at `path` now (in `countdown` seconds when given)."""
    options = {} if countdown is None else {"countdown": countdown}
    task_at(path).apply_async(args, kwargs, **options)


def enqueue_on_commit(path: str, *args: Any, **kwargs: Any) -> None:
    """Send the task at `path` only once the surrounding transaction has committed."""
    transaction.on_commit(lambda: enqueue(path, *args, **kwargs))


def collect_beat_schedule() -> dict[str, dict[str, Any]]:
    """Each app may define `BEAT = {name: {"task": ..., "schedule": seconds}}` in tasks.py."""
    schedule: dict[str, dict[str, Any]] = {}
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tasks":
                raise
            continue
        schedule.update(getattr(module, "BEAT", {}))
    return schedule


# core's own two tasks import their services lazily, unlike the apps' tasks modules: this
# module is the decorator every app imports, often while models are still loading.


@task(queue=FAST, retry_transient=False, name="core.heartbeat")
def heartbeat() -> float:
    """Proves a worker is consuming: /healthz reports the age of the last one."""
    from core.health import record_heartbeat

    return record_heartbeat()


@task(queue=SLOW, retry_transient=True, name="core.csp_reports_prune")
def csp_reports_prune() -> int:
    """Delete CSP reports older than CSP_REPORT_RETENTION_DAYS."""
    from core.csp import csp_reports_prune as prune

    return prune()


@task(queue=SLOW, retry_transient=True, name="core.history_partitions_ensure")
def history_partitions_ensure() -> list[str]:
    """Create the coming months' partitions of every partitioned table (core.partitions)."""
    from core.partitions import partitions_ensure

    return partitions_ensure()


@task(
    queue=SLOW,
    retry_transient=True,
    name="core.history_retention",
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 60,
)
def history_retention() -> list[str]:
    """Archive, then drop, the months past each table's retention (core.history)."""
    from core.history import retention_run

    return [r.partition for r in retention_run()]


BEAT = {
    "core-heartbeat": {"task": "core.heartbeat", "schedule": 30.0},
    "core-history-partitions-ensure": {
        "task": "core.history_partitions_ensure",
        "schedule": 6 * 3600.0,
    },
    "core-history-retention": {"task": "core.history_retention", "schedule": 24 * 3600.0},
    "core-csp-reports-prune": {"task": "core.csp_reports_prune", "schedule": 24 * 3600.0},
}
