"""Who must have a second factor, and whether this session has what its role needs.

`MFA_REQUIRED_ROLES` (admin and supervisor by default) forces enrolment: a person of such a
role with no authenticator is confined to the second-factor pages until they add one. A
person who has one cannot get a session without it (allauth's sign-in stage asks for it), so
the only case to hold back is the one with none yet.
"""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest

from core.access import role_of

# Set in the session once the user has an authenticator, so the check costs no query after.
ENROLLED_KEY = "_sb_mfa_enrolled"


def mfa_required_for(user: Any) -> bool:
    role = role_of(user)
    return role is not None and role.value in settings.MFA_REQUIRED_ROLES


def signed_in_by_sso(request: HttpRequest) -> bool:
    records = get_authentication_records(request, getattr(request, "user", None))
    return any(r.get("method") == "socialaccount" for r in records)


def needs_enrolment(request: HttpRequest) -> bool:
    """The signed-in person's role needs a second factor and they have none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    session = request.session
    if session.get(ENROLLED_KEY):
        return False
    if not mfa_required_for(user):
        return False
    # The company's provider enforces its own second factor (OIDC_SATISFIES_MFA).
    if settings.OIDC_SATISFIES_MFA and signed_in_by_sso(request):
        return False
    if is_mfa_enabled(user):
        session[ENROLLED_KEY] = True
        return False
    return True
