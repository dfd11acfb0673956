"""The account-scoped access helpers (core/access.py holds the generic ones and imports no
app): who the signed-in agent is, and which accounts a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Agent, WhatsAppAccount
from core.access import can, signed_in, visible
from core.roles import Cap

SCOPE_ATTR = "_sb_scope_key"  # a scoped queryset's name (a filtered copy has none)


def agent_for_user(user: Any) -> Agent | None:
    if not signed_in(user):
        return None
    return Agent.objects.filter(user=user).first()


def all_accounts() -> QuerySet[WhatsAppAccount]:
    """Every account, named as the whole fleet's scope (as a supervisor's below)."""
    qs = WhatsAppAccount.objects.all()
    setattr(qs, SCOPE_ATTR, "all")
    return qs


def accounts_visible_to(user: Any) -> QuerySet[WhatsAppAccount]:
    """The accounts `user` may see, named by their scope (the cached figures' key,
    accounts.selectors._scope_key): the whole fleet, nobody's, or the user's own (the
    accounts of the agent row linked to them: WhatsAppAccount.owned_by), so naming it
    costs no compiling of its SQL."""
    qs = visible(user, WhatsAppAccount.objects.all())
    if can(user, Cap.MANAGE_ACCOUNTS):  # core.access.visible: every account
        scope = "all"
    elif not signed_in(user):
        scope = "none"
    else:
        scope = f"owner:{user.pk}"
    setattr(qs, SCOPE_ATTR, scope)
    return qs


def get_account_for_user(user: Any, whatsapp: str) -> WhatsAppAccount:
    account = accounts_visible_to(user).filter(whatsapp=whatsapp).first()
    if account is None:
        raise Http404("No such account")
    return account
