"""`make demo`'s data: one user per role, the fleet with keys, a week of history that
went through the webhook path, and the same fleet on both sides of the wire."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import AccountKeys, StatusEvent, WhatsAppAccount
from core import partitions
from core.access import role_of
from demo.history import DAYS, account_steps, deliveries
from simulator import vendorcodes as vc
from simulator.demo_fleet import demo_fleet
from simulator.state import VendorState
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_seed_imports_keys_and_a_week_through_webhooks(
    simulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.reset(demo=True)
    with pytest.raises(CommandError, match="make demo"):
        call_command("demo_seed")  # demo users only with --users, as `make demo` runs it
    assert not User.objects.exists()
    call_command("demo_seed", users=True)
    call_command("demo_seed", users=True)  # idempotent: nothing twice
    out = capsys.readouterr().out
    assert "supervisor-demo-pass" in out
    assert "already in the database" in out
    assert {role_of(u) for u in User.objects.all()} == {"admin", "supervisor", "agent"}

    # Keys reached the vendor through batchInsert, and are stored (encrypted) here.
    assert AccountKeys.objects.count() == 24
    inserted = simulator.calls("batchInsert")
    assert len(inserted) == 1

    # The history came through the inbox and was applied, spread over the week.
    events = WebhookEvent.objects.all()
    assert events.count() > 100
    assert set(events.values_list("state", flat=True)) == {"processed"}
    oldest = StatusEvent.objects.order_by("event_time").first()
    assert oldest is not None
    assert oldest.event_time < timezone.now() - timedelta(days=DAYS - 1)
    assert StatusEvent.objects.filter(event_time__gt=timezone.now()).count() == 0
    assert set(StatusEvent.objects.values_list("status", flat=True)) >= {10, 20, 30, 40}
    # In the same monthly partitions as production's history, every row in its month.
    for table in partitions.TABLES:
        assert partitions.is_partitioned(table), table
        assert partitions.default_rows(table) == 0, table

    # What we show now is what the simulator starts with: no drift to reconcile.
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
    assert WhatsAppAccount.objects.filter(status=AccountStatus.BANNED).count() == 3


def test_each_history_ends_in_the_state_of_the_fleet_and_never_in_the_future() -> None:
    now = timezone.now()
    for demo in demo_fleet():
        steps = account_steps(demo, now=now)
        assert steps == sorted(steps, key=lambda s: s.at)
        assert steps[-1].at <= now
        expected = vc.P_BANNED if demo.banned else (vc.P_ONLINE if demo.online else vc.P_OFFLINE)
        assert steps[-1].presence == expected


def test_the_simulator_churn_moves_only_accounts_that_can_move() -> None:
    vendor = VendorState()
    vendor.seed_demo()
    rng = random.Random(7)
    seen = set()
    for _ in range(200):
        changed = vendor.churn(rng)
        assert changed is not None
        number, presence = changed
        assert vendor.accounts[number].status == vc.STATUS_NORMAL
        seen.add(presence)
    assert seen == {vc.P_ONLINE, vc.P_DISCONNECTED, vc.P_OFFLINE}
    paths = {path for path, _ in vendor.outbox}
    assert paths == {vc.ONLINE_STATUS, vc.SYNC_WHATSAPP_STATUS}
    banned = [a for a in vendor.accounts.values() if a.status == vc.STATUS_BANNED]
    assert len(banned) == 3 and all(a.presence == vc.P_BANNED for a in banned)


def test_no_delivery_of_the_week_is_received_after_now() -> None:
    # An hour's batch arrives after the hour closes; the current hour's cannot arrive later
    # than now, or the status log shows an event received in its own future.
    now = timezone.now()
    times = [received_at for _kind, received_at, _body in deliveries(now=now)]
    assert times and max(times) <= now
    assert times == sorted(times)
