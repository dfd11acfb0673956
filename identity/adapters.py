"""django-allauth's hooks: no self-service sign-up, client addresses through the trusted
proxies, and single sign-on users created with the role their groups map to."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

from core import crypto
from core.net import client_address
from identity.policy import mfa_required_for
from identity.sso import sso_app, sso_role_apply


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Local accounts are made by an admin (the Django admin, createsuperuser).
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_address(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # Single sign-on creates its users on their first sign-in.
        return bool(settings.OIDC_ENABLED)

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form)
        sso_role_apply(user=user, claims=sociallogin.account.extra_data)
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        # A returning user's role follows their groups at every sign-in.
        if sociallogin.is_existing:
            sso_role_apply(user=sociallogin.user, claims=sociallogin.account.extra_data)

    def list_apps(self, request: Any, provider: Any = None, client_id: Any = None) -> list[Any]:
        """The one provider, from the OIDC_* settings, when single sign-on is on."""
        if not settings.OIDC_ENABLED:
            return []
        app = sso_app()
        if provider not in (None, app.provider, app.provider_id):
            return []
        if client_id not in (None, app.client_id):
            return []
        return [app]


class MfaAdapter(DefaultMFAAdapter):
    """TOTP and recovery-code seeds are stored encrypted with FIELD_ENCRYPTION_KEYS (the
    same keys and rotation as every other secret at rest, core/crypto.py)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator: Any) -> bool:
        # A role that needs a second factor keeps at least one (besides recovery codes).
        from allauth.mfa.models import Authenticator

        user = authenticator.user
        if not mfa_required_for(user) or authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        others = Authenticator.objects.filter(user=user).exclude(pk=authenticator.pk)
        return others.exclude(type=Authenticator.Type.RECOVERY_CODES).exists()
