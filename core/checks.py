"""Deployment checks on secrets and shared services.

`check --deploy` runs them (as Django system checks, ids `core.E1xx`), and so does every
process that starts with `SWITCHBOARD_ENV=production` (`CoreConfig.ready`): a production
process with a default, placeholder, empty or short secret refuses to start.

A domain app adds its own by defining `deployment_problems(self, conf)` on its AppConfig
(webhooks: its authentication secrets), so core imports none of them. An AppConfig method
rather than a registry: CoreConfig.ready runs before the other apps' ready().
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_LENGTH = 32

# Values shipped as defaults (settings.py) or in deploy/env.example.
KNOWN_DEFAULTS = frozenset(
    {
        "demo-key",
        "demo-secret",
        "ZGVtby1rZXktZG8tbm90LXVzZS1pbi1wcm9kdWN0aW8=",  # the demo Fernet key
    }
)
# Words that mark a placeholder ("change-me-to-50-random-characters", "insecure-demo-key...").
PLACEHOLDER_MARKS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replace_me",
    "placeholder",
    "insecure",
    "example",
    "demo-",
    "your-",
    "<",
    "xxxxxxxx",
)
# Caches whose entries one process cannot see from another (nonces, rate limits, breaker).
UNSHARED_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def secret_problem(value: str) -> str | None:
    """Why `value` is not a usable secret, or None."""
    text = (value or "").strip()
    if not text:
        return "is empty"
    if text in KNOWN_DEFAULTS:
        return "is the shipped demo default"
    lowered = text.lower()
    if any(mark in lowered for mark in PLACEHOLDER_MARKS):
        return "is a placeholder"
    if len(text) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(text)) < 8:
        return "repeats too few characters to be random"
    return None


def list_problems(name: str, values: Iterable[str]) -> list[str]:
    values = [v for v in values if v is not None]
    if not any((v or "").strip() for v in values):
        return [f"{name} is empty"]
    out = []
    for i, value in enumerate(values):
        why = secret_problem(value)
        if why:
            out.append(f"{name} (item {i + 1}) {why}" if len(values) > 1 else f"{name} {why}")
    return out


def deployment_problems(conf: Any = settings) -> list[tuple[str, str]]:
    """(check id, message) for every unusable secret or unshared service in `conf`."""
    problems: list[tuple[str, str]] = []

    def add(code: str, messages: list[str]) -> None:
        problems.extend((code, m) for m in messages)

    for code, name in (
        ("core.E101", "SECRET_KEY"),
        ("core.E103", "UPSTREAM_API_KEY"),
        ("core.E104", "UPSTREAM_API_SECRET"),
        ("core.E106", "METRICS_TOKEN"),
    ):
        if name == "UPSTREAM_API_SECRET" and _upstream_auth(conf) != "hmac":
            continue  # only the hmac profile signs with it
        why = secret_problem(str(getattr(conf, name) or ""))
        if why:
            add(code, [f"{name} {why}"])
    add("core.E102", list_problems("FIELD_ENCRYPTION_KEYS", conf.FIELD_ENCRYPTION_KEYS))
    backend = str(conf.CACHES.get("default", {}).get("BACKEND", ""))
    if backend in UNSHARED_CACHES or "filebased" in backend:
        add(
            "core.E107",
            [
                f"CACHE_URL: {backend.rsplit('.', 1)[-1]} is not shared between processes "
                "and hosts; webhook nonces, rate limits and the vendor breaker need Redis "
                "(rediscache://)"
            ],
        )
    for app_config in apps.get_app_configs():
        contributed = getattr(app_config, "deployment_problems", None)
        if contributed is not None:
            problems.extend(contributed(conf))
    return problems


def _upstream_auth(conf: Any) -> str:
    return str(getattr(conf, "UPSTREAM_AUTH", "hmac")).strip().lower()


@register(Tags.security, deploy=True)
def secrets_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [Error(message, hint=_hint(code), id=code) for code, message in deployment_problems()]


def _hint(code: str) -> str:
    if code == "core.E107":
        return "Set CACHE_URL to a Redis URL."
    if code == "core.E108":  # upstream/checks.py: the outbound authentication
        return "See docs/vendor.md, Authentication; manage.py vendor_check says what to set."
    return (
        f"Set it in the environment to a random value of at least {MIN_SECRET_LENGTH} "
        "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))' "
        "(FIELD_ENCRYPTION_KEYS: a Fernet key)."
    )


def refuse_to_start_if_unsafe() -> None:
    """Production processes (web, workers, beat, commands) start only with real secrets."""
    if not settings.PRODUCTION:
        return
    problems = deployment_problems()
    if problems:
        listed = "; ".join(message for _code, message in problems)
        raise ImproperlyConfigured(f"Production refuses to start: {listed}.")
