"""Read models for the home dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from accounts.choices import AccountStatus, OnlineStatus, Presence
from accounts.models import StatusEvent
from qrlogin.models import PortQuota
from webhooks.models import WebhookEvent


def dashboard_counts(accounts: Any) -> dict[str, int]:
    return accounts.aggregate(
        total=Count("id"),
        online=Count(
            "id", filter=Q(online_status=OnlineStatus.ONLINE) | Q(presence_status=Presence.ONLINE)
        ),
        banned=Count("id", filter=Q(status=AccountStatus.BANNED)),
        offline=Count(
            "id",
            filter=(
                Q(online_status=OnlineStatus.OFFLINE)
                | Q(presence_status__in=[Presence.OFFLINE, Presence.DISCONNECTED])
            )
            & ~Q(status=AccountStatus.BANNED),
        ),
    )


def port_usage() -> PortQuota | None:
    return PortQuota.objects.order_by("-fetched_at").first()


def recent_trouble(accounts: Any, limit: int = 8) -> list[StatusEvent]:
    numbers = accounts.values("whatsapp")
    return list(
        StatusEvent.objects.filter(
            status__in=[Presence.BANNED, Presence.DISCONNECTED],
            whatsapp__in=numbers,
            event_time__gte=timezone.now() - timedelta(days=7),
        ).order_by("-event_time", "-id")[:limit]
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
