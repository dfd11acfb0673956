"""The callback URLs to register with the vendor, and what each has received
(`manage.py vendor_check`, docs/vendor.md "Authentication").

The seed's callbacks are "baseURL + uri": the vendor is given, per configuration id, our
public base (with the path token under `path-token`) followed by the seed's uri."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from webhooks.auth import configured_checks
from webhooks.authconfig import PATH_TOKEN_PREFIX
from webhooks.models import WebhookKind
from webhooks.receivers import PATHS

# The vendor's configuration id of each webhook (docs/webhooks.md).
CONFIGURATION_IDS: dict[str, str] = {
    WebhookKind.ONLINE_STATUS: "WA_SYNC_ON_OR_OFF_LINE_STATUS",
    WebhookKind.ACCOUNT_STATUS: "CHANNEL_SYNC_STATUS",
    WebhookKind.REGISTER_STATUS: "CHANNEL_REGISTER_STATUS",
    WebhookKind.QR_LOGIN_STATUS: "WA_SYNC_QR_LOGIN_STATUS",
    WebhookKind.SCAN_TASK_STATUS: "SCAN_TASK_STATUS_SYNC",
}


def callback_base() -> str:
    """The base URL to give the vendor: PUBLIC_BASE_URL, plus /hooks/<token> under
    path-token. It carries the token: show it to the operator, never on a page or in a log."""
    base = str(settings.PUBLIC_BASE_URL).rstrip("/")
    if "path-token" in configured_checks():
        base += f"/{PATH_TOKEN_PREFIX}/{settings.WEBHOOK_PATH_TOKEN}"
    return base


def callback_url(kind: str) -> str:
    return f"{callback_base()}/{PATHS[kind]}"


@dataclass(frozen=True)
class LastSeen:
    configuration_id: str
    accepted_at: datetime | None  # the last delivery stored in the inbox
    accepted_state: str
    refused_at: datetime | None  # the last delivery refused (quarantine)
    refused_reason: str


def last_seen() -> list[LastSeen]:
    from webhooks.selectors import last_delivery_by_kind

    out = []
    for kind, seen in last_delivery_by_kind().items():
        event, refused = seen["event"], seen["refused"]
        out.append(
            LastSeen(
                configuration_id=CONFIGURATION_IDS[kind],
                accepted_at=event.received_at if event else None,
                accepted_state=event.state if event else "",
                refused_at=refused.received_at if refused else None,
                refused_reason=f"{refused.auth_check}: {refused.reason}" if refused else "",
            )
        )
    return out
