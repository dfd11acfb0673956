"""The upstream door's gauge: the circuit breaker, read from the shared cache."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.metrics import gauge

Samples = Iterable[tuple[Mapping[str, str], float]]


@gauge("switchboard_upstream_circuit_open", "1 when the vendor circuit breaker is open")
def breaker() -> Samples:
    from upstream.breaker import breaker_state

    state = breaker_state()
    return [({"state": state}, 1.0 if state == "open" else 0.0)]


@gauge(
    "switchboard_vendor_reachable",
    "1 when the beat's last vendor measurement answered (0 when failed or stale)",
)
def vendor_reachable() -> Samples:
    from upstream.health import vendor_reachability

    found = vendor_reachability()
    return [({}, 1.0 if found["ok"] else 0.0)]


@gauge("switchboard_vendor_measured_age_seconds", "Age of the beat's last vendor measurement")
def vendor_measured_age() -> Samples:
    from upstream.health import vendor_reachability

    age = vendor_reachability()["age_s"]
    return [] if age is None else [({}, float(age))]
