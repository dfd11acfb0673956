"""The channel and subscription pages' forms: a save redirects with a message, a refusal of
the service stands on the form (400), on the URL field where it is about the URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models import AuditEntry
from notify.models import AlertChannel, RuleKey, Subscription
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

CHANNEL = {"name": "ops", "url": "json://example.com/alerts", "rules": [RuleKey.ACCOUNT_BANNED]}


def test_channel_add_and_edit(people: People) -> None:
    c = client_for(people.supervisor)
    r = c.post(reverse("notify:channels"), {**CHANNEL, "language": "en"})
    channel = AlertChannel.objects.get(name="ops")
    assert r.status_code == 302 and r["Location"] == reverse("notify:channel", args=[channel.pk])
    page = c.get(r["Location"]).content.decode()
    assert "Channel ops added." in page
    assert 'value="ops"' in page  # the form starts from the stored row

    edit = {"name": "night", "url": "", "rules": [RuleKey.WEBHOOK_LAG], "language": "zh-hans"}
    r = c.post(reverse("notify:channel", args=[channel.pk]), edit)
    assert r.status_code == 302 and r["Location"] == reverse("notify:channel", args=[channel.pk])
    assert "Channel saved." in c.get(r["Location"]).content.decode()
    channel.refresh_from_db()
    assert (channel.name, channel.rules, channel.language, channel.enabled) == (
        "night",
        [RuleKey.WEBHOOK_LAG],
        "zh-hans",
        False,  # the box was not ticked
    )
    assert channel.url.reveal() == CHANNEL["url"]  # an empty URL keeps the stored one
    assert AuditEntry.objects.filter(action="alert_channel.update").count() == 1


def test_channel_refusals_stand_on_the_form(people: People) -> None:
    c = client_for(people.supervisor)
    r = c.post(reverse("notify:channels"), {**CHANNEL, "url": "no-scheme", "language": "en"})
    assert r.status_code == 400 and not AlertChannel.objects.exists()
    assert r.context["form"].errors == {
        "url": ["Give an Apprise URL, such as dingtalk://token/ or json://host/."]
    }

    c.post(reverse("notify:channels"), {**CHANNEL, "language": "en"})
    channel = AlertChannel.objects.get()
    r = c.post(
        reverse("notify:channel", args=[channel.pk]),
        {**CHANNEL, "url": "no-scheme", "language": "en", "enabled": "on"},
    )
    assert r.status_code == 400
    assert r.context["form"].errors == {  # beside the URL field, as when adding
        "url": ["Give an Apprise URL, such as dingtalk://token/ or json://host/."]
    }
    channel.refresh_from_db()
    assert channel.url.reveal() == CHANNEL["url"]


def test_subscription_edit_saves_or_shows_the_refusal(people: People) -> None:
    c = client_for(people.admin)
    form = {"url": "https://example.com/hook", "events": ["job.finished"], "description": "crm"}
    assert c.post(reverse("notify:subscriptions"), form).status_code == 200  # the secret page
    sub = Subscription.objects.get()
    page = c.get(reverse("notify:subscription", args=[sub.pk])).content.decode()
    assert 'value="https://example.com/hook"' in page and 'value="crm"' in page

    r = c.post(reverse("notify:subscription", args=[sub.pk]), {**form, "description": "erp"})
    assert r.status_code == 302
    assert r["Location"] == reverse("notify:subscription", args=[sub.pk])
    assert "Subscription saved." in c.get(r["Location"]).content.decode()
    sub.refresh_from_db()
    assert (sub.description, sub.enabled) == ("erp", False)

    r = c.post(reverse("notify:subscription", args=[sub.pk]), {**form, "url": "ftp://x/"})
    assert r.status_code == 400
    assert r.context["form"].errors == {"url": ["The URL must start with http:// or https://."]}
    r = c.post(reverse("notify:subscriptions"), {**form, "url": "ftp://x/"})
    assert r.status_code == 400 and Subscription.objects.count() == 1
    assert r.context["form"].errors == {"url": ["The URL must start with http:// or https://."]}


def test_the_channel_list_names_rules_in_words_with_the_key_in_the_tooltip(
    people: People,
) -> None:
    c = client_for(people.supervisor)
    rules = [RuleKey.ACCOUNT_BANNED, RuleKey.WEBHOOK_LAG]
    c.post(reverse("notify:channels"), {**CHANNEL, "rules": rules, "language": "en"})
    page = c.get(reverse("notify:channels")).content.decode()
    assert '<span title="account_banned">An account was banned</span>' in page
    assert '<span title="webhook_lag">Webhook lag over its threshold</span>' in page
    assert ">account_banned<" not in page
    zh = client_for(people.supervisor)
    zh.cookies["django_language"] = "zh-hans"
    page = zh.get(reverse("notify:channels")).content.decode()
    assert "An account was banned" not in page
    assert "、" in page  # the list reads as a Chinese list
