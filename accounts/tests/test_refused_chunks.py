"""A refused bulk chunk is split until the refused records are alone: only they fail, with
the vendor's reason, and "Retry failed" resends only them (the simulator's
`reimport-refused` profile: batchInsert refuses a number the vendor already holds)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import BulkJob, BulkJobItem
from accounts.services import fleet
from accounts.tests.helpers import account_row
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

HELD = ("573120008017", "573120008043")


def sent_numbers(simulator: Any) -> list[list[str]]:
    return [
        [r["whatsApp"] for r in c["body"]["whatsAppList"]]
        for c in simulator.calls("/whatsapp/batchInsert")
    ]


def test_only_the_refused_records_fail_and_retry_resends_only_them(
    people: Any, simulator: Any
) -> None:
    simulator.set_profile("reimport-refused")
    for number in HELD:
        simulator.state.set_account(number)  # the vendor already holds these
    numbers = [f"5731200080{n:02d}" for n in range(60)]  # two chunks of 50 and 10
    api = client_for(people.supervisor)
    body = {"whatsAppList": [account_row(n) for n in numbers], "replace_keys": True}
    resp = api.post("/api/v1/imports/", body, content_type="application/json")
    assert resp.status_code == 202, resp.content
    job = BulkJob.objects.get(pk=resp.json()["id"])
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.ok_count, job.failed_count) == (58, 2)
    failed = {i.whatsapp: i.error for i in job.items.filter(state=BulkJobItem.State.FAILED)}
    assert set(failed) == set(HELD)
    for number, error in failed.items():
        assert number in error and "already exists" in error  # the vendor's own reason
    accepted = {n for call in sent_numbers(simulator) for n in call} - set(HELD)
    assert accepted == set(numbers) - set(HELD)

    before = len(simulator.calls("/whatsapp/batchInsert"))
    assert fleet.bulk_job_retry_failed(actor=people.supervisor, job=job) == 2
    fleet.bulk_job_run(job_id=job.pk)
    retried = sent_numbers(simulator)[before:]
    assert {n for call in retried for n in call} == set(HELD)


def test_a_chunk_the_vendor_accepts_is_one_call(people: Any, simulator: Any) -> None:
    numbers = [f"5731200081{n:02d}" for n in range(50)]
    api = client_for(people.supervisor)
    body = {"whatsAppList": [account_row(n) for n in numbers], "replace_keys": True}
    job_id = api.post("/api/v1/imports/", body, content_type="application/json").json()["id"]
    fleet.bulk_job_run(job_id=job_id)
    assert len(simulator.calls("/whatsapp/batchInsert")) == 1
