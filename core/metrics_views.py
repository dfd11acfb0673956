"""/metrics: this instance's metrics for Prometheus.

With `PROMETHEUS_MULTIPROC_DIR` set (production's gunicorn, config/gunicorn.py), the web
workers' values are merged from that directory; without it, the process's own registry.
The fleet gauges are added at scrape time (core.metrics.FleetCollector)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

import core.metrics_gauges  # noqa: F401 - registers the gauges
from core.metrics import FleetCollector, instance_registry
from core.net import client_in

# Registering reads no gauge (auto_describe off): the first scrape does.
_fleet_registry = CollectorRegistry(auto_describe=False)
_fleet_registry.register(FleetCollector())


def metrics_token_given(request: HttpRequest) -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>` (never true while no token is set)."""
    token = settings.METRICS_TOKEN
    if not token:
        return False
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def _allowed(request: HttpRequest) -> bool:
    if settings.METRICS_TOKEN:
        return metrics_token_given(request)
    return client_in(request, settings.METRICS_ALLOWED_NETS, "METRICS_ALLOWED_NETS")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape: a bearer token when METRICS_TOKEN is set, else local networks only."""
    if not _allowed(request):
        return HttpResponse("metrics: forbidden\n", status=403, content_type="text/plain")
    body = generate_latest(instance_registry()) + generate_latest(_fleet_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
