"""The ports app's knobs: read from config/settings.py (each from the environment,
documented in deploy/env.example); tests shrink them through the settings fixture."""

from __future__ import annotations

from django.conf import settings


def lock_seconds() -> float:
    """How long preGenerate locks a port (seed: 10 minutes)."""
    return float(settings.QRLOGIN_LOCK_SECONDS)
