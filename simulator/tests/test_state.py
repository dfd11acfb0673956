"""The vendor state on its own, with a fake clock: no HTTP, no threads."""

from __future__ import annotations

import re
from typing import Any

import pytest

from simulator import vendorcodes as vc
from simulator.state import VendorState
from simulator.state.fakes import pair_code, qr_string
from simulator.state.records import BusinessError, Options

QR_SHAPE = re.compile(r"^2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,1$")


class Clock:
    def __init__(self) -> None:
        self.t = 1_760_000_000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> VendorState:
    return VendorState(options=Options(action_delay=0.0, action_login_wait=60.0), clock=clock)


def sent(state: VendorState, path: str) -> list[Any]:
    return [payload for p, payload in state.outbox if p == path]


def logged_in_port(state: VendorState, phone: str = "8613900000001") -> str:
    port = state.pre_generate(type_=1, target=None)
    state.scan(port.session_id, phone)
    return port.session_id


# ------------------------------------------------------------------ QR strings
def test_qr_string_has_whatsapp_webs_shape() -> None:
    qr = qr_string("seed", 0)
    assert QR_SHAPE.match(qr), qr
    _ref, *keys, last = qr[2:].split(",")
    assert len(keys) == 3 and last == "1"


def test_qr_rotates_every_period_until_scanned(state: VendorState, clock: Clock) -> None:
    state.set_options(qr_rotate=20)
    port = state.pre_generate(type_=1, target=None)
    first = state.port_qr(state.get_qr(port.session_id))
    clock.advance(19)
    assert state.port_qr(state.get_qr(port.session_id)) == first
    clock.advance(2)
    second = state.port_qr(state.get_qr(port.session_id))
    assert second != first and QR_SHAPE.match(second)
    # the ref changes, the session's three keys stay
    assert first.split(",")[1:] == second.split(",")[1:]
    state.scan(port.session_id, "8613900000001")
    # The default profile's reading of the seed: after the scan the last code stays (it no
    # longer rotates); the other readings are in test_profile_behaviour.py.
    assert state.port_qr(state.get_qr(port.session_id)) == second
    clock.advance(40)
    assert state.port_qr(state.get_qr(port.session_id)) == second


@pytest.mark.parametrize(
    ("mode", "pattern"),
    [
        (None, r"^88888888$"),
        ("b", r"^88888888$"),
        ("y", r"^([A-Z])\1{3}-(\d)\2{3}$"),
        ("n", r"^[A-Z]{4}_[A-Z]{4}$"),
    ],
)
def test_pair_code_modes(mode: str | None, pattern: str) -> None:
    code = pair_code("seed", mode)
    assert re.match(pattern, code), code
    assert pair_code("seed", mode) == code  # stable for the session


# ------------------------------------------------------------------ ports
def test_pre_generate_errors(state: VendorState) -> None:
    with pytest.raises(BusinessError) as bad_type:
        state.pre_generate(type_=3, target=None)
    assert bad_type.value.code == vc.QR_BAD_TYPE
    with pytest.raises(BusinessError) as bad_target:
        state.pre_generate(type_=1, target=99999)
    assert bad_target.value.code == vc.QR_NO_TARGET
    state.targets = []
    with pytest.raises(BusinessError) as no_target:
        state.pre_generate(type_=2, target=None)
    assert no_target.value.code == vc.QR_NO_TARGET
    state.max_ports = 1
    state.pre_generate(type_=1, target=None)
    with pytest.raises(BusinessError) as quota:
        state.pre_generate(type_=1, target=None)
    assert quota.value.code == vc.QR_QUOTA


def test_port_ids_are_19_digit_and_beyond_2_pow_53(state: VendorState) -> None:
    a = state.pre_generate(type_=1, target=10085)
    b = state.pre_generate(type_=2, target=10086)
    assert len(str(a.port_id)) == 19 and a.port_id > 2**53
    assert b.port_id > a.port_id
    assert re.fullmatch(r"[0-9a-f]{32}", a.session_id)


def test_port_lock_expires_and_releases(state: VendorState, clock: Clock) -> None:
    state.set_options(lock_seconds=600)
    port = state.pre_generate(type_=1, target=None)
    clock.advance(599)
    state.tick()
    assert state.current_ports() == 1
    clock.advance(2)
    state.tick()
    assert state.current_ports() == 0
    assert sent(state, vc.QR_LOGIN_STATUS) == [{"id": port.session_id, "whatsapp": "", "status": 0}]
    with pytest.raises(BusinessError) as gone:
        state.get_qr(port.session_id)
    assert gone.value.code == vc.QR_NO_PORT


def test_scanned_port_is_not_released_by_the_lock(state: VendorState, clock: Clock) -> None:
    ident = logged_in_port(state)
    clock.advance(3600)
    state.tick()
    assert state.port(ident).status == vc.P_ONLINE


def test_failed_scan_releases_the_port(state: VendorState) -> None:
    port = state.pre_generate(type_=1, target=None)
    state.scan(port.session_id, "8613900000001", ok=False)
    assert state.current_ports() == 0
    assert sent(state, vc.QR_LOGIN_STATUS)[-1]["status"] == 0


def test_scan_logs_in_with_three_webhooks(state: VendorState) -> None:
    port = state.pre_generate(type_=1, target=None)
    state.scan(port.session_id, "8613900000001")
    assert sent(state, vc.QR_LOGIN_STATUS) == [
        {"id": port.session_id, "whatsapp": "8613900000001", "status": 1}
    ]
    (sync,) = sent(state, vc.SYNC_WHATSAPP_STATUS)
    assert sync == {
        "whatsApp": "8613900000001",
        "status": 1,
        "onlineStatus": 2,
        "reason": "",
        "instanceCode": port.session_id,
    }
    (online,) = sent(state, vc.ONLINE_STATUS)
    record = online["whatsAppList"][0]
    assert record["whatsId"] == "8613900000001"
    assert (record["status"], record["detailStatus"], record["platformType"]) == (10, 11, 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["time"])
    assert port.phone == "8613900000001" and port.status == 10
    assert state.accounts["8613900000001"].online


def test_quota_cut_takes_the_latest_ports_offline(state: VendorState, clock: Clock) -> None:
    phones = [f"86139000000{i:02d}" for i in range(4)]
    for phone in phones:
        logged_in_port(state, phone)
        clock.advance(1)
    state.outbox.clear()
    affected = state.set_quota(2)
    assert [a["phone"] for a in affected] == [phones[3], phones[2]]
    assert {w["whatsAppList"][0]["whatsId"] for w in sent(state, vc.ONLINE_STATUS)} == {
        phones[2],
        phones[3],
    }
    assert all(w["whatsAppList"][0]["status"] == 30 for w in sent(state, vc.ONLINE_STATUS))
    assert state.accounts[phones[0]].online and state.accounts[phones[1]].online
    assert not state.accounts[phones[2]].online and not state.accounts[phones[3]].online
    assert (state.current_ports(), state.max_ports) == (4, 2)  # like the seed: 3 / 2


def test_online_offline_logout(state: VendorState) -> None:
    ident = logged_in_port(state)
    state.port_offline(ident)
    assert not state.accounts["8613900000001"].online
    assert state.port(ident).status == vc.P_DISCONNECTED
    state.port_online(ident)
    assert state.accounts["8613900000001"].online
    state.port_logout(ident)
    assert state.current_ports() == 0
    assert sent(state, vc.SYNC_WHATSAPP_STATUS)[-1]["reason"] == vc.REASON_LOGGED_OUT
    with pytest.raises(BusinessError):
        state.port_online(ident)


def test_contacts_and_profile_are_deterministic(state: VendorState) -> None:
    ident = logged_in_port(state)
    book = state.contacts(ident)
    assert 5 <= len(book) <= 12 and book == state.contacts(ident)
    assert set(book[0]) == {"whatsapp", "pushName", "isFriend", "firstName", "fullName"}
    assert state.contact_info(ident, book[0]["whatsapp"]) == book[0]
    stranger = state.contact_info(ident, "447000000000")
    assert stranger["isFriend"] is False
    profile = state.profile(ident)
    assert profile == state.profile(ident) and profile["whatsapp"] == "8613900000001"


def test_update_avatar_or_nickname_validates(state: VendorState) -> None:
    logged_in_port(state)
    cases: list[dict[str, Any]] = [
        {"type_": 2, "phones": ["8613900000001"], "avatar": "", "nickname": "x"},
        {"type_": 1, "phones": [], "avatar": "", "nickname": "x"},
        {"type_": 1, "phones": ["8613999999999"], "avatar": "", "nickname": "x"},
        {"type_": 0, "phones": ["1"], "avatar": "ftp://x", "nickname": ""},
    ]
    for kwargs in cases:
        with pytest.raises(BusinessError):
            state.update_avatar_or_nickname(**kwargs)
    state.update_avatar_or_nickname(
        type_=1, phones=["8613900000001"], avatar="https://x/a.png", nickname="mim"
    )
    assert state.accounts["8613900000001"].name == "mim"


# ------------------------------------------------------------------ accounts and agents
def test_batch_online_override_semantics(state: VendorState) -> None:
    state.import_accounts([{"whatsApp": "861"}])
    state.batch_online([{"whatsApp": "861", "override": False}])
    assert state.accounts["861"].online
    syncs = [s["onlineStatus"] for s in sent(state, vc.SYNC_WHATSAPP_STATUS)]
    assert syncs == [1, 2]  # logging in, then online
    state.outbox.clear()
    state.batch_online([{"whatsApp": "861", "override": False}])
    assert state.outbox == []  # already online: left alone
    state.batch_online([{"whatsApp": "861", "override": True}])
    assert [s["onlineStatus"] for s in sent(state, vc.SYNC_WHATSAPP_STATUS)] == [1, 2]


def test_batch_online_with_login_delay(state: VendorState, clock: Clock) -> None:
    state.set_options(login_delay=2)
    state.batch_online([{"whatsApp": "862", "override": False}])
    assert state.accounts["862"].online_status == vc.OS_LOGGING_IN
    clock.advance(2)
    state.tick()
    assert state.accounts["862"].online_status == vc.OS_ONLINE


def test_agents_split_by_source(state: VendorState) -> None:
    state.upsert_agent(user_id=12, agent_account="u1", user_name="Una")
    state.set_account("861", online=True, agent_account="u1", source=1, name="jack")
    state.set_account("862", online=True, agent_account="u1", source=2)
    state.set_account("863", online=False, agent_account="u1", source=1)
    pc = state.query_user_status(user_id=12, user_name="", source=1)
    assert pc == [
        {"userId": 12, "agentAccount": "u1", "whatsAppList": [{"whatsApp": "861", "name": "jack"}]}
    ]
    everything = state.query_all_online()
    assert [block["source"] for block in everything] == [1, 2]
    assert everything[1]["list"][0]["whatsAppList"] == [{"whatsApp": "862", "name": ""}]
    assert state.query_whatsapp_info("861", None) == {
        "agentAccount": "u1",
        "whatsApp": "861",
        "source": 1,
        "userId": 12,
    }
    assert state.query_whatsapp_info("861", 3) is None
    assert state.query_whatsapp_info("863", None) is None


def test_status_log_latest_50_and_latest_10(state: VendorState) -> None:
    state.upsert_agent(user_id=621443, agent_account="lsl001", user_name="L")
    for i in range(30):
        number = f"5731257041{i:02d}"
        state.set_account(number, agent_account="lsl001", source=2)
        state.set_account(number, online=True, emit=True)
        state.set_account(number, online=False, emit=True)
    log = state.query_status_log(agent_account="", whatsapp="", source=2)
    rows = log[0]["whatsAppList"]
    assert len(rows) == 50
    assert rows[0]["countryCode"] == "哥伦比亚"
    assert {r["detailStatus"] for r in rows} <= {13, 35}
    latest = state.latest_online(user_id=621443, source=2)
    assert len(latest[0]["whatsAppList"]) == 10
    assert latest[0]["whatsAppList"][0]["whatsApp"] == "573125704129"


def test_ban_and_disconnect(state: VendorState) -> None:
    state.set_account("861", online=True)
    state.disconnect("861")
    assert sent(state, vc.ONLINE_STATUS)[-1]["whatsAppList"][0]["status"] == 20
    state.ban("861")
    assert state.accounts["861"].status == vc.STATUS_BANNED
    assert sent(state, vc.SYNC_WHATSAPP_STATUS)[-1]["status"] == 2
    assert sent(state, vc.ONLINE_STATUS)[-1]["whatsAppList"][0]["detailStatus"] == 41


def test_recycle_removes_accounts(state: VendorState) -> None:
    state.set_account("861", online=True)
    state.set_account("862")
    assert state.batch_recycle(["861", "862", "unknown"]) == ["861", "862"]
    assert state.accounts == {}
    assert b'"data":[]' in state.status_bytes()


def test_status_bytes_cached_and_invalidated(state: VendorState) -> None:
    state.import_accounts([{"whatsApp": f"86{i:010d}"} for i in range(1000)])
    first = state.status_bytes()
    assert state.status_bytes() is first
    state.ban("860000000001")
    second = state.status_bytes()
    assert second is not first
    state.accounts["860000000002"].online_status = vc.OS_ONLINE  # poked directly
    assert b'"860000000002","status":1,"onlineStatus":2' in state.status_bytes()
    del state.accounts["860000000003"]
    assert b'"860000000003"' not in state.status_bytes()


# ------------------------------------------------------------------ registration
def test_registration_flow(state: VendorState) -> None:
    reg = state.submit_phone(
        phone="1821726232", verify_type=1, account_type=2, area_code="+86", country="CN"
    )
    assert isinstance(reg.task_id, int) and re.fullmatch(r"\d{6}", reg.code)
    state.submit_code(phone="1821726232", area_code="+86", code=reg.code)
    assert sent(state, vc.REGISTER_STATUS) == [{"phone": "861821726232", "status": "1"}]
    assert "861821726232" in state.accounts
    assert state.accounts["861821726232"].whatsapp_type == 2


def test_registration_wrong_code_fails(state: VendorState) -> None:
    reg = state.submit_phone(
        phone="1821726233", verify_type=0, account_type=1, area_code="+86", country="CN"
    )
    wrong = "000000" if reg.code != "000000" else "111111"
    state.submit_code(phone="1821726233", area_code="+86", code=wrong)
    assert sent(state, vc.REGISTER_STATUS) == [{"phone": "861821726233", "status": "0"}]
    assert reg.status == "failed" and "861821726233" not in state.accounts
    with pytest.raises(BusinessError):  # nothing pending any more
        state.submit_code(phone="1821726233", area_code="+86", code=reg.code)


# ------------------------------------------------------------------ PC scan tasks
def test_scan_task_70_then_80(state: VendorState) -> None:
    state.upsert_agent(user_id=10001, agent_account="agent01", user_name="A")
    task = state.task_create(user_id=10001, role=3)
    assert re.fullmatch(r"[0-9a-f]{32}", task.task_id)
    qr = state.task_qr(task.task_id)
    assert QR_SHAPE.match(qr) and state.task_qr(task.task_id) == qr
    state.scan(task.task_id, "86166666666")
    statuses = [p["taskStatus"] for p in sent(state, vc.SCAN_TASK_STATUS)]
    assert statuses == [70, 80]
    last = sent(state, vc.SCAN_TASK_STATUS)[-1]
    assert last["userId"] == 10001 and last["whatsapp"] == "86166666666"
    assert isinstance(last["updateTime"], int) and last["updateTime"] > 10**12
    assert state.accounts["86166666666"].agent_account == "agent01"
    assert state.task_qr(task.task_id) == ""


def test_scan_task_failures(state: VendorState, clock: Clock) -> None:
    with pytest.raises(BusinessError):  # no online agent
        state.task_create(user_id=None, role=1)
    state.upsert_agent(user_id=1, agent_account="a1")
    with pytest.raises(BusinessError):  # specified agent unknown
        state.task_create(user_id=2, role=3)
    state.max_ports = 0
    with pytest.raises(BusinessError):  # no port quota
        state.task_create(user_id=1, role=3)
    state.max_ports = 5
    task = state.task_create(user_id=None, role=1)
    clock.advance(state.options.task_timeout + 1)
    state.tick()
    assert task.history == [vc.TASK_SCAN_TIMEOUT]
    banned = state.task_create(user_id=1, role=3)
    state.set_account("8690", status=2)
    state.scan(banned.task_id, "8690")
    assert banned.history == [70, 90]
    forced = state.task_create(user_id=1, role=3)
    state.scan(forced.task_id, "8691", task_status=83)
    assert forced.history == [83]


# ------------------------------------------------------------------ actions
def _action(friend: str, agent: str = "u1", whats: str = "861") -> dict[str, Any]:
    return {
        "agentAccount": agent,
        "whatsId": whats,
        "friendWhatsId": friend,
        "platformType": 1,
        "content": "hi",
        "type": 1,
    }


def test_spacing_violation_is_refused_and_recorded(state: VendorState, clock: Clock) -> None:
    state.set_options(action_interval=10)
    first = state.batch_add(tenant_id=1, rows=[_action("a")])
    clock.advance(4)
    with pytest.raises(BusinessError) as refused:
        state.batch_add(tenant_id=1, rows=[_action("b")])
    assert refused.value.code == 400
    assert "data[0]" in refused.value.message and "10 s apart, not 4.0 s" in refused.value.message
    (violation,) = state.violations
    assert violation["previousId"] == first[0] and violation["gap"] == 4
    assert violation["interval"] == 10
    assert len(state.actions) == 1  # the refused action is not queued
    clock.advance(6)  # the lane still counts from the first action
    assert len(state.batch_add(tenant_id=1, rows=[_action("b")])) == 1


def test_no_violation_when_apart_or_on_other_pairs(state: VendorState, clock: Clock) -> None:
    state.set_options(action_interval=10)
    state.batch_add(tenant_id=1, rows=[_action("a")])
    state.batch_add(tenant_id=1, rows=[_action("a", whats="862"), _action("a", agent="u2")])
    clock.advance(10)
    state.batch_add(tenant_id=1, rows=[_action("b")])
    assert state.violations == []


def test_two_of_one_pair_in_one_batch_refuse_the_batch(state: VendorState) -> None:
    with pytest.raises(BusinessError) as refused:
        state.batch_add(tenant_id=1, rows=[_action("c", agent="u2"), _action("a"), _action("b")])
    assert "data[2]" in refused.value.message
    assert len(state.violations) == 1
    assert state.actions == {} and state.lane_last == {}  # nothing of the batch is kept


def test_actions_execute_when_logged_in_else_fail(state: VendorState, clock: Clock) -> None:
    state.set_options(action_delay=1, action_login_wait=60)
    state.upsert_agent(user_id=1, agent_account="u1")
    state.set_account("861", online=True, agent_account="u1")
    (ok_id,) = state.batch_add(tenant_id=1, rows=[_action("a")])
    (bad_id,) = state.batch_add(tenant_id=1, rows=[_action("b", whats="869")])
    rows = state.callback_result(tenant_id=1, ids=[ok_id, bad_id])
    assert [r["executeStatus"] for r in rows] == [0, 0]
    assert rows[0]["executeTime"] == vc.NOT_EXECUTED_TIME
    clock.advance(1)
    state.tick()
    rows = state.callback_result(tenant_id=1, ids=[ok_id, bad_id])
    assert [r["executeStatus"] for r in rows] == [1, 0]
    assert rows[0]["executeTime"] != vc.NOT_EXECUTED_TIME
    clock.advance(60)
    state.tick()
    rows = state.callback_result(tenant_id=1, ids=[bad_id, ok_id])
    assert [r["executeStatus"] for r in rows] == [2, 1]
    assert state.opened == [
        {
            "id": ok_id,
            "friendWhatsId": "a",
            "agentAccount": "u1",
            "whatsId": "861",
            "time": rows[1]["executeTime"],
        }
    ]


def test_demo_state_logs_agents_and_accounts_in(clock: Clock) -> None:
    demo = VendorState(clock=clock)
    demo.reset(demo=True)
    assert demo.pair_logged_in("agent01", "861380000002")
    assert not demo.pair_logged_in("agent01", "861380000000")  # banned
    assert len(demo.accounts) == 24
