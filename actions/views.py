"""HTML pages of the actions app (function views; htmx fragments via partialdef)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import agent_for_user
from actions import selectors
from actions.forms import ActionForm, CsvUploadForm, FilterForm, MarkFailedForm
from actions.models import Action, ActionBatch, State
from actions.services import intake, manage
from core.access import require
from core.csvexport import csv_response, csv_stream
from core.htmx import render_page
from core.roles import Cap
from core.types import AuthedRequest
from core.zones import local_iso, zoned_header

ACTIONS = (Cap.OWN_ACTIONS, Cap.MANAGE_ACTIONS)


def _filtered_actions(request: AuthedRequest) -> tuple[FilterForm, QuerySet[Action]]:
    form = FilterForm(request.GET or None)
    qs = selectors.action_list(request.user)
    if form.is_valid():
        d = form.cleaned_data
        qs = selectors.action_filter(
            qs,
            selectors.Filters(
                state=d["state"] or "",
                agent_account=(d["agent_account"] or "").strip(),
                whatsapp=(d["whatsapp"] or "").strip(),
                batch=d["batch"],
                date_from=d["date_from"],
                date_to=d["date_to"],
            ),
        )
    else:
        qs = qs.order_by("-created_at", "-id")
    return form, qs


@require(*ACTIONS)
@require_GET
def action_list(request: AuthedRequest) -> HttpResponse:
    form, qs = _filtered_actions(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": bool(request.GET and any(v for k, v in request.GET.items() if k != "page")),
        "sees_all": selectors.sees_all_actions(request.user),
    }
    return render_page(request, "actions/list.html", context, fragment="results")


@require(*ACTIONS)
@require_GET
def action_export(request: AuthedRequest) -> HttpResponse:
    """The list's rows (same filters, same scope: agents their own) as CSV."""
    _form, qs = _filtered_actions(request)
    zone = timezone.get_current_timezone()
    header = [
        "id",
        "state",
        "agent_account",
        "whatsapp",
        "friend_whatsapp",
        "platform",
        "content",
        "reason",
        "callback_id",
        zoned_header("created_at", zone),
        zoned_header("finished_at", zone),
    ]

    def rows() -> Iterator[list[Any]]:
        for a in qs.iterator(chunk_size=2000):
            yield [
                a.pk,
                a.state,
                a.agent_account,
                a.whatsapp,
                a.friend_whatsapp,
                a.platform,
                a.content,
                a.reason,
                a.callback_id,
                local_iso(a.created_at, zone),
                local_iso(a.finished_at, zone),
            ]

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"actions-{stamp}.csv", csv_stream(header, rows()))


@require(*ACTIONS)
def action_new(request: AuthedRequest) -> HttpResponse:
    initial = {}
    own = agent_for_user(request.user)
    if own is not None:
        initial["agent_account"] = own.agent_account
    form = ActionForm(request.POST or None, initial=initial)
    warnings: list[str] = []
    if request.method == "POST" and form.is_valid():
        result = intake.actions_intake(
            user=request.user,
            source=ActionBatch.Source.FORM,
            rows=[intake.Row(form.cleaned_data)],
            confirm=form.cleaned_data["confirm"],
        )
        if result.outcome == intake.Outcome.QUEUED:
            messages.success(request, _("Action queued."))
            return redirect("actions:detail", pk=result.created[0].pk)
        if result.outcome == intake.Outcome.CONFIRM:
            # Ask: the next submit carries confirm=1.
            warnings = result.all_warnings
            data = request.POST.copy()
            data["confirm"] = "1"
            form = ActionForm(data)
            form.is_valid()
        else:
            form.add_intake_errors(result.rows[0].errors)
    return render(request, "actions/new.html", {"form": form, "warnings": warnings})


@require(*ACTIONS)
def action_upload(request: AuthedRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = intake.actions_intake_csv(
            user=request.user, upload=upload, confirm=form.cleaned_data["confirm_offline"]
        )
        if result.outcome == intake.Outcome.FILE_ERROR:
            form.add_error("file", result.file_error)
        elif result.batch is not None:
            if result.outcome == intake.Outcome.QUEUED:
                messages.success(request, _("All lines are valid: the actions are queued."))
            return redirect("actions:batch", pk=result.batch.pk)
    return render(request, "actions/upload.html", {"form": form})


@require(*ACTIONS)
@require_GET
def batch_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.batch_list(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "actions/batches.html", {"page": page})


@require(*ACTIONS)
@require_GET
def batch_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_get(request.user, pk)
    progress = selectors.batch_progress(request.user, batch)
    context = {
        "batch": batch,
        "progress": progress,
        "actions": selectors.action_list(request.user).filter(batch=batch).order_by("id")[:200],
        "unknown": progress.counts.get(State.UNKNOWN, 0),
    }
    return render_page(
        request, "actions/batch.html", context, fragment="progress", stop_polling=progress.done
    )


@require(*ACTIONS)
@require_POST
def batch_confirm(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = selectors.draft_get(request.user, pk)
    count = intake.draft_confirm(user=request.user, batch=batch)
    messages.success(request, _("%(n)d actions queued.") % {"n": count})
    return redirect("actions:batch", pk=batch.pk)


@require(*ACTIONS)
@require_POST
def batch_discard(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = selectors.draft_get(request.user, pk)
    intake.draft_discard(user=request.user, batch=batch)
    messages.info(request, _("Upload discarded: nothing was queued."))
    return redirect("actions:upload")


@require(*ACTIONS)
@require_POST
def batch_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    """Asked once more on a page naming the count (keyboard and no-JS alike), then done."""
    batch = selectors.batch_get(request.user, pk)
    if request.POST.get("confirmed") != "1":
        queued = selectors.action_list(request.user).filter(batch=batch, state=State.QUEUED)
        context = {"batch": batch, "count": queued.count()}
        return render(request, "actions/batch_cancel_confirm.html", context)
    count = manage.batch_cancel(user=request.user, batch=batch)
    messages.success(request, _("%(n)d queued actions cancelled.") % {"n": count})
    return redirect("actions:batch", pk=batch.pk)


@require(*ACTIONS)
@require_GET
def action_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    action = selectors.action_get(request.user, pk)
    context = {"action": action, "fail_form": MarkFailedForm()}
    return render_page(request, "actions/detail.html", context, fragment="live")


def _manual(request: AuthedRequest, pk: int, what: str) -> HttpResponse:
    action = selectors.action_get(request.user, pk)
    try:
        if what == "cancel":
            manage.action_cancel(user=request.user, action=action)
            messages.success(request, _("Action cancelled."))
        elif what == "resend":
            manage.action_resend(user=request.user, action=action)
            messages.success(request, _("Action queued again."))
        else:
            form = MarkFailedForm(request.POST)
            note = form.cleaned_data["note"] if form.is_valid() else ""
            manage.action_mark_failed(user=request.user, action=action, note=note)
            messages.success(request, _("Action marked failed."))
    except manage.NotAllowedNow as exc:
        messages.error(request, str(exc))
    return redirect("actions:detail", pk=action.pk)


@require(*ACTIONS)
@require_POST
def action_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _manual(request, pk, "cancel")


@require(*ACTIONS)
@require_POST
def action_resend(request: AuthedRequest, pk: int) -> HttpResponse:
    return _manual(request, pk, "resend")


@require(*ACTIONS)
@require_POST
def action_mark_failed(request: AuthedRequest, pk: int) -> HttpResponse:
    return _manual(request, pk, "fail")


@require(*ACTIONS)
@require_GET
def lane_list(request: AuthedRequest) -> HttpResponse:
    lanes = selectors.lane_list(request.user).order_by("agent_account", "whatsapp")
    page = Paginator(lanes, 100).get_page(request.GET.get("page"))
    return render_page(request, "actions/lanes.html", {"page": page}, fragment="live")


@require(*ACTIONS)
@require_POST
def lane_pause(request: AuthedRequest, pk: int) -> HttpResponse:
    lane = selectors.lane_get(request.user, pk)
    manage.lane_pause(user=request.user, lane=lane)
    messages.success(request, _("Lane %(lane)s paused.") % {"lane": lane})
    return redirect("actions:lanes")


@require(*ACTIONS)
@require_POST
def lane_resume(request: AuthedRequest, pk: int) -> HttpResponse:
    lane = selectors.lane_get(request.user, pk)
    manage.lane_resume(user=request.user, lane=lane)
    messages.success(request, _("Lane %(lane)s resumed.") % {"lane": lane})
    return redirect("actions:lanes")
