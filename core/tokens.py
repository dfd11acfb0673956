"""API tokens: create (key shown once), authenticate by digest, revoke."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from core.audit import audit_record
from core.models import ApiToken


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_mark(user: User) -> str:
    """Changes whenever the user's password changes (Django's session auth hash is an HMAC
    of the password hash); stored hashed again, never the hash itself."""
    return hashlib.sha256(user.get_session_auth_hash().encode()).hexdigest()


@functools.cache
def api_resources() -> tuple[str, ...]:
    """The API's resources a token can be limited to: the first path segment of every route
    under /api/v1/ (config/api_urls.py), so a new resource is offered when it is routed.
    Read from the project's URLs as routed: core imports no layer above it."""
    found: set[str] = set()
    prefix = _API_PREFIX.lstrip("/")

    def walk(patterns: list[Any], route_so_far: str) -> None:
        for p in patterns:
            route = route_so_far + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith(prefix):
                rest = route[len(prefix) :]
                if rest and rest[0].isalpha():
                    found.add(rest.split("/", 1)[0])

    walk(get_resolver().url_patterns, "")
    found.discard("me")  # who the token is: always readable
    return tuple(sorted(found))


_API_PREFIX = "/api/v1/"
# Readable with any token whatever its resources: who it is, and the API's own description.
_ALWAYS = frozenset({"me", "schema", "docs"})


def token_allows(token: ApiToken, *, method: str, path: str) -> bool:
    """Whether a narrowed token may make this request."""
    if token.read_only and method.upper() not in SAFE_METHODS:
        return False
    if token.resources and path.startswith(_API_PREFIX):
        resource = path[len(_API_PREFIX) :].split("/", 1)[0]
        if resource not in _ALWAYS and resource not in token.resources:
            return False
    return True


def api_token_create(
    *,
    user: User,
    name: str,
    actor: Any = None,
    expires_at: datetime | None = None,
    read_only: bool = False,
    resources: list[str] | None = None,
) -> tuple[ApiToken, str]:
    """A new token; its key is returned once. `resources` must be among `api_resources()`."""
    unknown = sorted(set(resources or []) - set(api_resources()))
    if unknown:
        raise ValueError(f"unknown API resources: {', '.join(unknown)}")
    key = secrets.token_hex(20)
    max_age = settings.API_TOKEN_MAX_AGE_DAYS
    if expires_at is None and max_age > 0:
        expires_at = timezone.now() + timedelta(days=max_age)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "token",
        digest=_digest(key),
        prefix=key[:8],
        expires_at=expires_at,
        password_mark=password_mark(user),
        read_only=read_only,
        resources=sorted(set(resources or [])),
    )
    audit_record(
        actor=actor or user,
        action="token.create",
        target_type="api_token",
        target_id=str(token.pk),
        after={
            "user": user.get_username(),
            "name": token.name,
            "prefix": token.prefix,
            "scope": token.scope,
            "resources": token.resources,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: Any) -> None:
    before = {"user": token.user.get_username(), "name": token.name, "prefix": token.prefix}
    token_id = token.pk
    token.delete()
    audit_record(
        actor=actor,
        action="token.revoke",
        target_type="api_token",
        target_id=str(token_id),
        before=before,
    )


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`, as DRF's, against the stored digest."""

    keyword = "Token"

    def authenticate(self, request: Any) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("Token expired.")
        if token.password_mark != password_mark(token.user):
            if token.password_mark:  # the password changed since: the token is revoked
                api_token_revoke(token=token, actor=None)
                raise exceptions.AuthenticationFailed("Invalid token.")
            ApiToken.objects.filter(pk=token.pk).update(password_mark=password_mark(token.user))
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        if not token_allows(token, method=request.method, path=request.path):
            # 403, not 401: the token is good, this request is outside its scope.
            raise exceptions.PermissionDenied("This token's scope does not allow this request.")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
