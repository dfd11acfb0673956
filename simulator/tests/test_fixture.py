"""The pytest fixture: the server is up, signed calls work, reset isolates tests."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from simulator.server import SimulatorHandle
from simulator.testing import prepare, release
from simulator.tests.helpers import ok
from upstream import breaker

GD = "/group-dispatch-api"


def test_fixture_points_settings_at_the_server(simulator: SimulatorHandle) -> None:
    assert simulator.url == settings.UPSTREAM_BASE_URL
    assert ok(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET") == {
        "currentPort": 0,
        "maxPort": 10,
    }


def test_what_one_test_leaves_is_gone_for_the_next(
    simulator: SimulatorHandle, settings: Any
) -> None:
    """The fixture's own set-up (`prepare`), run again after a test's leftovers: calls,
    accounts, ports, faults, a webhook base and an open breaker are all gone."""
    ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    simulator.state.set_account("8613000000001", online=True)
    simulator.set_webhook_base("http://127.0.0.1:9/")
    simulator.set_faults(1.0, ["500"])
    for _ in range(10):
        breaker.record_failure(breaker.Ticket())
    assert breaker.breaker_state() == "open"
    assert len(simulator.calls()) == 1 and simulator.state.accounts

    release(simulator)
    fresh = prepare(simulator, settings)

    assert fresh.calls() == []
    assert fresh.state.accounts == {}
    assert fresh.sim.dispatcher.webhook_base is None
    assert breaker.breaker_state() == "closed"
    assert ok(fresh.url, f"{GD}/qrCode/selectCloudPortDetail", method="GET") == []
    assert ok(fresh.url, f"{GD}/whatsapp/queryWhatsAppStatus", method="GET") == []
