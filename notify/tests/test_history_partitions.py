"""Outgoing deliveries and alerts are partitioned by month like the status history
(core.partitions): a row lands in its month, a row no month covers is kept in the default
partition and raises the alert, the beat creates months ahead, and retention drops only
the expired months (after archiving them)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from core import history, partitions
from notify.models import Alert, Delivery, Event, EventType, RuleKey, Subscription
from notify.services.watch import history_default_check

pytestmark = pytest.mark.django_db

DELIVERIES = "notify_delivery"
ALERTS = "notify_alert"


def _this_month() -> datetime:
    return partitions.month_start(datetime.now(UTC))


def _delivery(at: datetime, n: int = 0) -> tuple[int, datetime]:
    sub, _ = Subscription.objects.get_or_create(
        url="https://example.com/hook", defaults={"events": [EventType.ACCOUNT_STATUS_CHANGED]}
    )
    event = Event.objects.create(
        type=EventType.ACCOUNT_STATUS_CHANGED, msg_id=f"msg_{at:%Y%m%d%H%M%S}_{n}", occurred_at=at
    )
    d = Delivery.objects.create(event=event, subscription=sub, next_attempt_at=at)
    # created_at is stamped on insert (auto_now_add): moving it to `at` moves the row into
    # that month's partition, as PostgreSQL routes an update of the partition key.
    Delivery.objects.filter(pk=d.pk).update(created_at=at)
    return d.pk, at


def _alert(at: datetime, n: int = 0) -> tuple[int, datetime]:
    a = Alert.objects.create(
        rule=RuleKey.QUOTA_EXCEEDED, scope=f"s{n}", count=1, first_at=at, last_at=at
    )
    return a.pk, at


MAKERS: dict[str, tuple[Callable[..., tuple[int, datetime]], str]] = {
    DELIVERIES: (_delivery, "created_at"),
    ALERTS: (_alert, "first_at"),
}
both = pytest.mark.parametrize("table", [DELIVERIES, ALERTS])


def _where(table: str, row: tuple[int, datetime]) -> str:
    column = MAKERS[table][1]
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s AND {column} = %s",
            list(row),
        )
        return str(cur.fetchone()[0])


@both
def test_the_table_is_partitioned_with_a_key_holding_its_month_column(table: str) -> None:
    assert partitions.is_partitioned(table)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        )
        assert cur.fetchone()[0] == f"PRIMARY KEY (id, {MAKERS[table][1]})"


@both
def test_rows_land_in_their_month(table: str) -> None:
    make = MAKERS[table][0]
    this, nxt = _this_month(), partitions.month_add(_this_month(), 1)
    assert _where(table, make(this + timedelta(days=2))) == partitions.partition_name(table, this)
    assert _where(table, make(nxt + timedelta(hours=3), 1)) == partitions.partition_name(table, nxt)


@both
def test_a_row_outside_every_month_is_kept_in_the_default_partition_and_alerted(
    table: str,
) -> None:
    row = MAKERS[table][0](datetime(2001, 5, 4, 3, 2, 1, tzinfo=UTC))
    assert _where(table, row) == f"{table}_default"
    assert partitions.default_rows(table) == 1
    assert history_default_check() == {table: 1}
    alert = Alert.objects.get(rule=RuleKey.HISTORY_OUTSIDE_MONTHS, scope=table)
    assert alert.params["rows"] == 1


@both
def test_the_beat_creates_months_ahead_and_takes_rows_out_of_the_default(table: str) -> None:
    future = partitions.month_add(_this_month(), 14)
    row = MAKERS[table][0](future + timedelta(days=2))
    assert _where(table, row) == f"{table}_default"
    created = partitions.partitions_ensure(now=future, months_ahead=2)
    names = [partitions.partition_name(table, partitions.month_add(future, i)) for i in range(3)]
    assert set(names) <= set(created)
    assert _where(table, row) == names[0]
    assert partitions.default_rows(table) == 0


@both
def test_retention_archives_then_drops_only_expired_months(
    table: str, settings: Any, tmp_path: Path
) -> None:
    make, column = MAKERS[table]
    setting = partitions.TABLES[table].months_setting
    setattr(settings, setting, 3)  # this month and the two before it
    settings.HISTORY_ARCHIVE_DIR = str(tmp_path)
    expired = partitions.month_add(_this_month(), -3)
    kept = partitions.month_add(_this_month(), -2)
    partitions.month_ensure(table, expired)
    for i in range(4):
        make(expired + timedelta(hours=i), i)
    make(kept + timedelta(hours=1), 10)
    make(_this_month() + timedelta(hours=1), 11)
    with connection.cursor() as cur:
        # The test's rows are in its own open transaction, their deferred foreign key checks
        # still queued; PostgreSQL drops no table with such events (the beat's run has none).
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")

    done = history.retention_run(tables=[table])

    name = partitions.partition_name(table, expired)
    assert [(r.partition, r.rows) for r in done] == [(name, 4)]
    months = {p.lo for p in partitions.partitions(table)}
    assert expired not in months and {kept, _this_month()} <= months
    with gzip.open(tmp_path / f"{name}.csv.gz", "rt") as f:
        assert len(f.read().strip().splitlines()) == 1 + 4
    model = Delivery if table == DELIVERIES else Alert
    assert model.objects.filter(**{f"{column}__gte": kept}).count() == 2
    assert not model.objects.filter(**{f"{column}__lt": kept}).exists()


def test_months_kept_forever_are_never_dropped(settings: Any, tmp_path: Path) -> None:
    settings.ALERT_HISTORY_MONTHS = 0
    settings.HISTORY_ARCHIVE_DIR = str(tmp_path)
    old = partitions.month_add(_this_month(), -30)
    partitions.month_ensure(ALERTS, old)
    _alert(old + timedelta(days=1))
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert history.retention_run(tables=[ALERTS]) == []
    assert old in {p.lo for p in partitions.partitions(ALERTS)}


def test_due_deliveries_keep_their_partial_index_on_every_month() -> None:
    """The sender's claim reads pending deliveries by (next_attempt_at, id): the partial
    index is on the parent, so on every month, a new one included."""
    partitions.month_ensure(DELIVERIES, partitions.month_add(_this_month(), 5))
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
            WHERE i.inhparent = 'notify_delivery'::regclass
              AND pg_get_indexdef(x.indexrelid) LIKE '%%WHERE%%pending%%'
            """
        )
        with_index = cur.fetchone()[0]
    assert with_index == len(partitions.partitions(DELIVERIES))
