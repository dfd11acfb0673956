from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy

from core.access import role_of
from core.forms import LoginForm


class SignInForm(LoginForm):
    """With single sign-on on, the password form is the break-glass door: only the roles in
    OIDC_PASSWORD_SIGNIN_ROLES (admins by default) may use it."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not settings.OIDC_ENABLED:
            return
        role = role_of(user)
        if role is None or role.value not in settings.OIDC_PASSWORD_SIGNIN_ROLES:
            raise forms.ValidationError(
                gettext_lazy("Sign in with %(provider)s: passwords are for admins only."),
                code="sso_only",
                params={"provider": settings.OIDC_PROVIDER_NAME},
            )


class SecondFactorForm(AuthenticateForm):
    """allauth's code form, closed while django-axes has the username locked: a correct code
    during the lockout does not sign in (wrong codes count as failures, identity/signals.py)."""

    def clean_code(self) -> str:
        request = context.request
        credentials = {"username": self.user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            request.axes_locked_out = True  # type: ignore[attr-defined]
            request.axes_credentials = credentials  # type: ignore[attr-defined]
            raise forms.ValidationError(gettext_lazy("Too many failed sign-ins."))
        return str(super().clean_code())


class TimeZoneForm(forms.Form):
    """The zone a person's pages, charts and exports show times in (docs/identity.md)."""

    # The zones' IANA names are names: not for a translator (translate="no").
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        widget=forms.Select(attrs={"translate": "no"}),
    )

    def __init__(self, *args: Any, browser_zone: str = "", **kwargs: Any) -> None:
        from core.zones import zone_choices

        super().__init__(*args, **kwargs)
        follow = (
            gettext_lazy("This browser's zone (%(zone)s now)") % {"zone": browser_zone}
            if browser_zone
            else gettext_lazy("This browser's zone")
        )
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", follow), *zone_choices()]
