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


def _release_connections() -> None:
    """Close (or give back to the pool) this request's database connections. An open stream
    lasts for hours and must not hold one (500 pages would be 500 connections); the hub's
    one LISTEN connection serves them all."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


async def _events(sub: live.Subscriber, hub: live.Hub) -> AsyncIterator[str]:
    coalesce = settings.LIVE_COALESCE_SECONDS
    # Broad events (tiles, lists) at most once per this many seconds per page, the last one
    # always sent: 50 changes/s must not make 500 pages fetch their tiles 5 times a second.
    broad_every = settings.LIVE_BROAD_SECONDS
    try:
        # The body starts once every middleware has answered, the session's save included
        # (the idle timeout writes it once a minute): only now is the request done with the
        # database. Same request context, so the same thread and connection.
        await sync_to_async(_release_connections)()
        # Reconnect after 2 s; a first comment so proxies pass the headers at once.
        yield "retry: 2000\n: open\n\n"
        clock = asyncio.get_running_loop().time
        held: set[str] = set()  # broad events waiting for their turn
        last_broad = float("-inf")
        while True:
            wait = PING_SECONDS if not held else max(0.0, last_broad + broad_every - clock())
            try:
                await asyncio.wait_for(sub.ready.wait(), wait)
            except TimeoutError:
                if not held:
                    yield ": ping\n\n"
                    continue
            else:
                if coalesce:
                    await asyncio.sleep(coalesce)  # several changes close together: one write
            names = sub.drain() | held
            held = {n for n in names if live.is_broad(n)}
            if held and clock() - last_broad >= broad_every:
                last_broad, held = clock(), set()
            names -= held
            if names:
                yield _message(sorted(names))
    finally:
        hub.unsubscribe(sub)


def _audience(request: HttpRequest) -> tuple[int, frozenset[str]] | None:
    """Who is asking, and what they may hear."""
    user = request.user
    if not user.is_authenticated:
        return None
    return user.pk, _caps(user)


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
