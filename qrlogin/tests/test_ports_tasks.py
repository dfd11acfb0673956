"""Ports (quota, details, over-quota warning, operations) and PC scan tasks, against the
real simulator."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from ports import services as ports
from ports.models import CloudPort, PortQuota
from qrlogin.errors import QR_ERROR_HELP
from qrlogin.models import AllocationRole, QrSession, ScanTask
from qrlogin.services import scan_tasks
from qrlogin.services.results import qr_login_result_apply, scan_task_status_apply
from qrlogin.services.sessions import qr_session_start
from qrlogin.tests.helpers import sim_agent_for, sim_task
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def logged_in_port(simulator: Any, user: Any, whatsapp: str) -> QrSession:
    session = qr_session_start(user=user, pc_type=2, target="10085")
    simulator.scan(session.port_id, whatsapp)
    # What the syncLoginStatus webhook applies (webhooks go nowhere in these tests).
    qr_login_result_apply(
        port_id=session.port_id, whatsapp=whatsapp, ok=True, received_at=timezone.now()
    )
    return session


def test_refresh_stores_quota_and_ports_with_exact_ids(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_LOCK_WARNING_SECONDS = 700  # every fresh 10-minute lock is "ending soon"
    logged_in_port(simulator, people.agent, "8613900000001")
    qr_session_start(user=people.agent, pc_type=1, target="10085")  # locked, unused
    client = client_for(people.supervisor)
    response = client.post(reverse("qrlogin:ports_refresh"))
    assert response.status_code == 302
    quota = PortQuota.objects.get()
    assert (quota.current_port, quota.max_port) == (2, 10)
    rows = list(CloudPort.objects.filter(released=False).order_by("port_id"))
    sim_ids = sorted(str(p["portId"]) for p in simulator.state.snapshot()["ports"])
    assert [r.port_id for r in rows] == sim_ids and int(rows[0].port_id) > 2**53
    used, unused = rows
    assert used.phone == "8613900000001" and used.status == 10 and used.locked_until is None
    assert unused.phone == "" and unused.status is None
    assert unused.locked_until is not None and unused.locked_until > timezone.now()
    html = client.get(reverse("qrlogin:ports")).content.decode()
    assert "2 of 10 ports in use" in html and used.port_id in html
    assert "Online" in html and "Unused" in html
    assert unused.port_id in html.split('id="expiring"')[1].split("</ul>")[0]
    for code in ("1001", "1002", "1003", "1004"):
        assert f'<td data-label="Code">{code}</td>' in html


def test_over_quota_names_the_accounts_going_offline(people: People, simulator: Any) -> None:
    logged_in_port(simulator, people.agent, "8613900000011")
    logged_in_port(simulator, people.agent, "8613900000012")
    logged_in_port(simulator, people.agent, "8613900000013")
    ports.ports_refresh()
    simulator.state.max_ports = 1  # the quota was cut: maxPort < currentPort
    ports.ports_refresh()
    html = client_for(people.supervisor).get(reverse("qrlogin:ports")).content.decode()
    warning = html.split('id="over-quota"')[1].split("</div>")[0]
    assert "Over quota by 2 ports" in warning
    assert "8613900000013" in warning and "8613900000012" in warning
    assert "8613900000011" not in warning


def test_port_operations_are_audited_and_keep_the_proxy_secret(
    people: People, simulator: Any
) -> None:
    session = logged_in_port(simulator, people.agent, "8613900000021")
    ports.ports_refresh()
    port = CloudPort.objects.get(released=False)
    client = client_for(people.supervisor)
    url = reverse("qrlogin:port_operate", args=[port.port_id, "offline"])
    assert client.post(url).status_code == 302
    # The port operations take the preGenerate id, not the port application id.
    assert simulator.calls("/qrCode/offline")[-1]["body"]["id"] == session.port_id
    online = reverse("qrlogin:port_operate", args=[port.port_id, "online"])
    client.post(online, {"proxy": "10.9.9.9:1080:pu:TopSecret42"})
    # (the simulator masks user and password in its call log)
    assert simulator.calls("/qrCode/onLine")[-1]["body"]["ipConfig"].startswith("10.9.9.9:1080:")
    bad = client.post(online, {"proxy": "nope"}, follow=True)
    assert b"ip:port:user:pass" in bad.content
    client.post(reverse("qrlogin:port_operate", args=[port.port_id, "logout"]))
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["port.offline", "port.online", "port.logout"]
    assert "TopSecret42" not in str(list(AuditEntry.objects.values()))
    port.refresh_from_db()
    assert port.released
    # The vendor refusing is said plainly.
    refused = client.post(url, follow=True).content.decode()
    assert str(QR_ERROR_HELP["1002"].meaning) in refused


def test_ports_page_refreshes_in_the_background_when_stale(
    people: People, simulator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(people.supervisor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        html = client.get(reverse("qrlogin:ports")).content.decode()
    assert len(callbacks) == 1
    # While the refresh runs, the tables poll every 2 s (besides the pushed "ports" event).
    assert "Fetching the latest figures" in html
    assert 'hx-trigger="sse:ports, live-poll, every 2s"' in html
    ports.ports_refresh()  # what the task does
    quota = PortQuota.objects.get()
    table = client.get(reverse("qrlogin:ports_table") + "?since=0&until=99999999999999")
    assert table.status_code == 286 and b"0 of 10 ports in use" in table.content
    assert quota.max_port == 10


def test_agent_creates_a_task_only_for_themselves(people: People, simulator: Any) -> None:
    agent = sim_agent_for(simulator, people.agent)
    sim_agent_for(simulator, people.peer)
    client = client_for(people.agent)
    page = client.get(reverse("qrlogin:tasks")).content.decode()
    assert "The task is created for you" in page and 'name="user_id"' not in page
    # Even a forged request for random allocation or for bob creates alice's own task.
    response = client.post(
        reverse("qrlogin:tasks"),
        {"allocation_role": "1", "user_id": people.peer.agent_profile.upstream_user_id},
    )
    task = ScanTask.objects.get()
    assert response["Location"] == reverse("qrlogin:task", args=[task.pk])
    assert task.allocation_role == AllocationRole.SPECIFIED
    assert task.upstream_user_id == agent.upstream_user_id
    body = simulator.calls("/qrCodeTask/create")[-1]["body"]
    assert body == {"userId": int(agent.upstream_user_id), "allocationRole": 3}
    assert task.qr_string == sim_task(simulator, task.task_id)["qrcode"]
    # The service refuses, whatever a caller passes.
    with pytest.raises(scan_tasks.ScanTaskRefused):
        scan_tasks.scan_task_create(actor=people.agent, allocation_role=1)
    with pytest.raises(scan_tasks.ScanTaskRefused):
        scan_tasks.scan_task_create(
            actor=people.agent,
            allocation_role=3,
            user_id=people.peer.agent_profile.upstream_user_id,
        )


def test_supervisor_creates_random_and_specified_tasks(people: People, simulator: Any) -> None:
    sim_agent_for(simulator, people.agent)
    bob = sim_agent_for(simulator, people.peer)
    client = client_for(people.supervisor)
    client.post(reverse("qrlogin:tasks"), {"allocation_role": "1"})
    client.post(reverse("qrlogin:tasks"), {"allocation_role": "3", "user_id": bob.upstream_user_id})
    random_task, specified = ScanTask.objects.order_by("id")
    assert random_task.allocation_role == 1 and random_task.upstream_user_id == ""
    assert specified.allocation_role == 3 and specified.upstream_user_id == bob.upstream_user_id
    missing = client.post(reverse("qrlogin:tasks"), {"allocation_role": "3"})
    assert missing.status_code == 400 and b"Choose the agent" in missing.content


def test_task_page_from_creation_to_80(people: People, simulator: Any) -> None:
    sim_agent_for(simulator, people.agent)
    client = client_for(people.agent)
    client.post(reverse("qrlogin:tasks"))
    task = ScanTask.objects.get()
    html = client.get(reverse("qrlogin:task", args=[task.pk])).content.decode()
    assert "<svg" in html and "Waiting for the phone to scan" in html
    status_url = reverse("qrlogin:task_status", args=[task.pk])
    assert client.get(status_url + "?seen=").status_code == 204
    simulator.scan(task.task_id, "8613700000001")
    for status in (70, 80):
        scan_task_status_apply(
            task_id=task.task_id,
            task_status=status,
            whatsapp="8613700000001",
            user_id=task.upstream_user_id,
            update_time=timezone.now(),
        )
        response = client.get(status_url + "?seen=")
        html = response.content.decode()
        if status == 70:
            assert response.status_code == 200 and "QR scan succeeded" in html
            assert "hx-swap-oob" in html  # the code disappears
        else:
            assert response.status_code == 286
            assert "Login succeeded" in html and "8613700000001" in html
    assert client.get(reverse("qrlogin:task_code", args=[task.pk])).status_code == 286


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (71, "QR scan timed out"),
        (83, "QR code timed out (not reported)"),
        (84, "Timed out, login not successful"),
        (85, "No available port"),
        (90, "Account banned"),
    ],
)
def test_task_failure_statuses_are_labelled(
    people: People, simulator: Any, status: int, label: str
) -> None:
    sim_agent_for(simulator, people.agent)
    task = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    scan_task_status_apply(
        task_id=task.task_id,
        task_status=status,
        whatsapp="",
        user_id="",
        update_time=timezone.now(),
    )
    response = client_for(people.agent).get(reverse("qrlogin:task_status", args=[task.pk]))
    assert response.status_code == 286
    assert label in response.content.decode() and str(status) in response.content.decode()
