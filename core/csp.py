"""CSP violation reports (issue 15, point 5): rate-limited per client, only the parsed fields
kept, the table capped, old rows pruned by a daily task."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.models import CspReport
from core.ratelimit import rate_limited

log = logging.getLogger(__name__)

# The fields kept (CSP level 2 report names), each cut to a short length.
FIELDS = {
    "document-uri": 500,
    "violated-directive": 200,
    "effective-directive": 200,
    "blocked-uri": 500,
    "source-file": 500,
    "line-number": 12,
    "column-number": 12,
    "disposition": 16,
    "status-code": 6,
}


class Limited(Exception):
    """This client sent too many reports: answer 429."""


def csp_fields(report: dict[str, Any]) -> dict[str, str]:
    return {
        name: str(report.get(name, ""))[:limit]
        for name, limit in FIELDS.items()
        if report.get(name) not in (None, "")
    }


def csp_report_record(*, client: str, report: dict[str, Any]) -> CspReport | None:
    """Keep one report's parsed fields; None when the table is full (then it is only
    logged). Raises Limited when `client` exceeded CSP_REPORT_RATE per minute."""
    if rate_limited(f"csp:{client}", limit=settings.CSP_REPORT_RATE, window=60):
        raise Limited
    fields = csp_fields(report)
    log.warning(
        "CSP violation: %s on %s",
        fields.get("violated-directive", ""),
        fields.get("document-uri", ""),
    )
    if CspReport.objects.count() >= settings.CSP_REPORT_MAX_ROWS:
        return None
    return CspReport.objects.create(
        document_uri=fields.get("document-uri", ""),
        violated_directive=fields.get("violated-directive", ""),
        blocked_uri=fields.get("blocked-uri", ""),
        raw=fields,
    )


def csp_reports_prune(*, older_than_days: int | None = None) -> int:
    days = settings.CSP_REPORT_RETENTION_DAYS if older_than_days is None else older_than_days
    deleted, _ = CspReport.objects.filter(at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
