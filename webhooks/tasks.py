"""Celery entry points of the webhook inbox (thin: they call webhooks.services)."""

from __future__ import annotations

from typing import Any

from core.tasks import FAST, task
from webhooks.services.maintenance import webhook_events_sweep
from webhooks.services.process import webhook_events_drain


@task(queue=FAST, soft_time_limit=30, time_limit=40, name="webhooks.process_event")
def process_webhook_event(event_id: int) -> str:
    """Claim this inbox event, with other pending ones, and apply them (batch claiming: with
    a backlog one task applies many events; a second delivery of this task is a no-op)."""
    return webhook_events_drain(event_id=event_id).own


@task(queue=FAST, retry_transient=False, name="webhooks.sweep")
def sweep_webhook_events() -> int:
    """Re-enqueue events whose enqueue was lost or whose worker died."""
    return webhook_events_sweep()


BEAT: dict[str, dict[str, Any]] = {
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 15.0},
}
