"""DRF's `drf_create_token`, kept as usual for operators, issuing Switchboard's digest-stored
tokens (DRF's own table would keep the key in clear), and narrowed on request:
`--scope read` (GET/HEAD/OPTIONS only), `--resource NAME` (repeatable), `--expires-days N`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.models import ApiToken
from core.tokens import api_resources, api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user (the key is printed once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "-r", "--reset", action="store_true", help="Revoke the user's tokens first"
        )
        parser.add_argument(
            "--scope",
            choices=["read", "write"],
            default="write",
            help="read: the token can only read (GET, HEAD, OPTIONS)",
        )
        parser.add_argument(
            "--resource",
            action="append",
            default=[],
            metavar="NAME",
            help=f"Limit the token to this API resource (repeat for more): "
            f"{', '.join(api_resources())}",
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="The token expires after N days"
        )
        parser.add_argument("--name", default="drf_create_token", help="What will use it")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(
                f"Cannot create the Token: user {options['username']} does not exist"
            ) from exc
        days = options["expires_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-days must be a positive number of days")
        unknown = sorted(set(options["resource"]) - set(api_resources()))
        if unknown:
            raise CommandError(
                f"Unknown resource {', '.join(unknown)}; known: {', '.join(api_resources())}"
            )
        if options["reset"]:
            ApiToken.objects.filter(user=user).delete()
        _token, key = api_token_create(
            user=user,
            name=options["name"],
            read_only=options["scope"] == "read",
            resources=options["resource"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        self.stdout.write(f"Generated token {key} for user {user.username}")
