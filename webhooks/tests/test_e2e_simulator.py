"""End to end: the simulator delivers signed webhooks to the live server; a real Celery
worker applies them."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import StatusEvent, WhatsAppAccount
from qrlogin.models import QrSession
from tests.waiting import wait_for
from webhooks.models import WebhookEvent


@pytest.mark.django_db(transaction=True)
def test_simulated_qr_login_reaches_the_fleet(
    simulator: Any, live_server: Any, celery_worker_live: Any
) -> None:
    simulator.set_webhook_base(live_server.url)
    port = simulator.state.pre_generate(type_=2, target=10085)
    session = QrSession.objects.create(port_id=port.session_id, state=QrSession.State.SHOWING)
    simulator.scan(port.session_id, "8613800000021")
    simulator.wait_deliveries(20)
    deliveries = simulator.deliveries()
    assert deliveries and all(d["state"] == "delivered" for d in deliveries), deliveries
    wait_for(
        lambda: (
            not WebhookEvent.objects.exclude(state=WebhookEvent.State.PROCESSED).exists()
            and WebhookEvent.objects.exists()
        )
    )
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED
    assert session.whatsapp == "8613800000021"
    account = WhatsAppAccount.objects.get(whatsapp="8613800000021")
    assert account.presence_status == 10
    assert StatusEvent.objects.filter(whatsapp="8613800000021").exists()
    kinds = set(WebhookEvent.objects.values_list("kind", flat=True))
    assert {"qr_login_status", "online_status"} <= kinds
