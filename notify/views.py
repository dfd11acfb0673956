"""Pages: alerts (supervisors and admins), alert channels and rules, event subscriptions
with their delivery log (admins change them; supervisors read them, secrets masked)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.forms.models import model_to_dict
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import can, require, require_to_change
from core.roles import Cap
from core.types import AuthedRequest
from notify import selectors
from notify.forms import ChannelForm, RuleForm, SubscriptionForm
from notify.models import Alert, AlertChannel, Delivery, EventType, RuleKey, Subscription
from notify.services import alerts as alert_services
from notify.services import events as event_services

PAGE = 100

T = TypeVar("T")


def _saved(
    request: AuthedRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], T],
    refused: type[Exception],
) -> T | None:
    """What `save` answers for a valid POST of `form`; None when nothing was saved (a GET,
    invalid input, or `save` raising `refused`, whose message then stands beside the field
    the refusal names (its `field`, when the form has it) or above them all)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except refused as exc:
        field = getattr(exc, "field", None)
        form.add_error(field if field in form.fields else None, str(exc))
        return None


@require_GET
@require(Cap.MANAGE_ALERTS)
def alerts(request: AuthedRequest) -> HttpResponse:
    rows = list(selectors.alert_list()[:PAGE])
    items = [{"alert": a, "title": alert_services.alert_title(a)} for a in rows]
    return render(request, "notify/alerts.html", {"items": items})


@require_POST
@require(Cap.MANAGE_ALERTS)
def alert_ack(request: AuthedRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    alert_services.alert_acknowledge(actor=request.user, alert=alert)
    return redirect("notify:alerts")


@require_http_methods(["GET", "POST"])
@require(Cap.MANAGE_ALERTS)
def channels(request: AuthedRequest) -> HttpResponse:
    # A new channel speaks the language of the person setting it up, until they choose.
    initial = {"rules": list(RuleKey.values), "language": translation.get_language()}
    form = ChannelForm(request.POST or None, initial=initial)
    channel = _saved(
        request,
        form,
        lambda data: alert_services.alert_channel_create(
            actor=request.user,
            name=data["name"],
            url=data["url"],
            rules=data["rules"],
            language=data["language"],
        ),
        alert_services.AlertError,
    )
    if channel is not None:
        messages.success(request, _("Channel %(name)s added.") % {"name": channel.name})
        return redirect("notify:channel", pk=channel.pk)
    languages = dict(settings.LANGUAGES)  # in the reader's words, as the form offers them
    rows = [
        {
            "channel": c,
            "url": selectors.masked_channel_url(c),
            "language": languages.get(c.language, c.language),
            # In words, the key in the tooltip (a key no longer known shows as it is).
            "rules": [(r, RuleKey(r).label if r in RuleKey.values else r) for r in c.rules],
        }
        for c in selectors.alert_channel_list()
    ]
    status = 400 if request.method == "POST" else 200
    return render(request, "notify/channels.html", {"form": form, "rows": rows}, status=status)


@require_http_methods(["GET", "POST"])
@require(Cap.MANAGE_ALERTS)
def channel(request: AuthedRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(AlertChannel, pk=pk)
    initial = model_to_dict(obj, fields=["name", "rules", "language", "enabled"])
    form = ChannelForm(request.POST or None, initial=initial)
    saved = _saved(
        request,
        form,
        lambda data: alert_services.alert_channel_update(actor=request.user, channel=obj, **data),
        alert_services.AlertError,
    )
    if saved is not None:
        messages.success(request, _("Channel saved."))
        return redirect("notify:channel", pk=obj.pk)
    context = {"channel": obj, "form": form, "url": selectors.masked_channel_url(obj)}
    status = 400 if request.method == "POST" else 200
    return render(request, "notify/channel.html", context, status=status)


@require_POST
@require(Cap.MANAGE_ALERTS)
def channel_test(request: AuthedRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(AlertChannel, pk=pk)
    ok, error = alert_services.alert_channel_test(actor=request.user, channel=obj)
    if ok:
        messages.success(request, _("Test message sent."))
    else:
        messages.error(request, _("The test failed: %(error)s") % {"error": error})
    return redirect("notify:channel", pk=obj.pk)


@require_POST
@require(Cap.MANAGE_ALERTS)
def channel_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(AlertChannel, pk=pk)
    alert_services.alert_channel_delete(actor=request.user, channel=obj)
    messages.success(request, _("Channel deleted."))
    return redirect("notify:channels")


@require_http_methods(["GET", "POST"])
@require(Cap.MANAGE_ALERTS)
def rules(request: AuthedRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                alert_services.alert_rule_update(actor=request.user, **form.cleaned_data)
            except alert_services.AlertError as exc:
                messages.error(request, str(exc))
                status = 400
            else:
                messages.success(request, _("Rule saved."))
                return redirect("notify:rules")
        else:
            messages.error(request, _("The rule was not saved: check the numbers."))
            status = 400
    items = [
        {
            "rule": r,
            "form": RuleForm(
                initial={
                    "key": r.key,
                    "enabled": r.enabled,
                    "threshold": r.threshold,
                    "window_minutes": r.window_minutes,
                    "quiet_minutes": r.quiet_minutes,
                    "agent_account": r.agent_account,
                },
                prefix=r.key,
            ),
        }
        for r in alert_services.alert_rules_ensure()
    ]
    return render(request, "notify/rules.html", {"items": items}, status=status)


def _with_event_words(subs: Iterable[Subscription]) -> list[Subscription]:
    """Each subscription with `event_words`: its event types as words (the code on hover)."""
    rows = list(subs)
    for sub in rows:
        sub.event_words = [  # type: ignore[attr-defined]
            (e, EventType(e).label if e in EventType.values else e) for e in sub.events
        ]
    return rows


@require_http_methods(["GET", "POST"])
@require(Cap.VIEW_EVENTS, Cap.MANAGE_EVENTS)
@require_to_change(Cap.MANAGE_EVENTS)
def subscriptions(request: AuthedRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    created = _saved(
        request,
        form,
        lambda data: event_services.subscription_create(
            actor=request.user,
            url=data["url"],
            events=data["events"],
            description=data["description"],
        ),
        event_services.SubscriptionError,
    )
    if created is not None:
        sub, secret = created
        # Shown once, on this answer only (not stored in the session or a message).
        return render(request, "notify/subscription_created.html", {"sub": sub, "secret": secret})
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "rows": _with_event_words(selectors.subscription_list()),
        "masked": selectors.masked_secret(),
        "can_change": can(request.user, Cap.MANAGE_EVENTS),
    }
    return render(request, "notify/subscriptions.html", context, status=status)


@require_http_methods(["GET", "POST"])
@require(Cap.VIEW_EVENTS, Cap.MANAGE_EVENTS)
@require_to_change(Cap.MANAGE_EVENTS)
def subscription(request: AuthedRequest, pk: int) -> HttpResponse:
    sub = get_object_or_404(Subscription, pk=pk)
    initial = model_to_dict(sub, fields=["url", "events", "description", "enabled"])
    form = SubscriptionForm(request.POST or None, initial=initial)
    saved = _saved(
        request,
        form,
        lambda data: event_services.subscription_update(
            actor=request.user, subscription=sub, **data
        ),
        event_services.SubscriptionError,
    )
    if saved is not None:
        messages.success(request, _("Subscription saved."))
        return redirect("notify:subscription", pk=sub.pk)
    context = {
        "sub": sub,
        "form": form,
        "masked": selectors.masked_secret(),
        "deliveries": selectors.delivery_list(subscription=sub)[:PAGE],
        "can_change": can(request.user, Cap.MANAGE_EVENTS),
        "event_labels": [EventType(e).label for e in sub.events if e in EventType.values],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "notify/subscription.html", context, status=status)


@require_POST
@require(Cap.MANAGE_EVENTS)
def subscription_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    sub = get_object_or_404(Subscription, pk=pk)
    event_services.subscription_delete(actor=request.user, subscription=sub)
    messages.success(request, _("Subscription deleted."))
    return redirect("notify:subscriptions")


@require_POST
@require(Cap.MANAGE_EVENTS)
def redeliver(request: AuthedRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=pk)
    event_services.delivery_redeliver(actor=request.user, delivery=delivery)
    messages.success(request, _("Delivery queued again."))
    return redirect("notify:subscription", pk=delivery.subscription_id)
