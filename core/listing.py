"""What every keyset-paged list shows around its table: the row count ("1–50 of about
100,000"), the Previous/Next links and the sortable headers. Reads only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict

from core.cache import cache_read, cache_write

PAGING_PARAMS = ("cursor", "before", "at")


@dataclass(frozen=True)
class RowCount:
    n: int
    estimated: bool  # PostgreSQL's planner estimate, not a count


def _significant(n: int, digits: int = 2) -> int:
    """123,456 -> 120,000: an estimate shown with no false precision."""
    if n < 10**digits:
        return n
    step = 10 ** (len(str(n)) - digits)
    return round(n / step) * step


def row_count(qs: QuerySet[Any]) -> RowCount:
    """Exact up to LIST_EXACT_COUNT_LIMIT rows (a bounded count: it stops reading there);
    above it, the planner's row estimate for the same filtered query (EXPLAIN), never
    below the limit it has just proved.

    An estimate is kept for LIST_ESTIMATE_SECONDS under the query's SQL, and reused
    without either query: it is "about" a figure already, and on a large fleet the bounded
    count and the EXPLAIN were two of the fleet page's nine queries on every view
    (bench/pages.py --profile). Exact counts are never kept: a small list's pager must
    agree with the rows it pages."""
    limit: int = settings.LIST_EXACT_COUNT_LIMIT
    qs = qs.order_by()
    sql, params = qs.query.sql_with_params()
    key = (
        "rowcount:"
        + hashlib.blake2b(repr((sql, params, limit)).encode(), digest_size=16).hexdigest()
    )
    known = cache_read(key)
    if known is not None:
        return RowCount(int(known), estimated=True)
    exact = qs[: limit + 1].count()
    if exact <= limit:
        return RowCount(exact, estimated=False)
    plan = json.loads(qs.explain(format="json"))
    estimate = _significant(max(int(plan[0]["Plan"]["Plan Rows"]), limit + 1))
    cache_write(key, estimate, settings.LIST_ESTIMATE_SECONDS)
    return RowCount(estimate, estimated=True)


def known_count(n: int) -> RowCount:
    """A total already known (e.g. cached) shown the way row_count shows a count: exact up
    to LIST_EXACT_COUNT_LIMIT, rounded and marked "about" above it."""
    if n <= settings.LIST_EXACT_COUNT_LIMIT:
        return RowCount(n, estimated=False)
    return RowCount(_significant(n), estimated=True)


def _query(base: QueryDict, **params: Any) -> str:
    q = base.copy()
    for name in PAGING_PARAMS:
        q.pop(name, None)
    for name, value in params.items():
        q.pop(name, None)
        if value is not None:
            q[name] = str(value)
    return q.urlencode()


@dataclass(frozen=True)
class Pager:
    first: int  # 1-based position of the page's first row
    last: int
    count: RowCount | None
    prev_query: str | None  # None: no link
    next_query: str | None
    first_query: str | None


def position(request_get: QueryDict, has_previous: bool) -> int:
    """The page's first row number, carried in `at` (display only: keyset pages do not
    know their offset, and counting the rows before a cursor is what keyset avoids)."""
    if not has_previous:
        return 1
    raw = request_get.get("at", "")
    return max(int(raw), 2) if raw.isdigit() and 0 < len(raw) < 10 else 2


def pager(request_get: QueryDict, page: Any, *, size: int, count: RowCount | None = None) -> Pager:
    """The links of a keyset page: Previous (keyset backwards from the first row), Next,
    First; each keeps the filters and the sort and carries the next page's position."""
    first = position(request_get, page.has_previous)
    n = len(page.rows)
    prev_query = next_query = first_query = None
    if page.has_previous and page.prev_cursor:
        prev_query = _query(request_get, before=page.prev_cursor, at=max(first - size, 1))
    if page.has_previous:
        first_query = _query(request_get)
    if page.next_cursor:
        next_query = _query(request_get, cursor=page.next_cursor, at=first + n)
    last = first + n - 1
    if count is not None and not count.estimated and count.n >= n:
        # An exact total bounds the positions a stale `at` could claim.
        last = min(last, count.n)
        first = max(min(first, count.n - n + 1), 1)
    return Pager(first, last, count, prev_query, next_query, first_query)


@dataclass(frozen=True)
class SortHeader:
    label: str
    query: str  # the link: the current filters with this column's sort, one sort= only
    aria_sort: str  # "ascending" / "descending" / "" (not the sort column)
    arrow: str


def sort_headers(
    request_get: QueryDict, current: str, columns: Mapping[str, tuple[str, bool]]
) -> dict[str, SortHeader]:
    """Per column key: its header link and state. `columns` maps a sort key to its label
    and whether it starts descending; a click on the sorted column flips its direction.
    The link replaces `sort=` (never appends) and drops the paging cursor."""
    out: dict[str, SortHeader] = {}
    for key, (label, starts_desc) in columns.items():
        if current == key:
            state, arrow, target = "ascending", "▲", f"-{key}"
        elif current == f"-{key}":
            state, arrow, target = "descending", "▼", key
        else:
            state, arrow, target = "", "", f"-{key}" if starts_desc else key
        out[key] = SortHeader(str(label), _query(request_get, sort=target), state, arrow)
    return out
