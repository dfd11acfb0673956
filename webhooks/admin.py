from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.admin import AuditedAdmin
from webhooks.models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(AuditedAdmin):
    """Read-only: the inbox pages show the redacted body; replays go through the service."""

    list_display = ("id", "kind", "state", "received_at", "records", "applied", "attempts")
    list_filter = ("kind", "state")
    exclude = ("body", "headers")
    readonly_fields = (
        "kind",
        "received_at",
        "signature_ok",
        "state",
        "error",
        "attempts",
        "claimed_at",
        "processed_at",
        "records",
        "applied",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookEvent | None = None) -> bool:
        return False
