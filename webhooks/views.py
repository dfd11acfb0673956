"""Inbox pages for admins (Cap.VIEW_INBOX): list, detail, replay, hourly counts, and the
quarantine of refused deliveries (review, accept)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import listing
from core.access import require
from core.roles import Cap
from core.types import AuthedRequest
from webhooks import selectors
from webhooks.auth import configured_checks
from webhooks.forms import InboxFilterForm
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.services import maintenance, receive

PAGE = 50


@require_GET
@require(Cap.VIEW_INBOX)
def inbox(request: AuthedRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.webhook_event_list(
        kind=data.get("kind") or "",
        state=data.get("state") or "",
        day_from=data.get("day_from"),
        day_to=data.get("day_to"),
    )
    before = data.get("before")
    if before:
        qs = qs.filter(pk__lt=before)
    events = list(qs.order_by("-id")[: PAGE + 1])
    more = len(events) > PAGE
    events = events[:PAGE]
    query = request.GET.copy()
    query.pop("before", None)
    if more:
        query["before"] = str(events[-1].pk)
    context = {
        "form": form,
        "events": events,
        "next_query": query.urlencode() if more else "",
        "summary": selectors.inbox_summary(),
        "kinds": list(WebhookKind),
        "refused": selectors.refused_delivery_list(),
        "auth_checks": configured_checks(),
    }
    template = "webhooks/inbox.html"
    if request.htmx and request.htmx.target == "inbox-events":
        template += "#events"
    return render(request, template, context)


@require_GET
@require(Cap.VIEW_INBOX)
def lag(request: AuthedRequest) -> HttpResponse:
    return render(request, "webhooks/inbox.html#lag", {"summary": selectors.inbox_summary()})


@require_GET
@require(Cap.VIEW_INBOX)
def counts(request: AuthedRequest) -> JsonResponse:
    return JsonResponse(selectors.hourly_counts())


@require_GET
@require(Cap.VIEW_INBOX)
def detail(request: AuthedRequest, event_id: int) -> HttpResponse:
    event = selectors.webhook_event_get(event_id=event_id)
    if event is None:
        raise Http404
    page = selectors.status_events_of(
        event, cursor=request.GET.get("cursor"), before=request.GET.get("before")
    )
    context = {
        "event": event,
        "status_events": page.rows,
        "pager": listing.pager(request.GET, page, size=selectors.STATUS_EVENTS_PAGE),
    }
    if request.htmx:  # the pager's links swap the status events only
        return render(request, "webhooks/detail.html#status-events", context)
    context |= {
        "body": selectors.body_pretty(event),
        "headers": selectors.headers_redacted(event),
        "replayable": maintenance.webhook_event_replayable(event),
    }
    return render(request, "webhooks/detail.html", context)


@require_POST
@require(Cap.VIEW_INBOX)
def replay(request: AuthedRequest, event_id: int) -> HttpResponse:
    if not WebhookEvent.objects.filter(pk=event_id).exists():
        raise Http404
    try:
        outcome = maintenance.webhook_event_replay(event_id=event_id, actor=request.user)
    except maintenance.NotReplayable as exc:
        messages.error(request, str(exc))
    else:
        if outcome.state == WebhookEvent.State.PENDING:
            messages.success(request, _("Event queued again."))
        else:
            messages.warning(request, _("Still invalid: %(error)s") % {"error": outcome.error})
    return redirect("webhooks:detail", event_id=event_id)


@require_GET
@require(Cap.VIEW_INBOX)
def refused_detail(request: AuthedRequest, delivery_id: int) -> HttpResponse:
    """A quarantined delivery: why it was refused, its headers (redacted) and body."""
    row = selectors.refused_delivery_get(delivery_id=delivery_id)
    if row is None:
        raise Http404
    context = {"row": row, "body": selectors.refused_body_pretty(row)}
    return render(request, "webhooks/refused.html", context)


@require_POST
@require(Cap.VIEW_INBOX)
def refused_accept(request: AuthedRequest, delivery_id: int) -> HttpResponse:
    """Accept a quarantined delivery after review: it enters the inbox as if it had passed."""
    if selectors.refused_delivery_get(delivery_id=delivery_id) is None:
        raise Http404
    try:
        receipt = receive.refused_delivery_accept(delivery_id=delivery_id, actor=request.user)
    except receive.NotAcceptable as exc:
        messages.error(request, str(exc))
        return redirect("webhooks:refused-detail", delivery_id=delivery_id)
    if receipt.error:
        messages.warning(request, _("Accepted, but invalid: %(error)s") % {"error": receipt.error})
    else:
        messages.success(request, _("Accepted into the inbox."))
    return redirect("webhooks:detail", event_id=receipt.event_id)


@require(Cap.VIEW_INBOX)
def vendor_connection(request: AuthedRequest) -> HttpResponse:
    """Admins: the same check as `manage.py vendor_check`, run on POST (it calls the vendor)."""
    from django.conf import settings

    from upstream.diagnose import vendor_check

    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    results = vendor_check() if request.method == "POST" else None
    context = {
        "base_url": settings.UPSTREAM_BASE_URL,
        "results": results,
        "ok": results is not None and all(r.ok for r in results),
        "auth_checks": configured_checks(),
    }
    template = "webhooks/vendor.html"
    if request.htmx and results is not None:
        template += "#results"
    return render(request, template, context)
