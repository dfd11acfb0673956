"""The webhook receivers' deployment checks (read by core.checks through
WebhooksConfig.deployment_problems): a WEBHOOK_AUTH that is not empty, and real secrets for
every check it names: the path token, the HMAC secrets, the api keys (no placeholder, none
shorter than core.checks.MIN_SECRET_LENGTH)."""

from __future__ import annotations

from typing import Any

from core.checks import list_problems
from webhooks.authconfig import parse_checks


def deployment_problems(conf: Any) -> list[tuple[str, str]]:
    try:
        checks = parse_checks(conf.WEBHOOK_AUTH)
    except ValueError as exc:
        return [("webhooks.E105", str(exc))]
    if not checks:
        return [
            (
                "webhooks.E105",
                "WEBHOOK_AUTH is empty: anyone could post webhooks (use path-token, hmac, "
                "api-key, ip)",
            )
        ]
    problems: list[str] = []
    if "path-token" in checks:
        problems += list_problems("WEBHOOK_PATH_TOKEN", [conf.WEBHOOK_PATH_TOKEN])
    if "hmac" in checks:
        problems += list_problems("WEBHOOK_SECRETS", conf.WEBHOOK_SECRETS)
    if "api-key" in checks:
        problems += list_problems("WEBHOOK_API_KEYS", conf.WEBHOOK_API_KEYS)
    if "ip" in checks and not any(conf.WEBHOOK_ALLOWED_NETS):
        problems.append("WEBHOOK_AUTH has ip: WEBHOOK_ALLOWED_NETS is empty")
    return [("webhooks.E105", m) for m in problems]
