"""A month's removal waits for another session's lock at most HISTORY_LOCK_TIMEOUT_MS per
attempt and tries again, rather than queueing (writers would queue behind a waiting
ACCESS EXCLUSIVE lock on the live table). Committed transactions: the other session must
see the months."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from core import partitions

TABLE = "accounts_statusevent"
pytestmark = pytest.mark.django_db(transaction=True)


def _held(sql: str, release: threading.Event) -> threading.Thread:
    """Another session runs `sql` in a transaction and keeps its locks until `release`."""
    params = connection.get_connection_params()
    ready = threading.Event()

    def hold() -> None:
        with psycopg.connect(
            host=params.get("host"),
            port=params.get("port"),
            dbname=params["dbname"],
            user=params.get("user"),
            password=params.get("password"),
        ) as other:
            other.execute(sql)
            ready.set()
            release.wait(10)
            other.rollback()

    t = threading.Thread(target=hold)
    t.start()
    assert ready.wait(10)
    return t


@pytest.fixture
def spare_month() -> Iterator[str]:
    """A month after the last one (nothing reads it): created, and gone at the end."""
    last = [p for p in partitions.partitions(TABLE) if p.hi is not None][-1]
    assert last.hi is not None
    partitions.month_ensure(TABLE, last.hi)
    name = partitions.partition_name(TABLE, last.hi)
    yield name
    with connection.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{name}"')


def test_detach_and_drop_wait_for_a_lock_only_in_bounded_attempts(spare_month: str) -> None:
    release = threading.Event()
    reader = _held(f"SELECT count(*) FROM {TABLE} WHERE event_time < now()", release)
    threading.Timer(0.5, release.set).start()
    detached = partitions.partition_detach(TABLE, spare_month, lock_timeout_ms=50)
    reader.join()
    assert detached.attempts > 1  # gave up and tried again rather than queueing
    assert spare_month not in {p.name for p in partitions.partitions(TABLE)}

    release = threading.Event()
    reader = _held(f'SELECT count(*) FROM "{spare_month}"', release)
    threading.Timer(0.5, release.set).start()
    dropped = partitions.detached_drop(TABLE, spare_month, lock_timeout_ms=50)
    reader.join()
    assert dropped.attempts > 1
    assert partitions.detached_months(TABLE) == []
