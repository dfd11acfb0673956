"""A year of status history at fleet scale (10,000 accounts), over HTTP, in one run.

Seeds N events over M months into the partitioned `accounts_statusevent` server-side
(INSERT ... SELECT generate_series, one statement per month and million; each month is
loaded as a table of its own, newest first, and attached, its indexes built in one sort
each), then measures with wrk (8 connections, as bench/pages.py) against gunicorn and
uvicorn workers (--repeat N: N rounds over the pages, each page beside its round's floor):

- the anonymous sign-in page: the run's floor; every page is also given as a ratio of it
- the status logs page: unfiltered, by number, by agent, by status, a week a year back
- an account's page (its history) and its timeline (JSON)
- the "Accounts online over time" chart (JSON): the last 7 days, all and by agent
- a month's CSV export: time, size, and the web workers' peak memory (VmHWM) around it
- webhook ingest (the receiver's service storing deliveries in the inbox) and apply (the
  worker writing presence records into the history), each into the partitioned table and
  into an unpartitioned copy of it (same columns and indexes; the newest --flat-rows rows,
  10M by default: a full copy at 100M events would not fit twice on the disk) in turn
- retention: retire the oldest month as the beat does (core.history: archive, not with
  --no-archive; detach; count; drop) while a writer inserts into the live month: each
  step's time, the detach's lock, and per step the writer's longest insert and what it
  waited on (a lock or I/O, from pg_stat_activity)

Database: its own (default sb_history_bench on the shared server); never a test database.

    .venv/bin/python bench/history.py --events 5000000            # seed (once) and measure
    .venv/bin/python bench/history.py --events 20000000 --seconds 10
    .venv/bin/python bench/history.py --db sb_history_100m --events 100000000 --seed-only
    .venv/bin/python bench/history.py --profile --only logs,timeline   # cost per request

--profile measures in this process instead of over HTTP (no server, no wrk): each page's
queries with their planning and execution time (EXPLAIN ANALYZE), and Django's CPU per
request, which vary far less with the shared machine's load than a wrk figure.

Prints figures only, with the load average beside each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.common import (  # noqa: E402
    PG,
    fleet_tables_reset,
    load_line,
    profile_pages,
    signed_in_cookie,
    stop_process,
)
from bench.pages import HEADER, first_request, row, start_server, wrk  # noqa: E402

TABLE = "accounts_statusevent"
# The unpartitioned copy of the status history holds at most this many rows by default, the
# newest: a full copy at 100M events would double the table on disk (some 40-55 GiB). The
# copy's size is said in the output.
FLAT_ROWS = 10_000_000
# Free disk the copy must leave on the database server's file system.
FLAT_DISK_MARGIN = 8 * 2**30


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default="sb_history_bench")
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument(
        "--events",
        type=int,
        default=None,
        help="the history's size: seeded when the database holds another (default: reuse"
        " the database's seed whatever its size, or seed 5,000,000 into an empty one)",
    )
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--port", type=int, default=18760)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    p.add_argument("--reseed", action="store_true")
    p.add_argument("--no-retention", action="store_true", help="keep the oldest month")
    p.add_argument(
        "--no-archive", action="store_true", help="retention: drop the oldest month unarchived"
    )
    p.add_argument("--repeat", type=int, default=1, help="warm runs of each page (spread)")
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--only", default="", help="comma list: pages whose name holds one (+ floor)")
    p.add_argument("--no-apply", action="store_true")
    p.add_argument(
        "--flat-rows",
        type=int,
        default=FLAT_ROWS,
        help="rows of the status history's unpartitioned copy (ingest/apply comparison): the"
        f" newest (default {FLAT_ROWS:,}; 0: every row)",
    )
    p.add_argument(
        "--seed-only", action="store_true", help="seed (or reuse the seed), print its size, stop"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="in process, no HTTP: per page its queries (with EXPLAIN ANALYZE's planning and"
        " execution time) and Django's CPU per request; then stop",
    )
    p.add_argument("--runs", type=int, default=30, help="requests per page with --profile")
    return p.parse_args()


def env_for(db_url: str, redis: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": db_url,
        "CACHE_URL": redis.replace("redis://", "rediscache://", 1),
        "CACHE_KEY_PREFIX": "bench-history",
        "CELERY_BROKER_URL": redis,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_MAX_SIZE": "8",
        "WEB_THREADS": "8",
        "HISTORY_ARCHIVE_DIR": str(ROOT / "var" / "bench-history-archive"),
        # The bench's supervisor signs in without a second factor (as the tests do): with one
        # required, every page would redirect to the enrolment page.
        "MFA_REQUIRED_ROLES": "",
    }


def clear_cache(redis: str) -> None:
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis)
    keys = list(client.scan_iter(match="bench-history:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def month_starts(months: int, now: datetime) -> list[datetime]:
    from core.partitions import month_add, month_start

    first = month_add(month_start(now), -(months - 1))
    return [month_add(first, i) for i in range(months)]


# The events the seed holds, kept in the bench's database: counting 100M rows takes minutes
# on this machine, on every run that reuses the seed.
SEED_MARK = "bench_history_seed"


def seed_mark(events: int | None = None, *, less: int = 0) -> int | None:
    """The seeded events as kept (None: not kept); with `events`, keep that; with `less`,
    take a retired month's rows off."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {SEED_MARK} (events bigint NOT NULL)")
        if events is not None:
            cur.execute(f"DELETE FROM {SEED_MARK}")
            cur.execute(f"INSERT INTO {SEED_MARK} VALUES (%s)", [events])
        elif less:
            cur.execute(f"UPDATE {SEED_MARK} SET events = events - %s", [less])
        cur.execute(f"SELECT events FROM {SEED_MARK}")
        row = cur.fetchone()
    return int(row[0]) if row else None


def seed(n_accounts: int, n_events: int | None, months: int, reseed: bool) -> int:
    """Seed the fleet and `n_events` events, unless the database holds them already. With
    `n_events` None, any seed of the fleet is reused (a run without --events against a 20M
    database once truncated it and seeded the default 5M instead). Returns the events
    seeded (less the months retention dropped; not the rows an apply run added)."""
    from django.db import connection

    from accounts.models import StatusEvent, WhatsAppAccount
    from core import partitions

    have_a = WhatsAppAccount.objects.count()
    have_e = -1
    if have_a == n_accounts:
        kept = seed_mark()
        have_e = kept if kept is not None else seed_mark(StatusEvent.objects.count()) or 0
    if not reseed and have_a == n_accounts and have_e > 0 and n_events in (None, have_e):
        print(f"seed: reusing {have_a:,} accounts and {have_e:,} events", flush=True)
        return have_e
    n_events = n_events or 5_000_000
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {SEED_MARK}")
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    starts = month_starts(months, now)
    for m in starts:
        partitions.month_ensure(TABLE, m)
    with connection.cursor() as cur:
        fleet_tables_reset(cur)
        cur.execute(
            """
            INSERT INTO accounts_whatsappaccount
              (whatsapp, name, avatar, account_type, status, online_status, online_status_at,
               reason_code, reason, presence_status, detail_status, platform, last_event_at,
               last_event_received_at, agent_id, agent_account, source, country, recycled,
               created_at, updated_at)
            SELECT '57' || lpad(g::text, 10, '0'), 'Account ' || g, '', 1, 1, 1 + g %% 4, now(),
                   '', '', (ARRAY[10, 20, 30, 40])[1 + g %% 4], (ARRAY[12, 21, 31, 41])[1 + g %% 4],
                   1 + g %% 2, now() - make_interval(secs => g), now(), a.id, a.agent_account,
                   1 + g %% 3, 'CO', false, now(), now()
            FROM generate_series(1, %s) g
            JOIN accounts_agent a ON a.agent_account = 'agent' || (g %% 200)
            """,
            [n_accounts],
        )
        per_month = n_events // months
        step = 1_000_000
        done = 0
        # maintenance_work_mem: the indexes are built by sorting each month (below).
        cur.execute("SET maintenance_work_mem = '512MB'")
        # Newest month first: a seed stopped part way holds the newest months at full
        # density (what the pages read first), not the oldest.
        for i, lo in reversed(list(enumerate(starts))):
            hi = min(partitions.month_add(lo, 1), now)
            n = per_month if i < months - 1 else n_events - per_month * (months - 1)
            span = (hi - lo).total_seconds()
            name = partitions.partition_name(TABLE, lo)
            load = f"{name}_load"
            # Loaded as a table of its own with no index, then attached as the month: the
            # attach builds each index in one sort (as a restore does) instead of
            # maintaining seven indexes row by row.
            cur.execute(f"DROP TABLE IF EXISTS {load}")
            cur.execute(
                f"CREATE TABLE {load} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                " INCLUDING STORAGE)"
            )
            for a in range(0, n, step):
                b = min(n, a + step)
                cur.execute(
                    f"""
                    INSERT INTO {load}
                      (whatsapp, status, detail_status, agent_account, platform, event_time,
                       received_at, source, dedupe_key, webhook_event_id)
                    SELECT '57' || lpad((1 + (g::bigint * 7919) %% %(n)s)::text, 10, '0'),
                           (ARRAY[10, 20, 30, 40])[1 + g %% 4],
                           (ARRAY[11, 21, 31, 41, 12, 22, 32, 42, 13, 21, 33, 43])[1 + g %% 12],
                           'agent' || ((1 + (g::bigint * 7919) %% %(n)s) %% 200), 1 + g %% 2,
                           x.t, x.t,
                           'webhook', %(tag)s || g, NULL
                    FROM generate_series(%(a)s, %(b)s) g, LATERAL (SELECT %(lo)s::timestamptz
                         + make_interval(secs => (g - 1)::float8 * %(span)s / %(m)s) AS t) x
                    """,
                    {
                        "n": n_accounts,
                        "lo": lo,
                        "span": span,
                        "m": max(1, n),
                        "a": a + 1,
                        "b": b,
                        "tag": f"bench-{lo:%Y%m}-",
                    },
                )
                done += b - a
                print(
                    f"seed: {done:,} events ({lo:%Y-%m}) {time.perf_counter() - t0:.0f} s",
                    flush=True,
                )
            month_hi = partitions.month_add(lo, 1)
            # The range as a constraint: the attach then skips its validating scan.
            cur.execute(
                f"ALTER TABLE {load} ADD CONSTRAINT {load}_range CHECK (event_time IS NOT NULL"
                " AND event_time >= %s AND event_time < %s)",
                [lo, month_hi],
            )
            cur.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
            cur.execute(f"DROP TABLE {name}")
            cur.execute(f"ALTER TABLE {load} RENAME TO {name}")
            cur.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {load}_range TO {name}_range")
            cur.execute(
                f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
                [lo, month_hi],
            )
            cur.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range")
            print(
                f"seed: {lo:%Y-%m} attached, indexes built, {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
    # Statistics and the visibility map of every month after the bulk load (see the
    # operations doc: the planner's estimates and index-only scans depend on them).
    t1 = time.perf_counter()
    old = connection.connection.autocommit  # type: ignore[union-attr]
    connection.connection.autocommit = True  # type: ignore[union-attr]
    with connection.cursor() as cur:
        cur.execute(f"VACUUM (ANALYZE) {TABLE}")
        cur.execute("VACUUM ANALYZE accounts_whatsappaccount")
        cur.execute("VACUUM ANALYZE accounts_agent")
    connection.connection.autocommit = old  # type: ignore[union-attr]
    print(
        f"seed: done in {time.perf_counter() - t0:.0f} s (vacuum analyze"
        f" {time.perf_counter() - t1:.0f} s)",
        flush=True,
    )
    seed_mark(n_events)
    return n_events


def disk_line(n_events: int) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)
            FROM pg_inherits i WHERE i.inhparent = %s::regclass
            """,
            [TABLE],
        )
        size = int(cur.fetchone()[0])
    per_m = size / max(1, n_events) * 1e6
    return (
        f"disk: {TABLE} {size / 2**30:.2f} GiB for {n_events:,} events"
        f" = {per_m / 2**20:.0f} MiB per million (heap + indexes)"
    )


def worker_hwm(server: Any) -> int:
    """The largest VmHWM (peak resident set, kB) among the server's worker processes."""
    import subprocess

    out = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    peak = 0
    for pid in out:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def export_run(base: str, cookie: str, since: datetime, until: datetime, server: Any) -> str:
    import requests

    before = worker_hwm(server)
    t0 = time.perf_counter()
    size = rows = 0
    with requests.get(
        f"{base}/accounts/logs/export.csv",
        params={
            "since": since.strftime("%Y-%m-%d %H:%M"),
            "until": until.strftime("%Y-%m-%d %H:%M"),
        },
        headers={"Cookie": cookie},
        stream=True,
        timeout=600,
    ) as r:
        r.raise_for_status()
        for chunk in r.iter_content(1 << 16):
            size += len(chunk)
            rows += chunk.count(b"\n")
    took = time.perf_counter() - t0
    after = worker_hwm(server)
    return (
        f"export: a month ({since:%Y-%m}) as CSV, {rows - 1:,} rows, {size / 2**20:.0f} MiB in"
        f" {took:.1f} s ({(rows - 1) / took:,.0f} rows/s); web workers' peak RSS"
        f" {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB after [{load_line()}]"
    )


# The parts of the history pages timed apart by --profile (bench.common.cpu_split).
SPLIT = (
    ("accounts.views.status", ("render_page", "render_each", "_filters_html")),
    ("accounts.views.detail", ("render_page",)),
    (
        "accounts.selectors",
        ("event_list", "event_count", "history_kept_since", "account_timeline"),
    ),
)

INBOX = "webhooks_webhookevent"
# Unpartitioned copies, the table as it was before partitioning: same columns, same
# indexes (the partitioned parent's, built on one table), same rows.
FLAT = {TABLE: "bench_flat_statusevent", INBOX: "bench_flat_webhookevent"}


def _flat_since(max_rows: int) -> datetime | None:
    """The event time from which the status history's newest `max_rows` rows are (ties
    included); None when it holds no more than that."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            f"SELECT event_time FROM {TABLE} ORDER BY event_time DESC OFFSET %s LIMIT 1",
            [max_rows - 1],
        )
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE event_time < %s)", [row[0]])
        return row[0] if cur.fetchone()[0] else None


def flat_copy(table: str, max_rows: int | None = None, total: int | None = None) -> str:
    """An ordinary table with `table`'s columns, indexes and rows (kept between runs while
    its row count matches). Rows first, indexes after: a bulk build, as a restore does.
    With `max_rows`, only the newest `max_rows` rows (the status history at 100M events
    would not fit twice on the disk); refused when it would leave less than
    FLAT_DISK_MARGIN free."""
    import re
    import shutil

    from django.db import connection

    flat = FLAT[table]
    t0 = time.perf_counter()
    where, params, scope = "", [], "all rows"
    with connection.cursor() as cur:
        since = _flat_since(max_rows) if max_rows else None
        if since is not None:
            where, params = " WHERE event_time >= %s", [since]
            scope = f"the newest, from {since:%Y-%m-%d %H:%M} UTC"
        cur.execute(f"SELECT count(*) FROM {table}{where}", params)
        rows = int(cur.fetchone()[0])
        if not where:
            total = rows
        elif total is None:
            cur.execute(f"SELECT count(*) FROM {table}")
            total = int(cur.fetchone()[0])
        described = f"{rows:,} rows of {total:,}: {scope}"
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [flat])
        if cur.fetchone()[0]:
            cur.execute(f"SELECT count(*) FROM {flat}")
            if int(cur.fetchone()[0]) == rows:
                return f"{flat}: reused ({described})"
        cur.execute(f"DROP TABLE IF EXISTS {flat}")
        cur.execute(
            "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)"
            " FROM pg_inherits i WHERE i.inhparent = %s::regclass",
            [table],
        )
        size = int(cur.fetchone()[0]) or 0
        need = size * rows / max(1, total)
        cur.execute("SHOW data_directory")
        free = shutil.disk_usage(cur.fetchone()[0]).free
        if free - need < FLAT_DISK_MARGIN:
            return (
                f"{flat}: not built: {described} would take about {need / 2**30:.1f} GiB of"
                f" the {free / 2**30:.1f} GiB free (margin {FLAT_DISK_MARGIN / 2**30:.0f} GiB)"
            )
        cur.execute(
            f"CREATE TABLE {flat} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING STORAGE)"
        )
        cur.execute(f"INSERT INTO {flat} SELECT * FROM {table}{where}", params)
        cur.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass",
            [table],
        )
        for i, (definition,) in enumerate(cur.fetchall()):
            definition = re.sub(
                r"INDEX \S+ ON (ONLY )?\S+ ", f"INDEX {flat}_{i} ON {flat} ", definition
            )
            cur.execute(definition)
    old = connection.connection.autocommit  # type: ignore[union-attr]
    connection.connection.autocommit = True  # type: ignore[union-attr]
    with connection.cursor() as cur:
        cur.execute(f"VACUUM (ANALYZE) {flat}")
    connection.connection.autocommit = old  # type: ignore[union-attr]
    return f"{flat}: {described}; copied and indexed in {time.perf_counter() - t0:.0f} s"


def _alternating(rounds: int, measure: Any) -> dict[str, list[float]]:
    """measure(table_name) -> seconds, into the partitioned table and its unpartitioned copy
    in turn (ABBA...), so a change of the shared machine's load falls on both."""
    took: dict[str, list[float]] = {"partitioned": [], "unpartitioned": []}
    for r in range(rounds):
        order = ("partitioned", "unpartitioned") if r % 2 == 0 else ("unpartitioned", "partitioned")
        for which in order:
            took[which].append(measure(which))
    return took


def _compare(label: str, unit: str, per_round: int, took: dict[str, list[float]]) -> str:
    part = per_round * len(took["partitioned"]) / sum(took["partitioned"])
    flat = per_round * len(took["unpartitioned"]) / sum(took["unpartitioned"])
    med = {k: statistics.median(v) * 1000 for k, v in took.items()}
    return (
        f"{label}: partitioned {part:,.0f} {unit}/s (median round {med['partitioned']:.0f} ms),"
        f" unpartitioned copy {flat:,.0f} {unit}/s (median {med['unpartitioned']:.0f} ms):"
        f" partitioned at {part / flat * 100:.0f}% of unpartitioned [{load_line()}]"
    )


def ingest_rate(rounds: int = 10, per_round: int = 200, size: int = 50) -> str:
    """webhook_event_receive (the receiver's service: parse, one INSERT into the inbox,
    enqueue) of onlineStatus deliveries of `size` records, into the partitioned inbox and
    into its unpartitioned copy in turn; the rows written are deleted after."""
    import json

    from django.db import connection

    from upstream.parsing import vendor_zone
    from webhooks.models import WebhookEvent, WebhookKind
    from webhooks.services.receive import webhook_event_receive

    now = datetime.now(UTC).astimezone(vendor_zone()).strftime("%Y-%m-%d %H:%M:%S")
    body = json.dumps(
        {
            "whatsAppList": [
                {"whatsId": f"57{i:010d}", "status": 10, "account": "agent1", "time": now}
                for i in range(size)
            ]
        }
    ).encode()
    tables = {"partitioned": INBOX, "unpartitioned": FLAT[INBOX]}
    with connection.cursor() as cur:
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {INBOX}")
        high = int(cur.fetchone()[0])

    def measure(which: str) -> float:
        WebhookEvent._meta.db_table = tables[which]
        try:
            t0 = time.perf_counter()
            for _ in range(per_round):
                webhook_event_receive(kind=WebhookKind.ONLINE_STATUS, body=body, headers={})
            return time.perf_counter() - t0
        finally:
            WebhookEvent._meta.db_table = INBOX

    took = _alternating(rounds, measure)
    with connection.cursor() as cur:
        for table in tables.values():
            cur.execute(f"DELETE FROM {table} WHERE id > %s", [high])
    from config.celery import app

    app.control.purge()  # the processing tasks it enqueued: no worker runs in this bench
    return _compare(
        f"ingest: {rounds} rounds of {per_round} deliveries ({size} records each) per table",
        "deliveries",
        per_round,
        took,
    )


def apply_rate(n_accounts: int, rounds: int = 20, size: int = 1000) -> str:
    """presence_deliveries_apply (the webhook worker's apply step: history INSERT, account
    update) of deliveries of `size` records, one transaction each, into the partitioned
    history and into its unpartitioned copy (same rows, same indexes) in turn."""
    from django.db import transaction

    from accounts.models import StatusEvent
    from accounts.services.status import presence_deliveries_apply
    from webhooks.payloads import PresenceRecord

    now = datetime.now(UTC)
    tables = {"partitioned": TABLE, "unpartitioned": FLAT[TABLE]}
    counter = iter(range(10**9))

    def measure(which: str) -> float:
        b = next(counter)
        records = [
            PresenceRecord(
                whatsapp="57" + str(1 + (b * size + i) * 7919 % n_accounts).zfill(10),
                status=(10, 20, 30, 40)[i % 4],
                detail_status=None,
                agent_account=f"agent{i % 200}",
                platform=1,
                event_time=now - timedelta(microseconds=b * size + i),
                position=i,
            )
            for i in range(size)
        ]
        StatusEvent._meta.db_table = tables[which]
        try:
            t0 = time.perf_counter()
            with transaction.atomic():
                presence_deliveries_apply(deliveries=[(None, now, records)])
            return time.perf_counter() - t0
        finally:
            StatusEvent._meta.db_table = TABLE

    took = _alternating(rounds, measure)
    return _compare(
        f"apply: {rounds} deliveries of {size:,} presence records per table",
        "records",
        size,
        took,
    )


def retention_run(n_accounts: int, archive: bool = True) -> str:
    """Retire the oldest month as the beat does (core.history.month_retire: archive, detach,
    count, drop) while a writer inserts into the live month every 5 ms, and say for each step
    its time, the writer's longest insert while it ran and what the writer waited on
    (pg_stat_activity sampled every 2 ms): a lock, or I/O. Without `archive` the month is
    retired unarchived (the archive of a month at 100M events, 8.3M rows, takes many minutes
    on this machine; the drop does not depend on it)."""
    from collections import Counter

    from django.db import connection, connections

    from core import history, partitions

    months = [p for p in partitions.partitions(TABLE) if p.lo is not None]
    oldest = months[0]
    directory = history.archive_dir() if archive else None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size(%s)", [oldest.name])
        size = int(cur.fetchone()[0])
        cur.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [oldest.name])
        n_indexes = int(cur.fetchone()[0])
    stop = threading.Event()
    inserts: list[tuple[float, float]] = []  # (start, end), perf_counter
    writer_pid: list[int] = []
    samples: list[tuple[float, str]] = []  # (time, what the writer's backend waited on)

    def writer() -> None:
        conn = connections.create_connection("default")
        try:
            i = 0
            with conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                writer_pid.append(cur.fetchone()[0])
            while not stop.is_set():
                t0 = time.perf_counter()
                with conn.cursor() as cur:
                    cur.execute(
                        f"INSERT INTO {TABLE} (whatsapp, status, agent_account, event_time,"
                        " received_at, source, dedupe_key) VALUES (%s, 10, '', now(), now(),"
                        " 'webhook', %s)",
                        ["570000000001", f"bench-writer-{time.time_ns()}-{i}"],
                    )
                conn.commit() if not conn.get_autocommit() else None
                inserts.append((t0, time.perf_counter()))
                i += 1
                time.sleep(0.005)
        finally:
            conn.close()

    def sampler() -> None:
        conn = connections.create_connection("default")
        try:
            while not writer_pid and not stop.is_set():
                time.sleep(0.01)
            while not stop.is_set():
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')"
                        " FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
                        [writer_pid[0]],
                    )
                    row = cur.fetchone()
                if row:
                    samples.append((time.perf_counter(), row[0]))
                time.sleep(0.002)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    baseline = max((b - a for a, b in inserts), default=0.0) * 1000
    n_before = len(inserts)
    t0 = time.perf_counter()
    retired = history.month_retire(table=TABLE, part=oldest, directory=directory)
    t1 = time.perf_counter()
    seed_mark(less=retired.rows)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()

    # Each step's window, from the times the product reports: the steps run one after the
    # other (what lies between them is a catalogue read or two).
    windows: dict[str, list[tuple[float, float]]] = {}
    start = t0
    for step, ms in retired.steps:
        windows.setdefault(step, []).append((start, start + ms / 1000))
        start += ms / 1000
    lines = [
        f"month retired: {oldest.month}, {retired.rows:,} rows, {size / 2**30:.2f} GiB with its"
        f" {n_indexes} indexes; {retired.ms:.0f} ms in all"
        f" ({', '.join(f'{s} {ms:.0f} ms' for s, ms in retired.steps)}) [{load_line()}]"
    ]
    if retired.detach is not None:
        lines.append(
            f"  detach: the parent's lock held or awaited at most {retired.detach.longest_ms:.0f}"
            f" ms ({retired.detach.attempts} attempt(s)); the drop: {retired.drop.attempts}"
            " attempt(s), locks only the detached month"
        )
    for step, spans in windows.items():
        during = [b - a for a, b in inserts if any(b >= lo and a <= hi for lo, hi in spans)]
        waits = Counter(w for at, w in samples if any(lo <= at <= hi for lo, hi in spans))
        lines.append(
            f"  {step}: writer {len(during)} inserts, longest"
            f" {max(during, default=0) * 1000:.0f} ms; writer waits sampled:"
            f" {dict(waits.most_common(4)) or 'none'}"
        )
    after = [b - a for a, b in inserts[n_before:] if a >= t0]
    lines.append(
        f"  live-month writer: {len(after)} inserts from the start of the retirement to 1 s"
        f" after it, longest {max(after, default=0) * 1000:.0f} ms (before it: {baseline:.0f}"
        f" ms); retirement {(t1 - t0) * 1000:.0f} ms as the caller saw it [{load_line()}]"
    )
    return "\n".join(lines)


def main() -> None:
    args = parse()
    ensure_database(args.db)
    db_url = f"{PG}/{args.db}"
    env = env_for(db_url, args.redis)
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from core import partitions
    from core.groups import ensure_groups
    from core.roles import Role

    print(f"start: {load_line()}", flush=True)
    # The cache is shared by every bench database on this Redis database: what another run
    # kept (the months' span, counts) must not answer for this one.
    clear_cache(args.redis)
    call_command("migrate", verbosity=0)
    n_events = seed(args.accounts, args.events, args.months, args.reseed)
    ensure_groups()
    sup, _ = User.objects.get_or_create(username="bench-sup")
    sup.groups.add(Group.objects.get(name=Role.SUPERVISOR.value))
    cookie = signed_in_cookie(sup)
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
        cur.execute("SHOW shared_buffers")
        shared = cur.fetchone()[0]
    months = [p for p in partitions.partitions(TABLE) if p.lo is not None]
    year_back = months[1].lo if len(months) > 1 else months[0].lo
    assert year_back is not None
    range_q = (
        f"since={year_back:%Y-%m-%d}+00:00&until={year_back + timedelta(days=7):%Y-%m-%d}+00:00"
    )
    number = "57" + "42".zfill(10)
    print(
        f"data: {args.accounts:,} accounts, {n_events:,} events (as seeded) in {len(months)}"
        " month partitions"
    )
    print(disk_line(n_events), flush=True)
    if args.seed_only:
        print(f"end: {load_line()}")
        return
    print(
        f"server: {version}, shared_buffers {shared}; {args.workers} uvicorn workers;"
        f" wrk {args.clients} connections"
    )
    connection.close()

    pages = [
        ("sign-in page (anonymous): floor", "/login/", ""),
        ("status logs", "/accounts/logs/", cookie),
        ("status logs, by number", f"/accounts/logs/?whatsapp={number}", cookie),
        ("status logs, by agent", "/accounts/logs/?agent=agent42", cookie),
        ("status logs, by status", "/accounts/logs/?status=40", cookie),
        ("status logs, a week a year back", f"/accounts/logs/?{range_q}", cookie),
        ("account page (its history)", f"/accounts/{number}/", cookie),
        ("account timeline (JSON)", f"/accounts/{number}/timeline.json", cookie),
        ("API status-events", f"/api/v1/status-events/?whatsapp={number}", cookie),
        ("online chart, last 7 days (JSON)", "/accounts/logs/chart.json", cookie),
        ("online chart, by agent (JSON)", "/accounts/logs/chart.json?agent=agent42", cookie),
    ]
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        pages = [pages[0]] + [p for p in pages[1:] if any(w in p[0] for w in wanted)]
    if args.profile:
        profile_pages(
            [(name, path, sup if ck else None) for name, path, ck in pages[1:]],
            runs=args.runs,
            split=SPLIT,
            explain=True,
        )
        return
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(env, args.port, args.workers)
    results: list[tuple[str, dict[str, Any], str]] = []
    floors: dict[int, float] = {}
    ratio_of: dict[str, float] = {}
    try:
        # Repeats go round the pages (every page once, then again), not page by page: a
        # change of the shared machine's load then falls on every page, not on one (a
        # single low figure at 20M, the week a year back, was not the page: docs/operations.md).
        for i in range(args.repeat):
            for name, path, ck in pages:
                if i == 0:
                    first_request(base + path, ck)
                    wrk(base + path, ck, args.clients, min(3.0, args.seconds))
                label = name if args.repeat == 1 else f"{name} #{i + 1}"
                before = load_line()
                r = wrk(base + path, ck, args.clients, args.seconds)
                results.append((label, r, before))
                floors.setdefault(i, r["rps"])  # the round's first page: the sign-in page
                ratio_of[label] = r["rps"] / floors[i]
                print(f"  {row(label, r)}  [{before}]", flush=True)
        lo = months[-4].lo if len(months) >= 4 else months[0].lo
        assert lo is not None
        if not args.no_export:
            print(export_run(base, cookie, lo, partitions.month_add(lo, 1), server), flush=True)
    finally:
        stop_process(server, 20)
        clear_cache(args.redis)
    if not args.no_apply:
        print(flat_copy(TABLE, args.flat_rows or None, n_events), flush=True)
        print(flat_copy(INBOX), flush=True)
        print(ingest_rate(), flush=True)
        print(apply_rate(args.accounts), flush=True)
    if not args.no_retention:
        print(retention_run(args.accounts, archive=not args.no_archive), flush=True)
    print()
    print(
        f"{args.seconds:g} s per page after a warm-up; ratio: req/s over the sign-in page's"
        " of the same round"
    )
    print(HEADER.replace("1st ms", " ratio"))
    for name, r, _before in results:
        line = row(name, r)
        cells = line.split("|")
        cells[7] = f" {ratio_of[name]:8.3f} "
        print("|".join(cells))
    print()
    for name, _r, before in results:
        print(f"{name:42} at start: {before}")
    print(f"end: {load_line()}")


if __name__ == "__main__":
    main()
