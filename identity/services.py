from __future__ import annotations

from typing import Any

from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.http import HttpRequest

from core.audit import audit_record
from core.models import ApiToken
from core.tokens import api_token_revoke


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
