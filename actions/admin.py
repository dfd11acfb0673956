from django.contrib import admin

from actions.models import Action, ActionBatch, Lane
from core.admin import AuditedAdmin


@admin.register(Lane)
class LaneAdmin(AuditedAdmin):
    list_display = ("agent_account", "whatsapp", "paused", "next_allowed_at", "last_sent_at")
    list_filter = ("paused",)
    search_fields = ("agent_account", "whatsapp")
    readonly_fields = ("next_allowed_at", "last_sent_at", "paused_at", "paused_by")


@admin.register(ActionBatch)
class ActionBatchAdmin(AuditedAdmin):
    list_display = ("id", "source", "status", "name", "created_by", "created_at")
    list_filter = ("source", "status")


@admin.register(Action)
class ActionAdmin(AuditedAdmin):
    """Read-only: state changes go through the pages (audited services)."""

    list_display = ("id", "state", "agent_account", "whatsapp", "friend_whatsapp", "created_at")
    list_filter = ("state", "platform")
    search_fields = ("agent_account", "whatsapp", "friend_whatsapp", "callback_id")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
