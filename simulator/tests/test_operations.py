"""Every seed operation over real HTTP: each verbatim seed request example is accepted
(code 200), each answer has the seed's response shape, and bad input gets an envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from simulator.handlers import BY_PATH, OPERATIONS
from simulator.server import SimulatorHandle
from simulator.tests.helpers import call, ok, post_raw
from tests import vendor_payloads

SEED_ID = "ad518a4271fa43c8937612c5f60396f8"
SEED_TASK = "f0d485cb2e5e4c5ca21b74e970043e6c"
PATHS = {op.name: op for op in OPERATIONS}


def _port(sim: SimulatorHandle, phone: str | None = "8618733334444") -> None:
    sim.state.pre_generate(type_=1, target=None, session_id=SEED_ID)
    if phone:
        sim.scan(SEED_ID, phone)


def _agents(sim: SimulatorHandle) -> None:
    state = sim.state
    state.upsert_agent(user_id=12, agent_account="u1", user_name="u1")
    state.upsert_agent(user_id=621443, agent_account="lsl001", user_name="lsl001")
    state.upsert_agent(user_id=868024, agent_account="202503101", user_name="202503101")
    state.set_account("861821371272", online=True, agent_account="u1", source=2, name="jack")
    state.set_account("234567892", online=True, agent_account="lsl001", source=1, name="zhang")
    state.set_account("8618217331412", online=True, agent_account="202503101", source=3)
    state.set_account("8618217331413", online=True, agent_account="202503101", source=1)
    state.set_account("573125704139", agent_account="lsl001", source=2)
    state.set_account("573125704139", online=True, emit=True)


def _registration(sim: SimulatorHandle) -> None:
    reg = sim.state.submit_phone(
        phone="1821726232", verify_type=1, account_type=2, area_code="+86", country="CN"
    )
    reg.code = "123456"


def _task(sim: SimulatorHandle) -> None:
    sim.state.upsert_agent(user_id=10001, agent_account="agent01", user_name="Demo")
    sim.state.task_create(user_id=10001, role=3, task_id=SEED_TASK)


SEED_ACTION_ID = "ad518a4271fa43c8937612c5f60396f8"  # callbackResult's request example


def _action(sim: SimulatorHandle) -> None:
    """An action under the id the seed's callbackResult example asks about, so the
    verbatim request has a row to answer with."""
    (made,) = sim.state.batch_add(
        tenant_id=500766,
        rows=[
            {
                "agentAccount": "test",
                "whatsId": "1",
                "friendWhatsId": "2",
                "platformType": 1,
                "type": 1,
            }
        ],
    )
    with sim.state.lock:
        action = sim.state.actions.pop(made)
        action.id = SEED_ACTION_ID
        sim.state.actions[SEED_ACTION_ID] = action
        sim.state.pending_actions = [
            SEED_ACTION_ID if i == made else i for i in sim.state.pending_actions
        ]


SETUP: dict[str, Callable[[SimulatorHandle], object]] = {
    "get_qr_code": lambda s: _port(s, None),
    "get_qr_code_v2": lambda s: _port(s, None),
    "get_qr_code_info": _port,
    "on_line": _port,
    "offline": _port,
    "log_out": _port,
    "contact_info": _port,
    "info_profile": _port,
    "select_contact": _port,
    "select_cloud_port": _port,
    "select_cloud_port_detail": _port,
    "update_avatar_or_nickname": lambda s: _port(s, "86187303****"),
    "submit_verify_code": _registration,
    "qr_task_create": lambda s: s.state.upsert_agent(user_id=10001, agent_account="a"),
    "qr_task_get_qr_code": _task,
    "query_user_status": _agents,
    "query_all_ol_whatsapp_info": _agents,
    "query_whatsapp_info": _agents,
    "query_user_status_log": _agents,
    "get_latest_online_whats_account": _agents,
    "query_whatsapp_status": lambda s: s.state.set_account("861821371272"),
    "batch_recycle": lambda s: s.state.set_account("861821726232", online=True),
    "callback_result": _action,
}

KEYS = {"publicKey": "pk", "privateKey": "sk", "msgPublicKey": "mpk", "msgPrivateKey": "msk"}

# Where a seed example contradicts its own table, the table wins (the strict reading) and
# the example is sent corrected: batchInsert's and batchOnline's examples leave the
# required keys (and batchInsert's required accountId) empty, and batchAdd's example sends
# `"type": "1"` for an int. test_seed_examples_against_their_own_table_are_refused
# sends them verbatim.
BODY_FIX: dict[str, Callable[[SimulatorHandle, Any], Any]] = {
    "batch_online": lambda s, b: {"whatsAppList": [{**row, **KEYS} for row in b["whatsAppList"]]},
    "batch_insert": lambda s, b: {
        "whatsAppList": [{**row, **KEYS, "accountId": "acc"} for row in b["whatsAppList"]]
    },
    "batch_add": lambda s, b: {
        **b,
        "data": [{**row, "type": int(row["type"])} for row in b["data"]],
    },
}


def shape(value: Any) -> Any:
    """Dict keys and list/scalar structure (types of scalars are not compared: the vendor
    itself sends numbers as strings)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "scalar"


def covers(mine: Any, seed: Any) -> bool:
    if isinstance(seed, dict):
        return (
            isinstance(mine, dict)
            and set(mine) == set(seed)
            and all(covers(mine[k], seed[k]) for k in seed)
        )
    if isinstance(seed, list):
        # A non-empty seed list must be answered with rows of its shape: an empty answer
        # proves nothing about the rows.
        if not seed:
            return isinstance(mine, list)
        return isinstance(mine, list) and bool(mine) and covers(mine[0], seed[0])
    return mine is None or seed is None or not isinstance(mine, dict | list)


def test_there_are_29_operations() -> None:
    assert len(OPERATIONS) == 29 == len(BY_PATH)
    gets = {op.name for op in OPERATIONS if op.method == "GET"}
    assert gets == {
        "query_whatsapp_status",
        "select_pair_target",
        "select_cloud_port",
        "select_cloud_port_detail",
        "select_contact",
    }


@pytest.mark.parametrize("name", [op.name for op in OPERATIONS])
def test_seed_example_is_accepted_and_answered_in_the_seed_shape(
    simulator: SimulatorHandle, name: str
) -> None:
    op = PATHS[name]
    request_files = vendor_payloads.names("request")
    if f"{name}__request" in request_files:
        body = vendor_payloads.load(f"{name}__request")
        raw: bytes = vendor_payloads.load_bytes(f"{name}__request")
    else:
        body, raw = None, b""
    SETUP.get(name, lambda s: None)(simulator)
    if name in BODY_FIX:
        body = BODY_FIX[name](simulator, body)
        raw = b""
    params = {"id": SEED_ID} if name == "select_contact" else None
    if raw:  # send the seed's exact bytes
        response = post_raw(simulator.url, op.path, raw)
    else:
        response = call(simulator.url, op.path, body, method=op.method, params=params)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 200, (name, envelope)
    assert set(envelope) == {"code", "message", "data"}
    seed_response = vendor_payloads.load(f"{name}__response")
    assert covers(envelope["data"], seed_response["data"]), (
        name,
        shape(envelope["data"]),
        shape(seed_response["data"]),
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("batch_insert", "whatsAppList[0]: Parameter publicKey must not be empty"),
        ("batch_add", "data[0]: Parameter type must be of type int"),
    ],
)
def test_seed_examples_against_their_own_table_are_refused(
    simulator: SimulatorHandle, name: str, words: str
) -> None:
    """Sent verbatim, the examples whose values contradict the seed's own table are
    refused with a message naming the field, and change nothing."""
    raw = vendor_payloads.load_bytes(f"{name}__request")
    envelope = post_raw(simulator.url, PATHS[name].path, raw).json()
    assert envelope["code"] == 400 and envelope["message"] == words, envelope
    assert not simulator.state.accounts and not simulator.state.actions


def test_the_seeds_batch_online_example_without_keys_is_refused(
    simulator: SimulatorHandle,
) -> None:
    """Sent verbatim, the seed's batchOnline example (every key empty) is refused, as the
    vendor refuses a row without keys; nothing goes online."""
    raw = vendor_payloads.load_bytes("batch_online__request")
    envelope = post_raw(simulator.url, PATHS["batch_online"].path, raw).json()
    assert envelope["code"] != 200 and "key" in envelope["message"].lower(), envelope
    assert not any(a.online for a in simulator.state.accounts.values())


def test_every_request_fixture_names_an_operation() -> None:
    names = vendor_payloads.names("request")
    assert len(names) >= 23
    assert {n.removesuffix("__request") for n in names} <= set(PATHS)


# ------------------------------------------------------------------ errors
def test_unknown_path_is_a_404_envelope(simulator: SimulatorHandle) -> None:
    response = call(simulator.url, "/group-dispatch-api/whatsapp/nope", {})
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_wrong_method_is_refused(simulator: SimulatorHandle) -> None:
    response = call(simulator.url, "/group-dispatch-api/qrCode/selectCloudPort", {})
    assert response.status_code == 405 and response.json()["code"] == 405


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/group-dispatch-api/qrCode/preGenerate", b"{not json"),
        ("/group-dispatch-api/qrCode/preGenerate", b"[1, 2]"),
        ("/group-dispatch-api/qrCode/preGenerate", b"{}"),
        ("/group-dispatch-api/qrCode/preGenerate", b'{"type": "pc"}'),
        ("/group-dispatch-api/whatsapp/batchInsert", b'{"whatsAppList": [{"whatsApp": "1"}]}'),
        ("/group-dispatch-api/whatsapp/batchInsert", b'{"whatsAppList": "x"}'),
        ("/group-dispatch-api/whatsapp/batchOnline", b'{"whatsAppList": [1]}'),
        ("/group-dispatch-api/register/submitPhone", b'{"phone": "1"}'),
        (
            "/group-dispatch-api/register/submitVerifyCode",
            b'{"phone": "1", "areaCode": "+1", "verifyCode": "1"}',
        ),
        ("/group-dispatch-api/user/queryUserStatus", b'{"source": 7}'),
        ("/group-dispatch-api/qrCode/getQrCodeV2", b'{"id": "x", "phone": "1", "isEasy": "q"}'),
        ("/wscrm-bus-api/open/action/batchAdd", b'{"tenantId": 1, "data": [{}]}'),
        ("/wscrm-bus-api/open/action/batchAdd", b'{"tenantId": 1, "data": []}'),
        ("/wscrm-bus-api/qrCodeTask/create", b'{"allocationRole": 2}'),
        ("/wscrm-bus-api/qrCodeTask/getQrCode", b'{"taskId": {"a": 1}}'),
        (
            "/group-dispatch-api/channelInfo/updateAvatarOrNickname",
            b'{"type": 5, "phoneList": ["1"], "nickname": "n"}',
        ),
    ],
)
def test_invalid_bodies_get_a_business_error_not_a_crash(
    simulator: SimulatorHandle, path: str, raw: bytes
) -> None:
    response = post_raw(simulator.url, path, raw)
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["code"] != 200 and envelope["message"], envelope


def test_qr_errors_over_http(simulator: SimulatorHandle) -> None:
    gd = "/group-dispatch-api/qrCode"
    assert call(simulator.url, f"{gd}/preGenerate", {"type": 9}).json()["code"] == 1003
    assert call(simulator.url, f"{gd}/preGenerate", {"type": 1, "target": 1}).json()["code"] == (
        1004
    )
    assert call(simulator.url, f"{gd}/getQrCode", {"id": "0" * 32}).json()["code"] == 1002
    simulator.set_options(max_ports=0)
    simulator.state.max_ports = 0
    assert call(simulator.url, f"{gd}/preGenerate", {"type": 1}).json()["code"] == 1001


def test_select_cloud_port_detail_ids_are_big_numbers(simulator: SimulatorHandle) -> None:
    ok(simulator.url, "/group-dispatch-api/qrCode/preGenerate", {"type": 1})
    response = call(simulator.url, "/group-dispatch-api/qrCode/selectCloudPortDetail", method="GET")
    text = response.text
    (row,) = response.json()["data"]
    assert row["id"] > 2**53 and str(row["id"]) in text  # a bare JSON number, 19 digits
    assert row["phone"] is None and row["status"] is None


def test_pair_codes_over_http(simulator: SimulatorHandle) -> None:
    ident = ok(simulator.url, "/group-dispatch-api/qrCode/preGenerate", {"type": 1})
    path = "/group-dispatch-api/qrCode/getQrCodeV2"
    codes = {}
    for mode in (None, "b", "y", "n"):
        body = {"id": ident, "phone": "8618733334444"}
        if mode:
            body["isEasy"] = mode
        codes[mode] = ok(simulator.url, path, body)["pairCode"]
    assert codes[None] == codes["b"] == "88888888"
    assert len(codes["y"]) == 9 and codes["y"][4] == "-"
    assert len(codes["n"].replace("_", "")) == 8 and codes["n"].replace("_", "").isalpha()


def test_query_whatsapp_status_with_50000_accounts(simulator: SimulatorHandle) -> None:
    simulator.state.import_accounts([{"whatsApp": f"86{i:011d}"} for i in range(50_000)])
    response = call(simulator.url, "/group-dispatch-api/whatsapp/queryWhatsAppStatus", method="GET")
    data = response.json()["data"]
    assert len(data) == 50_000
    assert data[0] == {"whatsApp": "8600000000000", "status": 1, "onlineStatus": 4}
