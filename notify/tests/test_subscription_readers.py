"""Supervisors read event subscriptions and their delivery log (secrets masked) on the
pages and in the API; only admins add, change, delete or redeliver, and the refusal
names who can."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from notify.models import Delivery, Event, Subscription
from notify.services import events as event_services
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def _subscription(people: People) -> tuple[Subscription, str]:
    return event_services.subscription_create(
        actor=people.admin,
        url="https://example.com/hook",
        events=["account.banned"],
        description="crm",
    )


def test_a_supervisor_reads_subscriptions_with_the_secret_masked(people: People) -> None:
    sub, secret = _subscription(people)
    c = client_for(people.supervisor)
    listing = c.get(reverse("notify:subscriptions"))
    html = listing.content.decode()
    assert listing.status_code == 200
    assert "https://example.com/hook" in html and secret not in html
    assert '<span title="account.banned">Account banned</span>' in html  # words, code on hover
    assert 'href="/notify/subscriptions/"' in html  # the menu and tabs lead here
    assert "Only an admin can add, change or delete event subscriptions." in html
    assert 'name="url"' not in html  # no form to fill in only to be refused

    detail = c.get(reverse("notify:subscription", args=[sub.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200 and secret not in html
    assert "Account banned" in html and "crm" in html
    assert reverse("notify:subscription_delete", args=[sub.pk]) not in html

    api = c.get(reverse("api-event-subscriptions")).json()
    (row,) = api["results"]
    assert row["url"] == "https://example.com/hook" and row["secret"] != secret
    assert c.get(reverse("api-event-subscription", args=[sub.pk])).json()["secret"] != secret
    assert c.get(reverse("api-event-deliveries", args=[sub.pk])).status_code == 200


def test_a_supervisor_cannot_change_a_subscription_and_is_told_who_can(people: People) -> None:
    sub, _secret = _subscription(people)
    event = Event.objects.create(
        type="account.banned", msg_id="msg_1", occurred_at=timezone.now(), data={}
    )
    delivery = Delivery.objects.create(
        event=event, subscription=sub, next_attempt_at=timezone.now(), state="failed"
    )
    c = client_for(people.supervisor)
    for url in (
        reverse("notify:subscription", args=[sub.pk]),
        reverse("notify:subscription_delete", args=[sub.pk]),
        reverse("notify:redeliver", args=[delivery.pk]),
    ):
        r = c.post(url, {"url": "https://example.org/", "events": ["account.banned"]})
        assert r.status_code == 403, url
        assert "Only an admin can change event subscriptions." in r.content.decode()
    put = c.put(
        reverse("api-event-subscription", args=[sub.pk]),
        data={"url": "https://example.org/", "events": ["account.banned"]},
        content_type="application/json",
    )
    assert put.status_code == 403
    assert put.json()["detail"] == "Only an admin can change event subscriptions."
    sub.refresh_from_db()
    assert sub.url == "https://example.com/hook"
    assert Subscription.objects.count() == 1


def test_an_agent_still_cannot_see_subscriptions(people: People) -> None:
    c = client_for(people.agent)
    assert c.get(reverse("notify:subscriptions")).status_code == 403
    assert c.get(reverse("api-event-subscriptions")).status_code == 403
