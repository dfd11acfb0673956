"""CSV formula injection: every export writes a cell that a spreadsheet
would evaluate (`=`, `+`, `-`, `@`, tab, carriage return first) with a leading `'`."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Agent, BulkJob, BulkJobItem, StatusEvent, WhatsAppAccount
from actions.models import Action, Lane
from core.csvexport import csv_safe
from core.models import AuditEntry
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1"]


def _cells(response: Any) -> list[str]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]


def _assert_defused(cells: list[str]) -> None:
    for formula in FORMULAS:
        assert formula not in cells, f"{formula!r} exported as is"
        assert "'" + formula in cells, f"{formula!r} not exported as text"
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_csv_safe() -> None:
    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("\t=1") == "'\t=1"
    assert csv_safe("plain") == "plain"
    assert csv_safe(None) == ""
    assert csv_safe(-5) == "'-5"


def test_fleet_export(people: People) -> None:
    for i, name in enumerate(FORMULAS):
        WhatsAppAccount.objects.create(whatsapp=f"861380000{i:04d}", name=name)
    r = client_for(people.supervisor).post("/accounts/bulk/export/", {})
    _assert_defused(_cells(r))


def test_logs_export(people: People) -> None:
    now = timezone.now()
    for i, agent in enumerate(FORMULAS):
        StatusEvent.objects.create(
            whatsapp=f"861380000{i:04d}",
            status=10,
            agent_account=agent,
            platform=1,
            event_time=now - timedelta(minutes=1),
            received_at=now,
            dedupe_key=f"csv-{i}",
        )
    _assert_defused(_cells(client_for(people.supervisor).get("/accounts/logs/export.csv")))


def test_actions_export(people: People) -> None:
    agent = Agent.objects.get(agent_account="alice01")
    lane = Lane.objects.create(agent_account="alice01", whatsapp="8613800000001")
    for content in FORMULAS:
        Action.objects.create(
            lane=lane,
            agent=agent,
            agent_account="alice01",
            whatsapp="8613800000001",
            friend_whatsapp="8613900000001",
            platform=1,
            content=content,
            created_by=people.agent,
        )
    _assert_defused(_cells(client_for(people.agent).get("/actions/export.csv")))
    # Scoped like the list: bob's export has none of alice's rows.
    assert "8613800000001" not in _cells(client_for(people.peer).get("/actions/export.csv"))


def test_audit_export(people: People) -> None:
    for target in FORMULAS:
        AuditEntry.objects.create(
            actor=people.admin, actor_name="ada", action="x", target_id=target
        )
    _assert_defused(_cells(client_for(people.admin).get("/audit/export.csv")))


def test_jobs_export(people: People) -> None:
    job = BulkJob.objects.create(kind=BulkJob.Kind.RECYCLE, created_by=people.supervisor)
    for i, error in enumerate(FORMULAS):
        BulkJobItem.objects.create(
            job=job, whatsapp=f"861380000{i:04d}", state=BulkJobItem.State.FAILED, error=error
        )
    _assert_defused(
        _cells(client_for(people.supervisor).get(f"/accounts/jobs/{job.pk}/export.csv"))
    )
