"""Open-chat lanes at full speed: 200 lanes x 10 actions against the simulator, with the
interval shrunk to 0.5 s in both the simulator and the lanes, dispatched by a real Celery
worker on PostgreSQL + Redis. Prints figures; asserts nothing.

    .venv/bin/python bench/actions.py [--lanes 200] [--per-lane 10] [--interval 0.5]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379. It
(re)creates its own database `sb_bench_actions` and uses Redis database 12 (broker and
cache, prefixed `bench-actions`). Figures:

- ratio: makespan / ideal, where the makespan runs from the first action's arrival at the
  simulator to the last one's, and ideal = (per-lane - 1) x interval (4.5 s by default);
- violations: the simulator's count of two actions of one pair closer than the interval.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG, ROOT, recreate_database, start_worker, stop_process, wait_for_workers

DB_NAME = "sb_bench_actions"
REDIS = "redis://127.0.0.1:6379/12"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=200)
    parser.add_argument("--per-lane", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    env = {
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": REDIS,
        "CACHE_URL": REDIS.replace("redis://", "rediscache://"),
        "CACHE_KEY_PREFIX": "bench-actions",
        "ACTION_LANE_INTERVAL": str(args.interval),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    os.chdir(ROOT)
    recreate_database(DB_NAME, env)

    import django

    django.setup()
    from django.conf import settings

    from accounts.models import Agent, WhatsAppAccount
    from actions.models import Action, State
    from actions.services.intake import ActionSpec, actions_queue
    from config.celery import app
    from simulator.server import start_simulator

    sim = start_simulator(
        "127.0.0.1", 0, None, action_interval=args.interval, action_delay=0.05, tick=0.05
    )
    os.environ["UPSTREAM_BASE_URL"] = sim.url
    settings.UPSTREAM_BASE_URL = sim.url

    # The fleet: agents of 10 accounts each, all logged in here and at the vendor.
    pairs: list[tuple[str, str]] = []
    for lane in range(args.lanes):
        agent_account = f"bench{lane // 10:03d}"
        whatsapp = f"8613{lane:09d}"
        pairs.append((agent_account, whatsapp))
    for n, agent_account in enumerate(sorted({a for a, _w in pairs})):
        Agent.objects.get_or_create(agent_account=agent_account)
        sim.state.upsert_agent(user_id=100000 + n, agent_account=agent_account)
    agents = {a.agent_account: a for a in Agent.objects.all()}
    WhatsAppAccount.objects.bulk_create(
        [
            WhatsAppAccount(
                whatsapp=w,
                agent=agents[a],
                agent_account=a,
                online_status=2,
                presence_status=10,
            )
            for a, w in pairs
        ]
    )
    for a, w in pairs:
        sim.state.set_account(w, online=True, agent_account=a)

    # Celery may not have its queues purged from an earlier run.
    app.control.purge()
    worker = start_worker(
        env,
        queues="fast,slow",
        concurrency=args.concurrency,
        log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    try:
        if not wait_for_workers(app, 1, 30):
            print("the Celery worker did not answer a ping in 30 s")
            return

        specs = [
            ActionSpec(
                agent_account=a,
                whatsapp=w,
                friend_whatsapp=f"55{lane:05d}{n:04d}",
                platform=1,
                content="bench",
            )
            for n in range(args.per_lane)
            for lane, (a, w) in enumerate(pairs)
        ]
        total = len(specs)
        queued_at = time.time()
        actions_queue(user=None, specs=specs)
        deadline = time.monotonic() + 60 + args.per_lane * args.interval * 4
        while time.monotonic() < deadline:
            waiting = Action.objects.filter(state__in=[State.QUEUED, State.SENDING]).count()
            if waiting == 0:
                break
            time.sleep(0.25)
        states = {s: Action.objects.filter(state=s).count() for s in State if s != State.CANCELLED}
    finally:
        stop_process(worker, 40)  # warm shutdown: running tasks finish

    with sim.state.lock:
        arrivals = [act.arrived for act in sim.state.actions.values()]
        per_pair: dict[tuple[str, str], list[float]] = {}
        for act in sim.state.actions.values():
            per_pair.setdefault((act.agent_account, act.whats_id), []).append(act.arrived)
        violations = list(sim.state.violations)
    calls = sim.calls("/open/action/batchAdd")
    sim.stop()

    if not arrivals:
        print("nothing reached the simulator")
        return
    makespan = max(arrivals) - min(arrivals)
    ideal = (args.per_lane - 1) * args.interval
    gaps = [
        b - a
        for times in per_pair.values()
        for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    lane_spans = [max(t) - min(t) for t in per_pair.values() if len(t) > 1]
    print(f"lanes x actions        : {args.lanes} x {args.per_lane} = {total}")
    print(f"interval               : {args.interval} s (simulator and lanes)")
    print(f"actions at simulator   : {len(arrivals)} in {len(calls)} batchAdd calls")
    print(f"first send after queue : {min(arrivals) - queued_at:.3f} s")
    print(f"makespan               : {makespan:.3f} s (first to last arrival)")
    print(f"ideal makespan         : {ideal:.3f} s")
    print(f"ratio                  : {makespan / ideal:.4f}" if ideal else "ratio: n/a")
    if gaps:
        gaps.sort()
        print(
            f"gaps within a lane     : min {gaps[0]:.4f} s, median {statistics.median(gaps):.4f}"
            f" s, p99 {gaps[int(len(gaps) * 0.99) - 1]:.4f} s, max {gaps[-1]:.4f} s"
        )
    if lane_spans:
        print(f"slowest lane span      : {max(lane_spans):.3f} s")
    print(f"spacing violations     : {len(violations)}")
    print(f"final states           : { {str(k): v for k, v in states.items() if v} }")


if __name__ == "__main__":
    main()
