"""pytest plugin: the simulator as a live HTTP server.

- `simulator_server` (session): one simulator per test process, on 127.0.0.1 and a free port.
- `simulator` (function): resets it, points `settings.UPSTREAM_BASE_URL` at it and yields
  the handle: `.url`, `.reset()`, `.scan(id, whatsapp, ok=True)`, `.set_faults(rate,
  kinds)`, `.calls()`, `.state`, `.set_webhook_base(url)`, `.set_action_interval(s)`,
  `.set_quirks(bool)`, `.set_options(**)`, `.deliveries()`, `.wait_deliveries(timeout)`.

Test-friendly timings: actions execute after 0.05 s and fail after 1 s without a login;
webhook retries back off from 0.05 s up to 1 s. Webhooks go nowhere (logged as skipped)
until a test calls `set_webhook_base(live_server.url)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator.server import SimulatorHandle, start_simulator
from simulator.state.records import Options
from upstream.breaker import reset as breaker_reset

TEST_BACKOFF = (0.05, 1.0)


def test_options() -> Options:
    from django.conf import settings

    return Options(
        action_interval=float(settings.ACTION_LANE_INTERVAL),
        action_delay=0.05,
        action_login_wait=1.0,
    )


test_options.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorHandle]:
    handle = start_simulator(
        "127.0.0.1",
        0,
        None,
        backoff_base=TEST_BACKOFF[0],
        backoff_cap=TEST_BACKOFF[1],
        hold_seconds=0.3,
        tick=0.05,
    )
    handle.state.reset(options=test_options())
    try:
        yield handle
    finally:
        handle.stop()


def prepare(handle: SimulatorHandle, settings: Any) -> SimulatorHandle:
    """What every test starts from: an empty simulator with test timings, our settings
    pointed at it, and a closed breaker."""
    handle.state.defaults = test_options()
    handle.reset(demo=False)
    settings.UPSTREAM_BASE_URL = handle.url
    # The breaker is shared through the cache: a fault test must not leave it open for
    # the next test, nor inherit an open one.
    breaker_reset()
    return handle


def release(handle: SimulatorHandle) -> None:
    handle.set_webhook_base(None)
    handle.set_faults(0, [])
    breaker_reset()


@pytest.fixture
def simulator(simulator_server: SimulatorHandle, settings: Any) -> Iterator[SimulatorHandle]:
    yield prepare(simulator_server, settings)
    release(simulator_server)
