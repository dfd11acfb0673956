"""Deliver the outbox: claim due deliveries, sign each per Standard Webhooks, POST it,
record the answer, and back off exponentially on failure for EVENT_RETRY_HOURS.

- Claim: one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING sets a
  lease (`claimed_until`); a worker killed mid-delivery leaves the lease to expire and the
  next drain sends it again (at least once; the `webhook-id` lets receivers deduplicate).
- Send: `webhook-id` is the event's msg_id (stable across retries), `webhook-timestamp`
  the time of this attempt, `webhook-signature` from `standardwebhooks`. Only 2xx counts.
  Redirects are not followed. Connections go through core.outbound's guard.
- A subscription failing without a success for EVENT_DISABLE_AFTER_DAYS is disabled and an
  alert says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from core.outbound import outbound_guard
from notify.models import Delivery, Event, Subscription

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
BATCH = 200
USER_AGENT = "Switchboard-Webhooks/1"

_local = threading.local()


def _session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        s.trust_env = False  # no proxy from the environment: the guard sees the real peer
        _local.session = s
    return s


def event_body(event: Event) -> str:
    """The JSON body (Standard Webhooks shape: type, timestamp, data; plus id, sequence)."""
    return json.dumps(
        {
            "id": event.msg_id,
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "sequence": event.sequence,
            "data": event.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def sign(*, secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    wh = Webhook(secret)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": wh.sign(msg_id=msg_id, timestamp=at, data=body),
    }


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 5 s doubling, capped at an hour, +-10 %."""
    base = min(3600.0, 5.0 * (2 ** max(0, min(attempts - 1, 20))))
    return base * random.uniform(0.9, 1.1)  # jitter, not a secret


def deliveries_claim(*, limit: int = BATCH, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    table = Delivery._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET claimed_until = %s
            WHERE id IN (
                SELECT id FROM {table}
                WHERE state = 'pending' AND next_attempt_at <= %s
                  AND (claimed_until IS NULL OR claimed_until < %s)
                ORDER BY next_attempt_at, id
                LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id
            """,  # noqa: S608 - table name from _meta; values are bound
            [now + timedelta(seconds=LEASE_SECONDS), now, now, limit],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class Attempt:
    delivery_id: int
    ok: bool
    status: int | None
    latency_ms: int
    response: str
    error: str
    at: datetime


def _send_one(delivery: Delivery, timeout: float) -> Attempt:
    event = delivery.event
    sub = delivery.subscription
    at = timezone.now()
    body = event_body(event)
    try:
        headers = sign(secret=sub.secret.reveal(), msg_id=event.msg_id, at=at, body=body)
    except Exception as exc:  # a damaged secret fails this subscription, not the batch
        error = f"the signing secret cannot be used ({type(exc).__name__})"
        return Attempt(delivery.pk, False, None, 0, "", error, at)
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    started = time.monotonic()
    try:
        with outbound_guard() as guard:
            resp = _session().post(
                sub.url,
                data=body.encode(),
                headers=headers,
                timeout=(min(5.0, timeout), timeout),
                allow_redirects=False,
            )
        latency = int((time.monotonic() - started) * 1000)
        text = resp.text[:500] if resp.content else ""
        ok = 200 <= resp.status_code < 300
        return Attempt(
            delivery.pk,
            ok,
            resp.status_code,
            latency,
            text,
            "" if ok else f"HTTP {resp.status_code}",
            at,
        )
    except requests.RequestException as exc:
        latency = int((time.monotonic() - started) * 1000)
        if guard.refused:
            error = "refused: the URL resolves to a private or local address"
        else:
            error = type(exc).__name__
        return Attempt(delivery.pk, False, None, latency, "", error, at)


def deliveries_send(*, ids: list[int]) -> list[Attempt]:
    """Send the claimed deliveries (in parallel, EVENT_DELIVERY_THREADS) and record."""
    if not ids:
        return []
    rows = list(
        Delivery.objects.filter(pk__in=ids, state=Delivery.State.PENDING).select_related(
            "event", "subscription"
        )
    )
    timeout = float(settings.EVENT_DELIVERY_TIMEOUT)
    threads = max(1, int(settings.EVENT_DELIVERY_THREADS))
    if threads == 1 or len(rows) == 1:
        attempts = [_send_one(d, timeout) for d in rows]
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(rows))) as pool:
            attempts = list(pool.map(lambda d: _send_one(d, timeout), rows))
    deliveries_record(attempts=attempts, rows=rows)
    return attempts


def deliveries_record(*, attempts: list[Attempt], rows: list[Delivery]) -> None:
    by_id = {d.pk: d for d in rows}
    retry_until = timedelta(hours=float(settings.EVENT_RETRY_HOURS))
    ok_subs: set[int] = set()
    failed_subs: set[int] = set()
    with transaction.atomic():
        for a in attempts:
            d = by_id[a.delivery_id]
            fields: dict[str, Any] = {
                "attempts": d.attempts + 1,
                "claimed_until": None,
                "last_status": a.status,
                "last_latency_ms": a.latency_ms,
                "last_response": a.response,
                "last_error": a.error[:255],
                "last_attempt_at": a.at,
            }
            if a.ok:
                fields.update(state=Delivery.State.DELIVERED, delivered_at=timezone.now())
                ok_subs.add(d.subscription_id)
            else:
                failed_subs.add(d.subscription_id)
                if a.at - d.event.created_at >= retry_until:
                    fields["state"] = Delivery.State.FAILED
                else:
                    fields["next_attempt_at"] = a.at + timedelta(
                        seconds=retry_delay(d.attempts + 1)
                    )
            Delivery.objects.filter(pk=d.pk, state=Delivery.State.PENDING).update(**fields)
            if not a.ok:
                log.info(
                    "event delivery %s (subscription %s) failed: %s",
                    d.pk,
                    d.subscription_id,
                    a.error,
                )
        if ok_subs:
            Subscription.objects.filter(pk__in=ok_subs, failing_since__isnull=False).update(
                failing_since=None
            )
        failing = failed_subs - ok_subs
        if failing:
            Subscription.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=timezone.now()
            )
            subscriptions_disable_failing(ids=failing)


def subscriptions_disable_failing(*, ids: set[int], now: datetime | None = None) -> list[int]:
    """Disable the subscriptions that have failed without a success for too long."""
    from django.utils.translation import gettext as _

    from notify.models import RuleKey
    from notify.services.alerts import alert_raise

    now = now or timezone.now()
    cutoff = now - timedelta(days=float(settings.EVENT_DISABLE_AFTER_DAYS))
    disabled = []
    for sub in Subscription.objects.select_for_update().filter(
        pk__in=ids, enabled=True, failing_since__lte=cutoff
    ):
        sub.enabled = False
        sub.disabled_reason = _("Every delivery failed for %(days)s days.") % {
            "days": settings.EVENT_DISABLE_AFTER_DAYS
        }
        sub.save(update_fields=["enabled", "disabled_reason", "updated_at"])
        disabled.append(sub.pk)
        alert_raise(
            rule=RuleKey.SUBSCRIPTION_DISABLED,
            scope=str(sub.pk),
            params={"subscription": sub.pk, "description": sub.description},
            link=f"/notify/subscriptions/{sub.pk}/",
        )
    return disabled


def deliveries_drain(*, budget_seconds: float = 50.0) -> int:
    """Claim and send due deliveries until none are due or the budget is spent."""
    from django.core.cache import cache

    from notify.services.events import KICK_KEY

    with contextlib.suppress(Exception):  # the beat drain covers a cache outage
        cache.delete(KICK_KEY)
    sent = 0
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        ids = deliveries_claim()
        if not ids:
            break
        sent += len(deliveries_send(ids=ids))
    return sent
