from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.access import require
from core.csp import Limited, Unusable, csp_report_parse, csp_report_record
from core.health import CHECK_LABELS, health_report, ready
from core.metrics_views import metrics_token_given
from core.net import client_address
from core.ratelimit import retry_after
from core.roles import Cap
from core.types import AuthedRequest

log = logging.getLogger(__name__)


@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers: no database, cache or vendor (a restart cures nothing else)."""
    return JsonResponse({"ok": True})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database and the cache answer. Anonymous callers get
    `{"ok": true|false}` (200 or 503, never 500); the details (latencies, errors, the
    worker's heartbeat, the beat's vendor measurement) only with the metrics token. Admins
    see them on the health page. `/healthz` is the same view."""
    if metrics_token_given(request):
        try:
            report = health_report()
        except Exception:
            log.exception("readiness report failed")
            report = {"ok": False}
    else:
        report = {"ok": ready()}
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
        report = csp_report_parse(request.body)
        csp_report_record(client=client_address(request), report=report)
    except Unusable:
        return HttpResponse(status=400)
    except Limited:
        return retry_after(HttpResponse(status=429), 60)  # the fixed one-minute window
    return HttpResponse(status=204)
