"""Production settings pass `check --deploy` with nothing silenced."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**extra: str) -> dict[str, str]:
    # A clean production environment: none of the test run's own relaxations.
    relaxations = ("SECURE_", "SESSION_", "CSRF_", "DJANGO_ALLOW_ASYNC")
    env = {k: v for k, v in os.environ.items() if not k.startswith(relaxations)}
    env.update(
        SWITCHBOARD_ENV="production",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="switchboard.example.com",
        UPSTREAM_API_KEY=secrets.token_urlsafe(32),
        UPSTREAM_API_SECRET=secrets.token_urlsafe(32),
        WEBHOOK_SECRETS=secrets.token_urlsafe(32),
        WEBHOOK_PATH_TOKEN=secrets.token_urlsafe(32),
        METRICS_TOKEN=secrets.token_urlsafe(32),
        CACHE_URL="rediscache://127.0.0.1:6379/15",
        UPSTREAM_TENANT_ID="700001",
    )
    env.update(extra)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_has_zero_warnings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_the_demo_secret_key() -> None:
    env = _production_env()
    env["SECRET_KEY"] = "insecure-demo-key-change-me-" + "x" * 30
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "real SECRET_KEY" in result.stderr


def test_production_cookies_are_secure() -> None:
    code = (
        "import django,os;django.setup();from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    env = _production_env(DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["True", "True", "True", "31536000"], result.stderr


# --- secrets -----------------------------------------------------------

SECRET_NAMES = (
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "UPSTREAM_API_KEY",
    "UPSTREAM_API_SECRET",
    "WEBHOOK_PATH_TOKEN",  # production's default WEBHOOK_AUTH is path-token
    "METRICS_TOKEN",
)


def test_production_refuses_to_start_with_demo_or_unset_secrets() -> None:
    env = _production_env(WEBHOOK_AUTH="path-token,hmac")
    names = (
        "WEBHOOK_SECRETS",
        "WEBHOOK_PATH_TOKEN",
        "UPSTREAM_API_SECRET",
        "UPSTREAM_API_KEY",
        "METRICS_TOKEN",
    )
    for name in names:
        env.pop(name)  # unset: the settings' demo defaults would apply
    result = _manage("check", env=env)
    assert result.returncode != 0
    for name in names:
        assert name in result.stderr, result.stderr
    assert "Production refuses to start" in result.stderr


def _env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def test_env_example_values_are_refused_in_production() -> None:
    # The tenant id is a number the operator fills in; the database is not contacted.
    example = {
        k: v for k, v in _env_example().items() if k not in ("DATABASE_URL", "UPSTREAM_TENANT_ID")
    }
    result = _manage("check", env=_production_env(**example))
    assert result.returncode != 0
    for name in SECRET_NAMES:
        assert name in result.stderr, (name, result.stderr)


def test_check_deploy_reports_each_weak_secret_outside_production() -> None:
    """`check --deploy` on a development configuration names every secret it would refuse."""
    env = _production_env(SWITCHBOARD_ENV="development", SECRET_KEY="short-but-real-01")
    for name in ("WEBHOOK_SECRETS", "UPSTREAM_API_SECRET", "UPSTREAM_API_KEY", "METRICS_TOKEN"):
        env[name] = ""
    env["FIELD_ENCRYPTION_KEYS"] = "ZGVtby1rZXktZG8tbm90LXVzZS1pbi1wcm9kdWN0aW8="
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    for code in ("core.E101", "core.E102", "core.E103", "core.E104", "webhooks.E105", "core.E106"):
        assert code in out, (code, out)
    assert "SECRET_KEY is shorter than 32 characters" in out


def test_secret_rules() -> None:
    from core.checks import secret_problem

    assert secret_problem("") == "is empty"
    assert secret_problem("demo-secret") == "is the shipped demo default"
    assert secret_problem("change-me-to-50-random-characters") == "is a placeholder"
    assert secret_problem("insecure-demo-key-change-me-" + "x" * 30) == "is a placeholder"
    assert secret_problem("a" * 40) is not None
    assert "shorter than 32" in (secret_problem(secrets.token_urlsafe(16)[:31]) or "")
    assert secret_problem(secrets.token_urlsafe(32)) is None


def test_webhook_secrets_are_only_required_with_hmac() -> None:
    env = _production_env(WEBHOOK_AUTH="api-key", WEBHOOK_API_KEYS=secrets.token_urlsafe(32))
    env["WEBHOOK_SECRETS"] = ""
    assert _manage("check", env=env).returncode == 0


def test_production_needs_a_shared_cache() -> None:
    result = _manage("check", env=_production_env(CACHE_URL="locmemcache://"))
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr


def test_demo_commands_refuse_production() -> None:
    env = _production_env()
    for command in (("demo_seed", "--users"), ("simulate_upstream", "--port", "0")):
        result = _manage(*command, env=env)
        assert result.returncode != 0
        assert "refuses to run in production" in result.stderr, result.stderr
