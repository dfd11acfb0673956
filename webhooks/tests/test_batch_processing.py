"""Batch processing (the Celery task's path): many claimed events applied set-based give the
same result as applying them one by one, mixed kinds and bad events are handled per event,
and a claim lost to another worker is not applied twice."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import StatusEvent, WhatsAppAccount
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.process import webhook_event_process, webhook_events_process_batch
from webhooks.services.receive import webhook_event_receive
from webhooks.tests.test_ordering_property import (
    NUMBERS,
    T0,
    _Rollback,
    assert_newest_wins_and_history_exact,
    on_the_database,
    receive_all,
    scenario,
)

EXAMPLES = max(50, int(os.environ.get("SB_PROPERTY_EXAMPLES", "1000")) // 4)
State = WebhookEvent.State


@pytest.mark.django_db
@on_the_database(EXAMPLES)
@given(sc=scenario(), limit=st.integers(1, 7), singles=st.integers(0, 3))
def test_batches_equal_one_by_one(sc: dict[str, Any], limit: int, singles: int) -> None:
    try:
        with transaction.atomic():
            run(sc, limit, singles)
            raise _Rollback
    except _Rollback:
        pass


def run(sc: dict[str, Any], limit: int, singles: int) -> None:
    ids = receive_all(sc)
    # Some events applied alone first (in the drawn order), the rest in batches of `limit`,
    # each batch named after one event (as the task is), then forced re-applications.
    order = list(sc["order"])
    for d in order[:singles]:
        assert webhook_event_process(event_id=ids[d]).state == "processed"
    for d in order[singles:]:
        webhook_events_process_batch(event_id=ids[d], limit=limit)
    assert not WebhookEvent.objects.exclude(state=State.PROCESSED).filter(pk__in=ids).exists()
    for d in sc["forced"]:
        WebhookEvent.objects.filter(pk=ids[d]).update(state=State.PENDING)
    while webhook_events_process_batch(limit=limit).claimed:
        pass

    assert_newest_wins_and_history_exact(sc)


def _presence(number: str, status: int, time: str) -> bytes:
    return json.dumps(
        [{"whatsId": number, "status": status, "account": "", "time": time, "platformType": 1}]
    ).encode()


@pytest.mark.django_db
def test_batch_mixes_kinds_and_isolates_a_bad_event() -> None:
    good = webhook_event_receive(
        kind=WebhookKind.ONLINE_STATUS,
        body=_presence("8613800000001", 10, "2024-07-03 15:27:00"),
        headers={},
    ).event_id
    status = webhook_event_receive(
        kind=WebhookKind.ACCOUNT_STATUS,
        body=json.dumps({"whatsApp": "8613800000002", "status": 2, "onlineStatus": 4}).encode(),
        headers={},
    ).event_id
    # A stored event whose body no longer parses (as if the parser changed since receipt).
    bad = webhook_event_receive(
        kind=WebhookKind.ONLINE_STATUS,
        body=_presence("8613800000003", 20, "2024-07-03 15:28:00"),
        headers={},
    ).event_id
    # (A bad record alone no longer fails a list body: the body must be unreadable whole.)
    WebhookEvent.objects.filter(pk=bad).update(body=b'{"whatsAppList": {}}')

    outcome = webhook_events_process_batch(event_id=good)
    assert outcome.own == "processed"
    assert (outcome.claimed, outcome.processed, outcome.failed) == (3, 2, 1)
    states = dict(WebhookEvent.objects.values_list("pk", "state"))
    assert states == {good: State.PROCESSED, status: State.PROCESSED, bad: State.FAILED}
    assert WhatsAppAccount.objects.get(whatsapp="8613800000001").presence_status == 10
    assert WhatsAppAccount.objects.get(whatsapp="8613800000002").status == 2
    assert WebhookEvent.objects.get(pk=good).applied == 1
    # The task sent for an event a batch already applied is a no-op.
    again = webhook_events_process_batch(event_id=status)
    assert (again.own, again.claimed) == ("skipped", 0)


@pytest.mark.django_db
def test_batch_skips_an_event_whose_claim_was_taken_over() -> None:
    """Between the claim and the apply, another worker took the event over (stale claim):
    the batch must not apply it. The takeover comes from outside, in the database: a
    trigger moves the claim time on, as a second worker's claim would."""
    event_id = webhook_event_receive(
        kind=WebhookKind.ONLINE_STATUS,
        body=_presence("8613800000001", 10, "2024-07-03 15:27:00"),
        headers={},
    ).event_id
    table = WebhookEvent._meta.db_table
    with connection.cursor() as cur:  # rolled back with the test's transaction
        cur.execute(
            """
            CREATE FUNCTION test_claim_taken_over() RETURNS trigger AS $$
            BEGIN
                IF OLD.state = 'pending' AND NEW.state = 'processing' THEN
                    NEW.claimed_at := NEW.claimed_at + interval '1 second';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        cur.execute(
            f"CREATE TRIGGER test_claim_taken_over BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION test_claim_taken_over()"
        )
    outcome = webhook_events_process_batch()
    assert outcome.claimed == 1 and outcome.processed == 0
    assert WebhookEvent.objects.get(pk=event_id).state == State.PROCESSING
    assert StatusEvent.objects.count() == 0


@pytest.mark.django_db
def test_claim_stops_at_the_record_cap_and_takes_at_least_one() -> None:
    from webhooks.services.process import _claim_pending

    two = json.dumps(
        [
            {"whatsId": "8613800000001", "status": 10, "time": "2024-07-03 15:27:00"},
            {"whatsId": "8613800000002", "status": 10, "time": "2024-07-03 15:27:00"},
        ]
    ).encode()
    ids = [
        webhook_event_receive(kind=WebhookKind.ONLINE_STATUS, body=two, headers={}).event_id
        for _ in range(3)
    ]
    claimed = _claim_pending(timezone.now(), 10, max_records=3)
    assert [e.pk for e in claimed] == ids[:2]
    assert WebhookEvent.objects.get(pk=ids[2]).state == State.PENDING
    claimed = _claim_pending(timezone.now(), 10, max_records=1)
    assert [e.pk for e in claimed] == ids[2:]


def _account_status(number: str, status: int, online: int) -> bytes:
    return json.dumps({"whatsApp": number, "status": status, "onlineStatus": online}).encode()


@pytest.mark.django_db
def test_account_status_events_are_applied_together_newest_receipt_last() -> None:
    """A batch's syncWhatsAppStatus events go in one transaction (one UPDATE marks them all
    processed) with the same outcome as one by one: each account ends at the status of its
    last delivery received, an account the vendor knows and we do not is created, and one
    that links a QR login (instance code) is applied on its own."""
    from django.test.utils import CaptureQueriesContext

    bodies = [
        _account_status("8613800000011", 1, 1),
        _account_status("8613800000012", 1, 1),
        _account_status("8613800000011", 2, 4),  # newer for the same account: wins
        _account_status("8613800000013", 1, 3),  # unknown to us: created
    ]
    ids = [
        webhook_event_receive(kind=WebhookKind.ACCOUNT_STATUS, body=b, headers={}).event_id
        for b in bodies
    ]
    linked = webhook_event_receive(
        kind=WebhookKind.ACCOUNT_STATUS,
        body=json.dumps(
            {"whatsApp": "8613800000014", "status": 1, "onlineStatus": 1, "instanceCode": "ins-1"}
        ).encode(),
        headers={},
    ).event_id
    with CaptureQueriesContext(connection) as seen:
        outcome = webhook_events_process_batch(event_id=ids[0])
    assert (outcome.claimed, outcome.processed, outcome.failed) == (5, 5, 0)
    marked = [
        q["sql"]
        for q in seen.captured_queries
        if q["sql"].lstrip().startswith("UPDATE") and "processed_at" in q["sql"]
    ]
    assert len(marked) == 2  # the four together, the linked one alone
    moved = [
        q["sql"]
        for q in seen.captured_queries
        if q["sql"].lstrip().startswith(f"UPDATE {WhatsAppAccount._meta.db_table}")
    ]
    assert len(moved) == 2  # one set-based UPDATE for the four, one for the linked
    states = dict(WebhookEvent.objects.filter(pk__in=[*ids, linked]).values_list("pk", "state"))
    assert set(states.values()) == {State.PROCESSED}
    accounts = {
        a.whatsapp: (a.status, a.online_status)
        for a in WhatsAppAccount.objects.filter(whatsapp__startswith="86138000000")
    }
    assert accounts["8613800000011"] == (2, 4)
    assert accounts["8613800000012"] == (1, 1)
    assert accounts["8613800000013"] == (1, 3)
    assert accounts["8613800000014"] == (1, 1)


account_status = st.fixed_dictionaries(
    {
        "number": st.sampled_from(NUMBERS),
        "status": st.sampled_from([1, 2]),
        "online": st.integers(1, 4),
        "reason": st.sampled_from(["", "1001", "1004", "free words", "77"]),
    }
)


@pytest.mark.django_db
@on_the_database(EXAMPLES)
@given(
    deliveries=st.lists(account_status, min_size=1, max_size=8),
    order=st.randoms(use_true_random=False),
    limit=st.integers(1, 7),
    singles=st.integers(0, 3),
)
def test_account_status_batches_equal_one_by_one(
    deliveries: list[dict[str, Any]], order: Any, limit: int, singles: int
) -> None:
    """However syncWhatsAppStatus deliveries are split between lone events and set-based
    batches, and in whatever order the tasks run, each account ends at the status, online
    status and reason of its last delivery received."""
    try:
        with transaction.atomic():
            _account_status_run(deliveries, order, limit, singles)
            raise _Rollback
    except _Rollback:
        pass


def _account_status_run(
    deliveries: list[dict[str, Any]], order: Any, limit: int, singles: int
) -> None:
    from accounts.services.status import sync_reason_words

    ids = [
        webhook_event_receive(
            kind=WebhookKind.ACCOUNT_STATUS,
            body=json.dumps(
                {
                    "whatsApp": d["number"],
                    "status": d["status"],
                    "onlineStatus": d["online"],
                    "reason": d["reason"],
                }
            ).encode(),
            headers={},
            received_at=T0 + timedelta(milliseconds=n),
        ).event_id
        for n, d in enumerate(deliveries)
    ]
    shuffled = list(range(len(ids)))
    order.shuffle(shuffled)
    for n in shuffled[:singles]:
        assert webhook_event_process(event_id=ids[n]).state == "processed"
    for n in shuffled[singles:]:
        webhook_events_process_batch(event_id=ids[n], limit=limit)
    assert not WebhookEvent.objects.exclude(state=State.PROCESSED).filter(pk__in=ids).exists()
    want = {
        d["number"]: (
            d["status"],
            d["online"],
            *sync_reason_words(d["reason"]),
            T0 + timedelta(milliseconds=n),
        )
        for n, d in enumerate(deliveries)  # the last received wins
    }
    got = {
        a.whatsapp: (a.status, a.online_status, a.reason_code, a.reason, a.online_status_at)
        for a in WhatsAppAccount.objects.filter(whatsapp__in=NUMBERS)
    }
    assert got == want
