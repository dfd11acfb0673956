"""Errors raised by the upstream door. Transient ones are retried by tasks; business
ones carry the plain-language message from the operation family's code table."""

from __future__ import annotations

from typing import Any

from core.tasks import TransientError


class UpstreamProblem(Exception):
    """Base class for everything the upstream door raises."""


class UpstreamUnavailable(UpstreamProblem, TransientError):
    """Transient: timeout, connection error, 5xx, a body that is not JSON, "system busy"
    or an unknown server-side envelope code, or an open circuit breaker. Safe to retry
    later (unless the call was not idempotent).

    `kind` says what happened: "timeout", "connection", "http_error" (with `http_status`),
    "busy" (an envelope code, see VendorBusy), "bad_response", "circuit_open"."""

    kind = "unavailable"
    http_status: int | None = None
    operation = ""

    def described(self, *, kind: str, operation: str, http_status: int | None = None) -> Any:
        self.kind, self.operation, self.http_status = kind, operation, http_status
        return self


class VendorBusy(UpstreamUnavailable):
    """The vendor answered with an envelope code that is transient for the operation's
    family: "system busy", or a server-side code no table documents. Retried with backoff."""

    kind = "busy"

    def __init__(self, code: int | str, message: str, *, operation: str = "") -> None:
        super().__init__(f"upstream {operation}: code {code}: {message}")
        self.code = code
        self.vendor_message = message
        self.operation = operation


class NotSent(UpstreamUnavailable):
    """The request certainly never reached the vendor (the connection was refused or never
    established, or the breaker held it back): safe to send again, even for an operation
    that is not idempotent. Every other UpstreamUnavailable may come after the vendor acted."""


class CircuitOpen(NotSent):
    """The breaker is open: the call was not sent."""


class SlowDown(NotSent):
    """The vendor answered 429 (nothing was done), or we are still waiting out its last
    Retry-After: send again after `retry_after` seconds. Not a breaker failure."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamError(UpstreamProblem):
    """The vendor answered with an envelope whose code is not 200."""

    def __init__(
        self, code: int | str, message: str, *, operation: str = "", vendor_message: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.operation = operation
        self.vendor_message = vendor_message

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"


# Calls that change something at the vendor: a timeout means "may have happened".
CHANGING_OPERATIONS = frozenset(
    {
        "submit_phone",
        "submit_verify_code",
        "pre_generate",
        "qr_task_create",
        "batch_add",
        "batch_online",
        "batch_insert",
        "batch_recycle",
        "on_line",
        "offline",
        "log_out",
        "update_avatar_or_nickname",
    }
)


def unavailable_message(exc: UpstreamUnavailable) -> str:
    """What happened, in plain words, for a transient failure: an answer with an error is
    not "no answer", and a call that changes something and timed out may have happened."""
    from django.utils.translation import gettext as _

    if isinstance(exc, SlowDown):  # the vendor's 429: its pause says how long
        from core.ratelimit import with_try_again

        return with_try_again(
            _("The vendor asked us to slow down. Nothing was sent."), exc.retry_after
        )
    if isinstance(exc, NotSent):
        if exc.kind == "circuit_open" or isinstance(exc, CircuitOpen):
            return _("The vendor is failing; calls are paused for a moment. Nothing was sent.")
        return _("The vendor could not be reached. Nothing was sent.")
    if isinstance(exc, VendorBusy):
        return _("The vendor answered that it is busy (code %(code)s: %(message)s).") % {
            "code": exc.code,
            "message": exc.vendor_message or "-",
        }
    if exc.kind == "http_error":
        return _("The vendor answered with an error (HTTP %(status)s).") % {
            "status": exc.http_status or "5xx"
        }
    if exc.kind == "bad_response":
        return _("The vendor answered with something that is not a valid reply.")
    if exc.operation in CHANGING_OPERATIONS:
        return _(
            "The vendor did not answer in time. The change may have happened: check before "
            "trying again."
        )
    return _("The vendor did not answer in time.")
