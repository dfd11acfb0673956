"""The fleet list, its bulk actions (one view each) and the fleet CSV export."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.access import accounts_visible_to
from accounts.forms import (
    FleetFilterForm,
    ProfileForm,
)
from accounts.models import BulkJob, WhatsAppAccount
from accounts.services import fleet as fleet_services
from accounts.services.profile import profile_update_queue
from accounts.views.fleet_parts import rows_html, tiles_html
from core import listing
from core.access import can, require, require_login, sees_everything
from core.csvexport import csv_response, csv_stream
from core.fragments import render_keyed, render_shell, template_version
from core.htmx import wants_fragment
from core.roles import Cap
from core.types import AuthedRequest
from core.zones import local_iso, zoned_header


def _selected_accounts(request: AuthedRequest) -> list[WhatsAppAccount]:
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:5000]
    if not ids:
        return []
    return list(
        accounts_visible_to(request.user)
        .filter(id__in=ids)
        .only("id", "whatsapp")
        .order_by("whatsapp")
    )


# --- fleet list ---------------------------------------------------------------------


def _filters_html(
    query: QueryDict, choices: dict[str, list[str]], *, agent_view: bool
) -> SafeString:
    """The filter form: the same for everyone with the same filters, options and role (the
    form itself is built only to render it: its fields' deep copies cost a page view
    about a millisecond)."""
    names = FleetFilterForm.field_names(agent_view=agent_view)
    data = tuple((name, tuple(query.getlist(name))) for name in names)
    inputs = (
        agent_view,
        bool(query),
        data,
        tuple(choices["agents"]),
        tuple(choices["countries"]),
    )

    def context() -> dict[str, Any]:
        form = FleetFilterForm(query or None, agent_view=agent_view)
        return {"form": form, "choices": choices}

    return render_keyed("accounts/list.html#filters", inputs, context)


_ROWS_SLOT = "<sb-slot rows_html>"


def _results_html(results: dict[str, Any]) -> SafeString:
    """The results (the table's head, its rows, the pager): rendered once per distinct
    header links, pager and state (core/fragments.py), the rows (cached on their own)
    put in."""
    inputs = (
        results["pager"],
        tuple(sorted(results["sorts"].items())),
        results["filters"].active(),
        bool(results["page"].rows),
        results["can_manage"],
        template_version("core/_pager.html"),  # included
    )
    html = render_keyed(
        "accounts/list.html#results",
        inputs,
        lambda: {**results, "rows_html": mark_safe(_ROWS_SLOT)},  # noqa: S308 - our marker
    )
    return mark_safe(html.replace(_ROWS_SLOT, results["rows_html"], 1))  # noqa: S308 - both ours


@require_login
@require_GET
def account_list(request: AuthedRequest) -> HttpResponse:
    visible = accounts_visible_to(request.user)
    # The live stream pushes the tiles and rows (accounts/views/fleet_parts.py); the tiles
    # are fetched too, while the stream is down.
    if request.htmx and request.GET.get("part") == "counts":
        return HttpResponse(tiles_html(visible))
    if request.htmx and request.GET.get("part") == "new":  # live: accounts added since render
        try:
            since = float(request.GET.get("since", ""))
        except ValueError:
            since = 0.0
        new = selectors.account_new_count(visible=visible, since=since)
        return render(request, "accounts/list.html#new", {"new_accounts": new, "since": since})
    everything = sees_everything(request.user)
    filters = (
        FleetFilterForm(request.GET, agent_view=not everything).filters()
        if request.GET
        else selectors.FleetFilters()
    )
    page = selectors.account_list(
        visible=visible,
        filters=filters,
        cursor=request.GET.get("cursor"),
        before=request.GET.get("before"),
    )
    rows = mark_safe("".join(rows_html(page.rows)))  # noqa: S308 - rendered rows, escaped there
    sort = filters.sort if filters.sort in selectors.FLEET_SORTS else "whatsapp"
    can_manage = can(request.user, Cap.MANAGE_ACCOUNTS)
    results = {
        "filters": filters,
        "page": page,
        "rows_html": rows,
        "pager": listing.pager(
            request.GET,
            page,
            size=selectors.PAGE_SIZE,
            count=selectors.account_count(visible=visible, filters=filters),
        ),
        "sorts": listing.sort_headers(
            request.GET,
            sort,
            {
                "whatsapp": (_("Number"), False),
                "name": (_("Name"), False),
                "last_event_at": (_("Last event"), True),
            },
        ),
        "can_manage": can_manage,
    }
    if wants_fragment(request):  # paging, sorting, filtering: the results alone
        return HttpResponse(_results_html(results))
    # The whole page: its shell (cached per reader, language, time zone and address) with
    # the parts that change from view to view put in (core/fragments.py, render_shell).
    choices = selectors.fleet_choices(visible=visible, everything=everything)
    counts = selectors.account_state_counts(visible=visible)
    jobs = selectors.recent_jobs(user=request.user) if everything else []
    slots = {
        "counts_html": render_keyed(
            "accounts/list.html#counts", tuple(sorted(counts.items())), lambda: {"counts": counts}
        ),
        # New accounts after this render are offered live.
        "new_html": render_to_string(
            "accounts/list.html#new",
            {"since": time.time(), "list_url": reverse("accounts:list")},
        ),
        "filters_html": _filters_html(request.GET, choices, agent_view=not everything),
        "jobs_html": render_to_string("accounts/list.html#jobs", {"jobs": jobs}) if jobs else "",
        "results_html": _results_html(results),
    }
    return render_shell(
        request, "accounts/list.html", {"can_manage": can_manage}, slots=slots, inputs=(can_manage,)
    )


def _nothing_selected(request: AuthedRequest) -> HttpResponse:
    messages.warning(request, _("Select at least one account first."))
    return redirect("accounts:list")


def _start_job(
    request: AuthedRequest,
    *,
    kind: str,
    accounts: list[WhatsAppAccount],
    params: dict[str, Any] | None = None,
) -> HttpResponse:
    """Queue the job and follow it on its page; a refusal goes back to the list."""
    try:
        job = fleet_services.bulk_job_create(
            actor=request.user, kind=kind, accounts=accounts, params=params or {}
        )
    except fleet_services.JobError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:list")
    return redirect("accounts:job", job_id=job.pk)


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def bulk_online(request: AuthedRequest) -> HttpResponse:
    """Bring the selected accounts online with their keys; the pre-check names the banned
    and keyless ones before anything is sent. Taking over (override) logs the accounts out
    wherever they are online now, so it is always asked once more, with the count."""
    accounts = _selected_accounts(request)
    if not accounts:
        return _nothing_selected(request)
    override = request.POST.get("override") == "1"
    check = fleet_services.bulk_online_precheck(accounts=accounts)
    if (override or not check.clean) and request.POST.get("confirmed") != "1":
        return render(
            request, "accounts/online_confirm.html", {"check": check, "override": override}
        )
    return _start_job(
        request, kind=BulkJob.Kind.ONLINE, accounts=check.ready, params={"override": override}
    )


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def bulk_recycle(request: AuthedRequest) -> HttpResponse:
    accounts = _selected_accounts(request)
    if not accounts:
        return _nothing_selected(request)
    if request.POST.get("confirmed") != "1":
        return render(request, "accounts/recycle_confirm.html", {"accounts": accounts})
    return _start_job(request, kind=BulkJob.Kind.RECYCLE, accounts=accounts)


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def bulk_profile(request: AuthedRequest) -> HttpResponse:
    """Avatar/nickname for the selection: checked, shown for confirmation, then queued."""
    accounts = _selected_accounts(request)
    if not accounts:
        return _nothing_selected(request)
    form = ProfileForm(request.POST)
    context = {"accounts": accounts, "profile_form": form}
    if not form.is_valid():
        return render(request, "accounts/bulk_profile.html", context, status=400)
    if request.POST.get("confirmed") != "1":
        return render(request, "accounts/bulk_profile.html", context)
    try:
        job = profile_update_queue(actor=request.user, accounts=accounts, **form.cleaned_data)
    except fleet_services.JobError as exc:
        form.add_error(None, str(exc))
        return render(request, "accounts/bulk_profile.html", context, status=400)
    return redirect("accounts:job", job_id=job.pk)


@require_login
@require_POST
def bulk_export(request: AuthedRequest) -> HttpResponse:
    """The selection (or, with none, everything the filters match) as CSV; agents get their
    own accounts only."""
    visible = accounts_visible_to(request.user)
    form = FleetFilterForm(request.POST)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    qs = selectors.account_export_rows(visible=visible, filters=form.filters(), ids=ids or None)
    zone = timezone.get_current_timezone()
    header = [
        "whatsapp",
        "name",
        "account_type",
        "status",
        "online_status",
        "presence",
        "detail_status",
        "platform",
        "source",
        "country",
        "agent_account",
        zoned_header("last_event_at", zone),
    ]

    def rows() -> Iterator[list[Any]]:
        for a in qs.iterator(chunk_size=2000):
            yield [
                a.whatsapp,
                a.name,
                a.get_account_type_display(),
                a.get_status_display(),
                a.get_online_status_display() if a.online_status else "",
                a.presence_label,
                a.detail_status_label,
                a.get_platform_display() if a.platform else "",
                a.get_source_display() if a.source else "",
                a.country,
                a.agent_account,
                local_iso(a.last_event_at, zone),
            ]

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"accounts-{stamp}.csv", csv_stream(header, rows()))
