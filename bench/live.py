"""Live updates under load. Run: `.venv/bin/python bench/live.py`.

Setup, all on loopback: gunicorn with uvicorn ASGI workers (`config.asgi`, --workers 2), a
Celery worker (prefork, fast and slow queues), the simulator as its own process
(`simulate_upstream`) sending signed webhooks to the web server, PostgreSQL (a database of
its own, `sb_bench_live`, created and migrated here) and Redis (db 14: broker, and the
cache under its own prefix).

N open pages: N signed-in supervisors' fleet pages, each an SSE client on /live/ showing 50
rows of the fleet. M status changes per second: the bench asks the simulator to disconnect
or bring back a random account (`POST /_sim/disconnect|online`), which sends the vendor's
webhooks through the real path (receiver -> inbox -> Celery -> services -> NOTIFY -> one
listener per web process -> the streams). Each page's stream asks for the events its page
listens for (static/js/live.js: its 50 rows, "fleet", "fleet-new"). A changed row comes
with its event (the page swaps it in: updated), and so do the tiles; where an event comes
bare, the page fetches its part as htmx would (`GET /accounts/?part=counts`).

Phases: the pages open and idle (what an open page costs: web RSS and CPU), then, unless
--sustainable is given, steps from --start-rate up by --step-factor until the p95 of change
-> page reaches 1 s (the sustainable rate: the last step under it), then 1x, 2x and 4x that
rate and each of --rates for --seconds each. A change counts as shown when the page gets
its row's HTML with the new state (or a newer one: a page is owed the latest state, not
every intermediate one). After each phase: the time until every open page shows the final
state of its rows. --churn: that share of the pages close their stream at random moments of
each phase and reopen it (from 5 s before, as static/js/live.js does); the streams silent
for more than 20 s (they ping every 15 s) are counted: a wedged stream shows there.

The floor, in the same run: --floors no-op streams hear a notification sent straight into
the feed (pg_notify every 0.5 s: no webhook, no worker, no render), through the same hub.
Figures are printed, never asserted; `load_line()` at the start and the end. Bounded: each
phase lasts its seconds, then everything stops. BENCH_DB_PREFIX and BENCH_REDIS_DB keep one
run's database and queues apart from another's on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DB_PREFIX,
    PG,
    REDIS_DB,
    ROOT,
    load_line,
    pct,
    recreate_database,
    start_worker,
    stop_process,
)

DB = f"{DB_PREFIX}sb_bench_live"
SECRET = "bench-live-webhook-secret"
PAGE_ROWS = 50


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG}/{DB}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CACHE_URL": f"rediscache://127.0.0.1:6379/{REDIS_DB}",
        "CACHE_KEY_PREFIX": "bench-live",
        "WEBHOOK_SECRETS": SECRET,
        "LOG_LEVEL": "ERROR",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONN_MAX_AGE": "60",
    }


def _post(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _tree(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    kids = [int(p) for p in out.stdout.split()]
    return [pid, *[k for kid in kids for k in _tree(kid)]]


def prepare(accounts: int, pages: int) -> list[str]:
    """Migrated database, the fleet, and one signed-in supervisor session per page."""
    recreate_database(DB, env())
    os.environ.update(env())
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import WhatsAppAccount
    from core.groups import ensure_groups
    from core.roles import Role

    ensure_groups()
    WhatsAppAccount.objects.bulk_create(
        [
            WhatsAppAccount(whatsapp=f"8617{i:09d}", online_status=2, presence_status=10)
            for i in range(accounts)
        ]
    )
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=Role.SUPERVISOR.value)
    cookies = []
    users = User.objects.bulk_create([User(username=f"sup{i}") for i in range(pages)])
    group.user_set.add(*users)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    for user in users:  # a signed-in session, as the login view leaves it
        # Supervisors must have a second factor (MFA_REQUIRED_ROLES): without one every
        # page, /live/ included, redirects to the enrolment (bench/common.signed_in_cookie).
        TOTP.activate(user, generate_totp_secret())
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(str(store.session_key))
    return cookies


class Page:
    """One open fleet page: its stream (reopened when churned), the rows it shows and what
    each row shows now (online or not, read from the pushed row's HTML)."""

    def __init__(self, n: int, rows: set[str], fetches: bool, cookie: str, wants: str) -> None:
        self.n, self.rows, self.fetches, self.cookie, self.wants = n, rows, fetches, cookie, wants
        self.open = asyncio.Event()
        self.waiting: dict[str, float] = {}  # row -> the oldest change it does not show yet
        self.last_byte = time.time()
        self.max_gap = 0.0  # the longest time the stream said nothing (no event, no ping)
        self.opens = 0
        self.closing = False
        self.writer: Any = None


class Run:
    """What the pages saw: the state each row should show, and the latencies per phase."""

    def __init__(self) -> None:
        self.truth: dict[str, bool] = {}  # number -> online
        self.latencies: list[float] = []  # change sent -> the page shows it (or newer)
        self.noop: list[float] = []  # pg_notify -> the no-op stream hears it
        self.resyncs = 0
        self.failed_asks = 0  # changes the simulator did not take (connection lost, not 200)
        self.rows_bare = 0  # row events sent without their HTML (the page fetches its list)
        self.refused = 0  # stream opens answered other than 200 (retried)
        self.tiles_pushed = 0
        self.tiles: list[int] = []  # the tiles fetched (HTTP status), for bare "fleet" events


async def _request(port: int, path: str, cookie: str, extra: str = "") -> tuple[Any, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n"
            f"{extra}Connection: keep-alive\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    return reader, writer


async def fetch_tiles(port: int, cookie: str, tiles: list[int]) -> None:
    tiles.append(await fetch_part(port, cookie, "part=counts"))


async def fetch_part(port: int, cookie: str, query: str) -> int:
    """One htmx GET of a part of the fleet page (?part=counts)."""
    reader, writer = await _request(port, f"/accounts/?{query}", cookie, "HX-Request: true\r\n")
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    writer.close()
    return status


async def run_page(page: Page, port: int, run: Run) -> None:
    """The page's stream, opened again (from 5 s before, as static/js/live.js does) when the
    churn closes it, until the bench ends."""
    since = ""
    while True:
        await read_stream(page, port, run, since)
        if not page.closing:
            return
        page.closing = False
        since = f"since={time.time() - 5:.3f}&"


async def read_stream(page: Page, port: int, run: Run, since: str) -> None:
    reader, writer = await _request(
        port, f"/live/?{since}e={page.wants}", page.cookie, "Accept: text/event-stream\r\n"
    )
    page.writer = writer
    status = await reader.readline()
    if not status and page.closing:  # churned again before it opened
        return
    if b" 200 " not in status:  # as EventSource does: try again shortly (counted)
        run.refused += 1
        writer.close()
        await asyncio.sleep(2)
        page.closing = True  # run_page opens it again
        return
    page.opens += 1
    page.last_byte = time.time()
    page.open.set()
    pending: set[asyncio.Task[None]] = set()
    name, data, heard = "", b"", 0.0
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            now = time.time()
            page.max_gap = max(page.max_gap, now - page.last_byte)
            page.last_byte = now
            if line.startswith(b"event: "):
                name, data, heard = line[7:].strip().decode(), b"", now
                continue
            if line.startswith(b"data: "):
                data += line[6:]
                continue
            if line.strip() or not name:
                continue
            # The message is complete: do what the page would.
            if name == "fleet":
                if data.startswith(b"<section"):  # the tiles came with it (sse-swap)
                    run.tiles_pushed += 1
                elif page.fetches:  # a bare event: the tiles are fetched, as htmx would
                    task = asyncio.create_task(fetch_tiles(port, page.cookie, run.tiles))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            elif name.startswith("account-") and data.strip() == name.encode():
                # Sent bare (not rendered within RENDER_WAIT_SECONDS): in Chromium the page
                # then fetches its list again; the bench does not, and counts it.
                run.rows_bare += 1
            elif name.startswith("account-") and data.startswith(b"<tr"):
                number = name[len("account-") :]
                online = b"Disconnected" not in data
                since_change = page.waiting.get(number)
                if since_change is not None and run.truth.get(number) == online:
                    run.latencies.append(heard - since_change)
                    del page.waiting[number]
            elif name == NOOP:
                sent = page.waiting.pop(NOOP, None)
                if sent is not None:
                    run.noop.append(heard - sent)
            elif name == "resync":
                run.resyncs += 1
            name = ""
    except (ConnectionError, OSError):
        return
    finally:
        writer.close()


def _cpu(pids: list[int]) -> float:
    return sum(_cpu_seconds(p) for p in pids if os.path.exists(f"/proc/{p}"))


class Phase:
    """One stretch of load at one rate: its latencies, the time until every page showed
    the final state, the web's CPU."""

    def __init__(self, label: str, rate: float) -> None:
        self.label, self.rate = label, rate
        self.sent = 0
        self.elapsed = 0.0
        self.latencies: list[float] = []
        self.asks: list[float] = []  # a change asked of the simulator until its answer
        self.vendor: list[dict[str, Any]] = []  # the simulator's deliveries made in the phase
        self.unsent: list[dict[str, Any]] = []  # of them, never attempted after the final wait
        self.noop: list[float] = []
        self.final_after: float | None = None  # None: not every page was final in time
        self.not_final = 0
        self.web_cpu = 0.0
        self.worker_cpu = 0.0
        self.others_cpu: dict[str, float] = {}  # the callbacks' gunicorn, the simulator
        self.churned = 0
        self.behind: list[str] = []  # pages not final after the wait: what they lack, and why

    def line(self, pages: int) -> str:
        lat, noop = self.latencies, self.noop
        final = (
            f"{self.final_after:.2f} s"
            if self.final_after is not None
            else f"not within the wait ({self.not_final} pages behind)"
        )
        return (
            f"{self.label}: {self.rate:g} changes/s asked, {self.sent / self.elapsed:.1f}/s sent"
            f" for {self.elapsed:.0f} s; change -> page n={len(lat)} p50={_ms(pct(lat, 50))}"
            f" p95={_ms(pct(lat, 95))} max={_ms(max(lat, default=float('nan')))}"
            f" (of it, asked of the simulator p50={_ms(pct(self.asks, 50))}"
            f" p95={_ms(pct(self.asks, 95))});"
            f" every page final {final} after the last change; floor (no-op stream) n={len(noop)}"
            f" p50={_ms(pct(noop, 50))} p95={_ms(pct(noop, 95))}; web CPU {self.web_cpu:.0f}%"
            f" of one core ({self.web_cpu / pages * 1000:.1f}% per 1000 pages), worker"
            f" {self.worker_cpu:.0f}%"
            + "".join(f", {name} {cpu:.0f}%" for name, cpu in self.others_cpu.items())
            + f"; streams churned {self.churned}; {self.vendor_line()}"
        )

    def vendor_line(self) -> str:
        """The simulator's deliveries made in the phase: waiting in its queue, the POST until
        its 200, retried ones, superseded or batched ones (sent as part of a newer or larger
        one)."""
        sent = [d for d in self.vendor if d.get("firstAttemptAt") and d.get("deliveredAt")]
        queue = [d["firstAttemptAt"] - d["created"] for d in sent]
        post = [d["deliveredAt"] - d["firstAttemptAt"] for d in sent]
        states: dict[str, int] = {}
        for d in self.vendor:
            states[d["state"]] = states.get(d["state"], 0) + 1
        retried = sum(1 for d in self.vendor if d.get("attempts", 0) > 1)
        # "pending": not attempted yet when last seen; a delivery leaves the simulator's log
        # of 5,000 about 4 s after it is made at 640 changes/s, so some were sent unseen.
        by_state = ", ".join(f"{n} {k}" for k, n in sorted(states.items()))
        oldest = min((d["created"] for d in self.unsent), default=None)
        unsent = f"{len(self.unsent)}" + (
            f" (made from {time.time() - oldest:.0f} s ago)" if oldest is not None else ""
        )
        return (
            f"vendor: {len(self.vendor)} deliveries ({by_state}), queue p50={_ms(pct(queue, 50))}"
            f" p95={_ms(pct(queue, 95))} max={_ms(max(queue, default=float('nan')))},"
            f" POST to 200 p50={_ms(pct(post, 50))} p95={_ms(pct(post, 95))}, retried {retried};"
            f" never attempted by the end of the final wait: {unsent}"
        )


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


class Load:
    """Sends the changes: the simulator disconnects or brings back an account shown on some
    page; never two changes of one account in flight at once (their order would be lost)."""

    def __init__(
        self, args: argparse.Namespace, pages: list[Page], floors: list[Page], run: Run
    ) -> None:
        self.args, self.pages, self.floors, self.run = args, pages, floors, run
        self.shown: dict[str, list[Page]] = {}
        for page in pages:
            for number in page.rows:
                self.shown.setdefault(number, []).append(page)
        self.numbers = sorted(self.shown)
        self.rng = random.Random(7)
        self.inflight: set[str] = set()
        # The changes go to the simulator on kept-alive connections, one per thread: with a
        # new connection per change (and a thread per connection in the simulator), the
        # bench's own requests fell behind at 640 changes/s and the wait counted as the
        # product's ("asked" in each phase's line: the change until the simulator's answer).
        self.pool = ThreadPoolExecutor(16)
        self.local = threading.local()
        self.asks: list[float] = []
        self.notifier: Any = None
        # CPU per phase of the other processes: the callbacks' gunicorn (if its own), the
        # simulator (the vendor's stand-in sends every webhook).
        self.others: dict[str, list[int]] = {}

    def change(self) -> bool:
        number = self.rng.choice(self.numbers)
        if number in self.inflight:
            return False
        online = not self.run.truth.get(number, True)
        self.run.truth[number] = online
        now = time.time()
        for page in self.shown[number]:
            page.waiting.setdefault(number, now)
        self.inflight.add(number)
        path = f"/_sim/{'online' if online else 'disconnect'}"
        future = self.pool.submit(self._ask, path, number, now)
        future.add_done_callback(lambda f: self._asked(number, f))
        return True

    async def _watch_deliveries(
        self, seen: dict[int, Any], done: asyncio.Event
    ) -> list[dict[str, Any]]:
        """Collect the simulator's deliveries into `seen` until `done`; returns what it still
        holds unsent then (after the phase's final wait)."""
        loop = asyncio.get_running_loop()
        while True:
            rows = await loop.run_in_executor(None, _get, f"{self.args.sim_url}/_sim/deliveries")
            seen.update((d["seq"], d) for d in rows["data"])
            if done.is_set():
                return [d for d in rows["data"] if d["state"] == "pending"]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 2.0)

    def _behind(self, phase_start: float) -> list[str]:
        """For up to 5 rows a page still lacks after the final wait: the state owed, the
        database's, and how many times the page's stream was opened (the churn)."""
        import psycopg

        lacking = [(p, n) for p in self.pages for n in p.waiting][:5]
        numbers = [n for _p, n in lacking]
        with psycopg.connect(f"{PG}/{DB}") as conn:
            rows = conn.execute(
                "SELECT whatsapp, presence_status, online_status, last_event_at,"
                " last_event_received_at, updated_at FROM accounts_whatsappaccount"
                " WHERE whatsapp = ANY(%s)",
                [numbers],
            ).fetchall()
        db = {r[0]: r[1:] for r in rows}
        return [
            f"page {p.n} (streams opened {p.opens}) row {n}: owed"
            f" {'online' if self.run.truth.get(n) else 'disconnected'} since"
            f" {p.waiting[n] - phase_start:.1f} s into the phase; database (presence,"
            f" online status, event time, received, updated) {db.get(n)}"
            for p, n in lacking
        ]

    def _asked(self, number: str, future: Any) -> None:
        self.inflight.discard(number)
        if future.exception() is not None:  # the page is owed a change that never happened
            self.run.failed_asks += 1

    def _ask(self, path: str, number: str, asked: float) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(
                "127.0.0.1", self.args.sim_port, timeout=10
            )
        body = json.dumps({"whatsapp": number}).encode()
        for attempt in (1, 2):  # a kept-alive connection the server has closed: once more
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"the simulator answered {response.status} to {path}")
        self.asks.append(time.time() - asked)

    def noop(self) -> None:
        """The floor: a notification straight into the feed (no webhook, no worker, no
        render), heard by the no-op streams through the same hub as the pages."""
        import psycopg

        if self.notifier is None:
            self.notifier = psycopg.connect(f"{PG}/{DB}", autocommit=True)
        payload = json.dumps({"e": [NOOP], "u": [], "c": "manage_accounts"})
        now = time.time()
        for floor in self.floors:
            floor.waiting.setdefault(NOOP, now)
        self.notifier.execute("SELECT pg_notify('sb_live', %s)", [payload])

    async def phase(
        self, label: str, rate: float, seconds: float, web: list[int], worker: list[int]
    ) -> Phase:
        phase = Phase(label, rate)
        loop = asyncio.get_running_loop()
        self.run.latencies, self.run.noop = phase.latencies, phase.noop
        self.asks = phase.asks
        cpu0, wcpu0 = _cpu(web), _cpu(worker)
        others0 = {name: _cpu(pids) for name, pids in self.others.items()}
        churn_at = sorted(
            self.rng.uniform(0, seconds) for _ in range(round(self.args.churn * len(self.pages)))
        )
        # The simulator keeps its last 5,000 deliveries: read every 2 s, a phase's all are seen.
        seen: dict[int, dict[str, Any]] = {}
        watching = asyncio.Event()
        watcher = asyncio.create_task(self._watch_deliveries(seen, watching))
        phase_start = time.time()
        t0 = time.monotonic()
        interval = 1.0 / rate
        next_noop = 0.0
        while (now := time.monotonic() - t0) < seconds:
            if self.change():
                phase.sent += 1
            while churn_at and churn_at[0] <= now:
                churn_at.pop(0)
                page = self.rng.choice(self.pages)
                if page.writer is not None and not page.closing:
                    page.closing = True  # the browser goes away (and comes back)
                    page.writer.close()
                    phase.churned += 1
            if now >= next_noop:
                next_noop = now + 0.5
                await loop.run_in_executor(None, self.noop)
            await asyncio.sleep(max(0.0, t0 + phase.sent * interval - time.monotonic()))
        phase.elapsed = time.monotonic() - t0
        last_change = time.time()
        # Every page shows the final state of its rows: how long after the last change.
        deadline = time.monotonic() + self.args.final_wait
        while time.monotonic() < deadline:
            behind = sum(1 for p in self.pages if p.waiting)
            if not behind and not self.inflight:
                phase.final_after = time.time() - last_change
                break
            await asyncio.sleep(0.05)
        phase.not_final = sum(1 for p in self.pages if p.waiting)
        if phase.not_final:
            phase.behind = await loop.run_in_executor(None, self._behind, phase_start)
        watching.set()
        unsent = await watcher
        phase.vendor = [d for d in seen.values() if d["created"] >= phase_start]
        phase.unsent = [d for d in unsent if d["created"] >= phase_start]
        took = time.monotonic() - t0
        phase.web_cpu = 100 * (_cpu(web) - cpu0) / took
        phase.worker_cpu = 100 * (_cpu(worker) - wcpu0) / took
        phase.others_cpu = {
            name: 100 * (_cpu(pids) - others0[name]) / took for name, pids in self.others.items()
        }
        for page in self.pages:  # what was never shown counts from here on as late
            page.waiting.clear()
        return phase


async def drive(
    args: argparse.Namespace,
    cookies: list[str],
    web: subprocess.Popen[bytes],
    worker: Any,
    others: dict[str, list[int]],
) -> dict[str, Any]:
    numbers = [f"8617{i:09d}" for i in range(args.accounts)]
    rng = random.Random(7)
    pages = []
    for n, cookie in enumerate(cookies[: args.pages]):
        start = (n * PAGE_ROWS) % len(numbers)
        rows = set(numbers[start : start + PAGE_ROWS])
        # What static/js/live.js asks for: the events the page's elements listen for.
        wants = ",".join(["fleet", "fleet-new", *sorted(f"account-{n}" for n in rows)])
        pages.append(Page(n, rows, rng.random() < args.fetch_ratio, cookie, wants))
    floors = [Page(-1, set(), False, cookie, NOOP) for cookie in cookies[args.pages :]]
    run = Run()
    web_pids = _tree(web.pid)
    rss_before = sum(_rss_kib(p) for p in web_pids)
    cpu_before = _cpu(web_pids)
    t_before = time.monotonic()
    tasks = [asyncio.create_task(run_page(p, args.port, run)) for p in [*pages, *floors]]
    await asyncio.wait_for(asyncio.gather(*(p.open.wait() for p in [*pages, *floors])), 120)
    await asyncio.sleep(2)
    rss_open = sum(_rss_kib(p) for p in web_pids)
    # The pages open and idle (pings only): what an open page costs.
    idle0, t_idle = _cpu(web_pids), time.monotonic()
    await asyncio.sleep(args.idle_seconds)
    idle_cpu = 100 * (_cpu(web_pids) - idle0) / (time.monotonic() - t_idle)
    load = Load(args, pages, floors, run)
    load.others = others
    own0 = sum(os.times()[:2])
    t_load = time.monotonic()
    phases: list[Phase] = []
    sustainable = args.sustainable
    if sustainable is None:  # step up until p95 reaches 1 s (down first if it starts above)
        sustainable = 0.0
        rate = args.start_rate
        while 1.0 <= rate <= args.max_rate:
            phase = await load.phase("step", rate, args.step_seconds, web_pids, worker)
            phases.append(phase)
            print(phase.line(args.pages), flush=True)
            for line in phase.behind:
                print(f"  behind: {line}", flush=True)
            if phase.latencies and pct(phase.latencies, 95) < 1.0 and not phase.not_final:
                sustainable = rate
                rate *= args.step_factor
            elif sustainable:
                break
            else:
                rate /= args.step_factor
    for label, rate in [
        ("1x", sustainable),
        ("2x", 2 * sustainable),
        ("4x", 4 * sustainable),
        *[(f"fixed {r:g}", r) for r in args.rates],
    ]:
        if rate <= 0:
            continue
        phase = await load.phase(label, rate, args.seconds, web_pids, worker)
        phases.append(phase)
        print(phase.line(args.pages), flush=True)
        for line in phase.behind:
            print(f"  behind: {line}", flush=True)
    elapsed_load = time.monotonic() - t_load
    await asyncio.sleep(1)
    now = time.time()
    silent_now = sum(1 for p in [*pages, *floors] if now - p.last_byte > SILENT_SECONDS)
    silent_ever = sum(1 for p in [*pages, *floors] if p.max_gap > SILENT_SECONDS)
    for t in tasks:
        t.cancel()
    load.pool.shutdown(wait=True)
    stages = await asyncio.get_running_loop().run_in_executor(None, _stages, args.sim_url)
    return {
        "stages": stages,
        "phases": phases,
        "sustainable": sustainable,
        "idle_cpu": idle_cpu,
        "open_cpu": 100 * (idle0 - cpu_before) / max(1e-9, t_idle - t_before),
        "client_cpu": 100 * (sum(os.times()[:2]) - own0) / elapsed_load,
        "rss_per_page_kib": (rss_open - rss_before) / max(1, len(pages)),
        "silent_now": silent_now,
        "silent_ever": silent_ever,
        "streams": len(pages) + len(floors),
        "reopened": sum(p.opens - 1 for p in pages),
        "resyncs": run.resyncs,
        "failed_asks": run.failed_asks,
        "rows_bare": run.rows_bare,
        "refused": run.refused,
        "tiles_pushed": run.tiles_pushed,
        "tile_fetches": len(run.tiles),
        "tile_errors": sum(1 for status in run.tiles if status != 200),
    }


# The floor's event: a row-like name (not slowed as a broad one), heard by no page.
NOOP = "noop-1"
# Streams ping every 15 s (core/live_views.py): one that says nothing for longer is stuck.
SILENT_SECONDS = 20.0


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _stages(sim_url: str) -> dict[str, list[float]]:
    """Where the time went, per webhook: waiting in the simulator's queue (created -> first
    attempt), the POST until its 200 (first attempt -> delivered), and in the inbox (received ->
    applied: the Celery queue and the apply transaction)."""
    import psycopg

    out: dict[str, list[float]] = {"sim queue": [], "POST to 200": [], "inbox to applied": []}
    retried: list[float] = []  # deliveries answered other than 200 at first: their attempts
    for d in _get(f"{sim_url}/_sim/deliveries")["data"]:
        if d.get("firstAttemptAt") and d.get("deliveredAt"):
            out["sim queue"].append(d["firstAttemptAt"] - d["created"])
            out["POST to 200"].append(d["deliveredAt"] - d["firstAttemptAt"])
        if d.get("attempts", 0) > 1:
            retried.append(float(d["attempts"]))
    out["retried"] = retried  # counts, not seconds: printed apart
    with psycopg.connect(f"{PG}/{DB}") as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM processed_at - received_at) FROM webhooks_webhookevent"
            " WHERE processed_at IS NOT NULL"
        ).fetchall()
    out["inbox to applied"] = [float(r[0]) for r in rows]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument(
        "--sustainable",
        type=float,
        default=None,
        help="the sustainable rate, if known (changes/s); otherwise found by stepping",
    )
    ap.add_argument("--start-rate", type=float, default=25.0, help="the first step")
    ap.add_argument("--step-factor", type=float, default=1.5)
    ap.add_argument("--max-rate", type=float, default=800.0)
    ap.add_argument("--step-seconds", type=float, default=10.0)
    ap.add_argument(
        "--rates",
        type=float,
        nargs="*",
        default=[50.0],
        help="more fixed rates (changes/s) run after 1x, 2x and 4x the sustainable rate",
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="of each 1x/2x/4x/fixed phase")
    ap.add_argument("--idle-seconds", type=float, default=10.0, help="pages open, no changes")
    ap.add_argument(
        "--final-wait",
        type=float,
        default=30.0,
        help="after a phase, how long to wait for every page to show the final state",
    )
    ap.add_argument(
        "--churn",
        type=float,
        default=0.0,
        help="share of the pages that close and reopen their stream during each phase",
    )
    ap.add_argument("--floors", type=int, default=3, help="no-op streams (the floor)")
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument(
        "--fetch-ratio",
        type=float,
        default=1.0,
        help="pages that act on their events as the browser would (the rest only listen)",
    )
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--pool", type=int, default=8, help="DB_POOL_MAX_SIZE of the web workers")
    ap.add_argument("--port", type=int, default=8950)
    ap.add_argument("--sim-port", type=int, default=8951)
    ap.add_argument(
        "--vendor-senders",
        type=int,
        default=8,
        help="the simulator's webhook deliveries in flight at once (its default: 8)",
    )
    ap.add_argument(
        "--callback-workers",
        type=int,
        default=1,
        help="the vendor's callbacks on a gunicorn of their own (gthread, this many workers, on"
        " --port + 2), as deploy/ runs them; 0: the web's workers serve them",
    )
    args = ap.parse_args()
    args.sim_url = f"http://127.0.0.1:{args.sim_port}"
    print(f"$ {' '.join(['.venv/bin/python', 'bench/live.py', *sys.argv[1:]])}")
    print(
        f"bench/live.py: {args.pages} pages, churn {args.churn:g},"
        f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    started = time.monotonic()
    cookies = prepare(args.accounts, args.pages + args.floors)
    print(f"prepared (database, fleet, sessions) in {time.monotonic() - started:.0f} s", flush=True)
    print(f"at the start: {load_line()}", flush=True)
    e = env()
    web = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.asgi:application",
            "-c",
            "python:config.gunicorn",  # as deploy/ runs it: a listening socket per worker
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            str(args.web_workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
        ],
        cwd=ROOT,
        env={**e, "DB_POOL_MAX_SIZE": str(args.pool)},  # as deploy/ runs the web service
        start_new_session=True,
    )
    hooks = None
    hooks_port = args.port
    if args.callback_workers:
        hooks_port = args.port + 2
        hooks = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "config.wsgi:application",
                "-c",
                "python:config.gunicorn",
                "-k",
                "gthread",
                "--threads",
                "8",
                "-w",
                str(args.callback_workers),
                "-b",
                f"127.0.0.1:{hooks_port}",
                "--log-level",
                "warning",
                "--backlog",
                "4096",
            ],
            cwd=ROOT,
            env={**e, "DB_POOL_MAX_SIZE": str(args.pool)},
            start_new_session=True,
        )
    sim = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "simulate_upstream",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.sim_port),
            "--webhook-base",
            f"http://127.0.0.1:{hooks_port}",
            "--churn",
            "0",
            "--senders",
            str(args.vendor_senders),
        ],
        cwd=ROOT,
        env=e,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    worker = start_worker(e, queues="fast,slow", concurrency=2, log_level="ERROR")
    try:
        for url in (f"http://127.0.0.1:{args.port}/login/", f"{args.sim_url}/_sim/state"):
            for _ in range(150):
                try:
                    urllib.request.urlopen(url, timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.2)
        _post(
            f"{args.sim_url}/_sim/accounts",
            {
                "accounts": [
                    {"whatsapp": f"8617{i:09d}", "online": True} for i in range(args.accounts)
                ]
            },
        )
        time.sleep(3)  # the worker is up
        result = asyncio.run(
            drive(
                args,
                cookies,
                web,
                _tree(worker.pid),
                {
                    **({"callbacks": _tree(hooks.pid)} if hooks else {}),
                    "simulator": _tree(sim.pid),
                },
            )
        )
    finally:
        for proc in (sim, worker, web, hooks):
            if proc is not None:
                stop_process(proc, 15)
    print(f"at the end: {load_line()}")
    print(
        f"open pages: {args.pages} (web: gunicorn + {args.web_workers} uvicorn workers) and"
        f" {args.floors} no-op streams; memory per open page {result['rss_per_page_kib']:.1f} KiB"
        f" (web RSS); web CPU with the pages open and idle {result['idle_cpu']:.1f}% of one core"
        f" ({result['idle_cpu'] / args.pages * 1000:.2f}% per 1000 pages)"
    )
    print(f"sustainable rate (p95 change -> page under 1 s): {result['sustainable']:g} changes/s")
    print("phases:")
    for phase in result["phases"]:
        print("  " + phase.line(args.pages))
    print(
        f"streams silent for more than {SILENT_SECONDS:.0f} s: {result['silent_ever']} during"
        f" the run, {result['silent_now']} at the end (of {result['streams']}); streams"
        f" reopened by the churn: {result['reopened']}; resyncs: {result['resyncs']};"
        f" changes the simulator did not take: {result['failed_asks']}; row events sent bare"
        f" (a browser fetches its list again; this bench does not): {result['rows_bare']};"
        f" stream opens refused (retried 2 s later): {result['refused']}"
    )
    print(
        f"tiles pushed with their event: {result['tiles_pushed']}; tiles fetched (bare"
        f" events): {result['tile_fetches']} ({result['tile_errors']} not 200); the bench's own"
        f" clients {result['client_cpu']:.0f}% of one core (same machine)"
    )
    retried = result["stages"].pop("retried")
    print(
        f"  deliveries retried (answered other than 200 at first), of the simulator's last"
        f" 5,000: {len(retried)}, attempts max {max(retried, default=0):.0f}"
    )
    for name, values in result["stages"].items():
        print(
            f"  stage {name}: n={len(values)} p50={pct(values, 50) * 1000:.0f} ms "
            f"p95={pct(values, 95) * 1000:.0f} ms "
            f"max={max(values, default=float('nan')) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
