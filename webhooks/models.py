from __future__ import annotations

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

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["kind", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"
