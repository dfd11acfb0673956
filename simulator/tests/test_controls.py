"""The /_sim controls, fault injection, the calls log, the page, and time-driven
behaviour over HTTP (QR rotation, lock expiry, action execution)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from simulator import vendorcodes as vc
from simulator.server import SimulatorHandle
from simulator.tests.helpers import call, control, ok, receiver
from tests.waiting import wait_for as _wait_for

GD = "/group-dispatch-api"
WS = "/wscrm-bus-api"


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """The simulator's own threads answer within milliseconds: a short wait, polled often."""
    _wait_for(predicate, timeout, interval=0.02)


# ------------------------------------------------------------------ faults
def test_fault_500(simulator: SimulatorHandle) -> None:
    control(simulator.url, "faults", {"rate": 1.0, "kinds": ["500"]})
    response = call(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    assert response.status_code == 500
    assert simulator.state.ports == {}


def test_fault_garbage(simulator: SimulatorHandle) -> None:
    simulator.set_faults(1.0, ["garbage"])
    response = call(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_fault_business_from_the_right_family(simulator: SimulatorHandle) -> None:
    simulator.set_faults(1.0, ["business"])
    assert call(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1}).json()["code"] == 1001
    assert call(simulator.url, f"{GD}/qrCode/getQrCode", {"id": "x"}).json()["code"] == 1002
    envelope = call(simulator.url, f"{GD}/whatsapp/queryWhatsAppStatus", method="GET").json()
    assert envelope["code"] not in (200, 1001, 1002, 1003, 1004)


def test_fault_timeout_holds_the_answer(simulator: SimulatorHandle) -> None:
    control(simulator.url, "faults", {"rate": 1, "kinds": ["timeout"], "timeoutSeconds": 0.6})
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        call(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET", timeout=0.2)
    assert time.monotonic() - started < 0.5
    response = call(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET")
    assert response.status_code == 200 and time.monotonic() - started >= 0.6


def test_fault_rate_and_paths(simulator: SimulatorHandle) -> None:
    simulator.set_faults(0.5, ["500"], seed=7)
    statuses = [
        call(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET").status_code
        for _ in range(40)
    ]
    assert 5 < statuses.count(500) < 35 and statuses.count(200) > 5
    simulator.set_faults(1.0, ["500"], paths=["/selectPairTarget"])
    assert call(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET").status_code == 200
    assert call(simulator.url, f"{GD}/qrCode/selectPairTarget", method="GET").status_code == 500


def test_unknown_fault_kind_is_refused(simulator: SimulatorHandle) -> None:
    response = requests.post(
        simulator.url + "/_sim/faults", json={"rate": 1, "kinds": ["meteor"]}, timeout=10
    )
    assert response.status_code == 400


def test_reset_clears_faults(simulator: SimulatorHandle) -> None:
    simulator.set_faults(1.0, ["500"])
    control(simulator.url, "reset")
    assert call(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET").status_code == 200


# ------------------------------------------------------------------ calls log
def test_calls_log_masks_secrets(simulator: SimulatorHandle) -> None:
    ok(
        simulator.url,
        f"{GD}/whatsapp/batchInsert",
        {
            "whatsAppList": [
                {
                    "whatsApp": "861",
                    "publicKey": "PUB",
                    "privateKey": "PRIV",
                    "msgPublicKey": "MP",
                    "msgPrivateKey": "MPRIV",
                    "accountId": "ACC",
                    "deviceParams": "DEV",
                }
            ]
        },
    )
    port = ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    ok(simulator.url, f"{GD}/qrCode/getQrCode", {"id": port, "ipConfig": "1.2.3.4:1080:bob:pw"})
    calls = control(simulator.url, "calls", method="GET")
    assert [c["path"] for c in calls] == [
        f"{GD}/whatsapp/batchInsert",
        f"{GD}/qrCode/preGenerate",
        f"{GD}/qrCode/getQrCode",
    ]
    assert all({"path", "method", "time", "body"} <= set(c) for c in calls)
    text = requests.get(simulator.url + "/_sim/calls", timeout=10).text
    for secret in ("PUB", "PRIV", "MPRIV", "ACC", "DEV", "bob", ":pw"):
        assert secret not in text
    assert calls[0]["body"]["whatsAppList"][0]["whatsApp"] == "861"
    assert calls[2]["body"]["ipConfig"] == "1.2.3.4:1080:***:***"
    assert simulator.calls("/getQrCode")[0]["method"] == "POST"


# ------------------------------------------------------------------ the page and forms
def test_page_shows_ports_tasks_registrations_and_buttons(simulator: SimulatorHandle) -> None:
    simulator.state.reset(demo=True)
    port = ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    task = ok(simulator.url, f"{WS}/qrCodeTask/create", {"allocationRole": 1})
    ok(
        simulator.url,
        f"{GD}/register/submitPhone",
        {
            "phone": "1821726232",
            "verifyType": 0,
            "accountType": 1,
            "areaCode": "+86",
            "countryCode": "CN",
        },
    )
    code = control(simulator.url, "registrations", method="GET")[0]["verifyCode"]
    qr = simulator.state.port_qr(simulator.state.port(port))
    page = requests.get(simulator.url + "/_sim/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    for needle in (
        port,
        task,
        code,
        qr,
        'action="/_sim/scan"',
        'action="/_sim/ban"',
        'action="/_sim/disconnect"',
        "861380000001",
    ):
        assert needle in html


def test_form_posts_redirect_back_to_the_page(simulator: SimulatorHandle) -> None:
    port = ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    response = requests.post(
        simulator.url + "/_sim/scan",
        data={"id": port, "whatsapp": "8613700000001", "ok": "true"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303 and response.headers["Location"] == "/_sim/"
    assert simulator.state.accounts["8613700000001"].online
    response = requests.post(
        simulator.url + "/_sim/ban",
        data={"whatsapp": "8613700000001"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    assert simulator.state.accounts["8613700000001"].status == vc.STATUS_BANNED


def test_ban_disconnect_agents_accounts_controls(simulator: SimulatorHandle) -> None:
    control(
        simulator.url,
        "agents",
        {"agents": [{"userId": 7, "agentAccount": "a7", "userName": "Seven"}]},
    )
    control(
        simulator.url,
        "accounts",
        {"whatsapp": "861", "online": True, "agentAccount": "a7", "source": 1},
    )
    users = ok(simulator.url, f"{GD}/user/queryUserStatus", {"source": 1})
    assert users == [
        {"userId": 7, "agentAccount": "a7", "whatsAppList": [{"whatsApp": "861", "name": ""}]}
    ]
    control(simulator.url, "disconnect", {"whatsapp": "861"})
    assert ok(simulator.url, f"{GD}/user/queryUserStatus", {"source": 1})[0]["whatsAppList"] == []
    control(simulator.url, "ban", {"whatsapp": "861"})
    status = ok(simulator.url, f"{GD}/whatsapp/queryWhatsAppStatus", method="GET")
    assert status == [{"whatsApp": "861", "status": 2, "onlineStatus": 4}]
    response = requests.post(simulator.url + "/_sim/ban", json={"whatsapp": "nobody"}, timeout=10)
    assert response.status_code == 400
    assert requests.get(simulator.url + "/_sim/nothing", timeout=10).status_code == 404


def test_state_control_and_reset_to_demo(simulator: SimulatorHandle) -> None:
    control(simulator.url, "reset", {"demo": True})
    state = control(simulator.url, "state", method="GET")
    assert state["accountCount"] == 24 and len(state["agents"]) == 2
    control(simulator.url, "reset")
    assert control(simulator.url, "state", method="GET")["accountCount"] == 0


# ------------------------------------------------------------------ time over HTTP
def test_qr_rotates_over_http(simulator: SimulatorHandle) -> None:
    simulator.set_options(qr_rotate=0.3)
    port = ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    first = ok(simulator.url, f"{GD}/qrCode/getQrCode", {"id": port})
    assert ok(simulator.url, f"{GD}/qrCode/getQrCode", {"id": port}) == first
    time.sleep(0.35)
    second = ok(simulator.url, f"{GD}/qrCode/getQrCode", {"id": port})
    assert second != first and second.startswith("2@") and second.endswith(",1")
    v2 = ok(simulator.url, f"{GD}/qrCode/getQrCodeV2", {"id": port, "phone": "8613700000009"})
    assert v2["qrcode"] == second and v2["pairCode"] == "88888888"
    simulator.scan(port, "")  # the phone given to getQrCodeV2 is the one that logs in
    assert simulator.state.accounts["8613700000009"].online
    info = ok(simulator.url, f"{GD}/qrCode/getQrCodeInfo", {"id": port})
    assert info == [{"status": 1, "userName": "", "whatsApp": "8613700000009"}]


def test_port_lock_expiry_over_http(simulator: SimulatorHandle) -> None:
    simulator.set_options(lock_seconds=0.2)
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        port = ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})
        assert ok(simulator.url, f"{GD}/qrCode/selectCloudPort", method="GET")["currentPort"] == 1
        wait_for(lambda: simulator.state.current_ports() == 0, 3)
        simulator.wait_deliveries(5)
    assert rx.of(vc.QR_LOGIN_STATUS)[0].json == {"id": port, "whatsapp": "", "status": 0}
    assert call(simulator.url, f"{GD}/qrCode/getQrCode", {"id": port}).json()["code"] == 1002


def _add(sim: SimulatorHandle, friend: str, whats: str = "861") -> str:
    ids = ok(
        sim.url,
        f"{WS}/open/action/batchAdd",
        {
            "tenantId": 500766,
            "data": [
                {
                    "agentAccount": "a1",
                    "whatsId": whats,
                    "friendWhatsId": friend,
                    "platformType": 1,
                    "content": "hi",
                    "type": 1,
                }
            ],
        },
    )
    return str(ids[0])


def _result(sim: SimulatorHandle, ident: str) -> dict[str, object]:
    rows = ok(sim.url, f"{WS}/open/action/callbackResult", {"tenantId": 500766, "data": [ident]})
    return dict(rows[0])


def test_actions_execute_and_a_lane_too_fast_is_refused(simulator: SimulatorHandle) -> None:
    simulator.set_action_interval(0.3)
    simulator.state.upsert_agent(user_id=1, agent_account="a1")
    simulator.state.set_account("861", online=True, agent_account="a1")
    first = _add(simulator, "f1")
    time.sleep(0.35)
    second = _add(simulator, "f2")
    with pytest.raises(AssertionError, match=r"must open 0\.3 s apart"):
        _add(simulator, "f3")  # too soon after the second: refused
    _add(simulator, "g1", whats="862")  # another pair: accepted; fails (not logged in)
    wait_for(lambda: _result(simulator, second)["executeStatus"] == 1)
    assert _result(simulator, first)["executeStatus"] == 1
    actions = control(simulator.url, "actions", method="GET")
    assert [v["previousId"] for v in actions["violations"]] == [second]
    assert [(o["id"], o["friendWhatsId"]) for o in actions["opened"]] == [
        (first, "f1"),
        (second, "f2"),
    ]
    assert simulator.state.violations == actions["violations"]


def test_action_fails_when_the_pair_is_not_logged_in(simulator: SimulatorHandle) -> None:
    simulator.set_options(action_login_wait=0.3)
    ident = _add(simulator, "f1", whats="869")
    row = _result(simulator, ident)
    assert row["executeStatus"] == 0 and row["executeTime"] == vc.NOT_EXECUTED_TIME
    wait_for(lambda: _result(simulator, ident)["executeStatus"] == 2)
    assert control(simulator.url, "actions", method="GET")["opened"] == []


def test_action_succeeds_when_the_pair_logs_in_during_the_wait(simulator: SimulatorHandle) -> None:
    simulator.set_options(action_login_wait=5)
    ident = _add(simulator, "f1")
    time.sleep(0.1)
    assert _result(simulator, ident)["executeStatus"] == 0
    simulator.state.upsert_agent(user_id=1, agent_account="a1")
    simulator.state.set_account("861", online=True, agent_account="a1")
    wait_for(lambda: _result(simulator, ident)["executeStatus"] == 1)


def test_registration_over_http(simulator: SimulatorHandle) -> None:
    task = ok(
        simulator.url,
        f"{GD}/register/submitPhone",
        {
            "phone": "1821726232",
            "verifyType": 1,
            "accountType": 2,
            "areaCode": "+86",
            "countryCode": "CN",
        },
    )
    assert isinstance(task, int)
    (reg,) = control(simulator.url, "registrations", method="GET")
    assert reg["taskId"] == task and len(reg["verifyCode"]) == 6
    with receiver() as rx:
        simulator.set_webhook_base(rx.url)
        ok(
            simulator.url,
            f"{GD}/register/submitVerifyCode",
            {"phone": "1821726232", "areaCode": "+86", "verifyCode": reg["verifyCode"]},
        )
        simulator.wait_deliveries(5)
    assert rx.of(vc.REGISTER_STATUS)[0].json == {"phone": "861821726232", "status": "1"}
    status = ok(simulator.url, f"{GD}/whatsapp/queryWhatsAppStatus", method="GET")
    assert {"whatsApp": "861821726232", "status": 1, "onlineStatus": 4} in status


def test_a_held_request_is_dropped_after_a_reset(simulator: SimulatorHandle) -> None:
    simulator.set_faults(1.0, ["timeout"], timeout_seconds=0.4)
    with pytest.raises(requests.Timeout):
        call(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1}, timeout=0.1)
    simulator.reset()
    time.sleep(0.5)
    assert simulator.state.ports == {}  # the held preGenerate did not land in the new state


def test_profiles_are_listed_switched_and_reset(simulator: Any) -> None:
    """`GET /_sim/profile` lists the vendor profiles, `POST` switches the state and the
    dispatcher to one, an unknown name is a 400 naming the known ones, and a reset goes
    back to the profile the simulator started with."""
    import requests

    listed = requests.get(f"{simulator.url}/_sim/profile", timeout=5).json()["data"]
    assert listed["current"] == "default"
    names = {p["name"] for p in listed["profiles"]}
    assert {"default", "static-headers", "unsigned-webhooks", "port-list-ids"} <= names
    switched = requests.post(
        f"{simulator.url}/_sim/profile", json={"name": "port-list-ids"}, timeout=5
    ).json()["data"]
    assert switched["port_ids"] == "port-list"
    assert simulator.sim.state.vendor_profile.name == "port-list-ids"
    assert simulator.sim.dispatcher.vendor_profile.name == "port-list-ids"
    bad = requests.post(f"{simulator.url}/_sim/profile", json={"name": "nope"}, timeout=5)
    assert bad.status_code == 400 and "default" in bad.json()["message"]
    simulator.reset()
    assert simulator.sim.profile.name == "default"
