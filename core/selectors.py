"""Read models for the home dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from accounts.choices import Presence
from accounts.models import StatusEvent
from qrlogin.models import PortQuota
from webhooks.models import WebhookEvent


def dashboard_counts(accounts: Any) -> dict[str, int]:
    """The same counts (and the same definitions) as the fleet list's tiles, so each home
    tile's number is what its link shows."""
    from accounts.selectors import account_state_counts

    return account_state_counts(visible=accounts)


def port_usage() -> PortQuota | None:
    return PortQuota.objects.order_by("-fetched_at").first()


def recent_trouble(accounts: Any, limit: int = 8, *, everything: bool = False) -> list[StatusEvent]:
    """Latest bans and disconnections (7 days), with their detail code as the reason."""
    qs = StatusEvent.objects.filter(
        status__in=[Presence.BANNED, Presence.DISCONNECTED],
        event_time__gte=timezone.now() - timedelta(days=7),
    )
    if not everything:
        qs = qs.filter(whatsapp__in=accounts.values("whatsapp"))
    return list(qs.order_by("-event_time", "-id")[:limit])


def action_queue_depth(user: Any = None) -> dict[str, int] | None:
    """Open-chat actions waiting (queued) and in flight (sending / sent); None when the
    actions app has no Action model yet."""
    try:
        from actions.models import Action, State
    except ImportError:  # pragma: no cover - the actions app has not landed
        return None
    qs = Action.objects.all()
    if user is not None:
        from core.access import sees_everything

        if not sees_everything(user):
            from core.access import accounts_visible_to

            qs = qs.filter(whatsapp__in=accounts_visible_to(user).values("whatsapp"))
    return qs.aggregate(
        queued=Count("id", filter=Q(state=State.QUEUED)),
        in_flight=Count("id", filter=Q(state__in=[State.SENDING, State.SENT])),
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
