"""Figures for webhook ingestion (issue 4). Run: `.venv/bin/python bench/webhooks.py`.

Setup: gunicorn (`config.wsgi -w 2 -k gthread --threads 8`) on loopback with PostgreSQL (a
database of its own, `sb_bench_webhooks`, created and migrated by this script) and Redis
(broker db 9, cache db 10). Senders POST signed onlineStatus bodies of 50 records each.

1. Acknowledged records/s and acknowledgement latency with concurrent senders (closed loop).
2. Acknowledgement latency p50/p99 at a paced 100 POST/s.
3. Applied records/s: the processing task's body (batch claiming: up to 100 events per
   claim, applied set-based) looped over every acknowledged event in N processes, without
   the broker (bench/scale.py measures it through real Celery workers).
4. This machine's limit: a raw psycopg INSERT of the same 50-record bodies into the inbox
   table, one row and one commit per body, from as many connections as there are senders,
   no HTTP; and the acknowledged/limit ratio.

Figures are printed, never asserted. Options: --seconds, --senders, --paced-seconds,
--appliers, --port.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench import common  # noqa: E402
from bench.common import load_line  # noqa: E402

DB_NAME = "sb_bench_webhooks"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_URL = f"{PG}/{DB_NAME}"
BROKER = "redis://127.0.0.1:6379/9"
CACHE = "rediscache://127.0.0.1:6379/10"
SECRET = "bench-webhook-secret"
PATH = "/api/callback/whatsapp/onlineStatus"
RECORDS = 50


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": DB_URL,
        "CELERY_BROKER_URL": BROKER,
        "CACHE_URL": CACHE,
        "CACHE_KEY_PREFIX": "bench-webhooks",
        "WEBHOOK_SECRETS": SECRET,
        "LOG_LEVEL": "ERROR",
        "DEBUG": "false",
    }


def make_body(seq: int) -> bytes:
    base = datetime(2024, 7, 3, 7, 0, tzinfo=UTC)
    records = []
    for i in range(RECORDS):
        n = (seq * RECORDS + i) % 5000
        t = base + timedelta(seconds=seq * RECORDS + i)
        records.append(
            {
                "whatsId": f"86138{n:08d}",
                "status": 10 if i % 3 else 20,
                "detailStatus": 12 if i % 3 else 21,
                "account": f"agent{n % 40:02d}",
                "time": (t + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"),
                "platformType": 1,
            }
        )
    return json.dumps({"whatsAppList": records}).encode()


def signed(body: bytes) -> dict[str, str]:
    from upstream.signing import HmacSigner

    headers = HmacSigner().sign(api_key="bench", secret=SECRET, body=body)
    headers["Content-Type"] = "application/json"
    return headers


def prepare_db() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env(),
        check=True,
    )


def redis_dbs_empty() -> bool:
    import redis

    return all(redis.Redis(db=n).dbsize() == 0 for n in (9, 10))


def flush_redis() -> None:
    import redis

    for n in (9, 10):
        redis.Redis(db=n).flushdb()


def start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    return common.start_gunicorn(env(), port, workers=2, threads=8)


def sender(url: str, seconds: float, offset: int, out: Any) -> None:
    import requests

    session = requests.Session()
    latencies: list[float] = []
    errors = 0
    seq = offset
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        body = make_body(seq)  # every delivery distinct: no record is a duplicate
        t0 = time.perf_counter()
        r = session.post(url, data=body, headers=signed(body), timeout=10)
        latencies.append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors += 1
        seq += 1
    out.put((latencies, errors))


def closed_loop(url: str, senders: int, seconds: float) -> tuple[list[float], int, float]:
    out: Any = mp.Queue()
    procs = [
        mp.Process(target=sender, args=(url, seconds, i * 1_000_000, out)) for i in range(senders)
    ]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - t0
    latencies = [x for r in results for x in r[0]]
    errors = sum(r[1] for r in results)
    return latencies, errors, elapsed


def paced(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    import requests

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    local = threading.local()

    def one(seq: int) -> None:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        body = make_body(9_000_000 + seq)
        headers = signed(body)
        t0 = time.perf_counter()
        r = local.s.post(url, data=body, headers=headers, timeout=10)
        dt = time.perf_counter() - t0
        with lock:
            latencies.append(dt)
            if r.status_code != 200:
                errors[0] += 1

    from concurrent.futures import ThreadPoolExecutor

    total = int(rate * seconds)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(total):
            target = start + i / rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i)
    return latencies, errors[0]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def applier(out: Any) -> None:
    """The processing task's body (batch claiming), looped until nothing is pending."""
    os.environ.update(env())
    import django

    django.setup()
    from webhooks.services import webhook_events_process_batch

    applied = 0
    while True:
        outcome = webhook_events_process_batch()
        if not outcome.claimed:
            break
        applied += outcome.processed
    out.put(applied)


def apply_all(appliers: int) -> tuple[int, int, float]:
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(records), 0) FROM webhooks_webhookevent WHERE state='pending'"
        ).fetchone()
        records = row[0] if row else 0
    out: Any = mp.Queue()
    procs = [mp.Process(target=applier, args=(out,)) for _ in range(appliers)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    done = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return done, int(records), time.monotonic() - t0


def raw_limit(connections: int, seconds: float) -> tuple[int, float]:
    """The inbox INSERT with no HTTP: one row per 50-record body, one commit each."""
    import psycopg

    bodies = [make_body(5_000_000 + i) for i in range(20)]
    counts = [0] * connections

    def run(k: int) -> None:
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                conn.execute(
                    "INSERT INTO webhooks_webhookevent (kind, body, headers, received_at,"
                    " signature_ok, state, error, attempts, records, applied)"
                    " VALUES (%s, %s, %s, now(), true, 'processed', '', 0, %s, 0)",
                    ("online_status", bodies[i % 20], "{}", RECORDS),
                )
                i += 1
            counts[k] = i

    threads = [threading.Thread(target=run, args=(k,)) for k in range(connections)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) * RECORDS, time.monotonic() - t0


def raw_rows_limit(seconds: float) -> tuple[int, float]:
    """A multi-row INSERT of the records themselves (one row per record, 50 per statement)."""
    import psycopg

    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE bench_rows (whatsapp text, status int, detail int,"
            " account text, t timestamptz, platform smallint)"
        )
        rows = []
        for r in json.loads(make_body(1))["whatsAppList"]:
            rows += [r["whatsId"], r["status"], r["detailStatus"], r["account"], r["time"], 1]
        sql = "INSERT INTO bench_rows VALUES " + ",".join(["(%s,%s,%s,%s,%s,%s)"] * RECORDS)
        end = time.monotonic() + seconds
        n = 0
        t0 = time.monotonic()
        while time.monotonic() < end:
            conn.execute(sql, rows)
            n += 1
        return n * RECORDS, time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--appliers", type=int, default=2)
    parser.add_argument("--port", type=int, default=18741)
    args = parser.parse_args()

    if not redis_dbs_empty():
        raise SystemExit("Redis dbs 9/10 are not empty: refusing to use (and flush) them")
    os.environ.update(env())
    print(f"preparing database {DB_NAME} ...", flush=True)
    prepare_db()
    server = start_gunicorn(args.port)
    url = f"http://127.0.0.1:{args.port}{PATH}"
    try:
        lat, errors, elapsed = closed_loop(url, args.senders, args.seconds)
        posts = len(lat)
        print(f"\n1. closed loop, {args.senders} sender processes, {elapsed:.1f} s [{load_line()}]")
        print(f"   POSTs acknowledged: {posts - errors}  (non-200: {errors})")
        acked_rps = (posts - errors) * RECORDS / elapsed
        print(f"   acknowledged records/s: {acked_rps:,.0f}  (POST/s: {posts / elapsed:,.0f})")
        print(
            f"   latency p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms, "
            f"mean {statistics.mean(lat) * 1000:.1f} ms"
        )
        plat, perrors = paced(url, 100.0, args.paced_seconds)
        print(
            f"\n2. paced 100 POST/s for {args.paced_seconds:.0f} s: {len(plat)} POSTs"
            f" [{load_line()}]"
        )
        print(
            f"   latency p50 {pct(plat, 50) * 1000:.1f} ms, p99 {pct(plat, 99) * 1000:.1f} ms,"
            f" max {max(plat) * 1000:.1f} ms  (non-200: {perrors})"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    done, records, took = apply_all(args.appliers)
    print(f"\n3. applied: {done} events, {records:,} records in {took:.1f} s [{load_line()}]")
    print(f"   applied records/s: {records / took:,.0f}  ({args.appliers} processes)")
    limit_records, limit_s = raw_limit(args.senders, args.seconds)
    limit_rps = limit_records / limit_s
    rows_records, rows_s = raw_rows_limit(min(args.seconds, 5))
    print(f"\n4. this machine's limit (psycopg, no HTTP) [{load_line()}]")
    print(
        f"   inbox INSERT of the same bodies, {args.senders} connections:"
        f" {limit_rps:,.0f} records/s"
    )
    print(
        "   multi-row INSERT of the records (50 rows/statement):"
        f" {rows_records / rows_s:,.0f} rows/s"
    )
    print(f"   ratio acknowledged / limit: {acked_rps / limit_rps:.2f}")
    flush_redis()


if __name__ == "__main__":
    main()
