"""Live updates: one change feed (PostgreSQL NOTIFY), one listener per process, fanned out
to the open pages over Server-Sent Events (see docs/operations.md, "Live updates").

Writers call `live_publish` (or one of the `*_changed` helpers) inside the transaction
that applies the change. PostgreSQL delivers a NOTIFY only when that transaction commits
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
import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

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


def live_publish(
    *, events: Iterable[str], owners: Iterable[int | None] = (), cap: Cap = Cap.MANAGE_ACCOUNTS
) -> None:
    """Tell open pages that `events` happened; heard by `owners` and holders of `cap`."""
    names = sorted(set(events))
    if not names:
        return
    who = sorted({o for o in owners if o})
    head = len(json.dumps({"e": [], "u": who, "c": cap.value}))
    with connection.cursor() as cur:
        for chunk in _chunks(names, head):
            payload = json.dumps({"e": chunk, "u": who, "c": cap.value}, separators=(",", ":"))
            cur.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def accounts_changed(*, whatsapps: Iterable[str]) -> None:
    """Accounts changed (status, presence, agent, profile): their rows, details and tiles."""
    from accounts.models import WhatsAppAccount

    numbers = sorted(set(whatsapps))
    if not numbers:
        return
    by_owner: dict[int | None, list[str]] = {}
    for start in range(0, len(numbers), 5000):
        rows = WhatsAppAccount.objects.filter(whatsapp__in=numbers[start : start + 5000])
        for number, owner in rows.values_list("whatsapp", "agent__user_id"):
            by_owner.setdefault(owner, []).append(number)
    for who, group in by_owner.items():
        live_publish(events=["fleet", *(f"account-{n}" for n in group)], owners=[who])
    from accounts.selectors import account_state_counts_stale

    transaction.on_commit(account_state_counts_stale)


def job_changed(*, job_id: int, owner: int | None) -> None:
    live_publish(events=[f"job-{job_id}", "jobs"], owners=[owner])


def actions_changed(*, action_ids: Iterable[int]) -> None:
    """Open-chat actions changed state: their detail, their batch, the lanes and lists.
    An action is the agent's (its agent account's user); a batch also its creator's."""
    from actions.models import Action

    ids = sorted(set(action_ids))
    if not ids:
        return
    rows = Action.objects.filter(pk__in=ids).values_list(
        "id", "batch_id", "agent__user_id", "batch__created_by_id"
    )
    by_owner: dict[int | None, list[str]] = {}
    batches: dict[int, set[int | None]] = {}
    for pk, batch_id, agent_user, batch_owner in rows:
        by_owner.setdefault(agent_user, []).append(f"action-{pk}")
        if batch_id:
            batches.setdefault(batch_id, set()).update({agent_user, batch_owner})
    for owner, events in by_owner.items():
        live_publish(events=[*events, "lanes", "actions"], owners=[owner], cap=Cap.MANAGE_ACTIONS)
    for batch_id, owners in batches.items():
        live_publish(events=[f"batch-{batch_id}"], owners=owners, cap=Cap.MANAGE_ACTIONS)


def qr_session_changed(*, session_id: int, owner: int | None) -> None:
    live_publish(events=[f"qr-{session_id}"], owners=[owner])


def scan_task_changed(*, task_id: int, owner: int | None) -> None:
    live_publish(events=[f"task-{task_id}", "tasks"], owners=[owner])


INBOX_NOTE = json.dumps({"e": ["inbox"], "u": [], "c": Cap.VIEW_INBOX.value})


def inbox_changed() -> None:
    """Webhook events were received or processed: the admins' inbox pages."""
    live_publish(events=["inbox"], cap=Cap.VIEW_INBOX)


def inbox_notify_args() -> tuple[str, str]:
    """(channel, payload) for a `pg_notify(%s, %s)` in the receiver's own INSERT."""
    return CHANNEL, INBOX_NOTE


# --- listening (one per process and event loop) -----------------------------------


@dataclass(eq=False)
class Subscriber:
    user_id: int
    caps: frozenset[str]
    queue: asyncio.Queue[list[str]] = field(default_factory=lambda: asyncio.Queue(maxsize=2000))
    overflowed: bool = False

    def hears(self, note: dict[str, Any]) -> bool:
        return note.get("c") in self.caps or self.user_id in note.get("u", ())

    def offer(self, events: list[str]) -> None:
        try:
            self.queue.put_nowait(events)
        except asyncio.QueueFull:
            self.overflowed = True  # the stream sends "resync" instead


class Hub:
    """This process's one LISTEN connection and the pages subscribed to it."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.recent: deque[tuple[float, dict[str, Any]]] = deque()
        self.listening_since: float | None = None
        self.task: asyncio.Task[None] | None = None
        self.received = 0

    def subscribe(self, *, user_id: int, caps: frozenset[str], since: float | None) -> Subscriber:
        """Subscribe; replay what was heard since `since`, or ask for a resync when this
        process was not listening then (its pages refresh every live part once)."""
        self._ensure_listening()
        sub = Subscriber(user_id=user_id, caps=caps)
        self.subscribers.add(sub)
        if since is None:
            return sub
        if self.listening_since is None or since < self.listening_since:
            sub.offer([RESYNC])
            return sub
        missed = [n for t, n in self.recent if t >= since and sub.hears(n)]
        if missed:
            sub.offer(sorted({e for n in missed for e in n["e"]}))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
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
        for sub in self.subscribers:
            if sub.hears(note):
                sub.offer(events)

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
                            sub.offer([RESYNC])
                    async for notify in conn.notifies():
                        self._deliver(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: pages poll until it is back
                log.warning("live: change feed listener lost; reconnecting", exc_info=True)
                self.listening_since = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


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
