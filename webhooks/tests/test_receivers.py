"""The five receivers: seed examples end to end (receipt + processing), answers, and every
refusal (401 / 400 / 413 / 503 / 405)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.choices import AccountStatus, OnlineStatus
from accounts.models import Agent, Registration, StatusEvent, WhatsAppAccount
from ports.models import CloudPort
from qrlogin.models import PcType, QrSession, ScanTask
from tests.vendor_payloads import load_bytes
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.process import webhook_event_process
from webhooks.tests.helpers import post, sign, url

OK = {"code": 200, "message": "Success", "data": ""}
K = WebhookKind


def deliver(kind: str, body: Any, client: Client | None = None) -> WebhookEvent:
    """POST a signed body, check the 200 answer, and process the stored event."""
    response = post(client or Client(), kind, body)
    assert response.status_code == 200, response.content
    assert response.json() == OK
    event = WebhookEvent.objects.latest("id")
    assert event.state == WebhookEvent.State.PENDING
    outcome = webhook_event_process(event_id=event.pk)
    assert outcome.state == "processed", outcome
    event.refresh_from_db()
    return event


# --- every seed example, verbatim ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["webhook_online_status", "webhook_online_status.txt"])
def test_seed_online_status(fixture: str) -> None:
    """The seed example (also its verbatim text with the stray `}`): a bare list with the
    same record twice and the undocumented status 1."""
    event = deliver(K.ONLINE_STATUS, load_bytes(fixture))
    assert event.records == 2 and event.applied == 1
    history = list(StatusEvent.objects.all())
    assert len(history) == 1
    (row,) = history
    assert (row.whatsapp, row.status, row.detail_status, row.platform) == (
        "8617633819542",
        1,
        11,
        1,
    )
    assert row.event_time == datetime(2024, 7, 3, 7, 27, tzinfo=UTC)  # 15:27 at UTC+8
    assert row.webhook_event_id == event.pk
    account = WhatsAppAccount.objects.get(whatsapp="8617633819542")  # created: vendor knows it
    assert account.presence_status == 1 and account.detail_status == 11
    assert account.last_event_at == row.event_time
    assert account.presence_label == "Unknown (1)"


@pytest.mark.django_db
def test_online_status_wrapped_and_agent_link(people: Any) -> None:
    body = {
        "whatsAppList": [
            {
                "whatsApp": "8613800000001",
                "status": "10",
                "detailStatus": "12",
                "account": "alice01",
                "time": "2024-07-03 15:27:00",
                "platformType": "1",
            },
            {
                "": "8613800000002",
                "status": 40,
                "detailStatus": 41,
                "account": "",
                "time": 1720000000000,
                "platformType": 1,
            },
        ]
    }
    event = deliver(K.ONLINE_STATUS, body)
    assert event.records == 2 and event.applied == 2
    a1 = WhatsAppAccount.objects.get(whatsapp="8613800000001")
    assert a1.presence_status == 10 and a1.agent == Agent.objects.get(agent_account="alice01")
    a2 = WhatsAppAccount.objects.get(whatsapp="8613800000002")
    assert a2.presence_status == 40 and a2.agent is None


@pytest.mark.django_db
def test_seed_sync_whatsapp_status() -> None:
    deliver(K.ACCOUNT_STATUS, load_bytes("webhook_sync_whatsapp_status"))
    account = WhatsAppAccount.objects.get(whatsapp="8218132718231")
    assert account.status == AccountStatus.NORMAL
    assert account.online_status == OnlineStatus.LOGGING_IN
    assert account.online_status_at is not None
    assert (account.reason_code, account.reason) == ("", "")


@pytest.mark.django_db
def test_sync_status_reason_and_instance_code() -> None:
    session = QrSession.objects.create(port_id="port-77", state=QrSession.State.SHOWING)
    body = {
        "whatsapp": "8218132718231",
        "status": "2",
        "onlineStatus": "4",
        "reason": "1002",
        "instanceCode": "port-77",
    }
    deliver(K.ACCOUNT_STATUS, body)
    account = WhatsAppAccount.objects.get(whatsapp="8218132718231")
    assert account.status == AccountStatus.BANNED and account.online_status == 4
    assert account.reason_code == "1002"
    assert account.reason == "Network error: change the IP (proxy)"
    session.refresh_from_db()
    assert session.instance_code == "port-77" and session.whatsapp == "8218132718231"
    assert session.reason_code == "1002"
    # An older delivery (received earlier, processed later) does not win.
    older = WebhookEvent.objects.create(
        kind=K.ACCOUNT_STATUS,
        body=json.dumps({**body, "status": 1, "onlineStatus": 2, "reason": ""}).encode(),
        received_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    webhook_event_process(event_id=older.pk)
    account.refresh_from_db()
    assert account.status == AccountStatus.BANNED and account.online_status == 4


@pytest.mark.django_db
def test_seed_register_sync_status() -> None:
    reg = Registration.objects.create(
        phone="1821726232", area_code="+86", country_code="CN", verify_type=1, account_type=2
    )
    other = Registration.objects.create(
        phone="1821726299", area_code="+86", country_code="CN", verify_type=1, account_type=1
    )
    deliver(K.REGISTER_STATUS, load_bytes("webhook_register_sync_status"))
    reg.refresh_from_db()
    other.refresh_from_db()
    assert reg.state == Registration.State.SUCCEEDED and reg.completed_at is not None
    assert other.state == Registration.State.PHONE_SUBMITTED
    account = WhatsAppAccount.objects.get(whatsapp="861821726232")
    assert account.account_type == 2


@pytest.mark.django_db
def test_register_failed() -> None:
    reg = Registration.objects.create(
        phone="861821726232", area_code="+86", country_code="CN", verify_type=0, account_type=1
    )
    deliver(K.REGISTER_STATUS, {"phone": "861821726232", "status": 0})
    reg.refresh_from_db()
    assert reg.state == Registration.State.FAILED
    assert not WhatsAppAccount.objects.filter(whatsapp="861821726232").exists()


@pytest.mark.django_db
def test_seed_qr_login_status(people: Any) -> None:
    CloudPort.objects.create(port_id="ad518a4271fa43c8937612c5f60396f8")
    session = QrSession.objects.create(
        port_id="ad518a4271fa43c8937612c5f60396f8",
        state=QrSession.State.SHOWING,
        pc_type=PcType.CLOUD_PC,
        created_by=people.agent,
    )
    deliver(K.QR_LOGIN_STATUS, load_bytes("webhook_qr_login_status"))
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED
    assert session.whatsapp == "817272727272" and session.finished_at is not None
    port = CloudPort.objects.get(port_id="ad518a4271fa43c8937612c5f60396f8")
    assert port.phone == "817272727272"
    account = WhatsAppAccount.objects.get(whatsapp="817272727272")
    assert account.agent is not None and account.agent.user == people.agent
    # An older failure delivered late never moves the final session backwards.
    late = WebhookEvent.objects.create(
        kind=K.QR_LOGIN_STATUS,
        body=json.dumps({"id": session.port_id, "status": 0}).encode(),
        received_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    webhook_event_process(event_id=late.pk)
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED


@pytest.mark.django_db
def test_qr_login_failed() -> None:
    session = QrSession.objects.create(port_id="p-1", state=QrSession.State.SHOWING)
    deliver(K.QR_LOGIN_STATUS, {"id": "p-1", "status": 0})
    session.refresh_from_db()
    assert session.state == QrSession.State.FAILED and session.reason


@pytest.mark.django_db
def test_seed_scan_task_status(people: Any) -> None:
    Agent.objects.filter(agent_account="alice01").update(upstream_user_id="10001")
    task = ScanTask.objects.create(task_id="f0d485cb2e5e4c5ca21b74e970043e6c", allocation_role=3)
    deliver(K.SCAN_TASK_STATUS, load_bytes("webhook_scan_task_status"))
    task.refresh_from_db()
    assert task.status == 80 and task.get_status_display() == "Login succeeded"
    assert task.whatsapp == "86166666666"
    assert task.status_updated_at == datetime.fromtimestamp(1710236000, UTC)
    account = WhatsAppAccount.objects.get(whatsapp="86166666666")
    assert account.agent is not None and account.agent.agent_account == "alice01"
    # An older status (smaller updateTime) is ignored; a newer one applies.
    deliver(
        K.SCAN_TASK_STATUS, {"taskId": task.task_id, "taskStatus": 70, "updateTime": 1710235000000}
    )
    task.refresh_from_db()
    assert task.status == 80
    deliver(
        K.SCAN_TASK_STATUS, {"taskId": task.task_id, "taskStatus": 90, "updateTime": 1710237000000}
    )
    task.refresh_from_db()
    assert task.status == 90


@pytest.mark.django_db
def test_headers_stored_redacted() -> None:
    raw = load_bytes("webhook_sync_whatsapp_status")
    response = Client().post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=sign(raw)
    )
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.headers["x-api-key"] == "[redacted]"
    assert "x-signature" in event.headers and "x-nonce" in event.headers
    assert bytes(event.body) == raw and event.signature_ok


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_payload_is_400_and_stored_rejected() -> None:
    cases = [
        (K.ONLINE_STATUS, b"{not json", "not valid JSON"),
        (K.ONLINE_STATUS, {"records": []}, "expected whatsAppList"),
        (K.ONLINE_STATUS, {"whatsAppList": 5}, "whatsAppList: expected a list"),
        (K.ONLINE_STATUS, "a string", "whatsAppList: expected a list"),
        (K.ACCOUNT_STATUS, {"whatsApp": "8612345", "status": 1}, "missing onlineStatus"),
        (K.REGISTER_STATUS, {"phone": "8612345", "status": 7}, "status 7 is out of range"),
        (K.QR_LOGIN_STATUS, {"status": 1}, "missing id"),
        (K.SCAN_TASK_STATUS, {"taskId": "t", "taskStatus": 80}, "missing updateTime"),
        (K.SCAN_TASK_STATUS, [], "expected a JSON object"),
    ]
    for kind, body, message in cases:
        response = post(Client(), kind, body)
        assert response.status_code == 400, (kind, body)
        payload = response.json()
        assert payload["code"] == 400 and message in payload["message"], payload
        event = WebhookEvent.objects.latest("id")
        assert event.state == WebhookEvent.State.REJECTED and message in event.error
    assert WebhookEvent.objects.count() == len(cases)


@pytest.mark.django_db
def test_list_body_whose_only_records_are_bad_is_acknowledged_and_kept_rejected() -> None:
    """A list body of the documented shape answers 200 even when no record is usable (the
    vendor's retry would fail the same way forever); each record is kept with its reason."""
    cases = [
        (
            {"whatsAppList": [{"status": 10, "time": "2024-07-03 15:27:00"}]},
            "record 0: missing the account number",
        ),
        (
            [{"whatsId": "861", "status": "x", "time": "2024-07-03 15:27:00"}],
            "record 0: status 'x' is not an integer",
        ),
        ([{"whatsId": "86123", "status": 10, "time": "yesterday"}], "record 0: time 'yesterday'"),
        ([7], "record 0: expected a JSON object"),
    ]
    for body, message in cases:
        response = post(Client(), K.ONLINE_STATUS, body)
        assert response.status_code == 200, body
        assert response.json() == OK
        event = WebhookEvent.objects.latest("id")
        assert event.state == WebhookEvent.State.REJECTED
        assert event.error == "every record was rejected (1)"
        (rejected,) = event.rejected_records
        assert rejected["position"] == 0 and message in rejected["reason"], rejected
    assert not StatusEvent.objects.exists()


@pytest.mark.django_db
def test_every_single_byte_change_is_refused() -> None:
    raw = load_bytes("webhook_sync_whatsapp_status")
    headers = sign(raw)
    client = Client()
    for i in range(len(raw)):
        mutated = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        r = client.post(
            url(K.ACCOUNT_STATUS), data=mutated, content_type="application/json", headers=headers
        )
        assert r.status_code == 401, i
    sig = headers["X-Signature"]
    for i in range(len(sig)):
        flipped = sig[:i] + ("0" if sig[i] != "0" else "1") + sig[i + 1 :]
        r = client.post(
            url(K.ACCOUNT_STATUS),
            data=raw,
            content_type="application/json",
            headers={**headers, "X-Signature": flipped},
        )
        assert r.status_code == 401, i
        assert r.json()["code"] == 401
    for name in ("X-Timestamp", "X-Nonce"):
        value = headers[name]
        for i in range(len(value)):
            changed = value[:i] + ("1" if value[i] != "1" else "2") + value[i + 1 :]
            r = client.post(
                url(K.ACCOUNT_STATUS),
                data=raw,
                content_type="application/json",
                headers={**headers, name: changed},
            )
            assert r.status_code == 401, (name, i)
    assert WebhookEvent.objects.count() == 0
    # The untouched request still passes (its nonce was never consumed by the refusals).
    r = client.post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
    )
    assert r.status_code == 200


@pytest.mark.django_db
def test_wrong_key_stale_future_replayed_unsigned() -> None:
    raw = load_bytes("webhook_qr_login_status")
    client = Client()
    now = time.time()
    refused = [
        sign(raw, secret="not-the-secret"),
        sign(raw, now=now - 301),
        # Well past the window: a +301 s stamp came inside it once the request was slow.
        sign(raw, now=now + 330),
        {},
        {"X-Timestamp": str(int(now)), "X-Nonce": "n" * 20},
    ]
    for headers in refused:
        r = client.post(
            url(K.QR_LOGIN_STATUS), data=raw, content_type="application/json", headers=headers
        )
        assert r.status_code == 401 and r.json()["code"] == 401, headers
    assert WebhookEvent.objects.count() == 0
    fresh = sign(raw, now=now - 250)
    assert (
        client.post(
            url(K.QR_LOGIN_STATUS), data=raw, content_type="application/json", headers=fresh
        ).status_code
        == 200
    )
    again = client.post(
        url(K.QR_LOGIN_STATUS), data=raw, content_type="application/json", headers=fresh
    )
    assert again.status_code == 401 and "replayed" in again.json()["message"]
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_rotated_secrets_any_may_match(settings: Any) -> None:
    settings.WEBHOOK_SECRETS = ["new-secret-1", "old-secret-0"]
    raw = load_bytes("webhook_qr_login_status")
    for secret in settings.WEBHOOK_SECRETS:
        r = Client().post(
            url(K.QR_LOGIN_STATUS),
            data=raw,
            content_type="application/json",
            headers=sign(raw, secret=secret),
        )
        assert r.status_code == 200


@pytest.mark.django_db
def test_oversized_body_is_413(settings: Any) -> None:
    limit = settings.WEBHOOK_MAX_BYTES
    records = [{"whatsId": "8613800000000", "status": 10, "time": "2024-07-03 15:27:00"}] * 20000
    raw = json.dumps(records).encode()
    assert len(raw) > limit
    for headers in (sign(raw), {}):
        r = Client().post(
            url(K.ONLINE_STATUS), data=raw, content_type="application/json", headers=headers
        )
        assert r.status_code == 413 and r.json()["code"] == 413
    # Exactly at the limit is still read (and then judged on its signature and content).
    at_limit = b" " * (limit - 2) + b"[]"
    r = Client().post(
        url(K.ONLINE_STATUS), data=at_limit, content_type="application/json", headers=sign(at_limit)
    )
    assert r.status_code == 200
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_get_is_405() -> None:
    r = Client().get(url(K.ONLINE_STATUS))
    assert r.status_code == 405 and r.json()["code"] == 405


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_database_unavailable_is_503_never_200() -> None:
    raw = load_bytes("webhook_sync_whatsapp_status")
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    try:
        headers = sign(raw)
        r = Client().post(
            url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
        )
        assert r.status_code == 503 and r.json()["code"] == 503
        bad = b"{oops"
        r = Client().post(
            url(K.ACCOUNT_STATUS), data=bad, content_type="application/json", headers=sign(bad)
        )
        assert r.status_code == 503
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert WebhookEvent.objects.count() == 0
    # The vendor's retry of the very same request (same nonce) is then accepted.
    r = Client().post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
    )
    assert r.status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert timezone.now() >= WebhookEvent.objects.get().received_at


@pytest.mark.django_db
def test_scan_outcome_wins_over_scanned_at_the_same_millisecond() -> None:
    """The vendor stamps 70 and 80 with one updateTime; either order ends at 80."""
    for order in ([70, 80], [80, 70]):
        task = ScanTask.objects.create(task_id=f"t-{order[0]}", allocation_role=1)
        for status in order:
            deliver(
                K.SCAN_TASK_STATUS,
                {"taskId": task.task_id, "taskStatus": status, "updateTime": 1710236000000},
            )
        task.refresh_from_db()
        assert task.status == 80, order


@pytest.mark.django_db
def test_receipts_rejections_and_lag_reach_metrics() -> None:
    client = Client()
    assert post(client, K.ONLINE_STATUS, load_bytes("webhook_online_status")).status_code == 200
    assert post(client, K.ONLINE_STATUS, {"whatsAppList": []}, signed=False).status_code == 401
    webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert 'switchboard_webhook_received_total{kind="online_status"}' in body
    assert 'switchboard_webhook_rejected_total{kind="online_status",reason="signature"}' in body
    assert 'switchboard_webhook_processed_total{kind="online_status",outcome="processed"}' in body
    assert "switchboard_webhook_processing_lag_seconds_bucket" in body


# --- failing closed in the corners --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_interface_error_is_a_database_failure_503_and_the_retry_is_accepted(
    monkeypatch: Any,
) -> None:
    from django.db import InterfaceError
    from django.db.backends.utils import CursorWrapper

    raw = load_bytes("webhook_sync_whatsapp_status")
    headers = sign(raw)
    real_execute = CursorWrapper.execute

    def closed(self: Any, sql: str, params: Any = None) -> Any:
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(CursorWrapper, "execute", closed)
    r = Client().post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
    )
    monkeypatch.setattr(CursorWrapper, "execute", real_execute)
    assert r.status_code == 503 and r.json()["code"] == 503
    assert WebhookEvent.objects.count() == 0
    r = Client().post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
    )
    assert r.status_code == 200
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_any_failure_after_the_signature_check_lets_the_retry_in(monkeypatch: Any) -> None:
    from django.db.backends.utils import CursorWrapper

    raw = load_bytes("webhook_sync_whatsapp_status")
    headers = sign(raw)
    real_execute = CursorWrapper.execute

    def broken(self: Any, sql: str, params: Any = None) -> Any:
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    r = Client(raise_request_exception=False).post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
    )
    monkeypatch.setattr(CursorWrapper, "execute", real_execute)
    assert r.status_code == 500  # never a 200: the vendor retries
    assert WebhookEvent.objects.count() == 0
    r = Client().post(
        url(K.ACCOUNT_STATUS), data=raw, content_type="application/json", headers=headers
    )
    assert r.status_code == 200, r.content
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_body_cut_short_by_the_sender_hanging_up_is_400_not_a_bad_signature() -> None:
    """The vendor timed out and closed the connection before its body arrived: the body
    is shorter than its Content-Length (the server's input stream ends early, as a2wsgi's
    does on a disconnect). That is not a forged delivery to show the admins."""
    import io

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory

    from webhooks.models import RefusedDelivery

    body = json.dumps({"whatsAppList": []}).encode()
    environ = RequestFactory()._base_environ(  # type: ignore[attr-defined]
        PATH_INFO=url(K.ONLINE_STATUS),
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(body) + 50),  # more than will ever arrive
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sign(body).items()},
    )
    environ["wsgi.input"] = io.BytesIO(body)
    answer: list[str] = []
    # As Django's test client does: the request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, lambda status, headers: answer.append(status))  # type: ignore[arg-type]
        content = b"".join(response)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert answer == ["400 Bad Request"]
    assert b"Content-Length" in content
    assert not RefusedDelivery.objects.exists()
    assert not WebhookEvent.objects.exists()
