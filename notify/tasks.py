"""Thin entry points: deliver the outbox, send due alerts, evaluate measured rules."""

from __future__ import annotations

from core.tasks import FAST, SLOW, task
from notify.services import alerts, deliveries, watch


@task(queue=FAST, name="notify.deliveries_drain", soft_time_limit=90, time_limit=120)
def deliveries_drain() -> int:
    return deliveries.deliveries_drain(budget_seconds=50.0)


@task(queue=FAST, name="notify.alerts_dispatch")
def alerts_dispatch() -> int:
    return alerts.alerts_dispatch()


@task(queue=SLOW, name="notify.alerts_evaluate")
def alerts_evaluate() -> None:
    watch.spike_check()
    watch.offline_check()
    watch.webhook_lag_check()
    watch.vendor_check()
    watch.history_default_check()


BEAT = {
    "notify-deliveries-drain": {"task": "notify.deliveries_drain", "schedule": 5.0},
    "notify-alerts-dispatch": {"task": "notify.alerts_dispatch", "schedule": 30.0},
    "notify-alerts-evaluate": {"task": "notify.alerts_evaluate", "schedule": 60.0},
}
