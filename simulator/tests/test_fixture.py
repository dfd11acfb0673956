"""The pytest fixture: the server is up, signed calls work, reset isolates tests."""

from __future__ import annotations

from django.conf import settings

from simulator.server import SimulatorHandle
from simulator.tests.helpers import ok

GD = "/group-dispatch-api"


def test_fixture_points_settings_at_the_server(simulator: SimulatorHandle) -> None:
    assert simulator.url == settings.UPSTREAM_BASE_URL
    assert ok(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET") == {
        "currentPort": 0,
        "maxPort": 10,
    }


def test_state_made_in_one_test(simulator: SimulatorHandle) -> None:
    ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    simulator.state.set_account("8613000000001", online=True)
    assert len(simulator.calls()) == 1


def test_is_gone_in_the_next(simulator: SimulatorHandle) -> None:
    assert simulator.calls() == []
    assert simulator.state.accounts == {}
    assert ok(simulator.url, f"{GD}/qrCode/selectCloudPortDetail", method="GET") == []
    assert ok(simulator.url, f"{GD}/whatsapp/queryWhatsAppStatus", method="GET") == []
