"""Live updates: one change feed (PostgreSQL NOTIFY), one listener per process, fanned out
to the open pages over Server-Sent Events (see docs/operations.md, "Live updates").

Writers call `live_publish` (or one of the `*_changed` helpers each app defines in its
live.py: the events' names are the apps', not core's) inside the transaction that applies
the change. PostgreSQL delivers a NOTIFY only when that transaction commits
(and drops it on rollback), so a page never hears of a change it cannot read yet, and
identical notifications in one transaction are delivered once.

A notification names *events* (``fleet``, ``account-<number>``, ``job-<id>``...) and who
may hear them: the owners' user ids, plus everyone holding one capability (``c``). The
stream view subscribes the signed-in user to this process's `Hub`, which filters each
notification by that audience, so a stream only carries what its user may see. Pages react
to an event by fetching their own partial through the ordinary (access-checked) view.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection, connections, transaction
from django.utils import translation

from core.roles import Cap

log = logging.getLogger(__name__)

CHANNEL = "sb_live"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
MAX_PAYLOAD = 7000
# How long a process remembers notifications, to replay what a page missed between its
# render and its stream's start (or a short reconnect).
REPLAY_SECONDS = 30.0
RESYNC = "resync"


# --- writing ----------------------------------------------------------------------


def _chunks(events: Sequence[str], head: int) -> Iterable[list[str]]:
    chunk: list[str] = []
    size = head
    for name in events:
        if chunk and size + len(name) + 3 > MAX_PAYLOAD:
            yield chunk
            chunk, size = [], head
        chunk.append(name)
        size += len(name) + 3
    if chunk:
        yield chunk


# Notifications held by `published_together` (None: none is running in this context).
_held: contextvars.ContextVar[list[tuple[list[str], list[int], Cap]] | None] = (
    contextvars.ContextVar("live_held", default=None)
)


@contextlib.contextmanager
def published_together() -> Iterator[None]:
    """Notifications published outside any transaction while this runs (those a change sends
    once it has committed) go out together at its end, in one transaction. A notifying
    commit holds PostgreSQL's notification lock until its WAL is flushed, so notifying
    commits run one at a time: a worker applying a batch of webhook events sent one per
    event (bench/notify_commits.py, docs/live.md "Where the time goes")."""
    held: list[tuple[list[str], list[int], Cap]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        groups: dict[tuple[tuple[int, ...], Cap], set[str]] = {}
        for events, owners, kind in held:
            groups.setdefault((tuple(owners), kind), set()).update(events)
        if groups:
            with transaction.atomic():
                for (group_owners, group_cap), group_events in groups.items():
                    live_publish(events=group_events, owners=group_owners, cap=group_cap)


def live_publish(
    *, events: Iterable[str], owners: Iterable[int | None] = (), cap: Cap = Cap.MANAGE_ACCOUNTS
) -> None:
    """Tell open pages that `events` happened; heard by `owners` and holders of `cap`."""
    names = sorted(set(events))
    if not names:
        return
    who = sorted({o for o in owners if o})
    held = _held.get()
    if held is not None and not connection.in_atomic_block:
        held.append((names, who, cap))
        return
    head = len(json.dumps({"e": [], "u": who, "c": cap.value}))
    with connection.cursor() as cur:
        for chunk in _chunks(names, head):
            payload = json.dumps({"e": chunk, "u": who, "c": cap.value}, separators=(",", ":"))
            cur.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


# --- topics: what the domain apps register (core imports none of them) ---------------

Audience = Callable[[list[Any]], Iterable[tuple[Iterable[str], Iterable[int | None]]]]


@dataclass(frozen=True)
class Topic:
    """One kind of change: `audience(keys)` reads who owns the changed rows and answers
    (events, owners) groups; holders of `cap` hear all of them; `on_commit` runs once the
    change commits (a cache to mark stale, say)."""

    audience: Audience
    cap: Cap
    on_commit: Callable[[], None] | None = None


_topics: dict[str, Topic] = {}


def register_topic(
    name: str, *, audience: Audience, cap: Cap, on_commit: Callable[[], None] | None = None
) -> None:
    """Called from the owning app's AppConfig.ready()."""
    _topics[name] = Topic(audience=audience, cap=cap, on_commit=on_commit)


def topic_changed(name: str, keys: Iterable[Any]) -> None:
    """Rows of topic `name` changed: tell whoever may see them (inside the transaction;
    a topic with `on_commit` tells them once that has run, after the commit)."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    topic = _topics[name]  # a KeyError: the app that owns the topic did not register it
    groups = [(list(events), list(owners)) for events, owners in topic.audience(wanted)]
    if topic.on_commit is None:
        for events, owners in groups:
            live_publish(events=events, owners=owners, cap=topic.cap)
        return

    # The cache is marked stale first, then pages are told: told at commit (a NOTIFY in the
    # transaction), a page could render the fleet's tiles from the stale cache before the
    # mark landed, and that render was shared until the next change (tiles behind the rows
    # for tens of seconds).
    def after_commit(mark: Callable[[], None] = topic.on_commit) -> None:
        mark()
        for events, owners in groups:
            live_publish(events=events, owners=owners, cap=topic.cap)

    transaction.on_commit(after_commit)


# --- pushed parts: the HTML travels with the event ---------------------------------


@dataclass(frozen=True)
class PushedPart:
    """An event whose pages swap in the HTML sent with it (htmx's sse-swap) instead of
    fetching it: rendered once per change, variant and language in each web process and
    shared by every stream that carries it. Fetching did not scale: 500 open fleet pages
    asked for their tiles 500 times a second (bench/live.py).

    `variant(user)`: what the HTML depends on besides the event and the language (the
    user's scope; "" when nothing). `render(event, variant)`: the HTML. Both read the
    database and run in a thread. Only the event's audience hears it (as for any event),
    so the HTML is what each of them may see."""

    variant: Callable[[Any], str]
    render: Callable[[str, str], str]
    # Several events of the family at once (one query for all of them): event -> HTML.
    render_many: Callable[[list[str], str], dict[str, str]] | None = None


_pushed: dict[str, PushedPart] = {}


def register_pushed(
    name: str,
    *,
    variant: Callable[[Any], str],
    render: Callable[[str, str], str],
    render_many: Callable[[list[str], str], dict[str, str]] | None = None,
) -> None:
    """`name`: an event ("fleet"), or a family of them ending in "-" ("account-")."""
    _pushed[name] = PushedPart(variant=variant, render=render, render_many=render_many)


def pushed_part(event: str) -> tuple[str, PushedPart] | None:
    """The registration that renders `event`, and its name."""
    if event in _pushed:
        return event, _pushed[event]
    family = event.rsplit("-", 1)[0] + "-"
    if "-" in event and family in _pushed:
        return family, _pushed[family]
    return None


def pushed_variants(user: Any) -> dict[str, str]:
    """Each registration's variant for this user (computed once, when the stream opens)."""
    return {name: part.variant(user) for name, part in _pushed.items()}


# --- listening (one per process and event loop) -----------------------------------


# A stream that fell this far behind (its client stopped reading) is told to resync.
MAX_PENDING = 5000


@dataclass(eq=False)
class Subscriber:
    """One open stream. What it has not sent yet is a set of event names (a change heard
    twice before the stream writes is written once: the page gets the latest state, never
    each intermediate one) and a flag: offering to a stream that already has something
    pending costs a set update, no wake-up.

    `wants`: the events its page listens for (None: all its user may hear). A fleet page
    wants its 50 rows and the tiles, not the other 49,950 accounts' changes: without it,
    500 open pages wrote every change 500 times (bench/live.py).

    `quiet_until` (time.monotonic()): broad events offered before then wait in `pending`
    without waking the stream, which sends them on its turn (the stream sets it). At 50
    changes/s every fleet page would otherwise wake 50 times a second for tiles it may send
    once."""

    user_id: int
    caps: frozenset[str]
    wants: frozenset[str] | None = None
    pending: set[str] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    quiet_until: float = 0.0
    # Wakes the stream at `quiet_until` for what was held (else it would sleep until its
    # next ping, 15 s later: a quota cut shown late on the open Ports page).
    turn_timer: asyncio.TimerHandle | None = None
    # The hub's index of open streams, told what this one holds (Subscribers).
    index: Subscribers | None = None

    def hears(self, note: dict[str, Any]) -> bool:
        return note.get("c") in self.caps or self.user_id in note.get("u", ())

    def offer(self, events: Iterable[str]) -> None:
        if self.wants is not None:
            events = self.wants.intersection(events)
            if not events:
                return
        else:
            events = set(events)
        if len(self.pending) >= MAX_PENDING:
            self.overflowed = True  # the stream sends "resync" instead
            self.ready.set()
            return
        self.pending.update(events)
        if self.index is not None:
            self.index.held(self, events)
        if self.ready.is_set():
            return
        now = time.monotonic()
        quiet = self.quiet_until and now < self.quiet_until
        if quiet and all(is_broad(n) for n in events):
            if self.turn_timer is None:  # held for the stream's next turn
                loop = asyncio.get_running_loop()
                self.turn_timer = loop.call_later(self.quiet_until - now, self._turn)
            return
        self.ready.set()

    def _turn(self) -> None:
        self.turn_timer = None
        self.ready.set()

    def close(self) -> None:
        if self.turn_timer is not None:
            self.turn_timer.cancel()
            self.turn_timer = None

    def hold(self, names: Iterable[str]) -> None:
        """Put back what the stream could not send yet (broad events before their turn)."""
        names = set(names)
        self.pending.update(names)
        if self.index is not None:
            self.index.held(self, names)

    def holds_broad(self) -> bool:
        return any(is_broad(n) for n in self.pending)

    def resync(self) -> None:
        """This stream may have missed events: its page refreshes every live part."""
        self.pending.add(RESYNC)
        self.ready.set()

    def drain(self) -> set[str]:
        """Take all that is pending (resync alone after an overflow)."""
        self.ready.clear()
        self.close()
        names, self.pending = self.pending, set()
        if self.index is not None:
            self.index.released(self)
        if self.overflowed:
            self.overflowed = False
            return {RESYNC}
        return names

    async def take(self) -> set[str]:
        await self.ready.wait()
        return self.drain()


def is_broad(name: str) -> bool:
    """An event every page of a kind listens to ("fleet", "lanes", "inbox"...), as opposed to
    one about a row ("account-8613...", "job-12"). A page answers a broad event by fetching a
    summary (tiles, a whole list), so the stream sends them at a slower pace."""
    return name != RESYNC and not name[-1:].isdigit()


RenderKey = tuple[str, str, str]  # (event, variant, language)
# A stream waits this long for its renders, then sends the events bare (below its ping
# interval: a stream never falls silent behind a render).
RENDER_WAIT_SECONDS = 10.0
# Renders run together: (registration, variant, language).
GroupKey = tuple[str, str, str]


@dataclass(frozen=True)
class Render:
    started: float  # time.time() when it was asked for: it shows every change heard before
    task: asyncio.Future[str | None]


def sse_frame(event: str, html: str | None) -> str:
    """One Server-Sent Event: the event's pushed HTML (one data: line per line of it), or
    its name when it has none."""
    lines = html.strip().split("\n") if html is not None else [event]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


class Subscribers(set[Subscriber]):
    """The hub's open streams, indexed by the events they want: a notification is offered to
    the streams that listen for one of its events (and to those that want everything), not
    tested against every open page. A broad event ("fleet", wanted by every fleet page) is
    offered only to the streams not holding it already: one that holds it sends the latest
    state on its turn anyway. Offering each change's "fleet" to 500 pages was the web's
    largest cost at 50 changes/s (docs/live.md, "Where the time goes")."""

    def __init__(self) -> None:
        super().__init__()
        self.by_event: dict[str, set[Subscriber]] = {}
        self.everything: set[Subscriber] = set()
        # Broad event -> the streams that want it and do not hold it yet.
        self.unheld: dict[str, set[Subscriber]] = {}
        self.broad_wants: dict[Subscriber, tuple[str, ...]] = {}

    def add(self, sub: Subscriber) -> None:
        if sub in self:
            return
        super().add(sub)
        sub.index = self
        if sub.wants is None:
            self.everything.add(sub)
            return
        for name in sub.wants:
            self.by_event.setdefault(name, set()).add(sub)
        broad = self.broad_wants[sub] = tuple(n for n in sub.wants if is_broad(n))
        for name in broad:
            if name not in sub.pending:
                self.unheld.setdefault(name, set()).add(sub)

    def update(self, *others: Iterable[Subscriber]) -> None:
        for other in others:
            for sub in other:
                self.add(sub)

    def discard(self, sub: object) -> None:
        if not isinstance(sub, Subscriber) or sub not in self:
            return
        super().discard(sub)
        sub.index = None
        self.everything.discard(sub)
        self.broad_wants.pop(sub, None)
        for index in (self.by_event, self.unheld):
            for name in sub.wants or ():
                found = index.get(name)
                if found is not None:
                    found.discard(sub)
                    if not found:
                        del index[name]

    def remove(self, sub: object) -> None:
        if sub not in self:
            raise KeyError(sub)
        self.discard(sub)

    def held(self, sub: Subscriber, names: Iterable[str]) -> None:
        """`sub` now holds `names` (until its next drain)."""
        for name in names:
            found = self.unheld.get(name)
            if found is not None:
                found.discard(sub)

    def released(self, sub: Subscriber) -> None:
        """`sub` sent (or dropped) all it held."""
        for name in self.broad_wants.get(sub, ()):
            self.unheld.setdefault(name, set()).add(sub)

    def listening(self, events: Iterable[str]) -> set[Subscriber]:
        """The streams to offer `events` to."""
        found = set(self.everything)
        for name in events:
            subs = (self.unheld if is_broad(name) else self.by_event).get(name)
            if subs:
                found |= subs
        return found


class Hub:
    """This process's one LISTEN connection and the pages subscribed to it."""

    def __init__(self) -> None:
        self.subscribers = Subscribers()
        self.recent: deque[tuple[float, dict[str, Any]]] = deque()
        self.listening_since: float | None = None
        self.task: asyncio.Task[None] | None = None
        self.received = 0
        # When each event was last heard, and the pushed parts rendered since: (event,
        # variant, language) -> (render started, its HTML). A render is reused until its
        # event is heard again after it started.
        self.heard_at: dict[str, float] = {}
        self.renders: dict[RenderKey, Render] = {}
        # The render that follows a running one begun before the last change (at most one
        # per key: under load a part is rendered as often as it can be, not once per stream).
        self.following: dict[RenderKey, asyncio.Future[str | None]] = {}
        # Renders asked for and not begun, per group; a group renders one batch at a time,
        # and what is asked meanwhile goes in its next batch (one query, one thread hop for
        # the rows of many changes instead of one each).
        self.asked: dict[GroupKey, dict[str, asyncio.Future[str | None]]] = {}
        self.rendering: set[GroupKey] = set()
        # Each render's SSE frame, built once and shared by every stream that sends it.
        self.frames: dict[RenderKey, tuple[asyncio.Future[str | None], str]] = {}

    def subscribe(
        self,
        *,
        user_id: int,
        caps: frozenset[str],
        since: float | None,
        wants: frozenset[str] | None = None,
    ) -> Subscriber:
        """Subscribe to `wants` (None: everything the user may hear); replay what was heard
        since `since`, or ask for a resync when this process was not listening then (its
        pages refresh every live part once)."""
        self._ensure_listening()
        sub = Subscriber(user_id=user_id, caps=caps, wants=wants)
        self.subscribers.add(sub)
        if since is None:
            return sub
        if self.listening_since is None or since < self.listening_since:
            sub.resync()
            return sub
        missed = [n for t, n in self.recent if t >= since and sub.hears(n)]
        if missed:
            sub.offer(sorted({e for n in missed for e in n["e"]}))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.close()
        self.subscribers.discard(sub)

    def _ensure_listening(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._listen())

    def _deliver(self, payload: str) -> None:
        try:
            note = json.loads(payload)
        except ValueError:
            return
        now = time.time()
        self.received += 1
        self.recent.append((now, note))
        while self.recent and self.recent[0][0] < now - REPLAY_SECONDS:
            self.recent.popleft()
        events = note.get("e") or []
        for name in events:
            self.heard_at[name] = now
        if len(self.heard_at) > 50_000:  # forget the old ones (their renders go with them)
            self._forget(now - REPLAY_SECONDS)
        cap = note.get("c")
        owners = set(note.get("u", ()))
        for sub in self.subscribers.listening(events):
            if cap in sub.caps or sub.user_id in owners:
                sub.offer(events)

    def _forget(self, before: float) -> None:
        self.heard_at = {k: t for k, t in self.heard_at.items() if t >= before}
        self.renders = {k: v for k, v in self.renders.items() if v.started >= before}
        self.frames = {k: v for k, v in self.frames.items() if k in self.renders}

    async def html(self, event: str, variant: str, language: str) -> str | None:
        """The pushed part's HTML for `event` (None: not a pushed event, or its render
        failed; the page then refreshes the part itself).

        A render is a task of its own, shared by every stream that asks for the same
        (event, variant, language): a stream that goes away mid-render (its browser closed,
        its task cancelled) leaves the render running for the others."""
        task = self._render_for(event, variant, language)
        return None if task is None else await asyncio.shield(task)

    async def frame(self, event: str, variant: str, language: str) -> str:
        """The SSE frame of `event` with its pushed HTML: built once per render and shared
        by every stream that sends it (500 pages, one frame of the tiles)."""
        return (await self._frames([(event, variant)], language))[0]

    async def message(self, events: list[tuple[str, str]], language: str) -> str:
        """The SSE frames of `events` ((event, variant) pairs), in order."""
        return "".join(await self._frames(events, language))

    async def _frames(self, events: list[tuple[str, str]], language: str) -> list[str]:
        """Renders still running are awaited together (one batch); the others cost no task."""
        tasks = [self._render_for(event, variant, language) for event, variant in events]
        running = [task for task in tasks if task is not None and not task.done()]
        if running:  # a stream cancelled here leaves them running
            await asyncio.wait(running, timeout=RENDER_WAIT_SECONDS)
        out = []
        for (event, variant), task in zip(events, tasks, strict=True):
            if task is None or not task.done():  # not rendered in time: the page fetches it
                out.append(sse_frame(event, None))
                continue
            key = (event, variant, language)
            cached = self.frames.get(key)
            if cached is not None and cached[0] is task:
                out.append(cached[1])
                continue
            html = None if task.cancelled() or task.exception() else task.result()
            text = sse_frame(event, html)
            self.frames[key] = (task, text)
            out.append(text)
        return out

    def _render_for(
        self, event: str, variant: str, language: str
    ) -> asyncio.Future[str | None] | None:
        found = pushed_part(event)
        if found is None:
            return None
        key = (event, variant, language)
        current = self.renders.get(key)
        if current is not None and current.started >= self.heard_at.get(event, 0.0):
            return current.task  # asked for after the last change: it shows the latest state
        if current is not None and not current.task.done():
            # Begun before the last change: the next render starts once it is done.
            return self.following.get(key) or self._follow(key, found[1], current.task)
        return self._start(key, found[1])

    def _start(self, key: RenderKey, part: PushedPart) -> asyncio.Future[str | None]:
        event, variant, language = key
        found = pushed_part(event)
        group = (found[0] if found else event, variant, language)
        asked = self.asked.setdefault(group, {})
        future = asked.get(event)
        if future is None:  # else asked already and not begun: it begins after now too
            future = asked[event] = asyncio.get_running_loop().create_future()
        self.renders[key] = Render(started=time.time(), task=future)
        if group not in self.rendering:
            self.rendering.add(group)
            asyncio.get_running_loop().create_task(self._render_group(group, part))
        return future

    async def _render_group(self, group: GroupKey, part: PushedPart) -> None:
        """Render what the group was asked for, in batches, until nothing is asked."""
        _, variant, language = group
        try:
            while batch := self.asked.pop(group, None):
                try:
                    html = await _render_batch(part, list(batch), variant, language)
                except BaseException:
                    for future in batch.values():
                        if not future.done():
                            future.set_result(None)
                    raise
                for event, future in batch.items():
                    if not future.done():
                        future.set_result(html.get(event))
        finally:
            self.rendering.discard(group)
            if self.asked.get(group):  # asked while this task was being cancelled
                self.rendering.add(group)
                asyncio.get_running_loop().create_task(self._render_group(group, part))

    def _follow(
        self, key: RenderKey, part: PushedPart, running: asyncio.Future[str | None]
    ) -> asyncio.Future[str | None]:
        async def after() -> str | None:
            await asyncio.wait([running])  # whatever its outcome
            self.following.pop(key, None)
            return await self._start(key, part)

        task = self.following[key] = asyncio.get_running_loop().create_task(after())
        return task

    async def _listen(self) -> None:
        import psycopg

        delay = 0.5
        while True:
            try:
                params = _conninfo()
                async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    was_listening = self.listening_since is not None
                    self.listening_since = time.time()
                    delay = 0.5
                    if was_listening:  # notifications may have been lost meanwhile
                        for sub in self.subscribers:
                            sub.resync()
                    async for notify in conn.notifies():
                        self._deliver(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: pages poll until it is back
                log.warning("live: change feed listener lost; reconnecting", exc_info=True)
                self.listening_since = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


async def _render_batch(
    part: PushedPart, events: list[str], variant: str, language: str
) -> dict[str, str | None]:
    try:
        return await sync_to_async(_render, thread_sensitive=False)(part, events, variant, language)
    except Exception:
        log.warning("live: could not render %s", ", ".join(events), exc_info=True)
        return {}


def _render(
    part: PushedPart, events: list[str], variant: str, language: str
) -> dict[str, str | None]:
    """In a thread of the default executor: render, then give the connection back. A part
    whose render fails is None (its pages refresh it themselves)."""
    try:
        with translation.override(language):
            if part.render_many is not None and len(events) > 1:
                return dict(part.render_many(events, variant))
            out: dict[str, str | None] = {}
            for event in events:
                try:
                    out[event] = part.render(event, variant)
                except Exception:
                    log.warning("live: could not render %s", event, exc_info=True)
                    out[event] = None
            return out
    finally:
        for conn in connections.all(initialized_only=True):
            conn.close()


def _conninfo() -> dict[str, Any]:
    params = connection.get_connection_params()
    keep = ("dbname", "user", "password", "host", "port", "sslmode", "connect_timeout")
    return {k: v for k, v in params.items() if k in keep and v not in (None, "")}


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (one per process under uvicorn)."""
    loop = asyncio.get_running_loop()
    key = id(loop)
    found = _hubs.get(key)
    if found is None:
        for stale in [k for k, h in _hubs.items() if h.task is not None and h.task.done()]:
            _hubs.pop(stale, None)
        found = _hubs[key] = Hub()
    return found
