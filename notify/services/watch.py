"""The alert rules that are measured rather than caused by one change, evaluated by the
beat every minute: spikes, accounts offline too long, webhook lag, vendor unreachable.
Also the port quota check, run after the ports are refreshed."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.choices import OnlineStatus, Presence
from accounts.models import StatusEvent, WhatsAppAccount
from notify.models import EventType, RuleKey
from notify.payloads import PortAtRisk, QuotaData
from notify.services.alerts import alert_raise, alert_resolve, alert_rule_get
from notify.services.events import event_emit

MAX_STILL = 50_000  # accounts read to decide which offline alerts have cleared


def spike_check(*, now: datetime | None = None) -> int:
    """Disconnections or bans: N distinct accounts in M minutes (fleet-wide or one agent)."""
    rule = alert_rule_get(RuleKey.DISCONNECT_SPIKE)
    if not rule.enabled or rule.threshold < 1 or rule.window_minutes < 1:
        return 0
    now = now or timezone.now()
    qs = StatusEvent.objects.filter(
        status__in=[Presence.DISCONNECTED, Presence.BANNED],
        event_time__gte=now - timedelta(minutes=rule.window_minutes),
        event_time__lte=now,
    )
    if rule.agent_account:
        qs = qs.filter(agent_account=rule.agent_account)
    numbers = list(qs.order_by("whatsapp").values_list("whatsapp", flat=True).distinct()[:5000])
    if len(numbers) < rule.threshold:
        return 0
    link = "/accounts/logs/"
    if rule.agent_account:
        link += f"?agent={rule.agent_account}"
    alert_raise(
        rule=RuleKey.DISCONNECT_SPIKE,
        scope=rule.agent_account,
        numbers=numbers,
        params={"window_minutes": rule.window_minutes, "threshold": rule.threshold},
        link=link,
        now=now,
    )
    return len(numbers)


def offline_check(*, now: datetime | None = None) -> int:
    """Accounts whose last report put them offline (or disconnected) more than X minutes
    ago, counted once they cross X (within a day of crossing it)."""
    rule = alert_rule_get(RuleKey.OFFLINE_TOO_LONG)
    if not rule.enabled or rule.threshold < 1:
        return 0
    now = now or timezone.now()
    crossed = now - timedelta(minutes=rule.threshold)
    offline = (
        WhatsAppAccount.objects.filter(
            presence_status__in=[Presence.DISCONNECTED, Presence.OFFLINE],
            last_event_at__lte=crossed,
        )
        .exclude(online_status=OnlineStatus.ONLINE)
        .order_by("last_event_at")
    )
    # A group closes once every account it named is back (or no longer offline too long).
    alert_resolve(
        rule=RuleKey.OFFLINE_TOO_LONG,
        still=list(offline.values_list("whatsapp", flat=True)[:MAX_STILL]),
        now=now,
    )
    numbers = list(
        offline.filter(last_event_at__gt=crossed - timedelta(days=1)).values_list(
            "whatsapp", flat=True
        )[:5000]
    )
    if not numbers:
        return 0
    alert_raise(
        rule=RuleKey.OFFLINE_TOO_LONG,
        numbers=numbers,
        params={"minutes": rule.threshold},
        link="/accounts/?presence=30",
        now=now,
    )
    return len(numbers)


def webhook_lag_check(*, now: datetime | None = None) -> float | None:
    from webhooks.selectors import webhook_lag_seconds

    rule = alert_rule_get(RuleKey.WEBHOOK_LAG)
    lag = webhook_lag_seconds()
    if lag is None or lag <= rule.threshold:
        alert_resolve(rule=RuleKey.WEBHOOK_LAG, now=now)
        return lag
    if not rule.enabled:
        return lag
    alert_raise(
        rule=RuleKey.WEBHOOK_LAG,
        params={"lag_seconds": int(lag), "threshold": rule.threshold},
        link="/webhooks/?state=pending",
        now=now,
    )
    return lag


def vendor_check(*, now: datetime | None = None) -> float | None:
    """Minutes the breaker has been open (None when closed)."""
    from django.core.cache import cache

    from upstream.breaker import OPENED_KEY

    rule = alert_rule_get(RuleKey.VENDOR_UNREACHABLE)
    try:
        opened = cache.get(OPENED_KEY)
    except Exception:
        return None
    if opened is None:
        alert_resolve(rule=RuleKey.VENDOR_UNREACHABLE, now=now)
        return None
    minutes = (time.time() - float(opened)) / 60
    if rule.enabled and minutes >= rule.threshold:
        alert_raise(
            rule=RuleKey.VENDOR_UNREACHABLE,
            params={"minutes": int(minutes)},
            link="/health/",
            now=now,
        )
    return minutes


def quota_check(*, quota: Any) -> list[str]:
    """After the ports are stored: if maxPort < currentPort, name the accounts the vendor
    will take offline (an alert and a quota.exceeded event, once per distinct set).
    Call inside the transaction that stored the quota and the ports."""
    from qrlogin.selectors import ports_over_quota

    at_risk = ports_over_quota(quota)
    rule = alert_rule_get(RuleKey.QUOTA_EXCEEDED)
    if not at_risk:
        alert_resolve(rule=RuleKey.QUOTA_EXCEEDED)
        if rule.state.get("at_risk"):
            rule.state = {**rule.state, "at_risk": []}
            rule.save(update_fields=["state", "updated_at"])
        return []
    ports = [
        PortAtRisk(
            port_id=r.port.port_id,
            phone=r.port.phone,
            whatsapp=r.account.whatsapp if r.account else r.port.phone,
        )
        for r in at_risk
    ]
    numbers = [p["whatsapp"] for p in ports if p["whatsapp"]]
    key = sorted(p["port_id"] for p in ports)
    with transaction.atomic():
        if rule.state.get("at_risk") != key:
            event_emit(
                type=EventType.QUOTA_EXCEEDED,
                data=QuotaData(
                    current_port=quota.current_port,
                    max_port=quota.max_port,
                    over_by=quota.current_port - quota.max_port,
                    at_risk=ports,
                ),
            )
            rule.state = {**rule.state, "at_risk": key}
            rule.save(update_fields=["state", "updated_at"])
        alert_raise(
            rule=RuleKey.QUOTA_EXCEEDED,
            numbers=numbers or key,
            params={"current_port": quota.current_port, "max_port": quota.max_port},
            link="/qr/ports/",
        )
    return numbers


def history_default_check() -> dict[str, int]:
    """Rows in a partitioned table's default partition: a month was not created in time
    (the beat creates them ahead) or an event time is far off. Nothing is lost, but
    retention cannot drop those rows and the pages' month reads do not see them."""
    from core import partitions

    found: dict[str, int] = {}
    for table in partitions.TABLES:
        if not partitions.is_partitioned(table):
            continue
        rows = partitions.default_rows(table)
        if rows:
            found[table] = rows
            alert_raise(
                rule=RuleKey.HISTORY_OUTSIDE_MONTHS,
                scope=table,
                params={"rows": rows if rows < 1000 else "1000+"},
            )
    return found
