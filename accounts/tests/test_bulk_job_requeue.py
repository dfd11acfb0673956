"""A bulk job whose message the broker lost (Redis restarted without persistence, or down
when the job was created), or whose runner died (its worker killed mid-way), is sent again
by the beat; a second message for the same job never runs it twice at once (one runner per
job, a PostgreSQL advisory lock), and a runner taking a job over never sends again what
the dead one had started sending (bench/faults.py --scenario worker-kill-lane)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import BulkJob, BulkJobItem
from accounts.services import fleet
from core.tasks import collect_beat_schedule
from tests.fixtures import People

pytestmark = pytest.mark.django_db


def _job(people: People, state: str, age_s: float, kind: str = BulkJob.Kind.RECYCLE) -> BulkJob:
    job = BulkJob.objects.create(kind=kind, created_by=people.admin, total=1)
    BulkJobItem.objects.create(job=job, whatsapp="8613900000031")
    then = timezone.now() - timedelta(seconds=age_s)
    BulkJob.objects.filter(pk=job.pk).update(state=state, created_at=then, started_at=then)
    job.refresh_from_db()
    return job


def _other_connection() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    return psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")},
        autocommit=True,
    )


def test_jobs_queued_too_long_or_left_by_a_dead_runner_are_sent_again(
    people: People, django_capture_on_commit_callbacks: Any
) -> None:
    lost = _job(people, BulkJob.State.QUEUED, 600)
    _job(people, BulkJob.State.QUEUED, 5)  # its message is on its way
    orphan = _job(people, BulkJob.State.RUNNING, 5)  # no runner holds its lock
    worked = _job(people, BulkJob.State.RUNNING, 600)  # its runner is alive
    _job(people, BulkJob.State.DONE, 600)
    runner = _other_connection()
    try:
        runner.execute("SELECT pg_advisory_lock(%s, %s)", [fleet._RUNNER_LOCK, worked.pk])
        with django_capture_on_commit_callbacks() as sent:
            assert fleet.bulk_jobs_requeue(older_than=120) == 2
    finally:
        runner.close()
    assert len(sent) == 2
    assert lost.pk and orphan.pk
    # The requeue left no lock behind: the job's next runner takes it.
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [fleet._RUNNER_LOCK, orphan.pk])
        assert cur.fetchone()[0]
        cur.execute("SELECT pg_advisory_unlock(%s, %s)", [fleet._RUNNER_LOCK, orphan.pk])
    assert any(
        entry["task"] == "accounts.bulk_jobs_requeue" for entry in collect_beat_schedule().values()
    )


def test_a_runner_taking_over_fails_what_the_dead_one_was_sending(
    people: People, simulator: Any
) -> None:
    """The dead runner had marked one item as being sent in its run: taken over, that item
    fails with the reason (it may be done at the vendor) and is not sent again; an item
    it never reached, and one only tried in an earlier run (retried since), are sent."""
    job = _job(people, BulkJob.State.RUNNING, 60)
    job.items.all().delete()
    now = timezone.now()
    sending = BulkJobItem.objects.create(job=job, whatsapp="8613900000041")
    earlier = BulkJobItem.objects.create(job=job, whatsapp="8613900000042")
    untouched = BulkJobItem.objects.create(job=job, whatsapp="8613900000043")
    BulkJobItem.objects.filter(pk=sending.pk).update(attempts=1, updated_at=now)
    BulkJobItem.objects.filter(pk=earlier.pk).update(
        attempts=1, updated_at=now - timedelta(hours=1)
    )
    for item in (sending, earlier, untouched):
        simulator.state.set_account(item.whatsapp)
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == BulkJob.State.DONE
    sent = [n for c in simulator.calls("/batchRecycle") for n in c["body"]["whatsAppList"]]
    assert sorted(sent) == sorted([earlier.whatsapp, untouched.whatsapp])
    sending.refresh_from_db()
    assert sending.state == BulkJobItem.State.FAILED
    assert "whether the vendor did it is unknown" in sending.error
    assert (job.ok_count, job.failed_count) == (2, 1)


def test_a_second_runner_of_the_same_job_returns_at_once(people: People) -> None:
    job = _job(people, BulkJob.State.QUEUED, 0)
    other = _other_connection()
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [fleet._RUNNER_LOCK, job.pk])
        assert fleet.bulk_job_run(job_id=job.pk) is None  # another runner holds the job
        job.refresh_from_db()
        assert job.state == BulkJob.State.QUEUED
        assert job.items.get().state == BulkJobItem.State.PENDING
    finally:
        other.close()
