"""Reads for the notify pages and API."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from core import generations
from core.crypto import REDACTED
from notify.models import Alert, AlertChannel, Delivery, Subscription

OPEN_ALERT_DAYS = 7


def subscription_list() -> QuerySet[Subscription]:
    return Subscription.objects.order_by("-created_at", "-id")


def delivery_list(*, subscription: Subscription | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.select_related("event").order_by("-id")
    if subscription is not None:
        qs = qs.filter(subscription=subscription)
    return qs


def alert_channel_list() -> QuerySet[AlertChannel]:
    return AlertChannel.objects.order_by("name", "id")


def alert_list() -> QuerySet[Alert]:
    return Alert.objects.order_by("-last_at", "-id")


# The open alerts' generation (core/generations.py): bumped on raise and acknowledge.
OPEN_ALERTS = generations.declare("alerts-open")
OPEN_ALERTS_TTL = 30  # seconds: alerts also leave the count by age, and through the admin


def open_alert_count() -> int:
    """Alerts nobody acknowledged, from the last week (the count in the navigation, on
    every page: kept until an alert is raised or acknowledged)."""

    def count() -> int:
        since = timezone.now() - timedelta(days=OPEN_ALERT_DAYS)
        return Alert.objects.filter(
            acknowledged_at__isnull=True, resolved_at__isnull=True, last_at__gte=since
        ).count()

    return generations.cached(OPEN_ALERTS, "", OPEN_ALERTS_TTL, count)


def masked_secret(_secret: object = None) -> str:
    return f"whsec_{REDACTED}"


def masked_channel_url(channel: AlertChannel) -> str:
    """The scheme only: everything after it may be a token or a password."""
    return f"{channel.url_scheme or '?'}://{REDACTED}"
