"""Metrics of the upstream door: calls by operation and outcome, and their latency
(`core.metrics`: per instance, in the process's memory). The breaker's state is a gauge in
`upstream/gauges.py`."""

from __future__ import annotations

from core.metrics import describe, inc, observe

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
    inc(CALLS_NAME, {"operation": operation, "outcome": outcome})
    if seconds is not None:
        observe(SECONDS_NAME, {"operation": operation}, seconds)
