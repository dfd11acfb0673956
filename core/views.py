from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.access import require
from core.csp import Limited, csp_report_record
from core.health import CHECK_LABELS, health_report, health_summary
from core.metrics_views import metrics_token_given
from core.net import client_address
from core.roles import Cap
from core.types import AuthedRequest

log = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Anonymous callers get `{"ok": true|false}` (200 or 503, never 500); the checks'
    details (latency, errors, the upstream's address) only with the metrics token. Admins
    see them on the health page."""
    if metrics_token_given(request):
        try:
            report = health_report()
        except Exception:
            log.exception("health report failed")
            report = {"ok": False}
    else:
        report = {"ok": health_summary()}
    return JsonResponse(report, status=200 if report["ok"] else 503)


@require(Cap.MANAGE_USERS)
def health_page(request: AuthedRequest) -> HttpResponse:
    report = health_report()
    rows = [
        {"name": name, "label": CHECK_LABELS.get(name, name), **check}
        for name, check in report["checks"].items()
    ]
    return render(request, "core/health.html", {"report": report, "rows": rows})


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
    try:
        csp_report_record(client=client_address(request), report=report)
    except Limited:
        return HttpResponse(status=429)
    return HttpResponse(status=204)
