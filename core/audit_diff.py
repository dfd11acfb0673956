"""How an audit entry's before/after reads on the page: one line per changed field,
"field: old → new" in words (the stored key and action code stay in a tooltip), with long
lists folded after the first few items."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

SHOWN = 5  # list items shown before the rest is folded


@dataclass(frozen=True)
class Shown:
    text: str
    more: list[str] = field(default_factory=list)  # folded behind "and N more"


@dataclass(frozen=True)
class Change:
    field: str
    old: Shown | None  # None: the field did not exist before
    new: Shown | None  # None: the field is gone after

    @property
    def label(self) -> str:
        """The field in words (the stored key when it has none)."""
        return str(FIELD_LABELS.get(self.field, self.field))


# What each audited action is, in words; the stored code (accounts.recycle) is the tooltip.
ACTION_LABELS: dict[str, Any] = {
    "accounts.import": _("Import accounts"),
    "accounts.import.cancel": _("Cancel an import"),
    "accounts.keys.replace": _("Replace account keys"),
    "accounts.online": _("Bring accounts online"),
    "accounts.profile": _("Change avatar / nickname"),
    "accounts.recycle": _("Recycle accounts"),
    "accounts.register.code": _("Registration: verification code"),
    "accounts.register.phone": _("Registration: phone number"),
    "actions.cancel": _("Cancel an action"),
    "actions.cancel_batch": _("Cancel a batch"),
    "actions.lane_pause": _("Pause a lane"),
    "actions.lane_resume": _("Resume a lane"),
    "actions.mark_failed": _("Mark an action failed"),
    "actions.queue": _("Queue actions"),
    "actions.resend": _("Queue an action again"),
    "admin.user.password": _("Change a password"),
    "agent.create": _("Add an agent"),
    "alert_channel.create": _("Add an alert channel"),
    "alert_channel.delete": _("Delete an alert channel"),
    "alert_channel.update": _("Change an alert channel"),
    "alert_rule.update": _("Change an alert rule"),
    "event_delivery.redeliver": _("Deliver an event again"),
    "event_subscription.create": _("Add an event subscription"),
    "event_subscription.delete": _("Delete an event subscription"),
    "event_subscription.update": _("Change an event subscription"),
    "port.logout": _("Log an account out of its port"),
    "port.offline": _("Take a port offline"),
    "port.online": _("Bring a port online"),
    "token.create": _("Create an API token"),
    "token.revoke": _("Revoke an API token"),
    "webhook.replay": _("Replay a webhook"),
}

# The fields audit entries record, in words.
FIELD_LABELS: dict[str, Any] = {
    "accounts": _("Accounts"),
    "agent_account": _("Agent account"),
    "area_code": _("Area code"),
    "cancelled": _("Cancelled"),
    "count": _("Count"),
    "enabled": _("Enabled"),
    "error": _("Error"),
    "events": _("Events"),
    "filename": _("File name"),
    "keys_replaced": _("Keys replaced"),
    "keys_set": _("Keys set"),
    "name": _("Name"),
    "operation": _("Operation"),
    "pairs": _("Lanes"),
    "password": _("Password"),
    "paused": _("Paused"),
    "phone": _("Phone"),
    "prefix": _("Prefix"),
    "pregenerate_id": _("Login id"),
    "reason": _("Reason"),
    "recycled": _("Recycled"),
    "rows": _("Rows"),
    "rules": _("Rules"),
    "scheme": _("Scheme"),
    "state": _("State"),
    "url": _("Address"),
    "url_changed": _("Address changed"),
    "user": _("User"),
    "user_id": _("User id"),
    "user_name": _("Name"),
    "username": _("User name"),
    "whatsapps": _("WhatsApp accounts"),
    "with_keys": _("With keys"),
    "with_proxy": _("With a proxy"),
    "without_keys": _("Without keys"),
}


# What an entry's target is, in words.
TARGET_LABELS: dict[str, Any] = {
    "account": _("WhatsApp account"),
    "whatsapp_account": _("WhatsApp account"),
    "action": _("Action"),
    "action_batch": _("Batch"),
    "agent": _("Agent"),
    "alert_channel": _("Alert channel"),
    "alert_rule": _("Alert rule"),
    "api_token": _("API token"),
    "bulk_job": _("Bulk job"),
    "cloud_port": _("Cloud port"),
    "event_delivery": _("Event delivery"),
    "event_subscription": _("Event subscription"),
    "lane": _("Lane"),
    "registration": _("Registration"),
    "user": _("User"),
    "webhook_event": _("Webhook event"),
}


def target_label(code: str) -> str:
    return str(TARGET_LABELS.get(code, code))


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if value is True:
        return gettext("Yes")
    if value is False:
        return gettext("No")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def shown(value: Any) -> Shown:
    if isinstance(value, list):
        items = [_scalar(v) for v in value]
        return Shown(", ".join(items[:SHOWN]), items[SHOWN:])
    if isinstance(value, dict):
        items = [f"{FIELD_LABELS.get(k, k)}: {_scalar(v)}" for k, v in value.items()]
        return Shown(", ".join(items[:SHOWN]), items[SHOWN:])
    return Shown(_scalar(value))


def audit_changes(before: Any, after: Any) -> list[Change]:
    """The fields that differ (a record with no `before` lists what it set)."""
    if before is None and isinstance(after, dict):
        before = {}
    if after is None and isinstance(before, dict):
        after = {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before == after:
            return []
        return [
            Change(
                "",
                shown(before) if before is not None else None,
                shown(after) if after is not None else None,
            )
        ]
    out: list[Change] = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        out.append(
            Change(
                str(key),
                shown(old) if key in before else None,
                shown(new) if key in after else None,
            )
        )
    return out
