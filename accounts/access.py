"""The account-scoped access helpers (core/access.py holds the generic ones and imports no
app): who the signed-in agent is, and which accounts a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Agent, WhatsAppAccount
from core.access import signed_in, visible


def agent_for_user(user: Any) -> Agent | None:
    if not signed_in(user):
        return None
    return Agent.objects.filter(user=user).first()


def accounts_visible_to(user: Any) -> QuerySet[WhatsAppAccount]:
    return visible(user, WhatsAppAccount.objects.all())


def get_account_for_user(user: Any, whatsapp: str) -> WhatsAppAccount:
    account = accounts_visible_to(user).filter(whatsapp=whatsapp).first()
    if account is None:
        raise Http404("No such account")
    return account
