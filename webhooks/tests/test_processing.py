"""Processing: claim, idempotency, sweeper, replay, and a worker killed mid-task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import StatusEvent, WhatsAppAccount
from core.models import AuditEntry
from tests.db_hold import hold, release, sleeping_backends
from tests.fixtures import client_for
from tests.waiting import wait_for as _wait
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services.maintenance import NotReplayable, webhook_event_replay, webhook_events_sweep
from webhooks.services.process import webhook_event_claim, webhook_event_process
from webhooks.services.receive import webhook_event_receive

BODY = [
    {
        "whatsId": "8613800000001",
        "status": 10,
        "detailStatus": 12,
        "account": "",
        "time": "2024-07-03 15:27:00",
        "platformType": 1,
    },
    {
        "whatsId": "8613800000001",
        "status": 20,
        "detailStatus": 21,
        "account": "",
        "time": "2024-07-03 15:28:00",
        "platformType": 1,
    },
    {
        "whatsId": "8613800000002",
        "status": 30,
        "detailStatus": 31,
        "account": "",
        "time": "2024-07-03 15:29:00",
        "platformType": 1,
    },
]
State = WebhookEvent.State


def receive(body: Any = BODY) -> int:
    receipt = webhook_event_receive(
        kind=WebhookKind.ONLINE_STATUS, body=json.dumps(body).encode(), headers={}
    )
    return receipt.event_id


def assert_applied_once() -> None:
    assert StatusEvent.objects.count() == 3
    a1 = WhatsAppAccount.objects.get(whatsapp="8613800000001")
    assert (a1.presence_status, a1.detail_status) == (20, 21)
    a2 = WhatsAppAccount.objects.get(whatsapp="8613800000002")
    assert a2.presence_status == 30


@pytest.mark.django_db
def test_claim_is_exclusive_and_processing_idempotent() -> None:
    event_id = receive()
    assert webhook_event_claim(event_id=event_id) is not None
    assert webhook_event_claim(event_id=event_id) is None  # already claimed, fresh
    assert webhook_event_process(event_id=event_id).state == "skipped"
    WebhookEvent.objects.filter(pk=event_id).update(state=State.PENDING)
    assert webhook_event_process(event_id=event_id).state == "processed"
    assert webhook_event_process(event_id=event_id).state == "skipped"
    event = WebhookEvent.objects.get(pk=event_id)
    assert event.state == State.PROCESSED and event.applied == 3 and event.records == 3
    # The same records in a second delivery add nothing to the history.
    again = receive(list(reversed(BODY)))
    assert webhook_event_process(event_id=again).state == "processed"
    assert WebhookEvent.objects.get(pk=again).applied == 0
    assert_applied_once()


@pytest.mark.django_db
def test_stale_claim_is_taken_over_and_applied_once() -> None:
    """A worker that died after claiming: the sweeper's re-enqueue finds it stale."""
    event_id = receive()
    assert webhook_event_claim(event_id=event_id) is not None
    assert webhook_event_process(event_id=event_id).state == "skipped"
    WebhookEvent.objects.filter(pk=event_id).update(
        claimed_at=timezone.now() - timedelta(minutes=5)
    )
    assert webhook_event_process(event_id=event_id).state == "processed"
    event = WebhookEvent.objects.get(pk=event_id)
    assert event.attempts == 2
    assert_applied_once()


@pytest.mark.django_db
def test_sweeper_picks_lost_and_stale_events() -> None:
    old = timezone.now() - timedelta(minutes=2)
    lost = receive()
    WebhookEvent.objects.filter(pk=lost).update(received_at=old)
    stale = receive()
    WebhookEvent.objects.filter(pk=stale).update(state=State.PROCESSING, claimed_at=old)
    fresh = receive()
    done = receive()
    WebhookEvent.objects.filter(pk=done).update(state=State.PROCESSED, received_at=old)
    from django.core.cache import cache

    for event_id in (lost, stale, fresh, done):
        cache.delete(f"webhooks:swept:{event_id}")
    assert webhook_events_sweep() == 2
    assert webhook_events_sweep() == 0  # at most once a minute per event


@pytest.mark.django_db
def test_replay_failed_and_rejected(people: Any) -> None:
    event_id = receive()
    WebhookEvent.objects.filter(pk=event_id).update(state=State.FAILED, error="boom")
    out = webhook_event_replay(event_id=event_id, actor=people.admin)
    assert out.state == State.PENDING
    assert webhook_event_process(event_id=event_id).state == "processed"
    assert_applied_once()
    bad = webhook_event_receive(kind=WebhookKind.ONLINE_STATUS, body=b"[{]", headers={})
    assert bad.state == State.REJECTED
    out = webhook_event_replay(event_id=bad.event_id, actor=people.admin)
    assert out.state == State.REJECTED and "not valid JSON" in out.error
    entries = AuditEntry.objects.filter(action="webhook.replay")
    assert entries.count() == 2
    assert {e.actor_name for e in entries} == {people.admin.username}
    # Through the page: admins only, POST only.
    url = f"/webhooks/{bad.event_id}/replay/"
    assert client_for(people.supervisor).post(url).status_code == 403
    assert client_for(people.admin).get(url).status_code == 405
    r = client_for(people.admin).post(url)
    assert r.status_code == 302, r
    assert r["Location"] == f"/webhooks/{bad.event_id}/", r["Location"]
    assert AuditEntry.objects.filter(action="webhook.replay").count() == 3


@pytest.mark.django_db
def test_an_event_stuck_in_processing_can_be_retried_from_the_inbox(people: Any) -> None:
    """Claimed long ago by a worker that never finished: the inbox offers "Process again",
    with the last error shown; a fresh claim (a live worker) is not offered."""
    event_id = receive()
    WebhookEvent.objects.filter(pk=event_id).update(
        state=State.PROCESSING, claimed_at=timezone.now(), error="worker lost: timeout"
    )
    admin = client_for(people.admin)
    page = admin.get(f"/webhooks/{event_id}/").content.decode()
    assert "worker lost: timeout" in page and f"/webhooks/{event_id}/replay/" not in page
    with pytest.raises(NotReplayable):
        webhook_event_replay(event_id=event_id, actor=people.admin)

    WebhookEvent.objects.filter(pk=event_id).update(
        claimed_at=timezone.now() - timedelta(minutes=5)
    )
    page = admin.get(f"/webhooks/{event_id}/").content.decode()
    assert f"/webhooks/{event_id}/replay/" in page
    assert admin.post(f"/webhooks/{event_id}/replay/").status_code == 302
    assert WebhookEvent.objects.get(pk=event_id).state == State.PENDING
    assert webhook_event_process(event_id=event_id).state == "processed"
    assert_applied_once()


def _db_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
    from config.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": _db_url(),
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "SB_BROKER_PREFIX": app.conf.broker_transport_options["global_keyprefix"],
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "webhooks.tests.worker_proc"],
        cwd=str(settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_task_applies_exactly_once() -> None:
    """A real worker process is caught with its apply transaction open and SIGKILLed; after
    a restart and the sweeper, the event is applied exactly once. The hold comes from
    outside, in the database: a trigger sleeps when the event is marked processed, after
    the apply and before the commit."""
    table = WebhookEvent._meta.db_table
    hold(table, "processing", "processed")
    first = _start_worker({})
    second = None
    try:
        event_id = receive()  # committed (autocommit): the task is enqueued on commit
        _wait(sleeping_backends, 60, "the worker to hold its apply transaction")
        event = WebhookEvent.objects.get(pk=event_id)
        assert event.state == State.PROCESSING and event.attempts == 1
        assert StatusEvent.objects.count() == 0  # the apply transaction is still open
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        release(table)  # its connection dies with it: roll it back now
        assert WebhookEvent.objects.get(pk=event_id).state == State.PROCESSING
        assert StatusEvent.objects.count() == 0  # rolled back with the dead connection
        # Time passes: the claim goes stale; the beat sweeper re-enqueues it.
        WebhookEvent.objects.filter(pk=event_id).update(
            claimed_at=timezone.now() - timedelta(minutes=5)
        )
        second = _start_worker({})
        assert webhook_events_sweep() == 1
        _wait(
            lambda: WebhookEvent.objects.get(pk=event_id).state == State.PROCESSED,
            60,
            "the restarted worker to apply the event",
        )
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        release(table)
    event = WebhookEvent.objects.get(pk=event_id)
    assert event.attempts == 2 and event.applied == 3
    assert_applied_once()


@pytest.mark.django_db(transaction=True)
def test_receiver_to_live_worker(celery_worker_live: Any) -> None:
    """The receiver's on-commit enqueue reaches a real worker, which applies the event."""
    from webhooks.tests.helpers import post

    r = post(Client(), WebhookKind.ONLINE_STATUS, {"whatsAppList": BODY})
    assert r.status_code == 200
    _wait(
        lambda: WebhookEvent.objects.filter(state=State.PROCESSED).count() == 1,
        30,
        "the worker",
    )
    assert_applied_once()


def _fast_queue_length() -> int:
    """Task messages waiting in the broker's fast queue (this test process's own keys)."""
    import redis

    from config.celery import app

    prefix = app.conf.broker_transport_options["global_keyprefix"]
    return int(redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(f"{prefix}fast"))


def _purge_fast_queue() -> None:
    import redis

    from config.celery import app

    prefix = app.conf.broker_transport_options["global_keyprefix"]
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(f"{prefix}fast")


def _presence(n: int) -> dict[str, Any]:
    return {
        "whatsAppList": [
            {
                "whatsId": f"86139{n:08d}",
                "status": 10,
                "detailStatus": 12,
                "account": "",
                "time": "2024-07-03 15:27:00",
                "platformType": 1,
            }
        ]
    }


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_deliveries_queues_one_task_and_it_applies_them_all() -> None:
    """Deliveries received while a processing task waits in the queue send none of their
    own: the waiting task claims them all when it starts. A delivery received after it
    started sends a task again (none is left waiting for it)."""
    from webhooks.services.process import webhook_events_drain
    from webhooks.services.receive import drain_started
    from webhooks.tests.helpers import post

    drain_started()
    _purge_fast_queue()
    client = Client()
    for n in range(20):
        assert post(client, WebhookKind.ONLINE_STATUS, _presence(n)).status_code == 200
    assert WebhookEvent.objects.filter(state=State.PENDING).count() == 20
    assert _fast_queue_length() == 1

    first = WebhookEvent.objects.order_by("id").first()
    assert first is not None
    outcome = webhook_events_drain(event_id=first.pk)  # what the queued task runs
    assert (outcome.claimed, outcome.processed) == (20, 20)
    assert WebhookEvent.objects.filter(state=State.PROCESSED).count() == 20
    # A batch of more than one is followed by another task (a longer backlog), once.
    assert _fast_queue_length() == 2

    drain_started()  # that task starts: the next delivery must not wait on it
    assert post(client, WebhookKind.ONLINE_STATUS, _presence(20)).status_code == 200
    assert _fast_queue_length() == 3
    _purge_fast_queue()


@pytest.mark.django_db(transaction=True)
def test_a_burst_reaches_a_live_worker_and_every_delivery_is_applied(
    celery_worker_live: Any,
) -> None:
    """With a real worker consuming, a burst of deliveries (most of them sending no task of
    their own) is applied whole: none is left pending."""
    from webhooks.tests.helpers import post

    client = Client()
    for n in range(60):
        assert post(client, WebhookKind.ONLINE_STATUS, _presence(n)).status_code == 200
    _wait(
        lambda: WebhookEvent.objects.filter(state=State.PROCESSED).count() == 60,
        30,
        "the worker to apply every delivery",
    )
    assert StatusEvent.objects.count() == 60
