"""One account's page: state, history, the vendor's view, single-account actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.access import get_account_for_user
from accounts.choices import DetailStatus, Presence, Source
from accounts.forms import (
    ContactLookupForm,
    ProfileForm,
)
from accounts.models import BulkJob
from accounts.services import fleet as fleet_services
from accounts.services import lookups
from accounts.views.event_rows import event_cells
from core import listing
from core.access import can, require, require_login
from core.choices import label
from core.fragments import render_each
from core.htmx import render_page
from core.ratelimit import vendor_calls_limited
from core.roles import Cap
from core.types import AuthedRequest
from ports.services import PortNotLinked, port_operate
from upstream.errors import UpstreamError, UpstreamProblem, UpstreamUnavailable, unavailable_message


def _port_error(whatsapp: str, port: object) -> str:
    """Why the port operations cannot be sent for this account ("" when they can); `port`:
    its cloud port (fleet_services.cloud_port_for), read once by the page."""
    if port is None:
        return ""
    try:
        fleet_services.port_call_id_for(whatsapp)
    except PortNotLinked as exc:
        return str(exc)
    return ""


def _port_operate(request: AuthedRequest, whatsapp: str, operation: str) -> None:
    """The account's port operation through the Ports page's service (the same call, port
    release, audit and live push), answered on this page."""
    port = fleet_services.cloud_port_for(whatsapp)
    try:
        port_operate(actor=request.user, port_id=port.port_id, operation=operation)
    except PortNotLinked as exc:
        messages.error(request, str(exc))
        return
    except UpstreamError as exc:
        messages.error(request, exc.message)
        return
    except UpstreamUnavailable as exc:
        messages.error(request, unavailable_message(exc))
        return
    except UpstreamProblem as exc:
        messages.error(request, str(exc))
        return
    done = {
        "online": _("Brought online through its cloud port."),
        "offline": _("Taken offline through its cloud port."),
        "logout": _("Logged out; the cloud port is free."),
    }
    messages.success(request, done[operation])


@require_login
@require_GET
def account_detail(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    account = get_account_for_user(request.user, whatsapp)
    events = selectors.event_list(
        events=selectors.StatusEvent.objects.all(),
        filters=selectors.EventFilters(whatsapp=account.whatsapp),
        cursor=request.GET.get("cursor"),
        size=25,
        before=request.GET.get("before"),
    )
    current = selectors.event_current(account=account)
    selectors.events_current_first(events, current)
    port = fleet_services.cloud_port_for(account.whatsapp)
    context = {
        "account": account,
        "agent": account.agent,
        "events": events,
        "current_event": current,
        "events_html": mark_safe(  # noqa: S308 - rendered rows, escaped there
            "".join(
                render_each(
                    "accounts/detail.html#event",
                    "ev",
                    event_cells(events.rows, current_pk=current.pk if current else None),
                )
            )
        ),
        "pager": listing.pager(request.GET, events, size=25),
        "port": port,
        "port_error": _port_error(account.whatsapp, port),
        "can_manage": can(request.user, Cap.MANAGE_ACCOUNTS),
        "profile_form": ProfileForm(initial={"nickname": account.name}),
        "contact_form": ContactLookupForm(),
        "lookups": selectors.contact_lookups(account=account)
        if can(request.user, Cap.MANAGE_ACCOUNTS)
        else [],
        "detail_codes": list(DetailStatus),
    }
    part = request.GET.get("part")
    if request.htmx and part in ("badges", "facts"):  # live parts
        return render(request, f"accounts/detail.html#{part}", context)
    return render_page(request, "accounts/detail.html", context, fragment="events")


@require_login
@require_GET
@vendor_calls_limited
def account_vendor(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    """Lazy fragment: the vendor's profile and where the account is online."""
    account = get_account_for_user(request.user, whatsapp)
    answer = lookups.vendor_profile_answer(whatsapp=account.whatsapp)
    online, online_error = lookups.vendor_online_where(whatsapp=account.whatsapp)
    return render(
        request,
        "accounts/detail.html#vendor",
        {
            "account": account,
            "profile": answer.profile,
            "profile_error": answer.error,
            "profile_asked": answer.asked,
            "online": [(o, label(Source, o.source)) for o in online],
            "online_error": online_error,
            "fetched_at": timezone.now(),
        },
    )


@require_login
@require_GET
def account_timeline(request: AuthedRequest, whatsapp: str) -> JsonResponse:
    account = get_account_for_user(request.user, whatsapp)
    points = selectors.account_timeline(whatsapp=account.whatsapp)
    # Each code's label once per request: up to 500 points, a handful of distinct codes
    # (a translated label per point was 40% of the view's CPU: bench/history.py --profile).
    status_labels: dict[object, str] = {}
    detail_labels: dict[object, str] = {}
    for p in points:
        st, ds = p["status"], p["detail_status"]
        if st not in status_labels:
            status_labels[st] = label(Presence, st)
        if ds not in detail_labels:
            detail_labels[ds] = label(DetailStatus, ds)
        p["label"] = status_labels[st]
        p["detail_label"] = detail_labels[ds]
    return JsonResponse({"points": points})


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_action(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    account = get_account_for_user(request.user, whatsapp)
    kinds = {
        "online": BulkJob.Kind.PORT_ONLINE,
        "offline": BulkJob.Kind.PORT_OFFLINE,
        "logout": BulkJob.Kind.PORT_LOGOUT,
        "recycle": BulkJob.Kind.RECYCLE,
        "bulk_online": BulkJob.Kind.ONLINE,
    }
    kind = kinds.get(request.POST.get("action", ""))
    if kind is None:
        return HttpResponseBadRequest(_("Unknown action."))
    if (
        kind in fleet_services.PORT_KINDS
        and fleet_services.cloud_port_for(account.whatsapp) is None
    ):
        messages.error(
            request,
            _(
                "This account has no cloud port: use “Bring online (keys)” "
                "or the fleet list instead."
            ),
        )
        return redirect("accounts:detail", whatsapp=account.whatsapp)
    if kind in fleet_services.PORT_KINDS:
        _port_operate(request, account.whatsapp, request.POST["action"])
        return redirect("accounts:detail", whatsapp=account.whatsapp)
    params = (
        {"override": request.POST.get("override") == "1"} if kind == BulkJob.Kind.ONLINE else {}
    )
    job = fleet_services.bulk_job_create(
        actor=request.user, kind=kind, accounts=[account], params=params
    )
    # A single account's action stays on its page and confirms there (no jump to the job).
    messages.success(
        request,
        _("%(what)s: sent to the vendor (job #%(n)s). The account's state updates here.")
        % {"what": job.get_kind_display(), "n": job.pk},
    )
    return redirect("accounts:detail", whatsapp=account.whatsapp)
