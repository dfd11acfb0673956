"""The behaviour profiles (simulator/profiles.py): what getQrCode answers after a scan,
which id the port operations take, re-import refused, a failure report after a success,
and late, duplicated and reordered webhooks."""

from __future__ import annotations

import time
from typing import Any

import pytest

from simulator import vendorcodes as vc
from simulator.server import SimulatorHandle
from simulator.state.ports import QR_SCANNED_CODE
from simulator.tests.helpers import call, ok, receiver
from simulator.webhooks import REORDER_WINDOW

GD = "/group-dispatch-api"
PHONE = "8618733335555"


def _envelope(sim: SimulatorHandle, path: str, body: Any) -> dict[str, Any]:
    response = call(sim.url, GD + path, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _scanned_port(sim: SimulatorHandle, phone: str = PHONE) -> tuple[str, str]:
    """(preGenerate id, selectCloudPortDetail id) of a port whose phone has scanned."""
    session_id = ok(sim.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    before = ok(sim.url, f"{GD}/qrCode/getQrCode", {"id": session_id})
    assert before
    sim.scan(session_id, phone)
    rows = ok(sim.url, f"{GD}/qrCode/selectCloudPortDetail", method="GET")
    (row,) = [r for r in rows if r.get("phone") == phone]
    return session_id, str(row["id"])


def test_get_qr_code_after_a_scan_repeats_the_last_code_by_default(
    simulator: SimulatorHandle,
) -> None:
    session_id = ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    shown = ok(simulator.url, f"{GD}/qrCode/getQrCode", {"id": session_id})
    simulator.scan(session_id, PHONE)
    assert ok(simulator.url, f"{GD}/qrCode/getQrCode", {"id": session_id}) == shown


def test_get_qr_code_after_a_scan_answers_an_error(simulator: SimulatorHandle) -> None:
    simulator.set_profile("qr-error-after-scan")
    session_id, _ = _scanned_port(simulator)
    envelope = _envelope(simulator, "/qrCode/getQrCode", {"id": session_id})
    assert envelope["code"] == QR_SCANNED_CODE and envelope["message"]


def test_get_qr_code_after_a_scan_answers_an_empty_code(simulator: SimulatorHandle) -> None:
    simulator.set_profile("qr-empty-after-scan")
    session_id, _ = _scanned_port(simulator)
    envelope = _envelope(simulator, "/qrCode/getQrCode", {"id": session_id})
    assert envelope["code"] == 200 and envelope["data"] == ""


@pytest.mark.parametrize(
    ("profile", "pregenerate_ok", "port_list_ok"),
    [("default", True, False), ("port-list-ids", False, True)],
)
def test_port_operations_take_the_profiles_id(
    simulator: SimulatorHandle, profile: str, pregenerate_ok: bool, port_list_ok: bool
) -> None:
    simulator.set_profile(profile)
    session_id, list_id = _scanned_port(simulator)
    codes = {
        ident: _envelope(simulator, "/qrCode/info/profile", {"id": ident})["code"]
        for ident in (session_id, list_id)
    }
    assert codes[session_id] == (200 if pregenerate_ok else vc.QR_NO_PORT)
    assert codes[list_id] == (200 if port_list_ok else vc.QR_NO_PORT)
    refused = session_id if not pregenerate_ok else list_id
    assert _envelope(simulator, "/qrCode/logOut", {"id": refused})["code"] == vc.QR_NO_PORT


def test_either_port_id_is_accepted_under_either(simulator: SimulatorHandle) -> None:
    from dataclasses import replace

    from simulator.profiles import PROFILES

    simulator.sim.state.vendor_profile = replace(PROFILES["default"], port_ids="either")
    session_id, list_id = _scanned_port(simulator)
    for ident in (session_id, list_id):
        assert _envelope(simulator, "/qrCode/offline", {"id": ident})["code"] == 200


def _row(number: str) -> dict[str, Any]:
    return {
        "whatsApp": number,
        "publicKey": "pk",
        "privateKey": "sk",
        "msgPublicKey": "mpk",
        "msgPrivateKey": "msk",
        "accountId": "1",
    }


def test_reimport_refused_names_the_record_and_imports_nothing(
    simulator: SimulatorHandle,
) -> None:
    simulator.set_profile("reimport-refused")
    ok(simulator.url, f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_row("8613900000011")]})
    envelope = _envelope(
        simulator,
        "/whatsapp/batchInsert",
        {"whatsAppList": [_row("8613900000012"), _row("8613900000011")]},
    )
    assert envelope["code"] == 400 and "8613900000011" in envelope["message"]
    assert "whatsAppList[1]" in envelope["message"]
    assert "8613900000012" not in simulator.state.accounts  # refused whole


def test_reimport_is_accepted_by_default(simulator: SimulatorHandle) -> None:
    body = {"whatsAppList": [_row("8613900000021")]}
    ok(simulator.url, f"{GD}/whatsapp/batchInsert", body)
    ok(simulator.url, f"{GD}/whatsapp/batchInsert", body)


def test_failure_reported_after_a_success(simulator: SimulatorHandle) -> None:
    simulator.set_profile("failure-after-success")
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        session_id, _ = _scanned_port(simulator)
        simulator.wait_deliveries(10)
    reports = [r.json for r in rx.of(vc.QR_LOGIN_STATUS)]
    assert reports == [
        {"id": session_id, "whatsapp": PHONE, "status": 1},
        {"id": session_id, "whatsapp": PHONE, "status": 0},
    ]


def test_messy_webhooks_arrive_late_twice_and_reordered(simulator: SimulatorHandle) -> None:
    simulator.set_profile("messy-webhooks")
    delay = simulator.sim.profile.webhook_delay
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        started = time.monotonic()
        simulator.state.emit(vc.QR_LOGIN_STATUS, {"id": "a", "whatsapp": "1", "status": 1})
        simulator.state.emit(vc.QR_LOGIN_STATUS, {"id": "a", "whatsapp": "1", "status": 0})
        simulator.wait_deliveries(delay + REORDER_WINDOW + 10)
        finished = time.monotonic() - started
    got = [r.json["status"] for r in rx.of(vc.QR_LOGIN_STATUS)]
    assert sorted(got) == [0, 0, 1, 1]  # each twice
    assert got[0] == 0  # the later report overtook the earlier one
    assert finished >= delay  # late
    log = simulator.deliveries()
    assert len(log) == 4 and all(d["state"] == "delivered" for d in log)
    first_sent = min(d["firstAttemptAt"] - d["created"] for d in log)
    assert first_sent >= delay - 0.05
