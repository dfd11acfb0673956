"""A wrong second-factor code counts as a failed sign-in for django-axes, so guessing codes
after a stolen password locks the username and address like guessing passwords does."""

from __future__ import annotations

from typing import Any

from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver


@receiver(mfa_signals.authentication_failed)
def _code_failed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    user_login_failed.send(
        sender=__name__,
        credentials={"username": user.get_username()},
        request=request,
    )
