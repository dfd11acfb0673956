#!/usr/bin/env python
"""Ways of removing a detached month of the status history, each on a fresh copy of one
seeded database, while a writer inserts into the live month every 5 ms.

    .venv/bin/python bench/history.py --db retention_month --months 2 --events 16666666 --seed-only
    .venv/bin/python bench/month_drop.py --template retention_month --ways drop,indexes,truncate

The template is copied (CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY) for each way,
its oldest month detached and then removed:

- drop: one DROP TABLE (what core.history does)
- indexes: the month's key and unique constraints, then its indexes, one statement each,
  then the table
- truncate: TRUNCATE, then DROP TABLE

For each statement: its time, the writer's longest insert while it ran and what the
writer's backend waited on (pg_stat_activity, sampled every 2 ms); with --strace, the
truncate()/unlink() calls of the retention backend with their times (strace -T).
--cold evicts the month's files from the page cache first (posix_fadvise DONTNEED), as
for a month that has left memory. Uses its own copies only; drops them at the end.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.common import PG, load_line  # noqa: E402

TABLE = "accounts_statusevent"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--template", required=True, help="a database seeded by bench/history.py")
    p.add_argument("--db", default="", help="the copy's name (default: <template>_copy)")
    p.add_argument("--ways", default="drop,indexes,truncate")
    p.add_argument("--cold", action="store_true")
    p.add_argument("--strace", action="store_true")
    p.add_argument("--datadir", default="/var/lib/postgresql/15/main")
    return p.parse_args()


def copy_make(template: str, name: str) -> float:
    t0 = time.perf_counter()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return time.perf_counter() - t0


def statements(conn: psycopg.Connection, way: str, name: str) -> list[tuple[str, str]]:
    drop = [("drop table", f'DROP TABLE "{name}"')]
    if way == "drop":
        return drop
    if way == "truncate":
        return [("truncate", f'TRUNCATE "{name}"'), *drop]
    constraints = [
        r[0]
        for r in conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass"
            " AND contype IN ('p', 'u')",
            [name],
        )
    ]
    indexes = [
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary",
            [name],
        )
    ]
    return [
        *(
            (f"drop constraint {c}", f'ALTER TABLE "{name}" DROP CONSTRAINT "{c}"')
            for c in constraints
        ),
        *((f"drop index {i}", f'DROP INDEX "{i}"') for i in indexes),
        *drop,
    ]


def month_files(conn: psycopg.Connection, datadir: str, name: str) -> list[str]:
    rels = [
        r[0]
        for r in conn.execute(
            "SELECT pg_relation_filepath(x) FROM (SELECT %s::regclass AS x UNION ALL"
            " SELECT indexrelid::regclass FROM pg_index WHERE indrelid = %s::regclass) y",
            [name, name],
        )
    ]
    return [f for rel in rels for f in glob.glob(f"{datadir}/{rel}*")]


def one(conn: psycopg.Connection, sql: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def way_run(args: argparse.Namespace, way: str, db: str) -> None:
    took = copy_make(args.template, db)
    url = f"{PG}/{db}"
    main = psycopg.connect(url, autocommit=True)
    name = one(
        main,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass AND c.relname ~ '_p[0-9]{6}$' ORDER BY 1 LIMIT 1",
        [TABLE],
    )
    rows = one(main, f'SELECT count(*) FROM "{name}"')
    size = one(main, "SELECT pg_total_relation_size(%s)", [name])
    main.execute("CHECKPOINT")  # the copy's own writes are not the removal's
    cold = ""
    if args.cold:
        files = month_files(main, args.datadir, name)
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
        cold = f", {len(files)} files evicted from the page cache"
    print(
        f"== {way}: {name}, {rows:,} rows, {size / 2**30:.2f} GiB (copy made in {took:.0f} s{cold})"
        f" [{load_line()}]",
        flush=True,
    )
    stop = threading.Event()
    inserts: list[tuple[float, float]] = []
    samples: list[tuple[float, str]] = []
    writer_pid: list[int] = []

    def writer() -> None:
        with psycopg.connect(url, autocommit=True) as w:
            writer_pid.append(w.info.backend_pid)
            i = 0
            while not stop.is_set():
                a = time.perf_counter()
                w.execute(
                    f"INSERT INTO {TABLE} (whatsapp, status, agent_account, event_time,"
                    " received_at, source, dedupe_key) VALUES (%s, 10, '', now(), now(),"
                    " 'webhook', %s)",
                    ["570000000001", f"bench-drop-{time.time_ns()}-{i}"],
                )
                inserts.append((a, time.perf_counter()))
                i += 1
                time.sleep(0.005)

    def sampler() -> None:
        with psycopg.connect(url, autocommit=True) as s:
            while not writer_pid:
                time.sleep(0.01)
            while not stop.is_set():
                row = s.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')"
                    " FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
                    [writer_pid[0]],
                ).fetchone()
                if row:
                    samples.append((time.perf_counter(), row[0]))
                time.sleep(0.002)

    threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    before = max(b - a for a, b in inserts) * 1000
    trace = None
    trace_file = ROOT / "var" / f"month-drop-strace-{way}.txt"
    if args.strace:
        trace_file.parent.mkdir(parents=True, exist_ok=True)
        trace = subprocess.Popen(
            [
                *("strace", "-T", "-e", "trace=truncate,ftruncate,unlink"),
                *("-o", str(trace_file), "-p", str(main.info.backend_pid)),
            ],
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
    steps: list[tuple[str, float, float]] = []
    t0 = time.perf_counter()
    a = time.perf_counter()
    main.execute(f'ALTER TABLE {TABLE} DETACH PARTITION "{name}"')
    steps.append(("detach (the parent's lock)", a, time.perf_counter()))
    for label, sql in statements(main, way, name):
        a = time.perf_counter()
        main.execute(sql)  # autocommit: each statement its own transaction
        steps.append((label, a, time.perf_counter()))
    t1 = time.perf_counter()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    if trace is not None:
        trace.terminate()
        trace.wait()
    main.close()
    for label, a, b in steps:
        during = [y - x for x, y in inserts if y >= a and x <= b]
        waits = Counter(w for at, w in samples if a <= at <= b)
        print(
            f"  {label:68} {(b - a) * 1000:7.0f} ms; writer longest"
            f" {max(during, default=0) * 1000:4.0f} ms; waits {dict(waits.most_common(3))}"
        )
    during = [y - x for x, y in inserts if y >= t0 and x <= t1]
    waits = Counter(w for at, w in samples if t0 <= at <= t1)
    print(
        f"  total {(t1 - t0) * 1000:.0f} ms; writer {len(during)} inserts during it, longest"
        f" {max(during, default=0) * 1000:.0f} ms (before it {before:.0f} ms); writer waits"
        f" {dict(waits.most_common(4))} [{load_line()}]",
        flush=True,
    )
    if trace is not None:
        calls = [line for line in trace_file.read_text().splitlines() if "<" in line]
        spent = sum(float(line.rsplit("<", 1)[1].rstrip(">")) for line in calls)
        slowest = sorted(calls, key=lambda line: -float(line.rsplit("<", 1)[1].rstrip(">")))[:3]
        print(f"  strace: {len(calls)} truncate/unlink calls, {spent * 1000:.0f} ms in them")
        for line in slowest:
            print(f"    {line}")


def main() -> None:
    args = parse()
    db = args.db or f"{args.template}_copy"
    print(f"start: {load_line()}", flush=True)
    try:
        for way in [w.strip() for w in args.ways.split(",") if w.strip()]:
            way_run(args, way, db)
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}"')
    print(f"end: {load_line()}")


if __name__ == "__main__":
    main()
