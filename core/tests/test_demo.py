"""`make demo`'s data: one user per role, and the same fleet on both sides of the wire."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from accounts.models import WhatsAppAccount
from core.access import role_of
from simulator.state import VendorState

pytestmark = pytest.mark.django_db


def test_demo_seed_matches_the_simulators_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo_seed")
    call_command("demo_seed")  # idempotent
    out = capsys.readouterr().out
    assert "supervisor-demo-pass" in out
    assert {role_of(u) for u in User.objects.all()} == {"admin", "supervisor", "agent"}

    vendor = VendorState()
    vendor.seed_demo()
    ours = {
        a.whatsapp: (a.status, a.online_status, a.agent_account)
        for a in WhatsAppAccount.objects.all()
    }
    theirs = {
        n: (acc.status, acc.online_status, acc.agent_account) for n, acc in vendor.accounts.items()
    }
    assert len(ours) == 24
    assert ours == theirs
