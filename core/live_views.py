"""The live stream: Server-Sent Events for the signed-in user (see core/live.py)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import translation
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


# An event name as pages listen for it ("fleet", "account-8613800000000", "job-12").
_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
MAX_WANTS = 1000


def _wants(request: HttpRequest) -> frozenset[str] | None:
    """The events the page listens for (`e`, comma-separated; static/js/live.js sends
    them), or None for all the user may hear (no `e`: an API client, an older page)."""
    raw = request.GET.get("e")
    if raw is None:
        return None
    names = [n for n in raw.split(",") if _NAME.fullmatch(n)]
    return frozenset(names[:MAX_WANTS])


@dataclass(frozen=True)
class Listener:
    """Who is asking: what they may hear, and what their pushed parts depend on."""

    user_id: int
    caps: frozenset[str]
    variants: dict[str, str]
    language: str


async def _message(names: list[str], listener: Listener | None, hub: live.Hub) -> str:
    """SSE: each event with its pushed HTML, or its name; the frames come from the hub, built
    once per render for every stream, and are asked for together (one batch of renders)."""
    if listener is None:
        return "".join(live.sse_frame(name, None) for name in names)
    events = []
    for name in names:
        found = live.pushed_part(name)
        events.append((name, listener.variants.get(found[0], "") if found else ""))
    return await hub.message(events, listener.language)


def _release_connections() -> None:
    """Close (or give back to the pool) this request's database connections. An open stream
    lasts for hours and must not hold one (500 pages would be 500 connections); the hub's
    one LISTEN connection serves them all."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


async def _events(
    sub: live.Subscriber, hub: live.Hub, listener: Listener | None = None
) -> AsyncIterator[str]:
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
        clock = time.monotonic
        last_broad = float("-inf")
        while True:
            turn = last_broad + broad_every
            sub.quiet_until = turn  # broad events before our turn wait without waking us
            waiting = sub.holds_broad()
            try:
                await asyncio.wait_for(
                    sub.ready.wait(), max(0.0, turn - clock()) if waiting else PING_SECONDS
                )
            except TimeoutError:
                if not waiting:
                    yield ": ping\n\n"
                    continue
            else:
                if coalesce:
                    await asyncio.sleep(coalesce)  # several changes close together: one write
            names = sub.drain()
            broad = {n for n in names if live.is_broad(n)}
            if broad:
                if clock() >= turn:
                    last_broad = clock()
                else:  # not yet: kept (the latest of each) for the turn
                    sub.hold(broad)
                    names -= broad
            if names:
                yield await _message(sorted(names), listener, hub)
    finally:
        hub.unsubscribe(sub)


def _listener(request: HttpRequest) -> Listener | None:
    user = request.user
    if not user.is_authenticated:
        return None
    return Listener(
        user_id=user.pk,
        caps=_caps(user),
        variants=live.pushed_variants(user),
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


@require_GET
async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    listener = await sync_to_async(_listener)(request)
    if listener is None:
        return HttpResponse(status=403)
    if not isinstance(request, ASGIRequest):
        # A WSGI server cannot hold the stream open: 204 tells EventSource not to retry,
        # and the pages poll instead.
        return HttpResponse(status=204)
    hub = live.hub()
    sub = hub.subscribe(
        user_id=listener.user_id,
        caps=listener.caps,
        since=_since(request),
        wants=_wants(request),
    )
    response = StreamingHttpResponse(_events(sub, hub, listener), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
