from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.roles import CAPABILITY_LABELS


class Capability(models.Model):
    """Holds the role permissions (see core.roles); it has no table of its own."""

    class Meta:
        verbose_name = _("capability")
        verbose_name_plural = _("capabilities")
        managed = False
        default_permissions = ()
        permissions = [(cap.value, label) for cap, label in CAPABILITY_LABELS.items()]

    def __str__(self) -> str:
        return "capabilities"


class AuditEntry(models.Model):
    """Who changed what, when, with the state before and after. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=128, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target_id}"


class CspReport(models.Model):
    """Content-Security-Policy violation reports, kept so the browser suite can count them."""

    at = models.DateTimeField(auto_now_add=True)
    document_uri = models.CharField(max_length=500, blank=True)
    violated_directive = models.CharField(max_length=200, blank=True)
    blocked_uri = models.CharField(max_length=500, blank=True)
    raw = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("CSP report")
        verbose_name_plural = _("CSP reports")

    def __str__(self) -> str:
        return f"{self.violated_directive} on {self.document_uri}"


class ApiToken(models.Model):
    """An API token. Only its SHA-256 digest is stored: the key is shown once, at creation,
    and a database dump cannot be replayed against the API."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Optional expiry (API_TOKEN_MAX_AGE_DAYS, or set per token); none: never.
    expires_at = models.DateTimeField(null=True, blank=True)
    # A fingerprint of the owner's password hash when the token was made: a password change
    # revokes the token (core.tokens).
    password_mark = models.CharField(max_length=64, blank=True)
    # Narrowed: reading only (GET, HEAD, OPTIONS), and only these API resources (the first
    # segment of the path under /api/v1/; empty: all). core.tokens enforces both.
    read_only = models.BooleanField(default=False)
    resources = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope(self) -> str:
        return "read" if self.read_only else "write"

    @property
    def scope_label(self) -> str:
        from django.utils.translation import gettext

        access = gettext("read only") if self.read_only else gettext("read and write")
        if not self.resources:
            return gettext("%(access)s, every resource") % {"access": access}
        return f"{access}: {', '.join(self.resources)}"


class Preferences(models.Model):
    """A person's own settings for how the console shows things (docs/identity.md, "Time
    zone"). Read with their permissions, in the same query (core.grants)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preferences",
    )
    # An IANA zone name ("Asia/Shanghai"); empty: the zone of the browser in use.
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
