"""The webhook lag: health turns degraded past WEBHOOK_LAG_DEGRADED_SECONDS (never down),
and the home page says it in words, coloured against the same threshold."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.health import health_report
from core.templatetags.durations import duration
from tests.fixtures import client_for
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _waiting_for(seconds: float) -> None:
    WebhookEvent.objects.create(
        kind="online_status",
        body=b"[]",
        headers={},
        received_at=timezone.now() - timedelta(seconds=seconds),
        state="pending",
    )


# Committed: each health check reads on a thread (and connection) of its own, bounded in
# time (core.health.bounded_checks), so it sees what is committed only.
@pytest.mark.django_db(transaction=True)
def test_lag_past_the_threshold_is_degraded_not_down(settings: Any) -> None:
    settings.WEBHOOK_LAG_DEGRADED_SECONDS = 120
    _waiting_for(30)
    report = health_report()
    assert report["checks"]["webhook_lag"]["ok"] is True
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=400))
    report = health_report()
    assert report["checks"]["webhook_lag"] == {
        "ok": False,
        "lag_s": pytest.approx(400, abs=2),
        "limit_s": 120.0,
    }
    assert report["ok"] is True and report["status"] == "degraded"


def test_health_page_and_home_say_it_in_words(people: Any, settings: Any) -> None:
    settings.WEBHOOK_LAG_DEGRADED_SECONDS = 120
    _waiting_for(185)
    admin = client_for(people.admin)
    health = admin.get("/health/").content.decode()
    assert "Degraded" in health and "oldest waiting event" in health
    home = admin.get("/").content.decode()
    # (the health page's vendor check may have taken a few seconds of the lag)
    assert "lag-bad" in home and re.search(r"Oldest waiting event: 3 min \d+ s old", home)
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=80))
    assert "lag-warn" in admin.get("/").content.decode()


def test_duration_words() -> None:
    assert duration(None) == ""
    assert duration(7.4) == "7 s"
    assert duration(125) == "2 min 5 s"
    assert duration(3 * 3600 + 120) == "3 h 2 min"
