"""Status logs: the history list, its chart, CSV export and the vendor's own log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import (
    Http404,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from accounts import selectors
from accounts.access import accounts_visible_to
from accounts.choices import DetailStatus, Platform, Presence
from accounts.forms import (
    EventFilterForm,
)
from accounts.services import lookups
from accounts.views.event_rows import event_cells
from core import listing
from core.access import (
    require,
    sees_everything,
)
from core.choices import label
from core.csvexport import csv_response, csv_stream
from core.fragments import render_each, render_keyed
from core.htmx import render_page
from core.ratelimit import vendor_calls_limited
from core.roles import Cap
from core.types import AuthedRequest
from core.zones import local_iso, zoned_header


def _event_filters(request: AuthedRequest) -> tuple[EventFilterForm, selectors.EventFilters]:
    form = EventFilterForm(request.GET or None)
    return form, (form.filters() if request.GET else selectors.EventFilters())


ROW_TEMPLATE = "accounts/logs.html#row"


def _filters_html(request: AuthedRequest, form: EventFilterForm, base_query: str) -> str:
    """The filter form, rendered once per distinct filter values (and export link): the
    same for everyone who asks for the same filters."""
    data = tuple((name, tuple(request.GET.getlist(name))) for name in form.fields)
    return render_keyed(
        "accounts/logs.html#filters",
        (bool(request.GET), data, base_query),
        lambda: {"form": form, "base_query": base_query},
    )


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
    base_query = query.urlencode()
    context = {
        "filters_html": _filters_html(request, form, base_query),
        "filters": filters,
        "page": page,
        "rows_html": mark_safe("".join(render_each(ROW_TEMPLATE, "ev", event_cells(page.rows)))),  # noqa: S308 - rendered rows, escaped there
        "pager": listing.pager(
            request.GET,
            page,
            size=50,
            count=selectors.event_count(events=events, filters=filters),
        ),
        "base_query": base_query,
        # How far back the history goes (its oldest month); none while kept forever.
        "kept_since": selectors.history_kept_since() if settings.STATUS_HISTORY_MONTHS else None,
        "kept_months": settings.STATUS_HISTORY_MONTHS,
    }
    return render_page(request, "accounts/logs.html", context, fragment="results")


@require(Cap.VIEW_LOGS)
@require_GET
def logs_export(request: AuthedRequest) -> HttpResponse:
    _form, filters = _event_filters(request)
    qs = selectors.event_export_rows(
        events=selectors.events_visible_to(request.user), filters=filters
    )
    zone = timezone.get_current_timezone()
    header = [
        "whatsapp",
        "status",
        "status_label",
        "detail_status",
        "detail_label",
        "agent_account",
        "platform",
        "platform_label",
        zoned_header("event_time", zone),
        zoned_header("received_at", zone),
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
                local_iso(et, zone),
                local_iso(ra, zone),
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
            accounts=None if sees_everything(request.user) else accounts_visible_to(request.user),
            filters=filters,
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
