"""Figures for outgoing events. Run: `.venv/bin/python bench/events.py`.

Setup, all on loopback: gunicorn (`config.wsgi`, 2 workers x 8 threads) receiving signed
onlineStatus webhooks, real Celery workers (prefork) applying them and delivering the
outbox, PostgreSQL (its own database `sb_bench_events`, created and migrated here), Redis
(broker db 11, cache db 12), and a local HTTP sink with 10 subscriptions
(`account.status_changed`). OUTBOUND_ALLOWED_NETS admits 127.0.0.1/32 only. The bench
process sends `notify.deliveries_drain` every 5 s, as beat does.

1. RATE account status changes per second (bodies of 50 records, each record a change of
   a different account) for SECONDS seconds through the webhook path; each change is fanned
   out to 10 subscriptions. The sink is stopped for OUTAGE seconds from the middle of the
   run, then started again. Reported: delivery latency p50/p95 (outbox row written ->
   delivery recorded) for the deliveries that succeeded at their first attempt and for all,
   deliveries per second while the sink was up and nothing was waiting on a retry, and
   the count at the sink of distinct (webhook-id, subscription): every one arrives, 0 lost.
2. A worker is killed (SIGKILL of the whole process group) while it is delivering (the sink
   answers slowly, 50 ms, so a batch is in flight); a new worker is started. The leases
   run out and the deliveries are sent again: every event arrives, none is lost (a few may
   arrive twice: at least once, receivers deduplicate by webhook-id).

Figures are printed, never asserted. Options: --rate, --seconds, --outage, --port.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench import common  # noqa: E402
from bench.common import load_line, pct  # noqa: E402

DB_NAME = "sb_bench_events"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BROKER = "redis://127.0.0.1:6379/11"
CACHE = "rediscache://127.0.0.1:6379/12"
SECRET = "bench-events-webhook-secret"
PATH = "/api/callback/whatsapp/onlineStatus"
RECORDS = 50
SUBSCRIPTIONS = 10


def env() -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": BROKER,
        "CACHE_URL": CACHE,
        "CACHE_KEY_PREFIX": "bench-events",
        "WEBHOOK_SECRETS": SECRET,
        "OUTBOUND_ALLOWED_NETS": "127.0.0.1/32",
        "EVENT_DELIVERY_THREADS": "16",
        "LOG_LEVEL": "ERROR",
        "DEBUG": "false",
    }


class SlowableSink:
    """The sink (notify.tests.sink) that can be stopped, restarted and slowed down."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: dict[tuple[str, str], int] = {}
        self.first_at: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()
        self.delay = 0.0
        self.up = False
        self.server: Any = None

    def start(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if not sink.up:  # stopped: a kept-alive connection is dropped unanswered
                    self.close_connection = True
                    return
                if sink.delay:
                    time.sleep(sink.delay)
                key = (self.headers.get("webhook-id", ""), self.path)
                with sink.lock:
                    sink.seen[key] = sink.seen.get(key, 0) + 1
                    sink.first_at.setdefault(key, time.time())
                del body
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.up = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.up = False
        self.server.shutdown()
        self.server.server_close()


def make_body(seq: int, base: datetime, offset: int = 0) -> bytes:
    records = []
    for i in range(RECORDS):
        n = offset + seq * RECORDS + i
        t = base + timedelta(milliseconds=n)
        records.append(
            {
                "whatsId": f"86139{n:08d}",
                "status": 20 if seq % 2 else 10,
                "detailStatus": 21 if seq % 2 else 12,
                "account": f"agent{n % 40:02d}",
                "time": (t + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"),
                "platformType": 1,
            }
        )
    return json.dumps({"whatsAppList": records}).encode()


def send(url: str, rate: float, seconds: float, offset: int = 0) -> tuple[int, int]:
    """Paced: rate/RECORDS bodies per second. Returns (records acknowledged, failures)."""
    import requests

    from upstream.signing import HmacSigner

    bodies = int(rate * seconds / RECORDS)
    interval = RECORDS / rate
    base = datetime.now(UTC) - timedelta(minutes=5)
    ok = failed = 0
    lock = threading.Lock()

    def one(seq: int) -> None:
        nonlocal ok, failed
        body = make_body(seq, base, offset)
        headers = HmacSigner().sign(api_key="bench", secret=SECRET, body=body)
        headers["Content-Type"] = "application/json"
        try:
            r = requests.post(url, data=body, headers=headers, timeout=30)
            good = r.status_code == 200
        except requests.RequestException:
            good = False
        with lock:
            if good:
                ok += RECORDS
            else:
                failed += 1

    threads = []
    start = time.monotonic()
    for seq in range(bodies):
        wait = start + seq * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        t = threading.Thread(target=one, args=(seq,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return ok, failed


def beat(stop: threading.Event) -> None:
    from notify.tasks import deliveries_drain

    while not stop.wait(5.0):
        deliveries_drain.delay()


def counts() -> dict[str, int]:
    from django.db.models import Count

    from notify.models import Delivery

    return {
        row["state"]: row["n"]
        for row in Delivery.objects.values("state").annotate(n=Count("id")).order_by()
    }


def wait_delivered(expected: int, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        c = counts()
        if c.get("delivered", 0) >= expected and not c.get("pending"):
            break
        time.sleep(1.0)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=18761)
    parser.add_argument("--sink-port", type=int, default=18762)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    os.environ.update(env())
    import redis

    for db in (11, 12):
        if redis.Redis(db=db).dbsize():
            raise SystemExit(f"Redis db {db} is not empty: refusing to use it")
    print(f"preparing database {DB_NAME} ...", flush=True)
    common.recreate_database(DB_NAME, env())
    import django

    django.setup()
    from django.db import connection

    from config.celery import app
    from notify.models import Delivery, Event, Subscription

    sink = SlowableSink(args.sink_port)
    sink.start()
    for i in range(SUBSCRIPTIONS):
        Subscription.objects.create(
            url=f"http://127.0.0.1:{args.sink_port}/s{i}",
            events=["account.status_changed"],
            secret="whsec_" + "YmVuY2gtZXZlbnRzLXNlY3JldC1rZXk=",
        )
    server = common.start_gunicorn(env(), args.port, workers=2, threads=8)
    worker = common.start_worker(env(), queues="fast", concurrency=3, log_level="ERROR")
    stop = threading.Event()
    ticker = threading.Thread(target=beat, args=(stop,), daemon=True)
    try:
        if not common.wait_for_workers(app, 1):
            raise SystemExit("the worker did not answer")
        ticker.start()
        url = f"http://127.0.0.1:{args.port}{PATH}"
        print(
            f"\n1. {args.rate:.0f} status changes/s for {args.seconds:.0f} s, fanned out to "
            f"{SUBSCRIPTIONS} subscriptions; sink stopped for {args.outage:.0f} s mid-run "
            f"[{load_line()}]",
            flush=True,
        )
        outage_at = args.seconds / 2

        def outage() -> None:
            time.sleep(outage_at)
            sink.stop()
            print(f"   sink stopped at t={outage_at:.1f} s", flush=True)
            time.sleep(args.outage)
            sink.start()
            print(f"   sink started again at t={outage_at + args.outage:.1f} s", flush=True)

        t0 = time.time()
        down = threading.Thread(target=outage)
        down.start()
        acked, failed = send(url, args.rate, args.seconds)
        sent_took = time.time() - t0
        print(
            f"   webhook records acknowledged: {acked} in {sent_took:.1f} s (failed POSTs: "
            f"{failed})",
            flush=True,
        )
        down.join()
        # Every acknowledged record is one account change: RECORDS distinct accounts each.
        expected_events = acked
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and Event.objects.count() < expected_events:
            time.sleep(1.0)
        events = Event.objects.count()
        expected = events * SUBSCRIPTIONS
        took = wait_delivered(expected, max(0.0, deadline - time.monotonic()))
        c = counts()
        raw = Delivery.objects.filter(state="delivered").values_list(
            "event__created_at", "delivered_at", "attempts"
        )
        rows = [(e, d, a) for e, d, a in raw if d is not None]
        lat_all = [(d - e).total_seconds() for e, d, _a in rows]
        lat_first = [(d - e).total_seconds() for e, d, a in rows if a == 1]
        # Throughput while backlogged and the sink up: from the sink's restart to the
        # last delivery.
        back = t0 + outage_at + args.outage
        after = sorted(d.timestamp() for _e, d, _a in rows if d.timestamp() >= back)
        span = max(0.001, (after[-1] - back) if after else 0.0)
        with sink.lock:
            distinct = len(sink.seen)
            dupes = sum(v - 1 for v in sink.seen.values())
        lost = expected - distinct
        print(f"   events written (outbox): {events}; deliveries expected {expected}")
        print(f"   all delivered {took:.1f} s after the run; states: {c}")
        print(
            f"   delivery latency, first attempt (n={len(lat_first)}): "
            f"p50 {pct(lat_first, 50) * 1000:.0f} ms, p95 {pct(lat_first, 95) * 1000:.0f} ms"
        )
        print(
            f"   delivery latency, all incl. the outage's retries (n={len(lat_all)}): "
            f"p50 {pct(lat_all, 50):.1f} s, p95 {pct(lat_all, 95):.1f} s"
        )
        print(
            f"   deliveries/s, sustained (sink back up until the last delivery): "
            f"{len(after) / span:,.0f} ({len(after)} in {span:.1f} s)"
        )
        total_span = (
            max(d.timestamp() for _e, d, _a in rows) - min(e.timestamp() for e, _d, _a in rows)
            if rows
            else 0.0
        )
        print(
            f"   deliveries/s overall (first event to last delivery, outage included): "
            f"{len(rows) / max(total_span, 0.001):,.0f}"
        )
        print(
            f"   at the sink: {distinct} distinct (webhook-id, subscription), duplicates "
            f"{dupes}, lost {lost} [{load_line()}]",
            flush=True,
        )

        # 2. Kill a worker in the middle of delivering.
        print(f"\n2. worker killed while delivering [{load_line()}]", flush=True)
        before_events = Event.objects.count()
        sink.delay = 0.05
        acked2, _f = send(url, 500.0, 1.0, offset=10_000_000)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and Event.objects.count() < before_events + acked2:
            time.sleep(0.2)
        new_events = Event.objects.count() - before_events
        with sink.lock:
            base_seen = len(sink.seen)
        while time.monotonic() < deadline:
            with sink.lock:
                if len(sink.seen) - base_seen >= 20:
                    break
            time.sleep(0.05)
        in_flight = Delivery.objects.filter(state="pending", claimed_until__isnull=False).count()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        with sink.lock:
            at_kill = len(sink.seen) - base_seen
        print(
            f"   {new_events} new events ({new_events * SUBSCRIPTIONS} deliveries); worker "
            f"killed after {at_kill} had arrived, {in_flight} claimed and unrecorded",
            flush=True,
        )
        sink.delay = 0.0
        worker = common.start_worker(env(), queues="fast", concurrency=3, log_level="ERROR")
        expected2 = expected + new_events * SUBSCRIPTIONS
        took2 = wait_delivered(expected2, 300)
        with sink.lock:
            distinct2 = len(sink.seen)
            dupes2 = sum(v - 1 for v in sink.seen.values()) - dupes
        print(
            f"   after a new worker and the lease ({60} s): all delivered in {took2:.1f} s; "
            f"states {counts()}"
        )
        print(
            f"   at the sink: {distinct2 - distinct} distinct of {new_events * SUBSCRIPTIONS}"
            f" expected, duplicates {dupes2}, lost {expected2 - distinct2} "
            f"[{load_line()}]",
            flush=True,
        )
    finally:
        stop.set()
        common.stop_process(worker)
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        connection.close()
        for db in (11, 12):
            redis.Redis(db=db).flushdb()


if __name__ == "__main__":
    main()
