"""Celery entry points of the actions app: thin, each calls one service.

- `dispatch_lanes`: the lane dispatcher (re-arms itself for the next due lane);
- `poll_results`: callbackResult polling (re-arms itself while actions wait for a result);
- `sweep_actions`: actions stuck in `sending` become unknown; overdue results expire.

Beat runs all three as a safety net: a lost re-arm costs at most one beat period.
"""

from __future__ import annotations

from typing import Any

from actions.services.dispatch.claim import seconds_until_next_due
from actions.services.dispatch.loop import dispatcher_run, schedule_dispatch
from actions.services.results import expire_overdue, poller_run, sweep_stuck
from core.tasks import FAST, task


@task(queue=FAST, retry_transient=False, soft_time_limit=90, time_limit=120)
def dispatch_lanes() -> dict[str, Any]:
    out = dispatcher_run()
    return {"outcome": out.outcome, "passes": out.passes, "sent": out.sent}


@task(queue=FAST, retry_transient=False, soft_time_limit=90, time_limit=120)
def poll_results() -> dict[str, Any]:
    report = poller_run()
    return {"polled": report.polled, "expired": report.expired}


@task(queue=FAST, retry_transient=False)
def sweep_actions() -> dict[str, Any]:
    stuck = sweep_stuck()
    expired = expire_overdue()
    wait = seconds_until_next_due()
    if wait is not None:
        schedule_dispatch(wait)
    return {"stuck": stuck, "expired": expired}


BEAT = {
    "actions-dispatch": {"task": "actions.tasks.dispatch_lanes", "schedule": 15.0},
    "actions-poll": {"task": "actions.tasks.poll_results", "schedule": 15.0},
    "actions-sweep": {"task": "actions.tasks.sweep_actions", "schedule": 30.0},
}
