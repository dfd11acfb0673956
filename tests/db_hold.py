"""Holding a real process's transaction open from outside, in the database.

`hold_update(table, old_state, new_state)` installs a trigger that sleeps when a row of
`table` moves from one state to the other, so a worker is caught after its work and before
its commit; `sleeping_backends()` says when it got there; `release()` ends the held
backends (their transactions roll back) and removes the trigger. Nothing in the product
knows about any of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def sleeping_backends() -> list[int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event = 'PgSleep'"
        )
        return [row[0] for row in cur.fetchall()]


def _terminate_sleepers(timeout: float = 30.0) -> None:
    with connection.cursor() as cur:
        for pid in sleeping_backends():
            cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + timeout
    while sleeping_backends() and time.monotonic() < deadline:
        time.sleep(0.1)


def hold(table: str, old_state: str, new_state: str) -> None:
    """From now on, an UPDATE of `table` from `old_state` to `new_state` sleeps (120 s),
    until `release(table)`."""
    name = f"test_hold_{table}"
    with connection.cursor() as cur:
        cur.execute(
            f"""
            CREATE FUNCTION {name}() RETURNS trigger AS $$
            BEGIN
                IF OLD.state = '{old_state}' AND NEW.state = '{new_state}' THEN
                    PERFORM pg_sleep(120);
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        cur.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


@contextmanager
def hold_update(table: str, old_state: str, new_state: str) -> Iterator[None]:
    """`hold` while inside; on leaving, `release`."""
    hold(table, old_state, new_state)
    try:
        yield
    finally:
        release(table)


def release(table: str) -> None:
    """End the held transactions (they roll back) and drop the trigger (idempotent)."""
    name = f"test_hold_{table}"
    _terminate_sleepers()
    with connection.cursor() as cur:
        cur.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        cur.execute(f"DROP FUNCTION IF EXISTS {name}()")
