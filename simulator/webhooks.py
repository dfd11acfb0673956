"""Webhook delivery: a queue and a few sender threads that POST each event, signed, to
`webhook_base + path`, retrying with capped exponential backoff until it gets HTTP 200.

The vendor delivers concurrently; `senders` threads do the same, one lane each: an
account's deliveries go through one lane, so they arrive in the order they happened (as
with a single sender), while different accounts' deliveries are in flight at once. One
sender alone made the simulator, not the receiver, the bottleneck at 100 webhooks/s
(bench/live.py).

Each attempt is signed afresh (new timestamp and nonce), as a receiver that guards
against replays requires. With `quirks` on, payloads are reshaped the way the vendor
really sends them (bare lists, a duplicated record, numbers as strings, the undocumented
status 1) and every other delivery is held back until the next one has gone out.

When the receiver cannot keep up, the queue does not grow without bound and a late state
is not sent after a newer one: once a lane has more than `backlog` (0: any) deliveries
waiting, an account's online-status record or account status that has not been sent yet is
superseded by its newer one (state "superseded": a lane holds at most one of each per
account), and the lane sends all its due online-status records together, up to
`batch_records` per POST (state "batched": the vendor's payload is a list), picked across the
lane, past the deliveries of other kinds waiting between them (an account's record never
overtakes an earlier delivery about the same account). One lane sends one POST at a time, so
under load it sends fewer, larger POSTs instead of falling behind: with deliveries of one
account status and one online-status record per change, only the records were batched when
they happened to be next to each other in the queue, which they seldom were.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import logging
import socket
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from simulator import vendorcodes as vc
from simulator.profiles import PROFILES, Profile

log = logging.getLogger("simulator.webhooks")

# Messy-webhook profiles (simulator/profiles.py): how far a held-back delivery may be
# overtaken, and how long after a delivery its duplicate follows.
REORDER_WINDOW = 1.0
DUPLICATE_GAP = 0.2


@dataclass
class Delivery:
    seq: int
    path: str
    payload: Any
    body: bytes
    created: float
    attempts: int = 0
    last_status: int | str | None = None
    state: str = "pending"  # pending, held, withheld, delivered, skipped
    delivered_at: float | None = None
    first_attempt_at: float | None = None
    statuses: list[int | str] = field(default_factory=list)
    # Under backlog: the newer delivery of the same account's state that replaced this one,
    # and the deliveries a batch carries.
    superseded_by: Delivery | None = None
    parts: list[Delivery] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "path": self.path,
            "payload": self.payload,
            "attempts": self.attempts,
            "lastStatus": self.last_status,
            "statuses": list(self.statuses),
            "state": self.state,
            "created": self.created,
            "deliveredAt": self.delivered_at,
            "firstAttemptAt": self.first_attempt_at,
        }


def _stringify(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


def quirky(path: str, payload: Any) -> Any:
    """What the vendor really sends (docs/design.md section 4)."""
    if path == vc.ONLINE_STATUS and isinstance(payload, dict):
        records = [dict(r) for r in payload.get("whatsAppList", [])]
        for record in records:
            if record.get("detailStatus") == 11 and record.get("status") == vc.P_ONLINE:
                record["status"] = 1  # the seed's example: status 1 outside the table
        if records:
            records.insert(1, dict(records[0]))  # the same record twice in one batch
        payload = records  # a bare list instead of {"whatsAppList": [...]}
    return _stringify(payload)


class Dispatcher:
    def __init__(
        self,
        *,
        webhook_base: str | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        timeout: float = 5.0,
        hold_seconds: float = 1.0,
        quirks: bool = False,
        senders: int = 8,
        backlog: int = 0,
        batch_records: int = 50,
    ) -> None:
        self.webhook_base = webhook_base
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.hold_seconds = hold_seconds
        self.quirks = quirks
        self.backlog = backlog
        self.batch_records = batch_records
        self.vendor_profile: Profile = PROFILES["default"]  # set by the Simulator
        # Path suffixes whose deliveries are withheld (kept, never sent until released):
        # a lost, misconfigured or refused webhook, for tests of what works without it.
        self.withhold: tuple[str, ...] = ()
        self._withheld: list[Delivery] = []
        self._cond = threading.Condition()
        # One queue per lane, ordered by due time.
        self._heaps: list[list[tuple[float, int, Delivery]]] = [[] for _ in range(max(1, senders))]
        # Per lane: the newest waiting, never attempted state delivery of each (path, account).
        self._latest: list[dict[tuple[str, str], Delivery]] = [{} for _ in self._heaps]
        self.superseded = 0  # deliveries dropped for a newer state of the same account
        self._order = itertools.count()
        self._seq = itertools.count(1)
        self._held: tuple[float, Delivery] | None = None
        self._quirk_count = 0
        self._messy_count = 0
        self._inflight = 0
        self._generation = 0
        self.log: deque[Delivery] = deque(maxlen=5000)
        self._stop = False
        self._threads = [
            threading.Thread(target=self._run, args=(n,), name=f"sim-webhooks-{n}", daemon=True)
            for n in range(len(self._heaps))
        ]
        for thread in self._threads:
            thread.start()

    # -------------------------------------------------------------- public
    def enqueue(self, path: str, payload: Any) -> Delivery:
        if self.quirks:
            payload = quirky(path, payload)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        with self._cond:
            delivery = Delivery(
                seq=next(self._seq), path=path, payload=payload, body=body, created=time.time()
            )
            self.log.append(delivery)
            if not self.webhook_base:
                delivery.state = "skipped"
                return delivery
            if any(path.endswith(suffix) for suffix in self.withhold):
                delivery.state = "withheld"
                self._withheld.append(delivery)
                return delivery
            now = time.monotonic()
            if self._messy():
                self._push_messy(now, delivery)
                self._cond.notify_all()
                return delivery
            if self.quirks:
                self._quirk_count += 1
                if self._held is None and self._quirk_count % 2 == 1:
                    delivery.state = "held"
                    self._held = (now + self.hold_seconds, delivery)
                    self._cond.notify_all()
                    return delivery
            if not self._supersede(delivery):
                self._push(now, delivery)
            if self._held is not None:  # the newer one goes first, then the held one
                held = self._held[1]
                self._held = None
                held.state = "pending"
                self._push(now, held)
            self._cond.notify_all()
            return delivery

    def _messy(self) -> bool:
        p = self.vendor_profile
        return bool(p.webhook_delay > 0 or p.webhook_duplicates or p.webhook_reorder)

    def _push_messy(self, now: float, delivery: Delivery) -> None:
        """The profile's messy delivery: `webhook_delay` seconds late; with
        `webhook_reorder`, every other delivery a further REORDER_WINDOW seconds late (so
        the next one, if it comes within the window, overtakes it); with
        `webhook_duplicates`, each sent twice (the copy DUPLICATE_GAP seconds later)."""
        p = self.vendor_profile
        due = now + max(0.0, p.webhook_delay)
        if p.webhook_reorder:
            self._messy_count += 1
            if self._messy_count % 2 == 1:
                due += REORDER_WINDOW
        self._push(due, delivery)
        if p.webhook_duplicates:
            copy = Delivery(
                seq=next(self._seq),
                path=delivery.path,
                payload=delivery.payload,
                body=delivery.body,
                created=delivery.created,
            )
            self.log.append(copy)
            self._push(due + DUPLICATE_GAP, copy)

    def set_withhold(self, suffixes: list[str] | tuple[str, ...]) -> None:
        """Withhold every later delivery whose path ends with one of `suffixes` (an empty
        list withholds nothing; what is already withheld stays withheld)."""
        with self._cond:
            self.withhold = tuple(s.strip() for s in suffixes if s and s.strip())

    def release_withheld(self) -> int:
        """Send what was withheld (a late delivery), oldest first. Returns how many."""
        with self._cond:
            released, self._withheld = self._withheld, []
            now = time.monotonic()
            for delivery in released:
                delivery.state = "pending"
                self._push(now, delivery)
            self._cond.notify_all()
            return len(released)

    def queued(self) -> int:
        """Deliveries waiting in the lanes (a batch's or a superseded one's place counts one)."""
        with self._cond:
            return sum(len(heap) for heap in self._heaps)

    def busy(self) -> bool:
        with self._cond:
            return bool(any(self._heaps) or self._held or self._inflight)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(self._heaps) or self._held or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.as_dict() for d in self.log]

    def reset(self) -> None:
        """Drop everything queued (and forget the log); in-flight attempts are discarded."""
        with self._cond:
            for heap in self._heaps:
                heap.clear()
            for latest in self._latest:
                latest.clear()
            self._held = None
            self._quirk_count = 0
            self._messy_count = 0
            self.withhold = ()
            self._withheld = []
            self._generation += 1
            self.log.clear()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    # -------------------------------------------------------------- internals
    def _lane(self, delivery: Delivery) -> int:
        return zlib.crc32(_account_of(delivery.payload).encode()) % len(self._heaps)

    def _push(self, due: float, delivery: Delivery) -> None:
        lane = self._lane(delivery)
        heapq.heappush(self._heaps[lane], (due, next(self._order), delivery))
        key = _state_key(delivery)
        if key is not None and delivery.attempts == 0:
            self._latest[lane][key] = delivery

    def _supersede(self, delivery: Delivery) -> bool:
        """Under backlog, the newer state takes the waiting older one's place in its lane."""
        key = None if self.quirks else _state_key(delivery)  # quirks: every one goes out
        lane = self._lane(delivery)
        if key is None or len(self._heaps[lane]) <= self.backlog:
            return False
        older = self._latest[lane].get(key)
        if older is None or older.state != "pending" or older.attempts:
            return False
        older.state = "superseded"
        older.superseded_by = delivery
        self._latest[lane][key] = delivery
        self.superseded += 1
        return True

    def _take(self, heap: list[tuple[float, int, Delivery]], now: float) -> Delivery | None:
        """The next due delivery of this lane (its newest state), or under backlog a batch
        of the lane's due online-status records; None when nothing is due."""
        while heap and heap[0][0] <= now:
            _, _, delivery = heapq.heappop(heap)
            delivery = _newest(delivery)
            if delivery.state in ("delivered", "skipped"):
                continue
            lane = self._lane(delivery)
            self._forget(lane, delivery)
            if not _batchable(delivery) or delivery.attempts or len(heap) < self.backlog:
                return delivery
            parts = [delivery]
            # Accounts with an earlier delivery still waiting: their records stay behind it.
            behind: set[str] = set()
            kept: list[tuple[float, int, Delivery]] = []
            while heap and heap[0][0] <= now and len(parts) < self.batch_records:
                entry = heapq.heappop(heap)
                nxt = _newest(entry[2])
                if nxt.state in ("delivered", "skipped"):
                    continue
                account = _account_of(nxt.payload)
                if _batchable(nxt) and not nxt.attempts and account not in behind:
                    self._forget(lane, nxt)
                    parts.append(nxt)
                else:
                    behind.add(account)
                    kept.append(entry)
            for entry in kept:  # their places (due time, order) unchanged
                heapq.heappush(heap, entry)
            if len(parts) == 1:
                return delivery
            return self._batch(parts)
        return None

    def _forget(self, lane: int, delivery: Delivery) -> None:
        key = _state_key(delivery)
        if key is not None and self._latest[lane].get(key) is delivery:
            del self._latest[lane][key]

    def _batch(self, parts: list[Delivery]) -> Delivery:
        records = [r for part in parts for r in part.payload["whatsAppList"]]
        payload = {"whatsAppList": records}
        for part in parts:
            part.state = "batched"
        return Delivery(
            seq=parts[0].seq,
            path=parts[0].path,
            payload=payload,
            body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
            created=parts[0].created,
            parts=parts,
        )

    def _backoff(self, attempts: int) -> float:
        return float(min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1))))

    def _run(self, lane: int) -> None:
        sender = _Sender(self.timeout)  # one per lane: a kept-alive connection per receiver
        try:
            self._send_loop(sender, self._heaps[lane])
        finally:
            sender.close()

    def _send_loop(self, sender: _Sender, heap: list[tuple[float, int, Delivery]]) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        return
                    now = time.monotonic()
                    if self._held is not None and now >= self._held[0]:
                        held = self._held[1]
                        self._held = None
                        held.state = "pending"
                        self._push(now, held)
                    taken = self._take(heap, now)
                    if taken is not None:
                        delivery = taken
                        self._inflight += 1
                        for one in (delivery, *delivery.parts):
                            if one.first_attempt_at is None:
                                one.first_attempt_at = time.time()
                        generation = self._generation
                        base = self.webhook_base
                        break
                    waits = [heap[0][0] - now] if heap else []
                    if self._held is not None:
                        waits.append(self._held[0] - now)
                    self._cond.wait(min([*waits, 0.5]))
            status = self._attempt(sender, base, delivery)
            with self._cond:
                self._inflight -= 1
                if generation == self._generation:
                    for one in (delivery, *delivery.parts):
                        one.attempts += 1
                        one.last_status = status
                        one.statuses.append(status)
                    if status == 200:
                        for one in (delivery, *delivery.parts):
                            one.state = "delivered"
                            one.delivered_at = time.time()
                    elif not self.webhook_base:
                        for one in (delivery, *delivery.parts):
                            one.state = "skipped"
                    else:
                        delay = self._backoff(delivery.attempts)
                        self._push(time.monotonic() + delay, delivery)
                self._cond.notify_all()

    def _attempt(self, sender: _Sender, base: str | None, delivery: Delivery) -> int | str:
        if not base:
            return "no webhook base"
        headers = webhook_auth_headers(delivery.body, self.vendor_profile)
        headers["Content-Type"] = "application/json"
        status = sender.post(base.rstrip("/") + delivery.path, delivery.body, headers)
        if status != 200:
            log.info("webhook %s attempt %d -> %s", delivery.path, delivery.attempts + 1, status)
        return status


class _Sender:
    """One lane's HTTP client: a kept-alive connection per receiver (scheme, host, port),
    the standard library's, which does less per POST than `requests`: at hundreds of
    deliveries a second the stand-in vendor's CPU is taken from the same cores as ours
    (bench/live.py reports it per phase)."""

    # A kept-alive connection the receiver closed meanwhile fails on its next use, before the
    # receiver has read the request: sent once more on a new connection, then the attempt
    # counts as failed. (Were it read after all, the repeat is one the product dedupes, as
    # it does the vendor's own repeats.)
    STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.conns: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int | str:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for fresh in (False, True):
            conn = self.conns.get(key)
            reused = conn is not None and not fresh
            if conn is None or fresh:
                if conn is not None:
                    conn.close()
                kind = (
                    http.client.HTTPSConnection
                    if parts.scheme == "https"
                    else http.client.HTTPConnection
                )
                conn = self.conns[key] = kind(parts.netloc, timeout=self.timeout)
            try:
                conn.request("POST", target, body, headers)
                response = conn.getresponse()
                response.read()
            except self.STALE as exc:
                conn.close()
                if reused:
                    continue
                return type(exc).__name__
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                return "Timeout" if isinstance(exc, socket.timeout) else type(exc).__name__
            if response.will_close:
                conn.close()
            return response.status
        return "RemoteDisconnected"

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


def _newest(delivery: Delivery) -> Delivery:
    while delivery.superseded_by is not None:
        delivery = delivery.superseded_by
    return delivery


def _state_key(delivery: Delivery) -> tuple[str, str] | None:
    """(path, account) of a delivery that states one account's whole status (an online
    status record, an account status): a newer one tells everything an older one does.
    None for any other delivery (and in quirks mode)."""
    payload = delivery.payload
    if not isinstance(payload, dict):
        return None
    if delivery.path == vc.SYNC_WHATSAPP_STATUS and isinstance(payload.get("whatsApp"), str):
        return delivery.path, payload["whatsApp"]
    if not _batchable(delivery):
        return None
    return delivery.path, _account_of(payload)


def _batchable(delivery: Delivery) -> bool:
    """An online-status delivery of one record: several go out as one list."""
    payload = delivery.payload
    if delivery.path != vc.ONLINE_STATUS or not isinstance(payload, dict):
        return False
    records = payload.get("whatsAppList")
    return set(payload) == {"whatsAppList"} and isinstance(records, list) and len(records) == 1


def _account_of(payload: Any) -> str:
    """The account a delivery is about (its lane), "" when it names none."""
    record = payload
    if isinstance(record, dict) and isinstance(record.get("whatsAppList"), list):
        record = record["whatsAppList"]
    if isinstance(record, list):
        record = record[0] if record else {}
    if isinstance(record, dict):
        for key in ("whatsapp", "whatsApp", "whatsId", "phone"):
            if record.get(key):
                return str(record[key])
    return ""


def webhook_auth_headers(body: bytes, profile: Profile | None = None) -> dict[str, str]:
    """The headers a delivery carries under the vendor profile's `webhook_auth`
    (simulator/vendorauth.py: signed with the simulator's own code, or nothing)."""
    from simulator.vendorauth import webhook_headers

    return webhook_headers(profile or PROFILES["default"], body)
