"""The status history's monthly partitions: routing, the default partition and its alert,
months created ahead, retention after archive, the archive's count check, and reads that
scan only the months they need (partition pruning, read from EXPLAIN)."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import selectors
from accounts.models import StatusEvent, WhatsAppAccount
from core import history, partitions
from notify.models import Alert, RuleKey
from notify.services.watch import history_default_check
from tests.fixtures import client_for

TABLE = "accounts_statusevent"
pytestmark = pytest.mark.django_db


def _event(at: datetime, *, whatsapp: str = "8613800000001", n: int = 0) -> StatusEvent:
    return StatusEvent.objects.create(
        whatsapp=whatsapp,
        status=10,
        detail_status=11,
        agent_account="alice01",
        platform=1,
        event_time=at,
        received_at=at,
        dedupe_key=f"k-{whatsapp}-{at.isoformat()}-{n}",
    )


def _where(event: StatusEvent) -> str:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s AND event_time = %s",
            [event.pk, event.event_time],
        )
        return str(cur.fetchone()[0])


def _this_month() -> datetime:
    return partitions.month_start(datetime.now(UTC))


def test_rows_land_in_their_month() -> None:
    now = _this_month() + timedelta(days=3)
    nxt = partitions.month_add(_this_month(), 1) + timedelta(hours=5)
    assert _where(_event(now)) == partitions.partition_name(TABLE, _this_month())
    assert _where(_event(nxt)) == partitions.partition_name(
        TABLE, partitions.month_add(_this_month(), 1)
    )


def test_a_row_outside_every_month_is_kept_in_the_default_partition_and_alerted() -> None:
    far = datetime(2001, 5, 4, 3, 2, 1, tzinfo=UTC)
    event = _event(far)
    assert _where(event) == f"{TABLE}_default"
    assert partitions.default_rows(TABLE) == 1
    assert history_default_check() == {TABLE: 1}
    alert = Alert.objects.get(rule=RuleKey.HISTORY_OUTSIDE_MONTHS, scope=TABLE)
    assert alert.params["rows"] == 1
    # While a row is outside the months, the pages read without a month bound: it is shown.
    page = selectors.event_list(
        events=StatusEvent.objects.all(), filters=selectors.EventFilters(), cursor=None
    )
    assert event.pk in [r.pk for r in page.rows]


def test_no_alert_while_every_row_is_in_a_month() -> None:
    _event(_this_month() + timedelta(days=1))
    assert history_default_check() == {}
    assert not Alert.objects.filter(rule=RuleKey.HISTORY_OUTSIDE_MONTHS).exists()


def test_months_are_created_ahead_and_take_their_rows_out_of_the_default() -> None:
    future = partitions.month_add(_this_month(), 14)
    stray = _event(future + timedelta(days=2))
    assert _where(stray) == f"{TABLE}_default"
    created = partitions.partitions_ensure(now=future, months_ahead=2, tables=[TABLE])
    names = [partitions.partition_name(TABLE, partitions.month_add(future, i)) for i in range(3)]
    # Every month up to the last one ahead: months stay contiguous.
    assert created[-3:] == names
    assert partitions.covered_span(TABLE) is not None
    assert _where(stray) == names[0]
    assert partitions.default_rows(TABLE) == 0
    # Idempotent: a second run creates nothing.
    assert partitions.partitions_ensure(now=future, months_ahead=2, tables=[TABLE]) == []


def test_migrate_leaves_this_month_and_the_next_ones() -> None:
    months = {p.lo for p in partitions.partitions(TABLE)}
    ahead = [partitions.month_add(_this_month(), i) for i in range(3)]
    assert set(ahead) <= months
    assert partitions.partitions(TABLE)[-1].name == f"{TABLE}_default"


def _old_months(n_back: int) -> datetime:
    month = partitions.month_add(_this_month(), -n_back)
    partitions.month_ensure(TABLE, month)
    return month


def test_retention_archives_then_drops_only_expired_months(settings: Any, tmp_path: Path) -> None:
    settings.STATUS_HISTORY_MONTHS = 3
    settings.HISTORY_ARCHIVE_DIR = str(tmp_path)
    expired = _old_months(3)  # with 3 months kept: this month and the two before it
    kept = _old_months(2)
    for i in range(5):
        _event(expired + timedelta(hours=i), n=i)
    _event(kept + timedelta(hours=1))
    done = history.retention_run(tables=[TABLE])
    assert [r.partition for r in done] == [partitions.partition_name(TABLE, expired)]
    assert done[0].rows == 5
    months = {p.lo for p in partitions.partitions(TABLE)}
    assert expired not in months and kept in months
    archive = tmp_path / f"{partitions.partition_name(TABLE, expired)}.csv.gz"
    with gzip.open(archive, "rt") as f:
        assert len(f.read().strip().splitlines()) == 1 + 5  # header and the five rows
    assert json.loads(archive.with_name(archive.name + ".json").read_text())["rows"] == 5
    assert StatusEvent.objects.filter(event_time__gte=kept).count() == 1


def test_retention_drops_exactly_the_expired_months_and_keeps_every_row_of_the_others(
    settings: Any, tmp_path: Path
) -> None:
    settings.STATUS_HISTORY_MONTHS = 4  # this month and the three before it
    settings.HISTORY_ARCHIVE_DIR = str(tmp_path)
    expired = [_old_months(n) for n in (6, 5, 4)]
    kept = [_old_months(n) for n in (3, 2, 1)] + [_this_month()]
    for month in expired + kept:
        for i in range(3):
            _event(month + timedelta(days=1, hours=i), n=i)
    ids_kept = set(StatusEvent.objects.filter(event_time__gte=kept[0]).values_list("id", flat=True))
    assert len(ids_kept) == 3 * len(kept)

    done = history.retention_run(tables=[TABLE])

    names = [partitions.partition_name(TABLE, m) for m in expired]
    assert sorted(r.partition for r in done) == names
    for retired in done:
        assert retired.rows == 3
        assert [step for step, _ms in retired.steps] == [
            "archive check",
            "archive",
            "detach",
            "count",
            "drop",
        ]
        assert history.manifest_rows(tmp_path, retired.partition) == 3
    months = {p.lo for p in partitions.partitions(TABLE)}
    assert not months & set(expired) and set(kept) <= months
    assert partitions.detached_months(TABLE) == []
    assert set(StatusEvent.objects.values_list("id", flat=True)) == ids_kept


def test_a_month_that_cannot_be_archived_is_not_dropped(settings: Any, tmp_path: Path) -> None:
    settings.STATUS_HISTORY_MONTHS = 2
    blocked = tmp_path / "a-file-not-a-directory"
    blocked.write_text("")
    settings.HISTORY_ARCHIVE_DIR = str(blocked)
    month = _old_months(3)
    _event(month + timedelta(hours=1))
    with pytest.raises(OSError):
        history.retention_run(tables=[TABLE])
    assert month in {p.lo for p in partitions.partitions(TABLE)}  # still attached
    assert StatusEvent.objects.filter(event_time__lt=partitions.month_add(month, 1)).count() == 1


def test_a_month_left_detached_is_archived_and_dropped_by_the_next_run(
    settings: Any, tmp_path: Path
) -> None:
    """A run stopped between the detach and the drop: the next one archives the detached
    month (it was never archived) before dropping it, and retires nothing kept."""
    settings.STATUS_HISTORY_MONTHS = 13
    settings.HISTORY_ARCHIVE_DIR = str(tmp_path)
    month = _old_months(20)
    name = partitions.partition_name(TABLE, month)
    for i in range(2):
        _event(month + timedelta(hours=i), n=i)
    partitions.partition_detach(TABLE, name)
    assert partitions.detached_months(TABLE) == [name]
    done = {r.partition: r for r in history.retention_run(tables=[TABLE])}
    assert done[name].rows == 2 and done[name].detach is None
    assert [step for step, _ms in done[name].steps] == ["count", "archive", "drop"]
    assert history.manifest_rows(tmp_path, name) == 2
    assert partitions.detached_months(TABLE) == []


def test_only_a_detached_month_is_dropped() -> None:
    month = _old_months(2)
    name = partitions.partition_name(TABLE, month)
    with pytest.raises(ValueError, match="not a detached month"):
        partitions.detached_drop(TABLE, name)  # still attached: the live table's month
    with pytest.raises(ValueError, match="not a month partition"):
        partitions.detached_drop(TABLE, f"{TABLE}_default")
    assert month in {p.lo for p in partitions.partitions(TABLE)}


def test_retention_archives_again_when_the_archive_does_not_match(
    settings: Any, tmp_path: Path
) -> None:
    settings.STATUS_HISTORY_MONTHS = 2
    settings.HISTORY_ARCHIVE_DIR = str(tmp_path)
    month = _old_months(4)
    name = partitions.partition_name(TABLE, month)
    _event(month + timedelta(hours=1), n=1)
    first = history.partition_archive(table=TABLE, name=name, directory=tmp_path)
    assert first.rows == 1
    _event(month + timedelta(hours=2), n=2)  # a late row after the archive was written
    assert history.manifest_rows(tmp_path, name) == 1
    done = {r.partition: r.rows for r in history.retention_run(tables=[TABLE])}
    assert done.pop(name) == 2
    assert set(done.values()) <= {0}  # the empty months between it and the kept ones
    assert history.manifest_rows(tmp_path, name) == 2


def test_a_damaged_archive_is_not_trusted(settings: Any, tmp_path: Path) -> None:
    month = _old_months(5)
    name = partitions.partition_name(TABLE, month)
    _event(month + timedelta(hours=1))
    archived = history.partition_archive(table=TABLE, name=name, directory=tmp_path)
    assert history.manifest_rows(tmp_path, name) == 1
    archived.path.write_bytes(archived.path.read_bytes()[:-8])  # truncated
    assert history.manifest_rows(tmp_path, name) is None


def test_history_archive_command_writes_a_checked_month(tmp_path: Path) -> None:
    month = _old_months(6)
    for i in range(3):
        _event(month + timedelta(minutes=i), n=i)
    call_command("history_archive", month=f"{month:%Y-%m}", dir=str(tmp_path))
    name = partitions.partition_name(TABLE, month)
    assert history.manifest_rows(tmp_path, name) == 3
    assert month in {p.lo for p in partitions.partitions(TABLE)}  # archived, not dropped
    with pytest.raises(CommandError, match="no partition for 1999-01"):
        call_command("history_archive", month="1999-01", dir=str(tmp_path))
    with pytest.raises(CommandError, match="expected YYYY-MM"):
        call_command("history_archive", month="last year", dir=str(tmp_path))


def test_history_archive_drop_retires_the_month_and_says_its_steps(tmp_path: Path) -> None:
    month = _old_months(9)
    kept = _old_months(8)
    for i in range(2):
        _event(month + timedelta(minutes=i), n=i)
    _event(kept + timedelta(hours=1))
    out = io.StringIO()
    call_command(
        "history_archive", month=f"{month:%Y-%m}", dir=str(tmp_path), drop=True, stdout=out
    )
    name = partitions.partition_name(TABLE, month)
    assert f"{name}: 2 rows archived to {tmp_path / name}.csv.gz, dropped (" in out.getvalue()
    assert "detach" in out.getvalue() and "drop" in out.getvalue()
    assert history.manifest_rows(tmp_path, name) == 2
    months = {p.lo for p in partitions.partitions(TABLE)}
    assert month not in months and kept in months
    assert StatusEvent.objects.filter(event_time__gte=kept).count() == 1


def test_the_archive_counts_records_not_lines(tmp_path: Path) -> None:
    """The count check reads the file back as CSV: a field holding a newline is still one
    record, so the check neither fails a good archive nor passes a short one by lines."""
    month = _old_months(7)
    name = partitions.partition_name(TABLE, month)
    _event(month + timedelta(hours=1), whatsapp="86138\n00000002")  # a newline inside a field
    _event(month + timedelta(hours=2))
    archived = history.partition_archive(table=TABLE, name=name, directory=tmp_path)
    assert archived.rows == 2  # two records, though the file has three data lines


# --- reads carry a time bound: only the months they need are scanned ------------------------


def _plan(qs: Any) -> str:
    return str(qs.explain(analyze=True, costs=False, timing=False, summary=False))


def test_a_date_range_reads_only_its_month() -> None:
    month = _old_months(8)
    _event(month + timedelta(days=2))
    _event(_this_month() + timedelta(hours=1))
    f = selectors.EventFilters(since=month, until=month + timedelta(days=7))
    plan = _plan(
        selectors.event_filter(StatusEvent.objects.all(), f).order_by("-event_time", "-id")[:51]
    )
    scanned = {p.name for p in partitions.partitions(TABLE) if p.name in plan}
    assert scanned == {partitions.partition_name(TABLE, month)}, plan


def test_the_first_page_never_reads_the_default_partition_nor_older_months() -> None:
    old = _old_months(9)
    _event(old + timedelta(days=1))
    for i in range(60):
        _event(_this_month() + timedelta(minutes=i), n=i)
    qs = selectors.event_filter(StatusEvent.objects.all(), selectors.EventFilters())
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {TABLE}")
        # With a handful of rows a sort is cheapest; at scale the planner reads the months
        # in order by their index and stops at the LIMIT (bench/history.py's EXPLAIN):
        # the plan the bound makes possible, which a default partition in range forbids.
        cur.execute("SET LOCAL enable_sort = off")
        cur.execute("SET LOCAL enable_seqscan = off")
    plan = _plan(qs.order_by("-event_time", "-id")[:51])
    assert f"{TABLE}_default" not in plan, plan
    old_lines = [
        line for line in plan.splitlines() if partitions.partition_name(TABLE, old) in line
    ]
    assert old_lines and all("never executed" in line for line in old_lines), plan


def _history_reads(ctx: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if f'FROM "{TABLE}"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")
    ]


def _planned(sql: str) -> set[str]:
    """The months PostgreSQL plans for `sql` (pruned ones are not in the plan at all)."""
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN {sql}")
        plan = "\n".join(r[0] for r in cur.fetchall())
    return {p.name for p in partitions.partitions(TABLE) if re.search(rf"\b{p.name}\b", plan)}


def test_a_first_page_the_recent_months_fill_plans_only_them() -> None:
    old = _old_months(9)
    _event(old + timedelta(days=1))
    for i in range(60):
        _event(_this_month() + timedelta(minutes=i), n=i)
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.event_list(
            events=StatusEvent.objects.all(), filters=selectors.EventFilters(), cursor=None
        )
    reads = _history_reads(ctx)
    assert len(reads) == 1, reads
    planned = _planned(reads[0])
    assert partitions.partition_name(TABLE, _this_month()) in planned
    assert partitions.partition_name(TABLE, old) not in planned, planned
    # The same page as over every month: its rows and its next page.
    whole = selectors.keyset_page(
        selectors.event_filter(StatusEvent.objects.all(), selectors.EventFilters()),
        selectors.EVENT_KEYS,
        None,
        size=50,
        id_desc=True,
    )
    assert [e.pk for e in page.rows] == [e.pk for e in whole.rows]
    assert page.next_cursor == whole.next_cursor and not page.has_previous


def test_a_first_page_the_recent_months_do_not_fill_reads_every_month() -> None:
    old = _old_months(9)
    olds = [_event(old + timedelta(days=1, minutes=i), n=i) for i in range(45)]
    news = [_event(_this_month() + timedelta(minutes=i), n=i) for i in range(10)]
    page = selectors.event_list(
        events=StatusEvent.objects.all(), filters=selectors.EventFilters(), cursor=None
    )
    expected = [e.pk for e in news[::-1]] + [e.pk for e in olds[::-1]][:40]
    assert [e.pk for e in page.rows] == expected
    rest = selectors.event_list(
        events=StatusEvent.objects.all(),
        filters=selectors.EventFilters(),
        cursor=page.next_cursor,
    )
    assert [e.pk for e in rest.rows] == [e.pk for e in olds[::-1]][40:]


def test_the_timeline_reads_older_months_when_the_recent_ones_hold_too_few() -> None:
    old = _old_months(9)
    for i in range(3):
        _event(old + timedelta(days=1, minutes=i), n=i)
    for i in range(2):
        _event(_this_month() + timedelta(minutes=i), n=i)
    points = selectors.account_timeline(whatsapp="8613800000001", limit=4)
    assert [p["t"] for p in points] == [
        (old + timedelta(days=1, minutes=1)).isoformat(),
        (old + timedelta(days=1, minutes=2)).isoformat(),
        _this_month().isoformat(),
        (_this_month() + timedelta(minutes=1)).isoformat(),
    ]
    with CaptureQueriesContext(connection) as ctx:
        recent = selectors.account_timeline(whatsapp="8613800000001", limit=2)
    assert [p["t"] for p in recent] == [
        _this_month().isoformat(),
        (_this_month() + timedelta(minutes=1)).isoformat(),
    ]
    reads = _history_reads(ctx)
    assert len(reads) == 1 and partitions.partition_name(TABLE, old) not in _planned(reads[0])


def test_a_gap_between_months_is_filled() -> None:
    far = partitions.month_add(_this_month(), -20)
    partitions.month_ensure(TABLE, far)
    months = [p.lo for p in partitions.partitions(TABLE) if p.lo is not None]
    assert months[0] == far
    assert all(partitions.month_add(a, 1) == b for a, b in itertools.pairwise(months))


def test_pages_and_api_put_a_time_bound_on_every_history_query(people: Any) -> None:
    WhatsAppAccount.objects.create(whatsapp="8613800000009")
    _event(_this_month() + timedelta(hours=1), whatsapp="8613800000009")
    client = client_for(people.supervisor)
    urls = [
        "/accounts/logs/",
        "/accounts/logs/?whatsapp=8613800000009",
        "/accounts/logs/?agent=alice01",
        "/accounts/logs/?status=10",
        "/accounts/8613800000009/timeline.json",
        "/api/v1/status-events/?whatsapp=8613800000009",
    ]
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        reads = [
            q["sql"]
            for q in ctx.captured_queries
            if f'FROM "{TABLE}"' in q["sql"] and q["sql"].lstrip().startswith(("SELECT", "EXPLAIN"))
        ]
        assert reads, url
        for sql in reads:
            assert f'"{TABLE}"."event_time" >=' in sql and f'"{TABLE}"."event_time" <' in sql, (
                url,
                sql,
            )


def test_the_logs_page_says_how_far_back_the_history_goes(people: Any, settings: Any) -> None:
    settings.STATUS_HISTORY_MONTHS = 13
    oldest = _old_months(2) + timedelta(days=3)
    _event(oldest)
    _event(_this_month() + timedelta(hours=1), n=1)
    html = client_for(people.supervisor).get("/accounts/logs/").content.decode()
    assert f"since {oldest:%Y-%m-%d}: the last 13 calendar months are kept" in html


def test_the_months_span_is_kept_and_read_again_when_a_month_is_attached_or_detached() -> None:
    lo, hi = partitions.covered_span_kept(TABLE) or (None, None)
    assert (lo, hi) == partitions.covered_span(TABLE)
    assert hi is not None and lo is not None
    with CaptureQueriesContext(connection) as ctx:
        assert partitions.covered_span_kept(TABLE) == (lo, hi)
    assert not ctx.captured_queries  # kept: no catalogue read
    partitions.month_ensure(TABLE, hi)  # the month after the last one
    assert partitions.covered_span_kept(TABLE) == (lo, partitions.month_add(hi, 1))
    oldest = partitions.partitions(TABLE)[0]
    partitions.partition_detach(TABLE, oldest.name)
    assert partitions.covered_span_kept(TABLE) == (oldest.hi, partitions.month_add(hi, 1))


def test_a_logs_page_seen_again_reads_neither_the_catalogue_nor_the_oldest_event(
    people: Any, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.STATUS_HISTORY_MONTHS = 12
    for i in range(60):
        _event(_this_month() + timedelta(minutes=i), n=i)
    sup = client_for(people.supervisor)
    first = sup.get("/accounts/logs/").content.decode()
    assert "Every status record received from the vendor since" in first
    # The session and user, the page of rows and its exact count: nothing else.
    with (
        django_assert_max_num_queries(5),
        CaptureQueriesContext(connection) as ctx,
    ):
        again = sup.get("/accounts/logs/").content.decode()
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "pg_inherits" not in sql and "MIN(" not in sql, sql
    results = re.compile(r'<p class="muted" id="history-kept">.*?</p>|<tbody>.*?</tbody>', re.S)
    assert results.findall(again) == results.findall(first)
    assert len(results.findall(first)) == 2
    # Filtered: the same reads, the same months' bound.
    with django_assert_max_num_queries(5):
        assert sup.get("/accounts/logs/?agent=alice01").status_code == 200


def test_the_logs_rows_are_the_same_kept_or_rendered_and_in_the_reader_s_language(
    people: Any,
) -> None:
    at = _this_month() + timedelta(days=1, hours=3)
    StatusEvent.objects.create(
        whatsapp="8613800000001",
        status=40,
        detail_status=42,
        agent_account="",
        platform=None,
        event_time=at,
        received_at=at,
        source=StatusEvent.Origin.POLL,
        dedupe_key="k-poll",
    )
    sup = client_for(people.supervisor)
    row = re.compile(r"<tbody>.*?</tbody>", re.S)
    fresh = row.findall(sup.get("/accounts/logs/").content.decode())
    kept = row.findall(sup.get("/accounts/logs/").content.decode())
    assert fresh == kept and len(fresh) == 1
    body = fresh[0]
    for text in ("Banned", "Mobile banned", "Reconcile poll", 'href="/accounts/8613800000001/"'):
        assert text in body, body
    assert body.count("<tr>") == 1 and body.count("—") == 2  # no agent, no platform
    sup.cookies["django_language"] = "zh-hans"
    chinese = row.findall(sup.get("/accounts/logs/").content.decode())[0]
    assert chinese != body and "Reconcile poll" not in chinese
