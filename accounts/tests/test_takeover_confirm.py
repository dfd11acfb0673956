"""Taking over accounts (bulk online with override) logs them out wherever they are online
now: the page asks once more, naming the count, before anything is sent; without override
and with nothing to report, it starts at once. The API keeps its explicit `override`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import BulkJob
from accounts.tests.helpers import make_account
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def test_take_over_asks_with_the_count_before_anything_is_sent(people: Any, simulator: Any) -> None:
    accounts = [make_account(f"57312000010{i}", with_keys=True) for i in range(3)]
    ids = [a.pk for a in accounts]
    sup = client_for(people.supervisor)

    page = sup.post("/accounts/bulk/online/", {"ids": ids, "override": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Take over 3 accounts from their agents?" in html
    assert 'name="override" value="1"' in html and 'name="confirmed" value="1"' in html
    assert not BulkJob.objects.exists() and simulator.calls("/whatsapp/batchOnline") == []

    done = sup.post("/accounts/bulk/online/", {"ids": ids, "override": "1", "confirmed": "1"})
    job = BulkJob.objects.get()
    assert done.status_code == 302 and job.total == 3 and job.params["override"] is True


def test_one_account_is_asked_in_the_singular(people: Any) -> None:
    account = make_account("573120000110", with_keys=True)
    page = client_for(people.supervisor).post(
        "/accounts/bulk/online/", {"ids": [account.pk], "override": "1"}
    )
    assert "Take over 1 account from its agent?" in page.content.decode()


def test_without_override_a_clean_selection_starts_at_once(people: Any) -> None:
    account = make_account("573120000120", with_keys=True)
    resp = client_for(people.supervisor).post("/accounts/bulk/online/", {"ids": [account.pk]})
    assert resp.status_code == 302
    assert BulkJob.objects.get().params["override"] is False


def test_the_api_takes_override_as_an_explicit_parameter(people: Any) -> None:
    account = make_account("573120000130", with_keys=True)
    resp = client_for(people.supervisor).post(
        "/api/v1/jobs/",
        data=json.dumps({"action": "online", "whatsapps": [account.whatsapp], "override": True}),
        content_type="application/json",
    )
    assert resp.status_code == 202, resp.content
    assert BulkJob.objects.get().params["override"] is True
