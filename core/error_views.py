"""403, 404 and 500 as pages in the site's layout: navigation, a reason and a way back.
Wired as handler403/404/500 in config/urls.py (Django uses them when DEBUG is off)."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from core.access import RolesThatCan, role_of
from core.roles import ROLE_LABELS

log = logging.getLogger(__name__)
request_log = logging.getLogger("django.request")
TEMPLATE = "errors/error.html"


def _back_url(request: HttpRequest) -> str:
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return ""


def _page(request: HttpRequest, status: int, context: dict[str, Any]) -> HttpResponse:
    context = {"status": status, "back_url": _back_url(request), **context}
    try:
        body = render_to_string(TEMPLATE, context, request=request)
    except Exception:  # the layout itself failed (e.g. the database is down): no nav
        log.exception("error page %s rendered without the request context", status)
        body = render_to_string(TEMPLATE, context)
    return HttpResponse(body, status=status)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reading = request.method in ("GET", "HEAD")
    role = role_of(getattr(request, "user", None))
    if role is not None and reading:
        reason = _("Your role (%(role)s) does not give access to this page.") % {
            "role": ROLE_LABELS[role]
        }
    elif role is not None:
        reason = _("Your role (%(role)s) does not allow this change.") % {"role": ROLE_LABELS[role]}
    else:
        reason = _("Your sign-in does not give access to this page.")
    # The roles that may do it, when the refusal says (core.access.require): named with
    # what they can do, so nobody is told to ask someone of their own role.
    can = next((a for a in getattr(exception, "args", ()) if isinstance(a, RolesThatCan)), None)
    if can:
        hint = _("%(who_can)s Ask one if you need it for your work.") % {"who_can": can.sentence()}
    else:
        hint = _("If you need it for your work, ask a supervisor or an administrator.")
    title = _("You cannot open this page") if reading else _("You cannot do this")
    response = _page(request, 403, {"title": title, "reason": reason, "hint": hint})
    _log_refusal(request, role, can, response)
    return response


def _log_refusal(
    request: HttpRequest, role: Any, can: RolesThatCan | None, response: HttpResponse
) -> None:
    """A refusal is an expected answer: one line (method, path, who, the roles that can)
    instead of Django's warning with the PermissionDenied's traceback, which it skips for a
    response marked as logged (django.utils.log.log_response)."""
    user = getattr(request, "user", None)
    who = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    needs = ", ".join(str(r) for r in can) if can else "another sign-in"
    request_log.warning(
        "Forbidden: %s %s by %s (%s); needs %s",
        request.method,
        request.path,
        who,
        role or "no role",
        needs,
        extra={"status_code": 403, "request": request},
    )
    response._has_been_logged = True  # type: ignore[attr-defined]


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        404,
        {
            "title": _("Page not found"),
            "reason": _(
                "Nothing is here: the address may be mistyped, or what it showed was removed "
                "or is not visible to you."
            ),
            "hint": _("Check the address, or start again from the home page."),
        },
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        500,
        {
            "title": _("Something went wrong"),
            "reason": _(
                "The server could not show this page. The error has been logged; nothing you "
                "entered has been lost if the form says so."
            ),
            "hint": _("Try again in a moment. If it keeps happening, tell an administrator."),
        },
    )
