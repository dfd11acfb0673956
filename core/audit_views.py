from __future__ import annotations

from datetime import datetime, time

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.access import require
from core.audit_diff import audit_changes
from core.models import AuditEntry
from core.roles import Cap
from core.types import AuthedRequest


def _day(value: str, end: bool) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


@require(Cap.VIEW_AUDIT)
def audit_log(request: AuthedRequest) -> HttpResponse:
    qs = AuditEntry.objects.all()
    f = request.GET
    if f.get("actor"):
        qs = qs.filter(actor_name__icontains=f["actor"])
    if f.get("action"):
        qs = qs.filter(action__startswith=f["action"])
    if f.get("target"):
        qs = qs.filter(target_id__icontains=f["target"])
    if f.get("since") and (since := _day(f["since"], end=False)):
        qs = qs.filter(at__gte=since)
    if f.get("until") and (until := _day(f["until"], end=True)):
        qs = qs.filter(at__lte=until)
    page = Paginator(qs, 50).get_page(f.get("page"))
    for entry in page.object_list:
        entry.changes = audit_changes(entry.before, entry.after)  # type: ignore[attr-defined]
    actions = AuditEntry.objects.order_by().values_list("action", flat=True).distinct()
    template = "core/audit.html#rows" if request.htmx else "core/audit.html"
    return render(request, template, {"page": page, "actions": sorted(set(actions)), "filters": f})
