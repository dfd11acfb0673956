"""Outgoing events: the outbox, Standard Webhooks signatures checked by the library's own
verifier on a real HTTP sink, retries with a stable webhook-id, the lease that survives a
killed worker, giving up, disabling, and the outbound guard."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import Registration
from accounts.services.status import account_status_apply, registration_result_apply
from notify.models import Alert, Delivery, Event, EventType, RuleKey, Subscription
from notify.services import deliveries
from notify.tests.sink import Sink
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

NUMBER = "8613811112222"


def subscribe(admin: Any, url: str, types: list[str]) -> tuple[Subscription, str]:
    r = client_for(admin).post(
        reverse("api-event-subscriptions"),
        data=json.dumps({"url": url, "events": types, "description": "crm"}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["secret"].startswith("whsec_")
    return Subscription.objects.get(pk=body["id"]), body["secret"]


def ban(number: str = NUMBER) -> None:
    account_status_apply(
        whatsapp=number, status=2, online_status=4, reason="1004", received_at=timezone.now()
    )


def test_signed_deliveries_verify_with_standardwebhooks(
    people: People, sink: Sink, local_allowed: None
) -> None:
    sub, secret = subscribe(
        people.admin,
        sink.url(),
        [EventType.ACCOUNT_STATUS_CHANGED, EventType.ACCOUNT_BANNED],
    )
    ban()
    assert Delivery.objects.filter(subscription=sub).count() == 2
    assert deliveries.deliveries_drain(budget_seconds=10) == 2
    got = sink.wait_for(2)
    assert len(got) == 2
    verifier = Webhook(secret)
    bodies = []
    for req in got:
        headers = {k.lower(): v for k, v in req.headers.items()}
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(headers)
        payload = verifier.verify(req.body, headers)  # raises if the signature is wrong
        assert payload["id"] == headers["webhook-id"]
        bodies.append(payload)
        # A wrong secret, or a changed body, fails the library's own check.
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 32).verify(req.body, headers)
        with pytest.raises(WebhookVerificationError):
            verifier.verify(req.body.replace(NUMBER.encode(), b"8613800000000"), headers)
    types = sorted(b["type"] for b in bodies)
    assert types == ["account.banned", "account.status_changed"]
    changed = next(b for b in bodies if b["type"] == "account.status_changed")
    assert changed["data"]["whatsapp"] == NUMBER
    assert changed["data"]["status"] == 2 and changed["data"]["reason_code"] == "1004"
    assert changed["data"]["online_status"] == 4
    assert changed["sequence"] >= 1 and changed["timestamp"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    d = Delivery.objects.first()
    assert d is not None and d.last_status == 200 and d.last_latency_ms is not None


def test_the_event_is_written_in_the_state_change_transaction(people: People) -> None:
    subscribe(people.admin, "https://example.com/hook", [EventType.ACCOUNT_BANNED])
    with pytest.raises(RuntimeError), transaction.atomic():
        ban()
        assert Event.objects.filter(type=EventType.ACCOUNT_BANNED).count() == 1
        raise RuntimeError("the state change rolls back")
    assert not Event.objects.exists()
    ban()
    assert Event.objects.filter(type=EventType.ACCOUNT_BANNED).count() == 1
    ban()  # the same state again: no change, no new event
    assert Event.objects.filter(type=EventType.ACCOUNT_BANNED).count() == 1


def test_per_account_sequence_and_event_time(people: People) -> None:
    subscribe(people.admin, "https://example.com/hook", [EventType.ACCOUNT_STATUS_CHANGED])
    ban()
    account_status_apply(
        whatsapp=NUMBER, status=1, online_status=2, reason="", received_at=timezone.now()
    )
    account_status_apply(
        whatsapp="8613899990000", status=1, online_status=2, reason="", received_at=timezone.now()
    )
    seqs = list(
        Event.objects.filter(whatsapp=NUMBER).order_by("id").values_list("sequence", flat=True)
    )
    assert seqs == [1, 2]
    assert Event.objects.get(whatsapp="8613899990000").sequence == 1


def test_retries_keep_the_webhook_id_and_back_off(
    people: People, sink: Sink, local_allowed: None
) -> None:
    sub, _secret = subscribe(people.admin, sink.url(), [EventType.ACCOUNT_BANNED])
    ban()
    sink.statuses = [500]
    deliveries.deliveries_drain(budget_seconds=5)
    d = Delivery.objects.get(subscription=sub)
    assert d.state == "pending" and d.attempts == 1 and d.last_status == 500
    assert d.next_attempt_at > timezone.now() + timedelta(seconds=3)
    assert Subscription.objects.get(pk=sub.pk).failing_since is not None
    assert deliveries.deliveries_drain(budget_seconds=5) == 0  # not due yet
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    deliveries.deliveries_drain(budget_seconds=5)
    d.refresh_from_db()
    assert d.state == "delivered" and d.attempts == 2
    got = sink.wait_for(1)
    assert len(got) == 1
    assert got[0].headers["webhook-id"] == d.event.msg_id
    assert Subscription.objects.get(pk=sub.pk).failing_since is None
    assert deliveries.retry_delay(1) < deliveries.retry_delay(4) <= 3600 * 1.1


def test_a_killed_worker_leaves_a_lease_that_expires(people: People) -> None:
    subscribe(people.admin, "https://example.com/hook", [EventType.ACCOUNT_BANNED])
    ban()
    now = timezone.now()
    claimed = deliveries.deliveries_claim(now=now)
    assert len(claimed) == 1
    # The worker died here: nothing was recorded. Nobody else takes it while leased...
    assert deliveries.deliveries_claim(now=now + timedelta(seconds=30)) == []
    # ...and once the lease has run out, the next drain sends it again.
    later = now + timedelta(seconds=deliveries.LEASE_SECONDS + 1)
    assert deliveries.deliveries_claim(now=later) == claimed


def test_give_up_after_the_retry_window_and_disable_after_days(
    people: People, sink: Sink, local_allowed: None, settings: Any
) -> None:
    sub, _secret = subscribe(people.admin, sink.url(), [EventType.ACCOUNT_BANNED])
    ban()
    Event.objects.update(created_at=timezone.now() - timedelta(hours=25))
    Subscription.objects.filter(pk=sub.pk).update(
        failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    sink.statuses = [503]
    deliveries.deliveries_drain(budget_seconds=5)
    d = Delivery.objects.get(subscription=sub)
    assert d.state == "failed" and d.last_status == 503
    sub.refresh_from_db()
    assert not sub.enabled and sub.disabled_reason
    alert = Alert.objects.get(rule=RuleKey.SUBSCRIPTION_DISABLED)
    assert alert.scope == str(sub.pk)
    # A disabled subscription gets no new deliveries.
    ban("8613811113333")
    assert Delivery.objects.filter(subscription=sub).count() == 1


def test_loopback_is_refused_at_connect_time_unless_allowed(
    people: People, sink: Sink, settings: Any
) -> None:
    settings.OUTBOUND_ALLOWED_NETS = ["127.0.0.1/32"]
    sub, _secret = subscribe(people.admin, sink.url(), [EventType.ACCOUNT_BANNED])
    # The allowance is withdrawn after the subscription was saved (or DNS now points
    # inside): the connect-time guard refuses the delivery.
    settings.OUTBOUND_ALLOWED_NETS = []
    ban()
    deliveries.deliveries_drain(budget_seconds=5)
    d = Delivery.objects.get(subscription=sub)
    assert d.state == "pending" and "refused" in d.last_error
    assert sink.received == []
    # A host name resolving to loopback is refused the same way.
    Subscription.objects.filter(pk=sub.pk).update(url=f"http://localhost:{sink.port}/hook")
    Delivery.objects.update(next_attempt_at=timezone.now())
    deliveries.deliveries_drain(budget_seconds=5)
    d.refresh_from_db()
    assert "refused" in d.last_error and sink.received == []


def test_saving_a_private_url_is_refused(people: People) -> None:
    r = client_for(people.admin).post(
        reverse("api-event-subscriptions"),
        data=json.dumps({"url": "http://169.254.169.254/latest", "events": ["account.banned"]}),
        content_type="application/json",
    )
    assert r.status_code == 400 and "private" in r.json()["detail"]
    r = client_for(people.admin).post(
        reverse("api-event-subscriptions"),
        data=json.dumps({"url": "https://example.com/", "events": ["account.nope"]}),
        content_type="application/json",
    )
    assert r.status_code == 400 and "events" in r.json()["errors"]


def test_registration_failure_is_an_event_and_an_alert(people: People) -> None:
    subscribe(people.admin, "https://example.com/hook", [EventType.REGISTRATION_FINISHED])
    reg = Registration.objects.create(
        phone="13700000009", area_code="+86", country_code="CN", verify_type=0, account_type=1
    )
    registration_result_apply(phone="13700000009", ok=False, received_at=timezone.now())
    ev = Event.objects.get(type=EventType.REGISTRATION_FINISHED)
    assert ev.data["id"] == reg.pk and ev.data["state"] == "failed"
    assert Alert.objects.filter(rule=RuleKey.REGISTRATION_FAILED).exists()


def test_secret_shown_once_and_masked_after(people: People) -> None:
    sub, secret = subscribe(people.admin, "https://example.com/hook", ["account.banned"])
    c = client_for(people.admin)
    for url in (
        reverse("api-event-subscriptions"),
        reverse("api-event-subscription", kwargs={"pk": sub.pk}),
        reverse("notify:subscriptions"),
        reverse("notify:subscription", kwargs={"pk": sub.pk}),
    ):
        body = c.get(url).content.decode()
        assert secret not in body and secret[6:20] not in body
        assert "whsec_" in body
    r = c.post(
        reverse("notify:subscriptions"),
        {"url": "https://example.org/h", "events": ["job.finished"], "description": "x"},
    )
    assert r.status_code == 200 and "whsec_" in r.content.decode()
    created = Subscription.objects.get(url="https://example.org/h")
    assert created.secret.reveal() in r.content.decode()  # the one time
    assert created.secret.reveal() not in Client().get("/").content.decode()
