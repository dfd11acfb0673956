"""The dispatcher loop: passes back to back while lanes fall due soon, one loop at a time
(a cache lock that only saves work), woken on commit when work arrives."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from actions.services import config
from actions.services.dispatch.claim import seconds_until_next_due
from actions.services.dispatch.send import dispatch_once
from actions.services.results import sweep_stuck
from core.tasks import enqueue

log = logging.getLogger(__name__)

LOCK_KEY = "actions:dispatcher:lock"
WAKE_KEY = "actions:dispatcher:wake"
SCHEDULED_KEY = "actions:dispatcher:scheduled_at"


def _wake_token() -> Any:
    try:
        return cache.get(WAKE_KEY)
    except Exception:  # the cache is down: fall back to polling
        return None


def wake_dispatcher() -> None:
    """Call inside the transaction that created or released work: on commit, a running
    dispatcher loop is woken, or a dispatcher task is enqueued."""
    transaction.on_commit(_wake_now)


def _wake_now() -> None:
    try:
        cache.set(WAKE_KEY, uuid.uuid4().hex, timeout=3600)
        running = cache.get(LOCK_KEY) is not None
    except Exception:
        running = False
    if not running:
        schedule_dispatch(0.0)


def schedule_dispatch(delay: float) -> None:
    """Enqueue the dispatcher task in `delay` seconds, unless one is already due by then."""
    target = time.time() + max(0.0, delay)
    try:
        existing = cache.get(SCHEDULED_KEY)
        if existing is not None and time.time() - 1.0 <= float(existing) <= target + 0.02:
            return
        cache.set(SCHEDULED_KEY, target, timeout=int(delay) + 60)
    except Exception:
        log.warning("actions: cache unavailable; scheduling the dispatcher anyway")
    enqueue("actions.tasks.dispatch_lanes", countdown=delay if delay > 0 else None)


def _sleep_until(deadline: float, token: Any) -> None:
    """Sleep until `deadline` (monotonic), waking early when someone signals new work."""
    step = config.wake_check()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, step))
        if left > step and _wake_token() != token:
            return


@dataclass
class LoopReport:
    passes: int = 0
    sent: int = 0
    outcome: str = ""
    next_in: float | None = None


def dispatch_loop(*, budget: float | None = None, hold: float | None = None) -> LoopReport:
    """Dispatch passes back to back, sleeping in-process until the next lane is due while
    that is within `hold` seconds and the `budget` lasts."""
    budget = config.dispatch_budget() if budget is None else budget
    hold = config.dispatch_hold() if hold is None else hold
    ends = time.monotonic() + budget
    out = LoopReport()
    while True:
        token = _wake_token()
        report = dispatch_once()
        out.passes += 1
        out.sent += report.sent
        wait = seconds_until_next_due()
        out.next_in = wait
        if wait is None:
            out.outcome = "idle"
            return out
        if wait > hold or time.monotonic() + wait > ends:
            out.outcome = "later"
            return out
        _sleep_until(time.monotonic() + max(0.0, wait - config.claim_lead()), token)
        _refresh_lock()


_lock_token: str | None = None


def _acquire_lock(ttl: float) -> bool:
    global _lock_token
    token = uuid.uuid4().hex
    try:
        ok = bool(cache.add(LOCK_KEY, token, timeout=int(ttl) + 1))
    except Exception:
        ok = True  # no cache: correctness never depended on the lock
    _lock_token = token if ok else None
    return ok


def _refresh_lock() -> None:
    try:
        if _lock_token is not None and cache.get(LOCK_KEY) == _lock_token:
            cache.touch(LOCK_KEY, timeout=int(config.dispatch_budget()) + 30)
    except Exception:
        log.debug("actions: cache unavailable", exc_info=True)


def _release_lock() -> None:
    global _lock_token
    try:
        if _lock_token is not None and cache.get(LOCK_KEY) == _lock_token:
            cache.delete(LOCK_KEY)
    except Exception:
        log.debug("actions: cache unavailable", exc_info=True)
    _lock_token = None


def dispatcher_run() -> LoopReport:
    """The dispatcher task's body: one loop at a time (cache lock), then re-arm itself for
    the next due lane. The lock only saves work: correctness rests on the lane claim."""
    sweep_stuck()
    if not _acquire_lock(config.dispatch_budget() + 30):
        return LoopReport(outcome="busy")
    try:
        try:
            cache.delete(SCHEDULED_KEY)
        except Exception:
            log.debug("actions: cache unavailable", exc_info=True)
        out = dispatch_loop()
    finally:
        _release_lock()
    # Work may have arrived after the loop's last look but while it still held the lock.
    wait = seconds_until_next_due()
    if wait is not None:
        schedule_dispatch(wait)
    return out
