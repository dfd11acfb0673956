"""Envelope codes per family, what a failure says, the record is kept; GET calls carry
Content-Type; port jobs do not re-fail finished items,
against the simulator."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from accounts.models import BulkJob, Registration
from accounts.services import fleet, registration
from accounts.tests.helpers import make_account
from ports import services as ports
from ports.models import CloudPort
from tests.fixtures import client_for
from upstream import operations
from upstream.codes import Family, is_transient
from upstream.errors import UpstreamError, UpstreamUnavailable, VendorBusy, unavailable_message

pytestmark = pytest.mark.django_db


def test_codes_are_read_per_family() -> None:
    # Documented business codes are final; the same number is not transient elsewhere.
    assert not is_transient(Family.QR, 1002, "Current port does not exist or has been released")
    assert not is_transient(Family.ACCOUNT, 400, "Missing required parameter: phone")
    # "System busy" and server-side codes no table documents are transient.
    assert is_transient(Family.ACCOUNT, 500, "System busy, please try again later")
    assert is_transient(Family.QR, 503, "")
    assert is_transient(Family.ACTION, 1500, "系统繁忙")
    # qrCodeTask/create's documented failure cases are final even with code 500.
    assert not is_transient(Family.SCAN_TASK, 500, "Insufficient port quota")
    assert is_transient(Family.SCAN_TASK, 500, "Internal error")


def test_business_code_is_final_with_its_label_and_busy_is_transient(simulator: Any) -> None:
    simulator.set_faults(1.0, ["business"])
    with pytest.raises(UpstreamError) as final:
        operations.offline(id="ad518a4271fa43c8937612c5f60396f8")  # QR family: 1002
    assert final.value.code == 1002 and "released" in final.value.message
    with pytest.raises(UpstreamError) as refused:
        operations.batch_recycle(whatsapps=["8613800000001"])  # account family: invalid
    assert refused.value.code == 400 and not isinstance(refused.value, VendorBusy)
    simulator.set_faults(1.0, ["busy"])
    with pytest.raises(VendorBusy) as busy:
        operations.batch_recycle(whatsapps=["8613800000001"])  # account family: system busy
    assert busy.value.code == 500 and "busy" in unavailable_message(busy.value)


def test_http_500_says_the_vendor_answered_with_an_error(simulator: Any) -> None:
    simulator.set_faults(1.0, ["500"])
    with pytest.raises(UpstreamUnavailable) as exc:
        operations.select_cloud_port()
    text = unavailable_message(exc.value)
    assert "answered with an error (HTTP 500)" in text and "in time" not in text


def test_timeout_on_batch_online_says_the_change_may_have_happened(
    people: Any, simulator: Any, settings: Any
) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    a = make_account("8613800000771", with_keys=True)
    simulator.set_faults(1.0, ["timeout"], timeout_seconds=0.8)
    job = fleet.bulk_job_create(actor=people.supervisor, kind="online", accounts=[a])
    fleet.bulk_job_run(job_id=job.pk)
    item = job.items.get()
    assert item.state == "failed" and "may have happened" in item.error
    assert "Nothing" not in item.error and item.attempts == 1  # not sent again blindly
    time.sleep(0.8)  # the simulator did the work after the caller gave up
    assert simulator.state.accounts[a.whatsapp].online_status in (1, 2)


def test_timeout_on_submit_phone_keeps_the_registration(
    people: Any, simulator: Any, settings: Any
) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    simulator.set_faults(1.0, ["timeout"], timeout_seconds=0.8)
    reg = registration.registration_submit_phone(
        actor=people.supervisor,
        phone="13800138000",
        area_code="+86",
        country_code="CN",
        verify_type=0,
        account_type=1,
    )
    stored = Registration.objects.get(pk=reg.pk)  # saved before the call, kept after it
    assert stored.state == Registration.State.PHONE_SUBMITTED
    assert "may have happened" in stored.error and "Nothing was submitted" not in stored.error
    page = client_for(people.supervisor).get(f"/accounts/register/{reg.pk}/").content.decode()
    assert "may have happened" in page


def test_get_calls_carry_content_type(simulator: Any) -> None:
    operations.select_cloud_port()
    operations.select_cloud_port_detail()
    operations.query_whatsapp_status()
    operations.select_pair_target()
    with pytest.raises(UpstreamError):  # not an id preGenerate issued: 1002, but sent
        operations.select_contact(id="x")
    gets = [c for c in simulator.calls() if c["method"] == "GET"]
    assert len(gets) == 5
    assert all(c["content_type"] == "application/json" for c in gets)


def _seed_first_ok_then_fault(rate: float) -> int:
    """A fault seed whose first port call passes and whose second one fails."""
    for seed in range(10_000):
        rng = random.Random(seed)
        if rng.random() >= rate and rng.random() < rate:
            return seed
    raise AssertionError("no seed")


def test_port_job_transient_error_does_not_refail_finished_items(
    people: Any, simulator: Any
) -> None:
    numbers = ["8613800000881", "8613800000882"]
    for number in numbers:
        make_account(number)
        port = simulator.state.pre_generate(type_=1, target=None)
        simulator.scan(port.session_id, number)
        CloudPort.objects.create(
            port_id=str(port.port_id), pregenerate_id=port.session_id, phone=number, status=10
        )
    accounts = [fleet.WhatsAppAccount.objects.get(whatsapp=n) for n in numbers]
    simulator.set_faults(
        0.5, ["500"], paths=["/qrCode/offline"], seed=_seed_first_ok_then_fault(0.5)
    )
    job = fleet.bulk_job_create(actor=people.supervisor, kind="port_offline", accounts=accounts)
    fleet.bulk_job_run(job_id=job.pk)
    first = job.items.get(whatsapp=numbers[0])
    assert first.state == "ok" and first.error == "" and first.attempts == 1
    # The first port's offline went out once: it was not re-failed nor sent again.
    sent = [c["body"]["id"] for c in simulator.calls("/qrCode/offline") if not c.get("fault")]
    first_port = CloudPort.objects.get(phone=numbers[0])
    assert sent.count(first_port.pregenerate_id) == 1
    job.refresh_from_db()
    assert job.state == BulkJob.State.DONE and job.ok_count >= 1


def test_reconcile_writes_ports_like_the_ports_page(people: Any, simulator: Any) -> None:
    """One writer: reconcile stores an unused port with its lock, like the ports page."""
    from accounts.services.reconcile import upstream_reconcile

    simulator.state.pre_generate(type_=1, target=None)  # locked, unused
    report = upstream_reconcile()
    assert report.ok, report.errors
    port = CloudPort.objects.get()
    assert port.locked_until is not None and port.created_at_upstream is not None
    assert (port.locked_until - port.created_at_upstream).total_seconds() == pytest.approx(600)
    ports.ports_refresh()  # the page's refresh gives the same row
    again = CloudPort.objects.get()
    assert again.locked_until == port.locked_until and not again.released
