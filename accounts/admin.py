"""Django admin for accounts. Keys never show in clear: AccountKeys is not registered at
all and staged import rows are not either; the account admin shows only whether keys
exist. (The admin changelist is also the peer measured by bench/pages.py.)"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.choices import DetailStatus, Presence
from accounts.models import (
    Agent,
    BulkJob,
    ContactLookup,
    Registration,
    StatusEvent,
    WhatsAppAccount,
)
from core.admin import AuditedAdmin, coded


@admin.register(Agent)
class AgentAdmin(AuditedAdmin):
    list_display = ("agent_account", "user_name", "upstream_user_id", "user")
    search_fields = ("agent_account", "user_name")


@admin.register(WhatsAppAccount)
class WhatsAppAccountAdmin(AuditedAdmin):
    list_display = (
        "whatsapp",
        "name",
        "status",
        "online_status",
        coded("presence_status", Presence, _("presence")),
        "agent_account",
        "platform",
        "country",
        "last_event_at",
    )
    list_filter = ("status", "online_status", "account_type", "platform")
    search_fields = ("whatsapp", "name")
    readonly_fields = ("has_keys", "created_at", "updated_at")
    exclude = ()

    @admin.display(boolean=True, description=_("keys stored"))
    def has_keys(self, obj: WhatsAppAccount) -> bool:
        return hasattr(obj, "keys")


@admin.register(StatusEvent)
class StatusEventAdmin(AuditedAdmin):
    list_display = tuple(
        {
            "status": coded("status", Presence, _("status")),
            "detail_status": coded("detail_status", DetailStatus, _("detail status")),
        }.get(column, column)
        for column in StatusEvent.COLUMNS
    )
    search_fields = ("whatsapp",)


@admin.register(Registration)
class RegistrationAdmin(AuditedAdmin):
    list_display = ("phone", "area_code", "country_code", "state", "created_at")
    list_filter = ("state",)


@admin.register(BulkJob)
class BulkJobAdmin(AuditedAdmin):
    list_display = ("id", "kind", "state", "total", "ok_count", "failed_count", "created_at")
    list_filter = ("kind", "state")
    readonly_fields = ("params",)


@admin.register(ContactLookup)
class ContactLookupAdmin(AuditedAdmin):
    list_display = ("account", "kind", "state", "fetched_at")
    raw_id_fields = ("account",)
