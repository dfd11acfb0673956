"""Metrics of the upstream door: calls by operation and outcome, and their latency.

Kept fleet-wide through `core.metrics` (counters in the shared cache, served at /metrics),
buffered in the process and flushed at most once a second, so a vendor call never pays a
cache round trip for its own metrics. The breaker's state is a gauge in
`upstream/gauges.py` (the breaker) and the counters here, read from the shared cache at scrape time.
"""

from __future__ import annotations

from core.metrics import describe, flush_buffer, inc_buffered, observe_buffered

CALLS_NAME = "switchboard_upstream_calls_total"
SECONDS_NAME = "switchboard_upstream_call_seconds"

describe(
    CALLS_NAME,
    "counter",
    "Calls to the vendor by operation and outcome "
    "(ok, business_error, auth_error, busy, unavailable, timeout, bad_response, circuit_open).",
)
describe(SECONDS_NAME, "histogram", "Wall time of calls sent to the vendor, by operation.")


def record_call(operation: str, outcome: str, seconds: float | None) -> None:
    """One call's outcome (and its wall time when it was sent)."""
    inc_buffered(CALLS_NAME, {"operation": operation, "outcome": outcome})
    if seconds is not None:
        observe_buffered(SECONDS_NAME, {"operation": operation}, seconds)


def flush() -> None:
    """Send what this process has added up to the shared counters now."""
    flush_buffer()
