"""The accounts JSON API (docs/design.md section 3)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Agent
from accounts.tests.helpers import make_account
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(people: Any) -> None:
    make_account("8613800000001", agent="alice01", name="A", status=1, online_status=2, platform=1)
    make_account("8613800000002", agent="bob01", name="B", status=2, online_status=4)
    make_account("8613800000003", status=7)  # an undocumented code is labelled, not a 500


def test_accounts_list_fields_and_filters(people: Any, fleet: None) -> None:
    sup = client_for(people.supervisor)
    data = sup.get("/api/v1/accounts/").json()
    assert "next" in data and len(data["results"]) == 3
    row = data["results"][0]
    coded = {"account_type", "status", "online_status", "platform"}  # each with its label
    labels = {f"{name}_display" for name in coded}
    assert set(row) == {"whatsapp", "name", "agent_account", "last_event_at"} | coded | labels
    assert row["status_display"] == "Normal" and row["online_status_display"] == "Online"
    assert data["results"][2]["status_display"] == "Unknown (7)"
    assert [r["whatsapp"] for r in sup.get("/api/v1/accounts/?status=2").json()["results"]] == [
        "8613800000002"
    ]
    assert len(sup.get("/api/v1/accounts/?online_status=2").json()["results"]) == 1
    assert len(sup.get("/api/v1/accounts/?agent_account=bob01").json()["results"]) == 1
    assert len(sup.get("/api/v1/accounts/?whatsapp=8613800000003").json()["results"]) == 1
    assert sup.get("/api/v1/accounts/?status=x").status_code == 400


def test_agents_see_only_their_own(people: Any, fleet: None) -> None:
    alice = client_for(people.agent)
    assert [r["whatsapp"] for r in alice.get("/api/v1/accounts/").json()["results"]] == [
        "8613800000001"
    ]
    assert alice.get("/api/v1/accounts/8613800000002/").status_code == 404
    detail = alice.get("/api/v1/accounts/8613800000001/").json()
    assert (
        detail["whatsapp"] == "8613800000001" and "avatar" in detail and "presence_status" in detail
    )
    agents = alice.get("/api/v1/agents/").json()["results"]
    assert [a["agent_account"] for a in agents] == ["alice01"]
    assert agents[0]["whatsapps"] == ["8613800000001"]
    assert client_for(None).get("/api/v1/accounts/").status_code in (401, 403)
    assert client_for(people.outsider).get("/api/v1/accounts/").json()["results"] == []


def test_supervisor_sees_all_agents(people: Any, fleet: None) -> None:
    agents = client_for(people.supervisor).get("/api/v1/agents/").json()["results"]
    assert {a["agent_account"] for a in agents} == {"alice01", "bob01"}
    bob = Agent.objects.get(agent_account="bob01")
    assert next(a for a in agents if a["agent_account"] == "bob01") == {
        "user_id": bob.upstream_user_id,
        "agent_account": "bob01",
        "user_name": bob.user_name,
        "whatsapps": ["8613800000002"],
        "online": bob.online,
        "last_seen_at": None,
        "added_by_hand": False,
    }


def test_schema_lists_the_routes(people: Any) -> None:
    schema = client_for(people.admin).get("/api/v1/schema/?format=json").json()
    for path in (
        "/api/v1/accounts/",
        "/api/v1/accounts/{whatsapp}/",
        "/api/v1/agents/",
        "/api/v1/registrations/",
    ):
        assert path in schema["paths"], path
