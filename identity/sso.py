"""Single sign-on with the company's OpenID Connect provider (django-allauth's
openid_connect provider, configured from the OIDC_* settings; off unless OIDC_ENABLED)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from core.audit import audit_record
from core.roles import Role

# Highest first: a person in several mapped groups gets the strongest role.
_ORDER = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)


def sso_app() -> Any:
    """The provider as allauth's SocialApp, built from the settings (no database row)."""
    from allauth.socialaccount.models import SocialApp

    return SocialApp(
        provider="openid_connect",
        provider_id=settings.OIDC_PROVIDER_ID,
        name=settings.OIDC_PROVIDER_NAME,
        client_id=settings.OIDC_CLIENT_ID,
        secret=settings.OIDC_CLIENT_SECRET,
        settings={
            "server_url": settings.OIDC_SERVER_URL,
            "scope": settings.OIDC_SCOPES,
            "oauth_pkce_enabled": True,
        },
    )


def groups_from_claims(claims: dict[str, Any]) -> set[str]:
    """The groups claim, from the userinfo answer or else the ID token."""
    name = settings.OIDC_GROUPS_CLAIM
    for part in ("userinfo", "id_token"):
        value = (claims.get(part) or {}).get(name)
        if value is not None:
            break
    else:
        value = claims.get(name)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(v) for v in value}
    return set()


def role_from_groups(groups: set[str]) -> Role | None:
    for role in _ORDER:
        if groups & set(settings.OIDC_ROLE_GROUPS.get(role.value, [])):
            return role
    return None


@transaction.atomic
def sso_role_apply(*, user: Any, claims: dict[str, Any]) -> Role | None:
    """Give `user` the role their groups map to (OIDC_ROLE_GROUPS), and only that one."""
    role = role_from_groups(groups_from_claims(claims))
    role_names = [r.value for r in _ORDER]
    before = sorted(user.groups.filter(name__in=role_names).values_list("name", flat=True))
    after = [role.value] if role else []
    if before != after:
        user.groups.remove(*Group.objects.filter(name__in=role_names))
        if role is not None:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        audit_record(
            actor=None,
            action="user.sso_role",
            target_type="user",
            target_id=str(user.pk),
            before={"roles": before},
            after={"roles": after, "user": user.get_username()},
        )
    return role
