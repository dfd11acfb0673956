from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Agent
from core.crypto import EncryptedTextField


class PcType(models.IntegerChoices):
    PC = 1, _("PC")
    CLOUD_PC = 2, _("Cloud PC")


class QrError(models.TextChoices):
    """The QR family's error table (not the sync reasons, which reuse the numbers)."""

    QUOTA = "1001", _("Cloud port quota is insufficient: free a port or ask for a larger quota")
    PORT_GONE = "1002", _("The port does not exist or was released: start a new login")
    BAD_TYPE = "1003", _("Unsupported type: choose PC or cloud PC")
    NO_TARGET = "1004", _("No pairing target set: choose a pairing target")


class ScanTaskStatus(models.IntegerChoices):
    SCANNED = 70, _("QR scan succeeded")
    SCAN_TIMEOUT = 71, _("QR scan timed out")
    LOGGED_IN = 80, _("Login succeeded")
    QR_TIMEOUT_UNREPORTED = 83, _("QR code timed out (not reported)")
    LOGIN_TIMEOUT = 84, _("Timed out, login not successful")
    NO_PORT = 85, _("No available port")
    BANNED = 90, _("Account banned")


# Statuses after which no QR code is shown for a task (70 "scanned" still waits for 80).
SCAN_TASK_FINAL = frozenset(
    {
        ScanTaskStatus.SCAN_TIMEOUT,
        ScanTaskStatus.LOGGED_IN,
        ScanTaskStatus.QR_TIMEOUT_UNREPORTED,
        ScanTaskStatus.LOGIN_TIMEOUT,
        ScanTaskStatus.NO_PORT,
        ScanTaskStatus.BANNED,
    }
)


class AllocationRole(models.IntegerChoices):
    RANDOM = 1, _("Random agent")
    SPECIFIED = 3, _("Specified agent")


class PairTarget(models.Model):
    target_tenant_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=150, blank=True)
    created_at_upstream = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pairing target")
        verbose_name_plural = _("pairing targets")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.target_tenant_id})"


REASON_WAIT_SECONDS = 30


class QrSession(models.Model):
    """One QR or pair-code login attempt on a pre-generated port."""

    class Mode(models.TextChoices):
        QR = "qr", _("QR code")
        PAIR = "pair", _("Pair code")

    class State(models.TextChoices):
        STARTING = "starting", _("Starting")
        SHOWING = "showing", _("Waiting for the scan")
        SUCCEEDED = "succeeded", _("Online")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    port_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="qr_sessions"
    )
    pc_type = models.PositiveSmallIntegerField(choices=PcType.choices, default=PcType.PC)
    target = models.CharField(max_length=32, blank=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.QR)
    phone = models.CharField(max_length=32, blank=True)
    is_easy = models.CharField(max_length=1, blank=True)
    proxy = EncryptedTextField(blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.STARTING)
    qr_string = models.TextField(blank=True)
    qr_fetched_at = models.DateTimeField(null=True, blank=True)
    pair_code = models.CharField(max_length=32, blank=True)
    whatsapp = models.CharField(max_length=32, blank=True)
    user_name = models.CharField(max_length=150, blank=True)
    reason_code = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    instance_code = models.CharField(max_length=64, blank=True, db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why the code on screen could not be refreshed ("" when the last refresh worked).
    qr_error = models.CharField(max_length=255, blank=True)
    # When getQrCode was last asked (whatever it answered): every reader shares one ask
    # per rotation (qrlogin.services.sessions.qr_rotation_seconds).
    qr_asked_at = models.DateTimeField(null=True, blank=True)
    # When getQrCodeInfo was last asked for the number and the agent's name.
    info_fetched_at = models.DateTimeField(null=True, blank=True)
    # The result is also looked up (getQrCodeInfo) while waiting and shortly after an
    # expiry, in case the syncLoginStatus webhook never arrives: when the next look-up is
    # due (null: no more look-ups) and how many were made (the backoff step).
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    polls = models.PositiveSmallIntegerField(default=0)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )

    class Meta:
        verbose_name = _("QR session")
        verbose_name_plural = _("QR sessions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "locked_until"])]

    def __str__(self) -> str:
        return f"QR session {self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def has_proxy(self) -> bool:
        return bool(self.proxy)

    @property
    def awaits_reason(self) -> bool:
        """A failed login without the vendor's reason yet: syncWhatsAppStatus often brings
        it just after the failure, so the page keeps looking for a short while."""
        if self.state != self.State.FAILED or self.reason_code or self.finished_at is None:
            return False
        from django.utils import timezone

        return (timezone.now() - self.finished_at).total_seconds() < REASON_WAIT_SECONDS

    @property
    def status_token(self) -> str:
        """What the status block shows, in one word (the poll's `seen`)."""
        return f"{self.state}.{self.reason_code}" if self.state == self.State.FAILED else self.state

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """Whose rows these are, for core.access.visible: the person who made them."""
        return Q(created_by=user)


FINAL_STATES = frozenset(
    {QrSession.State.SUCCEEDED, QrSession.State.FAILED, QrSession.State.EXPIRED}
)


class ScanTask(models.Model):
    task_id = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="scan_tasks"
    )
    upstream_user_id = models.CharField(max_length=32, blank=True)
    allocation_role = models.PositiveSmallIntegerField(choices=AllocationRole.choices)
    status = models.PositiveSmallIntegerField(choices=ScanTaskStatus.choices, null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    whatsapp = models.CharField(max_length=32, blank=True)
    qr_string = models.TextField(blank=True)
    qr_fetched_at = models.DateTimeField(null=True, blank=True)
    qr_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The outcome is also looked up in the vendor's status log while the task is open,
    # in case the scan-task webhook never arrives (see services.scan_tasks).
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    polls = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("scan task")
        verbose_name_plural = _("scan tasks")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.task_id

    @property
    def is_final(self) -> bool:
        """No more QR codes: the login ended (success, timeout, no port, ban)."""
        return self.status in SCAN_TASK_FINAL

    @property
    def is_scanned(self) -> bool:
        """The phone scanned: stop showing the code (70 and every final status)."""
        return self.status is not None

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """For core.access.visible: the tasks an agent created, and the tasks allocated to
        their upstream agent."""
        ids = Agent.objects.filter(user=user).exclude(upstream_user_id="")
        return Q(created_by=user) | Q(upstream_user_id__in=ids.values("upstream_user_id"))
