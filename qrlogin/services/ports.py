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
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.crypto import Secret
from qrlogin import conf
from qrlogin.models import CloudPort, PortQuota, PortStatus
from upstream import operations
from upstream import types as ut

log = logging.getLogger(__name__)

PORT_OPERATIONS = ("online", "offline", "logout")


def port_quota_store(*, current_port: int, max_port: int) -> PortQuota:
    """Keep the single quota row up to date (creating it the first time)."""
    with transaction.atomic():
        quota = PortQuota.objects.select_for_update().order_by("-fetched_at", "-id").first()
        if quota is None:
            return PortQuota.objects.create(current_port=current_port, max_port=max_port)
        quota.current_port, quota.max_port = max(0, current_port), max(0, max_port)
        quota.save()  # fetched_at is auto_now
        PortQuota.objects.exclude(pk=quota.pk).delete()
        return quota


def cloud_ports_store(
    *, ports: Sequence[ut.CloudPort], seen_at: datetime | None = None, complete: bool = True
) -> int:
    """Upsert ports by id. With `complete` (a full selectCloudPortDetail answer), ports
    not in it are marked released. Returns the number of ports stored."""
    seen_at = seen_at or timezone.now()
    lock = timedelta(seconds=conf.lock_seconds())
    ids = []
    with transaction.atomic():
        for p in ports:
            if not p.id:
                continue
            ids.append(p.id)
            locked_until = p.create_time + lock if (p.create_time and not p.phone) else None
            CloudPort.objects.update_or_create(
                port_id=p.id,
                defaults={
                    "phone": p.phone or "",
                    "status": p.status,
                    "created_at_upstream": p.create_time,
                    "locked_until": locked_until,
                    "released": False,
                    "seen_at": seen_at,
                },
            )
        if complete:
            CloudPort.objects.exclude(port_id__in=ids).filter(released=False).update(
                released=True, locked_until=None
            )
    return len(ids)


def ports_refresh() -> PortQuota:
    """Ask the vendor for the quota and the port details and store both (raises
    UpstreamProblem, storing nothing when the first call fails)."""
    quota = operations.select_cloud_port()
    stored = port_quota_store(current_port=quota.current_port, max_port=quota.max_port)
    ports = operations.select_cloud_port_detail()
    with transaction.atomic():
        cloud_ports_store(ports=ports)
        from notify.services.watch import quota_check

        quota_check(quota=stored)  # names the accounts at risk (notify: alert, event)
    return stored


def port_operate(*, actor: Any, port_id: str, operation: str, proxy: str | Secret = "") -> None:
    """Bring a port's account online (optionally through a proxy), take it offline, or log
    it out (which frees the port). Audited; raises UpstreamProblem when the vendor says no.
    """
    if operation not in PORT_OPERATIONS:
        raise ValueError(f"unknown port operation {operation!r}")
    secret = proxy if isinstance(proxy, Secret) else Secret(proxy or "")
    if operation == "online":
        operations.on_line(id=port_id, ip_config=secret or None)
    elif operation == "offline":
        operations.offline(id=port_id)
    else:
        operations.log_out(id=port_id)
    before = CloudPort.objects.filter(port_id=port_id).values("phone", "status").first()
    if operation == "logout":
        CloudPort.objects.filter(port_id=port_id).update(released=True, locked_until=None)
    elif operation == "offline":
        CloudPort.objects.filter(port_id=port_id).update(status=PortStatus.DISCONNECTED)
    else:
        CloudPort.objects.filter(port_id=port_id).update(status=PortStatus.ONLINE)
    audit_record(
        actor=actor,
        action=f"port.{operation}",
        target_type="cloud_port",
        target_id=port_id,
        before=before,
        after={"operation": operation, "with_proxy": bool(secret)},
    )
    log.info("port %s: %s done", port_id, operation)
