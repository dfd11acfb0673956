"""An alert channel's form refuses at save what would fail later: a URL that reaches a
private or local address (also through a mail plugin's `?smtp=` server), shown beside the
URL field on both the add and the edit page, and in the API's `errors` under `url`; and a
name another channel already has (case aside), beside the name field, in the API, and
by a database constraint when two saves race."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from notify.models import AlertChannel, RuleKey
from notify.services import alerts
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

PUBLIC = "json://93.184.216.34/hook"  # an address, so no DNS is needed to check it


def _field_errors(html: str, field: str) -> list[str]:
    """The error texts shown right after the labelled input of `field`."""
    match = re.search(
        rf'name="{field}"[^>]*>.*?</label>\s*((?:<small class="error">.*?</small>\s*)*)',
        html,
        re.S,
    )
    return re.findall(r'<small class="error">(.*?)</small>', match.group(1)) if match else []


def _page_post(user: Any, url_name: str, *args: Any, **data: Any) -> Any:
    body = {"rules": [RuleKey.ACCOUNT_BANNED], "language": "en", **data}
    return client_for(user).post(reverse(url_name, args=args), body)


@pytest.mark.parametrize(
    "url", ["mailto://user:pw@93.184.216.34?smtp=127.0.0.1", "json://localhost:8080/x"]
)
def test_a_private_url_is_refused_beside_the_url_field_when_added(url: str, people: People) -> None:
    page = _page_post(people.supervisor, "notify:channels", name="ops", url=url)
    assert page.status_code == 400
    errors = _field_errors(page.content.decode(), "url")
    assert errors and "private or local" in errors[0]
    api = client_for(people.supervisor).post(
        reverse("api-alert-channels"),
        data=json.dumps({"name": "ops", "url": url, "rules": [RuleKey.ACCOUNT_BANNED]}),
        content_type="application/json",
    )
    assert api.status_code == 400
    assert "private or local" in api.json()["errors"]["url"][0]
    assert not AlertChannel.objects.exists()


def test_a_private_url_is_refused_beside_the_url_field_when_edited(people: People) -> None:
    channel = alerts.alert_channel_create(
        actor=people.supervisor, name="ops", url=PUBLIC, rules=[RuleKey.ACCOUNT_BANNED]
    )
    page = _page_post(
        people.supervisor, "notify:channel", channel.pk, name="ops", url="json://127.0.0.1/x"
    )
    assert page.status_code == 400
    errors = _field_errors(page.content.decode(), "url")
    assert errors and "private or local" in errors[0]
    channel.refresh_from_db()
    assert channel.url.reveal() == PUBLIC


def test_two_channels_may_not_share_a_name(people: People) -> None:
    alerts.alert_channel_create(
        actor=people.supervisor, name="Ops", url=PUBLIC, rules=[RuleKey.ACCOUNT_BANNED]
    )
    page = _page_post(people.supervisor, "notify:channels", name="ops ", url=PUBLIC)
    assert page.status_code == 400
    errors = _field_errors(page.content.decode(), "name")
    assert errors and "already named" in errors[0]
    api = client_for(people.supervisor).post(
        reverse("api-alert-channels"),
        data=json.dumps({"name": "OPS", "url": PUBLIC, "rules": [RuleKey.ACCOUNT_BANNED]}),
        content_type="application/json",
    )
    assert api.status_code == 400 and "already named" in api.json()["errors"]["name"][0]
    assert AlertChannel.objects.count() == 1

    other = alerts.alert_channel_create(
        actor=people.supervisor, name="night", url=PUBLIC, rules=[RuleKey.ACCOUNT_BANNED]
    )
    renamed = _page_post(people.supervisor, "notify:channel", other.pk, name="OPS", url="")
    assert renamed.status_code == 400
    assert "already named" in _field_errors(renamed.content.decode(), "name")[0]
    other.refresh_from_db()
    assert other.name == "night"


def test_the_database_refuses_a_second_channel_of_one_name(people: People) -> None:
    AlertChannel.objects.create(name="Ops", url=PUBLIC)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertChannel.objects.create(name="ops", url=PUBLIC)
