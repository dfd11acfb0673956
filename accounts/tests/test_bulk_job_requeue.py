"""A bulk job whose message the broker lost (Redis restarted without persistence, or down
when the job was created) is sent again by the beat; a second message for the same job
never runs it twice at once (one runner per job, a PostgreSQL advisory lock)."""

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


def _job(people: People, state: str, age_s: float) -> BulkJob:
    job = BulkJob.objects.create(kind=BulkJob.Kind.RECYCLE, created_by=people.admin, total=1)
    BulkJobItem.objects.create(job=job, whatsapp="8613900000031")
    BulkJob.objects.filter(pk=job.pk).update(
        state=state, created_at=timezone.now() - timedelta(seconds=age_s)
    )
    return job


def test_jobs_queued_too_long_are_sent_again(
    people: People, django_capture_on_commit_callbacks: Any
) -> None:
    lost = _job(people, BulkJob.State.QUEUED, 600)
    _job(people, BulkJob.State.QUEUED, 5)  # its message is on its way
    _job(people, BulkJob.State.RUNNING, 600)
    _job(people, BulkJob.State.DONE, 600)
    with django_capture_on_commit_callbacks() as sent:
        assert fleet.bulk_jobs_requeue(older_than=120) == 1
    assert len(sent) == 1
    assert lost.pk
    assert any(
        entry["task"] == "accounts.bulk_jobs_requeue" for entry in collect_beat_schedule().values()
    )


def test_a_second_runner_of_the_same_job_returns_at_once(people: People) -> None:
    job = _job(people, BulkJob.State.QUEUED, 0)
    params = connection.get_connection_params()
    other = psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")},
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [fleet._RUNNER_LOCK, job.pk])
        assert fleet.bulk_job_run(job_id=job.pk) is None  # another runner holds the job
        job.refresh_from_db()
        assert job.state == BulkJob.State.QUEUED
        assert job.items.get().state == BulkJobItem.State.PENDING
    finally:
        other.close()
