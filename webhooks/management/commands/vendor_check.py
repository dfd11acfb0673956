"""`python manage.py vendor_check`: both directions of the connection to the vendor.

Outbound: the authentication profile in use (UPSTREAM_AUTH, no secret shown), then each
read-only operation and a read that carries tenantId, with what came back or exactly why not
(DNS, connection, TLS, HTTP status, envelope code) and, when the vendor refuses our
authentication, the settings to change. Inbound: WEBHOOK_AUTH, the five callback URLs (the
path token masked) and the last delivery seen on each, accepted or refused. Exits 1 when an
operation fails or webhooks cannot be received.

`--callbacks` prints only the five lines to register with the vendor,
`<CONFIGURATION_ID> <absolute URL>` (token included) on stdout, and the last delivery seen on
each on stderr, so `vendor_check --callbacks > callbacks.txt` keeps just the lines.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from upstream.diagnose import auth_summary, vendor_check
from webhooks.auth import configured_checks
from webhooks.callbacks import CONFIGURATION_IDS, callback_base, callback_url, last_seen
from webhooks.receivers import PATHS


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z") if value else "never"


class Command(BaseCommand):
    help = "Check the connection to the vendor in both directions (--callbacks: the URLs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--callbacks",
            action="store_true",
            help="Print one line per webhook: <CONFIGURATION_ID> <absolute URL to register>.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["callbacks"]:
            self._callbacks()
            return
        failed = self._outbound()
        inbound_ok = self._inbound()
        if failed or not inbound_ok:
            parts = [", ".join(failed)] if failed else []
            if not inbound_ok:
                parts.append("webhooks")
            raise CommandError(f"vendor check failed: {'; '.join(parts)}")
        self.stdout.write(self.style.SUCCESS("Vendor connection OK"))

    def _outbound(self) -> list[str]:
        self.stdout.write(f"Vendor: {settings.UPSTREAM_BASE_URL}")
        self.stdout.write(f"Outbound authentication: UPSTREAM_AUTH={auth_summary()}")
        results = vendor_check()
        advice: list[str] = []
        for r in results:
            if r.ok:
                self.stdout.write(self.style.SUCCESS(f"OK      {r.vendor_name}: {r.detail}"))
                continue
            self.stdout.write(self.style.ERROR(f"FAILED  {r.vendor_name}: {r.detail}"))
            if r.advice and r.advice not in advice:
                advice.append(r.advice)
        for line in advice:
            self.stdout.write(self.style.WARNING(f"To fix: {line}"))
        return [r.vendor_name for r in results if not r.ok]

    def _inbound(self) -> bool:
        checks = configured_checks()
        self.stdout.write(f"Inbound authentication: WEBHOOK_AUTH={','.join(checks) or '-'}")
        ok = True
        if not checks:
            self.stdout.write(
                self.style.WARNING("To fix: WEBHOOK_AUTH is empty: set WEBHOOK_AUTH=path-token")
            )
        if "path-token" in checks and not settings.WEBHOOK_PATH_TOKEN:
            ok = False
            self.stdout.write(
                self.style.ERROR(
                    "FAILED  webhooks: WEBHOOK_AUTH has path-token but WEBHOOK_PATH_TOKEN is "
                    "empty: set it to a random value of at least 32 characters"
                )
            )
        token = str(settings.WEBHOOK_PATH_TOKEN or "")
        base = callback_base()
        shown = base.replace(token, "[token]") if token and "path-token" in checks else base
        self.stdout.write(
            f"Callback base: {shown} (register the URLs `vendor_check --callbacks` prints)"
        )
        try:
            by_id = {item.configuration_id: item for item in last_seen()}
        except DatabaseError as exc:
            self.stdout.write(
                self.style.ERROR(
                    f"FAILED  webhooks: the inbox cannot be read ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''})"
                )
            )
            return False
        refused_only = []
        for kind, config_id in CONFIGURATION_IDS.items():
            seen = by_id[config_id]
            line = f"        {config_id} {shown}/{PATHS[kind]}: last accepted "
            line += _when(seen.accepted_at)
            if seen.refused_at:
                line += f", last refused {_when(seen.refused_at)} ({seen.refused_reason})"
                if not seen.accepted_at or seen.refused_at > seen.accepted_at:
                    refused_only.append(seen.refused_reason)
            self.stdout.write(line)
        for reason in dict.fromkeys(refused_only):
            self.stdout.write(self.style.WARNING(f"To fix: {_inbound_advice(reason)}"))
        return ok

    def _callbacks(self) -> None:
        for kind, config_id in CONFIGURATION_IDS.items():
            self.stdout.write(f"{config_id} {callback_url(kind)}")
        for seen in last_seen():
            text = f"# {seen.configuration_id}: last accepted {_when(seen.accepted_at)}"
            if seen.refused_at:
                text += f", last refused {_when(seen.refused_at)} ({seen.refused_reason})"
            self.stderr.write(text)


def _inbound_advice(reason: str) -> str:
    """What the last refusals of a webhook say to change (they are in quarantine)."""
    check = reason.split(":", 1)[0]
    if check == "hmac":
        return (
            "webhooks arrive without our signature: if they come from the vendor, set "
            "WEBHOOK_AUTH=path-token and register the --callbacks URLs; accept the "
            "quarantined ones on the webhook inbox page"
        )
    if check == "path-token":
        return (
            "webhooks arrive without the path token: register the URLs "
            "`vendor_check --callbacks` prints; accept the quarantined ones on the webhook "
            "inbox page"
        )
    return (
        f"webhooks are refused by the {check} check: see the quarantine on the webhook inbox page"
    )
