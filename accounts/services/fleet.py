"""Bulk jobs on accounts: create, run (in a Celery task), retry the failed items.

A job holds one item per account. The runner claims the job with a conditional update,
then works through the pending items in chunks: one vendor call per chunk, each item
marked done or failed with the vendor's plain-language message. A redelivered task (the
worker died) continues with the items still pending, so nothing is sent twice on purpose.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import live as accounts_live
from accounts.events import job_finished
from accounts.models import AccountKeys, BulkJob, BulkJobItem, ImportRow, WhatsAppAccount
from accounts.selectors import jobs_changed
from core.audit import audit_record
from core.tasks import enqueue_on_commit
from ports.models import CloudPort
from ports.services import PortNotLinked, port_call_id, port_operate
from upstream import operations
from upstream.errors import (
    NotSent,
    UpstreamError,
    UpstreamUnavailable,
    VendorBusy,
    unavailable_message,
)
from upstream.types import AccountItem, OnlineAccountItem

log = logging.getLogger(__name__)

CHUNK = 50
PORT_KINDS = {BulkJob.Kind.PORT_ONLINE, BulkJob.Kind.PORT_OFFLINE, BulkJob.Kind.PORT_LOGOUT}


class JobError(Exception):
    """A job cannot be created as asked (message is for the page)."""


# batchOnline requires these keys (seed 000); the vendor refuses a row without them.
ONLINE_KEY_FIELDS = ("public_key", "private_key", "msg_public_key", "msg_private_key")


def keys_complete(keys: AccountKeys | None) -> bool:
    return keys is not None and all(getattr(keys, f) for f in ONLINE_KEY_FIELDS)


@dataclass(frozen=True)
class OnlinePrecheck:
    """What bulk online would do, before anything is sent."""

    ready: list[WhatsAppAccount]
    without_keys: list[WhatsAppAccount]
    banned: list[WhatsAppAccount]

    @property
    def clean(self) -> bool:
        return not self.without_keys and not self.banned


def _banned(account: WhatsAppAccount) -> bool:
    from accounts.choices import AccountStatus, Presence

    return account.status == AccountStatus.BANNED or account.presence_status == Presence.BANNED


def bulk_online_precheck(*, accounts: Sequence[WhatsAppAccount]) -> OnlinePrecheck:
    """Split the accounts into those that can be brought online, those without (complete)
    keys (import their keys first) and banned ones."""
    rows = WhatsAppAccount.objects.filter(pk__in=[a.pk for a in accounts]).select_related("keys")
    ready, without_keys, banned = [], [], []
    for account in rows.order_by("whatsapp"):
        if _banned(account):
            banned.append(account)
        elif not keys_complete(getattr(account, "keys", None)):
            without_keys.append(account)
        else:
            ready.append(account)
    return OnlinePrecheck(ready=ready, without_keys=without_keys, banned=banned)


def _enqueue(job: BulkJob) -> None:
    if job.kind == BulkJob.Kind.IMPORT:
        enqueue_on_commit("accounts.tasks.fleet.import_run", job.pk)
    else:
        enqueue_on_commit("accounts.tasks.fleet.bulk_job_run", job.pk)


def bulk_job_create(
    *,
    actor: Any,
    kind: str,
    accounts: Sequence[WhatsAppAccount],
    params: dict[str, Any] | None = None,
) -> BulkJob:
    """Queue `kind` for `accounts` (already scoped to what `actor` may see)."""
    if not accounts:
        raise JobError(_("Select at least one account."))
    if kind not in BulkJob.Kind.values or kind == BulkJob.Kind.IMPORT:
        raise JobError(_("Unknown action."))
    numbers = sorted({a.whatsapp for a in accounts})
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=kind, params=params or {}, created_by=actor, total=len(numbers)
        )
        BulkJobItem.objects.bulk_create([BulkJobItem(job=job, whatsapp=n) for n in numbers])
        audit_record(
            actor=actor,
            action=f"accounts.{kind}",
            target_type="bulk_job",
            target_id=str(job.pk),
            before={"accounts": _audit_state(numbers[:200])},
            after={"count": len(numbers), "whatsapps": numbers[:200], **(params or {})},
        )
        _enqueue(job)
    return job


def _audit_state(numbers: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What a bulk job may change, per account, as it is before the job (no keys)."""
    rows = WhatsAppAccount.objects.filter(whatsapp__in=numbers).values(
        "whatsapp", "name", "avatar", "online_status", "recycled", "agent_account"
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        row: dict[str, Any] = dict(r)
        out[str(row.pop("whatsapp"))] = row
    return out


def bulk_job_retry_failed(*, actor: Any, job: BulkJob) -> int:
    """Put the failed items back in the queue; returns how many."""
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk)
        if not job.finished:
            raise JobError(_("The job is still running; retry once it has finished."))
        n = job.items.filter(state=BulkJobItem.State.FAILED).update(
            state=BulkJobItem.State.PENDING, error=""
        )
        if n == 0:
            return 0
        job.state = BulkJob.State.QUEUED
        job.finished_at = None
        job.save(update_fields=["state", "finished_at"])
        _refresh_counts(job)
        audit_record(
            actor=actor,
            action=f"accounts.{job.kind}.retry",
            target_type="bulk_job",
            target_id=str(job.pk),
            after={"count": n},
        )
        _enqueue(job)
    return n


def _refresh_counts(job: BulkJob) -> None:
    agg = job.items.aggregate(
        ok=Count("id", filter=Q(state=BulkJobItem.State.OK)),
        failed=Count("id", filter=Q(state=BulkJobItem.State.FAILED)),
    )
    BulkJob.objects.filter(pk=job.pk).update(ok_count=agg["ok"], failed_count=agg["failed"])
    jobs_changed()  # an update() sends no post_save
    job.ok_count, job.failed_count = agg["ok"], agg["failed"]
    accounts_live.job_changed(job_id=job.pk, owner=job.created_by_id)


def _mark(
    items: Iterable[BulkJobItem], state: str, error: str = "", *, only_pending: bool = False
) -> None:
    ids = [i.pk for i in items]
    if ids:
        rows = BulkJobItem.objects.filter(pk__in=ids)
        if only_pending:  # items a chunk already finished keep their result
            rows = rows.filter(state=BulkJobItem.State.PENDING)
        rows.update(state=state, error=error[:255], updated_at=timezone.now())


def _claim(job_id: int) -> BulkJob | None:
    now = timezone.now()
    claimed = BulkJob.objects.filter(pk=job_id, state=BulkJob.State.QUEUED).update(
        state=BulkJob.State.RUNNING, started_at=now
    )
    if claimed:
        jobs_changed()
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    if not claimed and job.state != BulkJob.State.RUNNING:
        return None  # finished, cancelled or still in preview
    if not claimed:
        _settle_in_doubt(job)
    accounts_live.job_changed(job_id=job.pk, owner=job.created_by_id)
    return job


def _settle_in_doubt(job: BulkJob) -> None:
    """A job taken over from a runner that stopped mid-way (its worker killed, its
    connection lost): the items it had started sending in this run (still pending, marked
    as being sent since the run began) may have been done at the vendor. They fail with a
    reason instead of being sent a second time; a person retries them (docs/operations.md,
    "Restarts under load")."""
    if job.started_at is None:
        return
    doubtful = job.items.filter(
        state=BulkJobItem.State.PENDING, attempts__gt=0, updated_at__gte=job.started_at
    )
    if doubtful.exists():
        log.warning("bulk job %s taken over: %s items in doubt", job.pk, doubtful.count())
        reason = _(
            "The worker stopped while this was being sent, so whether the vendor did it is"
            " unknown: check the account, then retry it if needed."
        )
        _mark(list(doubtful), BulkJobItem.State.FAILED, reason, only_pending=True)
        _refresh_counts(job)


def _retryable(exc: UpstreamUnavailable) -> bool:
    """Sent again with backoff: "system busy" and unknown server-side codes, HTTP 5xx
    answers, and calls that never left. A timeout is not: the change may have happened."""
    return isinstance(exc, VendorBusy | NotSent) or exc.kind == "http_error"


# A queued job's message can be lost with the broker (Redis restarted without persistence,
# or down when the job was created): the beat sends it again after this long.
REQUEUE_AFTER_SECONDS = 120.0
_RUNNER_LOCK = 0x5B0B  # advisory lock class: (class, job id) = one runner per job


def bulk_jobs_requeue(*, older_than: float = REQUEUE_AFTER_SECONDS) -> int:
    """Send the task again for jobs still queued after `older_than` seconds (its message
    was lost) and for running jobs whose runner is gone (its worker was killed: the message
    waits unacknowledged for the broker's visibility timeout, an hour). A second message for
    the same job is harmless: one runner at a time."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    stale = list(BulkJob.objects.filter(state=BulkJob.State.QUEUED, created_at__lt=cutoff))
    # A runner holds its job's lock from before the claim to the end: a running job whose
    # lock is free has nobody working it, however recently it started.
    running = BulkJob.objects.filter(state=BulkJob.State.RUNNING)
    stale += [job for job in running if _runner_gone(job.pk)]
    for job in stale:
        _enqueue(job)
    return len(stale)


def _runner_gone(job_id: int) -> bool:
    """No runner holds the job's lock (its connection closed with its process), and the
    job, read under the lock, is still running: nobody is working it."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_RUNNER_LOCK, job_id])
        row = cur.fetchone()
    if not (row and row[0]):
        return False
    try:
        return BulkJob.objects.filter(pk=job_id, state=BulkJob.State.RUNNING).exists()
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_RUNNER_LOCK, job_id])


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """Work through the job's pending items (called by the task). Transient failures are
    retried with backoff within UPSTREAM_TRANSIENT_RETRY_SECONDS; a failed chunk fails only
    its items still pending (those already done stay done). One runner per job: a second
    message for a job being worked (a requeue, a redelivery) returns at once, so no chunk
    is sent twice; the lock goes with the runner's connection if its worker dies."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_RUNNER_LOCK, job_id])
        row = cur.fetchone()
    if not (row and row[0]):
        return None
    try:
        return _bulk_job_run_locked(job_id)
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_RUNNER_LOCK, job_id])


def _bulk_job_run_locked(job_id: int) -> BulkJob | None:
    job = _claim(job_id)
    if job is None:
        return None
    deadline = time.monotonic() + float(settings.UPSTREAM_TRANSIENT_RETRY_SECONDS)
    backoff = float(settings.UPSTREAM_TRANSIENT_BACKOFF_SECONDS)
    delay = backoff
    while True:
        chunk = list(job.items.filter(state=BulkJobItem.State.PENDING).order_by("id")[:CHUNK])
        if not chunk:
            break
        # Marked as being sent (this run's time: a runner taking over knows them, below).
        BulkJobItem.objects.filter(pk__in=[i.pk for i in chunk]).update(
            attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        try:
            _run_isolating(job, chunk)
            delay = backoff
            accounts_live.accounts_changed(whatsapps=[i.whatsapp for i in chunk])
        except UpstreamUnavailable as exc:
            log.warning(
                "bulk job %s: vendor unavailable (%s) for a chunk of %s",
                job.pk,
                exc.kind,
                len(chunk),
            )
            if _retryable(exc) and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            _mark(
                chunk,
                BulkJobItem.State.FAILED,
                unavailable_message(exc) + " " + _("Retry the failed accounts."),
                only_pending=True,
            )
        _refresh_counts(job)
    with transaction.atomic():
        BulkJob.objects.filter(pk=job.pk).update(
            state=BulkJob.State.DONE, finished_at=timezone.now()
        )
        jobs_changed()
        job.refresh_from_db()
        job_finished(job=job)  # the outbox (notify)
        accounts_live.job_changed(job_id=job.pk, owner=job.created_by_id)
    return job


def refusal_words(exc: UpstreamError) -> str:
    """The plain words for a refusal, with the vendor's own reason when it says more (a
    record's refusal names the record: "whatsAppList[0]: account ... already exists")."""
    vendor = (exc.vendor_message or "").strip()
    if vendor and vendor not in exc.message:
        return f"{exc.message} {vendor}"
    return exc.message


def _run_isolating(job: BulkJob, chunk: list[BulkJobItem]) -> None:
    """Run a chunk; when the vendor refuses it (a business error: nothing was done), split
    the items still pending in halves and run each, until the refused records are alone:
    only they fail, with the vendor's reason (so "Retry failed" resends only them)."""
    try:
        _run_chunk(job, chunk)
    except UpstreamError as exc:
        pending = list(
            BulkJobItem.objects.filter(
                pk__in=[i.pk for i in chunk], state=BulkJobItem.State.PENDING
            ).order_by("id")
        )
        if len(pending) <= 1:
            _mark(pending, BulkJobItem.State.FAILED, refusal_words(exc), only_pending=True)
            return
        middle = len(pending) // 2
        _run_isolating(job, pending[:middle])
        _run_isolating(job, pending[middle:])


def _run_chunk(job: BulkJob, chunk: list[BulkJobItem]) -> None:
    if job.kind == BulkJob.Kind.IMPORT:
        _run_import_chunk(job, chunk)
    elif job.kind == BulkJob.Kind.ONLINE:
        _run_online_chunk(job, chunk)
    elif job.kind == BulkJob.Kind.RECYCLE:
        numbers = [i.whatsapp for i in chunk]
        operations.batch_recycle(whatsapps=numbers)
        WhatsAppAccount.objects.filter(whatsapp__in=numbers).update(recycled=True)
        _mark(chunk, BulkJobItem.State.OK)
    elif job.kind == BulkJob.Kind.PROFILE:
        _run_profile_chunk(job, chunk)
    elif job.kind in PORT_KINDS:
        for item in chunk:  # one port per call
            try:
                _run_port_item(job, item)
            except UpstreamError as exc:
                _mark([item], BulkJobItem.State.FAILED, exc.message)
    else:  # pragma: no cover - guarded at creation
        _mark(chunk, BulkJobItem.State.FAILED, _("Unknown action."))


def _run_online_chunk(job: BulkJob, chunk: list[BulkJobItem]) -> None:
    override = bool(job.params.get("override", False))
    accounts = {
        a.whatsapp: a
        for a in WhatsAppAccount.objects.filter(
            whatsapp__in=[i.whatsapp for i in chunk]
        ).select_related("keys")
    }
    send: list[OnlineAccountItem] = []
    sent_items: list[BulkJobItem] = []
    for item in chunk:
        account = accounts.get(item.whatsapp)
        keys: AccountKeys | None = getattr(account, "keys", None) if account else None
        if account is None:
            _mark([item], BulkJobItem.State.FAILED, _("The account no longer exists."))
            continue
        if not keys_complete(keys):  # never send a row without keys: the vendor refuses it
            _mark(
                [item],
                BulkJobItem.State.FAILED,
                _(
                    "No keys are stored for this account: import its keys (Import, with "
                    "“set or replace the keys of known accounts”) first."
                ),
            )
            continue
        if _banned(account):
            _mark([item], BulkJobItem.State.FAILED, _("The account is banned."))
            continue
        assert keys is not None
        send.append(
            OnlineAccountItem(
                whatsapp=account.whatsapp,
                public_key=keys.public_key,
                private_key=keys.private_key,
                msg_public_key=keys.msg_public_key,
                msg_private_key=keys.msg_private_key,
                account_id=keys.vendor_account_id,
                next_key_id=keys.next_key_id,
                registration_id=keys.registration_id,
                device_params=keys.device_params,
                whatsapp_type=account.account_type,
                name=account.name,
                avatar=account.avatar,
                override=override,
            )
        )
        sent_items.append(item)
    if send:
        operations.batch_online(accounts=send)
        _mark(sent_items, BulkJobItem.State.OK)


def _run_profile_chunk(job: BulkJob, chunk: list[BulkJobItem]) -> None:
    avatar = job.params.get("avatar") or None
    nickname = job.params.get("nickname") or None
    numbers = [i.whatsapp for i in chunk]
    operations.update_avatar_or_nickname(
        device_type=int(job.params.get("device_type", 0)),
        phone_list=numbers,
        avatar=avatar,
        nickname=nickname,
    )
    changes: dict[str, Any] = {}
    if avatar:
        changes["avatar"] = avatar
    if nickname:
        changes["name"] = nickname
    if changes:
        WhatsAppAccount.objects.filter(whatsapp__in=numbers).update(
            updated_at=timezone.now(), **changes
        )
    _mark(chunk, BulkJobItem.State.OK)


def cloud_port_for(whatsapp: str) -> Any:
    """The account's cloud port (ports.CloudPort with phone = number), or None."""
    return (
        CloudPort.objects.filter(phone=whatsapp, released=False)
        .order_by("-created_at_upstream", "-id")
        .first()
    )


def port_call_id_for(whatsapp: str) -> str:
    """The first id the port operations send for the account's cloud port (UPSTREAM_PORT_ID,
    ports.services.port_call_ids). Raises PortNotLinked (with the message for the
    page) when the account has no port, or no id may be sent for it."""
    port = cloud_port_for(whatsapp)
    if port is None:
        raise PortNotLinked(
            _("This account has no cloud port: it can only be brought online in bulk.")
        )
    return port_call_id(port=port)


def _run_port_item(job: BulkJob, item: BulkJobItem) -> None:
    port = cloud_port_for(item.whatsapp)
    if port is None:
        _mark(
            [item],
            BulkJobItem.State.FAILED,
            _("This account has no cloud port: it can only be brought online in bulk."),
        )
        return
    operations_by_kind: dict[str, str] = {
        BulkJob.Kind.PORT_ONLINE: "online",
        BulkJob.Kind.PORT_OFFLINE: "offline",
    }
    operation = operations_by_kind.get(job.kind, "logout")
    try:
        # The one port service: the Ports page's, with its release, audit and live push.
        port_operate(actor=job.created_by, port_id=port.port_id, operation=operation)
    except PortNotLinked as exc:
        _mark([item], BulkJobItem.State.FAILED, str(exc))
        return
    _mark([item], BulkJobItem.State.OK)


def _run_import_chunk(job: BulkJob, chunk: list[BulkJobItem]) -> None:
    rows = {
        r.whatsapp: r
        for r in ImportRow.objects.filter(job=job, whatsapp__in=[i.whatsapp for i in chunk])
    }
    items: list[AccountItem] = []
    sent: list[BulkJobItem] = []
    for item in chunk:
        row = rows.get(item.whatsapp)
        if row is None:
            _mark(
                [item],
                BulkJobItem.State.FAILED,
                _("The staged row is gone: upload the file again."),
            )
            continue
        items.append(
            AccountItem(
                whatsapp=row.whatsapp,
                public_key=row.public_key,
                private_key=row.private_key,
                msg_public_key=row.msg_public_key,
                msg_private_key=row.msg_private_key,
                account_id=row.vendor_account_id,
                next_key_id=row.next_key_id,
                registration_id=row.registration_id,
                device_params=row.device_params,
                whatsapp_type=row.whatsapp_type,
                name=row.name,
                avatar=row.avatar,
            )
        )
        sent.append(item)
    if not items:
        return
    operations.batch_insert(accounts=items)
    had_keys = {
        k.account.whatsapp
        for k in AccountKeys.objects.filter(
            account__whatsapp__in=[i.whatsapp for i in sent]
        ).select_related("account")
        if k.private_key
    }
    known = set(
        WhatsAppAccount.objects.filter(whatsapp__in=[i.whatsapp for i in sent]).values_list(
            "whatsapp", flat=True
        )
    )
    with transaction.atomic():
        for item in sent:
            row = rows[item.whatsapp]
            account, _created = WhatsAppAccount.objects.update_or_create(
                whatsapp=row.whatsapp,
                defaults={
                    "name": row.name,
                    "avatar": row.avatar,
                    "account_type": row.whatsapp_type or 1,
                    "recycled": False,
                },
            )
            AccountKeys.objects.update_or_create(
                account=account,
                defaults={
                    "public_key": row.public_key,
                    "private_key": row.private_key,
                    "msg_public_key": row.msg_public_key,
                    "msg_private_key": row.msg_private_key,
                    "vendor_account_id": row.vendor_account_id,
                    "next_key_id": row.next_key_id,
                    "registration_id": row.registration_id,
                    "device_params": row.device_params,
                },
            )
        ImportRow.objects.filter(pk__in=[rows[i.whatsapp].pk for i in sent]).delete()
        _mark(sent, BulkJobItem.State.OK)
        replaced = sorted(n for n in known if n in had_keys)
        given = sorted(n for n in known if n not in had_keys)
        if replaced or given:  # keys of known accounts changed: audited (never the keys)
            audit_record(
                actor=job.created_by,
                action="accounts.keys.replace" if replaced else "accounts.keys.set",
                target_type="bulk_job",
                target_id=str(job.pk),
                before={"with_keys": replaced[:200], "without_keys": given[:200]},
                after={"keys_replaced": len(replaced), "keys_set": len(given)},
            )
