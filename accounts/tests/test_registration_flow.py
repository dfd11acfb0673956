"""Registration end to end against the strict simulator: the vendor's
syncStatus webhook, signed, through the live server and a real worker, onto the page and
into the fleet."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Registration, WhatsAppAccount
from tests.fixtures import People, client_for
from tests.waiting import wait_for

PHONE = {
    "country_code": "CN",
    "area_code": "+86",
    "phone": "138 1234 5670",
    "verify_type": 0,
    "account_type": 2,
}
NUMBER = "8613812345670"


def submit_phone(client: Any, simulator: Any) -> tuple[Registration, Any]:
    response = client.post("/accounts/register/", PHONE)
    assert response.status_code == 302, response.content
    reg = Registration.objects.latest("id")
    sim_reg = simulator.state.registrations[int(reg.task_id)]
    return reg, sim_reg


def final(reg: Registration) -> bool:
    reg.refresh_from_db()
    return reg.state in (Registration.State.SUCCEEDED, Registration.State.FAILED)


@pytest.mark.django_db(transaction=True)
def test_registered_number_appears_in_the_fleet(
    people: People, simulator: Any, live_server: Any, celery_worker_live: Any
) -> None:
    simulator.set_webhook_base(live_server.url)
    sup = client_for(people.supervisor)
    reg, sim_reg = submit_phone(sup, simulator)
    response = sup.post(f"/accounts/register/{reg.pk}/", {"code": sim_reg.code})
    assert response.status_code == 302
    simulator.wait_deliveries(20)
    wait_for(lambda: final(reg))
    assert reg.state == Registration.State.SUCCEEDED
    account = WhatsAppAccount.objects.get(whatsapp=NUMBER)
    assert account.account_type == 2
    fleet = sup.get("/accounts/").content.decode()
    assert NUMBER in fleet
    poll = sup.get(f"/accounts/register/{reg.pk}/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 286  # finished: the page stops waiting
    html = poll.content.decode()
    assert "Registered" in html and f"/accounts/{NUMBER}/" in html


@pytest.mark.django_db(transaction=True)
def test_wrong_code_is_an_error_on_the_page_and_stops_waiting(
    people: People, simulator: Any, live_server: Any, celery_worker_live: Any
) -> None:
    simulator.set_webhook_base(live_server.url)
    sup = client_for(people.supervisor)
    reg, sim_reg = submit_phone(sup, simulator)
    wrong = "000000" if sim_reg.code != "000000" else "111111"
    response = sup.post(f"/accounts/register/{reg.pk}/", {"code": wrong})
    assert response.status_code == 302
    simulator.wait_deliveries(20)
    wait_for(lambda: final(reg))
    assert reg.state == Registration.State.FAILED
    poll = sup.get(f"/accounts/register/{reg.pk}/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 286  # refused: no more waiting
    html = poll.content.decode()
    assert 'class="bad"' in html and "verification code" in html
    assert "every 3s" not in html
    page = sup.get(f"/accounts/register/{reg.pk}/").content.decode()
    assert "verification code" in page and 'name="code"' not in page
    assert not WhatsAppAccount.objects.filter(whatsapp=NUMBER).exists()


def test_refused_phone_stops_waiting(people: People, simulator: Any) -> None:
    simulator.set_faults(1.0, ["business"], paths=["/register/submitPhone"])
    sup = client_for(people.supervisor)
    response = sup.post("/accounts/register/", PHONE)
    assert response.status_code == 302
    reg = Registration.objects.get()
    assert reg.state == Registration.State.FAILED and reg.error
    poll = sup.get(f"/accounts/register/{reg.pk}/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 286
    page = sup.get(f"/accounts/register/{reg.pk}/").content.decode()
    assert reg.error in page and "every 3s" not in page and 'name="code"' not in page
