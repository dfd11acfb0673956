"""The "Accounts online over time" chart counts the accounts online at each hour by the
status history (the record in force at the hour, carried forward), not the accounts that
reported in the hour; and it reads only the range's months plus each account's last record
before the range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import selectors
from accounts.models import StatusEvent, WhatsAppAccount
from accounts.tests.helpers import make_account
from core import partitions
from tests.fixtures import client_for

TABLE = "accounts_statusevent"
ONLINE, DISCONNECTED, OFFLINE, BANNED = 10, 20, 30, 40
pytestmark = pytest.mark.django_db


def _event(whatsapp: str, status: int, at: datetime, agent: str = "alice01") -> None:
    StatusEvent.objects.create(
        whatsapp=whatsapp,
        status=status,
        detail_status=None,
        agent_account=agent,
        event_time=at,
        received_at=at,
        dedupe_key=f"{whatsapp}-{status}-{at.timestamp()}",
    )


def _this_month() -> datetime:
    return partitions.month_start(datetime.now(UTC))


def _history() -> datetime:
    """Four accounts around a range starting at the hour `h0` (returned), and one that
    never reported. By the hour (h0 + k):

    B online since the day before; A offline before, online at +2:10; C online at +1:05,
    offline at +3:30; D (bob01) banned at +0:30. So online 1,1,2,3,2,2 and not online
    1,2,2,1,2,2. Counting who reported per hour gives 0,0,1,1,0,0 online instead."""
    h0 = _this_month() + timedelta(days=3)
    for n in ("8610000000001", "8610000000002", "8610000000003", "8610000000004", "86100000005"):
        make_account(n)
    a, b, c, d = "8610000000001", "8610000000002", "8610000000003", "8610000000004"
    _event(b, ONLINE, h0 - timedelta(days=1))
    _event(a, ONLINE, h0 - timedelta(hours=5))
    _event(a, OFFLINE, h0 - timedelta(hours=2))
    _event(d, BANNED, h0 + timedelta(minutes=30), agent="bob01")
    _event(c, ONLINE, h0 + timedelta(hours=1, minutes=5))
    _event(a, ONLINE, h0 + timedelta(hours=2, minutes=10))
    _event(c, ONLINE, h0 + timedelta(hours=2, minutes=40))  # a repeat changes nothing
    _event(c, OFFLINE, h0 + timedelta(hours=3, minutes=30))
    return h0


def test_each_hour_counts_the_accounts_online_then() -> None:
    h0 = _history()
    f = selectors.EventFilters(since=h0)
    chart = selectors.online_over_time(
        accounts=WhatsAppAccount.objects.all(), filters=f, now=h0 + timedelta(hours=5, minutes=20)
    )
    assert chart["online"] == [1, 1, 2, 3, 2, 2, 2]
    assert chart["down"] == [1, 2, 2, 1, 2, 2, 2]
    # Every hour of the range, then the range's end (the state in force now).
    assert [datetime.fromisoformat(t) for t in chart["labels"]] == [
        *(h0 + timedelta(hours=k) for k in range(6)),
        h0 + timedelta(hours=5, minutes=20),
    ]


def test_the_state_in_force_is_filtered_not_the_records() -> None:
    h0 = _history()
    f = selectors.EventFilters(since=h0, agent="alice01")
    chart = selectors.online_over_time(
        accounts=WhatsAppAccount.objects.all(), filters=f, now=h0 + timedelta(hours=5)
    )
    assert chart["online"] == [1, 1, 2, 3, 2, 2]
    assert chart["down"] == [1, 1, 1, 0, 1, 1]  # bob01's banned account is not alice01's


def test_a_readers_scope_holds_under_a_number_filter() -> None:
    h0 = _history()
    mine = WhatsAppAccount.objects.filter(whatsapp="8610000000001")
    now = h0 + timedelta(hours=5)
    other = selectors.EventFilters(since=h0, whatsapp="8610000000003")
    assert selectors.online_over_time(accounts=mine, filters=other, now=now)["online"] == []
    own = selectors.EventFilters(since=h0, whatsapp="8610000000001")
    chart = selectors.online_over_time(accounts=mine, filters=own, now=now)
    assert chart["online"] == [0, 0, 0, 1, 1, 1] and chart["down"] == [1, 1, 1, 0, 0, 0]
    # The whole fleet (accounts=None) counts as every account listed does.
    fleet = selectors.online_over_time(
        accounts=None, filters=selectors.EventFilters(since=h0), now=now
    )
    assert fleet["online"] == [1, 1, 2, 3, 2, 2] and fleet["down"] == [1, 2, 2, 1, 2, 2]


def test_hours_are_the_readers_and_labels_carry_the_zone() -> None:
    h0 = _history()
    since = h0 + timedelta(minutes=10)
    with timezone.override("Asia/Kolkata"):  # UTC+5:30: its hours start at :30 UTC
        chart = selectors.online_over_time(
            accounts=WhatsAppAccount.objects.all(),
            filters=selectors.EventFilters(since=since),
            now=h0 + timedelta(hours=3),
        )
    first = datetime.fromisoformat(chart["labels"][0])
    assert first == h0 + timedelta(minutes=30) and first.utcoffset() == timedelta(hours=5.5)
    # +0:30 (D banned just then), +1:30 (C online), +2:30 (A online), +3:00 (the end)
    assert chart["online"] == [1, 2, 3, 3]
    assert chart["down"] == [2, 2, 1, 1]


def test_the_logs_page_chart_takes_the_pages_range(people: Any) -> None:
    h0 = _history()
    since = timezone.localtime(h0).strftime("%Y-%m-%dT%H:%M")
    until = timezone.localtime(h0 + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    chart = (
        client_for(people.supervisor)
        .get("/accounts/logs/chart.json", {"since": since, "until": until})
        .json()
    )
    assert chart["online"] == [1, 1, 2, 3, 2] and chart["down"] == [1, 2, 2, 1, 2]


def test_reads_the_ranges_months_and_one_record_before_it_per_account() -> None:
    old = partitions.month_add(_this_month(), -4)
    partitions.month_ensure(TABLE, old)
    partitions.month_ensure(TABLE, partitions.month_add(_this_month(), -1))
    h0 = _history()
    _event("8610000000002", OFFLINE, old + timedelta(days=2))  # an older state, superseded
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {TABLE}")
    with CaptureQueriesContext(connection) as ctx:
        selectors.online_over_time(
            # A and B: each has a record before the range, in the range's month.
            accounts=WhatsAppAccount.objects.filter(
                whatsapp__in=["8610000000001", "8610000000002"]
            ),
            filters=selectors.EventFilters(since=h0),
            now=h0 + timedelta(hours=5),
        )
    sql = next(q["sql"] for q in ctx.captured_queries if "LATERAL" in q["sql"])
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}")
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert f"{TABLE}_default" not in plan, plan
    # Each account's probe stops at the month holding its last record before the range:
    # the older months are in the plan (a probe could need them) but never read. (An
    # account with no record before the range is probed once in each month kept.)
    for month in (old, partitions.month_add(_this_month(), -1)):
        name = partitions.partition_name(TABLE, month)
        lines = [line for line in plan.splitlines() if name in line]
        assert lines and all("never executed" in line for line in lines), plan


def test_accounts_without_history_count_by_their_login_state_report() -> None:
    """No record in the history: online only if the account's login state report says so,
    from the point it was reported at; never reported, in neither count. An account online
    before the range with no record in it (B) is online at every point."""
    h0 = _history()
    make_account(
        "8610000000006", online_status=2, online_status_at=h0 + timedelta(hours=1, minutes=30)
    )
    make_account("8610000000007", online_status=2)  # when is unknown: the state in force
    make_account("8610000000008", online_status=4, online_status_at=h0 - timedelta(days=2))
    make_account("8610000000009", online_status=2, recycled=True)  # back with the vendor
    chart = selectors.online_over_time(
        accounts=WhatsAppAccount.objects.all(),
        filters=selectors.EventFilters(since=h0),
        now=h0 + timedelta(hours=5, minutes=20),
    )
    # _history's 1,1,2,3,2,2,2, plus the first from +2:00 and the second at the end.
    assert chart["online"] == [1, 1, 3, 4, 3, 3, 4]
    assert chart["down"] == [2, 3, 3, 2, 3, 3, 3]  # plus the offline one throughout
    b = selectors.online_over_time(
        accounts=WhatsAppAccount.objects.all(),
        filters=selectors.EventFilters(since=h0, whatsapp="8610000000002"),
        now=h0 + timedelta(hours=5),
    )
    assert b["online"] == [1] * 6 and b["down"] == [0] * 6
    # A detail filter asks for records: an account without any matches none.
    detail = selectors.online_over_time(
        accounts=WhatsAppAccount.objects.filter(whatsapp__in=["8610000000006"]),
        filters=selectors.EventFilters(since=h0, detail_status=12),
        now=h0 + timedelta(hours=5),
    )
    assert detail["online"] == []


def test_accounts_without_history_are_looked_for_inside_the_months_kept() -> None:
    """The search for accounts with no record at all plans the months only, not the default
    partition, while it is empty (as every other read of the history)."""
    h0 = _history()
    make_account("8610000000006", online_status=2)
    with CaptureQueriesContext(connection) as ctx:
        chart = selectors.online_over_time(
            accounts=WhatsAppAccount.objects.all(),
            filters=selectors.EventFilters(since=h0),
            now=h0 + timedelta(hours=5, minutes=20),
        )
    assert chart["online"][-1] == 3  # _history's 2, and the bare account in force at the end
    sql = next(
        q["sql"]
        for q in ctx.captured_queries
        if "EXISTS" in q["sql"] and "accounts_whatsappaccount" in q["sql"]
    )
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN {sql}")
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert f"{TABLE}_default" not in plan, plan
