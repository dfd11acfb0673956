"""Gauges computed from the database when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.apps import apps
from django.db.models import Count
from django.utils import timezone

from core.metrics import describe, gauge

# Counters are described next to their code (upstream/metrics.py, webhooks/metrics.py).
describe("switchboard_celery_tasks_total", "counter", "Celery task outcomes by task and state")

Samples = Iterable[tuple[Mapping[str, str], float]]


@gauge("switchboard_accounts", "WhatsApp accounts by status and online status")
def accounts_by_state() -> Samples:
    from accounts.models import WhatsAppAccount

    rows = WhatsAppAccount.objects.values("status", "online_status").annotate(n=Count("id"))
    return [
        (
            {"status": str(r["status"]), "online_status": str(r["online_status"] or "unknown")},
            r["n"],
        )
        for r in rows
    ]


@gauge("switchboard_ports", "Cloud ports: in use and quota")
def ports() -> Samples:
    from qrlogin.models import PortQuota

    quota = PortQuota.objects.order_by("-fetched_at").first()
    if quota is None:
        return []
    return [({"kind": "current"}, quota.current_port), ({"kind": "max"}, quota.max_port)]


@gauge("switchboard_webhook_events", "Webhook inbox events by state")
def webhook_events() -> Samples:
    from webhooks.models import WebhookEvent

    rows = WebhookEvent.objects.values("state").annotate(n=Count("id"))
    return [({"state": r["state"]}, r["n"]) for r in rows]


@gauge("switchboard_webhook_lag_seconds", "Age of the oldest webhook event not yet applied")
def webhook_lag() -> Samples:
    from webhooks.models import WebhookEvent

    oldest = (
        WebhookEvent.objects.filter(state__in=["pending", "processing"])
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    return [({}, (timezone.now() - oldest).total_seconds() if oldest else 0.0)]


@gauge("switchboard_action_lane_depth", "Open-chat actions waiting, by state")
def action_depth() -> Samples:
    if not apps.is_installed("actions"):
        return []
    try:
        action_model = apps.get_model("actions", "Action")  # type: ignore[misc]
    except LookupError:
        return []
    rows = action_model.objects.values("state").annotate(n=Count("id"))
    return [({"state": r["state"]}, r["n"]) for r in rows]


@gauge("switchboard_upstream_circuit_open", "1 when the vendor circuit breaker is open")
def breaker() -> Samples:
    try:
        from upstream.breaker import breaker_state
    except ImportError:
        return []
    state = breaker_state()
    return [({"state": state}, 1.0 if state == "open" else 0.0)]
