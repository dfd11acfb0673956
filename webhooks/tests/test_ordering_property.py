"""Property: whatever the delivery sequence (duplicates, reordering, batch splits, replays,
re-runs of the task), the final presence of each account is the newest record by event time
(ties: the later receipt), and the history holds each distinct record exactly once.

The service layer is called directly (the receiver path is covered in test_receivers); each
example runs in its own savepoint inside the test's transaction and is rolled back.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import StatusEvent, WhatsAppAccount
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.payloads import parse_online_status
from webhooks.services.process import webhook_event_process
from webhooks.services.receive import webhook_event_receive

EXAMPLES = int(os.environ.get("SB_PROPERTY_EXAMPLES", "1000"))
NUMBERS = ["8613800000001", "8613800000002", "8613800000003"]
BASE = datetime(2024, 7, 3, 7, 0, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class _Rollback(Exception):
    pass


record = st.fixed_dictionaries(
    {
        "number": st.sampled_from(NUMBERS),
        "key": st.sampled_from(["whatsId", "whatsApp", "whatsapp", ""]),
        "status": st.sampled_from([1, 10, 20, 30, 40, "10", "20"]),
        "detailStatus": st.sampled_from([11, 12, 21, 31, 41, "12", None]),
        "account": st.sampled_from(["", "alice01", "zed"]),
        "platformType": st.sampled_from([1, 2, "1"]),
        # few distinct seconds: many ties on event time
        "second": st.integers(min_value=0, max_value=3),
        "time_form": st.sampled_from(["text", "ms", "s"]),
    }
)


def vendor_record(r: dict[str, Any]) -> dict[str, Any]:
    moment = BASE + timedelta(seconds=r["second"])
    if r["time_form"] == "text":
        t: Any = (moment + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    elif r["time_form"] == "ms":
        t = int(moment.timestamp() * 1000)
    else:
        t = str(int(moment.timestamp()))
    out = {
        r["key"]: r["number"],
        "status": r["status"],
        "account": r["account"],
        "time": t,
        "platformType": r["platformType"],
    }
    if r["detailStatus"] is not None:
        out["detailStatus"] = r["detailStatus"]
    return out


@st.composite
def scenario(draw: Any) -> dict[str, Any]:
    pool = draw(st.lists(record, min_size=1, max_size=8))
    # Deliveries: batches of pool indices (batch splits, duplicates within a batch).
    batches = draw(
        st.lists(
            st.lists(st.integers(0, len(pool) - 1), min_size=0, max_size=6),
            min_size=1,
            max_size=6,
        )
    )
    wrapped = draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)))
    order = draw(st.permutations(range(len(batches))))  # processing order (reordering)
    # Re-runs: the task delivered again for a processed event, and forced re-application
    # (the event set back to pending, as after a crash right after its commit).
    reruns = draw(st.lists(st.integers(0, len(batches) - 1), max_size=3))
    forced = draw(st.lists(st.integers(0, len(batches) - 1), max_size=3))
    return {
        "pool": pool,
        "batches": batches,
        "wrapped": wrapped,
        "order": order,
        "reruns": reruns,
        "forced": forced,
    }


def expected(sc: dict[str, Any]) -> tuple[dict[str, tuple[Any, ...]], set[str]]:
    """The oracle: per account, the max over (record, delivery) of (event time, receipt,
    position in its delivery); the set of distinct dedupe keys."""
    best: dict[str, tuple[Any, ...]] = {}
    keys: set[str] = set()
    for d, batch in enumerate(sc["batches"]):
        body = [vendor_record(sc["pool"][i]) for i in batch]
        for rec in parse_online_status(body):
            keys.add(rec.dedupe_key)
            rank = (rec.event_time, d, rec.position)
            state = (rec.status, rec.detail_status, rec.agent_account, rec.platform, rec.event_time)
            if rec.whatsapp not in best or rank > best[rec.whatsapp][0]:
                best[rec.whatsapp] = (rank, state)
    return {n: v[1] for n, v in best.items()}, keys


def on_the_database(examples: int) -> settings:
    """Hypothesis settings for a property checked against the database, each example rolled
    back: no deadline (the database's pace varies), pytest's function-scoped `db` is fine
    (nothing is left between examples), and no example database."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )


@pytest.mark.django_db
@on_the_database(EXAMPLES)
@given(sc=scenario())
def test_final_state_is_newest_record_and_history_is_exact(sc: dict[str, Any]) -> None:
    try:
        with transaction.atomic():
            run(sc)
            raise _Rollback
    except _Rollback:
        pass


def assert_newest_wins_and_history_exact(sc: dict[str, Any]) -> None:
    """Each account holds its newest record; the history holds each distinct one once."""
    want, keys = expected(sc)
    history = list(StatusEvent.objects.values_list("dedupe_key", flat=True))
    assert len(history) == len(set(history)) == len(keys)
    assert set(history) == keys
    got = {
        a.whatsapp: (
            a.presence_status,
            a.detail_status,
            a.agent_account,
            a.platform,
            a.last_event_at,
        )
        for a in WhatsAppAccount.objects.filter(whatsapp__in=NUMBERS)
    }
    assert got == want


def receive_all(sc: dict[str, Any]) -> list[int]:
    """The scenario's deliveries received in order (some wrapped, as the vendor may)."""
    ids = []
    for d, batch in enumerate(sc["batches"]):
        records = [vendor_record(sc["pool"][i]) for i in batch]
        body = {"whatsAppList": records} if sc["wrapped"][d] else records
        receipt = webhook_event_receive(
            kind=WebhookKind.ONLINE_STATUS,
            body=json.dumps(body).encode(),
            headers={},
            received_at=T0 + timedelta(milliseconds=d),
        )
        assert receipt.state == "pending"
        ids.append(receipt.event_id)
    return ids


def run(sc: dict[str, Any]) -> None:
    ids = receive_all(sc)
    for d in sc["order"]:
        assert webhook_event_process(event_id=ids[d]).state == "processed"
    for d in sc["reruns"]:
        assert webhook_event_process(event_id=ids[d]).state == "skipped"
    for d in sc["forced"]:
        WebhookEvent.objects.filter(pk=ids[d]).update(state=WebhookEvent.State.PENDING)
        assert webhook_event_process(event_id=ids[d]).state == "processed"

    assert_newest_wins_and_history_exact(sc)
