"""Parsing of the webhook authentication settings; imported by config/settings.py, so it
imports nothing of Django."""

from __future__ import annotations

from collections.abc import Iterable

# The order they run in: the path token first (cheapest, and it names the receiver's URL),
# hmac last (it records the nonce).
CHECKS = ("path-token", "ip", "api-key", "hmac")
# The prefix of the receivers' URLs under path-token: /hooks/<WEBHOOK_PATH_TOKEN>/<seed uri>.
PATH_TOKEN_PREFIX = "hooks"


def parse_checks(raw: Iterable[str]) -> tuple[str, ...]:
    """The configured checks, validated (ValueError names an unknown one)."""
    checks = []
    for item in raw:
        name = item.strip().lower()
        if not name:
            continue
        if name not in CHECKS:
            raise ValueError(
                f"WEBHOOK_AUTH: unknown check {name!r} (use path-token, hmac, api-key, ip)"
            )
        if name not in checks:
            checks.append(name)
    return tuple(c for c in CHECKS if c in checks)
