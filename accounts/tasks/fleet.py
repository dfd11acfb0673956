"""Celery entry points for the accounts console (thin: load by id, call a service)."""

from __future__ import annotations

from typing import Any

from accounts.services import contacts, fleet
from core.tasks import FAST, SLOW, task

BEAT: dict[str, dict[str, Any]] = {
    "accounts-bulk-jobs-requeue": {"task": "accounts.bulk_jobs_requeue", "schedule": 60.0},
}

__all__ = ["bulk_job_run", "bulk_jobs_requeue", "contact_lookup_run", "import_run"]


@task(queue=FAST, soft_time_limit=600, time_limit=660, name="accounts.bulk_job_run")
def bulk_job_run(job_id: int) -> None:
    fleet.bulk_job_run(job_id=job_id)


@task(queue=SLOW, soft_time_limit=1800, time_limit=1900, name="accounts.import_run")
def import_run(job_id: int) -> None:
    fleet.bulk_job_run(job_id=job_id)


@task(queue=SLOW, name="accounts.contact_lookup_run")
def contact_lookup_run(lookup_id: int) -> None:
    contacts.contact_lookup_run(lookup_id=lookup_id)


@task(queue=FAST, retry_transient=False, name="accounts.bulk_jobs_requeue")
def bulk_jobs_requeue() -> int:
    """Jobs whose message the broker lost are sent again (accounts.services.fleet)."""
    return fleet.bulk_jobs_requeue()
