"""What the webhook inbox tells the live stream: nothing per delivery received (a notifying
commit runs alone: PostgreSQL holds its notification lock until the WAL is flushed), once
per batch of events processed."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from django.utils import timezone

from accounts.tests.helpers import make_account
from core import live
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.process import webhook_events_process_batch
from webhooks.services.receive import _insert_event

pytestmark = pytest.mark.django_db(transaction=True)


def _inbox_notes(conn: psycopg.Connection[Any]) -> int:
    heard = [json.loads(n.payload) for n in conn.notifies(timeout=0.5, stop_after=100)]
    return sum(1 for note in heard if "inbox" in note["e"])


def test_deliveries_are_stored_without_a_notification_and_a_batch_tells_the_inbox_once() -> None:
    with psycopg.Connection.connect(**live._conninfo(), autocommit=True) as conn:
        conn.execute(f"LISTEN {live.CHANNEL}")
        ids = []
        for n in range(3):  # what the receiver stores (its task is not sent here)
            record = {"whatsId": f"861390000{n:04d}", "status": 10, "detailStatus": 12}
            body = json.dumps({"whatsAppList": [record]}).encode()
            ids.append(
                _insert_event(
                    kind=WebhookKind.ONLINE_STATUS,
                    body=body,
                    headers={},
                    received_at=timezone.now(),
                    signature_ok=True,
                    state=WebhookEvent.State.PENDING,
                    records=1,
                )
            )
        received = _inbox_notes(conn)
        outcome = webhook_events_process_batch(event_id=ids[0])
        processed = _inbox_notes(conn)
    assert received == 0
    assert outcome.processed == 3
    assert processed == 1


def test_a_batch_tells_the_pages_of_its_accounts_changes_together() -> None:
    """Each account status applies in its own transaction; the pages hear of the whole
    batch in one notification (one notifying commit), not one per event."""
    numbers = [f"86139000{n:05d}" for n in range(3)]
    for number in numbers:
        make_account(number, status=1, online_status=4)
    ids = []
    for number in numbers:
        body = {
            "whatsApp": number,
            "status": 1,
            "onlineStatus": 2,
            "reason": "",
            "instanceCode": "",
        }
        ids.append(
            _insert_event(
                kind=WebhookKind.ACCOUNT_STATUS,
                body=json.dumps(body).encode(),
                headers={},
                received_at=timezone.now(),
                signature_ok=True,
                state=WebhookEvent.State.PENDING,
                records=1,
            )
        )
    with psycopg.Connection.connect(**live._conninfo(), autocommit=True) as conn:
        conn.execute(f"LISTEN {live.CHANNEL}")
        outcome = webhook_events_process_batch(event_id=ids[0])
        heard = [json.loads(n.payload) for n in conn.notifies(timeout=0.5, stop_after=100)]
    assert outcome.processed == 3
    about_accounts = [note for note in heard if "fleet" in note["e"]]
    assert len(about_accounts) == 1
    assert {f"account-{n}" for n in numbers} <= set(about_accounts[0]["e"])
    assert sum(1 for note in heard if "inbox" in note["e"]) == 1
