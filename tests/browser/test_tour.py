"""A walk through every main page with realistic data, in Chromium: each page renders,
its charts draw, the CSP holds (tests/browser/conftest.py), and a screenshot is kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from actions.services.intake import ActionSpec, actions_queue, batch_create
from core.audit import audit_record
from tests.browser.signin import DESKTOP, sign_in
from tests.fixtures import People
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.process import webhook_event_process
from webhooks.tests.helpers import post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBERS = [f"86139000{i:04d}" for i in range(12)]


def _seed(people: People) -> None:
    """Status history through the real receiver and processing, and a batch of actions."""
    client = Client()
    now = timezone.now()
    for hour in range(24, 0, -1):
        at = (now - timedelta(hours=hour) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
        records = [
            {
                "whatsId": number,
                "status": 10 if (i + hour) % 4 else (40 if i == 3 else 20),
                "detailStatus": 12 if (i + hour) % 4 else (41 if i == 3 else 21),
                "account": "alice01" if i % 2 else "bob01",
                "platformType": 1,
                "time": at,
            }
            for i, number in enumerate(NUMBERS)
        ]
        assert post(client, WebhookKind.ONLINE_STATUS, {"whatsAppList": records}).status_code == 200
    for event_id in WebhookEvent.objects.values_list("id", flat=True):
        webhook_event_process(event_id=event_id)
    batch = batch_create(user=people.supervisor, source="form", name="Morning follow-ups")
    actions_queue(
        user=people.supervisor,
        batch=batch,
        specs=[ActionSpec("alice01", NUMBERS[1], f"5511999{i:05d}", 1, "hello") for i in range(6)],
    )
    audit_record(
        actor=people.supervisor,
        action="accounts.recycle",
        target_type="account",
        target_id=NUMBERS[5],
        before={"recycled": False},
        after={"recycled": True},
    )


def test_tour_of_every_main_page(
    people: People, live_server: Any, chromium: Any, artifacts: Any, simulator: Any
) -> None:
    _seed(people)
    base = live_server.url
    supervisor = sign_in(chromium, base, "sam", viewport=DESKTOP)
    pages = [
        ("tour-01-home", "/", "Fleet at a glance"),
        ("tour-02-accounts", "/accounts/", "WhatsApp accounts"),
        ("tour-03-account", f"/accounts/{NUMBERS[3]}/", NUMBERS[3]),
        ("tour-04-logs", "/accounts/logs/", "Status logs"),
        ("tour-05-agents", "/accounts/agents/", "Agents"),
        ("tour-06-actions", "/actions/", "5511999"),
        ("tour-06b-batches", "/actions/batches/", "Morning follow-ups"),
        ("tour-07-lanes", "/actions/lanes/", "alice01"),
        ("tour-08-ports", "/qr/ports/", "Ports"),
        ("tour-09-import", "/accounts/import/", "Import accounts"),
        ("tour-10-register", "/accounts/register/", "Register"),
    ]
    for name, path, expected in pages:
        supervisor.goto(base + path)
        supervisor.wait_for_load_state("networkidle")
        assert expected in supervisor.content(), path
        supervisor.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    # Charts draw on their canvases (Chart.js from static/, data from JSON endpoints): a
    # chart is bound to the canvas, holds points, and has painted pixels.
    supervisor.goto(f"{base}/accounts/logs/")
    supervisor.wait_for_load_state("networkidle")
    drawn = supervisor.wait_for_function(
        """() => {
            const canvas = document.querySelector("canvas");
            const chart = canvas && window.Chart && window.Chart.getChart(canvas);
            if (!chart) return null;
            const points = chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
            return points > 0 && painted > 0 ? {points, painted} : null;
        }""",
        timeout=10_000,
    ).json_value()
    assert drawn["points"] > 0 and drawn["painted"] > 1000, drawn
    admin = sign_in(chromium, base, "ada", viewport=DESKTOP)
    event = WebhookEvent.objects.order_by("id").first()
    assert event is not None
    for name, path, expected in [
        ("tour-11-inbox", "/webhooks/", "online"),
        ("tour-12-inbox-event", f"/webhooks/{event.pk}/", NUMBERS[0]),
        ("tour-13-audit", "/audit/", "accounts.recycle"),
        ("tour-14-tokens", "/tokens/", "API tokens"),
        ("tour-15-health", "/health/", "database"),
        ("tour-16-api-docs", "/api/v1/docs/", "Switchboard API"),
    ]:
        admin.goto(base + path)
        admin.wait_for_load_state("networkidle")
        if name == "tour-16-api-docs":
            admin.wait_for_selector(".swagger-ui .title", timeout=15000)
        assert expected.lower() in admin.content().lower(), path
        admin.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    # The same console in Simplified Chinese.
    admin.goto(f"{base}/")
    with admin.expect_navigation():  # the picker submits its form: wait for that answer
        admin.select_option("#language", "zh-hans")
    admin.goto(f"{base}/")
    assert "账号总览" in admin.content()
    admin.screenshot(path=str(artifacts / "tour-17-home-zh.png"), full_page=True)
