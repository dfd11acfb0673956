"""Roles (docs/design.md section 6) as Django groups holding custom permissions.

Views and APIs never test group names: they ask for a capability through
`core.access`. This module is the single table of who may do what.
"""

from __future__ import annotations

import enum
from typing import Any

from django.utils.translation import gettext_lazy


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


# As a person reads it (the menu bar, error pages), in their language.
ROLE_LABELS = {
    Role.ADMIN: gettext_lazy("admin"),
    Role.SUPERVISOR: gettext_lazy("supervisor"),
    Role.AGENT: gettext_lazy("agent"),
}


class Cap(enum.StrEnum):
    """Capabilities. Values are permission codenames on `core.Capability`."""

    MANAGE_ACCOUNTS = "manage_accounts"  # import, online, recycle, register, avatar/nickname
    MANAGE_PORTS = "manage_ports"
    MANAGE_ACTIONS = "manage_actions"  # everyone's actions
    VIEW_AGENTS = "view_agents"
    VIEW_LOGS = "view_logs"
    QR_LOGIN = "qr_login"  # QR / pair-code login and scan tasks (own, for agents)
    OWN_ACTIONS = "own_actions"  # queue and see one's own actions
    VIEW_INBOX = "view_inbox"  # webhook inbox, replays
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    VIEW_EVENTS = "view_events"  # read event subscriptions (secrets masked), delivery log
    MANAGE_EVENTS = "manage_events"  # add, change, delete subscriptions; redeliver
    MANAGE_ALERTS = "manage_alerts"  # alert channels and rules; alerts in the console


CAPABILITY_LABELS: dict[Cap, str] = {
    Cap.MANAGE_ACCOUNTS: "Manage WhatsApp accounts",
    Cap.MANAGE_PORTS: "Manage cloud ports",
    Cap.MANAGE_ACTIONS: "Manage everyone's open-chat actions",
    Cap.VIEW_AGENTS: "View agents",
    Cap.VIEW_LOGS: "View status logs",
    Cap.QR_LOGIN: "Log accounts in by QR or pair code",
    Cap.OWN_ACTIONS: "Queue own open-chat actions",
    Cap.VIEW_INBOX: "View and replay the webhook inbox",
    Cap.VIEW_AUDIT: "View the audit log",
    Cap.MANAGE_USERS: "Manage users",
    Cap.VIEW_EVENTS: "View event subscriptions",
    Cap.MANAGE_EVENTS: "Manage event subscriptions",
    Cap.MANAGE_ALERTS: "Manage alert channels and rules",
}

ROLE_CAPS: dict[Role, frozenset[Cap]] = {
    Role.ADMIN: frozenset(Cap),
    Role.SUPERVISOR: frozenset(
        {
            Cap.MANAGE_ACCOUNTS,
            Cap.MANAGE_PORTS,
            Cap.MANAGE_ACTIONS,
            Cap.VIEW_AGENTS,
            Cap.VIEW_LOGS,
            Cap.QR_LOGIN,
            Cap.OWN_ACTIONS,
            Cap.MANAGE_ALERTS,
            Cap.VIEW_EVENTS,
        }
    ),
    Role.AGENT: frozenset({Cap.QR_LOGIN, Cap.OWN_ACTIONS}),
}

# What a capability lets one do, as a refusal names it ("Only an admin can %(what)s.").
CAP_ACTIONS: dict[Cap, Any] = {
    Cap.MANAGE_ACCOUNTS: gettext_lazy("manage WhatsApp accounts"),
    Cap.MANAGE_PORTS: gettext_lazy("manage cloud ports"),
    Cap.MANAGE_ACTIONS: gettext_lazy("manage everyone's open-chat actions"),
    Cap.VIEW_AGENTS: gettext_lazy("see the agents"),
    Cap.VIEW_LOGS: gettext_lazy("see the status logs"),
    Cap.QR_LOGIN: gettext_lazy("log accounts in by QR or pair code"),
    Cap.OWN_ACTIONS: gettext_lazy("queue open-chat actions"),
    Cap.VIEW_INBOX: gettext_lazy("see and replay the webhook inbox"),
    Cap.VIEW_AUDIT: gettext_lazy("see the audit log"),
    Cap.MANAGE_USERS: gettext_lazy("manage users"),
    Cap.VIEW_EVENTS: gettext_lazy("see event subscriptions"),
    Cap.MANAGE_EVENTS: gettext_lazy("change event subscriptions"),
    Cap.MANAGE_ALERTS: gettext_lazy("manage alert channels and rules"),
}
