"""/csp-report/: limited per client, parsed fields only, capped, pruned."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.csp import csp_reports_prune
from core.models import CspReport
from core.tasks import BEAT

pytestmark = pytest.mark.django_db


def _report(**extra: Any) -> bytes:
    return json.dumps(
        {
            "csp-report": {
                "document-uri": "https://sb.example/accounts/",
                "violated-directive": "script-src",
                "blocked-uri": "inline",
                "original-policy": "x" * 50_000,  # big, and not kept
                **extra,
            }
        }
    ).encode()


def _client() -> Client:
    # A fresh address per test: the limit's window is shared through Redis.
    return Client(REMOTE_ADDR=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9")


def _post(client: Client, body: bytes) -> int:
    return client.post("/csp-report/", data=body, content_type="application/csp-report").status_code


def test_only_the_parsed_fields_are_kept() -> None:
    assert _post(_client(), _report(junk={"deep": "y" * 1000})) == 204
    row = CspReport.objects.get()
    assert row.violated_directive == "script-src"
    assert set(row.raw) <= {"document-uri", "violated-directive", "blocked-uri"}
    assert len(json.dumps(row.raw)) < 1000


def test_reports_are_rate_limited_per_client(settings: Any) -> None:
    settings.CSP_REPORT_RATE = 5
    # The limit counts per clock minute: start early in one, so the eight reports fall in
    # the same minute even on a slow run (one that crossed into the next was let through).
    left = 60 - time.time() % 60
    if left < 20:
        time.sleep(left + 0.05)
    noisy = _client()
    answers = [_post(noisy, _report()) for _ in range(8)]
    assert answers[:5] == [204] * 5
    assert answers[5:] == [429] * 3
    assert CspReport.objects.count() == 5
    assert _post(_client(), _report()) == 204  # another client is not held back


def test_the_table_is_capped(settings: Any) -> None:
    settings.CSP_REPORT_MAX_ROWS = 3
    for _ in range(6):
        assert _post(_client(), _report()) == 204
    assert CspReport.objects.count() == 3


def test_old_reports_are_pruned_daily(settings: Any) -> None:
    settings.CSP_REPORT_RETENTION_DAYS = 30
    old = CspReport.objects.create(violated_directive="old")
    CspReport.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    CspReport.objects.create(violated_directive="new")
    assert csp_reports_prune() == 1
    assert list(CspReport.objects.values_list("violated_directive", flat=True)) == ["new"]
    assert BEAT["core-csp-reports-prune"]["task"] == "core.csp_reports_prune"
