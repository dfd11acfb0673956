"""CSP violation reports: rate-limited per client, only the parsed fields
kept, the table capped, old rows pruned by a daily task."""

from __future__ import annotations

import json
import logging
import re
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


# Control characters and lone surrogates: no browser sends them, PostgreSQL text refuses NUL.
_UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class Limited(Exception):
    """This client sent too many reports: answer 429."""


class Unusable(ValueError):
    """The body is not a report we can keep: answer 400."""


def csp_report_parse(body: bytes) -> dict[str, Any]:
    """The report object of a body (`{"csp-report": {...}}` or the bare object)."""
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
        raise Unusable("not a JSON report") from exc
    report = payload.get("csp-report", payload) if isinstance(payload, dict) else None
    if not isinstance(report, dict):
        raise Unusable("not a JSON object")
    return report


def csp_fields(report: dict[str, Any]) -> dict[str, str]:
    """The kept fields as bounded text; Unusable when one holds a control character."""
    fields = {
        name: str(report.get(name, ""))[:limit]
        for name, limit in FIELDS.items()
        if report.get(name) not in (None, "")
    }
    for name, value in fields.items():
        if _UNUSABLE.search(value):
            raise Unusable(f"{name} holds a control character")
    return fields


def csp_report_record(*, client: str, report: dict[str, Any]) -> CspReport | None:
    """Keep one report's parsed fields; None when the table is full (then it is only
    logged). Raises Limited when `client` exceeded CSP_REPORT_RATE per minute, Unusable
    when a field holds a control character."""
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
