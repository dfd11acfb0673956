from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookKind(models.TextChoices):
    ONLINE_STATUS = "online_status", _("Online status (WA_SYNC_ON_OR_OFF_LINE_STATUS)")
    ACCOUNT_STATUS = "account_status", _("Account status (CHANNEL_SYNC_STATUS)")
    REGISTER_STATUS = "register_status", _("Registration (CHANNEL_REGISTER_STATUS)")
    QR_LOGIN_STATUS = "qr_login_status", _("QR login (WA_SYNC_QR_LOGIN_STATUS)")
    SCAN_TASK_STATUS = "scan_task_status", _("Scan task (SCAN_TASK_STATUS_SYNC)")


class WebhookEvent(models.Model):
    """The inbox: every signed delivery, stored raw before it is acknowledged."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(max_length=32, choices=WebhookKind.choices)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(db_index=True)
    signature_ok = models.BooleanField(default=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    # Records of a list body that could not be used, each {position, reason, record}; the
    # good records of the same delivery are applied.
    rejected_records = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook inbox")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["kind", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"


class RefusedDelivery(models.Model):
    """A delivery refused by webhook authentication (WEBHOOK_AUTH), kept in quarantine with
    why and its body (up to WEBHOOK_QUARANTINE_MAX_BYTES), so an admin can accept it after
    review: it then enters the inbox as if it had passed. Bounded by count
    (WEBHOOK_QUARANTINE_KEEP) and age (WEBHOOK_QUARANTINE_DAYS): an anonymous flood cannot
    fill the disk."""

    class State(models.TextChoices):
        QUARANTINED = "quarantined", _("Quarantined")
        ACCEPTED = "accepted", _("Accepted")

    received_at = models.DateTimeField(db_index=True)
    path = models.CharField(max_length=200)  # the path token, if any, is masked
    kind = models.CharField(max_length=32, blank=True)
    auth_check = models.CharField(max_length=16)  # path-token, hmac, api-key, ip
    reason = models.CharField(max_length=64)
    detail = models.CharField(max_length=200, blank=True)
    source_addr = models.CharField(max_length=64, blank=True)
    header_names = models.JSONField(default=list)
    headers = models.JSONField(default=dict, blank=True)  # as stored with events (redacted)
    body = models.BinaryField(default=b"")
    body_bytes = models.PositiveIntegerField(default=0)  # the size received
    body_truncated = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUARANTINED)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The inbox is partitioned by month (its key is (id, received_at)), so no database
    # constraint can point at one of its rows; and retention drops whole months.
    event = models.ForeignKey(
        WebhookEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("refused webhook delivery")
        verbose_name_plural = _("refused webhook deliveries")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["kind", "-received_at"], name="webhooks_refused_kind")]

    def __str__(self) -> str:
        return f"{self.path} refused ({self.reason})"

    @property
    def acceptable(self) -> bool:
        return (
            self.state == self.State.QUARANTINED
            and not self.body_truncated
            and bool(self.kind)
            and self.body_bytes > 0
        )
