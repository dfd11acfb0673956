"""The demo workload under vendor faults (and, with `--scenario`, the product's own services
restarted or killed under load: bench/fault_restarts.py, bench/fault_kills.py; `--help`
lists the scenarios): imports, bulk online, QR logins, open-chat actions and a reconcile
pass while the simulator fails 30% of the calls (HTTP 500, a timeout, an HTML answer, a
business error), then a burst of 100% "500" that opens the circuit
breaker, then no faults. Prints the final states per job type. Asserts nothing itself
(tests/test_fault_workload.py runs the same workload, smaller, and asserts).

    .venv/bin/python bench/faults.py [--accounts 60] [--sessions 8] [--lanes 4]
        [--per-lane 5] [--rate 0.3] [--seed 7]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379. It
(re)creates its own database `sb_bench_faults`, uses Redis database 11 (broker and cache,
prefixed `bench-faults`), runs a Celery worker subprocess and serves the webhook
receivers from a thread (the simulator delivers its webhooks there).

The workload itself (`run_workload`) is shared with the test: settings are the caller's
(short read timeout, small breaker cooldown, fast lanes), see `FAST_SETTINGS`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG, ROOT, recreate_database, stop_process

DB_NAME = "sb_bench_faults"
REDIS = "redis://127.0.0.1:6379/11"
KINDS = ["500", "timeout", "garbage", "business", "busy"]

# What the workload needs from the settings (the test applies them with pytest-django's
# `settings`, the bench through the environment of both processes).
FAST_SETTINGS: dict[str, Any] = {
    "UPSTREAM_READ_TIMEOUT": 1.0,  # a "timeout" fault costs about a second, not 15 s
    "UPSTREAM_CONNECT_TIMEOUT": 1.0,
    "UPSTREAM_BREAKER_THRESHOLD": 5,
    "UPSTREAM_BREAKER_COOLDOWN": 2.0,
    "ACTION_LANE_INTERVAL": 0.3,
    "ACTION_FIRST_POLL_DELAY": 0.1,
    "ACTION_POLL_INTERVAL": 0.2,
    "ACTION_RETRY_DELAY": 0.2,
    "ACTION_AMBIGUOUS_HOLD": 1.0,
    "ACTION_RESULT_DEADLINE": 8.0,
    "QRLOGIN_LOCK_SECONDS": 6.0,
    # One agent opens Config.sessions logins at once here (a load scenario); the per-agent
    # cap itself is tested in qrlogin/tests/test_abuse.py.
    "QR_SESSIONS_MAX_OPEN": 16,
}
SIM_OPTIONS = {"lock_seconds": 6, "action_delay": 0.05, "action_login_wait": 1.0}
CHUNK = 6  # bulk job chunk (accounts per vendor call): several calls per job, several faults


@dataclass
class Config:
    accounts: int = 36
    sessions: int = 9
    lanes: int = 3
    per_lane: int = 4
    rate: float = 0.3
    seed: int = 7
    fault_timeout: float = 1.5  # the simulator holds a "timeout" answer this long
    settle: float = 90.0


@dataclass
class Report:
    numbers: list[str] = field(default_factory=list)
    first_pass: dict[str, Counter[str]] = field(default_factory=dict)
    final: dict[str, Counter[str]] = field(default_factory=dict)
    reasons_missing: list[str] = field(default_factory=list)
    reconcile_errors_under_faults: int = 0
    reconcile_errors_after: dict[str, str] = field(default_factory=dict)
    breaker_opened: bool = False
    breaker_recovered: bool = False
    breaker_states: list[str] = field(default_factory=list)
    faults_injected: Counter[str] = field(default_factory=Counter)
    vendor_calls: int = 0
    lost: list[str] = field(default_factory=list)
    # Before anyone retries: each imported number is either done on both sides, or failed
    # with a reason a person can act on; anything else was lost by the product itself.
    unaccounted_first_pass: list[str] = field(default_factory=list)
    opened_twice: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [
            f"vendor calls: {self.vendor_calls}; faults injected: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.faults_injected.items())),
            f"breaker: opened={self.breaker_opened} recovered={self.breaker_recovered} "
            f"({' -> '.join(self.breaker_states)})",
            f"reconcile under faults: {self.reconcile_errors_under_faults} polls failed; "
            f"after: {len(self.reconcile_errors_after)} failed",
        ]
        for title, table in (("under faults", self.first_pass), ("final", self.final)):
            for kind, counts in table.items():
                pretty = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
                out.append(f"{title:>12}  {kind:<16} {pretty}")
        out += [f"  {n:4d}  {why}" for why, n in sorted(self.reasons.items())]
        out.append(
            f"unaccounted before any retry: {len(self.unaccounted_first_pass)}; "
            f"lost: {len(self.lost)}; opened twice: {len(self.opened_twice)}; "
            f"stuck: {len(self.stuck)}; final states without a reason: "
            f"{len(self.reasons_missing)}"
        )
        return out


def _unaccounted(sim: Any, import_job: Any, numbers: list[str]) -> list[str]:
    """The import's first pass, judged before any retry: a number whose item is done must
    exist on both sides; a failed one must say why; none may be pending or missing."""
    from accounts.models import WhatsAppAccount

    items = {i.whatsapp: i for i in import_job.items.all()}
    ours = set(
        WhatsAppAccount.objects.filter(whatsapp__in=numbers).values_list("whatsapp", flat=True)
    )
    with sim.state.lock:
        theirs = set(sim.state.accounts)
    out: list[str] = []
    for n in numbers:
        item = items.get(n)
        if item is None:
            out.append(f"{n}: no item")
        elif item.state == "ok" and not (n in ours and n in theirs):
            out.append(f"{n}: ok but ours={n in ours} theirs={n in theirs}")
        elif item.state == "failed" and not item.error:
            out.append(f"{n}: failed without a reason")
        elif item.state not in ("ok", "failed"):
            out.append(f"{n}: {item.state}")
    return out


def wait_until(
    predicate: Callable[[], bool], timeout: float, tick: Callable[[], None] | None = None
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if tick:
            tick()
        time.sleep(0.25)
    return predicate()


def beat() -> None:
    """What Celery beat would send (the sweeps and re-arms); cheap when idle."""
    from actions.tasks import dispatch_lanes, poll_results, sweep_actions
    from qrlogin.tasks import expire_sessions
    from webhooks.tasks import sweep_webhook_events

    for task in (sweep_actions, dispatch_lanes, poll_results, expire_sessions):
        task.delay()
    sweep_webhook_events.delay()


class Beat:
    """`beat()` at most every `every` seconds."""

    def __init__(self, every: float = 1.0) -> None:
        self.every, self.last = every, 0.0

    def __call__(self) -> None:
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            beat()


def _import_file(numbers: list[str]) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows = [
        {
            "whatsApp": n,
            "name": f"fault {n[-4:]}",
            "whatsappType": 1,
            "publicKey": f"pub-{n}",
            "privateKey": f"priv-{n}",
            "msgPublicKey": f"mpub-{n}",
            "msgPrivateKey": f"mpriv-{n}",
            "accountId": f"acct-{n}",
        }
        for n in numbers
    ]
    body = json.dumps({"whatsAppList": rows}).encode()
    return SimpleUploadedFile("fault-import.json", body, content_type="application/json")


def _bulk_counts(job: Any) -> Counter[str]:
    counts: Counter[str] = Counter(job.items.values_list("state", flat=True))
    counts[f"job {job.state}"] = 1
    return counts


def _jobs_done(*jobs: Any) -> bool:
    from accounts.models import BulkJob

    return (
        not BulkJob.objects.filter(pk__in=[j.pk for j in jobs])
        .exclude(state__in=[BulkJob.State.DONE, BulkJob.State.CANCELLED])
        .exists()
    )


def setup_people(sim: Any) -> tuple[Any, Any]:
    """A supervisor and an agent (Agent fault01, logged in at the vendor)."""
    from django.contrib.auth.models import Group, User

    from accounts.models import Agent
    from core.groups import ensure_groups
    from core.roles import Role

    ensure_groups()
    sup, _ = User.objects.get_or_create(username="fault-sup")
    sup.groups.add(Group.objects.get(name=Role.SUPERVISOR.value))
    agent_user, _ = User.objects.get_or_create(username="fault-agent")
    agent_user.groups.add(Group.objects.get(name=Role.AGENT.value))
    Agent.objects.update_or_create(
        agent_account="fault01",
        defaults={"user": agent_user, "user_name": "fault01", "upstream_user_id": "70001"},
    )
    sim.state.upsert_agent(user_id=70001, agent_account="fault01")
    return sup, agent_user


def setup_lanes(sim: Any, cfg: Config) -> list[tuple[str, str]]:
    """Agent/account pairs logged in here and at the vendor; the last one is offline at
    the vendor (its actions fail after the vendor's login wait)."""
    from accounts.models import Agent, WhatsAppAccount

    pairs = []
    for lane in range(cfg.lanes):
        agent_account, whatsapp = f"lane{lane:02d}", f"86177{lane:08d}"
        agent, _ = Agent.objects.get_or_create(
            agent_account=agent_account, defaults={"upstream_user_id": str(71000 + lane)}
        )
        WhatsAppAccount.objects.update_or_create(
            whatsapp=whatsapp,
            defaults={
                "agent": agent,
                "agent_account": agent_account,
                "online_status": 2,
                "presence_status": 10,
            },
        )
        sim.state.upsert_agent(user_id=71000 + lane, agent_account=agent_account)
        vendor_online = lane < cfg.lanes - 1 or cfg.lanes == 1
        sim.state.set_account(whatsapp, online=vendor_online, agent_account=agent_account)
        pairs.append((agent_account, whatsapp))
    return pairs


def run_workload(sim: Any, cfg: Config, *, log: Callable[[str], None] = print) -> Report:
    """Drive the demo workload through the real services; a Celery worker (the caller's)
    runs the jobs; the simulator delivers webhooks to the caller's server."""
    from django.conf import settings

    from accounts.models import BulkJob, WhatsAppAccount
    from accounts.services import fleet, imports
    from accounts.services.reconcile import upstream_reconcile
    from actions.models import SETTLED_STATES, Action
    from actions.services.intake import ActionSpec, actions_queue
    from qrlogin.models import FINAL_STATES, QrSession
    from qrlogin.services.sessions import qr_session_start
    from upstream import breaker, operations
    from upstream.errors import UpstreamProblem
    from webhooks.models import WebhookEvent

    report = Report()
    tick = Beat(1.0)
    sup, agent_user = setup_people(sim)
    pairs = setup_lanes(sim, cfg)
    report.numbers = [f"86155{i:07d}" for i in range(cfg.accounts)]

    log(f"faults on: {cfg.rate:.0%} of vendor calls, kinds {KINDS}")
    sim.set_faults(cfg.rate, KINDS, timeout_seconds=cfg.fault_timeout, seed=cfg.seed)

    # 1. Import, then bring the imported accounts online (both run by the worker).
    parsed = imports.import_parse(upload=_import_file(report.numbers))
    job = imports.import_stage(actor=sup, result=parsed, filename="fault-import.json")
    import_job = imports.import_confirm(actor=sup, job=job)

    # 2. Actions on a few lanes (the dispatcher and the poller run in the worker).
    specs = [
        ActionSpec(
            agent_account=a,
            whatsapp=w,
            friend_whatsapp=f"5731{lane:03d}{n:05d}",
            platform=1,
            content="fault run",
        )
        for n in range(cfg.per_lane)
        for lane, (a, w) in enumerate(pairs)
    ]
    actions_queue(user=sup, specs=specs)

    # 3. QR logins: the agent starts sessions (two interactive calls each, in this process).
    sessions = [qr_session_start(user=agent_user, pc_type=1) for _ in range(cfg.sessions)]

    wait_until(lambda: _jobs_done(import_job), cfg.settle, tick)
    imported = list(WhatsAppAccount.objects.filter(whatsapp__in=report.numbers))
    online_job = (
        fleet.bulk_job_create(actor=sup, kind=BulkJob.Kind.ONLINE, accounts=imported)
        if imported
        else None
    )

    # The phone scans: most sessions succeed, one fails, the rest are left to expire.
    showing = [s for s in sessions if s.port_id]
    for i, session in enumerate(showing):
        if i % 3 == 2:
            continue  # nobody scans: the lock ends, the sweep expires it
        try:
            sim.scan(session.port_id, f"86166{session.pk:07d}", ok=(i % 3 == 0))
        except Exception as exc:  # a port the vendor already released
            log(f"scan of session {session.pk} refused: {exc}")

    # 4. A reconcile pass under faults (a part may fail; it says which).
    report.reconcile_errors_under_faults = len(upstream_reconcile().errors)

    jobs = [j for j in (import_job, online_job) if j is not None]
    wait_until(lambda: _jobs_done(*jobs), cfg.settle, tick)
    for j in jobs:
        j.refresh_from_db()
        report.first_pass[f"bulk {j.kind}"] = _bulk_counts(j)

    # 5. A burst: every call fails with HTTP 500 until the breaker opens.
    sim.set_faults(1.0, ["500"])
    for _ in range(int(settings.UPSTREAM_BREAKER_THRESHOLD) * 4):
        if breaker.breaker_state() == breaker.OPEN:
            break
        with contextlib.suppress(UpstreamProblem):
            operations.select_cloud_port()
    report.breaker_states.append(breaker.breaker_state())
    report.breaker_opened = report.breaker_states[-1] == breaker.OPEN
    log(f"burst: breaker {report.breaker_states[-1]}")

    # 6. Faults stop. After the cooldown one probe closes the breaker.
    sim.set_faults(0, [])
    time.sleep(float(settings.UPSTREAM_BREAKER_COOLDOWN) + 0.2)
    report.breaker_states.append(breaker.breaker_state())

    def probe() -> bool:
        try:
            operations.select_cloud_port()
        except UpstreamProblem:
            return False
        return breaker.breaker_state() == breaker.CLOSED

    report.breaker_recovered = wait_until(probe, 10.0)
    report.breaker_states.append(breaker.breaker_state())
    log(f"faults off: breaker {' -> '.join(report.breaker_states)}")

    # 7. Let the sweeps and polls settle everything, then retry what failed (what a
    # supervisor does with the "Retry the failed accounts" button).
    def settled() -> bool:
        open_actions = Action.objects.exclude(state__in=SETTLED_STATES).exists()
        open_sessions = QrSession.objects.exclude(state__in=FINAL_STATES).exists()
        return not open_actions and not open_sessions and _jobs_done(*jobs)

    wait_until(settled, cfg.settle, tick)
    report.first_pass["actions"] = Counter(Action.objects.values_list("state", flat=True))
    report.first_pass["qr sessions"] = Counter(QrSession.objects.values_list("state", flat=True))
    report.unaccounted_first_pass = _unaccounted(sim, import_job, report.numbers)
    for j in jobs:
        j.refresh_from_db()
        if j.finished and fleet.bulk_job_retry_failed(actor=sup, job=j):
            log(f"retrying the failed items of {j}")
    if online_job is None:  # nothing was imported under faults: bring them online now
        imported = list(WhatsAppAccount.objects.filter(whatsapp__in=report.numbers))
        if imported:
            online_job = fleet.bulk_job_create(
                actor=sup, kind=BulkJob.Kind.ONLINE, accounts=imported
            )
            jobs.append(online_job)
    wait_until(lambda: _jobs_done(*jobs), cfg.settle, tick)
    # The import's retry may have added accounts the online job never saw: one more job.
    missing_online = WhatsAppAccount.objects.filter(whatsapp__in=report.numbers).exclude(
        whatsapp__in=[i.whatsapp for j in jobs if j.kind == "online" for i in j.items.all()]
    )
    if missing_online.exists():
        jobs.append(
            fleet.bulk_job_create(
                actor=sup, kind=BulkJob.Kind.ONLINE, accounts=list(missing_online)
            )
        )
        wait_until(lambda: _jobs_done(*jobs), cfg.settle, tick)

    after = upstream_reconcile()
    report.reconcile_errors_after = dict(after.errors)

    # Every webhook the vendor sent must be applied, not only stored: wait for the
    # simulator's deliveries, then for the inbox to drain (the worker applies them).
    sim.wait_deliveries(cfg.settle)
    waiting = WebhookEvent.objects.exclude(state__in=["processed", "rejected"])
    wait_until(lambda: not waiting.exists(), cfg.settle, tick)
    report.stuck += [f"webhook event {pk} {st}" for pk, st in waiting.values_list("pk", "state")]

    # 8. What a person sees, and what must not be lost.
    for j in jobs:
        j.refresh_from_db()
        key = f"bulk {j.kind}"
        report.final[key] = report.final.get(key, Counter()) + _bulk_counts(j)
        if not j.finished:
            report.stuck.append(f"{j}")
        for item in j.items.all():
            if item.state == "pending":
                report.stuck.append(f"{j} item {item.whatsapp}")
            if item.state == "failed" and not item.error:
                report.reasons_missing.append(f"{j} item {item.whatsapp}")
            elif item.state == "failed":
                report.reasons[f"bulk {j.kind} failed: {item.error[:70]}"] += 1
    report.final["actions"] = Counter(Action.objects.values_list("state", flat=True))
    for action in Action.objects.all():
        if action.state not in SETTLED_STATES:
            report.stuck.append(f"action {action.pk} {action.state}")
        elif not action.reason:
            report.reasons_missing.append(f"action {action.pk} {action.state}")
        elif action.state != "succeeded":
            report.reasons[f"action {action.state}: {action.reason[:70]}"] += 1
    report.final["qr sessions"] = Counter(QrSession.objects.values_list("state", flat=True))
    for session in QrSession.objects.all():
        if session.state not in FINAL_STATES:
            report.stuck.append(f"qr session {session.pk} {session.state}")
        elif session.state != QrSession.State.SUCCEEDED and not session.reason:
            report.reasons_missing.append(f"qr session {session.pk} {session.state}")
        elif session.state != QrSession.State.SUCCEEDED:
            report.reasons[f"qr {session.state}: {session.reason[:70]}"] += 1

    ours = set(WhatsAppAccount.objects.values_list("whatsapp", flat=True))
    with sim.state.lock:
        theirs = set(sim.state.accounts)
        opened = Counter(o["friendWhatsId"] for o in sim.state.opened)
    report.lost = [n for n in report.numbers if n not in ours or n not in theirs]
    report.opened_twice = [friend for friend, n in opened.items() if n > 1]
    calls = sim.calls()
    report.vendor_calls = len(calls)
    report.faults_injected = Counter(c["fault"] for c in calls if c.get("fault"))
    return report


# --- the bench: its own database, a worker subprocess, a webhook server thread ---------


def _serve_webhooks() -> tuple[str, Any]:
    """The Django app on a free port in a thread (the simulator posts webhooks to it)."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

    class Threaded(WSGIServer):
        def process_request(self, request: Any, client_address: Any) -> None:
            threading.Thread(
                target=self._handle, args=(request, client_address), daemon=True
            ).start()

        def _handle(self, request: Any, client_address: Any) -> None:
            try:
                self.finish_request(request, client_address)
            finally:
                self.shutdown_request(request)

    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=Threaded, handler_class=Quiet
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def worker_main() -> None:
    """`python bench/faults.py --worker`: a Celery worker with the bench's chunk size."""
    import django

    django.setup()
    from accounts.services import fleet
    from config.celery import app

    fleet.CHUNK = CHUNK
    app.worker_main(
        [
            "worker",
            "-Q",
            "fast,slow",
            "-P",
            "threads",
            "-c",
            "4",
            "--loglevel",
            os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


SCENARIO_COMMANDS = """scenarios (--save writes figures to artifacts/bench/; docs/testing.md):
  pg-restart-ingest     PostgreSQL restarted during webhook ingest
      --scenario pg-restart-ingest --deliveries 150 --size 10 --pace 15 --down 4 --save
  redis-restart-bulk    Redis (broker and cache) restarted during a bulk job
      --scenario redis-restart-bulk --accounts 48 --down 4 --save
  web-kill-streams      the web (gunicorn, uvicorn workers) SIGKILLed with --streams
                        live streams and --browsers Chromium pages open, started again
      --scenario web-kill-streams --streams 100 --accounts 40 --changes 10 --down 5 --save
  worker-kill-lane      the Celery worker SIGKILLed mid-way through open-chat lanes and
                        a bulk online job, started again (real celery beat)
      --scenario worker-kill-lane --lanes 4 --per-lane 6 --accounts 150 --down 3 --save
  broker-vanish-worker  a worker's Redis broker killed (then frozen) for --down seconds
      --scenario broker-vanish-worker --down 20 --save
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description="The demo workload under vendor faults; or, with --scenario, one of\n"
        "the product's own services restarted or killed under load.",
        epilog=SCENARIO_COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--per-lane", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    # The restart scenarios (bench/fault_restarts.py): private PostgreSQL and Redis.
    parser.add_argument(
        "--scenario",
        choices=[
            "pg-restart-ingest",
            "redis-restart-bulk",
            "web-kill-streams",
            "worker-kill-lane",
            "broker-vanish-worker",
        ],
        help="restart or kill one of the product's own services under load (private "
        "PostgreSQL and Redis; bench/fault_restarts.py, bench/fault_kills.py): "
        "pg-restart-ingest (PostgreSQL restarted during webhook ingest), redis-restart-bulk "
        "(Redis restarted during a bulk job), web-kill-streams (the web process SIGKILLed "
        "with --streams live streams open, then started again), worker-kill-lane (the Celery "
        "worker SIGKILLed mid-way through open-chat lanes and a bulk job), "
        "broker-vanish-worker (a worker's Redis broker killed for --down seconds)",
    )
    parser.add_argument("--deliveries", type=int, default=150)
    parser.add_argument("--size", type=int, default=10, help="records per delivery")
    parser.add_argument("--pace", type=float, default=15.0, help="deliveries per second")
    parser.add_argument("--down", type=float, default=4.0, help="seconds the service is down")
    parser.add_argument("--streams", type=int, default=100, help="web-kill-streams: open pages")
    parser.add_argument(
        "--changes", type=int, default=10, help="web-kill-streams: vendor changes while down"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="web-kill-streams: uvicorn")
    parser.add_argument(
        "--browsers", type=int, default=3, help="web-kill-streams: Chromium pages besides"
    )
    parser.add_argument("--save", action="store_true", help="write artifacts/bench/faults-*.txt")
    args = parser.parse_args()
    if args.scenario:
        from bench.fault_restarts import run

        command = "python bench/faults.py " + " ".join(sys.argv[1:])
        lines = run(args.scenario, args, command)
        print("\n".join(lines))
        if args.save:
            out = ROOT / "artifacts" / "bench"
            out.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            (out / f"faults-{args.scenario}-{stamp}.txt").write_text("\n".join(lines) + "\n")
        return

    if args.worker and os.environ.get("BENCH_FAULTS_OWN_STACK"):
        worker_main()  # a restart scenario's worker: its private PostgreSQL and Redis
        return
    env = {
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": REDIS,
        "CACHE_URL": REDIS.replace("redis://", "rediscache://"),
        "CACHE_KEY_PREFIX": "bench-faults",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **{k: str(v) for k, v in FAST_SETTINGS.items()},
    }
    os.environ.update(env)
    os.chdir(ROOT)
    if args.worker:
        worker_main()
        return

    recreate_database(DB_NAME, env)

    import django

    django.setup()
    from django.conf import settings

    from accounts.services import fleet
    from config.celery import app
    from simulator.server import start_simulator
    from upstream.breaker import reset as breaker_reset

    # Settings that are not read from the environment (they have code defaults).
    for name, value in FAST_SETTINGS.items():
        setattr(settings, name, value)
    fleet.CHUNK = CHUNK
    breaker_reset()
    url, server = _serve_webhooks()
    sim = start_simulator("127.0.0.1", 0, url, backoff_base=0.1, backoff_cap=2.0, tick=0.05)
    sim.set_options(**SIM_OPTIONS)
    sim.set_action_interval(float(settings.ACTION_LANE_INTERVAL))
    os.environ["UPSTREAM_BASE_URL"] = sim.url
    settings.UPSTREAM_BASE_URL = sim.url

    app.control.purge()
    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        env=os.environ,
        start_new_session=True,
    )
    started = time.monotonic()
    try:
        if not wait_until(lambda: bool(app.control.ping(timeout=0.5)), 30.0):
            print("the Celery worker did not answer a ping in 30 s")
            return
        cfg = Config(
            accounts=args.accounts,
            sessions=args.sessions,
            lanes=args.lanes,
            per_lane=args.per_lane,
            rate=args.rate,
            seed=args.seed,
        )
        report = run_workload(sim, cfg)
    finally:
        stop_process(worker, 30)
        sim.stop()
        server.shutdown()
    print(f"fault run: {time.monotonic() - started:.0f} s")
    for line in report.lines():
        print(line)


if __name__ == "__main__":
    main()
