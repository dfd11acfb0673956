"""Alerts to people: rules with defaults, grouping (no floods), Apprise channels.

`alert_raise` adds occurrences to the open group of a rule and scope (the group whose
last occurrence is within the rule's quiet interval) or opens a new group. Distinct
numbers are counted, so the same account seen again does not inflate the count.
`alerts_dispatch` sends: one message once a new group is ALERT_GROUP_SECONDS old (a burst
becomes one message with counts and the first few numbers), then a reminder when more
occurrences arrived and the quiet interval has passed since the last message.
Messages go to every enabled channel that chose the rule, in the channel's language,
through Apprise, under core.outbound's guard.
`alert_resolve` closes the open groups of a rule whose condition has cleared and tells the
channels that were told about them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import generations
from core.access import acting_user
from core.outbound import host_allowed, outbound_guard, url_host_allowed
from core.tasks import enqueue
from core.zones import zoned_stamp
from notify.models import Alert, AlertChannel, AlertRule, RuleKey
from notify.selectors import OPEN_ALERTS

log = logging.getLogger(__name__)

MAX_NUMBERS = 5000  # distinct numbers kept per group
SHOWN_NUMBERS = 5  # numbers named in a message

# key: (threshold, window_minutes, quiet_minutes)
DEFAULTS: dict[str, tuple[int, int, int]] = {
    RuleKey.ACCOUNT_BANNED: (0, 0, 30),
    RuleKey.DISCONNECT_SPIKE: (10, 5, 30),  # 10 disconnections or bans in 5 minutes
    RuleKey.OFFLINE_TOO_LONG: (60, 0, 240),  # offline for more than 60 minutes
    RuleKey.QUOTA_EXCEEDED: (0, 0, 60),
    RuleKey.WEBHOOK_LAG: (120, 0, 30),  # seconds
    RuleKey.VENDOR_UNREACHABLE: (5, 0, 30),  # minutes with the breaker open
    RuleKey.REGISTRATION_FAILED: (0, 0, 30),
    RuleKey.SUBSCRIPTION_DISABLED: (0, 0, 1440),
    RuleKey.HISTORY_OUTSIDE_MONTHS: (0, 0, 1440),
}


def alert_rules_ensure() -> list[AlertRule]:
    """Every rule exists, with its defaults the first time."""
    existing = {r.key: r for r in AlertRule.objects.all()}
    missing = [
        AlertRule(key=k, threshold=t, window_minutes=w, quiet_minutes=q)
        for k, (t, w, q) in DEFAULTS.items()
        if k not in existing
    ]
    if missing:
        AlertRule.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {r.key: r for r in AlertRule.objects.all()}
    return [existing[k] for k in DEFAULTS if k in existing]


def alert_rule_get(key: str) -> AlertRule:
    rule = AlertRule.objects.filter(key=key).first()
    if rule is None:
        alert_rules_ensure()
        rule = AlertRule.objects.get(key=key)
    return rule


class AlertError(ValueError):
    """A refusal in words; `field` names the form field it is about (shown beside it)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def alert_rule_update(
    *,
    actor: Any,
    key: str,
    enabled: bool,
    threshold: int,
    window_minutes: int,
    quiet_minutes: int,
    agent_account: str = "",
) -> AlertRule:
    from core.audit import audit_record

    if key not in RuleKey.values:
        raise AlertError(_("Unknown rule."))
    if min(threshold, window_minutes, quiet_minutes) < 0:
        raise AlertError(_("Numbers must be zero or more."))
    if key == RuleKey.DISCONNECT_SPIKE and (threshold < 1 or window_minutes < 1):
        raise AlertError(_("A spike needs at least 1 event in at least 1 minute."))
    rule = alert_rule_get(key)
    before = {
        "enabled": rule.enabled,
        "threshold": rule.threshold,
        "window_minutes": rule.window_minutes,
        "quiet_minutes": rule.quiet_minutes,
        "agent_account": rule.agent_account,
    }
    rule.enabled = enabled
    rule.threshold = threshold
    rule.window_minutes = window_minutes
    rule.quiet_minutes = max(1, quiet_minutes)
    rule.agent_account = agent_account.strip()[:64]
    rule.save()
    audit_record(
        actor=actor,
        action="alert_rule.update",
        target_type="alert_rule",
        target_id=key,
        before=before,
        after={
            "enabled": enabled,
            "threshold": threshold,
            "window_minutes": window_minutes,
            "quiet_minutes": rule.quiet_minutes,
            "agent_account": rule.agent_account,
        },
    )
    return rule


# --- raising ---------------------------------------------------------------------------------


def alert_raise(
    *,
    rule: str,
    scope: str = "",
    numbers: Sequence[str] = (),
    params: dict[str, Any] | None = None,
    link: str = "",
    now: datetime | None = None,
) -> Alert | None:
    """Add occurrences to the rule's open group (or open one). Call inside the state
    change's transaction: the alert exists if and only if the change committed."""
    r = alert_rule_get(rule)
    if not r.enabled:
        return None
    now = now or timezone.now()
    quiet = timedelta(minutes=max(1, r.quiet_minutes))
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(rule=rule, scope=scope, last_at__gte=now - quiet, resolved_at__isnull=True)
            .order_by("-last_at", "-id")
            .first()
        )
        if alert is None:
            alert = Alert(rule=rule, scope=scope, first_at=now, last_at=now, numbers=[])
        known = set(alert.numbers)
        fresh = [n for n in dict.fromkeys(numbers) if n and n not in known]
        if numbers and not fresh and alert.pk:
            return alert  # nothing new: the same accounts again
        alert.numbers = (alert.numbers + fresh)[:MAX_NUMBERS]
        alert.count = alert.count + len(fresh) if numbers else alert.count + 1
        alert.last_at = now
        if params:
            alert.params = {**alert.params, **params}
        if link:
            alert.link = link
        alert.save()
        generations.bump_on_commit(OPEN_ALERTS)
        transaction.on_commit(_dispatch_later)
    return alert


def _dispatch_later() -> None:
    enqueue("notify.tasks.alerts_dispatch", countdown=float(settings.ALERT_GROUP_SECONDS) + 1)


# --- messages ----------------------------------------------------------------------------------


def alert_title(alert: Alert) -> str:
    p = alert.params
    n = alert.count
    titles: dict[str, str] = {
        RuleKey.ACCOUNT_BANNED: ngettext("%(n)s account banned", "%(n)s accounts banned", n)
        % {"n": n},
        RuleKey.DISCONNECT_SPIKE: _("Spike: %(n)s disconnections or bans in %(m)s minutes")
        % {"n": n, "m": p.get("window_minutes", "?")},
        RuleKey.OFFLINE_TOO_LONG: ngettext(
            "%(n)s account offline for more than %(x)s minutes",
            "%(n)s accounts offline for more than %(x)s minutes",
            n,
        )
        % {"n": n, "x": p.get("minutes", "?")},
        RuleKey.QUOTA_EXCEEDED: ngettext(
            "Port quota exceeded (%(cur)s of %(max)s): %(n)s account will be taken offline",
            "Port quota exceeded (%(cur)s of %(max)s): %(n)s accounts will be taken offline",
            n,
        )
        % {"cur": p.get("current_port", "?"), "max": p.get("max_port", "?"), "n": n},
        RuleKey.WEBHOOK_LAG: _("Webhook lag is %(s)s seconds (threshold %(t)s)")
        % {"s": p.get("lag_seconds", "?"), "t": p.get("threshold", "?")},
        RuleKey.VENDOR_UNREACHABLE: _("The vendor has been unreachable for %(m)s minutes")
        % {"m": p.get("minutes", "?")},
        RuleKey.REGISTRATION_FAILED: ngettext(
            "%(n)s registration failed", "%(n)s registrations failed", n
        )
        % {"n": n},
        RuleKey.SUBSCRIPTION_DISABLED: _(
            "Event subscription #%(id)s was disabled after failing for days"
        )
        % {"id": p.get("subscription", alert.scope)},
        RuleKey.HISTORY_OUTSIDE_MONTHS: _(
            "%(rows)s row(s) of %(table)s are in its default partition: no month holds them"
        )
        % {"rows": p.get("rows", "?"), "table": alert.scope},
    }
    return str(titles.get(alert.rule, alert.rule))


def alert_body(alert: Alert, *, reminder: bool) -> str:
    lines = []
    if reminder:
        lines.append(_("Reminder: still happening."))
    if alert.scope and alert.rule == RuleKey.DISCONNECT_SPIKE:
        lines.append(_("Agent: %(agent)s") % {"agent": alert.scope})
    if alert.numbers:
        shown = ", ".join(alert.numbers[:SHOWN_NUMBERS])
        more = len(alert.numbers) - SHOWN_NUMBERS
        if more > 0:
            lines.append(
                _("Accounts: %(shown)s and %(more)s more") % {"shown": shown, "more": more}
            )
        else:
            lines.append(_("Accounts: %(shown)s") % {"shown": shown})
    lines.append(_("Since %(at)s") % {"at": zoned_stamp(alert.first_at)})
    if alert.link:
        lines.append(_("Details: %(url)s") % {"url": settings.SITE_URL.rstrip("/") + alert.link})
    return "\n".join(str(x) for x in lines)


def alert_message(alert: Alert, *, language: str, reminder: bool) -> tuple[str, str]:
    with translation.override(language):
        return alert_title(alert), alert_body(alert, reminder=reminder)


# --- sending -----------------------------------------------------------------------------------


def channel_send(*, channel: AlertChannel, title: str, body: str) -> tuple[bool, str]:
    """Send one message through the channel's Apprise URL. Returns (ok, error words); the
    error never carries the URL (it holds tokens)."""
    import apprise

    ap = apprise.Apprise()
    if not ap.add(channel.url.reveal()):
        return False, _("Apprise does not understand this URL.")
    try:
        with outbound_guard() as guard:
            ok = bool(ap.notify(title=title, body=body))
    except Exception as exc:  # an Apprise plugin that raised
        return False, type(exc).__name__
    if ok:
        return True, ""
    if guard.refused:
        return False, _("Refused: the channel's address is private or local.")
    return False, _("The channel did not accept the message.")


def _channels_for(rule: str) -> list[AlertChannel]:
    return list(AlertChannel.objects.filter(enabled=True, rules__contains=[rule]))


def alerts_dispatch(*, now: datetime | None = None) -> int:
    """Send what is due; returns messages sent (one per alert per channel)."""
    now = now or timezone.now()
    group = timedelta(seconds=float(settings.ALERT_GROUP_SECONDS))
    rules = {r.key: r for r in alert_rules_ensure()}
    sent = 0
    pending = Alert.objects.filter(count__gt=F("notified_count")).order_by("first_at", "id")
    for alert in pending[:200]:
        rule = rules.get(alert.rule)
        quiet = timedelta(minutes=max(1, rule.quiet_minutes if rule else 30))
        reminder = alert.notified_at is not None
        if not reminder and now - alert.first_at < group:
            continue
        if reminder and alert.notified_at and now - alert.notified_at < quiet:
            continue
        # Claim: only one dispatcher sends this state of the alert.
        claimed = Alert.objects.filter(
            pk=alert.pk, notified_count=alert.notified_count, count=alert.count
        ).update(notified_count=alert.count, notified_at=now)
        if not claimed:
            continue
        delivered = 0
        for channel in _channels_for(alert.rule):
            title, body = alert_message(alert, language=channel.language, reminder=reminder)
            delivered += _send(alert, channel, title, body, now)
        # Messages that reached a channel: none when no channel chose the rule.
        if delivered:
            Alert.objects.filter(pk=alert.pk).update(messages_sent=F("messages_sent") + delivered)
        sent += delivered
    return sent


def _send(alert: Alert, channel: AlertChannel, title: str, body: str, now: datetime) -> int:
    ok, error = channel_send(channel=channel, title=title, body=body)
    AlertChannel.objects.filter(pk=channel.pk).update(
        last_sent_at=now if ok else F("last_sent_at"), last_error=error[:255]
    )
    if not ok:
        log.warning("alert %s: channel %s failed: %s", alert.pk, channel.pk, error)
    return int(ok)


def alert_resolve(
    *, rule: str, scope: str = "", still: Sequence[str] | None = None, now: datetime | None = None
) -> list[Alert]:
    """Close the rule's open groups (of `scope`) whose condition has cleared: all of them
    when `still` is None, else those none of whose accounts is in `still` (the accounts
    the condition holds for now). Channels that were sent the alert get a "resolved"
    message in their language. Returns the groups closed."""
    now = now or timezone.now()
    open_alerts = Alert.objects.filter(rule=rule, scope=scope, resolved_at__isnull=True)
    remaining = set(still or ())
    closed = []
    for alert in open_alerts.order_by("id"):
        if still is not None and remaining.intersection(alert.numbers):
            continue
        # Claim: one resolver closes (and announces) each group.
        if not Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now):
            continue
        alert.resolved_at = now
        closed.append(alert)
        generations.bump_on_commit(OPEN_ALERTS)
        if alert.notified_at is None:
            continue  # nobody was told about it: nothing to take back
        delivered = 0
        for channel in _channels_for(alert.rule):
            with translation.override(channel.language):
                title = _("Resolved: %(title)s") % {"title": alert_title(alert)}
                body = _("The condition cleared at %(at)s.") % {"at": zoned_stamp(now)}
            delivered += _send(alert, channel, title, body, now)
        if delivered:
            Alert.objects.filter(pk=alert.pk).update(messages_sent=F("messages_sent") + delivered)
    return closed


def alert_acknowledge(*, actor: Any, alert: Alert) -> Alert:
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=actor
    )
    generations.bump_on_commit(OPEN_ALERTS)
    alert.refresh_from_db()
    return alert


# --- channels ----------------------------------------------------------------------------------


def _plugin_hosts(plugin: Any) -> list[str]:
    """The hosts an Apprise plugin will connect to: its URL's host, and a mail plugin's
    SMTP server (given as `?smtp=`, outside the URL's host part)."""
    hosts = [getattr(plugin, name, None) for name in ("host", "smtp_host")]
    return [str(h).strip("[]") for h in hosts if isinstance(h, str) and h]


def _validated_channel(url: str, rules: Sequence[str], language: str) -> tuple[str, list[str]]:
    import apprise

    url = (url or "").strip()
    if not url or "://" not in url:
        raise AlertError(
            _("Give an Apprise URL, such as dingtalk://token/ or json://host/."), field="url"
        )
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise AlertError(_("Apprise does not understand this URL."), field="url")
    # The same rule the send-time guard applies (core/outbound.py), checked when saved.
    if not url_host_allowed(url) or not all(host_allowed(h, 0) for h in _plugin_hosts(plugin)):
        raise AlertError(
            _("The URL points to a private or local address; add it to OUTBOUND_ALLOWED_NETS."),
            field="url",
        )
    unknown = sorted(set(rules) - set(RuleKey.values))
    if unknown:
        raise AlertError(
            _("Unknown rules: %(rules)s.") % {"rules": ", ".join(unknown)}, field="rules"
        )
    if language not in AlertChannel.Language.values:
        raise AlertError(_("Unknown language."), field="language")
    return url, sorted(set(rules))


def _validated_name(name: str, *, channel: AlertChannel | None = None) -> str:
    """A name no other channel has (case aside: "Ops" and "ops" would read the same)."""
    name = (name or "").strip()[:100]
    if not name:
        raise AlertError(_("Give the channel a name."), field="name")
    others = AlertChannel.objects.filter(name__iexact=name)
    if channel is not None:
        others = others.exclude(pk=channel.pk)
    if others.exists():
        raise AlertError(_name_taken(name), field="name")
    return name


def _name_taken(name: str) -> str:
    return _("Another channel is already named %(name)s: choose another name.") % {"name": name}


def alert_channel_create(
    *, actor: Any, name: str, url: str, rules: Sequence[str], language: str = "en"
) -> AlertChannel:
    from core.audit import audit_record

    name = _validated_name(name)
    clean, clean_rules = _validated_channel(url, rules, language)
    try:
        with transaction.atomic():
            channel = AlertChannel.objects.create(
                name=name,
                url=clean,
                url_scheme=urlsplit(clean).scheme[:32],
                rules=clean_rules,
                language=language,
                created_by=acting_user(actor),
            )
    except IntegrityError as exc:  # the same name saved meanwhile (the unique constraint)
        raise AlertError(_name_taken(name), field="name") from exc
    audit_record(
        actor=actor,
        action="alert_channel.create",
        target_type="alert_channel",
        target_id=str(channel.pk),
        after={"name": name, "scheme": channel.url_scheme, "rules": clean_rules},
    )
    return channel


def alert_channel_update(
    *,
    actor: Any,
    channel: AlertChannel,
    name: str,
    rules: Sequence[str],
    language: str,
    enabled: bool,
    url: str = "",
) -> AlertChannel:
    """Update a channel; an empty `url` keeps the stored one (it is never shown back)."""
    from core.audit import audit_record

    name = _validated_name(name, channel=channel)
    clean, clean_rules = _validated_channel(url or channel.url.reveal(), rules, language)
    channel.name, channel.rules, channel.language, channel.enabled = (
        name,
        clean_rules,
        language,
        enabled,
    )
    if url:
        channel.url = clean
        channel.url_scheme = urlsplit(clean).scheme[:32]
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise AlertError(_name_taken(name), field="name") from exc
    audit_record(
        actor=actor,
        action="alert_channel.update",
        target_type="alert_channel",
        target_id=str(channel.pk),
        after={"name": name, "rules": clean_rules, "enabled": enabled, "url_changed": bool(url)},
    )
    return channel


def alert_channel_delete(*, actor: Any, channel: AlertChannel) -> None:
    from core.audit import audit_record

    pk = channel.pk
    channel.delete()
    audit_record(
        actor=actor, action="alert_channel.delete", target_type="alert_channel", target_id=str(pk)
    )


def alert_channel_test(*, actor: Any, channel: AlertChannel) -> tuple[bool, str]:
    """Send a test message in the channel's language."""
    with translation.override(channel.language):
        title = _("Switchboard test alert")
        body = _("This channel receives the alerts: %(rules)s.") % {
            "rules": ", ".join(str(RuleKey(r).label) for r in channel.rules) or "-"
        }
    ok, error = channel_send(channel=channel, title=str(title), body=str(body))
    AlertChannel.objects.filter(pk=channel.pk).update(
        last_sent_at=timezone.now() if ok else F("last_sent_at"), last_error=error[:255]
    )
    return ok, error
