"""The webhooks app's gauges, computed from the database when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Count

from core.metrics import gauge

Samples = Iterable[tuple[Mapping[str, str], float]]


@gauge("switchboard_webhook_events", "Webhook inbox events by state")
def webhook_events() -> Samples:
    from webhooks.models import WebhookEvent

    rows = WebhookEvent.objects.values("state").annotate(n=Count("id"))
    return [({"state": r["state"]}, r["n"]) for r in rows]


@gauge("switchboard_webhook_lag_seconds", "Age of the oldest webhook event not yet applied")
def webhook_lag() -> Samples:
    from webhooks.selectors import webhook_lag_seconds

    return [({}, webhook_lag_seconds() or 0.0)]
