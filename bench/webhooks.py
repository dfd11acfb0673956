"""Figures for webhook ingestion. Run: `.venv/bin/python bench/webhooks.py`.

Setup: gunicorn (`config.wsgi -w 2 -k gthread --threads 8`) on loopback with PostgreSQL (a
database of its own, `sb_bench_webhooks`, created and migrated by this script) and Redis
(broker db 9, cache db 10). Senders POST signed onlineStatus bodies; every record distinct.

1. Acknowledged (received, not applied): POST/s and records/s with concurrent senders
   (closed loop) at 1, 2, 10 and 50 records per POST, and the acknowledgement latency. The
   senders build and sign their deliveries before the clock starts (the vendor does that
   work on its own machines), so they cost the shared cores what the floor's GETs do.
2. Acknowledgement latency p50/p99 at a paced 100 POST/s (50 records each).
3. Apply while posting: real Celery workers (prefork, the fast queue) apply while the
   senders post; then the bench waits for the backlog to drain. Counted from the inbox
   table: events processed and the records they applied (`applied`: status rows actually
   inserted), nothing merely received. Apply lag = processed_at - received_at per event,
   p50 / p95 / max.
4. Drain only: the processing task's body (batch claiming) looped over the events left
   pending by 1-2 in N processes, without the broker; applied records/s counted the same way.
0. The floor, in the same server and with the same sender processes: the anonymous sign-in
   page (GET /login/, the lightest page Django renders), closed loop; part 1's POST/s at
   1 record per POST is printed as a ratio to it (a delivery should cost no more). The two
   alternate for --rounds rounds (default 3) and the median round's ratio is the figure.
3b. Apply at a paced rate (--apply-rate POST/s, 1 record each) with the workers running:
   the apply lag p50 / p95 / max.
5. This machine's limit: a raw psycopg INSERT of 50-record bodies into the inbox table,
   one row and one commit per body, from as many connections as there are senders, no
   HTTP; and the acknowledged/limit ratio.

Figures are printed, never asserted. Options: --seconds, --senders, --paced-seconds,
--appliers, --workers, --concurrency, --sizes, --rounds, --port.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
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

DB_NAME = f"{common.DB_PREFIX}sb_bench_webhooks"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_URL = f"{PG}/{DB_NAME}"
BROKER = "redis://127.0.0.1:6379/9"
CACHE = "rediscache://127.0.0.1:6379/10"
SECRET = "bench-webhook-secret"
PATH = "/api/callback/whatsapp/onlineStatus"
RECORDS = 50


SIZES = (1, 2, 10, 50)  # records per POST in part 1
AHEAD = 1500  # deliveries each sender builds and signs before the clock starts


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


def make_body(seq: int, size: int = RECORDS) -> bytes:
    """`size` records; distinct for distinct `seq` (times on a stride of 50 seconds)."""
    base = datetime(2024, 7, 3, 7, 0, tzinfo=UTC)
    records = []
    for i in range(size):
        k = seq * RECORDS + i
        n = k % 5000
        t = base + timedelta(seconds=k)
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


def sender(url: str, go: Any, seconds: float, offset: int, size: int, out: Any) -> None:
    """POSTs signed bodies of `size` records (size 0: GETs `url`, the floor)."""
    import requests

    session = requests.Session()
    latencies: list[float] = []
    errors = 0
    seq = offset
    # The vendor builds and signs its deliveries on its own machines: here they are built
    # before the clock starts (each signed a few seconds before it is sent, well inside the
    # receiver's timestamp window), so the senders' CPU during the run is what a GET of the
    # floor costs them, not the JSON and HMAC work the server is not doing.
    ahead = (
        [(b, signed(b)) for b in (make_body(seq + i, size) for i in range(AHEAD))] if size else []
    )
    out.put("ready")
    go.wait()  # all senders start together
    end = go.start_at.value + seconds
    while time.time() < end:
        t0 = time.perf_counter()
        if size:
            k = seq - offset
            if k < len(ahead):
                body, headers = ahead[k]
            else:
                body = make_body(seq, size)  # every delivery distinct: no duplicate record
                headers = signed(body)
            r = session.post(url, data=body, headers=headers, timeout=10)
        else:
            r = session.get(url, timeout=10)
        latencies.append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors += 1
        seq += 1
    out.put((latencies, errors, time.time()))


class Go:
    """The senders' starting gun: an event and the time it was fired."""

    def __init__(self, event: Any, start_at: Any) -> None:
        self.event, self.start_at = event, start_at

    def wait(self) -> None:
        self.event.wait()

    def set(self) -> None:
        self.event.set()


# Spawned, not forked: the bench process may hold threads (the Celery control connection),
# and a fork taken while one of them holds a lock can hang the child.
MP = mp.get_context("spawn")


def closed_loop(
    url: str, senders: int, seconds: float, *, size: int = RECORDS, run: int = 0
) -> tuple[list[float], int, float]:
    out: Any = MP.Queue()
    go = Go(MP.Event(), MP.Value("d", 0.0))
    procs = [
        MP.Process(
            target=sender, args=(url, go, seconds, run * 100_000_000 + i * 1_000_000, size, out)
        )
        for i in range(senders)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        assert out.get() == "ready"
    start_at = time.time()
    go.start_at.value = start_at
    go.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(r[2] for r in results) - start_at
    latencies = [x for r in results for x in r[0]]
    errors = sum(r[1] for r in results)
    return latencies, errors, elapsed


def paced(
    url: str, rate: float, seconds: float, size: int = RECORDS, offset: int = 90_000_000
) -> tuple[list[float], int]:
    import requests

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    local = threading.local()

    def one(seq: int) -> None:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        body = make_body(offset + seq, size)
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


pct = common.pct


def inbox_state() -> dict[str, int]:
    """Events per state in the inbox table."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM webhooks_webhookevent GROUP BY state"
        ).fetchall()
    return {state: int(n) for state, n in rows}


def applied_since(mark: int) -> dict[str, Any]:
    """What the events with id > mark came to: only processed events count, with the
    records they applied (`applied`), their apply lag and the window they were applied in."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM processed_at - received_at), applied, records,"
            " extract(epoch FROM received_at), extract(epoch FROM processed_at),"
            " extract(epoch FROM claimed_at)"
            " FROM webhooks_webhookevent WHERE id > %s AND state = 'processed'",
            [mark],
        ).fetchall()
        other = conn.execute(
            "SELECT state, count(*) FROM webhooks_webhookevent"
            " WHERE id > %s AND state <> 'processed' GROUP BY state",
            [mark],
        ).fetchall()
    lags = [float(r[0]) for r in rows]
    return {
        "events": len(rows),
        "applied": sum(int(r[1]) for r in rows),
        "records": sum(int(r[2]) for r in rows),
        "lags": lags,
        "first_received": min((float(r[3]) for r in rows), default=0.0),
        "last_processed": max((float(r[4]) for r in rows), default=0.0),
        "first_claimed": min((float(r[5]) for r in rows if r[5] is not None), default=0.0),
        "not_processed": {state: int(n) for state, n in other},
    }


def max_event_id() -> int:
    import psycopg

    with psycopg.connect(DB_URL) as conn:
        row = conn.execute("SELECT COALESCE(max(id), 0) FROM webhooks_webhookevent").fetchone()
    return int(row[0]) if row else 0


def wait_drained(timeout: float) -> float:
    """Seconds until no event is pending or processing (or the timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        states = inbox_state()
        if not states.get("pending") and not states.get("processing"):
            break
        time.sleep(0.5)
    return time.monotonic() - t0


def applier(out: Any) -> None:
    """The processing task's body (batch claiming), looped until nothing is pending."""
    os.environ.update(env())
    import django

    django.setup()
    from webhooks.services.process import webhook_events_process_batch

    applied = 0
    while True:
        outcome = webhook_events_process_batch()
        if not outcome.claimed:
            break
        applied += outcome.processed
    out.put(applied)


def apply_all(appliers: int) -> tuple[dict[str, Any], float]:
    mark_pending = inbox_state().get("pending", 0)
    out: Any = MP.Queue()
    procs = [MP.Process(target=applier, args=(out,)) for _ in range(appliers)]
    for p in procs:
        p.start()
    for _ in procs:
        out.get()
    for p in procs:
        p.join()
    result = applied_since(0)
    result["pending_before"] = mark_pending
    # From the first claim to the last apply (not the processes' start-up).
    return result, max(1e-9, result["last_processed"] - result["first_claimed"])


def raw_limit(connections: int, seconds: float) -> tuple[int, float]:
    """The inbox INSERT with no HTTP: one row per 50-record body, one commit each."""
    import psycopg

    bodies = [make_body(50_000_000 + i) for i in range(20)]
    counts = [0] * connections

    def run(k: int) -> None:
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                conn.execute(
                    "INSERT INTO webhooks_webhookevent (kind, body, headers, received_at,"
                    " signature_ok, state, error, attempts, records, applied, rejected_records)"
                    " VALUES (%s, %s, %s, now(), true, 'skipped', '', 0, %s, 0, '[]')",
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


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--appliers", type=int, default=2, help="processes in part 4")
    parser.add_argument("--workers", type=int, default=1, help="Celery workers in part 3")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork children each")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="records per POST")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate rounds of the floor and part 1"
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--port", type=int, default=18741)
    parser.add_argument("--apply-rate", type=float, default=200.0, help="part 3b, POST/s")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]

    if not redis_dbs_empty():
        raise SystemExit("Redis dbs 9/10 are not empty: refusing to use (and flush) them")
    os.environ.update(env())
    print(f"preparing database {DB_NAME} ... [{load_line()}]", flush=True)
    prepare_db()
    server = start_gunicorn(args.port)
    url = f"http://127.0.0.1:{args.port}{PATH}"
    acked_rps = 0.0
    workers: list[subprocess.Popen[bytes]] = []
    signin_url = f"http://127.0.0.1:{args.port}/login/"
    try:
        closed_loop(signin_url, args.senders, min(3.0, args.seconds), size=0)  # warm-up
        # The floor and the one-record delivery in alternate rounds: the machine's pace drifts
        # within a run, and a ratio of neighbours carries over where two distant figures do not.
        ratios: list[tuple[float, float, float, float]] = []
        print(
            f"\n0. floor: the sign-in page (GET /login/, anonymous), and 1. a one-record delivery,"
            f" closed loop, {args.senders} sender processes, {args.seconds:g} s each, in"
            f" {args.rounds} alternate round(s)"
        )
        for rnd in range(1, args.rounds + 1):
            lat, errors, elapsed = closed_loop(signin_url, args.senders, args.seconds, size=0)
            signin_rps = (len(lat) - errors) / elapsed
            print(
                f"   round {rnd} floor: {signin_rps:,.0f} req/s, p50 {pct(lat, 50) * 1000:.1f} ms,"
                f" p99 {pct(lat, 99) * 1000:.1f} ms, non-200 {errors} [{load_line()}]",
                flush=True,
            )
            lat, errors, elapsed = closed_loop(url, args.senders, args.seconds, size=1, run=rnd)
            one_rps = (len(lat) - errors) / elapsed
            print(
                f"   round {rnd} delivery (1 record): {one_rps:,.0f} POST/s, p50"
                f" {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms, non-200"
                f" {errors} [{load_line()}]: {one_rps / max(signin_rps, 1e-9):.2f}x the floor",
                flush=True,
            )
            ratios.append((one_rps / max(signin_rps, 1e-9), one_rps, signin_rps, pct(lat, 99)))
        ratios.sort()
        median = ratios[len(ratios) // 2]
        print(
            f"   at 1 record per POST: {median[1]:,.0f} POST/s = {median[0]:.2f}x the sign-in"
            f" page's {median[2]:,.0f} req/s (the median round), p99 {median[3] * 1000:.1f} ms;"
            f" rounds {', '.join(f'{r[0]:.2f}x' for r in sorted(ratios))}"
        )
        print(f"\n1b. larger deliveries, closed loop, {args.senders} sender processes")
        print("| records/POST | POST/s | records/s | p50 ms | p99 ms | non-200 | load (1 min) |")
        print("|---:|---:|---:|---:|---:|---:|---|")
        for run, size in enumerate(sizes, start=args.rounds + 1):
            if size == 1:
                continue
            lat, errors, elapsed = closed_loop(url, args.senders, args.seconds, size=size, run=run)
            ok = len(lat) - errors
            if size == RECORDS:
                acked_rps = ok * size / elapsed
            print(
                f"| {size} | {ok / elapsed:,.0f} | {ok * size / elapsed:,.0f} |"
                f" {pct(lat, 50) * 1000:.1f} | {pct(lat, 99) * 1000:.1f} | {errors} |"
                f" {load_line()} |",
                flush=True,
            )
        plat, perrors = paced(url, 100.0, args.paced_seconds)
        print(
            f"\n2. paced 100 POST/s ({RECORDS} records each) for {args.paced_seconds:.0f} s:"
            f" {len(plat)} POSTs [{load_line()}]"
        )
        print(
            f"   latency p50 {pct(plat, 50) * 1000:.1f} ms, p99 {pct(plat, 99) * 1000:.1f} ms,"
            f" max {max(plat) * 1000:.1f} ms  (non-200: {perrors})"
        )

        # 4 first needs the backlog 1-2 left; 3 is run on a clean slate after it.
        print(f"\n4. drain only: {args.appliers} processes, no broker [{load_line()}]", flush=True)
        drained, took = apply_all(args.appliers)
        print(
            f"   {drained['events']:,} of {drained['pending_before']:,} pending events processed"
            f" in {took:.1f} s (first claim to last apply); {drained['applied']:,} records applied"
            f" ({drained['records']:,} in those events)"
        )
        print(f"   applied records/s: {drained['applied'] / took:,.0f}")

        flush_redis()  # the tasks sent for 1-2's events: already done by 4
        for k in range(args.workers):
            workers.append(
                common.start_worker(
                    env(),
                    queues="fast",
                    concurrency=args.concurrency,
                    hostname=f"bench{k}@%h",
                    log_level="ERROR",
                )
            )
        from celery import Celery

        if not common.wait_for_workers(Celery(broker=BROKER), args.workers):
            raise SystemExit("Celery workers did not answer")
        mark = max_event_id()
        load_before = load_line()
        lat, errors, elapsed = closed_loop(url, args.senders, args.seconds, run=50)
        drain = wait_drained(args.drain_timeout)
        res = applied_since(mark)
        lags = res["lags"]
        ok = len(lat) - errors
        window = max(1e-9, res["last_processed"] - res["first_received"])
        print(
            f"\n3. apply while posting: {args.senders} senders x {args.seconds:g} s"
            f" ({RECORDS} records/POST), {args.workers} Celery worker(s) x {args.concurrency}"
            f" children; start [{load_before}], end [{load_line()}]"
        )
        print(
            f"   POSTs acknowledged: {ok:,} ({ok / elapsed:,.0f} POST/s,"
            f" {ok * RECORDS / elapsed:,.0f} records/s); non-200: {errors}"
        )
        print(
            f"   applied: {res['events']:,} events processed, {res['applied']:,} records applied;"
            f" not processed: {res['not_processed'] or 'none'};"
            f" backlog drained {drain:.1f} s after the senders stopped"
        )
        print(
            f"   applied records/s over first receipt to last apply ({window:.1f} s):"
            f" {res['applied'] / window:,.0f}"
        )
        print(
            f"   apply lag (processed_at - received_at): p50 {ms(pct(lags, 50))},"
            f" p95 {ms(pct(lags, 95))}, max {ms(max(lags, default=float('nan')))}"
        )
        mark = max_event_id()
        load_before = load_line()
        plat, perrors = paced(url, args.apply_rate, args.seconds, size=1, offset=95_000_000)
        drain = wait_drained(args.drain_timeout)
        res = applied_since(mark)
        lags = res["lags"]
        window = max(1e-9, res["last_processed"] - res["first_received"])
        print(
            f"\n3b. apply at a paced {args.apply_rate:g} POST/s (1 record each) for"
            f" {args.seconds:g} s: {len(plat):,} POSTs (non-200: {perrors}), ack p99"
            f" {pct(plat, 99) * 1000:.1f} ms; start [{load_before}], end [{load_line()}]"
        )
        print(
            f"   applied: {res['events']:,} events, {res['applied']:,} records"
            f" ({res['events'] / window:,.0f} events/s from first receipt to last apply);"
            " backlog drained"
            f" {drain:.1f} s after the senders stopped; apply lag p50 {ms(pct(lags, 50))},"
            f" p95 {ms(pct(lags, 95))}, max {ms(max(lags, default=float('nan')))}"
        )
    finally:
        for w in workers:
            common.stop_process(w)
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    limit_records, limit_s = raw_limit(args.senders, args.seconds)
    limit_rps = limit_records / limit_s
    rows_records, rows_s = raw_rows_limit(min(args.seconds, 5))
    print(f"\n5. this machine's limit (psycopg, no HTTP) [{load_line()}]")
    print(
        f"   inbox INSERT of the same bodies, {args.senders} connections:"
        f" {limit_rps:,.0f} records/s"
    )
    print(
        "   multi-row INSERT of the records (50 rows/statement):"
        f" {rows_records / rows_s:,.0f} rows/s"
    )
    if acked_rps and limit_rps:
        print(f"   ratio acknowledged (50 records/POST) / limit: {acked_rps / limit_rps:.2f}")
    flush_redis()


if __name__ == "__main__":
    main()
