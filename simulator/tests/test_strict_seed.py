"""The simulator refuses what a vendor reading its seed strictly would refuse, each with an
envelope whose message names the field (simulator/vendorcodes.py), and changes nothing."""

# ruff: noqa: E501  (the table reads best one refusal a line)

from __future__ import annotations

from typing import Any

import pytest
import requests

from simulator.server import SimulatorHandle
from simulator.tests.helpers import call, ok, post_raw

GD = "/group-dispatch-api"
WS = "/wscrm-bus-api"
PHONE = "8618733334444"
KEYS = {"publicKey": "pk", "privateKey": "sk", "msgPublicKey": "mpk", "msgPrivateKey": "msk"}


def _account(**fields: Any) -> dict[str, Any]:
    return {"whatsApp": "861821726232", **KEYS, "accountId": "acc", **fields}


def _online(**fields: Any) -> dict[str, Any]:
    return {"whatsApp": "861821726232", **KEYS, "override": False, **fields}


def _action(**fields: Any) -> dict[str, Any]:
    row = {"agentAccount": "test", "whatsId": "861", "friendWhatsId": "862", "platformType": 1}
    return {"tenantId": 500766, "data": [{**row, "type": 1, **fields}]}


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


REGISTER = {
    "phone": "182172623211",
    "verifyType": 1,
    "accountType": 2,
    "areaCode": "+86",
    "countryCode": "CN",
}

# (operation path, body, the envelope message)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    # numeric strings for int fields
    (f"{GD}/qrCode/preGenerate", {"type": "1"}, "Parameter type must be of type int"),
    (f"{GD}/qrCode/preGenerate", {"type": 1, "target": "10085"}, "Parameter target must be of type int"),
    (f"{GD}/qrCode/preGenerate", {"type": 1.0}, "Parameter type must be of type int"),
    (f"{GD}/register/submitPhone", {**REGISTER, "verifyType": "1"}, "Parameter verifyType must be of type int"),
    (f"{GD}/register/submitPhone", {**REGISTER, "accountType": "2"}, "Parameter accountType must be of type int"),
    (f"{WS}/open/action/batchAdd", _action(type="1"), "data[0]: Parameter type must be of type int"),
    (f"{WS}/open/action/batchAdd", _action(platformType="1"), "data[0]: Parameter platformType must be of type int"),
    (f"{WS}/open/action/batchAdd", {**_action(), "tenantId": "500766"}, "Parameter tenantId must be of type int"),
    (f"{WS}/open/action/callbackResult", {"tenantId": "500766", "data": ["a"]}, "Parameter tenantId must be of type int"),
    (f"{GD}/user/queryUserStatus", {"source": "1"}, "Parameter source must be of type int"),
    (f"{GD}/user/queryUserStatus", {"source": 1, "userId": "12"}, "Parameter userId must be of type int"),
    (f"{GD}/user/getLatestOnlineWhatsAccount", {"source": True}, "Parameter source must be of type int"),
    (f"{WS}/qrCodeTask/create", {"allocationRole": "3", "userId": 1}, "Parameter allocationRole must be of type int"),
    (f"{WS}/qrCodeTask/create", {"allocationRole": 3, "userId": "10001"}, "Parameter userId must be of type int"),
    (f"{GD}/channelInfo/updateAvatarOrNickname", {"type": "1", "phoneList": [PHONE], "nickname": "n"}, "Parameter type must be of type int"),
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_account(whatsappType="1")]}, "whatsAppList[0]: Parameter whatsappType must be of type int"),
    # numbers for String fields
    (f"{GD}/register/submitPhone", {**REGISTER, "phone": 182172623211}, "Parameter phone must be of type String"),
    (f"{GD}/register/submitVerifyCode", {"phone": "1", "areaCode": "+86", "verifyCode": 123456}, "Parameter verifyCode must be of type String"),
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_account(whatsApp=861821726232)]}, "whatsAppList[0]: Parameter whatsApp must be of type String"),
    (f"{GD}/whatsapp/batchOnline", {"whatsAppList": [_online(whatsApp=861821726232)]}, "whatsAppList[0]: Parameter whatsApp must be of type String"),
    (f"{GD}/whatsapp/batchRecycle", {"whatsAppList": ["861821726232", 861821726231]}, "Parameter whatsAppList[1] must be of type String"),
    (f"{GD}/channelInfo/updateAvatarOrNickname", {"type": 1, "phoneList": [8618733334444], "nickname": "n"}, "Parameter phoneList[0] must be of type String"),
    (f"{WS}/open/action/batchAdd", _action(friendWhatsId=862), "data[0]: Parameter friendWhatsId must be of type String"),
    (f"{WS}/qrCodeTask/getQrCode", {"taskId": 1}, "Parameter taskId must be of type String"),
    (f"{GD}/qrCode/contact/info", {"id": "x", "phone": 8618733334444}, "Parameter phone must be of type String"),
    (f"{GD}/user/queryUserStatusLog", {"source": 2, "whatsApp": 573125704139}, "Parameter whatsApp must be of type String"),
    # whatsappType only 1 or 2
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_account(whatsappType=7)]}, "whatsAppList[0]: Parameter whatsappType must be 1 or 2"),
    (f"{GD}/whatsapp/batchOnline", {"whatsAppList": [_online(whatsappType=0)]}, "whatsAppList[0]: Parameter whatsappType must be 1 or 2"),
    # empty or missing required keys
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_account(privateKey="")]}, "whatsAppList[0]: Parameter privateKey must not be empty"),
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_account(accountId=" ")]}, "whatsAppList[0]: Parameter accountId must not be empty"),
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_without(_account(), "msgPublicKey")]}, "whatsAppList[0]: Missing required parameter: msgPublicKey"),
    (f"{GD}/whatsapp/batchOnline", {"whatsAppList": [_online(msgPrivateKey="")]}, "whatsAppList[0]: Parameter msgPrivateKey must not be empty"),
    (f"{GD}/whatsapp/batchOnline", {"whatsAppList": [_without(_online(), "override")]}, "whatsAppList[0]: Missing required parameter: override"),
    (f"{GD}/register/submitPhone", {**REGISTER, "areaCode": ""}, "Parameter areaCode must not be empty"),
    (f"{WS}/open/action/batchAdd", _action(agentAccount=""), "data[0]: Parameter agentAccount must not be empty"),
    (f"{GD}/channelInfo/updateAvatarOrNickname", {"type": 1, "phoneList": [""], "nickname": "n"}, "Parameter phoneList[0] must not be empty"),
    # only the seed's spellings
    (f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_without(_account(whatsapp="861821726232"), "whatsApp")]}, "whatsAppList[0]: Unknown parameter whatsapp: the parameter is whatsApp"),
    (f"{GD}/whatsapp/batchOnline", {"whatsAppList": [_without(_online(whatsapp="861821726232"), "whatsApp")]}, "whatsAppList[0]: Unknown parameter whatsapp: the parameter is whatsApp"),
    (f"{GD}/user/queryWhatsAppInfo", {"whatsApp": 8618217331412}, "Unknown parameter whatsApp: the parameter is whatsapp"),
    (f"{GD}/user/queryWhatsAppInfo", {"whatsId": 8618217331412}, "Unknown parameter whatsId: the parameter is whatsapp"),
    (f"{GD}/user/queryWhatsAppInfo", {"whatsapp": "8618217331412"}, "Parameter whatsapp must be of type int"),
    (f"{GD}/user/queryWhatsAppInfo", {"source": 3}, "Missing required parameter: whatsapp"),
    (f"{GD}/user/queryUserStatusLog", {"source": 2, "whatsapp": "573125704139"}, "Unknown parameter whatsapp: the parameter is whatsApp"),
    (f"{GD}/qrCode/getQrCodeInfo", {"whatsapp": PHONE}, "Unknown parameter whatsapp: the parameter is whatsApp"),
    (f"{WS}/open/action/batchAdd", _action(friendWhatsapp="862", friendWhatsId=None), "data[0]: Unknown parameter friendWhatsapp: the parameter is friendWhatsId"),
    # getQrCodeInfo names a port or a number
    (f"{GD}/qrCode/getQrCodeInfo", {}, "Missing required parameter: id or whatsApp"),
    # a foreign tenant
    (f"{WS}/open/action/batchAdd", {**_action(), "tenantId": 500767}, "Parameter tenantId is not the company this account belongs to"),
    (f"{WS}/open/action/callbackResult", {"tenantId": 1, "data": ["a"]}, "Parameter tenantId is not the company this account belongs to"),
]  # fmt: skip


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    """Drop keys set to None (a way to leave a field out of a row)."""
    rows = body.get("data")
    if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
        body = {**body, "data": [{k: v for k, v in r.items() if v is not None} for r in rows]}
    return body


@pytest.mark.parametrize(("path", "body", "message"), REFUSED)
def test_a_request_against_the_seed_is_refused_naming_the_field(
    simulator: SimulatorHandle, path: str, body: dict[str, Any], message: str
) -> None:
    simulator.state.upsert_agent(user_id=10001, agent_account="test")
    envelope = call(simulator.url, path, _clean(body)).json()
    code = 403 if "tenantId is not" in message else 400
    assert envelope == {"code": code, "message": message, "data": None}
    state = simulator.state
    assert not state.accounts and not state.ports and not state.actions
    assert not state.tasks and not state.registrations and not state.profile_updates


def test_the_corrected_requests_are_accepted(simulator: SimulatorHandle) -> None:
    """The same operations with the seed's types and spellings pass (the refusals above
    are about the field they name, nothing else)."""
    ok(simulator.url, f"{GD}/whatsapp/batchInsert", {"whatsAppList": [_account(whatsappType=2)]})
    ok(simulator.url, f"{GD}/whatsapp/batchOnline", {"whatsAppList": [_online(whatsappType=1)]})
    assert ok(simulator.url, f"{GD}/register/submitPhone", REGISTER) == 12
    info = ok(simulator.url, f"{GD}/user/queryWhatsAppInfo", {"whatsapp": 861821726232})
    assert info["whatsApp"] == "861821726232"  # online after batchOnline
    ok(simulator.url, f"{GD}/user/queryUserStatusLog", {"source": 2, "whatsApp": "861821726232"})
    (ident,) = ok(simulator.url, f"{WS}/open/action/batchAdd", _action())
    assert ok(
        simulator.url, f"{WS}/open/action/callbackResult", {"tenantId": 500766, "data": [ident]}
    )
    ok(simulator.url, f"{GD}/whatsapp/batchRecycle", {"whatsAppList": ["861821726232"]})


def test_the_tenant_is_the_simulators_own_setting(simulator: SimulatorHandle) -> None:
    simulator.set_options(tenant_id=700001)
    refused = call(simulator.url, f"{WS}/open/action/batchAdd", _action()).json()
    assert refused["code"] == 403 and "tenantId" in refused["message"]
    assert ok(simulator.url, f"{WS}/open/action/batchAdd", {**_action(), "tenantId": 700001})


def test_the_tenant_defaults_from_our_settings(settings: Any) -> None:
    from simulator.state.records import Options

    settings.UPSTREAM_TENANT_ID = 612345
    assert Options().tenant_id == 612345


def _logged_in_port(sim: SimulatorHandle) -> tuple[str, str]:
    session_id = ok(sim.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    sim.scan(session_id, PHONE)
    (row,) = ok(sim.url, f"{GD}/qrCode/selectCloudPortDetail", method="GET")
    return session_id, str(row["id"])


@pytest.mark.parametrize(
    ("path", "extra"),
    [("/qrCode/getQrCode", {}), ("/qrCode/getQrCodeV2", {"phone": PHONE}), ("/qrCode/getQrCodeInfo", {})],
)  # fmt: skip
def test_qr_calls_take_only_the_pregenerate_id(
    simulator: SimulatorHandle, path: str, extra: dict[str, str]
) -> None:
    session_id, port_list_id = _logged_in_port(simulator)
    refused = call(simulator.url, GD + path, {"id": port_list_id, **extra}).json()
    assert refused["code"] == 1002
    assert call(simulator.url, GD + path, {"id": session_id, **extra}).json()["code"] == 200


def test_get_qr_code_info_by_number_returns_only_that_numbers_ports(
    simulator: SimulatorHandle,
) -> None:
    _logged_in_port(simulator)
    ok(simulator.url, f"{GD}/qrCode/preGenerate", {"type": 1})  # a second port, unused
    rows = ok(simulator.url, f"{GD}/qrCode/getQrCodeInfo", {"whatsApp": PHONE})
    assert [r["whatsApp"] for r in rows] == [PHONE]
    assert ok(simulator.url, f"{GD}/qrCode/getQrCodeInfo", {"whatsApp": "8610000000000"}) == []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_post_without_json_content_type_is_refused(
    simulator: SimulatorHandle, content_type: str | None
) -> None:
    response = post_raw(
        simulator.url, f"{GD}/qrCode/preGenerate", b'{"type": 1}', content_type=content_type
    )
    assert response.status_code == 415
    assert response.json() == {
        "code": 415,
        "message": "Content-Type must be application/json",
        "data": None,
    }
    assert simulator.state.ports == {}


def test_a_get_without_json_content_type_is_refused(simulator: SimulatorHandle) -> None:
    path = f"{GD}/qrCode/selectCloudPort"
    bare = call(simulator.url, path, method="GET", headers={"Content-Type": ""})
    assert bare.status_code == 415 and bare.json()["code"] == 415
    assert call(simulator.url, path, method="GET").status_code == 200


def test_json_content_type_with_a_charset_is_accepted(simulator: SimulatorHandle) -> None:
    response = post_raw(
        simulator.url, f"{GD}/qrCode/preGenerate", b'{"type": 1}',
        content_type="application/json;charset=UTF-8",
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["code"] == 200


def test_the_controls_need_no_content_type(simulator: SimulatorHandle) -> None:
    assert requests.post(simulator.url + "/_sim/reset", data=b"", timeout=10).status_code == 200
