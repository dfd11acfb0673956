"""Read models for the home dashboard (each from the app that owns the data)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from accounts.access import accounts_visible_to
from accounts.choices import Presence
from accounts.models import StatusEvent
from accounts.selectors import account_state_counts
from actions.models import Action, State
from core.access import sees_everything
from ports.models import PortQuota


def dashboard_counts(accounts: Any) -> dict[str, int]:
    """The same counts (and the same definitions) as the fleet list's tiles, so each home
    tile's number is what its link shows."""
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


def action_queue_depth(user: Any = None) -> dict[str, int]:
    """Open-chat actions waiting (queued) and in flight (sending / sent)."""
    qs = Action.objects.all()
    if user is not None and not sees_everything(user):
        qs = qs.filter(whatsapp__in=accounts_visible_to(user).values("whatsapp"))
    return qs.aggregate(
        queued=Count("id", filter=Q(state=State.QUEUED)),
        in_flight=Count("id", filter=Q(state__in=[State.SENDING, State.SENT])),
    )
