"""Scale-out evidence: the webhook and actions workloads with 1 Celery worker
process and then with 2, against the same PostgreSQL and Redis, plus the database and broker
figures that say where the bottleneck moves when there are N hosts.

    .venv/bin/python bench/scale.py [--ingest-seconds 20] [--senders 4] [--skip-actions]

Webhooks: gunicorn ingests signed onlineStatus deliveries (50 records each) for
--ingest-seconds with no worker running (bench/webhooks.py's setup: database
sb_bench_webhooks, Redis dbs 9 and 10 - do not run the two at once). That inbox is kept;
for each worker count the tables are reset to it, the workers are started and pinged, one
`webhooks.process_event` task per event is enqueued (what the receiver does on commit),
and the time until every event is processed gives applied records/s. "N worker processes"
means N separate `celery worker -c 1` instances (as on N hosts), consuming the fast queue.
During each drain the script reads pg_stat_database / pg_stat_wal (commits/s, rows/s,
WAL MB/s) and Redis INFO (commands/s).

Actions: bench/actions.py (200 lanes x 10 actions against the simulator) run with
`--concurrency 1` and `--concurrency 2`; throughput = actions / makespan.

Limits on this machine: a raw psycopg inbox INSERT and a multi-row INSERT of the records
(bench/webhooks.py), and redis-benchmark LPUSH/RPOP (Redis db 11, which must be empty).
Every figure is printed with the load average; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench import webhooks as wb  # noqa: E402
from bench.common import (  # noqa: E402
    PgCounters,
    RedisCounters,
    load_line,
    redis_capacity,
    start_worker,
    stop_process,
    wait_for_workers,
)

SNAPSHOT = "bench_scale_inbox"


def _db() -> Any:
    import psycopg

    return psycopg.connect(wb.DB_URL, autocommit=True)


def ingest(seconds: float, senders: int, port: int) -> tuple[int, float]:
    server = wb.start_gunicorn(port)
    try:
        lat, errors, elapsed = wb.closed_loop(f"http://127.0.0.1:{port}{wb.PATH}", senders, seconds)
    finally:
        stop_process(server, 20)
    acked = (len(lat) - errors) * wb.RECORDS
    print(
        f"ingest: {len(lat) - errors} deliveries acknowledged ({acked / elapsed:,.0f} records/s,"
        f" p99 {wb.pct(lat, 99) * 1000:.0f} ms, {senders} senders) [{load_line()}]",
        flush=True,
    )
    with _db() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
        conn.execute(f"CREATE TABLE {SNAPSHOT} AS SELECT * FROM webhooks_webhookevent")
    return acked, elapsed


def reset_to_snapshot() -> tuple[list[int], int]:
    with _db() as conn:
        conn.execute(
            "TRUNCATE accounts_statusevent, webhooks_webhookevent, accounts_whatsappaccount"
            " RESTART IDENTITY CASCADE"
        )
        conn.execute(f"INSERT INTO webhooks_webhookevent SELECT * FROM {SNAPSHOT}")
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('webhooks_webhookevent', 'id'),"
            " (SELECT max(id) FROM webhooks_webhookevent))"
        )
        conn.execute(
            "UPDATE webhooks_webhookevent SET state = 'pending', claimed_at = NULL,"
            " processed_at = NULL, attempts = 0, applied = 0"
        )
        conn.execute("VACUUM ANALYZE webhooks_webhookevent")
        ids = [r[0] for r in conn.execute("SELECT id FROM webhooks_webhookevent ORDER BY id")]
        row = conn.execute("SELECT COALESCE(SUM(records), 0) FROM webhooks_webhookevent").fetchone()
    return ids, int(row[0]) if row else 0


def drain(workers: int) -> dict[str, Any]:
    import redis

    from config.celery import app
    from webhooks.tasks import process_webhook_event

    redis.Redis(db=9).flushdb()  # no task left from the ingest or an earlier run
    ids, records = reset_to_snapshot()
    procs = [
        start_worker(
            wb.env(), queues="fast", concurrency=1, hostname=f"scale{n}@%h", log_level="ERROR"
        )
        for n in range(workers)
    ]
    try:
        if not wait_for_workers(app, workers, 90):
            raise SystemExit(f"{workers} workers did not answer a ping")
        # Warm workers, a full queue, then go: consumption is paused while the bench enqueues
        # one message per event (what the receiver does on commit), so the single enqueuing
        # process is not what is measured.
        app.control.cancel_consumer("fast", reply=True)
        e0 = time.monotonic()
        for event_id in ids:
            process_webhook_event.delay(event_id)
        enqueued = time.monotonic() - e0
        pg0, rd0 = PgCounters.read(wb.DB_URL, wb.DB_NAME), RedisCounters.read()
        t0 = time.monotonic()
        app.control.add_consumer("fast", reply=True)
        with _db() as conn:
            while True:
                row = conn.execute(
                    "SELECT count(*) FROM webhooks_webhookevent"
                    " WHERE state IN ('pending', 'processing')"
                ).fetchone()
                if row and row[0] == 0:
                    break
                if time.monotonic() - t0 > 600:
                    raise SystemExit("the drain did not finish in 600 s")
                time.sleep(0.05)
        took = time.monotonic() - t0
        pg1, rd1 = PgCounters.read(wb.DB_URL, wb.DB_NAME), RedisCounters.read()
        with _db() as conn:
            states = dict(
                conn.execute("SELECT state, count(*) FROM webhooks_webhookevent GROUP BY state")
            )
            history = conn.execute("SELECT count(*) FROM accounts_statusevent").fetchone()
    finally:
        for proc in procs:
            stop_process(proc)
    return {
        "workers": workers,
        "events": len(ids),
        "records": records,
        "seconds": took,
        "enqueue_s": enqueued,
        "rate": records / took,
        "states": states,
        "history": history[0] if history else 0,
        "pg": pg0.rates(pg1),
        "redis_ops": rd0.rate(rd1),
        "load": load_line(),
    }


ACTIONS_RE = {
    "actions": re.compile(r"actions at simulator\s*:\s*(\d+)"),
    "makespan": re.compile(r"makespan\s*:\s*([0-9.]+) s"),
    "ratio": re.compile(r"^ratio\s*:\s*([0-9.]+)", re.M),
    "violations": re.compile(r"spacing violations\s*:\s*(\d+)"),
}


def actions_run(concurrency: int, extra: list[str]) -> dict[str, Any]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "bench/actions.py", "--concurrency", str(concurrency), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BENCH_LOG_LEVEL": "ERROR"},
    )
    out: dict[str, Any] = {"concurrency": concurrency, "wall": time.monotonic() - t0}
    for key, rx in ACTIONS_RE.items():
        m = rx.search(proc.stdout)
        out[key] = float(m.group(1)) if m else None
    if out["actions"] and out["makespan"]:
        out["rate"] = out["actions"] / out["makespan"]
    else:
        out["rate"] = None
        out["tail"] = (proc.stdout + proc.stderr)[-1500:]
    out["load"] = load_line()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--port", type=int, default=18742)
    parser.add_argument("--limit-seconds", type=float, default=5.0)
    parser.add_argument("--skip-actions", action="store_true")
    parser.add_argument("--actions-args", default="", help="extra args for bench/actions.py")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    if not wb.redis_dbs_empty():
        raise SystemExit("Redis dbs 9/10 are not empty: refusing to use (and flush) them")
    os.environ.update(wb.env())
    os.environ["LOG_LEVEL"] = "ERROR"
    import django

    django.setup()
    print(f"start [{load_line()}]", flush=True)
    print(f"preparing database {wb.DB_NAME} ...", flush=True)
    wb.prepare_db()
    try:
        ingest(args.ingest_seconds, args.senders, args.port)
        runs = []
        for n in counts:
            r = drain(n)
            runs.append(r)
            print(
                f"webhooks, {n} worker process(es): {r['records']:,} records ({r['events']}"
                f" events) applied in {r['seconds']:.2f} s = {r['rate']:,.0f} records/s"
                f" (enqueue took {r['enqueue_s']:.2f} s; states {r['states']};"
                f" history rows {r['history']:,}) [{r['load']}]",
                flush=True,
            )
            print(
                "   during the drain: "
                + ", ".join(f"{k} {v:,.1f}" for k, v in r["pg"].items())
                + f"; Redis commands/s {r['redis_ops']:,.0f}",
                flush=True,
            )
        actions = []
        if not args.skip_actions:
            for n in counts:
                a = actions_run(n, args.actions_args.split())
                actions.append(a)
                if a["rate"]:
                    print(
                        f"actions, worker -c {n}: {a['actions']:.0f} actions, makespan"
                        f" {a['makespan']:.2f} s = {a['rate']:,.0f} actions/s (ratio to ideal"
                        f" {a['ratio']}, spacing violations {a['violations']:.0f}) [{a['load']}]",
                        flush=True,
                    )
                else:
                    print(f"actions, worker -c {n}: no figure; output tail:\n{a.get('tail')}")
        limit_records, limit_s = wb.raw_limit(args.senders, args.limit_seconds)
        rows_records, rows_s = wb.raw_rows_limit(args.limit_seconds)
        print(f"limits [{load_line()}]", flush=True)
        print(
            f"   PostgreSQL: inbox INSERT+commit per 50-record body, {args.senders} connections:"
            f" {limit_records / limit_s / wb.RECORDS:,.0f} commits/s"
            f" ({limit_records / limit_s:,.0f} records/s)"
        )
        print(f"   PostgreSQL: multi-row INSERT, 1 connection: {rows_records / rows_s:,.0f} rows/s")
        for k, v in redis_capacity().items():
            print(f"   Redis: {k} {v:,.0f}")
    finally:
        wb.flush_redis()

    print("\nSummary")
    if len(runs) >= 2 and runs[0]["rate"]:
        print(
            f"   webhooks applied, {runs[1]['workers']}:{runs[0]['workers']} workers ="
            f" {runs[1]['rate'] / runs[0]['rate']:.2f}"
        )
    if len(actions) >= 2 and actions[0].get("rate") and actions[1].get("rate"):
        print(
            f"   actions, -c {actions[1]['concurrency']}:-c {actions[0]['concurrency']} ="
            f" {actions[1]['rate'] / actions[0]['rate']:.2f}"
        )
    print(f"   [{load_line()}]")


if __name__ == "__main__":
    main()
