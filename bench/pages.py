"""Server time and query counts of the accounts console's pages on a big fleet.

Seeds (once; reused while the counts match) N accounts and M status events in their own
PostgreSQL database, generated server-side with INSERT ... SELECT generate_series, then
times each page through Django's test Client (in process: server time, no network) and
counts its queries with CaptureQueriesContext. Django admin's changelists of the same
models are the peer. Figures only: nothing here asserts a timing.

    .venv/bin/python bench/pages.py                       # 100,000 accounts, 5,000,000 events
    .venv/bin/python bench/pages.py --events 500000 --runs 20   # a quick run

Options: --db URL (default postgres://postgres@127.0.0.1:5432/sb_bench_pages), --accounts,
--events, --runs, --reseed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/sb_bench_pages")
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--events", type=int, default=5_000_000)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--admin-runs", type=int, default=10)
    p.add_argument("--reseed", action="store_true")
    return p.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


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
        cur.execute(
            "TRUNCATE accounts_statusevent, accounts_bulkjobitem, accounts_importrow,"
            " accounts_bulkjob, accounts_contactlookup, accounts_accountkeys,"
            " accounts_whatsappaccount, accounts_agent RESTART IDENTITY CASCADE"
        )
        cur.execute(
            """
            INSERT INTO accounts_agent (agent_account, upstream_user_id, user_name, updated_at)
            SELECT 'agent' || g, (600000 + g)::text, 'Agent ' || g, now()
            FROM generate_series(0, 199) g
            """
        )
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
        cur.execute("ANALYZE accounts_whatsappaccount")
        cur.execute("ANALYZE accounts_statusevent")
        cur.execute("ANALYZE accounts_agent")
    print(f"seed: done in {time.perf_counter() - t0:.1f} s", flush=True)


def os_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def measure(client: Any, url: str, runs: int, *, before: Any = None) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if before:
        before()
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    queries = len(ctx.captured_queries)
    times = []
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        resp = client.get(url)
        if getattr(resp, "streaming", False):
            b"".join(resp.streaming_content)
        else:
            resp.content  # noqa: B018
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return {
        "url": url,
        "queries": queries,
        "p50": statistics.median(times),
        "p95": p95,
        "runs": runs,
    }


def main() -> None:
    args = parse()
    ensure_database(args.db)
    os.environ["DATABASE_URL"] = args.db
    os.environ.setdefault("CACHE_URL", "locmemcache://bench-pages")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import WhatsAppAccount
    from core.groups import ensure_groups
    from core.roles import Role

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    seed(args.accounts, args.events, args.reseed)
    ensure_groups()
    sup, _ = User.objects.get_or_create(username="bench-sup")
    sup.groups.add(Group.objects.get(name=Role.SUPERVISOR.value))
    root, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client, admin_client = Client(), Client()
    client.force_login(sup)
    admin_client.force_login(root)

    from accounts.selectors import FleetFilters, account_list
    from core.access import accounts_visible_to

    deep = account_list(visible=accounts_visible_to(sup), filters=FleetFilters(), cursor=None)
    for _ in range(40):  # 40 pages in
        assert deep.next_cursor
        deep = account_list(
            visible=accounts_visible_to(sup), filters=FleetFilters(), cursor=deep.next_cursor
        )
    one = WhatsAppAccount.objects.order_by("whatsapp").values_list("whatsapp", flat=True)[777]

    def cold() -> None:  # the state tiles recomputed every time (their cache emptied)
        cache.clear()

    # The fleet list twice: cache-cold (the state tiles and filter choices recomputed on every
    # request: the worst case, one request per COUNTS_TTL per scope pays it) and as in normal
    # use (tiles cached; they are recomputed at most every COUNTS_TTL seconds).
    pages = [
        ("fleet list [cold]", "/accounts/", cold),
        ("fleet list [cached]", "/accounts/", None),
        ("fleet list, filtered [cold]", "/accounts/?status=2&country=CO&platform=1", cold),
        ("fleet list, filtered [cached]", "/accounts/?status=2&country=CO&platform=1", None),
        ("fleet list, search [cold]", "/accounts/?q=570000123", cold),
        ("fleet list, sorted by name [cold]", "/accounts/?sort=-name", cold),
        ("fleet list, page 41 [cold]", f"/accounts/?cursor={deep.next_cursor}", cold),
        ("account detail", f"/accounts/{one}/", None),
        ("status logs", "/accounts/logs/", None),
        ("status logs, filtered", "/accounts/logs/?detail_status=42&agent=agent42", None),
        ("status logs, one account", f"/accounts/logs/?whatsapp={one}", None),
    ]
    peers = [
        ("admin: accounts changelist", "/admin/accounts/whatsappaccount/"),
        ("admin: events changelist", "/admin/accounts/statusevent/"),
        ("admin: events changelist, p.100", "/admin/accounts/statusevent/?p=100"),
    ]
    rows = []
    for name, url, before in pages:
        rows.append((name, measure(client, url, args.runs, before=before)))
        print(f"  measured {name} [{os_load()}]", flush=True)
    for name, url in peers:
        rows.append((name, measure(admin_client, url, args.admin_runs)))
        print(f"  measured {name} [{os_load()}]", flush=True)

    from accounts.models import StatusEvent

    print()
    print(
        f"Fleet: {WhatsAppAccount.objects.count():,} accounts, "
        f"{StatusEvent.objects.count():,} status events (PostgreSQL, {args.db.rsplit('/', 1)[1]})"
    )
    print(f"[{os_load()}]")
    print("[cold] = tiles/choices cache emptied before every request; [cached] = normal use")
    print(f"{'page':36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'runs':>5}")
    for name, r in rows:
        print(f"{name:36} {r['p50']:8.1f} {r['p95']:8.1f} {r['queries']:8d} {r['runs']:5d}")
    ours = dict(rows)["status logs"]["p50"]
    peer = dict(rows)["admin: events changelist"]["p50"]
    print(f"\nevents: admin changelist p50 / status logs p50 = {peer / ours:.1f}x")


if __name__ == "__main__":
    main()
