"""Parsing of the webhook authentication settings; imported by config/settings.py, so it
imports nothing of Django."""

from __future__ import annotations

import ipaddress
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


def parse_nets(
    raw: Iterable[str], setting: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in raw:
        text = item.strip()
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{setting}: {text!r} is not an address or network") from None
    return tuple(nets)
