"""The outbox. Domain services call `event_emit` / `events_emit` inside the transaction
that changes the state, so the event exists if and only if the change committed.

Each event gets a `msg_id` (the Standard Webhooks `webhook-id`, stable across retries,
the same for every subscription) and, for an account, the next value of that account's
sequence. One Delivery row per enabled subscription that wants the type; a delivery task
is kicked once the transaction commits (at most one kick waiting at a time).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from core.access import acting_user
from core.tasks import enqueue
from notify.models import AccountSequence, Delivery, Event, EventType, Subscription

KICK_KEY = "notify:deliveries:kick"


@dataclass(frozen=True)
class EventDraft:
    type: str
    data: Mapping[str, Any]
    whatsapp: str = ""
    occurred_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _subscribers(types: set[str]) -> dict[str, list[int]]:
    wanted: dict[str, list[int]] = {t: [] for t in types}
    rows = Subscription.objects.filter(enabled=True, events__overlap=list(types)).values_list(
        "id", "events"
    )
    for sub_id, events in rows:
        for t in events:
            if t in wanted:
                wanted[t].append(sub_id)
    return wanted


def _next_sequences(numbers: Sequence[str]) -> dict[str, int]:
    """One statement: bump each account's sequence, in number order (no deadlock)."""
    wanted = sorted({n for n in numbers if n})
    if not wanted:
        return {}
    table = AccountSequence._meta.db_table
    counts: dict[str, int] = {}
    for n in numbers:
        if n:
            counts[n] = counts.get(n, 0) + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (whatsapp, value)
            SELECT w, c FROM unnest(%s::text[], %s::bigint[]) AS v(w, c) ORDER BY w
            ON CONFLICT (whatsapp) DO UPDATE SET value = {table}.value + EXCLUDED.value
            RETURNING whatsapp, value
            """,  # noqa: S608 - table name from _meta; values are bound
            [wanted, [counts[w] for w in wanted]],
        )
        return {w: int(v) for w, v in cursor.fetchall()}


def events_emit(*, drafts: Sequence[EventDraft]) -> int:
    """Write the events and their deliveries (call inside the state change's transaction).
    Events no enabled subscription wants are not stored. Returns deliveries written."""
    if not drafts:
        return 0
    subs = _subscribers({d.type for d in drafts})
    wanted = [d for d in drafts if subs.get(d.type)]
    if not wanted:
        return 0
    now = timezone.now()
    # Sequence values: the last value for each account, counted down for earlier drafts.
    last = _next_sequences([d.whatsapp for d in wanted])
    remaining = dict(last)
    seqs: list[int | None] = [None] * len(wanted)
    for i in range(len(wanted) - 1, -1, -1):
        w = wanted[i].whatsapp
        if w:
            seqs[i] = remaining[w]
            remaining[w] -= 1
    events = Event.objects.bulk_create(
        [
            Event(
                type=d.type,
                msg_id=f"msg_{uuid.uuid4().hex}",
                whatsapp=d.whatsapp,
                sequence=seqs[i],
                occurred_at=d.occurred_at or now,
                data=dict(d.data),
            )
            for i, d in enumerate(wanted)
        ]
    )
    deliveries = [
        Delivery(event=ev, subscription_id=sub_id, next_attempt_at=now)
        for ev in events
        for sub_id in subs[ev.type]
    ]
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    transaction.on_commit(deliveries_kick)
    return len(deliveries)


def event_emit(
    *, type: str, data: Mapping[str, Any], whatsapp: str = "", occurred_at: datetime | None = None
) -> int:
    return events_emit(
        drafts=[EventDraft(type=type, data=data, whatsapp=whatsapp, occurred_at=occurred_at)]
    )


def deliveries_kick() -> None:
    """Queue one drain, unless one is already queued (the drain clears the key first)."""
    try:
        first = cache.add(KICK_KEY, 1, timeout=30)
    except Exception:  # the cache is down: the beat drain still runs every few seconds
        first = True
    if first:
        enqueue("notify.tasks.deliveries_drain")


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ + base64 of 24 random bytes."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class SubscriptionError(ValueError):
    """A refusal in words; `field` names the form field it is about (shown beside it)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def subscription_create(
    *, actor: Any, url: str, events: Sequence[str], description: str = ""
) -> tuple[Subscription, str]:
    """Create a subscription; returns it and its secret (shown once, sealed at rest)."""
    from core.audit import audit_record

    clean_url, clean_events = _validated(url=url, events=events)
    secret = new_secret()
    sub = Subscription.objects.create(
        url=clean_url,
        events=clean_events,
        description=description.strip()[:255],
        secret=secret,
        created_by=acting_user(actor),
    )
    audit_record(
        actor=actor,
        action="event_subscription.create",
        target_type="event_subscription",
        target_id=str(sub.pk),
        after={"url": _url_for_log(clean_url), "events": clean_events},
    )
    return sub, secret


def _url_for_log(url: str) -> str:
    """The scheme and host only (a URL may carry a token in its path or query)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"


def _validated(*, url: str, events: Sequence[str]) -> tuple[str, list[str]]:
    from urllib.parse import urlsplit

    from django.utils.translation import gettext as _

    from core.outbound import host_allowed

    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionError(_("The URL must start with http:// or https://."), field="url")
    if parts.username or parts.password:
        raise SubscriptionError(_("Put no user name or password in the URL."), field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise SubscriptionError(_("The URL's port is not a number."), field="url") from exc
    if not host_allowed(parts.hostname, port):
        raise SubscriptionError(
            _("The URL points to a private or local address; add it to OUTBOUND_ALLOWED_NETS."),
            field="url",
        )
    unknown = sorted(set(events) - set(EventType.values))
    if unknown:
        raise SubscriptionError(
            _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)},
            field="events",
        )
    if not events:
        raise SubscriptionError(_("Choose at least one event type."), field="events")
    return url, sorted(set(events))


def subscription_update(
    *,
    actor: Any,
    subscription: Subscription,
    url: str,
    events: Sequence[str],
    description: str,
    enabled: bool,
) -> Subscription:
    from core.audit import audit_record

    clean_url, clean_events = _validated(url=url, events=events)
    before = {"url": _url_for_log(subscription.url), "events": subscription.events}
    subscription.url = clean_url
    subscription.events = clean_events
    subscription.description = description.strip()[:255]
    if enabled and not subscription.enabled:
        subscription.failing_since = None
        subscription.disabled_reason = ""
    subscription.enabled = enabled
    subscription.save()
    audit_record(
        actor=actor,
        action="event_subscription.update",
        target_type="event_subscription",
        target_id=str(subscription.pk),
        before=before,
        after={"url": _url_for_log(clean_url), "events": clean_events, "enabled": enabled},
    )
    return subscription


def subscription_delete(*, actor: Any, subscription: Subscription) -> None:
    from core.audit import audit_record

    pk = subscription.pk
    subscription.delete()
    audit_record(
        actor=actor,
        action="event_subscription.delete",
        target_type="event_subscription",
        target_id=str(pk),
    )


def delivery_redeliver(*, actor: Any, delivery: Delivery) -> Delivery:
    """Send the delivery again now (same webhook-id), whatever its state."""
    from core.audit import audit_record

    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.PENDING, next_attempt_at=timezone.now(), claimed_until=None
        )
        audit_record(
            actor=actor,
            action="event_delivery.redeliver",
            target_type="event_delivery",
            target_id=str(delivery.pk),
        )
        transaction.on_commit(deliveries_kick)
    delivery.refresh_from_db()
    return delivery
