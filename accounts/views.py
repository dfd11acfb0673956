"""Pages of the accounts console. Thin: parse the request, ask access/selectors/services,
render one template (or its fragment when htmx asks)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors
from accounts.choices import DetailStatus, Platform, Presence, Source, label
from accounts.forms import (
    AgentAddForm,
    ContactLookupForm,
    EventFilterForm,
    FleetFilterForm,
    ImportForm,
    ProfileForm,
    RegistrationPhoneForm,
    VerifyCodeForm,
)
from accounts.models import BulkJob, BulkJobItem, Registration, WhatsAppAccount
from accounts.services import contacts as contact_services
from accounts.services import fleet as fleet_services
from accounts.services import imports as import_services
from accounts.services import lookups
from accounts.services import registration as registration_services
from accounts.services.profile import profile_update_queue
from core import listing
from core.access import (
    accounts_visible_to,
    can,
    get_account_for_user,
    get_visible_or_404,
    require,
    require_login,
    sees_everything,
)
from core.csvexport import csv_response, csv_stream
from core.htmx import STOP_POLLING, render_page
from core.ratelimit import vendor_calls_limited
from core.roles import Cap
from core.types import AuthedRequest


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


@require_login
@require_GET
def account_list(request: AuthedRequest) -> HttpResponse:
    visible = accounts_visible_to(request.user)
    if request.htmx and request.GET.get("part") == "counts":  # live tiles
        counts = selectors.account_state_counts(visible=visible)
        return render(request, "accounts/list.html#counts", {"counts": counts})
    if request.htmx and request.GET.get("part") == "new":  # live: accounts added since render
        try:
            since = float(request.GET.get("since", ""))
        except ValueError:
            since = 0.0
        new = selectors.account_new_count(visible=visible, since=since)
        return render(request, "accounts/list.html#new", {"new_accounts": new, "since": since})
    if request.htmx and "row" in request.GET:  # one live row: empty once it is not visible
        one = selectors.account_list(
            visible=visible.filter(whatsapp=request.GET["row"]),
            filters=selectors.FleetFilters(),
            cursor=None,
        )
        if not one.rows:
            return HttpResponse("")
        return render(request, "accounts/list.html#row", {"a": one.rows[0]})
    choices = selectors.fleet_choices(visible=visible, everything=sees_everything(request.user))
    form = FleetFilterForm(request.GET or None)
    filters = form.filters() if request.GET else selectors.FleetFilters()
    page = selectors.account_list(
        visible=visible,
        filters=filters,
        cursor=request.GET.get("cursor"),
        before=request.GET.get("before"),
    )
    query = request.GET.copy()
    for name in listing.PAGING_PARAMS:
        query.pop(name, None)
    sort = filters.sort if filters.sort in selectors.FLEET_SORTS else "whatsapp"
    context = {
        "form": form,
        "choices": choices,
        "filters": filters,
        "page": page,
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
        "counts": selectors.account_state_counts(visible=visible),
        "since": time.time(),  # new accounts after this render are offered live
        "base_query": query.urlencode(),
        "can_manage": can(request.user, Cap.MANAGE_ACCOUNTS),
        "jobs": selectors.recent_jobs(user=request.user) if sees_everything(request.user) else [],
        "profile_form": ProfileForm(),
    }
    return render_page(request, "accounts/list.html", context, fragment="results")


@require_login
@require_POST
def account_bulk(request: AuthedRequest) -> HttpResponse:
    action = request.POST.get("action", "")
    if action == "export":
        return _export(request)
    if not can(request.user, Cap.MANAGE_ACCOUNTS):
        raise PermissionDenied(_("Only supervisors can act on accounts."))
    accounts = _selected_accounts(request)
    if not accounts:
        messages.warning(request, _("Select at least one account first."))
        return redirect("accounts:list")
    try:
        if action == "online":
            override = request.POST.get("override") == "1"
            check = fleet_services.bulk_online_precheck(accounts=accounts)
            if not check.clean and request.POST.get("confirmed") != "1":
                # Before anything is sent: the accounts without keys and the banned ones.
                return render(
                    request, "accounts/online_confirm.html", {"check": check, "override": override}
                )
            job = fleet_services.bulk_job_create(
                actor=request.user,
                kind=BulkJob.Kind.ONLINE,
                accounts=check.ready,
                params={"override": override},
            )
        elif action == "recycle":
            if request.POST.get("confirmed") != "1":
                return render(request, "accounts/recycle_confirm.html", {"accounts": accounts})
            job = fleet_services.bulk_job_create(
                actor=request.user, kind=BulkJob.Kind.RECYCLE, accounts=accounts
            )
        elif action == "profile":
            form = ProfileForm(request.POST)
            if not form.is_valid():
                return render(
                    request,
                    "accounts/bulk_profile.html",
                    {"accounts": accounts, "profile_form": form},
                    status=400,
                )
            if request.POST.get("confirmed") != "1":
                return render(
                    request,
                    "accounts/bulk_profile.html",
                    {"accounts": accounts, "profile_form": form},
                )
            job = profile_update_queue(actor=request.user, accounts=accounts, **form.cleaned_data)
        else:
            return HttpResponseBadRequest(_("Unknown action."))
    except fleet_services.JobError as exc:
        if action == "profile":
            form = ProfileForm(request.POST)
            form.is_valid()
            form.add_error(None, str(exc))
            return render(
                request,
                "accounts/bulk_profile.html",
                {"accounts": accounts, "profile_form": form},
                status=400,
            )
        messages.error(request, str(exc))
        return redirect("accounts:list")
    return redirect("accounts:job", job_id=job.pk)


def _export(request: AuthedRequest) -> HttpResponse:
    visible = accounts_visible_to(request.user)
    form = FleetFilterForm(request.POST)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    qs = selectors.account_export_rows(visible=visible, filters=form.filters(), ids=ids or None)
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
        "last_event_at",
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
                a.last_event_at.isoformat() if a.last_event_at else "",
            ]

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"accounts-{stamp}.csv", csv_stream(header, rows()))


# --- jobs ---------------------------------------------------------------------------


@require_login
@require_GET
def job_export(request: AuthedRequest, job_id: int) -> HttpResponse:
    """A bulk job's items (whatsapp, state, error) as CSV; its owner (or a supervisor)."""
    job = get_visible_or_404(request.user, BulkJob.objects.all(), pk=job_id)
    header = ["whatsapp", "state", "error", "attempts", "updated_at"]

    def rows() -> Iterator[list[Any]]:
        for item in job.items.order_by("id").iterator(chunk_size=2000):
            yield [
                item.whatsapp,
                item.state,
                item.error,
                item.attempts,
                item.updated_at.isoformat(),
            ]

    return csv_response(f"job-{job.pk}.csv", csv_stream(header, rows()))


@require_login
@require_GET
def job_detail(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = get_visible_or_404(request.user, BulkJob.objects.all(), pk=job_id)
    if job.kind == BulkJob.Kind.IMPORT and job.state == BulkJob.State.PREVIEW:
        return redirect("accounts:import_preview", job_id=job.pk)
    failed = selectors.job_items(job=job, state=BulkJobItem.State.FAILED, limit=200)
    context = {
        "job": job,
        "items": selectors.job_items(job=job, limit=500),
        "failed": failed,
        "can_manage": can(request.user, Cap.MANAGE_ACCOUNTS),
    }
    if request.htmx:
        resp = render(request, "accounts/job.html#progress", context)
        if job.finished:
            resp.status_code = STOP_POLLING
        return resp
    return render(request, "accounts/job.html", context)


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def job_retry(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = get_visible_or_404(request.user, BulkJob.objects.all(), pk=job_id)
    try:
        n = fleet_services.bulk_job_retry_failed(actor=request.user, job=job)
    except fleet_services.JobError as exc:
        messages.error(request, str(exc))
    else:
        if n:
            messages.success(request, _("%(n)s failed accounts queued again.") % {"n": n})
        else:
            messages.info(request, _("Nothing failed: nothing to retry."))
    return redirect("accounts:job", job_id=job.pk)


# --- import -------------------------------------------------------------------------


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthedRequest) -> HttpResponse:
    form = ImportForm(
        request.POST or None,
        request.FILES or None,
        initial={"replace_keys": request.GET.get("replace_keys") == "1"},
    )
    context: dict[str, Any] = {"form": form, "columns": import_services.expected_columns()}
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = import_services.import_parse(upload=upload)
        except import_services.ImportFileError as exc:
            form.add_error("file", str(exc))
            status = 400
        else:
            if result.errors:
                context["result"] = result
                context["errors_shown"] = result.errors[: import_services.MAX_ERRORS_SHOWN]
                status = 400
            else:
                try:
                    job = import_services.import_stage(
                        actor=request.user,
                        result=result,
                        filename=upload.name or "",
                        replace_keys=form.cleaned_data["replace_keys"],
                    )
                except import_services.ImportFileError as exc:
                    context["result"] = result
                    form.add_error("file", str(exc))
                    status = 400
                else:
                    return redirect("accounts:import_preview", job_id=job.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/import.html", context, status=status)


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(BulkJob, pk=job_id, kind=BulkJob.Kind.IMPORT)
    if request.method == "POST":
        if request.POST.get("action") == "cancel":
            import_services.import_cancel(actor=request.user, job=job)
            messages.info(request, _("Import cancelled: nothing was imported."))
            return redirect("accounts:import")
        job = import_services.import_confirm(actor=request.user, job=job)
        return redirect("accounts:job", job_id=job.pk)
    if job.state != BulkJob.State.PREVIEW:
        return redirect("accounts:job", job_id=job.pk)
    rows = list(
        job.import_rows.order_by("line").only("line", "whatsapp", "name", "whatsapp_type")[:100]
    )
    return render(request, "accounts/import_preview.html", {"job": job, "rows": rows})


# --- account detail ------------------------------------------------------------------


def _port_error(whatsapp: str) -> str:
    """Why the port operations cannot be sent for this account ("" when they can)."""
    from qrlogin.services.ports import PortNotLinked

    if fleet_services.cloud_port_for(whatsapp) is None:
        return ""
    try:
        fleet_services.port_call_id_for(whatsapp)
    except PortNotLinked as exc:
        return str(exc)
    return ""


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
    context = {
        "account": account,
        "agent": account.agent,
        "events": events,
        "pager": listing.pager(request.GET, events, size=25),
        "port": fleet_services.cloud_port_for(account.whatsapp),
        "port_error": _port_error(account.whatsapp),
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
    profile, profile_error = lookups.vendor_profile(whatsapp=account.whatsapp)
    online, online_error = lookups.vendor_online_where(whatsapp=account.whatsapp)
    return render(
        request,
        "accounts/detail.html#vendor",
        {
            "account": account,
            "profile": profile,
            "profile_error": profile_error,
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
    for p in points:
        p["label"] = label(Presence, p["status"])
        p["detail_label"] = label(DetailStatus, p["detail_status"])
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
    if kind in fleet_services.PORT_KINDS and (why := _port_error(account.whatsapp)):
        messages.error(request, why)  # nothing is sent: the vendor would answer 1002
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


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_profile_update(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    account = get_account_for_user(request.user, whatsapp)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            job = profile_update_queue(actor=request.user, accounts=[account], **form.cleaned_data)
        except fleet_services.JobError as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                # A change made in place stays on the page: a fresh form, a link to the job
                # and a toast; no jump to the job page.
                resp = render(
                    request,
                    "accounts/detail.html#profile_form",
                    {
                        "account": account,
                        "profile_form": ProfileForm(),
                        "can_manage": True,
                        "profile_job": job,
                    },
                )
                resp["HX-Trigger"] = json.dumps(
                    {"sb:toast": {"message": str(_("Avatar and nickname sent to the vendor."))}}
                )
                return resp
            return redirect("accounts:job", job_id=job.pk)
    # The errors go beside the form (htmx swaps 400 answers in place: base.html).
    return render(
        request,
        "accounts/detail.html#profile_form",
        {"account": account, "profile_form": form, "can_manage": True},
        status=400,
    )


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def account_contacts(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    account = get_account_for_user(request.user, whatsapp)
    form = ContactLookupForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            contact_services.contact_lookup_request(
                actor=request.user,
                account=account,
                kind=form.cleaned_data["kind"],
                phone=form.cleaned_data.get("phone") or "",
                confirmed=bool(form.cleaned_data.get("confirm")),
            )
            form = ContactLookupForm()
        except contact_services.LookupError_ as exc:
            error = str(exc)
    lookup_rows = selectors.contact_lookups(account=account)
    context = {
        "account": account,
        "contact_form": form,
        "contact_error": error,
        "lookups": lookup_rows,
        "can_manage": True,
    }
    resp = render(request, "accounts/detail.html#contacts", context, status=400 if error else 200)
    return resp


# --- registration ---------------------------------------------------------------------


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def register(request: AuthedRequest) -> HttpResponse:
    form = RegistrationPhoneForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reg = registration_services.registration_submit_phone(
                    actor=request.user, **form.cleaned_data
                )
            except registration_services.RegistrationError as exc:
                form.add_error("phone", str(exc))
                status = 400
            else:
                if reg.state == Registration.State.FAILED:
                    messages.error(request, reg.error)
                return redirect("accounts:registration", pk=reg.pk)
        else:
            status = 400
    history = list(selectors.registrations_visible_to(request.user)[:50])
    return render(
        request, "accounts/register.html", {"form": form, "history": history}, status=status
    )


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def registration_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    reg = get_visible_or_404(request.user, Registration.objects.all(), pk=pk)
    form = VerifyCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            reg = registration_services.registration_submit_code(
                actor=request.user, registration=reg, code=form.cleaned_data["code"]
            )
            return redirect("accounts:registration", pk=reg.pk)
        except registration_services.RegistrationError as exc:
            form.add_error("code", str(exc))
            status = 400
    elif request.method == "POST":
        status = 400
    context = {
        "reg": reg,
        "form": form,
        "final": reg.state in (Registration.State.SUCCEEDED, Registration.State.FAILED),
        "account": (
            selectors.registration_account(reg)
            if reg.state == Registration.State.SUCCEEDED
            else None
        ),
    }
    if request.htmx and request.method == "GET":
        resp = render(request, "accounts/registration.html#status", context)
        if context["final"]:
            resp.status_code = STOP_POLLING
        return resp
    return render(request, "accounts/registration.html", context, status=status)


# --- agents ---------------------------------------------------------------------------


@require(Cap.VIEW_AGENTS)
@require_GET
def agents(request: AuthedRequest) -> HttpResponse:
    agent_filter = request.GET.get("agent", "").strip()
    directory = selectors.agent_directory()
    context = {
        "agent_filter": agent_filter,
        "all_agents": [a.agent_account for a in directory[:500]],
        "directory": directory,
        "add_form": AgentAddForm(),
        "can_add": can(request.user, Cap.MANAGE_ACCOUNTS),
    }
    return render(request, "accounts/agents.html", context)


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def agent_add(request: AuthedRequest) -> HttpResponse:
    """A supervisor adds an agent the vendor has not reported yet (same service as the API)."""
    from accounts.services.agents import AgentInvalid, agent_create

    form = AgentAddForm(request.POST)
    if form.is_valid():
        try:
            agent = agent_create(
                agent_account=form.cleaned_data["agent_account"],
                user_id=form.cleaned_data["user_id"],
                user_name=form.cleaned_data["user_name"],
                actor=request.user,
            )
        except AgentInvalid as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Agent %(account)s added.") % {"account": agent.agent_account}
            )
            return redirect("accounts:agents")
    directory = selectors.agent_directory()
    context = {
        "agent_filter": "",
        "all_agents": [a.agent_account for a in directory[:500]],
        "directory": directory,
        "add_form": form,
        "can_add": True,
    }
    return render(request, "accounts/agents.html", context, status=400)


@require(Cap.VIEW_AGENTS)
@require_GET
@vendor_calls_limited
def agents_vendor(request: AuthedRequest) -> HttpResponse:
    """Lazy fragment: online agents per source, and each agent's latest 10 online accounts."""
    overview = lookups.vendor_agents_overview(agent=request.GET.get("agent", "").strip())
    return render(
        request,
        "accounts/agents.html#vendor",
        {
            **overview,
            "fetched_at": timezone.now(),
            "presence": {c.value: c.label for c in Presence},
        },
    )


# --- status logs ------------------------------------------------------------------------


def _event_filters(request: AuthedRequest) -> tuple[EventFilterForm, selectors.EventFilters]:
    form = EventFilterForm(request.GET or None)
    return form, (form.filters() if request.GET else selectors.EventFilters())


@require(Cap.VIEW_LOGS)
@require_GET
def logs(request: AuthedRequest) -> HttpResponse:
    form, filters = _event_filters(request)
    events = selectors.events_visible_to(request.user)
    page = selectors.event_list(
        events=events,
        filters=filters,
        cursor=request.GET.get("cursor"),
        before=request.GET.get("before"),
    )
    query = request.GET.copy()
    for name in listing.PAGING_PARAMS:
        query.pop(name, None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "pager": listing.pager(
            request.GET,
            page,
            size=50,
            count=selectors.event_count(events=events, filters=filters),
        ),
        "base_query": query.urlencode(),
    }
    return render_page(request, "accounts/logs.html", context, fragment="results")


@require(Cap.VIEW_LOGS)
@require_GET
def logs_export(request: AuthedRequest) -> HttpResponse:
    _form, filters = _event_filters(request)
    qs = selectors.event_export_rows(
        events=selectors.events_visible_to(request.user), filters=filters
    )
    header = [
        "whatsapp",
        "status",
        "status_label",
        "detail_status",
        "detail_label",
        "agent_account",
        "platform",
        "platform_label",
        "event_time",
        "received_at",
        "source",
    ]

    def rows() -> Iterator[list[Any]]:
        for w, st, ds, agent, platform, et, ra, src in qs.iterator(chunk_size=5000):
            yield [
                w,
                st,
                label(Presence, st),
                ds if ds is not None else "",
                label(DetailStatus, ds),
                agent,
                platform if platform is not None else "",
                label(Platform, platform),
                et.isoformat(),
                ra.isoformat(),
                src,
            ]

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"status-events-{stamp}.csv", csv_stream(header, rows()))


@require(Cap.VIEW_LOGS)
@require_GET
def logs_chart(request: AuthedRequest) -> JsonResponse:
    _form, filters = _event_filters(request)
    return JsonResponse(
        selectors.online_over_time(
            events=selectors.events_visible_to(request.user), filters=filters
        )
    )


@require(Cap.VIEW_LOGS)
@require_GET
@vendor_calls_limited
def logs_vendor(request: AuthedRequest) -> HttpResponse:
    """Lazy fragment: the vendor's own latest-50 log (queryUserStatusLog), to compare."""
    try:
        source = int(request.GET.get("source", "1"))
    except ValueError:
        source = 1
    if source not in (1, 2):
        raise Http404
    whatsapp = request.GET.get("whatsapp", "").strip().lstrip("+")
    agent = request.GET.get("agent", "").strip()
    data, error = lookups.vendor_status_log(source=source, agent_account=agent, whatsapp=whatsapp)
    rows = [
        (log, e, label(Presence, e.status), label(DetailStatus, e.detail_status))
        for log in data
        for e in log.entries
    ]
    return render(
        request,
        "accounts/logs.html#vendor",
        {"rows": rows, "error": error, "source": source, "fetched_at": timezone.now()},
    )
