"""`POST /api/v1/qr-sessions/`, `GET /api/v1/qr-sessions/{id}/` against
the strict simulator: the same service as the start page, and every documented error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qrlogin.models import QrSession
from qrlogin.tasks import poll_results
from qrlogin.tests.helpers import sim_agent_for, sim_port
from tests.fixtures import People, client_for, forget_own_cache_keys

pytestmark = pytest.mark.django_db

URL = "/api/v1/qr-sessions/"
PROXY = "10.1.2.3:1080:proxyuser:Sup3r-Secret"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    forget_own_cache_keys()  # the start throttle counts per user in the shared cache


def post(client: Client, body: Any) -> Any:
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_start_a_qr_login_and_follow_it(people: People, simulator: Any, settings: Any) -> None:
    settings.QRLOGIN_RESULT_POLL_SECONDS = 0
    sim_agent_for(simulator, people.agent, name="Alice Agent")
    agent = client_for(people.agent)
    created = post(agent, {"mode": "qr", "platform": 2, "target": "10085", "proxy": PROXY})
    assert created.status_code == 201, created.content
    body = created.json()
    session = QrSession.objects.get(pk=body["id"])
    assert session.created_by == people.agent and session.proxy.reveal() == PROXY
    port = sim_port(simulator, body["port_id"])  # the preGenerate id, 32 hex
    assert len(body["port_id"]) == 32 and body["port_id"] == session.port_id
    assert body["state"] == "waiting" and body["qr"] == port["qrcode"]
    assert body["qr"].startswith("2@") and body["pair_code"] == ""
    assert body["expires_at"] and body["platform"] == 2 and body["platform_display"]
    assert body["has_proxy"] is True and "Sup3r-Secret" not in created.content.decode()
    pre = simulator.calls("/qrCode/preGenerate")[-1]["body"]
    assert pre == {"type": 2, "target": 10085}

    got = agent.get(f"{URL}{session.pk}/")
    assert got.status_code == 200 and got.json()["state"] == "waiting"
    assert got.json()["qr"] == sim_port(simulator, session.port_id)["qrcode"]

    simulator.state.set_account("8613800000051", agent_account="alice01")
    simulator.scan(session.port_id, "8613800000051")
    poll_results()  # no webhook here: the look-up finds the success
    done = agent.get(f"{URL}{session.pk}/").json()
    assert done["state"] == "succeeded" and done["whatsapp"] == "8613800000051"
    assert done["user_name"] == "Alice Agent" and done["qr"] == ""
    listed = agent.get(URL).json()
    assert [r["id"] for r in listed["results"]] == [session.pk]


def test_start_a_pair_code_login(people: People, simulator: Any) -> None:
    agent = client_for(people.agent)
    created = post(
        agent, {"mode": "pair", "platform": 1, "phone": "+86 138-0000-0052", "pair_style": "y"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["mode"] == "pair" and body["phone"] == "8613800000052"
    assert body["pair_style"] == "y"
    assert (
        body["pair_code"] and body["pair_code"] == sim_port(simulator, body["port_id"])["pairCode"]
    )
    v2 = simulator.calls("/qrCode/getQrCodeV2")[-1]["body"]
    assert v2["id"] == body["port_id"] and v2["phone"] == "8613800000052"
    assert v2["isEasy"] == "y"


def test_invalid_input_is_400_with_errors_per_field_and_calls_nothing(
    people: People, simulator: Any
) -> None:
    agent = client_for(people.agent)
    cases = [
        ({"mode": "qr"}, "platform"),
        ({"mode": "qr", "platform": 3}, "platform"),
        ({"mode": "scan", "platform": 1}, "mode"),
        ({"mode": "pair", "platform": 1}, "phone"),
        ({"mode": "pair", "platform": 1, "phone": "12"}, "phone"),
        (
            {"mode": "pair", "platform": 1, "phone": "8613800000053", "pair_style": "x"},
            "pair_style",
        ),
        ({"mode": "qr", "platform": 1, "proxy": "10.0.0.1:1080"}, "proxy"),
        ({"mode": "qr", "platform": 1, "target": "99999"}, "target"),
        ({"mode": "qr", "platform": [1]}, "platform"),
    ]
    for body, field in cases:
        response = post(agent, body)
        assert response.status_code == 400, (body, response.content)
        answer = response.json()
        assert answer["code"] == 400 and field in answer["errors"], (body, answer)
        assert "10.0.0.1" not in response.content.decode()
    assert post(agent, ["not", "an", "object"]).status_code == 400
    assert simulator.calls("/qrCode/preGenerate") == []
    assert not QrSession.objects.exists()


def test_outsiders_get_403_and_other_agents_sessions_404(people: People, simulator: Any) -> None:
    alice = client_for(people.agent)
    created = post(alice, {"mode": "qr", "platform": 1}).json()
    outsider = post(client_for(people.outsider), {"mode": "qr", "platform": 1})
    assert outsider.status_code == 403 and outsider.json()["code"] == 403
    assert client_for(people.outsider).get(f"{URL}{created['id']}/").status_code == 403
    assert Client().get(f"{URL}{created['id']}/").status_code in (401, 403)
    bob = client_for(people.peer).get(f"{URL}{created['id']}/")
    assert bob.status_code == 404 and bob.json()["code"] == 404
    assert client_for(people.peer).get(URL).json()["results"] == []
    sup = client_for(people.supervisor).get(f"{URL}{created['id']}/")
    assert sup.status_code == 200  # supervisors see everyone's


def test_vendor_refusal_is_409_with_its_code_and_the_session_kept(
    people: People, simulator: Any
) -> None:
    simulator.state.set_quota(0)
    response = post(client_for(people.agent), {"mode": "qr", "platform": 1})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == 409 and body["vendor_code"] == "1001"
    assert "quota" in body["detail"]
    session = QrSession.objects.get(pk=body["id"])
    assert session.state == QrSession.State.FAILED and session.reason_code == "1001"


def test_vendor_down_is_503_and_said_plainly(people: People, simulator: Any) -> None:
    simulator.set_faults(1.0, ["500"], paths=["/qrCode/preGenerate"])
    response = post(client_for(people.agent), {"mode": "qr", "platform": 1})
    assert response.status_code == 503
    assert response.json()["code"] == 503 and response.json()["id"]


def test_too_many_starts_is_429(people: People, simulator: Any, settings: Any) -> None:
    settings.QRLOGIN_API_START_RATE = "2/min"
    agent = client_for(people.agent)
    assert post(agent, {"mode": "qr", "platform": 1}).status_code == 201
    assert post(agent, {"mode": "qr", "platform": 1}).status_code == 201
    third = post(agent, {"mode": "qr", "platform": 1})
    assert third.status_code == 429 and third.json()["code"] == 429
    assert len(simulator.calls("/qrCode/preGenerate")) == 2
    assert client_for(people.agent).get(URL).status_code == 200  # reads are not limited


def test_schema_documents_the_error_answers(people: People) -> None:
    schema = client_for(people.admin).get("/api/v1/schema/?format=json").json()
    post_op = schema["paths"]["/api/v1/qr-sessions/"]["post"]
    assert {"201", "400", "403", "409", "429"} <= set(post_op["responses"])
    get_op = schema["paths"]["/api/v1/qr-sessions/{id}/"]["get"]
    assert {"200", "403", "404"} <= set(get_op["responses"])
    for op in (post_op, get_op):
        for code, answer in op["responses"].items():
            assert "application/json" in answer["content"], code
    states = schema["components"]["schemas"]["QrSessionStateEnum"]["enum"]
    assert states == ["waiting", "succeeded", "failed", "expired", "cancelled"]
