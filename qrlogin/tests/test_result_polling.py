"""Outcomes that only a webhook brings, against the strict simulator:
with syncLoginStatus withheld, the result is looked up (getQrCodeInfo) while waiting and
after an expiry; a late success, by webhook or by look-up, still wins. Also the sync
reason that arrives after a failed login (point 8)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import WhatsAppAccount
from qrlogin.models import QrSession, ScanTaskStatus
from qrlogin.services import scan_tasks
from qrlogin.services.results import scan_task_status_apply
from qrlogin.services.sessions import result_poll_delay
from qrlogin.tasks import expire_sessions, poll_results, poll_scan_tasks
from qrlogin.tests.helpers import sim_agent_for
from simulator import vendorcodes as vc
from tests.fixtures import People, client_for
from tests.waiting import wait_for
from upstream import breaker, operations
from upstream.errors import UpstreamUnavailable
from webhooks.models import WebhookEvent

INFO = "/qrCode/getQrCodeInfo"


def start(client: Any, **data: Any) -> QrSession:
    form = {"pc_type": "2", "target": "10085", "mode": "qr", "proxy": ""}
    form.update(data)
    response = client.post(reverse("qrlogin:start"), form)
    assert response.status_code == 302, response.content
    return QrSession.objects.latest("id")


def all_processed(at_least: int) -> bool:
    events = WebhookEvent.objects.all()
    return (
        events.count() >= at_least
        and not events.exclude(state=WebhookEvent.State.PROCESSED).exists()
    )


def make_due(session: QrSession) -> None:
    QrSession.objects.filter(pk=session.pk).update(next_poll_at=timezone.now())


def due_in(session: QrSession) -> float:
    """Seconds until the session's next look-up."""
    session.refresh_from_db()
    assert session.next_poll_at is not None
    return (session.next_poll_at - timezone.now()).total_seconds()


def end_lock(session: QrSession) -> None:
    QrSession.objects.filter(pk=session.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db(transaction=True)
def test_lost_login_webhook_success_is_found_by_lookup(
    people: People, simulator: Any, live_server: Any, celery_worker_live: Any, settings: Any
) -> None:
    settings.QRLOGIN_RESULT_POLL_SECONDS = 0
    simulator.set_webhook_base(live_server.url)
    simulator.withhold_webhooks("syncLoginStatus")
    sim_agent_for(simulator, people.agent, name="Alice Agent")
    client = client_for(people.agent)
    session = start(client)
    simulator.state.set_account("8613800000031", agent_account="alice01")
    simulator.scan(session.port_id, "8613800000031")
    simulator.wait_deliveries(20)
    wait_for(lambda: all_processed(2))  # onlineStatus and syncWhatsAppStatus came
    (withheld,) = simulator.deliveries(vc.QR_LOGIN_STATUS)
    assert withheld["state"] == "withheld"
    session.refresh_from_db()
    assert session.state == QrSession.State.SHOWING  # without the look-up: still waiting

    assert poll_results() == {"succeeded": 1}
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED
    assert session.whatsapp == "8613800000031" and session.user_name == "Alice Agent"
    assert session.next_poll_at is None
    assert simulator.calls(INFO)[-1]["body"] == {"id": session.port_id}
    assert WhatsAppAccount.objects.filter(whatsapp="8613800000031").exists()
    status = client.get(reverse("qrlogin:session_status", args=[session.pk]) + "?seen=showing")
    assert status.status_code == 286 and "Online" in status.content.decode()
    calls = len(simulator.calls(INFO))
    assert poll_results() == {}  # a finished session is not looked up again
    assert len(simulator.calls(INFO)) == calls


def test_success_reported_after_expiry_by_lookup(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_RESULT_POLL_SECONDS = 0
    client = client_for(people.agent)
    session = start(client)
    simulator.scan(session.port_id, "8613800000032")  # its webhook goes nowhere
    end_lock(session)
    assert expire_sessions() == 1
    session.refresh_from_db()
    assert session.state == QrSession.State.EXPIRED
    assert session.next_poll_at is not None  # one more look after the expiry
    assert poll_results() == {"succeeded": 1}
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED
    assert session.whatsapp == "8613800000032" and session.reason == ""
    page = client.get(reverse("qrlogin:session", args=[session.pk])).content.decode()
    assert "Expired" not in page and "8613800000032" in page


def test_unused_port_after_expiry_is_looked_up_once(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_RESULT_POLL_SECONDS = 0
    settings.QRLOGIN_LOCK_SECONDS = 1
    simulator.set_options(lock_seconds=1)
    client = client_for(people.agent)
    session = start(client)
    time.sleep(1.2)
    assert expire_sessions() == 1
    assert poll_results() == {"released": 1}  # the vendor released the port: 1002
    session.refresh_from_db()
    assert session.state == QrSession.State.EXPIRED and session.next_poll_at is None
    assert poll_results() == {}


@pytest.mark.django_db(transaction=True)
def test_late_login_webhook_after_expiry_turns_the_session_into_a_success(
    people: People, simulator: Any, live_server: Any, celery_worker_live: Any
) -> None:
    simulator.set_webhook_base(live_server.url)
    simulator.withhold_webhooks("syncLoginStatus")
    client = client_for(people.agent)
    session = start(client)
    simulator.scan(session.port_id, "8613800000033")
    simulator.wait_deliveries(20)
    end_lock(session)
    # The sweep skips a row the worker holds locked (it takes it on its next run, as beat
    # would); under load the worker may still be applying the scan's other webhooks.
    wait_for(lambda: expire_sessions() == 1, 20)
    assert QrSession.objects.get(pk=session.pk).state == QrSession.State.EXPIRED
    assert simulator.release_webhooks() == 1
    simulator.wait_deliveries(20)
    wait_for(lambda: QrSession.objects.get(pk=session.pk).state == QrSession.State.SUCCEEDED)
    session.refresh_from_db()
    assert session.whatsapp == "8613800000033" and session.reason == ""


def test_lookups_back_off_and_respect_the_breaker(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_RESULT_POLL_SECONDS = 2
    settings.QRLOGIN_RESULT_POLL_MAX_SECONDS = 8
    assert [result_poll_delay(n) for n in range(5)] == [2, 4, 8, 8, 8]
    client = client_for(people.agent)
    session = start(client)
    assert 1 < due_in(session) <= 2
    assert poll_results() == {}  # not due yet: nothing asked
    assert simulator.calls(INFO) == []

    make_due(session)
    assert poll_results() == {"waiting": 1}  # status 0: not logged in yet
    assert 3 < due_in(session) <= 4 and session.polls == 1
    make_due(session)
    assert poll_results() == {"waiting": 1}
    assert 7 < due_in(session) <= 8
    assert len(simulator.calls(INFO)) == 2

    # Open the breaker (the vendor fails five times in a row): nothing is sent.
    simulator.set_faults(1.0, ["500"])
    for _ in range(settings.UPSTREAM_BREAKER_THRESHOLD):
        with pytest.raises(UpstreamUnavailable):
            operations.select_cloud_port()
    simulator.set_faults(0, [])
    assert breaker.breaker_state() == breaker.OPEN
    make_due(session)
    sent = len(simulator.calls())
    assert poll_results() == {"breaker_open": 1}
    assert len(simulator.calls()) == sent
    session.refresh_from_db()
    assert session.next_poll_at is not None and session.next_poll_at <= timezone.now()
    breaker.reset()
    assert poll_results() == {"waiting": 1}  # still due, asked once the breaker closed


def test_port_released_before_the_lock_ended_is_a_failure(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_RESULT_POLL_SECONDS = 0
    client = client_for(people.agent)
    session = start(client)
    simulator.scan(session.port_id, "8613800000034", ok=False)  # failed: port released
    assert poll_results() == {"failed": 1}
    session.refresh_from_db()
    assert session.state == QrSession.State.FAILED and session.reason_code == "1002"
    assert "released" in session.reason


@pytest.mark.django_db(transaction=True)
def test_sync_reason_after_a_failed_login_is_shown_on_the_session(
    people: People, simulator: Any, live_server: Any, celery_worker_live: Any
) -> None:
    simulator.state.set_account("8613800000035")
    simulator.state.ban("8613800000035")
    simulator.set_webhook_base(live_server.url)
    simulator.withhold_webhooks("syncWhatsAppStatus")
    client = client_for(people.agent)
    session = start(client)
    simulator.scan(session.port_id, "8613800000035")  # banned: login fails, reason 1001
    simulator.wait_deliveries(20)
    wait_for(lambda: QrSession.objects.get(pk=session.pk).state == QrSession.State.FAILED)
    url = reverse("qrlogin:session_status", args=[session.pk])
    first = client.get(url + "?seen=showing")
    assert first.status_code == 200  # failed, but the page keeps looking for the reason
    assert "?seen=failed." in first.content.decode()
    assert client.get(url + "?seen=failed.").status_code == 204
    assert simulator.release_webhooks() == 1  # the reason arrives after the failure
    simulator.wait_deliveries(20)
    wait_for(lambda: QrSession.objects.get(pk=session.pk).reason_code == "1001")
    done = client.get(url + "?seen=failed.")
    assert done.status_code == 286
    html = done.content.decode()
    assert "Login failed" in html and "Pairing failed" in html
    page = client.get(reverse("qrlogin:session", args=[session.pk])).content.decode()
    assert "Pairing failed" in page


# --- PC scan tasks without their webhook --------------------------------------------------


def test_scan_task_login_without_its_webhook_is_found_in_the_status_log(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_SCAN_TASK_POLL_SECONDS = 0
    agent = sim_agent_for(simulator, people.agent)
    task = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    assert task.next_poll_at is not None
    assert poll_scan_tasks() == {"waiting": 1}  # nothing in the log yet
    # Its webhook goes nowhere (no webhook base): only the status log can tell.
    simulator.scan(task.task_id, "8613800000041")
    assert [d["state"] for d in simulator.deliveries(vc.SCAN_TASK_STATUS)] == ["skipped"] * 2
    assert poll_scan_tasks() == {"logged_in": 1}
    task.refresh_from_db()
    assert task.status == ScanTaskStatus.LOGGED_IN and task.whatsapp == "8613800000041"
    assert task.next_poll_at is None
    assert simulator.calls("/user/queryUserStatusLog")[-1]["body"] == {
        "agentAccount": agent.agent_account,
        "source": 1,
    }
    account = WhatsAppAccount.objects.get(whatsapp="8613800000041")
    assert account.agent_id == agent.pk
    # The webhook's "scanned" (70), arriving late, never moves the outcome back.
    assert task.status_updated_at is not None
    scan_task_status_apply(
        task_id=task.task_id,
        task_status=70,
        whatsapp="8613800000041",
        user_id=agent.upstream_user_id,
        update_time=task.status_updated_at + timedelta(milliseconds=500),
    )
    task.refresh_from_db()
    assert task.status == ScanTaskStatus.LOGGED_IN
    status = client_for(people.agent).get(reverse("qrlogin:task_status", args=[task.pk]))
    assert status.status_code == 286 and "Login succeeded" in status.content.decode()
    assert poll_scan_tasks() == {}


def test_scan_task_lookup_ignores_other_agents_and_earlier_logins(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_SCAN_TASK_POLL_SECONDS = 0
    sim_agent_for(simulator, people.agent)
    sim_agent_for(simulator, people.peer)
    first = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    simulator.scan(first.task_id, "8613800000042")
    assert poll_scan_tasks() == {"logged_in": 1}
    # A second task of the same agent: the first task's login is not its login.
    second = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    bobs = scan_tasks.scan_task_create(actor=people.peer, allocation_role=3)
    simulator.scan(bobs.task_id, "8613800000043")  # another agent's login
    assert poll_scan_tasks() == {"waiting": 1, "logged_in": 1}
    second.refresh_from_db()
    bobs.refresh_from_db()
    assert second.status is None and bobs.whatsapp == "8613800000043"


def test_random_scan_task_cannot_be_watched_without_its_agent(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_SCAN_TASK_POLL_SECONDS = 0
    sim_agent_for(simulator, people.agent)
    task = scan_tasks.scan_task_create(actor=people.supervisor, allocation_role=1)
    assert poll_scan_tasks() == {"unknown_agent": 1}
    task.refresh_from_db()
    assert task.next_poll_at is None and task.status is None
    assert simulator.calls("/user/queryUserStatusLog") == []
