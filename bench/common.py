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
    """gunicorn (gthread) on loopback, returned once /healthz answers."""
    import requests

    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
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
