"""DRF's `drf_create_token`, kept as usual for operators, issuing Switchboard's digest-stored
tokens (DRF's own table would keep the key in clear)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from core.models import ApiToken
from core.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user (the key is printed once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "-r", "--reset", action="store_true", help="Revoke the user's tokens first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(
                f"Cannot create the Token: user {options['username']} does not exist"
            ) from exc
        if options["reset"]:
            ApiToken.objects.filter(user=user).delete()
        _token, key = api_token_create(user=user, name="drf_create_token")
        self.stdout.write(f"Generated token {key} for user {user.username}")
