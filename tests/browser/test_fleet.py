"""Chromium: fleet list -> select -> bulk online -> progress -> done, through a real Celery
worker and the simulator, with a screenshot at each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import BulkJob
from accounts.tests.helpers import make_account, make_event
from core.models import CspReport
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bulk_online_from_the_fleet_list(
    people: People,
    live_server: Any,
    celery_worker_live: Any,
    simulator: Any,
    chromium: Any,
    artifacts: Any,
) -> None:
    now = timezone.now()
    numbers = [f"86138000{i:05d}" for i in range(1, 7)]
    for i, number in enumerate(numbers):
        make_account(
            number,
            agent="alice01" if i % 2 else "bob01",
            name=f"Desk {i + 1}",
            with_keys=i != 5,  # the last one has no keys: listed before anything is sent
            online_status=4,
            country="CN",
            platform=1,
            last_event_at=now - timedelta(minutes=i),
        )
        make_event(number, 30, 31, now - timedelta(minutes=i), agent_account="alice01")

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/login/?next=/accounts/")
    page.fill("#id_username", people.supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('WhatsApp accounts')")
    assert page.locator("table.fleet tbody tr").count() == 6
    page.screenshot(path=str(artifacts / "fleet-01-list.png"), full_page=True)

    # Filter by search (htmx swaps only the results), then clear it.
    page.fill("#id_q", "Desk 3")
    expect(page.locator("table.fleet tbody tr")).to_have_count(1)
    page.fill("#id_q", "")
    expect(page.locator("table.fleet tbody tr")).to_have_count(6)

    # Select every account on the page with the keyboard-reachable "select all" box.
    page.check("input[data-select-all='ids']")
    assert page.locator("[data-selected-count]").inner_text() == "6 selected"
    page.select_option("#id_override", "1")
    page.screenshot(path=str(artifacts / "fleet-02-selected.png"), full_page=True)
    page.click("button[formaction$='/bulk/online/']")

    # Before anything is sent: the account without keys is listed, with the way to import.
    page.wait_for_selector("#without-keys")
    assert numbers[5] in page.locator("#without-keys").inner_text()
    assert page.locator("#import-keys").count() == 1
    assert simulator.calls("/whatsapp/batchOnline") == []
    expect(page.locator("#takeover-question")).to_have_text(
        "Take over 5 accounts from their agents?"
    )
    page.screenshot(path=str(artifacts / "fleet-02b-precheck.png"), full_page=True)
    page.click("button:has-text('Yes, take over 5 accounts')")

    page.wait_for_selector("#job-progress")
    assert "/accounts/jobs/" in page.url
    page.screenshot(path=str(artifacts / "fleet-03-progress.png"), full_page=True)

    page.wait_for_selector("[data-job-state='done']", timeout=30_000)
    page.wait_for_selector("text=5 of 5 processed")
    page.screenshot(path=str(artifacts / "fleet-04-done.png"), full_page=True)

    job = BulkJob.objects.get()
    assert (job.ok_count, job.failed_count) == (5, 0)
    sent = simulator.calls("/whatsapp/batchOnline")
    assert len(sent) == 1
    assert {r["whatsApp"] for r in sent[0]["body"]["whatsAppList"]} == set(numbers[:5])
    assert all(r["override"] is True for r in sent[0]["body"]["whatsAppList"])

    # The account page draws its timeline from the event history.
    page.goto(f"{live_server.url}/accounts/{numbers[0]}/")
    page.wait_for_selector("#vendor h2")
    # Chart.js marks the canvas it drew on (no page-side evaluation: CSP forbids eval).
    expect(page.locator("#timeline-chart")).to_have_attribute("data-bound", "1")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "fleet-05-detail.png"), full_page=True)
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert CspReport.objects.count() == 0
