from __future__ import annotations

import json
import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core import selectors
from core.access import accounts_visible_to, require, require_login, sees_everything
from core.health import health_report
from core.models import CspReport
from core.roles import Cap
from core.types import AuthedRequest

log = logging.getLogger(__name__)


@require_login
def home(request: AuthedRequest) -> HttpResponse:
    accounts = accounts_visible_to(request.user)
    everything = sees_everything(request.user)
    context = {
        "counts": selectors.dashboard_counts(accounts),
        "quota": selectors.port_usage() if everything else None,
        "trouble": selectors.recent_trouble(accounts, everything=everything),
        "webhook_lag": selectors.webhook_lag_seconds() if everything else None,
        "actions": selectors.action_queue_depth(request.user),
    }
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return render(request, "core/home.html#live", context)  # the live refresh
    return render(request, "core/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        report = health_report()
    except DatabaseError:  # pragma: no cover - health_report already catches
        report = {"ok": False}
    return JsonResponse(report, status=200 if report["ok"] else 503)


@require(Cap.MANAGE_USERS)
def health_page(request: AuthedRequest) -> HttpResponse:
    return render(request, "core/health.html", {"report": health_report()})


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    if len(request.body) > 64 * 1024:
        return HttpResponse(status=413)
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return HttpResponse(status=400)
    report = payload.get("csp-report", payload) if isinstance(payload, dict) else {}
    if not isinstance(report, dict):
        return HttpResponse(status=400)
    CspReport.objects.create(
        document_uri=str(report.get("document-uri", ""))[:500],
        violated_directive=str(report.get("violated-directive", ""))[:200],
        blocked_uri=str(report.get("blocked-uri", ""))[:500],
        raw=report,
    )
    log.warning(
        "CSP violation: %s on %s", report.get("violated-directive"), report.get("document-uri")
    )
    return HttpResponse(status=204)
