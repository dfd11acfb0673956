"""The qrlogin app's knobs: read from config/settings.py (each from the environment,
documented in deploy/env.example); tests shrink them through the settings fixture."""

from __future__ import annotations

from django.conf import settings


def qr_refresh_seconds() -> float:
    """How often the page fetches a fresh QR string from the vendor. A WhatsApp QR lives
    about 60 s, then about 20 s per refresh: 15 s renews it before it can expire."""
    return float(settings.QRLOGIN_QR_REFRESH_SECONDS)


def qr_max_age_seconds() -> float:
    """A code older than this is hidden in the browser even if no refresh arrived."""
    value = settings.QRLOGIN_QR_MAX_AGE_SECONDS
    return float(value) if value is not None else qr_refresh_seconds() + 5


def status_poll_seconds() -> float:
    """How often the page asks for the login result (the result must show within 1.5 s)."""
    # Half a second: the status answer is a cheap 204 until the result lands, and the
    # poll interval is most of the scan-to-screen latency.
    return float(settings.QRLOGIN_STATUS_POLL_SECONDS)


def lock_warning_seconds() -> float:
    """Ports whose lock ends within this window are listed as about to expire."""
    return float(settings.QRLOGIN_LOCK_WARNING_SECONDS)


def pair_targets_max_age_seconds() -> float:
    return float(settings.QRLOGIN_PAIR_TARGETS_MAX_AGE)


def quota_max_age_seconds() -> float:
    """The ports page refreshes quota and details in the background when older than this."""
    return float(settings.QRLOGIN_QUOTA_MAX_AGE)


def result_poll_seconds() -> float:
    """The first getQrCodeInfo look-up of a waiting session comes this long after the code
    was shown; each later one waits twice as long, up to `result_poll_max_seconds`."""
    return float(settings.QRLOGIN_RESULT_POLL_SECONDS)


def result_poll_max_seconds() -> float:
    return float(settings.QRLOGIN_RESULT_POLL_MAX_SECONDS)


def late_result_seconds() -> float:
    """After an expiry the result is still looked up for this long: a success reported
    late (by webhook or by look-up) still turns the session into a success."""
    return float(settings.QRLOGIN_LATE_RESULT_SECONDS)


def scan_task_poll_seconds() -> float:
    """The vendor's status log is read for an open PC scan task this often (doubling)."""
    return float(settings.QRLOGIN_SCAN_TASK_POLL_SECONDS)


def scan_task_watch_seconds() -> float:
    """How long after its creation a scan task is watched without its webhook."""
    return float(settings.QRLOGIN_SCAN_TASK_WATCH_SECONDS)
