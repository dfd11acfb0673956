from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from identity.policy import needs_enrolment

# What a person who must enrol may still reach: the second-factor pages (and the password
# check allauth asks for before changing them), signing out, the language, static files
# and the probes.
_OPEN_PREFIXES = ("/auth/2fa/", "/auth/reauthenticate/", "/static/", "/i18n/", "/csp-report/")
_OPEN_PATHS = ("/logout/", "/auth/logout/", "/livez", "/readyz", "/healthz", "/metrics")


class SecondFactorEnrolmentMiddleware:
    """Confines a session whose role needs a second factor (MFA_REQUIRED_ROLES) to the
    enrolment pages until one is added: every console page and the Django admin redirect
    there, and the API signed in by session answers 403 (tokens are checked by DRF later and
    never reach this: `request.user` here is the session's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(_OPEN_PREFIXES) or path in _OPEN_PATHS:
            return self.get_response(request)
        if not needs_enrolment(request):
            return self.get_response(request)
        if path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Your role needs a second factor: set one up in the console.")},
                status=403,
            )
        messages.warning(request, _("Your role needs a second factor. Set one up to continue."))
        return redirect(reverse("mfa_index"))
