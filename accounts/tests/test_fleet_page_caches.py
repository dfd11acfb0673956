"""The fleet page's caches (its shell, results, recent jobs, scope names) never show an
earlier state: whatever the page depends on, a change shows on the very next request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.access import accounts_visible_to, all_accounts
from accounts.models import BulkJob, WhatsAppAccount
from accounts.selectors import _scope_key
from accounts.services import fleet as fleet_services
from accounts.tests.helpers import make_account
from core import fragments
from core.models import Preferences
from core.roles import Role
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def _steady(html: str) -> str:
    """The page without what differs on every view (the CSRF token's mask, the time)."""
    html = re.sub(r'value="[A-Za-z0-9]{64}"', 'value="-"', html)
    html = re.sub(r'"X-CSRFToken": "[A-Za-z0-9]{64}"', '"X-CSRFToken": "-"', html)
    return re.sub(r"since=[0-9.]+", "since=-", html)


@pytest.fixture
def fleet(people: People) -> None:
    make_account("8613800000001", agent="alice01", name="Alice phone")
    make_account("8613800000002", agent="bob01", name="Bob phone")


@pytest.mark.parametrize("who", ["supervisor", "agent", "admin"])
@pytest.mark.parametrize("query", ["", "?sort=-name&q=86138", "?q=nothing-matches"])
def test_a_page_from_its_cached_shell_is_the_page_rendered_afresh(
    people: People, fleet: None, who: str, query: str
) -> None:
    client = client_for(getattr(people, who))
    fragments._shells.clear()
    fresh = client.get("/accounts/" + query).content.decode()
    assert fragments._shells  # kept
    again = client.get("/accounts/" + query).content.decode()
    assert _steady(again) == _steady(fresh)
    assert 'name="csrfmiddlewaretoken"' in again and "<sb-slot" not in again
    zh = client.get("/accounts/" + query, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    fragments._shells.clear()
    zh_fresh = client.get("/accounts/" + query, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert _steady(zh) == _steady(zh_fresh) != _steady(fresh)


def test_each_view_has_its_own_csrf_token_and_live_address(people: People, fleet: None) -> None:
    client = client_for(people.supervisor)
    client.get("/accounts/")
    first, second = (client.get("/accounts/").content.decode() for _ in range(2))
    token = re.compile(r'"X-CSRFToken": "([A-Za-z0-9]{64})"')
    assert token.search(first) and token.search(second)
    assert token.search(first)[1] != token.search(second)[1]  # type: ignore[index]
    assert re.search(r'sse-connect="/live/\?since=[0-9.]+"', second)


def test_a_role_given_shows_on_the_next_request(people: People, fleet: None) -> None:
    client = client_for(people.agent)
    body = client.get("/accounts/").content.decode()
    assert "8613800000002" not in body and "Import accounts" not in body
    people.agent.groups.add(Group.objects.get(name=Role.SUPERVISOR.value))
    body = client.get("/accounts/").content.decode()
    assert "8613800000002" in body and "Import accounts" in body
    assert reverse("accounts:logs") in body  # the supervisor's menu


def test_a_name_and_a_time_zone_changed_show_on_the_next_request(
    people: People, fleet: None
) -> None:
    client = client_for(people.supervisor)
    assert 'Times in <span translate="no">UTC</span>' in client.get("/accounts/").content.decode()
    Preferences.objects.create(user=people.supervisor, time_zone="Asia/Shanghai")
    people.supervisor.username = "samuel"
    people.supervisor.save(update_fields=["username"])
    body = client.get("/accounts/").content.decode()
    assert "Asia/Shanghai" in body and "samuel" in body


def test_the_address_shows_on_the_next_request(people: People, fleet: None) -> None:
    client = client_for(people.supervisor)
    body = client.get("/accounts/?country=CN").content.decode()
    assert '<input type="hidden" name="country" value="CN">' in body
    assert 'name="next" type="hidden" value="/accounts/?country=CN"' in body
    body = client.get("/accounts/").content.decode()
    assert 'name="country" value="CN"' not in body
    assert 'name="next" type="hidden" value="/accounts/"' in body


def test_a_flash_message_shows_once(people: People, fleet: None) -> None:
    client = client_for(people.supervisor)
    client.get("/accounts/")
    client.post(reverse("accounts:bulk_online"), {})  # nothing selected: a warning
    assert "flash-warning" in client.get("/accounts/").content.decode()
    assert "flash-warning" not in client.get("/accounts/").content.decode()


def test_rows_tiles_and_pager_follow_the_accounts(people: People, fleet: None) -> None:
    client = client_for(people.supervisor)
    body = client.get("/accounts/").content.decode()
    assert "1–2 of 2" in body and "8613800000009" not in body
    make_account("8613800000009", agent="bob01", name="Carol phone")
    body = client.get("/accounts/").content.decode()
    assert "1–3 of 3" in body and "Carol phone" in body
    assert '<span class="tile-n">3</span><span>All</span>' in body
    WhatsAppAccount.objects.filter(whatsapp="8613800000009").update(name="Dave phone")
    body = client.get("/accounts/").content.decode()
    assert "Dave phone" in body and "Carol phone" not in body


def test_a_job_started_or_changed_shows_on_the_next_request(
    people: People, fleet: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(people.supervisor)
    assert "Recent bulk jobs" not in client.get("/accounts/").content.decode()
    accounts = list(WhatsAppAccount.objects.all())
    with django_capture_on_commit_callbacks(execute=True):  # as it commits in production
        job = fleet_services.bulk_job_create(
            actor=people.supervisor, kind=BulkJob.Kind.RECYCLE, accounts=accounts
        )
    body = client.get("/accounts/").content.decode()
    assert "Recent bulk jobs" in body and f"#{job.pk}" in body and "0/2" in body
    with django_capture_on_commit_callbacks(execute=True):  # a counted update(), no save()
        job.items.update(state="ok")
        fleet_services._refresh_counts(job)
    assert "2/2" in client.get("/accounts/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert "Recent bulk jobs" not in client.get("/accounts/").content.decode()


def test_scopes_are_named_apart(people: People) -> None:
    keys = {
        _scope_key(accounts_visible_to(people.supervisor)),
        _scope_key(accounts_visible_to(people.agent)),
        _scope_key(accounts_visible_to(people.peer)),
        _scope_key(accounts_visible_to(None)),
    }
    assert len(keys) == 4
    assert _scope_key(all_accounts()) == _scope_key(accounts_visible_to(people.admin))
    narrowed = accounts_visible_to(people.supervisor).filter(country="CN")
    assert _scope_key(narrowed) not in keys  # a filtered copy is a scope of its own


def _pager_count(html: str) -> str:
    found = re.search(r"data-pager-count[^>]*>([^<]*)<", html)
    return found[1].strip() if found else ""


@pytest.mark.django_db(transaction=True)
def test_a_count_kept_for_a_filter_follows_a_vendor_change_on_the_next_request(
    people: People, fleet: None
) -> None:
    """The agent's count of their disconnected accounts is kept between views, and a
    webhook that disconnects one shows in it on the very next view."""
    import json

    from webhooks.models import WebhookKind
    from webhooks.services.process import webhook_event_process
    from webhooks.services.receive import webhook_event_receive

    client = client_for(people.agent)
    make_account("8613800000003", agent="alice01", name="Alice second phone")
    url = "/accounts/?state=disconnected"
    assert "8613800000001" not in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as seen:
        client.get(url)
    assert not [q for q in seen.captured_queries if "COUNT(" in q["sql"]]  # kept
    record = {
        "whatsId": "8613800000001",
        "status": 20,
        "detailStatus": 21,
        "account": "alice01",
        "time": "2024-07-03 15:27:00",
        "platformType": 1,
    }
    receipt = webhook_event_receive(
        kind=WebhookKind.ONLINE_STATUS,
        body=json.dumps({"whatsAppList": [record]}).encode(),
        headers={},
    )
    webhook_event_process(event_id=receipt.event_id)
    with CaptureQueriesContext(connection) as seen:
        body = client.get(url).content.decode()
    assert [q for q in seen.captured_queries if "COUNT(" in q["sql"]]  # counted again
    assert "8613800000001" in body
    assert _pager_count(body) == "1–1 of 1"
    assert _pager_count(client.get("/accounts/").content.decode()) == "1–2 of 2"
