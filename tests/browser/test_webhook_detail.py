"""Chromium: a webhook delivery's page pages the status events it recorded (keyset, oldest
first): Next swaps in the rest in place, at a desktop and a phone width, English and
Chinese."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from core import partitions
from tests.fixtures import PASSWORD, People
from upstream.parsing import vendor_zone
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.selectors import STATUS_EVENTS_PAGE
from webhooks.services.process import webhook_events_process_batch
from webhooks.services.receive import webhook_event_receive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _delivery(records: int) -> WebhookEvent:
    start = partitions.month_start(datetime.now(UTC)) + timedelta(hours=1)
    items = [
        {
            "whatsId": f"57310{i:07d}",
            "status": (10, 20, 30, 40)[i % 4],
            "account": "alice01",
            "time": (start + timedelta(seconds=i))
            .astimezone(vendor_zone())
            .strftime("%Y-%m-%d %H:%M:%S"),
        }
        for i in range(records)
    ]
    body = json.dumps({"whatsAppList": items}).encode()
    webhook_event_receive(kind=WebhookKind.ONLINE_STATUS, body=body, headers={})
    while webhook_events_process_batch(limit=50).claimed:
        pass
    return WebhookEvent.objects.latest("id")


@pytest.mark.parametrize(("lang", "width", "height"), [("en", 1366, 768), ("zh-hans", 390, 844)])
def test_a_delivery_pages_its_status_events_in_place(
    lang: str,
    width: int,
    height: int,
    people: People,
    live_server: Any,
    chromium: Any,
    artifacts: Any,
) -> None:
    event = _delivery(STATUS_EVENTS_PAGE + 5)
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/login/?next=/webhooks/{event.pk}/")
    page.fill("#id_username", people.admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    rows = page.locator("#status-events tbody tr")
    expect(rows).to_have_count(STATUS_EVENTS_PAGE)
    expect(rows.first).to_contain_text("573100000000")
    page.locator("#status-events [data-pager=next]").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"webhook-detail-{lang}-{width}-first.png"))

    page.locator("#status-events [data-pager=next]").click()
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text(f"57310{STATUS_EVENTS_PAGE + 4:07d}")
    assert "cursor=" in page.url
    expect(page.locator("h1")).to_have_count(1)  # the events swapped, not the whole page
    page.screenshot(path=str(artifacts / f"webhook-detail-{lang}-{width}-next.png"))

    page.locator("#status-events [data-pager=prev]").click()
    expect(rows).to_have_count(STATUS_EVENTS_PAGE)
    assert not errors, errors
    context.close()
