"""HTML pages of the qrlogin app: thin function views over services and selectors.
htmx fragments are partials of the page's one template (`page.html#fragment`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import agent_for_user
from core.access import require, sees_everything
from core.htmx import render_poll
from core.ratelimit import retry_after, vendor_calls_limited
from core.roles import Cap
from core.tasks import enqueue_on_commit
from core.types import AuthedRequest
from ports import services as ports
from ports.models import PortStatus
from qrlogin import conf, selectors
from qrlogin.errors import QR_ERROR_HELP, explain
from qrlogin.forms import PortOnlineForm, ScanTaskForm, StartForm
from qrlogin.models import AllocationRole, QrSession, ScanTaskStatus
from qrlogin.rendering import qr_svg
from qrlogin.services import pair_targets, scan_tasks, sessions
from upstream.errors import UpstreamProblem

log = logging.getLogger(__name__)


def _ms(dt: datetime | None) -> int:
    return int(dt.timestamp() * 1000) if dt else 0


def _ttl_ms(fetched_at: datetime | None) -> int:
    """How much longer (ms) the browser may show a code fetched at `fetched_at`: it hides
    the code itself after that, even if no refresh arrives (network down, tab asleep)."""
    if fetched_at is None:
        return 0
    age = (timezone.now() - fetched_at).total_seconds()
    return max(0, int((conf.qr_max_age_seconds() - age) * 1000))


# --- start --------------------------------------------------------------------------------


@require(Cap.QR_LOGIN)
@require_http_methods(["GET", "POST"])
def start(request: AuthedRequest) -> HttpResponse:
    targets_error = pair_targets.pair_targets_ensure_fresh()
    # ?mode=pair: from the QR page's hint for a phone, which cannot scan its own screen.
    initial = {"mode": QrSession.Mode.PAIR} if request.GET.get("mode") == "pair" else None
    form = StartForm(request.POST or None, targets=selectors.pair_target_choices(), initial=initial)
    start_error, wait = "", 0
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            session = sessions.qr_session_start(user=request.user, **form.cleaned_data)
        except sessions.TooManyOpen as exc:
            start_error, status, wait = str(exc), 429, exc.retry_after
        else:
            if session.port_id:
                return redirect("qrlogin:session", pk=session.pk)
            start_error = _(session.reason) if session.reason else ""
    recent = selectors.qr_session_list(user=request.user)[:10]
    context = {
        "form": form,
        "start_error": start_error,
        "targets_error": targets_error,
        "recent": recent,
    }
    response = render(request, "qrlogin/start.html", context, status=status)
    return retry_after(response, wait) if wait else response


# --- one session --------------------------------------------------------------------------


def _session_context(session: QrSession, user: Any) -> dict[str, Any]:
    done = session.state == QrSession.State.SUCCEEDED
    return {
        **(selectors.login_result_account(user=user, whatsapp=session.whatsapp) if done else {}),
        "session": session,
        "qr": qr_svg(session.qr_string, title=_("QR code to scan with WhatsApp")),
        "qr_ttl_ms": _ttl_ms(session.qr_fetched_at),
        "locked_until_ms": _ms(session.locked_until),
        "target_name": selectors.pair_target_name(session.target),
        "refresh_seconds": conf.qr_refresh_seconds(),
        "poll_seconds": conf.status_poll_seconds(),
    }


def _with_reasons(rows: Any) -> list[Any]:
    """The ports, each with `unavailable`: why its operations cannot be sent ("" if they
    can), shown in place of the buttons."""
    listed = list(rows)
    for port in listed:
        port.unavailable = ports.port_unavailable_reason(port=port)
    return listed


@require(Cap.QR_LOGIN)
@require_GET
def session_page(request: AuthedRequest, pk: int) -> HttpResponse:
    session = selectors.qr_session_get(user=request.user, pk=pk)
    sessions.qr_session_read(session=session)
    return render(request, "qrlogin/session.html", _session_context(session, request.user))


@require(Cap.QR_LOGIN)
@require_GET
def session_code(request: AuthedRequest, pk: int) -> HttpResponse:
    """The code block, polled every refresh period: the code the vendor gave this
    rotation (asked once for every reader; the QR changes every ~20 s upstream, so the
    screen never shows a replaced one)."""
    session = selectors.qr_session_get(user=request.user, pk=pk)
    sessions.qr_session_read(session=session)
    return render_poll(
        request,
        "qrlogin/session.html#code",
        _session_context(session, request.user),
        done=session.is_final,
    )


@require(Cap.QR_LOGIN)
@require_GET
def session_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """The result block, polled every second; answers 286 (stop polling) once final."""
    session = selectors.qr_session_get(user=request.user, pk=pk)
    sessions.qr_session_expire_if_due(session=session)
    watching = not session.is_final or session.awaits_reason
    if watching and request.GET.get("seen") == session.status_token:
        return HttpResponse(status=204)  # nothing new: htmx keeps the element and polls on
    if session.state == QrSession.State.SUCCEEDED:
        sessions.qr_session_fetch_info(session=session)
    context = _session_context(session, request.user) | {"oob": True}
    return render_poll(request, "qrlogin/session.html#status", context, done=not watching)


@require(Cap.QR_LOGIN)
@require_POST
def session_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    old = selectors.qr_session_get(user=request.user, pk=pk)
    try:
        new = sessions.qr_session_retry(session=old, user=request.user)
    except sessions.TooManyOpen as exc:
        messages.error(request, str(exc))
        return redirect("qrlogin:session", pk=old.pk)
    if not new.port_id:
        messages.error(request, _(new.reason) if new.reason else "")
        return redirect("qrlogin:session", pk=old.pk)
    return redirect("qrlogin:session", pk=new.pk)


# --- ports --------------------------------------------------------------------------------


def _ports_context(request: AuthedRequest) -> dict[str, Any]:
    quota = selectors.port_quota_get()
    return {
        "quota": quota,
        "ports": _with_reasons(selectors.cloud_port_list()),
        "expiring": selectors.ports_lock_expiring(),
        "expiring_sessions": selectors.sessions_lock_expiring(user=request.user),
        "at_risk": selectors.ports_over_quota(quota),
        "over_by": max(0, quota.current_port - quota.max_port) if quota else 0,
        "qr_errors": list(QR_ERROR_HELP.values()),
        "online_form": PortOnlineForm(),
        "port_status": PortStatus,
    }


@require(Cap.MANAGE_PORTS)
@require_GET
def ports_page(request: AuthedRequest) -> HttpResponse:
    context = _ports_context(request)
    if selectors.quota_stale(context["quota"]):
        enqueue_on_commit("qrlogin.tasks.refresh_ports")
        context["refreshing_since"] = _ms(context["quota"].fetched_at if context["quota"] else None)
        context["refreshing_until"] = _ms(timezone.now()) + 30_000
    return render(request, "qrlogin/ports.html", context)


@require(Cap.MANAGE_PORTS)
@require_GET
def ports_table(request: AuthedRequest) -> HttpResponse:
    """The quota and the tables, polled after a background refresh was asked for; stops
    (286) once newer data than `since` arrived, or after `until`."""
    context = _ports_context(request)
    try:
        since = int(request.GET.get("since", "0"))
        until = int(request.GET.get("until", "0"))
    except ValueError:
        since = until = 0
    quota = context["quota"]
    fresh = quota is not None and (_ms(quota.fetched_at) or 0) > since
    done = fresh or _ms(timezone.now()) >= until
    if not done:
        context["refreshing_since"], context["refreshing_until"] = since, until
    return render_poll(request, "qrlogin/ports.html#tables", context, done=done)


@require(Cap.MANAGE_PORTS)
@require_POST
@vendor_calls_limited
def ports_refresh(request: AuthedRequest) -> HttpResponse:
    try:
        ports.ports_refresh()
    except UpstreamProblem as exc:
        messages.error(
            request, _("Could not refresh the ports: %(why)s") % {"why": explain(exc)[1]}
        )
    else:
        messages.success(request, _("Ports refreshed from the vendor."))
    return redirect("qrlogin:ports")


@require(Cap.MANAGE_PORTS)
@require_POST
def port_operate(request: AuthedRequest, port_id: str, operation: str) -> HttpResponse:
    if operation not in ports.PORT_OPERATIONS:
        raise Http404
    form = PortOnlineForm(request.POST)
    if operation == "online" and not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("proxy", [])))
        return redirect("qrlogin:ports")
    proxy = form.cleaned_data.get("proxy", "") if operation == "online" else ""
    labels = {"online": _("online"), "offline": _("offline"), "logout": _("logged out")}
    try:
        ports.port_operate(actor=request.user, port_id=port_id, operation=operation, proxy=proxy)
    except ports.PortNotLinked as exc:
        messages.error(request, _("Port %(port)s: %(why)s") % {"port": port_id, "why": exc})
    except UpstreamProblem as exc:
        messages.error(
            request,
            _("Port %(port)s: the vendor refused: %(why)s")
            % {"port": port_id, "why": explain(exc)[1]},
        )
    else:
        messages.success(
            request, _("Port %(port)s is %(what)s.") % {"port": port_id, "what": labels[operation]}
        )
    return redirect(reverse("qrlogin:ports") + "#ports")


# --- PC scan tasks ------------------------------------------------------------------------


@require(Cap.QR_LOGIN)
@require_http_methods(["GET", "POST"])
def tasks_page(request: AuthedRequest) -> HttpResponse:
    everyone = sees_everything(request.user)
    agent = agent_for_user(request.user)
    form = (
        ScanTaskForm(request.POST or None, agents=selectors.agent_choices()) if everyone else None
    )
    create_error = ""
    if request.method == "POST":
        if form is not None:
            if form.is_valid():
                role, user_id = form.cleaned_data["allocation_role"], form.cleaned_data["user_id"]
            else:
                role, user_id = None, ""
        else:  # agents: always specified, for themselves (the service fills in the id)
            role, user_id = AllocationRole.SPECIFIED, ""
        if role is not None:
            try:
                task = scan_tasks.scan_task_create(
                    actor=request.user, allocation_role=role, user_id=user_id
                )
            except scan_tasks.ScanTaskRefused as exc:
                create_error = str(exc)
            except UpstreamProblem as exc:
                create_error = _("The vendor could not create the task: %(why)s") % {
                    "why": explain(exc)[1]
                }
            else:
                return redirect("qrlogin:task", pk=task.pk)
    context = {
        "form": form,
        "agent": agent,
        "create_error": create_error,
        "tasks": selectors.scan_task_list(user=request.user)[:50],
    }
    return render(
        request, "qrlogin/tasks.html", context, status=400 if request.method == "POST" else 200
    )


def _task_context(task: Any, user: Any) -> dict[str, Any]:
    done = task.status == ScanTaskStatus.LOGGED_IN
    return {
        **(selectors.login_result_account(user=user, whatsapp=task.whatsapp) if done else {}),
        "task": task,
        "qr": qr_svg(task.qr_string, title=_("QR code to scan with WhatsApp")),
        "qr_ttl_ms": _ttl_ms(task.qr_fetched_at),
        "refresh_seconds": conf.qr_refresh_seconds(),
        "poll_seconds": conf.status_poll_seconds(),
        "statuses": ScanTaskStatus,
    }


@require(Cap.QR_LOGIN)
@require_GET
def task_page(request: AuthedRequest, pk: int) -> HttpResponse:
    task = selectors.scan_task_get(user=request.user, pk=pk)
    scan_tasks.scan_task_refresh_code(task=task)
    return render(request, "qrlogin/task.html", _task_context(task, request.user))


@require(Cap.QR_LOGIN)
@require_GET
def task_code(request: AuthedRequest, pk: int) -> HttpResponse:
    task = selectors.scan_task_get(user=request.user, pk=pk)
    scan_tasks.scan_task_refresh_code(task=task)
    return render_poll(
        request, "qrlogin/task.html#code", _task_context(task, request.user), done=task.is_scanned
    )


@require(Cap.QR_LOGIN)
@require_GET
def task_status(request: AuthedRequest, pk: int) -> HttpResponse:
    task = selectors.scan_task_get(user=request.user, pk=pk)
    if not task.is_final and request.GET.get("seen", "") == str(task.status or ""):
        return HttpResponse(status=204)
    context = _task_context(task, request.user) | {"oob": True}
    return render_poll(request, "qrlogin/task.html#status", context, done=task.is_final)
