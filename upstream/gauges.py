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
