"""Parsing of the webhook authentication settings; imported by config/settings.py, so it
imports nothing of Django."""

from __future__ import annotations

from collections.abc import Iterable

CHECKS = ("ip", "api-key", "hmac")  # the order they run in (hmac last: it records the nonce)


def parse_checks(raw: Iterable[str]) -> tuple[str, ...]:
    """The configured checks, validated (ValueError names an unknown one)."""
    checks = []
    for item in raw:
        name = item.strip().lower()
        if not name:
            continue
        if name not in CHECKS:
            raise ValueError(f"WEBHOOK_AUTH: unknown check {name!r} (use hmac, api-key, ip)")
        if name not in checks:
            checks.append(name)
    return tuple(c for c in CHECKS if c in checks)
