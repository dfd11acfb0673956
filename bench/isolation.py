"""Queue isolation: the QR login result latency without load, and again while a
50,000-row account import runs on the slow queue. No browser: the clock runs from the
simulator's scan to `QrSession.state == "succeeded"` in the database, through the real path
(simulator -> signed syncLoginStatus webhook -> gunicorn -> inbox -> fast worker -> result).

    .venv/bin/python bench/isolation.py [--runs 30] [--rows 50000]

Production layout on this machine: gunicorn (2 x 4 threads), one worker `-Q fast -c 2` and
one worker `-Q slow -c 2`, each its own process tree, PostgreSQL database
`sb_bench_isolation` (recreated) and Redis db 7 (broker) and db 8 (cache), which must be
empty. The import goes through accounts.services.imports (parse, stage with encrypted keys,
confirm: the `accounts.import_run` task on the SLOW queue calls the simulator's batchInsert
in chunks). Latencies are sampled only while the import job is still running; the script
prints how many samples that was and the import's own progress. Figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.common import (  # noqa: E402
    PG,
    load_line,
    pct,
    recreate_database,
    start_gunicorn,
    start_worker,
    stop_process,
    wait_for_workers,
)

DB_NAME = "sb_bench_isolation"
BROKER = "redis://127.0.0.1:6379/7"
CACHE = "rediscache://127.0.0.1:6379/8"
SECRET = "bench-isolation-secret"


def env(sim_url: str = "") -> dict[str, str]:
    out = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": BROKER,
        "CACHE_URL": CACHE,
        "CACHE_KEY_PREFIX": "bench-isolation",
        "WEBHOOK_SECRETS": SECRET,
        "LOG_LEVEL": "ERROR",
        "DEBUG": "false",
    }
    if sim_url:
        out["UPSTREAM_BASE_URL"] = sim_url
    return out


def import_file(rows: int) -> bytes:
    accounts = [
        {
            "whatsApp": f"5731{n:08d}",
            "name": f"Import {n}",
            "publicKey": f"pub{n}",
            "privateKey": f"priv{n}",
            "msgPublicKey": f"mpub{n}",
            "msgPrivateKey": f"mpriv{n}",
            "accountId": f"acc{n}",
        }
        for n in range(rows)
    ]
    return json.dumps({"whatsAppList": accounts}).encode()


def stage_import(rows: int) -> Any:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.services.imports import import_parse, import_stage

    actor, _ = User.objects.get_or_create(username="bench-isolation", is_superuser=True)
    t0 = time.monotonic()
    result = import_parse(upload=SimpleUploadedFile("bench.json", import_file(rows)))
    assert not result.errors, result.errors[:3]
    job = import_stage(actor=actor, result=result, filename="bench.json")
    print(
        f"import staged: {job.total:,} rows in {time.monotonic() - t0:.1f} s [{load_line()}]",
        flush=True,
    )
    return actor, job


def one_login(sim: Any, n: int, timeout: float = 30.0) -> float:
    from qrlogin.models import QrSession

    port = sim.state.pre_generate(type_=2, target=None)
    session = QrSession.objects.create(port_id=port.session_id, state=QrSession.State.SHOWING)
    t0 = time.perf_counter()
    sim.scan(port.session_id, f"86139{n:08d}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = QrSession.objects.filter(pk=session.pk).values_list("state", flat=True).first()
        if state == QrSession.State.SUCCEEDED:
            return time.perf_counter() - t0
        time.sleep(0.005)
    raise SystemExit(f"QR session {session.pk} did not succeed in {timeout} s")


def series(sim: Any, runs: int, start: int, *, while_job: Any = None) -> list[float]:
    from accounts.models import BulkJob

    out: list[float] = []
    for i in range(runs):
        if while_job is not None:
            state = BulkJob.objects.filter(pk=while_job.pk).values_list("state", flat=True)[0]
            if state not in (BulkJob.State.QUEUED, BulkJob.State.RUNNING):
                break
        out.append(one_login(sim, start + i))
        time.sleep(0.1 + (i % 5) * 0.05)
    return out


def report(label: str, values: list[float]) -> None:
    if not values:
        print(f"{label}: no samples")
        return
    print(
        f"{label}: n={len(values)}  p50 {pct(values, 50) * 1000:.0f} ms  p95"
        f" {pct(values, 95) * 1000:.0f} ms  max {max(values) * 1000:.0f} ms  mean"
        f" {statistics.mean(values) * 1000:.0f} ms [{load_line()}]",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--port", type=int, default=18743)
    parser.add_argument("--fast-concurrency", type=int, default=2)
    parser.add_argument("--slow-concurrency", type=int, default=2)
    args = parser.parse_args()

    import redis

    for db in (7, 8):
        if redis.Redis(db=db).dbsize():
            raise SystemExit(f"Redis db {db} is not empty: refusing to use (and flush) it")
    os.environ.update(env())
    print(f"start [{load_line()}]", flush=True)
    recreate_database(DB_NAME, env())
    import django

    django.setup()
    from django.conf import settings

    from accounts.models import BulkJob
    from config.celery import app
    from simulator.server import start_simulator

    web = f"http://127.0.0.1:{args.port}"
    sim = start_simulator("127.0.0.1", 0, web, max_ports=100_000, tick=0.05)
    os.environ["UPSTREAM_BASE_URL"] = sim.url
    settings.UPSTREAM_BASE_URL = sim.url
    procs = []
    try:
        procs.append(start_gunicorn(env(sim.url), args.port, workers=2, threads=4))
        procs.append(
            start_worker(
                env(sim.url),
                queues="fast",
                concurrency=args.fast_concurrency,
                hostname="fast@%h",
                log_level="ERROR",
            )
        )
        procs.append(
            start_worker(
                env(sim.url),
                queues="slow",
                concurrency=args.slow_concurrency,
                hostname="slow@%h",
                log_level="ERROR",
            )
        )
        if not wait_for_workers(app, 2, 90):
            raise SystemExit("the fast and slow workers did not answer a ping")
        series(sim, 3, 9_000_000)  # warm up every process on the path
        quiet = series(sim, args.runs, 0)
        report("QR login result latency, no import", quiet)

        actor, job = stage_import(args.rows)
        from accounts.services.imports import import_confirm

        t0 = time.monotonic()
        import_confirm(actor=actor, job=job)
        loaded = series(sim, args.runs * 50, 100_000, while_job=job)
        report(f"QR login result latency, {args.rows:,}-row import running", loaded)
        while True:
            job.refresh_from_db()
            if job.state not in (BulkJob.State.QUEUED, BulkJob.State.RUNNING):
                break
            if time.monotonic() - t0 > 1800:
                print("the import did not finish in 30 minutes")
                break
            time.sleep(0.5)
        took = time.monotonic() - t0
        print(
            f"import: state {job.state}, {job.ok_count:,}/{job.total:,} rows ok,"
            f" {job.failed_count:,} failed, {took:.1f} s ({job.ok_count / took:,.0f} rows/s);"
            f" batchInsert calls {len(sim.calls('/whatsapp/batchInsert'))} [{load_line()}]",
            flush=True,
        )
        if quiet and loaded:
            print(
                f"ratio loaded/quiet: p50 {pct(loaded, 50) / pct(quiet, 50):.2f},"
                f" p95 {pct(loaded, 95) / pct(quiet, 95):.2f}"
            )
    finally:
        for proc in procs:
            stop_process(proc)
        sim.stop()
        for db in (7, 8):
            redis.Redis(db=db).flushdb()


if __name__ == "__main__":
    main()
