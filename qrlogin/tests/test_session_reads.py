"""Reading a waiting QR session never calls the vendor per request, and a lost login
webhook never costs the login nor the breaker, whatever getQrCode answers after the scan
(simulator profiles `default`, `qr-error-after-scan`, `qr-empty-after-scan`)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from qrlogin.models import QrSession
from qrlogin.services.sessions import qr_rotation_seconds, qr_sessions_poll_due
from tests.fixtures import People, client_for, forget_own_cache_keys
from upstream import breaker

pytestmark = pytest.mark.django_db

URL = "/api/v1/qr-sessions/"
PHONE = "8613800000077"
READ_SECONDS = 60
BEAT_SECONDS = 5  # qrlogin-poll-results' schedule (qrlogin/tasks.py)
SUCCESS_WITHIN = 15


@pytest.mark.parametrize("profile", ["default", "qr-error-after-scan", "qr-empty-after-scan"])
def test_a_session_read_every_second_with_its_webhook_lost(
    people: People, simulator: Any, settings: Any, profile: str
) -> None:
    # The product's defaults, whatever the test settings shrink.
    settings.QRLOGIN_QR_REFRESH_SECONDS = 15.0
    settings.QRLOGIN_RESULT_POLL_SECONDS = 10.0
    settings.QRLOGIN_RESULT_POLL_MAX_SECONDS = 60.0
    settings.QRLOGIN_LOCK_SECONDS = 600.0
    forget_own_cache_keys()  # the start throttle
    breaker.reset()
    simulator.set_profile(profile)
    simulator.withhold_webhooks("syncLoginStatus")
    client = client_for(people.agent)
    created = client.post(
        URL,
        json.dumps({"mode": "qr", "platform": 2, "target": "10085"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    session_id = created.json()["id"]
    port_id = QrSession.objects.get(pk=session_id).port_id
    simulator.scan(port_id, PHONE)
    scanned = time.monotonic()

    succeeded_after: float | None = None
    states = []
    next_beat = scanned + BEAT_SECONDS
    for second in range(READ_SECONDS):
        time.sleep(max(0.0, scanned + second + 1 - time.monotonic()))
        if time.monotonic() >= next_beat:  # the beat's result sweep, on its schedule
            qr_sessions_poll_due()
            next_beat += BEAT_SECONDS
        read = client.get(f"{URL}{session_id}/")
        assert read.status_code == 200, read.content
        state = read.json()["state"]
        states.append(state)
        assert breaker.breaker_state() == "closed", (second, profile)
        if state == "succeeded" and succeeded_after is None:
            succeeded_after = time.monotonic() - scanned
            assert read.json()["whatsapp"] == PHONE
    assert succeeded_after is not None and succeeded_after <= SUCCESS_WITHIN, states
    assert set(states[states.index("succeeded") :]) == {"succeeded"}  # and stays so
    # One getQrCode ask per rotation at most while the session waited, whoever read it
    # (the ask at the start, then one per rotation), none once it had succeeded.
    asks = len(simulator.calls("/qrCode/getQrCode"))
    assert asks <= 2 + succeeded_after / qr_rotation_seconds(), asks
    assert QrSession.objects.get(pk=session_id).state == QrSession.State.SUCCEEDED
