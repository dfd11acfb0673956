"""Pages: alerts (supervisors and admins), alert channels and rules, event subscriptions
with their delivery log (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import require
from core.roles import Cap
from core.types import AuthedRequest
from notify import selectors
from notify.forms import ChannelForm, RuleForm, SubscriptionForm
from notify.models import Alert, AlertChannel, Delivery, RuleKey, Subscription
from notify.services import alerts as alert_services
from notify.services import events as event_services

PAGE = 100


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
    form = ChannelForm(request.POST or None, initial={"rules": list(RuleKey.values)})
    if request.method == "POST" and form.is_valid():
        try:
            channel = alert_services.alert_channel_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                rules=form.cleaned_data["rules"],
                language=form.cleaned_data["language"],
            )
        except alert_services.AlertError as exc:
            form.add_error("url" if "URL" in str(exc) else None, str(exc))
        else:
            messages.success(request, _("Channel %(name)s added.") % {"name": channel.name})
            return redirect("notify:channel", pk=channel.pk)
    rows = [
        {"channel": c, "url": selectors.masked_channel_url(c)}
        for c in selectors.alert_channel_list()
    ]
    status = 400 if request.method == "POST" else 200
    return render(request, "notify/channels.html", {"form": form, "rows": rows}, status=status)


@require_http_methods(["GET", "POST"])
@require(Cap.MANAGE_ALERTS)
def channel(request: AuthedRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(AlertChannel, pk=pk)
    initial = {
        "name": obj.name,
        "rules": obj.rules,
        "language": obj.language,
        "enabled": obj.enabled,
    }
    form = ChannelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            alert_services.alert_channel_update(
                actor=request.user,
                channel=obj,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                rules=form.cleaned_data["rules"],
                language=form.cleaned_data["language"],
                enabled=form.cleaned_data["enabled"],
            )
        except alert_services.AlertError as exc:
            form.add_error(None, str(exc))
        else:
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


@require_http_methods(["GET", "POST"])
@require(Cap.MANAGE_EVENTS)
def subscriptions(request: AuthedRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sub, secret = event_services.subscription_create(
                actor=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except event_services.SubscriptionError as exc:
            form.add_error(None, str(exc))
        else:
            # Shown once, on this answer only (not stored in the session or a message).
            return render(
                request, "notify/subscription_created.html", {"sub": sub, "secret": secret}
            )
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "rows": selectors.subscription_list(),
        "masked": selectors.masked_secret(),
    }
    return render(request, "notify/subscriptions.html", context, status=status)


@require_http_methods(["GET", "POST"])
@require(Cap.MANAGE_EVENTS)
def subscription(request: AuthedRequest, pk: int) -> HttpResponse:
    sub = get_object_or_404(Subscription, pk=pk)
    initial = {
        "url": sub.url,
        "events": sub.events,
        "description": sub.description,
        "enabled": sub.enabled,
    }
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event_services.subscription_update(
                actor=request.user, subscription=sub, **form.cleaned_data
            )
        except event_services.SubscriptionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Subscription saved."))
            return redirect("notify:subscription", pk=sub.pk)
    context = {
        "sub": sub,
        "form": form,
        "masked": selectors.masked_secret(),
        "deliveries": selectors.delivery_list(subscription=sub)[:PAGE],
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
