"""Bulk jobs on accounts: create, run (in a Celery task), retry the failed items.

A job holds one item per account. The runner claims the job with a conditional update,
then works through the pending items in chunks: one vendor call per chunk, each item
marked done or failed with the vendor's plain-language message. A redelivered task (the
worker died) continues with the items still pending, so nothing is sent twice on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AccountKeys, BulkJob, BulkJobItem, ImportRow, WhatsAppAccount
from core.audit import audit_record
from core.tasks import enqueue_on_commit
from upstream import operations
from upstream.errors import UpstreamError, UpstreamUnavailable
from upstream.types import AccountItem, OnlineAccountItem

log = logging.getLogger(__name__)

CHUNK = 50
PORT_KINDS = {BulkJob.Kind.PORT_ONLINE, BulkJob.Kind.PORT_OFFLINE, BulkJob.Kind.PORT_LOGOUT}


class JobError(Exception):
    """A job cannot be created as asked (message is for the page)."""


def _enqueue(job: BulkJob) -> None:
    from accounts.tasks.fleet import bulk_job_run, import_run

    enqueue_on_commit(import_run if job.kind == BulkJob.Kind.IMPORT else bulk_job_run, job.pk)


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
    job.ok_count, job.failed_count = agg["ok"], agg["failed"]


def _mark(items: Iterable[BulkJobItem], state: str, error: str = "") -> None:
    ids = [i.pk for i in items]
    if ids:
        BulkJobItem.objects.filter(pk__in=ids).update(
            state=state, error=error[:255], updated_at=timezone.now()
        )


def _claim(job_id: int) -> BulkJob | None:
    now = timezone.now()
    claimed = BulkJob.objects.filter(pk=job_id, state=BulkJob.State.QUEUED).update(
        state=BulkJob.State.RUNNING, started_at=now
    )
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    if not claimed and job.state != BulkJob.State.RUNNING:
        return None  # finished, cancelled or still in preview
    return job


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """Work through the job's pending items (called by the task)."""
    job = _claim(job_id)
    if job is None:
        return None
    while True:
        chunk = list(job.items.filter(state=BulkJobItem.State.PENDING).order_by("id")[:CHUNK])
        if not chunk:
            break
        BulkJobItem.objects.filter(pk__in=[i.pk for i in chunk]).update(attempts=F("attempts") + 1)
        try:
            _run_chunk(job, chunk)
        except UpstreamError as exc:
            _mark(chunk, BulkJobItem.State.FAILED, exc.message)
        except UpstreamUnavailable:
            log.warning("bulk job %s: vendor unavailable for a chunk of %s", job.pk, len(chunk))
            _mark(
                chunk,
                BulkJobItem.State.FAILED,
                _("The vendor did not answer in time. Retry the failed accounts."),
            )
        _refresh_counts(job)
    with transaction.atomic():
        BulkJob.objects.filter(pk=job.pk).update(
            state=BulkJob.State.DONE, finished_at=timezone.now()
        )
        job.refresh_from_db()
        from notify.hooks import job_finished

        job_finished(job=job)  # the outbox (notify)
    return job


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
        if keys is None or not keys.private_key:
            _mark(
                [item],
                BulkJobItem.State.FAILED,
                _("No keys are stored for this account: import it with its keys first."),
            )
            continue
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
    """The account's cloud port (qrlogin.CloudPort with phone = number), or None."""
    from qrlogin.models import CloudPort

    return (
        CloudPort.objects.filter(phone=whatsapp, released=False)
        .order_by("-created_at_upstream", "-id")
        .first()
    )


def _run_port_item(job: BulkJob, item: BulkJobItem) -> None:
    port = cloud_port_for(item.whatsapp)
    if port is None:
        _mark(
            [item],
            BulkJobItem.State.FAILED,
            _("This account has no cloud port: it can only be brought online in bulk."),
        )
        return
    if job.kind == BulkJob.Kind.PORT_ONLINE:
        operations.on_line(id=port.port_id)
    elif job.kind == BulkJob.Kind.PORT_OFFLINE:
        operations.offline(id=port.port_id)
    else:
        operations.log_out(id=port.port_id)
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
