"""Open-chat ("wake up friend") actions, the lanes that space them, and their batches.

One `Lane` per (agent account, WhatsApp account): the vendor opens chats on a pair one at a
time, `settings.ACTION_LANE_INTERVAL` seconds apart. The lane row is the scheduler's state
(in PostgreSQL, so it survives restarts): `next_allowed_at` is the earliest moment its next
action may leave. See docs/actions.md for the dispatch protocol.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Platform
from accounts.models import Agent


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent, waiting for the result")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown: a person must decide")
    CANCELLED = "cancelled", _("Cancelled")


# States no automation will move on from (unknown waits for a person).
SETTLED_STATES = (State.SUCCEEDED, State.FAILED, State.UNKNOWN, State.CANCELLED)
OPEN_STATES = (State.QUEUED, State.SENDING, State.SENT)


class ExecuteStatus(models.IntegerChoices):
    """callbackResult `executeStatus`."""

    NOT_EXECUTED = 0, _("Not executed")
    SUCCEEDED = 1, _("Succeeded")
    FAILED = 2, _("Failed")


class Lane(models.Model):
    agent_account = models.CharField(_("agent account"), max_length=64)
    whatsapp = models.CharField(_("WhatsApp number"), max_length=32)
    next_allowed_at = models.DateTimeField(_("next send allowed at"), default=timezone.now)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    paused = models.BooleanField(_("paused"), default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("lane")
        verbose_name_plural = _("lanes")
        ordering = ["agent_account", "whatsapp"]
        constraints = [
            models.UniqueConstraint(fields=["agent_account", "whatsapp"], name="actions_lane_pair")
        ]
        indexes = [models.Index(fields=["paused", "next_allowed_at"])]

    def __str__(self) -> str:
        return f"{self.agent_account} / {self.whatsapp}"

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """For core.access.visible: the lanes of the user's agent accounts."""
        mine = Agent.objects.filter(user=user).values("agent_account")
        return Q(agent_account__in=mine)


class ActionBatch(models.Model):
    """A group of actions submitted together (a CSV upload, a multi-action API call).

    A CSV upload with bad lines or offline pairs is kept as a `draft` (its valid rows in
    `draft_rows`) until the user chooses to queue it or discard it."""

    class Source(models.TextChoices):
        FORM = "form", _("Form")
        CSV = "csv", _("CSV upload")
        API = "api", _("API")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Waiting for confirmation")
        QUEUED = "queued", _("Queued")
        DISCARDED = "discarded", _("Discarded")

    source = models.CharField(max_length=8, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    name = models.CharField(_("name"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    draft_rows = models.JSONField(default=list, blank=True)
    draft_errors = models.JSONField(default=list, blank=True)
    draft_warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("action batch")
        verbose_name_plural = _("action batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"batch #{self.pk} ({self.get_source_display()})"

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """For core.access.visible: the batches the user submitted, and the batches holding
        their actions."""
        holding = Action.objects.filter(batch=models.OuterRef("pk"), agent__user=user)
        return Q(created_by=user) | Q(models.Exists(holding))


class Action(models.Model):
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="actions")
    batch = models.ForeignKey(
        ActionBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    agent = models.ForeignKey(
        "accounts.Agent", on_delete=models.PROTECT, related_name="open_chat_actions"
    )
    agent_account = models.CharField(_("agent account"), max_length=64)
    whatsapp = models.CharField(_("WhatsApp number"), max_length=32)
    friend_whatsapp = models.CharField(_("friend's number"), max_length=32)
    platform = models.PositiveSmallIntegerField(_("platform"), choices=Platform.choices)
    content = models.TextField(_("message"), blank=True)

    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Sending: the intent (claimed_at, attempt_id) is committed before batchAdd is called.
    attempts = models.PositiveIntegerField(default=0)
    attempt_id = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    callback_id = models.CharField(_("upstream callback id"), max_length=64, blank=True)

    # Results (callbackResult).
    next_poll_at = models.DateTimeField(null=True, blank=True)
    result_deadline = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    seen_by_vendor = models.BooleanField(default=False)
    execute_status = models.PositiveSmallIntegerField(
        choices=ExecuteStatus.choices, null=True, blank=True
    )
    execute_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("open-chat action")
        verbose_name_plural = _("open-chat actions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lane", "state", "id"]),
            models.Index(fields=["state", "next_poll_at"]),
            models.Index(fields=["state", "claimed_at"]),
            models.Index(fields=["batch", "state"]),
            models.Index(fields=["agent_account", "whatsapp", "-created_at"]),
            models.Index(fields=["-created_at", "-id"]),
            models.Index(fields=["callback_id"]),
        ]

    def __str__(self) -> str:
        return f"action #{self.pk} {self.whatsapp} -> {self.friend_whatsapp} ({self.state})"

    @property
    def is_settled(self) -> bool:
        return self.state in SETTLED_STATES

    @classmethod
    def owned_by(cls, user: Any) -> Q:
        """For core.access.visible: the actions of the agent rows linked to the user."""
        return Q(agent__user=user)
