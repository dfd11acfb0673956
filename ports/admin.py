from django.contrib import admin

from core.admin import AuditedAdmin
from ports.models import CloudPort, PortQuota


@admin.register(CloudPort)
class CloudPortAdmin(AuditedAdmin):
    list_display = ["port_id", "phone", "status", "created_at_upstream", "locked_until", "released"]
    list_filter = ["status", "released"]
    search_fields = ["port_id", "phone"]


admin.site.register(PortQuota, AuditedAdmin)
