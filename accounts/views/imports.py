"""Account import: upload, checked preview, confirm or cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import (
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import (
    ImportForm,
)
from accounts.models import BulkJob
from accounts.services import imports as import_services
from core.access import (
    require,
)
from core.roles import Cap
from core.types import AuthedRequest


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthedRequest) -> HttpResponse:
    form = ImportForm(
        request.POST or None,
        request.FILES or None,
        initial={"replace_keys": request.GET.get("replace_keys") == "1"},
    )
    context: dict[str, Any] = {"form": form, "columns": import_services.expected_columns()}
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = import_services.import_parse(upload=upload)
        except import_services.ImportFileError as exc:
            form.add_error("file", str(exc))
            status = 400
        else:
            if result.errors:
                context["result"] = result
                context["errors_shown"] = result.errors[: import_services.MAX_ERRORS_SHOWN]
                status = 400
            else:
                try:
                    job = import_services.import_stage(
                        actor=request.user,
                        result=result,
                        filename=upload.name or "",
                        replace_keys=form.cleaned_data["replace_keys"],
                    )
                except import_services.ImportFileError as exc:
                    context["result"] = result
                    form.add_error("file", str(exc))
                    status = 400
                else:
                    return redirect("accounts:import_preview", job_id=job.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/import.html", context, status=status)


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(BulkJob, pk=job_id, kind=BulkJob.Kind.IMPORT)
    if request.method == "POST":
        if request.POST.get("action") == "cancel":
            import_services.import_cancel(actor=request.user, job=job)
            messages.info(request, _("Import cancelled: nothing was imported."))
            return redirect("accounts:import")
        job = import_services.import_confirm(actor=request.user, job=job)
        return redirect("accounts:job", job_id=job.pk)
    if job.state != BulkJob.State.PREVIEW:
        return redirect("accounts:job", job_id=job.pk)
    rows = list(
        job.import_rows.order_by("line").only("line", "whatsapp", "name", "whatsapp_type")[:100]
    )
    return render(request, "accounts/import_preview.html", {"job": job, "rows": rows})
