"""Outgoing events (subscriptions, the outbox, deliveries) and alerts (rules, channels,
grouped alerts). Secrets (the `whsec_` signing secret, Apprise URLs) are sealed at rest
with core.crypto's EncryptedTextField."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField


class EventType(models.TextChoices):
    ACCOUNT_STATUS_CHANGED = "account.status_changed", _("Account status changed")
    ACCOUNT_BANNED = "account.banned", _("Account banned")
    QR_SESSION_FINISHED = "qr_session.finished", _("QR login finished")
    SCAN_TASK_FINISHED = "scan_task.finished", _("Scan task finished")
    ACTION_FINISHED = "action.finished", _("Open-chat action finished")
    REGISTRATION_FINISHED = "registration.finished", _("Registration finished")
    JOB_FINISHED = "job.finished", _("Bulk job finished")
    QUOTA_EXCEEDED = "quota.exceeded", _("Port quota exceeded")


class Subscription(models.Model):
    """An endpoint of the company's own systems that receives signed events."""

    url = models.URLField(_("URL"), max_length=1000)
    events = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    description = models.CharField(_("description"), max_length=255, blank=True)
    secret = EncryptedTextField()  # whsec_..., shown once
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"subscription #{self.pk}"


class AccountSequence(models.Model):
    """The per-account event sequence (receivers reorder by it)."""

    whatsapp = models.CharField(max_length=32, unique=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("account event sequence")
        verbose_name_plural = _("account event sequences")

    def __str__(self) -> str:
        return f"{self.whatsapp}: {self.value}"


class Event(models.Model):
    """The outbox: written in the transaction of the state change that causes it."""

    type = models.CharField(max_length=40, choices=EventType.choices)
    msg_id = models.CharField(max_length=40, unique=True)  # webhook-id, stable across retries
    whatsapp = models.CharField(max_length=32, blank=True)
    sequence = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("outgoing event")
        verbose_name_plural = _("outgoing events")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.msg_id}"


class Delivery(models.Model):
    """One event to one subscription: retried with backoff until delivered or given up.

    Partitioned by month on created_at (core.partitions), kept for EVENT_DELIVERY_MONTHS:
    the database's key is (id, created_at); Django keeps `id` as the pk (one sequence)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Gave up")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status = models.IntegerField(null=True, blank=True)
    last_latency_ms = models.IntegerField(null=True, blank=True)
    last_response = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event delivery")
        verbose_name_plural = _("event deliveries")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(state="pending"),
                name="notify_delivery_due",
            ),
            models.Index(fields=["subscription", "-id"]),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} ({self.state})"


class RuleKey(models.TextChoices):
    ACCOUNT_BANNED = "account_banned", _("An account was banned")
    DISCONNECT_SPIKE = "disconnect_spike", _("Disconnections or bans spike")
    OFFLINE_TOO_LONG = "offline_too_long", _("An account is offline too long")
    QUOTA_EXCEEDED = "quota_exceeded", _("The port quota is exceeded")
    WEBHOOK_LAG = "webhook_lag", _("Webhook lag over its threshold")
    VENDOR_UNREACHABLE = "vendor_unreachable", _("The vendor is unreachable")
    REGISTRATION_FAILED = "registration_failed", _("A registration failed")
    SUBSCRIPTION_DISABLED = "subscription_disabled", _("An event subscription was disabled")
    HISTORY_OUTSIDE_MONTHS = (
        "history_outside_months",
        _("History rows landed outside the monthly partitions"),
    )


class AlertRule(models.Model):
    """One rule's settings. `threshold` is N (spike), minutes (offline, vendor) or seconds
    (webhook lag); `window_minutes` is M (spike); `agent_account` scopes a spike to one
    agent ("" is fleet-wide); `quiet_minutes` is the interval before a reminder."""

    key = models.CharField(max_length=32, choices=RuleKey.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    threshold = models.PositiveIntegerField(_("threshold"), default=0)
    window_minutes = models.PositiveIntegerField(_("window (minutes)"), default=0)
    agent_account = models.CharField(_("agent account"), max_length=64, blank=True)
    quiet_minutes = models.PositiveIntegerField(_("quiet interval (minutes)"), default=30)
    state = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key


class AlertChannel(models.Model):
    class Language(models.TextChoices):
        EN = "en", "English"
        ZH = "zh-hans", "简体中文"

    name = models.CharField(_("name"), max_length=100)
    url = EncryptedTextField()  # an Apprise URL: its tokens and passwords are secrets
    url_scheme = models.CharField(max_length=32, blank=True)  # shown: "dingtalk", "json"
    rules = ArrayField(models.CharField(max_length=32, choices=RuleKey.choices), default=list)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        ordering = ["name", "id"]
        constraints = [
            # Two channels of one name could not be told apart in the list or the audit log.
            models.UniqueConstraint(Lower("name"), name="notify_alertchannel_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """A group of occurrences of one rule (and scope): one message when it opens, a
    reminder after the rule's quiet interval if more arrived. Shown in the console.

    Partitioned by month on first_at (set once: a later occurrence never moves the row),
    kept for ALERT_HISTORY_MONTHS: the database's key is (id, first_at); Django keeps `id`
    as the pk (one sequence)."""

    rule = models.CharField(max_length=32, choices=RuleKey.choices)
    scope = models.CharField(max_length=64, blank=True)
    numbers = models.JSONField(default=list, blank=True)
    count = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    notified_count = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)
    messages_sent = models.PositiveIntegerField(default=0)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # When its condition cleared (accounts back online, lag down, vendor back, quota fine).
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_at", "-id"]
        indexes = [models.Index(fields=["rule", "scope", "-last_at"])]

    def __str__(self) -> str:
        return f"{self.rule} ({self.count})"
