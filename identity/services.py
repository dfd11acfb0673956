from __future__ import annotations

from typing import Any

from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.http import HttpRequest

from core import grants
from core.audit import audit_record
from core.models import ApiToken, Preferences
from core.tokens import api_token_revoke
from core.zones import zone_valid


def sign_out_everywhere(*, request: HttpRequest, user: Any, revoke_tokens: bool) -> int:
    """End every signed-in session of `user` (this one too) and, if asked, revoke their API
    tokens. Returns how many sessions ended."""
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    revoked = 0
    if revoke_tokens:
        for token in ApiToken.objects.filter(user=user).select_related("user"):
            api_token_revoke(token=token, actor=user)
            revoked += 1
    audit_record(
        actor=user,
        action="user.sign_out_everywhere",
        target_type="user",
        target_id=str(user.pk),
        after={"sessions": len(sessions), "tokens_revoked": revoked},
    )
    logout(request)
    return len(sessions)


def time_zone_set(*, user: Any, time_zone: str) -> Preferences:
    """Set the zone `user`'s pages show times in; empty: their browser's (core.zones)."""
    if time_zone and not zone_valid(time_zone):
        raise ValueError(f"unknown time zone {time_zone!r}")
    prefs, _ = Preferences.objects.get_or_create(user=user)
    before = prefs.time_zone
    if before != time_zone:
        prefs.time_zone = time_zone
        prefs.save(update_fields=["time_zone"])
        audit_record(
            actor=user,
            action="user.time_zone",
            target_type="user",
            target_id=str(user.pk),
            before={"time_zone": before},
            after={"time_zone": time_zone},
        )
    grants.forget(user)
    return prefs
