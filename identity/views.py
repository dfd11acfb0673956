from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from allauth.account.internal.flows.login import perform_login, record_authentication
from allauth.account.models import Login
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import grants
from core.access import require_login
from core.models import ApiToken
from core.types import AuthedRequest
from core.zones import BROWSER_ZONE_COOKIE, zone_valid
from identity.forms import SignInForm, TimeZoneForm
from identity.services import sign_out_everywhere, time_zone_set


class SignInView(auth_views.LoginView):
    """Django's password form (django-axes counts its failures), then allauth's sign-in
    stages: the second factor when the person has one."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if settings.OIDC_ENABLED:
            context["sso_name"] = settings.OIDC_PROVIDER_NAME
            context["sso_url"] = reverse(
                "openid_connect_login", kwargs={"provider_id": settings.OIDC_PROVIDER_ID}
            )
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        if settings.OIDC_ENABLED:
            # The SSO button's form is answered with a redirect to the provider, which the
            # page's CSP form-action must allow.
            parts = urlsplit(settings.OIDC_SERVER_URL)
            response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}  # type: ignore[attr-defined]
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        # As allauth's own password form does, the password is recorded as this session's
        # authentication, then the stages run. A password typed just now also counts as the
        # fresh one allauth asks for before the second factor is changed (for
        # ACCOUNT_REAUTHENTICATION_TIMEOUT): forced enrolment follows sign-in directly.
        user = form.get_user()
        record_authentication(
            self.request,
            user,
            method="password",
            username=user.get_username(),
            reauthenticated=True,
        )
        login = Login(user=user, email_verification="none", redirect_url=self.get_success_url())
        return perform_login(self.request, login)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin signs in through the console's sign-in (and its second factor). A
    signed-in person who is not staff sees the admin's own "not authorized" page; its form
    never signs anyone in (a POST goes to the console's sign-in)."""
    if request.method == "GET" and request.user.is_authenticated:
        return admin.site.login(request)
    query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
    return HttpResponseRedirect(f"{reverse('login')}?{query}")


@require_login
def security(request: AuthedRequest) -> HttpResponse:
    sessions = UserSession.objects.purge_and_list(request.user)
    return render(
        request,
        "identity/security.html",
        {
            "sessions": sessions,
            "tokens": ApiToken.objects.filter(user=request.user),
            "zone_form": _zone_form(request),
        },
    )


def _zone_form(request: AuthedRequest, data: Any = None) -> TimeZoneForm:
    browser = unquote(request.COOKIES.get(BROWSER_ZONE_COOKIE, ""))
    return TimeZoneForm(
        data,
        initial={"time_zone": grants.time_zone(request.user)},
        browser_zone=browser if zone_valid(browser) else "",
    )


@require_login
@require_POST
def security_time_zone(request: AuthedRequest) -> HttpResponse:
    form = _zone_form(request, request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a time zone from the list."))
        return redirect("security")
    prefs = time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
    if prefs.time_zone:
        messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": prefs.time_zone})
    else:
        messages.success(request, _("Times are now shown in this browser's zone."))
    return redirect(f"{reverse('security')}#time-zone")


@require_login
@require_POST
def security_sign_out_everywhere(request: AuthedRequest) -> HttpResponse:
    revoke_tokens = request.POST.get("tokens") == "revoke"
    sign_out_everywhere(request=request, user=request.user, revoke_tokens=revoke_tokens)
    messages.success(request, _("You were signed out everywhere."))
    return redirect("login")
