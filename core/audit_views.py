from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from core.access import require
from core.audit_diff import action_label, audit_changes, target_label
from core.csvexport import csv_response, csv_stream
from core.htmx import render_page
from core.models import AuditEntry
from core.roles import Cap
from core.types import AuthedRequest
from core.zones import local_iso, zoned_header


def _day(value: str, end: bool) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def _filtered(request: AuthedRequest) -> QuerySet[AuditEntry]:
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
    return qs


@require(Cap.VIEW_AUDIT)
def audit_log(request: AuthedRequest) -> HttpResponse:
    f = request.GET
    qs = _filtered(request)
    page = Paginator(qs, 50).get_page(f.get("page"))
    for entry in page.object_list:
        entry.changes = audit_changes(entry.before, entry.after)  # type: ignore[attr-defined]
        entry.action_label = action_label(entry.action)  # type: ignore[attr-defined]
        entry.target_label = target_label(entry.target_type)  # type: ignore[attr-defined]
    actions = AuditEntry.objects.order_by().values_list("action", flat=True).distinct()
    choices = sorted(((a, action_label(a)) for a in set(actions)), key=lambda c: c[1])
    context = {"page": page, "actions": choices, "filters": f}
    return render_page(request, "core/audit.html", context, fragment="rows")


@require(Cap.VIEW_AUDIT)
def audit_export(request: AuthedRequest) -> HttpResponse:
    """The audit log (same filters) as CSV."""
    qs = _filtered(request)
    zone = timezone.get_current_timezone()
    header = [
        zoned_header("at", zone),
        "actor",
        "action",
        "target_type",
        "target_id",
        "before",
        "after",
        "request_id",
    ]

    def rows() -> Iterator[list[Any]]:
        for e in qs.iterator(chunk_size=2000):
            yield [
                local_iso(e.at, zone),
                e.actor_name,
                e.action,
                e.target_type,
                e.target_id,
                json.dumps(e.before, ensure_ascii=False) if e.before is not None else "",
                json.dumps(e.after, ensure_ascii=False) if e.after is not None else "",
                e.request_id,
            ]

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"audit-{stamp}.csv", csv_stream(header, rows()))
