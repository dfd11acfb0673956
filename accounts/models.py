from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, Subquery
from django.utils.translation import gettext_lazy as _

from accounts.choices import (
    AccountStatus,
    AccountType,
    DetailStatus,
    OnlineStatus,
    Platform,
    Presence,
    Source,
    VerifyType,
)
from core.choices import label
from core.crypto import EncryptedTextField


class Agent(models.Model):
    """An upstream agent (the vendor's userId / agentAccount), optionally linked to a user.

    The link is the user's agent profile: an agent user sees the accounts and work
    of the Agent rows linked to them, nothing else.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agent_profile",
    )
    agent_account = models.CharField(_("agent account"), max_length=64, unique=True)
    upstream_user_id = models.CharField(
        _("upstream user id"), max_length=32, blank=True, db_index=True
    )
    user_name = models.CharField(_("agent name"), max_length=150, blank=True)
    # The directory: an agent stays known while offline. `online` is what
    # the last agent poll said; `last_seen_at` the latest moment any source saw the agent
    # active (an online poll, an onlineStatus record naming it, a status log row).
    online = models.BooleanField(_("online"), default=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Set when a supervisor added the agent by hand."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["agent_account"]

    def __str__(self) -> str:
        return self.agent_account


class WhatsAppAccount(models.Model):
    whatsapp = models.CharField(_("WhatsApp number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    avatar = models.CharField(_("avatar"), max_length=1000, blank=True)
    account_type = models.PositiveSmallIntegerField(
        _("account type"), choices=AccountType.choices, default=AccountType.PERSONAL
    )
    # Account-level state (queryWhatsAppStatus, syncWhatsAppStatus).
    status = models.PositiveSmallIntegerField(
        _("status"), choices=AccountStatus.choices, default=AccountStatus.NORMAL
    )
    online_status = models.PositiveSmallIntegerField(
        _("online status"), choices=OnlineStatus.choices, null=True, blank=True
    )
    online_status_at = models.DateTimeField(null=True, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=16, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Presence from the onlineStatus webhook (10/20/30/40 + detailStatus). Only a
    # record newer by event time (ties: later receipt) may change these.
    presence_status = models.IntegerField(_("presence"), null=True, blank=True)
    detail_status = models.IntegerField(_("detail status"), null=True, blank=True)
    platform = models.PositiveSmallIntegerField(
        _("platform"), choices=Platform.choices, null=True, blank=True
    )
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True)
    last_event_received_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    agent_account = models.CharField(_("agent account"), max_length=64, blank=True)
    source = models.PositiveSmallIntegerField(
        _("online at"), choices=Source.choices, null=True, blank=True
    )
    country = models.CharField(_("country"), max_length=64, blank=True)
    recycled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp account")
        verbose_name_plural = _("WhatsApp accounts")
        ordering = ["whatsapp"]
        indexes = [
            models.Index(fields=["status", "whatsapp"]),
            models.Index(fields=["online_status", "whatsapp"]),
            models.Index(fields=["presence_status", "whatsapp"]),
            models.Index(fields=["agent_account", "whatsapp"]),
            models.Index(fields=["account_type", "whatsapp"]),
            models.Index(fields=["country", "whatsapp"]),
            models.Index(fields=["platform", "whatsapp"]),
            models.Index(fields=["last_event_at", "id"]),
            models.Index(fields=["name", "id"]),
            # An agent's own fleet in its default order: read from the index, not filtered
            # out of a walk through everyone's (bench/pages.py, "fleet list, agent").
            models.Index(fields=["agent", "whatsapp"], name="acc_agent_whatsapp"),
            # Prefix search on the number (LIKE 'x%') whatever the collation.
            models.Index(
                fields=["whatsapp"], opclasses=["varchar_pattern_ops"], name="acc_whatsapp_prefix"
            ),
        ]

    def __str__(self) -> str:
        return self.whatsapp

    @property
    def presence_label(self) -> str:
        return label(Presence, self.presence_status)

    @property
    def detail_status_label(self) -> str:
        return label(DetailStatus, self.detail_status)

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """For core.access.visible: an agent's accounts are those of the agent row linked to
        them (one at most). Compared with that row's id (a scalar subquery) rather than
        joined: PostgreSQL then reads the agent's first page from acc_agent_whatsapp
        (0.2 ms) instead of walking the whole fleet's number index for it (3 ms on
        100,000 accounts)."""
        return Q(agent_id=Subquery(Agent.objects.filter(user=user).values("id")[:1]))


class AccountKeys(models.Model):
    """The account's keys, sealed at rest, in their own table so fleet queries never
    load them. Written on import, read only to call the vendor; never displayed."""

    account = models.OneToOneField(WhatsAppAccount, on_delete=models.CASCADE, related_name="keys")
    public_key = EncryptedTextField(blank=True, default="")
    private_key = EncryptedTextField(blank=True, default="")
    msg_public_key = EncryptedTextField(blank=True, default="")
    msg_private_key = EncryptedTextField(blank=True, default="")
    # The vendor's `accountId` (renamed: `account_id` is the foreign key's column).
    vendor_account_id = EncryptedTextField(blank=True, default="")
    next_key_id = EncryptedTextField(blank=True, default="")
    registration_id = EncryptedTextField(blank=True, default="")
    device_params = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    SECRET_FIELDS = (
        "public_key",
        "private_key",
        "msg_public_key",
        "msg_private_key",
        "vendor_account_id",
        "next_key_id",
        "registration_id",
        "device_params",
    )

    class Meta:
        verbose_name = _("account keys")
        verbose_name_plural = _("account keys")

    def __str__(self) -> str:
        return f"keys #{self.pk}"


class StatusEvent(models.Model):
    """Append-only status history: every distinct record received, kept for
    STATUS_HISTORY_MONTHS.

    Partitioned by month on event_time (core.partitions): the database's primary key is
    (id, event_time) and the dedupe key is unique with event_time (the key hashes the event
    time, so that is the same rule). Django keeps `id` as the pk: it is unique on its own
    (one sequence), and every read carries an event_time bound so only the months it needs
    are scanned (accounts.selectors)."""

    class Origin(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook")
        POLL = "poll", _("Reconcile poll")
        VENDOR_LOG = "vendor_log", _("Vendor status log")

    whatsapp = models.CharField(max_length=32)
    status = models.IntegerField()
    detail_status = models.IntegerField(null=True, blank=True)
    agent_account = models.CharField(max_length=64, blank=True)
    platform = models.PositiveSmallIntegerField(choices=Platform.choices, null=True, blank=True)
    event_time = models.DateTimeField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Origin.choices, default=Origin.WEBHOOK)
    dedupe_key = models.CharField(max_length=64)
    webhook_event_id = models.BigIntegerField(null=True, blank=True)

    # What a row of the log shows, in order: the admin's list and the log's CSV export.
    COLUMNS = (
        "whatsapp",
        "status",
        "detail_status",
        "agent_account",
        "platform",
        "event_time",
        "received_at",
        "source",
    )

    class Meta:
        verbose_name = _("status log entry")
        verbose_name_plural = _("status log")
        ordering = ["-event_time", "-id"]
        # Each index is built on every month (partitioned indexes): a filter's page is an
        # index range of one month, in the list's order (event_time, id), with no sort.
        indexes = [
            models.Index(fields=["whatsapp", "-event_time", "-id"], name="se_whatsapp_time"),
            models.Index(fields=["-event_time", "-id"], name="se_time"),
            models.Index(fields=["agent_account", "-event_time", "-id"], name="se_agent_time"),
            models.Index(fields=["status", "-event_time", "-id"], name="se_status_time"),
            models.Index(fields=["detail_status", "-event_time", "-id"], name="se_detail_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key", "event_time"], name="se_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"{self.whatsapp} {self.status}/{self.detail_status} @ {self.event_time}"

    @property
    def status_label(self) -> str:
        return label(Presence, self.status)

    @property
    def detail_status_label(self) -> str:
        return label(DetailStatus, self.detail_status)

    @property
    def platform_label(self) -> str:
        return label(Platform, self.platform)


class Registration(models.Model):
    class State(models.TextChoices):
        PHONE_SUBMITTED = "phone_submitted", _("Waiting for the code")
        CODE_SUBMITTED = "code_submitted", _("Code submitted, waiting for the result")
        SUCCEEDED = "succeeded", _("Registered")
        FAILED = "failed", _("Failed")

    phone = models.CharField(max_length=32, db_index=True)
    area_code = models.CharField(max_length=8)
    country_code = models.CharField(max_length=8)
    verify_type = models.PositiveSmallIntegerField(choices=VerifyType.choices)
    account_type = models.PositiveSmallIntegerField(choices=AccountType.choices)
    task_id = models.CharField(max_length=32, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PHONE_SUBMITTED)
    error = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.area_code} {self.phone} ({self.state})"

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """Whose rows these are, for core.access.visible: the person who made them."""
        return Q(created_by=user)


class BulkJob(models.Model):
    """One supervisor action on many accounts (or one), run by a Celery task.

    Each account is a `BulkJobItem` with its own result; failed items can be retried.
    Parameters never hold secrets (keys are read from AccountKeys / ImportRow when the
    vendor request is built)."""

    class Kind(models.TextChoices):
        ONLINE = "online", _("Bring online")
        RECYCLE = "recycle", _("Recycle")
        PROFILE = "profile", _("Avatar and nickname")
        IMPORT = "import", _("Import")
        PORT_ONLINE = "port_online", _("Online (cloud port)")
        PORT_OFFLINE = "port_offline", _("Offline (cloud port)")
        PORT_LOGOUT = "port_logout", _("Log out (cloud port)")

    class State(models.TextChoices):
        PREVIEW = "preview", _("Waiting for confirmation")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    total = models.PositiveIntegerField(default=0)
    ok_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    filename = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bulk job")
        verbose_name_plural = _("bulk jobs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def done_count(self) -> int:
        return self.ok_count + self.failed_count

    @property
    def percent(self) -> int:
        return int(100 * self.done_count / self.total) if self.total else 100

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.CANCELLED)

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """Whose rows these are, for core.access.visible: the person who made them."""
        return Q(created_by=user)


class BulkJobItem(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        OK = "ok", _("Done")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    whatsapp = models.CharField(max_length=32)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bulk job item")
        verbose_name_plural = _("bulk job items")
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "state", "id"])]

    def __str__(self) -> str:
        return f"{self.whatsapp} ({self.state})"


class ImportRow(models.Model):
    """A validated row of an uploaded import file, staged until the import runs.

    Keys are encrypted here exactly as in AccountKeys; rows are deleted once imported."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="import_rows")
    line = models.PositiveIntegerField()
    whatsapp = models.CharField(max_length=32)
    name = models.CharField(max_length=150, blank=True)
    avatar = models.CharField(max_length=1000, blank=True)
    whatsapp_type = models.PositiveSmallIntegerField(null=True, blank=True)
    public_key = EncryptedTextField(blank=True, default="")
    private_key = EncryptedTextField(blank=True, default="")
    msg_public_key = EncryptedTextField(blank=True, default="")
    msg_private_key = EncryptedTextField(blank=True, default="")
    vendor_account_id = EncryptedTextField(blank=True, default="")
    next_key_id = EncryptedTextField(blank=True, default="")
    registration_id = EncryptedTextField(blank=True, default="")
    device_params = EncryptedTextField(blank=True, default="")
    skip_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("staged import row")
        verbose_name_plural = _("staged import rows")
        ordering = ["line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.whatsapp}"


class ContactLookup(models.Model):
    """An address book (`selectContact`) or single contact (`contact/info`) look-up,
    run on the SLOW queue; results are kept with the time they were fetched."""

    class Kind(models.TextChoices):
        BOOK = "book", _("Address book")
        SINGLE = "single", _("Single contact")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(
        WhatsAppAccount, on_delete=models.CASCADE, related_name="contact_lookups"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    phone = models.CharField(max_length=32, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    results = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contact look-up")
        verbose_name_plural = _("contact look-ups")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} look-up for {self.account_id} ({self.state})"
