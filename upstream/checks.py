"""The outbound authentication's deployment checks (read by core.checks through
UpstreamConfig.deployment_problems, id core.E108): a usable UPSTREAM_AUTH profile, static
headers without a placeholder, and a tenant that is set (never the seed's example by
default)."""

from __future__ import annotations

from typing import Any

from core.checks import KNOWN_DEFAULTS, PLACEHOLDER_MARKS
from upstream.signing import auth_problems, parse_static_headers, resolve_value


def upstream_auth_problems(conf: Any) -> list[str]:
    problems = auth_problems(conf)
    profile = str(getattr(conf, "UPSTREAM_AUTH", "hmac")).strip().lower()
    if not problems and profile == "headers":
        for name, value in parse_static_headers(conf.UPSTREAM_AUTH_HEADERS):
            resolved = resolve_value(value, conf).strip()
            lowered = resolved.lower()
            if not resolved:
                problems.append(f"UPSTREAM_AUTH_HEADERS {name} is empty")
            elif resolved in KNOWN_DEFAULTS or any(m in lowered for m in PLACEHOLDER_MARKS):
                problems.append(f"UPSTREAM_AUTH_HEADERS {name} is a placeholder")
    if not int(getattr(conf, "UPSTREAM_TENANT_ID", 0) or 0):
        problems.append("UPSTREAM_TENANT_ID is not set (the vendor gives it with the keys)")
    return problems


def deployment_problems(conf: Any) -> list[tuple[str, str]]:
    return [("core.E108", m) for m in upstream_auth_problems(conf)]
