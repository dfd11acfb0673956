"""Reconcile against the simulator: repairs drift, never overwrites newer webhook state,
and `sync_upstream` fails loudly when the upstream does."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.choices import AccountStatus, OnlineStatus
from accounts.models import Agent, WhatsAppAccount
from accounts.services.reconcile import upstream_reconcile
from ports.models import CloudPort, PortQuota


def seed(sim: Any) -> Any:
    st = sim.state
    st.upsert_agent(user_id=868024, agent_account="alice01", user_name="Alice")
    st.set_account("8613800000011", online=True, agent_account="alice01", source=1)
    st.set_account("8613800000012", status=2)
    st.set_account("8613800000013", online=False)
    port = st.pre_generate(type_=2, target=10085)
    sim.scan(port.session_id, "8613800000014")
    return port


@pytest.mark.django_db
def test_reconcile_repairs_drift(simulator: Any) -> None:
    port = seed(simulator)
    WhatsAppAccount.objects.create(whatsapp="8613800000011", online_status=OnlineStatus.OFFLINE)
    CloudPort.objects.create(port_id="111", phone="8613800000099")  # gone upstream
    report = upstream_reconcile()
    assert report.ok, report.errors
    a11 = WhatsAppAccount.objects.get(whatsapp="8613800000011")
    assert a11.online_status == OnlineStatus.ONLINE  # drift repaired
    assert a11.agent == Agent.objects.get(agent_account="alice01")
    assert a11.agent.upstream_user_id == "868024" and a11.source == 1
    assert WhatsAppAccount.objects.get(whatsapp="8613800000012").status == AccountStatus.BANNED
    assert WhatsAppAccount.objects.filter(whatsapp="8613800000013").exists()
    live = CloudPort.objects.get(port_id=str(port.port_id))  # exact above 2**53
    assert live.phone == "8613800000014" and not live.released
    assert CloudPort.objects.get(port_id="111").released
    quota = PortQuota.objects.get()
    assert quota.current_port == 1 and quota.max_port >= 1
    assert report.ports_released == 1


@pytest.mark.django_db
def test_reconcile_never_overwrites_newer_webhook_state(simulator: Any) -> None:
    seed(simulator)
    newer = timezone.now() + timedelta(seconds=30)  # a webhook applied after the poll began
    WhatsAppAccount.objects.create(
        whatsapp="8613800000011", online_status=OnlineStatus.LOGGING_OUT, online_status_at=newer
    )
    older = timezone.now() - timedelta(minutes=5)
    WhatsAppAccount.objects.create(
        whatsapp="8613800000012", status=AccountStatus.NORMAL, online_status_at=older
    )
    assert upstream_reconcile().ok
    kept = WhatsAppAccount.objects.get(whatsapp="8613800000011")
    assert kept.online_status == OnlineStatus.LOGGING_OUT and kept.online_status_at == newer
    fixed = WhatsAppAccount.objects.get(whatsapp="8613800000012")
    assert fixed.status == AccountStatus.BANNED
    assert fixed.online_status_at is not None and fixed.online_status_at > older


@pytest.mark.django_db
def test_sync_upstream_command(simulator: Any) -> None:
    seed(simulator)
    out = StringIO()
    call_command("sync_upstream", stdout=out)
    assert "sync_upstream: done" in out.getvalue() and "accounts: 4 seen" in out.getvalue()
    simulator.set_faults(1.0, ["500"])
    with pytest.raises(CommandError, match="the upstream failed"):
        call_command("sync_upstream", stdout=StringIO())


@pytest.mark.django_db
def test_reconcile_beat_task_registered() -> None:
    from accounts.tasks import BEAT
    from config.celery import app

    assert BEAT["accounts-reconcile"]["task"] == "accounts.reconcile"
    assert getattr(app.tasks["accounts.reconcile"], "queue", None) == "slow"
    assert getattr(app.tasks["webhooks.process_event"], "queue", None) == "fast"
