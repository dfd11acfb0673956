"""Monthly partitions of the tables that grow with time (PostgreSQL declarative
partitioning, no extension): creating months ahead, the default partition, and dropping a
month. docs/operations.md ("History") says how they are run and kept.

Each table is `PARTITION BY RANGE (<time column>)` with one partition per calendar month in
UTC, `<table>_pYYYYMM` covering [first instant of the month, first instant of the next), and
`<table>_default`, which catches a row no month covers yet (so an insert never fails) and is
watched: rows there raise an alert, and `partitions_ensure` moves them into their month as
soon as it creates it.

Primary keys: the model keeps Django's `id` (a bigint from the table's sequence, unique by
construction) while the database's key is (id, time column), because a key of a
partitioned table must contain the partition key. See docs/operations.md for why the models
do not use CompositePrimaryKey.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import OperationalError

from core import generations

# Bumped when a table's months change (a month attached or detached): the spans the pages
# keep (`covered_span_kept`) are read again.
PARTITIONS = generations.declare("partitions")
# How long a kept span may lag behind the default partition filling (rows nobody's month
# covers: an alert says so, and partitions_ensure moves them as it creates their month).
SPAN_SECONDS = 30


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str  # the partition key: a timestamptz column
    months_setting: str  # how many months are kept (0: forever)

    @property
    def months(self) -> int:
        return int(getattr(settings, self.months_setting))

    @property
    def default(self) -> str:
        return f"{self.table}_default"


# Every partitioned table; migrations add a table here once it is partitioned.
TABLES: dict[str, PartitionedTable] = {
    t.table: t
    for t in (
        PartitionedTable("accounts_statusevent", "event_time", "STATUS_HISTORY_MONTHS"),
        PartitionedTable("webhooks_webhookevent", "received_at", "WEBHOOK_INBOX_MONTHS"),
        PartitionedTable("core_auditentry", "at", "AUDIT_LOG_MONTHS"),
        PartitionedTable("notify_delivery", "created_at", "EVENT_DELIVERY_MONTHS"),
        PartitionedTable("notify_alert", "first_at", "ALERT_HISTORY_MONTHS"),
    )
}


@dataclass(frozen=True)
class Partition:
    name: str
    lo: datetime | None  # None: the default partition
    hi: datetime | None

    @property
    def month(self) -> str:
        return f"{self.lo:%Y-%m}" if self.lo else "default"


# --- months -------------------------------------------------------------------------------


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def month_add(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_parse(text: str) -> datetime:
    """'2026-01' -> 2026-01-01T00:00Z; ValueError names the expected form."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{text!r} is not a month: expected YYYY-MM, e.g. 2026-01") from None


def months_between(lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Month starts from lo's month up to hi's month, both included."""
    m, last = month_start(lo), month_start(hi)
    while m <= last:
        yield m
        m = month_add(m, 1)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


# --- reading the catalogue ------------------------------------------------------------------


def partitions(table: str, *, using: BaseDatabaseWrapper | None = None) -> list[Partition]:
    """The table's attached partitions, oldest month first, the default last."""
    return _catalogue(table, using=using)[0]


def _catalogue(
    table: str, *, using: BaseDatabaseWrapper | None = None
) -> tuple[list[Partition], bool]:
    """The partitions, and whether the default partition holds a row: one round trip."""
    conn = using or connection
    with conn.cursor() as cur:
        cur.execute(
            f"""
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid),
                   (SELECT EXISTS (SELECT 1 FROM "{table}_default"))
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = %s::regclass
            """,  # noqa: S608 - the table name is ours (TABLES)
            [table],
        )
        found = cur.fetchall()
    out: list[Partition] = []
    default: Partition | None = None
    stray = False
    for name, bound, default_has_rows in found:
        stray = bool(default_has_rows)
        if bound == "DEFAULT":
            default = Partition(name, None, None)
            continue
        # "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00')"
        lo_text, hi_text = (part.split("'")[1] for part in bound.split(" TO "))
        out.append(Partition(name, _timestamp(lo_text), _timestamp(hi_text)))
    out.sort(key=lambda p: p.lo or datetime.min.replace(tzinfo=UTC))
    if default:
        out.append(default)
    return out, stray


def covered_span(table: str) -> tuple[datetime, datetime] | None:
    """[first month's start, last month's end) when every row is in a month partition;
    None while the default partition holds rows. A read bounded by the span never scans
    the default partition, which is what lets PostgreSQL read the months in order and stop
    at the LIMIT (an ordered Append; with the default partition in the plan it must merge
    every month)."""
    found, stray = _catalogue(table)
    months = [p for p in found if p.lo is not None and p.hi is not None]
    if stray or not months:
        return None
    if any(a.hi != b.lo for a, b in itertools.pairwise(months)):
        return None  # a gap is the default partition's: the bound could not leave it out
    return months[0].lo, months[-1].hi  # type: ignore[return-value]


def covered_span_kept(table: str) -> tuple[datetime, datetime] | None:
    """covered_span, kept in the cache for every page of the history: its catalogue read
    (every partition's bound, and a probe of the default partition) was one to three round
    trips on each view of the status logs. Kept under PARTITIONS, which every attach and
    detach bumps, and for SPAN_SECONDS at most, which bounds how long rows arriving in the
    default partition may stay outside the bound."""
    return generations.cached(
        PARTITIONS, f"span:{table}", SPAN_SECONDS, lambda: covered_span(table)
    )


def _months_changed() -> None:
    """A month was attached or detached: the kept spans are read again, now (so this
    connection's next read sees the change, e.g. in a test's transaction) and once it
    commits (a reader between the two kept the catalogue as it was before)."""
    generations.bump(PARTITIONS)
    generations.bump_on_commit(PARTITIONS)


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_partitioned(table: str, *, using: BaseDatabaseWrapper | None = None) -> bool:
    conn = using or connection
    with conn.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cur.fetchone()
    return bool(row and row[0] == "p")


def default_rows(table: str, *, limit: int = 1000) -> int:
    """Rows in the default partition, counted up to `limit` (a bounded count)."""
    spec = TABLES[table]
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {spec.default} LIMIT %s) d",  # noqa: S608
            [limit],
        )
        return int(cur.fetchone()[0])


# --- converting a table (migrations) ----------------------------------------------------------


def table_partition(
    conn: BaseDatabaseWrapper,
    *,
    table: str,
    column: str,
    unique: Sequence[tuple[str, Sequence[str]]] = (),
    keep_indexes: bool = True,
) -> None:
    """Turn an ordinary table into one partitioned by month on `column`, keeping its rows
    and its columns, defaults and checks. The old table is renamed, a partitioned table
    takes its name (no indexes: the migration adds them after, on the parent, which builds
    them on every partition), its rows are copied month by month, and it is dropped. The
    `id` column gets a sequence of its own, continuing after the highest id.

    `unique`: (constraint name, columns) pairs; each must include `column`.
    `keep_indexes`: build the old table's plain (non-unique) indexes again, same names, on
    the parent; off when the migration builds its own."""
    old = f"{table}_unpartitioned"
    seq = f"{table}_id_seq"
    with conn.cursor() as cur:
        cur.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        cur.execute(
            f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
            f' INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ("{column}")'
        )
        for name, columns in unique:
            cols = ", ".join(f'"{c}"' for c in columns)
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE ({cols})')
        cur.execute(f'SELECT min("{column}"), max("{column}"), max(id) FROM "{old}"')  # noqa: S608
        lo, hi, max_id = cur.fetchone()
        cur.execute(
            """
            SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x
            WHERE x.indrelid = %s::regclass AND NOT x.indisunique
            """,
            [old],
        )
        index_defs = [r[0] for r in cur.fetchall()] if keep_indexes else []
        # LIKE copies no foreign key: each is added again under its name.
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f'",
            [old],
        )
        foreign_keys = cur.fetchall()
    now = datetime.now(UTC)
    first = min(lo, now) if lo else now
    last = max(hi, now) if hi else now
    _default_create(conn, table)
    for month in months_between(first, month_add(month_start(last), 1)):
        _month_create(conn, table, column, month)
    with conn.cursor() as cur:
        cur.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')  # noqa: S608
        cur.execute(f'DROP TABLE "{old}"')
        cur.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ("id", "{column}")'
        )
        cur.execute(f'DROP SEQUENCE IF EXISTS "{seq}"')
        cur.execute(f'CREATE SEQUENCE "{seq}" AS bigint OWNED BY "{table}"."id"')
        cur.execute("SELECT setval(%s, %s, %s)", [seq, max_id or 1, max_id is not None])
        cur.execute(f"ALTER TABLE \"{table}\" ALTER COLUMN id SET DEFAULT nextval('{seq}')")
        for definition in index_defs:
            cur.execute(definition.replace(f" ON public.{old} ", f' ON public."{table}" '))
        for name, definition in foreign_keys:
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cur.execute(f'ANALYZE "{table}"')


def _default_create(conn: BaseDatabaseWrapper, table: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f'CREATE TABLE IF NOT EXISTS "{table}_default" PARTITION OF "{table}" DEFAULT')


def _month_create(conn: BaseDatabaseWrapper, table: str, column: str, month: datetime) -> bool:
    """Create the month's partition if missing; rows of that month already in the default
    partition are moved into it first (an ATTACH would refuse them). True if created."""
    name = partition_name(table, month)
    default = f"{table}_default"
    lo, hi = month, month_add(month, 1)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cur.fetchone()[0]:
            return False
        cur.execute(
            f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
            " INCLUDING STORAGE)"
        )
        where = f'"{column}" >= %s AND "{column}" < %s'
        move = f'WITH moved AS (DELETE FROM "{default}" WHERE {where} RETURNING *) INSERT INTO "{name}" SELECT * FROM moved'  # noqa: E501, S608
        cur.execute(
            move,
            [lo, hi],
        )
        # A CHECK matching the bound lets ATTACH skip scanning the new table.
        cur.execute(
            f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_bound"'
            f' CHECK ("{column}" IS NOT NULL AND "{column}" >= %s AND "{column}" < %s)',
            [lo, hi],
        )
        cur.execute(
            f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
            [lo, hi],
        )
        cur.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{name}_bound"')
    _months_changed()
    return True


# --- the beat's work --------------------------------------------------------------------------


def partitions_ensure(
    *, months_ahead: int | None = None, now: datetime | None = None, tables: Sequence[str] = ()
) -> list[str]:
    """Create the previous month's partition (a late event of last month is common at a
    month's start), the current one and `months_ahead` more (HISTORY_MONTHS_AHEAD) for
    every partitioned table; returns the partitions created."""
    ahead = settings.HISTORY_MONTHS_AHEAD if months_ahead is None else months_ahead
    start = month_start(now or datetime.now(UTC))
    created: list[str] = []
    for spec in (TABLES[t] for t in tables) if tables else TABLES.values():
        if not is_partitioned(spec.table):
            continue
        created += month_ensure(spec.table, month_add(start, -1))
        created += month_ensure(spec.table, month_add(start, ahead))
    return created


def month_ensure(table: str, month: datetime) -> list[str]:
    """The month's partition exists, and so does every month between it and the months
    the table has (months stay contiguous: a gap would belong to the default partition).
    Rows of a created month are moved out of the default partition. Returns those created."""
    spec = TABLES[table]
    month = month_start(month)
    have = [p.lo for p in partitions(table) if p.lo is not None]
    lo, hi = (min(month, have[0]), max(month, have[-1])) if have else (month, month)
    created = []
    for m in months_between(lo, hi):
        with transaction.atomic():
            if _month_create(connection, spec.table, spec.column, m):
                created.append(partition_name(table, m))
    return created


def expired(table: str, *, now: datetime | None = None) -> list[Partition]:
    """The table's months that ended before the retention window (none when kept forever).
    With STATUS_HISTORY_MONTHS=12 in 2027-03, 2026-03 is the oldest month kept."""
    spec = TABLES[table]
    if spec.months <= 0:
        return []
    cutoff = month_add(month_start(now or datetime.now(UTC)), -(spec.months - 1))
    return [p for p in partitions(table) if p.hi is not None and p.hi <= cutoff]


@dataclass(frozen=True)
class Locked:
    """A statement run with its lock wait bounded (HISTORY_LOCK_TIMEOUT_MS), retried."""

    ms: float  # from the first attempt to the last one's commit, back-offs included
    longest_ms: float  # the longest single attempt, waiting for or holding the locks
    attempts: int


def _lock_bounded(statement: str, *, timeout_ms: int, months_change: bool = False) -> Locked:
    """Run one DDL statement in its own transaction; each attempt waits at most timeout_ms
    for its locks and is retried with a back-off, so the retention job waits for a long
    query, never the writers that would queue behind its lock."""
    t0 = time.perf_counter()
    longest = 0.0
    for attempt in range(1, 51):
        a0 = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(f"SET LOCAL lock_timeout = {int(timeout_ms)}")
                cur.execute(statement)
                if months_change:
                    _months_changed()
            longest = max(longest, (time.perf_counter() - a0) * 1000)
            return Locked((time.perf_counter() - t0) * 1000, longest, attempt)
        except OperationalError as exc:
            if "lock timeout" not in str(exc):
                raise
            longest = max(longest, (time.perf_counter() - a0) * 1000)
            time.sleep(min(2.0, 0.05 * attempt))
    raise OperationalError(f"{statement}: the lock was busy for 50 attempts")


def _month_name_check(table: str, name: str) -> None:
    if name == TABLES[table].default or not name.startswith(f"{table}_p"):
        raise ValueError(f"{name} is not a month partition of {table}")


def partition_detach(table: str, name: str, *, lock_timeout_ms: int | None = None) -> Locked:
    """DETACH one month: the one step of a month's removal that locks the table writers and
    readers use (ACCESS EXCLUSIVE on the parent, for a catalogue change: milliseconds).

    Not DETACH ... CONCURRENTLY: PostgreSQL refuses it on a table with a default partition,
    and the default partition is what keeps an insert from ever failing."""
    _month_name_check(table, name)
    return _lock_bounded(
        f'ALTER TABLE "{table}" DETACH PARTITION "{name}"',
        timeout_ms=lock_timeout_ms or settings.HISTORY_LOCK_TIMEOUT_MS,
        months_change=True,
    )


def detached_drop(table: str, name: str, *, lock_timeout_ms: int | None = None) -> Locked:
    """DROP a detached month. It locks only the month's own table, which nothing reads or
    writes any more; its time is the file system freeing the month's files (docs/operations.md,
    "History"). Its lock wait is bounded all the same: a session still reading the month (an
    archive, a dump) delays the retention job by short attempts instead of holding it in
    the lock queue."""
    _month_name_check(table, name)
    with connection.cursor() as cur:
        cur.execute("SELECT relispartition FROM pg_class WHERE oid = to_regclass(%s)", [name])
        row = cur.fetchone()
    if row is None or row[0]:
        raise ValueError(f"{name} is not a detached month of {table}")
    return _lock_bounded(
        f'DROP TABLE "{name}"', timeout_ms=lock_timeout_ms or settings.HISTORY_LOCK_TIMEOUT_MS
    )


def detached_months(table: str) -> list[str]:
    """Month tables of `table` that are no longer attached (a retention run stopped between
    the detach and the drop)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c.relname FROM pg_class c
            WHERE c.relkind = 'r' AND NOT c.relispartition
              AND c.relnamespace = 'public'::regnamespace
              AND c.relname ~ %s
            ORDER BY c.relname
            """,
            [f"^{table}_p[0-9]{{6}}$"],
        )
        return [r[0] for r in cur.fetchall()]


def row_count(name: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
        return int(cur.fetchone()[0])
