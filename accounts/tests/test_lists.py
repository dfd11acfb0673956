"""Lists: keyset Previous (backwards, no OFFSET), sortable headers that show
and toggle their direction with one `sort=` in the URL, and "1–50 of about N" counts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts import selectors
from accounts.models import WhatsAppAccount
from accounts.tests.helpers import event_pages, make_account, make_event
from core.listing import row_count
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _seed(n: int = 137) -> None:
    base = timezone.now()
    for i in range(n):
        make_account(
            f"57300{i:07d}",
            name=f"name{i % 7}",  # many ties on name
            last_event_at=None if i % 5 == 0 else base - timedelta(minutes=i % 11),
        )


def _walk(sort: str, size: int) -> list[list[str]]:
    """Forward through every page, then back from the last one with `before` cursors:
    returns the forward pages; asserts the backward walk shows the very same pages."""
    qs = selectors.fleet_filter(WhatsAppAccount.objects.all(), selectors.FleetFilters(sort=sort))
    keys, id_desc = selectors.FLEET_SORTS[sort], selectors.FLEET_ID_DESC.get(sort, False)
    forward: list[selectors.Page[WhatsAppAccount]] = []
    cursor = None
    while True:
        page = selectors.keyset_page(qs, keys, cursor, size=size, id_desc=id_desc)
        forward.append(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backward = [forward[-1]]
    while backward[-1].prev_cursor:
        backward.append(
            selectors.keyset_page(
                qs, keys, None, size=size, id_desc=id_desc, before=backward[-1].prev_cursor
            )
        )
    fw = [[a.whatsapp for a in p.rows] for p in forward]
    bw = [[a.whatsapp for a in p.rows] for p in reversed(backward)]
    assert bw == fw, sort
    assert not backward[-1].has_previous and backward[-1].prev_cursor is None
    # Each page reached backwards links forward to the page that follows it.
    for i, p in enumerate(reversed(backward[1:])):
        nxt = selectors.keyset_page(qs, keys, p.next_cursor, size=size, id_desc=id_desc)
        assert [a.whatsapp for a in nxt.rows] == fw[i + 1]
    return fw


@pytest.mark.parametrize("sort", list(selectors.FLEET_SORTS))
def test_previous_retraces_next_with_ties_and_nulls(people: Any, sort: str) -> None:
    _seed()
    pages = _walk(sort, 10)
    seen = [w for p in pages for w in p]
    assert len(pages) == 14 and len(seen) == len(set(seen)) == 137


def test_event_previous_with_equal_times(people: Any) -> None:
    at = timezone.now()
    for i in range(41):
        make_event("8613800000001", 10, 11, at - timedelta(seconds=i // 4))
    pages = event_pages(size=6)
    forward = [[e.pk for e in p.rows] for p in pages]
    back = [forward[-1]]
    prev = pages[-1].prev_cursor
    while prev:
        page = selectors.event_list(
            events=selectors.StatusEvent.objects.all(),
            filters=selectors.EventFilters(),
            cursor=None,
            before=prev,
            size=6,
        )
        back.append([e.pk for e in page.rows])
        prev = page.prev_cursor
    assert list(reversed(back)) == forward
    assert len({pk for p in forward for pk in p}) == 41


def _links(body: str) -> dict[str, str]:
    """data-pager name -> href of the fleet pager links."""
    return {
        m.group(2): m.group(1).replace("&amp;", "&")
        for m in re.finditer(r'<a href="([^"]*)"[^>]*data-pager="(\w+)"', body)
    }


def test_fleet_page_previous_link_and_positions(people: Any) -> None:
    _seed()
    sup = client_for(people.supervisor)
    first = sup.get("/accounts/?sort=name").content.decode()
    assert "1–50 of 137" in first
    assert set(_links(first)) == {"next"}  # no Previous on the first page
    second = sup.get("/accounts/" + _links(first)["next"]).content.decode()
    assert "51–100 of 137" in second and {"prev", "next", "first"} <= set(_links(second))
    third = sup.get("/accounts/" + _links(second)["next"], headers=HTMX).content.decode()
    assert "101–137 of 137" in third and "next" not in _links(third)
    back = sup.get("/accounts/" + _links(third)["prev"], headers=HTMX).content.decode()
    assert "51–100 of 137" in back
    rows = re.findall(r'id="row-(\d+)"', back)
    assert rows == re.findall(r'id="row-(\d+)"', second) and len(rows) == 50
    again = sup.get("/accounts/" + _links(back)["prev"], headers=HTMX).content.decode()
    assert "1–50 of 137" in again and set(_links(again)) == {"next"}
    assert re.findall(r'id="row-(\d+)"', again) == re.findall(r'id="row-(\d+)"', first)
    # Paging keeps the filters and sort, once each, and lands at the top of the list.
    for href in _links(second).values():
        q = parse_qs(urlsplit(href).query)
        assert q.get("sort") == ["name"]
        assert not ({"cursor", "before"} <= set(q))
    assert 'hx-swap="innerHTML show:#bulk-form:top"' in second


def test_sort_headers_show_and_toggle_direction(people: Any) -> None:
    _seed(12)
    sup = client_for(people.supervisor)

    def header(body: str, key: str) -> tuple[str, str]:
        th = r'<th scope="col"(?: class="[\w ]+")?( aria-sort="\w+")?>'
        th += r'<a href="\?([^"]*)" data-sort="'
        m = re.search(th + key, body)
        assert m, key
        return (m.group(1) or "").strip(), m.group(2).replace("&amp;", "&")

    body = sup.get("/accounts/").content.decode()
    state, href = header(body, "whatsapp")
    assert state == 'aria-sort="ascending"' and parse_qs(href)["sort"] == ["-whatsapp"]
    assert 'data-sort="whatsapp">Number <span class="sort-arrow" aria-hidden="true">▲' in body
    assert header(body, "name") == ("", "sort=name")
    assert header(body, "last_event_at") == ("", "sort=-last_event_at")  # newest first

    # Click "Name" twice from a filtered second page: one sort=, no cursor, filters kept.
    url = "/accounts/?country=&sort=whatsapp&cursor=abc&at=51&sort=whatsapp"
    _state, href = header(sup.get(url).content.decode(), "name")
    q = parse_qs(href, keep_blank_values=True)
    assert q["sort"] == ["name"] and "cursor" not in q and "at" not in q and "country" in q
    body = sup.get("/accounts/?" + href).content.decode()
    state, href = header(body, "name")
    assert state == 'aria-sort="ascending"' and parse_qs(href)["sort"] == ["-name"]
    body = sup.get("/accounts/?" + href).content.decode()
    state, href = header(body, "name")
    assert state == 'aria-sort="descending"' and parse_qs(href)["sort"] == ["name"]
    assert "▼" in body and href.count("sort=") == 1
    assert header(body, "whatsapp")[0] == ""


def test_counts_exact_below_the_limit_estimated_above(people: Any) -> None:
    _seed()
    make_account("8613800000009", name="Solo")
    with connection.cursor() as cur:
        cur.execute("ANALYZE accounts_whatsappaccount")
    sup = client_for(people.supervisor)
    assert "1–50 of 138</span>" in sup.get("/accounts/").content.decode()
    with override_settings(LIST_EXACT_COUNT_LIMIT=100):
        body = sup.get("/accounts/").content.decode()
        m = re.search(r"1–50 of about ([\d,]+)</span>", body)
        assert m and int(m.group(1).replace(",", "")) > 100
        # A filter that leaves few rows is counted exactly, without "about".
        body = sup.get("/accounts/?q=Solo").content.decode()
        assert "1–1 of 1</span>" in body and "about" not in body
        est = row_count(WhatsAppAccount.objects.all())
        assert est.estimated and est.n > 100
        exact = row_count(WhatsAppAccount.objects.filter(name="name3"))
        assert not exact.estimated and exact.n == 20


def test_an_estimate_is_reused_and_an_exact_count_never(
    people: Any, django_assert_num_queries: Any
) -> None:
    _seed(40)
    with connection.cursor() as cur:
        cur.execute("ANALYZE accounts_whatsappaccount")
    big = WhatsAppAccount.objects.filter(name__startswith="name")
    small = WhatsAppAccount.objects.filter(name="name3")
    with override_settings(LIST_EXACT_COUNT_LIMIT=10, LIST_ESTIMATE_SECONDS=60):
        with django_assert_num_queries(2):  # the bounded count, then EXPLAIN
            first = row_count(big)
        with django_assert_num_queries(0):  # an "about" figure, kept a while
            assert row_count(big) == first and first.estimated
        with django_assert_num_queries(1):  # exact: counted on every view
            assert row_count(small).n == 6
        make_account("57399999999", name="name3")
        with django_assert_num_queries(1):
            assert row_count(small).n == 7
    # Under another limit the same query is asked again: the limit is part of the key.
    with override_settings(LIST_EXACT_COUNT_LIMIT=1000), django_assert_num_queries(1):
        counted = row_count(big)
    assert counted.n == 41 and not counted.estimated


def test_logs_pager_previous_and_count(people: Any) -> None:
    at = timezone.now()
    for i in range(60):
        make_event("8613800000001", 10, 11, at - timedelta(seconds=i))
    sup = client_for(people.supervisor)
    first = sup.get("/accounts/logs/").content.decode()
    assert "1–50 of 60" in first
    second = sup.get("/accounts/logs/" + _links(first)["next"], headers=HTMX).content.decode()
    assert "51–60 of 60" in second
    back = sup.get("/accounts/logs/" + _links(second)["prev"], headers=HTMX).content.decode()
    assert "1–50 of 60" in back and "prev" not in _links(back)


def test_account_history_pager_previous(people: Any) -> None:
    account = make_account("8613800000001")
    at = timezone.now()
    for i in range(30):
        make_event(account.whatsapp, 10, 11, at - timedelta(seconds=i // 3))
    sup = client_for(people.supervisor)
    url = f"/accounts/{account.whatsapp}/"
    first = sup.get(url).content.decode()
    older = sup.get(url + _links(first)["next"], headers=HTMX).content.decode()
    row = r"<tr[^>]*><td[^>]*><time"
    assert "next" not in _links(older) and len(re.findall(row, older)) == 5
    latest = sup.get(url + _links(older)["prev"], headers=HTMX).content.decode()
    assert len(re.findall(row, latest)) == 25 and "prev" not in _links(latest)
    times = re.findall(r"<tr[^>]*><td[^>]*><time[^>]*>", latest)
    assert times == re.findall(r"<tr[^>]*><td[^>]*><time[^>]*>", first)[: len(times)]


def test_account_history_marks_the_row_it_mirrors_kept_or_rendered(people: Any) -> None:
    """The history's rows are kept rendered (core/fragments.py): the row the account's
    presence mirrors is still the one marked, and the mark moves with the presence."""
    at = timezone.now().replace(microsecond=0)
    account = make_account("8613800000001", agent="alice01")
    older = make_event(account.whatsapp, 30, 31, at - timedelta(minutes=5), agent_account="alice01")
    newer = make_event(account.whatsapp, 10, 11, at, agent_account="alice01")
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        last_event_at=older.event_time, presence_status=30, detail_status=31
    )
    sup = client_for(people.supervisor)
    url = f"/accounts/{account.whatsapp}/"
    rows = re.compile(r"<tr[^>]*><td[^>]*><time.*?</tr>", re.S)
    fresh = rows.findall(sup.get(url).content.decode())
    kept = rows.findall(sup.get(url).content.decode())
    assert fresh == kept and len(fresh) == 2
    assert "Current state" not in fresh[0] and "current-event" not in fresh[0]
    assert "Current state" in fresh[1] and 'class="current-event"' in fresh[1]
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        last_event_at=newer.event_time, presence_status=10, detail_status=11
    )
    moved = rows.findall(sup.get(url).content.decode())
    assert "Current state" in moved[0] and "Current state" not in moved[1]


def test_account_page_reads_its_port_once_and_not_the_partition_catalogue(
    people: Any, django_assert_max_num_queries: Any
) -> None:
    account = make_account("8613800000001", agent="alice01")
    make_event(account.whatsapp, 10, 11, timezone.now(), agent_account="alice01")
    sup = client_for(people.supervisor)
    url = f"/accounts/{account.whatsapp}/"
    assert sup.get(url).status_code == 200
    # The user and permissions, the account, its history page and current row, its agent,
    # its cloud port, its contact look-ups.
    with django_assert_max_num_queries(8) as ctx:
        assert sup.get(url).status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sum("qrlogin_cloudport" in q for q in sql) == 1, sql
    assert not any("pg_inherits" in q for q in sql), sql
