"""The agent directory. Agents are known from every agent operation of the
simulator (over HTTP) and from the onlineStatus webhook, stay known while offline with their
last seen time, can be added by hand (page and API, one service), and one over-long vendor
record is skipped and reported instead of failing the reconcile."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Agent, WhatsAppAccount
from accounts.services.reconcile import upstream_reconcile
from core.audit import AuditEntry
from tests.fixtures import client_for
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.process import webhook_event_process
from webhooks.tests.helpers import post

LONG = "c" * 70


def _fleet(simulator: Any) -> None:
    s = simulator.state
    s.upsert_agent(user_id=101, agent_account="alice01", user_name="Alice")
    s.set_account("8613900000001", agent_account="alice01", source=1, online=True)
    # bob02: offline now; his account went online and offline (the status log has it)
    s.upsert_agent(user_id=102, agent_account="bob02", user_name="Bob")
    s.set_account("8613900000002", agent_account="bob02", source=2, online=False)
    s.set_account("8613900000002", online=True, emit=True)
    s.set_account("8613900000002", online=False, emit=True)
    s.upsert_agent(user_id=102, agent_account="bob02", online=False)
    # dave04: offline, never had an account (getLatestOnlineWhatsAccount still lists him)
    s.upsert_agent(user_id=104, agent_account="dave04", user_name="Dave", online=False)
    # a record that does not fit: an agent account longer than 64 characters
    s.upsert_agent(user_id=103, agent_account=LONG, user_name="Too long")
    s.set_account("8613900000003", agent_account=LONG, source=1, online=True)


@pytest.mark.django_db
def test_directory_from_every_source_offline_agents_stay_and_long_record_is_skipped(
    simulator: Any,
) -> None:
    _fleet(simulator)
    report = upstream_reconcile()
    assert report.errors == {}, report.errors
    assert len(report.skipped) >= 1
    assert all("longer than 64 characters" in line for line in report.skipped)
    assert any(line.startswith("queryAllOlWhatsAppInfo: ") for line in report.skipped)

    agents = {a.agent_account: a for a in Agent.objects.all()}
    assert set(agents) == {"alice01", "bob02", "dave04"}
    alice, bob, dave = agents["alice01"], agents["bob02"], agents["dave04"]
    assert alice.online and alice.last_seen_at == report.started_at
    assert (alice.upstream_user_id, alice.user_name) == ("101", "Alice")
    assert not bob.online and bob.upstream_user_id == "102"
    assert bob.last_seen_at is not None  # from the status log's createTime
    assert not dave.online and dave.last_seen_at is None and dave.upstream_user_id == "104"
    assert WhatsAppAccount.objects.get(whatsapp="8613900000001").agent == alice
    assert WhatsAppAccount.objects.filter(whatsapp="8613900000003").exists()  # the rest applied

    # alice goes offline: she stays known, offline, with the time she was last seen
    simulator.state.set_account("8613900000001", online=False)
    simulator.state.upsert_agent(user_id=101, agent_account="alice01", online=False)
    again = upstream_reconcile()
    assert again.errors == {}
    alice.refresh_from_db()
    assert not alice.online and alice.last_seen_at == report.started_at
    assert WhatsAppAccount.objects.get(whatsapp="8613900000001").agent == alice

    called = {c["path"].rsplit("/", 1)[-1] for c in simulator.calls()}
    assert {
        "queryAllOlWhatsAppInfo",
        "queryUserStatus",
        "getLatestOnlineWhatsAccount",
        "queryUserStatusLog",
    } <= called

    out = StringIO()
    call_command("sync_upstream", stdout=out)
    assert "skipped a vendor record: queryAllOlWhatsAppInfo: agent account" in out.getvalue()
    assert "3 known" in out.getvalue()


@pytest.mark.django_db
def test_online_status_webhook_account_joins_the_directory() -> None:
    body = [
        {
            "whatsId": "8613900000009",
            "status": 10,
            "detailStatus": 12,
            "account": "erin05",
            "time": "2024-07-03 15:27:00",
            "platformType": 1,
        }
    ]
    assert post(Client(), WebhookKind.ONLINE_STATUS, body).status_code == 200
    webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    erin = Agent.objects.get(agent_account="erin05")
    assert erin.last_seen_at == datetime(2024, 7, 3, 7, 27, tzinfo=UTC)
    assert WhatsAppAccount.objects.get(whatsapp="8613900000009").agent == erin


@pytest.mark.django_db
def test_supervisor_adds_an_agent_on_the_page_and_via_the_api(people: Any) -> None:
    page = client_for(people.supervisor)
    r = page.post(
        "/accounts/agents/add/",
        {"agent_account": "frank06", "user_id": "106", "user_name": "Frank"},
    )
    assert r.status_code == 302
    frank = Agent.objects.get(agent_account="frank06")
    assert (frank.upstream_user_id, frank.user_name, frank.added_by) == (
        "106",
        "Frank",
        people.supervisor,
    )
    assert AuditEntry.objects.filter(action="agent.create", target_id="frank06").exists()
    listing = page.get("/accounts/agents/").content.decode()
    assert "frank06" in listing and "added by hand" in listing and "never" in listing
    duplicate = page.post("/accounts/agents/add/", {"agent_account": "frank06"})
    assert duplicate.status_code == 400 and "already known" in duplicate.content.decode()

    api = APIClient()
    api.force_authenticate(people.supervisor)
    created = api.post(
        "/api/v1/agents/",
        {"agent_account": "gina07", "user_id": "107", "user_name": "Gina"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["agent_account"] == "gina07" and created.json()["online"] is False
    assert created.json()["added_by_hand"] is True
    again = api.post("/api/v1/agents/", {"agent_account": "gina07"}, format="json")
    assert again.status_code == 409 and "already known" in again.json()["detail"]
    too_long = api.post("/api/v1/agents/", {"agent_account": LONG}, format="json")
    assert too_long.status_code == 400 and "longer than 64" in too_long.json()["detail"]
    bad_id = api.post("/api/v1/agents/", {"agent_account": "h", "user_id": "x1"}, format="json")
    assert bad_id.status_code == 400
    listed = {a["agent_account"] for a in api.get("/api/v1/agents/").json()["results"]}
    assert {"frank06", "gina07"} <= listed

    agent_api = APIClient()
    agent_api.force_authenticate(people.agent)
    assert (
        agent_api.post("/api/v1/agents/", {"agent_account": "ivan09"}, format="json").status_code
        == 403
    )
    assert client_for(people.agent).post(
        "/accounts/agents/add/", {"agent_account": "ivan09"}
    ).status_code in (302, 403)
    assert not Agent.objects.filter(agent_account="ivan09").exists()
