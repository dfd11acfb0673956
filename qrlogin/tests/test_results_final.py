"""Login results are monotonic: a success is final; a later failure report for the same
login, or a duplicate, changes nothing and emits nothing (no second outgoing event, no
second live push). PC scan tasks, whose statuses carry a time: a duplicate or an older
status changes nothing and emits nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from notify.models import Event, EventType, Subscription
from qrlogin.models import QrSession, ScanTask
from qrlogin.services.results import qr_login_result_apply, scan_task_status_apply
from qrlogin.services.sessions import qr_session_start
from tests.fixtures import People

pytestmark = pytest.mark.django_db

PHONE = "8613900000501"


@pytest.fixture(autouse=True)
def _subscribed() -> None:
    """A subscriber to both events: the outbox keeps events only when someone listens."""
    Subscription.objects.create(
        url="https://hooks.example.com/in",
        events=[EventType.QR_SESSION_FINISHED, EventType.SCAN_TASK_FINISHED],
        secret="whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0",
    )


@contextmanager
def pushes() -> Iterator[list[str]]:
    """The live pushes (pg_notify) sent meanwhile."""
    sent: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "pg_notify" in sql:
            sent.append(str(params[1]))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        yield sent


def events(kind: str) -> int:
    return Event.objects.filter(type=kind).count()


@pytest.mark.parametrize("second_ok", [False, True], ids=["failure-after", "duplicate"])
def test_a_success_is_final(people: People, simulator: Any, second_ok: bool) -> None:
    session = qr_session_start(user=people.agent, pc_type=2, target="10085")
    first = timezone.now()
    assert qr_login_result_apply(
        port_id=session.port_id, whatsapp=PHONE, ok=True, received_at=first
    ).changed
    assert events(EventType.QR_SESSION_FINISHED) == 1
    with pushes() as sent:
        outcome = qr_login_result_apply(
            port_id=session.port_id,
            whatsapp=PHONE,
            ok=second_ok,
            received_at=first + timedelta(seconds=2),
        )
    assert not outcome.changed
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED and session.finished_at == first
    assert session.reason == ""
    assert events(EventType.QR_SESSION_FINISHED) == 1
    assert sent == []


def test_a_duplicate_failure_emits_nothing(people: People, simulator: Any) -> None:
    session = qr_session_start(user=people.agent, pc_type=2, target="10085")
    first = timezone.now()
    qr_login_result_apply(port_id=session.port_id, whatsapp="", ok=False, received_at=first)
    with pushes() as sent:
        outcome = qr_login_result_apply(
            port_id=session.port_id,
            whatsapp="",
            ok=False,
            received_at=first + timedelta(seconds=1),
        )
    assert not outcome.changed and sent == []
    assert events(EventType.QR_SESSION_FINISHED) == 1


def test_a_success_after_a_reordered_failure_still_wins(people: People, simulator: Any) -> None:
    session = qr_session_start(user=people.agent, pc_type=2, target="10085")
    first = timezone.now()
    qr_login_result_apply(port_id=session.port_id, whatsapp=PHONE, ok=False, received_at=first)
    qr_login_result_apply(
        port_id=session.port_id, whatsapp=PHONE, ok=True, received_at=first + timedelta(1)
    )
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED


def test_a_scan_task_duplicate_or_older_status_emits_nothing(people: People) -> None:
    ScanTask.objects.create(task_id="t-final", created_by=people.agent, allocation_role=1)
    at = timezone.now()
    assert scan_task_status_apply(
        task_id="t-final", task_status=80, whatsapp=PHONE, user_id="", update_time=at
    ).changed
    assert events(EventType.SCAN_TASK_FINISHED) == 1
    with pushes() as sent:
        older_failure = scan_task_status_apply(
            task_id="t-final",
            task_status=71,
            whatsapp=PHONE,
            user_id="",
            update_time=at - timedelta(seconds=5),
        )
        duplicate = scan_task_status_apply(
            task_id="t-final",
            task_status=80,
            whatsapp=PHONE,
            user_id="",
            update_time=at + timedelta(seconds=6),
        )
    assert not older_failure.changed and not duplicate.changed and sent == []
    assert ScanTask.objects.get(task_id="t-final").status == 80
    assert events(EventType.SCAN_TASK_FINISHED) == 1
