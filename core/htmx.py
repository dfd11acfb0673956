"""The one way a view answers htmx (django-htmx): a fragment (`page.html#fragment`) for
an htmx request, the whole page otherwise; a history-restore request (the Back button) or
a boosted link always gets the whole page; a finished poll answers 286, htmx's "stop
polling" (django-htmx's HttpResponseStopPolling)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import HttpResponseStopPolling

STOP_POLLING = HttpResponseStopPolling.status_code  # 286


def wants_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
    stop_polling: bool = False,
) -> HttpResponse:
    """`template#fragment` for an htmx request (with 286 when `stop_polling`), else the
    whole `template`."""
    if fragment and wants_fragment(request):
        return render_poll(
            request, f"{template}#{fragment}", context, done=stop_polling, status=status
        )
    return render(request, template, context, status=status)


def render_poll(
    request: HttpRequest, template: str, context: dict[str, Any], *, done: bool, status: int = 200
) -> HttpResponse:
    """A polled fragment (`page.html#fragment`), answered 286 once `done` so htmx stops."""
    response = render(request, template, context, status=status)
    if done:
        response.status_code = STOP_POLLING
    return response
