"""Cloud ports: the quota (selectCloudPort), the occupied ports (selectCloudPortDetail)
and the port operations (onLine, offline, logOut).

`port_quota_store` and `cloud_ports_store` are the one way to write PortQuota and
CloudPort from a vendor snapshot; the reconcile pass uses them too, so both paths share
the same upsert semantics: CloudPort is keyed by the vendor's port id as a string (ids are
larger than 2^53), a port missing from a full snapshot is marked released, and a port
nobody has logged in yet is locked until its creation time plus the lock period.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import live
from core.audit import audit_record
from core.crypto import Secret
from qrlogin import conf
from qrlogin.models import CloudPort, PortQuota, PortStatus
from upstream import operations
from upstream import types as ut

log = logging.getLogger(__name__)

PORT_OPERATIONS = ("online", "offline", "logout")


class PortNotLinked(Exception):
    """The port operations take the id preGenerate issued; this port has only the vendor's
    "port application id" (its login was not made through Switchboard), so nothing is sent:
    the vendor would answer 1002."""


def port_not_linked_message() -> str:
    return _(
        "This port was not logged in through Switchboard, so the id the vendor needs for "
        "this operation is unknown. Log the account in through Switchboard (QR or pair "
        "code) to manage its port here."
    )


def port_pregenerate_id(*, port: CloudPort) -> str:
    """The id the port operations take: the stored preGenerate id, or the one of the
    Switchboard login that put the port's phone there (then stored). "" when unknown."""
    if port.pregenerate_id:
        return port.pregenerate_id
    from qrlogin.selectors import port_session_id

    found = port_session_id(phone=port.phone, created_at_upstream=port.created_at_upstream)
    if found:
        CloudPort.objects.filter(pk=port.pk, pregenerate_id="").update(pregenerate_id=found)
        port.pregenerate_id = found
    return found


def port_call_id(*, port: CloudPort | None) -> str:
    """The preGenerate id to send for `port`; raises PortNotLinked when there is none."""
    call_id = port_pregenerate_id(port=port) if port is not None else ""
    if not call_id:
        raise PortNotLinked(port_not_linked_message())
    return call_id


def port_quota_store(*, current_port: int, max_port: int) -> PortQuota:
    """Keep the single quota row up to date (creating it the first time)."""
    with transaction.atomic():
        _ports_lock()
        live.ports_changed()  # the Ports page, once this commits
        quota = PortQuota.objects.select_for_update().order_by("-fetched_at", "-id").first()
        if quota is None:
            return PortQuota.objects.create(current_port=current_port, max_port=max_port)
        quota.current_port, quota.max_port = max(0, current_port), max(0, max_port)
        quota.save()  # fetched_at is auto_now
        PortQuota.objects.exclude(pk=quota.pk).delete()
        return quota


@dataclass(frozen=True)
class PortsStored:
    stored: int
    released: int


def _ports_lock() -> None:
    """One writer at a time for the port table (page refresh, reconcile, the beat task)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('switchboard.cloud_ports'))")


def cloud_ports_store(
    *, ports: Sequence[ut.CloudPort], seen_at: datetime | None = None, complete: bool = True
) -> PortsStored:
    """Upsert ports by id. With `complete` (a full selectCloudPortDetail answer), ports
    not in it are marked released, except those stored by a snapshot newer than this one
    (`seen_at` is when the call was made). A port nobody has logged in yet is locked until
    its creation time plus the lock period. The preGenerate id of a Switchboard login is
    linked to its port."""
    seen_at = seen_at or timezone.now()
    lock = timedelta(seconds=conf.lock_seconds())
    ids = []
    released = 0
    with transaction.atomic():
        _ports_lock()
        live.ports_changed()  # the Ports page, once this commits
        known = {
            c.port_id: c
            for c in CloudPort.objects.filter(port_id__in=[p.id for p in ports if p.id])
        }
        for p in ports:
            if not p.id:
                continue
            ids.append(p.id)
            locked_until = p.create_time + lock if (p.create_time and not p.phone) else None
            before = known.get(p.id)
            if before is not None and before.seen_at and before.seen_at > seen_at:
                continue  # a newer snapshot already stored this port
            defaults: dict[str, Any] = {
                "phone": p.phone or "",
                "status": p.status,
                "created_at_upstream": p.create_time,
                "locked_until": locked_until,
                "released": False,
                "seen_at": seen_at,
            }
            if before is not None and before.phone and before.phone != (p.phone or ""):
                defaults["pregenerate_id"] = ""  # another number is on the port now
            port, _created = CloudPort.objects.update_or_create(port_id=p.id, defaults=defaults)
            port_pregenerate_id(port=port)
        if complete:
            released = (
                CloudPort.objects.exclude(port_id__in=ids)
                .filter(released=False)
                .filter(Q(seen_at__isnull=True) | Q(seen_at__lte=seen_at))
                .update(released=True, locked_until=None)
            )
    return PortsStored(stored=len(ids), released=released)


def ports_refresh() -> PortQuota:
    """Ask the vendor for the quota and the port details and store both (raises
    UpstreamProblem, storing nothing when the first call fails)."""
    quota = operations.select_cloud_port()
    stored = port_quota_store(current_port=quota.current_port, max_port=quota.max_port)
    asked_at = timezone.now()
    ports = operations.select_cloud_port_detail()
    with transaction.atomic():
        cloud_ports_store(ports=ports, seen_at=asked_at)
        from notify.services.watch import quota_check

        quota_check(quota=stored)  # names the accounts at risk (notify: alert, event)
    return stored


def _resolve(port_id: str) -> tuple[CloudPort | None, str]:
    """(the port row, the id to send) for either of a port's ids. Raises PortNotLinked."""
    from qrlogin.models import QrSession

    port = CloudPort.objects.filter(port_id=port_id).first() or (
        CloudPort.objects.filter(pregenerate_id=port_id).first() if port_id else None
    )
    if port is not None:
        return port, port_call_id(port=port)
    if port_id and QrSession.objects.filter(port_id=port_id).exists():
        return None, port_id  # a Switchboard login's preGenerate id, not listed yet
    raise PortNotLinked(port_not_linked_message())


def port_operate(*, actor: Any, port_id: str, operation: str, proxy: str | Secret = "") -> None:
    """Bring a port's account online (optionally through a proxy), take it offline, or log
    it out (which frees the port). `port_id` is either of the port's ids; the preGenerate
    id is sent. Audited; raises PortNotLinked (nothing sent) when only the application id
    is known, UpstreamProblem when the vendor says no.
    """
    if operation not in PORT_OPERATIONS:
        raise ValueError(f"unknown port operation {operation!r}")
    secret = proxy if isinstance(proxy, Secret) else Secret(proxy or "")
    port, call_id = _resolve(port_id)
    if operation == "online":
        operations.on_line(id=call_id, ip_config=secret or None)
    elif operation == "offline":
        operations.offline(id=call_id)
    else:
        operations.log_out(id=call_id)
    rows = CloudPort.objects.filter(pk=port.pk) if port is not None else CloudPort.objects.none()
    before = rows.values("phone", "status").first()
    if operation == "logout":
        rows.update(released=True, locked_until=None)
    elif operation == "offline":
        rows.update(status=PortStatus.DISCONNECTED)
    else:
        rows.update(status=PortStatus.ONLINE)
    live.ports_changed()
    audit_record(
        actor=actor,
        action=f"port.{operation}",
        target_type="cloud_port",
        target_id=port.port_id if port is not None else port_id,
        before=before,
        after={"operation": operation, "with_proxy": bool(secret), "pregenerate_id": call_id},
    )
    log.info("port %s: %s done", port_id, operation)
