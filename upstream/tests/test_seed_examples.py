"""Each seed example response, served byte for byte over real HTTP, parses in the client;
and the requests the client builds carry the seed example's fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.vendor_payloads import load, load_bytes, names
from upstream import operations
from upstream.tests.vendor_server import VendorServer
from upstream.types import AccountItem, ActionItem, OnlineAccountItem

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The vendor's documentation, kept in the repository (docs/vendor/) so a clone made
# anywhere can run these tests; the copy is compared with ../shared/seeds when present.
REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "docs" / "vendor"
SHARED_SEEDS = REPO.parent / "shared" / "seeds"
QR = load("get_qr_code__response")["data"]


def _keys(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "public_key": item["publicKey"],
        "private_key": item["privateKey"],
        "msg_public_key": item["msgPublicKey"],
        "msg_private_key": item["msgPrivateKey"],
        "account_id": item["accountId"],
        "next_key_id": item["nextKeyId"],
        "registration_id": item["registrationId"],
        "device_params": item["deviceParams"],
    }


def _seed_request_call(op: str) -> Callable[[], Any]:
    """Call `op` with the arguments of its seed request example (or none)."""
    req = load(f"{op}__request") if f"{op}__request" in names() else {}
    f = getattr(operations, op)
    if op == "batch_add":
        items = [
            ActionItem(
                agent_account=d["agentAccount"],
                whatsapp=d["whatsId"],
                friend_whatsapp=d["friendWhatsId"],
                platform_type=d["platformType"],
                content=d["content"],
                action_type=int(d["type"]),
            )
            for d in req["data"]
        ]
        return lambda: f(items=items)
    if op == "callback_result":
        return lambda: f(ids=req["data"])
    if op == "qr_task_create":
        return lambda: f(allocation_role=req["allocationRole"], user_id=req["userId"])
    if op == "qr_task_get_qr_code":
        return lambda: f(task_id=req["taskId"])
    if op == "batch_insert":
        accounts = [
            AccountItem(
                whatsapp=d["whatsApp"],
                whatsapp_type=d["whatsappType"],
                name=d["name"],
                avatar=d["avatar"],
                **_keys(d),
            )
            for d in req["whatsAppList"]
        ]
        return lambda: f(accounts=accounts)
    if op == "batch_online":
        online = [
            OnlineAccountItem(
                whatsapp=d["whatsApp"],
                whatsapp_type=d["whatsappType"],
                override=d["override"],
                name=d["name"],
                avatar=d["avatar"],
                **_keys(d),
            )
            for d in req["whatsAppList"]
        ]
        return lambda: f(accounts=online)
    if op == "batch_recycle":
        return lambda: f(whatsapps=req["whatsAppList"])
    if op == "submit_phone":
        return lambda: f(
            phone=req["phone"],
            verify_type=req["verifyType"],
            account_type=req["accountType"],
            area_code=req["areaCode"],
            country_code=req["countryCode"],
        )
    if op == "submit_verify_code":
        return lambda: f(
            phone=req["phone"], area_code=req["areaCode"], verify_code=req["verifyCode"]
        )
    if op == "pre_generate":
        return lambda: f(pc_type=req["type"], target=req["target"])
    if op in ("get_qr_code", "on_line"):
        return lambda: f(id=req["id"], ip_config=req["ipConfig"])
    if op == "get_qr_code_v2":
        return lambda: f(id=req["id"], phone=req["phone"], ip_config=req["ipConfig"])
    if op in ("get_qr_code_info", "offline", "log_out", "info_profile"):
        return lambda: f(id=req["id"])
    if op == "select_contact":
        return lambda: f(id="ad518a4271fa43c8937612c5f60396f8")
    if op == "contact_info":
        return lambda: f(id=req["id"], phone=req["phone"])
    if op == "update_avatar_or_nickname":
        return lambda: f(
            device_type=req["type"],
            avatar=req["avatar"],
            nickname=req["nickname"],
            phone_list=req["phoneList"],
        )
    if op == "query_user_status":
        return lambda: f(source=req["source"], user_id=req["userId"], user_name=req["userName"])
    if op == "query_whatsapp_info":
        return lambda: f(whatsapp=str(req["whatsapp"]), source=req["source"])
    if op == "query_user_status_log":
        return lambda: f(
            source=req["source"], agent_account=req["agentAccount"], whatsapp=req["whatsApp"]
        )
    if op == "get_latest_online_whats_account":
        return lambda: f(source=req["source"], user_id=req["userId"])
    return f  # no arguments


def _normalize(value: Any) -> Any:
    """The seed's loose typing ("type": "1") compared as the documented type."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, str) and value.isdigit() and len(value) < 3:
        return int(value)
    return value


def test_the_repository_holds_the_vendor_documentation() -> None:
    copies = sorted(SEEDS.glob("*.txt"))
    assert len(copies) == 2, f"expected the two vendor seed files in {SEEDS}"
    if not SHARED_SEEDS.is_dir():
        pytest.skip(f"{SHARED_SEEDS} is absent: the in-repository copy cannot be compared")
    shared = sorted(SHARED_SEEDS.glob("*.txt"))
    assert [p.name for p in shared] == [p.name for p in copies]
    for theirs, ours in zip(shared, copies, strict=True):
        assert ours.read_bytes() == theirs.read_bytes(), f"{ours} differs from {theirs}"


def test_every_json_fixture_is_verbatim_seed_text() -> None:
    seeds = "".join(p.read_text() for p in sorted(SEEDS.glob("*.txt")))
    assert seeds, f"no seed text under {SEEDS}"
    fixtures = names()
    assert len(fixtures) >= 29 + 23 + 10  # 29 responses, 23 requests, 5 webhooks + answers
    for name in fixtures:
        text = load_bytes(name).decode().rstrip("\n")
        assert text in seeds, name
    twin = load_bytes("webhook_online_status.txt").decode().rstrip("\n")
    assert twin in seeds and twin.rstrip().endswith("]\n}")
    assert load("webhook_online_status") == json.loads(twin.rstrip()[:-1])


def test_every_operation_has_a_response_fixture() -> None:
    assert sorted(n.removesuffix("__response") for n in names("response")) == sorted(
        [
            *operations.OPERATIONS,
            "webhook_online_status",
            "webhook_qr_login_status",
            "webhook_register_sync_status",
            "webhook_scan_task_status",
            "webhook_sync_whatsapp_status",
        ]
    )


@pytest.mark.parametrize("op", operations.OPERATIONS)
def test_seed_response_parses_and_seed_request_is_what_we_send(
    vendor: VendorServer, op: str
) -> None:
    endpoint = operations.ENDPOINTS[op]
    vendor.reply(endpoint.path, load_bytes(f"{op}__response"))
    result = _seed_request_call(op)()
    assert vendor.paths() == [endpoint.path]
    sent = vendor.calls[0]
    assert sent.method == endpoint.method
    assert sent.signature_ok
    if f"{op}__request" in names():
        assert _normalize(json.loads(sent.body)) == _normalize(load(f"{op}__request"))
    elif endpoint.method == "GET":
        assert sent.body == b""
    CHECKS[op](result)


def _check_batch_add(r: Any) -> None:
    assert r == ["20c7c02bf11b494286dd165da47388c9"]


def _check_callback_result(r: Any) -> None:
    (row,) = r
    assert row.id == "ad518a4271fa43c8937612c5f60396f8"
    assert row.tenant_id == "500766"
    assert (row.agent_account, row.whatsapp, row.friend_whatsapp) == (
        "ykts02",
        "8172727272727",
        "8261626162626",
    )
    assert (row.action_type, row.execute_status, row.execute_time) == (1, 2, None)


def _check_query_whatsapp_status(r: Any) -> None:
    (row,) = r
    assert (row.whatsapp, row.status, row.online_status) == ("861821371272", 1, 1)


def _check_select_pair_target(r: Any) -> None:
    assert [(t.target_tenant_id, t.target_tenant_name) for t in r] == [
        ("10085", "xxxx"),
        ("10086", "yyyy"),
    ]
    assert r[0].create_time == datetime(2025, 11, 5, 16, 22, 7, tzinfo=SHANGHAI)


def _check_get_qr_code_v2(r: Any) -> None:
    assert r.qrcode.startswith("2@BBisWIG5") and r.qrcode.endswith(",1")
    assert r.pair_code == "IVEA_IPON"


def _check_get_qr_code_info(r: Any) -> None:
    (row,) = r
    assert (row.status, row.user_name, row.whatsapp) == (1, "test", "812282828221")


def _check_select_cloud_port(r: Any) -> None:
    assert (r.current_port, r.max_port, r.over_quota) == (3, 2, 1)


def _check_select_cloud_port_detail(r: Any) -> None:
    assert [p.id for p in r] == [
        "8639164839053938688",
        "8654029561952415744",
        "8654029632861319168",
    ]
    assert [p.phone for p in r] == ["8618730334344", "8618730334345", ""]
    assert [p.status for p in r] == [10, 20, None]
    assert r[0].create_time == datetime(2025, 7, 31, 15, 40, 19, tzinfo=SHANGHAI)
    assert r[0].create_time.astimezone(UTC) == datetime(2025, 7, 31, 7, 40, 19, tzinfo=UTC)


def _check_select_contact(r: Any) -> None:
    assert len(r) == 2
    assert (r[0].whatsapp, r[0].push_name, r[0].is_friend) == ("8618733334444", "Ryan yu", False)


def _check_contact_info(r: Any) -> None:
    assert (r.whatsapp, r.push_name, r.is_friend, r.first_name) == (
        "8618733334444",
        "Ryan yu",
        False,
        "",
    )


def _check_info_profile(r: Any) -> None:
    assert r.whatsapp == "447962xxxxx"
    assert (r.is_business, r.business_name, r.push_name, r.status) == (
        True,
        "ygfhvd",
        "ygfhvd",
        "Nihao",
    )
    assert r.avatar.startswith("https://pps.whatsapp.net/")
    assert (r.chat_num, r.group_num) == (11, 3)
    assert r.last_chat_time == datetime.fromtimestamp(1774339558, UTC)


def _check_query_user_status(r: Any) -> None:
    (agent,) = r
    assert (agent.user_id, agent.agent_account) == ("12", "u1")
    assert [(w.whatsapp, w.name) for w in agent.whatsapps] == [("861821371272", "jack")]


def _check_query_all_ol_whatsapp_info(r: Any) -> None:
    assert [s.source for s in r] == [1, 2]
    (agent,) = r[0].agents
    assert (agent.user_id, agent.agent_account, agent.user_name) == (
        "868024",
        "202503101",
        "202503101",
    )
    assert [(w.whatsapp, w.name) for w in agent.whatsapps] == [("8618217331413", "chen")]
    assert r[1].agents == ()


def _check_query_whatsapp_info(r: Any) -> None:
    (row,) = r  # documented as a list, answered as an object
    assert (row.user_id, row.agent_account, row.whatsapp, row.source) == (
        "868024",
        "202503101",
        "8618217331411",
        1,
    )


def _check_query_user_status_log(r: Any) -> None:
    (agent,) = r
    assert (agent.user_id, agent.agent_account) == ("621443", "lsl001")
    (entry,) = agent.entries
    assert (entry.whatsapp, entry.status, entry.source, entry.detail_status) == (
        "573125704139",
        20,
        2,
        42,
    )
    assert entry.country_code == "哥伦比亚"
    assert entry.create_time == datetime(2024, 7, 8, 19, 25, 31, tzinfo=SHANGHAI)


def _check_latest(r: Any) -> None:
    (agent,) = r
    assert (agent.user_id, agent.agent_account) == ("621443", "lsl001")
    assert [(w.whatsapp, w.name, w.status) for w in agent.whatsapps] == [("234567892", "zhang", 10)]


def _is(expected: Any) -> Callable[[Any], None]:
    def check(r: Any) -> None:
        assert r == expected

    return check


CHECKS: dict[str, Callable[[Any], None]] = {
    "batch_add": _check_batch_add,
    "callback_result": _check_callback_result,
    "qr_task_create": _is("f0d485cb2e5e4c5ca21b74e970043e6c"),
    "qr_task_get_qr_code": _is("qr_code"),
    "batch_insert": _is(None),
    "query_whatsapp_status": _check_query_whatsapp_status,
    "batch_online": _is(None),
    "batch_recycle": _is(None),
    "submit_phone": _is("12"),
    "submit_verify_code": _is(None),
    "select_pair_target": _check_select_pair_target,
    "pre_generate": _is("ad518a4271fa43c8937612c5f60396f8"),
    "get_qr_code": _is(QR),
    "get_qr_code_v2": _check_get_qr_code_v2,
    "get_qr_code_info": _check_get_qr_code_info,
    "on_line": _is(None),
    "offline": _is(None),
    "log_out": _is(None),
    "select_cloud_port": _check_select_cloud_port,
    "select_cloud_port_detail": _check_select_cloud_port_detail,
    "select_contact": _check_select_contact,
    "contact_info": _check_contact_info,
    "info_profile": _check_info_profile,
    "update_avatar_or_nickname": _is(None),
    "query_user_status": _check_query_user_status,
    "query_all_ol_whatsapp_info": _check_query_all_ol_whatsapp_info,
    "query_whatsapp_info": _check_query_whatsapp_info,
    "query_user_status_log": _check_query_user_status_log,
    "get_latest_online_whats_account": _check_latest,
}


def test_select_contact_sends_id_in_the_query_string(vendor: VendorServer) -> None:
    vendor.reply("/group-dispatch-api/qrCode/selectContact", load_bytes("select_contact__response"))
    operations.select_contact(id="ad518a4271fa43c8937612c5f60396f8")
    assert vendor.calls[0].query == "id=ad518a4271fa43c8937612c5f60396f8"
