"""Commits with and without NOTIFY. Run: `.venv/bin/python bench/notify_commits.py`.

A transaction that notifies takes PostgreSQL's one notification lock at commit and holds it
until its commit record is flushed to disk, so notifying commits run one at a time while
plain ones share their WAL flushes (group commit). This measures both on the machine it
runs on: --threads connections, each committing one-row INSERTs in autocommit for
--seconds, plain (the floor) and then each with a `pg_notify` in the same statement, as the
webhook receiver once stored each delivery. Its own database (BENCH_DB_PREFIX).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DB_PREFIX, PG, load_line, pct

DB = f"{DB_PREFIX}sb_bench_notify"
PLAIN = "INSERT INTO probe (v) VALUES ('x')"
NOTIFYING = (
    "WITH ins AS (INSERT INTO probe (v) VALUES ('x') RETURNING id)"
    " SELECT id, pg_notify('sb_bench_notify', 'x') FROM ins"
)


def run(sql: str, threads: int, seconds: float) -> tuple[float, list[float]]:
    import psycopg

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def work() -> None:
        mine = []
        with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                conn.execute(sql)
                mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(latencies) / (time.monotonic() - t0), latencies


def main() -> None:
    import psycopg

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=2, help="plain then notifying, this many times")
    args = ap.parse_args()
    print(f"$ {' '.join(['.venv/bin/python', 'bench/notify_commits.py', *sys.argv[1:]])}")
    print(f"at the start: {load_line()}", flush=True)
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        conn.execute("CREATE TABLE probe (id bigserial PRIMARY KEY, v text)")
        for setting in ("synchronous_commit", "wal_sync_method", "commit_delay"):
            print(f"{setting}: {conn.execute(f'SHOW {setting}').fetchone()[0]}")  # type: ignore[index]
    for _ in range(args.rounds):
        for label, sql in (("plain commits (floor)", PLAIN), ("commits with NOTIFY", NOTIFYING)):
            rate, lat = run(sql, args.threads, args.seconds)
            print(
                f"{label}: {rate:.0f}/s with {args.threads} connections;"
                f" each p50 {pct(lat, 50) * 1000:.1f} ms p95 {pct(lat, 95) * 1000:.1f} ms",
                flush=True,
            )
    print(f"at the end: {load_line()}")
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
