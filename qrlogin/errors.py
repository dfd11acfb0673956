"""Plain words for what can go wrong on the QR pages.

The QR family's envelope codes 1001-1004 (seed 000, "QR Code Error Information") are not
the sync reasons 1001-1004 carried by syncWhatsAppStatus; this module only knows the
former, plus the words for "the vendor did not answer".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from upstream.errors import UpstreamError, UpstreamProblem, UpstreamUnavailable, unavailable_message


@dataclass(frozen=True)
class ErrorHelp:
    code: str
    meaning: str | Promise
    todo: str | Promise


QR_ERROR_HELP: dict[str, ErrorHelp] = {
    "1001": ErrorHelp(
        "1001",
        _("Your cloud port quota is used up: every port you pay for is occupied."),
        _(
            "Log out or take offline an account you no longer need on the Ports page, "
            "wait for a locked port to be released (10 minutes), or ask for a larger quota."
        ),
    ),
    "1002": ErrorHelp(
        "1002",
        _("The port does not exist any more or has been released (its 10-minute lock ended)."),
        _("Start a new login: it locks a fresh port."),
    ),
    "1003": ErrorHelp(
        "1003",
        _("The vendor does not support the chosen type."),
        _("Choose PC or cloud PC and start again."),
    ),
    "1004": ErrorHelp(
        "1004",
        _("No pairing target is set for this login."),
        _("Choose a pairing target on the start page (ask a supervisor if the list is empty)."),
    ),
}

# An agent cannot open the Ports page: the quota message tells them whom to ask instead.
QUOTA_TODO_FOR_AGENTS = _(
    "Ask a supervisor to free a port or to raise the quota. A port locked for a login that "
    "nobody scanned is released after 10 minutes: you can also try again then."
)

UNAVAILABLE = _("The vendor did not answer in time. Nothing was changed: try again in a moment.")


def explain(exc: UpstreamProblem, *, manages_ports: bool = True) -> tuple[str, str]:
    """(code, plain words with what to do) for an upstream failure. Code is "" when the
    vendor did not answer. `manages_ports` False (an agent): the advice names no page the
    reader cannot open."""
    if isinstance(exc, UpstreamError):
        code = str(exc.code)
        if getattr(exc, "explained", False):  # already in plain words (ports.PortRefused)
            return code, str(exc.message)
        known = QR_ERROR_HELP.get(code)
        if known is not None:
            todo = known.todo if manages_ports or code != "1001" else QUOTA_TODO_FOR_AGENTS
            return code, f"{known.meaning} {todo}"
        return code, str(exc.message)
    if isinstance(exc, UpstreamUnavailable):
        return "", unavailable_message(exc)
    return "", str(UNAVAILABLE)
