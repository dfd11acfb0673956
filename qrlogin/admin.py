from django.contrib import admin

from core.admin import AuditedAdmin
from qrlogin.models import PairTarget, QrSession, ScanTask


@admin.register(QrSession)
class QrSessionAdmin(AuditedAdmin):
    list_display = ["id", "created_at", "created_by", "mode", "state", "whatsapp", "port_id"]
    list_filter = ["state", "mode", "pc_type"]
    search_fields = ["port_id", "whatsapp", "phone"]
    exclude = ["proxy"]  # encrypted; never shown
    readonly_fields = ["qr_string", "pair_code"]


@admin.register(ScanTask)
class ScanTaskAdmin(AuditedAdmin):
    list_display = ["task_id", "created_at", "created_by", "allocation_role", "status", "whatsapp"]
    list_filter = ["status", "allocation_role"]
    search_fields = ["task_id", "whatsapp", "upstream_user_id"]


admin.site.register(PairTarget, AuditedAdmin)
