"""Reads for the accounts console: fleet list, events, jobs. No writes here.

Big tables are paged by keyset (a cursor holding the last row's sort values and id; a
`before` cursor pages backwards from the first row), never by OFFSET. A list's total is
counted only up to LIST_EXACT_COUNT_LIMIT rows and estimated by PostgreSQL above it
(core.listing); the per-state tiles are computed over an index-friendly aggregate and
cached briefly.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, Model, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.choices import AccountStatus, OnlineStatus, Presence
from accounts.models import (
    Agent,
    BulkJob,
    BulkJobItem,
    ContactLookup,
    Registration,
    StatusEvent,
    WhatsAppAccount,
)
from core import generations, partitions
from core.cache import cache_read, cache_write
from core.listing import RowCount, row_count

M = TypeVar("M", bound=Model)

PAGE_SIZE = 50
COUNTS_TTL = 10  # seconds: the tiles may lag this much behind the table
CHOICES_TTL = 300


# --- keyset pagination ----------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One sort column: the model field, its direction and whether it may be NULL."""

    field: str
    desc: bool = False
    nullable: bool = False
    unique: bool = False  # no tie-break needed: lets an index deliver the order


@dataclass
class Page(Generic[M]):
    rows: list[M]
    next_cursor: str | None
    has_previous: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    prev_cursor: str | None = None  # keyset backwards: the page before the first row


def _encode(values: list[Any]) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[SortKey]) -> list[Any] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(keys) + 1:
        return None
    if not isinstance(values[-1], int):
        return None
    out: list[Any] = []
    for key, value in zip(keys, values[:-1], strict=False):
        if value is not None and key.field.endswith(("_at", "_time")):
            parsed = parse_datetime(str(value))
            if parsed is None:
                return None
            value = parsed
        out.append(value)
    out.append(values[-1])
    return out


def _after(keys: Sequence[SortKey], values: list[Any], id_desc: bool) -> Q:
    """Rows strictly after `values` in the order (keys..., id). NULLs sort last."""
    *vals, last_id = values
    if keys and keys[-1].unique and vals[-1] is not None:
        op = "lt" if keys[-1].desc else "gt"
        cond = Q(**{f"{keys[-1].field}__{op}": vals[-1]})
        keys, vals = keys[:-1], vals[:-1]
    else:
        cond = Q(id__lt=last_id) if id_desc else Q(id__gt=last_id)
    # Build from the last key outwards: (k1 > v1) | (k1 = v1 & ((k2 > v2) | ...)).
    for key, value in reversed(list(zip(keys, vals, strict=False))):
        if value is None:
            # In the NULL section (last): only later NULL rows follow.
            cond = Q(**{f"{key.field}__isnull": True}) & cond
            continue
        op = "lt" if key.desc else "gt"
        beyond = Q(**{f"{key.field}__{op}": value})
        if key.nullable:
            beyond |= Q(**{f"{key.field}__isnull": True})
        cond = beyond | (Q(**{key.field: value}) & cond)
    return cond


def _before(keys: Sequence[SortKey], values: list[Any], id_desc: bool) -> Q:
    """Rows strictly before `values` in the order (keys..., id). NULLs sort last."""
    *vals, last_id = values
    if keys and keys[-1].unique and vals[-1] is not None:
        op = "gt" if keys[-1].desc else "lt"
        cond = Q(**{f"{keys[-1].field}__{op}": vals[-1]})
        keys, vals = keys[:-1], vals[:-1]
    else:
        cond = Q(id__gt=last_id) if id_desc else Q(id__lt=last_id)
    for key, value in reversed(list(zip(keys, vals, strict=False))):
        if value is None:
            # In the NULL section (last): every non-NULL row comes before it.
            cond = Q(**{f"{key.field}__isnull": False}) | (
                Q(**{f"{key.field}__isnull": True}) & cond
            )
            continue
        op = "gt" if key.desc else "lt"
        cond = Q(**{f"{key.field}__{op}": value}) | (Q(**{key.field: value}) & cond)
    return cond


def _order(keys: Sequence[SortKey], id_desc: bool, *, reverse: bool = False) -> list[Any]:
    """The list order (NULLs last), or its exact mirror image when `reverse`."""
    order: list[Any] = []
    for key in keys:
        expr = F(key.field)
        desc = key.desc != reverse
        if key.nullable:
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
            order.append(expr.desc(**nulls) if desc else expr.asc(**nulls))
        else:
            order.append(expr.desc() if desc else expr.asc())
    if not (keys and keys[-1].unique):
        order.append("-id" if id_desc != reverse else "id")
    return order


def _cursor_of(row: Model, keys: Sequence[SortKey]) -> str:
    return _encode([getattr(row, k.field) for k in keys] + [row.pk])


def keyset_page(
    qs: QuerySet[M],
    keys: Sequence[SortKey],
    cursor: str | None,
    *,
    size: int = PAGE_SIZE,
    id_desc: bool = False,
    before: str | None = None,
) -> Page[M]:
    """One page after `cursor`, or the page just before `before` (keyset backwards);
    neither: the first page. Fetches size+1 rows, no COUNT and no OFFSET."""
    back = _decode(before, keys) if before and not cursor else None
    if back is not None:
        first = keys[0] if keys else None
        bounded = qs
        if first is not None and not first.nullable and back[0] is not None:
            bounded = qs.filter(**{f"{first.field}__{'gte' if first.desc else 'lte'}": back[0]})
        rows = list(
            bounded.filter(_before(keys, back, id_desc)).order_by(
                *_order(keys, id_desc, reverse=True)
            )[: size + 1]
        )
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        if not rows:  # nothing before it any more: show the first page
            return keyset_page(qs, keys, None, size=size, id_desc=id_desc)
        end = rows[-1]
        has_next = qs.filter(
            _after(keys, [getattr(end, k.field) for k in keys] + [end.pk], id_desc)
        ).exists()
        return Page(
            rows=rows,
            next_cursor=_cursor_of(end, keys) if has_next else None,
            has_previous=more_before,
            prev_cursor=_cursor_of(rows[0], keys) if more_before else None,
        )
    values = _decode(cursor, keys) if cursor else None
    if values is not None:
        qs = qs.filter(_after(keys, values, id_desc))
        # The first key's own bound, besides the OR above: the index scan starts at the
        # cursor instead of filtering every row before it (and a time key prunes partitions).
        first = keys[0] if keys else None
        if first is not None and not first.nullable and values[0] is not None:
            qs = qs.filter(**{f"{first.field}__{'lte' if first.desc else 'gte'}": values[0]})
    rows = list(qs.order_by(*_order(keys, id_desc))[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = _cursor_of(rows[-1], keys)
    return Page(
        rows=rows,
        next_cursor=next_cursor,
        has_previous=values is not None,
        prev_cursor=_cursor_of(rows[0], keys) if values is not None and rows else None,
    )


# --- fleet list ---------------------------------------------------------------------

FLEET_SORTS: dict[str, tuple[SortKey, ...]] = {
    "whatsapp": (SortKey("whatsapp", unique=True),),
    "-whatsapp": (SortKey("whatsapp", desc=True, unique=True),),
    "name": (SortKey("name"),),
    "-name": (SortKey("name", desc=True),),
    "last_event_at": (SortKey("last_event_at", nullable=True),),
    "-last_event_at": (SortKey("last_event_at", desc=True, nullable=True),),
    "-id": (SortKey("id", desc=True, unique=True),),  # newest first ("N new accounts — show")
}
FLEET_ID_DESC = {"-whatsapp": True, "-name": True, "-last_event_at": True, "-id": True}

FLEET_LIST_FIELDS = (
    "id",
    "whatsapp",
    "name",
    "account_type",
    "status",
    "online_status",
    "presence_status",
    "detail_status",
    "platform",
    "source",
    "country",
    "agent_account",
    "last_event_at",
    "recycled",
)


# The login-state filter's value for recycled accounts (the vendor's codes are 1-4): a
# recycled account is in this bucket whatever its last login state was, so the tiles and
# the lists they link to count it once, as recycled.
RECYCLED = 0


@dataclass(frozen=True)
class FleetFilters:
    status: int | None = None
    online_status: int | None = None
    presence: int | None = None
    state: str = ""  # one of FLEET_STATES: a tile's rows
    agent: str = ""
    platform: int | None = None
    source: int | None = None
    account_type: int | None = None
    country: str = ""
    q: str = ""
    sort: str = "whatsapp"

    def active(self) -> bool:
        return any(
            v not in (None, "")
            for k, v in self.__dict__.items()
            if k != "sort"  # sorting is not filtering
        )


def fleet_filter(qs: QuerySet[WhatsAppAccount], f: FleetFilters) -> QuerySet[WhatsAppAccount]:
    if f.status is not None:
        qs = qs.filter(status=f.status)
    if f.online_status == RECYCLED:
        qs = qs.filter(recycled=True)
    elif f.online_status is not None:
        qs = qs.filter(online_status=f.online_status, recycled=False)
    if f.presence is not None:
        qs = qs.filter(presence_status=f.presence)
    if f.state in FLEET_STATES:
        qs = qs.filter(fleet_state_q(f.state))
    if f.agent:
        qs = qs.filter(agent_account=f.agent)
    if f.platform is not None:
        qs = qs.filter(platform=f.platform)
    if f.source is not None:
        qs = qs.filter(source=f.source)
    if f.account_type is not None:
        qs = qs.filter(account_type=f.account_type)
    if f.country:
        qs = qs.filter(country=f.country)
    q = f.q.strip()
    if q:
        digits = q.lstrip("+").replace(" ", "")
        if digits.isdigit():
            qs = qs.filter(whatsapp__startswith=digits)
        else:
            qs = qs.filter(name__icontains=q)
    return qs


def account_list(
    *,
    visible: QuerySet[WhatsAppAccount],
    filters: FleetFilters,
    cursor: str | None,
    before: str | None = None,
) -> Page[WhatsAppAccount]:
    sort = filters.sort if filters.sort in FLEET_SORTS else "whatsapp"
    qs = fleet_filter(visible, filters).only(*FLEET_LIST_FIELDS)
    return keyset_page(
        qs, FLEET_SORTS[sort], cursor, id_desc=FLEET_ID_DESC.get(sort, False), before=before
    )


def account_count(*, visible: QuerySet[WhatsAppAccount], filters: FleetFilters) -> RowCount:
    """How many accounts match: exact on small sets, PostgreSQL's estimate on big ones
    (core.listing.row_count), kept like the tiles: under their generation, which every
    change of an account through the services bumps on commit, for at most COUNTS_TTL
    seconds (what a change outside the services can leave stale). An agent's exact count
    was a fifth of their fleet page's CPU on every view (bench/pages.py --profile)."""
    # Sorting does not change the count; the exact-count limit does (exact or "about").
    limit = settings.LIST_EXACT_COUNT_LIMIT
    which = hashlib.blake2b(repr((replace(filters, sort=""), limit)).encode(), digest_size=12)
    key = f"rows:{_scope_key(visible)}:{which.hexdigest()}"
    return generations.cached(
        COUNTS, key, COUNTS_TTL, lambda: row_count(fleet_filter(visible, filters))
    )


def account_export_rows(
    *, visible: QuerySet[WhatsAppAccount], filters: FleetFilters, ids: Sequence[int] | None = None
) -> QuerySet[WhatsAppAccount]:
    qs = fleet_filter(visible, filters)
    if ids:
        qs = qs.filter(id__in=ids)
    return qs.only(*FLEET_LIST_FIELDS).order_by("whatsapp")


def _scope_key(visible: QuerySet[WhatsAppAccount]) -> str:
    """The scope's name (accounts.access.accounts_visible_to names its querysets), else its
    SQL digested, worked out once per queryset: compiling the SQL was most of what a cached
    read cost (bench/pages.py --profile). A filtered copy is another queryset, with a key of
    its own."""
    from accounts.access import SCOPE_ATTR

    key: str | None = getattr(visible, SCOPE_ATTR, None)
    if key is None:
        key = hashlib.sha256(str(visible.query).encode()).hexdigest()[:24]
        setattr(visible, SCOPE_ATTR, key)
    return key


COUNTS = generations.declare("accounts-counts")  # the tiles (core/generations.py)


def account_state_counts_stale() -> None:
    """Accounts changed: the tiles' cached counts are recomputed on their next read (the
    live pages refresh their tiles right after). Called on commit."""
    generations.bump(COUNTS)


def account_new_count(*, visible: QuerySet[WhatsAppAccount], since: float) -> int:
    """Accounts added after `since` (a page's render time, epoch seconds): the fleet list's
    "N new accounts" (live, on "fleet-new")."""
    if since <= 0:
        return 0
    moment = datetime.fromtimestamp(since, tz=UTC)
    return visible.filter(created_at__gt=moment).count()


def account_state_counts(*, visible: QuerySet[WhatsAppAccount]) -> dict[str, int]:
    """The tiles: one aggregate, cached for COUNTS_TTL seconds per scope and generation."""
    return dict(
        generations.cached(COUNTS, _scope_key(visible), COUNTS_TTL, lambda: _state_counts(visible))
    )


# The tiles' states, a partition of the fleet: each account is in exactly one, decided in
# this order. A recycled account went back to the vendor and a banned one cannot log in:
# their last login state no longer describes them. A disconnected account (presence 20) has
# lost its device whatever its login state says. The rest go by their login state; a state
# never reported, or outside the documented table, is "unknown".
FLEET_STATES = (
    "online",
    "disconnected",
    "logging_in",
    "logging_out",
    "offline",
    "unknown",
    "banned",
    "recycled",
)
_LOGIN_STATES = {
    OnlineStatus.ONLINE: "online",
    OnlineStatus.LOGGING_IN: "logging_in",
    OnlineStatus.LOGGING_OUT: "logging_out",
    OnlineStatus.OFFLINE: "offline",
}


def fleet_state(
    *, online_status: int | None, status: int | None, presence: int | None, recycled: bool
) -> str:
    """The one tile an account is counted in (FLEET_STATES)."""
    if recycled:
        return "recycled"
    if status == AccountStatus.BANNED:
        return "banned"
    if presence == Presence.DISCONNECTED:
        return "disconnected"
    return _LOGIN_STATES.get(online_status, "unknown")  # type: ignore[call-overload]


def fleet_state_q(state: str) -> Q:
    """The rows of one tile: the same rule as `fleet_state`, as a filter (its link)."""
    if state == "recycled":
        return Q(recycled=True)
    live = Q(recycled=False) & ~Q(status=AccountStatus.BANNED)
    if state == "banned":
        return Q(recycled=False, status=AccountStatus.BANNED)
    if state == "disconnected":
        return live & Q(presence_status=Presence.DISCONNECTED)
    live &= ~Q(presence_status=Presence.DISCONNECTED)
    for code, name in _LOGIN_STATES.items():
        if name == state:
            return live & Q(online_status=code)
    if state == "unknown":
        return live & ~Q(online_status__in=list(_LOGIN_STATES))
    raise ValueError(state)


def _state_counts(visible: QuerySet[WhatsAppAccount]) -> dict[str, int]:
    """One GROUP BY over the state columns (a handful of groups), summed here: about a third
    cheaper than a FILTERed count per tile, which PostgreSQL evaluates per row. The tiles
    (FLEET_STATES) add up to the total."""
    groups = (
        visible.order_by()
        .values_list("online_status", "status", "presence_status", "recycled")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(("total", *FLEET_STATES), 0)
    for online_status, status, presence, recycled, n in groups:
        counts["total"] += n
        state = fleet_state(
            online_status=online_status, status=status, presence=presence, recycled=recycled
        )
        counts[state] += n
    return counts


def _distinct_countries_everywhere(limit: int = 300) -> list[str]:
    """DISTINCT country over the whole table as a loose index scan on (country, whatsapp):
    one index probe per distinct value instead of reading every row."""
    from django.db import connection

    sql = """
        WITH RECURSIVE c(country, n) AS (
            (SELECT country, 1 FROM accounts_whatsappaccount WHERE country > ''
             ORDER BY country LIMIT 1)
            UNION ALL
            SELECT (SELECT t.country FROM accounts_whatsappaccount t WHERE t.country > c.country
                    ORDER BY t.country LIMIT 1), c.n + 1
            FROM c WHERE c.country IS NOT NULL AND c.n < %s
        )
        SELECT country FROM c WHERE country IS NOT NULL
    """
    with connection.cursor() as cur:
        cur.execute(sql, [limit])
        return [row[0] for row in cur.fetchall()]


def fleet_choices(
    *, visible: QuerySet[WhatsAppAccount], everything: bool = False
) -> dict[str, list[str]]:
    """Agents and countries for the filter suggestions (cached: they change rarely; read
    from the database while the cache is unavailable)."""
    key = f"accounts:choices:{_scope_key(visible)}"
    choices = cache_read(key)
    if choices is None:
        if everything:
            countries = _distinct_countries_everywhere()
        else:
            countries = list(
                visible.exclude(country="")
                .order_by("country")
                .values_list("country", flat=True)
                .distinct()[:300]
            )
        # An agent is offered only the agent accounts of their own accounts (never a peer's).
        agent_rows = (
            Agent.objects.all()
            if everything
            else Agent.objects.filter(accounts__in=visible.values("id")).distinct()
        )
        agents = list(
            agent_rows.order_by("agent_account").values_list("agent_account", flat=True)[:1000]
        )
        choices = {"countries": countries, "agents": agents}
        cache_write(key, choices, CHOICES_TTL)
    return dict(choices)


# --- status events --------------------------------------------------------------------

EVENT_KEYS = (SortKey("event_time", desc=True),)


@dataclass(frozen=True)
class EventFilters:
    whatsapp: str = ""
    agent: str = ""
    status: int | None = None
    detail_status: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def active(self) -> bool:
        return any(v not in (None, "") for v in self.__dict__.values())


def event_current(*, account: WhatsAppAccount) -> StatusEvent | None:
    """The history row the account's presence mirrors. The presence fields are copied from
    the newest record by event time, ties broken by receipt (accounts.services.status), and
    every record is in the history, so exactly one row matches them."""
    if account.last_event_at is None or account.presence_status is None:
        return None
    return (
        StatusEvent.objects.filter(
            whatsapp=account.whatsapp,
            event_time=account.last_event_at,
            status=account.presence_status,
            detail_status=account.detail_status,
            agent_account=account.agent_account,
            platform=account.platform,
        )
        .order_by("-id")
        .first()
    )


def events_current_first(page: Page[StatusEvent], current: StatusEvent | None) -> None:
    """On the history's first page, the row the account mirrors leads the rows of its
    time: the history's ties are in insertion order, the account's by receipt, so without
    this the top row could name another record of the same second than the badges."""
    if current is None or page.has_previous:
        return
    rows = page.rows
    at = next((i for i, r in enumerate(rows) if r.pk == current.pk), None)
    if at is None:
        return
    first = next(i for i, r in enumerate(rows) if r.event_time == current.event_time)
    rows.insert(first, rows.pop(at))


def event_filter(qs: QuerySet[StatusEvent], f: EventFilters) -> QuerySet[StatusEvent]:
    if f.whatsapp:
        qs = qs.filter(whatsapp=f.whatsapp)
    if f.agent:
        qs = qs.filter(agent_account=f.agent)
    if f.status is not None:
        qs = qs.filter(status=f.status)
    if f.detail_status is not None:
        qs = qs.filter(detail_status=f.detail_status)
    if f.since is not None:
        qs = qs.filter(event_time__gte=f.since)
    if f.until is not None:
        qs = qs.filter(event_time__lt=f.until)
    return _months_bounded(qs, f)


def _months_bounded(qs: QuerySet[StatusEvent], f: EventFilters) -> QuerySet[StatusEvent]:
    """Every read of the history carries a time bound inside the months it holds
    (core.partitions.covered_span): PostgreSQL then leaves out the default partition and
    reads the months newest first, stopping at the page's LIMIT; a since/until filter
    narrows it to the months asked for. While the default partition holds rows (an alert
    says so) no bound is added, so they are still shown. The span is the cached one
    (core.partitions.covered_span_kept): reading the catalogue for it was a round trip per
    read, up to three per view of the logs."""
    span = partitions.covered_span_kept(StatusEvent._meta.db_table)
    if span is None:
        return qs
    lo, hi = span
    if f.since is None or f.since < lo:
        qs = qs.filter(event_time__gte=lo)
    if f.until is None or f.until > hi:
        qs = qs.filter(event_time__lt=hi)
    return qs


KEPT_SINCE_SECONDS = 300


def history_kept_since() -> datetime | None:
    """How far back the status history goes: its oldest event. Retention drops whole
    months, so this moves a month at a time: kept in the cache under the partitions'
    generation (a detached month bumps it) for KEPT_SINCE_SECONDS, instead of a query
    planned over every month on each view of the logs."""
    from django.db.models import Min

    def oldest() -> datetime | None:
        events = event_filter(StatusEvent.objects.all(), EventFilters())
        found: datetime | None = events.aggregate(t=Min("event_time"))["t"]
        return found

    return generations.cached(
        partitions.PARTITIONS, "history-kept-since", KEPT_SINCE_SECONDS, oldest
    )


def events_visible_to(user: Any) -> QuerySet[StatusEvent]:
    from accounts.access import accounts_visible_to
    from core.access import sees_everything

    qs = StatusEvent.objects.all()
    if sees_everything(user):
        return qs
    return qs.filter(whatsapp__in=accounts_visible_to(user).values("whatsapp"))


# A first page is read from the current and the previous month first (RECENT_MONTHS).
RECENT_MONTHS = 2


def _recent_since(f: EventFilters) -> datetime | None:
    """Where a newest-first read may start before it tries every month: the first instant of
    the previous month, when that leaves months out (the history holds older ones and the
    filters' own range reaches before it); None otherwise, or while the default partition
    holds rows (no bound is added then: _months_bounded)."""
    span = partitions.covered_span_kept(StatusEvent._meta.db_table)
    if span is None:
        return None
    start = partitions.month_add(partitions.month_start(timezone.now()), -(RECENT_MONTHS - 1))
    if start <= span[0]:
        return None
    if (f.since is not None and f.since >= start) or (f.until is not None and f.until <= start):
        return None
    return start


def event_list(
    *,
    events: QuerySet[StatusEvent],
    filters: EventFilters,
    cursor: str | None,
    size: int = 50,
    before: str | None = None,
) -> Page[StatusEvent]:
    """A keyset page of the history, newest first. A first page is tried on the recent
    months alone (_recent_since): a full page there is the same page (every newer row is
    in them), and PostgreSQL plans two or three months instead of every month the history
    keeps (about 0.7 ms of planning for 14 at 20M events: bench/history.py --profile). A
    page they do not fill is read again over every month."""
    qs = event_filter(events, filters)
    if cursor is None and before is None:
        since = _recent_since(filters)
        if since is not None:
            page = keyset_page(
                qs.filter(event_time__gte=since), EVENT_KEYS, None, size=size, id_desc=True
            )
            if page.next_cursor is not None:
                return page
    return keyset_page(qs, EVENT_KEYS, cursor, size=size, id_desc=True, before=before)


def event_count(*, events: QuerySet[StatusEvent], filters: EventFilters) -> RowCount:
    return row_count(event_filter(events, filters))


def event_export_rows(*, events: QuerySet[StatusEvent], filters: EventFilters) -> Any:
    return (
        event_filter(events, filters)
        .order_by("-event_time", "-id")
        .values_list(*StatusEvent.COLUMNS)
    )


def account_timeline(*, whatsapp: str, limit: int = 500) -> list[dict[str, Any]]:
    """The account's latest `limit` events, oldest first, for the timeline chart. Tried on
    the recent months first, as a first page of the logs is (event_list)."""
    qs = (
        event_filter(StatusEvent.objects.all(), EventFilters(whatsapp=whatsapp))
        .order_by("-event_time", "-id")
        .values("event_time", "status", "detail_status")
    )
    since = _recent_since(EventFilters(whatsapp=whatsapp))
    rows = list(qs.filter(event_time__gte=since)[:limit]) if since is not None else []
    if since is None or len(rows) < limit:
        rows = list(qs[:limit])
    rows.reverse()
    return [
        {
            "t": r["event_time"].isoformat(),
            "status": r["status"],
            "detail_status": r["detail_status"],
        }
        for r in rows
    ]


ONLINE_CHART_POINTS = 24 * 62  # hourly for two months; a longer range steps by whole hours


def online_over_time(
    *,
    accounts: QuerySet[WhatsAppAccount] | None,
    filters: EventFilters,
    now: datetime | None = None,
) -> dict[str, Any]:
    """At each hour of the range (default: the last 7 days), how many accounts were online
    and how many were not (offline, disconnected, banned), by the status history: an
    account is in the state of its last record at or before the hour, carried forward
    (ties by time broken by receipt, as the log lists them). Hours are the reader's (the
    active zone), and the last point is the range's end (now: the state in force, as the
    fleet's tiles count it); labels are ISO times with their offset.

    The agent and detail filters select the state: "online with agent X" counts accounts
    whose record in force names X. One query that reads only the range's months, plus, per
    account, its last record before the range (an index probe that stops at the first month
    holding one). Each record in force adds one at the first hour it covers and takes it
    back at the first hour the next record covers; the counts are the running sums. An
    account with no record at all counts by its login state report (`_without_history`).

    `accounts`: those the reader may see; None for the whole fleet."""
    now = now or timezone.now()
    since = filters.since or (now - timedelta(days=7))
    end = min(filters.until, now) if filters.until else now
    first = _next_local_hour(since)
    if end < first:
        return {"labels": [], "online": [], "down": []}
    hour = timedelta(hours=1)
    hours = int((end - first) // hour) + 1
    step = hour * -(-hours // ONLINE_CHART_POINTS)
    points = [first + step * k for k in range(int((end - first) // step) + 1)]
    if points[-1] < end:  # and the range's end (now): the last point is the state in force
        points.append(end)
    n = len(points)

    table = StatusEvent._meta.db_table
    # The range's records of the accounts asked about; of every account, for the whole fleet
    # (an index range over the range, not a probe per account).
    window_scope = ""
    if accounts is None:
        accounts = WhatsAppAccount.objects.all()
    else:
        window_scope = "AND e.whatsapp IN (SELECT whatsapp FROM acc)"
    if filters.whatsapp:
        accounts = accounts.filter(whatsapp=filters.whatsapp)
        window_scope += " AND e.whatsapp = %s"
    acc_sql, acc_params = accounts.order_by().values("whatsapp").query.sql_with_params()
    span = partitions.covered_span_kept(table)
    seed_bound, window_bound = "", ""
    bound_params: dict[str, list[Any]] = {"seed": [], "window": []}
    if span is not None:  # inside the months the table holds: never the default partition
        seed_bound, window_bound = "AND e.event_time >= %s", "AND e.event_time < %s"
        bound_params = {"seed": [span[0]], "window": [span[1]]}
    match, match_params = "TRUE", list[Any]()
    if filters.agent:
        match += " AND agent_account = %s"
        match_params.append(filters.agent)
    if filters.detail_status is not None:
        match += " AND detail_status = %s"
        match_params.append(filters.detail_status)
    columns = "e.whatsapp, e.status, e.detail_status, e.agent_account, e.event_time, e.id"
    sql = f"""
        WITH acc AS MATERIALIZED ({acc_sql}),
        seed AS (
            SELECT s.* FROM acc CROSS JOIN LATERAL (
                SELECT {columns} FROM {table} e
                 WHERE e.whatsapp = acc.whatsapp
                   AND e.event_time < %s {seed_bound}
                 ORDER BY e.event_time DESC, e.id DESC LIMIT 1
            ) s
        ),
        win AS (
            SELECT {columns} FROM {table} e
             WHERE e.event_time >= %s AND e.event_time <= %s {window_bound} {window_scope}
        ),
        held AS (
            SELECT agent_account, detail_status, (status = %s)::int AS up,
                   CEIL(EXTRACT(EPOCH FROM event_time - %s) / %s)::int AS k0,
                   CEIL(EXTRACT(EPOCH FROM lead(event_time) OVER w - %s) / %s)::int AS k1
              FROM (SELECT * FROM seed UNION ALL SELECT * FROM win) ev
            WINDOW w AS (PARTITION BY whatsapp ORDER BY event_time, id)
        )
        SELECT GROUPING(k0), COALESCE(k0, k1), SUM(up), SUM(1 - up)
          FROM held
         WHERE {match}
         GROUP BY GROUPING SETS ((k0), (k1))
    """  # noqa: S608 - table names from _meta, the accounts' SQL from the ORM; values bound
    seconds = step.total_seconds()
    params = [
        *acc_params,
        since,
        *bound_params["seed"],
        since,
        end,
        *bound_params["window"],
        *([filters.whatsapp] if filters.whatsapp else []),
        Presence.ONLINE.value,
        first,
        seconds,
        first,
        seconds,
        *match_params,
    ]
    up, down = [0] * n, [0] * n
    with connection.cursor() as cur:
        cur.execute(sql, params)
        # One pass, two groupings: by the hour a record comes into force (+) and by the
        # hour the next one replaces it (-; none while it is still in force).
        for ends, k, n_up, n_down in cur.fetchall():
            if k is None or k >= n:
                continue
            sign = -1 if ends else 1
            up[max(k, 0)] += sign * int(n_up)
            down[max(k, 0)] += sign * int(n_down)
    if filters.detail_status is None:  # they have no detail to match
        for k, is_up in _without_history(accounts, filters, points=points, step=step):
            (up if is_up else down)[k] += 1
    for k in range(1, n):
        up[k] += up[k - 1]
        down[k] += down[k - 1]
    if not any(up) and not any(down):
        return {"labels": [], "online": [], "down": []}
    labels = [timezone.localtime(p).isoformat() for p in points]
    return {"labels": labels, "online": up, "down": down, "step_hours": int(step // hour)}


def _without_history(
    accounts: QuerySet[WhatsAppAccount],
    filters: EventFilters,
    *,
    points: list[datetime],
    step: timedelta,
) -> list[tuple[int, bool]]:
    """Accounts with no status record at all are in the state their login state report
    (queryWhatsAppStatus, kept on the account, not in the history) says, from the point it
    was reported at (the whole range if before it; only the range's end, the state in force,
    if the time is unknown): online if it says online, not online if it says offline or the
    account is banned. Without such a report they are in neither count. Recycled accounts
    went back to the vendor and are not counted."""
    bare = (
        accounts.filter(recycled=False)
        .filter(
            Q(online_status__in=(OnlineStatus.ONLINE, OnlineStatus.OFFLINE))
            | Q(status=AccountStatus.BANNED)
        )
        .exclude(
            Exists(
                # Inside the months the history holds (the default partition left out of
                # the plan unless it holds rows: _months_bounded).
                event_filter(
                    StatusEvent.objects.filter(whatsapp=OuterRef("whatsapp")), EventFilters()
                )
            )
        )
    )
    if filters.agent:
        bare = bare.filter(agent_account=filters.agent)
    first, last = points[0], len(points) - 1
    found = []
    rows = bare.values_list("online_status", "status", "online_status_at")
    for online_status, status, at in rows:
        # The first point at or after `at` (the range's end if later or unknown).
        k = last if at is None else min(max(0, -((first - at) // step)), last)
        is_up = online_status == OnlineStatus.ONLINE and status != AccountStatus.BANNED
        found.append((k, is_up))
    return found


def _next_local_hour(moment: datetime) -> datetime:
    """The first whole hour of the active zone at or after `moment` (in UTC)."""
    local = timezone.localtime(moment)
    floor = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return floor if floor >= moment else floor + timedelta(hours=1)


# --- jobs, contacts, registrations ----------------------------------------------------


def jobs_visible_to(user: Any) -> QuerySet[BulkJob]:
    from core.access import visible

    return visible(user, BulkJob.objects.all())


def job_items(*, job: BulkJob, state: str = "", limit: int = 500) -> list[BulkJobItem]:
    qs = job.items.all()
    if state:
        qs = qs.filter(state=state)
    return list(qs.order_by("id")[:limit])


JOBS = generations.declare("accounts-jobs")  # the fleet page's recent bulk jobs
JOBS_TTL = 60  # seconds: what a change outside the services can leave stale


def jobs_changed() -> None:
    """A bulk job was created, changed or deleted (its state, its counts): the recent jobs
    are read again once the change commits. Every save and delete of a job calls this
    (AccountsConfig.ready); a queryset's update() calls it itself."""
    generations.bump_on_commit(JOBS)


def recent_jobs(*, user: Any, limit: int = 5) -> list[BulkJob]:
    """The newest jobs `user` sees (previews left out). Those who see every job share one
    list, kept until a job changes (JOBS); anyone else's is read each time."""
    from core.access import can
    from core.roles import Cap

    def newest() -> list[BulkJob]:
        return list(jobs_visible_to(user).exclude(state=BulkJob.State.PREVIEW)[:limit])

    if can(user, Cap.MANAGE_ACCOUNTS):  # jobs_visible_to: every job
        return generations.cached(JOBS, f"recent:{limit}", JOBS_TTL, newest)
    return newest()


def contact_lookups(*, account: WhatsAppAccount, limit: int = 10) -> list[ContactLookup]:
    return list(account.contact_lookups.all()[:limit])


def registrations_visible_to(user: Any) -> QuerySet[Registration]:
    from core.access import visible

    return visible(user, Registration.objects.all())


def agent_directory() -> list[Agent]:
    """Every known agent, online first, then by last seen (newest first), with the number of
    accounts linked to it (`n_accounts`)."""
    from django.db.models import Count, F

    return list(
        Agent.objects.annotate(n_accounts=Count("accounts"))
        .order_by("-online", F("last_seen_at").desc(nulls_last=True), "agent_account")
        .select_related("added_by")
    )


def registration_account(reg: Registration) -> WhatsAppAccount | None:
    """The fleet account a registration produced (the vendor reports the number with its
    area code, e.g. 86 + 1821726232), once it exists."""
    digits = "".join(ch for ch in reg.area_code if ch.isdigit())
    numbers = {digits + reg.phone, reg.phone}
    return WhatsAppAccount.objects.filter(whatsapp__in=numbers).order_by("-whatsapp").first()
