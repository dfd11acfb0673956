"""The webhook receivers' deployment checks (read by core.checks through
WebhooksConfig.deployment_problems): a valid WEBHOOK_AUTH, and real secrets when it
includes hmac."""

from __future__ import annotations

from typing import Any

from core.checks import list_problems
from webhooks.authconfig import parse_checks


def deployment_problems(conf: Any) -> list[tuple[str, str]]:
    try:
        checks = parse_checks(conf.WEBHOOK_AUTH)
    except ValueError as exc:
        return [("webhooks.E105", str(exc))]
    if "hmac" not in checks:
        return []
    return [("webhooks.E105", m) for m in list_problems("WEBHOOK_SECRETS", conf.WEBHOOK_SECRETS)]
