"""Live updates under load (issue 16, section 1). Run: `.venv/bin/python bench/live.py`.

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

Reported: POST-to-event latency (every page that shows the row) and POST-to-page-updated
latency (event, then the row's GET answered), p50/p95/max; the web processes' CPU (% of one
core) and the worker's; web memory per open page (RSS with the pages open minus before,
divided by N). Figures are printed, never asserted. Bounded: --seconds of changes (default
20), then everything stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG, ROOT, load_line, pct, recreate_database, start_worker, stop_process

DB = "sb_bench_live"
SECRET = "bench-live-webhook-secret"
PAGE_ROWS = 50


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG}/{DB}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
        "CACHE_URL": "rediscache://127.0.0.1:6379/14",
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
    for user in users:  # a signed-in session, as the login view leaves it
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(str(store.session_key))
    return cookies


class Page:
    """One open fleet page: a stream, and the rows it shows."""

    def __init__(self, n: int, rows: set[str], fetches: bool, cookie: str) -> None:
        self.n, self.rows, self.fetches, self.cookie = n, rows, fetches, cookie
        self.open = asyncio.Event()


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


async def run_page(
    page: Page,
    port: int,
    sent: dict[str, float],
    events: list[float],
    updates: list[float],
    tiles: list[int],
) -> None:
    # What static/js/live.js asks for: the events the page's elements listen for.
    wants = ",".join(["fleet", "fleet-new", *sorted(f"account-{n}" for n in page.rows)])
    reader, writer = await _request(
        port, f"/live/?e={wants}", page.cookie, "Accept: text/event-stream\r\n"
    )
    status = await reader.readline()
    if b" 200 " not in status:
        raise SystemExit(f"stream refused: {status!r}")
    page.open.set()
    pending: set[asyncio.Task[None]] = set()
    name, data, heard = "", b"", 0.0
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"event: "):
                name, data, heard = line[7:].strip().decode(), b"", time.time()
                continue
            if line.startswith(b"data: "):
                data = data or line[6:]  # its first line tells a pushed part from a name
                continue
            if line.strip() or not name:
                continue
            # The message is complete: do what the page would.
            if name == "fleet":
                if data.startswith(b"<section"):  # the tiles came with it (sse-swap)
                    tiles.append(200)
                elif page.fetches:  # a bare event: the tiles are fetched, as htmx would
                    task = asyncio.create_task(fetch_tiles(port, page.cookie, tiles))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            elif name.startswith("account-"):
                number = name[len("account-") :]
                if number in page.rows and number in sent:
                    events.append(heard - sent[number])
                    if data.startswith(b"<tr") and page.fetches:  # the row came with it
                        updates.append(heard - sent[number])
            name = ""
    finally:
        writer.close()


async def drive(
    args: argparse.Namespace, cookies: list[str], web: subprocess.Popen[bytes], worker: Any
) -> dict[str, Any]:
    numbers = [f"8617{i:09d}" for i in range(args.accounts)]
    rng = random.Random(7)
    pages = []
    for n, cookie in enumerate(cookies):
        start = (n * PAGE_ROWS) % len(numbers)
        rows = set(numbers[start : start + PAGE_ROWS])
        pages.append(Page(n, rows, rng.random() < args.fetch_ratio, cookie))
    sent: dict[str, float] = {}
    events: list[float] = []
    updates: list[float] = []
    tiles: list[int] = []  # the tiles' refreshes (their HTTP status)
    web_pids = _tree(web.pid)
    rss_before = sum(_rss_kib(p) for p in web_pids)
    tasks = [
        asyncio.create_task(run_page(p, args.port, sent, events, updates, tiles)) for p in pages
    ]
    await asyncio.wait_for(asyncio.gather(*(p.open.wait() for p in pages)), 60)
    await asyncio.sleep(2)
    rss_open = sum(_rss_kib(p) for p in web_pids)
    # Only numbers shown on some page change (every change is then seen by some page).
    shown = sorted({n for p in pages for n in p.rows})
    cpu0 = {p: _cpu_seconds(p) for p in web_pids}
    wcpu0 = {p: _cpu_seconds(p) for p in worker}
    own0 = sum(os.times()[:2])  # this process: the 500 clients reading their streams
    t0 = time.monotonic()
    loop = asyncio.get_running_loop()
    interval = 1.0 / args.rate
    count = 0
    online: dict[str, bool] = {}
    while time.monotonic() - t0 < args.seconds:
        number = rng.choice(shown)
        go_online = not online.get(number, True)
        online[number] = go_online
        sent[number] = time.time()
        url = f"{args.sim_url}/_sim/{'online' if go_online else 'disconnect'}"
        await loop.run_in_executor(None, _post, url, {"whatsapp": number})
        count += 1
        await asyncio.sleep(max(0.0, t0 + count * interval - time.monotonic()))
    elapsed = time.monotonic() - t0
    await asyncio.sleep(3)  # the last changes arrive
    cpu = sum(_cpu_seconds(p) - cpu0[p] for p in web_pids if os.path.exists(f"/proc/{p}"))
    wcpu = sum(_cpu_seconds(p) - wcpu0[p] for p in worker if os.path.exists(f"/proc/{p}"))
    for t in tasks:
        t.cancel()
    stages = await loop.run_in_executor(None, _stages, args.sim_url)
    return {
        "stages": stages,
        "changes": count,
        "elapsed": elapsed,
        "events": events,
        "updates": updates,
        "web_cpu": 100 * cpu / (elapsed + 3),
        "worker_cpu": 100 * wcpu / (elapsed + 3),
        "client_cpu": 100 * (sum(os.times()[:2]) - own0) / (elapsed + 3),
        "rss_per_page_kib": (rss_open - rss_before) / max(1, len(pages)),
        "fetching_pages": sum(p.fetches for p in pages),
        "tile_fetches": len(tiles),
        "tile_errors": sum(1 for status in tiles if status != 200),
    }


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _stages(sim_url: str) -> dict[str, list[float]]:
    """Where the time went, per webhook: waiting in the simulator's queue (created -> first
    attempt), the POST until its 200 (first attempt -> delivered), and in the inbox (received ->
    applied: the Celery queue and the apply transaction)."""
    import psycopg

    out: dict[str, list[float]] = {"sim queue": [], "POST to 200": [], "inbox to applied": []}
    for d in _get(f"{sim_url}/_sim/deliveries")["data"]:
        if d.get("firstAttemptAt") and d.get("deliveredAt"):
            out["sim queue"].append(d["firstAttemptAt"] - d["created"])
            out["POST to 200"].append(d["deliveredAt"] - d["firstAttemptAt"])
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
    ap.add_argument("--rate", type=float, default=50.0, help="status changes per second")
    ap.add_argument("--seconds", type=float, default=20.0)
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
    args = ap.parse_args()
    args.sim_url = f"http://127.0.0.1:{args.sim_port}"
    print(f"bench/live.py: {args.pages} pages, {args.rate:g} changes/s for {args.seconds:g} s")
    started = time.monotonic()
    cookies = prepare(args.accounts, args.pages)
    print(f"prepared (database, fleet, sessions) in {time.monotonic() - started:.0f} s", flush=True)
    print(f"at the start: {load_line()}", flush=True)
    e = env()
    web = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.asgi:application",
            "-k",
            "uvicorn.workers.UvicornWorker",
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
            f"http://127.0.0.1:{args.port}",
            "--churn",
            "0",
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
        result = asyncio.run(drive(args, cookies, web, _tree(worker.pid)))
    finally:
        for proc in (sim, worker, web):
            stop_process(proc, 15)
    ev, up = result["events"], result["updates"]
    print(f"at the end: {load_line()}")
    print(
        f"changes sent: {result['changes']} in {result['elapsed']:.1f} s "
        f"({result['changes'] / result['elapsed']:.1f}/s); open pages: {args.pages} "
        f"(web: gunicorn + {args.web_workers} uvicorn workers); "
        f"pages acting on their events: {result['fetching_pages']}; tiles refreshed: "
        f"{result['tile_fetches']} ({result['tile_errors']} not 200)"
    )
    print(
        f"POST -> event on the page: n={len(ev)} p50={pct(ev, 50) * 1000:.0f} ms "
        f"p95={pct(ev, 95) * 1000:.0f} ms max={max(ev, default=float('nan')) * 1000:.0f} ms"
    )
    print(
        f"POST -> page updated (the row swapped in): n={len(up)} p50={pct(up, 50) * 1000:.0f} ms "
        f"p95={pct(up, 95) * 1000:.0f} ms max={max(up, default=float('nan')) * 1000:.0f} ms"
    )
    print(
        f"server CPU: web {result['web_cpu']:.0f}% of one core, Celery worker "
        f"{result['worker_cpu']:.0f}%; memory per open page: "
        f"{result['rss_per_page_kib']:.1f} KiB (web RSS); the bench's own clients "
        f"{result['client_cpu']:.0f}% (same machine)"
    )
    for name, values in result["stages"].items():
        print(
            f"  stage {name}: n={len(values)} p50={pct(values, 50) * 1000:.0f} ms "
            f"p95={pct(values, 95) * 1000:.0f} ms "
            f"max={max(values, default=float('nan')) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
