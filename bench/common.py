"""Helpers shared by the bench scripts: the machine's load, percentiles, a fresh database,
Celery worker processes, and the database and broker counters read around a run.

Every figure a bench prints should be printed next to `load_line()`: on a shared 2-core
machine a figure without the load average beside it cannot be compared with another.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# Several benches (or people) on one machine: each its own databases (this prefix) and its
# own Redis database (broker queues and cache), so one run never drains another's queues.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))


@dataclass(frozen=True)
class WsgiAnswer:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    content: bytes


def wsgi_call(
    application: Any,
    path: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> WsgiAnswer:
    """One request through a WSGI application, in this process, as gunicorn (or a2wsgi)
    makes it: the environ, the body, then close(), which sends Django's request_finished."""
    import io
    from wsgiref.util import setup_testing_defaults

    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "localhost",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        started["status"] = int(status.split()[0])
        joined: dict[str, list[str]] = {}
        for k, v in response_headers:
            joined.setdefault(k.lower(), []).append(v)
        started["headers"] = {k: ", ".join(v) for k, v in joined.items()}

    chunks = application(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return WsgiAnswer(started["status"], started["headers"], content)


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); nan for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def recreate_database(name: str, env: Mapping[str, str]) -> None:
    """Drop and create `name` on BENCH_PG, then run the migrations against it."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


def start_gunicorn(
    env: Mapping[str, str], port: int, *, workers: int = 2, threads: int = 8
) -> subprocess.Popen[bytes]:
    """gunicorn (gthread) on loopback, returned once /healthz answers: as the Procfile's
    `hooks` runs the vendor's callbacks (a listening socket per worker)."""
    import requests

    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "-c",
            "python:config.gunicorn",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    stop_process(proc, 5)
    raise SystemExit("gunicorn did not start")


def start_worker(
    env: Mapping[str, str],
    *,
    queues: str = "fast",
    concurrency: int = 1,
    hostname: str = "bench@%h",
    log_level: str = "WARNING",
) -> subprocess.Popen[bytes]:
    """A Celery worker as in production (prefork, its own session so it can be stopped
    with its children)."""
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "-n",
            hostname,
            "--loglevel",
            log_level,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL if log_level == "ERROR" else None,
    )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM (a Celery warm shutdown), then SIGKILL of its process group if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def wait_for_workers(app: object, count: int = 1, timeout: float = 60) -> bool:
    """True once `count` workers answer a ping."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = app.control.ping(timeout=0.5)  # type: ignore[attr-defined]
        if answers and len(answers) >= count:
            return True
        time.sleep(0.3)
    return False


@dataclass(frozen=True)
class PgCounters:
    at: float
    commits: int
    rollbacks: int
    inserted: int
    updated: int
    blks_written: int  # buffers written by the checkpointer and backends (pg_stat_bgwriter)
    wal_bytes: int

    @classmethod
    def read(cls, url: str, dbname: str) -> PgCounters:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated"
                " FROM pg_stat_database WHERE datname = %s",
                [dbname],
            ).fetchone()
            bg = conn.execute(
                "SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter"
            ).fetchone()
            wal = conn.execute("SELECT wal_bytes FROM pg_stat_wal").fetchone()
        assert row is not None and bg is not None and wal is not None
        commits, rollbacks, inserted, updated = (int(v) for v in row)
        return cls(time.monotonic(), commits, rollbacks, inserted, updated, int(bg[0]), int(wal[0]))

    def rates(self, later: PgCounters) -> dict[str, float]:
        dt = max(1e-9, later.at - self.at)
        return {
            "commits/s": (later.commits - self.commits) / dt,
            "rows inserted/s": (later.inserted - self.inserted) / dt,
            "rows updated/s": (later.updated - self.updated) / dt,
            "WAL MB/s": (later.wal_bytes - self.wal_bytes) / dt / 1e6,
        }


@dataclass(frozen=True)
class RedisCounters:
    at: float
    commands: int

    @classmethod
    def read(cls, url: str = "redis://127.0.0.1:6379/0") -> RedisCounters:
        import redis

        info = redis.Redis.from_url(url).info("stats")
        return cls(time.monotonic(), int(info["total_commands_processed"]))

    def rate(self, later: RedisCounters) -> float:
        """Commands/s the whole Redis server processed (all clients, all dbs)."""
        return (later.commands - self.commands) / max(1e-9, later.at - self.at)


BENCHMARK = ("redis-benchmark", "-q", "--csv", "-t", "lpush,rpop")


def redis_capacity(db: int = 6, requests: int = 50_000) -> dict[str, float]:
    """redis-benchmark's LPUSH/RPOP (roughly what a Celery message costs the broker) with one
    connection unpipelined and with 16 connections pipelined 16 deep, in Redis db `db`
    (which must not hold a key named `mylist`: the benchmark's only key, deleted after)."""
    import redis

    client = redis.Redis(db=db)
    if client.exists("mylist"):
        raise SystemExit(f"Redis db {db} holds a key 'mylist': refusing to benchmark there")
    out: dict[str, float] = {}
    runs = (("1 client, no pipeline", ["-c", "1"]), ("16 clients, -P 16", ["-c", "16", "-P", "16"]))
    try:
        for label, extra in runs:
            proc = subprocess.run(
                [*BENCHMARK, "--dbnum", str(db), "-n", str(requests), *extra],
                capture_output=True,
                text=True,
                check=False,
            )
            for line in proc.stdout.splitlines():
                parts = [p.strip('"') for p in line.split(",")]
                if len(parts) >= 2 and parts[0] in ("LPUSH", "RPOP"):
                    try:
                        out[f"{parts[0]} ops/s ({label})"] = float(parts[1])
                    except ValueError:
                        continue
    finally:
        client.delete("mylist")
    return out


def fleet_tables_reset(cur: Any) -> None:
    """Empty the fleet's tables and make the benches' 200 agents (agent0..agent199), the
    ground both the pages and the history benches seed their accounts on."""
    cur.execute(
        "TRUNCATE accounts_statusevent, accounts_bulkjobitem, accounts_importrow,"
        " accounts_bulkjob, accounts_contactlookup, accounts_accountkeys,"
        " accounts_whatsappaccount, accounts_agent RESTART IDENTITY CASCADE"
    )
    cur.execute(
        """
        INSERT INTO accounts_agent (agent_account, upstream_user_id, user_name, updated_at,
                                    online)
        SELECT 'agent' || g, (600000 + g)::text, 'Agent ' || g, now(), false
        FROM generate_series(0, 199) g
        """
    )


def signed_in_cookie(user: Any) -> str:
    """A session cookie for `user` (English pages) that opens the console's pages, not the
    second-factor enrolment they redirect to when the role needs one (MFA_REQUIRED_ROLES,
    supervisors and admins by default): the user gets a TOTP authenticator first."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.test import Client

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}; django_language=en"


# --- in-process profile of pages (bench/pages.py --profile, bench/history.py --profile) ---


def cpu_split(split: Sequence[tuple[str, Sequence[str]]]) -> dict[str, float]:
    """Wrap the named functions (module, names) to add up their process time: a view calls
    them by the names it imported, so each is wrapped in the module it is looked up in."""
    import importlib

    acc: dict[str, float] = {}
    for module_name, names in split:
        module = importlib.import_module(module_name)
        for fn_name in names:
            fn = getattr(module, fn_name)

            def wrapped(*a: Any, _fn: Any = fn, _key: str = fn_name, **k: Any) -> Any:
                t0 = time.process_time()
                try:
                    return _fn(*a, **k)
                finally:
                    acc[_key] = acc.get(_key, 0.0) + time.process_time() - t0

            setattr(module, fn_name, wrapped)
    return acc


def _explain(sql: str, params: Any) -> str:
    """Planning and execution time, and buffers, of one captured SELECT (EXPLAIN ANALYZE,
    run twice in this connection: the second, with the catalogue already cached in this
    backend, is the one a pooled connection sees)."""
    import json

    from django.db import connection

    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return ""
    with connection.cursor() as cur:
        plan: Any = None
        for _ in range(2):
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            raw = cur.fetchone()[0]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    top = plan["Plan"]
    hit = top.get("Shared Hit Blocks", 0)
    read = top.get("Shared Read Blocks", 0)
    return (
        f"plan {plan.get('Planning Time', 0):.2f} ms, exec {plan.get('Execution Time', 0):.2f} ms,"
        f" buffers hit {hit} read {read}, rows {top.get('Actual Rows')}"
    )


def profile_pages(
    pages: Sequence[tuple[str, str, Any]],
    *,
    runs: int = 30,
    split: Sequence[tuple[str, Sequence[str]]] = (),
    explain: bool = False,
) -> None:
    """Where a request's time goes, in this process, for each (name, path, user) page (user
    None: anonymous): the SQL (each query's time as the database driver saw it, and with
    `explain` its planning and execution time in PostgreSQL) and the CPU of Django itself
    (process time: middleware, view, template, not PostgreSQL's). The sign-in page first, as
    the floor."""
    import cProfile
    import logging
    import pstats
    import statistics

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    logging.getLogger("switchboard.access").setLevel(logging.WARNING)  # a line per request
    parts_acc = cpu_split(split)
    signin = Client()
    for _ in range(3):
        signin.get("/login/")
    floor = []
    for _ in range(runs):
        t0 = time.process_time()
        signin.get("/login/")
        floor.append((time.process_time() - t0) * 1000)
    signin_cpu = sum(floor) / runs
    floor_median, floor_min = statistics.median(floor), min(floor)
    print(
        f"\nfloor: the sign-in page /login/ (anonymous): Django CPU per request mean"
        f" {signin_cpu:.2f} ms, median {floor_median:.2f} ms, min {floor_min:.2f} ms (n={runs})"
        f" [{load_line()}]",
        flush=True,
    )
    for name, path, user in pages:
        client = Client()
        if user is not None:
            client.force_login(user)
        client.get(path)
        if client.get(path).status_code != 200:  # a redirect would be measured instead
            raise SystemExit(f"{path} as {user}: not the page (signed out, or no second factor?)")
        queries: list[tuple[float, str, Any]] = []

        def timed(
            execute: Any, sql: str, params: Any, many: bool, context: Any, out: Any = queries
        ) -> Any:
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                out.append((time.perf_counter() - t0, sql, params))

        with connection.execute_wrapper(timed):
            client.get(path)
        cpu = []
        wall = []
        parts_acc.clear()
        for _ in range(runs):
            t0, w0 = time.process_time(), time.perf_counter()
            client.get(path)
            cpu.append((time.process_time() - t0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        parts = sorted(parts_acc.items(), key=lambda kv: -kv[1])
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            client.get(path)
        prof.disable()
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in stats.values())  # tottime over every function
        tpl = sum(
            v[2]
            for k, v in stats.items()
            if "/django/template/" in k[0]
            or "/templatetags/" in k[0]
            or "template_partials" in k[0]
        )
        sql_ms = sum(q[0] for q in queries) * 1000
        print(
            f"\n{name} {path}: {len(queries)} queries, {sql_ms:.1f} ms SQL (driver, one request);"
            f" wall per request median {statistics.median(wall):.1f} ms; Django CPU per request"
            f" median {statistics.median(cpu):.1f} ms, min {min(cpu):.1f} ms (n={runs});"
            f" template code {tpl / max(total, 1e-9):.0%} of the profiled time [{load_line()}]"
        )
        mean = sum(cpu) / len(cpu)
        print(
            f"  CPU per request, mean {mean:.2f} ms = {signin_cpu / mean:.2f}x the sign-in page's"
            " rate if CPU-bound (medians:"
            f" {floor_median / statistics.median(cpu):.2f}x; minima: {floor_min / min(cpu):.2f}x)"
            + ("; of it (process time):" if parts else "")
        )
        for part, took in parts:
            print(f"    {took * 1000 / runs:6.2f} ms  {part}")
        if parts:
            print(
                f"    {mean - sum(t for _p, t in parts) * 1000 / runs:6.2f} ms  the rest"
                " (middleware, session, user and permissions, the test client)"
            )
        for took, sql, params in queries:
            print(f"  {took * 1000:6.1f} ms  {' '.join(sql.split())[:150]}")
            if explain:
                detail = _explain(sql, params)
                if detail:
                    print(f"            {detail}")
        sys.stdout.flush()
