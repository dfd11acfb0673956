"""Who may open what: every page, fragment and API of the qrlogin app, for the owner
(agent alice), a peer agent (bob), a supervisor, an admin, an outsider (no role) and an
anonymous visitor. Another agent's session or task answers 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from ports import services as ports
from qrlogin.models import QrSession, ScanTask
from qrlogin.services import scan_tasks
from qrlogin.services.sessions import qr_session_start
from qrlogin.tests.helpers import sim_agent_for
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

LOGIN = "/login/"

# role -> expected status for: own-thing pages, pages anyone with QR_LOGIN may open,
# supervisor pages (ports)
OWN = {"anonymous": 302, "agent": 200, "peer": 404, "supervisor": 200, "admin": 200,
       "outsider": 403}  # fmt: skip
OPEN = {"anonymous": 302, "agent": 200, "peer": 200, "supervisor": 200, "admin": 200,
        "outsider": 403}  # fmt: skip
PORTS = {"anonymous": 302, "agent": 403, "peer": 403, "supervisor": 200, "admin": 200,
         "outsider": 403}  # fmt: skip


@pytest.fixture
def things(people: People, simulator: Any) -> dict[str, Any]:
    sim_agent_for(simulator, people.agent)
    session = qr_session_start(user=people.agent, pc_type=1, target="10085")
    task = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    ports.ports_refresh()
    return {"session": session, "task": task}


def check(people: People, url: str, expected: dict[str, int], method: str = "get") -> None:
    for role, user in people.all().items():
        response = getattr(client_for(user), method)(url)
        got = 200 if response.status_code in (200, 204, 286) else response.status_code
        if expected[role] == 200 and method == "post":
            assert response.status_code in (302, 200), (role, url, response.status_code)
            continue
        assert got == expected[role], (role, url, response.status_code)
        if role == "anonymous":
            assert response["Location"].startswith(LOGIN)


def test_start_and_task_list_pages(people: People, things: dict[str, Any]) -> None:
    check(people, reverse("qrlogin:start"), OPEN)
    check(people, reverse("qrlogin:tasks"), OPEN)


def test_session_pages_are_the_owners(people: People, things: dict[str, Any]) -> None:
    pk = things["session"].pk
    for name in ("session", "session_code", "session_status"):
        check(people, reverse(f"qrlogin:{name}", args=[pk]), OWN)


def test_retry_of_another_agents_session_is_404(people: People, things: dict[str, Any]) -> None:
    url = reverse("qrlogin:session_retry", args=[things["session"].pk])
    assert client_for(people.peer).post(url).status_code == 404
    assert client_for(people.outsider).post(url).status_code == 403
    assert QrSession.objects.count() == 1
    assert client_for(people.supervisor).post(url).status_code == 302
    assert QrSession.objects.count() == 2


def test_task_pages_are_the_owners(people: People, things: dict[str, Any]) -> None:
    pk = things["task"].pk
    for name in ("task", "task_code", "task_status"):
        check(people, reverse(f"qrlogin:{name}", args=[pk]), OWN)


def test_ports_pages_are_for_supervisors(people: People, things: dict[str, Any]) -> None:
    check(people, reverse("qrlogin:ports"), PORTS)
    check(people, reverse("qrlogin:ports_table") + "?since=0&until=0", PORTS)
    check(people, reverse("qrlogin:ports_refresh"), PORTS, method="post")
    port_id = ports.CloudPort.objects.filter(released=False).values_list("port_id", flat=True)[0]
    for role in ("agent", "peer", "outsider"):
        user = getattr(people, role)
        url = reverse("qrlogin:port_operate", args=[port_id, "logout"])
        assert client_for(user).post(url).status_code == 403


def test_lists_show_agents_only_their_own(people: People, things: dict[str, Any]) -> None:
    qr_session_start(user=people.peer, pc_type=1, target="10085")
    alice = client_for(people.agent).get(reverse("qrlogin:start")).content.decode()
    bob = client_for(people.peer).get(reverse("qrlogin:start")).content.decode()
    sam = client_for(people.supervisor).get(reverse("qrlogin:start")).content.decode()
    own = reverse("qrlogin:session", args=[things["session"].pk])
    assert own in alice and own not in bob and own in sam
    tasks_bob = client_for(people.peer).get(reverse("qrlogin:tasks")).content.decode()
    assert things["task"].task_id not in tasks_bob
    assert (
        things["task"].task_id
        in client_for(people.admin).get(reverse("qrlogin:tasks")).content.decode()
    )


def test_ports_api(people: People, things: dict[str, Any]) -> None:
    url = "/api/v1/ports/"
    for role, user in people.all().items():
        response = client_for(user).get(url)
        if role in ("supervisor", "admin"):
            assert response.status_code == 200, role
        else:
            assert response.status_code in ((401, 403) if role == "anonymous" else (403,)), role
    data = client_for(people.supervisor).get(url).json()
    assert set(data) >= {"results", "next", "quota"}
    assert data["quota"]["current_port"] == 1 and data["quota"]["max_port"] == 10
    row = data["results"][0]
    assert set(row) == {"port_id", "pregenerate_id", "phone", "status", "status_display",
                        "created_at", "locked_until", "operations_unavailable"}  # fmt: skip
    assert isinstance(row["port_id"], str) and int(row["port_id"]) > 2**53
    assert row["locked_until"] is not None and row["status"] is None


def test_scan_tasks_api(people: People, things: dict[str, Any], simulator: Any) -> None:
    sim_agent_for(simulator, people.peer)
    scan_tasks.scan_task_create(actor=people.peer, allocation_role=3)
    url = "/api/v1/scan-tasks/"
    assert client_for(None).get(url).status_code in (401, 403)
    assert client_for(people.outsider).get(url).status_code == 403
    mine = client_for(people.agent).get(url).json()
    assert [r["task_id"] for r in mine["results"]] == [things["task"].task_id]
    row = mine["results"][0]
    assert row["allocation_role"] == 3 and row["allocation_role_display"] == "Specified agent"
    assert row["status"] is None and "next" in mine
    ScanTask.objects.filter(pk=things["task"].pk).update(
        status=80, status_updated_at=timezone.now()
    )
    row = client_for(people.agent).get(url).json()["results"][0]
    assert row["status"] == 80 and row["status_display"] == "Login succeeded"
    assert len(client_for(people.supervisor).get(url).json()["results"]) == 2


def test_schema_lists_both_endpoints(people: People) -> None:
    schema = client_for(people.admin).get("/api/v1/schema/?format=json").json()
    assert "/api/v1/ports/" in schema["paths"] and "/api/v1/scan-tasks/" in schema["paths"]
