"""django-allauth registers its models in the Django admin; here only one is kept, audited.

An admin may remove a person's second factor (lost phone and recovery codes): the person is
asked to enrol again at their next sign-in (MFA_REQUIRED_ROLES). Nothing else is edited
there: authenticators hold secrets (never shown: only who, which kind, when), social tokens
too, the OpenID Connect client comes from the OIDC_* settings (docs/identity.md), and people
manage their own sessions and factors on the Security page."""

from __future__ import annotations

import contextlib
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.usersessions.models import UserSession
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.http import HttpRequest

from core.admin import AuditedAdmin

for model in (EmailAddress, Authenticator, SocialApp, SocialToken, SocialAccount, UserSession):
    with contextlib.suppress(NotRegistered):
        admin.site.unregister(model)


@admin.register(Authenticator)
class AuthenticatorAdmin(AuditedAdmin):
    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    search_fields = ("user__username",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields
    audit_fields = ("user", "type", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
