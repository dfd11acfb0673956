"""Every operation through real HTTP against the simulator (the `simulator` fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.crypto import Secret
from upstream import breaker, codes, operations
from upstream.errors import CircuitOpen, UpstreamError, UpstreamUnavailable
from upstream.signing import HmacSigner
from upstream.types import AccountItem, ActionItem, OnlineAccountItem

PHONE = "8618733334444"
# Every vendor path the simulator received during this module (see the guard test).
RECEIVED: set[str] = set()
# One worker runs the whole module in file order, so the guard sees every test before it.
pytestmark = pytest.mark.xdist_group("upstream-operations-sim")


@pytest.fixture(autouse=True)
def _received(simulator: Any) -> Any:
    yield
    RECEIVED.update(_called(simulator))


def _called(simulator: Any) -> list[str]:
    return [c["path"] for c in simulator.calls() if not c["path"].startswith("/_sim")]


def _keys(n: int) -> dict[str, Any]:
    return {
        "public_key": Secret(f"pub-{n}"),
        "private_key": Secret(f"priv-{n}"),
        "msg_public_key": f"mpub-{n}",
        "msg_private_key": f"mpriv-{n}",
        "account_id": f"acc-{n}",
    }


def test_accounts_import_status_online_recycle(simulator: Any) -> None:
    operations.batch_insert(
        accounts=[
            AccountItem(whatsapp="861821726232", name="lee", whatsapp_type=1, **_keys(1)),
            AccountItem(whatsapp="861821726231", **_keys(2)),
        ]
    )
    statuses = {s.whatsapp: s for s in operations.query_whatsapp_status()}
    assert set(statuses) == {"861821726232", "861821726231"}
    assert statuses["861821726232"].status == 1
    assert statuses["861821726232"].online_status == 4  # offline until brought online
    operations.batch_online(
        accounts=[OnlineAccountItem(whatsapp="861821726232", override=False, **_keys(1))]
    )
    statuses = {s.whatsapp: s for s in operations.query_whatsapp_status()}
    assert statuses["861821726232"].online_status in (1, 2)
    operations.batch_recycle(whatsapps=["861821726232", "861821726231"])
    assert operations.query_whatsapp_status() == []
    body = next(c for c in simulator.calls() if c["path"].endswith("batchInsert"))["body"]
    assert "priv-1" not in json.dumps(body)  # the simulator masks keys in its call log


def test_registration(simulator: Any) -> None:
    task_id = operations.submit_phone(
        phone="18217262321", verify_type=1, account_type=2, area_code="+86", country_code="CN"
    )
    assert task_id.isdigit()
    code = simulator.state.registrations[int(task_id)].code
    operations.submit_verify_code(phone="18217262321", area_code="+86", verify_code=code)
    numbers = {s.whatsapp for s in operations.query_whatsapp_status()}
    assert "8618217262321" in numbers
    with pytest.raises(UpstreamError):
        operations.submit_verify_code(phone="18217262321", area_code="+86", verify_code="000000")


def test_cloud_port_lifecycle(simulator: Any) -> None:
    targets = operations.select_pair_target()
    assert [t.target_tenant_id for t in targets] == ["10085", "10086"]
    port = operations.pre_generate(pc_type=2, target=targets[0].target_tenant_id)
    assert port
    qr = operations.get_qr_code(id=port, ip_config=Secret("1.2.3.4:1080:user:pass"))
    assert qr.startswith("2@") and qr.endswith(",1") and qr.count(",") == 4
    both = operations.get_qr_code_v2(id=port, phone=PHONE, is_easy="y")
    assert both.pair_code
    info = operations.get_qr_code_info(id=port)
    assert [(i.status, i.whatsapp) for i in info] == [(0, "")]
    quota = operations.select_cloud_port()
    assert quota.current_port == 1
    simulator.scan(port, PHONE, ok=True)
    info = operations.get_qr_code_info(id=port)
    assert [(i.status, i.whatsapp) for i in info] == [(1, PHONE)]
    assert [i.whatsapp for i in operations.get_qr_code_info(whatsapp=PHONE)] == [PHONE]
    detail = operations.select_cloud_port_detail()
    assert len(detail) == 1
    assert detail[0].id.isdigit() and int(detail[0].id) > 2**53  # exact, as a string
    assert (detail[0].phone, detail[0].status) == (PHONE, 10)
    assert detail[0].create_time is not None and detail[0].create_time.tzinfo is not None
    contacts = operations.select_contact(id=port)
    assert contacts and all(c.whatsapp for c in contacts)
    one = operations.contact_info(id=port, phone=contacts[0].whatsapp)
    assert one is not None and one.whatsapp == contacts[0].whatsapp
    profile = operations.info_profile(id=port)
    assert profile is not None and profile.whatsapp == PHONE
    operations.update_avatar_or_nickname(
        device_type=1, phone_list=[PHONE], nickname="mimanchin", avatar="https://oss/a.jpeg"
    )
    assert simulator.state.accounts[PHONE].name == "mimanchin"
    operations.offline(id=port)
    operations.on_line(id=port, ip_config="1.2.3.4:1080:user:pass")
    assert [i.whatsapp for i in operations.query_whatsapp_info(whatsapp=PHONE, source=3)] == [PHONE]
    operations.log_out(id=port)
    assert operations.select_cloud_port().current_port == 0
    with pytest.raises(UpstreamError) as exc:
        operations.get_qr_code(id=port)  # released
    assert exc.value.code == 1002
    assert exc.value.message == codes.QR_ERRORS[1002]


def test_qr_errors_from_the_simulator(simulator: Any) -> None:
    with pytest.raises(UpstreamError) as exc:
        operations.pre_generate(pc_type=7)
    assert (exc.value.code, exc.value.message) == (1003, codes.QR_ERRORS[1003])
    with pytest.raises(UpstreamError) as exc:
        operations.pre_generate(pc_type=1, target=99999)
    assert (exc.value.code, exc.value.message) == (1004, codes.QR_ERRORS[1004])
    simulator.set_options(max_ports=1)
    operations.pre_generate(pc_type=1)
    with pytest.raises(UpstreamError) as exc:
        operations.pre_generate(pc_type=1)
    assert (exc.value.code, exc.value.message) == (1001, codes.QR_ERRORS[1001])


def test_pc_scan_task(simulator: Any) -> None:
    simulator.state.upsert_agent(user_id=10001, agent_account="agent01", user_name="A")
    task = operations.qr_task_create(allocation_role=3, user_id=10001)
    qr = operations.qr_task_get_qr_code(task_id=task)
    assert qr.startswith("2@")
    simulator.scan(task, "86166666666", ok=True)
    assert simulator.state.tasks[task].status == 80


def test_agents_and_actions(simulator: Any) -> None:
    state = simulator.state
    state.upsert_agent(user_id=621443, agent_account="lsl001", user_name="Lsl")
    state.set_account("573125704139", online=True, agent_account="lsl001", source=2, emit=True)
    state.set_account("8618217331411", online=True, agent_account="lsl001", source=1, emit=True)
    mobile = operations.query_user_status(source=2)
    assert [(a.user_id, a.agent_account) for a in mobile] == [("621443", "lsl001")]
    assert [w.whatsapp for w in mobile[0].whatsapps] == ["573125704139"]
    assert operations.query_user_status(source=1, user_id="621443", user_name="")[0].whatsapps
    by_source = {s.source: s for s in operations.query_all_ol_whatsapp_info()}
    assert [w.whatsapp for w in by_source[1].agents[0].whatsapps] == ["8618217331411"]
    info = operations.query_whatsapp_info(whatsapp="8618217331411")
    assert [(i.user_id, i.agent_account, i.source) for i in info] == [("621443", "lsl001", 1)]
    assert operations.query_whatsapp_info(whatsapp="8610000000000") == []
    log = operations.query_user_status_log(source=2, agent_account="lsl001")
    assert log[0].entries[0].whatsapp == "573125704139"
    assert log[0].entries[0].status == 10
    assert log[0].entries[0].create_time is not None
    latest = operations.get_latest_online_whats_account(source=1, user_id=621443)
    assert [w.whatsapp for w in latest[0].whatsapps] == ["8618217331411"]
    assert latest[0].whatsapps[0].status == 10

    ids = operations.batch_add(
        items=[
            ActionItem(
                agent_account="lsl001",
                whatsapp="8618217331411",
                friend_whatsapp="8613633800088",
                platform_type=1,
                content="hello",
            )
        ]
    )
    assert len(ids) == 1 and len(ids[0]) == 32
    (row,) = operations.callback_result(ids=ids)
    assert row.id == ids[0]
    assert row.friend_whatsapp == "8613633800088"
    assert row.execute_status in (0, 1)
    assert (row.execute_time is None) == (row.execute_status == 0)


def test_every_operation_was_exercised_against_the_simulator(simulator: Any) -> None:
    """Guard: the tests above reached every one of the 29 seed paths. Read from what the
    simulator received during this module's tests (recorded by the `_received` fixture above), so an
    operation that no test calls, or that never reaches the simulator, fails here."""
    expected = {e.path for e in operations.ENDPOINTS.values()}
    missing = sorted(expected - RECEIVED)
    assert not missing, f"no test above called: {missing}"


# --- faults injected by the simulator -------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "garbage"])
def test_injected_transient_faults(simulator: Any, kind: str) -> None:
    simulator.set_faults(1.0, [kind])
    with pytest.raises(UpstreamUnavailable) as exc:
        operations.select_cloud_port()
    assert not isinstance(exc.value, UpstreamError | CircuitOpen)


def test_injected_timeout(simulator: Any, settings: Any) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    simulator.set_faults(1.0, ["timeout"], timeout_seconds=1.0)
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        operations.select_cloud_port()


def test_injected_business_fault(simulator: Any) -> None:
    simulator.set_faults(1.0, ["business"])
    with pytest.raises(UpstreamError) as exc:
        operations.pre_generate(pc_type=1)
    assert exc.value.code != 200
    assert exc.value.message
    assert breaker.breaker_state() == "closed"


def test_breaker_opens_on_simulator_faults_and_sends_nothing(simulator: Any) -> None:
    simulator.set_faults(1.0, ["500"])
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            operations.select_cloud_port()
    assert breaker.breaker_state() == "open"
    sent = len(_called(simulator))
    assert sent == 5
    simulator.set_faults(0, [])
    with pytest.raises(CircuitOpen):
        operations.select_cloud_port()
    assert len(_called(simulator)) == sent


class WrongSecretSigner(HmacSigner):
    """Signs with a secret the vendor does not know (verifies like the real one)."""

    def sign(self, *, api_key: str, secret: str, body: bytes, **kw: Any) -> dict[str, str]:
        return super().sign(api_key=api_key, secret="not-" + secret, body=body, **kw)


def test_simulator_rejects_a_wrong_secret_with_401(simulator: Any, settings: Any) -> None:
    settings.UPSTREAM_SIGNER = "upstream.tests.test_operations_sim.WrongSecretSigner"
    with pytest.raises(UpstreamError) as exc:
        operations.select_cloud_port()
    assert exc.value.code == 401
    assert breaker.breaker_state() == "closed"


def test_a_vendor_429_slows_down_instead_of_opening_the_breaker(simulator: Any) -> None:
    """Five 429s (or more) never block the vendor for everyone; calls
    pause for the vendor's Retry-After and then go out again."""
    import time

    from upstream.errors import NotSent, SlowDown

    simulator.set_faults(1.0, ["429"])
    for _ in range(6):
        with pytest.raises(SlowDown) as exc:
            operations.select_cloud_port()
        assert isinstance(exc.value, NotSent)  # nothing was done: safe to send again
        assert 0 < exc.value.retry_after <= 1.0
        time.sleep(exc.value.retry_after + 0.05)
    assert breaker.breaker_state() == "closed"
    assert len(_called(simulator)) == 6
    # During the pause nothing is sent; after it, the call goes out.
    with pytest.raises(SlowDown):
        operations.select_cloud_port()  # the 7th 429
    simulator.set_faults(0, [])
    with pytest.raises(SlowDown, match="retry in"):
        operations.select_cloud_port()  # held back: still in the pause
    assert len(_called(simulator)) == 7
    time.sleep(1.1)
    operations.select_cloud_port()
    assert len(_called(simulator)) == 8
