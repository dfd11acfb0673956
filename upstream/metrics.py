"""Metrics of the upstream door. This module starts no server.

Each call is recorded twice:
- in this process's prometheus_client registry (`CALLS`, `CALL_SECONDS`, `BREAKER_STATE`),
  for tests and for anyone exposing the default registry;
- fleet-wide through `core.metrics` (counters in the shared cache, served at /metrics), under
  the same names, added up in memory and flushed at most once a second (`flush()`).
Metrics never break, nor noticeably slow, the call they measure.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import threading
import time
from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

CALLS_NAME = "switchboard_upstream_calls_total"
SECONDS_NAME = "switchboard_upstream_call_seconds"

CALLS = Counter(
    CALLS_NAME,
    "Calls to the vendor by operation and outcome "
    "(ok, business_error, auth_error, unavailable, timeout, bad_response, circuit_open).",
    ["operation", "outcome"],
)
CALL_SECONDS = Histogram(
    SECONDS_NAME,
    "Wall time of calls sent to the vendor, by operation.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


def breaker_state_value() -> float:
    """The breaker as a number: 0 closed, 1 half-open, 2 open."""
    from upstream.breaker import breaker_state

    return BREAKER_VALUES.get(breaker_state(), 0.0)


BREAKER_STATE = Gauge(
    "switchboard_upstream_breaker_state",
    "Upstream circuit breaker: 0 closed, 1 half-open, 2 open (read from the shared cache).",
)
BREAKER_STATE.set_function(breaker_state_value)


# --- fleet-wide, through core.metrics ---------------------------------------------------------
# core.metrics keeps counters in the shared cache: several cache round trips per recorded
# call. Calls are therefore added up here and flushed at most once per FLUSH_EVERY seconds
# (and at exit): the vendor call never pays for its own metrics.

FLUSH_EVERY = 1.0
_BUCKETS_FALLBACK = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_lock = threading.Lock()
_pending_calls: dict[tuple[str, str], int] = {}
_pending_buckets: dict[tuple[str, str], int] = {}  # (operation, le) -> count
_pending_sum_us: dict[str, int] = {}
_last_flush = time.monotonic()


@lru_cache(maxsize=1)
def _shared_buckets() -> tuple[float, ...]:
    try:
        from core.metrics import BUCKETS
    except ImportError:  # pragma: no cover
        return _BUCKETS_FALLBACK
    return tuple(BUCKETS)


def _bucket(seconds: float) -> str:
    buckets = _shared_buckets()
    i = bisect.bisect_left(buckets, seconds)
    return str(buckets[i]) if i < len(buckets) else "+Inf"


def record_call(operation: str, outcome: str, seconds: float | None) -> None:
    """One call's outcome (and its wall time when it was sent)."""
    global _last_flush
    CALLS.labels(operation, outcome).inc()
    if seconds is not None:
        CALL_SECONDS.labels(operation).observe(seconds)
    due = False
    with _lock:
        key = (operation, outcome)
        _pending_calls[key] = _pending_calls.get(key, 0) + 1
        if seconds is not None:
            bkey = (operation, _bucket(seconds))
            _pending_buckets[bkey] = _pending_buckets.get(bkey, 0) + 1
            _pending_sum_us[operation] = _pending_sum_us.get(operation, 0) + int(seconds * 1e6)
        now = time.monotonic()
        if now - _last_flush >= FLUSH_EVERY:
            _last_flush = now
            due = True
    if due:
        flush()


def flush() -> None:
    """Send what was added up to the shared counters (never raises)."""
    with _lock:
        calls = dict(_pending_calls)
        buckets = dict(_pending_buckets)
        sums = dict(_pending_sum_us)
        _pending_calls.clear()
        _pending_buckets.clear()
        _pending_sum_us.clear()
    if not (calls or buckets or sums):
        return
    try:
        from core import metrics as shared
    except ImportError:  # pragma: no cover - core.metrics is optional for this module
        return
    try:
        for (operation, outcome), n in calls.items():
            shared.inc(CALLS_NAME, {"operation": operation, "outcome": outcome}, n)
        # The histogram as core.metrics.observe() stores it (one counter per bucket and a
        # microsecond sum), added in bulk; test_errors checks it reads back as a histogram.
        for (operation, le), n in buckets.items():
            shared.inc(f"{SECONDS_NAME}_bucket", {"operation": operation, "le": le}, n)
        for operation, us in sums.items():
            shared.inc(f"{SECONDS_NAME}_sum_us", {"operation": operation}, us)
    except Exception:
        log.debug("shared upstream metrics not recorded", exc_info=True)


atexit.register(flush)
