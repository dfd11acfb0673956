"""The live stream: Server-Sent Events for the signed-in user (see core/live.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from core import live
from core.roles import Cap

PING_SECONDS = 15.0


def _caps(user: Any) -> frozenset[str]:
    return frozenset(c.value for c in Cap if user.has_perm(f"core.{c.value}"))


def _since(request: HttpRequest) -> float | None:
    try:
        value = float(request.GET.get("since", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _message(events: list[str]) -> str:
    return "".join(f"event: {name}\ndata: {name}\n\n" for name in events)


async def _events(sub: live.Subscriber, hub: live.Hub) -> AsyncIterator[str]:
    coalesce = float(getattr(settings, "LIVE_COALESCE_SECONDS", 0.2))
    try:
        # Reconnect after 2 s; a first comment so proxies pass the headers at once.
        yield "retry: 2000\n: open\n\n"
        while True:
            try:
                first = await asyncio.wait_for(sub.queue.get(), PING_SECONDS)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if coalesce:
                await asyncio.sleep(coalesce)  # several changes close together: one write
            names = dict.fromkeys(first)
            while not sub.queue.empty():
                names.update(dict.fromkeys(sub.queue.get_nowait()))
            if sub.overflowed:
                sub.overflowed = False
                names = {live.RESYNC: None}
            yield _message(list(names))
    finally:
        hub.unsubscribe(sub)


def _audience(request: HttpRequest) -> tuple[int, frozenset[str]] | None:
    """Who is asking, and what they may hear. The request's database connection is closed
    here: an open stream lasts for hours and must not hold one (500 pages would be 500
    connections); the hub's one LISTEN connection serves them all."""
    try:
        user = request.user
        if not user.is_authenticated:
            return None
        return user.pk, _caps(user)
    finally:
        if isinstance(request, ASGIRequest):  # a WSGI request answers at once (204)
            for conn in connections.all(initialized_only=True):
                if not conn.in_atomic_block:
                    conn.close()


@require_GET
async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    audience = await sync_to_async(_audience)(request)
    if audience is None:
        return HttpResponse(status=403)
    if not isinstance(request, ASGIRequest):
        # A WSGI server cannot hold the stream open: 204 tells EventSource not to retry,
        # and the pages poll instead.
        return HttpResponse(status=204)
    user_id, caps = audience
    hub = live.hub()
    sub = hub.subscribe(user_id=user_id, caps=caps, since=_since(request))
    response = StreamingHttpResponse(_events(sub, hub), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
