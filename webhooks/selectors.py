"""Reads for the inbox pages and the API."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from accounts.models import StatusEvent
from accounts.selectors import Page, SortKey, keyset_page
from core.logging import redact
from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind
from webhooks.payloads import PayloadError, PresenceRecord, parse


def webhook_event_list(
    *,
    kind: str = "",
    state: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
) -> QuerySet[WebhookEvent]:
    qs = WebhookEvent.objects.defer("body", "headers")
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    zone = timezone.get_current_timezone()
    if day_from:
        qs = qs.filter(received_at__gte=datetime.combine(day_from, time.min, zone))
    if day_to:
        qs = qs.filter(received_at__lt=datetime.combine(day_to + timedelta(days=1), time.min, zone))
    return qs.order_by("-received_at", "-id")


def webhook_event_get(*, event_id: int) -> WebhookEvent | None:
    return WebhookEvent.objects.filter(pk=event_id).first()


def body_pretty(event: WebhookEvent | RefusedDelivery) -> str:
    """The raw body for people: pretty-printed if it is JSON, secrets redacted."""
    raw = bytes(event.body)
    text = raw.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError, RecursionError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    if len(text) > 200_000:
        text = text[:200_000] + "\n… (truncated)"
    return redact(text)


def headers_redacted(event: WebhookEvent | RefusedDelivery) -> list[tuple[str, str]]:
    headers = event.headers if isinstance(event.headers, dict) else {}
    return [(str(k), redact(f"{k}: {v}").split(": ", 1)[-1]) for k, v in sorted(headers.items())]


STATUS_EVENTS_PAGE = 200
_EVENT_TIME_ASC = (SortKey("event_time"),)


def status_events_query(event: WebhookEvent) -> QuerySet[StatusEvent] | None:
    """The status history rows this delivery recorded, bounded by the delivery's own
    records (its body): their numbers and the span of their event times, the history's
    partition key. So PostgreSQL reads only the months the records fall in, through the
    (whatsapp, event_time) index, instead of every month of the history for a column with
    no index of its own. None: the body no longer parses or holds no presence record, so
    it recorded nothing."""
    try:
        records = [r for r in parse(event.kind, bytes(event.body)) if isinstance(r, PresenceRecord)]
    except PayloadError:
        return None
    if not records:
        return None
    times = [r.event_time for r in records]
    return StatusEvent.objects.filter(
        webhook_event_id=event.pk,
        whatsapp__in=sorted({r.whatsapp for r in records}),
        event_time__gte=min(times),
        event_time__lte=max(times),
    )


def status_events_of(
    event: WebhookEvent,
    *,
    cursor: str | None = None,
    before: str | None = None,
    size: int = STATUS_EVENTS_PAGE,
) -> Page[StatusEvent]:
    """Those rows oldest first, keyset-paged (status_events_query)."""
    qs = status_events_query(event)
    if qs is None:
        return Page(rows=[], next_cursor=None)
    return keyset_page(qs, _EVENT_TIME_ASC, cursor, size=size, before=before)


def hourly_counts(*, hours: int = 24, now: datetime | None = None) -> dict[str, Any]:
    """Deliveries per kind per hour over the last `hours` hours (for the chart and table)."""
    now = now or timezone.now()
    # The reader's hours (TruncHour truncates in the active zone; some are :30 off UTC's).
    hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    end = hour.astimezone(UTC) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    rows = (
        WebhookEvent.objects.filter(received_at__gte=start)
        .annotate(hour=TruncHour("received_at"))
        .values("hour", "kind")
        .annotate(n=Count("id"))
    )
    slots = [start + timedelta(hours=i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    series = {k.value: [0] * hours for k in WebhookKind}
    for row in rows:
        i = index.get(row["hour"])
        if i is not None and row["kind"] in series:
            series[row["kind"]][i] += row["n"]
    labels = [timezone.localtime(s).strftime("%H:%M") for s in slots]
    return {
        "labels": labels,
        "datasets": [
            {"kind": k.value, "label": str(k.label), "data": series[k.value]} for k in WebhookKind
        ],
        "rows": [
            {"hour": labels[i], "counts": [series[k.value][i] for k in WebhookKind]}
            for i in range(hours)
            if any(series[k.value][i] for k in WebhookKind)
        ],
    }


def inbox_summary() -> dict[str, Any]:
    counts = dict(
        WebhookEvent.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    labels = dict(WebhookEvent.State.choices)
    return {
        "lag": webhook_lag_seconds(),
        "by_state": counts,
        # Each state's tile under its words, not its code.
        "tiles": [(state, labels.get(state, state), n) for state, n in counts.items()],
    }


def refused_delivery_list(*, limit: int = 100) -> list[RefusedDelivery]:
    """The last refused deliveries (webhook authentication), newest first."""
    return list(
        RefusedDelivery.objects.defer("body", "headers").order_by("-received_at", "-id")[:limit]
    )


def webhook_lag_seconds() -> float | None:
    """Age of the oldest event still waiting to be applied (None: nothing waiting)."""
    oldest = (
        WebhookEvent.objects.filter(
            state__in=[WebhookEvent.State.PENDING, WebhookEvent.State.PROCESSING]
        )
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    if oldest is None:
        return None
    return max(0.0, (timezone.now() - oldest).total_seconds())


def refused_delivery_get(*, delivery_id: int) -> RefusedDelivery | None:
    return RefusedDelivery.objects.filter(pk=delivery_id).first()


def refused_body_pretty(row: RefusedDelivery) -> str:
    """The quarantined body for review, as the inbox shows an event's (secrets redacted)."""
    return body_pretty(row)


def last_delivery_by_kind() -> dict[str, dict[str, Any]]:
    """Per webhook kind, the last delivery seen: in the inbox and in quarantine."""
    out: dict[str, dict[str, Any]] = {}
    for kind in WebhookKind.values:
        event = (
            WebhookEvent.objects.filter(kind=kind)
            .order_by("-received_at", "-id")
            .only("received_at", "state")
            .first()
        )
        refused = (
            RefusedDelivery.objects.filter(kind=kind)
            .order_by("-received_at", "-id")
            .only("received_at", "reason", "auth_check")
            .first()
        )
        out[kind] = {"event": event, "refused": refused}
    return out
