"""Errors raised by the upstream door. Transient ones are retried by tasks; business
ones carry the plain-language message from the operation family's code table."""

from __future__ import annotations


class UpstreamProblem(Exception):
    """Base class for everything the upstream door raises."""


class UpstreamUnavailable(UpstreamProblem):
    """Transient: timeout, connection error, 5xx, a body that is not JSON, or an open
    circuit breaker. Safe to retry later (unless the call was not idempotent)."""


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
