"""Webhooks back: signed, to the docs/design.md paths, retried with backoff until 200, and
shaped like the vendor's real ones in quirks mode."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from simulator import vendorcodes as vc
from simulator.server import SimulatorHandle
from simulator.tests.helpers import Received, control, ok, receiver
from simulator.webhooks import quirky
from upstream.signing import HmacSigner, SignatureError

GD = "/group-dispatch-api"


def assert_signed(rec: Received) -> None:
    headers = {k.title(): v for k, v in rec.headers.items()}
    HmacSigner().verify(
        headers={
            "X-Timestamp": headers["X-Timestamp"],
            "X-Nonce": headers["X-Nonce"],
            "X-Signature": headers["X-Signature"],
        },
        body=rec.body,
        secrets_=[settings.WEBHOOK_SECRETS[0]],
        seen_nonce=lambda n: False,
    )
    assert headers["X-Api-Key"] == settings.UPSTREAM_API_KEY


def scan_a_port(sim: SimulatorHandle, phone: str = "8613900000001") -> str:
    ident = ok(sim.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    result = sim.scan(ident, phone)
    assert result["status"] == 1
    return str(ident)


def test_scan_sends_three_signed_webhooks(simulator: SimulatorHandle) -> None:
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        ident = scan_a_port(simulator)
        simulator.wait_deliveries(10)
    assert rx.paths() == [vc.QR_LOGIN_STATUS, vc.ONLINE_STATUS, vc.SYNC_WHATSAPP_STATUS]
    for rec in rx.received:
        assert_signed(rec)
        assert rec.headers["Content-Type"] == "application/json"
    assert rx.of(vc.QR_LOGIN_STATUS)[0].json == {
        "id": ident,
        "whatsapp": "8613900000001",
        "status": 1,
    }
    (record,) = rx.of(vc.ONLINE_STATUS)[0].json["whatsAppList"]
    assert set(record) == {"whatsId", "status", "detailStatus", "account", "platformType", "time"}
    assert set(rx.of(vc.SYNC_WHATSAPP_STATUS)[0].json) == {
        "whatsApp",
        "status",
        "onlineStatus",
        "reason",
        "instanceCode",
    }
    log = simulator.deliveries()
    assert [d["state"] for d in log] == ["delivered"] * 3
    assert all(d["attempts"] == 1 and d["lastStatus"] == 200 for d in log)


def test_signature_does_not_verify_with_another_secret(simulator: SimulatorHandle) -> None:
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        scan_a_port(simulator)
        simulator.wait_deliveries(10)
    rec = rx.received[0]
    try:
        HmacSigner().verify(
            headers=dict(rec.headers), body=rec.body, secrets_=["other"], seen_nonce=lambda n: False
        )
    except SignatureError:
        pass
    else:
        raise AssertionError("a webhook verified with the wrong secret")


def test_retries_with_backoff_until_200(simulator: SimulatorHandle) -> None:
    simulator.set_backoff(0.1, 0.4)
    with receiver() as rx:
        rx.statuses = [500, 503, 404, 500]
        simulator.set_webhook_base(rx.url)
        started = time.monotonic()
        simulator.state.submit_code(
            phone=simulator.state.submit_phone(
                phone="1821726232", verify_type=0, account_type=1, area_code="+86", country="CN"
            ).phone,
            area_code="+86",
            code=next(iter(simulator.state.registrations.values())).code,
        )
        simulator.wait_deliveries(10)
        elapsed = time.monotonic() - started
    assert rx.paths() == [vc.REGISTER_STATUS] * 5
    (delivery,) = simulator.deliveries()
    assert delivery["attempts"] == 5 and delivery["statuses"] == [500, 503, 404, 500, 200]
    assert delivery["state"] == "delivered"
    # backoff 0.1, 0.2, 0.4, 0.4 (capped): at least 1.1 s in all
    assert elapsed >= 1.05
    nonces = {r.headers["X-Nonce"] for r in rx.received}
    assert len(nonces) == 5  # every attempt signed afresh
    assert rx.received[-1].json == {"phone": "861821726232", "status": "1"}


def test_wait_deliveries_times_out_while_the_receiver_refuses(simulator: SimulatorHandle) -> None:
    simulator.set_backoff(0.05, 0.05)
    with receiver() as rx:
        rx.statuses = [500] * 1000
        simulator.set_webhook_base(rx.url)
        simulator.state.set_account("861", online=True, emit=True)
        try:
            simulator.wait_deliveries(0.3)
        except TimeoutError:
            pass
        else:
            raise AssertionError("wait_deliveries returned while deliveries were failing")
        simulator.reset()  # drops the queue
        simulator.wait_deliveries(1)


def test_no_webhook_base_means_skipped(simulator: SimulatorHandle) -> None:
    scan_a_port(simulator)
    simulator.wait_deliveries(1)
    assert {d["state"] for d in simulator.deliveries()} == {"skipped"}


def test_quirky_shapes() -> None:
    payload: dict[str, Any] = {
        "whatsAppList": [
            {
                "whatsId": "861",
                "status": 10,
                "detailStatus": 11,
                "account": "",
                "platformType": 1,
                "time": "2024-07-03 15:27:00",
            }
        ]
    }
    shaped = quirky(vc.ONLINE_STATUS, payload)
    assert isinstance(shaped, list) and len(shaped) == 2 and shaped[0] == shaped[1]
    assert shaped[0]["status"] == "1" and shaped[0]["platformType"] == "1"
    sync = quirky(vc.SYNC_WHATSAPP_STATUS, {"whatsApp": "861", "status": 1, "onlineStatus": 2})
    assert sync == {"whatsApp": "861", "status": "1", "onlineStatus": "2"}


def test_quirks_mode_over_the_wire(simulator: SimulatorHandle) -> None:
    simulator.set_quirks(True)
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        scan_a_port(simulator)
        simulator.wait_deliveries(10)
    online = rx.of(vc.ONLINE_STATUS)[0].json
    assert isinstance(online, list) and len(online) == 2 and online[0] == online[1]
    assert online[0]["status"] == "1" and online[0]["detailStatus"] == "11"
    assert rx.of(vc.SYNC_WHATSAPP_STATUS)[0].json["onlineStatus"] == "2"
    for rec in rx.received:
        assert_signed(rec)


def test_quirks_mode_delivers_out_of_order(simulator: SimulatorHandle) -> None:
    simulator.set_quirks(True)
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        scan_a_port(simulator)  # emits login, online, sync: the first is held back
        simulator.wait_deliveries(10)
    assert rx.paths()[:2] == [vc.ONLINE_STATUS, vc.QR_LOGIN_STATUS]
    sent_order = [d["path"] for d in simulator.deliveries()]
    assert sent_order[:2] == [vc.QR_LOGIN_STATUS, vc.ONLINE_STATUS]


def test_a_lone_held_delivery_still_goes_out(simulator: SimulatorHandle) -> None:
    simulator.set_quirks(True)
    simulator.sim.dispatcher.hold_seconds = 0.2
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        simulator.state.set_account("861", online=False)
        simulator.state.ban("861")  # two webhooks: online status then sync
        simulator.state.disconnect("861")
        simulator.wait_deliveries(5)
    assert len(rx.received) == 4


def test_quota_cut_webhooks(simulator: SimulatorHandle) -> None:
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        for i in range(3):
            scan_a_port(simulator, f"861390000000{i}")
        simulator.wait_deliveries(10)
        rx.received.clear()
        response = __import__("requests").post(
            simulator.url + "/_sim/quota", json={"maxPort": 2}, timeout=10
        )
        assert [a["phone"] for a in response.json()["data"]["offline"]] == ["8613900000002"]
        simulator.wait_deliveries(10)
    (record,) = rx.of(vc.ONLINE_STATUS)[0].json["whatsAppList"]
    assert record["whatsId"] == "8613900000002" and record["status"] == 30
    assert ok(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET") == {
        "currentPort": 3,
        "maxPort": 2,
    }


def test_scan_task_webhooks_70_then_80(simulator: SimulatorHandle) -> None:
    simulator.state.upsert_agent(user_id=10001, agent_account="agent01", user_name="A")
    task = ok(
        simulator.url, "/wscrm-bus-api/qrCodeTask/create", {"userId": 10001, "allocationRole": 3}
    )
    qr = ok(simulator.url, "/wscrm-bus-api/qrCodeTask/getQrCode", {"taskId": task})
    assert qr.startswith("2@")
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        import requests

        response = requests.post(
            simulator.url + "/_sim/scan", json={"id": task, "whatsapp": "86166666666"}, timeout=10
        )
        assert response.status_code == 200
        simulator.wait_deliveries(10)
    statuses = [r.json["taskStatus"] for r in rx.of(vc.SCAN_TASK_STATUS)]
    assert statuses == [70, 80]
    last = rx.of(vc.SCAN_TASK_STATUS)[-1].json
    assert set(last) == {"taskId", "userId", "taskStatus", "whatsapp", "updateTime"}
    assert last["taskId"] == task and last["userId"] == 10001
    assert rx.of(vc.ONLINE_STATUS)[0].json["whatsAppList"][0]["account"] == "agent01"


def test_withheld_webhook_is_never_sent_until_released(simulator: SimulatorHandle) -> None:
    """The withhold control stands in for a lost or refused syncLoginStatus: the other
    webhooks go out, that one does not, and a release delivers it late."""
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        data = control(simulator.url, "withhold", {"webhooks": ["syncLoginStatus"]})
        assert data == {"withhold": ["syncLoginStatus"], "released": 0}
        ident = scan_a_port(simulator)
        simulator.wait_deliveries(10)  # withheld deliveries do not count as pending
        assert rx.paths() == [vc.ONLINE_STATUS, vc.SYNC_WHATSAPP_STATUS]
        states = {d["path"]: d["state"] for d in simulator.deliveries()}
        assert states[vc.QR_LOGIN_STATUS] == "withheld"
        data = control(simulator.url, "withhold", {"webhooks": [], "release": True})
        assert data == {"withhold": [], "released": 1}
        simulator.wait_deliveries(10)
    assert rx.paths()[-1] == vc.QR_LOGIN_STATUS
    assert rx.of(vc.QR_LOGIN_STATUS)[0].json["id"] == ident
    assert {d["state"] for d in simulator.deliveries()} == {"delivered"}


def test_withhold_is_cleared_by_reset(simulator: SimulatorHandle) -> None:
    simulator.withhold_webhooks("syncLoginStatus")
    simulator.reset()
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        scan_a_port(simulator)
        simulator.wait_deliveries(10)
    assert vc.QR_LOGIN_STATUS in rx.paths()
