"""Bulk jobs: progress, retry of the failed items, the items as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import (
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.models import BulkJob, BulkJobItem
from accounts.services import fleet as fleet_services
from core.access import (
    can,
    get_visible_or_404,
    require,
    require_login,
)
from core.csvexport import csv_response, csv_stream
from core.htmx import render_poll
from core.roles import Cap
from core.types import AuthedRequest
from core.zones import local_iso, zoned_header


@require_login
@require_GET
def job_export(request: AuthedRequest, job_id: int) -> HttpResponse:
    """A bulk job's items (whatsapp, state, error) as CSV; its owner (or a supervisor)."""
    job = get_visible_or_404(request.user, BulkJob.objects.all(), pk=job_id)
    zone = timezone.get_current_timezone()
    header = ["whatsapp", "state", "error", "attempts", zoned_header("updated_at", zone)]

    def rows() -> Iterator[list[Any]]:
        for item in job.items.order_by("id").iterator(chunk_size=2000):
            yield [
                item.whatsapp,
                item.state,
                item.error,
                item.attempts,
                local_iso(item.updated_at, zone),
            ]

    return csv_response(f"job-{job.pk}.csv", csv_stream(header, rows()))


@require_login
@require_GET
def job_detail(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = get_visible_or_404(request.user, BulkJob.objects.all(), pk=job_id)
    if job.kind == BulkJob.Kind.IMPORT and job.state == BulkJob.State.PREVIEW:
        return redirect("accounts:import_preview", job_id=job.pk)
    failed = selectors.job_items(job=job, state=BulkJobItem.State.FAILED, limit=200)
    context = {
        "job": job,
        "items": selectors.job_items(job=job, limit=500),
        "failed": failed,
        "can_manage": can(request.user, Cap.MANAGE_ACCOUNTS),
    }
    if request.htmx:
        return render_poll(request, "accounts/job.html#progress", context, done=job.finished)
    return render(request, "accounts/job.html", context)


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def job_retry(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = get_visible_or_404(request.user, BulkJob.objects.all(), pk=job_id)
    try:
        n = fleet_services.bulk_job_retry_failed(actor=request.user, job=job)
    except fleet_services.JobError as exc:
        messages.error(request, str(exc))
    else:
        if n:
            messages.success(request, _("%(n)s failed accounts queued again.") % {"n": n})
        else:
            messages.info(request, _("Nothing failed: nothing to retry."))
    return redirect("accounts:job", job_id=job.pk)
