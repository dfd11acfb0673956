"""Abuse of vendor calls: open sessions per agent are capped (each locks
a cloud port of the company's quota for 10 minutes), vendor-calling pages are rate-limited
per user. (A vendor 429 as "slow down": upstream/tests.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.models import WhatsAppAccount
from qrlogin.models import QrSession
from qrlogin.tests.helpers import sim_agent_for
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/qr-sessions/"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    """This process's rate-limit counters only (never a FLUSHDB of the shared Redis)."""
    from tests.fixtures import forget_own_cache_keys

    forget_own_cache_keys()


def _start(client: Client) -> Any:
    return client.post(
        URL, json.dumps({"mode": "qr", "platform": 1}), content_type="application/json"
    )


def test_an_agent_may_hold_only_so_many_open_sessions(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QR_SESSIONS_MAX_OPEN = 2
    sim_agent_for(simulator, people.agent)
    alice = client_for(people.agent)
    assert _start(alice).status_code == 201
    assert _start(alice).status_code == 201
    sent = len(simulator.calls("/qrCode/preGenerate"))
    refused = _start(alice)
    assert refused.status_code == 429
    assert "limit is 2" in refused.json()["detail"]
    # When the first port lock ends, a place is free: the answer says so, and Retry-After.
    assert 540 <= int(refused["Retry-After"]) <= 600
    assert refused.json()["detail"].endswith("Try again in 10 minutes.")
    page = alice.post("/qr/", {"pc_type": 1, "mode": "qr"})
    assert page.status_code == 429 and "limit is 2" in page.content.decode()
    assert "Try again in 10 minutes." in page.content.decode()
    assert 540 <= int(page["Retry-After"]) <= 600
    assert len(simulator.calls("/qrCode/preGenerate")) == sent  # no port locked for them
    # A finished session frees its slot.
    QrSession.objects.filter(created_by=people.agent).update(state=QrSession.State.EXPIRED)
    assert _start(alice).status_code == 201
    # Supervisors and admins are not capped.
    sam = client_for(people.supervisor)
    for _ in range(3):
        assert _start(sam).status_code == 201


def test_the_vendor_panel_is_rate_limited_per_user(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.VENDOR_VIEWS_PER_MINUTE = 2
    agent = sim_agent_for(simulator, people.agent)
    WhatsAppAccount.objects.create(
        whatsapp="8613800000001", agent=agent, agent_account=agent.agent_account
    )
    alice = client_for(people.agent)
    url = "/accounts/8613800000001/vendor/"
    assert alice.get(url).status_code == 200
    assert alice.get(url).status_code == 200
    sent = len(simulator.calls())
    third = alice.get(url)
    # The fixed one-minute window ends within 60 s: that is when to try again.
    assert third.status_code == 429 and 1 <= int(third["Retry-After"]) <= 60
    assert f"Try again in {third['Retry-After']} second" in third.content.decode()
    assert len(simulator.calls()) == sent  # no vendor call for it
    # Another user has their own allowance.
    assert client_for(people.supervisor).get(url).status_code == 200


def test_too_many_starts_say_when_to_try_again(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_API_START_RATE = "1/min"
    sim_agent_for(simulator, people.agent)
    alice = client_for(people.agent)
    assert _start(alice).status_code == 201
    throttled = _start(alice)
    assert throttled.status_code == 429
    wait = int(throttled["Retry-After"])
    assert 1 <= wait <= 60
    assert throttled.json()["detail"] == f"Too many requests. Try again in {wait} seconds."
