"""Tunables of the actions pipeline (seconds): read from config/settings.py, where each
comes from the environment (documented in deploy/env.example)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def lane_interval() -> timedelta:
    """The vendor's spacing rule for one (agent account, WhatsApp account) pair."""
    return timedelta(seconds=float(settings.ACTION_LANE_INTERVAL))


def batch_size() -> int:
    """Actions per batchAdd call."""
    return max(1, int(settings.ACTION_BATCH_SIZE))


def claim_limit() -> int:
    """Lanes claimed per dispatcher pass."""
    return max(1, int(settings.ACTION_CLAIM_LIMIT))


def poll_interval() -> timedelta:
    return timedelta(seconds=float(settings.ACTION_POLL_INTERVAL))


def first_poll_delay() -> timedelta:
    return timedelta(seconds=float(settings.ACTION_FIRST_POLL_DELAY))


def poll_batch_size() -> int:
    """Ids per callbackResult call."""
    return max(1, int(settings.ACTION_POLL_BATCH_SIZE))


def result_deadline() -> timedelta:
    """How long after batchAdd we wait for executeStatus 1 or 2. The vendor fails an action
    after 1 minute when the pair is not logged in, so 3 minutes leaves room."""
    return timedelta(seconds=float(settings.ACTION_RESULT_DEADLINE))


def sending_deadline() -> timedelta:
    """An action still `sending` after this long lost its worker between the call and the
    record: it becomes unknown. Must exceed the longest batchAdd call (connect + read)."""
    value = settings.ACTION_SENDING_DEADLINE
    if value is None:
        budget = float(settings.UPSTREAM_CONNECT_TIMEOUT) + float(settings.UPSTREAM_READ_TIMEOUT)
        value = max(60.0, budget + 30.0)
    return timedelta(seconds=float(value))


def retry_delay() -> timedelta:
    """After a call that certainly never left (connection refused, circuit open)."""
    return timedelta(seconds=float(settings.ACTION_RETRY_DELAY))


def dispatch_hold() -> float:
    """The dispatcher keeps its worker and sleeps in-process when the next lane is due within
    this many seconds; beyond, it hands the worker back and re-enqueues itself with a
    countdown."""
    return float(settings.ACTION_DISPATCH_HOLD)


def dispatch_budget() -> float:
    """At most this long per dispatcher task run (then it re-enqueues itself)."""
    return float(settings.ACTION_DISPATCH_BUDGET)


def wake_check() -> float:
    """While sleeping, how often the dispatcher looks for a wake-up signal (new work)."""
    return float(settings.ACTION_WAKE_CHECK)


def claim_lead() -> float:
    """Lanes are claimed this long before they are due (the claim's own time then costs
    nothing); the pass still sends no sooner than the latest due time it claimed."""
    return float(settings.ACTION_CLAIM_LEAD)


def send_concurrency() -> int:
    """Parallel batchAdd calls within one pass (when it has more than one chunk)."""
    return max(1, int(settings.ACTION_SEND_CONCURRENCY))
