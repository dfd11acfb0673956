"""Apply the vendor's account status reports: presence records (onlineStatus webhook),
account status (syncWhatsAppStatus webhook) and registration results (register/syncStatus).

Ordering rules (docs/design.md):
- presence changes only for a record newer than the stored one by event time, ties broken by
  time of receipt (a later delivery wins). The comparison is in the UPDATE's WHERE clause, so
  concurrent workers cannot move an account backwards;
- account status has no event time: it is ordered by receipt (`online_status_at`);
- every presence record is kept once in the append-only StatusEvent history.

Accounts the vendor reports but we do not know yet are created (they are the vendor's
accounts; they belong in the fleet).

The presence fields (presence_status, detail_status, agent_account, platform, last_event_at)
mirror the newest record exactly, so the result does not depend on the order deliveries are
processed in. The `agent` link (who may see the account) is set to the Agent whose
agent_account the newest record names (every agent account a record names joins the agent
directory first); an empty agent account (`"account": ""` while nobody is logged in) leaves
the link alone, so an agent does not lose sight of their account when it goes offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db import connection, transaction

from accounts import live as accounts_live
from accounts.choices import AccountType, SyncReason
from accounts.events import AccountChange, account_changes, registration_finished
from accounts.models import Agent, Registration, StatusEvent, WhatsAppAccount


class PresenceLike(Protocol):
    """What presence_records_apply needs of a record (webhooks.payloads.PresenceRecord)."""

    @property
    def whatsapp(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def detail_status(self) -> int | None: ...
    @property
    def agent_account(self) -> str: ...
    @property
    def platform(self) -> int | None: ...
    @property
    def event_time(self) -> datetime: ...
    @property
    def position(self) -> int: ...
    @property
    def dedupe_key(self) -> str: ...


@dataclass(frozen=True)
class PresenceOutcome:
    inserted: int  # new StatusEvent rows (duplicates dropped)
    applied: int  # accounts whose presence moved forward
    created: int  # accounts created because the vendor reported them first


def accounts_ensure(*, numbers: Iterable[str], account_type: int | None = None) -> int:
    """Create the WhatsAppAccount rows that do not exist yet (one statement). Returns how
    many were created."""
    wanted = sorted({n for n in numbers if n})
    if not wanted:
        return 0
    existing = set(
        WhatsAppAccount.objects.filter(whatsapp__in=wanted).values_list("whatsapp", flat=True)
    )
    missing = [n for n in wanted if n not in existing]
    if not missing:
        return 0
    WhatsAppAccount.objects.bulk_create(
        [
            WhatsAppAccount(whatsapp=n, account_type=account_type or AccountType.PERSONAL)
            for n in missing
        ],
        ignore_conflicts=True,
    )
    accounts_live.accounts_created(whatsapps=missing)  # the fleet lists offer to show them
    return len(missing)


def accounts_lock(*, numbers: Sequence[str]) -> None:
    """Inside a transaction: create the accounts not known yet, then lock them all, in number
    order (the order every batch locks accounts in, so two batches never deadlock)."""
    wanted = sorted({n for n in numbers if n})
    if not wanted:
        return
    accounts_ensure(numbers=wanted)
    table = WhatsAppAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE whatsapp = ANY(%s) ORDER BY whatsapp FOR UPDATE",  # noqa: S608
            [wanted],
        )


def _agents_named(records: Sequence[PresenceLike]) -> None:
    """The agent directory learns every agent account an onlineStatus record names, seen at
    the record's time (it stays known when it goes offline)."""
    from accounts.services.agents import AgentSighting, agents_seen

    agents_seen(
        sightings=[
            AgentSighting(agent_account=r.agent_account, seen_at=r.event_time)
            for r in records
            if r.agent_account
        ]
    )


def _newest_per_account(records: Sequence[PresenceLike]) -> list[PresenceLike]:
    best: dict[str, PresenceLike] = {}
    for rec in records:
        cur = best.get(rec.whatsapp)
        if cur is None or (rec.event_time, rec.position) >= (cur.event_time, cur.position):
            best[rec.whatsapp] = rec
    return list(best.values())


def presence_records_apply(
    *,
    records: Sequence[PresenceLike],
    received_at: datetime,
    webhook_event_id: int | None = None,
    source: str = StatusEvent.Origin.WEBHOOK,
) -> PresenceOutcome:
    """Record every presence record once and move each account's presence forward.

    Idempotent: the history is keyed by the record's dedupe key, and the account update only
    takes a record newer than the stored one (event time, then receipt time)."""
    if not records:
        return PresenceOutcome(0, 0, 0)
    with transaction.atomic():
        inserted = _history_insert(records, received_at, webhook_event_id, source)
        created = accounts_ensure(numbers=(r.whatsapp for r in records))
        _agents_named(records)
        applied = _presence_update(_newest_per_account(records), received_at)
        if inserted or applied or created:  # delivered to open pages on commit
            accounts_live.accounts_changed(whatsapps=[r.whatsapp for r in records])
    return PresenceOutcome(inserted=inserted, applied=applied, created=created)


def _history_insert(
    records: Sequence[PresenceLike],
    received_at: datetime,
    webhook_event_id: int | None,
    source: str,
) -> int:
    table = StatusEvent._meta.db_table
    rows: list[Any] = []
    seen: set[str] = set()
    for rec in records:
        key = rec.dedupe_key
        if key in seen:
            continue
        seen.add(key)
        rows.extend([*_record_values(rec), received_at, source, key, webhook_event_id])
    placeholders = ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"] * len(seen))
    sql = f"""
        INSERT INTO {table} (whatsapp, status, detail_status, agent_account, platform,
            event_time, received_at, source, dedupe_key, webhook_event_id)
        VALUES {placeholders} ON CONFLICT (dedupe_key, event_time) DO NOTHING
    """  # noqa: S608 - table name from _meta; values are bound
    with connection.cursor() as cursor:
        cursor.execute(sql, rows)
        return max(cursor.rowcount, 0)


def _record_values(rec: PresenceLike) -> list[Any]:
    """The record's own columns, in the order both statements bind them."""
    return [
        rec.whatsapp,
        rec.status,
        rec.detail_status,
        rec.agent_account,
        rec.platform,
        rec.event_time,
    ]


def _presence_update(records: Sequence[PresenceLike], received_at: datetime) -> int:
    """One UPDATE ... FROM (VALUES ...) whose WHERE only admits a newer record."""
    table = WhatsAppAccount._meta.db_table
    agents = Agent._meta.db_table
    rows: list[Any] = []
    for rec in records:
        rows.extend(_record_values(rec))
    values = ",".join(
        ["(%s, %s::integer, %s::integer, %s, %s::smallint, %s::timestamptz)"] * len(records)
    )
    sql = f"""
        UPDATE {table} AS a SET
            presence_status = v.status,
            detail_status = v.detail_status,
            platform = v.platform,
            agent_account = v.agent_account,
            agent_id = COALESCE((SELECT g.id FROM {agents} g
                                 WHERE g.agent_account = v.agent_account
                                   AND v.agent_account <> ''), a.agent_id),
            last_event_at = v.event_time,
            last_event_received_at = %s,
            updated_at = now()
        FROM (VALUES {values})
            AS v(whatsapp, status, detail_status, agent_account, platform, event_time)
        WHERE a.whatsapp = v.whatsapp
          AND (a.last_event_at IS NULL
               OR a.last_event_at < v.event_time
               OR (a.last_event_at = v.event_time
                   AND (a.last_event_received_at IS NULL
                        OR a.last_event_received_at <= %s)))
    """  # noqa: S608 - table names from _meta; values are bound
    sql = _with_changes(sql, table, "v.whatsapp")
    with connection.cursor() as cursor:
        cursor.execute(sql, [received_at, *rows, received_at])
        return _changes_emit(cursor.fetchall())


Delivery = tuple[int | None, datetime, Sequence[PresenceLike]]


def presence_deliveries_apply(
    *, deliveries: Sequence[Delivery], source: str = StatusEvent.Origin.WEBHOOK
) -> dict[int | None, int]:
    """`presence_records_apply` for many deliveries at once, set-based (PostgreSQL): one
    multi-row INSERT of the history (ON CONFLICT DO NOTHING on the dedupe key), one SELECT
    (and a bulk INSERT when needed) for the accounts not seen before, one lock of the
    accounts in a fixed order (so concurrent batches cannot deadlock) and one
    UPDATE ... FROM json_to_recordset(...) moving each account to its newest record, by event
    time, then time of receipt, then delivery, then position. The result is
    the same as applying the deliveries one by one in any order. Each delivery is
    (webhook_event_id, received_at, records); returns new history rows per webhook event id.
    Call it inside a transaction."""
    if not any(records for _e, _r, records in deliveries):
        return {}
    inserted = _history_insert_many(deliveries, source)
    numbers = sorted({r.whatsapp for _e, _r, records in deliveries for r in records})
    accounts_ensure_many(numbers=numbers)
    _agents_named([r for _e, _r, records in deliveries for r in records])
    best: dict[str, tuple[tuple[Any, ...], PresenceLike, datetime]] = {}
    for event_id, received_at, records in deliveries:
        for rec in records:
            rank = (rec.event_time, received_at, event_id or 0, rec.position)
            cur = best.get(rec.whatsapp)
            if cur is None or rank >= cur[0]:
                best[rec.whatsapp] = (rank, rec, received_at)
    _presence_update_many([(rec, at) for _k, (_rank, rec, at) in sorted(best.items())])
    accounts_live.accounts_changed(whatsapps=numbers)  # delivered to open pages on commit
    return inserted


def accounts_ensure_many(*, numbers: Sequence[str]) -> int:
    """accounts_ensure with one SELECT over an array parameter (cheap for thousands)."""
    wanted = sorted({n for n in numbers if n})
    if not wanted:
        return 0
    table = WhatsAppAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT whatsapp FROM {table} WHERE whatsapp = ANY(%s)",  # noqa: S608
            [wanted],
        )
        existing = {row[0] for row in cursor.fetchall()}
    missing = [n for n in wanted if n not in existing]
    if missing:
        WhatsAppAccount.objects.bulk_create(
            [WhatsAppAccount(whatsapp=n, account_type=AccountType.PERSONAL) for n in missing],
            ignore_conflicts=True,
        )
        accounts_live.accounts_created(whatsapps=missing)  # the fleet lists offer to show them
    return len(missing)


def _json_rows(rows: list[dict[str, Any]]) -> str:
    """Rows for json_to_recordset: json.dumps is C code, where psycopg quotes array
    parameters element by element in Python (most of the CPU of a 5,000-record batch)."""
    return json.dumps(rows, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _presence_row(rec: PresenceLike, received_at: datetime) -> dict[str, Any]:
    """A presence change as a row of the JSON record sets below (short keys: w, s, d, a,
    p, t, r)."""
    return {
        "w": rec.whatsapp,
        "s": rec.status,
        "d": rec.detail_status,
        "a": rec.agent_account,
        "p": rec.platform,
        "t": rec.event_time,
        "r": received_at,
    }


def _history_insert_many(deliveries: Sequence[Delivery], source: str) -> dict[int | None, int]:
    table = StatusEvent._meta.db_table
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for event_id, received_at, records in deliveries:
        for rec in records:
            key = rec.dedupe_key
            if key in seen:
                continue
            seen.add(key)
            rows.append({"k": key, **_presence_row(rec, received_at), "e": event_id})
    rows.sort(key=lambda row: row["k"])  # a fixed order on the unique index: no deadlock
    sql = f"""
        INSERT INTO {table} (dedupe_key, whatsapp, status, detail_status, agent_account,
            platform, event_time, received_at, source, webhook_event_id)
        SELECT r.k, r.w, r.s, r.d, r.a, r.p, r.t, r.r, %s, r.e
        FROM json_to_recordset(%s::json) AS r(k text, w text, s integer, d integer, a text,
            p smallint, t timestamptz, r timestamptz, e bigint)
        ON CONFLICT (dedupe_key, event_time) DO NOTHING
        RETURNING webhook_event_id
    """  # noqa: S608 - table name from _meta; values are bound
    counts: dict[int | None, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [source, _json_rows(rows)])
        for (event_id,) in cursor.fetchall():
            counts[event_id] = counts.get(event_id, 0) + 1
    return counts


def _presence_update_many(newest: Sequence[tuple[PresenceLike, datetime]]) -> int:
    """Lock the accounts in number order, then one conditional UPDATE ... FROM the rows."""
    if not newest:
        return 0
    table = WhatsAppAccount._meta.db_table
    agents = Agent._meta.db_table
    rows = [_presence_row(rec, received_at) for rec, received_at in newest]
    sql = f"""
        UPDATE {table} AS a SET
            presence_status = v.s,
            detail_status = v.d,
            platform = v.p,
            agent_account = v.a,
            agent_id = COALESCE(g.id, a.agent_id),
            last_event_at = v.t,
            last_event_received_at = v.r,
            updated_at = now()
        FROM json_to_recordset(%s::json)
            AS v(w text, s integer, d integer, a text, p smallint, t timestamptz,
                 r timestamptz)
            LEFT JOIN {agents} g ON g.agent_account = v.a AND v.a <> ''
        WHERE a.whatsapp = v.w
          AND (a.last_event_at IS NULL
               OR a.last_event_at < v.t
               OR (a.last_event_at = v.t
                   AND (a.last_event_received_at IS NULL
                        OR a.last_event_received_at <= v.r)))
    """  # noqa: S608 - table names from _meta; values are bound
    sql = _with_changes(sql, table, "v.w")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE whatsapp = ANY(%s) ORDER BY whatsapp FOR UPDATE",  # noqa: S608
            [[rec.whatsapp for rec, _at in newest]],
        )
        cursor.execute(sql, [_json_rows(rows)])
        return _changes_emit(cursor.fetchall())


# The outbox (notify): the presence UPDATEs join the row as it was ("o") and
# return old and new values, so the events are written in the same transaction.
_CHANGES = """a.whatsapp, o.status, o.presence_status, o.detail_status, o.online_status,
        a.status, a.online_status, a.presence_status, a.detail_status, a.reason_code,
        a.reason, a.agent_account, a.platform, a.last_event_at"""
_CHANGE_COLUMNS = f"\n    RETURNING {_CHANGES}\n"


def _with_changes(sql: str, table: str, key: str, first: str = "") -> str:
    """`sql` joined to the row as it was (`o`), returning the change columns (after `first`,
    the caller's own columns, when given)."""
    head, where = sql.rsplit("WHERE a.whatsapp = ", 1)
    return (
        f"{head}JOIN {table} AS o ON o.whatsapp = {key}\n"
        f"        WHERE a.id = o.id AND a.whatsapp = {where}\n"
        f"    RETURNING {first}{_CHANGES}\n"
    )


def _changes_emit(rows: Sequence[Sequence[Any]], source: str = "presence") -> int:
    account_changes(changes=[AccountChange(*row) for row in rows], source=source)
    return len(rows)


def sync_reason_words(reason: str) -> tuple[str, str]:
    """(reason_code, plain words) for syncWhatsAppStatus `reason`: a known code gets its
    words, free text is kept as the words, "" clears both."""
    reason = (reason or "").strip()
    if not reason:
        return "", ""
    try:
        return reason, str(SyncReason(reason).label)
    except ValueError:
        pass
    if reason.isdigit() and len(reason) <= 16:
        return reason, f"Reason {reason}"
    return "", reason[:255]


def account_status_apply(
    *,
    whatsapp: str,
    status: int,
    online_status: int,
    reason: str,
    received_at: datetime,
) -> bool:
    """Set the account status (1 normal / 2 banned), online status 1-4 and the reason, unless
    a later delivery was already applied (ordered by receipt: the payload has no time).
    Creates the account if the vendor knows it and we do not. Returns whether it changed."""
    code, words = sync_reason_words(reason)
    with transaction.atomic():
        accounts_ensure(numbers=[whatsapp])
        table = WhatsAppAccount._meta.db_table
        sql = f"""
            UPDATE {table} AS a SET status = %s, online_status = %s, online_status_at = %s,
                reason_code = %s, reason = %s, updated_at = now()
            FROM (SELECT * FROM {table} WHERE whatsapp = %s FOR UPDATE) AS o
            WHERE a.id = o.id AND (a.online_status_at IS NULL OR a.online_status_at <= %s)
            {_CHANGE_COLUMNS}
        """  # noqa: S608 - table name from _meta; values are bound
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [status, online_status, received_at, code, words, whatsapp, received_at]
            )
            changed = _changes_emit(cursor.fetchall(), source="account_status") > 0
        if changed:
            accounts_live.accounts_changed(whatsapps=[whatsapp])
        return changed


class AccountStatusLike(Protocol):
    """What account_statuses_apply needs of a record (webhooks.payloads.AccountStatusRecord)."""

    @property
    def whatsapp(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def online_status(self) -> int: ...
    @property
    def reason(self) -> str: ...


StatusDelivery = tuple[int, datetime, Sequence[AccountStatusLike]]


def account_statuses_apply(*, deliveries: Sequence[StatusDelivery]) -> dict[int, int]:
    """`account_status_apply` for many deliveries at once, set-based: the accounts created
    and locked in number order (the order every batch locks them in), then one
    UPDATE ... FROM json_to_recordset(...) moving each account to the record of its last
    delivery received (time of receipt, then delivery id, then position), unless a later
    delivery was applied already. The account ends where applying the deliveries one by one
    in order of receipt leaves it; a record superseded by a later one of the same batch has
    no effect of its own. Each delivery is (webhook_event_id, received_at, records); returns
    per webhook event id the records that moved an account. Call it inside a transaction."""
    best: dict[str, tuple[tuple[datetime, int, int], AccountStatusLike]] = {}
    for event_id, received_at, records in deliveries:
        for position, rec in enumerate(records):
            rank = (received_at, event_id, position)
            cur = best.get(rec.whatsapp)
            if rec.whatsapp and (cur is None or rank >= cur[0]):
                best[rec.whatsapp] = (rank, rec)
    if not best:
        return {}
    accounts_lock(numbers=list(best))
    rows = []
    for number, ((received_at, event_id, _position), rec) in sorted(best.items()):
        code, words = sync_reason_words(rec.reason)
        rows.append(
            {
                "w": number,
                "s": rec.status,
                "o": rec.online_status,
                "r": received_at,
                "c": code,
                "x": words,
                "e": event_id,
            }
        )
    table = WhatsAppAccount._meta.db_table
    sql = f"""
        UPDATE {table} AS a SET status = v.s, online_status = v.o, online_status_at = v.r,
            reason_code = v.c, reason = v.x, updated_at = now()
        FROM json_to_recordset(%s::json)
            AS v(w text, s integer, o integer, r timestamptz, c text, x text, e bigint)
        WHERE a.whatsapp = v.w AND (a.online_status_at IS NULL OR a.online_status_at <= v.r)
    """  # noqa: S608 - table name from _meta; values are bound
    sql = _with_changes(sql, table, "v.w", first="v.e, ")
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json_rows(rows)])
        returned = cursor.fetchall()
    applied: dict[int, int] = {}
    for row in returned:
        applied[row[0]] = applied.get(row[0], 0) + 1
    changes = [row[1:] for row in returned]
    if changes:
        _changes_emit(changes, source="account_status")
        accounts_live.accounts_changed(whatsapps=[row[0] for row in changes])
    return applied


def _phone_candidates(phone: str) -> list[str]:
    """The number itself and its suffixes down to 6 digits (area code prefixes dropped)."""
    return [phone[i:] for i in range(0, max(1, len(phone) - 5))]


def registration_for_phone(phone: str) -> Registration | None:
    """The latest registration for `phone`, tolerant of area-code prefixes on either side:
    the vendor may send "861821726232" for a registration of "1821726232" with area code
    "+86", or the bare number."""
    candidates = Registration.objects.filter(phone__in=_phone_candidates(phone)).order_by(
        "-created_at", "-id"
    )
    exact = []
    loose = []
    for reg in candidates[:50]:
        area = "".join(ch for ch in reg.area_code if ch.isdigit())
        if reg.phone == phone or area + reg.phone == phone:
            exact.append(reg)
        else:
            loose.append(reg)
    if exact:
        return exact[0]
    # The vendor dropped the area code but we stored it in the number.
    stored_longer = (
        Registration.objects.filter(phone__endswith=phone).order_by("-created_at", "-id").first()
    )
    if stored_longer is not None:
        return stored_longer
    return loose[0] if loose else None


def registration_refused_words(reg: Registration) -> str:
    """What the page says when syncStatus reports a failure (status 0). The vendor gives no
    reason; a wrong or expired verification code is the usual one once a code was sent."""
    from django.utils.translation import gettext as _

    if reg.state == Registration.State.CODE_SUBMITTED:
        return _(
            "The vendor refused the registration: the verification code was wrong or has "
            "expired. Start a new registration to get a new code."
        )
    return _(
        "The vendor refused the registration. If a verification code was entered, it was "
        "wrong or has expired: start a new registration to get a new code."
    )


@dataclass(frozen=True)
class RegistrationOutcome:
    registration_id: int | None
    changed: bool
    account_created: bool


def registration_result_apply(
    *, phone: str, ok: bool, received_at: datetime
) -> RegistrationOutcome:
    """Mark the latest matching registration succeeded / failed. On success the number
    appears in the fleet (its account is created if missing), with or without a matching
    registration. An older delivery never overrides a newer result."""
    with transaction.atomic():
        reg = registration_for_phone(phone)
        changed = False
        if reg is not None:
            reg = Registration.objects.select_for_update().get(pk=reg.pk)
            final = reg.state in (Registration.State.SUCCEEDED, Registration.State.FAILED)
            if not (final and reg.completed_at and reg.completed_at > received_at):
                new_state = Registration.State.SUCCEEDED if ok else Registration.State.FAILED
                if reg.state != new_state or reg.completed_at != received_at:
                    reg.error = "" if ok else registration_refused_words(reg)
                    reg.state = new_state
                    reg.completed_at = received_at
                    reg.save(update_fields=["state", "error", "completed_at", "updated_at"])
                    changed = True
                    accounts_live.registration_changed(
                        registration_id=reg.pk, owner=reg.created_by_id
                    )
                    registration_finished(registration=reg)  # the outbox (notify)
        created = False
        if ok:
            created = (
                accounts_ensure(numbers=[phone], account_type=reg.account_type if reg else None) > 0
            )
    return RegistrationOutcome(reg.pk if reg else None, changed, created)
