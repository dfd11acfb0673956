"""Faults beyond a vendor's bad answers, part two: the product's own processes killed
(SIGKILL, no warning) under load, and the broker vanishing under a worker. Run through
`bench/faults.py --scenario NAME`; like bench/fault_restarts.py each scenario has its OWN
PostgreSQL (the embedded server, data under `var/faults/<scenario>/`) and its OWN
`redis-server` on a free port, and starts the web, worker and beat processes with the
Procfile's / deploy/systemd's commands.

Scenarios:
- `web-kill-streams`: gunicorn with uvicorn workers, run from the Procfile's `web` line;
  `--streams` signed-in fleet pages each hold a /live/ stream (a client doing what
  EventSource and static/js/live.js do: reconnect after the stream's `retry`, and after a
  drop or a "resync" fetch the page's parts again). The web process group is SIGKILLed;
  while it is down the vendor changes accounts: half of its webhooks reach another web
  instance (applied at once, their live events heard by nobody), half find no web and are
  sent again later; then the web is started again. A few real Chromium pages (--browsers)
  go through the same. Measured: every stream open again, the time until all are, and every
  page showing the vendor's final state of each of its rows (nothing lost).
- `worker-kill-lane`: open-chat lanes and a bulk online job run on a prefork Celery worker
  (the Procfile's command) with the real `celery beat`; the worker's process group is
  SIGKILLed mid-way and started again. Counted at the simulator: each open-chat and each
  account's batchOnline sent once; every action and item final.
- `broker-vanish-worker`: a prefork worker with its Redis broker killed for `--down`
  seconds and started again empty. The worker must take a task again within a bound (it
  reconnected), or have exited so its supervisor restarts it; a worker alive that takes
  nothing is the failure ("hung silently").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common
from bench.fault_restarts import (
    PrivatePostgres,
    PrivateRedis,
    free_port,
    probe,
    stack_env,
    start_own_stack,
)

ROOT = Path(__file__).resolve().parent.parent
RETRY_SECONDS = 2.0  # the stream's own `retry:` (core/live_views.py)


def _workdir(name: str) -> Path:
    work = ROOT / "var" / "faults" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started (its session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _wait(predicate: Callable[[], bool], timeout: float, every: float = 0.1) -> float | None:
    """Seconds until `predicate()` held, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(every)
    return None


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"no {name} in the Procfile")


def start_web(env: dict[str, str], port: int, workers: int, work: Path) -> subprocess.Popen[bytes]:
    """The Procfile's `web` line, run by a shell as a process manager would."""
    metrics = work / "metrics-web"
    metrics.mkdir(exist_ok=True)
    run_env = {
        **env,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "WEB_BIND": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    return subprocess.Popen(
        ["bash", "-c", procfile_command("web")],
        cwd=ROOT,
        env=run_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "web.log", "ab"),
    )


# --- web-kill-streams --------------------------------------------------------------

ROW = re.compile(r'<tr id="row-(\d+)"(.*?)</tr>', re.S)
SSE_CONNECT = re.compile(r'sse-connect="([^"]+)"')
SSE_SWAP = re.compile(r'sse-swap="([^"]+)"')
HX_TRIGGER = re.compile(r'hx-trigger="([^"]+)"')


def _rows(html: str) -> dict[str, bool]:
    """number -> shown online (the row does not say "Disconnected")."""
    return {m.group(1): "Disconnected" not in m.group(2) for m in ROW.finditer(html)}


def _interest(html: str) -> list[str]:
    """What static/js/live.js asks the stream for: the page's sse-swap and sse:NAME."""
    names: set[str] = set()
    for m in SSE_SWAP.finditer(html):
        names.update(n.strip() for n in m.group(1).split(",") if n.strip())
    for m in HX_TRIGGER.finditer(html):
        for spec in m.group(1).split(","):
            first = spec.strip().split(" ")[0] if spec.strip() else ""
            if first.startswith("sse:") and len(first) > 4:
                names.add(first[4:])
    return sorted(names)


async def _http(
    port: int, path: str, cookie: str, extra: str = "", timeout: float = 10.0
) -> tuple[int, str]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n"
            f"{extra}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    if status in (301, 302):
        return status, head.decode("latin-1")
    if b"transfer-encoding: chunked" in head.lower():
        out, buf = b"", rest
        while buf:
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, buf = out + buf[:size], buf[size + 2 :]
        rest = out
    return status, rest.decode("utf-8", "replace")


class StreamPage:
    """One open fleet page: what its rows show, its stream's URL and how it fared."""

    def __init__(self, cookie: str) -> None:
        self.cookie = cookie
        self.shown: dict[str, bool] = {}
        self.url = ""
        self.opens = 0
        self.reopened_at: float | None = None  # the first open after the kill
        self.failed_connects = 0
        self.refused = 0
        self.resyncs = 0
        self.refetches = 0
        self.pushed_after_kill = 0
        self.connected = False


async def _refetch(page: StreamPage, port: int) -> None:
    """What live.js's refreshAll does for the fleet page: its #results part again."""
    try:
        status, html = await _http(port, "/accounts/", page.cookie, "HX-Request: true\r\n")
    except (OSError, TimeoutError):
        return
    if status == 200:
        page.refetches += 1
        page.shown.update(_rows(html))


def _keep(tasks: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _page_stream(page: StreamPage, port: int, state: dict[str, Any]) -> None:
    """The stream as EventSource keeps it: the same URL again `retry` after a drop or a
    failed connect; after an open that follows a drop, and on "resync", the page's parts
    are fetched again (static/js/live.js)."""
    dropped = False
    fetches: set[asyncio.Task[None]] = set()  # kept until done (the loop holds weak refs)
    while not state["stop"]:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except (OSError, TimeoutError):
            page.failed_connects += 1
            await asyncio.sleep(RETRY_SECONDS)
            continue
        try:
            writer.write(
                f"GET {page.url} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={page.cookie}"
                "\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 30)
            if b" 200 " not in status:
                page.refused += 1
                continue
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # headers
            page.opens += 1
            page.connected = True
            if state["killed_at"] and page.reopened_at is None:
                page.reopened_at = time.monotonic()
            if dropped:
                _keep(fetches, asyncio.create_task(_refetch(page, port)))
            name, data = "", ""
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace")
                # chunk sizes of the chunked body come as their own lines: ignored
                if line.startswith("event: "):
                    name, data = line[7:].strip(), ""
                elif line.startswith("data: "):
                    data += line[6:]
                elif line.strip() == "" and name:
                    if name == "resync":
                        page.resyncs += 1
                        _keep(fetches, asyncio.create_task(_refetch(page, port)))
                    elif name.startswith("account-") and data.startswith("<tr"):
                        page.shown.update(_rows(data))
                        if state["killed_at"]:
                            page.pushed_after_kill += 1
                    name, data = "", ""
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            page.connected = False
        dropped = True
        await asyncio.sleep(RETRY_SECONDS)


def _seed_fleet(accounts: int, pages: int) -> tuple[list[str], list[str]]:
    """The fleet (one page of it) and one signed-in supervisor session per page."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import WhatsAppAccount
    from core.groups import ensure_groups
    from core.roles import Role

    ensure_groups()
    numbers = [f"86179{i:08d}" for i in range(accounts)]
    WhatsAppAccount.objects.bulk_create(
        [WhatsAppAccount(whatsapp=n, online_status=2, presence_status=10) for n in numbers]
    )
    group = Group.objects.get(name=Role.SUPERVISOR.value)
    users = User.objects.bulk_create([User(username=f"kill-sup{i}") for i in range(pages)])
    group.user_set.add(*users)
    cookies = []
    for user in users:  # a signed-in session, as the login view leaves it
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(str(store.session_key))
    return numbers, cookies


class Browsers:
    """A few real Chromium pages on the fleet (static/js/live.js and htmx's sse extension
    with the browser's EventSource): what the protocol clients above stand for."""

    ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    READ = """() => {
        const rows = {};
        document.querySelectorAll('tr[id^="row-"]').forEach(function (tr) {
            rows[tr.id.slice(4)] = !tr.textContent.includes('Disconnected');
        });
        return {live: document.body.dataset.live || '', rows: rows};
    }"""

    def __init__(self) -> None:
        self.pw: Any = None
        self.browser: Any = None
        self.pages: list[Any] = []
        self.states: list[set[str]] = []  # the data-live states each page went through

    async def open(self, base: str, cookies: list[str]) -> None:
        from playwright.async_api import async_playwright

        self.pw = await async_playwright().start()
        self.browser = await self.pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=self.ARGS
        )
        for cookie in cookies:
            context = await self.browser.new_context(viewport={"width": 1366, "height": 768})
            await context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
            page = await context.new_page()
            await page.goto(base + "/accounts/")
            await page.wait_for_function(
                "() => document.body.dataset.live === 'open'", timeout=60000
            )
            self.pages.append(page)
            self.states.append({"open"})

    async def read(self) -> list[dict[str, Any]]:
        out = []
        for page, seen in zip(self.pages, self.states, strict=True):
            try:
                found = await page.evaluate(self.READ)
            except Exception:  # navigating, or the page is busy: read again later
                found = {"live": "", "rows": {}}
            seen.add(found["live"])
            out.append(found)
        return out

    async def close(self) -> None:
        if self.browser is not None:
            await self.browser.close()
        if self.pw is not None:
            await self.pw.stop()


def web_kill_streams(
    *,
    streams: int,
    accounts: int,
    changes: int,
    down_seconds: float,
    workers: int,
    browsers: int = 3,
    log: Any = print,
) -> dict[str, Any]:
    work = _workdir("web-kill-streams")
    pg, redis = PrivatePostgres(work), PrivateRedis(work)
    redis.start()
    env = stack_env(pg.url(), redis.port)
    # The pages are supervisors' signed-in sessions made here: their second factor's
    # enrolment (identity/policy.py) is not what this scenario measures.
    env.update(
        {
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BENCH_FAULTS_OWN_STACK": "1",
            "MFA_REQUIRED_ROLES": "admin",
        }
    )
    os.environ.update(env)
    for step in (["migrate"], ["collectstatic"]):  # the Procfile's release step
        subprocess.run(
            [sys.executable, "manage.py", *step, "--noinput", "-v", "0"], cwd=ROOT, check=True
        )
    import django

    django.setup()
    from django.conf import settings

    from accounts.models import WhatsAppAccount
    from bench.faults import _serve_webhooks
    from simulator.server import start_simulator

    accounts = min(accounts, 50)  # one page of the fleet: every page shows every row
    numbers, cookies = _seed_fleet(accounts, streams + browsers)
    cookies, browser_cookies = cookies[:streams], cookies[streams:]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim = start_simulator("127.0.0.1", 0, base, backoff_base=0.5, backoff_cap=8.0, tick=0.1)
    for n in numbers:
        sim.state.set_account(n, online=True)
    os.environ["UPSTREAM_BASE_URL"] = settings.UPSTREAM_BASE_URL = env["UPSTREAM_BASE_URL"] = (
        sim.url
    )
    import logging

    logging.getLogger("switchboard.access").setLevel(logging.WARNING)  # the other instance
    other_url, other_server = _serve_webhooks()
    web = start_web(env, port, workers, work)
    worker = common.start_worker(env, queues="fast,slow", concurrency=2, log_level="ERROR")
    figures: dict[str, Any] = {}
    state: dict[str, Any] = {"stop": False, "killed_at": None}
    pages = [StreamPage(c) for c in cookies]
    chromium = Browsers()
    truth = dict.fromkeys(numbers, True)

    def flip(number: str) -> None:
        truth[number] = not truth[number]
        if truth[number]:
            sim.state.set_account(number, online=True, emit=True)
        else:
            sim.state.disconnect(number)

    def _db_matches(some: list[str]) -> bool:
        found = dict(
            WhatsAppAccount.objects.filter(whatsapp__in=some).values_list(
                "whatsapp", "presence_status"
            )
        )
        return all((found.get(n) == 10) == truth[n] for n in some)

    def behind() -> list[StreamPage]:
        return [p for p in pages if any(p.shown.get(n) != truth[n] for n in numbers)]

    async def drive() -> None:
        nonlocal web
        loop = asyncio.get_running_loop()
        started = await loop.run_in_executor(
            None, _wait, lambda: probe(base + "/livez") == 200, 120.0
        )
        if started is None:
            raise SystemExit("the web did not start (var/faults/web-kill-streams/web.log)")
        for page in pages:  # each page loaded once, as a browser does, then its stream
            status, html = await _http(port, "/accounts/", page.cookie)
            assert status == 200, (status, html)
            page.shown = _rows(html)
            found = SSE_CONNECT.search(html)
            assert found, "the fleet page has no stream"
            page.url = found.group(1).replace("&amp;", "&") + "&e=" + ",".join(_interest(html))
        tasks = [asyncio.create_task(_page_stream(p, port, state)) for p in pages]
        opened = await loop.run_in_executor(
            None, _wait, lambda: all(p.connected for p in pages), 60.0
        )
        figures["streams_open_before_s"] = None if opened is None else round(opened, 1)
        if browser_cookies:
            await chromium.open(base, browser_cookies)
        # A change while everything is up: the pages get it live (the path works).
        for n in numbers[:2]:
            await loop.run_in_executor(None, flip, n)
        live_ok = await loop.run_in_executor(None, _wait, lambda: not behind(), 30.0)
        figures["change_shown_before_kill_s"] = None if live_ok is None else round(live_ok, 2)

        log(f"SIGKILL the web (gunicorn and its {workers} workers), {streams} streams open")
        state["killed_at"] = time.monotonic()
        await loop.run_in_executor(None, _killpg, web)
        during = await loop.run_in_executor(None, probe, base + "/livez")
        # While it is down the vendor changes accounts. Half go to another web instance
        # (the balancer's other backend, here the app served by this process): the worker
        # applies them at once and their live events reach nobody, so the pages must
        # resync. The other half find no web at all: the vendor sends them again later.
        changed = numbers[2 : 2 + changes]
        other = changed[: len(changed) // 2]
        sim.set_webhook_base(other_url)
        for n in other:
            await loop.run_in_executor(None, flip, n)
        applied = await loop.run_in_executor(None, _wait, lambda: _db_matches(other), 60.0)
        figures["applied_by_other_instance_s"] = None if applied is None else round(applied, 2)
        sim.set_webhook_base(base)
        for n in changed[len(changed) // 2 :]:
            await loop.run_in_executor(None, flip, n)
        rest = down_seconds - (time.monotonic() - state["killed_at"])
        await asyncio.sleep(max(0.0, rest))
        restart_at = time.monotonic()
        web = start_web(env, port, workers, work)
        # From the restart: the web answers, every stream is open again, every page shows
        # the vendor's final state of every row.
        marks: dict[str, float] = {}
        conditions: dict[str, Callable[[], bool]] = {
            "livez": lambda: probe(base + "/livez") == 200,
            "reopened": lambda: all(p.reopened_at is not None for p in pages),
            "final": lambda: all(p.reopened_at is not None for p in pages) and not behind(),
        }

        def watch() -> None:
            while time.monotonic() - restart_at < 180 and any(k not in marks for k in conditions):
                for key, holds in conditions.items():
                    if key not in marks and holds():
                        marks[key] = time.monotonic() - restart_at
                time.sleep(0.05)

        async def watch_browsers() -> None:
            while time.monotonic() - restart_at < 180 and chromium.pages:
                read = await chromium.read()
                if "browsers_open" not in marks and all(r["live"] == "open" for r in read):
                    marks["browsers_open"] = time.monotonic() - restart_at
                if all(r["live"] == "open" and r["rows"] == truth for r in read):
                    marks["browsers_final"] = time.monotonic() - restart_at
                    return
                await asyncio.sleep(0.2)

        await asyncio.gather(loop.run_in_executor(None, watch), watch_browsers())
        final_reads = await chromium.read()
        state["stop"] = True
        for t in tasks:
            t.cancel()
        reopened = [p.reopened_at - restart_at for p in pages if p.reopened_at is not None]
        figures.update(
            {
                "streams": streams,
                "rows_per_page": accounts,
                "web_workers": workers,
                "livez_while_down": during,
                "web_down_s": round(restart_at - state["killed_at"], 1),
                "changes_while_down": len(changed),
                "via_other_instance_no_live_event": len(changed) // 2,
                "via_vendor_retry_after_restart": len(changed) - len(changed) // 2,
                "livez_200_after_restart_s": _round(marks.get("livez")),
                "streams_reopened": f"{len(reopened)}/{streams}",
                "all_reopened_after_restart_s": _round(marks.get("reopened")),
                # The first stream back is when the web took connections again (the floor:
                # the restart itself); the last, when every page's EventSource had retried.
                "first_stream_reopened_after_restart_s": _round(min(reopened, default=None)),
                "reopen_after_restart_p50_s": _round(common.pct(reopened, 50)),
                "last_stream_reopened_after_restart_s": _round(max(reopened, default=None)),
                "reopen_spread_first_to_last_s": _round(
                    max(reopened) - min(reopened) if reopened else None
                ),
                "every_page_final_after_restart_s": _round(marks.get("final")),
                "pages_behind": len(behind()),
                "rows_wrong": sum(1 for p in pages for n in numbers if p.shown.get(n) != truth[n]),
                "lost": sum(1 for p in pages for n in changed if p.shown.get(n) != truth[n]),
                "failed_connects_while_down": sum(p.failed_connects for p in pages),
                "non_200_opens": sum(p.refused for p in pages),
                "resync_events": sum(p.resyncs for p in pages),
                "parts_refetched": sum(p.refetches for p in pages),
                "rows_pushed_after_kill": sum(p.pushed_after_kill for p in pages),
                "applied_twice": 0,  # pages only show: nothing is applied by a page
                "browser_pages": len(chromium.pages),
                "browsers_went_down_then_open": sum(
                    1 for seen in chromium.states if {"down", "open"} <= seen
                ),
                "browsers_open_after_restart_s": _round(marks.get("browsers_open")),
                "browsers_final_after_restart_s": _round(marks.get("browsers_final")),
                "browser_rows_wrong": sum(
                    1 for r in final_reads for n in numbers if r["rows"].get(n) != truth[n]
                ),
            }
        )

    async def drive_then_close() -> None:
        try:
            await drive()
        finally:
            await chromium.close()

    try:
        asyncio.run(drive_then_close())
        figures["pages_after"] = {
            path: probe(base + path) for path in ("/livez", "/readyz", "/login/")
        }
    finally:
        state["stop"] = True
        common.stop_process(worker, 20)
        common.stop_process(web, 20)
        sim.stop()
        other_server.shutdown()
        from django.db import connections

        connections.close_all()
        pg.stop()
        redis.kill()
    return figures


# --- worker-kill-lane --------------------------------------------------------------


def _celery(
    env: dict[str, str], args: list[str], work: Path, log_name: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", *args],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(work / log_name, "ab"),
    )


def procfile_worker_args(name: str, concurrency: int) -> list[str]:
    """The Procfile's worker line as celery's arguments (its queue, its pool)."""
    words = shlex.split(procfile_command(name))
    words = words[words.index("worker") :]
    out: list[str] = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word == "--concurrency":
            out += ["--concurrency", str(concurrency)]
            skip = True
        elif word == "--hostname":
            out += ["--hostname", words[i + 1].replace("%h", "fault")]
            skip = True
        else:
            out.append(word)
    return out


def worker_kill_lane(
    *,
    lanes: int,
    per_lane: int,
    accounts: int,
    down_seconds: float,
    settle: float = 300.0,
    log: Any = print,
) -> dict[str, Any]:
    work = _workdir("worker-kill-lane")
    pg, redis = PrivatePostgres(work), PrivateRedis(work)
    redis.start()
    from bench.faults import Config, _import_file, setup_lanes, setup_people

    env, settings, server, sim = start_own_stack(pg, redis)
    from accounts.models import BulkJob, BulkJobItem, WhatsAppAccount
    from accounts.services import fleet, imports
    from actions.models import SETTLED_STATES, Action
    from actions.services.intake import ActionSpec, actions_queue

    sim.set_action_interval(float(settings.ACTION_LANE_INTERVAL))
    worker_args = procfile_worker_args("fast", 4)
    worker_args[worker_args.index("-Q") + 1] = "fast,slow"  # one worker takes both here
    worker_args += ["--loglevel", "WARNING"]

    def start_worker() -> subprocess.Popen[bytes]:
        return _celery(env, worker_args, work, "worker.log")

    worker = start_worker()
    beat = _celery(
        env,
        ["beat", "--loglevel", "WARNING", "--schedule", str(work / "celerybeat-schedule")],
        work,
        "beat.log",
    )
    figures: dict[str, Any] = {}
    numbers = [f"86159{i:07d}" for i in range(accounts)]
    try:
        sup, _agent = setup_people(sim)
        pairs = setup_lanes(sim, Config(lanes=lanes))
        for agent_account, whatsapp in pairs:  # every lane's account online at the vendor
            sim.state.set_account(whatsapp, online=True, agent_account=agent_account)
        parsed = imports.import_parse(upload=_import_file(numbers))
        staged = imports.import_stage(actor=sup, result=parsed, filename="fault-import.json")
        import_job = imports.import_confirm(actor=sup, job=staged)
        if _wait(lambda: BulkJob.objects.get(pk=import_job.pk).finished, 120, 0.5) is None:
            raise SystemExit("the import did not finish")
        imported = list(WhatsAppAccount.objects.filter(whatsapp__in=numbers))
        specs = [
            ActionSpec(
                agent_account=a,
                whatsapp=w,
                friend_whatsapp=f"5732{lane:03d}{n:05d}",
                platform=1,
                content="worker kill",
            )
            for n in range(per_lane)
            for lane, (a, w) in enumerate(pairs)
        ]
        actions_queue(user=sup, specs=specs)
        job = fleet.bulk_job_create(actor=sup, kind=BulkJob.Kind.ONLINE, accounts=imported)
        total = len(specs)

        def opened() -> int:
            with sim.state.lock:
                return len(sim.state.opened)

        def online_calls() -> int:
            return len(sim.calls("/batchOnline"))

        # Mid-way through both: a first chunk of the job at the vendor, lanes under way.
        _wait(lambda: online_calls() >= 1 and opened() >= max(2, total // 4), 120, 0.02)
        at_kill = {
            "open_chats_sent": opened(),
            "batchOnline_calls": online_calls(),
            "bulk_items_done": BulkJobItem.objects.filter(job=job)
            .exclude(state=BulkJobItem.State.PENDING)
            .count(),
        }
        log(f"SIGKILL the worker at {at_kill}")
        killed = time.monotonic()
        _killpg(worker)
        time.sleep(down_seconds)
        worker = start_worker()
        restarted = time.monotonic()

        def finished() -> bool:
            open_actions = Action.objects.exclude(state__in=SETTLED_STATES).exists()
            return not open_actions and BulkJob.objects.get(pk=job.pk).finished

        took = _wait(finished, settle, 0.5)
        with sim.state.lock:
            per_friend = Counter(o["friendWhatsId"] for o in sim.state.opened)
        sent: Counter[str] = Counter()
        for call in sim.calls():
            if call["path"].endswith("/batchOnline"):
                text = json.dumps(call.get("body"), default=str)
                sent.update(n for n in numbers if n in text)
        actions = Counter(Action.objects.values_list("state", flat=True))
        items = BulkJobItem.objects.filter(job=job)
        friends = [s.friend_whatsapp for s in specs]
        figures = {
            "lanes": lanes,
            "actions": total,
            "bulk_items": len(imported),
            "at_kill": at_kill,
            "worker_down_s": round(restarted - killed, 1),
            "finished": took is not None,
            "finished_after_restart_s": None if took is None else round(took, 1),
            "actions_by_state": dict(actions),
            "actions_without_reason": Action.objects.filter(reason="").count(),
            "open_chat_calls": sum(per_friend.values()),
            "items_by_state": dict(Counter(items.values_list("state", flat=True))),
            "batchOnline_calls": sum(1 for c in sim.calls() if c["path"].endswith("/batchOnline")),
            "in_doubt_actions_unknown": actions.get("unknown", 0),
            "in_doubt_items_failed": items.filter(error__startswith="The worker stopped").count(),
            "failed_without_reason": items.filter(state="failed", error="").count(),
            # Lost: never final, or said done though the vendor never had the call.
            "lost": Action.objects.exclude(state__in=SETTLED_STATES).count()
            + sum(
                1
                for f in Action.objects.filter(state="succeeded").values_list(
                    "friend_whatsapp", flat=True
                )
                if per_friend[f] == 0
            )
            + items.filter(state=BulkJobItem.State.PENDING).count()
            + sum(
                1
                for n in items.filter(state="ok").values_list("whatsapp", flat=True)
                if sent[n] == 0
            ),
            "applied_twice": sum(1 for f in friends if per_friend[f] > 1)
            + sum(1 for a in imported if sent[a.whatsapp] > 1),
            "open_chat_sent_twice": sorted(f for f in friends if per_friend[f] > 1),
            "batchOnline_sent_twice": sorted(a.whatsapp for a in imported if sent[a.whatsapp] > 1),
        }
    finally:
        common.stop_process(worker, 20)
        common.stop_process(beat, 20)
        sim.stop()
        server.shutdown()
        from django.db import connections

        connections.close_all()
        pg.stop()
        redis.kill()
    return figures


# --- broker-vanish-worker ----------------------------------------------------------


def heartbeat_taken(broker_url: str, timeout: float) -> float | None:
    """Send `core.heartbeat` (from this process) and wait until a worker ran it (the
    heartbeat it records is newer than the send) and acknowledged it (the broker's `fast`
    list and its unacked hash are empty): seconds, or None."""
    import redis as redis_lib

    from core.cache import cache_read
    from core.health import HEARTBEAT_KEY
    from core.tasks import heartbeat

    broker = redis_lib.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    sent = time.time()
    t0 = time.monotonic()
    try:
        heartbeat.delay()
    except Exception:  # the broker refuses the message: not taken
        return None

    def taken() -> bool:
        try:
            ran = float(cache_read(HEARTBEAT_KEY) or 0) >= sent
            return ran and broker.llen("fast") == 0 and broker.hlen("unacked") == 0
        except (redis_lib.RedisError, TypeError, ValueError):
            return False

    took = _wait(taken, timeout, 0.1)
    return None if took is None else time.monotonic() - t0


def _outage(
    mode: str, redis: PrivateRedis, worker: Callable[[], subprocess.Popen[bytes]], down: float
) -> dict[str, Any]:
    """`kill`: Redis killed, started again empty after `down` s. `freeze`: Redis stopped
    (SIGSTOP: its connections stay open and nothing answers), continued after `down` s.
    Then a task must be taken within the bound."""
    assert redis.proc is not None
    out: dict[str, Any] = {}
    gone = time.monotonic()
    if mode == "kill":
        redis.kill()
    else:
        redis.proc.send_signal(signal.SIGSTOP)
    exited = _wait(lambda: worker().poll() is not None, down, 0.2)
    if mode == "kill":
        redis.start()
    else:
        redis.proc.send_signal(signal.SIGCONT)
    back = time.monotonic()
    out["broker_down_s"] = round(back - gone, 1)
    out["worker_exited_while_down"] = exited is not None
    return {**out, "_back": back}


def broker_vanish_worker(
    *, down_seconds: float, bound: float = 90.0, log: Any = print
) -> dict[str, Any]:
    work = _workdir("broker-vanish-worker")
    pg, redis = PrivatePostgres(work), PrivateRedis(work)
    redis.start()
    env = stack_env(pg.url(), redis.port)
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    args = procfile_worker_args("fast", 2)
    procs = [_celery(env, args, work, "worker.log")]
    figures: dict[str, Any] = {"worker": "celery -A config " + " ".join(args)}
    restarts = 0
    try:
        first = _wait(lambda: heartbeat_taken(env["CELERY_BROKER_URL"], 5) is not None, 120)
        figures["first_task_taken_after_start_s"] = None if first is None else round(first, 1)
        for mode in ("kill", "freeze"):
            log(f"broker {mode}: {down_seconds:g} s")
            seen = _outage(mode, redis, lambda: procs[-1], down_seconds)
            back = seen.pop("_back")
            taken = None
            while time.monotonic() - back < bound:
                if procs[-1].poll() is not None:  # as deploy/systemd's Restart=always does
                    restarts += 1
                    figures[f"{mode}_exit_code"] = procs[-1].returncode
                    procs.append(_celery(env, args, work, "worker.log"))
                if heartbeat_taken(env["CELERY_BROKER_URL"], 5) is not None:
                    taken = time.monotonic() - back
                    break
            figures.update({f"{mode}_{k}": v for k, v in seen.items()})
            figures[f"{mode}_task_taken_after_broker_back_s"] = (
                None if taken is None else round(taken, 1)
            )
            figures[f"{mode}_hung_silently"] = taken is None and procs[-1].poll() is None
        text = (work / "worker.log").read_text(errors="replace")
        figures.update(
            {
                "bound_s": bound,
                "worker_restarts": restarts,
                "worker_alive_at_end": procs[-1].poll() is None,
                "log_reconnect_attempts": text.count("Trying again in"),
                "log_unrecoverable": text.count("Unrecoverable error"),
            }
        )
    finally:
        for proc in procs:
            common.stop_process(proc, 20)
        from django.db import connections

        connections.close_all()
        pg.stop()
        redis.kill()
    return figures


def _pages_ok(figures: dict[str, Any]) -> bool:
    return all(code == 200 for code in figures.get("pages_after", {}).values())


def _web_verdict(f: dict[str, Any]) -> tuple[bool, str]:
    ok = (
        f.get("all_reopened_after_restart_s") is not None
        and f.get("every_page_final_after_restart_s") is not None
        and f.get("lost") == 0
        and f.get("rows_wrong") == 0
        and f.get("browser_rows_wrong") == 0
        and (f.get("browser_pages") == 0 or f.get("browsers_final_after_restart_s") is not None)
        and _pages_ok(f)
    )
    return ok, "every stream reopened, every page shows every change, nothing lost"


def _worker_verdict(f: dict[str, Any]) -> tuple[bool, str]:
    ok = bool(f.get("finished")) and f.get("lost") == 0 and f.get("applied_twice") == 0
    return ok, "lanes and job finished, every vendor call once per item, nothing lost"


def _broker_verdict(f: dict[str, Any]) -> tuple[bool, str]:
    ok = all(
        f.get(f"{mode}_task_taken_after_broker_back_s") is not None
        and not f.get(f"{mode}_hung_silently")
        for mode in ("kill", "freeze")
    )
    how = "restarted by its supervisor" if f.get("worker_restarts") else "it reconnected"
    return ok, f"after each outage the worker took a task again within the bound ({how})"


SCENARIOS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "web-kill-streams": lambda a: web_kill_streams(
        streams=a.streams,
        accounts=a.accounts,
        changes=a.changes,
        down_seconds=a.down,
        workers=a.web_workers,
        browsers=a.browsers,
    ),
    "worker-kill-lane": lambda a: worker_kill_lane(
        lanes=a.lanes, per_lane=a.per_lane, accounts=a.accounts, down_seconds=a.down
    ),
    "broker-vanish-worker": lambda a: broker_vanish_worker(down_seconds=a.down),
}
VERDICTS: dict[str, Callable[[dict[str, Any]], tuple[bool, str]]] = {
    "web-kill-streams": _web_verdict,
    "worker-kill-lane": _worker_verdict,
    "broker-vanish-worker": _broker_verdict,
}
