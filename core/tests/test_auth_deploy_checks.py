"""Production refuses an empty WEBHOOK_AUTH, and placeholder or short keys in every mode of
both directions (docs/vendor.md, "Authentication"): the system checks `check --deploy` runs
and every production process runs at start."""

from __future__ import annotations

import secrets
import subprocess
import sys
from typing import Any

from django.conf import settings as django_settings

from core.checks import deployment_problems
from core.tests.test_deploy import ROOT, _manage, _production_env

GOOD = secrets.token_urlsafe(32)


def _messages(settings: Any, code: str) -> list[str]:
    return [m for c, m in deployment_problems(django_settings) if c == code]


def _real(settings: Any) -> None:
    settings.WEBHOOK_SECRETS = [secrets.token_urlsafe(32)]
    settings.WEBHOOK_PATH_TOKEN = secrets.token_urlsafe(32)
    settings.WEBHOOK_API_KEYS = [secrets.token_urlsafe(32)]
    settings.WEBHOOK_ALLOWED_NETS = ["10.0.0.0/8"]
    settings.UPSTREAM_AUTH = "hmac"
    settings.UPSTREAM_API_KEY = secrets.token_urlsafe(32)
    settings.UPSTREAM_TENANT_ID = 700001


def test_every_webhook_mode_refuses_placeholder_and_short_keys(settings: Any) -> None:
    _real(settings)
    settings.WEBHOOK_AUTH = ["path-token", "hmac", "api-key", "ip"]
    assert _messages(settings, "webhooks.E105") == []
    settings.WEBHOOK_AUTH = []
    assert "WEBHOOK_AUTH is empty" in _messages(settings, "webhooks.E105")[0]

    settings.WEBHOOK_AUTH = ["path-token"]
    for value, why in (
        ("", "is empty"),
        ("changeme", "is a placeholder"),
        ("change-me-" + "q" * 40, "is a placeholder"),
        (secrets.token_urlsafe(16)[:20], "is shorter than 32 characters"),
    ):
        settings.WEBHOOK_PATH_TOKEN = value
        assert _messages(settings, "webhooks.E105") == [f"WEBHOOK_PATH_TOKEN {why}"], value
    settings.WEBHOOK_PATH_TOKEN = GOOD

    settings.WEBHOOK_AUTH = ["api-key"]
    settings.WEBHOOK_API_KEYS = ["changeme"]
    assert _messages(settings, "webhooks.E105") == ["WEBHOOK_API_KEYS is a placeholder"]
    settings.WEBHOOK_API_KEYS = ["short-key-12"]
    assert "shorter than 32" in _messages(settings, "webhooks.E105")[0]

    settings.WEBHOOK_AUTH = ["hmac"]
    settings.WEBHOOK_SECRETS = ["demo-secret"]
    assert _messages(settings, "webhooks.E105") == ["WEBHOOK_SECRETS is the shipped demo default"]


def test_the_outbound_profile_and_tenant_are_checked(settings: Any) -> None:
    _real(settings)
    assert _messages(settings, "core.E108") == []
    settings.UPSTREAM_TENANT_ID = 0
    assert _messages(settings, "core.E108") == [
        "UPSTREAM_TENANT_ID is not set (the vendor gives it with the keys)"
    ]
    settings.UPSTREAM_TENANT_ID = 700001
    settings.UPSTREAM_AUTH = "oauth"
    assert "UPSTREAM_AUTH 'oauth' is not one of none, headers, hmac" in _messages(
        settings, "core.E108"
    )
    settings.UPSTREAM_AUTH = "headers"
    settings.UPSTREAM_AUTH_HEADERS = ""
    assert "set UPSTREAM_AUTH_HEADERS" in _messages(settings, "core.E108")[0]
    settings.UPSTREAM_AUTH_HEADERS = "appKey=changeme;tenantId={UPSTREAM_TENANT_ID}"
    assert _messages(settings, "core.E108") == ["UPSTREAM_AUTH_HEADERS appKey is a placeholder"]
    settings.UPSTREAM_AUTH_HEADERS = "appKey={UPSTREAM_API_KEY};tenantId={UPSTREAM_TENANT_ID}"
    assert _messages(settings, "core.E108") == []
    # Only hmac signs with the secret: the headers profile does not need one.
    settings.UPSTREAM_API_SECRET = ""
    assert _messages(settings, "core.E104") == []
    settings.UPSTREAM_AUTH = "hmac"
    assert _messages(settings, "core.E104") == ["UPSTREAM_API_SECRET is empty"]
    settings.UPSTREAM_HMAC_DIGEST = "md5"
    assert "UPSTREAM_HMAC_DIGEST" in _messages(settings, "core.E108")[0]


def _setting(env: dict[str, str], expression: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            # The settings module alone: a production setup would refuse to start.
            f"from config import settings; print({expression})",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout.strip() + result.stderr


def test_production_defaults_and_refusal_at_start() -> None:
    env = _production_env()
    for name in ("UPSTREAM_TENANT_ID", "WEBHOOK_PATH_TOKEN", "WEBHOOK_AUTH"):
        env.pop(name, None)
    # Not the seed's example tenant, and path-token, by default in production.
    assert _setting(env, "settings.UPSTREAM_TENANT_ID, settings.WEBHOOK_AUTH").startswith(
        "0 ['path-token']"
    )
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "Production refuses to start" in result.stderr
    assert "WEBHOOK_PATH_TOKEN is empty" in result.stderr
    assert "UPSTREAM_TENANT_ID is not set" in result.stderr
    fine = _manage("check", "--deploy", env=_production_env())
    assert fine.returncode == 0, fine.stderr
