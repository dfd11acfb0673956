"""The qrlogin app's knobs, read from Django settings with these defaults (tests shrink
them; config/settings.py need not know them)."""

from __future__ import annotations

from django.conf import settings


def lock_seconds() -> float:
    """How long preGenerate locks a port (seed: 10 minutes)."""
    return float(getattr(settings, "QRLOGIN_LOCK_SECONDS", 600))


def qr_refresh_seconds() -> float:
    """How often the page fetches a fresh QR string from the vendor. A WhatsApp QR lives
    about 60 s, then about 20 s per refresh: 15 s renews it before it can expire."""
    return float(getattr(settings, "QRLOGIN_QR_REFRESH_SECONDS", 15))


def qr_max_age_seconds() -> float:
    """A code older than this is hidden in the browser even if no refresh arrived."""
    return float(getattr(settings, "QRLOGIN_QR_MAX_AGE_SECONDS", qr_refresh_seconds() + 5))


def status_poll_seconds() -> float:
    """How often the page asks for the login result (the result must show within 1.5 s)."""
    # Half a second: the status answer is a cheap 204 until the result lands, and the
    # poll interval is most of the scan-to-screen latency.
    return float(getattr(settings, "QRLOGIN_STATUS_POLL_SECONDS", 0.5))


def lock_warning_seconds() -> float:
    """Ports whose lock ends within this window are listed as about to expire."""
    return float(getattr(settings, "QRLOGIN_LOCK_WARNING_SECONDS", 180))


def pair_targets_max_age_seconds() -> float:
    return float(getattr(settings, "QRLOGIN_PAIR_TARGETS_MAX_AGE", 3600))


def quota_max_age_seconds() -> float:
    """The ports page refreshes quota and details in the background when older than this."""
    return float(getattr(settings, "QRLOGIN_QUOTA_MAX_AGE", 60))
