"""Control characters in the vendor's strings are removed at the boundary: a NUL in one
agent's account name (PostgreSQL text cannot hold one) never fails the fleet's reconcile."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Agent, WhatsAppAccount
from accounts.services.reconcile import upstream_reconcile


@pytest.mark.django_db
def test_a_nul_in_an_agent_account_from_the_poll_is_removed_and_the_fleet_reconciles(
    simulator: Any,
) -> None:
    s = simulator.state
    s.upsert_agent(user_id=201, agent_account="ali\u0000ce01", user_name="Ali\u0007ce\u0000")
    s.set_account("8613900000011", agent_account="ali\u0000ce01", source=1, online=True)
    s.upsert_agent(user_id=202, agent_account="bob02", user_name="Bob")
    s.set_account("8613900000012", agent_account="bob02", source=1, online=True)

    report = upstream_reconcile()

    assert report.errors == {}, report.errors
    agents = {a.agent_account: a for a in Agent.objects.all()}
    assert set(agents) == {"alice01", "bob02"}
    assert agents["alice01"].user_name == "Alice"
    assert WhatsAppAccount.objects.get(whatsapp="8613900000011").agent == agents["alice01"]
    assert WhatsAppAccount.objects.get(whatsapp="8613900000012").agent == agents["bob02"]
