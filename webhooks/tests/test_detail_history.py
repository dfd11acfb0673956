"""A delivery's page lists the status events it recorded by reading only the months its
records fall in (partition pruning, read from EXPLAIN), keyset-paged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import StatusEvent
from core import partitions
from tests.fixtures import client_for
from upstream.parsing import vendor_zone
from webhooks import selectors
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.process import webhook_events_process_batch
from webhooks.services.receive import webhook_event_receive

pytestmark = pytest.mark.django_db
TABLE = "accounts_statusevent"


def _this_month() -> datetime:
    return partitions.month_start(datetime.now(UTC))


def _deliver(times: list[datetime], *, prefix: str = "86137") -> WebhookEvent:
    """An onlineStatus delivery with one record per time, stored and applied."""
    records = [
        {
            "whatsId": f"{prefix}{i:06d}",
            "status": 10 + i % 2 * 10,
            "account": "alice01",
            "time": t.astimezone(vendor_zone()).strftime("%Y-%m-%d %H:%M:%S"),
        }
        for i, t in enumerate(times)
    ]
    body = json.dumps({"whatsAppList": records}).encode()
    webhook_event_receive(kind=WebhookKind.ONLINE_STATUS, body=body, headers={})
    while webhook_events_process_batch(limit=50).claimed:
        pass
    return WebhookEvent.objects.latest("id")


def _scanned(event: WebhookEvent) -> set[str]:
    qs = selectors.status_events_query(event)
    assert qs is not None
    plan = str(
        qs.order_by("event_time", "id")[:201].explain(
            analyze=True, costs=False, timing=False, summary=False
        )
    )
    return {p.name for p in partitions.partitions(TABLE) if p.name in plan}


def test_a_delivery_reads_only_the_months_its_records_fall_in() -> None:
    old = partitions.month_add(_this_month(), -4)
    for back in range(6):
        partitions.month_ensure(TABLE, partitions.month_add(_this_month(), -back))
    _deliver([_this_month() + timedelta(hours=1)], prefix="86136")  # another delivery
    late = _deliver([old + timedelta(days=3), old + timedelta(days=3, minutes=5)])
    assert _scanned(late) == {partitions.partition_name(TABLE, old)}
    rows = selectors.status_events_of(late).rows
    assert [r.webhook_event_id for r in rows] == [late.pk, late.pk]
    assert rows[0].event_time < rows[1].event_time

    both = _deliver([old + timedelta(days=10), _this_month() + timedelta(hours=2)], prefix="86135")
    assert _scanned(both) == {
        partitions.partition_name(TABLE, m)
        for m in partitions.months_between(old + timedelta(days=10), _this_month())
    }
    assert len(selectors.status_events_of(both).rows) == 2


def test_a_delivery_that_recorded_nothing_reads_nothing() -> None:
    bad = WebhookEvent.objects.create(
        kind=WebhookKind.ONLINE_STATUS, body=b"not json", headers={}, received_at=datetime.now(UTC)
    )
    assert selectors.status_events_query(bad) is None
    assert selectors.status_events_of(bad).rows == []


def test_the_page_pages_a_large_delivery_by_keyset(people: Any) -> None:
    start = _this_month() + timedelta(hours=1)
    event = _deliver([start + timedelta(seconds=i) for i in range(5)])
    first = selectors.status_events_of(event, size=2)
    assert first.next_cursor
    second = selectors.status_events_of(event, cursor=first.next_cursor, size=2)
    third = selectors.status_events_of(event, cursor=second.next_cursor, size=2)
    seen = [r.pk for r in first.rows + second.rows + third.rows]
    assert seen == list(
        StatusEvent.objects.filter(webhook_event_id=event.pk)
        .order_by("event_time", "id")
        .values_list("pk", flat=True)
    )
    assert third.next_cursor is None
    page = client_for(people.admin).get(f"/webhooks/{event.pk}/")
    assert page.status_code == 200
    assert b"86137000004" in page.content
